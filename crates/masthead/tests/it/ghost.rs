//! Issue 14, Ghost: an export written here (`fixtures/ghost`, Ghost 5
//! shape: lexical and mobiledoc beside the rendered html, the paywall
//! card, internal tags, two bylines in order, newsletters) moves in with
//! its images (from an image server on loopback and a copy of `content/`)
//! and its old addresses; its members CSV brings readers with their
//! newsletters, comps and Stripe customers, and the paying ones keep
//! their subscription, carried over from the Stripe stand-in without a
//! welcome email; a second run changes nothing; a broken file writes
//! nothing.

use crate::both;
use crate::harness::{Backend, Browser, Fixture, TestApp};
use crate::stripe_standin::StripeStandIn;
use crate::wordpress::png;
use masthead::imports::ghost::{run, Options};
use masthead::imports::Report;
use masthead_core::content::{AccessLevel, ArticleStatus, ContentType};
use masthead_store::newsroom::Actor;
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ghost");

/// The old Ghost site: its image server on loopback, and a copy of its
/// `content/` folder holding one image the server does not have.
struct Old {
    _dir: tempfile::TempDir,
    base: String,
    content: PathBuf,
}

async fn old_site() -> Old {
    use axum::routing::get;
    let mut app = axum::Router::new();
    for (path, w, shade) in [
        ("/content/images/2024/05/dredger.png", 800, 30),
        ("/content/images/2024/05/harbour.png", 1200, 90),
        ("/content/images/2024/01/maren.png", 300, 160),
    ] {
        let body = png(w, w * 3 / 4, shade);
        app = app.route(
            path,
            get(move || {
                let body = body.clone();
                async move { ([("content-type", "image/png")], body) }
            }),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    std::fs::create_dir_all(content.join("images/2024/05")).unwrap();
    std::fs::write(
        content.join("images/2024/05/local-only.png"),
        png(640, 480, 220),
    )
    .unwrap();
    Old {
        _dir: dir,
        base,
        content,
    }
}

fn options(old: &Old) -> Options {
    Options {
        content: Some(old.content.clone()),
        old_url: Some(old.base.clone()),
        allow_private_fetch: true,
        ..Options::new(PathBuf::from(format!("{FIXTURE}/export.json")))
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

async fn body(app: &TestApp, slug: &str) -> String {
    let a = article(app, slug).await;
    masthead_store::content::find_body(
        app.state.db(),
        &a.facts(),
        masthead_core::access::Decision::Full,
    )
    .await
    .unwrap()
    .blocks
    .join("\n")
}

fn reasons(report: &Report) -> Vec<String> {
    report
        .partial
        .iter()
        .chain(&report.skipped)
        .map(|n| format!("{} {}: {}", n.kind, n.source_id, n.reason))
        .collect()
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

both!(
    a_ghost_export_moves_in_with_its_images_and_addresses,
    Fixture::Demo
);
async fn a_ghost_export_moves_in_with_its_images_and_addresses(app: TestApp) {
    let db = app.state.db();
    let old = old_site().await;
    let before = masthead_store::content::count_articles(db).await.unwrap();

    // The dry run says what would happen and writes nothing.
    let dry = import(
        &app,
        &Options {
            dry_run: true,
            ..options(&old)
        },
    )
    .await;
    assert_eq!(
        (
            dry.articles.created,
            dry.pages.created,
            dry.newsletters.created
        ),
        (6, 2, 2),
        "{dry:?}"
    );
    assert_eq!(
        masthead_store::content::count_articles(db).await.unwrap(),
        before
    );

    let report = import(&app, &options(&old)).await;
    let why = reasons(&report);
    assert_eq!(
        (report.articles.created, report.pages.created),
        (6, 2),
        "{why:?}"
    );
    assert_eq!(
        (
            report.topics.created,
            report.authors.created,
            report.newsletters.created
        ),
        (2, 2, 2),
        "{report:?}"
    );
    let expected = [
        format!("post {}: sent only as an email: there is no newsletter archive here yet, so it is not put on the site", "65b1f0c2a4e9d3000100".to_string() + "0004"),
        format!("post {}: sent only as an email: there is no newsletter archive here yet, so it is not put on the site", "65b1f0c2a4e9d3000100".to_string() + "0005"),
        "newsletter n3: archived on the old site".to_string(),
        "page 65b1f0c2a4e9d30001000008: the slug \"privacy\" is taken here; imported as \"privacy-2\"".to_string(),
    ];
    for e in &expected {
        assert!(why.contains(e), "{e} in {why:?}");
    }
    assert!(
        why.iter().any(
            |w| w.starts_with("post 65b1f0c2a4e9d30001000001: image removed")
                && w.contains("missing.png")
        ),
        "{why:?}"
    );
    assert_eq!(report.skipped.len(), 3, "{why:?}");
    assert_eq!(
        report.images, 4,
        "dredger, harbour, maren, local-only; {why:?}"
    );
    assert_eq!(
        masthead_store::content::count_articles(db).await.unwrap(),
        before + 6
    );

    // The featured post: bylines in Ghost's order, tags in theirs (the
    // internal one gone), the feature image with posts_meta's words, the
    // excerpt, the SEO fields, images ours, the player a link.
    let dredging = article(&app, "harbour-dredging-begins").await;
    assert_eq!(dredging.status, ArticleStatus::Published);
    assert_eq!(dredging.access_level, AccessLevel::Free);
    assert_eq!(
        dredging.standfirst,
        "Six weeks of work to deepen the main channel."
    );
    assert_eq!(
        dredging.published_at.map(|t| t.as_second()),
        Some(1_715_934_600)
    );
    let names: Vec<_> = dredging.authors.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, vec!["Tomas Reyes", "Maren Holt"]);
    let topics: Vec<_> = dredging.topics.iter().map(|t| t.slug.as_str()).collect();
    assert_eq!(topics, vec!["harbour", "weather"]);
    let lead = dredging.lead_image.as_ref().expect("the feature image");
    assert_eq!(
        (lead.alt.as_str(), lead.caption.as_str()),
        (
            "The harbour mouth at low water",
            "The channel, before the work"
        )
    );
    assert_eq!(dredging.seo_title, "Dredging starts in the harbour");
    assert_eq!(dredging.seo_description, "Six weeks of channel work begin.");
    let html = body(&app, "harbour-dredging-begins").await;
    for part in [
        "<figcaption><span>Work began at first light.</span></figcaption>",
        "src=\"/media/",
        "alt=\"Buoys stacked on the quay\"",
        "href=\"https://www.youtube.com/embed/dQw4harbour\"",
        "href=\"/tide-tables-explained/\"",
    ] {
        assert!(html.contains(part), "{part} in {html}");
    }
    for gone in [
        "__GHOST_URL__",
        &old.base,
        "missing.png",
        "<iframe",
        "kg-card",
    ] {
        assert!(!html.contains(gone), "{gone} in {html}");
    }
    let fronts = masthead_store::content::find_front_slots(db, "home")
        .await
        .unwrap();
    assert_eq!(
        fronts.first().map(|f| f.1),
        Some(dredging.id),
        "featured leads"
    );
    // Bylines only: no staff account, no address, no hash from the users.
    let staff: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM staff WHERE email_lower LIKE '%old-gazette%'")
            .fetch_one(db.reader())
            .await
            .unwrap();
    assert_eq!(staff, 0);

    // The paid post: cut at the paywall card, the script gone, the
    // internal #analysis tag its content type; the members post
    // registered, cut too.
    let tides = article(&app, "tide-tables-explained").await;
    assert_eq!(
        (tides.access_level, tides.preview_blocks, tides.content_type),
        (AccessLevel::Subscribers, Some(2), ContentType::Analysis)
    );
    let html = body(&app, "tide-tables-explained").await;
    assert!(html.contains("<h2>Reading the columns</h2>") && html.contains("chart datum"));
    for gone in ["<script", "document.cookie", "onclick", "steal"] {
        assert!(!html.contains(gone), "{gone} in {html}");
    }
    let page = app.get_text("/tide-tables-explained", 200).await;
    assert!(page.contains("two highs and two lows"));
    assert!(
        !page.contains("Springs and neaps"),
        "the gated part stays on the server"
    );
    let regatta = article(&app, "regatta-guide").await;
    assert_eq!(
        (regatta.access_level, regatta.preview_blocks),
        (AccessLevel::Registered, Some(1))
    );
    for (slug, status) in [
        ("pier-lighting", ArticleStatus::Draft),
        ("ferry-strike-called-off", ArticleStatus::Scheduled),
    ] {
        assert_eq!(article(&app, slug).await.status, status, "{slug}");
    }
    assert!(
        masthead_store::content::find_article_any(db, "this-week-email")
            .await
            .unwrap()
            .is_none()
    );

    // Newsletters: the active two, with Ghost's sign-up default.
    let letters = masthead_store::newsletters::list(db).await.unwrap();
    let tide = letters
        .iter()
        .find(|n| n.slug == "morning-tide")
        .expect("morning-tide");
    assert!(tide.on_signup);
    assert!(letters.iter().any(|n| n.slug == "weekend-long-read"));
    assert!(!letters.iter().any(|n| n.slug == "old-digest"));

    // Old addresses answer 301.
    for (from, to) in [
        ("/harbour-dredging-begins/", "/harbour-dredging-begins"),
        ("/tag/harbour/", "/topics/harbour"),
        ("/author/maren/", "/authors/maren"),
        ("/privacy/", "/pages/privacy-2"),
        ("/about-the-gazette/", "/pages/about-the-gazette"),
        ("/search/", "/search-the-archive"),
    ] {
        assert_eq!(location(&app, from).await, (301, to.to_string()), "{from}");
    }
    assert_eq!(location(&app, "//elsewhere.example/").await.0, 404);
    // The consent-bearing page here is untouched.
    let privacy = app.get_text("/pages/privacy", 200).await;
    assert!(!privacy.contains("The old site's privacy notice"));

    // A second run changes nothing and duplicates nothing.
    let again = import(&app, &options(&old)).await;
    assert_eq!(
        (
            again.articles.created,
            again.articles.updated,
            again.articles.unchanged
        ),
        (0, 0, 6),
        "{again:?}"
    );
    assert_eq!((again.pages.created, again.pages.updated), (0, 0));
    assert_eq!(again.images, 0, "nothing fetched again");
    assert_eq!(
        masthead_store::content::count_articles(db).await.unwrap(),
        before + 6
    );
}

async fn funnel_subscriptions(app: &TestApp) -> i64 {
    let n: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(subscriptions), 0) AS BIGINT) FROM funnel_hourly",
    )
    .fetch_one(app.state.db().reader())
    .await
    .unwrap();
    n.unwrap_or(0)
}

// The members CSV with the Stripe stand-in: readers, opt-ins, comps,
// and subscriptions carried over.
both!(ghost_members_move_in_and_paying_subscribers_keep_paying);
async fn ghost_members_move_in_and_paying_subscribers_keep_paying(backend: Backend) {
    let standin = StripeStandIn::start().await;
    let app = TestApp::builder(backend)
        .fixture(Fixture::Demo)
        .stripe(&standin)
        .spawn()
        .await;
    let db = app.state.db();
    let now = jiff::Timestamp::now().as_second();
    let monthly = json!({"id": "price_GhostMonthly", "object": "price", "currency": "usd",
        "unit_amount": 700, "nickname": "Ghost supporter",
        "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}});
    let weekly = json!({"id": "price_GhostWeekly", "object": "price", "currency": "usd",
        "unit_amount": 200, "recurring": {"interval": "week", "interval_count": 1}});
    standin.put_foreign_subscription(
        "sub_G1",
        "cus_GhostPayer1",
        "active",
        now + 20 * 86_400,
        monthly.clone(),
    );
    standin.put_foreign_subscription(
        "sub_G2",
        "cus_GhostWeekly",
        "active",
        now + 5 * 86_400,
        weekly,
    );
    // An older, ended subscription of the payer, and the account's other
    // customers (enough for a second page).
    standin.put_foreign_subscription(
        "sub_G0",
        "cus_GhostPayer1",
        "canceled",
        now - 400 * 86_400,
        monthly.clone(),
    );
    for i in 0..120 {
        standin.put_foreign_subscription(
            &format!("sub_X{i:03}"),
            &format!("cus_Other{i}"),
            "active",
            now + 86_400,
            monthly.clone(),
        );
    }
    standin.state.throttle.store(1, Ordering::SeqCst);
    // Someone already here, and an address that must not be mailed.
    let existing = crate::harness::verified_member(&app, "existing@example.org").await;
    masthead_store::newsletters::suppress(
        db,
        "suppressed@example.org",
        "complaint",
        "test",
        None,
        now,
    )
    .await
    .unwrap();

    app.state.funnel().flush(db).await.unwrap();
    let subs_before = funnel_subscriptions(&app).await;
    let old = old_site().await;
    let opts = Options {
        members: Some(PathBuf::from(format!("{FIXTURE}/members.csv"))),
        ..options(&old)
    };
    let dry = import(
        &app,
        &Options {
            dry_run: true,
            ..opts.clone()
        },
    )
    .await;
    assert_eq!(
        (dry.members.rows, dry.members.customers, dry.subscriptions),
        (7, 2, 0)
    );
    assert!(
        masthead_store::billing::find_member_by_customer(db, "cus_GhostPayer1")
            .await
            .unwrap()
            .is_none()
    );

    let report = import(&app, &opts).await;
    let why = reasons(&report);
    let m = report.members;
    assert_eq!((m.rows, m.created, m.existing), (7, 6, 1), "{why:?}");
    assert_eq!((m.comps, m.customers, m.suppressed), (1, 2, 1), "{why:?}");
    // Morning Tide (subscribe on sign-up) for reader, payer, existing.
    assert_eq!(m.opted_in, 3, "{why:?}");
    assert_eq!(report.subscriptions, 3, "G0, G1, G2; {why:?}");
    for e in [
        "member line 7: deleted on the old site",
        "member 66a000000000000000000007: on the suppression list here: no newsletter opt-in recorded",
        "subscription sub_G2: price price_GhostWeekly (billed every week) has no plan here: access granted, renewals follow Stripe",
    ] {
        assert!(why.iter().any(|w| w == e), "{e} in {why:?}");
    }
    assert!(
        why.iter().any(|w| w.starts_with("member line 10:")),
        "the bad address: {why:?}"
    );
    assert!(
        why.iter()
            .any(|w| w.contains("were opted in to Morning Tide")),
        "{why:?}"
    );
    // Paged through the account 100 at a time, the 429 waited out.
    let lists = standin.state.lists.lock().unwrap().clone();
    assert_eq!(lists.len(), 3, "one throttled, two pages: {lists:?}");
    assert!(lists
        .iter()
        .all(|q| q.contains("status=all") && q.contains("limit=100")));
    assert!(lists[2].contains("starting_after="), "{lists:?}");

    // The payer reads a subscribers-only article at once, on an archived
    // plan made for the old price; no welcome email, no funnel count.
    let payer = masthead_store::billing::find_member_by_customer(db, "cus_GhostPayer1")
        .await
        .unwrap()
        .expect("the customer is linked");
    let cookie = crate::harness::session_for(&app, "member", Some(payer), None).await;
    let mut b = Browser::with_cookie(&app, &cookie);
    let gated = b.page("/bus-redesign-winners-and-losers").await;
    assert!(!gated.contains("class=\"offer\""), "the subscriber reads");
    let plans = masthead_store::offers::list_plans(db).await.unwrap();
    let imported = plans
        .iter()
        .find(|p| p.plan.name == "Ghost supporter")
        .expect("a plan for the old price");
    assert!(!imported.active, "archived: not offered");
    assert!(!app
        .get_text("/subscribe", 200)
        .await
        .contains("Ghost supporter"));
    let plan_id: Option<i64> =
        sqlx::query_scalar("SELECT plan_id FROM subscriptions WHERE id = 'sub_G1'")
            .fetch_one(db.reader())
            .await
            .unwrap();
    assert_eq!(plan_id, Some(imported.plan.id));
    let weekly_member = masthead_store::billing::find_member_by_customer(db, "cus_GhostWeekly")
        .await
        .unwrap()
        .unwrap();
    let cookie = crate::harness::session_for(&app, "member", Some(weekly_member), None).await;
    let page = Browser::with_cookie(&app, &cookie)
        .page("/bus-redesign-winners-and-losers")
        .await;
    assert!(
        !page.contains("class=\"offer\""),
        "an inexpressible price still grants access"
    );
    let mail = crate::harness::outbox(&app).await;
    assert!(
        !mail.iter().any(|m| m.contains("Welcome, subscriber")),
        "{mail:?}"
    );
    app.state.funnel().flush(db).await.unwrap();
    assert_eq!(
        funnel_subscriptions(&app).await,
        subs_before,
        "imported, not new"
    );
    // Other customers' subscriptions were not touched.
    let others: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM subscriptions WHERE id LIKE 'sub_X%'")
            .fetch_one(db.reader())
            .await
            .unwrap();
    assert_eq!(others, 0);

    // The comp, the opt-ins with the import as their source, the
    // suppressed address still suppressed, the existing account kept.
    let comped: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM grants g JOIN members m ON m.id = g.member_id \
         WHERE m.email_lower = 'comped@example.org' AND g.source = 'comp'",
    )
    .fetch_one(db.reader())
    .await
    .unwrap();
    assert_eq!(comped, 1);
    let sources: Vec<String> = sqlx::query_scalar(
        "SELECT c.source FROM newsletter_consents c JOIN members m ON m.id = c.member_id \
         WHERE m.email_lower = 'reader@example.org'",
    )
    .fetch_all(db.reader())
    .await
    .unwrap();
    assert_eq!(sources, vec!["import: ghost".to_string()]);
    let optedout: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM newsletter_members n JOIN members m ON m.id = n.member_id \
         WHERE m.email_lower IN ('optedout@example.org', 'suppressed@example.org', 'comped@example.org')",
    )
    .fetch_one(db.reader())
    .await
    .unwrap();
    assert_eq!(optedout, 0);
    assert!(
        masthead_store::newsletters::find_suppression(db, "suppressed@example.org")
            .await
            .unwrap()
            .is_some()
    );
    let verified: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE email_lower LIKE '%@example.org' AND verified_at IS NOT NULL AND email_lower <> 'gone@example.org'")
        .fetch_one(db.reader())
        .await
        .unwrap();
    assert!(verified >= 7, "verified: the old site verified them");
    let found: i64 =
        sqlx::query_scalar("SELECT id FROM members WHERE email_lower = 'existing@example.org'")
            .fetch_one(db.reader())
            .await
            .unwrap();
    assert_eq!(found, existing);

    // Again: nothing new, nothing duplicated; the newer snapshots are
    // stored again (later fetch), still without a welcome.
    let again = import(&app, &opts).await;
    assert_eq!(
        (again.members.created, again.members.existing),
        (0, 7),
        "{:?}",
        reasons(&again)
    );
    assert_eq!(
        (
            again.members.opted_in,
            again.members.comps,
            again.members.customers
        ),
        (0, 0, 0)
    );
    let grants: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM grants WHERE source = 'comp' AND note = 'imported: ghost'",
    )
    .fetch_one(db.reader())
    .await
    .unwrap();
    assert_eq!(grants, 1);
    assert!(!crate::harness::outbox(&app)
        .await
        .iter()
        .any(|m| m.contains("Welcome, subscriber")));
}

