//! The attacks of issue 8, each replayed against the state machines on the simulated
//! network: forged refusals, look-alike names, one host taking every slot, a hijacked
//! session, and a server whose application is slow to take its events. Each test fails
//! on the protocol of version 1.

use std::net::SocketAddr;

use minichat_core::client::{MessageId, OwnedClientEvent};
use minichat_core::server::{LeftReason, ServerConfig, ServerEvent, StaticServer};
use minichat_core::time::{Duration, Instant};
use minichat_core::wire::ErrorCode;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Cookie, Message, Name, Token};
use minichat_tests::sim::{Faults, Sim, server_addr};

const SECOND: Duration = Duration::from_secs(1);

fn encode(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; message.buffer_len()];
    message.encode(&mut buf).unwrap();
    buf
}

/// The server's settings after a restart: the same secret (as firmware with a fixed one
/// has), the next boot.
fn restarted() -> ServerConfig {
    ServerConfig::new([0x5e; 16], 2)
}

fn joined(sim: &Sim, i: usize) -> bool {
    sim.clients[i].1.is_joined()
}

fn users(names: &[&str], seed: u64) -> Sim {
    Sim::joined(Sim::server_config(), seed, names)
}

#[test]
fn forged_refusals_and_cookies_do_not_end_a_rejoining_client() {
    let mut sim = users(&["alice", "bob"], 81);
    // The server restarts: both clients re-join, which is when a forged spray hits.
    sim.restart_server(restarted());
    let now = sim.now;
    let id = sim.client(0).say(now, "after the restart").unwrap();
    sim.run_for(Duration::from_millis(1));
    // Everything an off-path sender can forge without the join's nonce, from the
    // server's own address: a version-1 style refusal (error, token 0), refusals and
    // cookies with guessed nonces.
    let forged = [
        encode(&Message::Error {
            token: Token::NONE,
            code: ErrorCode::NameTaken,
            seq: 0,
            detail: "the name alice is taken",
        }),
        encode(&Message::Refused { nonce: 1, code: ErrorCode::NameTaken, detail: "taken" }),
        encode(&Message::Refused { nonce: 0, code: ErrorCode::ServerFull, detail: "full" }),
        encode(&Message::Cookie { cookie: Cookie([7; 16]), nonce: 2 }),
    ];
    for bytes in &forged {
        let now = sim.now;
        sim.client(0).handle(now, server_addr(), bytes);
    }
    assert!(!sim.clients[0].1.is_closed(), "a forged refusal closed the client");
    let delivered = sim.run_until(10 * SECOND, |s| s.saw(0, &OwnedClientEvent::Delivered { id }));
    assert!(delivered, "alice: {:?}", sim.client_events[0]);
    assert!(sim.saw(
        0,
        &OwnedClientEvent::Joined { name: *sim.clients[0].1.config().name(), rejoined: true }
    ));
}

#[test]
fn a_refused_rejoin_is_passing_and_the_client_gets_back_in_when_the_name_frees() {
    let mut sim = users(&["alice"], 82);
    sim.restart_server(restarted());
    // Someone else takes the name before alice's client is back.
    sim.client_up[0] = false;
    let usurper = sim.add_client("ALICE");
    assert!(sim.run_until(10 * SECOND, |s| joined(s, usurper)));
    sim.client_up[0] = true;
    let now = sim.now;
    sim.client(0).say(now, "still here").unwrap();
    let refused = sim.run_until(20 * SECOND, |s| {
        s.client_events[0].iter().any(|e| {
            matches!(e, OwnedClientEvent::RejoinRefused { code: ErrorCode::NameTaken, .. })
        })
    });
    assert!(refused, "alice: {:?}", sim.client_events[0]);
    assert!(!sim.clients[0].1.is_closed(), "a refused re-join ended the client");
    // The usurper leaves; alice's client gets back in by itself and its message goes.
    let now = sim.now;
    sim.client(usurper).leave(now).unwrap();
    assert!(
        sim.run_until(30 * SECOND, |s| s.saw(0, &OwnedClientEvent::Delivered { id: MessageId(0) }))
    );
    assert!(joined(&sim, 0));
}

