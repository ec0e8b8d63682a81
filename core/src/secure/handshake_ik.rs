//! The handshake in which the client proves a static key of its own too (Noise revision
//! 34, section 7.5), for sessions whose users and devices have keys (issue 27):
//!
//! ```text
//! IK:                     IKpsk1:
//!   <- s                    <- s
//!   ...                     ...
//!   -> e, es, s, ss         -> e, es, s, ss, psk
//!   <- e, ee, se            <- e, ee, se
//! ```
//!
//! One round trip, like `NK` ([`crate::secure::Initiator`]): the client knows the
//! server's key, and its first message carries its own static key, sealed under `es`, and
//! its payload (the join) sealed under `ss` too, so the server knows who is asking before
//! it answers. `IKpsk1` mixes a fleet's key in after `ss`. (`XK` would hide the client's
//! key even from someone who later holds the server's private key, at the cost of a third
//! message and a server that keeps state for half-open handshakes; a chat shows each
//! user's fingerprint to the others anyway.) Checked against cacophony's published
//! vectors for both patterns (`vectors.rs`).

use crate::error::SecureError;
use crate::secure::handshake::{
    KEY_LEN, Keypair, dh, ephemeral_and_rest, mix_ephemeral, open_answer, place, seal_answer, start,
};
use crate::secure::symmetric::{SymmetricState, TAGLEN, copy};
use crate::secure::transport::Session;

/// What the first `IK` message adds to its payload: the client's ephemeral key, its static
/// key sealed (the key and a tag), and the payload's tag.
pub const IK_FIRST_OVERHEAD: usize = KEY_LEN + STATIC_SEALED + TAGLEN;

/// The client's static key as the first message carries it: sealed, with its tag.
const STATIC_SEALED: usize = KEY_LEN + TAGLEN;

/// Which handshake with a client key: the keys alone, or with a fleet's pre-shared key too.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IkPattern {
    /// `Noise_IK_25519_ChaChaPoly_SHA256`.
    Ik,
    /// `Noise_IKpsk1_25519_ChaChaPoly_SHA256`, with this pre-shared key.
    IkPsk1([u8; KEY_LEN]),
}

impl IkPattern {
    /// The Noise protocol name.
    pub const fn protocol_name(&self) -> &'static str {
        match self {
            IkPattern::Ik => "Noise_IK_25519_ChaChaPoly_SHA256",
            IkPattern::IkPsk1(_) => "Noise_IKpsk1_25519_ChaChaPoly_SHA256",
        }
    }

    const fn psk(&self) -> Option<&[u8; KEY_LEN]> {
        match self {
            IkPattern::Ik => None,
            IkPattern::IkPsk1(psk) => Some(psk),
        }
    }

    /// The `e` token ([`mix_ephemeral`] with this pattern's pre-shared key, if any).
    fn mix_ephemeral(&self, state: &mut SymmetricState, public: &[u8; KEY_LEN]) {
        mix_ephemeral(state, public, self.psk().is_some());
    }
}

/// The client's side of an `IK` handshake, between its first message and the answer.
#[derive(Debug, Clone)]
pub struct IkInitiator {
    state: SymmetricState,
    ephemeral: Keypair,
    client: Keypair,
}

