//! Newsletters against a real SMTP server on loopback (aiosmtpd, with the
//! behaviours of `smtp_server.py`): both segments' emails, their headers
//! and links, one-click unsubscribe over HTTP, bounces, a relay that
//! refuses the sender, two workers on one PostgreSQL, and `kill -9` in
//! the middle of a send.

use crate::both;
use crate::harness::{member_session, Backend, Browser, TestApp};
use crate::smtp::Smtp;
use masthead_store::newsletters as store;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

const GATED: &str = "bus-redesign-winners-and-losers";
/// A sentence from the last section of the gated article.
const LAST_WORDS: &str = "The board has asked for a six-month review of the minibus.";
const NEWSLETTER: &str = "morning-ledger";

async fn spawn(backend: Backend, smtp: &Smtp) -> TestApp {
    TestApp::builder(backend)
        .smtp(smtp)
        .config(move |c| {
            c.newsletters.sessions = 2;
            c.newsletters.batch = 5;
            c.newsletters.bounce_token = Some(masthead::config::Secret::new("bounce-secret"));
        })
        .spawn()
        .await
}

/// A verified member opted in to `newsletter`.
async fn reader(app: &TestApp, email: &str, subscriber: bool, newsletter: i64) -> (String, i64) {
    let (cookie, m) = member_session(app, email, subscriber).await;
    let db = app.state.db();
    let mut tx = db.begin().await.unwrap();
    store::subscribe(&mut tx, m, newsletter, "test", 1)
        .await
        .unwrap();
    masthead_store::commit(tx).await.unwrap();
    (cookie, m)
}

async fn newsletter(app: &TestApp) -> store::NewsletterRecord {
    store::find_by_slug(app.state.db(), NEWSLETTER)
        .await
        .unwrap()
        .unwrap()
}

async fn send_article(app: &TestApp, newsletter: i64, slug: &str) -> i64 {
    let a = crate::harness::article_id(app, slug).await;
    let now = jiff::Timestamp::now().as_second();
    store::create_send(
        app.state.db(),
        &store::NewSend {
            newsletter_id: newsletter,
            article_id: Some(a),
            digest_days: None,
            subject: "Today: the bus redesign",
            run_at: now,
            created_by: "test",
        },
        None,
        now,
    )
    .await
    .unwrap()
}

async fn run(app: &TestApp, send: i64) -> store::Send {
    masthead::newsletters::sender::run_to_end(&app.state, send, |_, _| {})
        .await
        .unwrap()
}

fn header<'a>(m: &'a Value, name: &str) -> &'a str {
    m["headers"][name].as_str().unwrap_or("")
}

/// A send of the gated article to a newsletter with a subscriber, two
/// free readers and an address that does not exist (and, not recipients,
/// an unverified member and a suppressed address).
struct Sent {
    n: store::NewsletterRecord,
    send: i64,
    paid: i64,
    free: i64,
    other: i64,
    bad: i64,
}

async fn sent_to_four(app: &TestApp) -> Sent {
    let n = newsletter(app).await;
    let (_, paid) = reader(app, "paid@example.org", true, n.id).await;
    let (_, free) = reader(app, "free@example.org", false, n.id).await;
    let (_, other) = reader(app, "other@example.org", false, n.id).await;
    let (_, bad) = reader(app, "bad-gone@example.org", false, n.id).await;
    // Not recipients: an unverified member, a suppressed address, a member
    // of another newsletter only.
    let unverified = masthead_store::members::ensure_member(
        app.state.db(),
        "unverified@example.org",
        "unverified@example.org",
        1,
    )
    .await
    .unwrap();
    let mut tx = app.state.db().begin().await.unwrap();
    store::subscribe(&mut tx, unverified, n.id, "test", 1)
        .await
        .unwrap();
    masthead_store::commit(tx).await.unwrap();
    reader(app, "complained@example.org", false, n.id).await;
    store::suppress(
        app.state.db(),
        "complained@example.org",
        "complaint",
        "",
        None,
        1,
    )
    .await
    .unwrap();

    let send = send_article(app, n.id, GATED).await;
    let done = run(app, send).await;
    assert_eq!(done.status, "sent");
    assert_eq!(done.recipients, 4, "paid, free, other and bad-gone");
    let p = store::send_progress(app.state.db(), send).await.unwrap();
    assert_eq!((p.sent, p.failed, p.queued), (3, 1, 0));
    Sent {
        n,
        send,
        paid,
        free,
        other,
        bad,
    }
}

