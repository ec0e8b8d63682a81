//! Moving datagrams: a non-blocking datagram trait in embedded-nal's shape, the
//! [`Endpoint`] shape shared by server and client, and a [`Driver`] that turns one over
//! the other.
//!
//! Adapters: `std::net::UdpSocket` with the `std` feature, smoltcp's UDP socket with the
//! `smoltcp` feature (and `SmoltcpStack`, an interface and its socket turned in one call), any HAL's UART with the `embedded-hal-nb` feature (`UartLink`).
//! Anything else (a radio, a test harness) implements [`Datagram`].

use core::net::SocketAddr;

use crate::address::PeerAddress;
use crate::error::TransportError;
use crate::kind_masks::{SERVER_WRITES, SERVER_WRITES_FIXED};
use crate::time::Instant;
use crate::wire::limits::MAX_FRAME;
use crate::wire::{Frame, Message, is_frame};

#[cfg(feature = "smoltcp")]
pub use crate::smoltcp_stack::{SmoltcpStack, StackMemory, UdpBuffers};
#[cfg(feature = "embedded-hal-nb")]
pub use crate::uart_link::UartLink;

/// A datagram the state machine wants sent: `len` bytes at the start of the buffer it was
/// given, to `destination`.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit<A = SocketAddr> {
    /// Where to send it.
    pub destination: A,
    /// How many bytes of the buffer to send.
    pub len: usize,
}

impl<A> Transmit<A> {
    /// Writes `message`, one of the kinds in `KINDS` ([`Message::emit_only`]), into `buf`
    /// as a transmit to `to`; `None` if it does not fit (which a buffer of [`MAX_FRAME`]
    /// bytes rules out). Server and client send every frame through here, each with the
    /// kinds it sends, so neither carries the other's writers.
    pub(crate) fn encode<const KINDS: u64>(
        buf: &mut [u8],
        to: A,
        message: &Message<'_>,
    ) -> Option<Self> {
        let len = message.emit_only::<KINDS, _>(&mut Frame::new_unchecked(buf)).ok()?;
        Some(Transmit { destination: to, len })
    }
}

impl<A: PeerAddress> Transmit<A> {
    /// [`Transmit::encode`] for a server: the kinds servers send to peers at addresses
    /// of type `A`.
    pub(crate) fn to_client(buf: &mut [u8], to: A, message: &Message<'_>) -> Option<Self> {
        if A::ROAMS {
            Self::encode::<SERVER_WRITES>(buf, to, message)
        } else {
            Self::encode::<SERVER_WRITES_FIXED>(buf, to, message)
        }
    }

    /// The bytes `message` takes as [`Transmit::to_client`] writes it: through the same
    /// writers (the same kind mask), so the firmware carries one copy of them.
    pub(crate) fn len_to_client(message: &Message<'_>) -> usize {
        if A::ROAMS {
            message.buffer_len_only::<SERVER_WRITES>()
        } else {
            message.buffer_len_only::<SERVER_WRITES_FIXED>()
        }
    }
}

/// A non-blocking datagram socket (embedded-nal's `UdpFullStack` receive/send shape).
pub trait Datagram {
    /// The adapter's error.
    type Error;
    /// How the socket names its peers.
    type Addr: PeerAddress;

    /// Sends `data` to `remote`, or `WouldBlock` when the socket cannot take it now.
    fn send_to(&mut self, remote: Self::Addr, data: &[u8]) -> nb::Result<(), Self::Error>;

    /// Receives one datagram into `buf`, or `WouldBlock` when none is waiting.
    fn receive(&mut self, buf: &mut [u8]) -> nb::Result<(usize, Self::Addr), Self::Error>;
}

/// The sans-IO shape of [`crate::server::Server`] and [`crate::client::Client`]
/// (quinn-proto's): bytes and time in, bytes out.
pub trait Endpoint {
    /// How the endpoint names its peers.
    type Addr: PeerAddress;

    /// Takes one received datagram. May write an immediate reply into `buf`.
    fn handle(
        &mut self,
        now: Instant,
        from: Self::Addr,
        datagram: &[u8],
        buf: &mut [u8],
    ) -> Option<Transmit<Self::Addr>>;

    /// The next datagram to send, written into `buf`. Call until `None`.
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit<Self::Addr>>;

    /// When [`Endpoint::handle_timeout`] should be called next.
    fn poll_timeout(&self) -> Option<Instant>;

    /// Lets timers fire. Harmless when nothing is due.
    fn handle_timeout(&mut self, now: Instant);
}

/// What one [`Driver::turn`] did.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Turned {
    /// Datagrams received.
    pub received: usize,
    /// Datagrams sent.
    pub sent: usize,
    /// Datagrams the socket would not take (lost here; the protocol resends what matters).
    pub dropped: usize,
    /// Datagrams received that were not frames.
    pub not_frames: usize,
}

