//! Members, staff, sessions, one-time tokens, grants, the signed-in meter,
//! consent records and funnel counts.

use crate::jobs::{insert_job, NewJob};
use crate::{Db, Result, Tx};
use serde::{Deserialize, Serialize};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub id: i64,
    pub email: String,
    pub verified: bool,
    pub has_password: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Staff {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
}

/// A live session as the web layer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub kind: String,
    pub member: Option<Member>,
    pub staff: Option<Staff>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub authenticated_at: i64,
    /// The member holds a grant valid now.
    pub entitled: bool,
    /// When the grants valid at the read end (`i64::MAX`: never); a
    /// cached session is entitled only before it.
    pub entitled_until: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionSummary {
    pub id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub user_agent: String,
}

#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub kind: &'a str,
    pub member_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub user_agent: &'a str,
}

/// An email to queue in the same transaction as the change that sends it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

pub const EMAIL_JOB: &str = "email";

/// Queues an email (sent by the job worker) inside `tx`.
pub async fn queue_email(tx: &mut Tx, email: &OutgoingEmail, now: i64) -> Result<()> {
    let payload = serde_json::to_string(email).unwrap_or_default();
    insert_job(
        tx,
        &NewJob {
            kind: EMAIL_JOB,
            payload: &payload,
            unique_key: None,
            run_at: now,
            max_attempts: 8,
        },
        now,
    )
    .await
}

fn member_from(r: &sqlx::any::AnyRow) -> Result<Member> {
    Ok(Member {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        verified: r.try_get::<Option<i64>, _>("verified_at")?.is_some(),
        has_password: r.try_get::<Option<String>, _>("password_hash")?.is_some(),
        created_at: r.try_get("created_at")?,
    })
}

/// A member and their password hash, by the lowered address.
pub async fn find_member_by_email(
    db: &Db,
    email_lower: &str,
) -> Result<Option<(Member, Option<String>)>> {
    let row = sqlx::query(
        "SELECT id, email, verified_at, password_hash, created_at FROM members WHERE email_lower = $1",
    )
    .bind(email_lower)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| Ok((member_from(&r)?, r.try_get("password_hash")?)))
        .transpose()
}

pub async fn find_member(db: &Db, id: i64) -> Result<Option<(Member, Option<String>)>> {
    let row = sqlx::query(
        "SELECT id, email, verified_at, password_hash, created_at FROM members WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| Ok((member_from(&r)?, r.try_get("password_hash")?)))
        .transpose()
}

/// Creates a member; `None` when the address is taken (the caller decides
/// what the reader sees, which must not differ).
pub async fn insert_member(
    tx: &mut Tx,
    email: &str,
    email_lower: &str,
    password_hash: Option<&str>,
    verified: bool,
    now: i64,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO members (email, email_lower, password_hash, verified_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (email_lower) DO NOTHING RETURNING id",
    )
    .bind(email)
    .bind(email_lower)
    .bind(password_hash)
    .bind(verified.then_some(now))
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| r.try_get("id").map_err(Into::into)).transpose()
}

