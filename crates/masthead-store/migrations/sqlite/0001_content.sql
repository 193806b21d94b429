-- Masthead schema, version 1 (SQLite). Keep in step with postgres/0001_content.sql:
-- same tables, same columns; the schema test compares them.
-- Times are Unix seconds bound from Rust; booleans are 0/1 integers.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Monotonic counters that caches in every process compare against
-- ("content", "settings").
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE media (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    mime TEXT NOT NULL,
    ext TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    original_name TEXT NOT NULL,
    alt TEXT NOT NULL DEFAULT '',
    caption TEXT NOT NULL DEFAULT '',
    credit TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE media_variants (
    media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    mime TEXT NOT NULL,
    ext TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (media_id, width)
);

CREATE TABLE authors (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    bio_html TEXT NOT NULL DEFAULT '',
    avatar_media_id INTEGER REFERENCES media(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE topics (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE articles (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    headline TEXT NOT NULL,
    standfirst TEXT NOT NULL DEFAULT '',
    dateline TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL,
    access_level TEXT NOT NULL,
    preview_blocks INTEGER,
    status TEXT NOT NULL,
    published_at INTEGER,
    updated_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    body_markdown TEXT,
    block_count INTEGER NOT NULL,
    lead_media_id INTEGER REFERENCES media(id) ON DELETE SET NULL,
    lead_alt TEXT NOT NULL DEFAULT '',
    lead_caption TEXT NOT NULL DEFAULT '',
    lead_credit TEXT NOT NULL DEFAULT '',
    source_hash TEXT
);
CREATE INDEX articles_listing ON articles (status, published_at DESC, id DESC);
CREATE INDEX articles_type_listing ON articles (content_type, status, published_at DESC, id DESC);

-- The body as ordered top-level blocks of sanitized HTML, so a preview is a
-- range query rather than a re-parse.
CREATE TABLE article_blocks (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    html TEXT NOT NULL,
    PRIMARY KEY (article_id, position)
);

CREATE TABLE article_authors (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    -- Copied from the article so a topic or author page walks one index in
    -- date order instead of sorting every article it has.
    published_at INTEGER,
    PRIMARY KEY (article_id, author_id)
);
CREATE INDEX article_authors_by_author ON article_authors (author_id, published_at DESC, article_id DESC);

CREATE TABLE article_topics (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    topic_id INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    -- Copied from the article so a topic or author page walks one index in
    -- date order instead of sorting every article it has.
    published_at INTEGER,
    PRIMARY KEY (article_id, topic_id)
);
CREATE INDEX article_topics_by_topic ON article_topics (topic_id, published_at DESC, article_id DESC);

CREATE TABLE article_redirects (
    old_slug TEXT PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE
);

CREATE TABLE article_revisions (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    snapshot TEXT NOT NULL,
    PRIMARY KEY (article_id, revision)
);

CREATE TABLE pages (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    source_hash TEXT
);

CREATE TABLE page_versions (
    page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    body_html TEXT NOT NULL,
    body_markdown TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (page_id, version)
);

-- Durable jobs. A worker claims one by writing a lease in a short
-- transaction and never holds a transaction across the work itself.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    unique_key TEXT UNIQUE,
    run_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);

-- Full-text index over what search may show and match. SQLite: FTS5.
CREATE VIRTUAL TABLE article_search USING fts5 (
    article_id UNINDEXED,
    headline,
    standfirst,
    body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
