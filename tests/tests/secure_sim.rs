//! Encrypted sessions end to end over the simulated network (`docs/PROTOCOL.md`, section
//! 12): the handshake inside the join, sealed frames both ways, and what an attacker on
//! the path can no longer do — read, forge, replay, take a session over with a copied
//! token, or refuse a client on the server's behalf.

use minichat_core::client::{OwnedClientEvent, ServerKey};
use minichat_core::secure::Keypair;
use minichat_core::time::Duration;
use minichat_core::wire::{ErrorCode, Kind, Message, Token};
use minichat_tests::sim::{Faults, Sim, client_addr, server_addr};

const SECOND: Duration = Duration::from_secs(1);
const SERVER_KEY: [u8; 32] = [0x42; 32];

fn joined(sim: &Sim, i: usize) -> bool {
    sim.clients[i].1.is_joined()
}

/// A secure server and clients with `names`, all joined.
fn secure_room(faults: Faults, seed: u64, names: &[&str]) -> Sim {
    let mut sim = Sim::new(Sim::server_config(), faults, seed);
    sim.secure(SERVER_KEY, None);
    for name in names {
        sim.add_client(name);
    }
    let n = names.len();
    assert!(sim.run_until(30 * SECOND, |s| (0..n).all(|i| joined(s, i))), "everyone joins");
    sim
}

#[test]
fn an_encrypted_room_chats_and_nothing_readable_crosses_the_wire() {
    let mut sim = Sim::new(Sim::server_config(), Faults::NONE, 1);
    sim.record = true;
    sim.secure(SERVER_KEY, None);
    for name in ["alice", "bob", "carol"] {
        sim.add_client(name);
    }
    assert!(sim.run_until(30 * SECOND, |s| (0..3).all(|i| joined(s, i))));
    assert!((0..3).all(|i| sim.clients[i].1.is_encrypted()));
    assert_eq!(sim.server.stats().handshakes, 3);
    assert_eq!(sim.server.config().max_text(), 954, "sealing takes 35 bytes of every frame");
    let now = sim.now;
    sim.client(0).say(now, "the secret plan").unwrap();
    sim.client(1).tell(now, "carol", "a private word").unwrap();
    assert!(sim.run_until(5 * SECOND, |s| {
        s.received(1) == ["alice: the secret plan"]
            && s.received(2) == ["alice: the secret plan", "bob (direct): a private word"]
    }));
    // A passive observer of every datagram: no text, no name, no token's welcome.
    for (from, to, bytes) in &sim.wire_log {
        for secret in [&b"secret plan"[..], b"private word", b"alice", b"bob", b"carol"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{from} -> {to} carries {:?} in the clear",
                String::from_utf8_lossy(secret)
            );
        }
        let kind = bytes.get(2).copied();
        let allowed = [Kind::Hello, Kind::Cookie, Kind::Answer, Kind::Sealed].map(Kind::to_byte);
        assert!(kind.is_some_and(|k| allowed.contains(&k)), "a frame in the clear: {bytes:02x?}");
    }
}

