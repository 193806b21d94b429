//! The newsroom under /admin: the role table enforced on every page, the
//! dashboard's funnel after real reader traffic, members (search, record,
//! complimentary access, deletion, CSV export), plans, and the audit log.

use crate::both;
use crate::harness::{member_session, Browser, Fixture, TestApp};
use masthead_core::members::Role;
use masthead_core::newsroom::{allowed, Action};

const GATED: &str = "/bus-redesign-winners-and-losers";

use crate::harness::staff_browser as staff;

both!(every_role_reaches_exactly_its_pages, Fixture::Demo);
async fn every_role_reaches_exactly_its_pages(app: TestApp) {
    // Nobody signed in: to the log-in page.
    let res = Browser::new(&app).get("/admin/members").await;
    assert_eq!(
        (
            res.status().as_u16(),
            res.headers()["location"].to_str().unwrap()
        ),
        (303, "/admin/login")
    );
    let pages = [
        ("/admin/members", Action::Members),
        ("/admin/plans", Action::Plans),
        ("/admin/audit", Action::AuditLog),
    ];
    for role in Role::ALL {
        let (mut b, _) = staff(&app, role.as_str()).await;
        let home = b.get("/admin").await;
        assert_eq!(home.status().as_u16(), 200, "{role:?} /admin");
        assert_eq!(home.headers()["cache-control"], "no-store");
        let html = home.text().await.unwrap();
        assert_eq!(
            html.contains("Reader revenue"),
            allowed(role, Action::Dashboard),
            "{role:?} dashboard figures"
        );
        for (path, action) in pages {
            let status = b.get_status(path).await;
            let want = if allowed(role, action) { 200 } else { 403 };
            assert_eq!(status, want, "{role:?} {path}");
            assert_eq!(
                html.contains(&format!("href=\"{path}\"")),
                allowed(role, action),
                "{role:?} nav shows {path}"
            );
        }
    }
}

both!(
    the_dashboard_shows_the_funnel_after_reader_traffic,
    Fixture::Demo
);
async fn the_dashboard_shows_the_funnel_after_reader_traffic(app: TestApp) {
    // Scripted traffic: an anonymous reader meets the meter and signs up
    // from the offer box of a metered article.
    let mut reader = Browser::new(&app);
    let metered = [
        "/council-approves-harbour-seawall-plan",
        "/bus-network-redesign-approved",
        "/falling-enrolment-smallest-schools",
    ];
    for path in metered {
        reader.page(path).await;
    }
    assert!(reader.page(metered[2]).await.contains("class=\"offer\""));
    let article = crate::harness::article_id(&app, metered[2].trim_start_matches('/')).await;
    let res = reader
        .post(
            "/signup",
            &[
                ("email", "wall@example.org"),
                ("return_to", metered[2]),
                ("article", &article.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let (mut editor, _) = staff(&app, "editor").await;
    let html = editor.page("/admin").await;
    assert!(html.contains("Reader revenue, last 30 days"));
    for name in [
        "Metered article views",
        "Offer boxes shown",
        "Sign-ups from the wall",
        "Checkouts started",
        "New subscriptions",
        "Cancellations",
    ] {
        assert!(
            html.contains(&format!("aria-label=\"{name}: ")),
            "a chart of {name}"
        );
    }
    assert!(
        html.contains("aria-label=\"Metered article views: 2 in 30 days"),
        "two metered views counted"
    );
    assert!(html.contains("aria-label=\"Sign-ups from the wall: 1 in 30 days"));
    assert!(
        html.contains(&format!("href=\"{}\"", metered[2])),
        "the article's row"
    );
    assert!(
        html.contains("<svg") && !html.contains("style="),
        "server-rendered SVG, no inline styles"
    );
    // One article's funnel, day by day.
    let one = editor
        .page(&format!("/admin/dashboard/articles/{article}"))
        .await;
    assert!(
        one.contains("aria-label=\"Sign-ups from the wall: 1 in 30 days"),
        "{one}"
    );
    let other = crate::harness::article_id(&app, metered[0].trim_start_matches('/')).await;
    let page = editor
        .page(&format!("/admin/dashboard/articles/{other}"))
        .await;
    assert!(
        page.contains("aria-label=\"Sign-ups from the wall: 0 in 30 days"),
        "only that article's counts"
    );
    let (mut author, _) = staff(&app, "author").await;
    assert_eq!(
        author
            .get_status(&format!("/admin/dashboard/articles/{article}"))
            .await,
        403
    );
}

both!(
    administrators_manage_members_with_an_audit_trail,
    Fixture::Demo
);
async fn administrators_manage_members_with_an_audit_trail(app: TestApp) {
    let (_, m) = member_session(&app, "reader@example.org", false).await;
    masthead_store::members::ensure_member(
        app.state.db(),
        "=HYPERLINK(\"x\")@example.org",
        "=hyperlink(\"x\")@example.org",
        1,
    )
    .await
    .unwrap();
    let (mut admin, _) = staff(&app, "administrator").await;
    // Search and filters.
    let list = admin.page("/admin/members?q=reader").await;
    assert!(list.contains("reader@example.org") && !list.contains("HYPERLINK"));
    assert!(admin
        .page("/admin/members?filter=paid")
        .await
        .contains("0 members"));
    // Complimentary access: the reader can read the gated article.
    let mut reader = Browser::with_cookie(
        &app,
        &member_session(&app, "other@example.org", false).await.0,
    );
    let res = admin.grant_comp(m, "2099-06-30", "press").await;
    assert_eq!(res.status().as_u16(), 303);
    let grants = masthead_store::members::list_grants(app.state.db(), m)
        .await
        .unwrap();
    assert_eq!(grants.iter().filter(|g| g.source == "comp").count(), 1);
    assert!(admin
        .page("/admin/members?filter=comp")
        .await
        .contains("reader@example.org"));
    let record = admin.page(&format!("/admin/members/{m}")).await;
    assert!(record.contains("comp") && record.contains("press") && record.contains("valid"));
    // Bad input: a past day, a forged form.
    let res = admin.grant_comp(m, "2001-01-01", "").await;
    assert_eq!(res.status().as_u16(), 422);
    let res = admin
        .post(
            &format!("/admin/members/{m}/comp"),
            &[("csrf", "forged"), ("until", "2099-01-01")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 403);
    // Revoke.
    admin.revoke_comp(m).await;
    let now = jiff::Timestamp::now().as_second();
    let grants = masthead_store::members::list_grants(app.state.db(), m)
        .await
        .unwrap();
    assert!(
        grants
            .iter()
            .all(|g| g.valid_until.is_some_and(|u| u <= now)),
        "ended: {grants:?}"
    );
    // CSV: neutralised cells; an editor may not export.
    let res = admin.send("/admin/members/export.csv", &[]).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("id,email,verified,created_at,access,newsletters\r\n"));
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"x\"\")@example.org\""),
        "{csv}"
    );
    assert!(!csv.contains(",=HYPERLINK"), "no cell starts with =");
    let (mut editor, _) = staff(&app, "editor").await;
    assert_eq!(
        editor.send_status("/admin/members/export.csv", &[]).await,
        403
    );
    // Deletion.
    let res = admin.delete_member(m).await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(masthead_store::members::find_member(app.state.db(), m)
        .await
        .unwrap()
        .is_none());
    // Everything above is in the audit log, newest first.
    let audit = admin.page("/admin/audit").await;
    for action in [
        "member.delete",
        "members.export",
        "comp.revoke",
        "comp.grant",
    ] {
        assert!(audit.contains(action), "{action} in the audit log");
    }
    assert!(audit.contains("administrator@newsroom.example"));
    let _ = reader.page(GATED).await;
}

both!(
    administrators_manage_plans_and_the_offer_follows,
    Fixture::Demo
);
async fn administrators_manage_plans_and_the_offer_follows(app: TestApp) {
    let (mut admin, csrf) = staff(&app, "administrator").await;
    let form = |slug: &'static str, amount: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("csrf", csrf.clone()),
            ("slug", slug.to_string()),
            ("name", "Student".to_string()),
            ("interval", "year".to_string()),
            ("amount", amount.to_string()),
            ("currency", "USD".to_string()),
            ("trial_days", String::new()),
            ("includes", "Every article\nAll newsletters".to_string()),
        ]
    };
    let res = post_form(&mut admin, form("student", "50")).await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(
        app.get_text("/subscribe", 200).await.contains("$50"),
        "the offer follows at once"
    );
    assert!(admin.page("/admin/plans").await.contains("Student"));
    // Bad input: an amount with too many decimals; a changed price.
    let res = post_form(&mut admin, form("student-2", "12.345")).await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("not an amount in USD"));
    let res = post_form(&mut admin, form("student", "60")).await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("a new price is a new plan"));
    // Archive and offer again.
    admin.send("/admin/plans/student/archive", &[]).await;
    assert!(!app.get_text("/subscribe", 200).await.contains("$50"));
    admin.send("/admin/plans/student/activate", &[]).await;
    assert!(app.get_text("/subscribe", 200).await.contains("$50"));
    let audit = admin.page("/admin/audit").await;
    assert!(
        audit.contains("plan.save")
            && audit.contains("plan.archive")
            && audit.contains("plan.activate")
    );
    // An editor may not.
    let (mut editor, _) = staff(&app, "editor").await;
    assert_eq!(
        editor
            .send_status("/admin/plans/student/archive", &[])
            .await,
        403
    );
}

