//! What a client talks to its server over: a connected UDP socket, a TCP connection or a
//! serial line, as one [`Datagram`] for the core's driver. A stream that goes away (the
//! server closed the connection, the board was unplugged) is reported and reopened with
//! back-off; meanwhile nothing is sent, and the core client resends and re-joins by
//! itself once it is back.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use minichat_core::transport::Datagram;
use mio::{Interest, Token};

use crate::error::HostError;
use crate::net::peer::Peer;
use crate::net::reactor::Reactor;
use crate::net::serial::{self, Reopen};
use crate::net::stream_link::{LinkIo, Next, StreamLink};

/// Where the client's server is, and how to reach it.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// Over UDP (the default).
    Udp(SocketAddr),
    /// Over TCP, with the stream framing.
    Tcp(SocketAddr),
    /// Over a serial line, with the stream framing.
    Serial {
        /// The device.
        path: String,
        /// Its speed.
        baud: u32,
    },
}

impl Target {
    /// The server as the client's state machine names it.
    pub(crate) fn peer(&self) -> Peer {
        match self {
            Target::Udp(addr) => Peer::Udp(*addr),
            Target::Tcp(addr) => Peer::Tcp(*addr),
            Target::Serial { path, .. } => Peer::serial(path),
        }
    }
}

/// The socket or stream, registered with the reactor as [`LINK`].
#[derive(Debug)]
pub(crate) enum ClientLink {
    /// A socket connected to the server at this address.
    Udp(UdpSocket, SocketAddr),
    Stream {
        target: Target,
        link: Option<Box<StreamLink<LinkIo>>>,
        reopen: Option<Reopen>,
        /// What the user should hear about the link (lost, back).
        notices: Vec<String>,
    },
}

/// The link's token in the client's reactor.
pub(crate) const LINK: Token = Token(0);

impl ClientLink {
    /// Opens the way to `target` and registers it with `reactor`.
    /// This end's UDP address (unspecified for a stream link, which has none in a capture).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        match self {
            ClientLink::Udp(socket, _) => socket.local_addr().ok(),
            ClientLink::Stream { .. } => None,
        }
        .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub(crate) fn open(target: &Target, reactor: &Reactor) -> Result<ClientLink, HostError> {
        match target {
            Target::Udp(server) => {
                let local: SocketAddr = if server.is_ipv4() {
                    SocketAddr::from(([0, 0, 0, 0], 0))
                } else {
                    SocketAddr::from(([0u16; 8], 0))
                };
                let socket = UdpSocket::bind(local).map_err(|source| HostError::Bind {
                    addr: local,
                    protocol: "udp",
                    source,
                })?;
                // Connected, so the system reports a closed port as "connection refused".
                socket
                    .connect(server)
                    .map_err(|source| HostError::Connect { addr: *server, source })?;
                socket.set_nonblocking(true).map_err(HostError::Poll)?;
                reactor.register_udp(&socket, LINK, Interest::READABLE)?;
                Ok(ClientLink::Udp(socket, *server))
            }
            Target::Tcp(_) | Target::Serial { .. } => {
                let io = open_stream(target, reactor)?;
                Ok(ClientLink::Stream {
                    target: target.clone(),
                    link: Some(new_link(io)),
                    reopen: None,
                    notices: Vec::new(),
                })
            }
        }
    }

    /// Reopens a lost stream when its time has come; flushes what waits to be written.
    pub(crate) fn maintain(&mut self, reactor: &Reactor, now: Instant) {
        let ClientLink::Stream { target, link, reopen, notices } = self else { return };
        if let Some(stream) = link.as_mut()
            && let Err(error) = stream.flush()
        {
            lose(target, link, reopen, notices, &error, now);
        }
        let Some(due) = reopen.as_mut().filter(|r| r.at <= now) else { return };
        match open_stream(target, reactor) {
            Ok(io) => {
                *link = Some(new_link(io));
                *reopen = None;
                notices.push(format!("{} is back", target.peer()));
            }
            Err(_) => {
                due.failed(now);
            }
        }
    }

    /// When a lost stream is due to be reopened.
    pub(crate) fn next_reopen(&self) -> Option<Instant> {
        match self {
            ClientLink::Stream { reopen, .. } => reopen.map(|r| r.at),
            ClientLink::Udp(..) => None,
        }
    }

    /// What happened to the link since the last call.
    pub(crate) fn take_notices(&mut self) -> Vec<String> {
        match self {
            ClientLink::Stream { notices, .. } => std::mem::take(notices),
            ClientLink::Udp(..) => Vec::new(),
        }
    }

    /// The stream failed now: drop it, say so, reopen it later.
    fn lose_now(&mut self, error: &io::Error) {
        if let ClientLink::Stream { target, link, reopen, notices } = self {
            lose(target, link, reopen, notices, error, Instant::now());
        }
    }
}

