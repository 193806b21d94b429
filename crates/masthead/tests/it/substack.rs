//! Issue 14, Substack: an export zip written here (posts.csv, the posts'
//! HTML with the paywall marker and an image on loopback, the email list
//! and the subscriber details) moves in: free, free-account and paid
//! posts, podcasts and threads reported, `/p/slug` answering 301, the
//! readers with their opt-in, comp and Stripe customer, the paying one
//! carried over from the stand-in; a zip-slip path, a zip bomb and a file
//! that is not a zip are refused whole.

use crate::both;
use crate::harness::{Backend, Browser, Fixture, TestApp};
use crate::stripe_standin::StripeStandIn;
use masthead::imports::substack::{run, Options};
use masthead_core::content::{AccessLevel, ArticleStatus};
use masthead_store::newsroom::Actor;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

fn zip_of(path: &Path, entries: &[(&str, &[u8])]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        z.start_file(*name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

async fn image_server() -> String {
    use axum::routing::get;
    let body = crate::wordpress::png(900, 600, 70);
    let app = axum::Router::new().route(
        "/image/pier.png",
        get(move || {
            let body = body.clone();
            async move { ([("content-type", "image/png")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn export(dir: &Path, images: &str) -> PathBuf {
    let posts = "post_id,post_date,is_published,email_sent_at,inbox_sent_at,type,audience,title,subtitle,podcast_url\n\
        1001.low-water-mark,2024-05-01T07:00:00.000Z,true,2024-05-01T07:00:00.000Z,,newsletter,everyone,Low water mark,The lowest tide in a decade.,\n\
        1002.pier-survey-results,2024-05-08T07:00:00.000Z,true,,,newsletter,only_paid,Pier survey results,What the divers found.,\n\
        1003.members-note,2024-05-09T07:00:00.000Z,true,,,newsletter,only_free,A note for members,,\n\
        1004.harbour-sounds-1,2024-05-10T07:00:00.000Z,true,,,podcast,everyone,Harbour sounds,,https://example.org/a.mp3\n\
        1005.open-thread,2024-05-11T07:00:00.000Z,true,,,thread,only_paid,Open thread,,\n\
        1006.unfinished,,false,,,newsletter,everyone,Unfinished,,\n";
    let low = "<p>The gauge read 0.2 metres at noon.</p><p>Boats sat on the mud until two.</p>";
    let pier = format!(
        "<p>Divers spent three days under the pier.</p>\
         <div class=\"captioned-image-container\"><figure><picture><source type=\"image/webp\" srcset=\"{images}/image/pier.png 900w\"><img src=\"{images}/image/pier.png\" alt=\"Pier piles at low tide\" width=\"900\"></picture><figcaption class=\"image-caption\">The piles, exposed.</figcaption></figure></div>\
         <div class=\"paywall-jump\" data-component-name=\"PaywallToDOM\"></div>\
         <p>Eleven piles need replacing, see <a href=\"https://tidewater.substack.com/p/low-water-mark\">last week</a>.</p>\
         <script>alert(1)</script><p>The cost is not yet known.</p><p>Work could start in the autumn.</p><p>The harbour board meets on Tuesday.</p>"
    );
    let note =
        "<p>Thanks for signing up.</p><div class=\"paywall-jump\"></div><p>Meet-up on Friday.</p>";
    let list = "email,active_subscription,expiry,plan,email_disabled,created_at,first_payment_at\n\
        free@example.org,false,,,false,2023-01-01T00:00:00.000Z,\n\
        paid@example.org,true,2025-01-01T00:00:00.000Z,yearly,false,2023-02-01T00:00:00.000Z,2023-02-01T00:00:00.000Z\n\
        comp@example.org,true,,comp,false,,\n\
        quiet@example.org,false,,,true,,\n\
        broken address,false,,,false,,\n";
    let details =
        "email,name,stripe_connected_customer_id\nPaid@example.org,Pia,cus_SubstackPaid1\n";
    let path = dir.join("tidewater-export.zip");
    zip_of(
        &path,
        &[
            ("posts.csv", posts.as_bytes()),
            ("posts/1001.low-water-mark.html", low.as_bytes()),
            ("posts/1002.pier-survey-results.html", pier.as_bytes()),
            ("posts/1003.members-note.html", note.as_bytes()),
            ("posts/1004.harbour-sounds-1.html", b"<p>Audio.</p>"),
            ("posts/1005.open-thread.html", b"<p>Talk.</p>"),
            ("posts/1006.unfinished.html", b"<p>Half a thought.</p>"),
            ("email_list.tidewater.csv", list.as_bytes()),
            ("subscribers_details.csv", details.as_bytes()),
        ],
    );
    path
}

both!(a_substack_export_moves_in_with_its_readers);
async fn a_substack_export_moves_in_with_its_readers(backend: Backend) {
    let standin = StripeStandIn::start().await;
    let now = jiff::Timestamp::now().as_second();
    standin.put_foreign_subscription(
        "sub_S1",
        "cus_SubstackPaid1",
        "active",
        now + 300 * 86_400,
        json!({"id": "price_SubstackYearly", "object": "price", "currency": "usd", "unit_amount": 5000,
            "nickname": "Tidewater yearly", "recurring": {"interval": "year", "interval_count": 1}}),
    );
    let app = TestApp::builder(backend)
        .fixture(Fixture::Demo)
        .stripe(&standin)
        .spawn()
        .await;
    let db = app.state.db();
    let dir = tempfile::tempdir().unwrap();
    let images = image_server().await;
    let file = export(dir.path(), &images);
    let opts = Options {
        old_url: Some("https://tidewater.substack.com".into()),
        allow_private_fetch: true,
        ..Options::new(file)
    };
    let report = run(&app.state, &opts, Actor::OPERATOR).await.unwrap();
    app.state.refresh_counters().await.unwrap();
    let why: Vec<String> = report
        .partial
        .iter()
        .chain(&report.skipped)
        .map(|n| format!("{} {}: {}", n.kind, n.source_id, n.reason))
        .collect();
    assert_eq!(report.articles.created, 4, "{why:?}");
    assert_eq!(report.images, 1, "{why:?}");
    for e in [
        "post 1004.harbour-sounds-1: a podcast: not imported (audio and threads have no place here yet)",
        "post 1005.open-thread: a thread: not imported (audio and threads have no place here yet)",
    ] {
        assert!(why.iter().any(|w| w == e), "{e} in {why:?}");
    }
    assert!(
        why.iter().any(|w| w.starts_with("member line 6:")),
        "{why:?}"
    );

    let find = |slug: &'static str| async move {
        masthead_store::content::find_article_any(db, slug)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{slug}"))
    };
    let low = find("low-water-mark").await;
    assert_eq!(
        (low.access_level, low.status, low.standfirst.as_str()),
        (
            AccessLevel::Free,
            ArticleStatus::Published,
            "The lowest tide in a decade."
        )
    );
    let pier = find("pier-survey-results").await;
    assert_eq!(
        (pier.access_level, pier.preview_blocks),
        (AccessLevel::Subscribers, Some(2))
    );
    let note = find("members-note").await;
    assert_eq!(
        (note.access_level, note.preview_blocks),
        (AccessLevel::Registered, Some(1))
    );
    assert_eq!(find("unfinished").await.status, ArticleStatus::Draft);
    let page = app.get_text("/pier-survey-results", 200).await;
    assert!(page.contains("Divers spent three days"), "{page}");
    assert!(page.contains("src=\"/media/"), "{page}");
    assert!(
        !page.contains("Eleven piles"),
        "the paid part stays on the server"
    );
    let body = masthead_store::content::find_body(
        db,
        &pier.facts(),
        masthead_core::access::Decision::Full,
    )
    .await
    .unwrap()
    .blocks
    .join("\n");
    assert!(body.contains("href=\"/p/low-water-mark\""), "{body}");
    assert!(
        !body.contains("<script") && !body.contains(&images),
        "{body}"
    );
    let res = app.get("/p/low-water-mark").await;
    assert_eq!(res.status().as_u16(), 301);
    assert_eq!(res.headers()["location"], "/low-water-mark");

    // Readers: the publication's newsletter, opt-ins unless email was
    // disabled, the comp, the paying reader carried over.
    let m = report.members;
    assert_eq!(
        (m.rows, m.created, m.opted_in, m.comps, m.customers),
        (4, 4, 3, 1, 1),
        "{why:?}"
    );
    assert_eq!(report.subscriptions, 1, "{why:?}");
    let letters = masthead_store::newsletters::list(db).await.unwrap();
    assert!(letters.iter().any(|n| n.slug == "tidewater"), "{letters:?}");
    let paid = masthead_store::billing::find_member_by_customer(db, "cus_SubstackPaid1")
        .await
        .unwrap()
        .expect("linked");
    let cookie = crate::harness::session_for(&app, "member", Some(paid), None).await;
    let page = Browser::with_cookie(&app, &cookie)
        .page("/pier-survey-results")
        .await;
    assert!(
        page.contains("Eleven piles"),
        "the subscriber reads at once"
    );
    assert!(!crate::harness::outbox(&app)
        .await
        .iter()
        .any(|m| m.contains("Welcome, subscriber")));

    // Again: nothing new.
    let again = run(&app.state, &opts, Actor::OPERATOR).await.unwrap();
    assert_eq!((again.articles.created, again.articles.unchanged), (0, 4));
    assert_eq!((again.members.created, again.members.existing), (0, 4));
}

both!(hostile_substack_archives_are_refused_whole, Fixture::Demo);
async fn hostile_substack_archives_are_refused_whole(app: TestApp) {
    let db = app.state.db();
    let dir = tempfile::tempdir().unwrap();
    let before = masthead_store::content::count_articles(db).await.unwrap();
    let posts: &[u8] = b"post_id,post_date,is_published,type,audience,title\n1.a,2024-01-01T00:00:00Z,true,newsletter,everyone,A\n";
    let slip = dir.path().join("slip.zip");
    zip_of(
        &slip,
        &[
            ("posts.csv", posts),
            ("posts/1.a.html", b"<p>A</p>"),
            ("../../etc/evil.html", b"<p>x</p>"),
        ],
    );
    let bomb = dir.path().join("bomb.zip");
    let zeros = vec![0u8; 65 * 1024 * 1024];
    zip_of(&bomb, &[("posts.csv", posts), ("posts/1.a.html", &zeros)]);
    assert!(
        std::fs::metadata(&bomb).unwrap().len() < 1024 * 1024,
        "small on disk"
    );
    let not_zip = dir.path().join("export.zip");
    std::fs::write(&not_zip, b"<rss>not a zip</rss>").unwrap();
    let empty = dir.path().join("empty.zip");
    zip_of(&empty, &[("readme.txt", b"hello")]);
    for (path, says) in [
        (slip, "points outside the archive"),
        (bomb, "larger than 64 MB once decompressed"),
        (not_zip, "not a Substack export (zip)"),
        (empty, "no posts.csv"),
    ] {
        let e = run(&app.state, &Options::new(path.clone()), Actor::OPERATOR)
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains(says), "{path:?}: {e:#}");
    }
    assert_eq!(
        masthead_store::content::count_articles(db).await.unwrap(),
        before
    );
}

// The Import page knows a Substack zip by its first bytes and runs the
// same import as a job; the upload is deleted when the run ends.
both!(administrators_import_substack_from_the_newsroom);
async fn administrators_import_substack_from_the_newsroom(backend: Backend) {
    let app = crate::wordpress::newsroom_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let zip = std::fs::read(export(dir.path(), "http://127.0.0.1:9")).unwrap();
    let (admin, csrf) = crate::harness::staff_browser(&app, "administrator").await;
    let res = admin
        .upload_files(
            "/admin/import",
            &[("csrf", &csrf)],
            // As a browser sends it: the members field empty.
            &[
                ("file", "tidewater.zip", "application/zip", &zip),
                ("members", "", "application/octet-stream", b""),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let run = res.headers()["location"].to_str().unwrap().to_string();
    app.run_jobs().await;
    let mut admin = admin;
    let page = admin.page(&run).await;
    assert!(
        page.contains("<th scope=\"row\">Articles</th><td>4</td>"),
        "{page}"
    );
    assert!(page.contains("4 members to import"), "{page}");
    assert_eq!(app.get("/low-water-mark").await.status().as_u16(), 404);
    assert_eq!(admin.send_status(&format!("{run}/confirm"), &[]).await, 303);
    app.run_jobs().await;
    let page = admin.page(&run).await;
    assert!(page.contains("id=\"import-status\">Imported"), "{page}");
    assert!(page.contains("4 new, 0 already had an account"), "{page}");
    assert_eq!(
        crate::wordpress::uploads_on_disk(&app),
        0,
        "the zip deleted"
    );
    assert!(app
        .get_text("/low-water-mark", 200)
        .await
        .contains("The gauge read 0.2 metres"));
}

// The CLI runs the same import: `masthead import --from substack FILE`.
// What it skipped (the podcast, the thread, the broken address) goes to
// stderr and makes the exit status 1.
both!(the_cli_imports_a_substack_export, Fixture::Demo);
async fn the_cli_imports_a_substack_export(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let file = export(dir.path(), "http://127.0.0.1:9");
    let run = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_masthead"));
        cmd.arg("--data-dir")
            .arg(&app.state.config().data_dir)
            .arg("--database-url")
            .arg(app.db_url())
            .args(["import", "--from", "substack"])
            .arg(&file)
            .args(extra)
            .env("MASTHEAD_LOG", "warn");
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    let dry = run(&["--dry-run"]).await.unwrap();
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(out.contains("dry run: articles: 4 created"), "{out}");
    let done = run(&[]).await.unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr),
    );
    assert_eq!(done.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("imported: articles: 4 created"), "{out}");
    assert!(err.contains("skipped post 1004.harbour-sounds-1"), "{err}");
    assert!(
        masthead_store::content::find_article_any(app.state.db(), "low-water-mark")
            .await
            .unwrap()
            .is_some()
    );
}
