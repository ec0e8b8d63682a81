//! A session's sealed datagrams after the handshake: one key per direction, each message
//! sealed under its own 64-bit nonce that travels with it (datagrams are lost and
//! reordered, so Noise's implicit counter will not do), a window that drops what was
//! received before, and a new key every [`REKEY_INTERVAL`] messages.
//!
//! The key for nonce `n` is the handshake's key rekeyed `n / REKEY_INTERVAL` times (Noise
//! section 4.2's `REKEY`), so both sides agree on it without a message of their own: a
//! copy of an old key is no use after the next rekey (forward secrecy within a session).

use crate::error::SecureError;
use crate::secure::symmetric::{Key, TAGLEN, open, rekey, seal};

/// Messages sealed under one key before the next; the key for nonce `n` is rekeyed
/// `n / REKEY_INTERVAL` times.
pub const REKEY_INTERVAL: u64 = 1 << 16;
/// How far behind the newest nonce received a message may still arrive (and be checked
/// against the ones received).
pub const REPLAY_WINDOW: u64 = 64;
/// What sealing adds to a message: its tag (the nonce travels in the frame's header).
pub const SEAL_OVERHEAD: usize = TAGLEN;

/// How many rekeys ahead a receiver follows a nonce before it authenticates.
const MAX_EPOCHS_AHEAD: u64 = 2;

/// One direction's sending state.
#[derive(Clone)]
struct Sending {
    key: Key,
    /// The epoch `key` is for.
    epoch: u64,
    next: u64,
}

/// The receiving state: the current epoch's key and the one before (for late arrivals),
/// the newest nonce accepted, and which of the [`REPLAY_WINDOW`] before it arrived.
#[derive(Clone)]
struct Receiving {
    key: Key,
    previous: Option<Key>,
    epoch: u64,
    newest: Option<u64>,
    /// Bit `k`: nonce `newest - k` arrived.
    seen: u64,
}

/// A session's transport keys (`Split`'s two CipherStates, with explicit nonces).
#[derive(Clone)]
pub struct Session {
    sending: Sending,
    receiving: Receiving,
    handshake_hash: Key,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never the keys.
        f.debug_struct("Session")
            .field("next_nonce", &self.sending.next)
            .field("newest_received", &self.receiving.newest)
            .finish_non_exhaustive()
    }
}

const fn epoch_of(nonce: u64) -> u64 {
    nonce / REKEY_INTERVAL
}

impl Session {
    pub(crate) const fn new(send: Key, receive: Key, handshake_hash: Key) -> Self {
        Session {
            sending: Sending { key: send, epoch: 0, next: 0 },
            receiving: Receiving { key: receive, previous: None, epoch: 0, newest: None, seen: 0 },
            handshake_hash,
        }
    }

    /// The handshake's transcript hash: the same on both sides, and unique to the session
    /// (for channel binding, and for a key log).
    pub const fn handshake_hash(&self) -> &[u8; 32] {
        &self.handshake_hash
    }

    /// The keys the session began with, sending and receiving, while neither direction
    /// has rekeyed yet: what a key log records.
    pub fn first_keys(&self) -> Option<([u8; 32], [u8; 32])> {
        (self.sending.epoch == 0 && self.receiving.epoch == 0)
            .then_some((self.sending.key, self.receiving.key))
    }

    /// Seals `buf[..len]` in place with `ad` (the frame's clear header, so it cannot be
    /// altered either) and appends the tag: returns the message's nonce, to send with it,
    /// and the sealed length.
    pub fn seal(
        &mut self,
        ad: &[u8],
        buf: &mut [u8],
        len: usize,
    ) -> Result<(u64, usize), SecureError> {
        let nonce = self.sending.next;
        // The last nonce is Noise's reserved 2^64 - 1.
        if nonce == u64::MAX {
            return Err(SecureError::Exhausted);
        }
        while self.sending.epoch < epoch_of(nonce) {
            self.sending.key = rekey(&self.sending.key);
            self.sending.epoch += 1;
        }
        let sealed = seal(&self.sending.key, nonce, ad, buf, len)?;
        self.sending.next = nonce + 1;
        Ok((nonce, sealed))
    }

