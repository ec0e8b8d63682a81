//! Plain-text datagrams from clients of the original program: shown on the operator's
//! console, but at most a few a second from any one source address, so a flood of them
//! cannot bury the console or crowd out everyone else's lines. What is held back is
//! counted and reported.

use std::collections::HashMap;
use std::net::IpAddr;

use minichat_core::rate::RateLimiter;
use minichat_core::time::Instant;

/// Plain-text datagrams shown a second from one source address, in the long run.
pub(crate) const RATE_PER_SEC: u16 = 5;
/// How many may come at once before the rate applies.
pub(crate) const BURST: u16 = 10;
/// Source addresses remembered at once; past that the memory starts over, so spoofed
/// sources cannot grow it.
const MAX_SOURCES: usize = 4096;

/// Decides which plain-text datagrams the console shows.
#[derive(Debug, Default)]
pub(crate) struct LegacyGate {
    sources: HashMap<IpAddr, RateLimiter>,
    suppressed: u64,
}

impl LegacyGate {
    /// Whether a datagram from `from` may be shown now; if not, it is counted.
    pub(crate) fn admit(&mut self, now: Instant, from: IpAddr) -> bool {
        if self.sources.len() >= MAX_SOURCES && !self.sources.contains_key(&from) {
            self.sources.clear();
        }
        let bucket = self.sources.entry(from).or_insert_with(|| RateLimiter::new(BURST, now));
        let admitted = bucket.try_take(now, RATE_PER_SEC, BURST);
        if !admitted {
            self.suppressed += 1;
        }
        admitted
    }

    /// How many datagrams were held back since the last call.
    pub(crate) fn take_suppressed(&mut self) -> u64 {
        std::mem::take(&mut self.suppressed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_source_gets_its_burst_then_the_rate_and_others_are_unaffected() {
        let mut gate = LegacyGate::default();
        let flood: IpAddr = "127.0.0.2".parse().unwrap();
        let quiet: IpAddr = "127.0.0.3".parse().unwrap();
        let t0 = Instant::ZERO;
        let shown = (0..1000).filter(|_| gate.admit(t0, flood)).count();
        assert_eq!(shown, usize::from(BURST));
        assert_eq!(gate.take_suppressed(), 1000 - u64::from(BURST));
        assert!(gate.admit(t0, quiet), "another source still gets through");
        // One second later, the rate's worth more.
        let t1 = Instant::from_millis(1000);
        let shown = (0..1000).filter(|_| gate.admit(t1, flood)).count();
        assert_eq!(shown, usize::from(RATE_PER_SEC));
    }
}
