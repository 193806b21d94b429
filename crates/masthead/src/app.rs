//! The application: shared state, the router and the server.

use crate::cache::RenderCache;
use crate::config::Config;
use crate::media::{LocalMedia, MediaProcessor};
use crate::settings::SettingsHandle;
use crate::templates::Theme;
use axum::Router;
use masthead_store::{Db, DbOptions};
use std::net::SocketAddr;
use std::sync::Arc;
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
        let theme = Theme::load(config.theme_dir.as_deref())?;
        let media = LocalMedia::new(&config.data_dir.join("media"));
        let worker_id = format!(
            "{}-{}-{:08x}",
            std::process::id(),
            jiff::Timestamp::now().as_second(),
            rand::random::<u32>()
        );
        let state = AppState(Arc::new(Inner {
            config,
            db,
            settings,
            theme,
            media,
            processor: MediaProcessor::new(2),
            cache: RenderCache::default(),
            worker_id,
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

    /// Reads the change counters and drops whatever they invalidate. Called
    /// after this process writes, and every second by the refresher for
    /// writes made by other processes.
    pub async fn refresh_counters(&self) -> anyhow::Result<()> {
        let (content, settings) = masthead_store::settings::find_counters(self.db()).await?;
        self.cache().saw_content_version(content);
        if settings != self.settings().get().version {
            self.settings().reload(self.db()).await?;
        }
        Ok(())
    }

    pub fn router(&self) -> Router {
        crate::site::router()
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                crate::http::finish,
            ))
            .with_state(self.clone())
    }
}

fn spawn_refresher(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = state.refresh_counters().await {
                        tracing::warn!(error = %format!("{e:#}"), "refreshing caches failed");
                    }
                }
                _ = shutdown.changed() => return,
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
        }
        spawn_refresher(state.clone(), rx.clone());
        let app = state
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let mut stop = rx;
        let handle = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|v| *v).await;
                })
                .await
        });
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
