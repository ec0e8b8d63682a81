//! A simulated network for the state machines, quinn-proto's test `Pair` grown to a star:
//! one server, any number of clients, a simulated clock, and a link that can lose,
//! duplicate and reorder datagrams with seeded randomness. Nothing here touches a socket
//! or the real clock, so every run is the same.

use std::collections::VecDeque;
use std::net::SocketAddr;

use minichat_core::client::ServerKey;
use minichat_core::client::{Client, ClientConfig, MessageId, OwnedClientEvent};
use minichat_core::secure::Keypair;
use minichat_core::server::{ServerConfig, ServerEvent, ServerIdentity, StaticServer};
use minichat_core::time::{Duration, Instant};
use minichat_core::transport::Transmit;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{ErrorCode, Message};
use proptest::prelude::RngExt;
use proptest::test_runner::TestRng;

/// What the link does to each datagram.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// Probability a datagram is lost.
    pub loss: f64,
    /// Probability a datagram arrives twice.
    pub duplicate: f64,
    /// One-way delay: uniformly between these, so datagrams overtake each other.
    pub delay_ms: (u64, u64),
}

impl Faults {
    /// A perfect link with 1 ms of delay.
    pub const NONE: Faults = Faults { loss: 0.0, duplicate: 0.0, delay_ms: (1, 1) };
}

/// A datagram on the wire.
#[derive(Debug, Clone)]
struct InFlight {
    arrives: Instant,
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

/// The seed of client `i`'s ephemeral keys.
fn seed(i: usize) -> [u8; 32] {
    let mut seed = [0x5e; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    seed
}

/// The server address in every simulation.
pub fn server_addr() -> SocketAddr {
    "10.0.0.1:8080".parse().unwrap()
}

/// The address of client `i`.
pub fn client_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 1, (i / 250) as u8], 5000 + (i % 250) as u16))
}

/// A server for tests: 64 users, a ring of 256.
pub type TestServer = StaticServer<64, 256>;
/// A client for tests.
pub type TestClient = Client<16, 32>;

