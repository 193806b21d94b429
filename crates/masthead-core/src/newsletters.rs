//! Newsletter sending rules, pure: what an SMTP reply means for one
//! recipient and for the whole send, retry backoff, and the ids a message
//! carries.

/// The SMTP command a reply answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Connecting, greeting, STARTTLS, AUTH.
    Connect,
    MailFrom,
    RcptTo,
    /// DATA and the message itself.
    Data,
}

/// What to do after a failed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Try this recipient again later (4xx, a dropped connection).
    Retry,
    /// This address does not exist: fail it and never mail it again.
    Undeliverable,
    /// This recipient failed for good, the address stays (a 5xx to RCPT
    /// that is not about the mailbox: policy, spam, quota).
    Failed,
    /// Stop the whole send and tell staff: the server refuses us, not the
    /// recipient (a 5xx to MAIL FROM or DATA, or at connection).
    Pause,
}

/// The enhanced status code (RFC 3463) at the start of a reply's text,
/// e.g. "5.1.1 User unknown" → (5, 1, 1).
pub fn enhanced_status(text: &str) -> Option<(u8, u16, u16)> {
    let word = text.split_whitespace().next()?;
    let mut parts = word.split('.');
    let class: u8 = parts.next()?.parse().ok()?;
    let subject: u16 = parts.next()?.parse().ok()?;
    let detail: u16 = parts
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    if parts.next().is_some() || !matches!(class, 2 | 4 | 5) || subject > 999 || detail > 999 {
        return None;
    }
    Some((class, subject, detail))
}

/// The verdict for a reply `code` with `text` to `stage`; `None` code
/// means no reply at all (the connection broke or timed out).
///
/// Only a 5xx to RCPT TO whose enhanced status is 5.1.x (bad destination
/// mailbox or address) makes an address undeliverable: a relay refusing an
/// unverified sender must never wipe the list.
pub fn classify(stage: Stage, code: Option<u16>, text: &str) -> Verdict {
    let Some(code) = code else {
        return Verdict::Retry;
    };
    match (code / 100, stage) {
        (4, _) => Verdict::Retry,
        (5, Stage::RcptTo) => match enhanced_status(text) {
            Some((5, 1, _)) => Verdict::Undeliverable,
            _ => Verdict::Failed,
        },
        (5, _) => Verdict::Pause,
        // Anything else is a protocol surprise: try later.
        _ => Verdict::Retry,
    }
}

/// Seconds to wait before attempt `attempts + 1`: 1, 2, 4 … minutes, at
/// most an hour.
pub fn backoff_secs(attempts: i64) -> i64 {
    60 * (1i64 << attempts.clamp(0, 6))
}

/// Attempts before a recipient that keeps failing temporarily is given up.
pub const MAX_ATTEMPTS: i64 = 6;

/// Consecutive recipients refused with the same 5xx before the send is
/// paused (the server refuses us, whatever it says).
pub const SAME_REFUSAL_LIMIT: u32 = 10;

/// Counts recipients refused in a row with the same reply.
#[derive(Debug, Default, Clone)]
pub struct Streak {
    last: Option<(u16, String)>,
    count: u32,
}

impl Streak {
    /// Notes a 5xx refusal; true when the send should pause.
    pub fn refused(&mut self, code: u16, text: &str) -> bool {
        let key = (code, enhanced_prefix(text));
        if self.last.as_ref() == Some(&key) {
            self.count += 1;
        } else {
            self.last = Some(key);
            self.count = 1;
        }
        self.count >= SAME_REFUSAL_LIMIT
    }

    /// A recipient went through: the streak is broken.
    pub fn accepted(&mut self) {
        self.last = None;
        self.count = 0;
    }
}

fn enhanced_prefix(text: &str) -> String {
    match enhanced_status(text) {
        Some((c, s, d)) => format!("{c}.{s}.{d}"),
        None => String::new(),
    }
}

