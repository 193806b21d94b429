//! Issue 15: the pages many readers share (home, sections, topics,
//! authors, feeds, sitemaps, robots.txt, static pages) come from the
//! render cache: one entry per path, page number and audience, whatever
//! else the query string says; a page kept for one audience never reaches
//! another; errors are not kept; a draft saved in the newsroom leaves the
//! cache alone, a published change and a scheduled article going live
//! show at once.

use crate::both;
use crate::harness::{member_session, staff_session, Browser, Fixture, TestApp};
use masthead_core::content::ArticleStatus;

/// Text of the demo's subscribers-only analysis, past its preview.
const PAST_PREVIEW: &str = "The biggest gains are in Northgate";

fn entries(app: &TestApp) -> usize {
    app.state.cache().usage().1
}

both!(shared_pages_are_kept_per_audience, Fixture::Demo);
async fn shared_pages_are_kept_per_audience(app: TestApp) {
    let (subscriber, _) = member_session(&app, "subscriber@example.org", true).await;
    let (member, _) = member_session(&app, "member@example.org", false).await;
    let staff = staff_session(&app, "editor@newsroom.example").await;
    // The subscriber asks first, so their feed is in the cache when the
    // others ask; each audience gets its own entry, kept for the next
    // reader of the same audience.
    let before = entries(&app);
    let full = Browser::with_cookie(&app, &subscriber)
        .page("/feeds/rss.xml")
        .await;
    assert!(
        full.contains(PAST_PREVIEW),
        "the subscriber's feed is whole"
    );
    for (who, cookie, whole) in [
        ("member", Some(member.as_str()), false),
        ("anonymous", None, false),
        ("staff", Some(staff.as_str()), true),
        ("subscriber again", Some(subscriber.as_str()), true),
        ("member again", Some(member.as_str()), false),
        ("anonymous again", None, false),
    ] {
        let body = match cookie {
            Some(c) => Browser::with_cookie(&app, c).page("/feeds/rss.xml").await,
            None => app.get_text("/feeds/rss.xml", 200).await,
        };
        assert_eq!(body.contains(PAST_PREVIEW), whole, "{who}");
        assert_eq!(
            body.contains("Continue reading on the site"),
            !whole,
            "{who}"
        );
    }
    assert_eq!(entries(&app) - before, 4, "four audiences, four entries");

    // The topic's feed too, and a page that is the same for everyone
    // keeps one entry for all of them.
    let topic = app.get_text("/topics/transit/rss.xml", 200).await;
    assert!(!topic.contains(PAST_PREVIEW));
    let before = entries(&app);
    let home = app.get_text("/", 200).await;
    let signed_in = Browser::with_cookie(&app, &subscriber).page("/").await;
    assert_eq!(home, signed_in);
    assert_eq!(entries(&app) - before, 1);
}

both!(
    any_other_query_string_finds_the_same_entry_and_errors_are_not_kept,
    Fixture::Demo
);
async fn any_other_query_string_finds_the_same_entry_and_errors_are_not_kept(app: TestApp) {
    let first = app.get("/topics/transit").await;
    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(first.headers()["cache-control"], "public, max-age=60");
    assert!(first.headers().get("set-cookie").is_none());
    let etag = first.headers()["etag"].clone();
    let kept = entries(&app);
    for path in [
        "/topics/transit?utm_source=newsletter",
        "/topics/transit?page=1&fbclid=abc",
        "/topics/transit?x=%FF",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status().as_u16(), 200, "{path}");
        assert_eq!(res.headers()["etag"], etag, "{path}");
    }
    for (path, status) in [
        ("/topics/no-such-topic", 404),
        ("/topics/transit?page=abc", 400),
        ("/topics/transit?page=900", 404),
        ("/authors/nobody-here", 404),
        ("/sections/not-a-kind", 404),
        ("/pages/no-such-page", 404),
        ("/sitemaps/articles-999.xml", 404),
    ] {
        assert_eq!(app.get(path).await.status().as_u16(), status, "{path}");
        assert_eq!(
            app.get(path).await.status().as_u16(),
            status,
            "{path} again"
        );
    }
    assert_eq!(
        entries(&app),
        kept,
        "no entry for a query string or an error"
    );
    // Every shared page type is kept.
    for path in [
        "/",
        "/sections/analysis",
        "/authors/callum-ashdown",
        "/topics",
        "/authors",
        "/pages/terms",
        "/feeds/atom.xml",
        "/topics/transit/atom.xml",
        "/sitemap.xml",
        "/sitemaps/pages.xml",
        "/sitemaps/articles-1.xml",
        "/news-sitemap.xml",
        "/robots.txt",
    ] {
        let before = entries(&app);
        let a = app.get(path).await;
        assert_eq!(a.status().as_u16(), 200, "{path}");
        let b = app.get(path).await;
        assert_eq!(a.headers()["etag"], b.headers()["etag"], "{path}");
        assert_eq!(entries(&app), before + 1, "{path} kept once");
    }
    // Search stays uncached.
    let before = entries(&app);
    app.get_text("/search?q=harbour", 200).await;
    assert_eq!(entries(&app), before);
}

