//! The two handshakes of a minichat session (Noise revision 34, section 7):
//!
//! ```text
//! NK:                 NKpsk0:
//!   <- s                <- s
//!   ...                 ...
//!   -> e, es            -> psk, e, es
//!   <- e, ee            <- e, ee
//! ```
//!
//! The client (initiator) knows the server's static public key; the client is anonymous to
//! the transport. `NKpsk0` adds a key the whole fleet shares, for firmware provisioned
//! with one: only holders of it can even start a session. Both messages carry an encrypted
//! payload (the join's fields, the welcome's). No allocation: each step writes into the
//! caller's buffer.

use x25519_dalek::{X25519_BASEPOINT_BYTES, x25519};

use crate::error::SecureError;
use crate::secure::symmetric::{HASHLEN, Key, SymmetricState, TAGLEN, copy};
use crate::secure::transport::Session;

/// The length of a public key (and of a private one).
pub const KEY_LEN: usize = 32;
/// What a handshake message adds to its payload: an ephemeral key and a tag.
pub const HANDSHAKE_OVERHEAD: usize = KEY_LEN + TAGLEN;

/// Which handshake: the server's key alone, or with a pre-shared fleet key too.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// `Noise_NK_25519_ChaChaPoly_SHA256`.
    Nk,
    /// `Noise_NKpsk0_25519_ChaChaPoly_SHA256`, with this pre-shared key.
    NkPsk0([u8; KEY_LEN]),
}

impl Pattern {
    /// The Noise protocol name.
    pub const fn protocol_name(&self) -> &'static str {
        match self {
            Pattern::Nk => "Noise_NK_25519_ChaChaPoly_SHA256",
            Pattern::NkPsk0(_) => "Noise_NKpsk0_25519_ChaChaPoly_SHA256",
        }
    }

    const fn psk(&self) -> Option<&[u8; KEY_LEN]> {
        match self {
            Pattern::Nk => None,
            Pattern::NkPsk0(psk) => Some(psk),
        }
    }
}

/// A static key pair: the server's identity.
#[derive(Clone)]
pub struct Keypair {
    private: [u8; KEY_LEN],
    public: [u8; KEY_LEN],
}

impl core::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never the private key.
        f.debug_struct("Keypair").field("public", &self.public).finish_non_exhaustive()
    }
}

impl Keypair {
    /// The key pair whose private key is `private` (32 random bytes; X25519 clamps them).
    pub fn from_private(private: [u8; KEY_LEN]) -> Self {
        Keypair { public: x25519(private, X25519_BASEPOINT_BYTES), private }
    }

    /// The public key.
    pub const fn public(&self) -> &[u8; KEY_LEN] {
        &self.public
    }

    /// The private key, to store it.
    pub const fn private(&self) -> &[u8; KEY_LEN] {
        &self.private
    }
}

/// `DH(private, public)`, refusing a result of all zeros (a peer's point of low order).
pub(super) fn dh(private: &[u8; KEY_LEN], public: &[u8; KEY_LEN]) -> Result<Key, SecureError> {
    let shared = x25519(*private, *public);
    if shared.iter().all(|&b| b == 0) {
        return Err(SecureError::WeakKey);
    }
    Ok(shared)
}

/// The handshake's common start: the protocol name, the prologue, and the server's
/// static key (the pre-message of NK and IK alike).
pub(super) fn start(name: &str, prologue: &[u8], server: &[u8; KEY_LEN]) -> SymmetricState {
    let mut state = SymmetricState::new(name.as_bytes());
    state.mix_hash(prologue);
    state.mix_hash(server);
    state
}

/// The `e` token, written or read: the ephemeral key goes into the transcript, and with
/// a pre-shared key into the chaining key too (Noise section 9.2).
pub(super) fn mix_ephemeral(state: &mut SymmetricState, public: &[u8; KEY_LEN], psk: bool) {
    state.mix_hash(public);
    if psk {
        state.mix_key(public);
    }
}

/// Copies `payload` to `out` after `at` bytes, checking room for it and its tag.
pub(super) fn place(out: &mut [u8], at: usize, payload: &[u8]) -> Result<(), SecureError> {
    let needed = at + payload.len() + TAGLEN;
    let available = out.len();
    let room = out
        .get_mut(at..at + payload.len())
        .filter(|_| needed <= available)
        .ok_or(SecureError::BufferTooSmall { needed, available })?;
    copy(room, payload);
    Ok(())
}

/// Splits a handshake message into its ephemeral key and its sealed payload.
pub(super) fn ephemeral_and_rest(
    message: &mut [u8],
) -> Result<([u8; KEY_LEN], &mut [u8]), SecureError> {
    let len = message.len();
    if len < HANDSHAKE_OVERHEAD {
        return Err(SecureError::TooShort { len, min: HANDSHAKE_OVERHEAD });
    }
    let (key, rest) =
        message.split_at_mut_checked(KEY_LEN).ok_or(SecureError::TooShort { len, min: KEY_LEN })?;
    let mut e = [0u8; KEY_LEN];
    copy(&mut e, key);
    Ok((e, rest))
}

