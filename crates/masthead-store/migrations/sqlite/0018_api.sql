-- The Ghost-compatible APIs (issue 16). An integration holds a Content
-- API key (public by design: it ships in front-end code, so it is kept as
-- is) and an Admin API key: its id and its secret, sealed with the
-- operator's key (the secret must be usable for HMAC verification, so it
-- cannot be hashed). A revoked integration keeps its row for the audit.
CREATE TABLE api_integrations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    content_key TEXT NOT NULL UNIQUE,
    admin_key_id TEXT NOT NULL UNIQUE,
    admin_secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- Each object's Ghost-style ids, made once and kept: a 24-hex id (an
-- object imported from Ghost keeps its Ghost id) and a UUID.
CREATE TABLE api_ids (
    kind TEXT NOT NULL,            -- post, page, tag, author
    object_id INTEGER NOT NULL,
    ghost_id TEXT NOT NULL,
    uuid TEXT NOT NULL,
    PRIMARY KEY (kind, object_id)
);
CREATE UNIQUE INDEX api_ids_ghost ON api_ids (kind, ghost_id);