/// The member with this address, created (unverified) when there is none.
pub async fn ensure_member(db: &Db, email: &str, email_lower: &str, now: i64) -> Result<i64> {
    let mut tx = db.begin().await?;
    let id = ensure_member_in(&mut tx, email, email_lower, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// The member with this address, made (unverified, no password) if none.
pub async fn ensure_member_in(
    tx: &mut Tx,
    email: &str,
    email_lower: &str,
    now: i64,
) -> Result<i64> {
    Ok(
        match insert_member(tx, email, email_lower, None, false, now).await? {
            Some(id) => id,
            None => sqlx::query("SELECT id FROM members WHERE email_lower = $1")
                .bind(email_lower)
                .fetch_one(&mut **tx)
                .await?
                .try_get("id")?,
        },
    )
}

/// A member's address, read inside a transaction.
pub async fn find_member_email_in(tx: &mut Tx, member_id: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT email FROM members WHERE id = $1")
        .bind(member_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| Ok(r.try_get("email")?)).transpose()
}

pub async fn set_password(tx: &mut Tx, member_id: i64, hash: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE members SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now)
        .bind(member_id)
        .execute(&mut **tx)
        .await?;
    crate::settings::bump_sessions(tx).await?;
    Ok(())
}

/// Records the session that claimed an unverified address at sign-up.
pub async fn set_claim(tx: &mut Tx, member_id: i64, session_id: i64) -> Result<()> {
    sqlx::query("UPDATE members SET claim_session_id = $1 WHERE id = $2 AND verified_at IS NULL")
        .bind(session_id)
        .bind(member_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// How an address was proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The sign-up's own confirmation link, whose email named the
    /// newsletters chosen at sign-up: following it confirms them.
    SignupLink,
    /// Any other emailed link: a log-in link, a password reset, a
    /// newsletter confirmation.
    Link,
    /// The newsroom vouched for the address (a member import marked
    /// confirmed); no browser is involved.
    Vouched,
}

/// What the first proof of an address changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Proved {
    /// The address was unverified until now.
    pub newly: bool,
    /// A password set before the proof was dropped.
    pub password_dropped: bool,
    /// Sessions ended by the proof.
    pub sessions_ended: u64,
}

/// Marks an address verified, under the rule that protects a reader from
/// pre-registration: until an address is proved, nothing set by whoever
/// claimed it survives the proof, unless the proof comes from the very
/// session that claimed it at sign-up (`from_session`). Otherwise every
/// session of the member ends, a password set before is dropped, and the
/// sign-up's newsletter choices are undone (except for the sign-up's own
/// confirmation link, whose email named them). An address already verified
/// is left as it is.
pub async fn prove_address(
    tx: &mut Tx,
    member_id: i64,
    from_session: Option<i64>,
    proof: Proof,
    now: i64,
) -> Result<Proved> {
    let Some(row) = sqlx::query(
        "SELECT verified_at, claim_session_id, password_hash FROM members WHERE id = $1",
    )
    .bind(member_id)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(Proved::default());
    };
    if row.try_get::<Option<i64>, _>("verified_at")?.is_some() {
        return Ok(Proved::default());
    }
    let claim: Option<i64> = row.try_get("claim_session_id")?;
    let had_password = row.try_get::<Option<String>, _>("password_hash")?.is_some();
    let own = from_session.is_some() && from_session == claim;
    let keep = if own { from_session } else { None };
    let sessions_ended = delete_member_sessions(tx, member_id, keep).await?;
    let mut password_dropped = false;
    if !own {
        password_dropped = had_password;
        sqlx::query("UPDATE members SET password_hash = NULL WHERE id = $1")
            .bind(member_id)
            .execute(&mut **tx)
            .await?;
        // Reading history recorded before the proof is not the owner's.
        sqlx::query("DELETE FROM meter_views WHERE reader = $1")
            .bind(format!("m{member_id}"))
            .execute(&mut **tx)
            .await?;
        if proof != Proof::SignupLink {
            let rows = sqlx::query(
                "SELECT newsletter_id FROM newsletter_members WHERE member_id = $1 AND source = 'signup'",
            )
            .bind(member_id)
            .fetch_all(&mut **tx)
            .await?;
            for r in rows {
                crate::newsletters::unsubscribe(
                    tx,
                    member_id,
                    r.try_get("newsletter_id")?,
                    "sign-up not confirmed by the address",
                    now,
                )
                .await?;
            }
        }
    }
    sqlx::query(
        "UPDATE members SET verified_at = $1, claim_session_id = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(member_id)
    .execute(&mut **tx)
    .await?;
    crate::settings::bump_sessions(tx).await?;
    Ok(Proved {
        newly: true,
        password_dropped,
        sessions_ended,
    })
}

/// Changes a member's address; false when another account holds it.
pub async fn change_email(
    tx: &mut Tx,
    member_id: i64,
    email: &str,
    email_lower: &str,
    now: i64,
) -> Result<bool> {
    let taken = sqlx::query("SELECT 1 AS one FROM members WHERE email_lower = $1 AND id <> $2")
        .bind(email_lower)
        .bind(member_id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some();
    if taken {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE members SET email = $1, email_lower = $2, verified_at = $3, updated_at = $3 WHERE id = $4",
    )
    .bind(email)
    .bind(email_lower)
    .bind(now)
    .bind(member_id)
    .execute(&mut **tx)
    .await?;
    crate::settings::bump_sessions(tx).await?;
    Ok(true)
}

pub async fn insert_consent(
    tx: &mut Tx,
    member_id: i64,
    document: &str,
    version: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO consents (member_id, document, version, accepted_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(member_id)
    .bind(document)
    .bind(version)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The current version of a page (Terms, Privacy), if it exists.
pub async fn find_page_version(db: &Db, slug: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT current_version FROM pages WHERE slug = $1")
        .bind(slug)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| r.try_get("current_version").map_err(Into::into))
        .transpose()
}

// ---- sessions ----

pub async fn insert_session(
    tx: &mut Tx,
    s: &NewSession<'_>,
    expires_at: i64,
    now: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO sessions (token_hash, kind, member_id, staff_id, created_at, last_seen_at, \
         authenticated_at, expires_at, user_agent) VALUES ($1, $2, $3, $4, $5, $5, $5, $6, $7) RETURNING id",
    )
    .bind(s.token_hash)
    .bind(s.kind)
    .bind(s.member_id)
    .bind(s.staff_id)
    .bind(now)
    .bind(expires_at)
    .bind(s.user_agent)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// The session behind a cookie, with its member or staff and whether the
/// member is entitled now: one query per request.
pub async fn find_session(
    db: &Db,
    token_hash: &str,
    kind: &str,
    now: i64,
) -> Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT s.id AS sid, s.kind, s.created_at AS s_created, s.last_seen_at, s.authenticated_at, \
         s.expires_at, m.id AS m_id, m.email AS m_email, m.verified_at, m.password_hash, \
         m.created_at AS m_created, st.id AS st_id, st.email AS st_email, st.name AS st_name, \
         st.role AS st_role, st.disabled_at, \
         (SELECT MAX(COALESCE(g.valid_until, 9223372036854775807)) FROM grants g \
          WHERE g.member_id = s.member_id AND g.valid_from <= $3 \
          AND (g.valid_until IS NULL OR g.valid_until > $3)) AS entitled_until \
         FROM sessions s LEFT JOIN members m ON m.id = s.member_id \
         LEFT JOIN staff st ON st.id = s.staff_id \
         WHERE s.token_hash = $1 AND s.kind = $2",
    )
    .bind(token_hash)
    .bind(kind)
    .bind(now)
    .fetch_optional(db.reader())
    .await?;
    let Some(r) = row else { return Ok(None) };
    if r.try_get::<i64, _>("expires_at")? <= now {
        return Ok(None);
    }
    let member = match r.try_get::<Option<i64>, _>("m_id")? {
        Some(id) => Some(Member {
            id,
            email: r.try_get("m_email")?,
            verified: r.try_get::<Option<i64>, _>("verified_at")?.is_some(),
            has_password: r.try_get::<Option<String>, _>("password_hash")?.is_some(),
            created_at: r.try_get("m_created")?,
        }),
        None => None,
    };
    let staff = match r.try_get::<Option<i64>, _>("st_id")? {
        Some(_) if r.try_get::<Option<i64>, _>("disabled_at")?.is_some() => return Ok(None),
        Some(id) => Some(Staff {
            id,
            email: r.try_get("st_email")?,
            name: r.try_get("st_name")?,
            role: r.try_get("st_role")?,
        }),
        None => None,
    };
    if kind == "staff" && staff.is_none() {
        return Ok(None);
    }
    // A grant is for the owner of the address: a session on an address
    // nobody has proved yet reads as a free member.
    let entitled_until = r
        .try_get::<Option<i64>, _>("entitled_until")?
        .filter(|_| member.as_ref().is_some_and(|m| m.verified));
    let entitled = entitled_until.is_some();
    Ok(Some(Session {
        id: r.try_get("sid")?,
        kind: r.try_get("kind")?,
        member,
        staff,
        created_at: r.try_get("s_created")?,
        last_seen_at: r.try_get("last_seen_at")?,
        authenticated_at: r.try_get("authenticated_at")?,
        entitled,
        entitled_until,
    }))
}

pub async fn touch_session(db: &Db, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(db.writer())
        .await?;
    Ok(())
}

pub async fn mark_authenticated(db: &Db, id: i64, now: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE sessions SET authenticated_at = $1, last_seen_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    crate::settings::bump_sessions(&mut tx).await?;
    crate::commit(tx).await
}

pub async fn delete_session(db: &Db, id: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    delete_session_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete_session_in(tx: &mut Tx, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM meter_views WHERE reader = $1")
        .bind(format!("s{id}"))
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    crate::settings::bump_sessions(tx).await?;
    Ok(())
}

/// Ends every session of a member but `keep`.
pub async fn delete_member_sessions(tx: &mut Tx, member_id: i64, keep: Option<i64>) -> Result<u64> {
    // The meter of a session not yet tied to a proved address goes with it.
    sqlx::query(
        "DELETE FROM meter_views WHERE reader IN \
         (SELECT 's' || CAST(id AS TEXT) FROM sessions WHERE member_id = $1 AND id <> $2)",
    )
    .bind(member_id)
    .bind(keep.unwrap_or(-1))
    .execute(&mut **tx)
    .await?;
    let r = sqlx::query("DELETE FROM sessions WHERE member_id = $1 AND id <> $2")
        .bind(member_id)
        .bind(keep.unwrap_or(-1))
        .execute(&mut **tx)
        .await?;
    crate::settings::bump_sessions(tx).await?;
    Ok(r.rows_affected())
}

pub async fn list_member_sessions(db: &Db, member_id: i64) -> Result<Vec<SessionSummary>> {
    let rows = sqlx::query(
        "SELECT id, created_at, last_seen_at, user_agent FROM sessions WHERE member_id = $1 \
         ORDER BY last_seen_at DESC",
    )
    .bind(member_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SessionSummary {
                id: r.try_get("id")?,
                created_at: r.try_get("created_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
                user_agent: r.try_get("user_agent")?,
            })
        })
        .collect()
}

/// Moves what an old session held (unlocked articles, its meter) onto a
/// new one: used when a log-in rotates the session id.
pub async fn move_session_state(tx: &mut Tx, from: i64, to: i64, to_reader: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO session_unlocks (session_id, article_id, created_at) \
         SELECT $1, article_id, created_at FROM session_unlocks WHERE session_id = $2 \
         ON CONFLICT (session_id, article_id) DO NOTHING",
    )
    .bind(to)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO meter_views (reader, article_id, counted_at) \
         SELECT $1, article_id, counted_at FROM meter_views WHERE reader = $2 \
         ON CONFLICT (reader, article_id) DO NOTHING",
    )
    .bind(to_reader)
    .bind(format!("s{from}"))
    .execute(&mut **tx)
    .await?;
    delete_session_in(tx, from).await
}

