//! One SMTP session of the newsletter sender: its own connection, kept
//! open across messages, speaking MAIL FROM, RCPT TO and DATA one command
//! at a time so that a refusal is known by the command it answered (a
//! bad mailbox at RCPT TO is not a relay refusing us at MAIL FROM).

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
use lettre::Address;
use masthead_core::newsletters::Stage;
use std::fmt;
use std::time::Duration;

/// Where and how to connect, read from `smtp_url`.
#[derive(Clone)]
pub struct Target {
    host: String,
    port: u16,
    tls: Tls,
    credentials: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    None,
    Opportunistic,
    Required,
    Wrapper,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({}:{}, {:?})", self.host, self.port, self.tls)
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Target {
    /// `smtp://[user:pass@]host[:port][?tls=required|opportunistic]` or
    /// `smtps://…` (TLS from the first byte), as for account email.
    pub fn parse(url: &str) -> anyhow::Result<Target> {
        let bad = || {
            anyhow::anyhow!(
                "smtp_url must look like smtp://user:pass@host:587?tls=required or smtps://…"
            )
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let rest = rest.trim_end_matches('/');
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() => (h, Some(p.parse::<u16>().map_err(|_| bad())?)),
            _ => (hostport, None),
        };
        if host.is_empty() {
            return Err(bad());
        }
        let tls_param = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("tls="))
            .unwrap_or("");
        let tls = match (scheme, tls_param) {
            ("smtps", _) => Tls::Wrapper,
            ("smtp", "required") => Tls::Required,
            ("smtp", "opportunistic") => Tls::Opportunistic,
            ("smtp", "" | "none") => Tls::None,
            _ => return Err(bad()),
        };
        let port = port.unwrap_or(match tls {
            Tls::Wrapper => 465,
            Tls::Required | Tls::Opportunistic => 587,
            Tls::None => 25,
        });
        let credentials = userinfo.map(|u| {
            let (user, pass) = u.split_once(':').unwrap_or((u, ""));
            (percent_decode(user), percent_decode(pass))
        });
        Ok(Target {
            host: host.trim_matches(|c| c == '[' || c == ']').to_string(),
            port,
            tls,
            credentials,
        })
    }
}

/// A refused or failed command: the command, the reply code (none when
/// the connection broke) and the server's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub stage: Stage,
    pub code: Option<u16>,
    pub text: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.stage {
            Stage::Connect => "connecting",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
            Stage::Data => "DATA",
        };
        match self.code {
            Some(c) => write!(f, "{stage}: {c} {}", self.text),
            None => write!(f, "{stage}: {}", self.text),
        }
    }
}

/// RSET (lettre has no command type for it).
struct Rset;

impl fmt::Display for Rset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RSET\r\n")
    }
}

fn refusal(stage: Stage, e: &lettre::transport::smtp::Error) -> Refusal {
    let code = e.status().and_then(|c| c.to_string().parse::<u16>().ok());
    let full = e.to_string();
    // "permanent error (550): 5.1.1 <x>: User unknown" → the server's words.
    let text = match full.split_once("): ") {
        Some((_, t)) if code.is_some() => t.to_string(),
        _ => full,
    };
    Refusal {
        stage,
        code,
        text: text.trim().to_string(),
    }
}

const TIMEOUT: Duration = Duration::from_secs(60);

/// One session: connects on first use and after a broken connection.
pub struct Session {
    target: Target,
    conn: Option<AsyncSmtpConnection>,
}

