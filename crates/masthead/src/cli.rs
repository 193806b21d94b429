//! The command line: `masthead serve | migrate | import | settings | keys |
//! members | plans | staff | generate`.

use crate::app::{AppState, Server};
use crate::config::{Config, FileConfig, Overrides};
use crate::content::import::{ImportOptions, Importer};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Who the command line's changes are audited as.
const OPERATOR: masthead_store::newsroom::Actor<'static> =
    masthead_store::newsroom::Actor::OPERATOR;

#[derive(Parser, Debug)]
#[command(
    name = "masthead",
    version,
    about = "A news publishing platform for reader-funded newsrooms"
)]
pub struct Cli {
    /// Configuration file (default: ./masthead.toml when present)
    #[arg(long, global = true, env = "MASTHEAD_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory: the SQLite database, media and outbox live here
    #[arg(long, global = true, env = "MASTHEAD_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… (default: a SQLite file in the data directory)
    #[arg(long, global = true, env = "MASTHEAD_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
    /// Public URL of the site; every absolute link is built from it, by
    /// every command (emails sent from the command line included)
    #[arg(long, global = true, env = "MASTHEAD_BASE_URL", value_name = "URL")]
    base_url: Option<String>,
    /// Address to listen on (and, without a base URL, the origin of links)
    #[arg(long, global = true, env = "MASTHEAD_LISTEN", value_name = "ADDR")]
    listen: Option<String>,
    /// Directory whose templates/ and static/ override the built-in theme
    #[arg(long, global = true, env = "MASTHEAD_THEME_DIR", value_name = "DIR")]
    theme_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the site (and run the job worker)
    Serve {
        /// Seed the demo publication into an empty database first
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit
    Migrate,
    /// Import content: a directory of Markdown files with front matter
    /// (the default), or another platform's export (`--from wordpress`,
    /// `ghost`, `substack`)
    Import {
        /// The directory of *.md files (read recursively), or the export file
        dir: PathBuf,
        /// What the input is: markdown (a directory), wordpress (a WXR
        /// file), ghost (a JSON export) or substack (the export zip)
        #[arg(long, default_value = "markdown")]
        from: String,
        /// Also overwrite articles edited in the newsroom since the last
        /// import (otherwise they are reported as conflicts and kept)
        #[arg(long)]
        force: bool,
        /// Change nothing; print what the import would do
        #[arg(long)]
        dry_run: bool,
        /// WordPress: a copy of the old site's wp-content/uploads, read
        /// before fetching images over HTTP
        #[arg(long)]
        uploads: Option<PathBuf>,
        /// The old site's public address, when the export's differs
        #[arg(long)]
        old_url: Option<String>,
        /// Fetch images from loopback and private addresses too
        #[arg(long)]
        allow_private_fetch: bool,
        /// WordPress: password-protected posts become subscribers-only
        /// articles (otherwise drafts)
        #[arg(long)]
        protected_as_subscribers: bool,
        /// Let an imported page replace the page here with the same slug
        /// (terms, privacy: pages readers consented to)
        #[arg(long)]
        replace_pages: bool,
        /// The old site's time zone, for drafts without a GMT date
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Ghost: the members CSV (members, newsletter opt-ins, comps,
        /// Stripe customers, whose subscriptions are carried over)
        #[arg(long)]
        members: Option<PathBuf>,
        /// Ghost: a copy of the old site's content/ folder, read before
        /// fetching images over HTTP
        #[arg(long)]
        content: Option<PathBuf>,
        /// Ghost and Substack: the newsletters here (slugs,
        /// comma-separated) that a member who takes email joins (default:
        /// Ghost's newsletters marked subscribe on sign-up; for Substack,
        /// one newsletter named after the publication)
        #[arg(long, value_delimiter = ',')]
        newsletters: Vec<String>,
    },
    /// Read or change publication settings
    Settings {
        #[command(subcommand)]
        action: SettingsAction,
    },
    /// Add a new signing key (the older ones keep verifying)
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Integrations: the keys of the Ghost-compatible Content and Admin APIs
    Integrations {
        #[command(subcommand)]
        action: IntegrationsAction,
    },
    /// Manage reader accounts
    Members {
        #[command(subcommand)]
        action: MembersAction,
    },
    /// Manage subscription plans (what the offer box sells)
    Plans {
        #[command(subcommand)]
        action: PlansAction,
    },
    /// Newsletters: list them, send an article or a digest, follow sends
    Newsletters {
        #[command(subcommand)]
        action: NewslettersAction,
    },
    /// Manage newsroom staff
    Staff {
        #[command(subcommand)]
        action: StaffAction,
    },
    /// Fill the database with generated articles, or members opted in to
    /// a newsletter (for benchmarks)
    #[command(hide = true)]
    Generate {
        #[arg(long, default_value_t = 0)]
        articles: u32,
        #[arg(long, default_value_t = 0)]
        members: u32,
        /// The newsletter generated members get
        #[arg(long)]
        newsletter: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum MembersAction {
    /// Never send newsletters to EMAIL again (a complaint, a known-bad address)
    Suppress {
        email: String,
        /// Why, kept with the address
        #[arg(long, default_value = "suppressed by staff")]
        note: String,
    },
    /// Give EMAIL a complimentary subscription (creating the member if needed)
    Comp {
        email: String,
        /// Last day of access, YYYY-MM-DD (in the publication's time zone)
        #[arg(long, value_name = "DATE")]
        until: String,
        /// A note kept with the grant
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Subcommand, Debug)]
enum NewslettersAction {
    /// Every newsletter with its audience and number of members
    List,
    /// Send an article to a newsletter's members (now, or --at a time)
    Send {
        /// The newsletter's slug
        newsletter: String,
        /// The article's slug
        #[arg(long)]
        article: String,
        /// Subject line (default: the headline)
        #[arg(long)]
        subject: Option<String>,
        /// When to send: 2026-12-01T08:00 (publication time zone) or an RFC 3339 time
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Queue it and return; the server's sender sends it
        #[arg(long)]
        no_wait: bool,
    },
    /// Send a digest of the last DAYS days' articles to a newsletter
    Digest {
        newsletter: String,
        #[arg(long, default_value_t = 7)]
        days: i64,
        #[arg(long)]
        subject: Option<String>,
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        #[arg(long)]
        no_wait: bool,
    },
    /// Sends with their progress, or one send in detail
    Status { send: Option<i64> },
    /// Resume a paused send (once the mail server's complaint is fixed)
    Resume {
        send: i64,
        #[arg(long)]
        no_wait: bool,
    },
}

#[derive(Subcommand, Debug)]
enum PlansAction {
    /// Every plan: price, trial, whether it is offered, its Stripe Price
    List,
    /// Add a plan, or rename it and change its lines. A plan's price,
    /// currency and interval never change: a new price is a new plan.
    Add {
        /// Short name used in links, e.g. annual-2027
        slug: String,
        #[arg(long)]
        name: String,
        /// month or year
        #[arg(long)]
        interval: String,
        /// In major units as people write it: 14, 100.00, 1200 (JPY)
        #[arg(long)]
        amount: String,
        /// ISO 4217 code, e.g. USD, EUR, JPY
        #[arg(long)]
        currency: String,
        /// Free days before the first charge (one trial per member)
        #[arg(long, value_name = "DAYS")]
        trial_days: Option<u32>,
        /// A line saying what it includes (repeat for several)
        #[arg(long = "include", value_name = "LINE")]
        includes: Vec<String>,
        /// Order in the offer box (lower first)
        #[arg(long, default_value_t = 0)]
        position: i64,
    },
    /// Stop offering a plan (subscribers on it keep their subscription)
    Archive { slug: String },
    /// Offer an archived plan again
    Activate { slug: String },
}

#[derive(Subcommand, Debug)]
enum StaffAction {
    /// Add a staff member (or re-issue their link) and print a one-time set-password link
    Add {
        email: String,
        /// owner, administrator, editor, author or contributor
        #[arg(long)]
        role: String,
        /// Display name (defaults to the part of the address before @)
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum IntegrationsAction {
    /// Create an integration and print its Content and Admin API keys
    /// (the Admin key is shown this once)
    Add {
        name: String,
        /// What the Admin API may do: administrator, editor, author or contributor
        #[arg(long, default_value = "editor")]
        role: String,
    },
    /// List integrations with their Content API keys
    List,
    /// Replace an integration's Content API key (`content`) or Admin API
    /// key (`admin`); the old one stops working at once
    Rotate {
        id: i64,
        /// content or admin
        which: String,
    },
    /// Revoke an integration: both keys stop working at once
    Revoke { id: i64 },
}

#[derive(Subcommand, Debug)]
enum KeysAction {
    /// Start signing with a new key for PURPOSE (e.g. meter)
    Rotate { purpose: String },
}

#[derive(Subcommand, Debug)]
enum SettingsAction {
    /// Show every setting, marking the ones locked by configuration
    List,
    /// Change one setting
    Set { key: String, value: String },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("MASTHEAD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let file = FileConfig::load(cli.config.as_deref())?;
    let over = Overrides {
        data_dir: cli.data_dir,
        database_url: cli.database_url,
        listen: cli.listen,
        base_url: cli.base_url,
        theme_dir: cli.theme_dir,
    };
    match cli.command {
        Command::Serve { demo } => {
            let config = Config::build(file, over)?;
            serve(config, demo).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let config = Config::build(file, over)?;
            let db = masthead_store::Db::connect(&config.database_url, Default::default()).await?;
            let applied = masthead_store::migrate(&db).await?;
            println!("migrations applied: {applied:?}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            dir,
            from,
            force,
            dry_run,
            uploads,
            old_url,
            allow_private_fetch,
            protected_as_subscribers,
            replace_pages,
            timezone,
            members,
            content,
            newsletters,
        } if from == "wordpress" || from == "ghost" || from == "substack" => {
            let config = Config::build(file, over)?;
            let state = AppState::build(config).await?;
            let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let operator = masthead_store::newsroom::Actor::OPERATOR;
            let report = if from == "ghost" {
                let opts = crate::imports::ghost::Options {
                    file: dir,
                    members,
                    content,
                    old_url,
                    newsletters,
                    dry_run,
                    force,
                    allow_private_fetch,
                    replace_pages,
                    progress,
                };
                crate::imports::ghost::run(&state, &opts, operator).await?
            } else if from == "substack" {
                let opts = crate::imports::substack::Options {
                    old_url,
                    newsletters,
                    dry_run,
                    force,
                    allow_private_fetch,
                    progress,
                    ..crate::imports::substack::Options::new(dir)
                };
                crate::imports::substack::run(&state, &opts, operator).await?
            } else {
                let opts = crate::imports::wordpress::Options {
                    file: dir,
                    uploads,
                    old_url,
                    dry_run,
                    force,
                    allow_private_fetch,
                    protected_as_subscribers,
                    replace_pages,
                    timezone: jiff::tz::TimeZone::get(&timezone)
                        .map_err(|e| anyhow::anyhow!("--timezone {timezone}: {e}"))?,
                    progress,
                };
                crate::imports::wordpress::run(&state, &opts, operator).await?
            };
            for n in &report.skipped {
                eprintln!(
                    "skipped {} {} ({}): {}",
                    n.kind, n.source_id, n.title, n.reason
                );
            }
            for n in &report.partial {
                eprintln!(
                    "partly {} {} ({}): {}",
                    n.kind, n.source_id, n.title, n.reason
                );
            }
            if report.dropped_characters > 0 {
                eprintln!(
                    "dropped {} characters XML does not allow",
                    report.dropped_characters
                );
            }
            println!("imported: {}", report.summary());
            Ok(
                if report.skipped.is_empty() && report.articles.conflicts == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                },
            )
        }
        Command::Import { from, .. } if from != "markdown" => Err(anyhow::anyhow!(
            "--from {from}: use markdown (a directory), wordpress (a WXR file), ghost (a JSON export) or substack (the export zip)"
        )),
        Command::Import { dir, force, .. } => {
            let config = Config::build(file, over)?;
            let state = AppState::build(config).await?;
            let mut importer = Importer::new(
                state.db(),
                state.media(),
                state.processor(),
                ImportOptions {
                    shift_seconds: 0,
                    progress: true,
                    force,
                    policy: state.settings().get().publication.policy.clone(),
                    actor: Some(masthead_store::newsroom::Actor::OPERATOR),
                },
            );
            let report = importer.import_dir(&dir).await?;
            for e in &report.errors {
                eprintln!("{e}");
            }
            for c in &report.conflicts {
                eprintln!("{c}: conflict: edited in the newsroom since the last import; kept as it is (--force overwrites it)");
            }
            println!("imported: {}", report.summary());
            Ok(if report.errors.is_empty() && report.conflicts.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Settings { action } => {
            let config = Config::build(file, over)?;
            let state = AppState::build(config).await?;
            match action {
                SettingsAction::List => {
                    let s = state.settings().get();
                    for key in masthead_core::settings::KEYS {
                        let locked = if s.locked.contains(*key) {
                            "  (locked by configuration)"
                        } else {
                            ""
                        };
                        println!(
                            "{key} = {:?}{locked}",
                            s.publication.get(key).unwrap_or_default()
                        );
                    }
                }
                SettingsAction::Set { key, value } => {
                    let stored = state.settings().check(&key, &value)?;
                    let now = state.now();
                    let by = OPERATOR;
                    state
                        .settings()
                        .save(state.db(), &[(key.as_str(), stored)], by, now)
                        .await?;
                    println!("{key} updated");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Integrations { action } => {
            let config = Config::build(file, over)?;
            let state = AppState::build(config).await?;
            integrations(&state, action).await
        }
        Command::Keys {
            action: KeysAction::Rotate { purpose },
        } => {
            let config = Config::build(file, over)?;
            let db = masthead_store::Db::connect(&config.database_url, Default::default()).await?;
            masthead_store::migrate(&db).await?;
            let id = crate::app::rotate_key(&db, &purpose).await?;
            println!("new {purpose} key {id} signs from now on; older keys still verify");
            Ok(ExitCode::SUCCESS)
        }
        Command::Members {
            action: MembersAction::Comp { email, until, note },
        } => {
            let config = Config::build(file, over)?;
            let state = AppState::build(config).await?;
            let email =
                masthead_core::members::Email::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
            let date: jiff::civil::Date = until
                .parse()
                .map_err(|_| anyhow::anyhow!("--until must be a date like 2027-06-30"))?;
            let tz = state.settings().get().tz.clone();
            let now = state.now();
            let end = masthead_core::members::complimentary_until(date, &tz, now)
                .map_err(|e| anyhow::anyhow!("--until {until}: {e}"))?;
            let lower = email.lower();
            let detail = format!("until the end of {date}; {note}");
            masthead_store::members::grant_complimentary(
                state.db(),
                masthead_store::members::Grantee::Address {
                    email: email.as_str(),
                    email_lower: &lower,
                },
                end,
                &note,
                OPERATOR,
                &detail,
                now,
            )
            .await?;
            println!("{email} has complimentary access until the end of {date}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Newsletters { action } => {
            let config = Config::build(file, over)?;
            let state = AppState::build(config).await?;
            newsletters(&state, action).await
        }
        Command::Members {
            action: MembersAction::Suppress { email, note },
        } => {
            let config = Config::build(file, over)?;
            let state = AppState::build(config).await?;
            let email =
                masthead_core::members::Email::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
            let now = state.now();
            let lower = email.lower();
            let audit = OPERATOR.audit("member.suppress", "email", &lower, &note);
            if masthead_store::newsletters::suppress(
                state.db(),
                &lower,
                "manual",
                &note,
                Some(&audit),
                now,
            )
            .await?
            {
                println!("{email} will not be sent newsletters again");
            } else {
                println!("{email} was already suppressed");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Plans { action } => {
            let config = Config::build(file, over)?;
            let state = AppState::build(config).await?;
            plans(&state, action).await
        }
        Command::Staff {
            action: StaffAction::Add { email, role, name },
        } => {
            let config = Config::build(file, over)?;
            let state = AppState::build(config).await?;
            let email =
                masthead_core::members::Email::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
            let role = masthead_core::members::Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown role {role:?}; choose owner, administrator, editor, author or contributor"
                )
            })?;
            use crate::staff::accounts;
            let now = state.now();
            let invitation = accounts::Invitation {
                email: &email,
                name: name.as_deref().unwrap_or_default(),
                role,
            };
            let by = OPERATOR;
            let returned = accounts::Delivery::Returned;
            let link = match accounts::invite(&state, &invitation, by, returned, now).await? {
                Some(made) => made.link,
                None => {
                    println!("{email} is already on the staff; issuing a new set-password link");
                    let (staff, _) =
                        masthead_store::members::find_staff_by_email(state.db(), &email.lower())
                            .await?
                            .ok_or_else(|| {
                                anyhow::anyhow!("{email} is on the staff but disabled")
                            })?;
                    let target = accounts::Target {
                        id: staff.id,
                        email: &staff.email,
                        role: &staff.role,
                    };
                    accounts::change(&state, &target, accounts::Change::Reset, by, returned, now)
                        .await?
                        .unwrap_or_default()
                }
            };
            println!("Set-password link for {email} (works once, for 7 days):\n{link}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate {
            articles,
            members,
            newsletter,
        } => {
            let config = Config::build(file, over)?;
            let state = AppState::build(config).await?;
            if articles > 0 {
                let policy = state.settings().get().publication.policy.clone();
                crate::content::generate::generate(state.db(), articles, &policy).await?;
            }
            if members > 0 {
                let slug =
                    newsletter.ok_or_else(|| anyhow::anyhow!("--members needs --newsletter"))?;
                let n = masthead_store::newsletters::find_by_slug(state.db(), &slug)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no newsletter {slug:?}"))?;
                let now = state.now();
                let added = masthead_store::newsletters::generate_members(
                    state.db(),
                    members,
                    "bench.example",
                    n.id,
                    now,
                )
                .await?;
                println!("{added} members opted in to {slug}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A time given on the command line: RFC 3339, or a civil date and time
/// in the publication's time zone.
fn parse_time(state: &AppState, text: &str) -> anyhow::Result<i64> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t.as_second());
    }
    let civil: jiff::civil::DateTime = text.parse().map_err(|_| {
        anyhow::anyhow!("--at {text:?}: write 2026-12-01T08:00 or 2026-12-01T08:00:00Z")
    })?;
    let tz = state.settings().get().tz.clone();
    Ok(civil.to_zoned(tz)?.timestamp().as_second())
}

fn progress_line(
    send: &masthead_store::newsletters::Send,
    p: masthead_store::newsletters::Progress,
) -> String {
    let now = jiff::Timestamp::now().as_second();
    let done = p.sent + p.failed;
    let total = p.total().max(send.recipients);
    let width = 30usize;
    let filled = if total > 0 {
        (done as usize * width) / total as usize
    } else {
        0
    };
    let elapsed = send.started_at.map(|s| (now - s).max(1)).unwrap_or(1);
    let rate = done as f64 / elapsed as f64;
    let left = if rate > 0.0 {
        format!("{}s left", (p.queued as f64 / rate).ceil() as i64)
    } else {
        "time left unknown".into()
    };
    format!(
        "[{}{}] {done}/{total} sent {} failed {} · {rate:.0}/s · {left} · {}",
        "#".repeat(filled.min(width)),
        " ".repeat(width - filled.min(width)),
        p.sent,
        p.failed,
        send.status
    )
}

async fn follow(state: &AppState, send_id: i64) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let end = crate::newsletters::sender::run_to_end(state, send_id, |send, p| {
        let mut err = std::io::stderr();
        let _ = write!(err, "\r{}", progress_line(send, p));
        let _ = err.flush();
    })
    .await?;
    let p = masthead_store::newsletters::send_progress(state.db(), send_id).await?;
    eprintln!("\r{}", progress_line(&end, p));
    match end.status.as_str() {
        "paused" => {
            eprintln!(
                "send {send_id} is paused: {}\nFix the cause, then: masthead newsletters resume {send_id}",
                end.paused_reason.unwrap_or_default()
            );
            Ok(ExitCode::from(3))
        }
        _ => {
            println!("send {send_id}: {} sent, {} failed", p.sent, p.failed);
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn newsletters(state: &AppState, action: NewslettersAction) -> anyhow::Result<ExitCode> {
    use masthead_store::newsletters as store;
    let db = state.db();
    let now = state.now();
    let find = |slug: String| async move {
        store::find_by_slug(db, &slug).await?.ok_or_else(|| {
            anyhow::anyhow!("no newsletter {slug:?} (see masthead newsletters list)")
        })
    };
    let (send_id, no_wait) = match action {
        NewslettersAction::List => {
            for n in store::list(db).await? {
                let members = store::count_members(db, n.id).await?;
                println!(
                    "{}\t{}\t{}\t{members} member(s)",
                    n.slug, n.name, n.audience
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        NewslettersAction::Status { send: None } => {
            for s in store::list_sends(db, 20).await? {
                let p = store::send_progress(db, s.id).await?;
                println!("{}\t{}\t{}", s.id, s.subject, progress_line(&s, p));
            }
            return Ok(ExitCode::SUCCESS);
        }
        NewslettersAction::Status { send: Some(id) } => {
            let s = store::find_send(db, id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no send {id}"))?;
            let p = store::send_progress(db, id).await?;
            println!("send {id}: {}", s.subject);
            println!("{}", progress_line(&s, p));
            if let Some(r) = s.paused_reason {
                println!("paused: {r}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        NewslettersAction::Resume { send, no_wait } => {
            let s = store::find_send(db, send)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no send {send}"))?;
            // A paused send starts again; one still sending (its process
            // stopped) is continued here.
            if !store::resume_send(db, send, OPERATOR, now).await? && s.status != "sending" {
                anyhow::bail!("send {send} is {}: nothing to resume", s.status);
            }
            (send, no_wait)
        }
        NewslettersAction::Send {
            newsletter,
            article,
            subject,
            at,
            no_wait,
        } => {
            let n = find(newsletter).await?;
            // Published, or scheduled: then the send goes out when the
            // article is published (or later, with --at).
            let a = masthead_store::content::find_article_any(db, &article)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no article {article:?}"))?;
            let publish_at = match a.status {
                masthead_core::ArticleStatus::Published
                | masthead_core::ArticleStatus::Scheduled => {
                    a.published_at.map(|p| p.as_second()).unwrap_or(now)
                }
                other => anyhow::bail!(
                    "the article {article:?} is {}: publish or schedule it first",
                    other.as_str()
                ),
            };
            if publish_at > now {
                println!("the article is scheduled: the send waits until it is published");
            }
            let run_at = at
                .map(|t| parse_time(state, &t))
                .transpose()?
                .unwrap_or(now)
                .max(publish_at);
            let subject = subject.unwrap_or_else(|| a.headline.clone());
            let detail = format!("{} to {}", a.slug, n.slug);
            let id = store::create_send(
                db,
                &store::NewSend {
                    newsletter_id: n.id,
                    article_id: Some(a.id),
                    digest_days: None,
                    subject: &subject,
                    run_at,
                    created_by: "cli",
                },
                Some(&OPERATOR.audit("send.create", "send", &a.slug, &detail)),
                now,
            )
            .await?;
            println!("send {id}: \"{subject}\" to {}", n.name);
            (id, no_wait || run_at > now)
        }
        NewslettersAction::Digest {
            newsletter,
            days,
            subject,
            at,
            no_wait,
        } => {
            let n = find(newsletter).await?;
            let run_at = at
                .map(|t| parse_time(state, &t))
                .transpose()?
                .unwrap_or(now);
            let subject = subject.unwrap_or_else(|| format!("{}: the week's stories", n.name));
            let id = store::create_send(
                db,
                &store::NewSend {
                    newsletter_id: n.id,
                    article_id: None,
                    digest_days: Some(days.clamp(1, 90)),
                    subject: &subject,
                    run_at,
                    created_by: "cli",
                },
                Some(&OPERATOR.audit(
                    "send.create",
                    "send",
                    &n.slug,
                    &format!("digest of {} day(s)", days.clamp(1, 90)),
                )),
                now,
            )
            .await?;
            println!("send {id}: \"{subject}\" to {}", n.name);
            (id, no_wait || run_at > now)
        }
    };
    if no_wait {
        println!("queued; follow it with: masthead newsletters status {send_id}");
        return Ok(ExitCode::SUCCESS);
    }
    follow(state, send_id).await
}

async fn plans(state: &AppState, action: PlansAction) -> anyhow::Result<ExitCode> {
    use masthead_core::billing::{Currency, Interval, Money};
    use masthead_store::offers;
    let db = state.db();
    let now = state.now();
    match action {
        PlansAction::List => {
            let list = offers::list_plans(db).await?;
            if list.is_empty() {
                println!("no plans yet; add one with `masthead plans add`");
            }
            for r in list {
                let p = &r.plan;
                println!(
                    "{}\t{}\t{} a {}{}\t{}\t{}\t{} subscription(s)",
                    p.slug,
                    p.name,
                    p.price.display(),
                    p.interval.as_str(),
                    p.trial_days
                        .map(|d| format!(", {d}-day trial"))
                        .unwrap_or_default(),
                    if r.active { "offered" } else { "archived" },
                    r.stripe_price_id
                        .as_deref()
                        .unwrap_or("no Stripe Price yet"),
                    r.subscriptions,
                );
            }
        }
        PlansAction::Add {
            slug,
            name,
            interval,
            amount,
            currency,
            trial_days,
            includes,
            position,
        } => {
            masthead_core::content::Slug::parse(&slug)
                .map_err(|e| anyhow::anyhow!("slug {slug:?}: {e}"))?;
            let interval = Interval::parse(&interval)
                .ok_or_else(|| anyhow::anyhow!("--interval must be month or year"))?;
            let currency = Currency::parse(&currency)?;
            let price = Money::parse(&amount, currency)?;
            if price.minor() == 0 {
                anyhow::bail!("--amount must be more than zero (free access is a free account)");
            }
            // Refuse now what Stripe would refuse at checkout.
            price.stripe_unit_amount()?;
            offers::upsert_plan(
                db,
                &offers::NewPlan {
                    slug: &slug,
                    name: &name,
                    interval,
                    price,
                    trial_days,
                    includes: &includes,
                    position,
                },
                Some(&OPERATOR.audit(
                    "plan.save",
                    "plan",
                    &slug,
                    &format!("{} a {}", price.display(), interval.as_str()),
                )),
                now,
            )
            .await?;
            println!(
                "plan {slug}: {name}, {} a {}",
                price.display(),
                interval.as_str()
            );
            if let Some(stripe) = state.stripe() {
                let plan = offers::list_plans(db)
                    .await?
                    .into_iter()
                    .find(|r| r.plan.slug == slug)
                    .ok_or_else(|| anyhow::anyhow!("plan {slug} vanished"))?
                    .plan;
                let id = crate::billing::checkout::ensure_price(state, &stripe, &plan).await?;
                println!("Stripe Price {id}");
            } else {
                println!("Stripe is not configured: its Price is created at the first checkout");
            }
        }
        PlansAction::Archive { slug } => {
            let audit = OPERATOR.audit("plan.archive", "plan", &slug, "");
            if !offers::set_plan_active(db, &slug, false, Some(&audit), now).await? {
                anyhow::bail!("no plan {slug:?}");
            }
            println!("plan {slug} is no longer offered; its subscribers keep their subscriptions");
        }
        PlansAction::Activate { slug } => {
            let audit = OPERATOR.audit("plan.activate", "plan", &slug, "");
            if !offers::set_plan_active(db, &slug, true, Some(&audit), now).await? {
                anyhow::bail!("no plan {slug:?}");
            }
            println!("plan {slug} is offered again");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let listen = config.listen;
    let base = config.base_url.clone();
    let state = AppState::build(config).await?;
    if demo {
        let dir = crate::content::demo::default_dir();
        match crate::content::demo::seed(state.db(), state.media(), state.processor(), &dir, true)
            .await?
        {
            Some(report) => {
                for e in &report.errors {
                    tracing::warn!("demo: {e}");
                }
                tracing::info!(created = report.created, "seeded the demo publication");
                crate::billing::checkout::mark_demo(&state.config().data_dir)?;
                state.refresh_counters().await?;
            }
            None => tracing::info!("the database already has content; serving what is there"),
        }
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    // First run: no owner yet, so print the one-time set-up link.
    if let Some(link) = crate::newsroom::setup::setup_link(&state).await? {
        tracing::warn!("no newsroom owner yet: create one at {link} (works once, for a day)");
        println!("Set up the newsroom (works once, for a day): {link}");
    }
    let server = Server::start(state, listener, true).await?;
    tracing::info!(addr = %server.addr, "Masthead is serving {}", base.as_str());
    let stop = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        ctrl_c.await?;
        Ok::<_, std::io::Error>(())
    };
    stop.await?;
    tracing::info!("shutting down: finishing requests in flight");
    server.stop().await
}

async fn integrations(state: &AppState, action: IntegrationsAction) -> anyhow::Result<ExitCode> {
    use crate::api::keys;
    let operator = masthead_store::newsroom::Actor::OPERATOR;
    match action {
        IntegrationsAction::Add { name, role } => {
            let made = keys::add(state, operator, &name, &role).await?;
            println!("integration {} created", made.id);
            println!("Content API key: {}", made.content_key);
            println!("Admin API key:   {}  (shown this once)", made.admin_key);
            println!("API URL:         {}", state.config().base_url.as_str());
        }
        IntegrationsAction::List => {
            for i in masthead_store::api::list_integrations(state.db()).await? {
                let status = if i.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}\t{}\t{}\tcontent key {}\tadmin key id {}",
                    i.id, i.name, i.role, status, i.content_key, i.admin_key_id
                );
            }
        }
        IntegrationsAction::Rotate { id, which } => {
            let which = match which.as_str() {
                "content" => keys::Which::Content,
                "admin" => keys::Which::Admin,
                other => anyhow::bail!("rotate content or admin, not {other:?}"),
            };
            let key = keys::rotate(state, operator, id, which).await?;
            println!("new key: {key}");
        }
        IntegrationsAction::Revoke { id } => {
            keys::revoke(state, operator, id).await?;
            println!("integration {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}