#[test]
fn a_copied_token_speaks_for_nobody_and_replays_and_bit_flips_are_dropped() {
    let mut sim = secure_room(Faults::NONE, 2, &["alice", "bob"]);
    sim.record = true;
    let now = sim.now;
    sim.client(0).say(now, "hello").unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.received(1) == ["alice: hello"]));
    let token = sim.clients[0].1.session_token().unwrap();
    // Alice's sealed say, as sniffed on the path.
    let (_, _, sniffed) = sim
        .wire_log
        .iter()
        .find(|(from, _, bytes)| *from == client_addr(0) && bytes.len() > 40)
        .cloned()
        .expect("alice sent a sealed frame");
    assert_eq!(sniffed[2], Kind::Sealed.to_byte());
    let attacker = "10.9.9.9:4444".parse().unwrap();
    let dropped = sim.server.stats().sealed_dropped;
    // Replayed from the attacker's address, and from alice's own: both dropped.
    sim.inject(attacker, &sniffed);
    sim.inject(client_addr(0), &sniffed);
    // Every single bit flipped, in turn: none opens.
    for i in 0..sniffed.len() * 8 {
        let mut flipped = sniffed.clone();
        flipped[i / 8] ^= 1 << (i % 8);
        sim.inject(attacker, &flipped);
    }
    // The token, copied into frames in the clear: a say, and a claim of alice's session.
    let mut buf = [0u8; 1024];
    let len =
        Message::Say { token, seq: 2, text: "forged line from alice" }.encode(&mut buf).unwrap();
    sim.inject(attacker, &buf[..len]);
    sim.inject(client_addr(0), &buf[..len]);
    let len = Message::Ping { token, req: 9 }.encode(&mut buf).unwrap();
    sim.inject(attacker, &buf[..len]);
    sim.run_for(3 * SECOND);
    assert_eq!(sim.received(1), ["alice: hello"], "nothing forged or replayed arrived");
    let stats = sim.server.stats();
    assert!(stats.sealed_dropped >= dropped + 2, "{stats:?}");
    assert!(stats.plaintext_refused >= 3, "{stats:?}");
    assert_eq!(stats.migrations, 0, "the session stayed where it was");
    // What the attacker got back: the answers anyone gets to frames that name no session
    // (unknown-session for a flipped token, unsupported-version for a flipped version),
    // nothing sealed and nothing that names alice's session.
    for (_, reply) in &sim.sent_to_strangers {
        assert_ne!(reply[2], Kind::Sealed.to_byte(), "{reply:02x?}");
        assert!(!reply.windows(8).any(|w| w == token.0.to_be_bytes()), "{reply:02x?}");
    }
    // And alice's session is fine.
    let now = sim.now;
    sim.client(0).say(now, "still me").unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.received(1).len() == 2));
}

#[test]
fn a_client_pinned_to_another_key_never_joins() {
    let mut sim = Sim::new(Sim::server_config(), Faults::NONE, 3);
    sim.secure(SERVER_KEY, None);
    let i = sim.add_client("mallory-target");
    let wrong = ServerKey { public: *Keypair::from_private([0x43; 32]).public(), psk: None };
    sim.client(i).set_server_key(wrong, [7; 32]);
    sim.run_for(10 * SECOND);
    assert!(!joined(&sim, i));
    assert!(sim.server.stats().sealed_dropped > 0, "the server could not read its hello");
    assert_eq!(sim.server.user_count(), 0);
}

#[test]
fn the_fleet_key_admits_its_holders_only() {
    let mut sim = Sim::new(Sim::server_config(), Faults::NONE, 4);
    sim.secure(SERVER_KEY, Some([9; 32]));
    let member = sim.add_client("sensor1");
    let outsider = sim.add_client("outsider");
    let public = *Keypair::from_private(SERVER_KEY).public();
    sim.client(outsider).set_server_key(ServerKey { public, psk: Some([8; 32]) }, [3; 32]);
    assert!(sim.run_until(10 * SECOND, |s| joined(s, member)));
    sim.run_for(5 * SECOND);
    assert!(!joined(&sim, outsider));
}

#[test]
fn a_client_in_the_clear_is_told_the_server_wants_encryption() {
    let mut sim = Sim::new(Sim::server_config(), Faults::NONE, 5);
    sim.secure(SERVER_KEY, None);
    sim.server_key = None; // the next client joins in the clear
    let i = sim.add_client("plain");
    assert!(sim.run_until(10 * SECOND, |s| s.refusal(i, ErrorCode::EncryptionRequired).is_some()));
    assert_eq!(
        sim.refusal(i, ErrorCode::EncryptionRequired).unwrap(),
        "this server takes encrypted sessions only"
    );
}