impl Session {
    pub fn new(target: Target) -> Session {
        Session { target, conn: None }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, Refusal> {
        let t = &self.target;
        let hello = ClientId::default();
        let failed = |e: lettre::transport::smtp::Error| refusal(Stage::Connect, &e);
        let tls = |host: &str| {
            TlsParameters::new(host.to_string()).map_err(|e| Refusal {
                stage: Stage::Connect,
                code: None,
                text: format!("TLS set-up: {e}"),
            })
        };
        let mut conn = match t.tls {
            // TLS from the first byte: lettre opens the socket.
            Tls::Wrapper => AsyncSmtpConnection::connect_tokio1(
                (t.host.as_str(), t.port),
                Some(TIMEOUT),
                &hello,
                Some(tls(&t.host)?),
                None,
            )
            .await
            .map_err(failed)?,
            // Otherwise our own socket with Nagle off: a message ends with
            // a small write ("\r\n.\r\n") that would otherwise wait for the
            // server's delayed ACK, about 40 ms per message.
            _ => {
                let tcp = tokio::time::timeout(
                    TIMEOUT,
                    tokio::net::TcpStream::connect((t.host.as_str(), t.port)),
                )
                .await
                .map_err(|_| Refusal {
                    stage: Stage::Connect,
                    code: None,
                    text: "timed out connecting".into(),
                })?
                .map_err(|e| Refusal {
                    stage: Stage::Connect,
                    code: None,
                    text: format!("connecting to {}:{}: {e}", t.host, t.port),
                })?;
                let _ = tcp.set_nodelay(true);
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
                    .await
                    .map_err(failed)?
            }
        };
        let starttls = match t.tls {
            Tls::Required => true,
            Tls::Opportunistic => conn.can_starttls(),
            Tls::None | Tls::Wrapper => false,
        };
        if starttls {
            conn.starttls(tls(&t.host)?, &hello).await.map_err(failed)?;
        }
        if let Some((user, pass)) = &t.credentials {
            let creds = Credentials::new(user.clone(), pass.clone());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds)
                .await
                .map_err(failed)?;
        }
        Ok(conn)
    }

    /// Sends one message to one recipient. On a refusal the transaction
    /// is reset (or the connection dropped when it broke) so the session
    /// can go on with the next recipient.
    pub async fn send(
        &mut self,
        from: &Address,
        to: &Address,
        message: &[u8],
    ) -> Result<(), Refusal> {
        if self.conn.as_ref().is_none_or(|c| c.has_broken()) {
            self.conn = Some(self.connect().await?);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(Refusal {
                stage: Stage::Connect,
                code: None,
                text: "no connection".into(),
            });
        };
        let dialog = async {
            conn.command(Mail::new(Some(from.clone()), vec![]))
                .await
                .map_err(|e| refusal(Stage::MailFrom, &e))?;
            conn.command(Rcpt::new(to.clone(), vec![]))
                .await
                .map_err(|e| refusal(Stage::RcptTo, &e))?;
            conn.command(Data)
                .await
                .map_err(|e| refusal(Stage::Data, &e))?;
            conn.message(message)
                .await
                .map_err(|e| refusal(Stage::Data, &e))?;
            Ok::<(), Refusal>(())
        };
        // A server that stops answering must not hold the session forever.
        let result = match tokio::time::timeout(TIMEOUT, dialog).await {
            Ok(r) => r,
            Err(_) => {
                self.conn = None;
                return Err(Refusal {
                    stage: Stage::Data,
                    code: None,
                    text: "the server stopped answering".into(),
                });
            }
        };
        if let Err(r) = &result {
            // A broken connection is dropped; otherwise RSET clears the
            // transaction for the next recipient (or the connection goes).
            if r.code.is_none() || conn.has_broken() || conn.command(Rset).await.is_err() {
                self.conn = None;
            }
        }
        result
    }

    /// Says goodbye politely.
    pub async fn close(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = c.quit().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_parse_like_the_account_mailer_reads_them() {
        let t = Target::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.tls, t.credentials.is_none()),
            ("127.0.0.1", 2525, Tls::None, true)
        );
        let t = Target::parse("smtp://me%40x.org:p%3Ass@mail.example.org?tls=required").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.tls),
            ("mail.example.org", 587, Tls::Required)
        );
        assert_eq!(t.credentials, Some(("me@x.org".into(), "p:ss".into())));
        let t = Target::parse("smtps://u:p@mail.example.org").unwrap();
        assert_eq!((t.port, t.tls), (465, Tls::Wrapper));
        assert!(!format!("{t:?}").contains("u:p"), "no credentials in logs");
        for bad in [
            "mail.example.org",
            "smtp://",
            "http://x",
            "smtp://h:notaport",
            "smtp://h?tls=maybe",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
