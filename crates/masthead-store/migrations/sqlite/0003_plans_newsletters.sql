-- Plans and newsletters. Read-only for readers; billing and newsletters
-- add their management. A plan's amount, currency and interval never
-- change once a reader has used it: a new price is a new plan.
CREATE TABLE plans (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    interval TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    active INTEGER NOT NULL,
    trial_days INTEGER,
    includes TEXT NOT NULL,
    position INTEGER NOT NULL,
    stripe_price_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE newsletters (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    sender_email TEXT NOT NULL,
    reply_to TEXT NOT NULL,
    audience TEXT NOT NULL,
    on_signup INTEGER NOT NULL,
    position INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
