//! Newsletters: opt-ins (with their history), suppressed addresses, and
//! sends with one row per recipient. Workers claim recipients by writing
//! a lease in a short transaction, send outside any transaction, and
//! record the results in another.

use crate::{Backend, Db, Result, StoreError, Tx};
use sqlx::Row;

/// A newsletter with what sending needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewsletterRecord {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub sender_name: String,
    pub sender_email: String,
    pub reply_to: String,
    /// `members` or `subscribers`.
    pub audience: String,
    pub on_signup: bool,
}

const NEWSLETTER_COLUMNS: &str =
    "id, slug, name, description, sender_name, sender_email, reply_to, audience, on_signup";

fn newsletter_from(r: &sqlx::any::AnyRow) -> Result<NewsletterRecord> {
    Ok(NewsletterRecord {
        id: r.try_get("id")?,
        slug: r.try_get("slug")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        sender_name: r.try_get("sender_name")?,
        sender_email: r.try_get("sender_email")?,
        reply_to: r.try_get("reply_to")?,
        audience: r.try_get("audience")?,
        on_signup: r.try_get::<i64, _>("on_signup")? != 0,
    })
}

pub async fn list(db: &Db) -> Result<Vec<NewsletterRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {NEWSLETTER_COLUMNS} FROM newsletters ORDER BY position, id"
    ))
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(newsletter_from).collect()
}

pub async fn find_by_slug(db: &Db, slug: &str) -> Result<Option<NewsletterRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {NEWSLETTER_COLUMNS} FROM newsletters WHERE slug = $1"
    ))
    .bind(slug)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(newsletter_from).transpose()
}

pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<NewsletterRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {NEWSLETTER_COLUMNS} FROM newsletters WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(newsletter_from).transpose()
}

// ---- figures ----

/// Newsletter figures for one hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub sends: i64,
    pub delivered: i64,
    pub failed: i64,
    pub unsubscribes: i64,
}

async fn add_figures(tx: &mut Tx, newsletter_id: i64, now: i64, f: Figures) -> Result<()> {
    if f == Figures::default() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO newsletter_hourly (newsletter_id, hour, sends, delivered, failed, unsubscribes) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (newsletter_id, hour) DO UPDATE SET \
         sends = newsletter_hourly.sends + excluded.sends, \
         delivered = newsletter_hourly.delivered + excluded.delivered, \
         failed = newsletter_hourly.failed + excluded.failed, \
         unsubscribes = newsletter_hourly.unsubscribes + excluded.unsubscribes",
    )
    .bind(newsletter_id)
    .bind(now - now.rem_euclid(3600))
    .bind(f.sends)
    .bind(f.delivered)
    .bind(f.failed)
    .bind(f.unsubscribes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A newsletter's figures over all hours.
pub async fn find_figures(db: &Db, newsletter_id: i64) -> Result<Figures> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(sends), 0) AS BIGINT) AS s, CAST(COALESCE(SUM(delivered), 0) AS BIGINT) AS d, \
         CAST(COALESCE(SUM(failed), 0) AS BIGINT) AS f, CAST(COALESCE(SUM(unsubscribes), 0) AS BIGINT) AS u \
         FROM newsletter_hourly WHERE newsletter_id = $1",
    )
    .bind(newsletter_id)
    .fetch_one(db.reader())
    .await?;
    Ok(Figures {
        sends: r.try_get("s")?,
        delivered: r.try_get("d")?,
        failed: r.try_get("f")?,
        unsubscribes: r.try_get("u")?,
    })
}

// ---- opt-ins ----

/// Opts a member in (inside `tx`); records the opt-in when it is new.
pub async fn subscribe(
    tx: &mut Tx,
    member_id: i64,
    newsletter_id: i64,
    source: &str,
    now: i64,
) -> Result<bool> {
    let row = sqlx::query(
        "INSERT INTO newsletter_members (newsletter_id, member_id, subscribed_at, source) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (newsletter_id, member_id) DO NOTHING RETURNING member_id",
    )
    .bind(newsletter_id)
    .bind(member_id)
    .bind(now)
    .bind(source)
    .fetch_optional(&mut **tx)
    .await?;
    if row.is_some() {
        record_consent(tx, member_id, newsletter_id, "in", source, now).await?;
    }
    Ok(row.is_some())
}

