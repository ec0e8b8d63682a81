//! `minichat echo`: the echo services of the original socket programs, over one event
//! loop. UDP: one reply datagram per datagram. TCP (with `--tcp`): every chunk written
//! back, many connections at once, with backpressure instead of unbounded buffering.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;

use minichat_core::wire::EchoMode;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use crate::error::HostError;
use crate::net::listeners::{self, Listeners};
use crate::net::reactor::{self, Reactor};
use crate::net::udp_batch::BatchSocket;
use crate::shutdown::Shutdown;

const UDP: Token = Token(0);
const TCP_LISTENER: Token = Token(1);
const FIRST_CONNECTION: usize = 2;

/// The largest UDP payload: a datagram is echoed whole, never truncated.
const DATAGRAM_BUF: usize = 65_536;
/// How much of a TCP stream is read at a time.
const CHUNK_BUF: usize = 16 * 1024;
/// Connections beyond this are accepted and closed at once, so a flood cannot exhaust
/// the process's file descriptors.
const MAX_CONNECTIONS: usize = 1024;

/// What `minichat echo` was asked to do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EchoConfig {
    pub(crate) mode: EchoMode,
    pub(crate) bind: SocketAddr,
    pub(crate) tcp: bool,
}

/// Counters reported when the service stops.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) datagrams: u64,
    pub(crate) dropped_replies: u64,
    pub(crate) connections: u64,
}

/// The echo service's sockets and loop: `minichat echo` runs it until Ctrl-C,
/// `minichat bench` on a thread until it is told to stop.
pub(crate) struct EchoLoop {
    mode: EchoMode,
    udp: BatchSocket<DATAGRAM_BUF, 0>,
    listener: Option<TcpListener>,
    reactor: Reactor,
    connections: HashMap<Token, Connection>,
    next_token: usize,
    chunk: Vec<u8>,
    pub(crate) stats: Stats,
    pub(crate) addr: SocketAddr,
    pub(crate) protocols: &'static str,
}

impl std::fmt::Debug for EchoLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoLoop").field("addr", &self.addr).finish()
    }
}

impl EchoLoop {
    /// Binds the sockets of `config`.
    pub(crate) fn bind(config: EchoConfig) -> Result<EchoLoop, HostError> {
        let listeners = listeners::bind(config.bind, config.tcp)?;
        let protocols = listeners.protocols();
        let Listeners { udp, tcp, addr } = listeners;
        let reactor = Reactor::new(256)?;
        reactor.register_udp(&udp, UDP, Interest::READABLE)?;
        let mut listener = tcp;
        if let Some(listener) = listener.as_mut() {
            reactor
                .registry()
                .register(listener, TCP_LISTENER, Interest::READABLE)
                .map_err(HostError::Poll)?;
        }
        Ok(EchoLoop {
            mode: config.mode,
            udp: BatchSocket::new(udp).map_err(HostError::Poll)?,
            listener,
            reactor,
            connections: HashMap::new(),
            next_token: FIRST_CONNECTION,
            chunk: vec![0u8; CHUNK_BUF],
            stats: Stats::default(),
            addr,
            protocols,
        })
    }

    /// A waker for the loop's wait.
    pub(crate) fn waker(&self) -> std::sync::Arc<mio::Waker> {
        self.reactor.waker()
    }

    /// Waits up to `timeout` (for ever with `None`) and serves what arrived.
    pub(crate) fn turn(&mut self, timeout: Option<std::time::Duration>) -> Result<(), HostError> {
        self.reactor.wait(timeout)?;
        let EchoLoop {
            mode, udp, listener, reactor, connections, next_token, chunk, stats, ..
        } = self;
        if !reactor::SOCKET_EVENTS {
            // No readiness events for the UDP socket on this platform: look every turn.
            echo_datagrams(udp, *mode, stats);
        }
        for event in reactor.events() {
            match event.token() {
                Reactor::WAKER => {}
                UDP => echo_datagrams(udp, *mode, stats),
                TCP_LISTENER => {
                    if let Some(listener) = listener.as_ref() {
                        accept_all(listener, reactor.registry(), connections, next_token, stats);
                    }
                }
                token => {
                    let done = match connections.get_mut(&token) {
                        Some(connection) => connection.drive(*mode, chunk),
                        None => false,
                    };
                    if let Some(mut connection) = done.then(|| connections.remove(&token)).flatten()
                    {
                        let _ = reactor.registry().deregister(&mut connection.stream);
                        tracing::debug!(peer = %connection.peer, "tcp connection closed");
                    }
                }
            }
        }
        Ok(())
    }
}

