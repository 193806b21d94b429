//! Storage: the two schemas agree, writers never see "database is locked",
//! settings changes reach every process.

use crate::both;
use crate::harness::{Backend, Fixture, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_migrate_to_the_same_tables_and_columns() {
    let sqlite = TestApp::spawn(Backend::Sqlite, Fixture::Empty).await;
    let pg = TestApp::spawn(Backend::Postgres, Fixture::Empty).await;
    let a = masthead_store::schema_columns(sqlite.state.db())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b = masthead_store::schema_columns(pg.state.db())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(a.len() > 50, "suspiciously small schema: {a:?}");
    assert_eq!(a, b);
}

both!(Fixture::Empty, async fn migrating_again_applies_nothing_and_never_waits_on_itself(app) {
    // Twice, from the running app's own pool: a migration lock left behind
    // on a pooled connection would make the second call wait forever.
    for _ in 0..2 {
        let run = masthead_store::migrate(app.state.db());
        let applied = tokio::time::timeout(std::time::Duration::from_secs(30), run)
            .await
            .unwrap_or_else(|_| panic!("migrate is waiting on a lock it left behind"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(applied.is_empty());
    }
    // A second "process" with its own pool migrates alongside.
    let url = match app.backend {
        crate::harness::Backend::Sqlite => format!("sqlite://{}", app.dir.path().join("data/masthead.db").display()),
        crate::harness::Backend::Postgres => app.db_url().to_string(),
    };
    let other = masthead_store::Db::connect(&url, Default::default()).await.unwrap_or_else(|e| panic!("{e}"));
    let applied = tokio::time::timeout(std::time::Duration::from_secs(30), masthead_store::migrate(&other))
        .await
        .unwrap_or_else(|_| panic!("a second process waits forever"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(applied.is_empty());
    other.close().await;
});

both!(Fixture::Empty, async fn concurrent_writers_never_fail(app) {
    // 16 tasks × 25 read-then-write transactions on one counter row: on
    // SQLite a deferred transaction would fail to upgrade its lock.
    let (_, before) = masthead_store::settings::find_counters(app.state.db()).await.unwrap_or_default();
    let mut tasks = Vec::new();
    for t in 0..16 {
        let db = app.state.db().clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                masthead_store::settings::update_setting(&db, "description", &format!("writer {t} pass {i}"), 1)
                    .await
                    .unwrap_or_else(|e| panic!("writer {t} pass {i}: {e}"));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let (_, settings) = masthead_store::settings::find_counters(app.state.db()).await.unwrap_or_default();
    assert_eq!(settings - before, 400, "every write counted");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_same_sqlite_file_writes_beside_the_server() {
    // Two independent apps (two pools, as two processes would have) on one file.
    let app = TestApp::spawn(Backend::Sqlite, Fixture::Empty).await;
    let url = format!(
        "sqlite://{}",
        app.dir.path().join("data/masthead.db").display()
    );
    let other = masthead_store::Db::connect(&url, Default::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, before) = masthead_store::settings::find_counters(&other)
        .await
        .unwrap_or_default();
    let mut tasks = Vec::new();
    for (n, db) in [app.state.db().clone(), other.clone()]
        .into_iter()
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            for i in 0..100 {
                masthead_store::settings::update_setting(
                    &db,
                    "description",
                    &format!("{n}-{i}"),
                    1,
                )
                .await
                .unwrap_or_else(|e| panic!("process {n} write {i}: {e}"));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let (_, settings) = masthead_store::settings::find_counters(&other)
        .await
        .unwrap_or_default();
    assert_eq!(settings - before, 200);
}

both!(Fixture::Demo, async fn a_settings_change_shows_at_once_in_this_and_other_processes(app) {
    crate::harness::set_setting(&app, "name", "The Tide Table").await.unwrap_or_else(|e| panic!("{e}"));
    let html = app.get_text("/council-approves-harbour-seawall-plan", 200).await;
    assert!(html.contains("The Tide Table"), "this process re-renders at once");
    // Another "process": a second app on the same database.
    let db = app.state.db().clone();
    masthead_store::settings::update_setting(&db, "language", "fr", 1).await.unwrap_or_else(|e| panic!("{e}"));
    app.state.refresh_counters().await.unwrap_or_else(|e| panic!("{e}"));
    let html = app.get_text("/", 200).await;
    assert!(html.contains("<html lang=\"fr\">"));
    assert!(crate::harness::set_setting(&app, "language", "french").await.is_err());
    assert!(crate::harness::set_setting(&app, "timezone", "Mars/Olympus").await.is_err());
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_locked_by_configuration_win_and_cannot_be_changed() {
    let app = TestApp::spawn_with(Backend::Sqlite, Fixture::Empty, |c| {
        c.locked_settings
            .insert("name".into(), "Locked Gazette".into());
    })
    .await;
    assert!(crate::harness::set_setting(&app, "name", "Other")
        .await
        .is_err());
    masthead_store::settings::update_setting(app.state.db(), "name", "Sneaky", 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    app.state
        .refresh_counters()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let snap = app.state.settings().get();
    assert_eq!(snap.publication.name, "Locked Gazette");
    assert!(snap.locked.contains("name"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_theme_directory_overrides_templates_without_recompiling() {
    let theme = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(theme.path().join("templates")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        theme.path().join("templates/error.html"),
        "{% extends \"base.html\" %}{% block main %}<p class=\"custom-404\">{{ message }}</p>{% endblock %}",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = theme.path().to_path_buf();
    let app = TestApp::spawn_with(Backend::Sqlite, Fixture::Empty, move |c| {
        c.theme_dir = Some(dir)
    })
    .await;
    let html = app.get_text("/nothing-here", 404).await;
    assert!(html.contains("<p class=\"custom-404\">page not found</p>"));
}

/// On SQLite the handle that reads cannot write: every write goes through
/// the single writer (issue 13). A write through the reader fails loudly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_reader_cannot_write() {
    let app = TestApp::spawn(Backend::Sqlite, Fixture::Empty).await;
    let db = app.state.db();
    let write = "INSERT INTO settings (key, value, updated_at) VALUES ('probe', 'x', 1)";
    let through_reader = sqlx::query(write).execute(db.reader()).await;
    assert!(
        through_reader.is_err(),
        "a write through the reader succeeded"
    );
    sqlx::query(write)
        .execute(db.writer())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM settings WHERE key = 'probe'")
        .fetch_one(db.reader())
        .await
        .unwrap_or(-1);
    assert_eq!(n, 1, "the reader sees the writer's row");
}