both!(a_send_gives_each_segment_its_copy_and_the_list_headers);
async fn a_send_gives_each_segment_its_copy_and_the_list_headers(backend: Backend) {
    let smtp = Smtp::start(0).await;
    let app = spawn(backend, &smtp).await;
    let Sent {
        n,
        send,
        paid,
        free,
        bad,
        ..
    } = sent_to_four(&app).await;
    // The subscriber's copy has the whole article; the free reader's the
    // preview and the way to the site, never the rest.
    let full = &smtp.to("paid@example.org")[..];
    let preview = &smtp.to("free@example.org")[..];
    assert_eq!((full.len(), preview.len()), (1, 1));
    let (full, preview) = (&full[0], &preview[0]);
    for part in ["text", "html"] {
        assert!(
            full[part].as_str().unwrap().contains(LAST_WORDS),
            "{part}: {}",
            full[part]
        );
        assert!(
            !preview[part].as_str().unwrap().contains(LAST_WORDS),
            "{part} leaks: {}",
            preview[part]
        );
        assert!(
            preview[part].as_str().unwrap().contains("Read on the site"),
            "{part}"
        );
    }
    assert_eq!(full["content_type"], "multipart/alternative");
    let html = full["html"].as_str().unwrap();
    assert!(
        html.contains("role=\"presentation\"") && html.contains("color-scheme"),
        "table layout, dark mode"
    );
    assert!(
        !html.contains("src=\"/") && !html.contains("href=\"/"),
        "absolute URLs only"
    );
    // Headers: RFC 8058 one-click, List-Id, a Message-ID derived from the
    // send and the recipient, Date, Reply-To.
    let lu = header(full, "list-unsubscribe");
    assert!(
        lu.starts_with(&format!("<{}/unsubscribe/u{paid}.{}.", app.base, n.id)),
        "{lu}"
    );
    assert_eq!(
        header(full, "list-unsubscribe-post"),
        "List-Unsubscribe=One-Click"
    );
    assert!(
        header(full, "list-id").contains("<morning-ledger."),
        "{}",
        header(full, "list-id")
    );
    assert!(header(full, "message-id").starts_with(&format!("<send{send}.m{paid}@")));
    assert!(!header(full, "date").is_empty());
    assert!(header(full, "from").contains(&n.sender_email));
    assert!(header(full, "reply-to").contains(&n.reply_to));
    assert_eq!(full["mail_from"], n.sender_email.as_str());
    // No tracking: no pixel, no redirecting links.
    assert!(!html.contains("/t/") && !html.contains("width=\"1\" height=\"1\""));
    // Footer links are the recipient's own.
    assert!(full["text"]
        .as_str()
        .unwrap()
        .contains(&format!("/unsubscribe/u{paid}.")));
    assert!(preview["text"]
        .as_str()
        .unwrap()
        .contains(&format!("/unsubscribe/u{free}.")));

    // The address that does not exist: failed, suppressed, never again.
    let (status, _, error) = store::find_recipient(app.state.db(), send, bad)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, "failed");
    assert!(error.unwrap().contains("5.1.1"));
    assert!(
        store::find_suppression(app.state.db(), "bad-gone@example.org")
            .await
            .unwrap()
            .is_some()
    );
}

