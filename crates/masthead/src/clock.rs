//! The app's one clock. Everything that asks the time (publication,
//! expiries, meters, rate limits, jobs, reminders) asks `AppState::now`,
//! so a test can move time forward (`Clock::advance`) instead of writing
//! timestamps into the database.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// The system time, moved forward by `advance` (tests only move it).
#[derive(Clone, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// Now, in Unix seconds.
    pub fn now(&self) -> i64 {
        jiff::Timestamp::now().as_second() + self.offset.load(Ordering::Relaxed)
    }

    /// Now, as a timestamp.
    pub fn timestamp(&self) -> jiff::Timestamp {
        let offset = jiff::SignedDuration::from_secs(self.offset.load(Ordering::Relaxed));
        jiff::Timestamp::now()
            .checked_add(offset)
            .unwrap_or_else(|_| jiff::Timestamp::now())
    }

    /// Moves time forward by `secs` for everyone holding this clock.
    pub fn advance(&self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn advancing_moves_every_copy_of_the_clock() {
        let clock = Clock::default();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(86_400);
        let after = copy.now();
        assert!(
            (86_400..86_400 + 5).contains(&(after - before)),
            "{}",
            after - before
        );
        assert!((copy.timestamp().as_second() - after).abs() <= 1);
    }
}
