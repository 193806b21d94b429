//! The test harness: the real app on a loopback port over a fresh database.
//!
//! Each test gets its own database, cloned from a template that is built
//! once per test run (per fixture and backend) under a file lock, so tests
//! run in parallel, in separate processes, without seeding the demo again:
//! SQLite copies a template file, PostgreSQL runs `CREATE DATABASE …
//! TEMPLATE …` and drops the copy when the test ends.

#![allow(dead_code)]

use masthead::app::{AppState, Server};
use masthead::config::{BaseUrl, Config};
use sha2::{Digest, Sha256};
use std::fmt::Display;
use std::fs::File;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixture {
    /// Migrated, no content.
    Empty,
    /// The demo publication, imported.
    Demo,
}

/// The PostgreSQL server for tests. Required: a missing variable fails
/// the PostgreSQL half of every test rather than skipping it.
pub fn pg_admin_url() -> String {
    std::env::var("MASTHEAD_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "MASTHEAD_TEST_DATABASE_URL is not set; point it at a PostgreSQL server, \
             e.g. postgres://postgres@127.0.0.1:5432/test (scripts/test sets this default)"
        )
    })
}

/// The same server URL with another database name.
pub fn pg_url_for(admin: &str, db: &str) -> String {
    let (head, query) = match admin.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (admin, None),
    };
    let base = match head.rfind('/') {
        Some(i) if i > "postgres://".len() => &head[..i],
        _ => head,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

fn fixtures_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("masthead-fixtures");
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("creating {}: {e}", d.display()));
    d
}

/// Changes whenever the schema, the demo content or this test binary does.
fn fixture_key(fixture: Fixture) -> String {
    let mut h = Sha256::new();
    h.update(format!("{fixture:?}"));
    if let Ok(exe) = std::env::current_exe() {
        if let Ok(meta) = std::fs::metadata(exe) {
            h.update(format!("{:?}{}", meta.modified().ok(), meta.len()));
        }
    }
    if fixture == Fixture::Demo {
        let mut files = Vec::new();
        walk(&masthead::content::demo::default_dir(), &mut files);
        files.sort();
        for f in files {
            h.update(f.to_string_lossy().as_bytes());
            h.update(std::fs::read(&f).unwrap_or_default());
        }
    }
    hex::encode(&h.finalize()[..8])
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

/// Hard-links (or copies) every file under `from` into `to`.
fn link_tree(from: &Path, to: &Path) {
    place_tree(from, to, true);
}

/// Copies a directory tree (files the test will change).
fn copy_tree(from: &Path, to: &Path) {
    place_tree(from, to, false);
}

fn place_tree(from: &Path, to: &Path, link: bool) {
    let mut files = Vec::new();
    walk(from, &mut files);
    for f in files {
        let rel = f.strip_prefix(from).unwrap_or(&f);
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if !link || std::fs::hard_link(&f, &dest).is_err() {
            std::fs::copy(&f, &dest).unwrap_or_else(|e| panic!("copying {}: {e}", f.display()));
        }
    }
}

async fn seed(state: &AppState, fixture: Fixture) {
    if fixture == Fixture::Demo {
        let report = masthead::content::demo::seed(
            state.db(),
            state.media(),
            state.processor(),
            &masthead::content::demo::default_dir(),
            false,
        )
        .await
        .unwrap_or_else(|e| panic!("seeding the demo: {e:#}"))
        .unwrap_or_else(|| panic!("the template database was not empty"));
        assert!(
            report.errors.is_empty(),
            "demo import errors: {:#?}",
            report.errors
        );
    }
}

/// Builds the template for (backend, fixture) once; returns its location:
/// a data directory for SQLite, a database name plus media dir for PostgreSQL.
async fn template(backend: Backend, fixture: Fixture) -> (PathBuf, Option<String>) {
    let key = fixture_key(fixture);
    let dir = fixtures_dir();
    let tag = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "pg",
    };
    let name = format!("{tag}-{fixture:?}-{key}").to_lowercase();
    let data = dir.join(&name);
    let done = dir.join(format!("{name}.done"));
    let pg_name = format!("mh_tpl_{}", name.replace('-', "_"));
    let lock = File::create(dir.join(format!("{name}.lock")))
        .unwrap_or_else(|e| panic!("creating the fixture lock: {e}"));
    lock.lock()
        .unwrap_or_else(|e| panic!("locking the fixture: {e}"));
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{e}"));
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", data.join("masthead.db").display());
                let state = AppState::build(Config::for_data_dir(&data, &url))
                    .await
                    .unwrap_or_else(|e| panic!("building the template: {e:#}"));
                seed(&state, fixture).await;
                // Every write into the main file before it is copied: a
                // copy of the file alone would miss what is still in the
                // WAL (the demo's settings, written last, went missing
                // for the first tests that copied a fresh template).
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(state.db().writer())
                    .await
                    .unwrap_or_else(|e| panic!("checkpointing the template: {e}"));
                state.db().close().await;
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let db = masthead_store::Db::connect(&admin, Default::default())
                    .await
                    .unwrap_or_else(|e| panic!("connecting to {admin}: {e}"));
                // Templates of earlier builds are stale now: drop them.
                let prefix = format!("mh_tpl_pg_{}_", format!("{fixture:?}").to_lowercase());
                for old in masthead_store::testing::list_databases(&db, &prefix)
                    .await
                    .unwrap_or_default()
                {
                    if old != pg_name {
                        let _ = masthead_store::testing::drop_database(&db, &old).await;
                    }
                }
                masthead_store::testing::recreate_database(&db, &pg_name)
                    .await
                    .unwrap_or_else(|e| panic!("creating {pg_name}: {e}"));
                let url = pg_url_for(&admin, &pg_name);
                let state = AppState::build(Config::for_data_dir(&data, &url))
                    .await
                    .unwrap_or_else(|e| panic!("building the template: {e:#}"));
                seed(&state, fixture).await;
                state.db().close().await;
                db.close().await;
            }
        }
        File::create(&done).unwrap_or_else(|e| panic!("{e}"));
    }
    let _ = lock.unlock();
    (data, (backend == Backend::Postgres).then_some(pg_name))
}

