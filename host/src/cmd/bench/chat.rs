//! Load that speaks the protocol: real minichat clients (the core's state machine) joined
//! to a chat server, in three modes — protocol echo, relay (everyone says to the room) and
//! fan-out (one sender, everyone else receives).

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use minichat_core::client::{Client, ClientConfig, ClientEvent, ServerKey};
use minichat_core::time::Instant as CoreInstant;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{EchoMode, Kind, Message, NameBuf};

use crate::clock::Clock;
use crate::cmd::bench::cpu::CpuProbe;
use crate::cmd::bench::load::{
    LoadConfig, Outcome, Phase, Window, client_socket, read_stamp, ready_clients, stamp, wait,
};
use crate::net::reactor::Reactor;

/// A bench client: 64 messages in flight, 1024 events, 64 early deliveries held.
type BenchClient = Client<64, 1024, 64>;

/// An echo request unanswered for this long counts as lost.
const STALL: Duration = Duration::from_millis(500);

/// How the clients load the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Each client keeps `window` protocol echo requests in flight.
    Echo,
    /// Each client keeps `window` messages to the room in flight.
    Relay,
    /// One client keeps `window` messages in flight; all the others receive.
    Fanout,
}

/// Whether the load's clients encrypt their sessions, and how they know the server's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encryption {
    /// Sessions in the clear (the server must take them: `serve --plaintext`).
    Plain,
    /// Encrypted sessions with the server whose public key this is.
    Key([u8; 32]),
    /// Encrypted sessions with whatever key the server offers: a bench measures the
    /// server it was pointed at, it does not guard a conversation.
    Offered,
}

struct Peer {
    client: Box<BenchClient>,
    socket: UdpSocket,
    next_seq: u64,
    echoes_in_flight: usize,
    heard: Instant,
    /// An encrypted session: echo requests go through the client, which seals them (one
    /// at a time: its request API), not as raw frames a server drops unopened.
    sealed: bool,
}

/// Joins `clients` users (plus a sender for fan-out) to `servers` (client `i` to server
/// `i` modulo their number: bridged servers share one room) and measures `mode`, in
/// sessions encrypted as `encryption` says; `cpu` reads the servers' CPU time, `broker` a
/// broker's between them.
pub(crate) fn run(
    servers: &[SocketAddr],
    mode: Mode,
    encryption: Encryption,
    config: &LoadConfig,
    cpu: CpuProbe,
    broker: CpuProbe,
    progress: &mut dyn FnMut(u64),
) -> std::io::Result<Outcome> {
    let users = if mode == Mode::Fanout { config.clients + 1 } else { config.clients };
    let mut reactor = Reactor::new(users.max(1)).map_err(std::io::Error::other)?;
    let clock = Clock::new();
    let mut peers = Vec::with_capacity(users);
    for i in 0..users {
        let server = *servers
            .get(i % servers.len().max(1))
            .ok_or_else(|| std::io::Error::other("no server to load"))?;
        peers.push(new_peer(&reactor, server, i, encryption, &clock)?);
    }
    let mut buf = vec![0u8; 2048];
    let mut tx = vec![0u8; MAX_FRAME];
    let mut text = String::with_capacity(config.size);
    // Everyone joins before the clock starts.
    join_all(&mut peers, &mut reactor, &clock, &mut buf, &mut tx)?;
    let mut window = Window::new(config, cpu).with_broker(broker);
    let mut outcome = Outcome::default();
    let mut last_sweep = Instant::now();
    loop {
        let phase = window.phase();
        if phase == Phase::Done {
            break;
        }
        // Keep every sender's window full.
        for (i, peer) in peers.iter_mut().enumerate() {
            fill(peer, i, mode, config, &window, clock.now(), &mut text, &mut tx);
        }
        wait(&mut reactor, Duration::from_millis(5))?;
        let echo_window = (mode == Mode::Echo).then_some(&window);
        for i in ready_clients(&reactor, peers.len()) {
            if let Some(peer) = peers.get_mut(i) {
                turn(peer, clock.now(), &mut buf, &mut tx, echo_window, phase, &mut outcome);
            }
        }
        if last_sweep.elapsed() > Duration::from_millis(10) {
            // Timers, and acknowledgements owed.
            for peer in &mut peers {
                turn(peer, clock.now(), &mut buf, &mut tx, echo_window, phase, &mut outcome);
                let stalled = peer.echoes_in_flight > 0 && peer.heard.elapsed() > STALL;
                // (A sealed echo is the client's request: it times out by itself.)
                if mode == Mode::Echo && !peer.sealed && stalled {
                    if phase == Phase::Measure {
                        outcome.lost += peer.echoes_in_flight as u64;
                    }
                    peer.echoes_in_flight = 0;
                    peer.heard = Instant::now();
                }
            }
            progress(window.progress());
            last_sweep = Instant::now();
        }
        for peer in &mut peers {
            drain_events(peer, &window, phase, &mut outcome);
        }
    }
    window.finish(&mut outcome);
    for peer in &mut peers {
        let _ = peer.client.leave(clock.now());
        send(peer, clock.now(), &mut tx);
    }
    Ok(outcome)
}