async fn post_form(b: &mut Browser<'_>, f: Vec<(&'static str, String)>) -> reqwest::Response {
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post("/admin/plans", &refs).await
}

both!(editors_send_newsletters_from_the_newsroom, Fixture::Demo);
async fn editors_send_newsletters_from_the_newsroom(app: TestApp) {
    let db = app.state.db();
    let n = masthead_store::newsletters::find_by_slug(db, "morning-ledger")
        .await
        .unwrap()
        .unwrap();
    let (_, m) = member_session(&app, "nl-reader@example.org", false).await;
    let mut tx = db.begin().await.unwrap();
    masthead_store::newsletters::subscribe(&mut tx, m, n.id, "test", 1)
        .await
        .unwrap();
    masthead_store::commit(tx).await.unwrap();
    let article = crate::harness::article_id(&app, GATED.trim_start_matches('/'))
        .await
        .to_string();
    let (mut editor, _) = staff(&app, "editor").await;
    let page = editor.page("/admin/newsletters").await;
    assert!(page.contains("The Morning Ledger") && page.contains("Send a test to me"));
    // A test to oneself first (no SMTP here: the outbox), nothing stored.
    let res = editor
        .send_newsletter(&n.id.to_string(), &article, "test")
        .await;
    assert_eq!(res.headers()["location"], "/admin/newsletters?tested=1");
    assert!(editor
        .page("/admin/newsletters?tested=1")
        .await
        .contains("A test was sent to editor@newsroom.example"));
    let outbox: Vec<String> = std::fs::read_dir(app.state.config().data_dir.join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        outbox.iter().any(|f| f.starts_with("newsletter-test-")),
        "{outbox:?}"
    );
    assert!(masthead_store::newsletters::list_sends(db, 5)
        .await
        .unwrap()
        .is_empty());
    // The same from the article's editor: a test returns there.
    let edit = format!("/admin/articles/{article}");
    assert!(editor.page(&edit).await.contains("Send it as a newsletter"));
    let res = editor
        .send(
            "/admin/newsletters/send",
            &[
                ("newsletter", &n.id.to_string()),
                ("article", &article),
                ("action", "test"),
                ("from", "editor"),
            ],
        )
        .await;
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("{edit}?tested=1")
    );
    assert!(editor
        .page(&format!("{edit}?tested=1"))
        .await
        .contains("A test was sent to editor@newsroom.example"));
    assert!(masthead_store::newsletters::list_sends(db, 5)
        .await
        .unwrap()
        .is_empty());
    // The send itself; the server's sender (run here by hand) sends it.
    let res = editor
        .send_newsletter(&n.id.to_string(), &article, "send")
        .await;
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/admin/sends/"), "{to}");
    assert!(
        editor.page(&to).await.contains("http-equiv=\"refresh\""),
        "follows itself while it runs"
    );
    masthead::newsletters::sender::run_due(&app.state)
        .await
        .unwrap();
    let done = editor.page(&to).await;
    assert!(
        done.contains("1 sent, 0 failed, 0 waiting of 1")
            && !done.contains("http-equiv=\"refresh\""),
        "{done}"
    );
    // Contributors may not; forged forms are refused.
    let (mut contributor, _) = staff(&app, "contributor").await;
    assert_eq!(contributor.get_status("/admin/newsletters").await, 403);
    assert_eq!(
        contributor
            .send_newsletter("1", &article, "")
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        editor
            .post_status(
                "/admin/newsletters/send",
                &[
                    ("csrf", "forged"),
                    ("newsletter", "1"),
                    ("article", &article)
                ]
            )
            .await,
        403
    );
    assert_eq!(
        editor
            .send_newsletter("x", &article, "")
            .await
            .status()
            .as_u16(),
        400
    );
}