pub async fn unlock_article(tx: &mut Tx, session_id: i64, article_id: i64, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO session_unlocks (session_id, article_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (session_id, article_id) DO NOTHING",
    )
    .bind(session_id)
    .bind(article_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The signed-in meter of a session: the articles it unlocked, and the
/// (article, counted at) views of its reader since `since`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberMeter {
    pub unlocked: Vec<i64>,
    pub counted: Vec<(i64, i64)>,
}

pub async fn find_meter(db: &Db, session_id: i64, reader: &str, since: i64) -> Result<MemberMeter> {
    let rows = sqlx::query(
        "SELECT article_id, counted_at AS at, 0 AS unlock FROM meter_views \
         WHERE reader = $1 AND counted_at > $2 \
         UNION ALL SELECT article_id, created_at AS at, 1 AS unlock FROM session_unlocks \
         WHERE session_id = $3",
    )
    .bind(reader)
    .bind(since)
    .bind(session_id)
    .fetch_all(db.reader())
    .await?;
    let mut m = MemberMeter::default();
    for r in rows {
        let id: i64 = r.try_get("article_id")?;
        if r.try_get::<i64, _>("unlock")? == 1 {
            m.unlocked.push(id);
        } else {
            m.counted.push((id, r.try_get("at")?));
        }
    }
    Ok(m)
}

/// Spends one metered view of `article_id` for `reader` (`m<member>` or
/// `s<session>`), atomically: the reader's row is locked (on SQLite the
/// write transaction already is the lock), entries older than the window
/// are forgotten, and the view is counted only while fewer than `limit`
/// others are. Returns whether the reader may read it in full: already
/// counted in the window, or counted now. Parallel requests from one
/// session can never spend more than `limit`.
pub async fn spend_view(
    db: &Db,
    reader: &str,
    article_id: i64,
    now: i64,
    window_start: i64,
    limit: u32,
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let lock = match reader.split_at_checked(1) {
        Some(("m", id)) => Some(("UPDATE members SET id = id WHERE id = $1", id)),
        Some(("s", id)) => Some(("UPDATE sessions SET id = id WHERE id = $1", id)),
        _ => None,
    };
    if let Some((sql, id)) = lock {
        if let Ok(id) = id.parse::<i64>() {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
    }
    sqlx::query("DELETE FROM meter_views WHERE reader = $1 AND counted_at <= $2")
        .bind(reader)
        .bind(window_start)
        .execute(&mut *tx)
        .await?;
    let rows = sqlx::query("SELECT article_id FROM meter_views WHERE reader = $1")
        .bind(reader)
        .fetch_all(&mut *tx)
        .await?;
    let mut counted = 0u32;
    for r in &rows {
        if r.try_get::<i64, _>("article_id")? == article_id {
            tx.commit().await?;
            return Ok(true);
        }
        counted += 1;
    }
    if counted >= limit {
        tx.commit().await?;
        return Ok(false);
    }
    sqlx::query("INSERT INTO meter_views (reader, article_id, counted_at) VALUES ($1, $2, $3)")
        .bind(reader)
        .bind(article_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Forgets every counted view older than the window (all readers): run
/// by the daily upkeep, so an idle account keeps no reading history.
pub async fn forget_old_views(db: &Db, window_start: i64) -> Result<u64> {
    let mut tx = db.begin().await?;
    let n = sqlx::query("DELETE FROM meter_views WHERE counted_at <= $1")
        .bind(window_start)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n)
}

/// Carries an anonymous meter's counted views over to a signed-in reader.
pub async fn merge_meter(tx: &mut Tx, reader: &str, views: &[(i64, i64)]) -> Result<()> {
    for (article_id, at) in views {
        sqlx::query(
            "INSERT INTO meter_views (reader, article_id, counted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (reader, article_id) DO UPDATE SET counted_at = excluded.counted_at \
             WHERE meter_views.counted_at < excluded.counted_at",
        )
        .bind(reader)
        .bind(article_id)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

// ---- one-time tokens ----

#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub token_hash: &'a str,
    pub purpose: &'a str,
    pub member_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub email: &'a str,
    pub return_to: &'a str,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedToken {
    pub member_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub email: String,
    pub return_to: String,
}

pub async fn insert_token(tx: &mut Tx, t: &NewToken<'_>, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO auth_tokens (token_hash, purpose, member_id, staff_id, email, return_to, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(t.token_hash)
    .bind(t.purpose)
    .bind(t.member_id)
    .bind(t.staff_id)
    .bind(t.email)
    .bind(t.return_to)
    .bind(now)
    .bind(t.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Uses a token once: only the first call within its lifetime succeeds.
pub async fn consume_token(
    tx: &mut Tx,
    token_hash: &str,
    purpose: &str,
    now: i64,
) -> Result<Option<UsedToken>> {
    let row = sqlx::query(
        "UPDATE auth_tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 \
         AND used_at IS NULL AND expires_at > $1 \
         RETURNING member_id, staff_id, email, return_to",
    )
    .bind(now)
    .bind(token_hash)
    .bind(purpose)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| {
        Ok(UsedToken {
            member_id: r.try_get("member_id")?,
            staff_id: r.try_get("staff_id")?,
            email: r.try_get("email")?,
            return_to: r.try_get("return_to")?,
        })
    })
    .transpose()
}

/// Whether a token is usable now (for the page that shows its button).
pub async fn token_is_live(db: &Db, token_hash: &str, purpose: &str, now: i64) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM auth_tokens WHERE token_hash = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3",
    )
    .bind(token_hash)
    .bind(purpose)
    .bind(now)
    .fetch_optional(db.reader())
    .await?
    .is_some())
}

/// The staff member a live (unused, unexpired) token names.
pub async fn live_token_staff(
    db: &Db,
    token_hash: &str,
    purpose: &str,
    now: i64,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT staff_id FROM auth_tokens WHERE token_hash = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3",
    )
    .bind(token_hash)
    .bind(purpose)
    .bind(now)
    .fetch_optional(db.reader())
    .await?;
    Ok(row.and_then(|r| r.try_get("staff_id").ok().flatten()))
}

// ---- grants ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub id: i64,
    pub source: String,
    pub valid_from: i64,
    pub valid_until: Option<i64>,
    pub note: String,
}