impl IkInitiator {
    /// Starts a handshake of `client` with the server whose static public key is
    /// `server`, and writes the first message (`e, es, s, ss` and `payload`, sealed) into
    /// `out`: returns the handshake and the message's length. `ephemeral` is 32 fresh
    /// random bytes.
    pub fn start(
        pattern: &IkPattern,
        prologue: &[u8],
        server: &[u8; KEY_LEN],
        client: &Keypair,
        ephemeral: [u8; KEY_LEN],
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<(IkInitiator, usize), SecureError> {
        let mut state = start(pattern.protocol_name(), prologue, server);
        let ephemeral = Keypair::from_private(ephemeral);
        let at = KEY_LEN + STATIC_SEALED;
        place(out, at, payload)?;
        copy(out, ephemeral.public());
        pattern.mix_ephemeral(&mut state, ephemeral.public());
        state.mix_key(&dh(ephemeral.private(), server)?);
        let sealed_static = out.get_mut(KEY_LEN..at).unwrap_or_default();
        copy(sealed_static, client.public());
        state.encrypt_and_hash(sealed_static, KEY_LEN)?;
        state.mix_key(&dh(client.private(), server)?);
        if let Some(psk) = pattern.psk() {
            state.mix_key_and_hash(psk);
        }
        let body = out.get_mut(at..).unwrap_or_default();
        let sealed = state.encrypt_and_hash(body, payload.len())?;
        Ok((IkInitiator { state, ephemeral, client: client.clone() }, at + sealed))
    }

    /// Reads the server's answer (`e, ee, se` and its payload), in place: returns the
    /// session's transport keys and the payload's range in `message`.
    pub fn finish(
        mut self,
        pattern: &IkPattern,
        message: &mut [u8],
    ) -> Result<(Session, core::ops::Range<usize>), SecureError> {
        let (remote, rest) = ephemeral_and_rest(message)?;
        pattern.mix_ephemeral(&mut self.state, &remote);
        self.state.mix_key(&dh(self.ephemeral.private(), &remote)?);
        self.state.mix_key(&dh(self.client.private(), &remote)?);
        open_answer(self.state, rest)
    }
}

/// The server's side of an `IK` handshake, between the client's first message and the
/// answer: it knows the client's static key.
#[derive(Debug, Clone)]
pub struct IkResponder {
    state: SymmetricState,
    remote_ephemeral: [u8; KEY_LEN],
    remote_static: [u8; KEY_LEN],
}

impl IkResponder {
    /// Reads a client's first message in place with the server's key pair `server`:
    /// returns the handshake and the payload's range in `message`. It costs the server
    /// two Diffie-Hellman computations (`es`, `ss`), which is why the cookie comes first.
    pub fn read(
        pattern: &IkPattern,
        prologue: &[u8],
        server: &Keypair,
        message: &mut [u8],
    ) -> Result<(IkResponder, core::ops::Range<usize>), SecureError> {
        let len = message.len();
        if len < IK_FIRST_OVERHEAD {
            return Err(SecureError::TooShort { len, min: IK_FIRST_OVERHEAD });
        }
        let mut state = start(pattern.protocol_name(), prologue, server.public());
        let (remote_ephemeral, rest) = ephemeral_and_rest(message)?;
        let (sealed_static, body) = rest
            .split_at_mut_checked(STATIC_SEALED)
            .ok_or(SecureError::TooShort { len, min: IK_FIRST_OVERHEAD })?;
        pattern.mix_ephemeral(&mut state, &remote_ephemeral);
        state.mix_key(&dh(server.private(), &remote_ephemeral)?);
        state.decrypt_and_hash(sealed_static)?;
        let mut remote_static = [0u8; KEY_LEN];
        copy(&mut remote_static, sealed_static);
        state.mix_key(&dh(server.private(), &remote_static)?);
        if let Some(psk) = pattern.psk() {
            state.mix_key_and_hash(psk);
        }
        let opened = state.decrypt_and_hash(body)?;
        let at = KEY_LEN + STATIC_SEALED;
        Ok((IkResponder { state, remote_ephemeral, remote_static }, at..at + opened))
    }

    /// The client's static public key, authenticated by the first message.
    pub const fn remote_static(&self) -> &[u8; KEY_LEN] {
        &self.remote_static
    }

