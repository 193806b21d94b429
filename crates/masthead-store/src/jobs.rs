//! The durable job queue.
//!
//! A job is claimed by writing a lease (owner, expiry) in one short
//! transaction; the work runs outside any transaction; the outcome is
//! recorded in another. A lease that expires (a crashed worker) makes the
//! job claimable again, so every job runs at least once.

use crate::{Backend, Db, Result, Tx};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: &'a str,
    /// At most one queued or running job per key; enqueuing again moves its
    /// run time instead of adding a second job.
    pub unique_key: Option<&'a str>,
    pub run_at: i64,
    pub max_attempts: i64,
}

/// Enqueues inside the caller's transaction, so the job exists exactly when
/// the change that needs it commits.
pub async fn insert_job(tx: &mut Tx, job: &NewJob<'_>, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO jobs (kind, payload, unique_key, run_at, status, attempts, max_attempts, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $6) \
         ON CONFLICT (unique_key) DO UPDATE SET payload = excluded.payload, run_at = excluded.run_at, \
         status = 'queued', attempts = 0, lease_owner = NULL, lease_until = NULL, updated_at = excluded.updated_at",
    )
    .bind(job.kind)
    .bind(job.payload)
    .bind(job.unique_key)
    .bind(job.run_at)
    .bind(job.max_attempts)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Claims the oldest due job: queued and due, or running with an expired
/// lease. Returns `None` when nothing is due.
pub async fn claim_job(db: &Db, owner: &str, now: i64, lease_secs: i64) -> Result<Option<Job>> {
    let mut tx = db.begin().await?;
    // PostgreSQL: skip rows another worker is claiming right now. SQLite
    // has one writer at a time, so the plain select is already exclusive.
    let select = match db.backend() {
        Backend::Postgres => {
            "SELECT id FROM jobs WHERE (status = 'queued' AND run_at <= $1) \
             OR (status = 'running' AND lease_until < $1) \
             ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
        }
        Backend::Sqlite => {
            "SELECT id FROM jobs WHERE (status = 'queued' AND run_at <= $1) \
             OR (status = 'running' AND lease_until < $1) \
             ORDER BY run_at, id LIMIT 1"
        }
    };
    let Some(row) = sqlx::query(select)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
    else {
        tx.rollback().await?;
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    let row = sqlx::query(
        "UPDATE jobs SET status = 'running', lease_owner = $2, lease_until = $3, \
         attempts = attempts + 1, updated_at = $4 WHERE id = $1 \
         RETURNING id, kind, payload, attempts, max_attempts",
    )
    .bind(id)
    .bind(owner)
    .bind(now + lease_secs)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(Job {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
    }))
}

/// Records success. Only the lease holder may finish a job: a worker whose
/// lease expired and was taken over finds nothing to update.
pub async fn finish_job(db: &Db, job: &Job, owner: &str, now: i64, scrub: bool) -> Result<bool> {
    // The payload is scrubbed by the same statement that finishes the job:
    // a crash can leave a sent job unfinished (it runs again) but never
    // finished-looking with its payload gone, or scrubbed and retried.
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE jobs SET status = 'done', lease_owner = NULL, lease_until = NULL, updated_at = $3, \
         payload = CASE WHEN $4 = 1 THEN '{}' ELSE payload END \
         WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
    )
    .bind(job.id)
    .bind(owner)
    .bind(now)
    .bind(i64::from(scrub))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(done == 1)
}

/// Records a failure: retried with backoff until `max_attempts`, then failed.
pub async fn fail_job(db: &Db, job: &Job, owner: &str, error: &str, now: i64) -> Result<()> {
    let give_up = job.attempts >= job.max_attempts;
    let backoff = 5 * (1i64 << job.attempts.clamp(0, 10));
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE jobs SET status = $3, run_at = $4, last_error = $5, lease_owner = NULL, \
         lease_until = NULL, updated_at = $6 WHERE id = $1 AND lease_owner = $2",
    )
    .bind(job.id)
    .bind(owner)
    .bind(if give_up { "failed" } else { "queued" })
    .bind(now + backoff)
    .bind(error)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The earliest run time of any queued job, so an idle worker knows how
/// long it may sleep.
pub async fn find_next_run_at(db: &Db) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT MIN(run_at) AS next FROM jobs WHERE status = 'queued'")
        .fetch_one(db.reader())
        .await?;
    Ok(row.try_get("next")?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

pub async fn find_job_status(db: &Db, unique_key: &str) -> Result<Option<JobStatus>> {
    let row = sqlx::query("SELECT status, attempts, last_error FROM jobs WHERE unique_key = $1")
        .bind(unique_key)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| {
        Ok(JobStatus {
            status: r.try_get("status")?,
            attempts: r.try_get("attempts")?,
            last_error: r.try_get("last_error")?,
        })
    })
    .transpose()
}

/// Extends a running job's lease (a long job calls it as it goes), so no
/// other worker takes it over while it runs. False when this worker no
/// longer holds the lease: it must stop.
pub async fn renew_lease(db: &Db, job_id: i64, owner: &str, until: i64) -> Result<bool> {
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE jobs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
    )
    .bind(job_id)
    .bind(owner)
    .bind(until)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(n == 1)
}
