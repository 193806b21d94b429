//! The reader site, read as a reader would: pages, feeds, sitemaps.

use crate::both;
use crate::harness::{Fixture, TestApp};

/// A published demo article with a lead image, dateline, authors, topics.
const ARTICLE: &str = "/council-approves-harbour-seawall-plan";

both!(
    article_page_is_laid_out_as_the_product_describes,
    Fixture::Demo
);
async fn article_page_is_laid_out_as_the_product_describes(app: TestApp) {
    let html = app.get_text(ARTICLE, 200).await;
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("missing {needle:?}"))
    };
    // Top to bottom: skip link, headline, standfirst, figure, dateline, byline, times, body, topics.
    let skip = at("class=\"skip-link\" href=\"#main\"");
    let h1 = at("<h1 class=\"headline\">");
    let standfirst = at("class=\"standfirst\"");
    let figure = at("<figure class=\"lead-image\">");
    let byline = at("class=\"byline\"");
    let dateline = at("class=\"dateline\"");
    let topics = at("Related topics");
    assert!(
        skip < h1
            && h1 < standfirst
            && standfirst < figure
            && figure < byline
            && byline < dateline
            && dateline < topics
    );
    assert!(html.contains("srcset=\"/media/"), "responsive image");
    assert!(html.contains("<figcaption>"), "caption");
    assert!(html.contains("class=\"credit\">— "), "credit line");
    assert!(html.contains("<time datetime=\""), "machine-readable time");
    assert!(
        html.contains("rel=\"author\""),
        "byline links the author page"
    );
    assert!(html.contains("href=\"/topics/"), "topics link their pages");
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains(&format!(
        "<link rel=\"canonical\" href=\"{}{ARTICLE}\">",
        app.base
    )));
    assert!(
        html.contains("property=\"og:image\" content=\"http://"),
        "absolute og:image"
    );
    // Alt text differs from the caption.
    let alt = html
        .split("alt=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_string();
    let caption = html
        .split("<figcaption>")
        .nth(1)
        .and_then(|s| s.split(" <span").next())
        .unwrap_or_default()
        .to_string();
    assert!(
        !alt.is_empty() && alt != caption,
        "alt {alt:?} vs caption {caption:?}"
    );
}

both!(article_json_ld_describes_a_news_article, Fixture::Demo);
async fn article_json_ld_describes_a_news_article(app: TestApp) {
    let html = app.get_text(ARTICLE, 200).await;
    let json = html
        .split("<script type=\"application/ld+json\">")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .unwrap_or_else(|| panic!("no JSON-LD"));
    let ld: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(ld["@type"], "NewsArticle");
    assert_eq!(ld["publisher"]["name"], "The Harbour Ledger");
    assert!(ld["headline"].as_str().is_some_and(|h| !h.is_empty()));
    assert!(ld["datePublished"].as_str().is_some());
    assert!(ld["image"][0]
        .as_str()
        .is_some_and(|u| u.starts_with(&app.base)));
    assert!(ld["isAccessibleForFree"].is_boolean());
}

both!(home_lists_latest_and_each_section, Fixture::Demo);
async fn home_lists_latest_and_each_section(app: TestApp) {
    let html = app.get_text("/", 200).await;
    for section in ["News", "Analysis", "Memos", "Reports", "Events"] {
        assert!(
            html.contains(&format!(">{section}</a></h2>")),
            "section {section}"
        );
    }
    assert!(!html.contains("generated-"), "no stray content");
    // Drafts and scheduled articles are not listed anywhere.
    for path in [
        "/",
        "/sections/news",
        "/feeds/rss.xml",
        "/sitemaps/articles-1.xml",
        "/search?q=draft",
    ] {
        let body = app.get_text(path, 200).await;
        assert!(!body.contains("budget-draft-not-for-publication"), "{path}");
    }
}