fn article_form<'a>(
    csrf: &'a str,
    revision: &'a str,
    body: &'a str,
    action: &'a str,
) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_string()),
        ("revision", revision.to_string()),
        (
            "headline",
            "Ferry timetable to change in spring".to_string(),
        ),
        (
            "standfirst",
            "Fewer early sailings, more in the evening.".to_string(),
        ),
        ("dateline", "PORT ALDER".to_string()),
        ("slug", String::new()),
        ("content_type", "news".to_string()),
        ("access_level", "subscribers".to_string()),
        ("topics", "transit".to_string()),
        ("authors", "callum-ashdown".to_string()),
        ("body", body.to_string()),
        ("publish_at", String::new()),
        ("action", action.to_string()),
    ]
}

async fn post_article(
    b: &mut Browser<'_>,
    path: &str,
    f: Vec<(&'static str, String)>,
) -> reqwest::Response {
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(path, &refs).await
}

const BODY: &str = "The first paragraph, for everyone.\n\n<!-- paywall -->\n\nOnlyForSubscribers2Q9 in the second.\n\n<script>alert('x')</script>\n\nThe third.";

both!(
    the_editor_writes_previews_and_publishes_by_role,
    Fixture::Demo
);
async fn the_editor_writes_previews_and_publishes_by_role(app: TestApp) {
    let db = app.state.db();
    let (mut contributor, ccsrf) = staff(&app, "contributor").await;
    // A contributor writes a draft; the server renders and sanitizes it.
    let res = post_article(
        &mut contributor,
        "/admin/articles/new",
        article_form(&ccsrf, "", BODY, "save"),
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let edit = res.headers()["location"]
        .to_str()
        .unwrap()
        .trim_end_matches("?saved=1")
        .to_string();
    let id: i64 = edit.rsplit('/').next().unwrap().parse().unwrap();
    let a = masthead_store::content::find_article_by_id(db, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.status.as_str(), a.slug.as_str(), a.preview_blocks),
        ("draft", "ferry-timetable-to-change-in-spring", Some(1))
    );
    let full = masthead_store::content::find_body(db, &a.facts(), masthead_core::Decision::Full)
        .await
        .unwrap();
    assert!(
        full.blocks.iter().all(|b| !b.contains("<script")),
        "sanitized: {:?}",
        full.blocks
    );
    assert!(
        app.get(&format!("/{}", a.slug)).await.status().as_u16() == 404,
        "a draft is not on the site"
    );
    // Previews show where the paywall cuts.
    let anon = contributor
        .page(&format!("/admin/articles/{id}/preview?as=anonymous"))
        .await;
    assert!(
        anon.contains("The first paragraph")
            && !anon.contains("OnlyForSubscribers2Q9")
            && anon.contains("The paywall cuts here: this reader gets 1 of")
    );
    let paid = contributor
        .page(&format!("/admin/articles/{id}/preview?as=subscriber"))
        .await;
    assert!(paid.contains("OnlyForSubscribers2Q9") && paid.contains("gets the whole article"));
    // A contributor cannot publish.
    let page = contributor.page(&edit).await;
    assert!(
        !page.contains("value=\"publish\""),
        "no publish button for a contributor"
    );
    let rev = a.revision.to_string();
    let res = post_article(
        &mut contributor,
        &edit,
        article_form(&ccsrf, &rev, BODY, "publish"),
    )
    .await;
    assert_eq!(res.status().as_u16(), 403);
    // An editor publishes it; it is on the site, gated after the divider.
    let (mut editor, ecsrf) = staff(&app, "editor").await;
    let res = post_article(
        &mut editor,
        &edit,
        article_form(&ecsrf, &rev, BODY, "publish"),
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let site = app
        .get_text("/ferry-timetable-to-change-in-spring", 200)
        .await;
    assert!(
        site.contains("The first paragraph")
            && !site.contains("OnlyForSubscribers2Q9")
            && site.contains("class=\"offer\"")
    );
    // Published: the contributor may no longer change it.
    assert_eq!(contributor.get_status(&edit).await, 403);
    // An author cannot edit someone else's article.
    let (mut author, _) = staff(&app, "author").await;
    assert_eq!(author.get_status(&edit).await, 403);
    let audit = masthead_store::newsroom::list_audit(db, 10).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"article.create") && actions.contains(&"article.publish"),
        "{actions:?}"
    );
    // Schedule: off the site until its time.
    let rev = masthead_store::content::find_article_by_id(db, id)
        .await
        .unwrap()
        .unwrap()
        .revision
        .to_string();
    let mut f = article_form(&ecsrf, &rev, BODY, "schedule");
    f.iter_mut().find(|(k, _)| *k == "publish_at").unwrap().1 = "2099-01-01T08:00".into();
    assert_eq!(
        post_article(&mut editor, &edit, f).await.status().as_u16(),
        303
    );
    let a = masthead_store::content::find_article_by_id(db, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.status.as_str(), "scheduled");
    assert_eq!(
        app.get("/ferry-timetable-to-change-in-spring")
            .await
            .status()
            .as_u16(),
        404
    );
}

