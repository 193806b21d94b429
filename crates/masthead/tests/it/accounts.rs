//! Reader accounts and staff log-in over real HTTP, with email through a
//! real SMTP server on loopback (Python's aiosmtpd).

use crate::both;
use crate::harness::{find_link, member_session, outbox, Browser, Fixture, TestApp};
use std::process::Command;

use crate::smtp::Smtp;

async fn spawn_with_smtp(backend: crate::harness::Backend, smtp: &Smtp) -> TestApp {
    TestApp::builder(backend)
        .smtp(smtp)
        .config(|c| c.mail_from = Some("The Ledger <news@ledger.example>".into()))
        .spawn()
        .await
}

both!(a_magic_link_from_a_real_smtp_server_logs_in_once);
async fn a_magic_link_from_a_real_smtp_server_logs_in_once(backend: crate::harness::Backend) {
    let smtp = Smtp::start(0).await;
    let app = spawn_with_smtp(backend, &smtp).await;
    let (_, _) = member_session(&app, "linker@example.org", false).await;
    let mut b = Browser::new(&app);
    let res = b
        .post(
            "/login",
            &[
                ("email", "linker@example.org"),
                ("action", "link"),
                ("return_to", "/topics"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.text().await.unwrap().contains("Check your email"));
    let mail = smtp.message_to(&app, "linker@example.org").await;
    assert!(
        mail.contains("The Ledger") && mail.contains("<news@ledger.example>"),
        "{mail}"
    );
    let link = find_link(&mail, &app.url("/login/link/")).expect("a log-in link");
    let path = link.trim_start_matches(&app.base).to_string();
    // Opening the link (as a mail scanner would) does not use it.
    for _ in 0..2 {
        let page = b.page(&path).await;
        assert!(page.contains("Log me in") && page.contains("method=\"post\""));
    }
    let res = b.post(&path, &[]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/topics");
    let account = b.page("/account").await;
    assert!(
        account.contains("linker@example.org"),
        "following the link verified the address"
    );
    // Single use.
    let mut other = Browser::new(&app);
    let again = other.post(&path, &[]).await;
    assert_eq!(again.status().as_u16(), 410);
    assert!(!other.jar.contains_key("masthead_session"));
    // The job kept no copy of the link.
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM jobs WHERE kind = 'email'")
        .fetch_all(app.state.db().reader())
        .await
        .unwrap();
    assert!(
        payloads.iter().all(|p| !p.contains("/login/link/")),
        "{payloads:?}"
    );
}

both!(
    password_log_in_rotates_the_session_and_log_out_ends_it,
    Fixture::Demo
);
async fn password_log_in_rotates_the_session_and_log_out_ends_it(app: TestApp) {
    let mut b = Browser::new(&app);
    let res = b.sign_up("pw@example.org", "a good long password").await;
    assert_eq!(res.status().as_u16(), 303);
    let first = b.jar["masthead_session"].clone();
    // Verify by the emailed link.
    let mail = outbox(&app)
        .await
        .into_iter()
        .find(|m| m.contains("To: pw@example.org"))
        .unwrap();
    let verify = find_link(&mail, &app.url("/account/verify/")).unwrap();
    let res = b.post(verify.trim_start_matches(&app.base), &[]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(b.page("/account").await.contains("pw@example.org"));
    // A wrong password is a clear 401; the right one opens a new session id.
    let res = b.log_in("pw@example.org", "not the password").await;
    assert_eq!(res.status().as_u16(), 401);
    assert!(res.text().await.unwrap().contains("do not match"));
    let res = b.log_in("PW@example.org", "a good long password").await;
    assert_eq!(res.status().as_u16(), 303);
    let second = b.jar["masthead_session"].clone();
    assert_ne!(first, second, "log-in rotates the session id");
    let mut old = Browser::with_cookie(&app, &format!("masthead_session={first}"));
    let res = old.get("/account").await;
    assert_eq!(res.status().as_u16(), 303, "the pre-login session is gone");
    // Log out ends the session on the server, not just in the browser.
    let csrf = b.csrf().await;
    let res = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(!b.jar.contains_key("masthead_session"));
    let mut replay = Browser::with_cookie(&app, &format!("masthead_session={second}"));
    assert_eq!(replay.get_status("/account").await, 303);
    // A forged session cookie is simply anonymous.
    let mut forged = Browser::with_cookie(
        &app,
        "masthead_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    assert_eq!(forged.get_status("/account").await, 303);
}

both!(password_reset_ends_every_other_session, Fixture::Demo);
async fn password_reset_ends_every_other_session(app: TestApp) {
    let mut a = Browser::new(&app);
    a.sign_up("reset@example.org", "first password 1").await;
    crate::harness::confirm_signup(&mut a, "reset@example.org").await;
    let mut b = Browser::new(&app);
    let res = b.log_in("reset@example.org", "first password 1").await;
    assert_eq!(res.status().as_u16(), 303);
    let res = b.ask_password_reset("reset@example.org").await;
    assert_eq!(res.status().as_u16(), 200);
    let mail = outbox(&app)
        .await
        .into_iter()
        .rev()
        .find(|m| m.contains("Reset your"))
        .unwrap();
    let link = find_link(&mail, &app.url("/password/reset/")).unwrap();
    let path = link.trim_start_matches(&app.base).to_string();
    let res = b.post(&path, &[("password", "short")]).await;
    assert_eq!(
        res.status().as_u16(),
        422,
        "a bad password does not burn the link"
    );
    let res = b.post(&path, &[("password", "second password 2")]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(b.page("/account").await.contains("reset@example.org"));
    assert_eq!(
        a.get_status("/account").await,
        303,
        "the other session ended"
    );
    let mut c = Browser::new(&app);
    let res = c.log_in("reset@example.org", "second password 2").await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        b.post_status(&path, &[("password", "third password 3")])
            .await,
        410
    );
}

both!(export_and_deletion_need_a_recent_log_in, Fixture::Demo);
async fn export_and_deletion_need_a_recent_log_in(app: TestApp) {
    let mut b = Browser::new(&app);
    b.sign_up("gdpr@example.org", "export password").await;
    // Unproved, the password is not a credential yet.
    let mut elsewhere = Browser::new(&app);
    let res = elsewhere
        .log_in("gdpr@example.org", "export password")
        .await;
    assert_eq!(res.status().as_u16(), 401);
    let id = masthead_store::members::find_member_by_email(app.state.db(), "gdpr@example.org")
        .await
        .unwrap()
        .unwrap()
        .0
        .id;
    // Unverified: no account data, no export.
    let csrf = b.csrf().await;
    let res = b.post("/account/export", &[("csrf", &csrf)]).await;
    assert_eq!(res.headers()["location"], "/account");
    crate::harness::confirm_signup(&mut b, "gdpr@example.org").await;
    let csrf = b.csrf().await;
    let res = b.post("/account/export", &[("csrf", &csrf)]).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let data: serde_json::Value = res.json().await.unwrap();
    assert_eq!(data["member"]["email"], "gdpr@example.org");
    // A log-in long ago is not recent enough.
    sqlx::query("UPDATE sessions SET authenticated_at = 1 WHERE member_id = $1")
        .bind(id)
        .execute(app.state.db().writer())
        .await
        .unwrap();
    app.state.sessions().clear();
    let res = b.delete_account(&csrf, "DELETE").await;
    assert_eq!(res.headers()["location"], "/account/reauth");
    let res = b.reauth(&csrf, "wrong one").await;
    assert_eq!(res.status().as_u16(), 401);
    let res = b.reauth(&csrf, "export password").await;
    assert_eq!(res.status().as_u16(), 303);
    let res = b.delete_account(&csrf, "nope").await;
    assert_eq!(res.status().as_u16(), 422);
    let res = b.delete_account(&csrf, "DELETE").await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(!b.jar.contains_key("masthead_session"));
    assert!(masthead_store::members::find_member(app.state.db(), id)
        .await
        .unwrap()
        .is_none());
    for table in ["sessions", "consents", "grants", "auth_tokens"] {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {table} WHERE member_id = $1"
        ))
        .bind(id)
        .fetch_one(app.state.db().reader())
        .await
        .unwrap();
        assert_eq!(n, 0, "{table}");
    }
}

both!(
    change_of_email_is_confirmed_by_the_new_address,
    Fixture::Demo
);
async fn change_of_email_is_confirmed_by_the_new_address(app: TestApp) {
    let (cookie, _) = member_session(&app, "old@example.org", false).await;
    let mut b = Browser::with_cookie(&app, &cookie);
    let csrf = b.csrf().await;
    let res = b.change_email(&csrf, "new@example.org").await;
    assert_eq!(res.status().as_u16(), 200);
    let mails = outbox(&app).await;
    assert!(mails
        .iter()
        .any(|m| m.contains("To: old@example.org") && m.contains("change of email was requested")));
    let confirm = mails
        .iter()
        .find(|m| m.contains("To: new@example.org"))
        .unwrap();
    let link = find_link(confirm, &app.url("/account/email/")).unwrap();
    let res = b.post(link.trim_start_matches(&app.base), &[]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(b.page("/account").await.contains("new@example.org"));
    assert!(outbox(&app)
        .await
        .iter()
        .any(|m| m.contains("To: old@example.org") && m.contains("is now new@example.org")));
}

both!(
    staff_set_a_password_log_in_and_read_everything,
    Fixture::Demo
);
async fn staff_set_a_password_log_in_and_read_everything(app: TestApp) {
    let (_, link) = crate::harness::invited_staff(&app, "ed@example.org", "Ed", "editor").await;
    let path = link.trim_start_matches(&app.base).to_string();
    let mut b = Browser::new(&app);
    assert!(b
        .page(&path)
        .await
        .contains("Choose your newsroom password"));
    let res = b.post(&path, &[("password", "newsroom password")]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        b.post_status(&path, &[("password", "again password")])
            .await,
        410
    );
    let res = b.staff_log_in("ed@example.org", "wrong password").await;
    assert_eq!(res.status().as_u16(), 401);
    let res = b.staff_log_in("ed@example.org", "newsroom password").await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(b.jar.contains_key("masthead_staff"));
    let home = b.page("/admin").await;
    assert!(home.contains("Ed (") && home.contains("Newsroom"), "{home}");
    let sub = b.page("/bus-redesign-winners-and-losers").await;
    assert!(!sub.contains("class=\"offer\""), "staff see everything");
}

/// `masthead members comp` and `masthead staff add`, run as the real binary
/// against the test's SQLite file.
/// SQLite only: this tests the binary (arguments, output, exit status); the use
/// cases it calls run on both backends in their own tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_comps_members_and_adds_staff() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite, Fixture::Demo).await;
    let data = app.state.config().data_dir.clone();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_masthead"))
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env("MASTHEAD_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = run(&[
        "members",
        "comp",
        "Friend@Example.org",
        "--until",
        "2099-06-30",
        "--note",
        "press",
    ]);
    assert!(ok, "{out}");
    let (ok, out) = run(&[
        "members",
        "comp",
        "friend@example.org",
        "--until",
        "2001-01-01",
    ]);
    assert!(!ok && out.contains("in the past"), "{out}");
    let (ok, out) = run(&["members", "comp", "not an email", "--until", "2099-01-01"]);
    assert!(!ok && out.contains("email address"), "{out}");
    let (m, _) =
        masthead_store::members::find_member_by_email(app.state.db(), "friend@example.org")
            .await
            .unwrap()
            .unwrap();
    let grants = masthead_store::members::list_grants(app.state.db(), m.id)
        .await
        .unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].source, "comp");
    assert!(
        grants[0].valid_until.unwrap() > jiff::Timestamp::now().as_second() + 60 * 365 * 86_400
    );
    // The comped member reads subscriber-only articles.
    let cookie = crate::harness::member_session(&app, "friend@example.org", false)
        .await
        .0;
    let mut b = Browser::with_cookie(&app, &cookie);
    assert!(!b
        .page("/bus-redesign-winners-and-losers")
        .await
        .contains("class=\"offer\""));

    let (ok, out) = run(&["staff", "add", "--role", "editor", "desk@example.org"]);
    assert!(ok, "{out}");
    assert!(out.contains("/admin/set-password/"), "{out}");
    let (ok, out) = run(&["staff", "add", "--role", "overlord", "x@example.org"]);
    assert!(!ok && out.contains("unknown role"), "{out}");
    assert!(
        masthead_store::members::find_staff_by_email(app.state.db(), "desk@example.org")
            .await
            .unwrap()
            .is_some()
    );
}