/// Which frames a [`DropRule`] looks at: (from, to, the frame).
pub type FramePredicate = Box<dyn Fn(SocketAddr, SocketAddr, &Message<'_>) -> bool>;

/// Drops the `nth` frame (1-based) that matches a predicate, once: a loss placed exactly
/// where a test wants it, beside the random faults.
pub struct DropRule {
    matches: FramePredicate,
    nth: usize,
    seen: usize,
    /// The frame was dropped.
    pub fired: bool,
}

pub use crate::elsewhere::Elsewhere;

/// One server, many clients, one clock.
pub struct Sim {
    pub now: Instant,
    pub server: Box<TestServer>,
    /// Set to false to take the server off the network (it drops everything).
    pub server_up: bool,
    pub clients: Vec<(SocketAddr, TestClient)>,
    /// Set an entry to false to take that client off the network.
    pub client_up: Vec<bool>,
    /// Set an entry to true to cut that client off the network while it keeps running
    /// (its timers fire, it sends into the void): a partition.
    pub cut_off: Vec<bool>,
    pub faults: Faults,
    rng: TestRng,
    wire: VecDeque<InFlight>,
    /// Every event each client reported, in order.
    pub client_events: Vec<Vec<OwnedClientEvent>>,
    /// Every event the server reported, in order.
    pub server_events: Vec<ServerEvent>,
    /// Datagrams sent by the server to addresses that are not clients (spoofed sources).
    pub sent_to_strangers: Vec<(SocketAddr, Vec<u8>)>,
    /// Every datagram the server received and sent, by address: (bytes in, bytes out).
    pub server_bytes: std::collections::HashMap<SocketAddr, (usize, usize)>,
    /// With `record` on, every datagram the server sent, to clients too.
    pub server_sent: Vec<(SocketAddr, Vec<u8>)>,
    pub record: bool,
    /// Frames to lose on purpose ([`Sim::drop_nth`]).
    pub drops: Vec<DropRule>,
    /// Users of other servers the server shares its room with.
    pub elsewhere: Elsewhere,
    /// With `record` on, every datagram on the wire: (from, to, bytes).
    pub wire_log: Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// Encrypted sessions ([`Sim::secure`]): the server's identity, and the key clients
    /// join with (clients added later too).
    pub identity: Option<ServerIdentity>,
    pub server_key: Option<ServerKey>,
}

impl Sim {
    /// A server with `config` and no clients yet, at time zero.
    pub fn new(config: ServerConfig, faults: Faults, seed: u64) -> Sim {
        Sim {
            now: Instant::ZERO,
            server: Box::new(TestServer::new(config).unwrap()),
            server_up: true,
            clients: Vec::new(),
            client_up: Vec::new(),
            cut_off: Vec::new(),
            faults,
            rng: crate::rng(seed),
            wire: VecDeque::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            sent_to_strangers: Vec::new(),
            server_bytes: std::collections::HashMap::new(),
            server_sent: Vec::new(),
            record: false,
            drops: Vec::new(),
            elsewhere: Elsewhere::default(),
            wire_log: Vec::new(),
            identity: None,
            server_key: None,
        }
    }

    /// A server with `config` on a perfect link, and a client for each of `names`, all
    /// joined (or the test fails).
    pub fn joined(config: ServerConfig, seed: u64, names: &[impl AsRef<str>]) -> Sim {
        let mut sim = Sim::new(config, Faults::NONE, seed);
        for name in names {
            sim.add_client(name.as_ref());
        }
        let all_joined = sim
            .run_until(Duration::from_secs(30), |s| s.clients.iter().all(|(_, c)| c.is_joined()));
        assert!(all_joined, "every client joins");
        sim
    }

    /// The default server settings with a fixed secret.
    pub fn server_config() -> ServerConfig {
        Self::server_config_at_boot(1)
    }

    /// The default server settings with a fixed secret, for the start `boot` (a restart
    /// takes another).
    pub fn server_config_at_boot(boot: u64) -> ServerConfig {
        ServerConfig::new([0x5e; 16], boot)
    }

    /// Adds a client called `name`; returns its index.
    pub fn add_client(&mut self, name: &str) -> usize {
        let seed = 0x5eed_0000 + self.clients.len() as u64;
        let config = ClientConfig::new(name, server_addr(), seed).unwrap();
        self.add_client_with(config)
    }

    /// Makes the server take encrypted sessions only (its key from `private`; with a fleet
    /// key `psk` if given) and every client, present or added later, join encrypted.
    pub fn secure(&mut self, private: [u8; 32], psk: Option<[u8; 32]>) {
        let identity =
            ServerIdentity { keypair: Keypair::from_private(private), psk, plaintext: false };
        let key = ServerKey { public: *identity.keypair.public(), psk };
        self.server.set_identity(identity.clone(), [0x11; 32]);
        self.identity = Some(identity);
        self.server_key = Some(key);
        for (i, (_, client)) in self.clients.iter_mut().enumerate() {
            client.set_server_key(key, seed(i));
        }
    }

    /// Adds a client with `config`; returns its index.
    pub fn add_client_with(&mut self, config: ClientConfig) -> usize {
        let index = self.clients.len();
        let mut client = TestClient::new(config, self.now);
        if let Some(key) = self.server_key {
            client.set_server_key(key, seed(index));
        }
        self.clients.push((client_addr(index), client));
        self.client_up.push(true);
        self.cut_off.push(false);
        self.client_events.push(Vec::new());
        index
    }

    /// The client at `index`.
    pub fn client(&mut self, index: usize) -> &mut TestClient {
        &mut self.clients[index].1
    }

    /// Loses the `nth` frame (from 1) for which `matches(from, to, frame)` holds; returns
    /// the rule's index in [`Sim::drops`], so the test can check it fired.
    pub fn drop_nth(
        &mut self,
        nth: usize,
        matches: impl Fn(SocketAddr, SocketAddr, &Message<'_>) -> bool + 'static,
    ) -> usize {
        self.drops.push(DropRule { matches: Box::new(matches), nth, seen: 0, fired: false });
        self.drops.len() - 1
    }

    /// Whether a frame goes missing by a drop rule (and counts it against the rules).
    fn dropped_on_purpose(&mut self, from: SocketAddr, to: SocketAddr, bytes: &[u8]) -> bool {
        let Ok(message) = Message::decode(bytes) else { return false };
        for rule in self.drops.iter_mut().filter(|rule| !rule.fired) {
            if (rule.matches)(from, to, &message) {
                rule.seen += 1;
                if rule.seen == rule.nth {
                    rule.fired = true;
                    return true;
                }
            }
        }
        false
    }

    /// Replaces the server with a fresh one (a restart: everything it knew is gone but its
    /// identity).
    pub fn restart_server(&mut self, config: ServerConfig) {
        *self.server = TestServer::new(config).unwrap();
        if let Some(identity) = self.identity.clone() {
            self.server.set_identity(identity, [0x12; 32]);
        }
    }

    /// Puts a raw datagram on the wire to the server, as if from `from`.
    pub fn inject(&mut self, from: SocketAddr, bytes: &[u8]) {
        self.wire.push_back(InFlight {
            arrives: self.now,
            from,
            to: server_addr(),
            bytes: bytes.to_vec(),
        });
    }

    /// Runs until `done` holds or `limit` of simulated time passes; returns whether `done`
    /// held. Every step is bounded, so this always ends.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Sim) -> bool) -> bool {
        let deadline = self.now + limit;
        let mut stuck = 0u32;
        loop {
            self.turn();
            if done(self) {
                return true;
            }
            let Some(next) = self.next_wakeup() else { return false };
            // A timer that stays due without anything happening would spin forever.
            stuck = if next <= self.now { stuck + 1 } else { 0 };
            assert!(
                stuck < 10_000,
                "time stands still at {:?}: server timer {:?}, client timers {:?}",
                self.now,
                self.server.poll_timeout(),
                self.clients.iter().map(|(_, c)| c.poll_timeout()).collect::<Vec<_>>()
            );
            if next > deadline {
                self.now = deadline;
                self.turn();
                return done(self);
            }
            self.now = next.max(self.now);
        }
    }

    /// Lets `span` of simulated time pass.
    pub fn run_for(&mut self, span: Duration) {
        self.run_until(span, |_| false);
    }

    /// Delivers everything due, fires timers and collects sends, until nothing more
    /// happens at this instant.
    fn turn(&mut self) {
        let mut buf = [0u8; MAX_FRAME];
        for _round in 0..10_000 {
            let mut busy = false;
            // Timers.
            if self.server.poll_timeout().is_some_and(|t| t <= self.now) {
                self.server.handle_timeout(self.now);
            }
            for (i, (_, client)) in self.clients.iter_mut().enumerate() {
                if self.client_up[i] && client.poll_timeout().is_some_and(|t| t <= self.now) {
                    client.handle_timeout(self.now);
                }
            }
            // Arrivals.
            while let Some(index) = self.wire.iter().position(|d| d.arrives <= self.now) {
                busy = true;
                let datagram = self.wire.remove(index).unwrap();
                if datagram.to == server_addr() {
                    if !self.server_up {
                        continue;
                    }
                    self.server_bytes.entry(datagram.from).or_default().0 += datagram.bytes.len();
                    if let Some(reply) = self.server.handle_with(
                        self.now,
                        datagram.from,
                        &datagram.bytes,
                        &mut buf,
                        &self.elsewhere,
                    ) {
                        self.send(server_addr(), reply, &buf);
                    }
                } else if let Some(i) = self.clients.iter().position(|(a, _)| *a == datagram.to)
                    && self.client_up[i]
                {
                    self.clients[i].1.handle(self.now, datagram.from, &datagram.bytes);
                }
            }
            // Sends.
            if self.server_up {
                while let Some(transmit) = self.server.poll_transmit(self.now, &mut buf) {
                    busy = true;
                    self.send(server_addr(), transmit, &buf);
                }
            }
            for i in 0..self.clients.len() {
                if !self.client_up[i] {
                    continue;
                }
                while let Some(transmit) = self.clients[i].1.poll_transmit(self.now, &mut buf) {
                    busy = true;
                    let from = self.clients[i].0;
                    self.send(from, transmit, &buf);
                }
            }
            // Events.
            while let Some(event) = self.server.poll_event() {
                self.server_events.push(event);
            }
            for (i, (_, client)) in self.clients.iter_mut().enumerate() {
                while let Some(event) = client.poll_event().map(|e| e.into_owned()) {
                    self.client_events[i].push(event);
                }
            }
            if !busy {
                return;
            }
        }
        panic!("the simulation did not come to rest at {:?}", self.now);
    }

    fn send(&mut self, from: SocketAddr, transmit: Transmit, buf: &[u8]) {
        let bytes = buf[..transmit.len].to_vec();
        let to = transmit.destination;
        if self.record {
            self.wire_log.push((from, to, bytes.clone()));
        }
        if from == server_addr() {
            self.server_bytes.entry(to).or_default().1 += bytes.len();
            if self.record {
                self.server_sent.push((to, bytes.clone()));
            }
            if !self.clients.iter().any(|(a, _)| *a == to) {
                self.sent_to_strangers.push((to, bytes));
                return;
            }
        }
        let partitioned = self
            .clients
            .iter()
            .zip(&self.cut_off)
            .any(|((addr, _), cut)| *cut && (*addr == from || *addr == to));
        if partitioned
            || self.dropped_on_purpose(from, to, &bytes)
            || self.rng.random_bool(self.faults.loss)
        {
            return;
        }
        let copies = if self.rng.random_bool(self.faults.duplicate) { 2 } else { 1 };
        for _ in 0..copies {
            let (lo, hi) = self.faults.delay_ms;
            let delay = Duration::from_millis(self.rng.random_range(lo..=hi));
            self.wire.push_back(InFlight {
                arrives: self.now + delay,
                from,
                to,
                bytes: bytes.clone(),
            });
        }
    }

    fn next_wakeup(&self) -> Option<Instant> {
        let arrivals = self.wire.iter().map(|d| d.arrives);
        let server = self.server.poll_timeout();
        let clients = self
            .clients
            .iter()
            .zip(&self.client_up)
            .filter(|(_, up)| **up)
            .filter_map(|((_, c), _)| c.poll_timeout());
        arrivals.chain(server).chain(clients).min()
    }

    /// The texts client `i` received, as "from: text" or "from (direct): text".
    pub fn received(&self, i: usize) -> Vec<String> {
        self.client_events[i]
            .iter()
            .filter_map(|e| match e {
                OwnedClientEvent::Message { from, text, direct: false, .. } => {
                    Some(format!("{from}: {text}"))
                }
                OwnedClientEvent::Message { from, text, direct: true, .. } => {
                    Some(format!("{from} (direct): {text}"))
                }
                _ => None,
            })
            .collect()
    }

    /// Whether client `i` reported `event`.
    pub fn saw(&self, i: usize, event: &OwnedClientEvent) -> bool {
        self.client_events[i].contains(event)
    }

    /// What the server said when it refused client `i`'s join with `code`, if it did.
    pub fn refusal(&self, i: usize, code: ErrorCode) -> Option<String> {
        self.client_events[i].iter().find_map(|event| match event {
            OwnedClientEvent::Refused { code: c, detail } if *c == code => Some(detail.to_string()),
            _ => None,
        })
    }

    /// What the server said when it rejected client `i`'s message `id` with `code`.
    pub fn rejection(&self, i: usize, id: MessageId, code: ErrorCode) -> Option<String> {
        self.client_events[i].iter().find_map(|event| match event {
            OwnedClientEvent::Rejected { id: d, code: c, detail } if *d == id && *c == code => {
                Some(detail.to_string())
            }
            _ => None,
        })
    }
}
