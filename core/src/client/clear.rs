//! The client's edge without the `secure` feature: every frame from the server is the
//! plain machine's as it comes, and every frame goes out as it is written. `secure.rs` is
//! the same seam with encryption.

use crate::address::PeerAddress;
use crate::client::Client;
use crate::time::Instant;
use crate::transport::Transmit;
use crate::wire::{Cookie, Message, Token};

/// The client's side of encryption: never made without the `secure` feature.
#[derive(Debug)]
pub(super) enum Security {}

impl<
    const UNACKED: usize,
    const EVENTS: usize,
    const EARLY: usize,
    A: PeerAddress,
    const OUTBOX_BYTES: usize,
    const EVENT_BYTES: usize,
> Client<UNACKED, EVENTS, EARLY, A, OUTBOX_BYTES, EVENT_BYTES>
{
    /// Frames in: all of them are the plain machine's.
    pub(super) fn receive(&mut self, now: Instant, message: Message<'_>, _datagram: &[u8]) {
        self.take(now, message);
    }

    /// A session's frames out: as they are.
    pub(super) fn send(
        &mut self,
        now: Instant,
        token: Token,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        self.session_transmit(now, token, buf)
    }

    /// The cookie a join carries: the server's.
    pub(super) const fn cookie_in_join(&self, cookie: Cookie) -> Cookie {
        cookie
    }

    /// Joins out: in the clear.
    pub(super) fn send_join(
        &mut self,
        _cookie: Cookie,
        join: &Message<'_>,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        self.emit(buf, join)
    }

    /// Whether joins wait for the application (to trust a server's key): never, here.
    pub(super) const fn join_held(&self) -> bool {
        self.security.is_some()
    }

    /// The session is gone: it had no keys.
    pub(super) fn forget_keys(&mut self) {
        self.security = None;
    }
}
