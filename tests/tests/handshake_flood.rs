//! A flood of `hello`s against the server's state machine (the attacks of issue 24, item
//! 2): one source with one valid cookie gets its host's handshake budget and no more, a
//! resent hello is answered from what was kept (no handshake work), and an honest host
//! joins while another floods.

use std::net::SocketAddr;

use minichat_core::secure::{Initiator, Keypair, PROLOGUE, Pattern};
use minichat_core::server::{
    DEFAULT_HANDSHAKES_PER_SEC, DEFAULT_PER_IP, ServerConfig, ServerIdentity,
};
use minichat_core::time::{Duration, Instant};
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Cookie, Message, Name, Token};
use minichat_tests::sim::{Sim, TestServer};

const SERVER_KEY: [u8; 32] = [0x42; 32];

fn encrypted_only(config: ServerConfig) -> TestServer {
    let mut server = TestServer::new(config).unwrap();
    let keypair = Keypair::from_private(SERVER_KEY);
    server.set_identity(ServerIdentity { keypair, psk: None, plaintext: false }, [1; 32]);
    server
}

fn encode(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; message.buffer_len()];
    message.encode(&mut buf).unwrap();
    buf
}

/// A hello joining as `name`, with the client's ephemeral key `ephemeral`: a real one
/// for the server's key.
fn hello(cookie: Cookie, nonce: u64, name: &str, ephemeral: u8) -> Vec<u8> {
    let join = encode(&Message::Join {
        cookie: Cookie::EMPTY,
        nonce,
        window: 16,
        resume: Token::NONE,
        delivered: 0,
        name: Name::new(name).unwrap(),
        max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
    });
    let server = *Keypair::from_private(SERVER_KEY).public();
    let mut handshake = [0u8; MAX_FRAME];
    let (_, len) =
        Initiator::start(&Pattern::Nk, PROLOGUE, &server, [ephemeral; 32], &join, &mut handshake)
            .unwrap();
    encode(&Message::Hello { cookie, nonce, handshake: &handshake[..len] })
}

/// A hello with a valid cookie whose handshake is garbage: it costs the server a
/// Diffie-Hellman computation before it fails.
fn garbage_hello(cookie: Cookie, i: u32) -> Vec<u8> {
    let mut handshake = [0u8; 80];
    for (j, b) in handshake.iter_mut().enumerate() {
        *b = (i as usize * 31 + j * 7) as u8;
    }
    encode(&Message::Hello { cookie, nonce: u64::from(i), handshake: &handshake })
}

/// The cookie `server` gives `from` at `now`.
fn cookie(server: &mut TestServer, now: Instant, from: SocketAddr) -> Cookie {
    let mut buf = [0u8; MAX_FRAME];
    let first = hello(Cookie::EMPTY, 1, "x", 1);
    let reply = server.handle(now, from, &first, &mut buf).unwrap();
    match Message::decode(&buf[..reply.len]).unwrap() {
        Message::Cookie { cookie, .. } => cookie,
        other => panic!("expected a cookie, got {other:?}"),
    }
}

fn attacker() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 66], 4000))
}

#[test]
fn one_source_with_one_cookie_gets_its_hosts_budget_and_no_more() {
    let mut server = encrypted_only(Sim::server_config());
    let t0 = Instant::from_millis(10_000);
    let cookie = cookie(&mut server, t0, attacker());
    let mut buf = [0u8; MAX_FRAME];
    for i in 0..1_000 {
        assert!(server.handle(t0, attacker(), &garbage_hello(cookie, i), &mut buf).is_none());
    }
    let burst = u64::from(DEFAULT_PER_IP);
    assert_eq!(server.stats().sealed_dropped, burst, "handshakes attempted");
    assert_eq!(server.stats().handshakes_limited, 1_000 - burst);
    // Another port of the same host shares its budget (a cookie of its own changes
    // nothing): and then the host gets its rate, a second later.
    let other_port = SocketAddr::from(([10, 0, 0, 66], 4001));
    let cookie2 = self::cookie(&mut server, t0, other_port);
    assert!(server.handle(t0, other_port, &garbage_hello(cookie2, 7), &mut buf).is_none());
    assert_eq!(server.stats().sealed_dropped, burst);
    let later = t0 + Duration::from_secs(1);
    for i in 0..100 {
        server.handle(later, attacker(), &garbage_hello(cookie, i), &mut buf);
    }
    assert_eq!(server.stats().sealed_dropped, burst + u64::from(DEFAULT_HANDSHAKES_PER_SEC));
}

