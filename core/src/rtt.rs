//! Round-trip time estimation and the retransmission timeout it gives (RFC 6298, in
//! milliseconds): the timeout follows the path, short on a LAN, longer over a slow radio,
//! and doubles on each timeout until the peer acknowledges something new again.
//!
//! RFC 6298 keeps the backed-off timeout until a fresh measurement; with go-back-N and a
//! full window, everything acknowledged after a timeout was sent twice, so no measurement
//! would ever come (Karn's rule) and the timeout would stay at its maximum. Progress
//! therefore restores the timeout computed from the last measurements.

use crate::time::Duration;

/// A smoothed round-trip estimate and the retransmission timeout derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RttEstimator {
    /// Smoothed round-trip time, ms; `None` before the first sample.
    srtt: Option<u64>,
    /// Round-trip variation, ms.
    rttvar: u64,
    /// The current timeout, ms (backed off after timeouts).
    rto: u64,
    initial: u64,
    min: u64,
    max: u64,
}

impl RttEstimator {
    /// An estimator that starts with `initial` and keeps its timeout within
    /// `min..=max`.
    pub(crate) const fn new(initial: Duration, min: Duration, max: Duration) -> Self {
        RttEstimator {
            srtt: None,
            rttvar: 0,
            rto: initial.as_millis(),
            initial: initial.as_millis(),
            min: min.as_millis(),
            max: max.as_millis(),
        }
    }

    /// The retransmission timeout now.
    pub(crate) const fn rto(&self) -> Duration {
        Duration::from_millis(self.rto)
    }

    /// The smoothed round-trip time, once measured (tests read it).
    #[cfg(test)]
    fn srtt(&self) -> Option<Duration> {
        self.srtt.map(Duration::from_millis)
    }

    /// Takes one round-trip measurement (of a frame sent once: Karn's rule).
    pub(crate) fn sample(&mut self, rtt: Duration) {
        let r = rtt.as_millis();
        let (srtt, rttvar) = match self.srtt {
            None => (r, r / 2),
            Some(srtt) => {
                let rttvar = (3 * self.rttvar + srtt.abs_diff(r)) / 4;
                ((7 * srtt + r) / 8, rttvar)
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

    fn computed(&self) -> u64 {
        match self.srtt {
            Some(srtt) => srtt
                .saturating_add((4 * self.rttvar).max(1))
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
