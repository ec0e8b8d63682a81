//! Sealed bridges (`docs/BRIDGE.md` section 9): servers started with one fleet key
//! (`serve --fleet-key FILE`) seal everything they publish with a key derived from it, so
//! the broker and whoever reads it see topics and sizes, never names or texts, and cannot
//! forge a post. XChaCha20-Poly1305 under `HMAC-SHA256(fleet key, "minichat bridge v1")`, a
//! random 24-byte nonce per message (many servers seal under one key, with no counter in
//! common), and the topic as associated data (a message cannot move to another topic).

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::HostError;

/// The nonce's length.
const NONCE_LEN: usize = 24;
/// The tag's length.
const TAG_LEN: usize = 16;
/// What the bridge's key is derived with, from the fleet's.
const LABEL: &[u8] = b"minichat bridge v1";

/// The fleet's bridge key.
pub(crate) struct BridgeSeal {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for BridgeSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeSeal").finish_non_exhaustive() // never the key
    }
}

impl BridgeSeal {
    /// The bridge key of the fleet whose key is `fleet_key`.
    pub(crate) fn new(fleet_key: &[u8; 32]) -> BridgeSeal {
        let key = <Hmac<Sha256> as Mac>::new_from_slice(fleet_key)
            .map(|mac| mac.chain_update(LABEL).finalize().into_bytes())
            .unwrap_or_default();
        BridgeSeal { cipher: XChaCha20Poly1305::new(&key) }
    }

    /// `payload`, sealed for `topic`: nonce, ciphertext, tag.
    pub(crate) fn seal(&self, topic: &str, payload: &[u8]) -> Result<Vec<u8>, HostError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(HostError::Random)?;
        let mut text = payload.to_vec();
        let tag = self
            .cipher
            .encrypt_in_place_detached(XNonce::from_slice(&nonce), topic.as_bytes(), &mut text)
            .map_err(|_| HostError::BridgeSeal { len: payload.len() })?;
        let mut out = Vec::with_capacity(NONCE_LEN + text.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&text);
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// What a sealed `message` on `topic` holds, or `None` if it does not open: sealed with
    /// another key, for another topic, altered, or not sealed at all.
    pub(crate) fn open(&self, topic: &str, message: &[u8]) -> Option<Vec<u8>> {
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
        Some(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_message_opens_only_with_the_same_key_on_the_same_topic_unaltered() {
        let seal = BridgeSeal::new(&[7; 32]);
        let json = br#"{"v":1,"server":"a","seq":1,"kind":"say","from":"alice","text":"secret"}"#;
        let sealed = seal.seal("minichat/room/a", json).unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(sealed.len(), json.len() + NONCE_LEN + TAG_LEN);
        assert_eq!(seal.open("minichat/room/a", &sealed).as_deref(), Some(&json[..]));
        // Sealed twice, two different messages (a nonce of its own each).
        assert_ne!(seal.seal("minichat/room/a", json).unwrap(), sealed);
        assert_eq!(seal.open("minichat/room/b", &sealed), None, "moved to another topic");
        assert_eq!(BridgeSeal::new(&[8; 32]).open("minichat/room/a", &sealed), None);
        for at in [0, NONCE_LEN, sealed.len() - 1] {
            let mut altered = sealed.clone();
            altered[at] ^= 1;
            assert_eq!(seal.open("minichat/room/a", &altered), None, "bit flipped at {at}");
        }
        assert_eq!(seal.open("minichat/room/a", json), None, "in the clear");
        assert_eq!(seal.open("minichat/room/a", &sealed[..10]), None);
    }
}
