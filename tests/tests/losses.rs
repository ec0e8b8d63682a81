//! Losses placed exactly where the protocol is most fragile: the last `ack`, a refusal,
//! the `leave`'s acknowledgement, an address change with traffic in flight. Each test
//! drops one chosen frame on the simulated network (`Sim::drop_nth`) and checks that the
//! rule fired, so none can pass without the loss it is about.

use std::net::SocketAddr;

use minichat_core::client::OwnedClientEvent;
use minichat_core::server::{RING_BYTES, ServerConfig, StaticServer};
use minichat_core::time::{Duration, Instant};
use minichat_core::wire::ErrorCode;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Cookie, Kind, Message, Name, Token};
use minichat_tests::sim::{Faults, Sim, client_addr, server_addr};

const SECOND: Duration = Duration::from_secs(1);

fn three_users(seed: u64) -> Sim {
    let mut config = Sim::server_config();
    config.set_history(0).unwrap();
    Sim::joined(config, seed, &["star", "star2", "star3"])
}

fn from_server_to(i: usize, kind: Kind) -> impl Fn(SocketAddr, SocketAddr, &Message<'_>) -> bool {
    move |from, to, message| from == server_addr() && to == client_addr(i) && message.kind() == kind
}

#[test]
fn the_final_ack_lost_delivers_exactly_once() {
    let mut sim = three_users(101);
    let rule = sim.drop_nth(1, from_server_to(0, Kind::Ack));
    let now = sim.now;
    let id = sim.client(0).say(now, "only once").unwrap();
    assert!(sim.run_until(10 * SECOND, |s| s.saw(0, &OwnedClientEvent::Delivered { id })));
    sim.run_for(2 * SECOND);
    assert!(sim.drops[rule].fired);
    assert_eq!(sim.received(1), ["star: only once"]);
    assert_eq!(sim.received(2), ["star: only once"]);
    let delivered =
        sim.client_events[0].iter().filter(|e| **e == OwnedClientEvent::Delivered { id }).count();
    assert_eq!(delivered, 1);
}

#[test]
fn a_refused_tells_error_lost_is_refused_again_never_delivered() {
    let mut sim = three_users(102);
    let rule = sim.drop_nth(1, from_server_to(0, Kind::Error));
    let now = sim.now;
    let id = sim.client(0).tell(now, "nobody", "hello?").unwrap();
    assert!(
        sim.run_until(10 * SECOND, |s| { s.rejection(0, id, ErrorCode::NoSuchUser).is_some() })
    );
    sim.run_for(2 * SECOND);
    assert!(sim.drops[rule].fired);
    assert!(!sim.saw(0, &OwnedClientEvent::Delivered { id }));
    assert!(sim.received(1).is_empty() && sim.received(2).is_empty());
}

#[test]
fn the_leaves_ack_lost_still_leaves() {
    let mut sim = three_users(103);
    let rule = sim.drop_nth(1, from_server_to(0, Kind::Ack));
    let now = sim.now;
    sim.client(0).leave(now).unwrap();
    assert!(sim.run_until(10 * SECOND, |s| s.saw(0, &OwnedClientEvent::Left)));
    assert!(sim.drops[rule].fired);
    assert!(sim.clients[0].1.is_closed());
    assert_eq!(sim.server.user_count(), 2);
}

#[test]
fn an_address_change_mid_stream_loses_and_doubles_nothing() {
    let mut sim = three_users(104);
    let now = sim.now;
    let mine: Vec<_> = (0..10).map(|i| sim.client(0).say(now, &format!("a{i}")).unwrap()).collect();
    for i in 0..10 {
        sim.client(1).say(now, &format!("b{i}")).unwrap();
    }
    // Some of it is on the wire when star's NAT rebinds.
    sim.run_for(Duration::from_millis(1));
    sim.clients[0].0 = "10.0.7.7:7777".parse().unwrap();
    let done = sim.run_until(20 * SECOND, |s| {
        mine.iter().all(|id| s.saw(0, &OwnedClientEvent::Delivered { id: *id }))
            && s.received(0).len() == 10
    });
    assert!(done, "star: {:?}\nstar2 got {:?}", sim.client_events[0], sim.received(1));
    sim.run_for(2 * SECOND);
    let expected_a: Vec<String> = (0..10).map(|i| format!("star: a{i}")).collect();
    let expected_b: Vec<String> = (0..10).map(|i| format!("star2: b{i}")).collect();
    assert_eq!(sim.received(0), expected_b);
    let star2: Vec<String> = sim.received(1);
    assert_eq!(star2, expected_a);
    assert!(!sim.client_events[0].iter().any(|e| matches!(e, OwnedClientEvent::MaybeLost { .. })));
}

