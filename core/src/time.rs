//! Time as the core sees it: milliseconds in an integer, passed in by the embedding.
//!
//! The state machines never read a clock. The host converts `std::time::Instant`,
//! firmware its tick counter, tests a simulated clock — all into [`Instant`].

use core::ops::{Add, Mul, Sub};

/// A point in time: milliseconds since an epoch the embedding chooses (boot, program
/// start). Only differences matter.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The epoch.
    pub const ZERO: Instant = Instant(0);

    /// The end of time: where saturating additions stop, so a deadline here never fires.
    pub const MAX: Instant = Instant(u64::MAX);

    /// `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// How long after `earlier` this is; zero if it is not after.
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
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

/// An `Option<Instant>` in the eight bytes of an `Instant`: [`Instant::MAX`], the end of
/// time that no clock reaches, stands for none. For the times a server's user slot keeps
/// but seldom reads (three: a round-trip probe's, the last rate-limit and malformed-frame
/// reports), where `Option`'s tag and padding would take eight more bytes each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MaybeInstant(Instant);

impl MaybeInstant {
    /// No time.
    pub(crate) const NONE: MaybeInstant = MaybeInstant(Instant::MAX);

    /// `at` (none if it is the end of time).
    pub(crate) const fn some(at: Instant) -> Self {
        MaybeInstant(at)
    }

    /// The time, if there is one.
    pub(crate) const fn get(self) -> Option<Instant> {
        if self.0.0 == u64::MAX { None } else { Some(self.0) }
    }

    /// Whether there is no time.
    pub(crate) const fn is_none(self) -> bool {
        self.0.0 == u64::MAX
    }

    /// Whether there is no time, or it is at least `span` before `now`: what a notice sent
    /// at most once per `span` asks before it goes again.
    pub(crate) fn none_or_past(self, span: Duration, now: Instant) -> bool {
        self.get().is_none_or(|at| now.saturating_since(at) >= span)
    }
}

/// A span of time in milliseconds, up to [`Duration::MAX`] (49.7 days): no timeout of the
/// protocol comes near, and 32 bits spare a 32-bit core the 64-bit arithmetic on every
/// timer (320 B of a firmware client's code). Longer spans saturate.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(u32);

impl Duration {
    /// No time.
    pub const ZERO: Duration = Duration(0);

    /// The longest span: 2³² − 1 ms, 49 days 17 hours.
    pub const MAX: Duration = Duration(u32::MAX);

    /// `ms` milliseconds, or [`Duration::MAX`] if that is longer.
    pub const fn from_millis(ms: u64) -> Self {
        // The low 32 bits once the value fits (`u32::try_from` is not `const`).
        let [_, _, _, _, a, b, c, d] = ms.to_be_bytes();
        Duration(if ms > u32::MAX as u64 { u32::MAX } else { u32::from_be_bytes([a, b, c, d]) })
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
        Duration(self.0.saturating_mul(2)).min(max)
    }

    /// `n` times as long, saturating at [`Duration::MAX`].
    pub const fn times(self, n: u64) -> Duration {
        Duration::from_millis((self.0 as u64).saturating_mul(n))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates rather than overflows: a deadline past the end of time never fires.
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs.0 as u64))
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
    fn add(self, rhs: Duration) -> Duration {
        Duration(self.0.saturating_add(rhs.0))
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
    fn a_maybe_instant_is_an_option_in_eight_bytes() {
        assert_eq!(size_of::<MaybeInstant>(), 8);
        let at = Instant::from_millis(500);
        assert_eq!(MaybeInstant::some(at).get(), Some(at));
        assert_eq!(MaybeInstant::NONE.get(), None);
        // The end of time is none: no clock reaches it.
        assert!(MaybeInstant::some(Instant::MAX).is_none());
        assert!(!MaybeInstant::some(at).is_none());
    }

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_millis(1_000);
        assert_eq!(t + Duration::from_secs(2), Instant::from_millis(3_000));
        assert_eq!(
            Instant::from_millis(u64::MAX) + Duration::from_millis(1),
            Instant::from_millis(u64::MAX)
        );
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(t - Instant::ZERO, Duration::from_millis(1_000));
        assert_eq!(
            Duration::from_millis(300).doubled(Duration::from_millis(500)),
            Duration::from_millis(500)
        );
        // Spans saturate at 32 bits of milliseconds, instants do not.
        assert_eq!(Duration::from_millis(1 << 40), Duration::MAX);
        assert_eq!(Duration::from_secs(u64::MAX), Duration::MAX);
        assert_eq!(Duration::MAX.times(3), Duration::MAX);
        assert_eq!(Duration::MAX + Duration::from_millis(1), Duration::MAX);
        assert_eq!(Duration::MAX.as_millis(), u64::from(u32::MAX));
        assert_eq!(
            Instant::from_millis(1 << 40) + Duration::MAX,
            Instant::from_millis((1 << 40) + u64::from(u32::MAX))
        );
        assert_eq!(Instant::from_millis(1 << 40) - Instant::ZERO, Duration::MAX);
    }
}
