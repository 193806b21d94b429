//! The response finisher: caching, validators, compression, headers.

use crate::both;
use crate::harness::{Fixture, TestApp};
use std::io::Read;

const ARTICLE: &str = "/council-approves-harbour-seawall-plan";

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

both!(
    conditional_get_answers_304_for_the_same_bytes,
    Fixture::Demo
);
async fn conditional_get_answers_304_for_the_same_bytes(app: TestApp) {
    let res = app.get(ARTICLE).await;
    let etag = res.headers()["etag"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    let body = res.bytes().await.unwrap_or_default();
    assert!(etag.starts_with('"') && etag.len() > 10);
    let again = get_with(&app, ARTICLE, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status().as_u16(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.unwrap_or_default().is_empty());
    let other = get_with(&app, ARTICLE, &[("if-none-match", "\"stale\"")]).await;
    assert_eq!(other.status().as_u16(), 200);
    assert_eq!(
        other.bytes().await.unwrap_or_default(),
        body,
        "same bytes from the cache"
    );
    // Uncached pages are validated too.
    let home = app.get("/").await;
    let home_etag = home.headers()["etag"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    let again = get_with(&app, "/", &[("if-none-match", &home_etag)]).await;
    assert_eq!(again.status().as_u16(), 304);
}

both!(
    gzip_and_brotli_are_negotiated_with_their_own_etags,
    Fixture::Demo
);
async fn gzip_and_brotli_are_negotiated_with_their_own_etags(app: TestApp) {
    let plain = app.get(ARTICLE).await;
    let plain_etag = plain.headers()["etag"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    let plain_body = plain.bytes().await.unwrap_or_default();

    let gz = get_with(&app, ARTICLE, &[("accept-encoding", "gzip")]).await;
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.headers()["vary"], "Accept-Encoding, Cookie");
    let gz_etag = gz.headers()["etag"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gz.bytes().await.unwrap_or_default()[..])
        .read_to_end(&mut decoded)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(decoded, plain_body);

    let br = get_with(&app, ARTICLE, &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(br.headers()["content-encoding"], "br");
    let br_etag = br.headers()["etag"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&br.bytes().await.unwrap_or_default()[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(decoded, plain_body);

    assert!(plain_etag != gz_etag && gz_etag != br_etag && plain_etag != br_etag);
    let revalidate = get_with(
        &app,
        ARTICLE,
        &[("accept-encoding", "br"), ("if-none-match", &br_etag)],
    )
    .await;
    assert_eq!(revalidate.status().as_u16(), 304);
    let cross = get_with(&app, ARTICLE, &[("if-none-match", &br_etag)]).await;
    assert_eq!(
        cross.status().as_u16(),
        200,
        "a br validator does not match the identity bytes"
    );
}

both!(
    cache_control_is_public_only_for_the_same_response_for_everyone,
    Fixture::Demo
);
async fn cache_control_is_public_only_for_the_same_response_for_everyone(app: TestApp) {
    // A free article, and a subscriber-only preview, are the same bytes for
    // every anonymous reader without a meter cookie: shared caches may keep them.
    for path in [
        "/central-library-sunday-hours-return",
        "/bus-redesign-winners-and-losers",
    ] {
        let anon = app.get(path).await;
        assert_eq!(
            anon.headers()["cache-control"],
            "public, max-age=60",
            "{path}"
        );
        assert!(
            anon.headers()["vary"]
                .to_str()
                .unwrap_or_default()
                .contains("Cookie"),
            "{path}"
        );
        assert!(anon.headers().get("set-cookie").is_none());
        let reader = get_with(&app, path, &[("cookie", "masthead_session=abc")]).await;
        assert_eq!(reader.headers()["cache-control"], "private, no-cache");
        let other_cookie = get_with(&app, path, &[("cookie", "theme=dark")]).await;
        assert_eq!(
            other_cookie.headers()["cache-control"],
            "public, max-age=60"
        );
    }
    // A metered article spends the meter: it sets the cookie, so it is
    // private even for a reader who had none (a shared cache would hand
    // out full text without ever counting).
    let metered = app.get(ARTICLE).await;
    assert_eq!(metered.headers()["cache-control"], "private, no-cache");
    assert!(metered.headers()["set-cookie"]
        .to_str()
        .unwrap_or_default()
        .starts_with("masthead_meter="));
    let missing = app.get("/no-such-article").await;
    assert_eq!(missing.headers()["cache-control"], "no-store");
}

both!(every_response_carries_the_security_headers, Fixture::Demo);
async fn every_response_carries_the_security_headers(app: TestApp) {
    for path in [
        ARTICLE,
        "/",
        "/no-such-article",
        "/feeds/rss.xml",
        "/static/style.css",
    ] {
        let res = app.get(path).await;
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap_or_default();
        // The reader site runs no script at all.
        assert!(
            csp.contains("script-src 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        // Nothing on the page connects anywhere; audit tools may read
        // robots.txt from the page's own origin.
        assert!(csp.contains("connect-src 'self'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
    }
    let html = app.get_text(ARTICLE, 200).await;
    assert!(
        !html.contains("<script>") && !html.contains("<script src"),
        "no script at all on reader pages"
    );
    // The newsroom has its own policy: its bundled scripts, its own origin.
    let admin = app.get("/admin/login").await;
    let csp = admin.headers()["content-security-policy"]
        .to_str()
        .unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("connect-src 'self'")
            && !csp.contains("unsafe"),
        "{csp}"
    );
}

both!(head_requests_get_headers_without_a_body, Fixture::Demo);
async fn head_requests_get_headers_without_a_body(app: TestApp) {
    let res = app
        .client
        .head(app.url(ARTICLE))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers().contains_key("etag"));
    assert!(res.bytes().await.unwrap_or_default().is_empty());
}

both!(
    absolute_urls_come_from_the_base_url_not_the_host_header,
    Fixture::Empty
);
async fn absolute_urls_come_from_the_base_url_not_the_host_header(app: TestApp) {
    let res = app
        .client
        .get(app.url("/robots.txt"))
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let body = res.text().await.unwrap_or_default();
    assert!(body.contains(&format!("Sitemap: {}/sitemap.xml", app.base)));
    assert!(!body.contains("evil"));
}

both!(health_check_reports_the_database, Fixture::Empty);
async fn health_check_reports_the_database(app: TestApp) {
    assert_eq!(app.get_text("/healthz", 200).await, "ok\n");
}

both!(a_server_error_is_themed_and_hides_its_cause, Fixture::Demo);
async fn a_server_error_is_themed_and_hides_its_cause(app: TestApp) {
    sqlx::query("ALTER TABLE topics RENAME TO topics_gone")
        .execute(app.state.db().writer())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let res = app.get("/topics").await;
    assert_eq!(res.status().as_u16(), 500);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = res.text().await.unwrap_or_default();
    assert!(body.contains("class=\"site-header\""), "themed");
    assert!(body.contains("Something went wrong on our side"));
    assert!(
        !body.contains("topics") || !body.to_lowercase().contains("no such table"),
        "no cause shown"
    );
    assert!(
        !body.contains("relation") && !body.contains("SQL"),
        "no database detail shown"
    );
    // The server is still up.
    app.get_text("/healthz", 200).await;
}

// Issue 13: the route table declares each route's cache class and whether
// other sites may post to it; the finisher reads it. A token in the URL or
// an `Authorization` header is treated like a reader cookie: never public.
both!(
    the_route_table_decides_what_may_be_cached_and_posted_from_elsewhere,
    Fixture::Demo
);
async fn the_route_table_decides_what_may_be_cached_and_posted_from_elsewhere(app: TestApp) {
    use masthead::http::CacheClass;
    for r in masthead::app::routes() {
        let personal = r.path.contains("{token}")
            || (r.path.starts_with("/admin") && r.path != "/admin/assets/{name}")
            || r.path.starts_with("/account");
        if personal {
            assert_eq!(
                r.info.cache,
                CacheClass::Private,
                "{} must never be public",
                r.path
            );
        }
        if r.info.cross_site {
            let known = [
                "/webhooks/stripe",
                "/webhooks/bounces",
                "/unsubscribe/{token}",
            ];
            // The Admin API authenticates every write with Ghost's signed
            // token in a header, never a cookie: another site's page cannot
            // make a reader's browser send one.
            assert!(
                known.contains(&r.path)
                    || r.path.starts_with("/ghost/api/") && r.path.contains("/admin/"),
                "{} accepts cross-site posts: say why here",
                r.path
            );
        }
    }
    let cc = |res: &reqwest::Response| {
        res.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    // A shared page is public without credentials, private with a bearer.
    let res = app.get("/topics").await;
    assert!(cc(&res).starts_with("public"), "{}", cc(&res));
    let res = app
        .client
        .get(app.url("/topics"))
        .header("authorization", "Bearer anything")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(!cc(&res).contains("public"), "{}", cc(&res));
    // A page reached with a token in the URL is never public: a live log-in
    // link's page (200, no cookie) stays out of shared caches.
    crate::harness::verified_member(&app, "linked@example.org").await;
    let ask = [("email", "linked@example.org"), ("action", "link")];
    let _ = crate::harness::Browser::new(&app)
        .post("/login", &ask)
        .await;
    let mail = crate::harness::outbox(&app).await.join("\n");
    let link = crate::harness::find_link(&mail, &app.url("/login/link/")).expect("a link");
    let res = app.get(link.trim_start_matches(&app.base)).await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(!cc(&res).contains("public"), "{}", cc(&res));
    // Only declared routes take posts from other sites.
    let cross = |path: &'static str| {
        app.client
            .post(app.url(path))
            .header("origin", "https://elsewhere.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("email=x%40example.org")
            .send()
    };
    assert_eq!(cross("/login").await.unwrap().status().as_u16(), 403);
    let res = cross("/unsubscribe/not-a-token").await.unwrap();
    assert_ne!(
        res.status().as_u16(),
        403,
        "one-click unsubscribe takes cross-site posts"
    );
}

// Issue 13: a route that streams its body (media files) says so in the
// route table; the finisher passes it through unbuffered, and the handler
// answers conditional requests itself (the name is the content's hash).
both!(media_files_stream_with_their_name_as_etag, Fixture::Demo);
async fn media_files_stream_with_their_name_as_etag(app: TestApp) {
    let media = masthead::app::routes()
        .into_iter()
        .find(|r| r.path == "/media/{name}")
        .expect("the media route");
    assert!(media.info.streams);
    let src = first_image(&app).await;
    let name = src.trim_start_matches("/media/");
    let on_disk = std::fs::read(
        app.state
            .config()
            .data_dir
            .join("media")
            .join(&name[..2])
            .join(name),
    )
    .expect("the file behind the URL");
    let res = app.get(&src).await;
    assert_eq!(res.status().as_u16(), 200);
    let h = res.headers().clone();
    assert_eq!(h["etag"], format!("\"{name}\"").as_str());
    assert_eq!(h["content-length"], on_disk.len().to_string().as_str());
    assert!(h["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(
        h["x-content-type-options"], "nosniff",
        "the finisher still adds its headers"
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), on_disk.as_slice());
    let res = app
        .client
        .get(app.url(&src))
        .header("if-none-match", format!("\"{name}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 304);
    assert!(res.bytes().await.unwrap().is_empty());
}

/// The address of the first media file on a demo article.
async fn first_image(app: &TestApp) -> String {
    let html = app
        .get_text("/council-approves-harbour-seawall-plan", 200)
        .await;
    html.split("src=\"")
        .map(|s| s.split('"').next().unwrap_or_default())
        .find(|s| s.starts_with("/media/"))
        .expect("an image on the page")
        .to_string()
}

// Issue 13: a route declares whether it answers CORS. Media files do
// (another site's script may draw them), without credentials; pages that
// can carry article text never do (the leak suite asks every text route
// with an Origin header), and the table refuses such a declaration.
both!(
    media_files_answer_cors_and_text_routes_do_not,
    Fixture::Demo
);
async fn media_files_answer_cors_and_text_routes_do_not(app: TestApp) {
    let src = first_image(&app).await;
    let res = get_with(&app, &src, &[("origin", "https://elsewhere.example")]).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(res
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url(&src))
        .header("origin", "https://elsewhere.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        preflight.headers()["access-control-allow-methods"],
        "GET, HEAD"
    );
    for path in ["/council-approves-harbour-seawall-plan", "/", "/account"] {
        let res = get_with(&app, path, &[("origin", "https://elsewhere.example")]).await;
        assert!(
            res.headers().get("access-control-allow-origin").is_none(),
            "{path} answers CORS"
        );
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", "https://elsewhere.example")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();
        assert!(
            preflight
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{path} answers a preflight"
        );
    }
    // Only routes without text, and the Content API (which decides as for
    // an anonymous reader whoever asks), answer CORS.
    for route in masthead::app::routes() {
        assert!(
            !route.info.cors
                || matches!(
                    route.carries(),
                    masthead::http::Carries::NoText | masthead::http::Carries::AnonymousText
                ),
            "{} carries text and answers CORS",
            route.path
        );
    }
}

// Issue 15: a favicon, so no browser logs a 404 for it.
both!(the_site_has_an_icon, Fixture::Demo);
async fn the_site_has_an_icon(app: TestApp) {
    let home = app.get_text("/", 200).await;
    assert!(home.contains("<link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">"));
    let icon = app.get("/favicon.svg").await;
    assert_eq!(icon.status().as_u16(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    let svg = icon.text().await.unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains(">H</text>"),
        "{svg}"
    );
    let old = app.get("/favicon.ico").await;
    assert_eq!(old.status().as_u16(), 308);
    assert_eq!(old.headers()["location"], "/favicon.svg");
}
