//! The server's edge without the `secure` feature: every frame is the plain machine's as
//! it comes, and goes out as it is written. `secure.rs` is the same seam with encryption.

use crate::address::PeerAddress;
use crate::server::directory::{ClientKey, Directory};
use crate::server::{Server, ServerMemory};
use crate::time::Instant;
use crate::transport::Transmit;
use crate::wire::Message;

/// The server's side of encryption: never made without the `secure` feature.
#[derive(Debug)]
pub(super) enum Security {}

/// Keys a session would have with the `secure` feature: never made without it.
#[derive(Debug, Clone, Copy)]
pub(super) enum NoKeys {}

/// A session's keys: always `None` here.
pub(super) type SessionKeys = Option<NoKeys>;

/// The client key a session's handshake proved: none, without handshakes.
pub(super) const fn client_key(_keys: &SessionKeys) -> Option<&ClientKey> {
    None
}

/// Room to open a sealed frame in: none needed.
#[derive(Debug)]
pub(super) struct NothingToOpen;

/// Room to open a sealed frame in: none needed.
pub(super) const fn room_to_open() -> NothingToOpen {
    NothingToOpen
}

impl<A: PeerAddress, M: ServerMemory<A>> Server<A, M> {
    /// Frames in: all of them are the plain machine's.
    #[allow(clippy::too_many_arguments, clippy::unused_self)] // the seam `secure.rs` fills
    #[inline(always)]
    pub(super) fn receive<'f, D: Directory + ?Sized>(
        &mut self,
        _now: Instant,
        _from: A,
        message: Message<'f>,
        datagram: &'f [u8],
        _opened: &'f mut NothingToOpen,
        _buf: &mut [u8],
        _directory: &D,
    ) -> Result<(Message<'f>, &'f [u8]), Option<Transmit<A>>> {
        Ok((message, datagram))
    }

    /// Frames out: as they are.
    #[allow(clippy::unused_self)] // the seam `secure.rs` fills
    #[inline(always)]
    pub(super) fn seal(
        &self,
        transmit: Option<Transmit<A>>,
        _buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        transmit
    }

    /// Whether a plain join is refused: never, here (the server has no identity).
    pub(super) const fn requires_encryption(&self) -> bool {
        self.security.is_some()
    }
}