/// Opts a member out (inside `tx`); records the opt-out when they were in.
pub async fn unsubscribe(
    tx: &mut Tx,
    member_id: i64,
    newsletter_id: i64,
    source: &str,
    now: i64,
) -> Result<bool> {
    let r =
        sqlx::query("DELETE FROM newsletter_members WHERE newsletter_id = $1 AND member_id = $2")
            .bind(newsletter_id)
            .bind(member_id)
            .execute(&mut **tx)
            .await?;
    if r.rows_affected() > 0 {
        record_consent(tx, member_id, newsletter_id, "out", source, now).await?;
        let f = Figures {
            unsubscribes: 1,
            ..Figures::default()
        };
        add_figures(tx, newsletter_id, now, f).await?;
    }
    Ok(r.rows_affected() > 0)
}

async fn record_consent(
    tx: &mut Tx,
    member_id: i64,
    newsletter_id: i64,
    action: &str,
    source: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO newsletter_consents (member_id, newsletter_id, action, source, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(member_id)
    .bind(newsletter_id)
    .bind(action)
    .bind(source)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How many members get a newsletter.
pub async fn count_members(db: &Db, newsletter_id: i64) -> Result<i64> {
    let r = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM newsletter_members WHERE newsletter_id = $1",
    )
    .bind(newsletter_id)
    .fetch_one(db.reader())
    .await?;
    Ok(r.try_get("n")?)
}

/// The newsletters a member gets.
pub async fn member_newsletters(db: &Db, member_id: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT newsletter_id FROM newsletter_members WHERE member_id = $1 ORDER BY newsletter_id",
    )
    .bind(member_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| r.try_get("newsletter_id").map_err(Into::into))
        .collect()
}

/// Makes the member's newsletters exactly `wanted` (among existing ones).
pub async fn set_member_newsletters(
    db: &Db,
    member_id: i64,
    wanted: &[i64],
    source: &str,
    now: i64,
) -> Result<()> {
    let all: Vec<i64> = list(db).await?.iter().map(|n| n.id).collect();
    let mut tx = db.begin().await?;
    for id in all {
        if wanted.contains(&id) {
            subscribe(&mut tx, member_id, id, source, now).await?;
        } else {
            unsubscribe(&mut tx, member_id, id, source, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A member's opt-ins and opt-outs, oldest first: (newsletter slug,
/// action, source, time).
pub async fn list_consents(db: &Db, member_id: i64) -> Result<Vec<(String, String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT n.slug, c.action, c.source, c.created_at FROM newsletter_consents c \
         JOIN newsletters n ON n.id = c.newsletter_id WHERE c.member_id = $1 ORDER BY c.id",
    )
    .bind(member_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("slug")?,
                r.try_get("action")?,
                r.try_get("source")?,
                r.try_get("created_at")?,
            ))
        })
        .collect()
}

