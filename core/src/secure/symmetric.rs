//! Noise's symmetric layer (revision 34, sections 4 and 5.1–5.2) for
//! `25519_ChaChaPoly_SHA256`: `HASH` and `HKDF` on SHA-256, the `CipherState` that seals
//! with ChaCha20-Poly1305 under a counter nonce, and the `SymmetricState` a handshake mixes
//! its keys and transcript into.

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
use hmac::{Mac, SimpleHmac};
use sha2::Sha256;
use sha2::digest::Digest;

use crate::error::SecureError;

/// `HASHLEN` of SHA-256, and the size of every key.
pub(crate) const HASHLEN: usize = 32;
/// The AEAD's tag.
pub(crate) const TAGLEN: usize = 16;

/// A 32-byte key or hash.
pub(crate) type Key = [u8; HASHLEN];

/// `HASH(a || b)`.
pub(crate) fn hash(a: &[u8], b: &[u8]) -> Key {
    let mut hasher = Sha256::new();
    hasher.update(a);
    hasher.update(b);
    hasher.finalize().into()
}

/// `HMAC-HASH(key, a || b)`.
fn hmac(key: &[u8], a: &[u8], b: &[u8]) -> Key {
    // SimpleHmac takes a key of any length, so this never fails; the fallback is unreachable.
    let Ok(mut mac) = <SimpleHmac<Sha256> as Mac>::new_from_slice(key) else {
        return [0; HASHLEN];
    };
    mac.update(a);
    mac.update(b);
    mac.finalize().into_bytes().into()
}

/// `HKDF(chaining_key, input_key_material)` with three outputs (callers take the first two
/// or all three).
pub(crate) fn hkdf(chaining_key: &Key, ikm: &[u8]) -> (Key, Key, Key) {
    let temp = hmac(chaining_key, ikm, &[]);
    let one = hmac(&temp, &[1], &[]);
    let two = hmac(&temp, &one, &[2]);
    let three = hmac(&temp, &two, &[3]);
    (one, two, three)
}

/// ChaCha20-Poly1305 nonce for counter `n`: 32 zero bits, then `n` little-endian.
fn nonce(n: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    copy(bytes.get_mut(4..).unwrap_or_default(), &n.to_le_bytes());
    Nonce::from(bytes)
}

/// Copies what fits of `from` into `to`: a `zip`, so no length check can panic.
pub(crate) fn copy(to: &mut [u8], from: &[u8]) {
    to.iter_mut().zip(from).for_each(|(d, s)| *d = *s);
}

/// Seals `buf[..len]` in place under `key` and nonce `n`, with `ad`, and appends the tag:
/// returns the sealed length.
pub(crate) fn seal(
    key: &Key,
    n: u64,
    ad: &[u8],
    buf: &mut [u8],
    len: usize,
) -> Result<usize, SecureError> {
    let needed = len + TAGLEN;
    let available = buf.len();
    let (text, rest) =
        buf.split_at_mut_checked(len).ok_or(SecureError::BufferTooSmall { needed, available })?;
    let tag_at = rest.get_mut(..TAGLEN).ok_or(SecureError::BufferTooSmall { needed, available })?;
    let cipher = ChaCha20Poly1305::new(key.into());
    let tag = cipher
        .encrypt_in_place_detached(&nonce(n), ad, text)
        .map_err(|_| SecureError::Exhausted)?;
    copy(tag_at, &tag);
    Ok(needed)
}

/// Opens `buf` (text and tag) in place under `key` and nonce `n`, with `ad`: returns the
/// plaintext's length.
pub(crate) fn open(key: &Key, n: u64, ad: &[u8], buf: &mut [u8]) -> Result<usize, SecureError> {
    let len = buf.len();
    let text_len = len.checked_sub(TAGLEN).ok_or(SecureError::TooShort { len, min: TAGLEN })?;
    let (text, tag) =
        buf.split_at_mut_checked(text_len).ok_or(SecureError::TooShort { len, min: TAGLEN })?;
    let tag: [u8; TAGLEN] = (&*tag).try_into().map_err(|_| SecureError::Unauthentic)?;
    let tag = Tag::from(tag);
    let cipher = ChaCha20Poly1305::new(key.into());
    cipher
        .decrypt_in_place_detached(&nonce(n), ad, text, &tag)
        .map_err(|_| SecureError::Unauthentic)?;
    Ok(text_len)
}

/// A key with its counter nonce (`CipherState`, section 5.1).
#[derive(Clone)]
pub(crate) struct CipherState {
    key: Option<Key>,
    n: u64,
}

