//! The application: shared state, the router and the server.

use crate::access::funnel::Funnel;
use crate::access::keys::KeyRing;
use crate::cache::RenderCache;
use crate::config::Config;
use crate::mail::Mailer;
use crate::media::{LocalMedia, MediaProcessor};
use crate::members::passwords::Passwords;
use crate::members::ratelimit::RateLimiter;
use crate::settings::SettingsHandle;
use crate::templates::Theme;
use axum::Router;
use masthead_store::{Db, DbOptions};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;

/// Everything a request handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    config: Config,
    db: Db,
    settings: SettingsHandle,
    theme: Theme,
    media: LocalMedia,
    processor: MediaProcessor,
    cache: RenderCache,
    worker_id: String,
    meter_keys: RwLock<Arc<KeyRing>>,
    link_keys: RwLock<Arc<KeyRing>>,
    passwords: Passwords,
    limiter: RateLimiter,
    funnel: Funnel,
    sessions: crate::access::reader::SessionCache,
    /// Mail and Stripe as they are now (configuration or newsroom).
    live: RwLock<Arc<crate::integrations::Live>>,
    billing_serial: crate::billing::Serial,
    /// The policy fingerprint the search index was last checked against.
    search_fingerprint: std::sync::Mutex<String>,
    clock: crate::clock::Clock,
    route_table: crate::http::RouteTable,
    /// The Content API keys in effect (reloaded when an integration
    /// changes, on every node through the settings counter).
    api_keys: RwLock<Arc<std::collections::HashSet<String>>>,
    /// Seals the Admin API secrets at rest.
    sealer: crate::api::keys::Sealer,
}

/// The purpose name of the anonymous meter's signing keys.
pub const METER_KEYS: &str = "meter";
/// The purpose name of the keys that sign emailed links that never expire
/// (newsletter unsubscribe and preferences).
pub const LINK_KEYS: &str = "links";

/// Loads a purpose's keys, creating the first one when there is none.
pub async fn load_keys(db: &Db, purpose: &str) -> anyhow::Result<KeyRing> {
    let mut keys = masthead_store::keys::list_signing_keys(db, purpose).await?;
    if keys.is_empty() {
        rotate_key(db, purpose).await?;
        keys = masthead_store::keys::list_signing_keys(db, purpose).await?;
    }
    Ok(KeyRing::new(purpose, keys))
}

/// Adds a new signing key for `purpose`; it signs from now on, and every
/// older key still verifies. Returns the new key's id.
pub async fn rotate_key(db: &Db, purpose: &str) -> anyhow::Result<String> {
    let secret: [u8; 32] = rand::random();
    let id = format!("{:08x}", rand::random::<u32>());
    masthead_store::keys::insert_signing_key(
        db,
        purpose,
        &id,
        &secret,
        jiff::Timestamp::now().as_second(),
    )
    .await?;
    Ok(id)
}

