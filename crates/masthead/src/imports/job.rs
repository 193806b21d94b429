//! The newsroom's import, as jobs on the queue: an uploaded export is
//! first read without writing (`CHECK_JOB`, the dry run an administrator
//! confirms), then imported (`RUN_JOB`). The run's row shows progress
//! and, at the end, the report; the uploaded file (which may hold
//! secrets) is deleted when the run ends. A worker that dies mid-import
//! leaves its job to be taken over once the lease lapses, and the import
//! resumes: everything already committed is found again by its source
//! and skipped unchanged.

use super::wordpress::{self, Options};
use super::Progress;
use super::{ghost, substack};
use crate::app::AppState;
use masthead_store::imports::{self as store, RunUpdate};
use masthead_store::jobs::Job;
use masthead_store::newsroom::Actor;
use serde::{Deserialize, Serialize};

/// What the Import page lets an administrator choose.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WebOptions {
    #[serde(default)]
    pub old_url: Option<String>,
    #[serde(default)]
    pub protected_as_subscribers: bool,
    #[serde(default)]
    pub replace_pages: bool,
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub timezone: String,
    /// Ghost: where the uploaded members CSV is (deleted with the run).
    #[serde(default)]
    pub members_file: Option<String>,
}

/// Runs a check or import job.
pub async fn run(state: &AppState, job: &Job) -> anyhow::Result<()> {
    let payload: serde_json::Value = serde_json::from_str(&job.payload)?;
    let id = payload["run"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("import job without run"))?;
    let db = state.db();
    let Some(run) = store::find_run(db, id).await? else {
        return Ok(());
    };
    let dry = job.kind == store::CHECK_JOB;
    let status = if dry { "checking" } else { "running" };
    if run.status != status || run.file_path.is_empty() {
        return Ok(());
    }
    let web: WebOptions = serde_json::from_str(&run.options)?;
    let old_url = web.old_url.clone().filter(|u| !u.trim().is_empty());
    let allow_private_fetch = state.config().import_allow_private_fetch;
    let actor = Actor {
        staff_id: run.staff_id,
        email: &run.staff_email,
    };
    let owner = state.worker_id().to_string();
    let mut progress = Progress::job(id, status, job.id, &owner);
    let result = if run.source == "ghost" {
        let opts = ghost::Options {
            members: web.members_file.clone().map(Into::into),
            old_url,
            dry_run: dry,
            force: web.force,
            allow_private_fetch,
            replace_pages: web.replace_pages,
            ..ghost::Options::new(run.file_path.clone().into())
        };
        ghost::run_with(state, &opts, actor, &mut progress).await
    } else if run.source == "substack" {
        let opts = substack::Options {
            old_url,
            dry_run: dry,
            force: web.force,
            allow_private_fetch,
            ..substack::Options::new(run.file_path.clone().into())
        };
        substack::run_with(state, &opts, actor, &mut progress).await
    } else {
        let opts = Options {
            old_url,
            dry_run: dry,
            force: web.force,
            allow_private_fetch,
            protected_as_subscribers: web.protected_as_subscribers,
            replace_pages: web.replace_pages,
            timezone: jiff::tz::TimeZone::get(&web.timezone).unwrap_or(jiff::tz::TimeZone::UTC),
            ..Options::new(run.file_path.clone().into())
        };
        wordpress::run_with(state, &opts, actor, &mut progress).await
    };
    let now = state.now();
    match result {
        Ok(report) => {
            let json = serde_json::to_string(&report)?;
            let items = (report.articles.created
                + report.articles.updated
                + report.articles.unchanged
                + report.articles.conflicts
                + report.pages.created
                + report.pages.updated
                + report.pages.unchanged
                + report.skipped.len()) as i64;
            if !dry {
                remove_files(&run);
            }
            let update = RunUpdate {
                status: if dry { "checked" } else { "done" },
                done: items,
                total: items,
                dry_report: dry.then_some(json.as_str()),
                report: (!dry).then_some(json.as_str()),
                error: None,
                file_gone: !dry,
            };
            store::update_run(db, id, &update, now).await?;
            Ok(())
        }
        // A file that cannot be read will not read better next time: the
        // run fails at once, with the reason, and the file goes.
        Err(e)
            if e.downcast_ref::<super::wxr::WxrError>().is_some()
                || e.downcast_ref::<ghost::GhostError>().is_some()
                || e.downcast_ref::<substack::SubstackError>().is_some() =>
        {
            fail(state, &run, &e).await?;
            Ok(())
        }
        // Anything else (the database, a lost lease) is retried by the
        // queue, resuming where the import stopped; the last attempt
        // fails the run with the reason.
        Err(e) => {
            if job.attempts >= job.max_attempts {
                fail(state, &run, &e).await?;
            }
            Err(e)
        }
    }
}

/// Ends a run as failed, with the reason; its files go.
async fn fail(state: &AppState, run: &store::ImportRun, e: &anyhow::Error) -> anyhow::Result<()> {
    remove_files(run);
    let message = format!("{e:#}");
    let update = RunUpdate {
        status: "failed",
        done: run.done,
        total: run.total,
        dry_report: None,
        report: None,
        error: Some(&message),
        file_gone: true,
    };
    store::update_run(state.db(), run.id, &update, state.now()).await?;
    Ok(())
}

/// Deletes a run's uploaded files: the export and the members CSV.
pub fn remove_files(run: &store::ImportRun) {
    remove_upload(&run.file_path);
    if let Ok(web) = serde_json::from_str::<WebOptions>(&run.options) {
        if let Some(members) = web.members_file {
            remove_upload(&members);
        }
    }
}

/// Deletes an uploaded file (it may hold secrets); already gone is fine.
pub fn remove_upload(path: &str) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(error = %e, "could not delete an uploaded export");
        }
    }
}
