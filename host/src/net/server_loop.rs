//! The server's event loop: the core's server over a batched UDP socket and its stream
//! links (TCP on the same port, serial lines; `stream_links.rs`), a clock and a `poll`
//! that also wakes for the console and Ctrl-C. `minichat serve` runs it with its console;
//! `minichat bench` runs it quietly on a thread.
//!
//! The hot path allocates nothing: datagrams are received and sent in batches through
//! buffers allocated once ([`BatchSocket`]), and the state machine works in place.

use std::net::SocketAddr;
use std::sync::Arc;

use minichat_core::server::{Directory, EVENT_QUEUE, LeftReason, ServerConfig, ServerEvent};
use minichat_core::time::Instant;
use minichat_core::wire::is_frame;
use minichat_core::wire::limits::MAX_FRAME;
use mio::{Interest, Token, Waker};

use crate::clock::{Clock, to_std};
use crate::error::HostError;
use crate::net::capture::{Capture, Direction};
use crate::net::listeners::{self, Listeners};
use crate::net::peer::Peer;
use crate::net::peer_error::is_peer_trouble;
use crate::net::reactor::Reactor;
use crate::net::server_memory::{HostServer, host_server};
use crate::net::stream_links::{SerialSpec, StreamLinks};
use crate::net::sys;
use crate::net::tcp_guard::{TcpLimits, TcpStats};
use crate::net::udp_batch::BatchSocket;

/// Socket buffers asked for, so bursts of fan-out do not overflow them.
const SOCKET_BUFFER: usize = 4 << 20;

/// Batches taken per turn before timers and the console get their chance.
const ROUNDS: usize = 16;

/// Events one datagram may raise (a join that replaces a session: `Left` and `Joined`):
/// a turn stops reading while the queue has less room than this.
const EVENT_ROOM: usize = 2;

/// The event queue UDP may fill in one turn: the rest is the stream links', so a flood of
/// joins over UDP cannot starve TCP and serial users of room for theirs.
const UDP_EVENTS: usize = EVENT_QUEUE / 2;

const SOCKET: Token = Token(0);

/// Room for a received datagram: any frame, and legacy text up to a typical MTU.
const RX_SLOT: usize = 1500;

/// How a turn's rounds of datagrams ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rounds {
    /// A receive found the socket empty: only then may the caller sleep.
    Drained,
    /// The rounds ran out, or the server's events must be taken first: more may be
    /// waiting.
    Stopped,
    /// The socket is full for sending: the rest waits for it to drain.
    SendBlocked,
}

/// Where the server listens.
#[derive(Debug, Clone)]
pub(crate) struct Listen {
    /// The UDP address (and the TCP one, with `tcp`).
    pub(crate) bind: SocketAddr,
    /// Whether TCP clients are served on the same port.
    pub(crate) tcp: bool,
    /// Serial lines to serve.
    pub(crate) serial: Vec<SerialSpec>,
}

/// The server, its socket and its loop.
pub(crate) struct ServerLoop {
    io: BatchSocket<RX_SLOT, MAX_FRAME>,
    links: StreamLinks,
    /// A frame from a stream link, and the server's immediate answer to it.
    stream_rx: Box<[u8; MAX_FRAME]>,
    stream_tx: Box<[u8; MAX_FRAME]>,
    reactor: Reactor,
    pub(crate) server: Box<HostServer>,
    pub(crate) clock: Clock,
    addr: SocketAddr,
    /// The next datagram of the last receive still to handle: a turn that stops because
    /// the socket is full for sending picks up here, so nothing received is dropped.
    next_rx: usize,
    /// `--capture`: everything in and out, written to a file.
    capture: Option<Capture>,
}

impl std::fmt::Debug for ServerLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerLoop").field("addr", &self.addr).finish()
    }
}

