//! The server under arbitrary traffic from several addresses: it never panics, and it never
//! sends an address it has not verified more bytes than that address sent it.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use minichat_core::secure::{Initiator, Keypair, PROLOGUE, Pattern};
use minichat_core::server::ServerIdentity;
use minichat_core::time::Instant;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Cookie, EchoMode, Message, Name, Token};
use minichat_tests::seeded;
use minichat_tests::sim::{Sim, TestServer};
use minichat_tests::strategies::{frame_like_bytes, name};
use proptest::prelude::*;

/// One thing a peer does.
#[derive(Debug, Clone)]
enum Action {
    /// Arbitrary bytes, often almost a frame.
    Raw(Vec<u8>),
    /// A first-step join.
    Join(String),
    /// A join echoing the last cookie the server sent this address.
    JoinWithCookie(String),
    /// A session frame with the token last issued to address `token_of` (maybe another's).
    Session {
        token_of: usize,
        kind: u8,
        seq: u32,
        text: String,
    },
    /// An encrypted session's first step: a key request, or a hello with no cookie.
    KeyRequest,
    Hello(String),
    /// A hello echoing the last cookie, its handshake made for the server's key.
    HelloWithCookie(String),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        2 => frame_like_bytes().prop_map(Action::Raw),
        2 => name().prop_map(Action::Join),
        3 => name().prop_map(Action::JoinWithCookie),
        6 => (0..4usize, 0..9u8, 0..6u32, "[a-z ]{0,12}").prop_map(|(token_of, kind, seq, text)| Action::Session { token_of, kind, seq, text }),
        1 => Just(Action::KeyRequest),
        1 => name().prop_map(Action::Hello),
        2 => name().prop_map(Action::HelloWithCookie),
    ]
}

const SERVER_KEY: [u8; 32] = [0x42; 32];

/// A hello for the server with `SERVER_KEY`, joining as `name`.
fn hello(cookie: Cookie, name: &str) -> Vec<u8> {
    let join = Message::Join {
        cookie: Cookie::EMPTY,
        nonce: 7,
        window: 33,
        resume: Token::NONE,
        delivered: 0,
        name: Name::new(name).unwrap(),
        max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
    };
    let mut payload = vec![0u8; join.buffer_len()];
    join.encode(&mut payload).unwrap();
    let server = *Keypair::from_private(SERVER_KEY).public();
    let mut handshake = [0u8; MAX_FRAME];
    let (_, len) =
        Initiator::start(&Pattern::Nk, PROLOGUE, &server, [5; 32], &payload, &mut handshake)
            .unwrap();
    let m = Message::Hello { cookie, nonce: 7, handshake: &handshake[..len] };
    let mut b = vec![0u8; m.buffer_len()];
    m.encode(&mut b).unwrap();
    b
}

fn peer(i: usize) -> SocketAddr {
    SocketAddr::from(([172, 16, 0, i as u8 + 1], 6000))
}

fn session_frame(token: Token, kind: u8, seq: u32, text: &str) -> Vec<u8> {
    let to = Name::new("p0").unwrap();
    let message = match kind {
        0 => Message::Say { token, seq, text },
        1 => Message::Tell { token, seq, to, text },
        2 => Message::Leave { token, seq },
        3 => Message::Ack { token, seq, sack: seq.rotate_left(3) },
        4 => Message::Who { token, req: seq, start: 0 },
        5 => Message::Echo { token, req: seq, mode: EchoMode::Upper, text },
        6 => Message::Ping { token, req: seq },
        7 => Message::ChallengeResponse { token, nonce: seq },
        _ => Message::Pong { token, req: seq },
    };
    let mut buf = vec![0u8; message.buffer_len()];
    message.encode(&mut buf).unwrap();
    buf
}

