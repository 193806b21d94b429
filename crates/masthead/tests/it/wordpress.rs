//! Issue 14, WordPress: an export written here (`fixtures/wordpress`)
//! moves in with its images (from a copy of `wp-content/uploads` and from
//! an image server on loopback), its authors, categories and tags, and
//! its old addresses, which answer 301; a second run changes nothing;
//! newsroom edits are kept unless forced; loopback images are refused
//! without the operator's leave; a hostile file writes nothing.

use crate::both;
use crate::harness::{Fixture, TestApp};
use masthead::imports::wordpress::{run, Options};
use masthead::imports::Report;
use masthead_core::content::{AccessLevel, ArticleStatus, ContentType};
use masthead_store::newsroom::Actor;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub(crate) fn png(w: u32, h: u32, shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 200) as u8, (y % 180) as u8, shade])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// The old site's image server, on loopback: counts what it serves.
struct Images {
    base: String,
    hits: Arc<AtomicUsize>,
}

async fn image_server() -> Images {
    slow_image_server(std::time::Duration::ZERO).await
}

/// The image server, answering each image after `delay`.
async fn slow_image_server(delay: std::time::Duration) -> Images {
    use axum::routing::get;
    let hits = Arc::new(AtomicUsize::new(0));
    let gull = png(800, 600, 40);
    let slipway = png(1000, 700, 120);
    let (h1, h2) = (hits.clone(), hits.clone());
    let app = axum::Router::new()
        .route(
            "/wp-content/uploads/2024/05/gull.png",
            get(move || {
                h1.fetch_add(1, Ordering::SeqCst);
                let body = gull.clone();
                async move {
                    tokio::time::sleep(delay).await;
                    ([("content-type", "image/png")], body)
                }
            }),
        )
        .route(
            "/wp-content/uploads/2024/04/slipway.png",
            get(move || {
                h2.fetch_add(1, Ordering::SeqCst);
                let body = slipway.clone();
                async move {
                    tokio::time::sleep(delay).await;
                    ([("content-type", "image/png")], body)
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Images { base, hits }
}

/// The export with the image server's address, and a copy of uploads.
struct Old {
    _dir: tempfile::TempDir,
    file: PathBuf,
    uploads: PathBuf,
    images: Images,
}

async fn old_site() -> Old {
    old_site_serving(image_server().await).await
}

async fn old_site_serving(images: Images) -> Old {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/wordpress/export.xml"
    ))
    .unwrap()
    .replace("{{IMAGES}}", &images.base);
    let file = dir.path().join("export.xml");
    std::fs::write(&file, text).unwrap();
    let uploads = dir.path().join("uploads");
    std::fs::create_dir_all(uploads.join("2024/05")).unwrap();
    std::fs::write(uploads.join("2024/05/ferry.png"), png(1200, 800, 200)).unwrap();
    Old {
        _dir: dir,
        file,
        uploads,
        images,
    }
}

fn options(old: &Old) -> Options {
    Options {
        uploads: Some(old.uploads.clone()),
        allow_private_fetch: true,
        ..Options::new(old.file.clone())
    }
}

async fn import(app: &TestApp, opts: &Options) -> Report {
    let report = run(&app.state, opts, Actor::OPERATOR)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    app.state.refresh_counters().await.unwrap();
    report
}

async fn article(app: &TestApp, slug: &str) -> masthead_core::content::Article {
    masthead_store::content::find_article_any(app.state.db(), slug)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no article {slug}"))
}

async fn location(app: &TestApp, path: &str) -> (u16, String) {
    let res = app.get(path).await;
    let to = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (res.status().as_u16(), to)
}

fn reasons(report: &Report) -> Vec<String> {
    report
        .partial
        .iter()
        .chain(&report.skipped)
        .map(|n| format!("{} {}: {}", n.kind, n.source_id, n.reason))
        .collect()
}

both!(
    a_wordpress_export_moves_in_with_its_images_and_addresses,
    Fixture::Demo
);
async fn a_wordpress_export_moves_in_with_its_images_and_addresses(app: TestApp) {
    let db = app.state.db();
    let old = old_site().await;
    let before = masthead_store::content::count_articles(db).await.unwrap();
    let demo = article(&app, "council-approves-harbour-seawall-plan").await;
    let report = import(&app, &options(&old)).await;
    let why = reasons(&report);
    assert_eq!(
        (report.articles.created, report.pages.created),
        (8, 2),
        "{report:?}"
    );
    assert_eq!(
        (report.topics.created, report.authors.created),
        (3, 3),
        "{report:?}"
    );
    assert!(report.skipped.is_empty(), "{why:?}");
    assert!(report.dropped_characters >= 1, "the bell character");
    for expected in [
        "post 101: unknown shortcode [vc_row] kept as text",
        "post 103: password-protected: imported as a draft",
        "post 107: the slug \"council-approves-harbour-seawall-plan\" is taken here; imported as \"council-approves-harbour-seawall-plan-2\"",
        "page 110: the slug \"terms\" is taken here; imported as \"terms-2\"",
    ] {
        assert!(why.iter().any(|w| w == expected), "{expected} in {why:?}");
    }
    assert!(
        why.iter()
            .any(|w| w.starts_with("post 102: image removed") && w.contains("missing.png")),
        "{why:?}"
    );
    assert_eq!(
        masthead_store::content::count_articles(db).await.unwrap(),
        before + 8
    );

    // The classic post: paragraphs, the captioned image copied, the cut
    // at <!--more-->, its featured image with the attachment's words.
    let ferry = article(&app, "ferry-timetable-winter").await;
    assert_eq!(ferry.status, ArticleStatus::Published);
    assert_eq!(ferry.standfirst, "Earlier first sailings from next month.");
    assert_eq!(ferry.preview_blocks, Some(3));
    assert_eq!(
        ferry.published_at.map(|t| t.as_second()),
        Some(1_715_934_600),
        "from wp:post_date_gmt"
    );
    let lead = ferry.lead_image.as_ref().expect("the featured image");
    assert_eq!(
        (lead.alt.as_str(), lead.caption.as_str()),
        ("A gull in flight", "A gull over the estuary.")
    );
    let names = |v: &[masthead_core::content::AuthorRef]| {
        v.iter().map(|a| a.name.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(&ferry.authors), vec!["Ines Varga", "Guest Writer"]);
    let topics: Vec<_> = ferry.topics.iter().map(|t| t.slug.as_str()).collect();
    assert_eq!(topics, vec!["ferries", "tides"]);
    let html = app.get_text("/ferry-timetable-winter", 200).await;
    assert!(html.contains("<p>The estuary ferry moves to its winter timetable next month.<br>"));
    assert!(html.contains("<figcaption>The ferry at the old slipway.</figcaption>"));
    assert!(html.contains("src=\"/media/"));
    assert!(
        !html.contains("old-gazette.example/wp-content"),
        "images are ours"
    );
    assert!(html.contains("Builder text kept") && !html.contains("[vc_row]"));
    // The "full size" link around the image leads to our copy; a link to
    // an image file that cannot be copied goes, its words stay.
    assert!(
        html.contains("<figure><a href=\"/media/"),
        "the linked original"
    );
    assert!(html.contains("(see the full timetable)") && !html.contains("timetable.jpg"));
    assert!(
        html.contains("href=\"/2024/04/02/slipway-repairs/\""),
        "links to the old site stay on this one"
    );

    // The block-editor post: its blocks, a content type from a category,
    // the script and handler gone, the lost image removed.
    let slipway = article(&app, "slipway-repairs").await;
    assert_eq!(slipway.content_type, ContentType::Analysis);
    assert_eq!(slipway.preview_blocks, Some(3));
    assert_eq!(slipway.authors[0].name, "Tomás Reyes");
    let html = masthead_store::content::find_body(
        db,
        &slipway.facts(),
        masthead_core::access::Decision::Full,
    )
    .await
    .unwrap()
    .blocks
    .join("\n");
    for part in [
        "<h2>The cost</h2>",
        "<figcaption>Repairs began in March.</figcaption>",
        "<aside class=\"pullquote\"><p>We cannot wait another winter.",
        "<hr>",
        "href=\"https://video.example/watch/slipway\"",
    ] {
        assert!(html.contains(part), "{part} in {html}");
    }
    for gone in [
        "<script",
        "onclick",
        "missing.png",
        "<!--",
        &old.images.base,
    ] {
        assert!(!html.contains(gone), "{gone} in {html}");
    }
    // Its Yoast title and description, for search engines.
    let page = app.get_text("/slipway-repairs", 200).await;
    assert!(
        page.contains("<title>Slipway repairs cost £180,000 — The Harbour Ledger</title>"),
        "{}",
        page.chars().take(600).collect::<String>()
    );
    assert!(page.contains(
        "<meta name=\"description\" content=\"The council will repair the slipway before the summer.\">"
    ));

    // Drafts, private, scheduled and protected posts are not open.
    for (slug, status) in [
        ("members-briefing", ArticleStatus::Draft),
        ("private-note", ArticleStatus::Draft),
        ("regatta-returns", ArticleStatus::Scheduled),
        (
            "unfinished-draft-about-the-lighthouse",
            ArticleStatus::Draft,
        ),
    ] {
        assert_eq!(article(&app, slug).await.status, status, "{slug}");
        assert_eq!(app.get(&format!("/{slug}")).await.status().as_u16(), 404);
    }
    assert_eq!(
        article(&app, "members-briefing").await.access_level,
        AccessLevel::Default
    );
    let home = app.get_text("/", 200).await;
    assert!(!home.contains("PROTECTED-TEXT") && !home.contains("PRIVATE-TEXT"));
    // A slug taken here: the old article is untouched.
    let kept = article(&app, "council-approves-harbour-seawall-plan").await;
    assert_eq!(
        (kept.headline, kept.revision),
        (demo.headline, demo.revision)
    );
    // The sticky post leads the home page.
    let slots = masthead_store::content::find_front_slots(db, "home")
        .await
        .unwrap();
    assert_eq!(slots.first().map(|s| s.1), Some(ferry.id));

    // Every old address answers 301 to the new one.
    for (from, to) in [
        (
            "/2024/05/17/ferry-timetable-winter/",
            "/ferry-timetable-winter",
        ),
        (
            "/2024/05/17/ferry-timetable-winter",
            "/ferry-timetable-winter",
        ),
        ("/?p=102", "/slipway-repairs"),
        ("/?p=107", "/council-approves-harbour-seawall-plan-2"),
        ("/2024/01/05/%e6%bd%ae/", "/bell-ringer-s-note"),
        ("/category/estuary/ferries/", "/topics/ferries"),
        ("/category/estuary", "/topics/estuary"),
        ("/tag/tides/", "/topics/tides"),
        ("/author/ines/", "/authors/ines"),
        ("/?page_id=111", "/pages/contact"),
        ("/contact/", "/pages/contact"),
        ("/contact", "/pages/contact"),
        ("/terms/", "/pages/terms-2"),
    ] {
        assert_eq!(location(&app, from).await, (301, to.to_string()), "{from}");
    }
    assert_eq!(
        app.get("/2023/01/01/never-existed/")
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        app.get("/?p=999").await.status().as_u16(),
        200,
        "the home page"
    );
    let page = app.get_text("/pages/contact", 200).await;
    assert!(page.contains("<p>Write to us at the harbour office.</p>"));
    // The consent-bearing page keeps its text.
    assert!(!app
        .get_text("/pages/terms", 200)
        .await
        .contains("The old site's terms."));

    // Audited, with the operator.
    let audit = masthead_store::newsroom::list_audit(db, 10).await.unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == "import.wordpress")
        .expect("the run's audit entry");
    assert_eq!(entry.staff_email, "cli (operator)");
    assert!(
        entry.detail.contains("articles: 8 created"),
        "{}",
        entry.detail
    );

    // A second run changes nothing and fetches nothing.
    let hits = old.images.hits.load(Ordering::SeqCst);
    assert_eq!(hits, 2, "each image fetched once");
    let again = import(&app, &options(&old)).await;
    assert_eq!(
        (
            again.articles.created,
            again.articles.updated,
            again.articles.unchanged
        ),
        (0, 0, 8),
        "{again:?}"
    );
    assert_eq!((again.pages.created, again.pages.unchanged), (0, 2));
    assert_eq!(again.images, 0);
    assert_eq!(old.images.hits.load(Ordering::SeqCst), hits);
    assert_eq!(
        masthead_store::content::count_articles(db).await.unwrap(),
        before + 8
    );
}

// An article saved in the newsroom after its import is kept, and
// reported, unless the operator forces the import over it.
both!(
    newsroom_edits_survive_a_second_import_unless_forced,
    Fixture::Demo
);
async fn newsroom_edits_survive_a_second_import_unless_forced(app: TestApp) {
    let old = old_site().await;
    import(&app, &options(&old)).await;
    // What a newsroom save does to an imported article's source mark.
    sqlx::query("UPDATE articles SET source_hash = NULL WHERE slug = $1")
        .bind("ferry-timetable-winter")
        .execute(app.state.db().writer())
        .await
        .unwrap();
    let again = import(&app, &options(&old)).await;
    assert_eq!(again.articles.conflicts, 1, "{again:?}");
    assert!(reasons(&again)
        .iter()
        .any(|r| r.starts_with("post 101: /ferry-timetable-winter was edited in the newsroom")));
    let forced = import(
        &app,
        &Options {
            force: true,
            ..options(&old)
        },
    )
    .await;
    assert_eq!(
        (forced.articles.updated, forced.articles.conflicts),
        (1, 0),
        "{forced:?}"
    );
}

// Without the operator's leave, images on loopback are refused by the
// fetch guard; the posts come in without them, and the report says why.
both!(
    loopback_images_are_refused_without_the_operators_leave,
    Fixture::Demo
);
async fn loopback_images_are_refused_without_the_operators_leave(app: TestApp) {
    let old = old_site().await;
    let report = import(
        &app,
        &Options {
            allow_private_fetch: false,
            ..options(&old)
        },
    )
    .await;
    assert_eq!(report.articles.created, 8);
    assert_eq!(old.images.hits.load(Ordering::SeqCst), 0, "no packet sent");
    let why = reasons(&report);
    assert!(
        why.iter()
            .any(|w| w.starts_with("post 101: featured image not copied") && w.contains("loopback")),
        "{why:?}"
    );
    assert!(article(&app, "ferry-timetable-winter")
        .await
        .lead_image
        .is_none());
    let html = app.get_text("/slipway-repairs", 200).await;
    assert!(!html.contains(&old.images.base));
}

// A hostile or broken file is refused before anything is written.
both!(a_hostile_export_writes_nothing, Fixture::Demo);
async fn a_hostile_export_writes_nothing(app: TestApp) {
    let db = app.state.db();
    let before = masthead_store::content::count_articles(db).await.unwrap();
    let old = old_site().await;
    let good = std::fs::read_to_string(&old.file).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "doctype.xml",
            good.replacen(
                "<rss version",
                "<!DOCTYPE rss [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><rss version",
                1,
            ),
            "DOCTYPE",
        ),
        (
            "truncated.xml",
            good[..good.len() / 2].to_string(),
            "truncated",
        ),
        (
            "not-wxr.xml",
            "<html><body></body></html>".to_string(),
            "not a WordPress export",
        ),
    ];
    for (name, text, says) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let err = run(&app.state, &Options::new(file), Actor::OPERATOR)
            .await
            .expect_err(name);
        assert!(format!("{err:#}").contains(says), "{name}: {err:#}");
    }
    assert_eq!(
        masthead_store::content::count_articles(db).await.unwrap(),
        before
    );
}

