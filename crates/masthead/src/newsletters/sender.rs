//! The newsletter sender. A due send first fixes its recipients (one row
//! each, inside the database); then `sessions` tasks each hold one SMTP
//! connection and loop: claim a batch of recipients by writing a lease in
//! a short transaction, send outside any transaction, record the results
//! in another. A worker killed mid-batch leaves a lease that expires
//! (`[newsletters] lease_secs`, default 300); the batch is then claimed again, so every recipient is
//! mailed and at most the batches in flight (sessions × batch) are mailed
//! twice, with the same Message-ID.
//!
//! The transactional mail of accounts never waits behind this: it goes
//! through the job worker's own SMTP transport.

use super::render::{self, Prepared};
use super::smtp::{Refusal, Session, Target};
use crate::app::AppState;
use anyhow::Context;
use masthead_core::newsletters::{backoff_secs, classify, Streak, Verdict, MAX_ATTEMPTS};
use masthead_store::newsletters::{self as store, status, Delivery, Recipient, Send};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
enum Transport {
    Smtp(Target),
    /// No SMTP configured: one file per message in the outbox.
    Outbox(PathBuf),
}

fn transport(state: &AppState) -> anyhow::Result<Transport> {
    Ok(match &state.live().smtp_url {
        Some(url) => Transport::Smtp(Target::parse(url.expose())?),
        None => Transport::Outbox(state.config().data_dir.join("outbox")),
    })
}

/// Spaces messages out to the configured rate across all sessions.
struct Pace {
    interval: Option<Duration>,
    next: tokio::sync::Mutex<Instant>,
}

impl Pace {
    fn new(per_second: u32) -> Pace {
        Pace {
            interval: (per_second > 0).then(|| Duration::from_secs(1) / per_second),
            next: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self) {
        let Some(iv) = self.interval else { return };
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + iv;
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }
}

/// What the sessions of one send share.
struct Shared {
    prepared: Prepared,
    transport: Transport,
    pace: Pace,
    /// Set when the send must pause: the server's reply, for staff.
    pause: Mutex<Option<String>>,
    /// Refusals in a row, across all sessions (it is the server's habit).
    streak: Mutex<Streak>,
    attempted: AtomicU64,
    clock: crate::clock::Clock,
}

impl Shared {
    fn paused(&self) -> bool {
        match self.pause.lock() {
            Ok(g) => g.is_some(),
            Err(p) => p.into_inner().is_some(),
        }
    }

