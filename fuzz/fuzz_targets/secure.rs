//! Encrypted sessions end to end: a server that takes encrypted sessions only and two
//! clients (one given the server's key, one that asks for it with `key-request`, trusts
//! only the real one, and proves a key of its own with `hello-key`), over a network the
//! input runs — datagrams delivered in any order, dropped, recorded and replayed,
//! corrupted, sent again from another address, clients' addresses moving (NAT
//! rebinding: the server must challenge and the client answer, sealed) — with forged
//! frames of every secure kind (`hello`, `hello-key`, `answer`, `sealed` under real
//! tokens, `key-request`, an impostor's `server-key`) and raw bytes, time steps, and a
//! clock that starts near its wrap. Every run starts with both clients joined (the
//! network left to itself for a while), so the input works on sessions. Checks: no
//! panic; every frame either side sends parses, and goes where it should; the server
//! never sends an address that proved nothing more bytes than it received; nobody
//! speaks for a user — every message the server stores as from a client's name is one
//! that client said, and every message a client shows is one its sender said; a client
//! never shows a message more often than the server stored it, across all its sessions
//! (re-joins and moves included); no server event is dropped.
#![no_main]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use minichat_core::client::{Client, ClientConfig, ClientEvent, ServerKey};
use minichat_core::secure::Keypair;
use minichat_core::server::{ServerConfig, ServerIdentity, StaticServer};
use minichat_core::time::{Duration, Instant};
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Cookie, Message, NameBuf, Token};

const CLIENTS: usize = 2;
const SERVER_PRIVATE: [u8; 32] = [1; 32];

type TheClient = Client<4, 8, 4>;
type TheServer = StaticServer<4, 16>;

#[derive(Arbitrary, Debug)]
enum Op {
    /// Deliver the datagram in flight at this index.
    Deliver(u8),
    /// Deliver everything in flight, in order.
    DeliverAll,
    /// Let the network run on its own for this many rounds (everything delivered, 50 ms
    /// between).
    Settle(u8),
    Drop(u8),
    /// A datagram seen before, delivered again as it was.
    Replay(u8),
    /// A datagram seen before, with one byte changed.
    Corrupt {
        index: u8,
        at: u16,
        xor: u8,
    },
    /// A datagram a client sent before, sent to the server from another address.
    Redirect {
        index: u8,
        from: u8,
    },
    /// A client's address changes.
    Move(u8),
    Advance(u16),
    Say {
        client: u8,
        length: u8,
    },
    /// Raw bytes, to the server from an address or to a client from the server.
    Raw {
        to_client: Option<u8>,
        from: u8,
        bytes: Vec<u8>,
    },
    /// A well-formed frame of a secure kind with made-up cryptography.
    Forge {
        kind: u8,
        client: u8,
        number: u64,
        bytes: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// How long before the clock wraps the run starts, in units of 16 ms.
    before_wrap: u16,
    ops: Vec<Op>,
}

#[derive(Clone)]
struct Datagram {
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

fn server_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 8080))
}

fn client_addr(client: usize, epoch: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 1, client as u8], 5000 + epoch))
}

fn stranger(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 2, i % 4], 6000))
}

fn name_of(client: usize) -> String {
    format!("c{client}")
}

struct World {
    now: Instant,
    server: TheServer,
    server_key: [u8; 32],
    clients: Vec<TheClient>,
    epochs: [u16; CLIENTS],
    in_flight: Vec<Datagram>,
    seen: Vec<Datagram>,
    /// Addresses with a user: the server may send them anything.
    verified: HashSet<SocketAddr>,
    /// The last cookie and join nonce seen for an address (for forged hellos), the
    /// tokens issued (for forged sealed frames), each client's last attempt's nonce.
    cookies: HashMap<SocketAddr, Cookie>,
    tokens: Vec<Token>,
    nonces: [u64; CLIENTS],
    /// What each client said.
    said: HashMap<String, String>,
    said_count: usize,
    /// The server's room messages looked at, and how often each text was stored.
    stored_seqs: HashSet<u64>,
    stored: HashMap<String, u32>,
    /// How often each client showed each text (not history).
    shown: Vec<HashMap<String, u32>>,
}

