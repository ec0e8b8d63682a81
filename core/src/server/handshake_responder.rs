//! The server's side of a handshake (`secure.rs`), between a hello and its answer: `NK`
//! for a `hello` (the client knows the server's key), `IK` for a `hello-key` (and proves
//! its own; feature `client-keys`).

use crate::error::SecureError;
#[cfg(feature = "client-keys")]
use crate::secure::IkResponder;
use crate::secure::{KEY_LEN, PROLOGUE, Responder, Session};
use crate::server::ServerIdentity;
use crate::server::directory::ClientKey;

/// The server's side of a handshake, between the hello and the answer.
pub(super) enum Responding {
    /// `NK` (a `hello`): the client knows the server's key.
    Nk(Responder),
    /// `IK` (a `hello-key`): and proves its own.
    #[cfg(feature = "client-keys")]
    Ik(IkResponder),
}

impl Responding {
    /// Reads the first handshake message (in place, in `message`) of a `hello`, or of a
    /// `hello-key` if `keyed`: the handshake, and the payload's range in `message`.
    pub(super) fn read(
        identity: &ServerIdentity,
        keyed: bool,
        message: &mut [u8],
    ) -> Result<(Responding, core::ops::Range<usize>), SecureError> {
        let keypair = &identity.keypair;
        #[cfg(feature = "client-keys")]
        if keyed {
            let (responder, range) =
                IkResponder::read(&identity.ik_pattern(), PROLOGUE, keypair, message)?;
            return Ok((Responding::Ik(responder), range));
        }
        #[cfg(not(feature = "client-keys"))]
        let _ = keyed; // never: a build without client keys reads no hello-key
        let (responder, range) = Responder::read(&identity.pattern(), PROLOGUE, keypair, message)?;
        Ok((Responding::Nk(responder), range))
    }

    /// The client's key, if the handshake proved one.
    pub(super) const fn client_key(&self) -> Option<&ClientKey> {
        match self {
            Responding::Nk(_) => None,
            #[cfg(feature = "client-keys")]
            Responding::Ik(responder) => Some(responder.remote_static()),
        }
    }

    /// Writes the answer (its payload, `payload`) into `out`: the session's keys and the
    /// answer's length.
    pub(super) fn answer(
        self,
        identity: &ServerIdentity,
        ephemeral: [u8; KEY_LEN],
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<(Session, usize), SecureError> {
        match self {
            Responding::Nk(responder) => {
                responder.answer(&identity.pattern(), ephemeral, payload, out)
            }
            #[cfg(feature = "client-keys")]
            Responding::Ik(responder) => {
                responder.answer(&identity.ik_pattern(), ephemeral, payload, out)
            }
        }
    }
}
