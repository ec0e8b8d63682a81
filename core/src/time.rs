//! Time as the core sees it: milliseconds in an integer, passed in by the embedding.
//!
//! The state machines never read a clock. The host converts `std::time::Instant`,
//! firmware its tick counter, tests a simulated clock — all into [`Instant`].

use core::cmp::Ordering;
use core::ops::{Add, Mul, Sub};

/// A point in time: milliseconds since an epoch the embedding chooses (boot, program
/// start), on a 32-bit clock that wraps every 2³² ms (49.7 days). Only differences matter,
/// and they are taken modulo 2³²: of two instants, the later is the one less than half the
/// clock (24.8 days, [`Duration::MAX`]) ahead. Every timer of the protocol is far shorter,
/// so a server or client runs for years; 32 bits spare a 32-bit core the 64-bit arithmetic
/// on every timer and four bytes in every time it keeps. The embedding's clock must not go
/// backwards, and something must poll the state machine at least once in 24 days (any
/// pending timer does).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Instant(u32);

impl Instant {
    /// The epoch.
    pub const ZERO: Instant = Instant(0);

    /// `ms` milliseconds after the epoch, modulo 2³² (the clock wraps): a 64-bit counter
    /// can be passed as it is.
    pub const fn from_millis(ms: u64) -> Self {
        let [.., a, b, c, d] = ms.to_be_bytes();
        Instant(u32::from_be_bytes([a, b, c, d]))
    }

    /// Milliseconds since the epoch, modulo 2³².
    pub const fn as_millis(self) -> u32 {
        self.0
    }

    /// How long after `earlier` this is; zero if it is not after (within half the clock:
    /// see [`Instant`]).
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        let ahead = self.ahead_of(earlier);
        Duration(if ahead > Duration::MAX.0 { 0 } else { ahead })
    }

    /// How long after `earlier` this is, for a time this state machine stamped and kept,
    /// which is never after now but may lie unread for weeks (a rate limiter's last
    /// refill, the last notice of a kind, a challenge left unanswered): the difference
    /// modulo the clock, at most [`Duration::MAX`]. [`Instant::saturating_since`] would
    /// take a stamp older than 24.8 days for a time to come and hold its timer back for as
    /// long again; read modulo the clock, one 49.7 days and `x` old reads as `x` old, a
    /// short wait once in 49.7 days.
    pub(crate) const fn wrapping_since(self, earlier: Instant) -> Duration {
        let ahead = self.ahead_of(earlier);
        Duration(if ahead > Duration::MAX.0 { Duration::MAX.0 } else { ahead })
    }

    /// Milliseconds from `other` forward to this, around the clock: what the order and
    /// both readings of an age start from.
    const fn ahead_of(self, other: Instant) -> u32 {
        self.0.wrapping_sub(other.0)
    }
}

impl Ord for Instant {
    /// Ordered on the clock's circle: `self` is later if it is less than half the clock
    /// ahead of `other`. A total order among instants less than 24.8 days apart, which all
    /// the times the state machines compare are; on the whole circle no order is total
    /// (each instant is later than the half before it), and two exactly half the clock
    /// apart are each earlier than the other. A tie-break for that one case would cost
    /// every comparison on a firmware (72 B of the client's code, 132 B of the server's)
    /// and leave the rest of the circle as it is.
    fn cmp(&self, other: &Instant) -> Ordering {
        let ahead = self.ahead_of(*other);
        if ahead == 0 {
            Ordering::Equal
        } else if ahead <= Duration::MAX.0 {
            Ordering::Greater
        } else {
            Ordering::Less
        }
    }
}