/// Issue 13: complimentary access is one rule for the newsroom and the
/// command line, audited from both (the operator as the actor).
/// SQLite only: the binary is run against the data directory;
/// `grant_complimentary` runs on both backends through the newsroom tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complimentary_access_is_audited_from_the_cli_and_the_newsroom() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite, Fixture::Demo).await;
    let data = app.state.config().data_dir.clone();
    let out = Command::new(env!("CARGO_BIN_EXE_masthead"))
        .arg("--data-dir")
        .arg(&data)
        .args([
            "members",
            "comp",
            "press@example.org",
            "--until",
            "2099-06-30",
            "--note",
            "press pass",
        ])
        .env("MASTHEAD_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = app.state.db();
    let (m, _) = masthead_store::members::find_member_by_email(db, "press@example.org")
        .await
        .unwrap()
        .unwrap();
    let audit = masthead_store::newsroom::list_audit(db, 50).await.unwrap();
    let cli = audit
        .iter()
        .find(|e| e.action == "comp.grant")
        .expect("the CLI's grant is audited");
    assert_eq!(
        (cli.staff_email.as_str(), cli.object_id.clone()),
        ("cli (operator)", m.id.to_string())
    );
    assert!(cli.detail.contains("2099-06-30") && cli.detail.contains("press pass"));
    // The newsroom: the same rule (a past day refused), audited by the staff member.
    let (mut admin, _) = crate::harness::staff_browser(&app, "administrator").await;
    let path = format!("/admin/members/{}/comp", m.id);
    let past = admin
        .send(&path, &[("until", "2001-01-01"), ("note", "")])
        .await;
    assert_eq!(past.status().as_u16(), 422);
    assert!(past.text().await.unwrap().contains("in the past"));
    let res = admin
        .send(&path, &[("until", "2099-12-31"), ("note", "renewed")])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let audit = masthead_store::newsroom::list_audit(db, 50).await.unwrap();
    let grants: Vec<_> = audit.iter().filter(|e| e.action == "comp.grant").collect();
    assert_eq!(grants.len(), 2);
    assert!(grants
        .iter()
        .any(|e| e.staff_email == "administrator@newsroom.example"));
    assert_eq!(
        masthead_store::members::list_grants(db, m.id)
            .await
            .unwrap()
            .len(),
        2
    );
    let gone = admin.grant_comp(999999, "2099-12-31", "").await;
    assert_eq!(gone.status().as_u16(), 404);
}