impl ServerLoop {
    /// Binds `bind` and builds a server with `config`, keeping `buffer` bytes of recent
    /// messages.
    pub(crate) fn bind(
        listen: &Listen,
        config: ServerConfig,
        buffer: usize,
    ) -> Result<ServerLoop, HostError> {
        let Listeners { udp: socket, tcp, addr } = listeners::bind(listen.bind, listen.tcp)?;
        sys::set_buffers(&socket, SOCKET_BUFFER);
        let reactor = Reactor::new(64)?;
        reactor.register_udp(&socket, SOCKET, Interest::READABLE | Interest::WRITABLE)?;
        let (keepalive, idle) = (to_std(config.keepalive()), to_std(config.idle_timeout()));
        let limits = TcpLimits::new(config.per_ip(), keepalive, idle);
        let links = StreamLinks::new(tcp, &listen.serial, &reactor, limits)?;
        Ok(ServerLoop {
            io: BatchSocket::new(socket).map_err(HostError::Poll)?,
            links,
            stream_rx: Box::new([0; MAX_FRAME]),
            stream_tx: Box::new([0; MAX_FRAME]),
            reactor,
            server: host_server(config, buffer)?,
            clock: Clock::new(),
            addr,
            next_rx: 0,
            capture: None,
        })
    }

    /// Writes everything the server receives and sends to `capture` from now on.
    pub(crate) fn set_capture(&mut self, capture: Capture) {
        self.capture = Some(capture);
    }

    /// Stops capturing: the capture, to finish.
    pub(crate) fn take_capture(&mut self) -> Option<Capture> {
        self.capture.take()
    }

    /// The address bound (with the port chosen, if 0 was asked for).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the server listens on: `udp`, `udp, tcp`, `udp, serial:/dev/ttyUSB0`.
    pub(crate) fn protocols(&self) -> String {
        format!("udp{}", self.links.describe())
    }

    /// What happened to the stream links since the last call (a serial line lost or
    /// back), for the operator.
    pub(crate) fn take_link_notices(&mut self) -> Vec<String> {
        self.links.take_notices()
    }

    /// What the TCP guard did (connections refused and closed), if the server takes TCP.
    pub(crate) fn tcp_stats(&self) -> Option<TcpStats> {
        self.links.tcp_stats()
    }

    /// Sets how many datagrams go per system call (1 turns batching off, to measure it).
    pub(crate) fn set_batch(&mut self, batch: usize) {
        self.io.set_batch(batch);
    }

    /// The waker that gets [`ServerLoop::wait`] out of `poll`.
    pub(crate) fn waker(&self) -> Arc<Waker> {
        self.reactor.waker()
    }

    /// Fires due timers, then receives, handles and sends until nothing is waiting (or
    /// [`ROUNDS`] batches went by, or the server's events must be taken first). Datagrams
    /// that are not frames go to `foreign`; `directory` holds the users of the servers
    /// this one shares its room with.
    ///
    /// Returns whether more may be waiting: then the caller takes the server's events and
    /// turns again at once, without waiting. The socket is edge-triggered, so a loop that
    /// waited while datagrams were still queued would hear of them only when another one
    /// arrived — never, once a flood has filled the receive buffer.
    pub(crate) fn turn(
        &mut self,
        foreign: &mut dyn FnMut(SocketAddr, &[u8]),
        directory: &dyn Directory,
    ) -> Result<bool, HostError> {
        let now = self.clock.now();
        if self.server.poll_timeout().is_some_and(|at| at <= now) {
            self.server.handle_timeout(now);
        }
        if !self.flush()? {
            return Ok(false); // the socket is full: wait until it is writable
        }
        let drained = match self.serve_datagrams(now, foreign, directory)? {
            Rounds::SendBlocked => return Ok(true), // the rest waits for the socket to drain
            Rounds::Drained => true,
            Rounds::Stopped => {
                // What this turn's datagrams made due goes now (a turn that stopped for
                // the events' sake skipped it).
                self.transmit(now)?;
                false
            }
        };
        self.serve_links(now, directory)?;
        Ok(!drained || self.links.has_more())
    }

