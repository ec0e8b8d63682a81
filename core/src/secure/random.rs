//! Where ephemeral keys come from: the core has no random source, so the embedding seeds
//! a generator (32 bytes from the operating system, a hardware RNG, ...) and may add to it
//! at any time. ChaCha20 under a key that is replaced after every draw (fast key erasure):
//! whoever reads the state later learns nothing of the keys drawn before.

use crate::secure::symmetric::{Key, TAGLEN, copy, hash, seal};

/// A generator of ephemeral private keys.
#[derive(Clone)]
pub struct KeySource {
    key: Key,
}

impl core::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeySource").finish_non_exhaustive()
    }
}

impl KeySource {
    /// A generator seeded with 32 unpredictable bytes.
    pub fn new(seed: [u8; 32]) -> Self {
        KeySource { key: hash(b"minichat key source", &seed) }
    }

    /// Mixes more unpredictable bytes in.
    pub fn reseed(&mut self, more: &[u8]) {
        self.key = hash(&self.key, more);
    }

    /// 32 fresh bytes, for a private key.
    pub fn next_key(&mut self) -> [u8; 32] {
        // 64 bytes of keystream (the AEAD over zeros, nonce 0): the first half replaces
        // the key, the second is the output.
        let mut block = [0u8; 64 + TAGLEN];
        let _ = seal(&self.key, 0, &[], &mut block, 64);
        let (next, out) = block.split_at(32);
        copy(&mut self.key, next);
        let mut key = [0u8; 32];
        copy(&mut key, out);
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_differ_and_depend_on_the_seed() {
        let mut a = KeySource::new([1; 32]);
        let mut b = KeySource::new([1; 32]);
        let first = a.next_key();
        assert_eq!(first, b.next_key(), "the same seed, the same keys");
        assert_ne!(first, a.next_key());
        let mut c = KeySource::new([2; 32]);
        assert_ne!(first, c.next_key());
        b.reseed(b"more");
        assert_ne!(a.next_key(), b.next_key());
    }
}