impl World {
    fn deliver(&mut self, datagram: Datagram) {
        let mut buf = [0u8; MAX_FRAME];
        if datagram.to == server_addr() {
            if let Some(reply) =
                self.server.handle(self.now, datagram.from, &datagram.bytes, &mut buf)
            {
                let bytes = buf[..reply.len].to_vec();
                let parsed = Message::decode(&bytes).expect("the server sends only valid frames");
                let proves = matches!(
                    Message::decode(&datagram.bytes),
                    Ok(Message::Hello { cookie, .. } | Message::Join { cookie, .. }) if !cookie.is_empty()
                );
                // An address a session moved to answered the server's challenge there.
                let holds_session = self.server.users().any(|(_, addr)| addr == reply.destination);
                assert!(
                    self.verified.contains(&reply.destination)
                        || proves
                        || holds_session
                        || reply.len <= datagram.bytes.len(),
                    "{} bytes to unverified {} for {}: {parsed:?}",
                    reply.len,
                    reply.destination,
                    datagram.bytes.len()
                );
                self.sent_by_server(reply.destination, bytes);
            }
        } else {
            for (i, client) in self.clients.iter_mut().enumerate() {
                if datagram.to == client_addr(i, self.epochs[i]) {
                    client.handle(self.now, datagram.from, &datagram.bytes);
                }
            }
        }
    }

    fn sent_by_server(&mut self, to: SocketAddr, bytes: Vec<u8>) {
        match Message::decode(&bytes) {
            Ok(Message::Cookie { cookie, .. }) => {
                self.cookies.insert(to, cookie);
            }
            Ok(Message::Sealed { token, .. }) if !self.tokens.contains(&token) => {
                self.tokens.push(token);
            }
            _ => {}
        }
        self.send(Datagram { from: server_addr(), to, bytes });
    }

    fn send(&mut self, datagram: Datagram) {
        if self.seen.len() < 512 {
            self.seen.push(datagram.clone());
        }
        if self.in_flight.len() < 64 {
            self.in_flight.push(datagram);
        }
    }

