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
/// 32-bit milliseconds (49 days: no round trip comes near), so that a user slot on a
/// server carries 28 bytes of it, not 56.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RttEstimator {
    /// Smoothed round-trip time, ms; `None` before the first sample.
    srtt: Option<u32>,
    /// Round-trip variation, ms.
    rttvar: u32,
    /// The current timeout, ms (backed off after timeouts).
    rto: u32,
    initial: u32,
    min: u32,
    max: u32,
}

/// `d` in milliseconds, saturated to 32 bits.
fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl RttEstimator {
    /// An estimator that starts with `initial` and keeps its timeout within
    /// `min..=max`.
    pub(crate) fn new(initial: Duration, min: Duration, max: Duration) -> Self {
        RttEstimator {
            srtt: None,
            rttvar: 0,
            rto: millis(initial),
            initial: millis(initial),
            min: millis(min),
            max: millis(max),
        }
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
    pub(crate) fn sample(&mut self, rtt: Duration) {
        let r = millis(rtt);
        let (srtt, rttvar) = match self.srtt {
            None => (r, r / 2),
            Some(srtt) => {
                let rttvar = self.rttvar.saturating_mul(3).saturating_add(srtt.abs_diff(r)) / 4;
                (srtt.saturating_mul(7).saturating_add(r) / 8, rttvar)
            }
        };
        self.srtt = Some(srtt);
        self.rttvar = rttvar;
        self.rto = self.computed();
    }

    /// The peer acknowledged something new: the path works, so the back-off ends.
    pub(crate) fn on_progress(&mut self) {
        self.rto = self.computed();
    }

    fn computed(&self) -> u32 {
        match self.srtt {
            Some(srtt) => srtt
                .saturating_add(self.rttvar.saturating_mul(4).max(1))
                .clamp(self.min, self.max.max(self.min)),
            None => self.initial,
        }
    }

    /// A timeout fired: wait twice as long next time.
    pub(crate) fn back_off(&mut self) {
        self.rto = self.rto.saturating_mul(2).min(self.max.max(self.min));
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
        let mut rtt = RttEstimator::new(ms(200), ms(20), ms(4000));
        assert_eq!(rtt.rto(), ms(200));
        rtt.sample(ms(10));
        // srtt 10, rttvar 5: 10 + 20.
        assert_eq!((rtt.srtt(), rtt.rto()), (Some(ms(10)), ms(30)));
        for _ in 0..50 {
            rtt.sample(ms(10));
        }
        assert_eq!(rtt.rto(), ms(20), "steady paths stop at the minimum");
        rtt.back_off();
        rtt.back_off();
        assert_eq!(rtt.rto(), ms(80));
        rtt.on_progress();
        assert_eq!(rtt.rto(), ms(20), "progress ends the back-off");
        rtt.back_off();
        rtt.back_off();
        rtt.sample(ms(1000));
        assert!(rtt.rto() > ms(1000) && rtt.rto() <= ms(4000));
        for _ in 0..20 {
            rtt.back_off();
        }
        assert_eq!(rtt.rto(), ms(4000));
    }
}
