-- Imports from other platforms (issue 14). Every imported object records
-- where it came from, so a second run finds it again by its source and
-- never by its slug; old addresses answer 301 to the new ones.
CREATE TABLE import_items (
    source TEXT NOT NULL,          -- 'wordpress:https://old.example'
    kind TEXT NOT NULL,            -- post, page, term, author, attachment
    source_id TEXT NOT NULL,       -- the old platform's id
    object_id INTEGER NOT NULL,    -- the article, page, topic, author or media id
    imported_at INTEGER NOT NULL,
    PRIMARY KEY (source, kind, source_id)
);

-- An old path (no trailing slash; `/?p=12` kept with its query) and where
-- it lives now.
CREATE TABLE path_redirects (
    path TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- An import run from the newsroom: the uploaded file (deleted once the run
-- ends), its dry-run report, its progress and its final report.
CREATE TABLE import_runs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_path TEXT NOT NULL,
    options TEXT NOT NULL,
    status TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    dry_report TEXT,
    report TEXT,
    error TEXT,
    staff_id INTEGER,
    staff_email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The title and description an old site gave an article for search
-- engines (Yoast, Ghost's meta fields); empty when it had none.
ALTER TABLE articles ADD COLUMN seo_title TEXT NOT NULL DEFAULT '';
ALTER TABLE articles ADD COLUMN seo_description TEXT NOT NULL DEFAULT '';