#[test]
fn a_first_join_refused_for_its_name_says_why_and_closes() {
    let mut sim = users(&["alice", "ape"], 83);
    let cases = [
        ("аlice", ErrorCode::InvalidName), // Cyrillic а among Latin: mixed scripts
        ("аре", ErrorCode::NameTaken),     // all Cyrillic, looks like ape
        ("APE", ErrorCode::NameTaken),
        ("ＡＬＩＣＥ", ErrorCode::InvalidName), // fullwidth: not allowed at all
        ("alice\u{FE0F}", ErrorCode::InvalidName), // variation selector
        ("alice\u{3164}", ErrorCode::InvalidName), // Hangul filler
        ("bob\u{E0041}", ErrorCode::InvalidName), // tag character
        ("ѕerver", ErrorCode::InvalidName),     // Cyrillic ѕ: mixed, and the operator's
        ("SERVER", ErrorCode::NameTaken),       // the operator's name
        ("server\u{FE0F}", ErrorCode::InvalidName),
        ("alice:", ErrorCode::InvalidName),
        ("aIice", ErrorCode::NameTaken), // capital I
    ];
    for (name, code) in cases {
        let i = sim.add_client(name);
        assert!(sim.run_until(10 * SECOND, |s| s.clients[i].1.is_closed()), "{name:?} closes");
        assert!(
            sim.refusal(i, code).is_some(),
            "{name:?}: expected {code:?}, got {:?}",
            sim.client_events[i]
        );
    }
    assert_eq!(sim.server.user_count(), 2);
}

#[test]
fn one_ip_address_cannot_take_every_slot() {
    let mut config = Sim::server_config();
    config.set_per_ip(3).unwrap();
    config.set_capacity(8).unwrap();
    let mut sim = Sim::new(config, Faults::NONE, 84);
    // Every simulated client shares one IP address, each on its own port.
    for i in 0..5 {
        sim.add_client(&format!("u{i}"));
    }
    assert!(sim.run_until(10 * SECOND, |s| (3..5).all(|i| s.clients[i].1.is_closed())));
    assert!((0..3).all(|i| joined(&sim, i)));
    for i in 3..5 {
        assert!(sim.refusal(i, ErrorCode::TooManyFromAddress).is_some());
    }
    assert_eq!(sim.server.stats().refused_per_ip, 2);
    assert_eq!(sim.server.user_count(), 3, "the table still has room for other hosts");
}