// A broken export is refused with a clear error and writes nothing; the
// shape without the db wrapper reads as well.
both!(broken_ghost_exports_are_refused_whole, Fixture::Demo);
async fn broken_ghost_exports_are_refused_whole(app: TestApp) {
    let db = app.state.db();
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read_to_string(format!("{FIXTURE}/export.json")).unwrap();
    let before = masthead_store::content::count_articles(db).await.unwrap();
    for (name, text, says) in [
        (
            "truncated.json",
            full[..full.len() / 2].to_string(),
            "not a Ghost export (JSON)",
        ),
        (
            "xml.json",
            "<rss></rss>".to_string(),
            "not a Ghost export (JSON)",
        ),
        (
            "empty.json",
            "{\"db\": []}".to_string(),
            "no \"db\" or \"data\"",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let res = run(&app.state, &Options::new(path), Actor::OPERATOR).await;
        match res {
            Err(e) => assert!(format!("{e:#}").contains(says), "{name}: {e:#}"),
            Ok(r) => panic!("{name}: {r:?}"),
        }
    }
    // Invalid UTF-8 bytes: refused by the JSON reader, not a crash.
    let path = dir.path().join("raw.json");
    std::fs::write(
        &path,
        b"{\"data\": {\"posts\": [{\"id\": \"1\", \"html\": \"\xff\xfe\"}]}}",
    )
    .unwrap();
    let e = run(&app.state, &Options::new(path), Actor::OPERATOR)
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("not a Ghost export"), "{e:#}");
    assert_eq!(
        masthead_store::content::count_articles(db).await.unwrap(),
        before
    );

    // Ghost 4's shape, without the wrapper, and no images to be had.
    let doc: serde_json::Value = serde_json::from_str(&full).unwrap();
    let inner = &doc["db"][0];
    let path = dir.path().join("ghost4.json");
    std::fs::write(&path, inner.to_string()).unwrap();
    let report = run(&app.state, &Options::new(path), Actor::OPERATOR)
        .await
        .unwrap();
    assert_eq!(report.articles.created, 6, "{:?}", reasons(&report));
    // Without the old site's address nor leave to fetch from loopback,
    // images are removed and reported, never hot-linked.
    assert!(reasons(&report).iter().any(|w| w.contains("image removed")));
    let html = body(&app, "harbour-dredging-begins").await;
    assert!(
        !html.contains("<img") || html.contains("src=\"/media/"),
        "{html}"
    );
}

