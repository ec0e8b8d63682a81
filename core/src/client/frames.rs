//! The client's frames: the one parser of every frame it reads and the one writer of every
//! frame it sends (each with the client's kind masks, `kind_masks.rs`), and the client as
//! an [`Endpoint`].

use crate::address::PeerAddress;
use crate::client::Client;
use crate::error::WireError;
use crate::kind_masks::{CLIENT_READS, CLIENT_READS_FIXED, CLIENT_WRITES, CLIENT_WRITES_FIXED};
use crate::time::Instant;
use crate::transport::{Endpoint, Transmit};
use crate::wire::{Frame, Message};

impl<
    const UNACKED: usize,
    const EVENTS: usize,
    const EARLY: usize,
    A: PeerAddress,
    const OUTBOX_BYTES: usize,
    const EVENT_BYTES: usize,
> Client<UNACKED, EVENTS, EARLY, A, OUTBOX_BYTES, EVENT_BYTES>
{
    /// Reads a frame from the server: the one parser of every frame a client reads, in the
    /// clear or sealed (each kind mask compiles a parser of its own).
    pub(super) fn read(datagram: &[u8]) -> Result<Message<'_>, WireError> {
        if A::ROAMS {
            Message::decode_only::<CLIENT_READS>(datagram)
        } else {
            Message::decode_only::<CLIENT_READS_FIXED>(datagram)
        }
    }

    /// Writes `message` into `buf` and returns its length: the one writer of every frame
    /// a client sends (each kind mask compiles a writer of its own).
    pub(super) fn write(buf: &mut [u8], message: &Message<'_>) -> Option<usize> {
        let frame = &mut Frame::new_unchecked(buf);
        let len = if A::ROAMS {
            message.emit_only::<CLIENT_WRITES, _>(frame)
        } else {
            message.emit_only::<CLIENT_WRITES_FIXED, _>(frame)
        };
        len.ok()
    }

    /// `message` to the server, written into `buf`.
    pub(super) fn emit(&self, buf: &mut [u8], message: &Message<'_>) -> Option<Transmit<A>> {
        Self::transmit(self.config.server, buf, message)
    }

    /// `message` to `server`, written into `buf` (for callers holding part of `self`).
    pub(super) fn transmit(
        server: A,
        buf: &mut [u8],
        message: &Message<'_>,
    ) -> Option<Transmit<A>> {
        let len = Self::write(buf, message)?;
        Some(Transmit { destination: server, len })
    }
}

impl<
    const UNACKED: usize,
    const EVENTS: usize,
    const EARLY: usize,
    A: PeerAddress,
    const OUTBOX_BYTES: usize,
    const EVENT_BYTES: usize,
> Endpoint for Client<UNACKED, EVENTS, EARLY, A, OUTBOX_BYTES, EVENT_BYTES>
{
    type Addr = A;

    fn handle(
        &mut self,
        now: Instant,
        from: A,
        datagram: &[u8],
        _buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        Client::handle(self, now, from, datagram);
        None
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit<A>> {
        Client::poll_transmit(self, now, buf)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Client::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Instant) {
        Client::handle_timeout(self, now);
    }
}
