//! Stripe rows: customers, subscription snapshots and processed events,
//! and the `stripe` grant a snapshot turns into.

use crate::{Backend, Db, Result, Tx};
use masthead_core::billing::subscription::{self as rule, Entitlement, Snapshot, Status};
use sqlx::Row;

/// A subscription as just fetched from Stripe.
#[derive(Debug, Clone)]
pub struct FetchedSubscription<'a> {
    pub id: &'a str,
    pub customer_id: &'a str,
    pub member_id: Option<i64>,
    pub plan_id: Option<i64>,
    pub status: Status,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    /// Milliseconds.
    pub fetched_at_ms: i64,
    /// The object as Stripe sent it.
    pub raw: &'a str,
}

/// A webhook event to record as processed.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub payload: Option<&'a str>,
    pub customer_id: Option<&'a str>,
}

/// Forgets the payloads of events received before `before`; returns how
/// many were scrubbed.
pub async fn scrub_event_payloads(db: &Db, before: i64) -> Result<u64> {
    let r = sqlx::query(
        "UPDATE stripe_events SET payload = NULL WHERE received_at < $1 AND payload IS NOT NULL",
    )
    .bind(before)
    .execute(db.writer())
    .await?;
    Ok(r.rows_affected())
}

/// Records a webhook event as processed inside `tx`; false when it already
/// was (a replay: the caller changes nothing and answers 200).
///
/// The payload (the event as Stripe sent it: names, emails, addresses) is
/// kept for `scrub_event_payloads`' window and scrubbed with the account
/// of the customer it names.
pub async fn insert_event(tx: &mut Tx, e: &Event<'_>, now: i64) -> Result<bool> {
    let row = sqlx::query(
        "INSERT INTO stripe_events (id, type, received_at, payload, customer_id) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING id",
    )
    .bind(e.id)
    .bind(e.kind)
    .bind(now)
    .bind(e.payload)
    .bind(e.customer_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.is_some())
}

