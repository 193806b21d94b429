//! The leak suite: text that a reader may not see never leaves the server,
//! on any route that can carry article text.
//!
//! Routes come from `app::routes()`, the same table the router is built
//! from; each declares whether it can carry article text, so a new route
//! cannot escape the suite. Sentinels (ASCII letters and digits) are
//! planted in a draft, a scheduled article and past the preview of a
//! published one; every text route is requested with GET, HEAD and
//! If-None-Match, with and without gzip and brotli; bodies are decoded and
//! unescaped before searching.
//!
//! Readers: a fresh anonymous reader, anonymous within and past the meter,
//! a member within and past the member meter, a subscriber and staff.
//! Sentinels sit past the preview of a metered, a registered and a
//! subscriber-only article, and in a draft and a scheduled one; each must
//! appear exactly where that reader is entitled to it.

use crate::both;
use crate::harness::{self, Fixture, TestApp};
use masthead::http::Carries;
use masthead_core::content::{AccessLevel, ArticleStatus, ContentType, Slug};
use masthead_store::content::NewArticle;
use std::io::Read;

const DRAFT: &str = "SentinelDraft7Q2";
const SCHEDULED: &str = "SentinelScheduled5K9";
const GATED: &str = "SentinelGated3X8";
const GATED_R: &str = "SentinelRegistered6T1";
const GATED_S: &str = "SentinelSubscribers4W7";
/// Articles of awkward shapes, written in Markdown and split by the real
/// pipeline (`content::markdown::split_body`): (slug, level, body with
/// `{S}` where the sentinel goes, sentinel). A one-block and a two-block
/// article (nobody who is not entitled gets any of their body), and
/// paywall dividers that a paragraph, a list, an HTML block or CRLF line
/// ends run across, or that open the body.
const SHAPED: [(&str, AccessLevel, &str, &str); 7] = [
    (
        "planted-one-block",
        AccessLevel::Subscribers,
        "A one-block memo: {S} is all of it.",
        "SentinelOneBlock2M5",
    ),
    (
        "planted-two-blocks",
        AccessLevel::Metered,
        "First paragraph {S}.\n\nSecond paragraph {S}.",
        "SentinelTwoBlocks8R3",
    ),
    (
        "planted-divider-paragraph",
        AccessLevel::Subscribers,
        "Intro one.\n\nIntro two.\n\nIntro three.\n<!-- paywall -->\n{S} continues here.\n\n{F}",
        "SentinelDividerPara5H1",
    ),
    (
        "planted-divider-list",
        AccessLevel::Subscribers,
        "Intro one.\n\n- point one\n<!-- paywall -->\n- {S} point two\n\n{F}",
        "SentinelDividerList9C4",
    ),
    (
        "planted-divider-html",
        AccessLevel::Subscribers,
        "<p>Intro one.</p>\n<p>Intro two\n<!-- paywall -->\n{S} more</p>\n\n{F}",
        "SentinelDividerHtml3J6",
    ),
    (
        "planted-divider-crlf",
        AccessLevel::Subscribers,
        "Intro one.\r\n\r\nIntro two.\r\n<!-- paywall -->\r\n{S} after.\r\n\r\n{F}",
        "SentinelDividerCrlf7P2",
    ),
    (
        "planted-divider-first",
        AccessLevel::Subscribers,
        "<!-- paywall -->\n{S} first.\n\n{F}",
        "SentinelDividerFirst4N8",
    ),
];

const SENTINELS: [&str; 12] = [
    DRAFT,
    SCHEDULED,
    GATED,
    GATED_R,
    GATED_S,
    SHAPED[0].3,
    SHAPED[1].3,
    SHAPED[2].3,
    SHAPED[3].3,
    SHAPED[4].3,
    SHAPED[5].3,
    SHAPED[6].3,
];

/// A published article of `SHAPED`, through the Markdown pipeline.
fn shaped(i: usize, topic: i64, author: i64, now: i64) -> NewArticle {
    let (slug, level, body, sentinel) = SHAPED[i];
    let filler: String = (0..6)
        .map(|n| format!("Filler paragraph {n}.\n\n"))
        .collect();
    let markdown = body.replace("{S}", sentinel).replace("{F}", &filler);
    let split =
        masthead::content::markdown::split_body(&markdown).unwrap_or_else(|e| panic!("{e}"));
    let mut a = planted(
        slug,
        level,
        ArticleStatus::Published,
        Some(now - 60),
        sentinel,
        topic,
        author,
    );
    a.preview_blocks = split.preview;
    a.search = search_of(&split.blocks, level, split.preview);
    a.blocks = split.blocks;
    a.body_markdown = Some(markdown);
    a
}

