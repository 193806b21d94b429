//! The demo publication: `masthead serve --demo` imports `demo/content`
//! into an empty database, with every date moved so that the newest
//! article was published an hour ago and the site looks current.

use super::import::{ImportOptions, ImportReport, Importer};
use crate::media::{MediaProcessor, MediaStorage};
use masthead_store::Db;
use std::path::{Path, PathBuf};

/// Where the demo content lives: `MASTHEAD_DEMO_DIR`, else the repository
/// this binary was built from.
pub fn default_dir() -> PathBuf {
    std::env::var_os("MASTHEAD_DEMO_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/content"))
}

/// The shift that puts the newest published date at `now - 1h`, read
/// with the importer's own front matter parser.
pub fn shift_for(dir: &Path, now: i64) -> anyhow::Result<i64> {
    let mut files = Vec::new();
    super::import::collect_md(dir, &mut files)?;
    let mut newest: Option<i64> = None;
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let Ok(parsed) = super::import::parse_file(&path, text) else {
            continue;
        };
        let field = |k: &str| parsed.table.get(k).and_then(|v| v.as_str());
        let published = field("status").unwrap_or("published") == "published";
        if parsed.kind != "article" || !published {
            continue;
        }
        if let Some(t) = field("published_at").and_then(|v| v.parse::<jiff::Timestamp>().ok()) {
            newest = Some(newest.map_or(t.as_second(), |n| n.max(t.as_second())));
        }
    }
    Ok(newest.map_or(0, |n| now - 3600 - n))
}

/// Seeds the demo into `db` when it holds no articles. Returns `None` when
/// the database already had content.
pub async fn seed(
    db: &Db,
    storage: &dyn MediaStorage,
    processor: &MediaProcessor,
    dir: &Path,
    progress: bool,
) -> anyhow::Result<Option<ImportReport>> {
    if masthead_store::content::count_articles(db).await? > 0 {
        return Ok(None);
    }
    let now = jiff::Timestamp::now().as_second();
    let shift = shift_for(dir, now)?;
    let mut importer = Importer::new(
        db,
        storage,
        processor,
        ImportOptions {
            shift_seconds: shift,
            progress,
            force: false,
            // The policy of the demo's own settings (the defaults); the
            // search_index job remakes rows if the operator locked others.
            policy: masthead_core::access::Policy::default(),
            actor: None,
        },
    );
    let report = importer.import_dir(dir).await?;
    let now = jiff::Timestamp::now().as_second();
    for (key, value) in [
        ("name", "The Harbour Ledger"),
        (
            "description",
            "Independent news for Port Alder and the coast, funded by its readers",
        ),
        ("language", "en"),
        ("timezone", "America/Vancouver"),
    ] {
        masthead_store::settings::update_setting(db, key, value, now).await?;
    }
    Ok(Some(report))
}