// Issue 13: confirming a change of email is one transaction. A taken
// address changes nothing and leaves the link usable; once the address is
// free the same link works, once.
both!(
    a_taken_new_address_changes_nothing_and_keeps_the_link,
    Fixture::Demo
);
async fn a_taken_new_address_changes_nothing_and_keeps_the_link(app: TestApp) {
    let (cookie, me) = member_session(&app, "mover@example.org", false).await;
    let mut b = Browser::with_cookie(&app, &cookie);
    let csrf = b.csrf().await;
    b.change_email(&csrf, "wanted@example.org").await;
    let mails = outbox(&app).await;
    let confirm = mails
        .iter()
        .find(|m| m.contains("To: wanted@example.org"))
        .unwrap();
    let link = find_link(confirm, &app.url("/account/email/")).unwrap();
    let path = link.trim_start_matches(&app.base).to_string();
    // Someone else takes the address first.
    let other = crate::harness::verified_member(&app, "wanted@example.org").await;
    let res = b.post(&path, &[]).await;
    assert_eq!(res.status().as_u16(), 409);
    let db = app.state.db();
    let (m, _) = masthead_store::members::find_member(db, me)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.email, "mover@example.org", "nothing changed");
    assert!(
        !outbox(&app)
            .await
            .iter()
            .any(|m| m.contains("is now wanted@example.org")),
        "no notice of a change that did not happen"
    );
    // The other account goes; the same link now works, once.
    masthead_store::members::delete_member(db, other, None, 0)
        .await
        .unwrap();
    assert_eq!(b.post_status(&path, &[]).await, 303);
    let (m, _) = masthead_store::members::find_member(db, me)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.email, "wanted@example.org");
    assert_eq!(b.post_status(&path, &[]).await, 410);
}