    /// Everything both sides want to send and tell, and the checks on it.
    fn pump(&mut self) {
        let mut buf = [0u8; MAX_FRAME];
        // A session's address proved itself (a cookie, or a challenge answered there), from
        // the moment the session is there: a move in the last delivery counts at once.
        self.verified.extend(self.server.users().map(|(_, addr)| addr));
        for _ in 0..1000 {
            let Some(transmit) = self.server.poll_transmit(self.now, &mut buf) else { break };
            Message::decode(&buf[..transmit.len]).expect("the server sends only valid frames");
            assert!(
                self.verified.contains(&transmit.destination),
                "poll_transmit to unverified {}",
                transmit.destination
            );
            self.sent_by_server(transmit.destination, buf[..transmit.len].to_vec());
        }
        while self.server.poll_event().is_some() {}
        assert_eq!(self.server.stats().events_dropped, 0, "a server event was dropped");
        self.verified.extend(self.server.users().map(|(_, addr)| addr));
        // The room: every message stored under a client's name is one it said.
        for seq in self.server.oldest_message()..=self.server.newest_message() {
            let Some(message) = self.server.message(seq) else { continue };
            if !self.stored_seqs.insert(seq) {
                continue;
            }
            let (from, text) = (message.from.as_str(), message.text);
            assert_eq!(
                self.said.get(text).map(String::as_str),
                Some(from),
                "the server stored {text:?} as {from}'s"
            );
            *self.stored.entry(text.to_owned()).or_insert(0) += 1;
        }
        for i in 0..CLIENTS {
            let addr = client_addr(i, self.epochs[i]);
            for _ in 0..1000 {
                let Some(transmit) = self.clients[i].poll_transmit(self.now, &mut buf) else {
                    break;
                };
                assert_eq!(transmit.destination, server_addr());
                let bytes = buf[..transmit.len].to_vec();
                match Message::decode(&bytes).expect("a client sends only valid frames") {
                    Message::Hello { nonce, .. } | Message::KeyRequest { nonce } => {
                        self.nonces[i] = nonce;
                    }
                    Message::Join { .. } => panic!("client {i} joined in the clear"),
                    _ => {}
                }
                self.send(Datagram { from: addr, to: server_addr(), bytes });
            }
            while let Some(event) = self.clients[i].poll_event() {
                match event {
                    // The application trusts only the real key (a pinned fingerprint).
                    ClientEvent::ServerKeyOffered { key, .. } if key == self.server_key => {
                        self.clients[i].trust_server_key(self.now, key);
                    }
                    ClientEvent::Message { from, text, history, .. } => {
                        assert_eq!(
                            self.said.get(text).map(String::as_str),
                            Some(from.as_str()),
                            "client {i} shows {text:?} as {from}'s"
                        );
                        if !history {
                            let shown = self.shown[i].entry(text.to_owned()).or_insert(0);
                            *shown += 1;
                            let stored = self.stored.get(text).copied().unwrap_or(0);
                            assert!(
                                *shown <= stored,
                                "client {i} showed {text:?} {shown} times, stored {stored}"
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Rounds of: everything in flight delivered, then 50 ms on.
    fn settle(&mut self, rounds: u8) {
        for _ in 0..rounds {
            for datagram in std::mem::take(&mut self.in_flight) {
                self.deliver(datagram);
            }
            self.pump();
            self.advance(50);
            self.pump();
        }
    }

    fn advance(&mut self, ms: u64) {
        self.now = self.now + Duration::from_millis(ms);
        if self.server.poll_timeout().is_some_and(|t| t <= self.now) {
            self.server.handle_timeout(self.now);
        }
        for client in &mut self.clients {
            if client.poll_timeout().is_some_and(|t| t <= self.now) {
                client.handle_timeout(self.now);
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let now = Instant::from_millis(u64::from(u32::MAX - u32::from(input.before_wrap) * 16));
    let keypair = Keypair::from_private(SERVER_PRIVATE);
    let server_key = *keypair.public();
    let mut config = ServerConfig::new([7; 16], 1);
    config.set_capacity(3).unwrap();
    let mut server = TheServer::new(config).expect("capacity 3 of 4");
    server.set_identity(ServerIdentity { keypair, psk: None, plaintext: false }, [2; 32]);
    let clients = (0..CLIENTS)
        .map(|i| {
            let name = NameBuf::parse(&name_of(i)).expect("valid");
            let config =
                ClientConfig::new(name.as_str(), server_addr(), 0x5eed + i as u64).expect("valid");
            let mut client = TheClient::new(config, now);
            match i {
                0 => client.set_server_key(ServerKey { public: server_key, psk: None }, [3; 32]),
                _ => {
                    client.discover_server_key(None, [4; 32]);
                    client.set_client_key(Keypair::from_private([0x70; 32]));
                }
            }
            client
        })
        .collect();
    let mut world = World {
        now,
        server,
        server_key,
        clients,
        epochs: [0; CLIENTS],
        in_flight: Vec::new(),
        seen: Vec::new(),
        verified: HashSet::new(),
        cookies: HashMap::new(),
        tokens: Vec::new(),
        nonces: [0; CLIENTS],
        said: HashMap::new(),
        said_count: 0,
        stored_seqs: HashSet::new(),
        stored: HashMap::new(),
        shown: vec![HashMap::new(); CLIENTS],
    };
    // Both clients join (one asking for the key first), so every run starts in session.
    world.pump();
    world.settle(8);
    for op in input.ops.into_iter().take(256) {
        match op {
            Op::Deliver(i) if !world.in_flight.is_empty() => {
                let i = usize::from(i) % world.in_flight.len();
                let datagram = world.in_flight.remove(i);
                world.deliver(datagram);
            }
            Op::DeliverAll => {
                for datagram in std::mem::take(&mut world.in_flight) {
                    world.deliver(datagram);
                }
            }
            Op::Settle(rounds) => world.settle(rounds % 16),
            Op::Drop(i) if !world.in_flight.is_empty() => {
                let i = usize::from(i) % world.in_flight.len();
                world.in_flight.remove(i);
            }
            Op::Replay(i) if !world.seen.is_empty() => {
                let datagram = world.seen[usize::from(i) % world.seen.len()].clone();
                world.deliver(datagram);
            }
            Op::Corrupt { index, at, xor } if !world.seen.is_empty() => {
                let mut datagram = world.seen[usize::from(index) % world.seen.len()].clone();
                let len = datagram.bytes.len();
                if len > 0 {
                    datagram.bytes[usize::from(at) % len] ^= xor.max(1);
                }
                world.deliver(datagram);
            }
            Op::Redirect { index, from } if !world.seen.is_empty() => {
                let mut datagram = world.seen[usize::from(index) % world.seen.len()].clone();
                if datagram.to == server_addr() {
                    datagram.from = stranger(from);
                    world.deliver(datagram);
                }
            }
            Op::Move(i) => {
                let i = usize::from(i) % CLIENTS;
                world.epochs[i] = world.epochs[i].wrapping_add(1) % 64;
            }
            Op::Advance(ms) => world.advance(u64::from(ms) * 4),
            Op::Say { client, length } => {
                let i = usize::from(client) % CLIENTS;
                world.said_count += 1;
                let text = format!(
                    "{} {}{}",
                    world.said_count,
                    name_of(i),
                    "!".repeat(usize::from(length))
                );
                if world.clients[i].say(world.now, &text).is_ok() {
                    world.said.insert(text, name_of(i));
                }
            }
            Op::Raw { to_client, from, bytes } => {
                let datagram = match to_client {
                    Some(i) => {
                        let i = usize::from(i) % CLIENTS;
                        Datagram { from: server_addr(), to: client_addr(i, world.epochs[i]), bytes }
                    }
                    None => Datagram { from: stranger(from), to: server_addr(), bytes },
                };
                world.deliver(datagram);
            }
            Op::Forge { kind, client, number, bytes } => {
                let i = usize::from(client) % CLIENTS;
                let addr = client_addr(i, world.epochs[i]);
                let token = if world.tokens.is_empty() {
                    Token(number)
                } else {
                    world.tokens[usize::from(client) % world.tokens.len()]
                };
                let bytes = &bytes[..bytes.len().min(900)];
                let (to_server, message) = match kind % 7 {
                    0 => {
                        let cookie = world.cookies.get(&addr).copied().unwrap_or(Cookie::EMPTY);
                        (true, Message::Hello { cookie, nonce: number, handshake: bytes })
                    }
                    1 => (true, Message::Sealed { token, counter: number, sealed: bytes }),
                    2 => (true, Message::KeyRequest { nonce: number }),
                    3 => (false, Message::Answer { nonce: world.nonces[i], handshake: bytes }),
                    4 => (false, Message::Sealed { token, counter: number, sealed: bytes }),
                    5 => {
                        let cookie = world.cookies.get(&addr).copied().unwrap_or(Cookie::EMPTY);
                        (true, Message::HelloKey { cookie, nonce: number, handshake: bytes })
                    }
                    _ => {
                        let impostor = *Keypair::from_private([0x66; 32]).public();
                        let key = Message::ServerKey {
                            nonce: world.nonces[i],
                            fleet: false,
                            key: impostor,
                        };
                        (false, key)
                    }
                };
                let mut buf = vec![0u8; message.buffer_len()];
                let Ok(len) = message.encode(&mut buf) else { continue };
                buf.truncate(len);
                let datagram = if to_server {
                    Datagram { from: addr, to: server_addr(), bytes: buf }
                } else {
                    Datagram { from: server_addr(), to: addr, bytes: buf }
                };
                world.deliver(datagram);
            }
            _ => {}
        }
        world.pump();
    }
});