/// The client's side, between its first message and the server's answer.
#[derive(Debug, Clone)]
pub struct Initiator {
    state: SymmetricState,
    ephemeral: Keypair,
}

impl Initiator {
    /// Starts a handshake with the server whose static public key is `server`, and writes
    /// the first message (`e, es` and `payload`, sealed) into `out`; returns the
    /// handshake and the message's length. `ephemeral` is 32 fresh random bytes: the
    /// core has no random source, the embedding gives it one.
    pub fn start(
        pattern: &Pattern,
        prologue: &[u8],
        server: &[u8; KEY_LEN],
        ephemeral: [u8; KEY_LEN],
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<(Initiator, usize), SecureError> {
        let mut state = start(pattern.protocol_name(), prologue, server);
        let ephemeral = Keypair::from_private(ephemeral);
        place(out, KEY_LEN, payload)?;
        if let Some(psk) = pattern.psk() {
            state.mix_key_and_hash(psk);
        }
        copy(out, ephemeral.public());
        mix_ephemeral(&mut state, ephemeral.public(), pattern.psk().is_some());
        state.mix_key(&dh(ephemeral.private(), server)?);
        let body = out.get_mut(KEY_LEN..).unwrap_or_default();
        let sealed = state.encrypt_and_hash(body, payload.len())?;
        Ok((Initiator { state, ephemeral }, KEY_LEN + sealed))
    }

    /// Reads the server's answer (`e, ee` and its payload), in place: returns the
    /// session's transport keys and the payload's range in `message`.
    pub fn finish(
        mut self,
        pattern: &Pattern,
        message: &mut [u8],
    ) -> Result<(Session, core::ops::Range<usize>), SecureError> {
        let (remote, rest) = ephemeral_and_rest(message)?;
        mix_ephemeral(&mut self.state, &remote, pattern.psk().is_some());
        self.state.mix_key(&dh(self.ephemeral.private(), &remote)?);
        open_answer(self.state, rest)
    }
}

/// The end of reading an answer, in every pattern: its payload opened in place, and the
/// client's transport keys (the payload's range counts from the answer's start).
pub(super) fn open_answer(
    mut state: SymmetricState,
    sealed: &mut [u8],
) -> Result<(Session, core::ops::Range<usize>), SecureError> {
    let len = state.decrypt_and_hash(sealed)?;
    let (send, receive) = state.split();
    let session = Session::new(send, receive, *state.handshake_hash());
    Ok((session, KEY_LEN..KEY_LEN + len))
}

/// The end of writing an answer, in every pattern: `out`'s payload (`len` bytes after
/// the ephemeral key) sealed in place, and the server's transport keys; returns the
/// answer's length.
pub(super) fn seal_answer(
    mut state: SymmetricState,
    out: &mut [u8],
    len: usize,
) -> Result<(Session, usize), SecureError> {
    let body = out.get_mut(KEY_LEN..).unwrap_or_default();
    let sealed = state.encrypt_and_hash(body, len)?;
    let (receive, send) = state.split();
    let session = Session::new(send, receive, *state.handshake_hash());
    Ok((session, KEY_LEN + sealed))
}

/// The server's side, between the client's first message and its answer.
#[derive(Debug, Clone)]
pub struct Responder {
    state: SymmetricState,
    remote: [u8; KEY_LEN],
}

impl Responder {
    /// Reads a client's first message in place with the server's key pair `server`:
    /// returns the handshake and the payload's range in `message`. Anyone can send one;
    /// it costs the server a Diffie-Hellman computation (`es`), which is why the cookie
    /// comes first.
    pub fn read(
        pattern: &Pattern,
        prologue: &[u8],
        server: &Keypair,
        message: &mut [u8],
    ) -> Result<(Responder, core::ops::Range<usize>), SecureError> {
        let mut state = start(pattern.protocol_name(), prologue, server.public());
        let (remote, rest) = ephemeral_and_rest(message)?;
        if let Some(psk) = pattern.psk() {
            state.mix_key_and_hash(psk);
        }
        mix_ephemeral(&mut state, &remote, pattern.psk().is_some());
        state.mix_key(&dh(server.private(), &remote)?);
        let len = state.decrypt_and_hash(rest)?;
        Ok((Responder { state, remote }, KEY_LEN..KEY_LEN + len))
    }