/// A running app with its own database and data directory.
pub struct TestApp {
    pub backend: Backend,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub state: AppState,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    server: Option<Server>,
    pg_db: Option<String>,
    db_url: String,
}

impl TestApp {
    pub async fn spawn(backend: Backend, fixture: Fixture) -> TestApp {
        Self::spawn_with(backend, fixture, |_| {}).await
    }

    /// A test app made to measure: `TestApp::builder(backend)
    /// .fixture(Fixture::Demo).smtp(&smtp).stripe(&standin).config(|c| …)
    /// .spawn()`.
    pub fn builder(backend: Backend) -> AppBuilder {
        AppBuilder {
            backend,
            fixture: Fixture::Demo,
            tweaks: Vec::new(),
        }
    }

    async fn spawn_with(
        backend: Backend,
        fixture: Fixture,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        let (template_dir, pg_template) = template(backend, fixture).await;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{e}"));
        if template_dir.join("media").exists() {
            link_tree(&template_dir.join("media"), &data.join("media"));
        }
        let (url, pg_db) = match backend {
            Backend::Sqlite => {
                std::fs::copy(template_dir.join("masthead.db"), data.join("masthead.db"))
                    .unwrap_or_else(|e| panic!("copying the template database: {e}"));
                (
                    format!("sqlite://{}", data.join("masthead.db").display()),
                    None,
                )
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let name = format!("mh_t_{:016x}", rand::random::<u64>());
                let db = masthead_store::Db::connect(&admin, Default::default())
                    .await
                    .unwrap_or_else(|e| panic!("connecting to {admin}: {e}"));
                masthead_store::testing::create_database_from(
                    &db,
                    &name,
                    pg_template.as_deref().unwrap_or(""),
                )
                .await
                .unwrap_or_else(|e| panic!("creating {name}: {e}"));
                db.close().await;
                (pg_url_for(&admin, &name), Some(name))
            }
        };
        Self::start(backend, dir, url, pg_db, tweak).await
    }