impl PartialOrd for Instant {
    fn partial_cmp(&self, other: &Instant) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The earlier of two optional times, for folding timers into the next one (a fold of
/// this is some 150 B smaller on a firmware than `flatten().min()`).
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// An `Option<Instant>` in the four bytes of an `Instant`: the clock's last millisecond,
/// 2³² − 1, stands for none. For the times a server's user slot keeps but seldom reads
/// (three: a round-trip probe's, the last rate-limit and malformed-frame reports), where
/// `Option`'s tag would double the size. A time that falls on that one millisecond in 49.7
/// days reads as none: a round trip goes unmeasured, or a notice goes out a second early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MaybeInstant(Instant);

impl MaybeInstant {
    /// No time.
    pub(crate) const NONE: MaybeInstant = MaybeInstant(Instant(u32::MAX));

    /// `at` (none if it is the clock's last millisecond).
    pub(crate) const fn some(at: Instant) -> Self {
        MaybeInstant(at)
    }

    /// The time, if there is one.
    pub(crate) const fn get(self) -> Option<Instant> {
        if self.0.0 == u32::MAX { None } else { Some(self.0) }
    }

    /// Whether there is no time.
    pub(crate) const fn is_none(self) -> bool {
        self.0.0 == u32::MAX
    }

    /// Whether there is no time, or it is at least `span` before `now`: what a notice sent
    /// at most once per `span` asks before it goes again (a stamp of any age: see
    /// [`Instant::wrapping_since`]).
    pub(crate) fn none_or_past(self, span: Duration, now: Instant) -> bool {
        self.get().is_none_or(|at| now.wrapping_since(at) >= span)
    }
}

/// A span of time in milliseconds, up to [`Duration::MAX`] (24.8 days, half the clock of
/// [`Instant`], so that a deadline is always ahead of the time it was set at): no timeout
/// of the protocol comes near, and 32 bits spare a 32-bit core the 64-bit arithmetic on
/// every timer (320 B of a firmware client's code). Longer spans saturate.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(u32);

impl Duration {
    /// No time.
    pub const ZERO: Duration = Duration(0);

    /// The longest span: 2³¹ − 1 ms, 24 days 20 hours.
    pub const MAX: Duration = Duration(u32::MAX >> 1);

    /// `ms` milliseconds, or [`Duration::MAX`] if that is longer.
    pub const fn from_millis(ms: u64) -> Self {
        // The low 32 bits once the value fits (`u32::try_from` is not `const`).
        let [_, _, _, _, a, b, c, d] = ms.to_be_bytes();
        Duration(if ms > Duration::MAX.0 as u64 {
            Duration::MAX.0
        } else {
            u32::from_be_bytes([a, b, c, d])
        })
    }

    /// `s` seconds, or [`Duration::MAX`] if that is longer.
    pub const fn from_secs(s: u64) -> Self {
        Duration::from_millis(s.saturating_mul(1000))
    }

    /// The length in milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0 as u64
    }

    /// The length in milliseconds, in the 32 bits it is kept in.
    pub(crate) const fn as_millis_u32(self) -> u32 {
        self.0
    }

    /// Twice as long, capped at `max`: one step of exponential back-off.
    pub fn doubled(self, max: Duration) -> Duration {
        // Both are at most `MAX`, so twice one fits 32 bits.
        Duration(self.0.saturating_mul(2)).min(max)
    }

    /// `n` times as long, saturating at [`Duration::MAX`].
    pub const fn times(self, n: u64) -> Duration {
        Duration::from_millis((self.0 as u64).saturating_mul(n))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Wraps with the clock: a span is at most half of it, so the sum is always later.
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.wrapping_add(rhs.0))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero, like [`Instant::saturating_since`].
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_since(rhs)
    }
}

impl Add for Duration {
    type Output = Duration;
    /// Saturates at [`Duration::MAX`].
    fn add(self, rhs: Duration) -> Duration {
        Duration(self.0.saturating_add(rhs.0).min(Duration::MAX.0))
    }
}

impl Mul<u64> for Duration {
    type Output = Duration;
    /// Saturates rather than overflows.
    fn mul(self, n: u64) -> Duration {
        self.times(n)
    }
}