pub async fn insert_grant(
    db: &Db,
    member_id: i64,
    source: &str,
    valid_from: i64,
    valid_until: Option<i64>,
    note: &str,
    now: i64,
) -> Result<i64> {
    let mut tx = db.begin().await?;
    let id = insert_grant_in(
        &mut tx,
        member_id,
        source,
        valid_from,
        valid_until,
        note,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// `insert_grant` inside a transaction (with its audit entry, say).
/// Who receives complimentary access: a member by id (the newsroom), or
/// an address, whose member is made if there is none (the command line).
#[derive(Debug, Clone, Copy)]
pub enum Grantee<'a> {
    Member(i64),
    Address {
        email: &'a str,
        email_lower: &'a str,
    },
}

/// Gives complimentary access until `until`, in one transaction with its
/// audit entry (`comp.grant`, the member's id as object, by `by`: a staff
/// member, or `Actor::OPERATOR`). Returns the member,
/// or `None` when `Grantee::Member` names nobody.
pub async fn grant_complimentary(
    db: &Db,
    grantee: Grantee<'_>,
    until: i64,
    note: &str,
    by: crate::newsroom::Actor<'_>,
    detail: &str,
    now: i64,
) -> Result<Option<i64>> {
    let mut tx = db.begin().await?;
    let id = match grantee {
        Grantee::Member(id) => {
            let found = sqlx::query("SELECT id FROM members WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if found.is_none() {
                return Ok(None);
            }
            id
        }
        Grantee::Address { email, email_lower } => {
            ensure_member_in(&mut tx, email, email_lower, now).await?
        }
    };
    insert_grant_in(&mut tx, id, "comp", now, Some(until), note, now).await?;
    let object = id.to_string();
    let entry = by.audit("comp.grant", "member", &object, detail);
    crate::newsroom::audit(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(Some(id))
}

pub async fn insert_grant_in(
    tx: &mut Tx,
    member_id: i64,
    source: &str,
    valid_from: i64,
    valid_until: Option<i64>,
    note: &str,
    now: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO grants (member_id, source, valid_from, valid_until, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(member_id)
    .bind(source)
    .bind(valid_from)
    .bind(valid_until)
    .bind(note)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    crate::settings::bump_sessions(tx).await?;
    Ok(row.try_get("id")?)
}

/// Ends a member's grants of `source` that are still valid: they stay on
/// record, valid until now. Returns how many ended.
pub async fn end_grants(tx: &mut Tx, member_id: i64, source: &str, now: i64) -> Result<u64> {
    let r = sqlx::query(
        "UPDATE grants SET valid_until = $1 WHERE member_id = $2 AND source = $3 \
         AND (valid_until IS NULL OR valid_until > $1)",
    )
    .bind(now)
    .bind(member_id)
    .bind(source)
    .execute(&mut **tx)
    .await?;
    crate::settings::bump_sessions(tx).await?;
    Ok(r.rows_affected())
}

pub async fn list_grants(db: &Db, member_id: i64) -> Result<Vec<Grant>> {
    let rows = sqlx::query(
        "SELECT id, source, valid_from, valid_until, note FROM grants WHERE member_id = $1 ORDER BY valid_from",
    )
    .bind(member_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Grant {
                id: r.try_get("id")?,
                source: r.try_get("source")?,
                valid_from: r.try_get("valid_from")?,
                valid_until: r.try_get("valid_until")?,
                note: r.try_get("note")?,
            })
        })
        .collect()
}

// ---- export and deletion ----

/// Everything stored about a member, for "export my data".
pub async fn export_member(db: &Db, member_id: i64) -> Result<Option<serde_json::Value>> {
    let Some((member, _)) = find_member(db, member_id).await? else {
        return Ok(None);
    };
    let sessions = list_member_sessions(db, member_id).await?;
    let grants = list_grants(db, member_id).await?;
    let consents = sqlx::query(
        "SELECT document, version, accepted_at FROM consents WHERE member_id = $1 ORDER BY id",
    )
    .bind(member_id)
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(|r| {
        Ok(serde_json::json!({
            "document": r.try_get::<String, _>("document")?,
            "version": r.try_get::<i64, _>("version")?,
            "accepted_at": r.try_get::<i64, _>("accepted_at")?,
        }))
    })
    .collect::<Result<Vec<_>>>()?;
    let views = sqlx::query(
        "SELECT v.article_id, v.counted_at, a.slug FROM meter_views v \
         LEFT JOIN articles a ON a.id = v.article_id WHERE v.reader = $1 ORDER BY v.counted_at",
    )
    .bind(format!("m{member_id}"))
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(|r| {
        Ok(serde_json::json!({
            "article": r.try_get::<Option<String>, _>("slug")?,
            "counted_at": r.try_get::<i64, _>("counted_at")?,
        }))
    })
    .collect::<Result<Vec<_>>>()?;
    let newsletters = crate::newsletters::list_consents(db, member_id)
        .await?
        .into_iter()
        .map(|(slug, action, source, at)| {
            serde_json::json!({"newsletter": slug, "action": action, "source": source, "at": at})
        })
        .collect::<Vec<_>>();
    let all = crate::newsletters::list(db).await?;
    let current = crate::newsletters::member_newsletters(db, member_id).await?;
    let subscribed: Vec<&str> = all
        .iter()
        .filter(|n| current.contains(&n.id))
        .map(|n| n.slug.as_str())
        .collect();
    Ok(Some(serde_json::json!({
        "member": member,
        "sessions": sessions,
        "grants": grants,
        "consents": consents,
        "metered_views": views,
        "newsletters": subscribed,
        "newsletter_choices": newsletters,
    })))
}

/// Deletes a member and everything personal tied to them.
/// Deletes a member and what is theirs (billing records stay, emptied),
/// with the audit entry when staff delete them, in one transaction.
pub async fn delete_member(
    db: &Db,
    member_id: i64,
    audit: Option<&crate::newsroom::Audit<'_>>,
    now: i64,
) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM meter_views WHERE reader = $1")
        .bind(format!("m{member_id}"))
        .execute(&mut *tx)
        .await?;
    // Billing records stay (the publication's books) but lose the member
    // and the stored Stripe object with its names and addresses.
    sqlx::query(
        "UPDATE stripe_events SET payload = NULL WHERE customer_id IN \
         (SELECT customer_id FROM stripe_customers WHERE member_id = $1 \
          UNION SELECT customer_id FROM subscriptions WHERE member_id = $1)",
    )
    .bind(member_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE subscriptions SET member_id = NULL, snapshot = '{}' WHERE member_id = $1")
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
    for table in [
        "sessions",
        "auth_tokens",
        "grants",
        "consents",
        "stripe_customers",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE member_id = $1"))
            .bind(member_id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM members WHERE id = $1")
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
    if let Some(a) = audit {
        crate::newsroom::audit(&mut tx, a, now).await?;
    }
    crate::settings::bump_sessions(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends a member's complimentary grants, audited as `comp.revoke` by `by`,
/// in one transaction; how many were live.
pub async fn end_complimentary(
    db: &Db,
    member_id: i64,
    by: crate::newsroom::Actor<'_>,
    now: i64,
) -> Result<u64> {
    let mut tx = db.begin().await?;
    let n = end_grants(&mut tx, member_id, "comp", now).await?;
    let (id, detail) = (member_id.to_string(), format!("{n} grant(s) ended"));
    crate::newsroom::audit(
        &mut tx,
        &by.audit("comp.revoke", "member", &id, &detail),
        now,
    )
    .await?;
    crate::commit(tx).await?;
    Ok(n)
}

/// A member CSV to import: its rows (the first is the header), the columns
/// that matter, where it comes from and what the newsroom vouches for.
pub struct MemberImport<'a> {
    pub rows: &'a [Vec<String>],
    pub email_col: usize,
    /// Newsletter slugs separated by spaces.
    pub newsletters_col: Option<usize>,
    /// Kept with every opt-in (`import: SOURCE`).
    pub source: &'a str,
    /// The previous system confirmed these addresses: each is proved
    /// (`Proof::Vouched`), dropping whatever an unproved sign-up set.
    pub confirmed: bool,
    /// These people consented to the newsletters in their row.
    pub consented: bool,
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemberImportReport {
    pub created: u64,
    pub existing: u64,
    pub opted_in: u64,
    /// "line N: why", in order.
    pub skipped: Vec<String>,
}

/// The member CSV import use case, in one transaction: every member made
/// or found, proved when vouched for, opted in where they consented, and
/// the audit entry `members.import` — all of it or none. Existing members
/// keep their account.
pub async fn import_members(
    db: &Db,
    imp: &MemberImport<'_>,
    by: crate::newsroom::Actor<'_>,
    now: i64,
) -> Result<MemberImportReport> {
    let all = crate::newsletters::list(db).await?;
    let mut report = MemberImportReport::default();
    let mut tx = db.begin().await?;
    for (i, row) in imp.rows.iter().enumerate().skip(1) {
        let raw = row.get(imp.email_col).map(String::as_str).unwrap_or("");
        let email = match masthead_core::members::Email::parse(raw) {
            Ok(e) => e,
            Err(e) => {
                report.skipped.push(format!("line {}: {e}", i + 1));
                continue;
            }
        };
        let lower = email.lower();
        let id = match insert_member(&mut tx, email.as_str(), &lower, None, false, now).await? {
            Some(id) => {
                report.created += 1;
                id
            }
            None => {
                report.existing += 1;
                sqlx::query("SELECT id FROM members WHERE email_lower = $1")
                    .bind(&lower)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?
            }
        };
        if imp.confirmed {
            prove_address(&mut tx, id, None, Proof::Vouched, now).await?;
        }
        if !imp.consented {
            continue;
        }
        let slugs = imp
            .newsletters_col
            .and_then(|c| row.get(c))
            .map(String::as_str)
            .unwrap_or("");
        for slug in slugs.split_whitespace() {
            match all.iter().find(|n| n.slug == slug) {
                Some(n) => {
                    let why = format!("import: {}", imp.source);
                    if crate::newsletters::subscribe(&mut tx, id, n.id, &why, now).await? {
                        report.opted_in += 1;
                    }
                }
                None => report
                    .skipped
                    .push(format!("line {}: no newsletter “{slug}”", i + 1)),
            }
        }
    }
    let detail = format!(
        "{}: {} created, {} existing, {} opt-ins, {} skipped",
        imp.source,
        report.created,
        report.existing,
        report.opted_in,
        report.skipped.len()
    );
    let entry = by.audit("members.import", "members", "csv", &detail);
    crate::newsroom::audit(&mut tx, &entry, now).await?;
    crate::commit(tx).await?;
    Ok(report)
}

// ---- staff ----

pub async fn insert_staff(
    tx: &mut Tx,
    email: &str,
    email_lower: &str,
    name: &str,
    role: &str,
    now: i64,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO staff (email, email_lower, name, role, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (email_lower) DO NOTHING RETURNING id",
    )
    .bind(email)
    .bind(email_lower)
    .bind(name)
    .bind(role)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| r.try_get("id").map_err(Into::into)).transpose()
}

pub async fn find_staff_by_email(
    db: &Db,
    email_lower: &str,
) -> Result<Option<(Staff, Option<String>)>> {
    let row = sqlx::query(
        "SELECT id, email, name, role, password_hash FROM staff WHERE email_lower = $1 AND disabled_at IS NULL",
    )
    .bind(email_lower)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| {
        Ok((
            Staff {
                id: r.try_get("id")?,
                email: r.try_get("email")?,
                name: r.try_get("name")?,
                role: r.try_get("role")?,
            },
            r.try_get("password_hash")?,
        ))
    })
    .transpose()
}

/// A live staff member's password hash (none until one is set).
pub async fn find_staff_password_hash(db: &Db, staff_id: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT password_hash FROM staff WHERE id = $1 AND disabled_at IS NULL")
        .bind(staff_id)
        .fetch_optional(db.reader())
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<String>, _>("password_hash")?,
        None => None,
    })
}

pub async fn set_staff_password(tx: &mut Tx, staff_id: i64, hash: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE staff SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now)
        .bind(staff_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE staff_id = $1")
        .bind(staff_id)
        .execute(&mut **tx)
        .await?;
    crate::settings::bump_sessions(tx).await?;
    Ok(())
}

// ---- funnel ----

/// One hour's funnel counts for an article (article 0: the publication as
/// a whole, for steps no article led to).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FunnelCounts {
    pub metered_views: i64,
    pub offers_shown: i64,
    pub signups: i64,
    pub checkouts: i64,
    pub subscriptions: i64,
    pub cancellations: i64,
}

