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
//! The server tracks [`SOURCES`] hosts. A new one takes a free place, or the place of a
//! host quiet for as long as its bucket takes to fill (forgetting it forgives nothing);
//! when every place is held by a host that asked more recently, a newcomer draws on the
//! quietest one's bucket. So an attacker with more addresses than there are places gets
//! the budget of one host per place, never a fresh burst per address.
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
        let place = match self.sources.push(fresh) {
            Ok(()) => self.sources.last_mut(),
            Err(fresh) => {
                // A host quiet for as long as an empty bucket takes to fill gives its
                // place up; else the newcomer draws on the quietest one's bucket.
                let refill_ms = u32::from(burst.max(1)).saturating_mul(1000) / u32::from(rate);
                let quiet_for =
                    |s: &Source| now.wrapping_since(s.bucket.last_asked()).as_millis_u32();
                let quietest = self.sources.iter_mut().max_by_key(|s| quiet_for(s));
                quietest.map(|quietest| {
                    if quiet_for(quietest) >= refill_ms {
                        *quietest = fresh;
                    }
                    quietest
                })
            }
        };
        place.is_some_and(|source| source.bucket.try_take(now, rate, burst))
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
    fn more_hosts_than_places_share_the_places_budgets() {
        let mut budget = HandshakeBudget::default();
        let t0 = Instant::from_millis(1_000);
        let places = u32::try_from(SOURCES).unwrap_or(u32::MAX);
        // An attacker with far more addresses than places, each drained at once.
        let mut granted = 0;
        for host in 0..10 * places {
            while budget.try_take(host, t0, 4, 2) {
                granted += 1;
            }
        }
        // Each place's burst: not a burst per address.
        assert_eq!(granted, 2 * places);
        // Cycling through them again a moment later gets (almost) nothing.
        let soon = t0 + Duration::from_millis(100);
        let again = (0..10 * places).filter(|&host| budget.try_take(host, soon, 4, 2)).count();
        assert!(again <= 1, "{again} more");
    }

    #[test]
    fn a_host_quiet_until_its_bucket_refilled_gives_its_place_up() {
        let mut budget = HandshakeBudget::default();
        let t0 = Instant::from_millis(1_000);
        let places = u32::try_from(SOURCES).unwrap_or(u32::MAX);
        for host in 0..places {
            while budget.try_take(host, t0, 4, 2) {}
        }
        // Hosts 1.. keep asking; host 0 is quiet for the half second two tokens take.
        let later = t0 + Duration::from_millis(500);
        for host in 1..places {
            let _ = budget.try_take(host, later, 4, 2);
        }
        // A newcomer takes host 0's place with a bucket of its own.
        assert!(budget.try_take(places, later, 4, 2) && budget.try_take(places, later, 4, 2));
        assert!(!budget.try_take(places, later, 4, 2));
    }
}