both!(
    a_second_save_from_a_stale_form_is_told_and_overwrites_nothing,
    Fixture::Demo
);
async fn a_second_save_from_a_stale_form_is_told_and_overwrites_nothing(app: TestApp) {
    let db = app.state.db();
    let (mut one, csrf1) = staff(&app, "editor").await;
    let (mut two, csrf2) = staff(&app, "owner").await;
    let res = post_article(
        &mut one,
        "/admin/articles/new",
        article_form(&csrf1, "", "First version.", "save"),
    )
    .await;
    let edit = res.headers()["location"]
        .to_str()
        .unwrap()
        .trim_end_matches("?saved=1")
        .to_string();
    let id: i64 = edit.rsplit('/').next().unwrap().parse().unwrap();
    let rev = masthead_store::content::find_article_by_id(db, id)
        .await
        .unwrap()
        .unwrap()
        .revision
        .to_string();
    // Both opened revision `rev`; the second person saves first.
    assert_eq!(
        post_article(
            &mut two,
            &edit,
            article_form(&csrf2, &rev, "The owner's version.", "save")
        )
        .await
        .status()
        .as_u16(),
        303
    );
    let res = post_article(
        &mut one,
        &edit,
        article_form(&csrf1, &rev, "The editor's version.", "save"),
    )
    .await;
    assert_eq!(res.status().as_u16(), 409);
    let page = res.text().await.unwrap();
    assert!(page.contains("Someone else saved this article"), "{page}");
    assert!(
        page.contains("The editor&#39;s version.") || page.contains("The editor's version."),
        "their text is kept on the page"
    );
    let body = masthead_store::content::find_article_markdown(db, id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        body.contains("owner's version"),
        "nothing overwritten: {body}"
    );
    // Bad input: a forged form, an unknown topic.
    assert_eq!(
        post_article(&mut one, &edit, article_form("forged", &rev, "x", "save"))
            .await
            .status()
            .as_u16(),
        403
    );
    let mut f = article_form(&csrf1, "", "x", "save");
    f.iter_mut().find(|(k, _)| *k == "topics").unwrap().1 = "no-such-topic".into();
    let res = post_article(&mut one, "/admin/articles/new", f).await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("There is no topic"));
}

both!(administrators_change_settings_and_the_site_follows);
async fn administrators_change_settings_and_the_site_follows(backend: crate::harness::Backend) {
    for backend in [backend, crate::harness::Backend::Postgres] {
        let app = TestApp::builder(backend)
            .fixture(Fixture::Demo)
            .config(|c| {
                c.locked_settings.insert("language".into(), "en-CA".into());
            })
            .spawn()
            .await;
        let (mut admin, _) = staff(&app, "administrator").await;
        let page = admin.page("/admin/settings").await;
        assert!(
            page.contains("name=\"language\" value=\"en-CA\" disabled"),
            "locked shown as locked"
        );
        assert!(page.contains("Not set: emails go to the outbox directory."));
        // The meter: no free metered article for anonymous readers.
        let metered = "/council-approves-harbour-seawall-plan";
        assert!(!Browser::new(&app)
            .page(metered)
            .await
            .contains("class=\"offer\""));
        let res = admin
            .send(
                "/admin/settings",
                &[("meter_anonymous_limit", "0"), ("language", "fr")],
            )
            .await;
        assert_eq!(res.headers()["location"], "/admin/settings?saved=1");
        assert!(
            Browser::new(&app)
                .page(metered)
                .await
                .contains("class=\"offer\""),
            "the site follows at once"
        );
        assert_eq!(
            app.state
                .settings()
                .get()
                .publication
                .get("language")
                .as_deref(),
            Some("en-CA"),
            "a locked value does not change"
        );
        // Bad values are explained; nothing else is lost.
        let res = admin
            .send(
                "/admin/settings",
                &[("meter_member_limit", "lots"), ("timezone", "Mars/Olympus")],
            )
            .await;
        assert_eq!(res.status().as_u16(), 422);
        let body = res.text().await.unwrap();
        assert!(
            body.contains("id=\"set-meter_member_limit-error\"")
                && body.contains("id=\"set-timezone-error\""),
            "{body}"
        );
        assert_eq!(
            admin
                .post_status("/admin/settings", &[("csrf", "forged"), ("name", "X")])
                .await,
            403
        );
        let (mut editor, _) = staff(&app, "editor").await;
        assert_eq!(
            editor
                .send_status("/admin/settings", &[("name", "X")])
                .await,
            403
        );
        let audit = masthead_store::newsroom::list_audit(app.state.db(), 5)
            .await
            .unwrap();
        assert!(audit
            .iter()
            .any(|e| e.action == "settings.save" && e.detail.contains("meter_anonymous_limit=0")));
    }
}

