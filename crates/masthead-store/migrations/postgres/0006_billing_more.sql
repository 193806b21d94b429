-- Billing, second part: one trial per member, webhook payloads kept for a
-- while (and scrubbed with the account, found by customer), and the
-- funnel's checkout, subscription and cancellation counts.
ALTER TABLE members ADD COLUMN trial_used_at BIGINT;
ALTER TABLE stripe_events ADD COLUMN customer_id TEXT;
CREATE INDEX stripe_events_by_customer ON stripe_events (customer_id);
CREATE INDEX stripe_events_by_received ON stripe_events (received_at);
ALTER TABLE funnel_hourly ADD COLUMN checkouts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE funnel_hourly ADD COLUMN subscriptions BIGINT NOT NULL DEFAULT 0;
ALTER TABLE funnel_hourly ADD COLUMN cancellations BIGINT NOT NULL DEFAULT 0;
