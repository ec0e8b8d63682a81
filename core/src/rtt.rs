//! Round-trip time estimation and the retransmission timeout it gives (RFC 6298, in
//! milliseconds): the timeout follows the path, short on a LAN, longer over a slow radio,
//! and doubles on each timeout until the peer acknowledges something new again.
//!
//! RFC 6298 keeps the backed-off timeout until a fresh measurement; with go-back-N and a
//! full window, everything acknowledged after a timeout was sent twice, so no measurement
//! would ever come (Karn's rule) and the timeout would stay at its maximum. Progress
//! therefore restores the timeout computed from the last measurements.

use crate::time::Duration;

/// A smoothed round-trip estimate and the retransmission timeout derived from it, in
/// 32-bit milliseconds (no round trip comes near their 24.8 days), so that a user slot on a
/// server carries 16 bytes of it, not 56. The bounds are the configuration's, passed in
/// ([`RttBounds`]), not kept per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RttEstimator {
    /// Smoothed round-trip time, ms; `None` before the first sample.
    srtt: Option<u32>,
    /// Round-trip variation, ms.
    rttvar: u32,
    /// The current timeout, ms (backed off after timeouts).
    rto: u32,
}

/// The timeout's first value and its bounds, in milliseconds: the configuration's, one copy
/// for a server's every user (12 bytes a user slot no longer carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RttBounds {
    initial: u32,
    min: u32,
    /// At least `min`.
    max: u32,
}

impl RttBounds {
    /// Start with `initial`, keep the timeout within `min..=max` (`min` if `max` is less).
    pub(crate) fn new(initial: Duration, min: Duration, max: Duration) -> Self {
        RttBounds {
            initial: initial.as_millis_u32(),
            min: min.as_millis_u32(),
            max: max.max(min).as_millis_u32(),
        }
    }
}

impl RttEstimator {
    /// An estimator that starts with the timeout `bounds` give first.
    pub(crate) const fn new(bounds: &RttBounds) -> Self {
        RttEstimator { srtt: None, rttvar: 0, rto: bounds.initial }
    }

    /// The retransmission timeout now.
    pub(crate) fn rto(&self) -> Duration {
        Duration::from_millis(u64::from(self.rto))
    }

    /// The smoothed round-trip time, once measured (tests read it).
    #[cfg(test)]
    fn srtt(&self) -> Option<Duration> {
        self.srtt.map(|ms| Duration::from_millis(u64::from(ms)))
    }

    /// Takes one round-trip measurement (of a frame sent once: Karn's rule).
    pub(crate) fn sample(&mut self, rtt: Duration, bounds: &RttBounds) {
        let r = rtt.as_millis_u32();
        let (srtt, rttvar) = match self.srtt {
            None => (r, r / 2),
            Some(srtt) => {
                let rttvar = self.rttvar.saturating_mul(3).saturating_add(srtt.abs_diff(r)) / 4;
                (srtt.saturating_mul(7).saturating_add(r) / 8, rttvar)
            }
        };
        self.srtt = Some(srtt);
        self.rttvar = rttvar;
        self.rto = self.computed(bounds);
    }

    /// The peer acknowledged something new: the path works, so the back-off ends.
    pub(crate) fn on_progress(&mut self, bounds: &RttBounds) {
        self.rto = self.computed(bounds);
    }

    fn computed(&self, bounds: &RttBounds) -> u32 {
        match self.srtt {
            Some(srtt) => srtt
                .saturating_add(self.rttvar.saturating_mul(4).max(1))
                // Not `clamp`: it asserts min <= max, which `RttBounds::new` makes true
                // but the compiler cannot see, and the firmware links no panic.
                .max(bounds.min)
                .min(bounds.max),
            None => bounds.initial,
        }
    }

    /// A timeout fired: wait twice as long next time.
    pub(crate) fn back_off(&mut self, bounds: &RttBounds) {
        self.rto = self.rto.saturating_mul(2).min(bounds.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn follows_the_path_within_bounds() {
        let bounds = RttBounds::new(ms(200), ms(20), ms(4000));
        let mut rtt = RttEstimator::new(&bounds);
        assert_eq!(rtt.rto(), ms(200));
        rtt.sample(ms(10), &bounds);
        // srtt 10, rttvar 5: 10 + 20.
        assert_eq!((rtt.srtt(), rtt.rto()), (Some(ms(10)), ms(30)));
        for _ in 0..50 {
            rtt.sample(ms(10), &bounds);
        }
        assert_eq!(rtt.rto(), ms(20), "steady paths stop at the minimum");
        rtt.back_off(&bounds);
        rtt.back_off(&bounds);
        assert_eq!(rtt.rto(), ms(80));
        rtt.on_progress(&bounds);
        assert_eq!(rtt.rto(), ms(20), "progress ends the back-off");
        rtt.back_off(&bounds);
        rtt.back_off(&bounds);
        rtt.sample(ms(1000), &bounds);
        assert!(rtt.rto() > ms(1000) && rtt.rto() <= ms(4000));
        for _ in 0..20 {
            rtt.back_off(&bounds);
        }
        assert_eq!(rtt.rto(), ms(4000));
    }
}
