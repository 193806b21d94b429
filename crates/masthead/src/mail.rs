//! Outgoing email. With SMTP configured, messages go through lettre; with
//! none (the embedded default) each message is written as a file to the
//! outbox directory and the log names the file, never its content.
//!
//! Handlers never send directly: they queue an `email` job in the same
//! transaction as the change that needs it (`masthead_store::members::
//! queue_email`), and the job worker calls `Mailer::send`.

use crate::config::Config;
use anyhow::Context;
use lettre::message::{header::ContentType, Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use masthead_store::members::OutgoingEmail;
use std::path::PathBuf;

pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    Outbox {
        dir: PathBuf,
        from: Mailbox,
    },
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Mailer> {
        Mailer::new(config, config.smtp_url.as_ref())
    }

    /// SMTP to `smtp_url` when there is one, else the outbox directory.
    pub fn new(
        config: &Config,
        smtp_url: Option<&crate::config::Secret>,
    ) -> anyhow::Result<Mailer> {
        let from_text = config
            .mail_from
            .clone()
            .unwrap_or_else(|| format!("Masthead <no-reply@{}>", mail_host(config)));
        let from: Mailbox = from_text
            .parse()
            .with_context(|| format!("mail_from {from_text:?} is not an email address"))?;
        Ok(match smtp_url {
            Some(url) => Mailer::Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .context("smtp_url must look like smtp://user:pass@host:587 or smtps://…")?
                    .build(),
                from,
            },
            None => Mailer::Outbox {
                dir: config.data_dir.join("outbox"),
                from,
            },
        })
    }

    pub async fn send(&self, email: &OutgoingEmail) -> anyhow::Result<()> {
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Outbox { from, .. } => from.clone(),
        };
        let to: Mailbox = email
            .to
            .parse()
            .with_context(|| "the recipient is not a valid address".to_string())?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(&email.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(email.text.clone())
            .context("building the message")?;
        match self {
            Mailer::Smtp { transport, .. } => {
                transport.send(message).await.context("SMTP delivery")?;
                tracing::info!(subject = %email.subject, "email sent over SMTP");
            }
            Mailer::Outbox { dir, .. } => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .with_context(|| format!("creating {}", dir.display()))?;
                let name = format!(
                    "{}-{:08x}.eml",
                    jiff::Timestamp::now().as_millisecond(),
                    rand::random::<u32>()
                );
                let path = dir.join(name);
                tokio::fs::write(&path, message.formatted())
                    .await
                    .with_context(|| format!("writing {}", path.display()))?;
                tracing::info!(file = %path.display(), "email written to the outbox (no SMTP configured)");
            }
        }
        Ok(())
    }
}

/// The domain of Message-IDs and List-Ids: the base URL's host, or a
/// placeholder when that is an address or a bare name.
pub fn mail_host(config: &Config) -> String {
    let host = config.base_url.host();
    let host = host.split(':').next().unwrap_or(host);
    if host.contains('.') && !host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        host.to_string()
    } else {
        "localhost.localdomain".to_string()
    }
}

/// An account email (log-in links, confirmations, resets, invitations,
/// the subscriber's welcome) rendered from the theme's
/// `email/account/NAME.txt`, which an operator can reword in their theme
/// directory: its first line is `Subject: …`, then a blank line, then the
/// text.
pub fn account_email<S: serde::Serialize>(
    state: &crate::app::AppState,
    name: &str,
    to: &str,
    ctx: S,
) -> anyhow::Result<masthead_store::members::OutgoingEmail> {
    let template = format!("email/account/{name}.txt");
    let rendered = state
        .theme()
        .render(&template, ctx)
        .map_err(|e| anyhow::anyhow!("{template}: {e}"))?;
    let (head, body) = rendered
        .split_once("\n\n")
        .ok_or_else(|| anyhow::anyhow!("{template}: no blank line after the subject"))?;
    let subject = head
        .strip_prefix("Subject:")
        .ok_or_else(|| anyhow::anyhow!("{template}: the first line is not `Subject: …`"))?
        .trim();
    // One line, whatever the template did: a subject is a header.
    let subject: String = subject.chars().filter(|c| !c.is_control()).collect();
    let mut text = body.trim_end().to_string();
    text.push('\n');
    Ok(masthead_store::members::OutgoingEmail {
        to: to.to_string(),
        subject,
        text,
    })
}
