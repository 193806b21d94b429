//! Rate limits for sign-up, log-in, magic-link and reset requests: fixed
//! windows per (action, client address) and per (action, email), in
//! bounded memory.
//!
//! Each request counts once per budget: the address budget counts
//! requests, the email budget counts messages sent or, for passwords and
//! codes, failures only (a staff member logging in from a few devices is
//! never locked out by their own successes). An IPv6 client counts by its
//! /64, the block one subscriber is given.
//!
//! When the table is full, expired windows are dropped; if it is still
//! full, a new key shares one overflow window per action instead of
//! pushing anyone out, so an attacker filling the table never resets the
//! count of a key they are working against. New keys are then limited
//! together (failing closed) until windows expire.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

pub const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window_secs: i64,
}

/// Per client address: requests of one kind.
pub const PER_ADDRESS: Limit = Limit {
    max: 30,
    window_secs: 600,
};
/// Per email address: messages and password attempts.
pub const PER_EMAIL: Limit = Limit {
    max: 6,
    window_secs: 3_600,
};
/// The longest window of any limit: older windows are expired for all.
const LONGEST_WINDOW: i64 = 3_600;
/// The overflow window of an action holds this many times a key's budget.
const OVERFLOW_FACTOR: u32 = 20;

/// The part of a client address that identifies one client: the address,
/// or for IPv6 its /64 (an IPv4-mapped address counts as IPv4).
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, u32)>> {
        match self.windows.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Counts one attempt under `key`; `Err(seconds)` to wait when over.
    pub fn check(&self, key: &str, limit: Limit, now: i64) -> Result<(), i64> {
        let mut map = self.map();
        let (key, limit) = room_for(&mut map, key, limit, now);
        let entry = map.entry(key).or_insert((now, 0));
        if entry.0 + limit.window_secs <= now {
            *entry = (now, 0);
        }
        if entry.1 >= limit.max {
            return Err((entry.0 + limit.window_secs - now).max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Whether `key` is over its budget, without counting anything (for
    /// budgets that count failures only).
    pub fn peek(&self, key: &str, limit: Limit, now: i64) -> Result<(), i64> {
        let map = self.map();
        let overflow = overflow_key(key);
        for (k, limit) in [(key, limit), (overflow.as_str(), overflow_limit(limit))] {
            if let Some((start, count)) = map.get(k) {
                if start + limit.window_secs > now && *count >= limit.max {
                    return Err((start + limit.window_secs - now).max(1));
                }
            }
        }
        Ok(())
    }

    /// Counts one failure under `key` (see `peek`).
    pub fn record(&self, key: &str, limit: Limit, now: i64) {
        let _ = self.check(key, limit, now);
    }

    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// Forgets every count (tests that ask from one address many times).
    pub fn clear(&self) {
        self.map().clear();
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn overflow_key(key: &str) -> String {
    let action = key.split('|').next().unwrap_or_default();
    format!("{action}|overflow")
}

fn overflow_limit(limit: Limit) -> Limit {
    Limit {
        max: limit.max.saturating_mul(OVERFLOW_FACTOR),
        window_secs: limit.window_secs,
    }
}

/// The key (and limit) a new attempt is counted under: its own, or, when
/// the table is full of live windows, its action's shared overflow.
fn room_for(
    map: &mut HashMap<String, (i64, u32)>,
    key: &str,
    limit: Limit,
    now: i64,
) -> (String, Limit) {
    if map.len() < MAX_KEYS || map.contains_key(key) {
        return (key.to_string(), limit);
    }
    map.retain(|_, (start, _)| *start + LONGEST_WINDOW > now);
    if map.len() < MAX_KEYS {
        return (key.to_string(), limit);
    }
    (overflow_key(key), overflow_limit(limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_allows_max_then_refuses_until_it_ends() {
        let r = RateLimiter::default();
        let l = Limit {
            max: 3,
            window_secs: 60,
        };
        for _ in 0..3 {
            assert!(r.check("k", l, 1000).is_ok());
        }
        assert_eq!(r.check("k", l, 1010), Err(50));
        assert!(r.check("other", l, 1010).is_ok(), "keys are separate");
        assert!(r.check("k", l, 1060).is_ok(), "a new window");
    }

    #[test]
    fn peek_counts_nothing_and_record_counts_failures() {
        let r = RateLimiter::default();
        let l = Limit {
            max: 2,
            window_secs: 60,
        };
        for _ in 0..10 {
            assert!(
                r.peek("login|email|a", l, 1000).is_ok(),
                "successes spend nothing"
            );
        }
        r.record("login|email|a", l, 1000);
        r.record("login|email|a", l, 1001);
        assert_eq!(r.peek("login|email|a", l, 1010), Err(50));
        assert!(r.peek("login|email|a", l, 1060).is_ok());
    }

    #[test]
    fn a_full_table_never_resets_an_active_count() {
        let r = RateLimiter::default();
        let l = Limit {
            max: 3,
            window_secs: 600,
        };
        for _ in 0..3 {
            assert!(r.check("login|email|victim", l, 1000).is_ok());
        }
        // The attacker floods the table with fresh keys.
        for i in 0..(MAX_KEYS + 1000) {
            let _ = r.check(&format!("login|email|x{i}"), l, 1001);
        }
        assert!(r.len() <= MAX_KEYS + 1, "{}", r.len());
        assert!(
            r.check("login|email|victim", l, 1002).is_err(),
            "the victim's key still counts"
        );
        // New keys share the action's overflow window while it is full.
        let refused = (0..100)
            .filter(|i| r.check(&format!("login|email|new{i}"), l, 1003).is_err())
            .count();
        assert!(refused > 0, "the overflow is bounded too");
        // Once windows expire there is room again.
        assert!(r
            .check("login|email|late", l, 1000 + LONGEST_WINDOW + 1)
            .is_ok());
        assert!(r.len() < 10, "{}", r.len());
    }

    #[test]
    fn ipv6_clients_count_by_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "2001:db8:1:2:bbbb::9"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(client_key(mapped), "203.0.113.9");
    }
}