    /// The nonce the next sealed message gets.
    pub const fn next_nonce(&self) -> u64 {
        self.sending.next
    }

    /// Opens a message sealed under `nonce`, in place (`buf`: its sealed bytes and tag),
    /// with `ad`: returns the plaintext's length. A message seen before, or older than
    /// the window, is [`SecureError::Replayed`]; one that does not authenticate changes
    /// nothing.
    pub fn open(&mut self, nonce: u64, ad: &[u8], buf: &mut [u8]) -> Result<usize, SecureError> {
        if self.already_seen(nonce) {
            return Err(SecureError::Replayed);
        }
        let receiving = &self.receiving;
        let epoch = epoch_of(nonce);
        let key = if epoch == receiving.epoch {
            receiving.key
        } else if epoch + 1 == receiving.epoch {
            receiving.previous.ok_or(SecureError::Replayed)?
        } else if epoch > receiving.epoch && epoch - receiving.epoch <= MAX_EPOCHS_AHEAD {
            let mut key = receiving.key;
            for _ in receiving.epoch..epoch {
                key = rekey(&key);
            }
            key
        } else if epoch > receiving.epoch {
            // Further ahead than any honest peer gets within the window: not worth the
            // rekeys it would cost to try.
            return Err(SecureError::Unauthentic);
        } else {
            return Err(SecureError::Replayed);
        };
        let len = open(&key, nonce, ad, buf)?;
        self.accept(nonce, key);
        Ok(len)
    }

    /// Whether `nonce` was received already, or is too old to tell.
    fn already_seen(&self, nonce: u64) -> bool {
        let Some(newest) = self.receiving.newest else { return false };
        if nonce > newest {
            return false;
        }
        let behind = newest - nonce;
        behind >= REPLAY_WINDOW || self.receiving.seen & (1 << behind) != 0
    }