    fn streak(&self) -> std::sync::MutexGuard<'_, Streak> {
        match self.streak.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn pause_with(&self, reason: String) {
        let mut g = match self.pause.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.get_or_insert(reason);
    }
}

/// Starts the sends that are due and works on every sending one until
/// nothing is left to claim now. Returns how many messages were tried.
pub async fn run_due(state: &AppState) -> anyhow::Result<u64> {
    let mut tried = 0;
    for send in store::list_active_sends(state.db(), state.now()).await? {
        tried += work(state, send.id).await?;
    }
    Ok(tried)
}

/// Works on one send: starts it if it is due, then sends to every
/// recipient that can be claimed now. Safe to run in several processes at
/// once. Returns how many messages were tried.
pub async fn work(state: &AppState, send_id: i64) -> anyhow::Result<u64> {
    let db = state.db();
    let Some(send) = store::find_send(db, send_id).await? else {
        anyhow::bail!("no send {send_id}");
    };
    if send.status == status::SCHEDULED && send.run_at <= state.now() {
        // An article send waits for its article to be published.
        if let Some(id) = send.article_id {
            let a = masthead_store::content::find_article_by_id(db, id).await?;
            if !a.is_some_and(|a| render::visible(&a, state.now())) {
                return Ok(0);
            }
        }
        // A digest's articles are fixed before its email is made: the
        // email and its web version list the same ones for good.
        let send = if send.article_id.is_none() && send.digest_fixed_at.is_none() {
            let now = state.now();
            let since = render::digest_since(&send, now);
            masthead_store::content::fix_digest(db, send.id, since, now).await?;
            store::find_send(db, send_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no send {send_id}"))?
        } else {
            send
        };
        let prepared = render::prepare(state, &send).await?;
        if store::start_send(db, send.id, prepared.gated, state.now()).await? {
            tracing::info!(send = send.id, "send started: recipients fixed");
        }
    }
    let Some(send) = store::find_send(db, send_id).await? else {
        return Ok(0);
    };
    if send.status != status::SENDING {
        return Ok(0);
    }
    let shared = Arc::new(Shared {
        clock: state.clock().clone(),
        prepared: render::prepare(state, &send).await?,
        transport: transport(state)?,
        pace: Pace::new(state.config().newsletters.rate_per_second),
        pause: Mutex::new(None),
        streak: Mutex::new(Streak::default()),
        attempted: AtomicU64::new(0),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..state.config().newsletters.sessions {
        let (state, shared) = (state.clone(), shared.clone());
        tasks.spawn(async move { session_loop(&state, &shared, i).await });
    }
    let mut first_error = None;
    while let Some(r) = tasks.join_next().await {
        let r = r.map_err(anyhow::Error::from).and_then(|r| r);
        if let Err(e) = r {
            first_error.get_or_insert(e);
        }
    }
    let reason = match shared.pause.lock() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    };
    if let Some(reason) = reason {
        tracing::warn!(send = send.id, reason = %reason, "send paused: the mail server refuses it");
        store::pause_send(db, send.id, &reason, state.now()).await?;
    } else if store::finish_if_done(db, send.id, state.now()).await? {
        tracing::info!(send = send.id, "send finished");
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(shared.attempted.load(Ordering::Relaxed))
}

async fn session_loop(state: &AppState, shared: &Shared, index: usize) -> anyhow::Result<()> {
    let db = state.db();
    let owner = format!("{}-s{index}", state.worker_id());
    let batch = state.config().newsletters.batch;
    let lease = state.config().newsletters.lease_secs;
    let send = &shared.prepared.send;
    let mut session = match &shared.transport {
        Transport::Smtp(t) => Some(Session::new(t.clone())),
        Transport::Outbox(_) => None,
    };
    let result = async {
        loop {
            if shared.paused() {
                break;
            }
            let claimed =
                store::claim_recipients(db, send.id, &owner, state.now(), lease, batch).await?;
            if claimed.is_empty() {
                break;
            }
            let mut results: Vec<(Recipient, Delivery)> = Vec::with_capacity(claimed.len());
            let mut connection_down = false;
            for r in claimed {
                if shared.paused() || connection_down {
                    results.push((r, Delivery::Released));
                    continue;
                }
                shared.pace.wait().await;
                shared.attempted.fetch_add(1, Ordering::Relaxed);
                let d = deliver(shared, session.as_mut(), &r, &mut results).await;
                if let Delivery::Retry { .. } = d {
                    // The server is unreachable or busy: leave the rest of
                    // the batch for later rather than fail it one by one.
                    connection_down = true;
                }
                results.push((r, d));
            }
            store::record_deliveries(db, send, &owner, &results, state.now()).await?;
        }
        Ok::<(), anyhow::Error>(())
    }
    .await;
    if let Some(s) = session.as_mut() {
        s.close().await;
    }
    result
}

/// Sends one recipient's copy and says what happened.
async fn deliver(
    shared: &Shared,
    session: Option<&mut Session>,
    r: &Recipient,
    earlier: &mut [(Recipient, Delivery)],
) -> Delivery {
    let message = match shared.prepared.message(r) {
        Ok(m) => m,
        Err(e) => {
            return Delivery::Failed {
                error: format!("{e:#}"),
            }
        }
    };
    match (&shared.transport, session) {
        (Transport::Outbox(dir), _) => {
            write_outbox(
                dir,
                shared.prepared.send.id,
                r,
                &message,
                shared.clock.now(),
            )
            .await
        }
        (Transport::Smtp(_), Some(session)) => {
            let to = match r.email.parse() {
                Ok(a) => a,
                Err(e) => {
                    return Delivery::Failed {
                        error: format!("not an email address: {e}"),
                    }
                }
            };
            match session
                .send(&shared.prepared.envelope_from, &to, &message)
                .await
            {
                Ok(()) => {
                    shared.streak().accepted();
                    Delivery::Sent
                }
                Err(refusal) => judge(shared, r, &refusal, earlier),
            }
        }
        (Transport::Smtp(_), None) => Delivery::Released,
    }
}

async fn write_outbox(
    dir: &std::path::Path,
    send_id: i64,
    r: &Recipient,
    message: &[u8],
    now: i64,
) -> Delivery {
    let path = dir.join(format!("newsletter-{send_id}-{}.eml", r.member_id));
    let written = async {
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::write(&path, message).await
    }
    .await;
    match written {
        Ok(()) => Delivery::Sent,
        Err(e) => Delivery::Retry {
            at: now + backoff_secs(r.attempts),
            error: format!("writing {}: {e}", path.display()),
        },
    }
}

/// What a refusal means for this recipient, and maybe for the send.
fn judge(
    shared: &Shared,
    r: &Recipient,
    refusal: &Refusal,
    earlier: &mut [(Recipient, Delivery)],
) -> Delivery {
    let error = refusal.to_string();
    match classify(refusal.stage, refusal.code, &refusal.text) {
        Verdict::Retry if r.attempts + 1 >= MAX_ATTEMPTS => Delivery::Failed { error },
        Verdict::Retry => Delivery::Retry {
            at: shared.clock.now() + backoff_secs(r.attempts),
            error,
        },
        Verdict::Pause => {
            shared.pause_with(error);
            Delivery::Released
        }
        verdict @ (Verdict::Undeliverable | Verdict::Failed) => {
            let pause = shared
                .streak()
                .refused(refusal.code.unwrap_or(0), &refusal.text);
            if pause {
                // Many recipients in a row refused alike: the server is
                // refusing us, not them. Nobody in this batch is marked.
                shared.pause_with(format!(
                    "{} recipients in a row were refused the same way; last: {error}",
                    masthead_core::newsletters::SAME_REFUSAL_LIMIT
                ));
                for (_, d) in earlier.iter_mut() {
                    if matches!(d, Delivery::Undeliverable { .. } | Delivery::Failed { .. }) {
                        *d = Delivery::Released;
                    }
                }
                return Delivery::Released;
            }
            if verdict == Verdict::Undeliverable {
                Delivery::Undeliverable { error }
            } else {
                Delivery::Failed { error }
            }
        }
    }
}

/// Sends one copy of a prepared send to `to` (a staff member's test
/// send), by the same transport as the real thing, in the full segment.
pub async fn send_test(state: &AppState, prepared: &Prepared, to: &str) -> anyhow::Result<()> {
    let r = Recipient {
        member_id: 0,
        email: to.to_string(),
        segment: "full".into(),
        attempts: 0,
    };
    let message = prepared.message(&r)?;
    match transport(state)? {
        Transport::Outbox(dir) => {
            tokio::fs::create_dir_all(&dir).await?;
            let path = dir.join(format!(
                "newsletter-test-{}.eml",
                state.clock().timestamp().as_millisecond()
            ));
            tokio::fs::write(&path, message).await?;
            Ok(())
        }
        Transport::Smtp(target) => {
            let mut session = Session::new(target);
            let to = to.parse().context("not an email address")?;
            let result = session.send(&prepared.envelope_from, &to, &message).await;
            session.close().await;
            result.map_err(|r| anyhow::anyhow!("{r}"))
        }
    }
}

/// The worker beside the server: every second, starts due sends and
/// works on sending ones.
pub async fn worker(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        let pass = run_due(&state);
        tokio::select! {
            r = pass => {
                if let Err(e) = r {
                    tracing::error!(error = %format!("{e:#}"), "newsletter sender error");
                }
            }
            _ = shutdown.changed() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Sends a send to the end (or until it pauses) in this process, calling
/// `progress` about twice a second: the command line's `--wait`.
pub async fn run_to_end(
    state: &AppState,
    send_id: i64,
    mut progress: impl FnMut(&Send, store::Progress),
) -> anyhow::Result<Send> {
    let db = state.db().clone();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        async move {
            while !done.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if let (Ok(Some(send)), Ok(p)) = (
                    store::find_send(&db, send_id).await,
                    store::send_progress(&db, send_id).await,
                ) {
                    progress(&send, p);
                }
            }
        }
    };
    let sending = async {
        loop {
            work(state, send_id).await?;
            let send = store::find_send(state.db(), send_id)
                .await?
                .context("the send vanished")?;
            match send.status.as_str() {
                status::SENDING => {
                    // Recipients waiting for a retry: come back when due.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                status::SCHEDULED if send.run_at > state.now() => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                _ => break Ok::<Send, anyhow::Error>(send),
            }
        }
    };
    let (result, ()) = tokio::join!(
        async {
            let r = sending.await;
            done.store(true, Ordering::Relaxed);
            r
        },
        watcher
    );
    result
}
