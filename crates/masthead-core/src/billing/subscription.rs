//! Subscription state → entitlement: a pure function of the latest
//! snapshot of a Stripe subscription (as fetched from Stripe, never pieced
//! together from event payloads) and the time.
//!
//! - `active` and `trialing` are entitled to the end of the current period
//!   (plus a day's leeway for the renewal to be recorded, unless the
//!   subscription is set to end then);
//! - `past_due` is entitled during a grace period counted from when the
//!   subscription became past due;
//! - `incomplete`, `incomplete_expired`, `unpaid`, `paused` and `canceled`
//!   are not.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Trialing,
    PastDue,
    Incomplete,
    IncompleteExpired,
    Unpaid,
    Paused,
    Canceled,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Active,
        Status::Trialing,
        Status::PastDue,
        Status::Incomplete,
        Status::IncompleteExpired,
        Status::Unpaid,
        Status::Paused,
        Status::Canceled,
    ];

    /// Stripe's name for the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Trialing => "trialing",
            Status::PastDue => "past_due",
            Status::Incomplete => "incomplete",
            Status::IncompleteExpired => "incomplete_expired",
            Status::Unpaid => "unpaid",
            Status::Paused => "paused",
            Status::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What we keep of a subscription, as last fetched from Stripe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub status: Status,
    /// The end of the current period (since API 2025-03-31 it lives on the
    /// subscription items: the latest of them).
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    /// When we first saw it past due (Stripe does not say); `None` unless
    /// past due.
    pub past_due_since: Option<i64>,
    /// When the snapshot was fetched, in milliseconds (Stripe's own times
    /// have one-second resolution; two fetches in one second must still
    /// be ordered): a snapshot never replaces a newer one.
    pub fetched_at_ms: i64,
}

/// How long after the period end an active subscription stays entitled
/// while its renewal is being recorded.
pub const RENEWAL_LEEWAY_SECS: i64 = 86_400;
/// The default grace period for `past_due`.
pub const DEFAULT_GRACE_SECS: i64 = 7 * 86_400;

/// The grant a snapshot gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entitlement {
    /// Entitled until this time.
    Until(i64),
    /// Not entitled.
    None,
}

pub fn entitlement(s: &Snapshot, now: i64, grace_secs: i64) -> Entitlement {
    let until = match s.status {
        Status::Active | Status::Trialing => {
            if s.cancel_at_period_end {
                s.current_period_end
            } else {
                s.current_period_end + RENEWAL_LEEWAY_SECS
            }
        }
        Status::PastDue => match s.past_due_since {
            Some(since) => since + grace_secs,
            // Past due without a known start: the grace starts now.
            None => now + grace_secs,
        },
        _ => return Entitlement::None,
    };
    if until > now {
        Entitlement::Until(until)
    } else {
        Entitlement::None
    }
}

/// When a newly fetched snapshot says `past_due`, the time (seconds) it
/// became so: kept from the stored snapshot if that was already past due.
pub fn past_due_since(
    stored: Option<&Snapshot>,
    new_status: Status,
    fetched_at_ms: i64,
) -> Option<i64> {
    if new_status != Status::PastDue {
        return None;
    }
    let at = fetched_at_ms.div_euclid(1000);
    match stored {
        Some(old) if old.status == Status::PastDue => old.past_due_since.or(Some(at)),
        _ => Some(at),
    }
}

/// Whether `new` may replace `stored`: only a snapshot fetched later.
pub fn replaces(stored: Option<&Snapshot>, new: &Snapshot) -> bool {
    stored.is_none_or(|old| new.fetched_at_ms > old.fetched_at_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_800_000_000;

    fn snap(status: Status, end: i64, cancel: bool, past_due_since: Option<i64>) -> Snapshot {
        Snapshot {
            status,
            current_period_end: end,
            cancel_at_period_end: cancel,
            past_due_since,
            fetched_at_ms: NOW * 1000,
        }
    }

    #[test]
    fn the_state_table() {
        use Entitlement::{None as No, Until};
        use Status::*;
        let g = DEFAULT_GRACE_SECS;
        let table = [
            (
                snap(Active, NOW + 10 * DAY, false, None),
                Until(NOW + 11 * DAY),
            ),
            (
                snap(Active, NOW + 10 * DAY, true, None),
                Until(NOW + 10 * DAY),
            ),
            (
                snap(Trialing, NOW + 3 * DAY, false, None),
                Until(NOW + 4 * DAY),
            ),
            // A renewal not yet recorded: the leeway keeps access a day.
            (
                snap(Active, NOW - DAY / 2, false, None),
                Until(NOW + DAY / 2),
            ),
            (snap(Active, NOW - 2 * DAY, false, None), No),
            // Ends at period end, and the end has come.
            (snap(Active, NOW - 1, true, None), No),
            (
                snap(PastDue, NOW - DAY, false, Some(NOW - 2 * DAY)),
                Until(NOW - 2 * DAY + g),
            ),
            (snap(PastDue, NOW - DAY, false, Some(NOW - 8 * DAY)), No),
            (snap(PastDue, NOW - DAY, false, None), Until(NOW + g)),
            (snap(Incomplete, NOW + 10 * DAY, false, None), No),
            (snap(IncompleteExpired, NOW + 10 * DAY, false, None), No),
            (snap(Unpaid, NOW + 10 * DAY, false, None), No),
            (snap(Paused, NOW + 10 * DAY, false, None), No),
            (snap(Canceled, NOW + 10 * DAY, false, None), No),
        ];
        for (s, want) in table {
            assert_eq!(entitlement(&s, NOW, g), want, "{s:?}");
        }
    }

    #[test]
    fn statuses_round_trip_stripes_names() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("ACTIVE"), None);
    }

    #[test]
    fn the_grace_period_counts_from_the_first_past_due_snapshot() {
        let first = Snapshot {
            past_due_since: past_due_since(None, Status::PastDue, NOW * 1000),
            ..snap(Status::PastDue, NOW, false, None)
        };
        assert_eq!(first.past_due_since, Some(NOW));
        assert_eq!(
            past_due_since(Some(&first), Status::PastDue, (NOW + DAY) * 1000),
            Some(NOW)
        );
        assert_eq!(
            past_due_since(Some(&first), Status::Active, (NOW + DAY) * 1000),
            None
        );
    }

    #[test]
    fn an_older_snapshot_never_replaces_a_newer_one() {
        let newer = snap(Status::Canceled, NOW, false, None);
        let older = Snapshot {
            fetched_at_ms: NOW * 1000 - 1,
            ..snap(Status::Active, NOW + DAY, false, None)
        };
        assert!(replaces(None, &older));
        assert!(!replaces(Some(&newer), &older));
        assert!(
            !replaces(Some(&newer), &newer.clone()),
            "equal times keep the stored one"
        );
        assert!(replaces(Some(&older), &newer));
    }
}