/// A test app whose newsroom imports may fetch from the loopback image
/// server (`[imports] allow_private_fetch`).
pub(crate) async fn newsroom_app(backend: crate::harness::Backend) -> TestApp {
    TestApp::builder(backend)
        .fixture(Fixture::Demo)
        .config(|c| c.import_allow_private_fetch = true)
        .spawn()
        .await
}

pub(crate) fn uploads_on_disk(app: &TestApp) -> usize {
    std::fs::read_dir(app.state.config().data_dir.join("imports"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// An administrator uploads `bytes` on the Import page; returns the run's page.
async fn upload_export(b: &crate::harness::Browser<'_>, csrf: &str, bytes: &[u8]) -> String {
    let res = b
        .upload(
            "/admin/import",
            &[("csrf", csrf), ("timezone", "UTC")],
            Some(("gazette-export.xml", "text/xml", bytes)),
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    res.headers()["location"].to_str().unwrap().to_string()
}

// The Import page runs the same import as the command line, as jobs: a
// dry run first (nothing written), the import once confirmed, its
// progress and report on the run's page, the uploaded file deleted.
both!(administrators_import_from_the_newsroom_after_a_dry_run);
async fn administrators_import_from_the_newsroom_after_a_dry_run(backend: crate::harness::Backend) {
    let app = newsroom_app(backend).await;
    let db = app.state.db();
    let old = old_site().await;
    let export = std::fs::read(&old.file).unwrap();
    let before = masthead_store::content::count_articles(db).await.unwrap();
    let (editor, ecsrf) = crate::harness::staff_browser(&app, "editor").await;
    let res = editor
        .upload(
            "/admin/import",
            &[("csrf", &ecsrf)],
            Some(("x.xml", "text/xml", &export)),
        )
        .await;
    assert_eq!(res.status().as_u16(), 403, "administrators only");
    let (mut admin, csrf) = crate::harness::staff_browser(&app, "administrator").await;
    assert!(admin
        .page("/admin")
        .await
        .contains("href=\"/admin/import\""));
    // A forged form stores nothing.
    let res = admin
        .upload(
            "/admin/import",
            &[("csrf", "forged")],
            Some(("x.xml", "text/xml", &export)),
        )
        .await;
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(uploads_on_disk(&app), 0, "nothing left behind");

    let run = upload_export(&admin, &csrf, &export).await;
    assert!(run.starts_with("/admin/import/"), "{run}");
    assert_eq!(uploads_on_disk(&app), 1);
    let page = admin.page(&run).await;
    assert!(page.contains("Reading the file") && page.contains("http-equiv=\"refresh\""));
    app.run_jobs().await;
    let page = admin.page(&run).await;
    assert!(page.contains("What the import would do"), "{page}");
    assert!(
        page.contains("<th scope=\"row\">Articles</th><td>8</td>"),
        "{page}"
    );
    assert_eq!(
        masthead_store::content::count_articles(db).await.unwrap(),
        before,
        "a dry run writes nothing"
    );
    assert_eq!(admin.send_status(&format!("{run}/confirm"), &[]).await, 303);
    assert_eq!(admin.send_status(&format!("{run}/confirm"), &[]).await, 409);
    app.run_jobs().await;
    let page = admin.page(&run).await;
    assert!(page.contains("id=\"import-status\">Imported"), "{page}");
    assert!(page.contains("“Slipway repairs: what the council decided”: image removed"));
    assert!(!page.contains("http-equiv=\"refresh\""));
    assert_eq!(
        masthead_store::content::count_articles(db).await.unwrap(),
        before + 8
    );
    assert!(app
        .get_text("/slipway-repairs", 200)
        .await
        .contains("src=\"/media/"));
    assert_eq!(
        uploads_on_disk(&app),
        0,
        "the export is deleted after the run"
    );
    let list = admin.page("/admin/import").await;
    assert!(list.contains("gazette-export.xml") && list.contains("done"));
    let audit: Vec<(String, String)> = masthead_store::newsroom::list_audit(db, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.staff_email))
        .collect();
    for action in ["import.upload", "import.confirm", "import.wordpress"] {
        assert!(
            audit.contains(&(
                action.to_string(),
                "administrator@newsroom.example".to_string()
            )),
            "{action} in {audit:?}"
        );
    }
    // Two imports never run at once; a checked one can be discarded.
    let export = std::fs::read(&old.file).unwrap();
    let first = upload_export(&admin, &csrf, &export).await;
    let second = upload_export(&admin, &csrf, &export).await;
    app.run_jobs().await;
    assert_eq!(
        admin.send_status(&format!("{first}/confirm"), &[]).await,
        303
    );
    assert_eq!(
        admin.send_status(&format!("{second}/confirm"), &[]).await,
        409,
        "one at a time"
    );
    app.run_jobs().await;
    assert!(admin
        .page(&first)
        .await
        .contains("id=\"import-status\">Imported"));
    assert_eq!(uploads_on_disk(&app), 1, "the second waits with its file");
    assert_eq!(
        admin.send_status(&format!("{second}/discard"), &[]).await,
        303
    );
    assert_eq!(uploads_on_disk(&app), 0, "discarded with its file");
    assert_eq!(
        admin.send_status(&format!("{second}/confirm"), &[]).await,
        409
    );
    assert_eq!(
        admin.send_status(&format!("{second}/discard"), &[]).await,
        409
    );
    assert_eq!(
        masthead_store::content::count_articles(db).await.unwrap(),
        before + 8,
        "a second import of the same export duplicates nothing"
    );
    // A file that is not an export fails its check with the reason.
    let run = upload_export(&admin, &csrf, b"<html><body>hello</body></html>").await;
    app.run_jobs().await;
    let page = admin.page(&run).await;
    assert!(page.contains("not a WordPress export"), "{page}");
    assert_eq!(uploads_on_disk(&app), 0);
    assert_eq!(admin.send_status(&format!("{run}/confirm"), &[]).await, 409);
}

// A worker that dies mid-import leaves its job to be taken over once its
// lease lapses; the import resumes and finishes, and the dead worker's
// lease is gone (it may not renew it).
both!(an_import_left_by_a_dead_worker_is_taken_over_and_finishes);
async fn an_import_left_by_a_dead_worker_is_taken_over_and_finishes(
    backend: crate::harness::Backend,
) {
    let app = newsroom_app(backend).await;
    let db = app.state.db();
    let old = old_site().await;
    let (mut admin, csrf) = crate::harness::staff_browser(&app, "administrator").await;
    let run = upload_export(&admin, &csrf, &std::fs::read(&old.file).unwrap()).await;
    app.run_jobs().await;
    assert_eq!(admin.send_status(&format!("{run}/confirm"), &[]).await, 303);
    // The dead worker claimed the import long ago and never came back.
    let now = app.state.now();
    let dead = masthead_store::jobs::claim_job(db, "dead-worker", now, 300)
        .await
        .unwrap()
        .expect("the import job");
    assert_eq!(dead.kind, masthead_store::imports::RUN_JOB);
    app.state.clock().advance(301);
    assert_eq!(app.run_jobs().await, 1, "taken over");
    assert!(admin
        .page(&run)
        .await
        .contains("id=\"import-status\">Imported"));
    assert!(article(&app, "ferry-timetable-winter").await.id > 0);
    let later = app.state.now() + 300;
    assert!(
        !masthead_store::jobs::renew_lease(db, dead.id, "dead-worker", later)
            .await
            .unwrap()
    );
}

/// A generated export of `n` classic posts (no images).
fn generated_export(n: usize) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:wp=\"http://wordpress.org/export/1.2/\">\n<channel><title>Bulk</title>\
         <link>https://bulk.example</link><wp:base_site_url>https://bulk.example</wp:base_site_url>\n",
    );
    for i in 0..n {
        xml.push_str(&format!(
            "<item><title>Bulk story {i}</title><link>https://bulk.example/{i}/bulk-{i}/</link>\
             <content:encoded><![CDATA[First paragraph {i}.\n\nSecond paragraph.]]></content:encoded>\
             <wp:post_id>{i}</wp:post_id><wp:post_date_gmt>2024-01-01 00:00:00</wp:post_date_gmt>\
             <wp:post_name>bulk-{i}</wp:post_name><wp:status>publish</wp:status><wp:post_type>post</wp:post_type></item>\n"
        ));
    }
    xml.push_str("</channel></rss>\n");
    xml
}

// The command line: a dry run writes nothing; the import, a second OS
// process beside the server, runs while readers sign up (no "database is
// locked", no lost write); a hostile file exits with its reason.
both!(
    the_command_line_imports_beside_a_running_server,
    Fixture::Demo
);
async fn the_command_line_imports_beside_a_running_server(app: TestApp) {
    let db = app.state.db();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bulk.xml");
    std::fs::write(&file, generated_export(150)).unwrap();
    let data = app.state.config().data_dir.clone();
    let url = app.db_url().to_string();
    let cli = move |args: Vec<String>| {
        let (data, url) = (data.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_masthead"))
                .arg("--data-dir")
                .arg(&data)
                .arg("--database-url")
                .arg(&url)
                .args(&args)
                .env("MASTHEAD_LOG", "warn")
                .output()
                .unwrap()
        })
    };
    let path = file.to_string_lossy().to_string();
    let before = masthead_store::content::count_articles(db).await.unwrap();
    let dry = cli(vec![
        "import".into(),
        "--from".into(),
        "wordpress".into(),
        path.clone(),
        "--dry-run".into(),
    ])
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(out.contains("dry run: articles: 150 created"), "{out}");
    assert_eq!(
        masthead_store::content::count_articles(db).await.unwrap(),
        before
    );

    let import = cli(vec![
        "import".into(),
        "--from".into(),
        "wordpress".into(),
        path.clone(),
    ]);
    let signups = async {
        for i in 0..12 {
            let mut b = crate::harness::Browser::new(&app);
            let email = format!("mover-{i}@example.org");
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
    let (done, ()) = tokio::join!(import, signups);
    let done = done.unwrap();
    let out = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(out.contains("imported: articles: 150 created"), "{out}");
    assert_eq!(
        masthead_store::content::count_articles(db).await.unwrap(),
        before + 150
    );
    for i in 0..12 {
        let email = format!("mover-{i}@example.org");
        assert!(
            masthead_store::members::find_member_by_email(db, &email)
                .await
                .unwrap()
                .is_some(),
            "{email}"
        );
    }
    app.state.refresh_counters().await.unwrap();
    assert_eq!(
        location(&app, "/?p=149").await,
        (301, "/bulk-149".to_string())
    );

    std::fs::write(&file, "<!DOCTYPE x [<!ENTITY a \"b\">]><rss/>").unwrap();
    let bad = cli(vec![
        "import".into(),
        "--from".into(),
        "wordpress".into(),
        path,
    ])
    .await
    .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("DOCTYPE"));
}

// The server's worker runs an import beside the other jobs: a log-in
// link asked for while a slow import runs is sent at once, not after it.
both!(emails_do_not_wait_behind_a_running_import);
async fn emails_do_not_wait_behind_a_running_import(backend: crate::harness::Backend) {
    let app = newsroom_app(backend).await;
    let old = old_site_serving(slow_image_server(std::time::Duration::from_secs(3)).await).await;
    let (mut admin, csrf) = crate::harness::staff_browser(&app, "administrator").await;
    let run = upload_export(&admin, &csrf, &std::fs::read(&old.file).unwrap()).await;
    app.run_jobs().await;
    assert_eq!(admin.send_status(&format!("{run}/confirm"), &[]).await, 303);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(masthead::jobs::worker(app.state.clone(), rx));
    // The import is under way (it waits on the image server) …
    let mut started = false;
    for _ in 0..100 {
        if old.images.hits.load(Ordering::SeqCst) > 0 {
            started = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(started, "the import started");
    // … when a reader asks for a log-in link.
    crate::harness::verified_member(&app, "waiting@example.org").await;
    let mut reader = crate::harness::Browser::new(&app);
    reader.ask_log_in_link("waiting@example.org").await;
    let outbox = app.state.config().data_dir.join("outbox");
    let mut sent = false;
    for _ in 0..40 {
        sent = std::fs::read_dir(&outbox).is_ok_and(|d| d.count() > 0);
        if sent {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(sent, "the email went within 2 s");
    let status = masthead_store::imports::find_run(
        app.state.db(),
        run.rsplit('/').next().unwrap().parse().unwrap(),
    )
    .await
    .unwrap()
    .unwrap()
    .status;
    assert_eq!(status, "running", "while the import was still running");
    // And the import finishes.
    let mut done = false;
    for _ in 0..300 {
        if admin
            .page(&run)
            .await
            .contains("id=\"import-status\">Imported")
        {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(done, "the import finished");
    stop.send(true).unwrap();
    worker.await.unwrap();
}

// The Import page's upload is bounded (`[imports] max_upload_mb`): a
// larger file is refused with 413 and nothing stays on disk.
both!(an_export_over_the_upload_limit_is_refused_and_not_kept);
async fn an_export_over_the_upload_limit_is_refused_and_not_kept(backend: crate::harness::Backend) {
    let app = TestApp::builder(backend)
        .fixture(Fixture::Demo)
        .config(|c| c.import_max_bytes = 1024 * 1024)
        .spawn()
        .await;
    let (admin, csrf) = crate::harness::staff_browser(&app, "administrator").await;
    let big = vec![b'x'; 1024 * 1024 + 1];
    let res = admin
        .upload(
            "/admin/import",
            &[("csrf", &csrf)],
            Some(("big.xml", "text/xml", &big)),
        )
        .await;
    assert_eq!(res.status().as_u16(), 413);
    assert!(res.text().await.unwrap().contains("larger than 1 MB"));
    assert_eq!(uploads_on_disk(&app), 0);
    assert!(masthead_store::imports::list_runs(app.state.db(), 5)
        .await
        .unwrap()
        .is_empty());
}

// The fetch guard's own bounds, against the loopback server with the
// address check lifted: a body over the size limit and a server slower
// than the time limit are errors, not waits or memory. It touches no
// database, so it runs once rather than per backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_are_bounded_in_size_and_time() {
    let images = slow_image_server(std::time::Duration::from_secs(3)).await;
    let url = format!("{}/wp-content/uploads/2024/05/gull.png", images.base);
    let small = masthead::fetch::Fetcher {
        allow_private: true,
        max_bytes: 1000,
        ..masthead::fetch::Fetcher::default()
    };
    let err = small.get(&url).await.unwrap_err();
    assert!(
        matches!(err, masthead::fetch::FetchError::TooLarge(..)),
        "{err}"
    );
    let hasty = masthead::fetch::Fetcher {
        allow_private: true,
        timeout: std::time::Duration::from_secs(1),
        ..masthead::fetch::Fetcher::default()
    };
    let started = std::time::Instant::now();
    assert!(hasty.get(&url).await.is_err());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "gave up at its limit"
    );
    let strict = masthead::fetch::Fetcher::default();
    let err = strict.get(&url).await.unwrap_err();
    assert!(
        matches!(err, masthead::fetch::FetchError::Refused { .. }),
        "{err}"
    );
    let ok = masthead::fetch::Fetcher {
        allow_private: true,
        ..masthead::fetch::Fetcher::default()
    };
    assert!(ok.get(&url).await.unwrap().starts_with(b"\x89PNG"));
}