/// Issue 13: changes made at the command line are audited, with the
/// operator as the actor, in the transaction that makes them.
/// SQLite only: the binary is run against the data directory; the use cases it
/// calls run on both backends in their own tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_at_the_command_line_are_audited_with_the_operator() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite, Fixture::Demo).await;
    let data = app.state.config().data_dir.clone();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_masthead"))
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env("MASTHEAD_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    run(&["settings", "set", "description", "News from the tide line"]);
    run(&[
        "members",
        "suppress",
        "gone@example.org",
        "--note",
        "asked by phone",
    ]);
    let first = run(&["staff", "add", "--role", "editor", "desk@example.org"]);
    let again = run(&["staff", "add", "--role", "editor", "desk@example.org"]);
    assert!(again.contains("issuing a new set-password link"), "{again}");
    assert_ne!(first.lines().last(), again.lines().last(), "a new link");
    // A Markdown import is one entry per run with its counts (topics and
    // authors are written again on every run, so they count as updated).
    let dir = tempfile::tempdir().unwrap();
    let topics = dir.path().join("desk-files");
    std::fs::create_dir(&topics).unwrap();
    std::fs::write(topics.join("tides.md"), crate::import::TOPIC).unwrap();
    let path = topics.to_string_lossy().to_string();
    run(&["import", &path]);
    run(&["import", &path]);
    let audit = masthead_store::newsroom::list_audit(app.state.db(), 50)
        .await
        .unwrap();
    let by_cli: Vec<_> = audit
        .iter()
        .filter(|e| e.staff_email == "cli (operator)")
        .map(|e| (e.action.as_str(), e.object_id.as_str(), e.detail.as_str()))
        .collect();
    assert_eq!(
        by_cli,
        vec![
            (
                "import.markdown",
                "desk-files",
                "0 created, 1 updated, 0 unchanged, 0 conflicts, 0 with errors"
            ),
            (
                "import.markdown",
                "desk-files",
                "1 created, 0 updated, 0 unchanged, 0 conflicts, 0 with errors"
            ),
            (
                "staff.reset",
                "desk@example.org",
                "set-password link issued"
            ),
            ("staff.invite", "desk@example.org", "editor"),
            ("member.suppress", "gone@example.org", "asked by phone"),
            (
                "settings.save",
                "publication",
                "description=News from the tide line"
            ),
        ]
    );
}