/// An attacker who sniffed alice's token moves her session to its own address and speaks
/// in it. Whatever happens to alice's own message, her client never reports it delivered
/// unless bob got it, and she learns her session was taken.
#[test]
fn a_hijacked_session_never_reports_a_lost_message_as_delivered() {
    let mut sim = users(&["alice", "bob"], 85);
    let token = sim.clients[0].1.session_token().unwrap();
    let attacker: SocketAddr = "192.0.2.66:4444".parse().unwrap();
    sim.record = true;
    // alice writes while her link is down, so her message is queued, not yet sent...
    sim.client_up[0] = false;
    let now = sim.now;
    let mine = sim.client(0).say(now, "from the real alice").unwrap();
    // ... and the attacker moves the session to itself and speaks as alice, seq 1.
    let mark = sim.sent_to_strangers.len();
    sim.inject(attacker, &encode(&Message::Ping { token, req: 1 }));
    sim.run_for(Duration::from_millis(5));
    let nonce = sim.sent_to_strangers[mark..]
        .iter()
        .find_map(|(_, bytes)| match Message::decode(bytes) {
            Ok(Message::Challenge { nonce, .. }) => Some(nonce),
            _ => None,
        })
        .expect("the attacker is challenged");
    sim.inject(attacker, &encode(&Message::ChallengeResponse { token, nonce }));
    sim.run_for(Duration::from_millis(5));
    sim.inject(attacker, &encode(&Message::Say { token, seq: 1, text: "forged" }));
    assert!(sim.run_until(5 * SECOND, |s| s.received(1).contains(&"alice: forged".to_owned())));
    // alice's link comes back: she sends seq 1 too.
    sim.client_up[0] = true;
    sim.run_for(20 * SECOND);
    let bob_got_it = sim.received(1).contains(&"alice: from the real alice".to_owned());
    let events = &sim.client_events[0];
    if events.contains(&OwnedClientEvent::Delivered { id: mine }) {
        assert!(bob_got_it, "alice's client reported a message bob never got: {events:?}");
    } else {
        assert!(
            events.contains(&OwnedClientEvent::MaybeLost { id: mine })
                || events.contains(&OwnedClientEvent::Failed { id: mine }),
            "alice was not told her message may be lost: {events:?}"
        );
    }
    // The README's promise: the client is told, joins again, and reports what may be lost.
    let moved = events.iter().position(|e| *e == OwnedClientEvent::SessionMoved);
    assert!(moved.is_some(), "alice never learned her session was taken: {events:?}");
    if let Some(lost) = events.iter().position(|e| *e == OwnedClientEvent::MaybeLost { id: mine }) {
        assert!(lost < moved.unwrap(), "told of the loss only after the move: {events:?}");
    }
    assert!(sim.clients[0].1.is_joined(), "alice joined again");
    assert_ne!(sim.clients[0].1.session_token(), Some(token), "in a session of her own");
}

/// A client whose own address changed (NAT rebinding) moves its session and loses
/// nothing: the confirmation names its own challenge.
#[test]
fn a_genuine_address_change_moves_the_session_and_loses_nothing() {
    let mut sim = users(&["alice", "bob"], 86);
    sim.clients[0].0 = "10.0.9.9:7000".parse().unwrap();
    let now = sim.now;
    let id = sim.client(0).say(now, "from my new address").unwrap();
    assert!(sim.run_until(10 * SECOND, |s| s.saw(0, &OwnedClientEvent::Delivered { id })));
    assert_eq!(sim.received(1), ["alice: from my new address"]);
    assert!(!sim.saw(0, &OwnedClientEvent::SessionMoved));
    assert!(sim.server_events.iter().any(|e| matches!(e, ServerEvent::Moved { .. })));
}

/// Joins, the join's reports and messages in bursts far larger than the event queue,
/// with an application that takes its events only now and then: nothing is dropped.
#[test]
fn no_server_event_is_dropped_when_the_application_is_slow() {
    // A server with a large ring is built on the stack before it is boxed.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(slow_application)
        .unwrap()
        .join()
        .unwrap();
}