impl AppState {
    /// Connects, migrates and loads everything the app needs.
    pub async fn build(config: Config) -> anyhow::Result<AppState> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create data directory {}: {e}",
                config.data_dir.display()
            )
        })?;
        let db = Db::connect(
            &config.database_url,
            DbOptions {
                max_connections: config.db_connections,
            },
        )
        .await?;
        masthead_store::migrate(&db).await?;
        let settings = SettingsHandle::load(&db, config.locked_settings.clone()).await?;
        let meter_keys = RwLock::new(Arc::new(load_keys(&db, METER_KEYS).await?));
        let link_keys = RwLock::new(Arc::new(load_keys(&db, LINK_KEYS).await?));
        let theme = Theme::load(config.theme_dir.as_deref())?;
        let media = LocalMedia::new(&config.data_dir.join("media"));
        let stored = masthead_store::settings::list_integration_secrets(&db).await?;
        let live = crate::integrations::build(&config, &stored.into_iter().collect())?;
        let worker_id = format!(
            "{}-{}-{:08x}",
            std::process::id(),
            jiff::Timestamp::now().as_second(),
            rand::random::<u32>()
        );
        let cache = RenderCache::new(config.page_cache_bytes);
        let sealer = crate::api::keys::Sealer::load(&config.data_dir)?;
        let api_keys = masthead_store::api::active_content_keys(&db)
            .await?
            .into_iter()
            .collect();
        let state = AppState(Arc::new(Inner {
            config,
            db,
            settings,
            theme,
            media,
            processor: MediaProcessor::new(2),
            cache,
            worker_id,
            meter_keys,
            link_keys,
            passwords: Passwords::new(2),
            limiter: RateLimiter::default(),
            funnel: Funnel::default(),
            sessions: Default::default(),
            live: RwLock::new(Arc::new(live)),
            billing_serial: Default::default(),
            search_fingerprint: Default::default(),
            clock: Default::default(),
            route_table: crate::http::RouteTable::new(&routes()),
            api_keys: RwLock::new(Arc::new(api_keys)),
            sealer,
        }));
        state.refresh_counters().await?;
        Ok(state)
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }
    pub fn db(&self) -> &Db {
        &self.0.db
    }
    /// The app's one clock (tests move it forward).
    pub fn clock(&self) -> &crate::clock::Clock {
        &self.0.clock
    }
    /// Now, in Unix seconds, by the app's clock.
    pub fn now(&self) -> i64 {
        self.0.clock.now()
    }
    pub fn settings(&self) -> &SettingsHandle {
        &self.0.settings
    }
    pub fn theme(&self) -> &Theme {
        &self.0.theme
    }
    pub fn media(&self) -> &LocalMedia {
        &self.0.media
    }
    pub fn processor(&self) -> &MediaProcessor {
        &self.0.processor
    }
    pub fn cache(&self) -> &RenderCache {
        &self.0.cache
    }
    pub fn worker_id(&self) -> &str {
        &self.0.worker_id
    }
    /// The account mailer (SMTP or the outbox) as configured now.
    pub fn mailer(&self) -> Arc<Mailer> {
        self.live().mailer.clone()
    }
    /// Mail and Stripe credentials in effect now.
    pub fn live(&self) -> Arc<crate::integrations::Live> {
        match self.0.live.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
    /// Rebuilds the mailer, the Stripe client and the CSP from the
    /// configuration and the stored credentials.
    pub async fn reload_integrations(&self) -> anyhow::Result<()> {
        let stored = masthead_store::settings::list_integration_secrets(self.db()).await?;
        let live = Arc::new(crate::integrations::build(
            self.config(),
            &stored.into_iter().collect(),
        )?);
        match self.0.live.write() {
            Ok(mut g) => *g = live,
            Err(p) => *p.into_inner() = live,
        }
        Ok(())
    }
    pub fn passwords(&self) -> &Passwords {
        &self.0.passwords
    }
    pub fn limiter(&self) -> &RateLimiter {
        &self.0.limiter
    }
    pub fn sessions(&self) -> &crate::access::reader::SessionCache {
        &self.0.sessions
    }
    /// The reader site's policy, or the newsroom's (`admin`).
    pub fn csp(&self, admin: bool) -> axum::http::HeaderValue {
        let live = self.live();
        if admin {
            live.admin_csp.clone()
        } else {
            live.csp.clone()
        }
    }
    /// The Stripe client, when a secret key is configured.
    pub fn stripe(&self) -> Option<Arc<crate::billing::stripe::Stripe>> {
        self.live().stripe.clone()
    }
    /// One reconcile per subscription at a time in this process.
    pub fn billing_serial(&self) -> &crate::billing::Serial {
        &self.0.billing_serial
    }
    pub fn funnel(&self) -> &Funnel {
        &self.0.funnel
    }
    pub fn link_keys(&self) -> Arc<KeyRing> {
        match self.0.link_keys.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
    pub fn meter_keys(&self) -> Arc<KeyRing> {
        match self.0.meter_keys.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Reads the change counters and drops whatever they invalidate. Called
    /// after this process writes, and every second by the refresher for
    /// writes made by other processes.
    pub async fn refresh_counters(&self) -> anyhow::Result<()> {
        let counters = masthead_store::settings::counters(self.db()).await?;
        self.cache().saw_content_version(counters.content);
        self.sessions().saw_counter(counters.sessions);
        let settings = counters.settings;
        if settings != self.settings().get().version {
            self.settings().reload(self.db()).await?;
            // Key rotations bump the settings counter too.
            let ring = Arc::new(load_keys(self.db(), METER_KEYS).await?);
            match self.0.meter_keys.write() {
                Ok(mut g) => *g = ring,
                Err(p) => *p.into_inner() = ring,
            }
            let ring = Arc::new(load_keys(self.db(), LINK_KEYS).await?);
            match self.0.link_keys.write() {
                Ok(mut g) => *g = ring,
                Err(p) => *p.into_inner() = ring,
            }
            // Credentials set in the newsroom bump it as well, and so do
            // the API's integrations.
            self.reload_integrations().await?;
            self.reload_api_keys().await?;
        }
        self.check_search_index().await
    }

    /// Queues the search reindex when the access policy's split moved
    /// (checked every refresh; the database is asked only on a change).
    pub async fn check_search_index(&self) -> anyhow::Result<()> {
        let now = self
            .settings()
            .get()
            .publication
            .policy
            .search_fingerprint();
        let changed = {
            let mut seen = self
                .0
                .search_fingerprint
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let changed = *seen != now;
            *seen = now;
            changed
        };
        if changed {
            crate::content::search::ensure_index(self).await?;
        }
        Ok(())
    }

    /// The router, built from the route table and nothing else, under the
    /// response finisher.
    pub fn router(&self) -> Router {
        let mut router = Router::new();
        for r in routes() {
            router = router.route(r.path, r.handler);
        }
        router
            .fallback(crate::site::not_found)
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                crate::http::finish,
            ))
            .with_state(self.clone())
    }

    /// The route table's declarations, for the response finisher.
    pub fn sealer(&self) -> &crate::api::keys::Sealer {
        &self.0.sealer
    }

    /// Whether `key` is a Content API key in effect.
    pub fn content_key_valid(&self, key: &str) -> bool {
        let keys = match self.0.api_keys.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        keys.contains(key)
    }

    /// Reloads the Content API keys (after an integration changed).
    pub async fn reload_api_keys(&self) -> anyhow::Result<()> {
        let keys = Arc::new(
            masthead_store::api::active_content_keys(self.db())
                .await?
                .into_iter()
                .collect(),
        );
        match self.0.api_keys.write() {
            Ok(mut g) => *g = keys,
            Err(p) => *p.into_inner() = keys,
        }
        Ok(())
    }

    pub fn route_table(&self) -> &crate::http::RouteTable {
        &self.0.route_table
    }
}