both!(
    a_draft_leaves_reader_caches_alone_and_publishing_shows_at_once,
    Fixture::Demo
);
async fn a_draft_leaves_reader_caches_alone_and_publishing_shows_at_once(app: TestApp) {
    let db = app.state.db();
    let now = app.state.now();
    app.get_text("/", 200).await;
    let kept = entries(&app);
    let version = masthead_store::settings::counters(db)
        .await
        .unwrap()
        .content;
    let mut a = crate::jobs::scheduled("quiet-draft", now);
    a.status = ArticleStatus::Draft;
    a.headline = "A draft nobody reads yet".into();
    masthead_store::content::upsert_article(db, &a, now)
        .await
        .unwrap();
    a.blocks.push("<p>An autosave's worth more.</p>".into());
    masthead_store::content::upsert_article(db, &a, now)
        .await
        .unwrap();
    app.state.refresh_counters().await.unwrap();
    assert_eq!(
        masthead_store::settings::counters(db)
            .await
            .unwrap()
            .content,
        version,
        "drafts move no reader counter"
    );
    assert_eq!(entries(&app), kept, "the home page is still kept");
    assert!(!app
        .get_text("/", 200)
        .await
        .contains("A draft nobody reads yet"));
    // Published: the home page changes with the next request.
    a.status = ArticleStatus::Published;
    masthead_store::content::upsert_article(db, &a, now)
        .await
        .unwrap();
    app.state.refresh_counters().await.unwrap();
    assert!(app
        .get_text("/", 200)
        .await
        .contains("A draft nobody reads yet"));
    // And unpublishing it takes it off again.
    a.status = ArticleStatus::Draft;
    masthead_store::content::upsert_article(db, &a, now)
        .await
        .unwrap();
    app.state.refresh_counters().await.unwrap();
    assert!(!app
        .get_text("/", 200)
        .await
        .contains("A draft nobody reads yet"));
}

both!(
    a_scheduled_article_appears_everywhere_at_its_time,
    Fixture::Demo
);
async fn a_scheduled_article_appears_everywhere_at_its_time(app: TestApp) {
    let db = app.state.db();
    let now = app.state.now();
    let transit = masthead_store::content::find_topic(db, "transit")
        .await
        .unwrap()
        .unwrap();
    let mut a = crate::jobs::scheduled("night-buses-return", now + 600);
    a.headline = "Night buses return to the harbour routes".into();
    a.topic_ids = vec![transit.id];
    masthead_store::content::upsert_article(db, &a, now)
        .await
        .unwrap();
    app.state.refresh_counters().await.unwrap();
    let pages = [
        "/",
        "/topics/transit",
        "/feeds/rss.xml",
        "/feeds/atom.xml",
        "/topics/transit/rss.xml",
        "/sitemaps/articles-1.xml",
    ];
    for p in pages {
        let body = app.get_text(p, 200).await;
        assert!(!body.contains("night-buses-return"), "{p} before its time");
    }
    assert_eq!(app.run_jobs().await, 0, "not due yet");
    app.state.clock().advance(600);
    assert_eq!(app.run_jobs().await, 1);
    for p in pages {
        let body = app.get_text(p, 200).await;
        assert!(body.contains("night-buses-return"), "{p} at its time");
    }
}

// The home page's lists in one go (`list_home`) are exactly what one
// listing per section would give, authors included when an article is in
// two of the lists; a feed's bodies in one query (`find_bodies`) are each
// cut by their own decision.
both!(
    the_home_page_lists_match_one_listing_per_section,
    Fixture::Demo
);
async fn the_home_page_lists_match_one_listing_per_section(app: TestApp) {
    use masthead_core::content::ContentType;
    use masthead_store::content::{self as store, Listing};
    let db = app.state.db();
    let now = app.state.now();
    let front = store::list_home(db, now, 0, 20, 4).await.unwrap();
    let ids = |v: &[masthead_core::content::ArticleSummary]| {
        v.iter()
            .map(|a| (a.id, a.authors.len()))
            .collect::<Vec<_>>()
    };
    let mut expected = Vec::new();
    for t in ContentType::ALL {
        let (items, _) = store::list_articles(db, Listing::ContentType(*t), now, 0, 4)
            .await
            .unwrap();
        if !items.is_empty() {
            expected.push((*t, ids(&items)));
        }
    }
    let got: Vec<_> = front.sections.iter().map(|(t, v)| (*t, ids(v))).collect();
    assert_eq!(got, expected);
    let (latest, more) = store::list_articles(db, Listing::All, now, 0, 20)
        .await
        .unwrap();
    assert_eq!((ids(&front.items), front.more), (ids(&latest), more));
    assert!(front.items.iter().all(|a| !a.authors.is_empty()));
    let second = store::list_home(db, now, 20, 20, 4).await.unwrap();
    assert!(second.sections.is_empty() && second.pinned.is_empty());

    let decisions = [
        masthead_core::Decision::Full,
        masthead_core::Decision::Preview { blocks: 1 },
        masthead_core::Decision::Preview { blocks: 0 },
    ];
    let asked: Vec<_> = latest
        .iter()
        .take(3)
        .zip(decisions)
        .map(|(a, d)| (a.facts(), d))
        .collect();
    let bodies = store::find_bodies(db, &asked).await.unwrap();
    for ((facts, d), body) in asked.iter().zip(&bodies) {
        let one = store::find_body(db, facts, *d).await.unwrap();
        assert_eq!(one.blocks, body.blocks);
    }
    assert_eq!(bodies[1].blocks.len(), 1);
    assert!(bodies[2].blocks.is_empty());
}