fn new_link(io: LinkIo) -> Box<StreamLink<LinkIo>> {
    Box::new(StreamLink::over(io))
}

/// Opens a TCP connection or serial line and registers it.
fn open_stream(target: &Target, reactor: &Reactor) -> Result<LinkIo, HostError> {
    match target {
        Target::Tcp(addr) => {
            let mut stream = mio::net::TcpStream::connect(*addr)
                .map_err(|source| HostError::Connect { addr: *addr, source })?;
            reactor
                .registry()
                .register(&mut stream, LINK, Interest::READABLE | Interest::WRITABLE)
                .map_err(HostError::Poll)?;
            let _ = stream.set_nodelay(true);
            Ok(LinkIo::Tcp(stream))
        }
        Target::Serial { path, baud } => {
            let port = serial::open(path, *baud)
                .map_err(|source| HostError::Serial { path: path.clone(), source })?;
            reactor.register_serial(&port, LINK)?;
            Ok(LinkIo::Serial(port))
        }
        Target::Udp(_) => Err(HostError::Poll(io::ErrorKind::InvalidInput.into())),
    }
}

/// The stream is gone: say so, and schedule reopening it. (Closing it deregisters it.)
fn lose(
    target: &Target,
    link: &mut Option<Box<StreamLink<LinkIo>>>,
    reopen: &mut Option<Reopen>,
    notices: &mut Vec<String>,
    error: &io::Error,
    now: Instant,
) {
    drop(link.take());
    if reopen.is_none() {
        *reopen = Some(Reopen::after_loss(now));
        notices.push(format!("{} is gone ({error}); trying to reopen it", target.peer()));
    }
}

impl Datagram for ClientLink {
    type Error = io::Error;
    type Addr = Peer;

    fn send_to(&mut self, _remote: Peer, data: &[u8]) -> nb::Result<(), io::Error> {
        let result = match self {
            ClientLink::Udp(socket, _) => socket.send(data).map(|_| ()),
            ClientLink::Stream { link: Some(link), .. } => link.send(data).map(|_| ()),
            // Lost: the frame is dropped; the client resends once the link is back.
            ClientLink::Stream { link: None, .. } => return Err(nb::Error::WouldBlock),
        };
        match result {
            Ok(()) => Ok(()),
            Err(e)
                if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) =>
            {
                Err(nb::Error::WouldBlock)
            }
            Err(e) if matches!(self, ClientLink::Stream { .. }) => {
                self.lose_now(&e);
                Err(nb::Error::WouldBlock)
            }
            Err(e) => Err(nb::Error::Other(e)),
        }
    }

    fn receive(&mut self, buf: &mut [u8]) -> nb::Result<(usize, Peer), io::Error> {
        match self {
            ClientLink::Udp(socket, server) => {
                let server = *server;
                match socket.recv(buf) {
                    Ok(len) => Ok((len, Peer::Udp(server))),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                        ) =>
                    {
                        Err(nb::Error::WouldBlock)
                    }
                    Err(e) => Err(nb::Error::Other(e)),
                }
            }
            ClientLink::Stream { link: None, .. } => Err(nb::Error::WouldBlock),
            ClientLink::Stream { target, link: Some(link), .. } => {
                let peer = target.peer();
                match link.next_frame(buf) {
                    Ok(Next::Frame(len)) => Ok((len, peer)),
                    Ok(Next::Empty | Next::Busy) => Err(nb::Error::WouldBlock),
                    Err(e) => {
                        self.lose_now(&e);
                        Err(nb::Error::WouldBlock)
                    }
                }
            }
        }
    }
}