    /// Serves a copy of a data directory an earlier release left (its
    /// SQLite database, media and marker files), migrating it as `serve`
    /// would.
    pub async fn spawn_from_data_dir(from: &Path) -> TestApp {
        let db = from.join("masthead.db");
        assert!(
            db.is_file(),
            "{} is missing (is it committed?)",
            db.display()
        );
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let data = dir.path().join("data");
        copy_tree(from, &data);
        let url = format!("sqlite://{}", data.join("masthead.db").display());
        Self::start(Backend::Sqlite, dir, url, None, |_| {}).await
    }

    async fn start(
        backend: Backend,
        dir: tempfile::TempDir,
        url: String,
        pg_db: Option<String>,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        let data = dir.path().join("data");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("binding: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let base = format!("http://{addr}");
        let mut config = Config::for_data_dir(&data, &url);
        let url_for_app = url.clone();
        config.base_url = BaseUrl::parse(&base).unwrap_or_else(|e| panic!("{e}"));
        config.db_connections = 4;
        tweak(&mut config);
        let state = AppState::build(config)
            .await
            .unwrap_or_else(|e| panic!("building the app: {e:#}"));
        // The worker is not started: tests drain jobs with `run_jobs`.
        let server = Server::start(state.clone(), listener, false)
            .await
            .unwrap_or_else(|e| panic!("starting: {e:#}"));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        TestApp {
            backend,
            base,
            state,
            client,
            dir,
            server: Some(server),
            pg_db,
            db_url: url_for_app,
        }
    }

    /// The database URL this app runs on.
    pub fn db_url(&self) -> &str {
        &self.db_url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// GET, asserting the status, returning the body text.
    pub async fn get_text(&self, path: &str, status: u16) -> String {
        let res = self.get(path).await;
        let got = res.status().as_u16();
        let body = res.text().await.unwrap_or_default();
        assert_eq!(
            got,
            status,
            "GET {path} answered {got}: {}",
            &body[..body.len().min(500)]
        );
        body
    }

    /// Runs due jobs until none is left; returns how many ran.
    pub async fn run_jobs(&self) -> usize {
        let mut n = 0;
        while masthead::jobs::run_one(&self.state)
            .await
            .unwrap_or_else(|e| panic!("job step failed: {e:#}"))
        {
            n += 1;
        }
        n
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let server = self.server.take();
        if let Some(s) = &server {
            s.trigger_shutdown();
        }
        if let Some(name) = self.pg_db.take() {
            let state = self.state.clone();
            // Drop runs inside the test's runtime; use a thread with its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    state.db().close().await;
                    if let Ok(db) =
                        masthead_store::Db::connect(&pg_admin_url(), Default::default()).await
                    {
                        let _ = masthead_store::testing::drop_database(&db, &name).await;
                        db.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Runs a plain `async fn` test on both backends, as `name::sqlite` and
/// `name::postgres`; written above the function like an attribute:
///
/// ```ignore
/// both!(a_reader_signs_up, Fixture::Demo);
/// async fn a_reader_signs_up(app: TestApp) { … }
///
/// both!(newsletters_are_sent); // the function takes the `Backend`
/// async fn newsletters_are_sent(backend: Backend) { … }
/// ```
///
/// With a fixture the function gets a `TestApp` spawned on it; without one
/// it gets the backend and builds what it needs (an SMTP server, the Stripe
/// stand-in) itself. A test that runs on one backend only says why.
#[macro_export]
macro_rules! both {
    ($name:ident, $fixture:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app =
                    $crate::harness::TestApp::spawn($crate::harness::Backend::Sqlite, $fixture)
                        .await;
                super::$name(app).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app =
                    $crate::harness::TestApp::spawn($crate::harness::Backend::Postgres, $fixture)
                        .await;
                super::$name(app).await
            }
        }
    };
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::harness::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::harness::Backend::Postgres).await
            }
        }
    };
}

