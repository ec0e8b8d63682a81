//! How much handshake work one host may make the server do (the `secure` feature).
//!
//! A `hello` with a valid cookie costs the server a Diffie-Hellman computation before it
//! knows whether the handshake is any good, and three for a good one; the sender spends
//! nothing but a datagram. So each source host (an IP address: [`PeerAddress::same_host`])
//! has a token bucket of handshakes, and a `hello` that finds it empty is dropped before
//! any of that work. A cookie is valid only at the address it was sent to, so the bucket
//! bounds every cookie too. A resent `hello` is answered from what was kept
//! (`secure.rs`) and takes no token.
//!
//! The server tracks the [`SOURCES`] hosts that asked last; a new one takes the place of
//! the one that has been quiet longest. An attacker with more addresses than that can
//! push honest hosts out, and they start again with a full bucket.
//!
//! [`PeerAddress::same_host`]: crate::address::PeerAddress::same_host

use heapless::Vec;

use crate::rate::RateLimiter;
use crate::time::Instant;

/// How many source hosts the server keeps a handshake budget for.
pub(super) const SOURCES: usize = 32;

/// One host's bucket, by its keyed hash.
#[derive(Debug, Clone, Copy)]
struct Source {
    host: u32,
    bucket: RateLimiter,
}

/// The handshake budgets of the hosts that asked last.
#[derive(Debug, Default)]
pub(super) struct HandshakeBudget {
    sources: Vec<Source, SOURCES>,
}

impl HandshakeBudget {
    /// Takes one handshake from `host`'s budget (`rate` a second, bursts of `burst`; a
    /// rate of 0 means no limit); `false` if it has none left.
    pub(super) fn try_take(&mut self, host: u32, now: Instant, rate: u16, burst: u16) -> bool {
        if rate == 0 {
            return true;
        }
        if let Some(source) = self.sources.iter_mut().find(|s| s.host == host) {
            return source.bucket.try_take(now, rate, burst);
        }
        let fresh = Source { host, bucket: RateLimiter::new(burst, now) };
        if let Err(fresh) = self.sources.push(fresh) {
            // The host that asked longest ago gives its place up.
            let quietest = self
                .sources
                .iter_mut()
                .max_by_key(|s| now.wrapping_since(s.bucket.last_asked()).as_millis_u32());
            if let Some(quietest) = quietest {
                *quietest = fresh;
            }
        }
        self.sources
            .iter_mut()
            .find(|s| s.host == host)
            .is_some_and(|s| s.bucket.try_take(now, rate, burst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    #[test]
    fn a_host_gets_its_burst_then_its_rate() {
        let mut budget = HandshakeBudget::default();
        let t0 = Instant::from_millis(1_000);
        assert!((0..16).all(|_| budget.try_take(7, t0, 4, 16)));
        assert!(!budget.try_take(7, t0, 4, 16));
        // Another host has its own budget.
        assert!(budget.try_take(8, t0, 4, 16));
        // Four a second: one every 250 ms.
        let later = t0 + Duration::from_millis(250);
        assert!(budget.try_take(7, later, 4, 16) && !budget.try_take(7, later, 4, 16));
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        let mut budget = HandshakeBudget::default();
        assert!((0..10_000).all(|_| budget.try_take(7, Instant::ZERO, 0, 0)));
    }

    #[test]
    fn the_quietest_host_gives_its_place_to_a_new_one() {
        let mut budget = HandshakeBudget::default();
        let t0 = Instant::from_millis(1_000);
        // An honest host asked first, then as many others as there are places, all
        // drained.
        assert!(budget.try_take(0, t0, 4, 2));
        let last = u32::try_from(SOURCES).unwrap_or(u32::MAX);
        for host in 1..=last {
            let now = t0 + Duration::from_millis(u64::from(host));
            while budget.try_take(host, now, 4, 2) {}
        }
        // The last host took the place of host 0, the quietest, and is still limited;
        // host 0, back, takes the place of host 1 with a full bucket.
        let now = t0 + Duration::from_millis(100);
        assert!(!budget.try_take(last, now, 4, 2));
        assert!(budget.try_take(0, now, 4, 2), "a host that left starts with a full bucket");
    }
}