/// The server never has more deliveries outstanding to a recipient than its join's
/// window, down to a window of 1.
#[test]
fn deliveries_in_flight_never_exceed_the_window_of_one() {
    std::thread::Builder::new().stack_size(64 << 20).spawn(window_of_one).unwrap().join().unwrap();
}

fn window_of_one() {
    let mut config = ServerConfig::new([4; 16], 1);
    config.set_rate_per_sec(0).unwrap();
    // A table of a few users that scans (no index entries), as firmware runs it.
    let mut server: Box<StaticServer<8, 64, SocketAddr, RING_BYTES, 0>> =
        Box::new(StaticServer::new(config).unwrap());
    let mut buf = [0u8; MAX_FRAME];
    let now = Instant::ZERO;
    let encode = |m: &Message<'_>| {
        let mut b = vec![0u8; m.buffer_len()];
        m.encode(&mut b).unwrap();
        b
    };
    let mut join = |server: &mut StaticServer<8, 64, SocketAddr, RING_BYTES, 0>,
                    port: u16,
                    name: &str,
                    window: u16|
     -> Token {
        let addr = SocketAddr::from(([10, 2, 0, 1], port));
        let name = Name::new(name).unwrap();
        let first = Message::Join {
            cookie: Cookie::EMPTY,
            nonce: 1,
            window,
            resume: Token::NONE,
            delivered: 0,
            name,
            max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
        };
        let t = server.handle(now, addr, &encode(&first), &mut buf).unwrap();
        let Ok(Message::Cookie { cookie, .. }) = Message::decode(&buf[..t.len]) else { panic!() };
        let second = Message::Join {
            cookie,
            nonce: 1,
            window,
            resume: Token::NONE,
            delivered: 0,
            name,
            max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
        };
        let t = server.handle(now, addr, &encode(&second), &mut buf).unwrap();
        let Ok(Message::Welcome { token, .. }) = Message::decode(&buf[..t.len]) else { panic!() };
        token
    };
    let slow = join(&mut server, 1, "slow", 1);
    let fast = join(&mut server, 2, "fast", 33);
    let slow_addr = SocketAddr::from(([10, 2, 0, 1], 1));
    let fast_addr = SocketAddr::from(([10, 2, 0, 1], 2));
    for seq in 1..=5u32 {
        let say = Message::Say { token: fast, seq, text: "x" };
        server.handle(now, fast_addr, &encode(&say), &mut buf);
    }
    let to_slow = |server: &mut StaticServer<8, 64, SocketAddr, RING_BYTES, 0>| {
        let mut buf = [0u8; MAX_FRAME];
        let mut delivers = Vec::new();
        while let Some(t) = server.poll_transmit(now, &mut buf) {
            if t.destination == slow_addr
                && let Ok(Message::Deliver { seq, .. }) = Message::decode(&buf[..t.len])
            {
                delivers.push(seq);
            }
        }
        delivers
    };
    for expected in 1..=5u32 {
        assert_eq!(to_slow(&mut server), [expected], "one delivery at a time");
        let ack = Message::Ack { token: slow, seq: expected, sack: 0 };
        server.handle(now, slow_addr, &encode(&ack), &mut buf);
    }
    assert!(to_slow(&mut server).is_empty());
}

/// A message reported as maybe lost only ever follows a session moved elsewhere, as the
/// README promises (the client is told, joins again, and reports what may be lost).
fn no_maybe_lost_without_a_move(events: &[OwnedClientEvent]) {
    let lost = events.iter().position(|e| matches!(e, OwnedClientEvent::MaybeLost { .. }));
    if let Some(lost) = lost {
        let moved = events[lost..].contains(&OwnedClientEvent::SessionMoved);
        assert!(moved, "a message maybe lost, but no session moved: {events:?}");
    }
}