/// The search text as the newsroom would index it (the fixture keeps the
/// default policy).
fn search_of(
    blocks: &[String],
    level: AccessLevel,
    preview: Option<u32>,
) -> masthead_store::content::SearchText {
    let policy = masthead_core::access::Policy::default();
    masthead::content::search::search_text(blocks, level, ContentType::News, preview, &policy)
}

fn planted(
    slug: &str,
    level: AccessLevel,
    status: ArticleStatus,
    at: Option<i64>,
    sentinel: &str,
    topic: i64,
    author: i64,
) -> NewArticle {
    let mut blocks: Vec<String> = (0..9)
        .map(|i| format!("<p>Paragraph {i} of {slug}.</p>"))
        .collect();
    blocks[7] = format!("<p>Only for the entitled: {sentinel}.</p>");
    // A published article's headline and standfirst are public; an
    // unpublished one's are not.
    let public = status == ArticleStatus::Published;
    let mark = if public { "Public" } else { sentinel };
    NewArticle {
        slug: Slug::parse_article(slug).unwrap(),
        headline: format!("Headline {mark}Head"),
        standfirst: format!("Standfirst {mark}Stand"),
        dateline: "PORT ALDER".into(),
        content_type: ContentType::News,
        access_level: level,
        preview_blocks: None,
        status,
        published_at: at,
        updated_at: None,
        body_markdown: None,
        search: search_of(&blocks, level, None),
        blocks,
        lead: None,
        author_ids: vec![author],
        topic_ids: vec![topic],
        previous_slugs: vec![],
        source_hash: None,
    }
}

/// Concrete paths for a route pattern.
fn expand(pattern: &str) -> Vec<String> {
    let slugs = [
        "planted-draft",
        "planted-scheduled",
        "planted-published",
        "planted-registered",
        "planted-subscribers",
        "council-approves-harbour-seawall-plan",
    ];
    match pattern {
        "/{slug}" => slugs
            .iter()
            .copied()
            .chain(SHAPED.iter().map(|s| s.0))
            .map(|s| format!("/{s}"))
            .collect(),
        "/topics/{slug}" | "/topics/{slug}/rss.xml" | "/topics/{slug}/atom.xml" => {
            vec![pattern.replace("{slug}", "housing")]
        }
        "/authors/{slug}" => vec!["/authors/mara-oyelaran".into()],
        "/sections/{kind}" => ContentType::ALL
            .iter()
            .map(|t| format!("/sections/{}", t.as_str()))
            .collect(),
        "/pages/{slug}" => vec!["/pages/terms".into(), "/pages/about".into()],
        "/sitemaps/{part}" => vec!["/sitemaps/articles-1.xml".into()],
        "/newsletters/{slug}/{send}" => (1..=PLANTED.len())
            .map(|i| format!("/newsletters/morning-ledger/{i}"))
            .collect(),
        "/search" => SENTINELS
            .iter()
            .copied()
            .chain(["Headline", "Paragraph", "planted", "Filler", "Intro"])
            .map(|q| format!("/search?q={q}"))
            .collect(),
        "/" => vec!["/".into(), "/?page=2".into()],
        other => vec![other.to_string()],
    }
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("\\u003c", "<")
        .replace("\\u003e", ">")
        .replace("\\u0026", "&")
}