/// The most datagrams one turn receives, so a flood cannot starve the timers and sends.
pub const RECEIVE_BUDGET: usize = 64;

/// Turns an [`Endpoint`] over a [`Datagram`] socket: each [`Driver::turn`] is one step of
/// the loop (the name core, host and firmware share). The driver keeps the two frame
/// buffers for as long as it lives, beside the endpoint; the socket and the endpoint are
/// lent to each turn (smoltcp's `iface.poll(now, device, sockets)` is the model).
#[derive(Debug)]
pub struct Driver {
    rx: [u8; MAX_FRAME],
    tx: [u8; MAX_FRAME],
}

impl Default for Driver {
    fn default() -> Self {
        Driver::new()
    }
}

impl Driver {
    /// A driver, with its frame buffers.
    pub const fn new() -> Self {
        Driver { rx: [0; MAX_FRAME], tx: [0; MAX_FRAME] }
    }

    /// One whole turn: fires due timers, receives what is waiting on `socket` (up to
    /// [`RECEIVE_BUDGET`] datagrams), lets the application at `endpoint` (`app`: take its
    /// events, queue what it says), then sends everything the endpoint has to send, what
    /// `app` queued included. Datagrams that are not frames are counted and dropped
    /// ([`Driver::turn_with_foreign`] hands them over).
    pub fn turn<T: Datagram, E: Endpoint<Addr = T::Addr>>(
        &mut self,
        now: Instant,
        socket: &mut T,
        endpoint: &mut E,
        app: impl FnMut(&mut E),
    ) -> Result<Turned, TransportError<T::Error>> {
        self.turn_with_foreign(now, socket, endpoint, app, |_, _, _| {})
    }

    /// [`Driver::turn`], with the datagrams that are not frames handed to `foreign` (the
    /// host shows them as the original programs' plain text).
    pub fn turn_with_foreign<T: Datagram, E: Endpoint<Addr = T::Addr>>(
        &mut self,
        now: Instant,
        socket: &mut T,
        endpoint: &mut E,
        mut app: impl FnMut(&mut E),
        mut foreign: impl FnMut(&mut T, T::Addr, &[u8]),
    ) -> Result<Turned, TransportError<T::Error>> {
        let mut turned = Turned::default();
        if endpoint.poll_timeout().is_some_and(|at| at <= now) {
            endpoint.handle_timeout(now);
        }
        while turned.received < RECEIVE_BUDGET {
            let (len, from) = match socket.receive(&mut self.rx) {
                Ok(received) => received,
                Err(nb::Error::WouldBlock) => break,
                Err(nb::Error::Other(error)) => return Err(TransportError::Receive(error)),
            };
            turned.received += 1;
            let datagram = self.rx.get(..len).unwrap_or_default();
            if !is_frame(datagram) {
                turned.not_frames += 1;
                foreign(socket, from, datagram);
                continue;
            }
            if let Some(reply) = endpoint.handle(now, from, datagram, &mut self.tx) {
                send(socket, &self.tx, reply, &mut turned)?;
            }
        }
        app(endpoint);
        while let Some(transmit) = endpoint.poll_transmit(now, &mut self.tx) {
            send(socket, &self.tx, transmit, &mut turned)?;
        }
        Ok(turned)
    }
}

/// Sends `transmit`'s bytes of `buf` on `socket`, counted in `turned`.
fn send<T: Datagram>(
    socket: &mut T,
    buf: &[u8],
    transmit: Transmit<T::Addr>,
    turned: &mut Turned,
) -> Result<(), TransportError<T::Error>> {
    let data = buf.get(..transmit.len).unwrap_or_default();
    match socket.send_to(transmit.destination, data) {
        Ok(()) => turned.sent += 1,
        Err(nb::Error::WouldBlock) => turned.dropped += 1,
        Err(nb::Error::Other(error)) => return Err(TransportError::Send(error)),
    }
    Ok(())
}

/// `std::net::UdpSocket` as a [`Datagram`]. Set it non-blocking first
/// (`set_nonblocking(true)`), or every call blocks.
#[cfg(feature = "std")]
impl Datagram for std::net::UdpSocket {
    type Error = std::io::Error;
    type Addr = SocketAddr;

    fn send_to(&mut self, remote: SocketAddr, data: &[u8]) -> nb::Result<(), std::io::Error> {
        std::net::UdpSocket::send_to(self, data, remote).map(|_| ()).map_err(io_to_nb)
    }

    fn receive(&mut self, buf: &mut [u8]) -> nb::Result<(usize, SocketAddr), std::io::Error> {
        std::net::UdpSocket::recv_from(self, buf).map_err(io_to_nb)
    }
}

#[cfg(feature = "std")]
fn io_to_nb(error: std::io::Error) -> nb::Error<std::io::Error> {
    match error.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted => nb::Error::WouldBlock,
        _ => nb::Error::Other(error),
    }
}

