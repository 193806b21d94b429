-- Imports from other platforms (issue 14). Every imported object records
-- where it came from, so a second run finds it again by its source and
-- never by its slug; old addresses answer 301 to the new ones.
CREATE TABLE import_items (
    source TEXT NOT NULL,          -- 'wordpress:https://old.example'
    kind TEXT NOT NULL,            -- post, page, term, author, attachment
    source_id TEXT NOT NULL,       -- the old platform's id
    object_id BIGINT NOT NULL,    -- the article, page, topic, author or media id
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (source, kind, source_id)
);

-- An old path (no trailing slash; `/?p=12` kept with its query) and where
-- it lives now.
CREATE TABLE path_redirects (
    path TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