both!(one_click_unsubscribe_takes_a_mail_providers_post_once_per_token);
async fn one_click_unsubscribe_takes_a_mail_providers_post_once_per_token(backend: Backend) {
    let smtp = Smtp::start(0).await;
    let app = spawn(backend, &smtp).await;
    let Sent {
        n,
        paid,
        free,
        other,
        ..
    } = sent_to_four(&app).await;
    let full = &smtp.to("paid@example.org")[0];
    let preview = &smtp.to("free@example.org")[0];
    let lu = header(full, "list-unsubscribe");
    // One-click: a POST with no cookie, no session, no CSRF token, from
    // another site, as multipart and as urlencoded; a GET only asks.
    let url = lu.trim_start_matches('<').trim_end_matches('>').to_string();
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("<form") && page.contains("Unsubscribe"));
    assert_eq!(
        store::member_newsletters(app.state.db(), paid)
            .await
            .unwrap(),
        vec![n.id],
        "a GET changes nothing"
    );
    // What a mail provider sends (RFC 8058 §3.1), as multipart/form-data.
    let multipart = "--b0undary\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b0undary--\r\n";
    let res = reqwest::Client::new()
        .post(&url)
        .header("origin", "https://mail.example.net")
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "multipart/form-data; boundary=b0undary")
        .body(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(store::member_newsletters(app.state.db(), paid)
        .await
        .unwrap()
        .is_empty());
    let free_url = header(preview, "list-unsubscribe")
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string();
    let res = reqwest::Client::new()
        .post(&free_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    // Twice is fine.
    assert_eq!(
        reqwest::Client::new()
            .post(&free_url)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let consents = store::list_consents(app.state.db(), free).await.unwrap();
    assert_eq!(
        consents.last().map(|c| (c.1.as_str(), c.2.as_str())),
        Some(("out", "one-click"))
    );
    // A forged token is refused.
    let forged = url.replacen(&format!("u{paid}."), &format!("u{other}."), 1);
    assert_eq!(
        reqwest::Client::new()
            .post(&forged)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    // The unsubscribes count, and take effect before the next send.
    let f = store::find_figures(app.state.db(), n.id).await.unwrap();
    assert_eq!(
        (f.sends, f.delivered, f.failed, f.unsubscribes),
        (1, 3, 1, 2)
    );
    let again = send_article(&app, n.id, GATED).await;
    let done = run(&app, again).await;
    assert_eq!(done.recipients, 1, "only other@ is left");
    assert_eq!(smtp.to("other@example.org").len(), 2);
}

both!(a_newsletters_web_version_goes_through_the_access_decision);
async fn a_newsletters_web_version_goes_through_the_access_decision(backend: Backend) {
    let smtp = Smtp::start(0).await;
    let app = spawn(backend, &smtp).await;
    let Sent { send, .. } = sent_to_four(&app).await;
    // The web version goes through the access decision.
    let web = format!("/newsletters/{NEWSLETTER}/{send}");
    let anon = app.get_text(&web, 200).await;
    assert!(!anon.contains(LAST_WORDS) && anon.contains("Read the whole article"));
    let (cookie, _) = member_session(&app, "reader2@example.org", true).await;
    let mut b = Browser::with_cookie(&app, &cookie);
    assert!(b.page(&web).await.contains(LAST_WORDS));
    assert!(
        app.get_text("/newsletters", 200).await.contains(&web),
        "listed as the latest issue"
    );
}

both!(a_relay_refusing_the_sender_pauses_the_send);
/// A relay refusing the sender pauses the send with its reply; nobody is
/// marked undeliverable; once fixed, resuming sends to everyone.
async fn a_relay_refusing_the_sender_pauses_the_send(backend: Backend) {
    let smtp = Smtp::start(0).await;
    let app = spawn(backend, &smtp).await;
    let n = newsletter(&app).await;
    let mut members = Vec::new();
    for i in 0..12 {
        members.push(
            reader(&app, &format!("r{i}@example.org"), false, n.id)
                .await
                .1,
        );
    }
    std::fs::write(smtp.dir().join("refuse-sender"), "").unwrap();
    let send = send_article(&app, n.id, GATED).await;
    let done = run(&app, send).await;
    assert_eq!(done.status, "paused");
    let reason = done.paused_reason.unwrap();
    assert!(
        reason.contains("MAIL FROM: 550") && reason.contains("Sender address rejected"),
        "{reason}"
    );
    let p = store::send_progress(app.state.db(), send).await.unwrap();
    assert_eq!((p.queued, p.sent, p.failed), (12, 0, 0));
    for m in &members {
        let (status, attempts, _) = store::find_recipient(app.state.db(), send, *m)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((status.as_str(), attempts), ("queued", 0));
    }
    let any_suppressed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM suppressions")
        .fetch_one(app.state.db().reader())
        .await
        .unwrap();
    assert_eq!(any_suppressed, 0);
    // Staff fix the relay and resume.
    std::fs::remove_file(smtp.dir().join("refuse-sender")).unwrap();
    assert!(store::resume_send(
        app.state.db(),
        send,
        masthead_store::newsroom::Actor::OPERATOR,
        1
    )
    .await
    .unwrap());
    let done = run(&app, send).await;
    assert_eq!(done.status, "sent");
    assert_eq!(smtp.messages().len(), 12);
}

both!(many_recipients_refused_alike_pause_the_send);
/// The same refusal for many recipients in a row is the server refusing
/// us: the send pauses and nobody in the batch is marked.
async fn many_recipients_refused_alike_pause_the_send(backend: crate::harness::Backend) {
    let smtp = Smtp::start(0).await;
    let app = spawn(backend, &smtp).await;
    let n = newsletter(&app).await;
    for i in 0..30 {
        reader(&app, &format!("policy-{i:02}@example.org"), false, n.id).await;
    }
    let send = send_article(&app, n.id, GATED).await;
    let done = run(&app, send).await;
    assert_eq!(done.status, "paused");
    assert!(done.paused_reason.unwrap().contains("in a row"));
    let p = store::send_progress(app.state.db(), send).await.unwrap();
    assert!(
        p.failed < masthead_core::newsletters::SAME_REFUSAL_LIMIT as i64,
        "{p:?}"
    );
}

/// Two workers (two app states, as two processes would be) on one
/// PostgreSQL share a send: every recipient gets exactly one message.
/// PostgreSQL only: several workers claiming one send is the several-node
/// set-up, which needs PostgreSQL (SQLite is one process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_postgres_mail_nobody_twice() {
    let smtp = Smtp::start(20).await;
    let app = spawn(Backend::Postgres, &smtp).await;
    let n = newsletter(&app).await;
    for i in 0..60 {
        reader(&app, &format!("w{i:02}@example.org"), i % 2 == 0, n.id).await;
    }
    let mut config = app.state.config().clone();
    let other_dir = tempfile::tempdir().unwrap();
    config.data_dir = other_dir.path().to_path_buf();
    let second = masthead::app::AppState::build(config).await.unwrap();
    assert_ne!(second.worker_id(), app.state.worker_id());
    let send = send_article(&app, n.id, GATED).await;
    // Started (recipients fixed) before both workers look at it.
    assert!(store::start_send(
        app.state.db(),
        send,
        true,
        jiff::Timestamp::now().as_second()
    )
    .await
    .unwrap());
    let (a, b) = tokio::join!(
        masthead::newsletters::sender::work(&app.state, send),
        masthead::newsletters::sender::work(&second, send)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    // Whatever is left (a worker may find the send not yet started).
    run(&app, send).await;
    let messages = smtp.messages();
    assert_eq!(messages.len(), 60, "tried {a} + {b}");
    let mut to: Vec<String> = messages
        .iter()
        .map(|m| m["rcpt_tos"][0].as_str().unwrap().to_string())
        .collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 60, "nobody twice");
    assert!(a > 0 && b > 0, "both workers sent ({a}, {b})");
}

/// `kill -9` in the middle of a send from the command line, then the same
/// command resumes it: everyone gets the email; duplicates are limited to
/// the batches in flight (sessions × batch) and keep their Message-ID.
/// SQLite only: the binary is killed and restarted on the data directory; the
/// claiming it relies on runs on both backends in the send tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_send_loses_nobody() {
    const RECIPIENTS: usize = 120;
    const SESSIONS: usize = 2;
    const BATCH: usize = 5;
    let smtp = Smtp::start(15).await;
    let app = spawn(Backend::Sqlite, &smtp).await;
    let n = newsletter(&app).await;
    for i in 0..RECIPIENTS {
        reader(&app, &format!("k{i:03}@example.org"), false, n.id).await;
    }
    let data = app.state.config().data_dir.clone();
    let config = data.join("crash.toml");
    std::fs::write(
        &config,
        format!(
            "smtp_url = \"{}\"\n[newsletters]\nsessions = {SESSIONS}\nbatch = {BATCH}\nlease_secs = 2\n",
            smtp.url()
        ),
    )
    .unwrap();
    let cli = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_masthead"));
        c.arg("--config").arg(&config).arg("--data-dir").arg(&data);
        c.args(args)
            .env("MASTHEAD_LOG", "warn")
            .env_remove("MASTHEAD_SMTP_URL");
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    };
    let mut child = cli(&["newsletters", "send", NEWSLETTER, "--article", GATED])
        .spawn()
        .unwrap();
    // Let it get going, then kill it without warning.
    for _ in 0..200 {
        if smtp.messages().len() >= 30 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = smtp.messages().len();
    assert!(
        before > 0 && before < RECIPIENTS,
        "killed mid-send ({before} sent)"
    );
    let send = store::list_sends(app.state.db(), 1).await.unwrap()[0].id;
    // The same process again, after the lease ran out.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let out = cli(&["newsletters", "resume", &send.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let messages = smtp.messages();
    let mut by_rcpt = std::collections::HashMap::<String, Vec<String>>::new();
    for m in &messages {
        by_rcpt
            .entry(m["rcpt_tos"][0].as_str().unwrap().to_string())
            .or_default()
            .push(header(m, "message-id").to_string());
    }
    assert_eq!(by_rcpt.len(), RECIPIENTS, "every recipient got it");
    let duplicates = messages.len() - RECIPIENTS;
    println!(
        "kill -9 after {before} messages: {duplicates} duplicate(s), bound {}",
        SESSIONS * BATCH
    );
    assert!(duplicates <= SESSIONS * BATCH, "{duplicates} duplicates");
    for ids in by_rcpt.values() {
        assert!(
            ids.windows(2).all(|w| w[0] == w[1]),
            "a resent copy keeps its Message-ID: {ids:?}"
        );
    }
    let p = store::send_progress(app.state.db(), send).await.unwrap();
    assert_eq!((p.sent, p.queued), (RECIPIENTS as i64, 0));
    // Status shows counts, rate and time left; suppression by hand.
    let out = cli(&["newsletters", "status", &send.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "{RECIPIENTS}/{RECIPIENTS} sent {RECIPIENTS} failed 0"
        )) && text.contains("/s"),
        "{text}"
    );
    let out = cli(&[
        "members",
        "suppress",
        "k001@example.org",
        "--note",
        "asked by phone",
    ])
    .output()
    .unwrap();
    assert!(out.status.success());
    assert_eq!(
        store::find_suppression(app.state.db(), "k001@example.org")
            .await
            .unwrap(),
        Some(("manual".into(), "asked by phone".into()))
    );
}