/// The app's one route table: every module's routes with what each
/// declares (`http::Route`). The router, the response finisher and the leak
/// suite read it.
pub fn routes() -> Vec<crate::http::Route> {
    crate::site::routes()
        .into_iter()
        .chain(crate::members::web::routes())
        .chain(crate::staff::routes())
        .chain(crate::billing::webhook::routes())
        .chain(crate::billing::checkout::routes())
        .chain(crate::billing::account::routes())
        .chain(crate::newsletters::web::routes())
        .chain(crate::newsroom::routes())
        .chain(crate::api::routes())
        .collect()
}

fn spawn_refresher(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seconds = 0u64;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = state.refresh_counters().await {
                        tracing::warn!(error = %format!("{e:#}"), "refreshing caches failed");
                    }
                    seconds += 1;
                    if seconds.is_multiple_of(60) {
                        if let Err(e) = state.funnel().flush(state.db()).await {
                            tracing::warn!(error = %format!("{e:#}"), "flushing funnel counts failed");
                        }
                    }
                    if seconds % 3600 == 1 {
                        if let Err(e) = crate::billing::scrub_old_payloads(&state).await {
                            tracing::warn!(error = %format!("{e:#}"), "scrubbing old webhook payloads failed");
                        }
                        let window = state.settings().get().publication.policy.window_secs;
                        let start = state.now() - window;
                        if let Err(e) = masthead_store::members::forget_old_views(state.db(), start).await {
                            tracing::warn!(error = %format!("{e:#}"), "forgetting old meter views failed");
                        }
                    }
                }
                _ = shutdown.changed() => {
                    if let Err(e) = state.funnel().flush(state.db()).await {
                        tracing::warn!(error = %format!("{e:#}"), "flushing funnel counts failed");
                    }
                    return;
                }
            }
        }
    });
}

/// A running server (used by `masthead serve` and by the tests).
pub struct Server {
    pub addr: SocketAddr,
    shutdown: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds, starts the job worker and the cache refresher, and serves.
    pub async fn start(
        state: AppState,
        listener: TcpListener,
        run_worker: bool,
    ) -> anyhow::Result<Server> {
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::watch::channel(false);
        if run_worker {
            tokio::spawn(crate::jobs::worker(state.clone(), rx.clone()));
            tokio::spawn(crate::newsletters::sender::worker(
                state.clone(),
                rx.clone(),
            ));
        }
        spawn_refresher(state.clone(), rx.clone());
        let router = state.router();
        let trusted = state.config().trusted_proxies.clone();
        let limits = state.config().server;
        let mut stop = rx;
        let handle = tokio::spawn(crate::serve::serve(
            listener,
            router,
            trusted,
            limits,
            async move {
                let _ = stop.wait_for(|v| *v).await;
            },
        ));
        Ok(Server {
            addr,
            shutdown: tx,
            handle,
        })
    }

    /// Stops accepting, lets requests in flight finish, and returns.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.handle.await??;
        Ok(())
    }

    /// Waits until the server ends on its own (it does not, short of an error).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        (&mut self.handle).await??;
        Ok(())
    }

    pub fn trigger_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}