both!(
    topic_author_and_section_pages_list_their_articles,
    Fixture::Demo
);
async fn topic_author_and_section_pages_list_their_articles(app: TestApp) {
    let topics = app.get_text("/topics", 200).await;
    let first_topic = topics
        .split("href=\"/topics/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_string();
    let topic = app.get_text(&format!("/topics/{first_topic}"), 200).await;
    assert!(topic.contains("class=\"card"), "topic page lists articles");
    assert!(topic.contains(&format!("/topics/{first_topic}/rss.xml")));
    let authors = app.get_text("/authors", 200).await;
    let first_author = authors
        .split("href=\"/authors/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_string();
    let author = app.get_text(&format!("/authors/{first_author}"), 200).await;
    assert!(author.contains("class=\"avatar\""), "author portrait");
    assert!(author.contains("class=\"card"));
    for t in ["news", "analysis", "memo", "report", "event"] {
        let page = app.get_text(&format!("/sections/{t}"), 200).await;
        assert!(page.contains("class=\"card"), "section {t}");
    }
    app.get_text("/sections/opinion", 404).await;
    app.get_text("/topics/no-such-topic", 404).await;
    app.get_text("/authors/no-such-author", 404).await;
}

both!(
    search_finds_articles_and_shows_only_headline_and_standfirst,
    Fixture::Demo
);
async fn search_finds_articles_and_shows_only_headline_and_standfirst(app: TestApp) {
    let html = app.get_text("/search?q=seawall", 200).await;
    assert!(
        html.contains("href=\"/council-approves-harbour-seawall-plan\""),
        "found by a word"
    );
    assert!(
        !html.contains("class=\"dateline\""),
        "no body text in results"
    );
    let none = app.get_text("/search?q=zzzyxw", 200).await;
    assert!(none.contains("No articles match"));
    // Operators and quotes are plain words, never a query error.
    app.get_text("/search?q=%22seawall%20OR%20headline%3A*", 200)
        .await;
    app.get_text("/search?q=", 200).await;
}

both!(pages_have_numbered_versions, Fixture::Demo);
async fn pages_have_numbered_versions(app: TestApp) {
    for p in ["terms", "privacy", "about"] {
        let html = app.get_text(&format!("/pages/{p}"), 200).await;
        assert!(html.contains("Version 1"), "{p}");
    }
}

both!(feeds_are_well_formed_and_absolute, Fixture::Demo);
async fn feeds_are_well_formed_and_absolute(app: TestApp) {
    let rss = app.get_text("/feeds/rss.xml", 200).await;
    assert!(rss.starts_with("<?xml"));
    assert!(rss.contains("<rss version=\"2.0\""));
    assert!(rss.contains(&format!("<link>{}/", app.base)));
    assert!(rss.matches("<item>").count() == 20);
    let atom = app.get_text("/feeds/atom.xml", 200).await;
    assert!(atom.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\""));
    assert!(atom.matches("<entry>").count() == 20);
    let res = app.get("/feeds/rss.xml").await;
    assert_eq!(
        res.headers()["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let topic = app.get_text("/topics/housing/rss.xml", 200).await;
    assert!(topic.contains("<item>"));
    let moved = app.get("/rss").await;
    assert_eq!(moved.status().as_u16(), 308);
}

both!(sitemaps_list_every_visible_article, Fixture::Demo);
async fn sitemaps_list_every_visible_article(app: TestApp) {
    let index = app.get_text("/sitemap.xml", 200).await;
    assert!(index.contains(&format!("<loc>{}/sitemaps/articles-1.xml</loc>", app.base)));
    let part = app.get_text("/sitemaps/articles-1.xml", 200).await;
    let visible =
        masthead_store::content::count_visible(app.state.db(), jiff::Timestamp::now().as_second())
            .await
            .unwrap_or_default();
    assert_eq!(part.matches("<url>").count() as i64, visible);
    assert!(
        visible >= 30,
        "the demo has at least 30 published articles, got {visible}"
    );
    let news = app.get_text("/news-sitemap.xml", 200).await;
    assert!(news.contains("<news:name>The Harbour Ledger</news:name>"));
    assert!(news.contains("<news:language>en</news:language>"));
    app.get_text("/sitemaps/articles-99.xml", 404).await;
    app.get_text("/sitemaps/nonsense.xml", 404).await;
    let robots = app.get_text("/robots.txt", 200).await;
    assert!(robots.contains(&format!("Sitemap: {}/sitemap.xml", app.base)));
}

both!(pagination_is_bounded_and_clear, Fixture::Demo);
async fn pagination_is_bounded_and_clear(app: TestApp) {
    app.get_text("/?page=2", 200).await;
    for bad in [
        "/?page=0",
        "/?page=1000000000000000000000000000000",
        "/sections/news?page=-3",
        "/search?q=x&page=abc",
    ] {
        let html = app.get_text(bad, 400).await;
        assert!(html.contains("page number must be"), "{bad}");
        assert!(html.contains("class=\"site-header\""), "themed: {bad}");
    }
    app.get_text("/?page=9999", 404).await;
}

both!(bad_paths_get_themed_client_errors, Fixture::Demo);
async fn bad_paths_get_themed_client_errors(app: TestApp) {
    for path in [
        "/no-such-article",
        "/Has-Capitals",
        "/a/b/c",
        "/media/..%2F..%2Fetc%2Fpasswd",
        "/%FF%FE",
        "/search/../../etc/passwd",
        "/logout",
        "/account/export",
        "/media/0123456789abcdef0123456789abcdef-480.jpg",
    ] {
        let res = app.get(path).await;
        let status = res.status().as_u16();
        let body = res.text().await.unwrap_or_default();
        assert!((400..500).contains(&status), "{path} answered {status}");
        assert!(body.contains("class=\"site-header\""), "{path} is themed");
    }
    let long_query = format!("/search?q={}", "a".repeat(50_000));
    let html = app.get_text(&long_query, 400).await;
    assert!(html.contains("too long"));
    // 100 KB cannot even be expressed as a URI by HTTP client libraries:
    // send it raw. hyper answers before the app (414, unthemed).
    let status = raw_status(
        &app,
        &format!(
            "GET /search?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "a".repeat(100 * 1024)
        ),
    )
    .await;
    assert!(
        (400..500).contains(&status),
        "100 KB query answered {status}"
    );
    let status = raw_status(
        &app,
        "GET /\u{ff}\u{fe} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        (400..500).contains(&status),
        "raw invalid UTF-8 answered {status}"
    );
}

/// Sends raw bytes over TCP and returns the status code of the answer.
async fn raw_status(app: &TestApp, request: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes: Vec<u8> = request.chars().map(|c| c as u32 as u8).collect();
    let _ = s.write_all(&bytes).await;
    let mut buf = vec![0u8; 64];
    let n = s.read(&mut buf).await.unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    head.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"))
}

both!(a_changed_slug_redirects_permanently, Fixture::Demo);
async fn a_changed_slug_redirects_permanently(app: TestApp) {
    let db = app.state.db();
    let article = masthead_store::content::find_article(
        db,
        "council-approves-harbour-seawall-plan",
        jiff::Timestamp::now().as_second(),
    )
    .await
    .ok()
    .flatten()
    .unwrap_or_else(|| panic!("demo article missing"));
    let new = masthead_core::Slug::parse_article("seawall-plan-approved")
        .unwrap_or_else(|e| panic!("{e}"));
    masthead_store::content::update_article_slug(
        db,
        article.id,
        &new,
        jiff::Timestamp::now().as_second(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    app.state
        .refresh_counters()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let res = app.get(ARTICLE).await;
    assert_eq!(res.status().as_u16(), 308);
    assert_eq!(res.headers()["location"], "/seawall-plan-approved");
    app.get_text("/seawall-plan-approved", 200).await;
}

both!(media_is_served_immutable_with_its_real_type, Fixture::Demo);
async fn media_is_served_immutable_with_its_real_type(app: TestApp) {
    let html = app.get_text(ARTICLE, 200).await;
    let src = html
        .split("<img src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_string();
    let res = app.get(&src).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let ct = res.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    let bytes = res.bytes().await.unwrap_or_default();
    match ct.as_str() {
        "image/jpeg" => assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF])),
        "image/png" => assert!(bytes.starts_with(b"\x89PNG")),
        other => panic!("unexpected type {other}"),
    }
}

both!(
    search_pages_through_common_words_newest_first,
    Fixture::Empty
);
async fn search_pages_through_common_words_newest_first(app: TestApp) {
    // Enough articles that a common word takes the index-walk path.
    masthead::content::generate::generate(app.state.db(), 400, &Default::default())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    app.state
        .refresh_counters()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let first = app.get_text("/search?q=city", 200).await;
    let slugs: Vec<u32> = first
        .split("href=\"/generated-article-")
        .skip(1)
        .filter_map(|s| s.split('"').next()?.parse().ok())
        .collect();
    assert_eq!(slugs.len(), 20, "a full page of results");
    assert!(
        slugs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {slugs:?}"
    );
    assert!(
        first.contains("href=\"/search?q=city&amp;page=2\""),
        "an older page exists"
    );
    let second = app.get_text("/search?q=city&page=2", 200).await;
    let next: u32 = second
        .split("href=\"/generated-article-")
        .nth(1)
        .and_then(|s| s.split('"').next()?.parse().ok())
        .unwrap_or(0);
    assert!(
        next < *slugs.last().unwrap_or(&0),
        "page 2 continues where page 1 ended"
    );
    let none = app.get_text("/search?q=quetzalcoatl", 200).await;
    assert!(none.contains("No articles match"));
}

both!(
    the_demo_has_two_dollar_plans_and_ten_newsletters,
    Fixture::Demo
);
async fn the_demo_has_two_dollar_plans_and_ten_newsletters(app: TestApp) {
    let plans = masthead_store::offers::list_active_plans(app.state.db())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let offer: Vec<_> = plans.iter().map(|p| (p.price, p.interval)).collect();
    assert_eq!(
        masthead_core::billing::offer_line(&offer),
        "$14 monthly or $100 annually ($8.33/month)"
    );
    assert!(plans.iter().all(|p| !p.includes.is_empty()));
    let newsletters = masthead_store::offers::list_newsletters(app.state.db())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(newsletters.len(), 10);
    assert!(newsletters.iter().any(|n| n.audience == "subscribers"));
    assert!(newsletters.iter().all(|n| !n.description.is_empty()));
}

both!(a_plan_price_never_changes_in_place, Fixture::Empty);
async fn a_plan_price_never_changes_in_place(app: TestApp) {
    let usd = masthead_core::billing::Currency::parse("USD").unwrap_or_else(|e| panic!("{e}"));
    let plan = |amount| masthead_store::offers::NewPlan {
        slug: "monthly",
        name: "Monthly",
        interval: masthead_core::billing::Interval::Month,
        price: masthead_core::billing::Money::new(amount, usd).unwrap_or_else(|e| panic!("{e}")),
        trial_days: None,
        includes: &[],
        position: 1,
    };
    masthead_store::offers::upsert_plan(app.state.db(), &plan(1400), None, 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    masthead_store::offers::upsert_plan(app.state.db(), &plan(1400), None, 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = masthead_store::offers::upsert_plan(app.state.db(), &plan(1500), None, 3).await;
    assert!(
        matches!(err, Err(masthead_store::StoreError::Conflict(_))),
        "{err:?}"
    );
    let plans = masthead_store::offers::list_active_plans(app.state.db())
        .await
        .unwrap_or_default();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].price.minor(), 1400);
}