type Tweak = Box<dyn FnOnce(&mut Config) + Send>;

/// How a test app is made: its backend, its fixture (the demo publication
/// unless told), the real parts it talks to and configuration tweaks,
/// applied in order.
pub struct AppBuilder {
    backend: Backend,
    fixture: Fixture,
    tweaks: Vec<Tweak>,
}

impl AppBuilder {
    pub fn fixture(mut self, fixture: Fixture) -> Self {
        self.fixture = fixture;
        self
    }

    /// Email (account and newsletters) through this SMTP server.
    pub fn smtp(self, smtp: &crate::smtp::Smtp) -> Self {
        let url = smtp.url();
        self.config(move |c| c.smtp_url = Some(masthead::config::Secret::new(url)))
    }

    /// Stripe is the stand-in (its test key and address).
    pub fn stripe(self, standin: &crate::stripe_standin::StripeStandIn) -> Self {
        let base = standin.base.clone();
        self.config(move |c| {
            c.stripe.secret_key = Some(masthead::config::Secret::new(crate::stripe_standin::KEY));
            c.stripe.api_base = base;
        })
    }

    /// Any other configuration change.
    pub fn config(mut self, tweak: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.tweaks.push(Box::new(tweak));
        self
    }

    pub async fn spawn(self) -> TestApp {
        let tweaks = self.tweaks;
        TestApp::spawn_with(self.backend, self.fixture, move |c| {
            for t in tweaks {
                t(c);
            }
        })
        .await
    }
}

