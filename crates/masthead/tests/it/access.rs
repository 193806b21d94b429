//! The paywall on a real server: the anonymous meter, the registration
//! wall, subscriber-only articles, sign-up from the offer box, the members'
//! meter, staff, and the channels that never spend a meter.

use crate::both;
use crate::harness::{
    article_id, member_session, meter_cookie, outbox, staff_session, Browser, Fixture, TestApp,
};

// Metered (news and analysis by default, or access = "metered").
const M1: &str = "/council-approves-harbour-seawall-plan";
const M2: &str = "/bus-network-redesign-approved";
const M3: &str = "/falling-enrolment-smallest-schools";
const M4: &str = "/ferry-reliability-report";
const M5: &str = "/island-ferry-fares-rise-january";
const M6: &str = "/school-board-delays-catchment-changes";
const M7: &str = "/cannery-wharf-co-operative-bid-chosen";
const REGISTERED: &str = "/what-rent-stabilisation-would-change";
const SUBSCRIBERS: &str = "/bus-redesign-winners-and-losers";
const FREE: &str = "/central-library-sunday-hours-return";

fn has_offer(html: &str) -> bool {
    html.contains("class=\"offer\"")
}

both!(
    the_anonymous_meter_allows_n_articles_then_shows_the_offer,
    Fixture::Demo
);
async fn the_anonymous_meter_allows_n_articles_then_shows_the_offer(app: TestApp) {
    let mut b = Browser::new(&app);
    // HEAD and prefetches never count.
    for p in [M1, M2, M3] {
        let head = app.client.head(app.url(p)).send().await.unwrap();
        assert_eq!(head.status().as_u16(), 200);
        assert!(
            head.headers().get("set-cookie").is_none(),
            "HEAD {p} set a cookie"
        );
        let pre = b.get_with(p, &[("sec-purpose", "prefetch")]).await;
        assert_eq!(
            pre.status().as_u16(),
            503,
            "a prefetch that would count is declined"
        );
    }
    assert!(b.jar.is_empty(), "nothing counted yet: {:?}", b.jar);
    assert!(!has_offer(&b.page(M1).await));
    assert!(b.jar.contains_key("masthead_meter"));
    assert!(!has_offer(&b.page(M2).await));
    // Re-reading never counts again.
    assert!(!has_offer(&b.page(M1).await));
    let free = b.page(FREE).await;
    assert!(!has_offer(&free), "free articles never spend the meter");
    let third = b.page(M3).await;
    assert!(has_offer(&third), "the third metered article is a preview");
    assert!(third.contains("You have read your 2 free articles"));
    assert!(third.contains("Subscribe for unlimited access"));
    assert!(
        third.contains("$14 monthly or $100 annually ($8.33/month)"),
        "computed prices"
    );
    assert!(third.contains("all 10 of our newsletters"));
    assert!(third.contains("news, analysis, memos, reports, events"));
    assert!(third.contains("continue reading this article for free"));
    assert!(third.contains("action=\"/signup\""));
    assert!(
        third.contains("Terms</a> (version 1)") && third.contains("Privacy Policy</a> (version 1)")
    );
    assert!(third.contains("Already have an account?"));
    // Still readable: the two counted ones.
    assert!(!has_offer(&b.page(M2).await));
    // A forged or oversized cookie is a fresh meter, never an error.
    for bad in [
        "masthead_meter=v1.xx.yy.zz",
        &format!("masthead_meter={}", "a".repeat(3000)),
    ] {
        let mut f = Browser::with_cookie(&app, bad);
        assert!(!has_offer(&f.page(M3).await), "{bad:.40}");
    }
}