    /// Writes the answer (`e, ee` and `payload`, sealed) into `out`: returns the session's
    /// transport keys and the answer's length. `ephemeral` is 32 fresh random bytes.
    pub fn answer(
        mut self,
        pattern: &Pattern,
        ephemeral: [u8; KEY_LEN],
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<(Session, usize), SecureError> {
        let ephemeral = Keypair::from_private(ephemeral);
        place(out, KEY_LEN, payload)?;
        copy(out, ephemeral.public());
        mix_ephemeral(&mut self.state, ephemeral.public(), pattern.psk().is_some());
        self.state.mix_key(&dh(ephemeral.private(), &self.remote)?);
        seal_answer(self.state, out, payload.len())
    }
}

/// A public key's fingerprint for people: the first 16 bytes of `HASH(key)`, in hex
/// groups of four (`1a2b-3c4d-…`), so that a pinned key can be read aloud and compared.
pub fn fingerprint(public: &[u8; KEY_LEN]) -> heapless::String<39> {
    let digest = crate::secure::symmetric::hash(b"minichat fingerprint", public);
    let mut out = heapless::String::new();
    for (i, byte) in digest.iter().take(HASHLEN / 2).enumerate() {
        if i > 0 && i % 2 == 0 {
            let _ = out.push('-');
        }
        for nibble in [byte >> 4, byte & 0xf] {
            let digit = char::from_digit(u32::from(nibble), 16).unwrap_or('0');
            let _ = out.push(digit);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: [u8; 32] = [7; 32];

    fn first(pattern: &Pattern, server: &[u8; KEY_LEN]) -> (Initiator, [u8; 128], usize) {
        let mut out = [0u8; 128];
        let (initiator, len) =
            Initiator::start(pattern, b"minichat", server, [9; 32], b"join", &mut out).unwrap();
        (initiator, out, len)
    }

    #[test]
    fn only_the_server_holding_the_key_reads_the_first_message() {
        let server = Keypair::from_private(SERVER);
        let impostor = Keypair::from_private([8; 32]);
        let (_, mut message, len) = first(&Pattern::Nk, server.public());
        let mut copy = message;
        let read = Responder::read(&Pattern::Nk, b"minichat", &impostor, &mut copy[..len]);
        assert_eq!(read.err(), Some(SecureError::Unauthentic));
        // Another prologue (another protocol version, say) does not read either.
        let mut copy = message;
        let read = Responder::read(&Pattern::Nk, b"other", &server, &mut copy[..len]);
        assert_eq!(read.err(), Some(SecureError::Unauthentic));
        let (_, range) =
            Responder::read(&Pattern::Nk, b"minichat", &server, &mut message[..len]).unwrap();
        assert_eq!(&message[range], b"join");
    }

    #[test]
    fn a_client_pinned_to_another_key_rejects_the_answer() {
        // A man in the middle with its own key answers a client that expects the real
        // server's: the answer does not authenticate.
        let real = Keypair::from_private(SERVER);
        let middle = Keypair::from_private([8; 32]);
        let (initiator, _, _) = first(&Pattern::Nk, real.public());
        let (_, mut to_middle, len) = first(&Pattern::Nk, middle.public());
        let (responder, _) =
            Responder::read(&Pattern::Nk, b"minichat", &middle, &mut to_middle[..len]).unwrap();
        let mut answer = [0u8; 128];
        let (_, len) = responder.answer(&Pattern::Nk, [5; 32], b"welcome", &mut answer).unwrap();
        let finished = initiator.finish(&Pattern::Nk, &mut answer[..len]);
        assert_eq!(finished.err(), Some(SecureError::Unauthentic));
    }

    #[test]
    fn the_fleet_key_must_match() {
        let server = Keypair::from_private(SERVER);
        let (_, mut message, len) = first(&Pattern::NkPsk0([1; 32]), server.public());
        let read =
            Responder::read(&Pattern::NkPsk0([2; 32]), b"minichat", &server, &mut message[..len]);
        assert_eq!(read.err(), Some(SecureError::Unauthentic));
    }

    #[test]
    fn a_key_of_low_order_is_refused_and_short_messages_are_too() {
        let server = Keypair::from_private(SERVER);
        let mut message = [0u8; HANDSHAKE_OVERHEAD];
        let read = Responder::read(&Pattern::Nk, b"minichat", &server, &mut message);
        assert_eq!(read.err(), Some(SecureError::WeakKey));
        let mut short = [0u8; HANDSHAKE_OVERHEAD - 1];
        let read = Responder::read(&Pattern::Nk, b"minichat", &server, &mut short);
        assert_eq!(read.err(), Some(SecureError::TooShort { len: 47, min: 48 }));
        let mut small = [0u8; 40];
        let started =
            Initiator::start(&Pattern::Nk, b"", server.public(), [9; 32], b"join", &mut small);
        assert_eq!(started.err(), Some(SecureError::BufferTooSmall { needed: 52, available: 40 }));
    }

    #[test]
    fn fingerprints_are_sixteen_bytes_in_groups() {
        let print = fingerprint(Keypair::from_private(SERVER).public());
        assert_eq!(print.len(), 39);
        assert_eq!(print.split('-').count(), 8);
        assert!(print.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_ne!(print, fingerprint(Keypair::from_private([8; 32]).public()));
    }
}