// Issue 13: one clock. Expiries follow the app's clock, which a test moves
// instead of writing timestamps into the database: a log-in link works for
// 15 minutes, a complimentary grant until its day.
both!(links_and_grants_expire_by_the_apps_clock, Fixture::Demo);
async fn links_and_grants_expire_by_the_apps_clock(app: TestApp) {
    crate::harness::verified_member(&app, "later@example.org").await;
    let mut b = Browser::new(&app);
    let ask = [("email", "later@example.org"), ("action", "link")];
    assert_eq!(b.post_status("/login", &ask).await, 200);
    let mail = outbox(&app).await.join("\n");
    let link = find_link(&mail, &app.url("/login/link/")).expect("a log-in link");
    let path = link.trim_start_matches(&app.base).to_string();
    assert!(b.page(&path).await.contains("Log me in"), "fresh: it works");
    app.state.clock().advance(16 * 60);
    let res = b.get(&path).await;
    let page = res.text().await.unwrap();
    assert!(
        !page.contains("Log me in"),
        "16 minutes later the link is gone: {page}"
    );
    assert_eq!(b.post_status(&path, &[]).await, 410);

    // A grant for an hour: read now, refused two hours later.
    let (cookie, id) = member_session(&app, "comped@example.org", false).await;
    let now = app.state.now();
    masthead_store::members::insert_grant(
        app.state.db(),
        id,
        "comp",
        now,
        Some(now + 3_600),
        "t",
        now,
    )
    .await
    .unwrap();
    let gated = "/bus-redesign-winners-and-losers";
    let mut reader = Browser::with_cookie(&app, &cookie);
    assert!(
        !reader.page(gated).await.contains("class=\"offer\""),
        "entitled now"
    );
    app.state.clock().advance(2 * 3_600);
    // A grant running out is no write: the cached session knows when its
    // grants end, so nothing has to be emptied.
    assert!(
        reader.page(gated).await.contains("class=\"offer\""),
        "the grant has run out"
    );
    assert!(
        reader.page("/account").await.contains("comped@example.org"),
        "still signed in"
    );
}

