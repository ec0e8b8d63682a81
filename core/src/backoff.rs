//! A resend schedule that doubles its wait after every try, up to a ceiling: the client's
//! joins and its requests (who, echo, ping) are resent on it.

use crate::time::{Duration, Instant};

/// When the next try is due, and how long the one after will wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    next_at: Instant,
    wait: Duration,
}

impl Backoff {
    /// Due at `now`; the first resend waits `initial`.
    pub(crate) const fn new(now: Instant, initial: Duration) -> Self {
        Backoff { next_at: now, wait: initial }
    }

    /// When the next try is due.
    pub(crate) const fn next_at(&self) -> Instant {
        self.next_at
    }

    /// Whether a try is due at `now`.
    pub(crate) fn is_due(&self, now: Instant) -> bool {
        self.next_at <= now
    }

    /// A try went out at `now`: the next is due after the current wait, and the wait
    /// doubles, up to `max`. Returns the wait until the next try.
    pub(crate) fn tried(&mut self, now: Instant, max: Duration) -> Duration {
        let wait = self.wait;
        self.next_at = now + wait;
        self.wait = wait.doubled(max);
        wait
    }

    /// The current wait, what the next [`Backoff::tried`] schedules.
    pub(crate) const fn wait(&self) -> Duration {
        self.wait
    }

    /// Due at `at`, the wait kept.
    pub(crate) fn due_at(&mut self, at: Instant) {
        self.next_at = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_the_ceiling() {
        let start = Instant::from_millis(0);
        let mut backoff = Backoff::new(start, Duration::from_millis(100));
        assert!(backoff.is_due(start));
        let max = Duration::from_millis(300);
        let mut now = start;
        let mut waits = std::vec::Vec::new();
        for _ in 0..4 {
            waits.push(backoff.tried(now, max).as_millis());
            now = backoff.next_at();
            assert!(!backoff.is_due(Instant::from_millis(u64::from(now.as_millis()) - 1)));
        }
        assert_eq!(waits, [100, 200, 300, 300]);
    }
}
