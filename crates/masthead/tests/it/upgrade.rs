//! Upgrades: a data directory made by an earlier release (kept under
//! `tests/fixtures`) migrates and serves what it held.

use crate::harness::{Backend, Browser, Fixture, TestApp};
use std::path::Path;

fn wave1() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wave1")
}

/// SQLite only: the first release's default, and what a demo data
/// directory holds; the migrations themselves run on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_one_data_directory_migrates_and_serves_what_it_held() {
    let app = TestApp::spawn_from_data_dir(&wave1()).await;
    let db = app.state.db();

    // The schema is the one a new database gets.
    let fresh = TestApp::spawn(Backend::Sqlite, Fixture::Empty).await;
    assert_eq!(
        masthead_store::schema_columns(db).await.unwrap(),
        masthead_store::schema_columns(fresh.state.db())
            .await
            .unwrap()
    );

    // The reader site: the home page, a published article with its lead
    // image, a topic page.
    let home = app.get_text("/", 200).await;
    assert!(home.contains("Council approves $84 million seawall plan"));
    let article = app
        .get_text("/council-approves-harbour-seawall-plan", 200)
        .await;
    assert!(article.contains("After six hours of debate"));
    let image = article
        .split("src=\"")
        .map(|s| s.split('"').next().unwrap_or_default())
        .find(|s| s.starts_with("/media/"))
        .expect("the lead image is on the page")
        .to_string();
    assert_eq!(app.get(&image).await.status().as_u16(), 200, "{image}");
    app.get_text("/topics/climate-and-coast", 200).await;

    // The editor logs in with the password she set then, and finds the
    // article's whole history: her two saves and the import before them.
    let mut b = Browser::new(&app);
    let res = b
        .staff_log_in("wren@example.com", "correct horse battery staple 42")
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/admin");
    let versions = masthead_store::newsroom::list_revisions(db, 15, 10)
        .await
        .unwrap();
    let who: Vec<_> = versions
        .iter()
        .map(|v| (v.article_revision, v.staff_name.as_str()))
        .collect();
    assert_eq!(
        who,
        vec![(3, "Wren Editor"), (2, "Wren Editor"), (1, "earlier save")]
    );
    let page = b
        .page(&format!("/admin/articles/15?restore={}", versions[2].id))
        .await;
    assert!(page.contains("It is not saved yet"), "{page}");
    assert!(page.contains("value=\"Is Port Alder ready for a winter of king tides?\""));
    let page = b.page("/admin/articles/15").await;
    assert!(page.contains("value=\"Is Port Alder ready for the king tides?\""));

    // Members, their complimentary access and the unconfirmed sign-up.
    let count = |sql: &'static str| async move {
        let row = sqlx::query(sql).fetch_one(db.reader()).await.unwrap();
        sqlx::Row::try_get::<i64, _>(&row, 0).unwrap()
    };
    assert_eq!(count("SELECT COUNT(*) FROM members").await, 2);
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM grants g JOIN members m ON m.id = g.member_id \
             WHERE m.email = 'friend@example.com'"
        )
        .await,
        1
    );
    // An address never proved stays without a credential (issue 12): its
    // old password does not log in.
    let mut reader = Browser::new(&app);
    let res = reader
        .log_in("reader@example.com", "a long reader password 9")
        .await;
    assert_eq!(res.status().as_u16(), 401);
    assert!(res.headers().get("set-cookie").is_none());
    // A log-in link is how that reader gets in: it proves the address.
    let res = reader.ask_log_in_link("reader@example.com").await;
    assert_eq!(res.status().as_u16(), 200);
    let mail = crate::harness::outbox(&app).await.join("\n");
    let link = crate::harness::find_link(&mail, &app.url("/login/link/"))
        .expect("a log-in link in the email");
    let path = link.trim_start_matches(&app.base).to_string();
    reader.page(&path).await;
    let res = reader.post(&path, &[]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(reader.page("/account").await.contains("reader@example.com"));
}
