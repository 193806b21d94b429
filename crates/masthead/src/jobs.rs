//! The job worker: claims due jobs from the database and runs them.
//!
//! `run_one` is the step function: tests call it until it reports no work,
//! the server's worker loop calls it forever.

use crate::app::AppState;
use masthead_store::jobs::{self, Job};
use std::time::Duration;

/// How long a claimed job is a worker's before another may take it over
/// (a long job renews it as it goes: `imports::Progress`).
pub const LEASE_SECS: i64 = 300;

/// Claims and runs one due job. Returns whether there was one.
pub async fn run_one(state: &AppState) -> anyhow::Result<bool> {
    let Some(job) = claim(state).await? else {
        return Ok(false);
    };
    complete(state, job).await?;
    Ok(true)
}

/// Claims the next due job for this worker.
async fn claim(state: &AppState) -> anyhow::Result<Option<Job>> {
    Ok(jobs::claim_job(state.db(), state.worker_id(), state.now(), LEASE_SECS).await?)
}

/// Runs a claimed job and records how it went.
async fn complete(state: &AppState, job: Job) -> anyhow::Result<()> {
    let db = state.db();
    let owner = state.worker_id();
    // No transaction is open here: the job may take its time.
    match run(state, &job).await {
        Ok(done) => {
            let scrub = done == Done::Scrub;
            jobs::finish_job(db, &job, owner, state.now(), scrub).await?;
        }
        Err(e) => {
            tracing::warn!(job = job.id, kind = %job.kind, error = %format!("{e:#}"), "job failed");
            jobs::fail_job(db, &job, owner, &format!("{e:#}"), state.now()).await?;
        }
    }
    Ok(())
}

/// Jobs that run for minutes (imports): the worker runs one of them at a
/// time beside the others, so sign-up emails never wait behind an import.
fn is_long(job: &Job) -> bool {
    job.kind == masthead_store::imports::CHECK_JOB || job.kind == masthead_store::imports::RUN_JOB
}

/// What finishing a job does with its payload.
#[derive(Debug, PartialEq, Eq)]
enum Done {
    Keep,
    /// A sent email's text may hold a one-time link: keep no copy.
    Scrub,
}

async fn run(state: &AppState, job: &Job) -> anyhow::Result<Done> {
    match job.kind.as_str() {
        masthead_store::content::PUBLISH_JOB => {
            let payload: serde_json::Value = serde_json::from_str(&job.payload)?;
            let id = payload["article_id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("publish job without article_id"))?;
            let now = state.now();
            if masthead_store::content::publish_scheduled(state.db(), id, now).await? {
                tracing::info!(article = id, "published scheduled article");
                state.refresh_counters().await?;
            }
            Ok(Done::Keep)
        }
        masthead_store::members::EMAIL_JOB => {
            let email: masthead_store::members::OutgoingEmail = serde_json::from_str(&job.payload)?;
            state.mailer().send(&email).await?;
            Ok(Done::Scrub)
        }
        crate::content::search::REINDEX_JOB => {
            let n = crate::content::search::reindex(state).await?;
            tracing::info!(rows = n, "search index remade");
            Ok(Done::Keep)
        }
        crate::staff::STAFF_RESET_JOB => {
            let payload: serde_json::Value = serde_json::from_str(&job.payload)?;
            let email = payload["email"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("staff reset job without email"))?;
            crate::staff::send_reset(state, email).await?;
            // An address typed into a public form: keep no copy.
            Ok(Done::Scrub)
        }
        masthead_store::imports::CHECK_JOB | masthead_store::imports::RUN_JOB => {
            crate::imports::job::run(state, job).await?;
            Ok(Done::Keep)
        }
        other => anyhow::bail!("unknown job kind {other:?}"),
    }
}

/// The in-process worker beside the server: runs due jobs, then sleeps
/// until the next one is due (at most a second, so jobs enqueued by other
/// processes start promptly).
pub async fn worker(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut long: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        let ran = match claim(&state).await {
            Ok(Some(job)) if is_long(&job) && long.as_ref().is_none_or(|h| h.is_finished()) => {
                let state = state.clone();
                long = Some(tokio::spawn(async move {
                    if let Err(e) = complete(&state, job).await {
                        tracing::error!(error = %format!("{e:#}"), "job worker error");
                    }
                }));
                true
            }
            Ok(Some(job)) => {
                if let Err(e) = complete(&state, job).await {
                    tracing::error!(error = %format!("{e:#}"), "job worker error");
                }
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "job worker error");
                false
            }
        };
        if ran {
            continue;
        }
        let wait = match jobs::find_next_run_at(state.db()).await {
            Ok(Some(at)) => {
                let secs = at - state.now();
                Duration::from_millis((secs.clamp(0, 1) * 1000) as u64)
            }
            _ => Duration::from_secs(1),
        }
        .max(Duration::from_millis(200));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}