#[test]
fn under_loss_duplication_and_reordering_every_message_arrives_once_in_order() {
    let faults = Faults { loss: 0.2, duplicate: 0.1, delay_ms: (1, 40) };
    let mut sim = secure_room(faults, 6, &["alice", "bob"]);
    for k in 0..40 {
        let now = sim.now;
        sim.client(0).say(now, &format!("a{k}")).unwrap_or_else(|e| panic!("{e}"));
        sim.run_for(Duration::from_millis(30));
    }
    assert!(sim.run_until(60 * SECOND, |s| s.received(1).len() == 40));
    let expected: Vec<String> = (0..40).map(|k| format!("alice: a{k}")).collect();
    assert_eq!(sim.received(1), expected);
}

#[test]
fn after_a_server_restart_clients_join_again_encrypted_and_lose_nothing() {
    let mut sim = secure_room(Faults::NONE, 7, &["alice", "bob"]);
    sim.restart_server(Sim::server_config());
    let now = sim.now;
    let id = sim.client(0).say(now, "after the restart").unwrap();
    assert!(sim.run_until(30 * SECOND, |s| {
        s.received(1).iter().any(|m| m.ends_with("after the restart"))
    }));
    assert!(sim.saw(0, &OwnedClientEvent::Delivered { id }));
    assert!(sim.clients[0].1.is_encrypted());
    assert_eq!(sim.server.stats().handshakes, 2);
}

#[test]
fn a_client_that_changes_address_keeps_its_encrypted_session() {
    let mut sim = secure_room(Faults::NONE, 8, &["alice", "bob"]);
    let token = sim.clients[0].1.session_token();
    // A NAT rebinding: alice's datagrams now come from another port.
    let moved_to = "10.0.1.99:7000".parse().unwrap();
    sim.clients[0].0 = moved_to;
    let now = sim.now;
    sim.client(0).say(now, "from my new address").unwrap();
    assert!(sim.run_until(10 * SECOND, |s| s.received(1) == ["alice: from my new address"]));
    assert_eq!(sim.clients[0].1.session_token(), token, "the same session");
    assert_eq!(sim.server.stats().migrations, 1);
    let _ = (server_addr(), Token::NONE);
}

/// A client that does not know the server's key asks for it, and goes on only once the
/// application trusts what came (first use, or a pinned fingerprint that matches).
#[test]
fn a_client_learns_the_servers_key_and_joins_once_it_trusts_it() {
    let mut sim = Sim::new(Sim::server_config(), Faults::NONE, 9);
    sim.secure(SERVER_KEY, None);
    sim.server_key = None;
    let i = sim.add_client("newcomer");
    sim.client(i).discover_server_key(None, [4; 32]);
    assert!(sim.run_until(10 * SECOND, |s| {
        s.client_events[i].iter().any(|e| matches!(e, OwnedClientEvent::ServerKeyOffered { .. }))
    }));
    let offered = sim.client_events[i].iter().find_map(|e| match e {
        OwnedClientEvent::ServerKeyOffered { key, fleet } => Some((*key, *fleet)),
        _ => None,
    });
    let public = *Keypair::from_private(SERVER_KEY).public();
    assert_eq!(offered, Some((public, false)));
    // Until it is trusted, nothing more goes out.
    sim.run_for(5 * SECOND);
    assert!(!joined(&sim, i));
    let now = sim.now;
    sim.client(i).trust_server_key(now, public);
    assert!(sim.run_until(10 * SECOND, |s| joined(s, i)));
    assert!(sim.clients[i].1.is_encrypted());
}

/// An attacker answering key requests with its own key gets the client nowhere: the
/// application compares it with its pin and refuses; were it trusted anyway, the real
/// server could not read the hello and nobody else can answer it.
#[test]
fn a_key_the_application_does_not_trust_joins_nothing() {
    let mut sim = Sim::new(Sim::server_config(), Faults::NONE, 10);
    sim.secure(SERVER_KEY, None);
    sim.server_key = None;
    let i = sim.add_client("careful");
    sim.client(i).discover_server_key(None, [4; 32]);
    sim.run_for(2 * SECOND);
    let impostor = *Keypair::from_private([0x66; 32]).public();
    let now = sim.now;
    sim.client(i).trust_server_key(now, impostor);
    sim.run_for(10 * SECOND);
    assert!(!joined(&sim, i));
    assert_eq!(sim.server.user_count(), 0);
}