/// Holds the subscription for the rest of `tx` across processes
/// (PostgreSQL advisory lock; SQLite's one writer needs none).
pub async fn lock_subscription(db: &Db, tx: &mut Tx, id: &str) -> Result<()> {
    if let Backend::Postgres = db.backend() {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(lock_key(id))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A stable 64-bit key for a subscription (FNV-1a), the same in every
/// process and build.
fn lock_key(id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"subscription:".iter().chain(id.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// The stored snapshot of a subscription, if any.
pub async fn find_snapshot(db: &Db, id: &str) -> Result<Option<(Option<i64>, Snapshot)>> {
    let row = sqlx::query(
        "SELECT member_id, status, current_period_end, cancel_at_period_end, past_due_since, fetched_at \
         FROM subscriptions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| Ok((r.try_get("member_id")?, snapshot_from(&r)?)))
        .transpose()
}

fn snapshot_from(r: &sqlx::any::AnyRow) -> Result<Snapshot> {
    let status: String = r.try_get("status")?;
    Ok(Snapshot {
        status: Status::parse(&status)
            .ok_or_else(|| crate::StoreError::Corrupt(format!("subscription status {status:?}")))?,
        current_period_end: r.try_get("current_period_end")?,
        cancel_at_period_end: r.try_get::<i64, _>("cancel_at_period_end")? != 0,
        past_due_since: r.try_get("past_due_since")?,
        fetched_at_ms: r.try_get("fetched_at")?,
    })
}

/// What storing a snapshot changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    /// False when a newer snapshot was already stored (nothing changed).
    pub applied: bool,
    pub member_id: Option<i64>,
    /// The subscription became active or trialing for the first time.
    pub started: bool,
    /// A subscription that had been live is now canceled.
    pub ended: bool,
}

/// Stores a fetched subscription unless a newer snapshot is already
/// stored, and rewrites the member's `stripe` grant for it; a trialing
/// subscription uses up the member's one trial. One subscription at a
/// time: the row is locked for the transaction. Snapshots are applied in
/// fetch order, so `started` and `ended` are each reported once.
pub async fn record_subscription(
    db: &Db,
    tx: &mut Tx,
    s: &FetchedSubscription<'_>,
    grace_secs: i64,
    now: i64,
) -> Result<Recorded> {
    // Make sure the row exists, then lock it (SQLite's write transaction
    // is already exclusive).
    sqlx::query(
        "INSERT INTO subscriptions (id, member_id, customer_id, plan_id, status, current_period_end, \
         cancel_at_period_end, past_due_since, fetched_at, snapshot, updated_at) \
         VALUES ($1, $2, $3, $4, 'incomplete', 0, 0, NULL, 0, '{}', $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(s.id)
    .bind(s.member_id)
    .bind(s.customer_id)
    .bind(s.plan_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let select = match db.backend() {
        Backend::Postgres => {
            "SELECT member_id, status, current_period_end, cancel_at_period_end, past_due_since, \
             fetched_at FROM subscriptions WHERE id = $1 FOR UPDATE"
        }
        Backend::Sqlite => {
            "SELECT member_id, status, current_period_end, cancel_at_period_end, past_due_since, \
             fetched_at FROM subscriptions WHERE id = $1"
        }
    };
    let row = sqlx::query(select).bind(s.id).fetch_one(&mut **tx).await?;
    let stored = snapshot_from(&row)?;
    let stored = (stored.fetched_at_ms > 0).then_some(stored);
    let member_id: Option<i64> = row.try_get::<Option<i64>, _>("member_id")?.or(s.member_id);
    let new = Snapshot {
        status: s.status,
        current_period_end: s.current_period_end,
        cancel_at_period_end: s.cancel_at_period_end,
        past_due_since: rule::past_due_since(stored.as_ref(), s.status, s.fetched_at_ms),
        fetched_at_ms: s.fetched_at_ms,
    };
    if !rule::replaces(stored.as_ref(), &new) {
        return Ok(Recorded::default());
    }
    let before = stored.as_ref().map(|p| p.status);
    // Anything but never-started or already-ended counts as having been live.
    let live = |st: Status| {
        !matches!(
            st,
            Status::Incomplete | Status::IncompleteExpired | Status::Canceled
        )
    };
    let recorded = Recorded {
        applied: true,
        member_id,
        started: matches!(new.status, Status::Active | Status::Trialing)
            && matches!(
                before,
                None | Some(Status::Incomplete | Status::IncompleteExpired)
            ),
        ended: new.status == Status::Canceled && before.is_some_and(live),
    };
    sqlx::query(
        "UPDATE subscriptions SET member_id = $1, customer_id = $2, plan_id = COALESCE($3, plan_id), \
         status = $4, current_period_end = $5, cancel_at_period_end = $6, past_due_since = $7, \
         fetched_at = $8, snapshot = $9, updated_at = $10 WHERE id = $11",
    )
    .bind(member_id)
    .bind(s.customer_id)
    .bind(s.plan_id)
    .bind(new.status.as_str())
    .bind(new.current_period_end)
    .bind(i64::from(new.cancel_at_period_end))
    .bind(new.past_due_since)
    .bind(new.fetched_at_ms)
    .bind(s.raw)
    .bind(now)
    .bind(s.id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM grants WHERE source = 'stripe' AND external_id = $1")
        .bind(s.id)
        .execute(&mut **tx)
        .await?;
    crate::settings::bump_sessions(tx).await?;
    if let (Some(member), Entitlement::Until(until)) =
        (member_id, rule::entitlement(&new, now, grace_secs))
    {
        sqlx::query(
            "INSERT INTO grants (member_id, source, valid_from, valid_until, note, external_id, created_at) \
             VALUES ($1, 'stripe', $2, $3, $4, $5, $6)",
        )
        .bind(member)
        .bind(new.fetched_at_ms.div_euclid(1000).min(now))
        .bind(until)
        .bind(new.status.as_str())
        .bind(s.id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    if let (Some(member), Status::Trialing) = (member_id, new.status) {
        sqlx::query("UPDATE members SET trial_used_at = COALESCE(trial_used_at, $1) WHERE id = $2")
            .bind(now)
            .bind(member)
            .execute(&mut **tx)
            .await?;
    }
    Ok(recorded)
}

/// Whether the member may still have a free trial: one per member, and
/// only before a first subscription.
pub async fn trial_available(db: &Db, member_id: i64) -> Result<bool> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM members WHERE id = $1 AND trial_used_at IS NULL AND NOT EXISTS \
         (SELECT 1 FROM subscriptions WHERE member_id = $1 AND fetched_at > 0 \
          AND status NOT IN ('incomplete', 'incomplete_expired'))",
    )
    .bind(member_id)
    .fetch_optional(db.reader())
    .await?;
    Ok(row.is_some())
}

/// The plan a Stripe Price was created for.
pub async fn find_plan_by_price(db: &Db, price_id: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT id FROM plans WHERE stripe_price_id = $1")
        .bind(price_id)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| r.try_get("id").map_err(Into::into)).transpose()
}

/// The member whose Stripe customer this is.
pub async fn find_member_by_customer(db: &Db, customer_id: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT member_id FROM stripe_customers WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| r.try_get("member_id").map_err(Into::into))
        .transpose()
}

/// Links a member to their one Stripe customer.
pub async fn insert_customer(db: &Db, member_id: i64, customer_id: &str, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO stripe_customers (member_id, customer_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (member_id) DO NOTHING",
    )
    .bind(member_id)
    .bind(customer_id)
    .bind(now)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// The member's Stripe customer, if one was created.
pub async fn find_customer(db: &Db, member_id: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT customer_id FROM stripe_customers WHERE member_id = $1")
        .bind(member_id)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| r.try_get("customer_id").map_err(Into::into))
        .transpose()
}

/// Whether the member has a subscription that is live (active, trialing
/// or past due): no second checkout then.
pub async fn has_live_subscription(db: &Db, member_id: i64) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM subscriptions WHERE member_id = $1 \
         AND status IN ('active', 'trialing', 'past_due') LIMIT 1",
    )
    .bind(member_id)
    .fetch_optional(db.reader())
    .await?
    .is_some())
}

/// A member's subscription as the account page shows it.
#[derive(Debug, Clone)]
pub struct MemberSubscription {
    pub id: String,
    pub customer_id: String,
    pub snapshot: Snapshot,
    /// The plan's name, price and interval, when the Stripe Price is one
    /// of ours.
    pub plan: Option<crate::offers::Plan>,
}

/// The member's most recently fetched subscription.
pub async fn find_member_subscription(
    db: &Db,
    member_id: i64,
) -> Result<Option<MemberSubscription>> {
    let row = sqlx::query(
        "SELECT id, customer_id, member_id, plan_id, status, current_period_end, cancel_at_period_end, \
         past_due_since, fetched_at FROM subscriptions WHERE member_id = $1 AND fetched_at > 0 \
         ORDER BY fetched_at DESC LIMIT 1",
    )
    .bind(member_id)
    .fetch_optional(db.reader())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let plan = match r.try_get::<Option<i64>, _>("plan_id")? {
        Some(id) => crate::offers::find_plan(db, id).await?,
        None => None,
    };
    Ok(Some(MemberSubscription {
        id: r.try_get("id")?,
        customer_id: r.try_get("customer_id")?,
        snapshot: snapshot_from(&r)?,
        plan,
    }))
}
