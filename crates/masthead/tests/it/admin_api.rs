//! Issue 16, the Admin API: Ghost's token scheme (HS256 JWT over the
//! Admin key's secret, `kid`, audience, at most five minutes), every bad
//! token a 401; posts browsed with drafts and whole bodies, added from
//! html through the sanitizer, edited with Ghost's collision check,
//! deleted; the integration's role applies.

use crate::both;
use crate::harness::{Fixture, TestApp};
use masthead::api::keys;
use masthead_core::api::jwt;
use masthead_store::newsroom::Actor;
use serde_json::{json, Value};

const PAST_PREVIEW: &str = "The biggest gains are in Northgate";

struct Key {
    id: String,
    secret: Vec<u8>,
}

async fn admin_key(app: &TestApp, role: &str) -> Key {
    let made = keys::add(&app.state, Actor::OPERATOR, "Script", role)
        .await
        .unwrap();
    let (id, secret) = made.admin_key.split_once(':').unwrap();
    Key {
        id: id.to_string(),
        secret: hex::decode(secret).unwrap(),
    }
}

fn token(k: &Key, aud: &str) -> String {
    let now = jiff::Timestamp::now().as_second();
    jwt::sign(&k.id, &k.secret, now, now + 300, aud, "HS256")
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.client.request(method, app.url(path));
    if let Some(t) = auth {
        req = req.header("authorization", format!("Ghost {t}"));
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    if status != 204 {
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
    }
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn kind(v: &Value) -> &str {
    v["errors"][0]["type"].as_str().unwrap_or("")
}

both!(admin_tokens_follow_ghosts_rules, Fixture::Demo);
async fn admin_tokens_follow_ghosts_rules(app: TestApp) {
    let k = admin_key(&app, "editor").await;
    let path = "/ghost/api/admin/posts/?limit=1";
    let get = reqwest::Method::GET;
    let (status, v) = call(&app, get.clone(), path, None, None).await;
    assert_eq!((status, kind(&v)), (403, "NoPermissionError"));
    assert_eq!(
        call(&app, get.clone(), path, Some(&token(&k, "/admin/")), None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(
            &app,
            get.clone(),
            "/ghost/api/v4/admin/posts/?limit=1",
            Some(&token(&k, "/v4/admin/")),
            None
        )
        .await
        .0,
        200
    );
    let now = jiff::Timestamp::now().as_second();
    let unknown = Key {
        id: "0123456789abcdef01234567".into(),
        secret: k.secret.clone(),
    };
    let wrong_secret = Key {
        id: k.id.clone(),
        secret: vec![7; 32],
    };
    for (what, t) in [
        (
            "alg none",
            jwt::sign(&k.id, &k.secret, now, now + 300, "/admin/", "none"),
        ),
        (
            "alg HS512",
            jwt::sign(&k.id, &k.secret, now, now + 300, "/admin/", "HS512"),
        ),
        ("unknown kid", token(&unknown, "/admin/")),
        ("wrong secret", token(&wrong_secret, "/admin/")),
        (
            "over five minutes",
            jwt::sign(&k.id, &k.secret, now, now + 301, "/admin/", "HS256"),
        ),
        (
            "expired",
            jwt::sign(&k.id, &k.secret, now - 600, now - 300, "/admin/", "HS256"),
        ),
        ("another audience", token(&k, "/v4/admin/")),
        ("not a token", "abc".to_string()),
    ] {
        let (status, v) = call(&app, get.clone(), path, Some(&t), None).await;
        assert_eq!((status, kind(&v)), (401, "UnauthorizedError"), "{what}");
    }
    // A Content API key, a staff cookie or a cookie-borne session are no
    // Admin API credentials.
    let cookie = crate::harness::staff_session_as(&app, "owner2@newsroom.example", "owner").await;
    let res = app
        .client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    // The site answers without a token.
    let (status, site) = call(&app, get.clone(), "/ghost/api/admin/site/", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(site["site"]["title"], "The Harbour Ledger");
    // A revoked integration's tokens stop at once.
    let list = masthead_store::api::list_integrations(app.state.db())
        .await
        .unwrap();
    keys::revoke(&app.state, Actor::OPERATOR, list[0].id)
        .await
        .unwrap();
    assert_eq!(
        call(&app, get, path, Some(&token(&k, "/admin/")), None)
            .await
            .0,
        401
    );
}

both!(posts_are_written_through_the_admin_api, Fixture::Demo);
async fn posts_are_written_through_the_admin_api(app: TestApp) {
    let k = admin_key(&app, "editor").await;
    let t = || token(&k, "/admin/");
    let content_key = keys::add(&app.state, Actor::OPERATOR, "Site", "editor")
        .await
        .unwrap()
        .content_key;
    use reqwest::Method;
    // Browse sees drafts and whole bodies (it is staff).
    let (status, all) = call(
        &app,
        Method::GET,
        "/ghost/api/admin/posts/?limit=all&formats=html",
        Some(&t()),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let text = all.to_string();
    assert!(text.contains(PAST_PREVIEW), "whole bodies for staff");
    assert!(all["posts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["status"] == "draft"));
    let (_, drafts) = call(
        &app,
        Method::GET,
        "/ghost/api/admin/posts/?filter=status:draft",
        Some(&t()),
        None,
    )
    .await;
    assert!(drafts["posts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["status"] == "draft"));
    assert!(!drafts["posts"].as_array().unwrap().is_empty());

    // Add from html: a draft, sanitized, tags made, not on the reader site.
    let (status, made) = call(
        &app,
        Method::POST,
        "/ghost/api/admin/posts/?source=html",
        Some(&t()),
        Some(json!({"posts": [{
            "title": "Tide gauge returns to the pier",
            "html": "<p>The gauge is back.</p><script>alert(1)</script><p onclick=\"x()\">Readings resume on Monday.</p>",
            "tags": ["Coast watch", {"slug": "transit"}],
            "custom_excerpt": "After a winter away.",
            "visibility": "paid",
        }]})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let post = &made["posts"][0];
    assert_eq!(post["status"], "draft");
    assert_eq!(post["slug"], "tide-gauge-returns-to-the-pier");
    let html = post["html"].as_str().unwrap();
    assert!(
        html.contains("The gauge is back.")
            && !html.contains("script")
            && !html.contains("onclick")
    );
    let tags: Vec<&str> = post["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["coast-watch", "transit"]);
    let id = post["id"].as_str().unwrap().to_string();
    let public = format!("/ghost/api/content/posts/{id}/?key={content_key}");
    assert_eq!(
        app.get(&public).await.status().as_u16(),
        404,
        "a draft is not public"
    );
    assert_eq!(
        app.get("/tide-gauge-returns-to-the-pier")
            .await
            .status()
            .as_u16(),
        404
    );
    // The same title again gets a unique slug.
    let (_, twin) = call(
        &app,
        Method::POST,
        "/ghost/api/admin/posts/?source=html",
        Some(&t()),
        Some(json!({"posts": [{"title": "Tide gauge returns to the pier", "html": "<p>Again.</p>"}]})),
    )
    .await;
    assert_eq!(twin["posts"][0]["slug"], "tide-gauge-returns-to-the-pier-2");
    // Without ?source=html Masthead does not guess at the body.
    let (status, v) = call(
        &app,
        Method::POST,
        "/ghost/api/admin/posts/",
        Some(&t()),
        Some(json!({"posts": [{"title": "X", "lexical": "{}"}]})),
    )
    .await;
    assert_eq!((status, kind(&v)), (422, "ValidationError"));

    // Edit: publish it, with the updated_at it was read at.
    let updated_at = post["updated_at"].as_str().unwrap().to_string();
    let (status, edited) = call(
        &app,
        Method::PUT,
        &format!("/ghost/api/admin/posts/{id}/"),
        Some(&t()),
        Some(json!({"posts": [{"status": "published", "updated_at": updated_at}]})),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["posts"][0]["status"], "published");
    assert_eq!(
        edited["posts"][0]["title"],
        "Tide gauge returns to the pier"
    );
    app.state.refresh_counters().await.unwrap();
    let res = app.get(&public).await;
    assert_eq!(
        res.status().as_u16(),
        200,
        "published: the Content API has it"
    );
    let page = app.get_text("/tide-gauge-returns-to-the-pier", 200).await;
    // Published for subscribers: the page is up, its body behind the gate.
    assert!(page.contains("Tide gauge returns to the pier"));
    assert!(!page.contains("Readings resume on Monday."));
    // A stale updated_at is Ghost's 409 and changes nothing.
    let (status, v) = call(
        &app,
        Method::PUT,
        &format!("/ghost/api/admin/posts/{id}/"),
        Some(&t()),
        Some(json!({"posts": [{"title": "Overwritten", "updated_at": updated_at}]})),
    )
    .await;
    assert_eq!((status, kind(&v)), (409, "UpdateCollisionError"));
    let (_, now) = call(
        &app,
        Method::GET,
        &format!("/ghost/api/admin/posts/{id}/"),
        Some(&t()),
        None,
    )
    .await;
    assert_eq!(now["posts"][0]["title"], "Tide gauge returns to the pier");
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("/ghost/api/admin/posts/{id}/"),
        Some(&t()),
        Some(json!({"posts": [{"title": "No date"}]})),
    )
    .await;
    assert_eq!(status, 422, "updated_at is required");

    // Delete: gone everywhere.
    let res = app
        .client
        .delete(app.url(&format!("/ghost/api/admin/posts/{id}/")))
        .header("authorization", format!("Ghost {}", t()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    app.state.refresh_counters().await.unwrap();
    assert_eq!(app.get(&public).await.status().as_u16(), 404);
    assert_eq!(
        app.get("/tide-gauge-returns-to-the-pier")
            .await
            .status()
            .as_u16(),
        404
    );
    let (status, v) = call(
        &app,
        Method::GET,
        &format!("/ghost/api/admin/posts/{id}/"),
        Some(&t()),
        None,
    )
    .await;
    assert_eq!((status, kind(&v)), (404, "NotFoundError"));
    let audit = masthead_store::newsroom::list_audit(app.state.db(), 20)
        .await
        .unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "article.delete" && e.staff_email.starts_with("integration:")));
}

both!(an_integrations_role_applies, Fixture::Demo);
async fn an_integrations_role_applies(app: TestApp) {
    use reqwest::Method;
    let c = admin_key(&app, "contributor").await;
    let t = token(&c, "/admin/");
    let (status, v) = call(
        &app,
        Method::POST,
        "/ghost/api/admin/posts/?source=html",
        Some(&t),
        Some(json!({"posts": [{"title": "A contributor's draft", "html": "<p>Draft.</p>"}]})),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = call(
        &app,
        Method::POST,
        "/ghost/api/admin/posts/?source=html",
        Some(&t),
        Some(json!({"posts": [{"title": "Straight to print", "html": "<p>Live.</p>", "status": "published"}]})),
    )
    .await;
    assert_eq!(
        (status, kind(&v)),
        (403, "NoPermissionError"),
        "a contributor cannot publish"
    );
    let id = v["posts"][0]["id"].as_str().unwrap_or("").to_string();
    assert!(id.is_empty());
    let a = admin_key(&app, "author").await;
    let (_, list) = call(
        &app,
        Method::GET,
        "/ghost/api/admin/posts/?limit=1",
        Some(&token(&a, "/admin/")),
        None,
    )
    .await;
    let someone_elses = list["posts"][0]["id"].as_str().unwrap().to_string();
    let res = app
        .client
        .delete(app.url(&format!("/ghost/api/admin/posts/{someone_elses}/")))
        .header("authorization", format!("Ghost {}", token(&a, "/admin/")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        403,
        "an author cannot delete another's post"
    );
}

both!(images_are_uploaded_into_the_media_library, Fixture::Demo);
async fn images_are_uploaded_into_the_media_library(app: TestApp) {
    let k = admin_key(&app, "author").await;
    let upload = |bytes: Vec<u8>, name: &'static str, auth: Option<String>| {
        // multipart/form-data as Ghost's client sends it.
        let boundary = "----masthead-test-boundary";
        let mut body = Vec::new();
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend_from_slice(&bytes);
        for (k, v) in [("purpose", "image"), ("ref", "lead-photo")] {
            body.extend_from_slice(
                format!(
                    "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut req = app
            .client
            .post(app.url("/ghost/api/admin/images/upload/"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        if let Some(t) = auth {
            req = req.header("authorization", format!("Ghost {t}"));
        }
        req.send()
    };
    let res = upload(
        crate::wordpress::png(640, 480, 90),
        "pier.png",
        Some(token(&k, "/admin/")),
    )
    .await
    .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let v: Value = res.json().await.unwrap();
    let url = v["images"][0]["url"].as_str().unwrap().to_string();
    assert_eq!(v["images"][0]["ref"], "lead-photo");
    assert!(url.starts_with(&format!("{}/media/", app.base)), "{url}");
    let image = app.client.get(&url).send().await.unwrap();
    assert_eq!(image.status().as_u16(), 200);
    // The pipeline keeps the original or a re-encoded copy: an image either way.
    assert!(image.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("image/"));
    // It can lead a post written next.
    let (status, made) = call(
        &app,
        reqwest::Method::POST,
        "/ghost/api/admin/posts/?source=html",
        Some(&token(&k, "/admin/")),
        Some(json!({"posts": [{"title": "Pier at dusk", "html": "<p>Quiet.</p>", "feature_image": url, "feature_image_alt": "The pier under an orange sky"}]})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["posts"][0]["feature_image"], url.as_str());
    assert_eq!(
        made["posts"][0]["feature_image_alt"],
        "The pier under an orange sky"
    );
    // Not an image, an SVG, no token: refused, nothing stored.
    let before = masthead_store::media::list_media(app.state.db(), 100_000)
        .await
        .unwrap()
        .len();
    let res = upload(
        b"just some text".to_vec(),
        "notes.txt",
        Some(token(&k, "/admin/")),
    )
    .await
    .unwrap();
    assert_eq!(res.status().as_u16(), 415);
    let v: Value = res.json().await.unwrap();
    assert_eq!(kind(&v), "UnsupportedMediaTypeError");
    let svg =
        br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec();
    assert_eq!(
        upload(svg, "x.svg", Some(token(&k, "/admin/")))
            .await
            .unwrap()
            .status()
            .as_u16(),
        415
    );
    assert_eq!(
        upload(crate::wordpress::png(10, 10, 1), "a.png", None)
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        masthead_store::media::list_media(app.state.db(), 100_000)
            .await
            .unwrap()
            .len(),
        before
    );
}

both!(tags_are_managed_through_the_admin_api, Fixture::Demo);
async fn tags_are_managed_through_the_admin_api(app: TestApp) {
    use reqwest::Method;
    let k = admin_key(&app, "editor").await;
    let t = || token(&k, "/admin/");
    let (status, made) = call(
        &app,
        Method::POST,
        "/ghost/api/admin/tags/",
        Some(&t()),
        Some(
            json!({"tags": [{"name": "Harbour works", "description": "Dredging, piers, walls."}]}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let tag = &made["tags"][0];
    assert_eq!(tag["slug"], "harbour-works");
    let id = tag["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.get("/topics/harbour-works").await.status().as_u16(),
        200
    );
    for (body, why) in [
        (json!({"tags": [{"name": "Harbour works"}]}), "a taken slug"),
        (json!({"tags": [{"name": "#internal"}]}), "an internal tag"),
        (json!({"tags": [{"name": " "}]}), "no name"),
        (json!({"nothing": []}), "no tags"),
    ] {
        let (status, v) = call(
            &app,
            Method::POST,
            "/ghost/api/admin/tags/",
            Some(&t()),
            Some(body),
        )
        .await;
        assert_eq!((status, kind(&v)), (422, "ValidationError"), "{why}");
    }
    let (status, edited) = call(
        &app,
        Method::PUT,
        &format!("/ghost/api/admin/tags/{id}/"),
        Some(&t()),
        Some(json!({"tags": [{"name": "Harbour and pier works"}]})),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["tags"][0]["name"], "Harbour and pier works");
    assert_eq!(edited["tags"][0]["id"], id.as_str());
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("/ghost/api/admin/tags/{id}/"),
        Some(&t()),
        Some(json!({"tags": [{"slug": "moved"}]})),
    )
    .await;
    assert_eq!(status, 422, "a slug does not move");
    let (_, list) = call(
        &app,
        Method::GET,
        "/ghost/api/admin/tags/?include=count.posts&limit=all",
        Some(&t()),
        None,
    )
    .await;
    assert!(list["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["slug"] == "harbour-works"));
    // A tag in use: deleting it unlinks its articles, which stay.
    let (_, transit) = call(
        &app,
        Method::GET,
        "/ghost/api/admin/tags/slug/transit/",
        Some(&t()),
        None,
    )
    .await;
    let transit_id = transit["tags"][0]["id"].as_str().unwrap().to_string();
    let res = app
        .client
        .delete(app.url(&format!("/ghost/api/admin/tags/{transit_id}/")))
        .header("authorization", format!("Ghost {}", t()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    app.state.refresh_counters().await.unwrap();
    assert_eq!(app.get("/topics/transit").await.status().as_u16(), 404);
    assert_eq!(
        app.get("/bus-network-redesign-approved")
            .await
            .status()
            .as_u16(),
        200
    );
    // A contributor may not manage tags.
    let c = admin_key(&app, "contributor").await;
    let (status, v) = call(
        &app,
        Method::POST,
        "/ghost/api/admin/tags/",
        Some(&token(&c, "/admin/")),
        Some(json!({"tags": [{"name": "Nope"}]})),
    )
    .await;
    assert_eq!((status, kind(&v)), (403, "NoPermissionError"));
}

both!(pages_are_written_through_the_admin_api, Fixture::Demo);
async fn pages_are_written_through_the_admin_api(app: TestApp) {
    use reqwest::Method;
    let k = admin_key(&app, "administrator").await;
    let t = || token(&k, "/admin/");
    let (status, list) = call(
        &app,
        Method::GET,
        "/ghost/api/admin/pages/",
        Some(&t()),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(list["pages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["slug"] == "terms"));
    let (status, made) = call(
        &app,
        Method::POST,
        "/ghost/api/admin/pages/?source=html",
        Some(&t()),
        Some(json!({"pages": [{"title": "Corrections policy", "html": "<p>We correct errors openly.</p><script>x()</script>"}]})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let page = &made["pages"][0];
    assert_eq!(page["slug"], "corrections-policy");
    assert!(!page["html"].as_str().unwrap().contains("script"));
    let text = app.get_text("/pages/corrections-policy", 200).await;
    assert!(text.contains("We correct errors openly."));
    let id = page["id"].as_str().unwrap().to_string();
    let read_at = page["updated_at"].as_str().unwrap().to_string();
    let (status, edited) = call(
        &app,
        Method::PUT,
        &format!("/ghost/api/admin/pages/{id}/?source=html"),
        Some(&t()),
        Some(json!({"pages": [{"updated_at": read_at, "html": "<p>We correct every error openly, at the foot of the article.</p>"}]})),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    app.state.refresh_counters().await.unwrap();
    assert!(app
        .get_text("/pages/corrections-policy", 200)
        .await
        .contains("at the foot of the article"));
    // A second edit from the first read is a collision.
    let (status, v) = call(
        &app,
        Method::PUT,
        &format!("/ghost/api/admin/pages/{id}/"),
        Some(&t()),
        Some(json!({"pages": [{"updated_at": read_at, "title": "Stale"}]})),
    )
    .await;
    assert_eq!((status, kind(&v)), (409, "UpdateCollisionError"));
    let res = app
        .client
        .delete(app.url(&format!("/ghost/api/admin/pages/{id}/")))
        .header("authorization", format!("Ghost {}", t()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        422,
        "pages are not deleted (consent records name them)"
    );
    // Pages are the administrators' (as in the newsroom).
    let e = admin_key(&app, "editor").await;
    let (status, v) = call(
        &app,
        Method::POST,
        "/ghost/api/admin/pages/?source=html",
        Some(&token(&e, "/admin/")),
        Some(json!({"pages": [{"title": "Nope", "html": "<p>x</p>"}]})),
    )
    .await;
    assert_eq!((status, kind(&v)), (403, "NoPermissionError"));
}