both!(
    staff_are_invited_by_email_and_managed_below_ones_own_role,
    Fixture::Demo
);
async fn staff_are_invited_by_email_and_managed_below_ones_own_role(app: TestApp) {
    let (mut editor, _) = staff(&app, "editor").await;
    let (_, _) = staff(&app, "administrator").await;
    // An editor invites an author; the invitation arrives with a single-use link.
    let res = editor
        .invite_staff("new.author@newsroom.example", "Nia Author", "author")
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let mail = crate::harness::outbox(&app)
        .await
        .into_iter()
        .find(|m| m.contains("To: new.author@newsroom.example"))
        .expect("the invitation");
    assert!(mail.contains("invited you to the newsroom"));
    let link = crate::harness::find_link(&mail, &app.url("/admin/set-password/")).unwrap();
    let path = link.trim_start_matches(&app.base).to_string();
    let mut newcomer = Browser::new(&app);
    assert_eq!(
        newcomer
            .post_status(&path, &[("password", "a fine password")])
            .await,
        303
    );
    assert_eq!(
        newcomer
            .post_status(&path, &[("password", "again and again")])
            .await,
        410,
        "single use"
    );
    let res = newcomer
        .staff_log_in("new.author@newsroom.example", "a fine password")
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(newcomer.get_status("/admin/articles").await, 200);
    // Not above or at one's own level.
    let res = editor
        .invite_staff("boss@newsroom.example", "", "administrator")
        .await;
    assert_eq!(res.status().as_u16(), 403);
    let staff_list = masthead_store::newsroom::list_staff(app.state.db())
        .await
        .unwrap();
    let author = staff_list
        .iter()
        .find(|s| s.email == "new.author@newsroom.example")
        .unwrap()
        .id;
    let admin = staff_list
        .iter()
        .find(|s| s.role == "administrator")
        .unwrap()
        .id;
    assert_eq!(
        editor
            .change_staff(admin, "disable")
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        editor
            .set_staff_role(author, "editor")
            .await
            .status()
            .as_u16(),
        403
    );
    // Down to contributor, then off: the session ends and log-in fails.
    assert_eq!(
        editor
            .set_staff_role(author, "contributor")
            .await
            .status()
            .as_u16(),
        303
    );
    assert_eq!(
        masthead_store::newsroom::find_staff(app.state.db(), author)
            .await
            .unwrap()
            .unwrap()
            .role,
        "contributor"
    );
    assert_eq!(
        editor
            .change_staff(author, "disable")
            .await
            .status()
            .as_u16(),
        303
    );
    let res = newcomer.get("/admin/articles").await;
    assert_eq!(
        res.headers()["location"],
        "/admin/login",
        "the session ended"
    );
    let res = newcomer
        .staff_log_in("new.author@newsroom.example", "a fine password")
        .await;
    assert_eq!(res.status().as_u16(), 401);
    // Turned on again with a fresh link.
    editor.change_staff(author, "enable").await;
    editor.change_staff(author, "reset").await;
    let mails = crate::harness::outbox(&app).await;
    assert!(mails
        .iter()
        .any(|m| m.contains("To: new.author@newsroom.example")
            && m.contains("set a new newsroom password")));
    let actions: Vec<String> = masthead_store::newsroom::list_audit(app.state.db(), 20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "staff.invite",
        "staff.role",
        "staff.disable",
        "staff.enable",
        "staff.reset",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    // Contributors and authors have no staff page.
    let (mut contributor, _) = staff(&app, "contributor").await;
    assert_eq!(contributor.get_status("/admin/staff").await, 403);
}

both!(administrators_create_and_change_newsletters, Fixture::Demo);
async fn administrators_create_and_change_newsletters(app: TestApp) {
    let (mut admin, csrf) = staff(&app, "administrator").await;
    let form = |slug: &'static str,
                email: &'static str,
                audience: &'static str|
     -> Vec<(&'static str, String)> {
        vec![
            ("csrf", csrf.clone()),
            ("slug", slug.into()),
            ("name", "The Night Desk".into()),
            ("description", "While you slept.".into()),
            ("sender_name", String::new()),
            ("sender_email", email.into()),
            ("reply_to", String::new()),
            ("audience", audience.into()),
            ("on_signup", "on".into()),
        ]
    };
    assert_eq!(
        save_newsletter(
            &mut admin,
            form("night-desk", "night@example.org", "members")
        )
        .await,
        303
    );
    let n = masthead_store::newsletters::find_by_slug(app.state.db(), "night-desk")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (n.sender_name.as_str(), n.reply_to.as_str(), n.on_signup),
        ("The Night Desk", "night@example.org", true)
    );
    assert!(app
        .get_text("/signup", 200)
        .await
        .contains("The Night Desk"));
    // Changed: subscribers only.
    assert_eq!(
        save_newsletter(
            &mut admin,
            form("night-desk", "night@example.org", "subscribers")
        )
        .await,
        303
    );
    assert_eq!(
        masthead_store::newsletters::find_by_slug(app.state.db(), "night-desk")
            .await
            .unwrap()
            .unwrap()
            .audience,
        "subscribers"
    );
    // Bad input and roles.
    assert_eq!(
        save_newsletter(&mut admin, form("night-desk", "not an address", "members")).await,
        400
    );
    assert_eq!(
        save_newsletter(
            &mut admin,
            form("Bad Slug!", "night@example.org", "members")
        )
        .await,
        400
    );
    assert_eq!(
        save_newsletter(
            &mut admin,
            form("night-desk", "night@example.org", "everyone")
        )
        .await,
        400
    );
    let (mut editor, ecsrf) = staff(&app, "editor").await;
    let mut f = form("other", "o@example.org", "members");
    f[0].1 = ecsrf;
    assert_eq!(save_newsletter(&mut editor, f).await, 403);
}

async fn save_newsletter(b: &mut Browser<'_>, f: Vec<(&'static str, String)>) -> u16 {
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post_status("/admin/newsletters/save", &refs).await
}

