-- Signing keys for cookies and links, shared by every process. The newest
-- key of a purpose signs; every stored key still verifies, so a rotation
-- never logs anyone out or breaks a link already sent.
CREATE TABLE signing_keys (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    secret BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX signing_keys_by_purpose ON signing_keys (purpose, created_at DESC);