    /// Writes the answer (`e, ee, se` and `payload`, sealed) into `out`: returns the
    /// session's transport keys and the answer's length. `ephemeral` is 32 fresh random
    /// bytes.
    pub fn answer(
        mut self,
        pattern: &IkPattern,
        ephemeral: [u8; KEY_LEN],
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<(Session, usize), SecureError> {
        let ephemeral = Keypair::from_private(ephemeral);
        place(out, KEY_LEN, payload)?;
        copy(out, ephemeral.public());
        pattern.mix_ephemeral(&mut self.state, ephemeral.public());
        self.state.mix_key(&dh(ephemeral.private(), &self.remote_ephemeral)?);
        self.state.mix_key(&dh(ephemeral.private(), &self.remote_static)?);
        seal_answer(self.state, out, payload.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: [u8; KEY_LEN] = [7; KEY_LEN];

    fn first(client: &Keypair, server: &[u8; KEY_LEN]) -> (IkInitiator, [u8; 160], usize) {
        let mut out = [0u8; 160];
        let (initiator, len) = IkInitiator::start(
            &IkPattern::Ik,
            b"minichat",
            server,
            client,
            [9; 32],
            b"join",
            &mut out,
        )
        .unwrap();
        (initiator, out, len)
    }

    #[test]
    fn the_server_learns_the_clients_key_and_both_sides_agree() {
        let (server, client) = (Keypair::from_private(SERVER), Keypair::from_private([3; 32]));
        let (initiator, mut message, len) = first(&client, server.public());
        assert_eq!(len, IK_FIRST_OVERHEAD + 4);
        let (responder, range) =
            IkResponder::read(&IkPattern::Ik, b"minichat", &server, &mut message[..len]).unwrap();
        assert_eq!(&message[range], b"join");
        assert_eq!(responder.remote_static(), client.public());
        let mut answer = [0u8; 128];
        let (mut at_server, len) =
            responder.answer(&IkPattern::Ik, [5; 32], b"welcome", &mut answer).unwrap();
        let (mut at_client, range) = initiator.finish(&IkPattern::Ik, &mut answer[..len]).unwrap();
        assert_eq!(&answer[range], b"welcome");
        let mut buf = [0u8; 64];
        buf[..2].copy_from_slice(b"hi");
        let (nonce, sealed) = at_client.seal(&[], &mut buf, 2).unwrap();
        let opened = at_server.open(nonce, &[], &mut buf[..sealed]).unwrap();
        assert_eq!(&buf[..opened], b"hi");
    }

    #[test]
    fn a_message_for_another_server_or_cut_short_does_not_read() {
        let (server, client) = (Keypair::from_private(SERVER), Keypair::from_private([3; 32]));
        let impostor = Keypair::from_private([8; 32]);
        let (_, mut message, len) = first(&client, server.public());
        let read = IkResponder::read(&IkPattern::Ik, b"minichat", &impostor, &mut message[..len]);
        assert_eq!(read.err(), Some(SecureError::Unauthentic));
        let mut short = [0u8; IK_FIRST_OVERHEAD - 1];
        let read = IkResponder::read(&IkPattern::Ik, b"minichat", &server, &mut short);
        assert_eq!(read.err(), Some(SecureError::TooShort { len: 95, min: 96 }));
        let fleet = IkPattern::IkPsk1([1; 32]);
        let (_, mut message, len) = first(&client, server.public());
        let read = IkResponder::read(&fleet, b"minichat", &server, &mut message[..len]);
        assert_eq!(read.err(), Some(SecureError::Unauthentic), "the fleet key must match");
    }

    #[test]
    fn an_answer_for_another_client_key_does_not_finish() {
        // An answer made for another client key (its first message in the transcript,
        // its `se`) does not finish for this one.
        let server = Keypair::from_private(SERVER);
        let (alice, mallory) = (Keypair::from_private([3; 32]), Keypair::from_private([4; 32]));
        let (_, mut to_server, len) = first(&mallory, server.public());
        let (responder, _) =
            IkResponder::read(&IkPattern::Ik, b"minichat", &server, &mut to_server[..len]).unwrap();
        let mut answer = [0u8; 128];
        let (_, len) = responder.answer(&IkPattern::Ik, [5; 32], b"welcome", &mut answer).unwrap();
        let (alices, _, _) = first(&alice, server.public());
        let finished = alices.finish(&IkPattern::Ik, &mut answer[..len]);
        assert_eq!(finished.err(), Some(SecureError::Unauthentic));
    }
}
