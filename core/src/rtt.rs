//! Round-trip time estimation and the retransmission timeout it gives (RFC 6298, in
//! milliseconds): the timeout follows the path, short on a LAN, longer over a slow radio,
//! and doubles on each timeout until the peer acknowledges something new again.
//!
//! RFC 6298 keeps the backed-off timeout until a fresh measurement; with go-back-N and a
//! full window, everything acknowledged after a timeout was sent twice, so no measurement
//! would ever come (Karn's rule) and the timeout would stay at its maximum. Progress
//! therefore restores the timeout computed from the last measurements.

use crate::client::MAX_RTO;
use crate::time::Duration;

/// `srtt` before the first sample.
const NO_SAMPLE: u16 = u16::MAX;

/// The longest round trip an estimate keeps, ms (a longer sample counts as this long): one
/// under [`NO_SAMPLE`], above the longest timeout allowed, so a sample this long still
/// gives the longest timeout.
const LONGEST: u16 = NO_SAMPLE - 1;

// Every timeout the settings allow (at most `MAX_RTO`, 60 s) fits 16 bits of milliseconds.
const _: () = assert!(MAX_RTO.as_millis_u32() <= LONGEST as u32);

/// Milliseconds in 16 bits: `ms`, or [`LONGEST`] if it is longer.
fn ms16(ms: u32) -> u16 {
    u16::try_from(ms).unwrap_or(LONGEST).min(LONGEST)
}

/// A smoothed round-trip estimate and the retransmission timeout derived from it, in
/// 16-bit milliseconds (the timeout is at most [`MAX_RTO`], 60 s; a round trip sampled
/// longer than 65.5 s counts as that long, and gives the longest timeout all the same), so
/// that a user slot on a server carries 6 bytes of it, not 56. The bounds are the
/// configuration's, passed in ([`RttBounds`]), not kept per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RttEstimator {
    /// Smoothed round-trip time, ms; [`NO_SAMPLE`] before the first sample.
    srtt: u16,
    /// Round-trip variation, ms.
    rttvar: u16,
    /// The current timeout, ms (backed off after timeouts).
    rto: u16,
}

/// The timeout's first value and its bounds, in milliseconds: the configuration's, one copy
/// for a server's every user (bytes a user slot does not carry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RttBounds {
    initial: u16,
    min: u16,
    /// At least `min`.
    max: u16,
}

impl RttBounds {
    /// Start with `initial`, keep the timeout within `min..=max` (`min` if `max` is less).
    /// The settings keep all three within [`MAX_RTO`]; longer ones count as 65.5 s.
    pub(crate) fn new(initial: Duration, min: Duration, max: Duration) -> Self {
        RttBounds {
            initial: ms16(initial.as_millis_u32()),
            min: ms16(min.as_millis_u32()),
            max: ms16(max.max(min).as_millis_u32()),
        }
    }
}

impl RttEstimator {
    /// An estimator that starts with the timeout `bounds` give first.
    pub(crate) const fn new(bounds: &RttBounds) -> Self {
        RttEstimator { srtt: NO_SAMPLE, rttvar: 0, rto: bounds.initial }
    }

    /// The retransmission timeout now.
    pub(crate) fn rto(&self) -> Duration {
        Duration::from_millis(u64::from(self.rto))
    }

    /// The smoothed round-trip time, once measured (tests read it).
    #[cfg(test)]
    fn srtt(&self) -> Option<Duration> {
        (self.srtt != NO_SAMPLE).then(|| Duration::from_millis(u64::from(self.srtt)))
    }

    /// Takes one round-trip measurement (of a frame sent once: Karn's rule).
    pub(crate) fn sample(&mut self, rtt: Duration, bounds: &RttBounds) {
        // All at most `LONGEST`, so nothing below passes 32 bits, and the averages stay
        // within `LONGEST`.
        let r = u32::from(ms16(rtt.as_millis_u32()));
        let (srtt, rttvar) = if self.srtt == NO_SAMPLE {
            (r, r / 2)
        } else {
            let (srtt, rttvar) = (u32::from(self.srtt), u32::from(self.rttvar));
            ((srtt * 7 + r) / 8, (rttvar * 3 + srtt.abs_diff(r)) / 4)
        };
        self.srtt = ms16(srtt);
        self.rttvar = ms16(rttvar);
        self.rto = self.computed(bounds);
    }

    /// The peer acknowledged something new: the path works, so the back-off ends.
    pub(crate) fn on_progress(&mut self, bounds: &RttBounds) {
        self.rto = self.computed(bounds);
    }

    fn computed(&self, bounds: &RttBounds) -> u16 {
        if self.srtt == NO_SAMPLE {
            return bounds.initial;
        }
        let rto = u32::from(self.srtt) + (u32::from(self.rttvar) * 4).max(1);
        // Not `clamp`: it asserts min <= max, which `RttBounds::new` makes true but the
        // compiler cannot see, and the firmware links no panic.
        ms16(rto.max(u32::from(bounds.min)).min(u32::from(bounds.max)))
    }

    /// A timeout fired: wait twice as long next time.
    pub(crate) fn back_off(&mut self, bounds: &RttBounds) {
        self.rto = ms16((u32::from(self.rto) * 2).min(u32::from(bounds.max)));
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

    #[test]
    fn a_round_trip_past_16_bits_counts_as_the_longest() {
        let bounds = RttBounds::new(ms(200), ms(20), MAX_RTO);
        let mut rtt = RttEstimator::new(&bounds);
        rtt.sample(ms(200_000), &bounds);
        assert_eq!((rtt.srtt(), rtt.rto()), (Some(ms(65_534)), MAX_RTO));
        for _ in 0..40 {
            rtt.back_off(&bounds);
        }
        assert_eq!(rtt.rto(), MAX_RTO);
        rtt.sample(ms(65_534), &bounds);
        assert_eq!((rtt.srtt(), rtt.rto()), (Some(ms(65_534)), MAX_RTO));
        for _ in 0..200 {
            rtt.sample(ms(10), &bounds);
        }
        assert_eq!(rtt.rto(), ms(20), "the estimate comes down again");
    }
}
