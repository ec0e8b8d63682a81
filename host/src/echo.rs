//! `minichat echo`: the echo services of the original socket programs, over one event
//! loop. UDP: one reply datagram per datagram. TCP (with `--tcp`): every chunk written
//! back, many connections at once, with backpressure instead of unbounded buffering.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;

use minichat_core::wire::EchoMode;
use mio::net::{TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};

use crate::error::HostError;
use crate::listen::{self, Listeners};
use crate::shutdown::Shutdown;

const UDP: Token = Token(0);
const TCP_LISTENER: Token = Token(1);
const WAKER: Token = Token(2);
const FIRST_CONNECTION: usize = 3;

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
struct Stats {
    datagrams: u64,
    dropped_replies: u64,
    connections: u64,
}

/// Runs the echo service until Ctrl-C or SIGTERM.
pub(crate) fn run(config: EchoConfig) -> Result<(), HostError> {
    let listeners = listen::bind(config.bind, config.tcp)?;
    let protocols = listeners.protocols();
    let Listeners { mut udp, tcp, addr } = listeners;
    let mut poll = Poll::new().map_err(HostError::Poll)?;
    let registry = poll.registry();
    registry.register(&mut udp, UDP, Interest::READABLE).map_err(HostError::Poll)?;
    let mut listener = tcp;
    if let Some(listener) = listener.as_mut() {
        registry.register(listener, TCP_LISTENER, Interest::READABLE).map_err(HostError::Poll)?;
    }
    let waker = std::sync::Arc::new(mio::Waker::new(registry, WAKER).map_err(HostError::Poll)?);
    let shutdown = Shutdown::install(waker)?;

    // The line scripts and tests wait for: the address, with the port actually bound.
    println!(
        "minichat echo: listening on {addr} ({protocols}), replying {}-cased; Ctrl-C stops",
        config.mode.name()
    );
    tracing::info!(%addr, protocols, mode = config.mode.name(), "echo service started");

    let mut stats = Stats::default();
    let mut connections: HashMap<Token, Connection> = HashMap::new();
    let mut next_token = FIRST_CONNECTION;
    let mut datagram = vec![0u8; DATAGRAM_BUF];
    let mut chunk = vec![0u8; CHUNK_BUF];
    let mut events = Events::with_capacity(256);

    while !shutdown.requested() {
        if let Err(error) = poll.poll(&mut events, None) {
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(HostError::Poll(error));
        }
        for event in &events {
            match event.token() {
                WAKER => {}
                UDP => echo_datagrams(&udp, config.mode, &mut datagram, &mut stats),
                TCP_LISTENER => {
                    if let Some(listener) = listener.as_ref() {
                        accept_all(listener, &poll, &mut connections, &mut next_token, &mut stats);
                    }
                }
                token => {
                    let done = match connections.get_mut(&token) {
                        Some(connection) => connection.drive(config.mode, &mut chunk),
                        None => false,
                    };
                    if let Some(mut connection) = done.then(|| connections.remove(&token)).flatten()
                    {
                        let _ = poll.registry().deregister(&mut connection.stream);
                        tracing::debug!(peer = %connection.peer, "tcp connection closed");
                    }
                }
            }
        }
    }
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

/// Answers every datagram waiting on the socket.
fn echo_datagrams(udp: &UdpSocket, mode: EchoMode, buf: &mut [u8], stats: &mut Stats) {
    loop {
        let (len, peer) = match udp.recv_from(buf) {
            Ok(received) => received,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                // An ICMP error from an earlier reply, for instance: it concerns one peer
                // only, so the service goes on.
                tracing::warn!(%error, "receiving a datagram failed");
                continue;
            }
        };
        let Some(data) = buf.get_mut(..len) else { continue };
        mode.apply(data);
        stats.datagrams += 1;
        match udp.send_to(data, peer) {
            Ok(_) => {}
            Err(error) => {
                stats.dropped_replies += 1;
                tracing::warn!(%peer, %error, dropped = stats.dropped_replies, "a reply could not be sent");
            }
        }
    }
}

/// Accepts every pending connection.
fn accept_all(
    listener: &mio::net::TcpListener,
    poll: &Poll,
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
            poll.registry().register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
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
        match self.pump(mode, chunk) {
            Ok(done) => done,
            Err(error) => {
                tracing::debug!(peer = %self.peer, %error, "tcp connection failed");
                true
            }
        }
    }

    fn pump(&mut self, mode: EchoMode, chunk: &mut [u8]) -> io::Result<bool> {
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