both!(
    corrections_are_dated_at_the_foot_and_move_the_modified_time,
    Fixture::Demo
);
async fn corrections_are_dated_at_the_foot_and_move_the_modified_time(app: TestApp) {
    let slug = "council-approves-harbour-seawall-plan";
    let id = crate::harness::article_id(&app, slug).await;
    let before = masthead_store::content::find_article_by_id(app.state.db(), id)
        .await
        .unwrap()
        .unwrap()
        .updated_at;
    assert!(!app
        .get_text(&format!("/{slug}"), 200)
        .await
        .contains("class=\"corrections\""));
    let (mut editor, _) = staff(&app, "editor").await;
    let res = editor
        .add_correction(
            id,
            "An earlier version gave the cost as $41 million. It is $14 million.",
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let page = app.get_text(&format!("/{slug}"), 200).await;
    assert!(
        page.contains("class=\"corrections\"") && page.contains("It is $14 million."),
        "shown at once, cache or not"
    );
    let after = masthead_store::content::find_article_by_id(app.state.db(), id)
        .await
        .unwrap()
        .unwrap()
        .updated_at;
    assert!(after > before, "the modified time moved");
    assert!(page.contains("class=\"updated\""));
    // Contributors may not; empty notes are refused.
    let (mut contributor, _) = staff(&app, "contributor").await;
    assert_eq!(
        contributor.add_correction(id, "x").await.status().as_u16(),
        403
    );
    assert_eq!(
        editor.add_correction(id, "   ").await.status().as_u16(),
        400
    );
}

both!(
    the_first_owner_is_created_once_from_the_set_up_link,
    Fixture::Demo
);
async fn the_first_owner_is_created_once_from_the_set_up_link(app: TestApp) {
    let link = masthead::newsroom::setup::setup_link(&app.state)
        .await
        .unwrap()
        .expect("no owner yet");
    let path = link.trim_start_matches(&app.base).to_string();
    let mut b = Browser::new(&app);
    assert!(b.page(&path).await.contains("Create the owner account"));
    let res = b
        .post(
            &path,
            &[
                ("name", "Olu Owner"),
                ("email", "olu@newsroom.example"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422, "a weak password is explained");
    // An address on the staff already (a disabled contributor, say) is
    // refused in the same transaction that would use the link: the link
    // still works for another address.
    crate::harness::new_staff(&app, "taken@newsroom.example", "Taken", "contributor", 1).await;
    let res = b
        .post(
            &path,
            &[
                ("name", "T"),
                ("email", "taken@newsroom.example"),
                ("password", "the owner's password"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("is on the staff already"));
    let res = b
        .post(
            &path,
            &[
                ("name", "Olu Owner"),
                ("email", "olu@newsroom.example"),
                ("password", "the owner's password"),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/admin/login");
    let res = b
        .staff_log_in("olu@newsroom.example", "the owner's password")
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("masthead_staff=")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    assert!(b.page("/admin").await.contains("Olu Owner (owner)"));
    // Once there is an owner: the page is gone and no new link is made.
    assert_eq!(Browser::new(&app).get(&path).await.status().as_u16(), 410);
    assert_eq!(
        Browser::new(&app)
            .post(
                &path,
                &[("email", "x@example.org"), ("password", "another password")]
            )
            .await
            .status()
            .as_u16(),
        410
    );
    assert!(masthead::newsroom::setup::setup_link(&app.state)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        Browser::new(&app)
            .get("/admin/setup/forged-token")
            .await
            .status()
            .as_u16(),
        410
    );
}

both!(
    members_are_imported_with_consent_recorded_and_never_without_it,
    Fixture::Demo
);
async fn members_are_imported_with_consent_recorded_and_never_without_it(app: TestApp) {
    let (mut admin, _) = staff(&app, "administrator").await;
    let csv = "email,newsletters\nNew.One@example.org,morning-ledger tideline\n\"two@example.org\",no-such-letter\nnot an address,\n";
    // Without the consent box: members, but no newsletter.
    let res = admin
        .import_members(csv, "Old list 2026", &["confirmed"])
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("2 new members")
            && page.contains("Nobody was opted in")
            && page.contains("line 4"),
        "{page}"
    );
    let db = app.state.db();
    let (one, _) = masthead_store::members::find_member_by_email(db, "new.one@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(one.verified);
    assert!(
        masthead_store::newsletters::member_newsletters(db, one.id)
            .await
            .unwrap()
            .is_empty(),
        "no consent, no newsletter"
    );
    // With it: opt-ins with the source; unknown newsletters reported.
    let res = admin
        .import_members(csv, "Old list 2026", &["consented"])
        .await;
    let page = res.text().await.unwrap();
    assert!(
        page.contains("2 already here")
            && page.contains("2 newsletter opt-ins")
            && page.contains("no newsletter"),
        "{page}"
    );
    let consents = masthead_store::newsletters::list_consents(db, one.id)
        .await
        .unwrap();
    assert_eq!(consents.len(), 2);
    assert!(consents.iter().all(|c| c.2 == "import: Old list 2026"));
    // Bad input and roles.
    assert_eq!(
        admin.import_members(csv, "", &[]).await.status().as_u16(),
        422
    );
    assert_eq!(
        admin
            .import_members("name\nx", "s", &[])
            .await
            .status()
            .as_u16(),
        422
    );
    let (mut editor, _) = staff(&app, "editor").await;
    assert_eq!(
        editor.import_members(csv, "s", &[]).await.status().as_u16(),
        403
    );
    assert!(masthead_store::newsroom::list_audit(db, 5)
        .await
        .unwrap()
        .iter()
        .any(|e| e.action == "members.import"));
}

both!(
    editors_pin_the_lead_and_order_the_front_pages,
    Fixture::Demo
);
async fn editors_pin_the_lead_and_order_the_front_pages(app: TestApp) {
    let old = "falling-enrolment-smallest-schools";
    let second = "council-approves-harbour-seawall-plan";
    let (a, b) = (
        crate::harness::article_id(&app, old).await,
        crate::harness::article_id(&app, second).await,
    );
    let first_card = |html: &str| -> String {
        let at = html.find("class=\"card-headline\"").unwrap();
        let href = html[at..].find("href=\"/").unwrap() + at + 7;
        html[href..].split('"').next().unwrap().to_string()
    };
    assert_ne!(
        first_card(&app.get_text("/", 200).await),
        old,
        "not the lead before"
    );
    let (mut editor, _) = staff(&app, "editor").await;
    assert!(editor.page("/admin/front").await.contains("Lead story"));
    let res = editor
        .send(
            "/admin/front",
            &[
                ("page", "home"),
                ("slot0", &a.to_string()),
                ("slot1", &b.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let home = app.get_text("/", 200).await;
    assert_eq!(
        first_card(&home),
        old,
        "the pinned lead comes first at once"
    );
    assert!(
        home.find(&format!("href=\"/{old}\"")).unwrap()
            < home.find(&format!("href=\"/{second}\"")).unwrap()
    );
    // A section's front.
    let res = editor
        .send(
            "/admin/front",
            &[("page", "section:news"), ("slot0", &b.to_string())],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        first_card(&app.get_text("/sections/news", 200).await),
        second
    );
    // A pinned article that is unpublished drops out of the page.
    let db = app.state.db();
    sqlx::query("UPDATE articles SET status = 'draft' WHERE id = $1")
        .bind(a)
        .execute(db.writer())
        .await
        .unwrap();
    app.state.refresh_counters().await.unwrap();
    assert!(!app
        .get_text("/", 200)
        .await
        .contains(&format!("href=\"/{old}\"")));
    // Roles and bad input.
    let (mut author, _) = staff(&app, "author").await;
    assert_eq!(
        author
            .send_status("/admin/front", &[("page", "home")])
            .await,
        403
    );
    assert_eq!(
        editor
            .send_status("/admin/front", &[("page", "elsewhere")])
            .await,
        400
    );
    assert_eq!(
        editor
            .send_status("/admin/front", &[("page", "home"), ("slot0", "999999")])
            .await,
        400
    );
}

both!(editors_create_and_rename_topics_and_authors, Fixture::Demo);
async fn editors_create_and_rename_topics_and_authors(app: TestApp) {
    let (mut editor, _) = staff(&app, "editor").await;
    assert!(editor.page("/admin/topics").await.contains("Transit"));
    let res = editor
        .save_topic("night-life", "Night life", "After dark in Port Alder.")
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(app
        .get_text("/topics/night-life", 200)
        .await
        .contains("Night life"));
    let res = editor.save_topic("night-life", "Nightlife", "").await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(app
        .get_text("/topics/night-life", 200)
        .await
        .contains("Nightlife"));
    let res = editor
        .save_author(
            "rue-vance",
            "Rue Vance",
            "Covers the *harbour*. <script>alert(1)</script>",
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let page = app.get_text("/authors/rue-vance", 200).await;
    assert!(
        page.contains("Rue Vance")
            && page.contains("<em>harbour</em>")
            && !page.contains("<script>alert"),
        "sanitized bio"
    );
    assert_eq!(
        editor
            .save_topic("Bad Slug", "x", "")
            .await
            .status()
            .as_u16(),
        400
    );
    let (mut author, _) = staff(&app, "author").await;
    assert_eq!(author.save_topic("x", "x", "").await.status().as_u16(), 403);
}

both!(pages_get_a_new_version_for_each_changed_text, Fixture::Demo);
async fn pages_get_a_new_version_for_each_changed_text(app: TestApp) {
    let db = app.state.db();
    let before = masthead_store::members::find_page_version(db, "terms")
        .await
        .unwrap()
        .unwrap();
    let (mut admin, _) = staff(&app, "administrator").await;
    assert!(admin
        .page("/admin/pages?edit=terms")
        .await
        .contains(&format!("now version {before}")));
    let res = admin
        .save_page("terms", "Terms of use", "New **terms**.")
        .await;
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("/admin/pages?saved={}", before + 1)
    );
    assert_eq!(
        masthead_store::members::find_page_version(db, "terms")
            .await
            .unwrap(),
        Some(before + 1)
    );
    assert!(app
        .get_text("/pages/terms", 200)
        .await
        .contains("<strong>terms</strong>"));
    // The same text again: no new version.
    admin
        .save_page("terms", "Terms of use", "New **terms**.")
        .await;
    assert_eq!(
        masthead_store::members::find_page_version(db, "terms")
            .await
            .unwrap(),
        Some(before + 1)
    );
    // Sign-ups now accept the new version.
    assert!(app
        .get_text("/signup", 200)
        .await
        .contains(&format!("(version {})", before + 1)));
    let (mut editor, _) = staff(&app, "editor").await;
    assert_eq!(
        editor.save_page("terms", "x", "x").await.status().as_u16(),
        403
    );
}

both!(staff_reset_a_forgotten_password_by_email, Fixture::Demo);
async fn staff_reset_a_forgotten_password_by_email(app: TestApp) {
    staff(&app, "editor").await;
    let mut b = Browser::new(&app);
    assert!(b
        .page("/admin/login")
        .await
        .contains("href=\"/admin/password-reset\""));
    let known = b.ask_staff_password_reset("Editor@Newsroom.example").await;
    let unknown = b.ask_staff_password_reset("nobody@newsroom.example").await;
    assert_eq!(
        (known.status().as_u16(), unknown.status().as_u16()),
        (200, 200)
    );
    assert_eq!(
        known.text().await.unwrap().len(),
        unknown.text().await.unwrap().len(),
        "the same answer either way"
    );
    let mails = crate::harness::outbox(&app).await;
    assert!(!mails
        .iter()
        .any(|m| m.contains("To: nobody@newsroom.example")));
    let mail = mails
        .iter()
        .find(|m| m.contains("To: editor@newsroom.example"))
        .expect("the reset email");
    let link = crate::harness::find_link(mail, &app.url("/admin/set-password/")).unwrap();
    let path = link.trim_start_matches(&app.base).to_string();
    assert_eq!(
        b.post_status(&path, &[("password", "a brand new password")])
            .await,
        303
    );
    let res = b
        .staff_log_in("editor@newsroom.example", "a brand new password")
        .await;
    assert_eq!(res.status().as_u16(), 303);
}

both!(credentials_are_write_only_and_apply_at_once, Fixture::Demo);
async fn credentials_are_write_only_and_apply_at_once(app: TestApp) {
    let db = app.state.db();
    let (mut admin, _) = staff(&app, "administrator").await;
    assert!(app.state.stripe().is_none() && app.state.live().smtp_url.is_none());
    let page = admin.page("/admin/settings").await;
    assert!(
        page.contains("id=\"int-stripe_secret_key\"")
            && page.contains("Not set: emails go to the outbox directory")
    );
    assert!(
        page.contains("list=\"logo-media\"")
            && page.contains("<datalist id=\"logo-media\"><option value=\"/media/"),
        "the logo field suggests library images"
    );
    // A wrong value: 422 with the reason, nothing stored, nothing echoed.
    let res = admin
        .send(
            "/admin/settings/integrations",
            &[
                ("stripe_secret_key", "pk_test_publishable123"),
                ("smtp_url", "smtp://mail.example:587"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("must be a Stripe secret key") && !text.contains("pk_test_publishable123")
    );
    assert!(masthead_store::settings::list_integration_secrets(db)
        .await
        .unwrap()
        .is_empty());
    // Right values: stored, applied at once (Stripe client, Checkout in the
    // CSP, SMTP for mail), and never shown again.
    let key = "sk_test_51WriteOnlyKey9";
    let res = admin
        .send(
            "/admin/settings/integrations",
            &[
                ("stripe_secret_key", key),
                ("stripe_webhook_secret", "whsec_written0nly"),
                ("smtp_url", "smtp://127.0.0.1:2525"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(app.state.stripe().is_some());
    assert_eq!(
        app.state
            .live()
            .smtp_url
            .as_ref()
            .map(|s| s.expose().to_string())
            .as_deref(),
        Some("smtp://127.0.0.1:2525")
    );
    let csp = app.get("/").await.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("https://checkout.stripe.com"), "{csp}");
    let page = admin.page("/admin/settings").await;
    assert!(
        !page.contains(key)
            && !page.contains("whsec_written0nly")
            && !page.contains("127.0.0.1:2525"),
        "write-only"
    );
    assert!(page.contains("Set. Leave empty to keep it."));
    let audit = masthead_store::newsroom::list_audit(db, 5).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.detail.contains("stripe_secret_key set"))
            && !audit.iter().any(|e| e.detail.contains(key))
    );
    // Empty fields keep what is stored; "remove" removes.
    assert_eq!(
        admin
            .send_status("/admin/settings/integrations", &[("stripe_secret_key", "")])
            .await,
        303
    );
    assert!(app.state.stripe().is_some());
    assert_eq!(
        admin
            .send_status(
                "/admin/settings/integrations",
                &[
                    ("stripe_secret_key_remove", "on"),
                    ("smtp_url_remove", "on")
                ]
            )
            .await,
        303
    );
    assert!(app.state.stripe().is_none() && app.state.live().smtp_url.is_none());
    // Editors may not; forged forms are refused.
    let (mut editor, _) = staff(&app, "editor").await;
    assert_eq!(
        editor
            .send_status(
                "/admin/settings/integrations",
                &[("stripe_secret_key", key)]
            )
            .await,
        403
    );
    assert_eq!(
        admin
            .post_status(
                "/admin/settings/integrations",
                &[("csrf", "forged"), ("stripe_secret_key", key)]
            )
            .await,
        403
    );
    // The accent colour: refused when unreadable on white, else in the stylesheet at once.
    let res = admin
        .send("/admin/settings", &[("accent_colour", "#ffd700")])
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("too light to read on white"));
    assert_eq!(
        admin
            .send_status("/admin/settings", &[("accent_colour", "#1A5FB4")])
            .await,
        303
    );
    let home = app.get_text("/", 200).await;
    let css_url = home
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(css_url.ends_with("-1a5fb4"), "{css_url}");
    assert!(app
        .get_text(&css_url, 200)
        .await
        .contains("--accent: #1a5fb4;"));
}

both!(credentials_from_the_configuration_are_locked);
/// Credentials in the operator's configuration lock the form's fields.
async fn credentials_from_the_configuration_are_locked(backend: crate::harness::Backend) {
    let app = TestApp::builder(backend)
        .fixture(Fixture::Demo)
        .config(|c| {
            c.smtp_url = Some(masthead::config::Secret::new("smtp://127.0.0.1:2526"));
        })
        .spawn()
        .await;
    let (mut admin, _) = staff(&app, "administrator").await;
    let page = admin.page("/admin/settings").await;
    assert!(
        page.contains("Set and locked by the operator's configuration.")
            && !page.contains("id=\"int-smtp_url\"")
    );
    assert_eq!(
        admin
            .send_status(
                "/admin/settings/integrations",
                &[("smtp_url", "smtp://127.0.0.1:9999")]
            )
            .await,
        303
    );
    assert_eq!(
        app.state
            .live()
            .smtp_url
            .as_ref()
            .map(|s| s.expose().to_string())
            .as_deref(),
        Some("smtp://127.0.0.1:2526"),
        "the configuration wins"
    );
    assert!(
        masthead_store::settings::list_integration_secrets(app.state.db())
            .await
            .unwrap()
            .is_empty()
    );
}

// Issue 13: a member import is one transaction. When its last write (the
// audit entry) fails, no member, proof or opt-in of it is left behind.
both!(
    a_member_import_that_fails_at_its_last_write_leaves_nothing,
    Fixture::Demo
);
async fn a_member_import_that_fails_at_its_last_write_leaves_nothing(app: TestApp) {
    let (mut admin, csrf) = staff(&app, "administrator").await;
    let db = app.state.db();
    crate::harness::fail_audit_writes(&app).await;
    let csv = "email,newsletters\nhalf.done@example.org,morning-ledger\n";
    let fields = [
        ("csrf", csrf.as_str()),
        ("csv", csv),
        ("source", "Old list"),
        ("confirmed", "on"),
        ("consented", "on"),
    ];
    assert_eq!(
        admin.post_status("/admin/members/import", &fields).await,
        500
    );
    assert!(
        masthead_store::members::find_member_by_email(db, "half.done@example.org")
            .await
            .unwrap()
            .is_none()
    );
}