both!(
    signing_up_from_the_offer_box_unlocks_that_article_and_carries_the_meter,
    Fixture::Demo
);
async fn signing_up_from_the_offer_box_unlocks_that_article_and_carries_the_meter(app: TestApp) {
    let mut b = Browser::new(&app);
    b.page(M1).await;
    b.page(M2).await;
    assert!(has_offer(&b.page(M3).await));
    let id = article_id(&app, M3.trim_start_matches('/'))
        .await
        .to_string();
    let res = b
        .post(
            "/signup",
            &[
                ("email", "new.reader@example.org"),
                ("return_to", M3),
                ("article", &id),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], M3);
    assert!(b.jar.contains_key("masthead_session"));
    assert!(
        !b.jar.contains_key("masthead_meter"),
        "the anonymous meter moved to the server"
    );
    let full = b.page(M3).await;
    assert!(!has_offer(&full), "the article signed up from is unlocked");
    // The two anonymous views count against M = 5: three more, then the wall.
    for p in [M4, M5, M6] {
        assert!(!has_offer(&b.page(p).await), "{p} within the member meter");
    }
    assert!(!has_offer(&b.page(M1).await), "re-reading stays free");
    let spent = b.page(M7).await;
    assert!(
        has_offer(&spent),
        "past M the member is offered a subscription"
    );
    assert!(spent.contains("You have read your 5 free articles"));
    assert!(
        !spent.contains("action=\"/signup\""),
        "a member is not offered a sign-up"
    );
    assert!(spent.contains("Subscribe for unlimited access"));
    // Consent was recorded with the page versions; a verification email went out.
    let mails = outbox(&app).await;
    assert!(mails
        .iter()
        .any(|m| m.contains("To: new.reader@example.org") && m.contains("/account/verify/")));
    let export =
        masthead_store::members::find_member_by_email(app.state.db(), "new.reader@example.org")
            .await
            .unwrap()
            .unwrap()
            .0;
    let data = masthead_store::members::export_member(app.state.db(), export.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        data["consents"].as_array().map(|a| a.len()),
        Some(2),
        "{data}"
    );
    // Funnel: views, offers and the sign-up were counted and flushed.
    app.state.funnel().flush(app.state.db()).await.unwrap();
    let t = masthead_store::members::find_funnel_totals(app.state.db(), id.parse().unwrap())
        .await
        .unwrap();
    let (offers, signups) = (t.offers_shown, t.signups);
    assert!(
        offers >= 1 && signups == 1,
        "offers {offers}, signups {signups}"
    );
    let views = masthead_store::members::find_funnel_totals(
        app.state.db(),
        article_id(&app, M1.trim_start_matches('/')).await,
    )
    .await
    .unwrap()
    .metered_views;
    assert!(views >= 2, "metered views {views}");
}

both!(
    a_taken_address_gets_the_same_answer_and_its_owner_an_email,
    Fixture::Demo
);
async fn a_taken_address_gets_the_same_answer_and_its_owner_an_email(app: TestApp) {
    let (_, _) = member_session(&app, "owner@example.org", false).await;
    let id = article_id(&app, M3.trim_start_matches('/'))
        .await
        .to_string();
    let shape = |res: &reqwest::Response| {
        let cookies: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| {
                let s = v.to_str().unwrap_or_default();
                let (name, rest) = s.split_once('=').unwrap_or_default();
                format!(
                    "{name}; {}",
                    rest.split_once(';').map(|x| x.1).unwrap_or_default()
                )
            })
            .collect();
        (
            res.status().as_u16(),
            res.headers().get("location").cloned(),
            cookies,
        )
    };
    let mut fresh = Browser::new(&app);
    let a = fresh
        .post(
            "/signup",
            &[
                ("email", "someone.new@example.org"),
                ("return_to", M3),
                ("article", &id),
            ],
        )
        .await;
    let mut taken = Browser::new(&app);
    let b = taken
        .post(
            "/signup",
            &[
                ("email", "Owner@Example.org"),
                ("return_to", M3),
                ("article", &id),
            ],
        )
        .await;
    assert_eq!(
        shape(&a),
        shape(&b),
        "status, location and cookies do not tell the two apart"
    );
    // Both unlock the article; neither shows account data.
    for br in [&mut fresh, &mut taken] {
        assert!(!has_offer(&br.page(M3).await));
        let account = br.page("/account").await;
        assert!(account.contains("Check your email"));
        assert!(
            !account.contains("owner@example.org") && !account.contains("someone.new@example.org")
        );
    }
    // The existing account was not signed in to: the taken-address session is not the owner's.
    let mails = outbox(&app).await;
    let to_owner: Vec<_> = mails
        .iter()
        .filter(|m| m.to_lowercase().contains("to: owner@example.org"))
        .collect();
    assert_eq!(to_owner.len(), 1);
    assert!(to_owner[0].contains("already have an account"));
    assert!(mails
        .iter()
        .any(|m| m.contains("To: someone.new@example.org") && m.contains("Confirm")));
    // Log-in link and reset requests answer the same for unknown addresses.
    let mut x = Browser::new(&app);
    let known = x.ask_log_in_link("owner@example.org").await;
    let unknown = x.ask_log_in_link("nobody@example.org").await;
    assert_eq!(known.status(), unknown.status());
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    let known = x.ask_password_reset("owner@example.org").await;
    let unknown = x.ask_password_reset("nobody@example.org").await;
    assert_eq!(known.status(), unknown.status());
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
}

