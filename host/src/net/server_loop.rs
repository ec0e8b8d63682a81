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
        let (keepalive, idle) = (to_std(config.keepalive), to_std(config.idle_timeout));
        let limits = TcpLimits::new(config.per_ip, keepalive, idle);
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
        // Whether a receive found the socket empty: only then may the caller sleep.
        let mut drained = false;
        'rounds: for _ in 0..ROUNDS {
            // Datagrams left from a turn that stopped early are handled before new ones.
            if self.next_rx >= self.io.received() {
                self.next_rx = 0;
                match self.io.receive() {
                    Ok(_) => {}
                    Err(error) if is_peer_trouble(&error) => {
                        tracing::debug!(%error, "an ICMP error for an earlier datagram");
                        continue;
                    }
                    Err(error) => {
                        return Err(HostError::Network {
                            peer: Peer::Udp(self.addr),
                            source: error,
                        });
                    }
                }
            }
            let received = self.io.received();
            while self.next_rx < received {
                if self.io.is_full() && !self.flush()? {
                    return Ok(true); // the rest waits for the socket to drain
                }
                if self.server.events_waiting() + EVENT_ROOM > UDP_EVENTS {
                    // A join must be able to report itself: the caller takes the events,
                    // and the rest of the batch is handled at the next turn (the links
                    // have their go first).
                    break 'rounds;
                }
                let i = self.next_rx;
                self.next_rx += 1;
                let Some((data, peer, slot)) = self.io.received_and_slot(i) else { continue };
                if let Some(capture) = &mut self.capture {
                    capture.udp(Direction::In, self.addr, peer, data);
                }
                if !is_frame(data) {
                    foreign(peer, data);
                    continue;
                }
                let Some(slot) = slot else { continue };
                let reply = self.server.handle_with(now, Peer::Udp(peer), data, slot, directory);
                if let Some(reply) = reply {
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
            }
            if !self.transmit(now)? {
                return Ok(true);
            }
            if received < self.io.batch() {
                drained = true;
                break;
            }
        }
        // What this turn's datagrams made due goes now (a turn that stopped for the
        // events' sake skipped it).
        if !drained {
            self.transmit(now)?;
        }
        self.serve_links(now, directory)?;
        Ok(!drained || self.links.has_more())
    }

    /// Frames from the stream links, and the server's answers.
    fn serve_links(
        &mut self,
        now: minichat_core::time::Instant,
        directory: &dyn Directory,
    ) -> Result<(), HostError> {
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
    fn transmit(&mut self, now: minichat_core::time::Instant) -> Result<bool, HostError> {
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
mod tests {
    use std::net::UdpSocket;
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::time::{Duration as StdDuration, Instant as StdInstant};

    use minichat_core::client::{Client, ClientConfig, ClientEvent};
    use minichat_core::server::Alone;
    use minichat_core::time::Instant;
    use minichat_core::transport::Driver;
    use minichat_core::wire::{Cookie, EchoMode, Message, NameBuf, Token};

    use super::*;
    use crate::net::server_memory::DEFAULT_BUFFER;

    const WARM: u8 = 0;
    const MEASURE: u8 = 1;
    const STOP: u8 = 2;

    struct TestClient {
        client: Client<16, 64, 16>,
        driver: Driver<UdpSocket>,
        start: StdInstant,
        delivered: usize,
        received: usize,
    }

    impl TestClient {
        fn new(name: &str, server: SocketAddr) -> Self {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.set_nonblocking(true).unwrap();
            let config = ClientConfig::new(NameBuf::parse(name).unwrap(), server);
            TestClient {
                client: Client::new(config, Instant::ZERO),
                driver: Driver::new(socket),
                start: StdInstant::now(),
                delivered: 0,
                received: 0,
            }
        }

        fn now(&self) -> Instant {
            Instant::from_millis(u64::try_from(self.start.elapsed().as_millis()).unwrap())
        }

        fn pump(&mut self) {
            let now = self.now();
            let _ = self.driver.pump(&mut self.client, now, |_, _, _| {});
            while let Some(event) = self.client.poll_event() {
                match event {
                    ClientEvent::Delivered { .. } => self.delivered += 1,
                    ClientEvent::Message { .. } => self.received += 1,
                    _ => {}
                }
            }
        }
    }

    /// Relays `count` messages among three clients (with echoes between), pumping until
    /// all arrived or ten seconds passed.
    fn exchange(clients: &mut [TestClient], count: usize) {
        // Generous: a debug build on a loaded machine; the loop ends as soon as it is done.
        let deadline = StdInstant::now() + StdDuration::from_secs(60);
        let target: Vec<usize> = clients.iter().map(|c| c.received + 2 * count).collect();
        let mut sent = 0;
        while StdInstant::now() < deadline {
            for c in clients.iter_mut() {
                if sent < count * 3 && c.client.pending() < 8 {
                    let now = c.now();
                    c.client.say(now, "steady state, no allocation please").unwrap();
                    if sent % 10 == 0 {
                        let _ = c.client.echo(now, EchoMode::Upper, "echo too");
                    }
                    sent += 1;
                }
                c.pump();
            }
            if sent == count * 3 && clients.iter().zip(&target).all(|(c, t)| c.received >= *t) {
                return;
            }
            std::thread::sleep(StdDuration::from_micros(200));
        }
        panic!(
            "the exchange did not finish: {:?}",
            clients.iter().map(|c| c.received).collect::<Vec<_>>()
        );
    }

    /// A server on a free port, in the clear, for `capacity` users from one address.
    fn plain_loop(capacity: usize) -> ServerLoop {
        let mut config = ServerConfig::new([9; 16], 1);
        config.capacity = capacity;
        config.per_ip = 0;
        let listen =
            Listen { bind: "127.0.0.1:0".parse().unwrap(), tcp: false, serial: Vec::new() };
        ServerLoop::bind(&listen, config, DEFAULT_BUFFER).unwrap()
    }

    /// Runs `net` as `minichat serve` does (a turn, the events taken, a wait only when
    /// the turn says nothing is left) until `done`; returns how many waits it took.
    fn serve_until(
        net: &mut ServerLoop,
        foreign: &mut dyn FnMut(SocketAddr, &[u8]),
        mut done: impl FnMut(&mut ServerLoop) -> bool,
    ) -> usize {
        let deadline = StdInstant::now() + StdDuration::from_secs(30);
        let mut waits = 0;
        while !done(net) {
            assert!(StdInstant::now() < deadline, "the server did not finish in 30 s");
            let more = net.turn(foreign, &Alone).unwrap();
            while net.server.poll_event().is_some() {}
            if !more && !done(net) {
                waits += 1;
                net.wait(StdDuration::from_millis(100)).unwrap();
            }
        }
        waits
    }

    #[test]
    fn a_turn_that_stops_with_datagrams_queued_says_so() {
        let mut net = plain_loop(4);
        // One datagram per batch: a turn takes at most ROUNDS of them.
        net.set_batch(1);
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sent = 3 * ROUNDS + 5;
        for i in 0..sent {
            sender.send_to(format!("line {i}").as_bytes(), net.addr()).unwrap();
        }
        let seen = std::cell::Cell::new(0);
        let waits =
            serve_until(&mut net, &mut |_, _| seen.set(seen.get() + 1), |_| seen.get() >= sent);
        let seen = seen.get();
        // Loopback delivers a datagram before `send_to` returns: everything was queued
        // before the first turn, and the socket, edge-triggered, raises no new event.
        assert_eq!(waits, 0, "the loop slept with {} datagrams still queued", sent - seen);
    }

    #[test]
    fn a_burst_of_joins_is_answered_without_resends() {
        const JOINS: usize = 3 * EVENT_QUEUE;
        let mut net = plain_loop(JOINS);
        let clients: Vec<UdpSocket> = (0..JOINS)
            .map(|_| {
                let client = UdpSocket::bind("127.0.0.1:0").unwrap();
                client.set_nonblocking(true).unwrap();
                client
            })
            .collect();
        let join = |cookie: Cookie, i: usize| {
            let name = format!("u{i}");
            let message = Message::Join {
                cookie,
                nonce: 7,
                window: 8,
                resume: Token::NONE,
                delivered: 0,
                name: minichat_core::wire::Name::new(&name).unwrap(),
            };
            let mut b = vec![0u8; message.buffer_len()];
            message.encode(&mut b).unwrap();
            b
        };
        // Each client's cookie, then every join at once, each sent exactly once.
        for (i, client) in clients.iter().enumerate() {
            client.send_to(&join(Cookie::EMPTY, i), net.addr()).unwrap();
        }
        let mut cookies = vec![None; JOINS];
        let mut welcomed = vec![false; JOINS];
        let mut buf = [0u8; MAX_FRAME];
        let mut read = |cookies: &mut Vec<Option<Cookie>>, welcomed: &mut Vec<bool>| {
            for (i, client) in clients.iter().enumerate() {
                while let Ok(n) = client.recv(&mut buf) {
                    match Message::decode(&buf[..n]) {
                        Ok(Message::Cookie { cookie, .. }) => cookies[i] = Some(cookie),
                        Ok(Message::Welcome { .. }) => welcomed[i] = true,
                        other => panic!("unexpected answer {other:?}"),
                    }
                }
            }
        };
        serve_until(&mut net, &mut |_, _| {}, |_| {
            read(&mut cookies, &mut welcomed);
            cookies.iter().all(Option::is_some)
        });
        for (i, (client, cookie)) in clients.iter().zip(&cookies).enumerate() {
            client.send_to(&join(cookie.unwrap(), i), net.addr()).unwrap();
        }
        serve_until(&mut net, &mut |_, _| {}, |_| {
            read(&mut cookies, &mut welcomed);
            welcomed.iter().all(|w| *w)
        });
        assert_eq!(net.server.user_count(), JOINS);
    }

    #[test]
    fn the_servers_hot_path_allocates_nothing_in_steady_state() {
        let phase = Arc::new(AtomicU8::new(WARM));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let server_phase = Arc::clone(&phase);
        let server = std::thread::Builder::new()
            .spawn(move || {
                let mut config = ServerConfig::new([9; 16], 1);
                config.rate_per_sec = 0;
                let listen =
                    Listen { bind: "127.0.0.1:0".parse().unwrap(), tcp: false, serial: Vec::new() };
                let mut net = ServerLoop::bind(&listen, config, DEFAULT_BUFFER).unwrap();
                addr_tx.send(net.addr()).unwrap();
                let run = |net: &mut ServerLoop, until: u8| {
                    while server_phase.load(Ordering::SeqCst) < until {
                        net.turn(&mut |_, _| {}, &Alone).unwrap();
                        while net.server.poll_event().is_some() {}
                        net.wait(StdDuration::from_millis(5)).unwrap();
                    }
                };
                run(&mut net, MEASURE);
                let info = allocation_counter::measure(|| run(&mut net, STOP));
                (info.count_total, net.server.stats().messages)
            })
            .unwrap();
        let addr = addr_rx.recv().unwrap();
        let mut clients: Vec<TestClient> =
            ["a", "b", "c"].iter().map(|n| TestClient::new(n, addr)).collect();
        // Generous: a debug build on a loaded machine; the loop ends as soon as it is done.
        let deadline = StdInstant::now() + StdDuration::from_secs(60);
        while !clients.iter().all(|c| c.client.is_joined()) {
            assert!(StdInstant::now() < deadline, "clients join");
            clients.iter_mut().for_each(TestClient::pump);
            std::thread::sleep(StdDuration::from_millis(1));
        }
        // Warm up: every buffer and table the server will use gets used once.
        exchange(&mut clients, 100);
        phase.store(MEASURE, Ordering::SeqCst);
        exchange(&mut clients, 300);
        phase.store(STOP, Ordering::SeqCst);
        let (allocations, messages) = server.join().unwrap();
        assert!(messages >= 1200, "{messages} messages went through");
        assert_eq!(
            allocations, 0,
            "the server thread allocated while relaying {messages} messages"
        );
    }
}
