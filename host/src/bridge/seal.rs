//! Sealed bridges (`docs/BRIDGE.md` section 9): servers started with one fleet key
//! (`serve --fleet-key FILE`) seal everything they publish with a key derived from it, so
//! the broker and whoever reads it see topics and sizes, never names or texts, and cannot
//! forge a message or publish a recorded one again.
//!
//! XChaCha20-Poly1305 under `HMAC-SHA256(fleet key, "minichat bridge v2")`, a random
//! 24-byte nonce per message (many servers seal under one key, with no counter in
//! common), the topic as associated data (a message cannot move to another topic), and
//! inside, before the JSON, a stamp: the sealing server's id, its count of messages
//! sealed, and the time ([`Stamp`]), which `fresh.rs` checks.

use std::cell::Cell;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::HostError;

/// The nonce's length.
const NONCE_LEN: usize = 24;
/// The tag's length.
const TAG_LEN: usize = 16;
/// The stamp's length: three 64-bit numbers, big-endian.
const STAMP_LEN: usize = 24;
/// What the bridge's key is derived with, from the fleet's.
const LABEL: &[u8] = b"minichat bridge v2";

/// Who sealed a message, its number among what that server sealed, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// The sealing server's id (`docs/BRIDGE.md` section 1), as a number.
    pub(crate) from: u64,
    /// 1 for the first message it sealed, each next one more.
    pub(crate) n: u64,
    /// Milliseconds since the Unix epoch, on its clock.
    pub(crate) time_ms: u64,
}

/// The fleet's bridge key, and this server's count of messages sealed.
pub(crate) struct BridgeSeal {
    cipher: XChaCha20Poly1305,
    server: u64,
    sealed: Cell<u64>,
}

impl std::fmt::Debug for BridgeSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeSeal").field("server", &self.server).finish_non_exhaustive() // never the key
    }
}

impl BridgeSeal {
    /// The bridge key of the fleet whose key is `fleet_key`, for server `server`.
    pub(crate) fn new(fleet_key: &[u8; 32], server: u64) -> BridgeSeal {
        let key = <Hmac<Sha256> as Mac>::new_from_slice(fleet_key)
            .map(|mac| mac.chain_update(LABEL).finalize().into_bytes())
            .unwrap_or_default();
        BridgeSeal { cipher: XChaCha20Poly1305::new(&key), server, sealed: Cell::new(0) }
    }

    /// The next message's number, taken now (for a message sealed later, or never).
    pub(crate) fn reserve(&self) -> u64 {
        let n = self.sealed.get() + 1;
        self.sealed.set(n);
        n
    }

    /// `payload`, sealed for `topic` with the next number and the time `now_ms`: nonce,
    /// ciphertext (stamp and payload), tag.
    pub(crate) fn seal(
        &self,
        topic: &str,
        payload: &[u8],
        now_ms: u64,
    ) -> Result<Vec<u8>, HostError> {
        let n = self.reserve();
        self.seal_as(topic, payload, n, now_ms)
    }

    /// `payload`, sealed for `topic` as message number `n` (one [`BridgeSeal::reserve`]d).
    pub(crate) fn seal_as(
        &self,
        topic: &str,
        payload: &[u8],
        n: u64,
        now_ms: u64,
    ) -> Result<Vec<u8>, HostError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(HostError::Random)?;
        let mut out = Vec::with_capacity(NONCE_LEN + STAMP_LEN + payload.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        for number in [self.server, n, now_ms] {
            out.extend_from_slice(&number.to_be_bytes());
        }
        out.extend_from_slice(payload);
        let text = out.get_mut(NONCE_LEN..).unwrap_or_default();
        let tag = self
            .cipher
            .encrypt_in_place_detached(XNonce::from_slice(&nonce), topic.as_bytes(), text)
            .map_err(|_| HostError::BridgeSeal { len: payload.len() })?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// What a sealed `message` on `topic` holds, with its stamp, or `None` if it does not
    /// open: sealed with another key, for another topic, altered, or not sealed at all.
    pub(crate) fn open(&self, topic: &str, message: &[u8]) -> Option<(Stamp, Vec<u8>)> {
        let (nonce, rest) = message.split_at_checked(NONCE_LEN)?;
        let (text, tag) = rest.split_at_checked(rest.len().checked_sub(TAG_LEN)?)?;
        let mut plain = text.to_vec();
        self.cipher
            .decrypt_in_place_detached(
                XNonce::from_slice(nonce),
                topic.as_bytes(),
                &mut plain,
                Tag::from_slice(tag),
            )
            .ok()?;
        let number = |at: usize| {
            plain.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)
        };
        let stamp = Stamp { from: number(0)?, n: number(8)?, time_ms: number(16)? };
        let payload = plain.get(STAMP_LEN..)?.to_vec();
        Some((stamp, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_message_opens_only_with_the_same_key_on_the_same_topic_unaltered() {
        let seal = BridgeSeal::new(&[7; 32], 0xabc);
        let json = br#"{"v":1,"server":"a","seq":1,"kind":"say","from":"alice","text":"secret"}"#;
        let sealed = seal.seal("minichat/room/a", json, 1_000).unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(sealed.len(), json.len() + NONCE_LEN + STAMP_LEN + TAG_LEN);
        let stamp = Stamp { from: 0xabc, n: 1, time_ms: 1_000 };
        assert_eq!(seal.open("minichat/room/a", &sealed), Some((stamp, json.to_vec())));
        // Sealed twice, two different messages, numbered one after the other.
        let again = seal.seal("minichat/room/a", json, 1_001).unwrap();
        assert_ne!(again, sealed);
        assert_eq!(seal.open("minichat/room/a", &again).map(|(s, _)| s.n), Some(2));
        assert_eq!(seal.open("minichat/room/b", &sealed), None, "moved to another topic");
        assert_eq!(BridgeSeal::new(&[8; 32], 0xabc).open("minichat/room/a", &sealed), None);
        for at in [0, NONCE_LEN, NONCE_LEN + 9, sealed.len() - 1] {
            let mut altered = sealed.clone();
            altered[at] ^= 1;
            assert_eq!(seal.open("minichat/room/a", &altered), None, "bit flipped at {at}");
        }
        assert_eq!(seal.open("minichat/room/a", json), None, "in the clear");
        assert_eq!(seal.open("minichat/room/a", &sealed[..10]), None);
    }

    #[test]
    fn a_reserved_number_is_sealed_later_and_never_reused() {
        let seal = BridgeSeal::new(&[7; 32], 5);
        let will = seal.reserve();
        let hello = seal.seal("p/hello/5", b"{}", 10).unwrap();
        let gone = seal.seal_as("p/gone/5", b"{}", will, 99).unwrap();
        assert_eq!(seal.open("p/hello/5", &hello).map(|(s, _)| s.n), Some(will + 1));
        assert_eq!(seal.open("p/gone/5", &gone).map(|(s, _)| (s.n, s.time_ms)), Some((will, 99)));
    }
}
