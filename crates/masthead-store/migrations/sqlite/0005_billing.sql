-- Stripe: each member's one customer, subscription snapshots as last
-- fetched from Stripe, and the webhook events already processed.
CREATE TABLE stripe_customers (
    member_id INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- A snapshot never replaces a newer one (fetched_at, in milliseconds). snapshot holds the
-- object as fetched; it is scrubbed when the member deletes the account.
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    member_id INTEGER REFERENCES members (id) ON DELETE SET NULL,
    customer_id TEXT NOT NULL,
    plan_id INTEGER,
    status TEXT NOT NULL,
    current_period_end INTEGER NOT NULL,
    cancel_at_period_end INTEGER NOT NULL,
    past_due_since INTEGER,
    fetched_at INTEGER NOT NULL,
    snapshot TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX subscriptions_by_member ON subscriptions (member_id);

CREATE TABLE stripe_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    payload TEXT
);