/// A reader's browser: a cookie jar over the app's client. POSTs carry
/// the site's own `Origin`, as a browser's would.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub jar: std::collections::BTreeMap<String, String>,
    /// A newsroom browser's form token (`staff_browser`), which `send`
    /// adds to every form.
    pub staff_csrf: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            jar: Default::default(),
            staff_csrf: None,
        }
    }

    pub fn with_cookie(app: &'a TestApp, cookie: &str) -> Browser<'a> {
        let mut b = Browser::new(app);
        if let Some((k, v)) = cookie.split_once('=') {
            b.jar.insert(k.to_string(), v.to_string());
        }
        b
    }

    pub fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all("set-cookie") {
            let s = v.to_str().unwrap_or_default();
            let first = s.split(';').next().unwrap_or_default();
            if let Some((k, v)) = first.split_once('=') {
                if v.is_empty() || s.contains("Max-Age=0") {
                    self.jar.remove(k);
                } else {
                    self.jar.insert(k.to_string(), v.to_string());
                }
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> reqwest::Response {
        self.get_with(path, &[]).await
    }

    pub async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.app.client.get(self.app.url(path));
        if !self.jar.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        self.keep(&res);
        res
    }

    /// GET, asserting 200, returning the text.
    pub async fn page(&mut self, path: &str) -> String {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        assert_eq!(status, 200, "GET {path}: {}", &text[..text.len().min(400)]);
        text
    }

    /// A reader signs up with an address and a password.
    pub async fn sign_up(&mut self, email: &str, password: &str) -> reqwest::Response {
        self.post("/signup", &[("email", email), ("password", password)])
            .await
    }

    /// A reader logs in with a password.
    pub async fn log_in(&mut self, email: &str, password: &str) -> reqwest::Response {
        self.post("/login", &[("email", email), ("password", password)])
            .await
    }

    /// A reader asks for an emailed log-in link.
    pub async fn ask_log_in_link(&mut self, email: &str) -> reqwest::Response {
        self.post("/login", &[("email", email), ("action", "link")])
            .await
    }

    /// A reader asks for a password-reset link.
    pub async fn ask_password_reset(&mut self, email: &str) -> reqwest::Response {
        self.post("/password/reset", &[("email", email)]).await
    }

    /// A reader confirms their password before a sensitive change.
    pub async fn reauth(&mut self, csrf: &str, password: &str) -> reqwest::Response {
        self.post("/account/reauth", &[("csrf", csrf), ("password", password)])
            .await
    }

    /// A reader asks to move their account to another address.
    pub async fn change_email(&mut self, csrf: &str, email: &str) -> reqwest::Response {
        self.post("/account/email", &[("csrf", csrf), ("email", email)])
            .await
    }

    /// A reader deletes their account (`confirm` is what they typed).
    pub async fn delete_account(&mut self, csrf: &str, confirm: &str) -> reqwest::Response {
        self.post("/account/delete", &[("csrf", csrf), ("confirm", confirm)])
            .await
    }

    /// A reader starts a checkout for a plan.
    pub async fn checkout(&mut self, csrf: &str, plan: &str) -> reqwest::Response {
        self.post("/subscribe/checkout", &[("csrf", csrf), ("plan", plan)])
            .await
    }

    /// A reader starts a checkout from an article's offer box.
    pub async fn checkout_from(&mut self, csrf: &str, plan: &str, from: &str) -> reqwest::Response {
        self.post(
            "/subscribe/checkout",
            &[("csrf", csrf), ("plan", plan), ("from", from)],
        )
        .await
    }

    /// A staff member logs in with a password (the first step).
    pub async fn staff_log_in(&mut self, email: &str, password: &str) -> reqwest::Response {
        self.post("/admin/login", &[("email", email), ("password", password)])
            .await
    }

    /// A staff member gives the code of the second step.
    pub async fn two_step_code(&mut self, token: &str, code: &str) -> reqwest::Response {
        self.post("/admin/login/code", &[("token", token), ("code", code)])
            .await
    }

    /// A staff member asks for a password-reset link.
    pub async fn ask_staff_password_reset(&mut self, email: &str) -> reqwest::Response {
        self.post("/admin/password-reset", &[("email", email)])
            .await
    }

    /// An editor saves a page.
    pub async fn save_page(&mut self, slug: &str, title: &str, body: &str) -> reqwest::Response {
        self.send(
            "/admin/pages",
            &[("slug", slug), ("title", title), ("body", body)],
        )
        .await
    }

    /// An editor saves a topic.
    pub async fn save_topic(&mut self, slug: &str, name: &str, text: &str) -> reqwest::Response {
        self.send(
            "/admin/topics",
            &[("slug", slug), ("name", name), ("text", text)],
        )
        .await
    }

    /// An editor saves an author.
    pub async fn save_author(&mut self, slug: &str, name: &str, bio: &str) -> reqwest::Response {
        self.send(
            "/admin/authors",
            &[("slug", slug), ("name", name), ("text", bio)],
        )
        .await
    }

    /// An editor publishes a correction to an article.
    pub async fn add_correction(&mut self, article: impl Display, body: &str) -> reqwest::Response {
        self.send(
            &format!("/admin/articles/{article}/corrections"),
            &[("body", body)],
        )
        .await
    }

    /// An editor makes a preview link of the article edited at `edit`.
    pub async fn share_preview(&mut self, edit: impl Display, days: &str) -> reqwest::Response {
        self.send(&format!("{edit}/share"), &[("days", days)]).await
    }

    /// An editor sends (`action` "send") or tests ("test") a newsletter.
    pub async fn send_newsletter(
        &mut self,
        newsletter: &str,
        article: &str,
        action: &str,
    ) -> reqwest::Response {
        let mut form = vec![("newsletter", newsletter), ("article", article)];
        if !action.is_empty() {
            form.push(("action", action));
        }
        self.send("/admin/newsletters/send", &form).await
    }

    /// An administrator grants a member complimentary access.
    pub async fn grant_comp(
        &mut self,
        member: impl Display,
        until: &str,
        note: &str,
    ) -> reqwest::Response {
        let mut form = vec![("until", until)];
        if !note.is_empty() {
            form.push(("note", note));
        }
        self.send(&format!("/admin/members/{member}/comp"), &form)
            .await
    }

    /// An administrator ends a member's complimentary access.
    pub async fn revoke_comp(&mut self, member: impl Display) -> reqwest::Response {
        self.send(&format!("/admin/members/{member}/revoke"), &[])
            .await
    }

    /// An administrator deletes a member.
    pub async fn delete_member(&mut self, member: impl Display) -> reqwest::Response {
        self.send(&format!("/admin/members/{member}/delete"), &[])
            .await
    }

    /// An administrator imports members from CSV text; `ticks` are the
    /// boxes ticked ("confirmed", "consented").
    pub async fn import_members(
        &mut self,
        csv: &str,
        source: &str,
        ticks: &[&str],
    ) -> reqwest::Response {
        let mut form = vec![("csv", csv), ("source", source)];
        form.extend(ticks.iter().map(|t| (*t, "on")));
        self.send("/admin/members/import", &form).await
    }

    /// An administrator invites someone to the staff.
    pub async fn invite_staff(&mut self, email: &str, name: &str, role: &str) -> reqwest::Response {
        let mut form = vec![("email", email), ("role", role)];
        if !name.is_empty() {
            form.push(("name", name));
        }
        self.send("/admin/staff/invite", &form).await
    }

    /// An administrator changes a staff member's role.
    pub async fn set_staff_role(&mut self, staff: impl Display, role: &str) -> reqwest::Response {
        self.send(&format!("/admin/staff/{staff}/role"), &[("role", role)])
            .await
    }

    /// An administrator disables, enables or resets a staff account.
    pub async fn change_staff(&mut self, staff: impl Display, what: &str) -> reqwest::Response {
        self.send(&format!("/admin/staff/{staff}/{what}"), &[])
            .await
    }

    /// POSTs a multipart/form-data body built by hand (the wire format a
    /// browser sends for `<form enctype="multipart/form-data">`).
    pub async fn upload(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &str, &[u8])>,
    ) -> reqwest::Response {
        let files: Vec<(&str, &str, &str, &[u8])> = file
            .into_iter()
            .map(|(name, mime, bytes)| ("file", name, mime, bytes))
            .collect();
        self.upload_files(path, fields, &files).await
    }

    /// A multipart form with several files: (field, file name, type, bytes).
    pub async fn upload_files(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, &[u8])],
    ) -> reqwest::Response {
        let boundary = "----mastheadtestboundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (field, name, mime, bytes) in files {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.app
            .client
            .post(self.app.url(path))
            .header("cookie", self.cookie_header())
            .header("origin", self.app.base.clone())
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// A newsroom form posted with this staff session's CSRF token.
    pub async fn send(&mut self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self
            .staff_csrf
            .clone()
            .unwrap_or_else(|| panic!("send is for staff_browser browsers"));
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post(path, &form).await
    }

    /// The status of `send`.
    pub async fn send_status(&mut self, path: &str, fields: &[(&str, &str)]) -> u16 {
        self.send(path, fields).await.status().as_u16()
    }

    /// The status of a GET of `path`.
    pub async fn get_status(&mut self, path: &str) -> u16 {
        self.get(path).await.status().as_u16()
    }

    /// The status of a POST of `form` to `path`.
    pub async fn post_status(&mut self, path: &str, form: &[(&str, &str)]) -> u16 {
        self.post(path, form).await.status().as_u16()
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.post_with(path, form, &[("origin", &self.app.base.clone())])
            .await
    }

    pub async fn post_with(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self.app.client.post(self.app.url(path)).form(form);
        if !self.jar.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        self.keep(&res);
        res
    }

    /// The session-bound form token shown on the account page.
    pub async fn csrf(&mut self) -> String {
        let html = self.page("/account").await;
        html.split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_string()
    }
}

