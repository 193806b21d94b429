//! Rate limits for sign-up, log-in, magic-link and reset requests: fixed
//! windows per (action, client address) and per (action, email), in
//! bounded memory. When the table is full, expired windows are dropped;
//! if it is still full the oldest half goes (limits loosen briefly rather
//! than memory growing without bound).

use std::collections::HashMap;
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

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter {
    /// Counts one attempt under `key`; `Err(seconds)` to wait when over.
    pub fn check(&self, key: &str, limit: Limit, now: i64) -> Result<(), i64> {
        let mut map = match self.windows.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            map.retain(|_, (start, _)| *start + limit.window_secs.max(3_600) > now);
            if map.len() >= MAX_KEYS {
                let mut starts: Vec<i64> = map.values().map(|(s, _)| *s).collect();
                starts.sort_unstable();
                let cut = starts[starts.len() / 2];
                map.retain(|_, (start, _)| *start > cut);
            }
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if entry.0 + limit.window_secs <= now {
            *entry = (now, 0);
        }
        if entry.1 >= limit.max {
            return Err((entry.0 + limit.window_secs - now).max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        match self.windows.lock() {
            Ok(g) => g.len(),
            Err(p) => p.into_inner().len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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
    fn memory_stays_bounded() {
        let r = RateLimiter::default();
        let l = Limit {
            max: 1,
            window_secs: 60,
        };
        for i in 0..(MAX_KEYS + 10) {
            let _ = r.check(&format!("k{i}"), l, i as i64);
        }
        assert!(r.len() <= MAX_KEYS, "{}", r.len());
    }
}