/// Adds `count` verified members (`reader{N}@{domain}`) opted in to a
/// newsletter: for benchmarks. Returns how many were added.
pub async fn generate_members(
    db: &Db,
    count: u32,
    domain: &str,
    newsletter_id: i64,
    now: i64,
) -> Result<u64> {
    let start: i64 = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM members")
        .fetch_one(db.reader())
        .await?
        .try_get("n")?;
    let mut added = 0;
    let mut i = 0i64;
    while i < i64::from(count) {
        let n = (i64::from(count) - i).min(1000);
        let mut tx = db.begin().await?;
        let values = (0..n)
            .map(|k| format!("(${}, ${}, $1, $1, $1)", 2 * k + 2, 2 * k + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO members (email, email_lower, verified_at, created_at, updated_at) VALUES {values} \
             ON CONFLICT (email_lower) DO NOTHING"
        );
        let mut q = sqlx::query(&sql).bind(now);
        for k in 0..n {
            let email = format!("reader{}@{domain}", start + i + k);
            q = q.bind(email.clone()).bind(email);
        }
        added += q.execute(&mut *tx).await?.rows_affected();
        sqlx::query(
            "INSERT INTO newsletter_members (newsletter_id, member_id, subscribed_at, source) \
             SELECT $1, id, $2, 'generated' FROM members WHERE email_lower LIKE $3 \
             ON CONFLICT (newsletter_id, member_id) DO NOTHING",
        )
        .bind(newsletter_id)
        .bind(now)
        .bind(format!("%@{domain}"))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        i += n;
    }
    Ok(added)
}

// ---- suppressions ----

/// Marks an address as not to be mailed again (bounce, complaint, or by
/// hand). Keeps the first reason.
/// Never sends newsletters to the address again; with the audit entry of
/// a person's decision (the operator's `members suppress`; a bounce or a
/// complaint from the webhook has none) in the same transaction. False
/// when it was suppressed already (nothing written).
pub async fn suppress(
    db: &Db,
    email_lower: &str,
    reason: &str,
    detail: &str,
    audit: Option<&crate::newsroom::Audit<'_>>,
    now: i64,
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let r = sqlx::query(
        "INSERT INTO suppressions (email_lower, reason, detail, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email_lower) DO NOTHING",
    )
    .bind(email_lower)
    .bind(reason)
    .bind(detail)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    if let Some(a) = audit {
        crate::newsroom::audit(&mut tx, a, now).await?;
    }
    crate::commit(tx).await?;
    Ok(true)
}

pub async fn find_suppression(db: &Db, email_lower: &str) -> Result<Option<(String, String)>> {
    let row = sqlx::query("SELECT reason, detail FROM suppressions WHERE email_lower = $1")
        .bind(email_lower)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| Ok((r.try_get("reason")?, r.try_get("detail")?)))
        .transpose()
}

// ---- sends ----

#[derive(Debug, Clone)]
pub struct NewSend<'a> {
    pub newsletter_id: i64,
    pub article_id: Option<i64>,
    pub digest_days: Option<i64>,
    pub subject: &'a str,
    pub run_at: i64,
    pub created_by: &'a str,
}

/// Statuses a send goes through.
pub mod status {
    pub const SCHEDULED: &str = "scheduled";
    pub const SENDING: &str = "sending";
    pub const PAUSED: &str = "paused";
    pub const SENT: &str = "sent";
    pub const CANCELED: &str = "canceled";
}

pub async fn create_send(
    db: &Db,
    s: &NewSend<'_>,
    audit: Option<&crate::newsroom::Audit<'_>>,
    now: i64,
) -> Result<i64> {
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO sends (newsletter_id, article_id, digest_days, subject, status, run_at, created_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, 'scheduled', $5, $6, $7, $7) RETURNING id",
    )
    .bind(s.newsletter_id)
    .bind(s.article_id)
    .bind(s.digest_days)
    .bind(s.subject)
    .bind(s.run_at)
    .bind(s.created_by)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(a) = audit {
        crate::newsroom::audit(&mut tx, a, now).await?;
    }
    tx.commit().await?;
    Ok(row.try_get("id")?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    pub id: i64,
    pub newsletter_id: i64,
    pub article_id: Option<i64>,
    pub digest_days: Option<i64>,
    pub subject: String,
    pub status: String,
    pub run_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub paused_reason: Option<String>,
    pub recipients: i64,
    /// When a digest's articles were fixed (`content::fix_digest`).
    pub digest_fixed_at: Option<i64>,
}

const SEND_COLUMNS: &str = "id, newsletter_id, article_id, digest_days, subject, status, run_at, \
     started_at, finished_at, paused_reason, recipients, digest_fixed_at";