/// What each client's queued messages became, and what each received.
fn check_every_message_accounted(
    sim: &Sim,
    sent: &[Vec<(minichat_core::client::MessageId, String)>],
) {
    let names = ["star", "star2", "star3"];
    for (i, messages) in sent.iter().enumerate() {
        for (id, text) in messages {
            let answers = sim.client_events[i]
                .iter()
                .filter(|e| {
                    matches!(e, OwnedClientEvent::Delivered { id: d }
                        | OwnedClientEvent::Failed { id: d }
                        | OwnedClientEvent::MaybeLost { id: d } if d == id)
                })
                .count();
            assert_eq!(answers, 1, "{}'s {text:?}: one answer, got {answers}", names[i]);
            let delivered = sim.saw(i, &OwnedClientEvent::Delivered { id: *id });
            for r in (0..sent.len()).filter(|r| *r != i) {
                let line = format!("{}: {text}", names[i]);
                let got = sim.received(r).iter().filter(|l| **l == line).count();
                assert!(got <= 1, "{} got {line:?} {got} times", names[r]);
                let told: u32 = sim.client_events[r]
                    .iter()
                    .map(|e| if let OwnedClientEvent::Missed { count } = e { *count } else { 0 })
                    .sum();
                if delivered && told == 0 {
                    assert_eq!(got, 1, "{} never got the delivered {line:?}", names[r]);
                }
            }
        }
        no_maybe_lost_without_a_move(&sim.client_events[i]);
        // Nobody gets its own messages back.
        let own = format!("{}: ", names[i]);
        assert!(sim.received(i).iter().all(|l| !l.starts_with(&own)), "{} got its own", names[i]);
    }
}

#[test]
fn a_partition_longer_than_the_idle_timeout_with_traffic_both_ways_loses_nothing_silently() {
    let mut config = Sim::server_config();
    config.set_history(10).unwrap();
    config.set_liveness(SECOND, 3 * SECOND).unwrap();
    let mut sim = Sim::new(config, Faults::NONE, 105);
    for name in ["star", "star2", "star3"] {
        sim.add_client(name);
    }
    assert!(sim.run_until(10 * SECOND, |s| s.clients.iter().all(|(_, c)| c.is_joined())));
    let mut sent = vec![Vec::new(); 3];
    let now = sim.now;
    for (i, queue) in sent.iter_mut().enumerate() {
        for k in 0..5 {
            let text = format!("m{i}-{k}");
            queue.push((sim.client(i).say(now, &text).unwrap(), text));
        }
    }
    // Some of it is on the wire, both ways, when star is cut off for 8 s; its timers run.
    sim.run_for(Duration::from_millis(1));
    sim.cut_off[0] = true;
    let now = sim.now;
    for (i, queue) in sent.iter_mut().enumerate().skip(1) {
        let text = format!("during-{i}");
        queue.push((sim.client(i).say(now, &text).unwrap(), text));
    }
    sim.run_for(8 * SECOND);
    assert_eq!(sim.server.user_count(), 2, "star expired");
    sim.cut_off[0] = false;
    assert!(sim.run_until(30 * SECOND, |s| {
        s.clients.iter().all(|(_, c)| c.is_joined() && c.pending() == 0)
    }));
    sim.run_for(5 * SECOND);
    check_every_message_accounted(&sim, &sent);
    // And star, back, saw what was said while it was away, once.
    assert_eq!(
        sim.received(0).iter().filter(|l| l.contains("during-")).count(),
        2,
        "{:?}",
        sim.received(0)
    );
}

#[test]
fn a_full_outbox_with_a_tell_and_a_leave_across_a_restart_under_loss_answers_each_once() {
    let faults = Faults { loss: 0.2, duplicate: 0.05, delay_ms: (1, 20) };
    let mut config = Sim::server_config();
    config.set_history(0).unwrap();
    let mut sim = Sim::new(config, faults, 106);
    for name in ["star", "star2", "star3"] {
        sim.add_client(name);
    }
    assert!(sim.run_until(60 * SECOND, |s| s.clients.iter().all(|(_, c)| c.is_joined())));
    let now = sim.now;
    let mut sent = vec![Vec::new(); 3];
    for k in 0..14 {
        let text = format!("s{k}");
        sent[0].push((sim.client(0).say(now, &text).unwrap(), text));
    }
    let tell = sim.client(0).tell(now, "star2", "just you").unwrap();
    let leave = sim.client(0).leave(now).unwrap();
    assert!(sim.client(0).say(now, "one too many").is_err(), "the outbox is full");
    sim.run_for(Duration::from_millis(30));
    let mut restarted = Sim::server_config_at_boot(2);
    restarted.set_history(0).unwrap();
    sim.restart_server(restarted);
    assert!(sim.run_until(120 * SECOND, |s| s.clients[0].1.is_closed()));
    sim.run_for(10 * SECOND);
    let answers = |id| {
        sim.client_events[0]
            .iter()
            .filter(|e| {
                matches!(e, OwnedClientEvent::Delivered { id: d }
                    | OwnedClientEvent::Rejected { id: d, .. }
                    | OwnedClientEvent::Failed { id: d }
                    | OwnedClientEvent::MaybeLost { id: d } if *d == id)
            })
            .count()
    };
    for (id, text) in &sent[0] {
        assert_eq!(answers(*id), 1, "{text}: {:?}", sim.client_events[0]);
    }
    no_maybe_lost_without_a_move(&sim.client_events[0]);
    assert_eq!(answers(tell), 1, "the tell: {:?}", sim.client_events[0]);
    assert!(sim.saw(0, &OwnedClientEvent::Left) || answers(leave) == 1, "the leave");
}