/// Answers every datagram waiting on the socket, a batch at a time: each is mapped in place
/// and sent back from the buffer it arrived in.
fn echo_datagrams(udp: &mut BatchSocket<DATAGRAM_BUF, 0>, mode: EchoMode, stats: &mut Stats) {
    loop {
        let received = match udp.receive() {
            Ok(0) => return,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                // An ICMP error from an earlier reply, for instance: it concerns one peer
                // only, so the service goes on.
                tracing::warn!(%error, "receiving a datagram failed");
                continue;
            }
        };
        for i in 0..received {
            if let Some((data, _)) = udp.received_mut(i) {
                mode.apply(data);
            }
        }
        stats.datagrams += received as u64;
        match udp.send_received_back() {
            Ok(sent) if sent == received => {}
            Ok(sent) => {
                stats.dropped_replies += (received - sent) as u64;
                tracing::warn!(
                    dropped = stats.dropped_replies,
                    "replies could not be sent: the socket is full"
                );
            }
            Err(error) => {
                stats.dropped_replies += received as u64;
                tracing::warn!(%error, dropped = stats.dropped_replies, "replies could not be sent");
            }
        }
        if received < udp.batch() {
            return;
        }
    }
}

/// Runs the echo service until Ctrl-C or SIGTERM.
pub(crate) fn run(config: EchoConfig) -> Result<(), HostError> {
    let mut service = EchoLoop::bind(config)?;
    let shutdown = Shutdown::install(service.waker())?;
    // The line scripts and tests wait for: the address, with the port actually bound.
    println!(
        "minichat echo: listening on {} ({}), replying {}-cased; Ctrl-C stops",
        service.addr,
        service.protocols,
        config.mode.name()
    );
    tracing::info!(addr = %service.addr, protocols = service.protocols, mode = config.mode.name(), "echo service started");
    while !shutdown.requested() {
        service.turn(None)?;
    }
    let stats = &service.stats;
    tracing::info!(
        datagrams = stats.datagrams,
        dropped_replies = stats.dropped_replies,
        connections = stats.connections,
        "echo service stopped"
    );
    eprintln!(
        "minichat echo: stopped after {} datagrams and {} connections",
        stats.datagrams, stats.connections
    );
    Ok(())
}

/// Accepts every pending connection.
fn accept_all(
    listener: &TcpListener,
    registry: &Registry,
    connections: &mut HashMap<Token, Connection>,
    next_token: &mut usize,
    stats: &mut Stats,
) {
    loop {
        let (mut stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                // Out of file descriptors, or a connection reset before accept: retry at
                // the next readiness event.
                tracing::warn!(%error, "accepting a connection failed");
                return;
            }
        };
        if connections.len() >= MAX_CONNECTIONS {
            tracing::warn!(%peer, limit = MAX_CONNECTIONS, "too many connections; closing the new one");
            continue;
        }
        let token = Token(*next_token);
        *next_token = next_token.wrapping_add(1).max(FIRST_CONNECTION);
        if let Err(error) =
            registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
        {
            tracing::warn!(%peer, %error, "cannot watch a new connection; closing it");
            continue;
        }
        stats.connections += 1;
        tracing::debug!(%peer, "tcp connection accepted");
        connections.insert(token, Connection { stream, peer, pending: Vec::new(), eof: false });
    }
}

/// One TCP client.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    /// Transformed bytes the peer has not taken yet. While any remain, nothing more is
    /// read: a client that does not read its replies slows itself down, not the server.
    pending: Vec<u8>,
    /// The peer closed its sending side.
    eof: bool,
}

impl Connection {
    /// Moves bytes until the socket would block; returns whether the connection is done.
    fn drive(&mut self, mode: EchoMode, chunk: &mut [u8]) -> bool {
        match self.move_bytes(mode, chunk) {
            Ok(done) => done,
            Err(error) => {
                tracing::debug!(peer = %self.peer, %error, "tcp connection failed");
                true
            }
        }
    }

    fn move_bytes(&mut self, mode: EchoMode, chunk: &mut [u8]) -> io::Result<bool> {
        loop {
            if !self.flush()? {
                return Ok(false); // wait until writable
            }
            if self.eof {
                return Ok(true);
            }
            let len = match self.stream.read(chunk) {
                Ok(0) => {
                    self.eof = true;
                    continue;
                }
                Ok(len) => len,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            let Some(data) = chunk.get_mut(..len) else { continue };
            mode.apply(data);
            self.pending.extend_from_slice(data);
        }
    }

    /// Writes what is pending; `Ok(true)` once nothing is.
    fn flush(&mut self) -> io::Result<bool> {
        while !self.pending.is_empty() {
            match self.stream.write(&self.pending) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => {
                    self.pending.drain(..written);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(true)
    }
}