/// A member whose address is proved, made directly in the store (as a
/// confirmed import would): returns the member id.
pub async fn verified_member(app: &TestApp, email: &str) -> i64 {
    let db = app.state.db();
    let now = jiff::Timestamp::now().as_second();
    let id = masthead_store::members::ensure_member(db, email, &email.to_ascii_lowercase(), now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    masthead_store::members::prove_address(
        &mut tx,
        id,
        None,
        masthead_store::members::Proof::Vouched,
        now,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    masthead_store::commit(tx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    id
}

/// A signed-in member with a proved address, made directly in the store:
/// returns the session cookie (`masthead_session=…`) and the member id.
pub async fn member_session(app: &TestApp, email: &str, subscriber: bool) -> (String, i64) {
    let db = app.state.db();
    let now = jiff::Timestamp::now().as_second();
    let id = verified_member(app, email).await;
    if subscriber {
        masthead_store::members::insert_grant(
            db,
            id,
            "comp",
            now - 10,
            Some(now + 86_400),
            "test",
            now,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let cookie = session_for(app, "member", Some(id), None).await;
    (cookie, id)
}

/// A staff member and their session cookie (`masthead_staff=…`).
pub async fn staff_session(app: &TestApp, email: &str) -> String {
    staff_session_as(app, email, "editor").await
}

/// A browser signed in to the newsroom as a new staff member with `role`
/// (`ROLE@newsroom.example`), and the staff session's CSRF token.
pub async fn staff_browser<'a>(app: &'a TestApp, role: &str) -> (Browser<'a>, String) {
    let cookie = staff_session_as(app, &format!("{role}@newsroom.example"), role).await;
    let token = cookie
        .split_once('=')
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    let csrf = masthead::members::tokens::csrf_token(&token);
    let mut b = Browser::with_cookie(app, &cookie);
    b.staff_csrf = Some(csrf.clone());
    (b, csrf)
}

/// A staff session for a new staff member with `role`.
pub async fn staff_session_as(app: &TestApp, email: &str, role: &str) -> String {
    let now = jiff::Timestamp::now().as_second();
    let id = new_staff(app, email, &format!("Test {role}"), role, now).await;
    session_for(app, "staff", None, Some(id)).await
}

/// A new staff member (no password, no session); their id.
pub async fn new_staff(app: &TestApp, email: &str, name: &str, role: &str, now: i64) -> i64 {
    let mut tx = app
        .state
        .db()
        .begin()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let id = masthead_store::members::insert_staff(
        &mut tx,
        email,
        &email.to_ascii_lowercase(),
        name,
        role,
        now,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .unwrap_or_else(|| panic!("staff {email} exists"));
    masthead_store::commit(tx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    id
}

/// An operator's invitation (as `masthead staff add`): the new staff
/// member's id and set-password link.
pub async fn invited_staff(app: &TestApp, email: &str, name: &str, role: &str) -> (i64, String) {
    use masthead::staff::accounts;
    let email = masthead_core::members::Email::parse(email).unwrap_or_else(|e| panic!("{e}"));
    let role = masthead_core::members::Role::parse(role).unwrap_or_else(|| panic!("role {role}"));
    let inv = accounts::Invitation {
        email: &email,
        name,
        role,
    };
    let by = masthead_store::newsroom::Actor::OPERATOR;
    let now = jiff::Timestamp::now().as_second();
    let made = accounts::invite(&app.state, &inv, by, accounts::Delivery::Returned, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("staff {email} exists"));
    (made.id, made.link)
}

pub async fn session_for(
    app: &TestApp,
    kind: &str,
    member_id: Option<i64>,
    staff_id: Option<i64>,
) -> String {
    let (token, hash) = masthead::members::tokens::new_token();
    let now = jiff::Timestamp::now().as_second();
    let mut tx = app
        .state
        .db()
        .begin()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    masthead_store::members::insert_session(
        &mut tx,
        &masthead_store::members::NewSession {
            token_hash: &hash,
            kind,
            member_id,
            staff_id,
            user_agent: "test",
        },
        now + 86_400,
        now,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    masthead_store::commit(tx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let name = if kind == "staff" {
        "masthead_staff"
    } else {
        "masthead_session"
    };
    format!("{name}={token}")
}

/// An anonymous meter cookie with these articles counted just now.
pub fn meter_cookie(app: &TestApp, article_ids: &[i64]) -> String {
    let now = jiff::Timestamp::now().as_second();
    let mut m = masthead::access::meter::MeterState::default();
    for id in article_ids {
        m.count(*id, now, 30 * 86_400);
    }
    let value = m
        .encode(&app.state.meter_keys())
        .unwrap_or_else(|| panic!("no meter key"));
    format!("masthead_meter={value}")
}

/// The id of an article by slug.
pub async fn article_id(app: &TestApp, slug: &str) -> i64 {
    masthead_store::content::find_article(app.state.db(), slug, i64::MAX / 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no article {slug}"))
        .id
}

/// Messages the app wrote to its outbox (no SMTP configured): (file
/// name, content), oldest first. Runs due jobs first.
pub async fn outbox(app: &TestApp) -> Vec<String> {
    app.run_jobs().await;
    let dir = app.state.config().data_dir.join("outbox");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|f| decode_qp(&std::fs::read_to_string(f).unwrap_or_default()))
        .collect()
}

/// Follows the confirmation link a sign-up from `b` emailed to `email`
/// (outbox), in `b`: the address is proved from the browser that claimed it.
pub async fn confirm_signup(b: &mut Browser<'_>, email: &str) {
    let app = b.app;
    let mail = outbox(app)
        .await
        .into_iter()
        .rev()
        .find(|m| m.contains(&format!("To: {email}")) && m.contains("/account/verify/"))
        .unwrap_or_else(|| panic!("no confirmation email to {email}"));
    let link = find_link(&mail, &app.url("/account/verify/"))
        .unwrap_or_else(|| panic!("no confirmation link"));
    let res = b.post(link.trim_start_matches(&app.base), &[]).await;
    assert_eq!(res.status().as_u16(), 303, "confirming {email}");
}

/// Undoes quoted-printable soft line breaks and `=3D` so links can be read.
pub fn decode_qp(s: &str) -> String {
    s.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// The first link in `text` whose path starts with `prefix`.
pub fn find_link(text: &str, prefix: &str) -> Option<String> {
    let at = text.find(prefix)?;
    let rest = &text[at..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// A publication setting changed as the operator would (`masthead settings
/// set`): checked, stored and audited.
pub async fn set_setting(app: &TestApp, key: &str, value: &str) -> anyhow::Result<()> {
    let stored = app.state.settings().check(key, value)?;
    let by = masthead_store::newsroom::Actor::OPERATOR;
    let now = jiff::Timestamp::now().as_second();
    app.state
        .settings()
        .save(app.state.db(), &[(key, stored)], by, now)
        .await
}

/// Makes every later audit entry fail to be written (a trigger), so a test
/// can show that the change the entry records is not written either.
pub async fn fail_audit_writes(app: &TestApp) {
    let db = app.state.db();
    let inject = match db.backend() {
        masthead_store::Backend::Sqlite => vec![
            "CREATE TRIGGER inject_audit_failure BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        ],
        masthead_store::Backend::Postgres => vec![
            "CREATE FUNCTION inject_audit_failure() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER inject_audit_failure BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION inject_audit_failure()",
        ],
    };
    for sql in inject {
        sqlx::query(sql)
            .execute(db.writer())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}
