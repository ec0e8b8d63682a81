//! Encrypted, authenticated sessions (the `secure` feature, issue 13): the Noise handshake
//! a join will carry, and the sealed datagrams that follow it.
//!
//! - `symmetric.rs`: Noise's hash, HKDF, `CipherState` and `SymmetricState` for
//!   `25519_ChaChaPoly_SHA256` (X25519, ChaCha20-Poly1305, SHA-256: all 32-bit friendly,
//!   and SHA-256 the smallest of Noise's hashes on a microcontroller);
//! - `handshake.rs`: the `NK` and `NKpsk0` handshakes, client ([`Initiator`]) and server
//!   ([`Responder`]) sides, and key fingerprints;
//! - `handshake_ik.rs`: the `IK` and `IKpsk1` handshakes, in which the client proves a
//!   static key of its own ([`IkInitiator`], [`IkResponder`]): the building block of
//!   users' and devices' keys (issue 27), not yet carried by the protocol;
//! - `transport.rs`: a [`Session`]'s sealed datagrams: explicit nonces, a replay window,
//!   rekeying;
//! - `sealed_frame.rs`: the `sealed` frame's clear part and body, as both sides seal it;
//! - `key_log.rs`: a session's keys as a key log line ([`KeyLogEntry`]), for debugging;
//! - `random.rs`: the [`KeySource`] ephemeral keys come from, seeded by the embedding.
//!
//! Tested against the published Noise test vectors (cacophony's, for all four patterns). No
//! allocation, no randomness of its own: the embedding seeds the [`KeySource`] that gives
//! every ephemeral key.

mod handshake;
mod handshake_ik;
mod key_log;
mod random;
mod sealed_frame;
#[cfg(test)]
mod spec;
mod symmetric;
mod transport;
#[cfg(test)]
mod vectors;

pub use handshake::{
    HANDSHAKE_OVERHEAD, Initiator, KEY_LEN, Keypair, Pattern, Responder, fingerprint,
};
pub use handshake_ik::{IK_FIRST_OVERHEAD, IkInitiator, IkPattern, IkResponder};
pub use key_log::{KEY_LOG_LABEL, KeyLogEntry};
pub use random::KeySource;
pub(crate) use sealed_frame::{SEALED_HEADER, seal_behind_header, seal_frame};
pub use transport::{REKEY_INTERVAL, REPLAY_WINDOW, SEAL_OVERHEAD, Session};

/// The prologue of every minichat handshake (`docs/PROTOCOL.md`, section 12): it binds the
/// handshake to this protocol and version.
pub const PROLOGUE: &[u8] = b"minichat/2";
