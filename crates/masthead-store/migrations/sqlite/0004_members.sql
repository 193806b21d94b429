-- Reader accounts, staff, sessions, one-time tokens, grants, the members'
-- meter, consent records and the funnel's hourly counts.
CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    verified_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT,
    disabled_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- A session is a random 256-bit id held by the browser; only its SHA-256
-- is stored. kind is 'member' or 'staff'. A member session without a
-- member is the one handed out when someone signs up with an address that
-- already has an account: it unlocks the article and nothing else.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    member_id INTEGER REFERENCES members (id) ON DELETE CASCADE,
    staff_id INTEGER REFERENCES staff (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    authenticated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX sessions_by_member ON sessions (member_id);
CREATE INDEX sessions_by_staff ON sessions (staff_id);

-- Articles unlocked for one session (signing up from the offer box).
CREATE TABLE session_unlocks (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    article_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, article_id)
);

-- One-time tokens sent by email (log-in links, verification, password
-- reset, change of email, staff set-password), stored hashed.
CREATE TABLE auth_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    member_id INTEGER REFERENCES members (id) ON DELETE CASCADE,
    staff_id INTEGER REFERENCES staff (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    return_to TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX auth_tokens_by_member ON auth_tokens (member_id);

-- Entitlements: a member may read everything between valid_from and
-- valid_until (open-ended when NULL). Billing writes 'stripe' grants.
CREATE TABLE grants (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_until INTEGER,
    note TEXT NOT NULL,
    external_id TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX grants_by_member ON grants (member_id, valid_from);

-- The signed-in meter: one row per (reader, article) counted. The reader
-- is 'm<member id>' or, for a session without a member, 's<session id>'.
CREATE TABLE meter_views (
    reader TEXT NOT NULL,
    article_id INTEGER NOT NULL,
    counted_at INTEGER NOT NULL,
    PRIMARY KEY (reader, article_id)
);

CREATE TABLE consents (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    document TEXT NOT NULL,
    version INTEGER NOT NULL,
    accepted_at INTEGER NOT NULL
);
CREATE INDEX consents_by_member ON consents (member_id);

-- Funnel counts per article and hour (unix seconds of the hour's start).
CREATE TABLE funnel_hourly (
    article_id INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    metered_views INTEGER NOT NULL,
    offers_shown INTEGER NOT NULL,
    signups INTEGER NOT NULL,
    PRIMARY KEY (article_id, hour)
);