fn send_from(r: &sqlx::any::AnyRow) -> Result<Send> {
    Ok(Send {
        id: r.try_get("id")?,
        newsletter_id: r.try_get("newsletter_id")?,
        article_id: r.try_get("article_id")?,
        digest_days: r.try_get("digest_days")?,
        subject: r.try_get("subject")?,
        status: r.try_get("status")?,
        run_at: r.try_get("run_at")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        paused_reason: r.try_get("paused_reason")?,
        recipients: r.try_get("recipients")?,
        digest_fixed_at: r.try_get("digest_fixed_at")?,
    })
}

pub async fn find_send(db: &Db, id: i64) -> Result<Option<Send>> {
    let row = sqlx::query(&format!("SELECT {SEND_COLUMNS} FROM sends WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(send_from).transpose()
}

/// Sends to work on now: scheduled ones that are due, and ones sending.
pub async fn list_active_sends(db: &Db, now: i64) -> Result<Vec<Send>> {
    let rows = sqlx::query(&format!(
        "SELECT {SEND_COLUMNS} FROM sends WHERE (status = 'scheduled' AND run_at <= $1) \
         OR status = 'sending' ORDER BY id"
    ))
    .bind(now)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(send_from).collect()
}

/// The newest finished or running sends of a newsletter (web versions).
pub async fn list_recent_sends(db: &Db, newsletter_id: i64, limit: i64) -> Result<Vec<Send>> {
    let rows = sqlx::query(&format!(
        "SELECT {SEND_COLUMNS} FROM sends WHERE newsletter_id = $1 AND status IN ('sending', 'sent') \
         ORDER BY id DESC LIMIT $2"
    ))
    .bind(newsletter_id)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(send_from).collect()
}

/// Every send, newest first.
pub async fn list_sends(db: &Db, limit: i64) -> Result<Vec<Send>> {
    let rows = sqlx::query(&format!(
        "SELECT {SEND_COLUMNS} FROM sends ORDER BY id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(send_from).collect()
}

/// Starts a due send: fixes its recipients, one row each, in the
/// database (the list never passes through this process's memory).
/// Recipients are the newsletter's verified members whose address is not
/// suppressed (and, for a subscribers-only newsletter, who hold a grant
/// now). `gated` says whether a recipient without a grant gets the
/// preview segment. Returns false when another worker started it first.
pub async fn start_send(db: &Db, send_id: i64, gated: bool, now: i64) -> Result<bool> {
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "UPDATE sends SET status = 'sending', started_at = $1, updated_at = $1 \
         WHERE id = $2 AND status = 'scheduled' RETURNING newsletter_id",
    )
    .bind(now)
    .bind(send_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let newsletter_id: i64 = row.try_get("newsletter_id")?;
    let audience: String = sqlx::query("SELECT audience FROM newsletters WHERE id = $1")
        .bind(newsletter_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("audience")?;
    let entitled =
        "EXISTS (SELECT 1 FROM grants g WHERE g.member_id = m.id AND g.valid_from <= $3 \
                    AND (g.valid_until IS NULL OR g.valid_until > $3))";
    let only_entitled = if audience == "subscribers" {
        format!(" AND {entitled}")
    } else {
        String::new()
    };
    let r = sqlx::query(&format!(
        "INSERT INTO send_recipients (send_id, member_id, email, segment, status, attempts, next_attempt_at) \
         SELECT $1, m.id, m.email, CASE WHEN $4 = 1 AND NOT {entitled} THEN 'preview' ELSE 'full' END, \
         'queued', 0, $3 FROM newsletter_members nm JOIN members m ON m.id = nm.member_id \
         WHERE nm.newsletter_id = $2 AND m.verified_at IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email_lower = m.email_lower){only_entitled}"
    ))
    .bind(send_id)
    .bind(newsletter_id)
    .bind(now)
    .bind(i64::from(gated))
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE sends SET recipients = $1 WHERE id = $2")
        .bind(r.rows_affected() as i64)
        .bind(send_id)
        .execute(&mut *tx)
        .await?;
    let f = Figures {
        sends: 1,
        ..Figures::default()
    };
    add_figures(&mut tx, newsletter_id, now, f).await?;
    tx.commit().await?;
    Ok(true)
}

/// One recipient as claimed by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub member_id: i64,
    pub email: String,
    pub segment: String,
    pub attempts: i64,
}

/// Claims up to `limit` due recipients of a sending send for `owner`
/// until `now + lease_secs`. Expired leases are claimed again.
pub async fn claim_recipients(
    db: &Db,
    send_id: i64,
    owner: &str,
    now: i64,
    lease_secs: i64,
    limit: i64,
) -> Result<Vec<Recipient>> {
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    // Pick, then lease, in one short transaction. (Picking inside the
    // UPDATE's own subquery lets PostgreSQL run it more than once, each
    // time skipping what it locked before: a batch far over the limit.)
    let mut tx = db.begin().await?;
    let picked = sqlx::query(&format!(
        "SELECT member_id FROM send_recipients WHERE send_id = $1 AND status = 'queued' \
         AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2) \
         AND EXISTS (SELECT 1 FROM sends WHERE id = $1 AND status = 'sending') \
         ORDER BY member_id LIMIT $3{lock}"
    ))
    .bind(send_id)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let ids: Vec<i64> = picked
        .iter()
        .map(|r| r.try_get("member_id"))
        .collect::<std::result::Result<_, _>>()?;
    if ids.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let list = (0..ids.len())
        .map(|i| format!("${}", i + 4))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE send_recipients SET lease_owner = $1, lease_until = $2 \
         WHERE send_id = $3 AND member_id IN ({list}) RETURNING member_id, email, segment, attempts"
    );
    let mut q = sqlx::query(&sql)
        .bind(owner)
        .bind(now + lease_secs)
        .bind(send_id);
    for id in &ids {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let mut out: Vec<Recipient> = rows
        .iter()
        .map(|r| {
            Ok(Recipient {
                member_id: r.try_get("member_id")?,
                email: r.try_get("email")?,
                segment: r.try_get("segment")?,
                attempts: r.try_get("attempts")?,
            })
        })
        .collect::<Result<_>>()?;
    out.sort_by_key(|r| r.member_id);
    Ok(out)
}

/// What happened to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Try again at this time (a 4xx, a dropped connection).
    Retry {
        at: i64,
        error: String,
    },
    /// Given up: the error is kept.
    Failed {
        error: String,
    },
    /// The address does not exist (5xx with 5.1.x to RCPT TO): failed, and
    /// the address is suppressed.
    Undeliverable {
        error: String,
    },
    /// Not tried (the send was paused): back in the queue as it was.
    Released,
}

/// Records a batch's results (only for rows still leased by `owner`).
pub async fn record_deliveries(
    db: &Db,
    send: &Send,
    owner: &str,
    results: &[(Recipient, Delivery)],
    now: i64,
) -> Result<()> {
    let send_id = send.id;
    let mut tx = db.begin().await?;
    let mut figures = Figures::default();
    let sent: Vec<i64> = results
        .iter()
        .filter(|(_, d)| *d == Delivery::Sent)
        .map(|(r, _)| r.member_id)
        .collect();
    for chunk in sent.chunks(400) {
        let list = (0..chunk.len())
            .map(|i| format!("${}", i + 4))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE send_recipients SET status = 'sent', sent_at = $1, lease_owner = NULL, \
             lease_until = NULL, error = NULL, attempts = attempts + 1 \
             WHERE send_id = $2 AND lease_owner = $3 AND member_id IN ({list})"
        );
        let mut q = sqlx::query(&sql).bind(now).bind(send_id).bind(owner);
        for id in chunk {
            q = q.bind(*id);
        }
        figures.delivered += q.execute(&mut *tx).await?.rows_affected() as i64;
    }
    for (r, d) in results {
        let (status, next, error, attempts) = match d {
            Delivery::Sent => continue,
            Delivery::Retry { at, error } => ("queued", *at, Some(error.as_str()), 1),
            Delivery::Failed { error } | Delivery::Undeliverable { error } => {
                ("failed", now, Some(error.as_str()), 1)
            }
            Delivery::Released => ("queued", now, None, 0),
        };
        let changed = sqlx::query(
            "UPDATE send_recipients SET status = $1, next_attempt_at = $2, error = COALESCE($3, error), \
             attempts = attempts + $4, lease_owner = NULL, lease_until = NULL \
             WHERE send_id = $5 AND member_id = $6 AND lease_owner = $7",
        )
        .bind(status)
        .bind(next)
        .bind(error)
        .bind(attempts)
        .bind(send_id)
        .bind(r.member_id)
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if status == "failed" {
            figures.failed += changed as i64;
        }
        if let Delivery::Undeliverable { error } = d {
            sqlx::query(
                "INSERT INTO suppressions (email_lower, reason, detail, created_at) \
                 VALUES ($1, 'bounce', $2, $3) ON CONFLICT (email_lower) DO NOTHING",
            )
            .bind(r.email.to_ascii_lowercase())
            .bind(error)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    add_figures(&mut tx, send.newsletter_id, now, figures).await?;
    tx.commit().await?;
    Ok(())
}

/// Marks the send finished when no recipient is left queued.
pub async fn finish_if_done(db: &Db, send_id: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE sends SET status = 'sent', finished_at = $1, updated_at = $1 WHERE id = $2 \
         AND status = 'sending' AND NOT EXISTS \
         (SELECT 1 FROM send_recipients WHERE send_id = $2 AND status = 'queued')",
    )
    .bind(now)
    .bind(send_id)
    .execute(db.writer())
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Stops a send, keeping why (the mail server's reply) for staff.
pub async fn pause_send(db: &Db, send_id: i64, reason: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE sends SET status = 'paused', paused_reason = $1, updated_at = $2 \
         WHERE id = $3 AND status = 'sending'",
    )
    .bind(reason)
    .bind(now)
    .bind(send_id)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// Resumes a paused send (after staff fixed the cause).
/// Resumes a paused send, audited as `send.resume` by `by` in the same
/// transaction; false (nothing written) when it was not paused.
pub async fn resume_send(
    db: &Db,
    send_id: i64,
    by: crate::newsroom::Actor<'_>,
    now: i64,
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let r = sqlx::query(
        "UPDATE sends SET status = 'sending', paused_reason = NULL, updated_at = $1 \
         WHERE id = $2 AND status = 'paused'",
    )
    .bind(now)
    .bind(send_id)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    let id = send_id.to_string();
    crate::newsroom::audit(&mut tx, &by.audit("send.resume", "send", &id, ""), now).await?;
    crate::commit(tx).await?;
    Ok(true)
}

/// Counts of a send's recipients by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
}

impl Progress {
    pub fn total(&self) -> i64 {
        self.queued + self.sent + self.failed
    }
}

pub async fn send_progress(db: &Db, send_id: i64) -> Result<Progress> {
    let rows = sqlx::query(
        "SELECT status, CAST(COUNT(*) AS BIGINT) AS n FROM send_recipients WHERE send_id = $1 GROUP BY status",
    )
    .bind(send_id)
    .fetch_all(db.reader())
    .await?;
    let mut p = Progress::default();
    for r in rows {
        let status: String = r.try_get("status")?;
        let n: i64 = r.try_get("n")?;
        match status.as_str() {
            "queued" => p.queued = n,
            "sent" => p.sent = n,
            "failed" => p.failed = n,
            other => return Err(StoreError::Corrupt(format!("recipient status {other:?}"))),
        }
    }
    Ok(p)
}

/// A recipient's row (for tests and for staff looking into one address).
pub async fn find_recipient(
    db: &Db,
    send_id: i64,
    member_id: i64,
) -> Result<Option<(String, i64, Option<String>)>> {
    let row = sqlx::query(
        "SELECT status, attempts, error FROM send_recipients WHERE send_id = $1 AND member_id = $2",
    )
    .bind(send_id)
    .bind(member_id)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| {
        Ok((
            r.try_get("status")?,
            r.try_get("attempts")?,
            r.try_get("error")?,
        ))
    })
    .transpose()
}
