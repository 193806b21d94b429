//! Funnel counts: metered article views, offer boxes shown, sign-ups from
//! the wall and checkouts started, per article and hour. Counted in memory on the request
//! path and flushed into `funnel_hourly` every minute (and at shutdown),
//! so a page view never waits for a database write.

use masthead_store::members::FunnelCounts;
use masthead_store::Db;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    MeteredView,
    OfferShown,
    Signup,
    /// A Stripe Checkout opened (article 0 when no article led there).
    CheckoutStarted,
}

const STEPS: usize = 4;

#[derive(Default)]
pub struct Funnel {
    counts: Mutex<HashMap<(i64, i64), [i64; STEPS]>>,
    /// Keys already counted since the last flush (`record_once`).
    seen: Mutex<HashSet<String>>,
}

impl Funnel {
    /// Counts a step once per `key` between flushes: a double click that
    /// reopens the same Checkout Session is one checkout started.
    pub fn record_once(&self, key: String, article_id: i64, step: Step, now: i64) {
        let fresh = match self.seen.lock() {
            Ok(mut g) => g.insert(key),
            Err(p) => p.into_inner().insert(key),
        };
        if fresh {
            self.record(article_id, step, now);
        }
    }

    pub fn record(&self, article_id: i64, step: Step, now: i64) {
        let hour = now - now.rem_euclid(3600);
        let mut map = match self.counts.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let slot = map.entry((article_id, hour)).or_insert([0; STEPS]);
        slot[step as usize] += 1;
    }

    /// Writes what was counted since the last flush. On a database error
    /// the counts are put back for the next attempt.
    pub async fn flush(&self, db: &Db) -> anyhow::Result<usize> {
        match self.seen.lock() {
            Ok(mut g) => g.clear(),
            Err(p) => p.into_inner().clear(),
        }
        let taken: HashMap<(i64, i64), [i64; STEPS]> = {
            let mut map = match self.counts.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            std::mem::take(&mut *map)
        };
        if taken.is_empty() {
            return Ok(0);
        }
        let rows: Vec<(i64, i64, FunnelCounts)> = taken
            .iter()
            .map(|((a, h), c)| {
                let counts = FunnelCounts {
                    metered_views: c[Step::MeteredView as usize],
                    offers_shown: c[Step::OfferShown as usize],
                    signups: c[Step::Signup as usize],
                    checkouts: c[Step::CheckoutStarted as usize],
                    ..FunnelCounts::default()
                };
                (*a, *h, counts)
            })
            .collect();
        if let Err(e) = masthead_store::members::add_funnel_counts(db, &rows).await {
            let mut map = match self.counts.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            for (k, c) in taken {
                let slot = map.entry(k).or_insert([0; STEPS]);
                for (s, n) in slot.iter_mut().zip(c) {
                    *s += n;
                }
            }
            return Err(e.into());
        }
        Ok(rows.len())
    }
}
