-- The editor's versions of an article: every newsroom save, and autosaves of
-- work not yet saved: the editor's fields (JSON), so versions can be
-- compared and restored. kind is 'save' or 'autosave'.
CREATE TABLE editor_versions (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    article_revision INTEGER NOT NULL,
    staff_id INTEGER REFERENCES staff (id) ON DELETE SET NULL,
    staff_name TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX editor_versions_by_article ON editor_versions (article_id, id);

-- Optional TOTP two-factor log-in for staff. totp_last_step is the last
-- time step accepted, so a code cannot be replayed.
ALTER TABLE staff ADD COLUMN totp_secret TEXT;
ALTER TABLE staff ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- Single-use recovery codes, stored as SHA-256.
CREATE TABLE staff_recovery_codes (
    staff_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (staff_id, code_hash)
);

-- Mail and Stripe credentials set by administrators in the newsroom (the
-- operator's configuration, when it has them, wins). Write-only there.
CREATE TABLE integration_secrets (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
