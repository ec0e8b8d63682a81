//! What the server derives from its secret: join cookies, session tokens and challenge
//! nonces. All are SipHash-2-4 outputs keyed by the secret the embedding supplies, so no
//! one without the secret can predict or forge them, and cookies need no server state.

use crate::address::PeerAddress;
use core::hash::Hasher;

use siphasher::sip::SipHasher24;

use crate::time::{Duration, Instant};
use crate::wire::limits::COOKIE_LEN;
use crate::wire::{Cookie, Token};

/// Domain separation: the same key never hashes the same bytes for two purposes.
const COOKIE: u8 = 1;
const TOKEN: u8 = 2;
const NONCE: u8 = 3;
/// The cookie's second half.
const COOKIE_LOW: u8 = 4;
/// The user table's hash key, both halves.
const TABLE: u8 = 5;
const TABLE_LOW: u8 = 6;
/// A host's key in the handshake budget, and a hello's digest.
#[cfg(feature = "secure")]
const HOST: u8 = 7;
#[cfg(feature = "secure")]
const HELLO: u8 = 8;

/// The server's keyed generators.
#[derive(Debug)]
pub(crate) struct Secrets {
    key: [u8; 16],
    /// Different at every start (see `ServerConfig::boot`), so a restart with the same
    /// key never issues the tokens of an earlier run again.
    boot: u64,
    tokens_issued: u64,
    nonces_issued: u64,
}

impl Secrets {
    pub(crate) const fn new(key: [u8; 16], boot: u64) -> Self {
        Secrets { key, boot, tokens_issued: 0, nonces_issued: 0 }
    }

    /// A cookie for `addr` at `now`: the issue time on the server's clock (4 bytes of
    /// milliseconds), then 12 bytes of MAC over the address and that time.
    pub(crate) fn mint_cookie<A: PeerAddress>(&self, addr: A, now: Instant) -> Cookie {
        let issued = now.as_millis();
        let mut cookie = [0u8; COOKIE_LEN];
        let (time, mac) = cookie.split_at_mut(4);
        time.iter_mut().zip(issued.to_be_bytes()).for_each(|(d, s)| *d = s);
        for (dst, src) in mac.iter_mut().zip(self.cookie_mac(addr, issued)) {
            *dst = src;
        }
        Cookie(cookie)
    }