    /// Records an authentic `nonce`, opened with `key`.
    fn accept(&mut self, nonce: u64, key: Key) {
        let receiving = &mut self.receiving;
        let epoch = epoch_of(nonce);
        if epoch > receiving.epoch {
            // Stepping forward keeps only the key just before this one.
            receiving.previous = if epoch == receiving.epoch + 1 {
                Some(receiving.key)
            } else {
                let mut before = receiving.key;
                for _ in receiving.epoch + 1..epoch {
                    before = rekey(&before);
                }
                Some(before)
            };
            receiving.key = key;
            receiving.epoch = epoch;
        }
        match receiving.newest {
            Some(newest) if nonce <= newest => receiving.seen |= 1 << (newest - nonce),
            Some(newest) => {
                let ahead = nonce - newest;
                receiving.seen =
                    if ahead >= REPLAY_WINDOW { 1 } else { (receiving.seen << ahead) | 1 };
                receiving.newest = Some(nonce);
            }
            None => {
                receiving.seen = 1;
                receiving.newest = Some(nonce);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two ends of one session, as a handshake would leave them.
    fn pair() -> (Session, Session) {
        let (a, b, h) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        (Session::new(a, b, h), Session::new(b, a, h))
    }

    fn sealed(from: &mut Session, text: &[u8]) -> (u64, [u8; 64], usize) {
        let mut buf = [0u8; 64];
        buf[..text.len()].copy_from_slice(text);
        let (nonce, len) = from.seal(b"header", &mut buf, text.len()).unwrap();
        (nonce, buf, len)
    }

    fn opened(
        to: &mut Session,
        (nonce, mut buf, len): (u64, [u8; 64], usize),
    ) -> Result<Vec<u8>, SecureError> {
        let n = to.open(nonce, b"header", &mut buf[..len])?;
        Ok(buf[..n].to_vec())
    }

    use std::vec::Vec;

    #[test]
    fn messages_open_once_in_any_order_within_the_window() {
        let (mut a, mut b) = pair();
        let first = sealed(&mut a, b"one");
        let second = sealed(&mut a, b"two");
        assert_eq!(opened(&mut b, second), Ok(b"two".to_vec()));
        assert_eq!(opened(&mut b, first), Ok(b"one".to_vec()));
        assert_eq!(opened(&mut b, first), Err(SecureError::Replayed));
        assert_eq!(opened(&mut b, second), Err(SecureError::Replayed));
        // Far behind the newest: dropped unopened.
        let old = sealed(&mut a, b"old");
        for _ in 0..REPLAY_WINDOW {
            let later = sealed(&mut a, b"later");
            opened(&mut b, later).unwrap();
        }
        assert_eq!(opened(&mut b, old), Err(SecureError::Replayed));
    }

    #[test]
    fn altered_bytes_header_or_nonce_do_not_open_and_change_nothing() {
        let (mut a, mut b) = pair();
        let (nonce, buf, len) = sealed(&mut a, b"hello");
        for i in 0..len {
            let mut flipped = buf;
            flipped[i] ^= 0x01;
            assert_eq!(opened(&mut b, (nonce, flipped, len)), Err(SecureError::Unauthentic));
        }
        let mut copy = buf;
        assert_eq!(b.open(nonce, b"HEADER", &mut copy[..len]), Err(SecureError::Unauthentic));
        assert_eq!(opened(&mut b, (nonce + 1, buf, len)), Err(SecureError::Unauthentic));
        // The failures did not mark the nonce as seen.
        assert_eq!(opened(&mut b, (nonce, buf, len)), Ok(b"hello".to_vec()));
        // Nor can one direction's message be reflected back to its sender.
        let (nonce, buf, len) = sealed(&mut a, b"to b");
        assert_eq!(opened(&mut a, (nonce, buf, len)), Err(SecureError::Unauthentic));
    }

    #[test]
    fn keys_change_every_rekey_interval_and_late_messages_still_open() {
        let (mut a, mut b) = pair();
        a.sending.next = REKEY_INTERVAL - 2;
        let before = sealed(&mut a, b"before");
        let last = sealed(&mut a, b"last of epoch 0");
        let after = sealed(&mut a, b"first of epoch 1");
        assert_eq!(after.0, REKEY_INTERVAL);
        assert_eq!(a.sending.epoch, 1);
        // The new epoch first, then the late ones of the old epoch.
        assert_eq!(opened(&mut b, after), Ok(b"first of epoch 1".to_vec()));
        assert_eq!(opened(&mut b, last), Ok(b"last of epoch 0".to_vec()));
        assert_eq!(opened(&mut b, before), Ok(b"before".to_vec()));
        // A message sealed under epoch 1's key does not open as epoch 0's: the key for a
        // nonce is fixed by the nonce.
        let (mut c, _) = pair();
        let mut forged = sealed(&mut c, b"x");
        forged.0 = REKEY_INTERVAL + 5;
        assert_eq!(opened(&mut b, forged), Err(SecureError::Unauthentic));
        // Two epochs ahead at once (a long loss) is followed.
        a.sending.next = 3 * REKEY_INTERVAL;
        let jump = sealed(&mut a, b"epoch 3");
        assert_eq!(opened(&mut b, jump), Ok(b"epoch 3".to_vec()));
        assert_eq!(b.receiving.epoch, 3);
    }

    #[test]
    fn the_last_nonce_is_never_used() {
        let (mut a, _) = pair();
        a.sending.next = u64::MAX;
        let mut buf = [0u8; 32];
        assert_eq!(a.seal(&[], &mut buf, 4), Err(SecureError::Exhausted));
    }
}