const ADD_FUNNEL: &str =
    "INSERT INTO funnel_hourly (article_id, hour, metered_views, offers_shown, signups, \
     checkouts, subscriptions, cancellations) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (article_id, hour) DO UPDATE SET \
     metered_views = funnel_hourly.metered_views + excluded.metered_views, \
     offers_shown = funnel_hourly.offers_shown + excluded.offers_shown, \
     signups = funnel_hourly.signups + excluded.signups, \
     checkouts = funnel_hourly.checkouts + excluded.checkouts, \
     subscriptions = funnel_hourly.subscriptions + excluded.subscriptions, \
     cancellations = funnel_hourly.cancellations + excluded.cancellations";

/// Adds counts to an article's hourly row inside `tx`.
pub async fn add_funnel_counts_in(
    tx: &mut Tx,
    article_id: i64,
    hour: i64,
    c: &FunnelCounts,
) -> Result<()> {
    sqlx::query(ADD_FUNNEL)
        .bind(article_id)
        .bind(hour)
        .bind(c.metered_views)
        .bind(c.offers_shown)
        .bind(c.signups)
        .bind(c.checkouts)
        .bind(c.subscriptions)
        .bind(c.cancellations)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Adds counts to the hourly rows: (article id, hour, counts).
pub async fn add_funnel_counts(db: &Db, rows: &[(i64, i64, FunnelCounts)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for (article, hour, counts) in rows {
        add_funnel_counts_in(&mut tx, *article, *hour, counts).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Funnel totals for an article over all hours.
pub async fn find_funnel_totals(db: &Db, article_id: i64) -> Result<FunnelCounts> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(metered_views), 0) AS BIGINT) AS v, \
         CAST(COALESCE(SUM(offers_shown), 0) AS BIGINT) AS o, \
         CAST(COALESCE(SUM(signups), 0) AS BIGINT) AS s, \
         CAST(COALESCE(SUM(checkouts), 0) AS BIGINT) AS c, \
         CAST(COALESCE(SUM(subscriptions), 0) AS BIGINT) AS n, \
         CAST(COALESCE(SUM(cancellations), 0) AS BIGINT) AS x FROM funnel_hourly WHERE article_id = $1",
    )
    .bind(article_id)
    .fetch_one(db.reader())
    .await?;
    Ok(FunnelCounts {
        metered_views: r.try_get("v")?,
        offers_shown: r.try_get("o")?,
        signups: r.try_get("s")?,
        checkouts: r.try_get("c")?,
        subscriptions: r.try_get("n")?,
        cancellations: r.try_get("x")?,
    })
}

