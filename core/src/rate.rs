//! Per-user rate limiting: a token bucket, and at most one complaint a second.

use crate::time::{Duration, Instant, MaybeInstant};

/// How often a limited user is told so, at most.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// A token bucket of `burst` messages, refilled at `rate_per_sec`. A message that finds the
/// bucket empty is refused (not acknowledged), so the sender's retransmission brings it
/// back later: the limit slows a sender down and loses nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimiter {
    /// Thousandths of a message, so slow rates refill smoothly (a burst is at most 65,535
    /// messages: 32 bits hold it).
    milli_tokens: u32,
    refilled_at: Instant,
    reported_at: MaybeInstant,
}

impl RateLimiter {
    /// A full bucket at `now`.
    pub fn new(burst: u16, now: Instant) -> Self {
        RateLimiter {
            milli_tokens: u32::from(burst).saturating_mul(1000),
            refilled_at: now,
            reported_at: MaybeInstant::NONE,
        }
    }

    /// Takes one message's token if there is one. A rate of 0 means no limit.
    pub fn try_take(&mut self, now: Instant, rate_per_sec: u16, burst: u16) -> bool {
        if rate_per_sec == 0 {
            return true;
        }
        // Milliseconds times messages a second are thousandths of a message; where that
        // passes 32 bits the bucket is full anyway. The last refill may be weeks old (a
        // user who only pings): read modulo the clock, it is never taken for a time to come.
        let elapsed = now.wrapping_since(self.refilled_at).as_millis_u32();
        let cap = u32::from(burst.max(1)).saturating_mul(1000);
        self.milli_tokens = self
            .milli_tokens
            .saturating_add(elapsed.saturating_mul(u32::from(rate_per_sec)))
            .min(cap);
        self.refilled_at = now;
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }

    /// When a token was last asked for.
    pub const fn last_asked(&self) -> Instant {
        self.refilled_at
    }

    /// Whether to tell the user it is limited now: at most once per [`REPORT_INTERVAL`].
    pub fn should_report(&mut self, now: Instant) -> bool {
        let due = self.reported_at.none_or_past(REPORT_INTERVAL, now);
        if due {
            self.reported_at = MaybeInstant::some(now);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let t0 = Instant::ZERO;
        let mut bucket = RateLimiter::new(3, t0);
        assert!((0..3).all(|_| bucket.try_take(t0, 10, 3)));
        assert!(!bucket.try_take(t0, 10, 3));
        // 10 a second: one token per 100 ms.
        assert!(!bucket.try_take(Instant::from_millis(99), 10, 3));
        assert!(bucket.try_take(Instant::from_millis(100), 10, 3));
        // A long pause refills only up to the burst.
        let later = Instant::from_millis(60_000);
        assert!((0..3).all(|_| bucket.try_take(later, 10, 3)));
        assert!(!bucket.try_take(later, 10, 3));
    }

    #[test]
    fn an_empty_bucket_left_for_weeks_is_full_again() {
        // Past half the clock (24.8 days) the last refill must still read as long ago.
        for days in [20, 30, 49, 60] {
            let t0 = Instant::from_millis(u64::from(u32::MAX) - 500);
            let mut bucket = RateLimiter::new(2, t0);
            assert!((0..2).all(|_| bucket.try_take(t0, 1, 2)) && !bucket.try_take(t0, 1, 2));
            let later = Instant::from_millis(u64::from(t0.as_millis()) + days * 86_400_000);
            assert!(bucket.try_take(later, 1, 2), "{days} days");
            assert!(bucket.should_report(later) && !bucket.should_report(later));
        }
    }

    #[test]
    fn zero_rate_means_unlimited() {
        let mut bucket = RateLimiter::new(0, Instant::ZERO);
        assert!((0..10_000).all(|_| bucket.try_take(Instant::ZERO, 0, 0)));
    }

    #[test]
    fn reports_at_most_once_a_second() {
        let mut bucket = RateLimiter::new(1, Instant::ZERO);
        assert!(bucket.should_report(Instant::from_millis(10)));
        assert!(!bucket.should_report(Instant::from_millis(1009)));
        assert!(bucket.should_report(Instant::from_millis(1010)));
    }
}