fn decode(encoding: Option<&str>, bytes: &[u8]) -> String {
    let mut out = Vec::new();
    match encoding {
        Some("gzip") => {
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(bytes, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        _ => out = bytes.to_vec(),
    }
    unescape(&String::from_utf8_lossy(&out))
}

/// One GET; returns its ETag and its decoded body.
async fn get(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    encoding: Option<&str>,
    if_none_match: Option<&str>,
) -> (Option<String>, String) {
    // Asked as another site's script would: a route that can carry text
    // never lets that script read the answer (`http::RouteInfo::cors`).
    let mut req = client
        .get(url)
        .header("origin", "https://elsewhere.example");
    if !cookie.is_empty() {
        req = req.header("cookie", cookie);
    }
    if let Some(e) = encoding {
        req = req.header("accept-encoding", e);
    }
    if let Some(tag) = if_none_match {
        req = req.header("if-none-match", tag);
    }
    let res = req.send().await.unwrap();
    // The Content API alone answers CORS: it reads no cookie, so another
    // site's script gets what any anonymous reader gets.
    assert!(
        url.contains("/ghost/api/") || res.headers().get("access-control-allow-origin").is_none(),
        "{url} lets other sites read it"
    );
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let (etag, enc) = (header("etag"), header("content-encoding"));
    let body = res.bytes().await.unwrap();
    (etag, decode(enc.as_deref(), &body))
}

/// Every variant of a request to `path`; returns (what was asked, decoded body).
async fn fetch_all(
    base: &str,
    client: &reqwest::Client,
    cookie: &str,
    path: &str,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let url = format!("{base}{path}");
    for encoding in [None, Some("gzip"), Some("br"), Some("gzip, br")] {
        let (etag, body) = get(client, &url, cookie, encoding, None).await;
        out.push((format!("GET {path} {encoding:?}"), body));
        if let Some(tag) = etag {
            let (_, body) = get(client, &url, cookie, encoding, Some(&tag)).await;
            out.push((format!("GET {path} {encoding:?} if-none-match"), body));
        }
    }
    let mut head = client.head(&url);
    if !cookie.is_empty() {
        head = head.header("cookie", cookie);
    }
    let head = head.send().await.unwrap();
    let headers = format!("{:?}", head.headers());
    let body = head.bytes().await.unwrap();
    out.push((
        format!("HEAD {path}"),
        format!("{headers}{}", decode(None, &body)),
    ));
    out
}

/// Where a sentinel was found that should not have been.
fn leaks(responses: &[(String, String)], allowed: impl Fn(&str, &str) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    for (asked, body) in responses {
        // The search page shows the reader's own query back to them: that
        // echo is not a leak, a result carrying the word would be.
        let mut body = body.clone();
        if let Some(q) = asked
            .split("/search?q=")
            .nth(1)
            .and_then(|r| r.split(' ').next())
        {
            for echo in [
                format!("value=\"{q}\""),
                format!("Search: {q}"),
                format!("“{q}”"),
            ] {
                body = body.replace(&echo, "");
            }
        }
        for sentinel in SENTINELS {
            if body.contains(sentinel) && !allowed(asked, sentinel) {
                found.push(format!("{sentinel} in {asked}"));
            }
        }
    }
    found
}

async fn plant(app: &TestApp) {
    let db = app.state.db();
    let now = jiff::Timestamp::now().as_second();
    let topic = masthead_store::content::find_topic_id(db, "housing")
        .await
        .unwrap()
        .unwrap();
    let author = masthead_store::content::find_author_id(db, "mara-oyelaran")
        .await
        .unwrap()
        .unwrap();
    for a in [
        planted(
            "planted-draft",
            AccessLevel::Metered,
            ArticleStatus::Draft,
            None,
            DRAFT,
            topic,
            author,
        ),
        planted(
            "planted-scheduled",
            AccessLevel::Metered,
            ArticleStatus::Scheduled,
            Some(now + 86_400),
            SCHEDULED,
            topic,
            author,
        ),
        planted(
            "planted-published",
            AccessLevel::Metered,
            ArticleStatus::Published,
            Some(now - 60),
            GATED,
            topic,
            author,
        ),
        planted(
            "planted-registered",
            AccessLevel::Registered,
            ArticleStatus::Published,
            Some(now - 60),
            GATED_R,
            topic,
            author,
        ),
        planted(
            "planted-subscribers",
            AccessLevel::Subscribers,
            ArticleStatus::Published,
            Some(now - 60),
            GATED_S,
            topic,
            author,
        ),
    ]
    .into_iter()
    .chain((0..SHAPED.len()).map(|i| shaped(i, topic, author, now)))
    {
        masthead_store::content::upsert_article(db, &a, now)
            .await
            .unwrap();
    }
    // A newsletter send of each, started (as if mailed): their web
    // versions are text routes too (`/newsletters/morning-ledger/1` to `5`).
    let newsletter = masthead_store::newsletters::find_by_slug(db, "morning-ledger")
        .await
        .unwrap()
        .unwrap();
    for slug in PLANTED {
        let article = masthead_store::content::find_article_any(db, slug)
            .await
            .unwrap()
            .unwrap();
        let send = masthead_store::newsletters::create_send(
            db,
            &masthead_store::newsletters::NewSend {
                newsletter_id: newsletter.id,
                article_id: Some(article.id),
                digest_days: None,
                subject: "Planted",
                run_at: now,
                created_by: "leak suite",
            },
            None,
            now,
        )
        .await
        .unwrap();
        masthead_store::newsletters::start_send(db, send, true, now)
            .await
            .unwrap();
    }
    app.state.refresh_counters().await.unwrap();
}

const PLANTED: [&str; 5] = [
    "planted-draft",
    "planted-scheduled",
    "planted-published",
    "planted-registered",
    "planted-subscribers",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Fresh,
    AnonWithin,
    AnonPast,
    MemberWithin,
    MemberPast,
    Subscriber,
    Staff,
}

/// The level of the published article a sentinel sits in (none for the
/// draft and the scheduled one).
fn level_of(sentinel: &str) -> Option<AccessLevel> {
    match sentinel {
        GATED => Some(AccessLevel::Metered),
        GATED_R => Some(AccessLevel::Registered),
        GATED_S => Some(AccessLevel::Subscribers),
        other => SHAPED.iter().find(|s| s.3 == other).map(|s| s.1),
    }
}

/// Where `who` may see `sentinel`: on the article's own page, or on any
/// text route (feeds and the rest never spend a meter).
fn entitled(who: Who, sentinel: &str, on_its_page: bool) -> bool {
    use Who::*;
    match level_of(sentinel) {
        Some(AccessLevel::Metered) if on_its_page => {
            matches!(who, Fresh | AnonWithin | MemberWithin | Subscriber | Staff)
        }
        Some(AccessLevel::Registered) => {
            matches!(who, MemberWithin | MemberPast | Subscriber | Staff)
        }
        Some(_) => matches!(who, Subscriber | Staff),
        None => false, // drafts and scheduled articles: nobody, on any reader route
    }
}

fn page_of(sentinel: &str) -> String {
    let slug = match sentinel {
        GATED => "planted-published",
        GATED_R => "planted-registered",
        GATED_S => "planted-subscribers",
        other => SHAPED
            .iter()
            .find(|s| s.3 == other)
            .map_or("planted-nothing", |s| s.0),
    };
    format!(" /{slug} ")
}

async fn cookie_for(app: &TestApp, who: Who) -> String {
    let db = app.state.db();
    let demo = [
        "council-approves-harbour-seawall-plan",
        "bus-network-redesign-approved",
        "falling-enrolment-smallest-schools",
        "ferry-reliability-report",
        "island-ferry-fares-rise-january",
    ];
    let mut ids = Vec::new();
    for slug in demo {
        ids.push(harness::article_id(app, slug).await);
    }
    match who {
        Who::Fresh => String::new(),
        Who::AnonWithin => harness::meter_cookie(app, &ids[..1]),
        Who::AnonPast => harness::meter_cookie(app, &ids[..2]),
        Who::MemberWithin => {
            harness::member_session(app, "within@example.org", false)
                .await
                .0
        }
        Who::MemberPast => {
            let (cookie, id) = harness::member_session(app, "past@example.org", false).await;
            let now = jiff::Timestamp::now().as_second();
            for a in &ids {
                masthead_store::members::spend_view(
                    db,
                    &format!("m{id}"),
                    *a,
                    now,
                    now - 86_400,
                    u32::MAX,
                )
                .await
                .unwrap();
            }
            cookie
        }
        Who::Subscriber => {
            harness::member_session(app, "paid@example.org", true)
                .await
                .0
        }
        Who::Staff => harness::staff_session(app, "desk@example.org").await,
    }
}

both!(
    gated_text_reaches_only_entitled_readers_on_every_route,
    Fixture::Demo
);
async fn gated_text_reaches_only_entitled_readers_on_every_route(app: TestApp) {
    plant(&app).await;
    let mut text_routes = 0;
    let mut paths = Vec::new();
    for route in masthead::app::routes() {
        let (pattern, carries) = (route.path, route.carries());
        if carries != Carries::Text {
            continue;
        }
        text_routes += 1;
        paths.extend(expand(pattern));
    }
    assert!(
        text_routes >= 15,
        "every text route is covered ({text_routes})"
    );
    // The entitled first: every page they were shown is in the render
    // cache when the others ask (a page kept for one audience must never
    // reach another).
    for who in [
        Who::Subscriber,
        Who::Staff,
        Who::Fresh,
        Who::AnonWithin,
        Who::AnonPast,
        Who::MemberWithin,
        Who::MemberPast,
    ] {
        let cookie = cookie_for(&app, who).await;
        let mut responses = Vec::new();
        for path in &paths {
            // Every variant of every path answers (searches are limited
            // per address; this suite is one address asking thousands).
            app.state.limiter().clear();
            responses.extend(fetch_all(&app.base, &app.client, &cookie, path).await);
        }
        let allowed = |asked: &str, sentinel: &str| {
            let own_page = asked.contains(&page_of(sentinel));
            entitled(who, sentinel, own_page)
        };
        let found = leaks(&responses, allowed);
        assert!(found.is_empty(), "{who:?} leaks:\n{}", found.join("\n"));
        // And the suite looked where it should: each sentinel the reader is
        // entitled to is on its page.
        for sentinel in SENTINELS.into_iter().filter(|s| level_of(s).is_some()) {
            let shown = responses.iter().any(|(a, b)| {
                a.starts_with(&format!("GET{}None", page_of(sentinel))) && b.contains(sentinel)
            });
            assert_eq!(
                shown,
                entitled(who, sentinel, true),
                "{who:?} {sentinel} on its page"
            );
        }
        // Search is no oracle: a query for a word past an article's preview
        // finds that article only for readers who may read the word (every
        // sentinel stands past its article's preview).
        for sentinel in SENTINELS.into_iter().filter(|s| level_of(s).is_some()) {
            let asked = format!("GET /search?q={sentinel} None");
            let (_, body) = responses
                .iter()
                .find(|(a, _)| a == &asked)
                .unwrap_or_else(|| panic!("{who:?}: no {asked}"));
            assert!(
                body.contains("Search: "),
                "{who:?} {asked} answered: {:.200}",
                body
            );
            let link = format!("href=\"{}\"", page_of(sentinel).trim());
            assert_eq!(
                body.contains(&link),
                entitled(who, sentinel, false),
                "{who:?}: searching {sentinel} finds its article"
            );
        }
        // Subscribers and staff get full text in feeds; nobody else does.
        let in_feed = responses
            .iter()
            .any(|(a, b)| a.contains("/feeds/rss.xml") && b.contains(GATED_S));
        assert_eq!(
            in_feed,
            matches!(who, Who::Subscriber | Who::Staff),
            "{who:?} feed"
        );
    }
}

/// Concrete requests for a Content API route pattern.
fn expand_api(pattern: &str, key: &str) -> Vec<String> {
    let slugs = expand("/{slug}");
    let mut out = Vec::new();
    let prefixes = if pattern.contains("{version}") {
        vec!["v4", "canary"]
    } else {
        vec![""]
    };
    for v in prefixes {
        let p = pattern.replace("{version}", v);
        let shapes = "include=tags,authors&formats=html,plaintext";
        if p.ends_with("/{resource}/") {
            for r in ["posts", "pages", "tags", "authors", "tiers", "settings"] {
                out.push(format!(
                    "{}?key={key}&limit=all&{shapes}",
                    p.replace("{resource}", r)
                ));
            }
            // A filter cannot find an article by its gated words.
            for sentinel in SENTINELS {
                out.push(format!(
                    "{}?key={key}&filter=title:~'{sentinel}'&{shapes}",
                    p.replace("{resource}", "posts")
                ));
            }
        } else if p.contains("/slug/{slug}/") {
            for s in &slugs {
                let slug = s.trim_start_matches('/');
                out.push(format!(
                    "{}?key={key}&{shapes}",
                    p.replace("{resource}", "posts").replace("{slug}", slug)
                ));
            }
        } else {
            // Reads by id: the planted articles' ids, made by a browse.
            out.push(format!(
                "{}?key={key}&{shapes}",
                p.replace("{resource}", "posts").replace("{id}", "IDS")
            ));
        }
    }
    out
}

// The Content API is anonymous whoever asks: its answers carry what an
// anonymous reader may see on a route that is not the article page
// (previews only), to every reader, subscribers and staff included.
both!(
    the_content_api_gives_everyone_what_an_anonymous_reader_gets,
    Fixture::Demo
);
async fn the_content_api_gives_everyone_what_an_anonymous_reader_gets(app: TestApp) {
    plant(&app).await;
    let key = masthead::api::keys::add(
        &app.state,
        masthead_store::newsroom::Actor::OPERATOR,
        "Leak suite",
        "editor",
    )
    .await
    .unwrap()
    .content_key;
    // The ids of every published post.
    let all: serde_json::Value = app
        .client
        .get(app.url(&format!(
            "/ghost/api/content/posts/?key={key}&limit=all&fields=id"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<String> = all["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() >= 20, "{} posts", ids.len());
    let mut routes = 0;
    let mut paths = Vec::new();
    for route in masthead::app::routes() {
        if route.carries() != Carries::AnonymousText {
            continue;
        }
        routes += 1;
        for p in expand_api(route.path, &key) {
            if p.contains("IDS") {
                paths.extend(ids.iter().map(|id| p.replace("IDS", id)));
            } else {
                paths.push(p);
            }
        }
    }
    assert!(routes >= 6, "the API's routes are declared ({routes})");
    for who in [Who::Subscriber, Who::Staff, Who::Fresh, Who::MemberWithin] {
        let cookie = cookie_for(&app, who).await;
        let mut responses = Vec::new();
        for path in &paths {
            app.state.limiter().clear();
            responses.extend(fetch_all(&app.base, &app.client, &cookie, path).await);
        }
        // Nothing past any preview, whoever asks (the filter echo of a
        // sentinel is in the request, not in an answer).
        let found = leaks(&responses, |_, _| false);
        assert!(
            found.is_empty(),
            "{who:?} leaks through the API:\n{}",
            found.join("\n")
        );
        // And it looked: the planted articles answer with their previews.
        for slug in [
            "planted-published",
            "planted-registered",
            "planted-subscribers",
        ] {
            assert!(
                responses
                    .iter()
                    .any(|(a, b)| a.contains(&format!("/slug/{slug}/"))
                        && b.contains("\"access\":false")),
                "{who:?}: {slug} answered with its preview"
            );
        }
    }
}

// Staff routes (the editor and its previews) carry drafts and gated
// text, but only to staff: every reader who is not staff gets none of it.
both!(staff_routes_give_readers_no_article_text, Fixture::Demo);
async fn staff_routes_give_readers_no_article_text(app: TestApp) {
    plant(&app).await;
    let mut ids = Vec::new();
    for slug in PLANTED {
        ids.push(
            masthead_store::content::find_article_any(app.state.db(), slug)
                .await
                .unwrap()
                .unwrap()
                .id,
        );
    }
    let mut paths = Vec::new();
    let mut routes = 0;
    for route in masthead::app::routes() {
        let (pattern, carries) = (route.path, route.carries());
        if carries != Carries::StaffText {
            continue;
        }
        routes += 1;
        // The Admin API's patterns: its posts, under each prefix.
        let pattern = &pattern
            .replace("{resource}", "posts")
            .replace("{version}", "v4");
        if pattern.contains("{slug}") {
            for slug in PLANTED {
                paths.push(pattern.replace("{slug}", slug));
            }
        } else if pattern.contains("{id}") {
            for id in &ids {
                for suffix in ["", "?as=subscriber"] {
                    paths.push(format!(
                        "{}{suffix}",
                        pattern.replace("{id}", &id.to_string())
                    ));
                }
            }
        } else {
            paths.push(pattern.to_string());
        }
    }
    assert!(routes >= 3, "the editor's routes are declared ({routes})");
    for who in [
        Who::Fresh,
        Who::AnonWithin,
        Who::MemberWithin,
        Who::Subscriber,
    ] {
        let cookie = cookie_for(&app, who).await;
        let mut responses = Vec::new();
        for path in &paths {
            responses.extend(fetch_all(&app.base, &app.client, &cookie, path).await);
        }
        let found = leaks(&responses, |_, _| false);
        assert!(
            found.is_empty(),
            "{who:?} leaks on staff routes:\n{}",
            found.join("\n")
        );
    }
    // And staff do get it there (the scan is not looking at empty pages).
    let staff = cookie_for(&app, Who::Staff).await;
    let edit = format!("/admin/articles/{}", ids[0]);
    let responses = fetch_all(&app.base, &app.client, &staff, &edit).await;
    assert!(
        responses.iter().any(|(_, b)| b.contains(DRAFT)),
        "staff see the draft in the editor"
    );
}

/// A route that leaks on purpose must be caught by the same scan.
/// SQLite only: this checks the leak suite itself (a deliberately leaking
/// route), not storage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leak_suite_fails_when_a_route_leaks() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite, Fixture::Demo).await;
    plant(&app).await;
    // The leaking route reads a draft's body with a full decision.
    let state = app.state.clone();
    let leaky = axum::Router::new().route(
        "/leaky",
        axum::routing::get(move || {
            let state = state.clone();
            async move {
                let mut id = 1;
                loop {
                    match masthead_store::content::find_article_by_id(state.db(), id)
                        .await
                        .unwrap()
                    {
                        Some(a) if a.slug == "planted-draft" => {
                            let body = masthead_store::content::find_body(
                                state.db(),
                                &a.facts(),
                                masthead_core::Decision::Full,
                            )
                            .await
                            .unwrap();
                            return body.blocks.join("");
                        }
                        Some(_) => id += 1,
                        None => return String::new(),
                    }
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, leaky).await });
    let responses = fetch_all(&base, &app.client, "", "/leaky").await;
    let found = leaks(&responses, |_, _| false);
    assert!(
        found.iter().any(|l| l.starts_with(DRAFT)),
        "the scan must catch the leak: {found:?}"
    );
}

both!(newsletter_emails_carry_only_what_each_segment_may_read);
/// Newsletter emails: each segment carries only what its readers may read
/// (a free member gets the registered article in full, the metered and
/// subscriber-only ones as previews; a subscriber gets all three), and
/// sends of a draft or a scheduled article mail nothing.
async fn newsletter_emails_carry_only_what_each_segment_may_read(backend: harness::Backend) {
    let smtp = crate::smtp::Smtp::start(0).await;
    let app = TestApp::builder(backend).smtp(&smtp).spawn().await;
    plant(&app).await;
    let db = app.state.db();
    let newsletter = masthead_store::newsletters::find_by_slug(db, "morning-ledger")
        .await
        .unwrap()
        .unwrap();
    for (email, subscriber) in [("free@example.org", false), ("paid@example.org", true)] {
        let (_, m) = harness::member_session(&app, email, subscriber).await;
        let mut tx = db.begin().await.unwrap();
        masthead_store::newsletters::subscribe(&mut tx, m, newsletter.id, "test", 1)
            .await
            .unwrap();
        masthead_store::commit(tx).await.unwrap();
    }
    let now = jiff::Timestamp::now().as_second();
    for slug in PLANTED {
        let article = masthead_store::content::find_article_any(db, slug)
            .await
            .unwrap()
            .unwrap();
        let send = masthead_store::newsletters::create_send(
            db,
            &masthead_store::newsletters::NewSend {
                newsletter_id: newsletter.id,
                article_id: Some(article.id),
                digest_days: None,
                subject: slug,
                run_at: now,
                created_by: "leak suite",
            },
            None,
            now,
        )
        .await
        .unwrap();
        masthead::newsletters::sender::work(&app.state, send)
            .await
            .unwrap();
    }
    let body = |email: &str| -> String {
        smtp.to(email)
            .iter()
            .map(|m| format!("{} {} {}", m["headers"], m["text"], m["html"]))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (free, paid) = (body("free@example.org"), body("paid@example.org"));
    assert_eq!(
        smtp.to("free@example.org").len(),
        3,
        "three published articles, no draft or scheduled one"
    );
    for (sentinel, free_may, paid_may) in [
        (DRAFT, false, false),
        (SCHEDULED, false, false),
        (GATED, false, true),
        (GATED_R, true, true),
        (GATED_S, false, true),
    ] {
        assert_eq!(
            free.contains(sentinel),
            free_may,
            "free member's email and {sentinel}"
        );
        assert_eq!(
            paid.contains(sentinel),
            paid_may,
            "subscriber's email and {sentinel}"
        );
    }
}