    /// Receives datagrams in batches and handles them, at most [`ROUNDS`] batches, while
    /// the server's event queue has room; sends what they made due after each batch.
    fn serve_datagrams(
        &mut self,
        now: Instant,
        foreign: &mut dyn FnMut(SocketAddr, &[u8]),
        directory: &dyn Directory,
    ) -> Result<Rounds, HostError> {
        for _ in 0..ROUNDS {
            // Datagrams left from a turn that stopped early are handled before new ones.
            if self.next_rx >= self.io.received() {
                self.next_rx = 0;
                if !self.receive()? {
                    continue;
                }
            }
            let received = self.io.received();
            if let Some(stop) = self.handle_batch(now, received, foreign, directory)? {
                return Ok(stop);
            }
            if !self.transmit(now)? {
                return Ok(Rounds::SendBlocked);
            }
            if received < self.io.batch() {
                return Ok(Rounds::Drained);
            }
        }
        Ok(Rounds::Stopped)
    }

    /// Receives a batch of datagrams; `Ok(false)` if the socket reported an ICMP error for
    /// an earlier one instead.
    fn receive(&mut self) -> Result<bool, HostError> {
        match self.io.receive() {
            Ok(_) => Ok(true),
            Err(error) if is_peer_trouble(&error) => {
                tracing::debug!(%error, "an ICMP error for an earlier datagram");
                Ok(false)
            }
            Err(error) => Err(HostError::Network { peer: Peer::Udp(self.addr), source: error }),
        }
    }

    /// Handles the batch's datagrams from [`ServerLoop::next_rx`] on, up to `received`;
    /// `Some` if the rounds must stop before the batch is done.
    fn handle_batch(
        &mut self,
        now: Instant,
        received: usize,
        foreign: &mut dyn FnMut(SocketAddr, &[u8]),
        directory: &dyn Directory,
    ) -> Result<Option<Rounds>, HostError> {
        while self.next_rx < received {
            if self.io.is_full() && !self.flush()? {
                return Ok(Some(Rounds::SendBlocked));
            }
            if self.server.events_waiting() + EVENT_ROOM > UDP_EVENTS {
                // A join must be able to report itself: the caller takes the events,
                // and the rest of the batch is handled at the next turn (the links
                // have their go first).
                return Ok(Some(Rounds::Stopped));
            }
            let i = self.next_rx;
            self.next_rx += 1;
            self.handle_datagram(now, i, foreign, directory);
        }
        Ok(None)
    }

    /// The batch's datagram `i`: a frame to the server, whose answer is queued in its slot,
    /// or anything else to `foreign`.
    fn handle_datagram(
        &mut self,
        now: Instant,
        i: usize,
        foreign: &mut dyn FnMut(SocketAddr, &[u8]),
        directory: &dyn Directory,
    ) {
        let Some((data, peer, slot)) = self.io.received_and_slot(i) else { return };
        if let Some(capture) = &mut self.capture {
            capture.udp(Direction::In, self.addr, peer, data);
        }
        if !is_frame(data) {
            foreign(peer, data);
            return;
        }
        let Some(slot) = slot else { return };
        let Some(reply) = self.server.handle_with(now, Peer::Udp(peer), data, slot, directory)
        else {
            return;
        };
        if let Some(capture) = &mut self.capture {
            let sent = slot.get(..reply.len).unwrap_or_default();
            capture.peer(Direction::Out, self.addr, reply.destination, sent);
        }
        match reply.destination {
            Peer::Udp(to) => self.io.commit(reply.len, to),
            // An answer to a UDP datagram goes back over UDP.
            _ => tracing::debug!("a reply to a datagram went to a stream"),
        }
    }

