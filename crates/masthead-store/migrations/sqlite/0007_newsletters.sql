-- Newsletters: who gets which (and every opt-in and opt-out, with when
-- and where), addresses that must not be mailed, and sends: one mailing
-- of an article or a digest to a newsletter, with its recipients fixed
-- when it starts, one row each.
CREATE TABLE newsletter_members (
    newsletter_id INTEGER NOT NULL REFERENCES newsletters (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    subscribed_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (newsletter_id, member_id)
);
CREATE INDEX newsletter_members_by_member ON newsletter_members (member_id);

CREATE TABLE newsletter_consents (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    newsletter_id INTEGER NOT NULL REFERENCES newsletters (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX newsletter_consents_by_member ON newsletter_consents (member_id);

CREATE TABLE suppressions (
    email_lower TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE sends (
    id INTEGER PRIMARY KEY,
    newsletter_id INTEGER NOT NULL REFERENCES newsletters (id) ON DELETE CASCADE,
    article_id INTEGER REFERENCES articles (id) ON DELETE SET NULL,
    digest_days INTEGER,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    run_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    paused_reason TEXT,
    recipients INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX sends_by_status ON sends (status, run_at);
CREATE INDEX sends_by_newsletter ON sends (newsletter_id, id);

CREATE TABLE send_recipients (
    send_id INTEGER NOT NULL REFERENCES sends (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    segment TEXT NOT NULL,
    status TEXT NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    error TEXT,
    sent_at INTEGER,
    PRIMARY KEY (send_id, member_id)
);
CREATE INDEX send_recipients_due ON send_recipients (send_id, status, next_attempt_at);

-- Newsletter figures per hour: sends started, messages delivered and
-- failed, unsubscribes.
CREATE TABLE newsletter_hourly (
    newsletter_id INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    sends INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    unsubscribes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (newsletter_id, hour)
);