/// The Message-ID of one recipient's copy of a send: derived from both,
/// so a message sent again (after a crash) keeps its id and receivers can
/// drop the duplicate.
pub fn message_id(send_id: i64, member_id: i64, domain: &str) -> String {
    format!("<send{send_id}.m{member_id}@{domain}>")
}

/// The `List-Id` of a newsletter (RFC 2919).
pub fn list_id(name: &str, slug: &str, domain: &str) -> String {
    let label: String = name
        .chars()
        .filter(|c| !matches!(c, '"' | '\\' | '<' | '>' | '\r' | '\n'))
        .collect();
    format!("\"{label}\" <{slug}.{domain}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_status_codes_are_read_from_the_reply() {
        assert_eq!(
            enhanced_status("5.1.1 <x@y>: Recipient address rejected"),
            Some((5, 1, 1))
        );
        assert_eq!(enhanced_status("4.7.1 Try again later"), Some((4, 7, 1)));
        assert_eq!(enhanced_status("5.1.10 Null MX"), Some((5, 1, 10)));
        assert_eq!(enhanced_status("User unknown"), None);
        assert_eq!(enhanced_status("5.1 nope"), None);
        assert_eq!(enhanced_status("7.1.1 nope"), None);
        assert_eq!(enhanced_status(""), None);
    }

    #[test]
    fn the_verdict_table() {
        use Stage::*;
        use Verdict::*;
        let cases: &[(Stage, Option<u16>, &str, Verdict)] = &[
            (RcptTo, Some(550), "5.1.1 User unknown", Undeliverable),
            (RcptTo, Some(553), "5.1.3 Bad address syntax", Undeliverable),
            (RcptTo, Some(550), "5.7.1 Relaying denied", Failed),
            (RcptTo, Some(552), "5.2.2 Mailbox full", Failed),
            (RcptTo, Some(550), "User unknown", Failed),
            (RcptTo, Some(450), "4.2.1 Mailbox busy", Retry),
            (MailFrom, Some(550), "5.1.8 Sender address rejected", Pause),
            (MailFrom, Some(553), "5.7.1 Sender not verified", Pause),
            (Data, Some(554), "5.7.1 Message rejected", Pause),
            (Connect, Some(554), "No SMTP service here", Pause),
            (Connect, Some(421), "4.3.2 Shutting down", Retry),
            (Data, None, "connection reset", Retry),
            (MailFrom, Some(451), "4.3.0 Local error", Retry),
        ];
        for (stage, code, text, want) in cases {
            assert_eq!(
                classify(*stage, *code, text),
                *want,
                "{stage:?} {code:?} {text}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_secs(0), 60);
        assert_eq!(backoff_secs(1), 120);
        assert_eq!(backoff_secs(5), 1920);
        assert_eq!(backoff_secs(6), 3840);
        assert_eq!(backoff_secs(60), 3840);
        assert_eq!(backoff_secs(-3), 60);
    }

    #[test]
    fn the_same_refusal_many_times_in_a_row_pauses() {
        let mut s = Streak::default();
        for _ in 0..SAME_REFUSAL_LIMIT - 1 {
            assert!(!s.refused(550, "5.7.1 Not allowed"));
        }
        s.accepted();
        for _ in 0..SAME_REFUSAL_LIMIT - 1 {
            assert!(!s.refused(550, "5.7.1 Not allowed"));
        }
        assert!(!s.refused(552, "5.2.2 Full"), "another reply starts over");
        for _ in 0..SAME_REFUSAL_LIMIT - 1 {
            assert!(!s.refused(550, "5.7.1 Not allowed"));
        }
        assert!(s.refused(550, "5.7.1 Not allowed"));
    }

    #[test]
    fn ids_are_stable_and_headers_safe() {
        assert_eq!(
            message_id(7, 42, "news.example"),
            "<send7.m42@news.example>"
        );
        assert_eq!(
            message_id(7, 42, "news.example"),
            message_id(7, 42, "news.example")
        );
        assert_eq!(
            list_id("The \"Morning\" <Ledger>", "morning", "news.example"),
            "\"The Morning Ledger\" <morning.news.example>"
        );
    }
}