impl Mul<Duration> for u64 {
    type Output = Duration;
    /// Saturates rather than overflows.
    fn mul(self, d: Duration) -> Duration {
        d.times(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_maybe_instant_is_an_option_in_four_bytes() {
        assert_eq!(size_of::<MaybeInstant>(), 4);
        let at = Instant::from_millis(500);
        assert_eq!(MaybeInstant::some(at).get(), Some(at));
        assert_eq!(MaybeInstant::NONE.get(), None);
        // The clock's last millisecond is none.
        assert!(MaybeInstant::some(Instant::from_millis(u64::from(u32::MAX))).is_none());
        assert!(!MaybeInstant::some(at).is_none());
    }

    #[test]
    fn spans_saturate() {
        let t = Instant::from_millis(1_000);
        assert_eq!(t + Duration::from_secs(2), Instant::from_millis(3_000));
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(t - Instant::ZERO, Duration::from_millis(1_000));
        assert_eq!(
            Duration::from_millis(300).doubled(Duration::from_millis(500)),
            Duration::from_millis(500)
        );
        assert_eq!(Duration::MAX.doubled(Duration::MAX), Duration::MAX);
        // Spans saturate at half the clock, 2³¹ − 1 ms.
        assert_eq!(Duration::MAX.as_millis(), (1 << 31) - 1);
        assert_eq!(Duration::from_millis(1 << 31), Duration::MAX);
        assert_eq!(Duration::from_millis(1 << 40), Duration::MAX);
        assert_eq!(Duration::from_secs(u64::MAX), Duration::MAX);
        assert_eq!(Duration::MAX.times(3), Duration::MAX);
        assert_eq!(Duration::MAX + Duration::from_millis(1), Duration::MAX);
    }

    #[test]
    fn the_clock_wraps_and_order_follows_it() {
        // A 64-bit counter is taken modulo 2³².
        assert_eq!(Instant::from_millis((1 << 32) + 7), Instant::from_millis(7));
        let before = Instant::from_millis(u64::from(u32::MAX) - 999);
        let after = before + Duration::from_secs(2);
        assert_eq!(after, Instant::from_millis(1_000));
        assert!(before < after);
        assert_eq!(after.cmp(&before), Ordering::Greater);
        assert_eq!(before.min(after), before);
        assert_eq!(after - before, Duration::from_secs(2));
        assert_eq!(before - after, Duration::ZERO);
        assert_eq!(after.saturating_since(before), Duration::from_secs(2));
        // The longest span still lands ahead.
        assert!(before + Duration::MAX > before);
        assert!(Instant::ZERO + Duration::MAX > Instant::ZERO);
    }

    #[test]
    fn a_stamp_of_any_age_reads_as_past() {
        let stamp = Instant::from_millis(5_000);
        let now = |days: u64| Instant::from_millis(5_000 + days * 86_400_000);
        // Within half the clock both readings agree.
        assert_eq!(now(20).saturating_since(stamp), Duration::from_secs(20 * 86_400));
        assert_eq!(now(20).wrapping_since(stamp), Duration::from_secs(20 * 86_400));
        // Past it, the stamp looks like a time to come to the order, but a kept stamp is
        // never after now: it reads as at least half the clock ago.
        assert_eq!(now(30).saturating_since(stamp), Duration::ZERO);
        assert_eq!(now(30).wrapping_since(stamp), Duration::MAX);
        let notice = MaybeInstant::some(stamp);
        assert!(notice.none_or_past(Duration::from_secs(1), now(30)));
        // Modulo the clock: 49.7 days and 400 ms reads as 400 ms, once.
        let round = Instant::from_millis(5_000 + (1 << 32) + 400);
        assert_eq!(round.wrapping_since(stamp), Duration::from_millis(400));
        assert!(!notice.none_or_past(Duration::from_secs(1), stamp + Duration::from_millis(999)));
    }
}
