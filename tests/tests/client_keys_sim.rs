//! Client keys over the simulated network (`docs/PROTOCOL.md`, section 12, "Client
//! keys"): a client proves a static key of its own in its join (`hello-key`, Noise `IK`),
//! the server learns it, and the embedding's records (here the simulation's directory)
//! decide who may take which name — before the session costs a slot. A recording of a real
//! user's join, replayed from elsewhere, joins no one.

use minichat_core::secure::Keypair;
use minichat_core::time::Duration;
use minichat_core::wire::{Cookie, ErrorCode, Kind, Message, NameBuf};
use minichat_tests::sim::{Faults, Sim, client_addr};

const SECOND: Duration = Duration::from_secs(1);
const SERVER_KEY: [u8; 32] = [0x42; 32];

fn keypair(byte: u8) -> Keypair {
    Keypair::from_private([byte; 32])
}

fn name(text: &str) -> NameBuf {
    NameBuf::new(minichat_core::wire::Name::new(text).unwrap())
}

/// A secure server; a client per name with the key pair made from the byte beside it
/// (`None`: no key of its own).
fn room(seed: u64, clients: &[(&str, Option<u8>)]) -> Sim {
    let mut sim = Sim::new(Sim::server_config(), Faults::NONE, seed);
    sim.secure(SERVER_KEY, None);
    for (user, key) in clients {
        let i = sim.add_client(user);
        if let Some(byte) = key {
            sim.client(i).set_client_key(keypair(*byte));
        }
    }
    sim
}

fn joined(sim: &Sim, i: usize) -> bool {
    sim.clients[i].1.is_joined()
}

#[test]
fn a_client_key_is_proved_in_the_join_and_never_crosses_the_wire_in_the_clear() {
    let mut sim = room(1, &[("alice", Some(1)), ("bob", None)]);
    sim.record = true;
    assert!(sim.run_until(30 * SECOND, |s| joined(s, 0) && joined(s, 1)));
    let keys: Vec<(String, Option<[u8; 32]>)> =
        sim.server.users_with_keys().map(|(n, _, k)| (n.to_string(), k.copied())).collect();
    assert!(keys.contains(&("alice".to_owned(), Some(*keypair(1).public()))), "{keys:?}");
    assert!(keys.contains(&("bob".to_owned(), None)), "{keys:?}");
    let alice = keypair(1);
    let mut kinds = Vec::new();
    for (from, _, bytes) in &sim.wire_log {
        assert!(
            !bytes.windows(32).any(|w| w == alice.public()),
            "alice's key in the clear from {from}"
        );
        if *from == client_addr(0) {
            kinds.push(bytes[2]);
        }
    }
    assert!(kinds.contains(&Kind::HelloKey.to_byte()), "alice joins with a hello-key");
    assert!(!kinds.contains(&Kind::Hello.to_byte()), "and never with a plain hello");
    // And the session works as any other.
    let now = sim.now;
    sim.client(0).say(now, "signed, alice").unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.received(1) == ["alice: signed, alice"]));
}

#[test]
fn a_name_owned_by_a_key_is_refused_to_another_key_and_to_a_session_without_one() {
    let mut sim = room(2, &[]);
    sim.elsewhere.owners.push((name("alice"), *keypair(1).public()));
    let mallory = sim.add_client("alice");
    sim.client(mallory).set_client_key(keypair(2));
    let plain = sim.add_client("Alice"); // a look-alike, and no key
    assert!(sim.run_until(20 * SECOND, |s| {
        s.refusal(mallory, ErrorCode::NameOwned).is_some()
            && s.refusal(plain, ErrorCode::NameOwned).is_some()
    }));
    assert_eq!(
        sim.refusal(mallory, ErrorCode::NameOwned).unwrap(),
        "the name alice belongs to another key"
    );
    assert_eq!(sim.server.user_count(), 0);
    assert_eq!(sim.server.stats().refused_key, 2);
    // The owner joins.
    let alice = sim.add_client("alice");
    sim.client(alice).set_client_key(keypair(1));
    assert!(sim.run_until(20 * SECOND, |s| joined(s, alice)));
}

#[test]
fn only_listed_keys_join_and_a_refused_key_costs_no_slot() {
    let mut config = Sim::server_config();
    config.set_capacity(1).unwrap();
    let mut sim = Sim::new(config, Faults::NONE, 3);
    sim.secure(SERVER_KEY, None);
    sim.elsewhere.listed_only = true;
    sim.elsewhere.owners.push((name("mcu"), *keypair(7).public()));
    let outsiders: Vec<usize> = (0..4)
        .map(|i| {
            let c = sim.add_client(&format!("guest{i}"));
            sim.client(c).set_client_key(keypair(20 + i as u8));
            c
        })
        .collect();
    let plain = sim.add_client("nokey");
    let wrong_name = sim.add_client("other");
    sim.client(wrong_name).set_client_key(keypair(7));
    let unauthorized = |s: &Sim, i: usize| s.refusal(i, ErrorCode::KeyNotAuthorized).is_some();
    assert!(sim.run_until(30 * SECOND, |s| {
        outsiders.iter().all(|&i| unauthorized(s, i))
            && unauthorized(s, plain)
            && unauthorized(s, wrong_name)
    }));
    assert_eq!(sim.server.user_count(), 0, "no refused key took the one slot");
    assert_eq!(
        sim.refusal(plain, ErrorCode::KeyNotAuthorized).unwrap(),
        "this server lets in only the keys its operator listed"
    );
    // The listed device takes the one slot.
    let mcu = sim.add_client("mcu");
    sim.client(mcu).set_client_key(keypair(7));
    assert!(sim.run_until(20 * SECOND, |s| joined(s, mcu)));
}

