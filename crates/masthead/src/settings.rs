//! The cached publication settings handle.
//!
//! Reads never touch the database: the snapshot is swapped when this
//! process writes a setting, and the background refresher (see
//! `app::spawn_refresher`) reloads it within a second when another process
//! does. Values fixed by the operator's configuration win over the database
//! and are reported as locked.

use masthead_core::settings::PublicationSettings;
use masthead_store::Db;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

#[derive(Debug, Clone)]
pub struct SettingsSnapshot {
    pub publication: PublicationSettings,
    pub locked: BTreeSet<String>,
    /// The settings counter this snapshot was built from.
    pub version: i64,
    pub tz: jiff::tz::TimeZone,
}

pub struct SettingsHandle {
    current: RwLock<Arc<SettingsSnapshot>>,
    locked: BTreeMap<String, String>,
}

impl SettingsHandle {
    pub async fn load(db: &Db, locked: BTreeMap<String, String>) -> anyhow::Result<SettingsHandle> {
        let handle = SettingsHandle {
            current: RwLock::new(Arc::new(build(&[], &locked, 0))),
            locked,
        };
        handle.reload(db).await?;
        Ok(handle)
    }

    pub fn get(&self) -> Arc<SettingsSnapshot> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub async fn reload(&self, db: &Db) -> anyhow::Result<()> {
        let (_, version) = masthead_store::settings::find_counters(db).await?;
        let rows = masthead_store::settings::list_settings(db).await?;
        let snapshot = Arc::new(build(&rows, &self.locked, version));
        match self.current.write() {
            Ok(mut g) => *g = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
        Ok(())
    }

    /// Checks a value for a setting; returns it as it would be stored. A
    /// locked key is refused.
    pub fn check(&self, key: &str, value: &str) -> anyhow::Result<String> {
        if self.locked.contains_key(key) {
            anyhow::bail!("{key} is locked by the operator's configuration");
        }
        let mut probe = self.get().publication.clone();
        probe.set(key, value)?;
        if key == "timezone" && jiff::tz::TimeZone::get(value.trim()).is_err() {
            anyhow::bail!("timezone {value:?} is not a known IANA time zone");
        }
        Ok(probe.get(key).unwrap_or_default().to_string())
    }

    /// The settings change use case: stores checked values (`check`) and
    /// the audit entry `settings.save` by `by` in one transaction, then
    /// reloads.
    pub async fn save(
        &self,
        db: &Db,
        changes: &[(&str, String)],
        by: masthead_store::newsroom::Actor<'_>,
        now: i64,
    ) -> anyhow::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = db.begin().await?;
        for (key, value) in changes {
            masthead_store::settings::update_setting_in(&mut tx, key, value, now).await?;
        }
        let detail: Vec<String> = changes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let detail: String = detail.join("; ").chars().take(500).collect();
        masthead_store::newsroom::audit(
            &mut tx,
            &by.audit("settings.save", "settings", "publication", &detail),
            now,
        )
        .await?;
        masthead_store::commit(tx).await?;
        self.reload(db).await
    }
}

fn build(
    rows: &[(String, String)],
    locked: &BTreeMap<String, String>,
    version: i64,
) -> SettingsSnapshot {
    let mut p = PublicationSettings::default();
    for (k, v) in rows {
        // A stored value that no longer validates is skipped, not fatal.
        if p.set(k, v).is_err() {
            tracing::warn!(key = %k, "ignoring invalid stored setting");
        }
    }
    for (k, v) in locked {
        if p.set(k, v).is_err() {
            tracing::warn!(key = %k, "ignoring invalid locked setting");
        }
    }
    let tz = jiff::tz::TimeZone::get(&p.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    SettingsSnapshot {
        publication: p,
        locked: locked.keys().cloned().collect(),
        version,
        tz,
    }
}