// Issue 13: session-cache invalidation follows the write. The store bumps
// the `sessions` counter in the transaction of the change: this process
// drops its cached sessions at once, another process's change is seen at
// the next poll of the counter — no handler clears anything.
both!(
    a_change_to_a_session_is_seen_at_once_here_and_at_the_next_poll_elsewhere,
    Fixture::Demo
);
async fn a_change_to_a_session_is_seen_at_once_here_and_at_the_next_poll_elsewhere(app: TestApp) {
    let db = app.state.db();
    let (cookie, id) = member_session(&app, "cached@example.org", false).await;
    let mut b = Browser::with_cookie(&app, &cookie);
    assert!(
        b.page("/account").await.contains("cached@example.org"),
        "signed in (and cached)"
    );
    // This process ends the member's sessions through the store.
    let mut tx = db.begin().await.unwrap();
    masthead_store::members::delete_member_sessions(&mut tx, id, None)
        .await
        .unwrap();
    masthead_store::commit(tx).await.unwrap();
    assert_eq!(
        b.get_status("/account").await,
        303,
        "the ended session is refused at once"
    );

    // Another process (the command line) gives a grant: seen after one
    // poll of the counter, without waiting out the cache's lifetime.
    let (cookie, _) = member_session(&app, "pressed@example.org", false).await;
    let mut reader = Browser::with_cookie(&app, &cookie);
    let gated = "/bus-redesign-winners-and-losers";
    assert!(
        reader.page(gated).await.contains("class=\"offer\""),
        "not entitled yet"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_masthead"))
        .arg("--database-url")
        .arg(app.db_url())
        .arg("--data-dir")
        .arg(&app.state.config().data_dir)
        .args([
            "members",
            "comp",
            "pressed@example.org",
            "--until",
            "2099-01-01",
        ])
        .env("MASTHEAD_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.state.refresh_counters().await.unwrap();
    assert!(
        !reader.page(gated).await.contains("class=\"offer\""),
        "entitled after one poll"
    );
}

// Issue 13: account email prose lives in the theme beside the newsletter
// templates; an operator rewords it in their theme directory, no rebuild.
both!(account_emails_are_theme_templates_an_operator_can_reword);
async fn account_emails_are_theme_templates_an_operator_can_reword(
    backend: crate::harness::Backend,
) {
    let theme = tempfile::tempdir().unwrap();
    let dir = theme.path().join("templates/email/account");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("login_link.txt"),
        "Subject: Your way back into {{ name }}\n\nTap this to come back in (15 minutes, once):\n\n{{ link }}\n",
    )
    .unwrap();
    let theme_dir = theme.path().to_path_buf();
    let app = TestApp::builder(backend)
        .config(move |c| c.theme_dir = Some(theme_dir))
        .spawn()
        .await;
    crate::harness::verified_member(&app, "themed@example.org").await;
    let ask = [("email", "themed@example.org"), ("action", "link")];
    assert_eq!(
        Browser::new(&app)
            .post("/login", &ask)
            .await
            .status()
            .as_u16(),
        200
    );
    let mail = outbox(&app).await.join("\n");
    assert!(mail.contains("Subject: Your way back into"), "{mail}");
    assert!(mail.contains("Tap this to come back in"), "{mail}");
    let link = find_link(&mail, &app.url("/login/link/")).expect("the link is still in it");
    assert_eq!(
        app.get(link.trim_start_matches(&app.base))
            .await
            .status()
            .as_u16(),
        200
    );
}