#[test]
fn a_banned_key_is_refused_under_any_name() {
    let mut sim = room(4, &[]);
    sim.elsewhere.banned.push(*keypair(9).public());
    let banned = sim.add_client("troll");
    sim.client(banned).set_client_key(keypair(9));
    assert!(sim.run_until(20 * SECOND, |s| s.refusal(banned, ErrorCode::KeyBanned).is_some()));
    assert_eq!(sim.server.user_count(), 0);
}

/// Alice's second-step hello-key, sniffed and replayed from another address: the
/// attacker is sent a cookie for its own address, and with that cookie put in the frame's
/// clear part, the join inside (which carries alice's cookie, sealed and authenticated by
/// her key) no longer matches: dropped, no session, no answer.
#[test]
fn a_recorded_join_replayed_from_another_address_joins_no_one() {
    let mut sim = room(5, &[("alice", Some(1))]);
    sim.record = true;
    assert!(sim.run_until(20 * SECOND, |s| joined(s, 0)));
    let hello = sim
        .wire_log
        .iter()
        .filter(|(from, _, bytes)| *from == client_addr(0) && bytes[2] == Kind::HelloKey.to_byte())
        .map(|(_, _, bytes)| bytes.clone())
        .find(|bytes| bytes[3..19] != [0; 16])
        .expect("alice's second step");
    // Alice leaves, so the name is free for the taking.
    let now = sim.now;
    sim.client(0).leave(now).unwrap();
    assert!(sim.run_until(10 * SECOND, |s| s.server.user_count() == 0));
    let attacker = "10.9.9.9:4444".parse().unwrap();
    sim.inject(attacker, &hello);
    sim.run_for(SECOND);
    let cookie = sim
        .sent_to_strangers
        .iter()
        .find_map(|(to, reply)| match Message::decode(reply) {
            Ok(Message::Cookie { cookie, .. }) if *to == attacker => Some(cookie),
            _ => None,
        })
        .expect("the attacker's address is sent a cookie of its own");
    let mut forged = hello.clone();
    forged[3..19].copy_from_slice(&cookie.0);
    assert_ne!(Cookie(hello[3..19].try_into().unwrap()), cookie);
    let malformed = sim.server.stats().malformed;
    let strangers = sim.sent_to_strangers.len();
    sim.inject(attacker, &forged);
    sim.run_for(SECOND);
    assert_eq!(sim.server.user_count(), 0, "nobody joined as alice");
    assert_eq!(sim.server.stats().malformed, malformed + 1, "the join inside did not match");
    assert_eq!(sim.sent_to_strangers.len(), strangers, "and the attacker got no answer");
}

/// `key-of`: whose key is a name? The key its user's join proved, none for a session
/// without one, the recorded owner's for a name nobody here holds, and none for a name
/// nobody holds or owns.
#[test]
fn a_client_asks_whose_key_a_user_has() {
    use minichat_core::client::OwnedClientEvent;
    let mut sim = room(6, &[("alice", Some(1)), ("bob", None), ("carol", Some(3))]);
    sim.elsewhere.owners.push((name("dave"), *keypair(4).public()));
    assert!(sim.run_until(30 * SECOND, |s| (0..3).all(|i| joined(s, i))));
    let answers = [
        ("alice", true, Some(*keypair(1).public())),
        ("BOB", true, None),
        ("dave", false, Some(*keypair(4).public())),
        ("nobody", false, None),
    ];
    for (name, here, key) in answers {
        let now = sim.now;
        sim.client(2).key_of(now, name).unwrap();
        let expected = OwnedClientEvent::UserKey { name: self::name(name), here, key };
        assert!(sim.run_until(5 * SECOND, |s| s.saw(2, &expected)), "{name}: {expected:?}");
    }
    // One question at a time.
    let now = sim.now;
    sim.client(2).key_of(now, "alice").unwrap();
    assert!(sim.client(2).key_of(now, "bob").is_err());
}

/// The same user back from another address (a client that restarted elsewhere, its old
/// session still there): its key proves it, so it takes its name over at once, where
/// anyone else waits for the old session to expire.
#[test]
fn the_same_key_from_another_address_takes_its_name_over_at_once() {
    let mut sim = room(7, &[("alice", Some(1))]);
    assert!(sim.run_until(20 * SECOND, |s| joined(s, 0)));
    sim.client_up[0] = false; // its old session stays, silent
    let again = sim.add_client("alice");
    sim.client(again).set_client_key(keypair(1));
    let other = sim.add_client("alice");
    sim.client(other).set_client_key(keypair(2));
    assert!(sim.run_until(20 * SECOND, |s| joined(s, again)));
    assert_eq!(sim.server.user_count(), 1, "the old session ended");
    assert!(!joined(&sim, other), "another key waits");
    assert!(sim.server_events.iter().any(|event| matches!(
        event,
        minichat_core::server::ServerEvent::Left {
            reason: minichat_core::server::LeftReason::Replaced,
            ..
        }
    )));
}
