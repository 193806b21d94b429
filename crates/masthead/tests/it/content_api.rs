//! Issue 16, the Content API: Ghost's shapes, parameters and errors at
//! `/ghost/api/content/` (and the versioned prefixes), keys from an
//! integration, every answer decided as for an anonymous reader whoever
//! asks, answers kept in the render cache after the key is checked.

use crate::both;
use crate::harness::{member_session, Browser, Fixture, TestApp};
use masthead::api::keys;
use masthead_store::newsroom::Actor;
use serde_json::Value;

/// Text of the demo's subscribers-only analysis, past its preview.
const PAST_PREVIEW: &str = "The biggest gains are in Northgate";

async fn key(app: &TestApp) -> String {
    keys::add(&app.state, Actor::OPERATOR, "Front end", "editor")
        .await
        .unwrap()
        .content_key
}

async fn api(app: &TestApp, path_and_query: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let res = app.get(path_and_query).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{path_and_query} answered no JSON ({e}): {text:.300}"));
    (status, v, headers)
}

fn error_type(v: &Value) -> &str {
    v["errors"][0]["type"].as_str().unwrap_or("")
}

both!(posts_come_in_ghosts_shape, Fixture::Demo);
async fn posts_come_in_ghosts_shape(app: TestApp) {
    let key = key(&app).await;
    let (status, v, headers) = api(
        &app,
        &format!("/ghost/api/content/posts/?key={key}&include=tags,authors"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let posts = v["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 15, "Ghost's default page size");
    let p = &v["meta"]["pagination"];
    let total = p["total"].as_u64().unwrap();
    assert!(total > 15, "{p}");
    assert_eq!(p["page"], 1);
    assert_eq!(p["limit"], 15);
    assert_eq!(p["pages"].as_u64().unwrap(), total.div_ceil(15));
    assert_eq!(p["next"], 2);
    assert_eq!(p["prev"], Value::Null);
    // Newest first, with Ghost's fields and Masthead's own beside them.
    let dates: Vec<&str> = posts
        .iter()
        .map(|p| p["published_at"].as_str().unwrap())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted);
    for post in posts {
        let id = post["id"].as_str().unwrap();
        assert!(masthead_core::api::is_object_id(id), "{id}");
        assert_eq!(post["uuid"].as_str().unwrap().len(), 36);
        assert!(post["url"].as_str().unwrap().starts_with(&app.base));
        assert!(post["published_at"]
            .as_str()
            .unwrap()
            .ends_with(".000+00:00"));
        assert!(post["html"].is_string());
        assert!(post.get("plaintext").is_none(), "plaintext only when asked");
        assert!(post["reading_time"].as_u64().unwrap() >= 1);
        assert!(post["masthead_content_type"].is_string());
        assert!(post["masthead_access_level"].is_string());
        assert!(post["tags"].is_array() && post["authors"].is_array());
        for a in post["authors"].as_array().unwrap() {
            assert!(a.get("email").is_none(), "an author's email is never shown");
            assert!(a["url"].as_str().unwrap().contains("/authors/"));
        }
        if let Some(first) = post["tags"].as_array().unwrap().first() {
            assert_eq!(&post["primary_tag"], first);
        }
    }
    // Page 2 picks up where page 1 stopped.
    let (_, two, _) = api(&app, &format!("/ghost/api/content/posts/?key={key}&page=2")).await;
    assert_eq!(two["meta"]["pagination"]["prev"], 1);
    let first_ids: Vec<&Value> = posts.iter().map(|p| &p["id"]).collect();
    for p in two["posts"].as_array().unwrap() {
        assert!(!first_ids.contains(&&p["id"]), "pages never overlap");
    }

    // Read by slug and by id: the same post, ids stable across requests.
    let (status, one, _) = api(
        &app,
        &format!("/ghost/api/content/posts/slug/central-library-sunday-hours-return/?key={key}&formats=html,plaintext"),
    )
    .await;
    assert_eq!(status, 200);
    let post = &one["posts"][0];
    assert!(one.get("meta").is_none());
    assert_eq!(post["access"], true, "a free article is whole");
    assert_eq!(post["visibility"], "public");
    assert!(post["plaintext"].as_str().unwrap().len() > 100);
    let id = post["id"].as_str().unwrap().to_string();
    let (status, by_id, _) = api(&app, &format!("/ghost/api/content/posts/{id}/?key={key}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        by_id["posts"][0]["slug"],
        "central-library-sunday-hours-return"
    );
    // Older clients' versioned prefixes answer the same.
    for v in ["v2", "v3", "v4", "canary"] {
        let (status, old, _) = api(
            &app,
            &format!("/ghost/api/{v}/content/posts/{id}/?key={key}"),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(old["posts"][0]["id"], id.as_str());
    }

    // fields keeps only what is asked; limit=all is capped as Ghost caps it.
    let (_, slim, _) = api(
        &app,
        &format!("/ghost/api/content/posts/?key={key}&fields=title,slug&limit=all"),
    )
    .await;
    assert_eq!(slim["meta"]["pagination"]["limit"], 100);
    let first = slim["posts"][0].as_object().unwrap();
    let mut keys: Vec<&String> = first.keys().collect();
    keys.sort();
    assert_eq!(keys, ["slug", "title"]);
    assert_eq!(slim["posts"].as_array().unwrap().len() as u64, total);

    // Pages, tags (with counts), authors, tiers and settings.
    let (_, pages, _) = api(&app, &format!("/ghost/api/content/pages/?key={key}")).await;
    let slugs: Vec<&str> = pages["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert!(
        slugs.contains(&"terms") && slugs.contains(&"privacy"),
        "{slugs:?}"
    );
    let (status, terms, _) = api(
        &app,
        &format!("/ghost/api/content/pages/slug/terms/?key={key}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(terms["pages"][0]["html"].as_str().unwrap().len() > 50);
    let (_, tags, _) = api(
        &app,
        &format!("/ghost/api/content/tags/?key={key}&include=count.posts&limit=all"),
    )
    .await;
    let transit = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "transit")
        .unwrap()
        .clone();
    assert!(transit["count"]["posts"].as_u64().unwrap() >= 3);
    let (_, authors, _) = api(&app, &format!("/ghost/api/content/authors/?key={key}")).await;
    assert!(!authors["authors"].as_array().unwrap().is_empty());
    assert!(
        !authors.to_string().contains('@'),
        "no email anywhere: {authors}"
    );
    let (status, one_author, _) = api(
        &app,
        &format!("/ghost/api/content/authors/slug/mara-oyelaran/?key={key}&include=count.posts"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(one_author["authors"][0]["count"]["posts"].as_u64().unwrap() >= 1);
    let (_, tiers, _) = api(
        &app,
        &format!("/ghost/api/content/tiers/?key={key}&include=monthly_price,yearly_price,benefits"),
    )
    .await;
    let tiers = tiers["tiers"].as_array().unwrap();
    assert_eq!(tiers[0]["type"], "free");
    assert_eq!(tiers[1]["type"], "paid");
    assert!(tiers[1]["monthly_price"].as_i64().unwrap() > 0);
    assert!(tiers[1]["yearly_price"].as_i64().unwrap() > 0);
    let (_, settings, _) = api(&app, &format!("/ghost/api/content/settings/?key={key}")).await;
    assert_eq!(settings["settings"]["title"], "The Harbour Ledger");
    assert!(settings["settings"]["navigation"].is_array());
}

both!(
    gated_posts_show_only_their_preview_to_everyone,
    Fixture::Demo
);
async fn gated_posts_show_only_their_preview_to_everyone(app: TestApp) {
    let key = key(&app).await;
    let (subscriber, _) = member_session(&app, "subscriber@example.org", true).await;
    let path = format!("/ghost/api/content/posts/slug/bus-redesign-winners-and-losers/?key={key}&formats=html,plaintext");
    // A subscriber's cookie changes nothing: the API is anonymous.
    for cookie in [None, Some(subscriber.as_str())] {
        let text = match cookie {
            Some(c) => Browser::with_cookie(&app, c).page(&path).await,
            None => app.get_text(&path, 200).await,
        };
        assert!(!text.contains(PAST_PREVIEW), "gated text in {text:.300}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let post = &v["posts"][0];
        assert_eq!(post["access"], false);
        assert_eq!(post["visibility"], "paid");
        assert_eq!(post["masthead_access_level"], "subscribers");
        assert!(
            !post["html"].as_str().unwrap().is_empty(),
            "the preview is shown"
        );
    }
    let all = app
        .get_text(
            &format!("/ghost/api/content/posts/?key={key}&limit=all&formats=html,plaintext"),
            200,
        )
        .await;
    assert!(!all.contains(PAST_PREVIEW));
    // A draft does not exist for the Content API.
    let (status, v, _) = api(
        &app,
        &format!("/ghost/api/content/posts/slug/free-school-meals-pilot-expansion/?key={key}"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(error_type(&v), "NotFoundError");
    assert!(!all.contains("free-school-meals-pilot-expansion"));
}

both!(filters_select_as_ghosts_do, Fixture::Demo);
async fn filters_select_as_ghosts_do(app: TestApp) {
    let key = key(&app).await;
    let browse = |f: &str| {
        let f = urlencode(f);
        format!("/ghost/api/content/posts/?key={key}&limit=all&include=tags&filter={f}")
    };
    let (_, all, _) = api(&app, &browse("published_at:<=now")).await;
    let total = all["posts"].as_array().unwrap().len();
    let has_tag = |p: &Value, t: &str| p["tags"].as_array().unwrap().iter().any(|x| x["slug"] == t);
    let (_, with, _) = api(&app, &browse("tag:transit")).await;
    let with = with["posts"].as_array().unwrap().clone();
    assert!(!with.is_empty() && with.iter().all(|p| has_tag(p, "transit")));
    let (_, without, _) = api(&app, &browse("tag:-transit")).await;
    let without = without["posts"].as_array().unwrap().clone();
    assert!(without.iter().all(|p| !has_tag(p, "transit")));
    assert_eq!(with.len() + without.len(), total);
    let (_, either, _) = api(&app, &browse("tag:[transit,housing]")).await;
    assert!(either["posts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| has_tag(p, "transit") || has_tag(p, "housing")));
    let (_, both_tags, _) = api(&app, &browse("tag:transit+tag:civic-affairs")).await;
    assert!(both_tags["posts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| has_tag(p, "transit") && has_tag(p, "civic-affairs")));
    let (_, grouped, _) = api(&app, &browse("(tag:transit,tag:housing)+visibility:paid")).await;
    for p in grouped["posts"].as_array().unwrap() {
        assert_eq!(p["visibility"], "paid");
    }
    let (_, public, _) = api(&app, &browse("visibility:public")).await;
    let public = public["posts"].as_array().unwrap().clone();
    assert!(!public.is_empty());
    assert!(public
        .iter()
        .all(|p| p["access"] == true && p["visibility"] == "public"));
    let (_, by_author, _) = api(&app, &browse("authors:noor-vesely")).await;
    assert!(!by_author["posts"].as_array().unwrap().is_empty());
    let (_, by_slug, _) = api(&app, &browse("slug:central-library-sunday-hours-return")).await;
    assert_eq!(by_slug["posts"].as_array().unwrap().len(), 1);
    let (_, titled, _) = api(&app, &browse("title:~'LIBRARY'")).await;
    assert!(titled["posts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["title"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("library")));
    let (_, nothing, _) = api(&app, &browse("published_at:>'2999-01-01'")).await;
    assert_eq!(nothing["meta"]["pagination"]["total"], 0);
    assert_eq!(nothing["meta"]["pagination"]["pages"], 1);
    let (_, ordered, _) = api(
        &app,
        &format!("/ghost/api/content/posts/?key={key}&order=title%20asc&limit=all"),
    )
    .await;
    let titles: Vec<String> = ordered["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(titles, sorted);

    // No filter can ask about text, and a broken one is a 400.
    for bad in [
        "html:~'Northgate'",
        "plaintext:x",
        "status:draft",
        "tag:(",
        "published_at:soon",
    ] {
        let (status, v, headers) = api(&app, &browse(bad)).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(error_type(&v), "BadRequestError", "{bad}");
        assert_eq!(headers["access-control-allow-origin"], "*");
    }
    // Bounded: a query string past 8 KB, a filter past 4 KB.
    let huge = format!(
        "/ghost/api/content/posts/?key={key}&pad={}",
        "x".repeat(9000)
    );
    let (status, v, _) = api(&app, &huge).await;
    assert_eq!((status, error_type(&v)), (400, "BadRequestError"));
    let long = browse(&format!("title:'{}'", "y".repeat(4100)));
    assert_eq!(api(&app, &long).await.0, 400);
    let deep = format!("{}tag:a{}", "(".repeat(20), ")".repeat(20));
    assert_eq!(api(&app, &browse(&deep)).await.0, 400);
    let (status, v, _) = api(
        &app,
        &format!("/ghost/api/content/posts/?key={key}&limit=lots"),
    )
    .await;
    assert_eq!((status, error_type(&v)), (422, "ValidationError"));
    let (status, _, _) = api(
        &app,
        &format!("/ghost/api/content/posts/?key={key}&order=html%20desc"),
    )
    .await;
    assert_eq!(status, 400);
}

fn urlencode(s: &str) -> String {
    masthead::http::urlencode(s)
}

both!(keys_are_checked_before_anything_else, Fixture::Demo);
async fn keys_are_checked_before_anything_else(app: TestApp) {
    let (status, v, headers) = api(&app, "/ghost/api/content/posts/").await;
    assert_eq!((status, error_type(&v)), (403, "NoPermissionError"));
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(headers["cache-control"], "no-store");
    for field in [
        "message", "context", "type", "details", "property", "help", "code", "id",
    ] {
        assert!(v["errors"][0].get(field).is_some(), "{field} in {v}");
    }
    let (status, v, _) = api(
        &app,
        "/ghost/api/content/posts/?key=00000000000000000000000000",
    )
    .await;
    assert_eq!((status, error_type(&v)), (401, "UnauthorizedError"));

    let made = keys::add(&app.state, Actor::OPERATOR, "Site", "editor")
        .await
        .unwrap();
    let path = format!("/ghost/api/content/posts/?key={}", made.content_key);
    assert_eq!(api(&app, &path).await.0, 200);
    // Unknown resources and prefixes are Ghost's 404s.
    let (status, v, _) = api(
        &app,
        &format!("/ghost/api/content/widgets/?key={}", made.content_key),
    )
    .await;
    assert_eq!((status, error_type(&v)), (404, "NotFoundError"));
    assert_eq!(
        api(
            &app,
            &format!("/ghost/api/v9/content/posts/?key={}", made.content_key)
        )
        .await
        .0,
        404
    );
    assert_eq!(
        api(
            &app,
            &format!(
                "/ghost/api/content/posts/0123456789abcdef01234567/?key={}",
                made.content_key
            )
        )
        .await
        .0,
        404
    );

    // A rotated key stops working at once, and the new one works; a
    // revoked integration's key stops too. A kept answer is never served
    // for a key that no longer works.
    let new = keys::rotate(&app.state, Actor::OPERATOR, made.id, keys::Which::Content)
        .await
        .unwrap();
    assert_eq!(api(&app, &path).await.0, 401);
    let path = format!("/ghost/api/content/posts/?key={new}");
    assert_eq!(api(&app, &path).await.0, 200);
    keys::revoke(&app.state, Actor::OPERATOR, made.id)
        .await
        .unwrap();
    assert_eq!(api(&app, &path).await.0, 401);
    let entries = masthead_store::newsroom::list_audit(app.state.db(), 10)
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "integration.add",
        "integration.rotate_content_key",
        "integration.revoke",
    ] {
        assert!(actions.contains(&a), "{a} audited: {actions:?}");
    }

    // The preflight Ghost's clients trigger with Accept-Version.
    let res = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.url("/ghost/api/content/posts/"),
        )
        .header("origin", "https://front.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "accept-version")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase()
        .contains("accept-version"));
}

both!(answers_are_kept_until_content_changes, Fixture::Demo);
async fn answers_are_kept_until_content_changes(app: TestApp) {
    let key = key(&app).await;
    let other = keys::add(&app.state, Actor::OPERATOR, "App", "editor")
        .await
        .unwrap()
        .content_key;
    let path = |k: &str| format!("/ghost/api/content/posts/?key={k}&include=tags,authors&limit=5");
    let first = app.get_text(&path(&key), 200).await;
    let kept = app.state.cache().usage().1;
    // Another key, another unrelated parameter: the same entry.
    let again = app
        .get_text(&format!("{}&utm_source=x", path(&other)), 200)
        .await;
    assert_eq!(first, again);
    assert_eq!(app.state.cache().usage().1, kept, "no new entry");
    let limited = app
        .get_text(&format!("/ghost/api/content/posts/?key={key}&limit=6"), 200)
        .await;
    assert_ne!(first, limited);
    assert_eq!(app.state.cache().usage().1, kept + 1);

    // A published change shows at once.
    let db = app.state.db();
    let newest: Value = serde_json::from_str(&first).unwrap();
    let slug = newest["posts"][0]["slug"].as_str().unwrap().to_string();
    let a = masthead_store::content::find_article_any(db, &slug)
        .await
        .unwrap()
        .unwrap();
    sqlx::query("UPDATE articles SET headline = 'A changed headline' WHERE id = $1")
        .bind(a.id)
        .execute(db.writer())
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    masthead_store::settings::bump_counter(&mut tx, masthead_store::settings::CONTENT)
        .await
        .unwrap();
    masthead_store::commit(tx).await.unwrap();
    app.state.refresh_counters().await.unwrap();
    let after = app.get_text(&path(&key), 200).await;
    assert!(after.contains("A changed headline"));
}

both!(posts_imported_from_ghost_keep_their_ids, Fixture::Demo);
async fn posts_imported_from_ghost_keep_their_ids(app: TestApp) {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ghost/export.json"
    );
    masthead::imports::ghost::run(
        &app.state,
        &masthead::imports::ghost::Options::new(fixture.into()),
        Actor::OPERATOR,
    )
    .await
    .unwrap();
    app.state.refresh_counters().await.unwrap();
    let key = key(&app).await;
    let (status, v, _) = api(
        &app,
        &format!("/ghost/api/content/posts/slug/harbour-dredging-begins/?key={key}&include=tags"),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let post = &v["posts"][0];
    assert_eq!(post["id"], "65b1f0c2a4e9d30001000001");
    assert_eq!(post["uuid"], "2f1c9a7e-0b1d-4a55-9c1e-000000000001");
    let (status, again, _) = api(
        &app,
        &format!("/ghost/api/content/posts/65b1f0c2a4e9d30001000001/?key={key}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(again["posts"][0]["slug"], "harbour-dredging-begins");
}

// The OpenAPI description names every Content API route the router has,
// and no other.
both!(the_openapi_description_matches_the_routes, Fixture::Demo);
async fn the_openapi_description_matches_the_routes(app: TestApp) {
    let (status, doc, _) = api(&app, "/ghost/api/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    let all: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let described: Vec<String> = all
        .iter()
        .filter(|p| p.starts_with("/ghost/api/content/"))
        .cloned()
        .collect();
    // Every Admin API path described is a route, with the methods the
    // router answers: any other method is refused by the router (405).
    let admin: Vec<&String> = all
        .iter()
        .filter(|p| p.starts_with("/ghost/api/admin/"))
        .collect();
    assert!(admin.len() >= 8, "{admin:?}");
    for path in &admin {
        let concrete = path
            .replace("{id}", "0123456789abcdef01234567")
            .replace("{slug}", "transit");
        for (method, op) in doc["paths"][path.as_str()].as_object().unwrap() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app
                .client
                .request(m, app.url(&concrete))
                .send()
                .await
                .unwrap();
            assert_ne!(
                res.status().as_u16(),
                405,
                "{method} {path} is described but not routed"
            );
            assert!(op["responses"].is_object());
        }
    }
    let key = key(&app).await;
    for path in &described {
        // Each described path answers (a read of something that exists).
        let concrete = path
            .replace("{id}", "0123456789abcdef01234567")
            .replace("{slug}", "transit");
        let (status, v, _) = api(&app, &format!("{concrete}?key={key}")).await;
        // A read may find nothing (404 in Ghost's shape); a browse answers.
        let read = path.contains('{');
        assert!(
            status == 200 || read && status == 404 && error_type(&v) == "NotFoundError",
            "{path}: {status} {v}"
        );
    }
    // Every Content API route pattern is described for each resource it
    // serves.
    let patterns: Vec<&str> = masthead::app::routes()
        .iter()
        .map(|r| r.path)
        .filter(|p| p.starts_with("/ghost/api/content/"))
        .collect();
    assert_eq!(patterns.len(), 3, "{patterns:?}");
    for (resource, reads) in masthead::api::openapi::CONTENT_RESOURCES {
        for p in &patterns {
            let path = p.replace("{resource}", resource);
            let is_read = p.contains("{id}") || p.contains("{slug}");
            assert_eq!(described.contains(&path), !is_read || *reads, "{path}");
        }
        // A resource that is not described is not answered.
    }
    let (status, _, _) = api(&app, &format!("/ghost/api/content/newsletters/?key={key}")).await;
    assert_eq!(status, 404, "only described resources answer");
    assert_eq!(described.len(), 6 + 4 * 2);
}

// Administrators make, rotate and revoke integrations in the newsroom;
// the keys work at once; nobody else may.
both!(
    administrators_manage_integrations_in_the_newsroom,
    Fixture::Demo
);
async fn administrators_manage_integrations_in_the_newsroom(app: TestApp) {
    let (mut admin, csrf) = crate::harness::staff_browser(&app, "administrator").await;
    let page = admin.page("/admin/integrations").await;
    assert!(page.contains("No integrations yet"));
    let res = admin
        .post(
            "/admin/integrations",
            &[
                ("csrf", &csrf),
                ("name", "Next.js site"),
                ("role", "editor"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()["cache-control"],
        "no-store",
        "a page with a secret is kept nowhere"
    );
    let html = res.text().await.unwrap();
    let grab = |html: &str, id: &str| {
        let start = html
            .find(&format!("id=\"{id}\">"))
            .map(|i| i + id.len() + 6)?;
        Some(html[start..start + html[start..].find('<')?].to_string())
    };
    let content = grab(&html, "shown-content-key").unwrap();
    let admin_key = grab(&html, "shown-admin-key").unwrap();
    assert!(masthead_core::api::is_hex(&content, 26), "{content}");
    assert!(admin_key.len() == 24 + 1 + 64 && admin_key.contains(':'));
    // The Admin secret is shown this once: the list shows only its id.
    let again = admin.page("/admin/integrations").await;
    assert!(
        again.contains(&content),
        "the Content key is public by design"
    );
    assert!(
        !again.contains(&admin_key[25..]),
        "the Admin secret is never shown again"
    );
    let stored = masthead_store::api::list_integrations(app.state.db())
        .await
        .unwrap();
    assert!(
        !stored[0].admin_secret_sealed.contains(&admin_key[25..]),
        "the secret is sealed at rest"
    );
    assert_eq!(
        app.state
            .sealer()
            .open(&stored[0].admin_secret_sealed)
            .as_deref(),
        Some(&admin_key[25..])
    );
    let browse = |k: &str| format!("/ghost/api/content/posts/?key={k}&limit=1");
    assert_eq!(api(&app, &browse(&content)).await.0, 200);

    // Rotating the Content key: the old one stops, the new one works.
    let id = stored[0].id;
    let res = admin
        .post(
            &format!("/admin/integrations/{id}/rotate-content"),
            &[("csrf", &csrf)],
        )
        .await;
    let html = res.text().await.unwrap();
    let rotated = grab(&html, "shown-content-key").unwrap();
    assert_ne!(rotated, content);
    assert_eq!(api(&app, &browse(&content)).await.0, 401);
    assert_eq!(api(&app, &browse(&rotated)).await.0, 200);
    let res = admin
        .post(
            &format!("/admin/integrations/{id}/rotate-admin"),
            &[("csrf", &csrf)],
        )
        .await;
    let html = res.text().await.unwrap();
    assert_ne!(grab(&html, "shown-admin-key").unwrap(), admin_key);

    // Without the form's token, or as an editor, nothing changes.
    assert_eq!(
        admin
            .post_status(
                &format!("/admin/integrations/{id}/revoke"),
                &[("csrf", "forged")]
            )
            .await,
        403
    );
    assert_eq!(api(&app, &browse(&rotated)).await.0, 200);
    let (mut editor, editor_csrf) = crate::harness::staff_browser(&app, "editor").await;
    assert_eq!(
        editor.get("/admin/integrations").await.status().as_u16(),
        403
    );
    assert_eq!(
        editor
            .post_status(
                "/admin/integrations",
                &[("csrf", &editor_csrf), ("name", "Sneaky")]
            )
            .await,
        403
    );
    assert_eq!(
        editor
            .post_status(
                &format!("/admin/integrations/{id}/revoke"),
                &[("csrf", &editor_csrf)]
            )
            .await,
        403
    );
    // Revoked: its key stops at once, and it cannot be changed again.
    let res = admin
        .post(
            &format!("/admin/integrations/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(api(&app, &browse(&rotated)).await.0, 401);
    assert_eq!(
        admin
            .post_status(
                &format!("/admin/integrations/{id}/rotate-content"),
                &[("csrf", &csrf)]
            )
            .await,
        409
    );
    assert_eq!(
        admin
            .post_status("/admin/integrations", &[("csrf", &csrf), ("name", "")])
            .await,
        422
    );
    let entries = masthead_store::newsroom::list_audit(app.state.db(), 20)
        .await
        .unwrap();
    assert!(entries.iter().any(
        |e| e.action == "integration.add" && e.staff_email == "administrator@newsroom.example"
    ));
    // The audit log holds no key.
    let log = format!("{entries:?}");
    assert!(!log.contains(&rotated) && !log.contains(&admin_key[25..]));
}