both!(levels_grants_and_staff, Fixture::Demo);
async fn levels_grants_and_staff(app: TestApp) {
    let mut anon = Browser::new(&app);
    let reg = anon.page(REGISTERED).await;
    assert!(has_offer(&reg) && reg.contains("This article is free with an account"));
    assert!(reg.contains("action=\"/signup\""));
    let sub = anon.page(SUBSCRIBERS).await;
    assert!(has_offer(&sub) && sub.contains("This article is for subscribers"));
    assert!(
        !sub.contains("action=\"/signup\""),
        "no free path to a subscriber-only article"
    );
    assert!(anon.jar.is_empty(), "previews spend nothing");

    let (cookie, _) = member_session(&app, "member@example.org", false).await;
    let mut member = Browser::with_cookie(&app, &cookie);
    assert!(
        !has_offer(&member.page(REGISTERED).await),
        "members read registered articles"
    );
    assert!(has_offer(&member.page(SUBSCRIBERS).await));

    let (cookie, _) = member_session(&app, "subscriber@example.org", true).await;
    let mut subscriber = Browser::with_cookie(&app, &cookie);
    for p in [SUBSCRIBERS, REGISTERED, M1, M2, M3, M4, M5, M6] {
        assert!(
            !has_offer(&subscriber.page(p).await),
            "a subscriber reads {p}"
        );
    }

    let cookie = staff_session(&app, "editor@example.org").await;
    let mut staff = Browser::with_cookie(&app, &cookie);
    for p in [SUBSCRIBERS, REGISTERED, M1, M2, M3, M4] {
        assert!(!has_offer(&staff.page(p).await), "staff read {p}");
    }
    assert!(
        !staff.jar.contains_key("masthead_meter"),
        "staff views are not counted"
    );

    // An expired grant is no grant.
    let (cookie, id) = member_session(&app, "lapsed@example.org", false).await;
    let now = jiff::Timestamp::now().as_second();
    masthead_store::members::insert_grant(
        app.state.db(),
        id,
        "comp",
        now - 100,
        Some(now - 10),
        "",
        now,
    )
    .await
    .unwrap();
    let mut lapsed = Browser::with_cookie(&app, &cookie);
    assert!(has_offer(&lapsed.page(SUBSCRIBERS).await));
}

both!(
    structured_data_marks_paywalled_articles_for_every_viewer,
    Fixture::Demo
);
async fn structured_data_marks_paywalled_articles_for_every_viewer(app: TestApp) {
    let (cookie, _) = member_session(&app, "ld@example.org", true).await;
    let mut subscriber = Browser::with_cookie(&app, &cookie);
    let mut anon = Browser::with_cookie(&app, &meter_cookie(&app, &[1, 2]));
    for p in [SUBSCRIBERS, M1] {
        let full = subscriber.page(p).await;
        assert!(full.contains("\"isAccessibleForFree\":false"), "{p}");
        assert!(
            full.contains("\"cssSelector\":\".article-body\""),
            "full page names the gated part"
        );
        let preview = anon.page(p).await;
        assert!(has_offer(&preview), "{p}");
        assert!(preview.contains("\"isAccessibleForFree\":false"));
        assert!(
            !preview.contains("cssSelector"),
            "the gated part is not on a preview page"
        );
    }
    let free = anon.page(FREE).await;
    assert!(free.contains("\"isAccessibleForFree\":true"));
}

both!(
    cross_site_posts_and_missing_form_tokens_are_refused,
    Fixture::Demo
);
async fn cross_site_posts_and_missing_form_tokens_are_refused(app: TestApp) {
    let mut b = Browser::new(&app);
    let evil = b
        .post_with(
            "/signup",
            &[("email", "x@example.org")],
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(evil.status().as_u16(), 403);
    let evil = b
        .post_with(
            "/login",
            &[("email", "x@example.org")],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(evil.status().as_u16(), 403);
    assert!(evil.text().await.unwrap().contains("another site"));
    let (cookie, _) = member_session(&app, "csrf@example.org", false).await;
    let mut m = Browser::with_cookie(&app, &cookie);
    let res = m.post("/logout", &[("csrf", "wrong")]).await;
    assert_eq!(res.status().as_u16(), 403);
    let res = m.post("/logout", &[]).await;
    assert_eq!(res.status().as_u16(), 403);
    assert!(m.jar.contains_key("masthead_session"), "still signed in");
    // Malformed forms are clear 4xx pages, never 500s.
    let res = b.post("/signup", &[("email", "not an email")]).await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("name@example.com"));
    let res = app
        .client
        .post(app.url("/signup"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0x00])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    // Return-to addresses stay on this site.
    let res = b
        .post(
            "/signup",
            &[
                ("email", "ret@example.org"),
                ("return_to", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/account");
}

both!(
    repeated_attempts_are_answered_429_with_retry_after,
    Fixture::Demo
);
async fn repeated_attempts_are_answered_429_with_retry_after(app: TestApp) {
    let (_, _) = member_session(&app, "target@example.org", false).await;
    let mut b = Browser::new(&app);
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let res = b.log_in("target@example.org", "wrong password").await;
        statuses.push(res.status().as_u16());
        if res.status().as_u16() == 429 {
            assert!(
                res.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse::<i64>()
                    .unwrap()
                    > 0
            );
            assert!(res.text().await.unwrap().contains("too many attempts"));
        }
    }
    assert_eq!(&statuses[..6], &[401; 6], "{statuses:?}");
    assert!(statuses[6..].iter().all(|s| *s == 429), "{statuses:?}");
}