    /// Frames from the stream links, and the server's answers.
    fn serve_links(&mut self, now: Instant, directory: &dyn Directory) -> Result<(), HostError> {
        let wall = std::time::Instant::now();
        self.links.maintain(&self.reactor, wall);
        let mut handled = false;
        // A budget, so a busy link cannot starve the timers and the console.
        for _ in 0..minichat_core::transport::RECEIVE_BUDGET {
            if self.server.events_waiting() + EVENT_ROOM > EVENT_QUEUE {
                break; // the links' frames wait for the caller to take the events
            }
            let Some((peer, len)) = self.links.next_frame(&self.reactor, wall, &mut self.stream_rx)
            else {
                break;
            };
            handled = true;
            let frame = self.stream_rx.get(..len).unwrap_or_default();
            if let Some(capture) = &mut self.capture {
                capture.peer(Direction::In, self.addr, peer, frame);
            }
            if !is_frame(frame) {
                continue; // legacy text is a UDP thing; on a stream it is noise
            }
            let reply =
                self.server.handle_with(now, peer, frame, &mut self.stream_tx[..], directory);
            if let Some(reply) = reply {
                let data = self.stream_tx.get(..reply.len).unwrap_or_default();
                if let Some(capture) = &mut self.capture {
                    capture.peer(Direction::Out, self.addr, reply.destination, data);
                }
                match reply.destination {
                    Peer::Udp(to) => {
                        let _ = self.io.send_now(data, to);
                    }
                    to => self.links.send(&self.reactor, to, data, wall),
                }
            }
        }
        // What the frames made due (deliveries to others) goes now; without frames the
        // turn's own transmit has sent everything already.
        if handled {
            self.transmit(now)?;
        }
        Ok(())
    }

    /// Sends everything the server has to send; `Ok(false)` if the socket filled up.
    fn transmit(&mut self, now: Instant) -> Result<bool, HostError> {
        loop {
            if self.io.is_full() && !self.flush()? {
                return Ok(false);
            }
            let Some(slot) = self.io.slot() else { return Ok(false) };
            match self.server.poll_transmit(now, slot) {
                Some(transmit) => {
                    let data = slot.get(..transmit.len).unwrap_or_default();
                    if let Some(capture) = &mut self.capture {
                        capture.peer(Direction::Out, self.addr, transmit.destination, data);
                    }
                    match transmit.destination {
                        Peer::Udp(to) => self.io.commit(transmit.len, to),
                        to => self.links.send(&self.reactor, to, data, std::time::Instant::now()),
                    }
                }
                None => return self.flush(),
            }
        }
    }

    fn flush(&mut self) -> Result<bool, HostError> {
        match self.io.flush() {
            Ok(done) => Ok(done),
            Err(error) if is_peer_trouble(&error) => Ok(true),
            Err(error) => Err(HostError::Network { peer: Peer::Udp(self.addr), source: error }),
        }
    }

    /// Waits for a datagram, writability, a wake-up, the server's next timer or `max`.
    pub(crate) fn wait(&mut self, max: std::time::Duration) -> Result<(), HostError> {
        let timer = self.server.poll_timeout().map(|at| self.clock.until(at));
        let reopen = self
            .links
            .next_wakeup()
            .map(|at| at.saturating_duration_since(std::time::Instant::now()));
        let timeout = [timer, reopen].into_iter().flatten().fold(max, std::time::Duration::min);
        self.reactor.wait(Some(timeout))?;
        self.links.note_ready(&self.reactor);
        Ok(())
    }

    /// Sends plain text (an answer to a legacy client), outside the protocol.
    pub(crate) fn send_text(&mut self, text: &str, peer: SocketAddr) -> std::io::Result<()> {
        if let Some(capture) = &mut self.capture {
            capture.udp(Direction::Out, self.addr, peer, text.as_bytes());
        }
        self.io.send_now(text.as_bytes(), peer)
    }

    /// Tells every user the server is going away, and sends it; returns how many were
    /// told. Takes at most half a second, whatever the network does.
    pub(crate) fn shutdown(&mut self) -> u64 {
        self.server.shutdown();
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
        let mut told = 0;
        while std::time::Instant::now() < deadline {
            let now = self.clock.now();
            let sent = matches!(self.transmit(now), Ok(true));
            // Each notice raises a `Left` event; taking them makes room for the next ones.
            while let Some(event) = self.server.poll_event() {
                if matches!(event, ServerEvent::Left { reason: LeftReason::ServerShutdown, .. }) {
                    told += 1;
                }
            }
            if self.server.user_count() == 0 && sent {
                break;
            }
            if !sent {
                let _ = self.wait(std::time::Duration::from_millis(20));
            }
        }
        told
    }
}

#[cfg(test)]
mod tests;