// The Import page takes a Ghost export with its members CSV: the source
// is read from the file, the dry run counts the readers, both files go
// when the run ends.
both!(administrators_import_ghost_from_the_newsroom);
async fn administrators_import_ghost_from_the_newsroom(backend: Backend) {
    let app = crate::wordpress::newsroom_app(backend).await;
    let db = app.state.db();
    let old = old_site().await;
    let export = std::fs::read(format!("{FIXTURE}/export.json")).unwrap();
    let members = std::fs::read(format!("{FIXTURE}/members.csv")).unwrap();
    let (admin, csrf) = crate::harness::staff_browser(&app, "administrator").await;
    // A members CSV with a WordPress export is refused, and kept nowhere.
    let res = admin
        .upload_files(
            "/admin/import",
            &[("csrf", &csrf)],
            &[
                ("file", "wp.xml", "text/xml", b"<rss></rss>"),
                ("members", "members.csv", "text/csv", &members),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(crate::wordpress::uploads_on_disk(&app), 0);
    let res = admin
        .upload_files(
            "/admin/import",
            &[("csrf", &csrf), ("old_url", &old.base)],
            &[
                ("file", "ghost-export.json", "application/json", &export),
                ("members", "members.csv", "text/csv", &members),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let run = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(crate::wordpress::uploads_on_disk(&app), 2);
    app.run_jobs().await;
    let mut admin = admin;
    let page = admin.page(&run).await;
    assert!(
        page.contains("<th scope=\"row\">Articles</th><td>6</td>"),
        "{page}"
    );
    assert!(page.contains("7 members to import"), "{page}");
    assert_eq!(admin.send_status(&format!("{run}/confirm"), &[]).await, 303);
    app.run_jobs().await;
    let page = admin.page(&run).await;
    assert!(page.contains("id=\"import-status\">Imported"), "{page}");
    assert!(page.contains("7 new, 0 already had an account"), "{page}");
    assert_eq!(
        crate::wordpress::uploads_on_disk(&app),
        0,
        "both files deleted"
    );
    assert!(app
        .get_text("/harbour-dredging-begins", 200)
        .await
        .contains("src=\"/media/"));
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE email_lower = 'reader@example.org'")
            .fetch_one(db.reader())
            .await
            .unwrap();
    assert_eq!(n, 1);
    // Stripe is not configured here: the report says so.
    assert!(page.contains("Stripe is not configured here"), "{page}");
}