proptest! {
    #![proptest_config(seeded(512))]

    /// In the clear only, encrypted and in the clear (`--plaintext`), or encrypted only
    /// (the host's default, which refuses plain joins).
    #[test]
    fn never_panics_and_never_amplifies_toward_unverified_addresses(
        security in 0..3u8,
        steps in proptest::collection::vec((0..4usize, action(), 0..3000u64), 1..80)
    ) {
        let mut config = Sim::server_config();
        config.set_capacity(3).unwrap();
        let mut server = TestServer::new(config).unwrap();
        if security > 0 {
            let keypair = Keypair::from_private(SERVER_KEY);
            let plaintext = security == 1;
            server.set_identity(ServerIdentity { keypair, psk: None, plaintext }, [1; 32]);
        }
        let mut now = Instant::ZERO;
        let mut buf = [0u8; MAX_FRAME];
        let mut cookies: HashMap<SocketAddr, Cookie> = HashMap::new();
        let mut tokens: HashMap<usize, Token> = HashMap::new();
        let mut verified: HashSet<SocketAddr> = HashSet::new();
        for (who, action, advance) in steps {
            now = now + minichat_core::time::Duration::from_millis(advance);
            let from = peer(who);
            let (datagram, proves_address) = match &action {
                Action::Raw(bytes) => (bytes.clone(), false),
                Action::Join(name) => {
                    let m = Message::Join { cookie: Cookie::EMPTY, nonce: 7, window: 33, resume: Token::NONE, delivered: 0, name: Name::new(name).unwrap(), max_frame: minichat_core::wire::limits::MAX_FRAME_U16 };
                    let mut b = vec![0u8; m.buffer_len()];
                    m.encode(&mut b).unwrap();
                    (b, false)
                }
                Action::JoinWithCookie(name) => {
                    let cookie = cookies.get(&from).copied().unwrap_or(Cookie::EMPTY);
                    let m = Message::Join { cookie, nonce: 7, window: 33, resume: Token::NONE, delivered: 0, name: Name::new(name).unwrap(), max_frame: minichat_core::wire::limits::MAX_FRAME_U16 };
                    let mut b = vec![0u8; m.buffer_len()];
                    m.encode(&mut b).unwrap();
                    // A cookie the server minted for this very address proves it.
                    (b, !cookie.is_empty())
                }
                Action::Session { token_of, kind, seq, text } => {
                    let token = tokens.get(token_of).copied().unwrap_or(Token(0x5eed));
                    (session_frame(token, *kind, *seq, text), false)
                }
                Action::KeyRequest => {
                    let m = Message::KeyRequest { nonce: 3 };
                    let mut b = vec![0u8; m.buffer_len()];
                    m.encode(&mut b).unwrap();
                    (b, false)
                }
                Action::Hello(name) => (hello(Cookie::EMPTY, name), false),
                Action::HelloWithCookie(name) => {
                    let cookie = cookies.get(&from).copied().unwrap_or(Cookie::EMPTY);
                    (hello(cookie, name), !cookie.is_empty())
                }
            };
            if server.poll_timeout().is_some_and(|t| t <= now) {
                server.handle_timeout(now);
            }
            let reply = server.handle(now, from, &datagram, &mut buf);
            if let Some(reply) = reply {
                let trusted = verified.contains(&from) || proves_address;
                prop_assert!(
                    trusted || reply.len <= datagram.len(),
                    "{} bytes sent to unverified {} for {} received: {:?}",
                    reply.len, from, datagram.len(), Message::decode(&buf[..reply.len])
                );
                match Message::decode(&buf[..reply.len]) {
                    Ok(Message::Cookie { cookie, .. }) => { cookies.insert(reply.destination, cookie); }
                    Ok(Message::Welcome { token, .. }) => { tokens.insert(who, token); }
                    _ => {}
                }
            }
            for (_, addr) in server.users() {
                verified.insert(addr);
            }
            while let Some(transmit) = server.poll_transmit(now, &mut buf) {
                prop_assert!(verified.contains(&transmit.destination), "poll_transmit to unverified {}", transmit.destination);
                prop_assert!(Message::decode(&buf[..transmit.len]).is_ok());
            }
            while server.poll_event().is_some() {}
            prop_assert!(server.user_count() <= 3);
        }
    }
}