both!(readers_choose_their_newsletters);
/// Readers choose: at sign-up (unchecked by default), on the account
/// page, from the emailed preferences link; each change recorded with its
/// source. The public page's email-only sign-up confirms by email first.
async fn readers_choose_their_newsletters(backend: Backend) {
    let smtp = Smtp::start(0).await;
    let app = spawn(backend, &smtp).await;
    let db = app.state.db();
    let all = store::list(db).await.unwrap();
    let on_signup: Vec<_> = all.iter().filter(|n| n.on_signup).collect();
    assert!(!on_signup.is_empty());
    let mut b = Browser::new(&app);
    let page = b.page("/signup").await;
    let first = format!("nl_{}", on_signup[0].id);
    assert!(
        page.contains(&format!("name=\"{first}\"")) && !page.contains(" checked"),
        "offered, unchecked"
    );
    let res = b
        .post(
            "/signup",
            &[("email", "chooser@example.org"), (first.as_str(), "on")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let (m, _) = masthead_store::members::find_member_by_email(db, "chooser@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store::member_newsletters(db, m.id).await.unwrap(),
        vec![on_signup[0].id]
    );
    assert_eq!(store::list_consents(db, m.id).await.unwrap()[0].2, "signup");
    // The account page (once verified, from the browser that signed up,
    // which keeps the sign-up's choices) changes them.
    app.run_jobs().await;
    let mut mail = None;
    for _ in 0..50 {
        mail = smtp.to("chooser@example.org").into_iter().next();
        if mail.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = mail.expect("the confirmation email")["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains(&on_signup[0].name),
        "the email names the newsletters it starts"
    );
    let link = crate::harness::find_link(&text, &app.url("/account/verify/")).unwrap();
    assert_eq!(
        b.post_status(link.trim_start_matches(&app.base), &[]).await,
        303
    );
    let account = b.page("/account").await;
    assert!(
        account.contains(&format!(
            "name=\"{first}\" type=\"checkbox\" value=\"on\" checked"
        )),
        "{account}"
    );
    let csrf = b.csrf().await;
    let second = format!("nl_{}", all[1].id);
    let res = b
        .post(
            "/account/newsletters",
            &[("csrf", &csrf), (second.as_str(), "on")],
        )
        .await;
    assert_eq!(res.headers()["location"], "/account?done=newsletters");
    assert_eq!(
        store::member_newsletters(db, m.id).await.unwrap(),
        vec![all[1].id]
    );
    let res = b
        .post(
            "/account/newsletters",
            &[("csrf", "forged"), (first.as_str(), "on")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 403);
    // The emailed preferences link works without logging in.
    let token = masthead::newsletters::preferences_token(&app.state.link_keys(), m.id);
    let mut stranger = Browser::new(&app);
    assert!(stranger
        .page(&format!("/newsletters/preferences/{token}"))
        .await
        .contains("Save my newsletters"));
    stranger
        .post(
            &format!("/newsletters/preferences/{token}"),
            &[("save", "1")],
        )
        .await;
    assert!(store::member_newsletters(db, m.id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        stranger
            .get_status("/newsletters/preferences/p1.xx.00")
            .await,
        404
    );
    let sources: Vec<String> = store::list_consents(db, m.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| format!("{}:{}", c.1, c.2))
        .collect();
    assert_eq!(sources.len(), 4, "{sources:?}");
    assert_eq!(sources[0], "in:signup");
    let mut middle = sources[1..3].to_vec();
    middle.sort();
    assert_eq!(middle, ["in:account", "out:account"]);
    assert_eq!(sources[3], "out:preferences");
}

both!(an_email_only_newsletter_sign_up_waits_for_its_confirmation);
async fn an_email_only_newsletter_sign_up_waits_for_its_confirmation(backend: Backend) {
    let smtp = Smtp::start(0).await;
    let app = spawn(backend, &smtp).await;
    let db = app.state.db();
    let all = store::list(db).await.unwrap();
    // Email-only sign-up on /newsletters: nothing until confirmed.
    let page = app.get_text("/newsletters", 200).await;
    assert!(page.contains("Sign up with your email") && page.contains(&all[0].name));
    let mut anon = Browser::new(&app);
    let pick = format!("nl_{}", all[2].id);
    let res = anon
        .post(
            "/newsletters/signup",
            &[("email", "Letters@Example.org"), (pick.as_str(), "on")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        masthead_store::members::find_member_by_email(db, "letters@example.org")
            .await
            .unwrap()
            .is_none()
    );
    let res = anon
        .post("/newsletters/signup", &[("email", "x@example.org")])
        .await;
    assert_eq!(res.status().as_u16(), 422, "choose at least one");
    let res = anon
        .post(
            "/newsletters/signup",
            &[("email", "not an address"), (pick.as_str(), "on")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    app.run_jobs().await;
    let mut mail = None;
    for _ in 0..50 {
        mail = smtp.to("Letters@Example.org").into_iter().next();
        if mail.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = mail.expect("the confirmation email")["text"]
        .as_str()
        .unwrap()
        .to_string();
    let link = crate::harness::find_link(&text, &app.url("/newsletters/confirm/")).unwrap();
    let path = link.trim_start_matches(&app.base).to_string();
    assert!(anon.page(&path).await.contains("Confirm"));
    assert_eq!(anon.post_status(&path, &[]).await, 200);
    let (m, _) = masthead_store::members::find_member_by_email(db, "letters@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(m.verified);
    assert_eq!(
        store::member_newsletters(db, m.id).await.unwrap(),
        vec![all[2].id]
    );
    assert_eq!(
        anon.post_status(&path, &[]).await,
        410,
        "the link works once"
    );
}

both!(bounce_and_complaint_reports_are_authenticated_then_suppress);
async fn bounce_and_complaint_reports_are_authenticated_then_suppress(backend: Backend) {
    let smtp = Smtp::start(0).await;
    let app = spawn(backend, &smtp).await;
    let db = app.state.db();
    // Bounce and complaint reports: authenticated, then suppressed.
    let hook = app.url("/webhooks/bounces");
    let body = r#"{"email": "Late@Example.org", "type": "complaint", "detail": "marked as spam"}"#;
    let c = reqwest::Client::new();
    assert_eq!(
        c.post(&hook)
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        c.post(&hook)
            .bearer_auth("wrong")
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    let ok = c
        .post(&hook)
        .bearer_auth("bounce-secret")
        .header("sec-fetch-site", "cross-site")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(
        store::find_suppression(db, "late@example.org")
            .await
            .unwrap()
            .map(|s| s.0),
        Some("complaint".into())
    );
    for bad in [
        "{",
        r#"{"email": "x"}"#,
        r#"{"email": "a@b.org", "type": "love"}"#,
    ] {
        assert_eq!(
            c.post(&hook)
                .bearer_auth("bounce-secret")
                .body(bad)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            400,
            "{bad}"
        );
    }
}

/// DKIM: with `[newsletters.dkim]` every newsletter email is signed, the
/// signature verifies against the published key (dkimpy, the DNS record
/// given to it), and `h=` covers both List-Unsubscribe headers: altering
/// the one-click link breaks the signature.
/// One backend: signing happens after the database, on the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newsletters_can_be_dkim_signed() {
    let keys = tempfile::tempdir().unwrap();
    let pem = keys.path().join("dkim.pem");
    let ok = Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&pem)
        .arg("2048")
        .stderr(Stdio::null())
        .status()
        .expect("openssl is needed for this test");
    assert!(ok.success());
    let public = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl rsa -in {} -pubout -outform DER 2>/dev/null | base64 -w0",
            pem.display()
        ))
        .output()
        .unwrap();
    let public = String::from_utf8(public.stdout).unwrap();
    assert!(public.len() > 300, "a public key: {public}");
    let smtp = Smtp::start_with(0, Some(&public)).await;
    let key_file = pem.clone();
    let app = TestApp::builder(Backend::Sqlite)
        .smtp(&smtp)
        .config(move |c| {
            c.newsletters.dkim = Some(masthead::config::DkimSettings {
                selector: "mh2026".into(),
                domain: "harbourledger.example".into(),
                private_key_file: key_file,
                algorithm: "rsa".into(),
            });
        })
        .spawn()
        .await;
    let n = newsletter(&app).await;
    reader(&app, "signed@example.org", false, n.id).await;
    reader(&app, "signed2@example.org", true, n.id).await;
    let send = send_article(&app, n.id, GATED).await;
    assert_eq!(run(&app, send).await.status, "sent");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 2);
    for m in &messages {
        let sig = header(m, "dkim-signature").to_ascii_lowercase();
        assert!(
            sig.contains("d=harbourledger.example") && sig.contains("s=mh2026"),
            "{sig}"
        );
        assert!(
            sig.contains("list-unsubscribe:list-unsubscribe-post"),
            "h= covers both: {sig}"
        );
        assert_eq!(m["dkim"], true, "the signature verifies");
        assert_eq!(
            m["dkim_tampered"], false,
            "an altered List-Unsubscribe breaks it"
        );
    }
}

both!(temporary_failures_are_retried_and_the_rate_cap_holds);
/// A 4xx is retried later, with backoff; a rate cap spaces messages out;
/// account email (the transactional lane) is not held up by a send.
async fn temporary_failures_are_retried_and_the_rate_cap_holds(backend: crate::harness::Backend) {
    let smtp = Smtp::start(0).await;
    let app = TestApp::builder(backend)
        .smtp(&smtp)
        .config(move |c| {
            c.newsletters.sessions = 2;
            c.newsletters.batch = 4;
            c.newsletters.rate_per_second = 20;
        })
        .spawn()
        .await;
    let n = newsletter(&app).await;
    let (_, busy) = reader(&app, "busy-desk@example.org", false, n.id).await;
    for i in 0..19 {
        reader(&app, &format!("paced{i:02}@example.org"), false, n.id).await;
    }
    let send = send_article(&app, n.id, GATED).await;
    let started = std::time::Instant::now();
    let tried = masthead::newsletters::sender::work(&app.state, send)
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(tried >= 20, "{tried}");
    // 20 messages at 20 a second: the first goes at once, the last ~0.95 s later.
    assert!(
        took >= Duration::from_millis(900),
        "the cap spaced them out: {took:?}"
    );
    // The busy mailbox waits for its retry: still queued, one attempt,
    // due in a minute, the server's reply kept.
    let (status, attempts, error) = store::find_recipient(app.state.db(), send, busy)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((status.as_str(), attempts), ("queued", 1));
    assert!(error.unwrap().contains("451 4.2.1"));
    let next: i64 = sqlx::query_scalar(
        "SELECT next_attempt_at FROM send_recipients WHERE send_id = $1 AND member_id = $2",
    )
    .bind(send)
    .bind(busy)
    .fetch_one(app.state.db().reader())
    .await
    .unwrap();
    let now = jiff::Timestamp::now().as_second();
    assert!(
        (now + 50..=now + 61).contains(&next),
        "retry in about a minute: {}",
        next - now
    );
    assert_eq!(
        store::find_send(app.state.db(), send)
            .await
            .unwrap()
            .unwrap()
            .status,
        "sending"
    );
    // Time passes; the retry goes through and the send finishes.
    sqlx::query("UPDATE send_recipients SET next_attempt_at = 0 WHERE send_id = $1")
        .bind(send)
        .execute(app.state.db().writer())
        .await
        .unwrap();
    assert_eq!(run(&app, send).await.status, "sent");
    assert_eq!(smtp.to("busy-desk@example.org").len(), 1);
}

both!(account_email_does_not_wait_behind_a_send);
/// While a long send is running against a slow server, a log-in link is
/// delivered at once: account email has its own lane.
async fn account_email_does_not_wait_behind_a_send(backend: crate::harness::Backend) {
    let smtp = Smtp::start(40).await;
    let app = spawn(backend, &smtp).await;
    let n = newsletter(&app).await;
    for i in 0..150 {
        reader(&app, &format!("long{i:03}@example.org"), false, n.id).await;
    }
    masthead_store::members::ensure_member(
        app.state.db(),
        "hurry@example.org",
        "hurry@example.org",
        1,
    )
    .await
    .unwrap();
    let send = send_article(&app, n.id, GATED).await;
    let state = app.state.clone();
    let sending = tokio::spawn(async move {
        masthead::newsletters::sender::run_to_end(&state, send, |_, _| {}).await
    });
    // Let the send get going, then ask for a log-in link.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut b = Browser::new(&app);
    let asked = std::time::Instant::now();
    b.ask_log_in_link("hurry@example.org").await;
    app.run_jobs().await;
    let mut arrived = false;
    for _ in 0..100 {
        if !smtp.to("hurry@example.org").is_empty() {
            arrived = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waited = asked.elapsed();
    let progress = store::send_progress(app.state.db(), send).await.unwrap();
    assert!(arrived, "the log-in link arrived");
    assert!(
        progress.queued > 0,
        "while the send was still going: {progress:?}"
    );
    println!(
        "log-in link delivered in {waited:?} with {} newsletter messages still queued",
        progress.queued
    );
    sending.await.unwrap().unwrap();
}

both!(a_digest_lists_recent_articles);
/// A digest lists the last days' articles (headline, standfirst, link),
/// never their bodies, and has a web version of its own.
async fn a_digest_lists_recent_articles(backend: crate::harness::Backend) {
    let smtp = Smtp::start(0).await;
    let app = spawn(backend, &smtp).await;
    let n = newsletter(&app).await;
    reader(&app, "digest@example.org", false, n.id).await;
    let db = app.state.db();
    // Two demo articles made recent; the rest stay older than the window.
    // Sixty newer ones (one every ten minutes until now) make the two the
    // oldest of 62 in the window: a digest lists them all, not the newest 50.
    let now = jiff::Timestamp::now().as_second();
    masthead::content::generate::generate(db, 60, &Default::default())
        .await
        .unwrap();
    sqlx::query("UPDATE articles SET published_at = $1 WHERE slug IN ($2, $3)")
        .bind(now - 12 * 3600)
        .bind(GATED)
        .bind("bus-network-redesign-approved")
        .execute(db.writer())
        .await
        .unwrap();
    app.state.refresh_counters().await.unwrap();
    let send = store::create_send(
        db,
        &store::NewSend {
            newsletter_id: n.id,
            article_id: None,
            digest_days: Some(1),
            subject: "The day in Port Alder",
            run_at: now,
            created_by: "test",
        },
        None,
        now,
    )
    .await
    .unwrap();
    assert_eq!(run(&app, send).await.status, "sent");
    let mail = &smtp.to("digest@example.org")[0];
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("The day in Port Alder"));
    assert!(text.contains(&format!("{}/{GATED}", app.base)), "{text}");
    assert!(text.contains(&format!("{}/bus-network-redesign-approved", app.base)));
    assert!(
        !text.contains("council-approves-harbour-seawall-plan"),
        "older articles stay out"
    );
    assert!(!text.contains(LAST_WORDS), "no article bodies in a digest");
    assert_eq!(header(mail, "subject"), "The day in Port Alder");
    let web = app
        .get_text(&format!("/newsletters/{NEWSLETTER}/{send}"), 200)
        .await;
    assert!(web.contains(&format!("href=\"/{GATED}\"")) && !web.contains(LAST_WORDS));
    let generated = |t: &str| t.matches("/generated-article-").count();
    assert!(
        generated(text) >= 60,
        "all 62 in the window are listed: {}",
        generated(text)
    );
    // Issue 12, item 14: the list was fixed when the digest was made. Newer
    // articles change neither its web version nor what it lists.
    sqlx::query("UPDATE articles SET published_at = $1 WHERE slug LIKE 'generated-article-%'")
        .bind(jiff::Timestamp::now().as_second() - 10)
        .execute(db.writer())
        .await
        .unwrap();
    sqlx::query("UPDATE articles SET published_at = $1 WHERE slug = $2")
        .bind(jiff::Timestamp::now().as_second() - 5)
        .bind("council-approves-harbour-seawall-plan")
        .execute(db.writer())
        .await
        .unwrap();
    app.state.refresh_counters().await.unwrap();
    let later = app
        .get_text(&format!("/newsletters/{NEWSLETTER}/{send}"), 200)
        .await;
    assert!(
        later.contains(&format!("href=\"/{GATED}\"")),
        "the web version keeps its articles"
    );
    assert!(later.contains("href=\"/bus-network-redesign-approved\""));
    assert!(
        !later.contains("council-approves-harbour-seawall-plan"),
        "nothing joins it later"
    );
    assert_eq!(generated(&later), generated(&web));
}

/// Issue 12, item 10: the base URL is global configuration, read the same
/// way (flag, environment, TOML) by every command, not only `serve`.
/// SQLite only: this tests how every command reads its configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_builds_links_from_the_configured_base_url() {
    let smtp = Smtp::start(15).await;
    let app = spawn(Backend::Sqlite, &smtp).await;
    let n = newsletter(&app).await;
    reader(&app, "cli.reader@example.org", false, n.id).await;
    let data = app.state.config().data_dir.clone();
    let config = data.join("cli.toml");
    std::fs::write(&config, format!("smtp_url = \"{}\"\n", smtp.url())).unwrap();
    let cli = |args: &[&str], env_base: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_masthead"));
        c.arg("--config").arg(&config).arg("--data-dir").arg(&data);
        c.args(args)
            .env("MASTHEAD_LOG", "warn")
            .env_remove("MASTHEAD_SMTP_URL")
            .env_remove("MASTHEAD_BASE_URL")
            .env_remove("MASTHEAD_LISTEN");
        if let Some(b) = env_base {
            c.env("MASTHEAD_BASE_URL", b);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    // The environment, for a newsletter sent from the command line.
    cli(
        &["newsletters", "send", NEWSLETTER, "--article", GATED],
        Some("https://ledger.example.test"),
    );
    let mail = smtp.to("cli.reader@example.org");
    assert_eq!(mail.len(), 1);
    let unsubscribe = header(&mail[0], "list-unsubscribe");
    assert!(
        unsubscribe.contains("<https://ledger.example.test/unsubscribe/"),
        "{unsubscribe}"
    );
    for part in ["text", "html"] {
        let text = mail[0][part].as_str().unwrap_or_default();
        assert!(
            text.contains("https://ledger.example.test/"),
            "{part}: {text}"
        );
        assert!(
            !text.contains("127.0.0.1"),
            "{part} links to the default origin"
        );
    }
    // The flag, after the subcommand, for a staff invitation.
    let out = cli(
        &[
            "staff",
            "add",
            "cli.editor@example.org",
            "--role",
            "editor",
            "--base-url",
            "https://flag.example.test",
        ],
        None,
    );
    assert!(out.contains("https://flag.example.test/admin/"), "{out}");
    // The file.
    std::fs::write(
        &config,
        format!(
            "smtp_url = \"{}\"\nbase_url = \"https://file.example.test\"\n",
            smtp.url()
        ),
    )
    .unwrap();
    let out = cli(
        &["staff", "add", "cli.editor@example.org", "--role", "editor"],
        None,
    );
    assert!(out.contains("https://file.example.test/admin/"), "{out}");
}