/// Sequence numbers across the u32 wrap (the `test-hooks` feature starts sessions near
/// `u32::MAX`), under loss, duplication and reordering: everything once, in order.
#[test]
fn sequence_numbers_cross_the_wrap_without_loss_or_duplicates() {
    const FIRST: u32 = u32::MAX - 5;
    let faults = Faults { loss: 0.2, duplicate: 0.1, delay_ms: (1, 30) };
    let mut config = Sim::server_config();
    config.set_history(0).unwrap();
    config.set_rate_per_sec(0).unwrap();
    config.set_first_seq(FIRST);
    let mut sim = Sim::new(config, faults, 107);
    sim.record = true;
    for name in ["star", "star2"] {
        let mut client =
            minichat_core::client::ClientConfig::new(name, server_addr(), 0x5eed).unwrap();
        client.set_first_seq(FIRST);
        client.set_give_up(120 * SECOND).unwrap();
        sim.add_client_with(client);
    }
    assert!(sim.run_until(60 * SECOND, |s| s.clients.iter().all(|(_, c)| c.is_joined())));
    let mut ids = Vec::new();
    for k in 0..20 {
        let now = sim.now;
        ids.push(sim.client(0).say(now, &format!("a{k}")).unwrap());
        sim.client(1).say(now, &format!("b{k}")).unwrap();
        sim.run_until(5 * SECOND, |s| s.clients.iter().all(|(_, c)| c.pending() < 8));
    }
    // Everything arrived, and every acknowledgement reached its sender (the last one may
    // still be on its way, or lost and due again, when the last delivery lands).
    let delivered =
        |s: &Sim| ids.iter().all(|id| s.saw(0, &OwnedClientEvent::Delivered { id: *id }));
    assert!(sim.run_until(120 * SECOND, |s| {
        s.received(0).len() == 20 && s.received(1).len() == 20 && delivered(s)
    }));
    let a: Vec<String> = (0..20).map(|k| format!("star: a{k}")).collect();
    let b: Vec<String> = (0..20).map(|k| format!("star2: b{k}")).collect();
    assert_eq!(sim.received(1), a);
    assert_eq!(sim.received(0), b);
    assert!(ids.iter().all(|id| sim.saw(0, &OwnedClientEvent::Delivered { id: *id })));
    // The numbers did cross the wrap, both ways: without `test-hooks` (sessions numbered
    // from 1) this test would otherwise pass without ever going near it.
    let (mut says, mut delivers) = (Vec::new(), Vec::new());
    for (from, _, bytes) in &sim.wire_log {
        match Message::decode(bytes) {
            Ok(Message::Say { seq, .. }) if *from != server_addr() => says.push(seq),
            Ok(Message::Deliver { seq, .. }) if *from == server_addr() => delivers.push(seq),
            _ => {}
        }
    }
    for (what, seqs) in [("say", &says), ("deliver", &delivers)] {
        assert!(seqs.contains(&FIRST), "a {what} numbered {FIRST} on the wire: {seqs:?}");
        assert!(seqs.contains(&u32::MAX), "a {what} numbered u32::MAX on the wire: {seqs:?}");
        assert!(seqs.contains(&0) || seqs.contains(&1), "a {what} after the wrap: {seqs:?}");
        assert!(seqs.contains(&10), "a {what} well past the wrap: {seqs:?}");
    }
}