/// A staff member's two-factor state: (base32 secret, last accepted step).
pub async fn find_staff_totp(db: &Db, staff_id: i64) -> Result<Option<(String, i64)>> {
    let row = sqlx::query("SELECT totp_secret, totp_last_step FROM staff WHERE id = $1")
        .bind(staff_id)
        .fetch_optional(db.reader())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let secret: Option<String> = row.try_get("totp_secret")?;
    Ok(secret.map(|s| (s, row.try_get("totp_last_step").unwrap_or(0))))
}

/// Turns two-factor on (a secret, the step of the confirming code and new
/// recovery code hashes) or off (`None`: secret and codes removed).
pub async fn set_staff_totp(
    tx: &mut Tx,
    staff_id: i64,
    enable: Option<(&str, i64, &[String])>,
    now: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM staff_recovery_codes WHERE staff_id = $1")
        .bind(staff_id)
        .execute(&mut **tx)
        .await?;
    let (secret, step) = match enable {
        Some((s, step, codes)) => {
            for c in codes {
                sqlx::query(
                    "INSERT INTO staff_recovery_codes (staff_id, code_hash) VALUES ($1, $2)",
                )
                .bind(staff_id)
                .bind(c)
                .execute(&mut **tx)
                .await?;
            }
            (Some(s), step)
        }
        None => (None, 0),
    };
    sqlx::query(
        "UPDATE staff SET totp_secret = $2, totp_last_step = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(staff_id)
    .bind(secret)
    .bind(step)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records `step` as the last accepted code, only if it is later than the
/// one stored: false means the code was already used (a replay, or a
/// concurrent log-in with the same code).
pub async fn accept_totp_step(db: &Db, staff_id: i64, step: i64) -> Result<bool> {
    let mut tx = db.begin().await?;
    let done = accept_totp_step_in(&mut tx, staff_id, step).await?;
    crate::commit(tx).await?;
    Ok(done)
}

/// `accept_totp_step` inside the caller's transaction.
pub async fn accept_totp_step_in(tx: &mut Tx, staff_id: i64, step: i64) -> Result<bool> {
    let done =
        sqlx::query("UPDATE staff SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2")
            .bind(staff_id)
            .bind(step)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Uses a recovery code once; false when it is unknown or already used.
pub async fn use_recovery_code(db: &Db, staff_id: i64, code_hash: &str, now: i64) -> Result<bool> {
    let mut tx = db.begin().await?;
    let done = use_recovery_code_in(&mut tx, staff_id, code_hash, now).await?;
    crate::commit(tx).await?;
    Ok(done)
}

/// `use_recovery_code` inside the caller's transaction.
pub async fn use_recovery_code_in(
    tx: &mut Tx,
    staff_id: i64,
    code_hash: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE staff_recovery_codes SET used_at = $3 \
         WHERE staff_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(staff_id)
    .bind(code_hash)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Recovery codes left unused.
pub async fn recovery_codes_left(db: &Db, staff_id: i64) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM staff_recovery_codes WHERE staff_id = $1 AND used_at IS NULL",
    )
    .bind(staff_id)
    .fetch_one(db.reader())
    .await?;
    Ok(row.try_get("n")?)
}