fn slow_application() {
    let mut config = ServerConfig::new([1; 16], 1);
    config.set_per_ip(0).unwrap();
    config.set_rate_per_sec(0).unwrap();
    let mut server: Box<StaticServer<256, 1024>> = Box::new(StaticServer::new(config).unwrap());
    let mut buf = [0u8; MAX_FRAME];
    let now = Instant::ZERO;
    let addr = |i: u16| SocketAddr::from(([10, 1, 0, 1], 2000 + i));
    let mut tokens = Vec::new();
    let mut events = Vec::new();
    for round in 0..10 {
        for i in 0..200u16 {
            if tokens.iter().any(|(j, _)| *j == i) {
                continue;
            }
            let name = format!("user{i}");
            let name = Name::new(&name).unwrap();
            let first = Message::Join {
                cookie: Cookie::EMPTY,
                nonce: u64::from(i),
                window: 8,
                resume: Token::NONE,
                delivered: 0,
                name,
                max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
            };
            let Some(reply) = server.handle(now, addr(i), &encode(&first), &mut buf) else {
                continue;
            };
            let Ok(Message::Cookie { cookie, .. }) = Message::decode(&buf[..reply.len]) else {
                panic!()
            };
            let second = Message::Join {
                cookie,
                nonce: u64::from(i),
                window: 8,
                resume: Token::NONE,
                delivered: 0,
                name,
                max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
            };
            if let Some(reply) = server.handle(now, addr(i), &encode(&second), &mut buf)
                && let Ok(Message::Welcome { token, .. }) = Message::decode(&buf[..reply.len])
            {
                tokens.push((i, token));
            }
        }
        // The application wakes up only after each round of 200 joins.
        while let Some(event) = server.poll_event() {
            events.push(event);
        }
        if tokens.len() == 200 {
            assert!(round > 0, "the event queue cannot have held 200 joins at once");
            break;
        }
    }
    assert_eq!(tokens.len(), 200, "every join got in, once the application caught up");
    let joined = events.iter().filter(|e| matches!(e, ServerEvent::Joined { .. })).count();
    assert_eq!(joined, 200, "one Joined event per user");
    // 800 messages at once: all readable by number, none announced by a droppable event.
    let (_, token) = tokens[0];
    for seq in 1..=800u32 {
        let say = Message::Say { token, seq, text: "burst" };
        server.handle(now, addr(0), &encode(&say), &mut buf);
    }
    assert_eq!(server.newest_message(), 800);
    assert!((1..=800).all(|seq| server.message(seq).is_some_and(|m| m.text == "burst")));
    assert_eq!(server.stats().events_dropped, 0);
}

/// A server restarted with the same secret must not hand a returning client's old token
/// to someone else: the old holder would be taken for the new one and move its session.
#[test]
fn a_restart_with_the_same_secret_never_reissues_a_token() {
    let mut sim = users(&["alice"], 87);
    let old = sim.clients[0].1.session_token().unwrap();
    sim.restart_server(restarted());
    // Before alice notices, bob joins the restarted server: his token is a new one.
    sim.client_up[0] = false;
    let bob = sim.add_client("bob");
    assert!(sim.run_until(10 * SECOND, |s| joined(s, bob)));
    assert_ne!(sim.clients[bob].1.session_token(), Some(old));
    // alice comes back with her old token: she is told to join again, bob keeps his
    // session where it is.
    sim.client_up[0] = true;
    let now = sim.now;
    let id = sim.client(0).say(now, "back").unwrap();
    assert!(sim.run_until(10 * SECOND, |s| s.saw(0, &OwnedClientEvent::Delivered { id })));
    assert!(sim.saw(0, &OwnedClientEvent::SessionLost));
    assert!(!sim.server_events.iter().any(|e| matches!(e, ServerEvent::Moved { .. })));
    assert!(!sim.saw(bob, &OwnedClientEvent::SessionMoved));
    assert_eq!(sim.received(bob), ["alice: back"]);
}

/// A `missed` naming a number 2^31 ahead costs the client no more than what it holds.
#[test]
fn a_crafted_missed_is_counted_at_once_not_walked() {
    let mut sim = users(&["alice"], 88);
    let token = sim.clients[0].1.session_token().unwrap();
    let far = (1u32 << 31) - 1;
    let missed = encode(&Message::Missed { token, seq: far });
    let now = sim.now;
    sim.client(0).handle(now, server_addr(), &missed);
    assert!(
        sim.clients[0]
            .1
            .poll_event()
            .map(|e| e.into_owned())
            .is_some_and(|e| e == OwnedClientEvent::Missed { count: far })
    );
}

/// A shutdown is reported as such, to the operator's record, not as an ordinary leave.
#[test]
fn a_shutdown_is_recorded_as_a_shutdown() {
    let mut sim = users(&["alice", "bob"], 89);
    sim.server.shutdown();
    assert!(sim.run_until(5 * SECOND, |s| s.saw(0, &OwnedClientEvent::ServerShutdown)));
    let reasons: Vec<LeftReason> = sim
        .server_events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Left { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [LeftReason::ServerShutdown, LeftReason::ServerShutdown]);
}
