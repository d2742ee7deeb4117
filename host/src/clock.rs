//! The time the service stamps sessions, grants and credentials with: the system clock, or
//! a clock that moves only when told, so that expiry can be tested without waiting.
//!
//! Plugins never see either: they are given no clock at all (see the WIT).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time; clones share one clock.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<AtomicU64>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock that reads `start` until [`Clock::advance`] moves it (to the millisecond).
    pub fn manual(start: SystemTime) -> Clock {
        Clock(Some(Arc::new(AtomicU64::new(millis(start)))))
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        match &self.0 {
            None => SystemTime::now(),
            Some(at) => UNIX_EPOCH + Duration::from_millis(at.load(Ordering::Acquire)),
        }
    }

    /// Moves a manual clock forward by `by`; the system clock moves by itself, so this
    /// does nothing to it.
    pub fn advance(&self, by: Duration) {
        if let Some(at) = &self.0 {
            at.fetch_add(
                u64::try_from(by.as_millis()).unwrap_or(u64::MAX),
                Ordering::AcqRel,
            );
        }
    }
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_is_shared_by_its_clones() {
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let clock = Clock::manual(start);
        let clone = clock.clone();
        assert_eq!(clock.now(), start);
        clone.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), start + Duration::from_secs(90));
        let system = Clock::system();
        system.advance(Duration::from_secs(3600));
        assert!(system.now() < SystemTime::now() + Duration::from_secs(60));
    }
}