impl core::fmt::Debug for CipherState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never the key.
        f.debug_struct("CipherState")
            .field("has_key", &self.key.is_some())
            .field("n", &self.n)
            .finish()
    }
}

impl CipherState {
    pub(crate) const fn empty() -> Self {
        CipherState { key: None, n: 0 }
    }

    pub(crate) const fn with_key(key: Key) -> Self {
        CipherState { key: Some(key), n: 0 }
    }

    /// `EncryptWithAd`: seals `buf[..len]` in place (or leaves it, before any key).
    pub(crate) fn encrypt(
        &mut self,
        ad: &[u8],
        buf: &mut [u8],
        len: usize,
    ) -> Result<usize, SecureError> {
        let Some(key) = &self.key else { return Ok(len) };
        // 2^64 - 1 is reserved (section 5.1).
        if self.n == u64::MAX {
            return Err(SecureError::Exhausted);
        }
        let sealed = seal(key, self.n, ad, buf, len)?;
        self.n += 1;
        Ok(sealed)
    }

    /// `DecryptWithAd`: opens `buf` in place (or leaves it, before any key).
    pub(crate) fn decrypt(&mut self, ad: &[u8], buf: &mut [u8]) -> Result<usize, SecureError> {
        let Some(key) = &self.key else { return Ok(buf.len()) };
        if self.n == u64::MAX {
            return Err(SecureError::Exhausted);
        }
        let opened = open(key, self.n, ad, buf)?;
        self.n += 1;
        Ok(opened)
    }
}

/// `REKEY(k)` (section 4.2): the first 32 bytes of sealing 32 zero bytes under nonce
/// 2^64 - 1.
pub(crate) fn rekey(key: &Key) -> Key {
    let mut block = [0u8; HASHLEN + TAGLEN];
    // The buffer holds the block and its tag, so this never fails.
    let _ = seal(key, u64::MAX, &[], &mut block, HASHLEN);
    let mut next = [0u8; HASHLEN];
    copy(&mut next, &block);
    next
}

/// The handshake's running key and transcript (`SymmetricState`, section 5.2).
#[derive(Debug, Clone)]
pub(crate) struct SymmetricState {
    ck: Key,
    h: Key,
    cipher: CipherState,
}

impl SymmetricState {
    /// `InitializeSymmetric(protocol_name)`.
    pub(crate) fn new(protocol_name: &[u8]) -> Self {
        let h = if protocol_name.len() <= HASHLEN {
            let mut padded = [0u8; HASHLEN];
            copy(&mut padded, protocol_name);
            padded
        } else {
            hash(protocol_name, &[])
        };
        SymmetricState { ck: h, h, cipher: CipherState::empty() }
    }

    /// `MixKey(ikm)`.
    pub(crate) fn mix_key(&mut self, ikm: &[u8]) {
        let (ck, key, _) = hkdf(&self.ck, ikm);
        self.ck = ck;
        self.cipher = CipherState::with_key(key);
    }

    /// `MixHash(data)`.
    pub(crate) fn mix_hash(&mut self, data: &[u8]) {
        self.h = hash(&self.h, data);
    }

    /// `MixKeyAndHash(ikm)`, for a pre-shared key.
    pub(crate) fn mix_key_and_hash(&mut self, ikm: &[u8]) {
        let (ck, temp_h, key) = hkdf(&self.ck, ikm);
        self.ck = ck;
        self.mix_hash(&temp_h);
        self.cipher = CipherState::with_key(key);
    }

    /// `EncryptAndHash` of `buf[..len]`, in place; returns the sealed length.
    pub(crate) fn encrypt_and_hash(
        &mut self,
        buf: &mut [u8],
        len: usize,
    ) -> Result<usize, SecureError> {
        let h = self.h;
        let sealed = self.cipher.encrypt(&h, buf, len)?;
        self.mix_hash(buf.get(..sealed).unwrap_or_default());
        Ok(sealed)
    }

    /// `DecryptAndHash` of `buf`, in place; returns the plaintext's length.
    pub(crate) fn decrypt_and_hash(&mut self, buf: &mut [u8]) -> Result<usize, SecureError> {
        let (h, sealed) = (self.h, hash(&self.h, buf));
        let opened = self.cipher.decrypt(&h, buf)?;
        self.h = sealed;
        Ok(opened)
    }

    /// The transcript hash so far.
    pub(crate) const fn handshake_hash(&self) -> &Key {
        &self.h
    }

    /// `Split()`: the initiator's sending key and the responder's.
    pub(crate) fn split(&self) -> (Key, Key) {
        let (one, two, _) = hkdf(&self.ck, &[]);
        (one, two)
    }
}