/// A smoltcp UDP socket as a [`Datagram`], borrowed from its `SocketSet` for one turn.
/// smoltcp's interface must be polled separately to move the packets.
#[cfg(feature = "smoltcp")]
#[derive(Debug)]
pub struct SmoltcpUdp<'s, 'b>(pub &'s mut smoltcp::socket::udp::Socket<'b>);

/// Why a smoltcp UDP socket refused a datagram.
#[cfg(feature = "smoltcp")]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmoltcpError {
    /// smoltcp cannot address the destination (unspecified address or port 0).
    #[error("smoltcp cannot send to that address")]
    Unaddressable,
}

#[cfg(feature = "smoltcp")]
impl Datagram for SmoltcpUdp<'_, '_> {
    type Error = SmoltcpError;
    type Addr = SocketAddr;

    fn send_to(&mut self, remote: SocketAddr, data: &[u8]) -> nb::Result<(), SmoltcpError> {
        use smoltcp::socket::udp::SendError;
        let endpoint = smoltcp::wire::IpEndpoint::from(remote);
        match self.0.send_slice(data, endpoint) {
            Ok(()) => Ok(()),
            Err(SendError::BufferFull) => Err(nb::Error::WouldBlock),
            Err(SendError::Unaddressable) => Err(nb::Error::Other(SmoltcpError::Unaddressable)),
        }
    }

    fn receive(&mut self, buf: &mut [u8]) -> nb::Result<(usize, SocketAddr), SmoltcpError> {
        loop {
            match self.0.recv_slice(buf) {
                Ok((len, meta)) => return Ok((len, SocketAddr::from(meta.endpoint))),
                // Larger than any frame: not ours; it was dropped, look at the next.
                Err(smoltcp::socket::udp::RecvError::Truncated) => continue,
                Err(smoltcp::socket::udp::RecvError::Exhausted) => {
                    return Err(nb::Error::WouldBlock);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Datagram, Driver, Endpoint, Transmit};
    use crate::address::PointToPoint;
    use crate::time::Instant;

    /// A link that delivers `incoming` once and keeps what is sent.
    struct Link {
        incoming: std::vec::Vec<std::vec::Vec<u8>>,
        sent: std::vec::Vec<std::vec::Vec<u8>>,
    }

    impl Datagram for Link {
        type Error = ();
        type Addr = PointToPoint;

        fn send_to(&mut self, _: PointToPoint, data: &[u8]) -> nb::Result<(), ()> {
            self.sent.push(data.to_vec());
            Ok(())
        }

        fn receive(&mut self, buf: &mut [u8]) -> nb::Result<(usize, PointToPoint), ()> {
            let datagram = self.incoming.pop().ok_or(nb::Error::WouldBlock)?;
            buf[..datagram.len()].copy_from_slice(&datagram);
            Ok((datagram.len(), PointToPoint))
        }
    }

    /// An endpoint with one frame to send once the application asked for it.
    #[derive(Default)]
    struct Asked {
        asked: bool,
    }

    impl Endpoint for Asked {
        type Addr = PointToPoint;

        fn handle(
            &mut self,
            _: Instant,
            _: PointToPoint,
            _: &[u8],
            _: &mut [u8],
        ) -> Option<Transmit<PointToPoint>> {
            None
        }

        fn poll_transmit(&mut self, _: Instant, buf: &mut [u8]) -> Option<Transmit<PointToPoint>> {
            if !core::mem::take(&mut self.asked) {
                return None;
            }
            buf[..2].copy_from_slice(b"hi");
            Some(Transmit { destination: PointToPoint, len: 2 })
        }

        fn poll_timeout(&self) -> Option<Instant> {
            None
        }

        fn handle_timeout(&mut self, _: Instant) {}
    }

    /// What the application says in the middle of a turn goes out in that turn, and
    /// datagrams that are not frames are counted and handed over.
    #[test]
    fn a_turn_sends_what_the_application_said_in_it() {
        let mut link = Link { incoming: std::vec![b"plain text".to_vec()], sent: std::vec![] };
        let (mut driver, mut endpoint) = (Driver::new(), Asked::default());
        let mut foreign = 0;
        let turned = driver
            .turn_with_foreign(
                Instant::ZERO,
                &mut link,
                &mut endpoint,
                |endpoint| endpoint.asked = true,
                |_, _, text| foreign += text.len(),
            )
            .unwrap();
        assert_eq!((turned.received, turned.not_frames, turned.sent), (1, 1, 1));
        assert_eq!(foreign, b"plain text".len());
        assert_eq!(link.sent, std::vec![b"hi".to_vec()]);
        // The next turn has nothing to send.
        let turned = driver.turn(Instant::ZERO, &mut link, &mut endpoint, |_| {}).unwrap();
        assert_eq!(turned.sent, 0);
    }
}