#[test]
fn a_resent_hello_is_answered_from_what_was_kept() {
    let mut server = encrypted_only(Sim::server_config());
    let t0 = Instant::from_millis(10_000);
    let from = SocketAddr::from(([10, 0, 0, 7], 5000));
    let cookie = cookie(&mut server, t0, from);
    // The longest name, so the longest answer a welcome makes is kept.
    let valid = hello(cookie, 99, "abcdefghijklmnop", 3);
    let mut buf = [0u8; MAX_FRAME];
    let first = server.handle(t0, from, &valid, &mut buf).unwrap();
    let answer = buf[..first.len].to_vec();
    assert!(matches!(Message::decode(&answer), Ok(Message::Answer { nonce: 99, .. })));
    // Replayed many times over (more than the host's budget): the same answer, every
    // time, and the session it made is the only one.
    for _ in 0..100 {
        let again = server.handle(t0, from, &valid, &mut buf).unwrap();
        assert_eq!(&buf[..again.len], &answer[..]);
    }
    assert_eq!(server.stats().handshakes, 1);
    assert_eq!(server.stats().answers_resent, 100);
    assert_eq!(server.stats().handshakes_limited, 0);
    assert_eq!(server.user_count(), 1);
    // A plain join naming the same attempt (its nonce and name are in the clear) is not
    // the hello's resend: it gets a cookie, never the session's welcome in the clear.
    let plain = encode(&Message::Join {
        cookie: Cookie::EMPTY,
        nonce: 99,
        window: 16,
        resume: Token::NONE,
        delivered: 0,
        name: Name::new("abcdefghijklmnop").unwrap(),
        max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
    });
    let reply = server.handle(t0, from, &plain, &mut buf).unwrap();
    assert!(matches!(Message::decode(&buf[..reply.len]), Ok(Message::Cookie { .. })));
}

#[test]
fn an_honest_host_joins_while_another_floods() {
    let mut server = encrypted_only(Sim::server_config());
    let t0 = Instant::from_millis(10_000);
    let cookie = cookie(&mut server, t0, attacker());
    let honest = SocketAddr::from(([10, 0, 0, 8], 5000));
    let honest_cookie = self::cookie(&mut server, t0, honest);
    let mut buf = [0u8; MAX_FRAME];
    for i in 0..500 {
        server.handle(t0, attacker(), &garbage_hello(cookie, i), &mut buf);
    }
    let reply = server.handle(t0, honest, &hello(honest_cookie, 5, "bob", 4), &mut buf).unwrap();
    assert!(matches!(Message::decode(&buf[..reply.len]), Ok(Message::Answer { nonce: 5, .. })));
    assert_eq!(server.user_count(), 1);
}

#[test]
fn a_server_told_no_limit_takes_every_handshake() {
    let mut config = Sim::server_config();
    config.set_handshakes_per_sec(0).unwrap();
    let mut server = encrypted_only(config);
    let t0 = Instant::from_millis(10_000);
    let cookie = cookie(&mut server, t0, attacker());
    let mut buf = [0u8; MAX_FRAME];
    for i in 0..50 {
        server.handle(t0, attacker(), &garbage_hello(cookie, i), &mut buf);
    }
    assert_eq!(server.stats().sealed_dropped, 50);
    assert_eq!(server.stats().handshakes_limited, 0);
}

#[test]
fn a_recorded_hello_replayed_after_its_session_began_changes_nothing() {
    use minichat_tests::sim::{Faults, client_addr};
    let mut sim = Sim::new(Sim::server_config(), Faults::NONE, 24);
    sim.secure(SERVER_KEY, None);
    sim.record = true;
    let alice = sim.add_client("alice");
    let bob = sim.add_client("bob");
    let both = |s: &Sim| s.clients.iter().all(|(_, c)| c.is_joined());
    assert!(sim.run_until(Duration::from_secs(10), both));
    let now = sim.now;
    sim.client(alice).say(now, "first").unwrap();
    let got = |text: &'static str| move |s: &Sim| s.received(bob).iter().any(|l| l.ends_with(text));
    assert!(sim.run_until(Duration::from_secs(10), got("first")));
    // Everything alice's address sent in the clear to make her session (her hellos), sent
    // again by someone who recorded it, from her address, after her first sealed frames.
    let recorded: Vec<Vec<u8>> = sim
        .wire_log
        .iter()
        .filter(|(from, _, bytes)| {
            *from == client_addr(alice)
                && matches!(Message::decode(bytes), Ok(Message::Hello { cookie, .. }) if !cookie.is_empty())
        })
        .map(|(_, _, bytes)| bytes.clone())
        .collect();
    assert!(!recorded.is_empty());
    let handshakes = sim.server.stats().handshakes;
    for hello in &recorded {
        sim.inject(client_addr(alice), hello);
    }
    sim.run_for(Duration::from_millis(100));
    // Her session keeps its keys: what she says next still opens, and arrives.
    let now = sim.now;
    sim.client(alice).say(now, "second").unwrap();
    assert!(sim.run_until(Duration::from_secs(10), got("second")));
    assert_eq!(sim.server.stats().handshakes, handshakes, "no new session keys");
    assert_eq!(sim.server.stats().joins, 2, "alice never had to join again");
}