    /// Whether `cookie` was minted for `addr` no longer than `lifetime` before `now`.
    pub(crate) fn cookie_valid<A: PeerAddress>(
        &self,
        addr: A,
        cookie: &Cookie,
        now: Instant,
        lifetime: Duration,
    ) -> bool {
        let (time, mac) = cookie.0.split_at(4);
        let Ok(time) = <[u8; 4]>::try_from(time) else { return false };
        let issued = u32::from_be_bytes(time);
        // The clock wraps every 49.7 days, so a cookie's age is read modulo it: one minted
        // that long ago is as good as new for its lifetime again. It gives nothing to the
        // one who could have kept it: that one was on the path, and could read a fresh one.
        if now.as_millis().wrapping_sub(issued) > lifetime.as_millis_u32() {
            return false;
        }
        let expected = self.cookie_mac(addr, issued);
        // Compare every byte whatever the first difference, so timing tells nothing.
        let difference = mac.iter().zip(expected.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        difference == 0 && mac.len() == COOKIE_LEN - 4
    }

    /// Two 64-bit SipHash-2-4 MACs, domain-separated, rather than one 128-bit one: the
    /// server then carries one SipHash (about 1 KB less on firmware).
    fn cookie_mac<A: PeerAddress>(&self, addr: A, issued: u32) -> [u8; 16] {
        self.wide((COOKIE, COOKIE_LOW), |hasher| {
            addr.write_key(hasher);
            hasher.write(&issued.to_be_bytes());
        })
    }

    /// The key the user table hashes addresses, tokens and names under: derived, so the
    /// secret itself is used for nothing else.
    pub(crate) fn table_key(&self) -> [u8; 16] {
        self.wide((TABLE, TABLE_LOW), |hasher| hasher.write(&self.boot.to_be_bytes()))
    }

    /// 16 bytes: two 64-bit SipHash-2-4 of what `write` writes, after each of `domains`.
    fn wide(&self, domains: (u8, u8), write: impl Fn(&mut SipHasher24)) -> [u8; 16] {
        let half = |domain: u8| {
            let mut hasher = SipHasher24::new_with_key(&self.key);
            hasher.write_u8(domain);
            write(&mut hasher);
            hasher.finish().to_be_bytes()
        };
        let mut out = [0u8; 16];
        let (high, low) = out.split_at_mut(8);
        high.copy_from_slice(&half(domains.0));
        low.copy_from_slice(&half(domains.1));
        out
    }

    /// A fresh session token: never zero, never repeated for the same secret and boot.
    pub(crate) fn mint_token(&mut self) -> Token {
        loop {
            self.tokens_issued = self.tokens_issued.wrapping_add(1);
            let mut hasher = SipHasher24::new_with_key(&self.key);
            hasher.write_u8(TOKEN);
            hasher.write(&self.boot.to_be_bytes());
            hasher.write(&self.tokens_issued.to_be_bytes());
            let token = Token(hasher.finish());
            if !token.is_none() {
                return token;
            }
        }
    }

    /// The host of `addr`, hashed: the key of its handshake budget. Keyed, so nobody can
    /// choose addresses that share one.
    #[cfg(feature = "secure")]
    pub(crate) fn host_key<A: PeerAddress>(&self, addr: A) -> u32 {
        let mut hasher = SipHasher24::new_with_key(&self.key);
        hasher.write_u8(HOST);
        addr.write_host_key(&mut hasher);
        let [a, b, c, d, ..] = hasher.finish().to_be_bytes();
        u32::from_be_bytes([a, b, c, d])
    }

    /// A digest of a hello's nonce and handshake message: a resend is the same bytes.
    #[cfg(feature = "secure")]
    pub(crate) fn hello_digest(&self, nonce: u64, handshake: &[u8]) -> u64 {
        let mut hasher = SipHasher24::new_with_key(&self.key);
        hasher.write_u8(HELLO);
        hasher.write(&nonce.to_be_bytes());
        hasher.write(handshake);
        hasher.finish()
    }

    /// A fresh challenge nonce for `token` at `addr`.
    pub(crate) fn mint_nonce<A: PeerAddress>(&mut self, token: Token, addr: A) -> u32 {
        self.nonces_issued = self.nonces_issued.wrapping_add(1);
        let mut hasher = SipHasher24::new_with_key(&self.key);
        hasher.write_u8(NONCE);
        hasher.write(&self.boot.to_be_bytes());
        hasher.write(&token.0.to_be_bytes());
        addr.write_key(&mut hasher);
        hasher.write(&self.nonces_issued.to_be_bytes());
        let [a, b, c, d, ..] = hasher.finish().to_be_bytes();
        u32::from_be_bytes([a, b, c, d])
    }
}

#[cfg(test)]
mod tests {
    use core::net::SocketAddr;

    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    /// A cookie lives its lifetime to the millisecond, across the clock's wrap.
    #[test]
    fn cookies_live_their_lifetime_across_the_wrap() {
        let secrets = Secrets::new([7; 16], 0);
        let minted = (1 << 32) - 700;
        let cookie = secrets.mint_cookie(addr(1), Instant::from_millis(minted));
        let valid_at = |ms: u64| {
            secrets.cookie_valid(
                addr(1),
                &cookie,
                Instant::from_millis(minted + ms),
                Duration::from_millis(1500),
            )
        };
        assert!(valid_at(0) && valid_at(699) && valid_at(700) && valid_at(1500));
        assert!(!valid_at(1501) && !valid_at(100_000));
    }

    #[test]
    fn cookies_bind_address_and_time() {
        let secrets = Secrets::new([7; 16], 0);
        let t0 = Instant::from_millis(5_000_000);
        let life = Duration::from_secs(30);
        let cookie = secrets.mint_cookie(addr(1), t0);
        assert!(secrets.cookie_valid(addr(1), &cookie, t0, life));
        assert!(secrets.cookie_valid(addr(1), &cookie, t0 + Duration::from_secs(30), life));
        assert!(!secrets.cookie_valid(addr(1), &cookie, t0 + Duration::from_millis(30_001), life));
        assert!(!secrets.cookie_valid(addr(2), &cookie, t0, life));
        assert!(!Secrets::new([8; 16], 0).cookie_valid(addr(1), &cookie, t0, life));
        let mut forged = cookie;
        forged.0[15] ^= 1;
        assert!(!secrets.cookie_valid(addr(1), &forged, t0, life));
        assert!(!secrets.cookie_valid(addr(1), &Cookie::EMPTY, t0, life));
    }

    #[test]
    fn tokens_are_distinct_and_never_none() {
        let mut secrets = Secrets::new([1; 16], 0);
        let tokens: std::vec::Vec<Token> = (0..1000).map(|_| secrets.mint_token()).collect();
        assert!(tokens.iter().all(|t| !t.is_none()));
        let mut sorted = tokens.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), tokens.len());
        // Another secret, other tokens; the same secret after a restart, other tokens.
        assert_ne!(Secrets::new([2; 16], 0).mint_token(), tokens[0]);
        let mut rebooted = Secrets::new([1; 16], 1);
        assert!((0..1000).all(|_| !tokens.contains(&rebooted.mint_token())));
    }
}