/// Load client `i`, for `server`, encrypted as `encryption` says.
fn new_peer(
    reactor: &Reactor,
    server: SocketAddr,
    i: usize,
    encryption: Encryption,
    clock: &Clock,
) -> std::io::Result<Peer> {
    let socket = client_socket(reactor, server, i)?;
    let name = NameBuf::parse(&format!("bench{i}")).map_err(std::io::Error::other)?;
    let seed = getrandom::u64().map_err(std::io::Error::other)?;
    let mut client_config =
        ClientConfig::new(name.as_str(), server, seed).map_err(std::io::Error::other)?;
    client_config
        .set_give_up(minichat_core::time::Duration::from_secs(60))
        .map_err(std::io::Error::other)?;
    let mut client = Box::new(BenchClient::new(client_config, clock.now()));
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(std::io::Error::other)?;
    match encryption {
        Encryption::Plain => {}
        Encryption::Key(public) => client.set_server_key(ServerKey { public, psk: None }, seed),
        Encryption::Offered => client.discover_server_key(None, seed),
    }
    Ok(Peer {
        client,
        socket,
        next_seq: 0,
        echoes_in_flight: 0,
        heard: Instant::now(),
        sealed: encryption != Encryption::Plain,
    })
}

/// Turns every client until all joined (trusting the key the server offers), or says why
/// they could not: a fleet's server, a refusal, or 20 s gone by.
fn join_all(
    peers: &mut [Peer],
    reactor: &mut Reactor,
    clock: &Clock,
    buf: &mut [u8],
    tx: &mut [u8],
) -> std::io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !peers.iter().all(|p| p.client.is_joined()) {
        if Instant::now() > deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the bench clients could not join",
            ));
        }
        wait(reactor, Duration::from_millis(10))?;
        for peer in peers.iter_mut() {
            let now = clock.now();
            turn(peer, now, buf, tx, None, Phase::Warmup, &mut Outcome::default());
            while let Some(event) = peer.client.poll_event() {
                match event {
                    ClientEvent::ServerKeyOffered { fleet: true, .. } => {
                        return Err(std::io::Error::other(
                            "the server takes only its fleet's clients (a fleet key), and the bench has none",
                        ));
                    }
                    ClientEvent::ServerKeyOffered { key, .. } => {
                        peer.client.trust_server_key(now, key);
                    }
                    ClientEvent::Refused { code, detail } => {
                        let why =
                            if detail.is_empty() { code.to_string() } else { detail.to_string() };
                        return Err(std::io::Error::other(format!(
                            "the server refused the bench's clients: {why}"
                        )));
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// Fills client `i`'s window for `mode`: echo requests (raw frames, or sealed through the
/// client in an encrypted session) or messages to the room, each stamped with `window`'s
/// time.
#[allow(clippy::too_many_arguments)] // the client, the load, and the buffers it writes into
fn fill(
    peer: &mut Peer,
    i: usize,
    mode: Mode,
    config: &LoadConfig,
    window: &Window,
    now: CoreInstant,
    text: &mut String,
    tx: &mut [u8],
) {
    match mode {
        Mode::Echo if peer.sealed => {
            if peer.echoes_in_flight == 0 {
                stamp(text, i, peer.next_seq, window.micros(), config.size);
                if peer.client.echo(now, EchoMode::Upper, text).is_ok() {
                    peer.next_seq += 1;
                    peer.echoes_in_flight = 1;
                }
            }
            send(peer, now, tx);
        }
        Mode::Echo => {
            while peer.echoes_in_flight < config.window {
                let Some(token) = peer.client.session_token() else { break };
                stamp(text, i, peer.next_seq, window.micros(), config.size);
                let req = u32::try_from(peer.next_seq % u64::from(u32::MAX)).unwrap_or(0);
                let echo = Message::Echo { token, req, mode: EchoMode::Upper, text };
                let Ok(len) = echo.encode(tx) else { break };
                if peer.socket.send(tx.get(..len).unwrap_or_default()).is_err() {
                    break;
                }
                peer.next_seq += 1;
                peer.echoes_in_flight += 1;
            }
        }
        Mode::Relay | Mode::Fanout => {
            if mode == Mode::Fanout && i != 0 {
                return;
            }
            while peer.client.pending() < config.window {
                stamp(text, i, peer.next_seq, window.micros(), config.size);
                if peer.client.say(now, text).is_err() {
                    break;
                }
                peer.next_seq += 1;
            }
            send(peer, now, tx);
        }
    }
}

/// Receives what is waiting for a peer, runs its timers and sends what it owes. Echo
/// replies are taken here (the client state machine does not track raw echoes).
fn turn(
    peer: &mut Peer,
    now: CoreInstant,
    buf: &mut [u8],
    tx: &mut [u8],
    echo_window: Option<&Window>,
    phase: Phase,
    outcome: &mut Outcome,
) {
    let server = *peer.client.config().server();
    loop {
        let len = match peer.socket.recv(buf) {
            Ok(len) => len,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(_) => continue,
        };
        let datagram = buf.get(..len).unwrap_or_default();
        if let Some(window) = echo_window
            && datagram.get(2) == Some(&Kind::EchoReply.to_byte())
            && let Ok(Message::EchoReply { text, .. }) = Message::decode(datagram)
        {
            peer.echoes_in_flight = peer.echoes_in_flight.saturating_sub(1);
            peer.heard = Instant::now();
            if phase == Phase::Measure
                && let Some((_, _, sent)) = read_stamp(text.as_bytes())
            {
                outcome.messages += 1;
                outcome
                    .latencies_us
                    .push(u32::try_from(window.micros().saturating_sub(sent)).unwrap_or(u32::MAX));
            }
            continue;
        }
        peer.client.handle(now, server, datagram);
    }
    if peer.client.poll_timeout().is_some_and(|t| t <= now) {
        peer.client.handle_timeout(now);
    }
    send(peer, now, tx);
}

fn send(peer: &mut Peer, now: CoreInstant, tx: &mut [u8]) {
    while let Some(transmit) = peer.client.poll_transmit(now, tx) {
        let _ = peer.socket.send(tx.get(..transmit.len).unwrap_or_default());
    }
}

/// Takes a peer's events: deliveries are counted and timed; losses counted.
fn drain_events(peer: &mut Peer, window: &Window, phase: Phase, outcome: &mut Outcome) {
    while let Some(event) = peer.client.poll_event() {
        // An encrypted session's echo replies come through the client.
        match &event {
            ClientEvent::EchoReply { .. } | ClientEvent::RequestTimedOut { .. } => {
                peer.echoes_in_flight = 0;
                peer.heard = Instant::now();
            }
            _ => {}
        }
        if phase != Phase::Measure {
            continue;
        }
        match event {
            ClientEvent::EchoReply { text, .. } => {
                if let Some((_, _, sent)) = read_stamp(text.as_bytes()) {
                    outcome.messages += 1;
                    outcome.latencies_us.push(
                        u32::try_from(window.micros().saturating_sub(sent)).unwrap_or(u32::MAX),
                    );
                }
            }
            ClientEvent::RequestTimedOut { .. } => outcome.lost += 1,
            ClientEvent::Message { text, .. } => {
                if let Some((_, _, sent)) = read_stamp(text.as_bytes()) {
                    outcome.messages += 1;
                    outcome.latencies_us.push(
                        u32::try_from(window.micros().saturating_sub(sent)).unwrap_or(u32::MAX),
                    );
                }
            }
            ClientEvent::Missed { count } => outcome.lost += u64::from(count),
            ClientEvent::Failed { .. } => outcome.lost += 1,
            _ => {}
        }
    }
}
