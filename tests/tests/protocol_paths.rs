//! Paths of the protocol no other test walked: `users` paging, a re-join after a server
//! shutdown, a request that times out, the server's `max_text` refusal, delayed
//! acknowledgements, the client's fast retransmit, and one challenge per retransmission
//! timeout. On the simulated network, in simulated time.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::rc::Rc;

use minichat_core::client::OwnedClientEvent;
use minichat_core::time::Duration;
use minichat_core::wire::ErrorCode;
use minichat_core::wire::{Kind, Message};
use minichat_tests::sim::{Faults, Sim, client_addr};

const SECOND: Duration = Duration::from_secs(1);

fn encode(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; message.buffer_len()];
    message.encode(&mut buf).unwrap();
    buf
}

fn joined_sim(names: &[String], seed: u64) -> Sim {
    let mut config = Sim::server_config();
    config.set_per_ip(0).unwrap(); // every simulated client shares one address
    config.set_history(0).unwrap();
    Sim::joined(config, seed, names)
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("user-{i:011}")).collect()
}

/// Counts the frames for which `matches` holds, without dropping any.
fn count_frames(
    sim: &mut Sim,
    matches: impl Fn(SocketAddr, SocketAddr, &Message<'_>) -> bool + 'static,
) -> Rc<Cell<usize>> {
    let seen = Rc::new(Cell::new(0));
    let counter = Rc::clone(&seen);
    sim.drop_nth(usize::MAX, move |from, to, message| {
        if matches(from, to, message) {
            counter.set(counter.get() + 1);
        }
        false
    });
    seen
}

#[test]
fn a_user_list_longer_than_a_frame_comes_in_pages_and_complete() {
    let all = names(64); // 16-byte names: about 58 fit a frame
    let mut sim = joined_sim(&all, 121);
    let now = sim.now;
    sim.client(0).who(now).unwrap();
    assert!(sim.run_until(10 * SECOND, |s| {
        s.client_events[0]
            .iter()
            .filter_map(|e| match e {
                OwnedClientEvent::Users { start, names, .. } => {
                    Some(*start + u16::try_from(names.len()).unwrap())
                }
                _ => None,
            })
            .any(|end| end == 64)
    }));
    let mut pages = 0;
    let mut listed = BTreeSet::new();
    for event in &sim.client_events[0] {
        if let OwnedClientEvent::Users { total, names, .. } = event {
            assert_eq!(*total, 64);
            pages += 1;
            listed.extend(names.iter().map(|n| n.name.as_str().to_owned()));
        }
    }
    assert!(pages >= 2, "{pages} page(s)");
    assert_eq!(listed, all.iter().cloned().collect::<BTreeSet<_>>());
}

#[test]
fn after_a_shutdown_clients_rejoin_the_server_that_comes_back() {
    let mut sim = joined_sim(&names(2), 122);
    sim.server.shutdown();
    assert!(
        sim.run_until(5 * SECOND, |s| (0..2).all(|i| s.saw(i, &OwnedClientEvent::ServerShutdown)))
    );
    let mut config = Sim::server_config_at_boot(2);
    config.set_per_ip(0).unwrap();
    sim.restart_server(config);
    let name = *sim.clients[0].1.config().name();
    assert!(
        sim.run_until(10 * SECOND, |s| s
            .saw(0, &OwnedClientEvent::Joined { name, rejoined: true }))
    );
    assert_eq!(sim.server.user_count(), 2);
}

#[test]
fn a_request_nobody_answers_times_out() {
    let mut sim = joined_sim(&names(1), 123);
    sim.server_up = false;
    let now = sim.now;
    sim.client(0).who(now).unwrap();
    assert!(sim.run_until(40 * SECOND, |s| {
        s.saw(0, &OwnedClientEvent::RequestTimedOut { kind: Kind::Who })
    }));
}

#[test]
fn the_server_refuses_a_text_over_its_max_text() {
    let mut config = Sim::server_config();
    config.set_max_text(10).unwrap();
    config.set_history(0).unwrap();
    let mut sim = Sim::new(config, Faults::NONE, 124);
    sim.add_client("star");
    assert!(sim.run_until(10 * SECOND, |s| s.clients[0].1.is_joined()));
    assert_eq!(sim.clients[0].1.max_text(), 10, "the welcome said so");
    // A client that ignores the welcome's limit: the server refuses, and says why.
    let token = sim.clients[0].1.session_token().unwrap();
    sim.record = true;
    sim.inject(client_addr(0), &encode(&Message::Say { token, seq: 1, text: "far more than ten" }));
    sim.run_for(Duration::from_millis(10));
    let refused = sim.server_sent.iter().any(|(to, bytes)| {
        *to == client_addr(0)
            && matches!(
                Message::decode(bytes),
                Ok(Message::Error { code: ErrorCode::TextTooLong, seq: 1, detail, .. })
                    if detail.contains("at most 10 bytes")
            )
    });
    assert!(refused);
    assert_eq!(sim.server.newest_message(), 0, "nothing was stored");
}

#[test]
fn in_order_deliveries_are_acknowledged_together() {
    let mut sim = joined_sim(&names(2), 125);
    let acks = count_frames(&mut sim, |from, _, m| from == client_addr(1) && m.kind() == Kind::Ack);
    sim.record = true;
    let now = sim.now;
    for k in 0..16 {
        sim.client(0).say(now, &format!("m{k}")).unwrap();
    }
    assert!(sim.run_until(10 * SECOND, |s| s.received(1).len() == 16));
    sim.run_for(SECOND);
    // One ack for every 8 in order, or after 10 ms: far fewer than one each, but some.
    assert!((1..=6).contains(&acks.get()), "{} acks for 16 deliveries", acks.get());
    // And they acknowledged every delivery: the last ack names the last delivery.
    let (mut delivered, mut acked) = (Vec::new(), Vec::new());
    for (from, to, bytes) in &sim.wire_log {
        match Message::decode(bytes) {
            Ok(Message::Deliver { seq, .. }) if *to == client_addr(1) => delivered.push(seq),
            Ok(Message::Ack { seq, .. }) if *from == client_addr(1) => acked.push(seq),
            _ => {}
        }
    }
    assert_eq!(delivered.len(), 16, "each delivered once: {delivered:?}");
    assert_eq!(acked.last(), delivered.iter().max(), "acks {acked:?}, deliveries {delivered:?}");
    assert_eq!(acked.len(), acks.get());
}

#[test]
fn a_lost_message_is_resent_by_fast_retransmit_before_its_timeout() {
    let mut sim = joined_sim(&names(2), 126);
    let rule = sim.drop_nth(2, |from, _, m| from == client_addr(0) && m.kind() == Kind::Say);
    let start = sim.now;
    let ids: Vec<_> = (0..6).map(|k| sim.client(0).say(start, &format!("m{k}")).unwrap()).collect();
    assert!(sim.run_until(10 * SECOND, |s| {
        ids.iter().all(|id| s.saw(0, &OwnedClientEvent::Delivered { id: *id }))
    }));
    assert!(sim.drops[rule].fired);
    // The client's first retransmission timeout is 250 ms; three duplicate acks came
    // long before.
    let took = sim.now.saturating_since(start);
    assert!(took < Duration::from_millis(100), "took {took:?}");
    assert_eq!(sim.clients[0].1.stats().retransmits, 0, "no timeout fired");
}

#[test]
fn a_new_address_is_challenged_at_most_once_per_retransmission_timeout() {
    let mut sim = joined_sim(&names(1), 127);
    let token = sim.clients[0].1.session_token().unwrap();
    let stranger: SocketAddr = "192.0.2.7:7000".parse().unwrap();
    let challenges = |s: &Sim| {
        s.sent_to_strangers
            .iter()
            .filter(|(to, b)| {
                *to == stranger && matches!(Message::decode(b), Ok(Message::Challenge { .. }))
            })
            .count()
    };
    for _ in 0..20 {
        sim.inject(stranger, &encode(&Message::Ping { token, req: 9 }));
        sim.run_for(Duration::from_millis(5));
    }
    assert_eq!(challenges(&sim), 1, "20 pings in 100 ms, one challenge");
    sim.run_for(Duration::from_millis(200));
    sim.inject(stranger, &encode(&Message::Ping { token, req: 9 }));
    sim.run_for(Duration::from_millis(5));
    assert_eq!(challenges(&sim), 2, "another after the timeout");
    assert!(sim.clients[0].1.is_joined(), "the session never moved");
}
