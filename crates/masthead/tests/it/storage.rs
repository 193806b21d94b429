//! Storage: the two schemas agree, writers never see "database is locked",
//! settings changes reach every process.

use crate::both;
use crate::harness::{Backend, Browser, Fixture, TestApp};

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

both!(
    migrating_again_applies_nothing_and_never_waits_on_itself,
    Fixture::Empty
);
async fn migrating_again_applies_nothing_and_never_waits_on_itself(app: TestApp) {
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
        crate::harness::Backend::Sqlite => format!(
            "sqlite://{}",
            app.dir.path().join("data/masthead.db").display()
        ),
        crate::harness::Backend::Postgres => app.db_url().to_string(),
    };
    let other = masthead_store::Db::connect(&url, Default::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let applied = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        masthead_store::migrate(&other),
    )
    .await
    .unwrap_or_else(|_| panic!("a second process waits forever"))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(applied.is_empty());
    other.close().await;
}

both!(concurrent_writers_never_fail, Fixture::Empty);
async fn concurrent_writers_never_fail(app: TestApp) {
    // 16 tasks × 25 read-then-write transactions on one counter row: on
    // SQLite a deferred transaction would fail to upgrade its lock.
    let (_, before) = masthead_store::settings::find_counters(app.state.db())
        .await
        .unwrap_or_default();
    let mut tasks = Vec::new();
    for t in 0..16 {
        let db = app.state.db().clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                masthead_store::settings::update_setting(
                    &db,
                    "description",
                    &format!("writer {t} pass {i}"),
                    1,
                )
                .await
                .unwrap_or_else(|e| panic!("writer {t} pass {i}: {e}"));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let (_, settings) = masthead_store::settings::find_counters(app.state.db())
        .await
        .unwrap_or_default();
    assert_eq!(settings - before, 400, "every write counted");
}

/// SQLite only by nature (its file lock); the concurrent-writer test
/// covers both.
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

both!(
    a_settings_change_shows_at_once_in_this_and_other_processes,
    Fixture::Demo
);
async fn a_settings_change_shows_at_once_in_this_and_other_processes(app: TestApp) {
    crate::harness::set_setting(&app, "name", "The Tide Table")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let html = app
        .get_text("/council-approves-harbour-seawall-plan", 200)
        .await;
    assert!(
        html.contains("The Tide Table"),
        "this process re-renders at once"
    );
    // Another "process": a second app on the same database.
    let db = app.state.db().clone();
    masthead_store::settings::update_setting(&db, "language", "fr", 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    app.state
        .refresh_counters()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let html = app.get_text("/", 200).await;
    assert!(html.contains("<html lang=\"fr\">"));
    assert!(crate::harness::set_setting(&app, "language", "french")
        .await
        .is_err());
    assert!(
        crate::harness::set_setting(&app, "timezone", "Mars/Olympus")
            .await
            .is_err()
    );
}

both!(settings_locked_by_configuration_win_and_cannot_be_changed);
async fn settings_locked_by_configuration_win_and_cannot_be_changed(
    backend: crate::harness::Backend,
) {
    let app = TestApp::builder(backend)
        .fixture(Fixture::Empty)
        .config(|c| {
            c.locked_settings
                .insert("name".into(), "Locked Gazette".into());
        })
        .spawn()
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

both!(a_theme_directory_overrides_templates_without_recompiling);
async fn a_theme_directory_overrides_templates_without_recompiling(
    backend: crate::harness::Backend,
) {
    let theme = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(theme.path().join("templates")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        theme.path().join("templates/error.html"),
        "{% extends \"base.html\" %}{% block main %}<p class=\"custom-404\">{{ message }}</p>{% endblock %}",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = theme.path().to_path_buf();
    let app = TestApp::builder(backend)
        .fixture(Fixture::Empty)
        .config(move |c| c.theme_dir = Some(dir))
        .spawn()
        .await;
    let html = app.get_text("/nothing-here", 404).await;
    assert!(html.contains("<p class=\"custom-404\">page not found</p>"));
}

/// On SQLite the handle that reads cannot write: every write goes through
/// the single writer (issue 13). A write through the reader fails loudly.
/// SQLite only by nature: on PostgreSQL reader and writer are one pool.
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

// Issue 13: every kind of writer at once against one database: newsroom
// saves, sign-ups and member meter views through the server, and a second
// OS process (`masthead import`) beside it. No write fails ("database is
// locked" would be a 500 here, or a failed import) and none is lost.
both!(
    saves_sign_ups_meter_views_and_an_import_process_write_side_by_side,
    Fixture::Demo
);
async fn saves_sign_ups_meter_views_and_an_import_process_write_side_by_side(app: TestApp) {
    let db = app.state.db();
    let dir = tempfile::tempdir().unwrap();
    const IMPORTED: usize = 120;
    for i in 0..IMPORTED {
        let text = format!(
            "+++\ntype = \"article\"\nslug = \"side-by-side-{i}\"\nheadline = \"Side by side {i}\"\n\
             standfirst = \"Imported while the newsroom works.\"\ndateline = \"PORT ALDER\"\ncontent_type = \"news\"\n\
             published_at = \"2026-01-02T03:04:05Z\"\nauthors = [\"mara-oyelaran\"]\ntopics = [\"civic-affairs\"]\n+++\n\
             First paragraph of {i}.\n\nSecond paragraph.\n"
        );
        std::fs::write(dir.path().join(format!("a{i}.md")), text).unwrap();
    }
    let data = app.state.config().data_dir.clone();
    let url = app.db_url().to_string();
    let import_dir = dir.path().to_path_buf();
    let import = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_masthead"))
            .arg("--data-dir")
            .arg(&data)
            .arg("--database-url")
            .arg(&url)
            .arg("import")
            .arg(&import_dir)
            .env("MASTHEAD_LOG", "warn")
            .output()
            .unwrap()
    });

    // Newsroom saves: two editors creating articles.
    let editor = |t: usize| {
        let app = &app;
        async move {
            let role = ["editor", "administrator"][t];
            let (mut b, csrf) = crate::harness::staff_browser(app, role).await;
            for i in 0..8 {
                let headline = format!("Desk story {t} {i}");
                let fields = [
                    ("csrf", csrf.as_str()),
                    ("revision", ""),
                    ("headline", headline.as_str()),
                    ("standfirst", "Written during an import."),
                    ("dateline", "PORT ALDER"),
                    ("slug", ""),
                    ("content_type", "news"),
                    ("access_level", "free"),
                    ("topics", ""),
                    ("authors", ""),
                    ("body", "A paragraph."),
                    ("publish_at", ""),
                    ("action", "save"),
                ];
                let res = b.post("/admin/articles/new", &fields).await;
                assert_eq!(res.status().as_u16(), 303, "editor {t} save {i}");
            }
        }
    };
    // Sign-ups.
    let signups = async {
        for i in 0..10 {
            let mut b = Browser::new(&app);
            let email = format!("side-{i}@example.org");
            let res = b
                .post(
                    "/signup",
                    &[
                        ("email", email.as_str()),
                        ("return_to", "/account"),
                        ("article", ""),
                    ],
                )
                .await;
            assert_eq!(res.status().as_u16(), 303, "sign-up {i}");
        }
    };
    // Member meter views: six readers, two metered articles each.
    let metered = ["bus-network-redesign-approved", "ferry-reliability-report"];
    let mut readers = Vec::new();
    for r in 0..6 {
        readers.push(
            crate::harness::member_session(&app, &format!("reader-{r}@example.org"), false).await,
        );
    }
    let views = async {
        for slug in metered {
            for (cookie, _) in &readers {
                let res = Browser::with_cookie(&app, cookie)
                    .get(&format!("/{slug}"))
                    .await;
                assert_eq!(res.status().as_u16(), 200, "{slug}");
            }
        }
    };
    tokio::join!(editor(0), editor(1), signups, views);

    let out = import.await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("imported: {IMPORTED} created, 0 updated")),
        "{stdout}"
    );

    let count = |sql: String| async move {
        let row = sqlx::query(&sql)
            .fetch_one(db.reader())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        sqlx::Row::try_get::<i64, _>(&row, 0).unwrap()
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM articles WHERE slug LIKE 'side-by-side-%'".into()).await,
        IMPORTED as i64
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM articles WHERE headline LIKE 'Desk story %'".into()).await,
        16
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM members WHERE email LIKE 'side-%@example.org'".into()).await,
        10
    );
    let limit = i64::from(app.state.settings().get().publication.policy.member_limit).min(2);
    for (_, id) in &readers {
        assert_eq!(
            count(format!(
                "SELECT COUNT(*) FROM meter_views WHERE reader = 'm{id}'"
            ))
            .await,
            limit,
            "reader {id}"
        );
    }
    // Every imported article kept its version in the history.
    assert_eq!(
        count("SELECT COUNT(*) FROM editor_versions v JOIN articles a ON a.id = v.article_id WHERE a.slug LIKE 'side-by-side-%'".into()).await,
        IMPORTED as i64
    );
}
