//! The chat state machines end to end over a simulated network: server and clients from
//! minichat-core, a seeded lossy link, simulated time. No sockets, no sleeping.

use minichat_core::client::{ClientConfig, MessageId, OwnedClientEvent};
use minichat_core::server::{LeftReason, ServerEvent};
use minichat_core::time::{Duration, Instant};
use minichat_core::wire::ErrorCode;
use minichat_core::wire::{EchoMode, Message, NameBuf, Token};
use minichat_tests::sim::{Faults, Sim, client_addr, server_addr};

const SECOND: Duration = Duration::from_secs(1);

fn joined(sim: &Sim, i: usize) -> bool {
    sim.clients[i].1.is_joined()
}

/// A server and clients star, star2, star3, all joined.
fn three_users(faults: Faults, seed: u64) -> Sim {
    let mut sim = Sim::new(Sim::server_config(), faults, seed);
    for name in ["star", "star2", "star3"] {
        sim.add_client(name);
    }
    assert!(
        sim.run_until(Duration::from_secs(30), |s| (0..3).all(|i| joined(s, i))),
        "all three join"
    );
    sim
}

#[test]
fn three_users_chat_and_the_server_names_the_sender() {
    let mut sim = three_users(Faults::NONE, 1);
    let now = sim.now;
    sim.client(0).say(now, "hello everyone").unwrap();
    sim.client(1).say(now, "hi star").unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.received(2).len() == 2 && s.received(0).len() == 1));
    assert_eq!(sim.received(0), ["star2: hi star"]);
    assert_eq!(sim.received(1), ["star: hello everyone"]);
    let mut third = sim.received(2);
    third.sort();
    assert_eq!(third, ["star2: hi star", "star: hello everyone"]);
    assert!(sim.saw(0, &OwnedClientEvent::Delivered { id: MessageId(0) }));
    // The operator reads messages from the ring by number.
    assert_eq!(sim.server.newest_message(), 2);
    let first = sim.server.message(1).unwrap();
    assert_eq!((first.from.as_str(), first.text), ("star", "hello everyone"));
}

#[test]
fn direct_messages_reach_only_their_target() {
    let mut sim = three_users(Faults::NONE, 2);
    let now = sim.now;
    sim.client(0).tell(now, "STAR3", "psst").unwrap(); // names ignore ASCII case
    assert!(sim.run_until(5 * SECOND, |s| !s.received(2).is_empty()));
    sim.run_for(2 * SECOND);
    assert_eq!(sim.received(2), ["star (direct): psst"]);
    assert!(sim.received(0).is_empty() && sim.received(1).is_empty());
    assert!(sim.saw(0, &OwnedClientEvent::Delivered { id: MessageId(0) }));
}

#[test]
fn a_tell_to_nobody_is_rejected_and_what_follows_still_goes() {
    let mut sim = three_users(Faults::NONE, 3);
    let now = sim.now;
    let bad = sim.client(0).tell(now, "nobody", "hello?").unwrap();
    let good = sim.client(0).say(now, "after").unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.saw(0, &OwnedClientEvent::Delivered { id: good })));
    // The server's own words reach the application.
    assert_eq!(
        sim.rejection(0, bad, ErrorCode::NoSuchUser).as_deref(),
        Some("no user named nobody is connected")
    );
    assert_eq!(sim.received(1), ["star: after"]);
}

#[test]
fn a_second_user_with_the_same_name_in_another_case_is_refused() {
    let mut sim = three_users(Faults::NONE, 4);
    let late = sim.add_client("STAR2");
    assert!(sim.run_until(5 * SECOND, |s| s.clients[late].1.is_closed()));
    assert_eq!(sim.refusal(late, ErrorCode::NameTaken).as_deref(), Some("the name STAR2 is taken"));
    assert_eq!(sim.server.user_count(), 3);
    // The operator's name is taken too.
    let operator = sim.add_client("Server");
    assert!(sim.run_until(5 * SECOND, |s| s.clients[operator].1.is_closed()));
    assert!(sim.refusal(operator, ErrorCode::NameTaken).is_some());
}

#[test]
fn a_frame_with_another_users_token_from_another_address_is_dropped() {
    let mut sim = three_users(Faults::NONE, 5);
    // Learn star's token the way an on-path attacker would: from a frame to star.
    let star_token = token_of(&mut sim, 0);
    let forged = encode(&Message::Say { token: star_token, seq: 1, text: "I am star" });
    let before = sim.server.stats().bad_token;
    // From star2's address: that address has its own session, so the frame is dropped.
    sim.inject(client_addr(1), &forged);
    sim.run_for(3 * SECOND);
    assert_eq!(sim.server.stats().bad_token, before + 1);
    assert!(sim.received(1).is_empty() && sim.received(2).is_empty());
    // A guessed token from a stranger gets "unknown session" and nothing else.
    let guess = encode(&Message::Say { token: Token(0x1234), seq: 1, text: "guess" });
    let stranger = "10.9.9.9:9999".parse().unwrap();
    sim.inject(stranger, &guess);
    sim.run_for(SECOND);
    let replies: Vec<_> = sim.sent_to_strangers.iter().filter(|(a, _)| *a == stranger).collect();
    assert_eq!(replies.len(), 1);
    assert!(matches!(
        Message::decode(&replies[0].1),
        Ok(Message::UnknownSession { token: Token(0x1234) })
    ));
    assert!(sim.received(1).is_empty() && sim.received(2).is_empty());
}

#[test]
fn a_known_token_from_a_new_address_is_challenged_and_moves_only_when_answered() {
    let mut sim = three_users(Faults::NONE, 6);
    let token = token_of(&mut sim, 0);
    let new_addr = "10.7.7.7:7777".parse().unwrap();
    sim.inject(new_addr, &encode(&Message::Ping { token, req: 99 }));
    sim.run_for(SECOND);
    let challenge = sim
        .sent_to_strangers
        .iter()
        .find_map(|(a, bytes)| match Message::decode(bytes) {
            Ok(Message::Challenge { nonce, .. }) if *a == new_addr => Some(nonce),
            _ => None,
        })
        .expect("a challenge to the new address");
    // Not moved yet: star still gets its messages at the old address.
    let now = sim.now;
    sim.client(1).say(now, "one").unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.received(0) == ["star2: one"]));
    // A wrong nonce does nothing; the right one moves the session.
    sim.inject(new_addr, &encode(&Message::ChallengeResponse { token, nonce: challenge ^ 1 }));
    sim.run_for(SECOND);
    assert!(sim.server.users().any(|(n, a)| n.as_str() == "star" && a == client_addr(0)));
    sim.inject(new_addr, &encode(&Message::ChallengeResponse { token, nonce: challenge }));
    sim.run_for(SECOND);
    assert!(sim.server.users().any(|(n, a)| n.as_str() == "star" && a == new_addr));
    assert!(
        sim.server_events
            .iter()
            .any(|e| matches!(e, ServerEvent::Moved { to, .. } if *to == new_addr))
    );
}

#[test]
fn a_client_started_before_its_server_joins_once_it_comes_up() {
    let mut sim = Sim::new(Sim::server_config(), Faults::NONE, 7);
    sim.server_up = false;
    let star = sim.add_client("star");
    let now = sim.now;
    let id = sim.client(star).say(now, "typed early").unwrap();
    sim.run_for(10 * SECOND);
    assert!(!joined(&sim, star));
    assert!(
        sim.client_events[star].iter().any(|e| matches!(e, OwnedClientEvent::JoinRetry { .. }))
    );
    sim.server_up = true;
    let other = sim.add_client("star2");
    assert!(sim.run_until(10 * SECOND, |s| s.saw(star, &OwnedClientEvent::Delivered { id })));
    assert!(joined(&sim, other));
}

#[test]
fn a_server_restart_loses_nothing_the_user_typed() {
    let mut sim = three_users(Faults::NONE, 8);
    let keepalive = sim.server.config().keepalive();
    sim.server_up = false;
    sim.restart_server(Sim::server_config());
    let now = sim.now;
    let id = sim.client(0).say(now, "during the restart").unwrap();
    sim.run_for(2 * SECOND);
    sim.server_up = true;
    // Within two keep-alive periods every client has re-joined by itself.
    assert!(sim.run_until(keepalive.times(2), |s| (0..3).all(|i| joined(s, i))
        && (0..3).all(|i| {
            s.client_events[i]
                .iter()
                .any(|e| matches!(e, OwnedClientEvent::Joined { rejoined: true, .. }))
        })));
    assert!(sim.run_until(5 * SECOND, |s| s.saw(0, &OwnedClientEvent::Delivered { id })));
    assert!(sim.run_until(5 * SECOND, |s| s.received(1) == ["star: during the restart"]));
}

#[test]
fn who_echo_and_leave() {
    let mut sim = three_users(Faults::NONE, 9);
    let now = sim.now;
    sim.client(0).who(now).unwrap();
    sim.client(0).echo(now, EchoMode::Upper, "Hello, wörld").unwrap();
    assert!(sim.run_until(5 * SECOND, |s| {
        s.client_events[0].iter().any(|e| matches!(e, OwnedClientEvent::Users { .. }))
            && s.client_events[0].iter().any(|e| matches!(e, OwnedClientEvent::EchoReply { .. }))
    }));
    let names: Vec<String> = sim.client_events[0]
        .iter()
        .find_map(|e| match e {
            OwnedClientEvent::Users { total: 3, start: 0, names } => {
                Some(names.iter().map(|n| n.name.to_string()).collect())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(names, ["star", "star2", "star3"]);
    assert!(sim.client_events[0].iter().any(
        |e| matches!(e, OwnedClientEvent::EchoReply { mode: EchoMode::Upper, text } if text.as_str() == "HELLO, WöRLD")
    ));
    let now = sim.now;
    sim.client(2).say(now, "bye").unwrap();
    sim.client(2).leave(now).unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.clients[2].1.is_closed()));
    assert!(sim.saw(2, &OwnedClientEvent::Left));
    assert_eq!(sim.server.user_count(), 2);
    assert!(sim.run_until(5 * SECOND, |s| s.received(0) == ["star3: bye"]));
    assert!(sim.server_events.iter().any(
        |e| matches!(e, ServerEvent::Left { name, reason: LeftReason::Left, .. } if name.as_str() == "star3")
    ));
}

#[test]
fn idle_clients_stay_and_silent_ones_expire() {
    let mut sim = three_users(Faults::NONE, 10);
    let idle = sim.server.config().idle_timeout();
    // Keep-alives hold every session through a long quiet spell.
    sim.run_for(idle.times(3));
    assert_eq!(sim.server.user_count(), 3);
    // A client that vanishes is expired, and its slot freed.
    sim.client_up[2] = false;
    assert!(sim.run_until(idle + 5 * SECOND, |s| s.server.user_count() == 2));
    assert!(sim.server_events.iter().any(
        |e| matches!(e, ServerEvent::Left { name, reason: LeftReason::TimedOut, .. } if name.as_str() == "star3")
    ));
    // When it comes back it is told, and joins again by itself.
    sim.client_up[2] = true;
    assert!(sim.run_until(Duration::from_secs(60), |s| s.server.user_count() == 3 && joined(s, 2)));
}

#[test]
fn a_recipient_whose_backlog_overflows_is_told_how_many_it_missed() {
    let mut sim = three_users(Faults::NONE, 11);
    sim.client_up[2] = false; // star3 hears nothing for a while
    for i in 0..300 {
        let now = sim.now;
        // Paced under the rate limit.
        sim.client(0).say(now, &format!("m{i}")).unwrap();
        sim.run_for(Duration::from_millis(25));
    }
    assert!(sim.run_until(10 * SECOND, |s| s.received(1).len() == 300));
    sim.client_up[2] = true;
    assert!(sim.run_until(30 * SECOND, |s| s.received(2).last().map(String::as_str)
        == Some("star: m299")));
    let missed: u32 = sim.client_events[2]
        .iter()
        .filter_map(|e| match e {
            OwnedClientEvent::Missed { count } => Some(*count),
            _ => None,
        })
        .sum();
    let got = sim.received(2).len() as u32;
    assert!(missed > 0, "the ring (256) cannot hold 300 messages");
    assert_eq!(missed + got, 300, "every message is either delivered or counted as missed");
    // What arrived is the newest, in order.
    let expected: Vec<String> = ((300 - got)..300).map(|i| format!("star: m{i}")).collect();
    assert_eq!(sim.received(2), expected);
}

/// A recipient who keeps up, only slowly (a long path and a small window), holds the
/// room's senders back once the ring is full, instead of being overrun: it gets every
/// message, nothing is missed, and the sender's messages all go through in the end.
#[test]
fn a_slow_recipient_who_keeps_up_slows_the_senders_instead_of_missing_messages() {
    let mut config = Sim::server_config();
    config.set_rate_per_sec(0).unwrap();
    config.set_window(2).unwrap(); // at most 2 deliveries in flight: 20 a second over 100 ms
    let faults = Faults { loss: 0.0, duplicate: 0.0, delay_ms: (50, 50) };
    let mut sim = Sim::new(config, faults, 23);
    sim.add_client("fast");
    sim.add_client("slow");
    assert!(sim.run_until(5 * SECOND, |s| joined(s, 0) && joined(s, 1)));
    let total = 400; // more than the ring's 256
    let mut queued = 0;
    let mut ids = Vec::new();
    let mut backed_up = false;
    while queued < total {
        backed_up |= sim.server.is_backed_up();
        let now = sim.now;
        match sim.client(0).say(now, &format!("m{queued}")) {
            Ok(id) => {
                ids.push(id);
                queued += 1;
            }
            Err(_) => sim.run_for(Duration::from_millis(10)), // its queue is full
        }
        assert!(sim.now < Instant::ZERO + 120 * SECOND, "queued only {queued}");
    }
    assert!(sim.run_until(60 * SECOND, |s| s.received(1).len() == total));
    let expected: Vec<String> = (0..total).map(|i| format!("fast: m{i}")).collect();
    assert_eq!(sim.received(1), expected);
    assert!(!sim.client_events[1].iter().any(|e| matches!(e, OwnedClientEvent::Missed { .. })));
    assert!(ids.iter().all(|&id| sim.saw(0, &OwnedClientEvent::Delivered { id })));
    assert!(sim.server.stats().held_back > 0, "the ring had to hold the sender back");
    assert!(backed_up, "a bridged server would have told the others to wait too");
    assert_eq!(sim.server.stats().missed_notices, 0);
}

/// A bridged server's message waits too while the room is full of what a recipient who
/// keeps up still needs (`try_relay` says so), and is taken once the recipient caught up.
#[test]
fn a_relayed_message_waits_while_the_room_is_full() {
    use minichat_core::error::ServerError;
    use minichat_core::wire::Name;

    let mut config = Sim::server_config();
    config.set_rate_per_sec(0).unwrap();
    config.set_window(2).unwrap();
    let faults = Faults { loss: 0.0, duplicate: 0.0, delay_ms: (50, 50) };
    let mut sim = Sim::new(config, faults, 26);
    sim.add_client("fast");
    sim.add_client("slow");
    assert!(sim.run_until(5 * SECOND, |s| joined(s, 0) && joined(s, 1)));
    let faraway = Name::new("faraway").unwrap();
    let mut sent = 0;
    let full = loop {
        let now = sim.now;
        if sim.client(0).say(now, &format!("m{sent}")).is_ok() {
            sent += 1;
        }
        sim.run_for(Duration::from_millis(5));
        let now = sim.now;
        match sim.server.try_relay(now, faraway, "from afar") {
            Err(ServerError::RoomFull) => break true,
            Ok(_) => {}
            Err(other) => panic!("{other}"),
        }
        if sim.now > Instant::ZERO + 60 * SECOND {
            break false;
        }
    };
    assert!(full, "the ring never filled");
    // Once the slow recipient has caught up, it goes in; nothing was missed.
    assert!(sim.run_until(60 * SECOND, |s| {
        s.received(1).iter().filter(|m| m.starts_with("fast")).count() == sent
    }));
    let now = sim.now;
    assert!(sim.server.try_relay(now, faraway, "at last").is_ok());
    assert!(sim.run_until(10 * SECOND, |s| s.received(1).last().map(String::as_str)
        == Some("faraway: at last")));
    assert!(!sim.client_events[1].iter().any(|e| matches!(e, OwnedClientEvent::Missed { .. })));
}

/// While another server sharing the room says its room is full, new messages from users
/// here wait (unacknowledged, resent); once it is no longer, they all go, in order.
#[test]
fn a_full_room_on_another_server_holds_senders_here_back() {
    let mut sim = three_users(Faults::NONE, 24);
    sim.elsewhere.busy = true;
    let now = sim.now;
    let id = sim.client(0).say(now, "wait for it").unwrap();
    sim.run_for(3 * SECOND);
    assert!(sim.received(1).is_empty());
    assert!(!sim.saw(0, &OwnedClientEvent::Delivered { id }));
    assert!(sim.server.stats().held_back > 0);
    sim.elsewhere.busy = false;
    assert!(sim.run_until(10 * SECOND, |s| s.saw(0, &OwnedClientEvent::Delivered { id })));
    assert!(sim.run_until(5 * SECOND, |s| s.received(1) == ["star: wait for it"]));
}

/// A server's room counts as backed up only while a recipient who answers still needs
/// the oldest message and the ring is nearly full: a ring full of old, delivered history
/// is not.
#[test]
fn a_ring_full_of_delivered_history_is_not_backed_up() {
    let mut config = Sim::server_config();
    config.set_rate_per_sec(0).unwrap();
    let mut sim = Sim::new(config, Faults::NONE, 25);
    sim.add_client("talker");
    sim.add_client("reader");
    assert!(sim.run_until(5 * SECOND, |s| joined(s, 0) && joined(s, 1)));
    for i in 0..300 {
        let now = sim.now;
        sim.client(0).say(now, &format!("{i}")).unwrap();
        sim.run_for(Duration::from_millis(20));
    }
    assert!(sim.run_until(10 * SECOND, |s| s.received(1).len() == 300));
    assert!(sim.server.oldest_message() > 1, "the ring (256) wrapped");
    assert!(!sim.server.is_backed_up());
}

#[test]
fn the_rate_limit_slows_a_sender_down_and_loses_nothing() {
    let mut config = Sim::server_config();
    config.set_rate_per_sec(10).unwrap();
    config.set_burst(5).unwrap();
    let mut sim = Sim::new(config, Faults::NONE, 12);
    sim.add_client("fast");
    sim.add_client("reader");
    assert!(sim.run_until(5 * SECOND, |s| joined(s, 0) && joined(s, 1)));
    let now = sim.now;
    for i in 0..15 {
        sim.client(0).say(now, &format!("{i}")).unwrap();
    }
    assert!(sim.run_until(20 * SECOND, |s| s.received(1).len() == 15));
    assert!(sim.saw(0, &OwnedClientEvent::RateLimited));
    assert_eq!(sim.received(1), (0..15).map(|i| format!("fast: {i}")).collect::<Vec<_>>());
}

#[test]
fn under_loss_duplication_and_reordering_every_message_arrives_exactly_once_in_order() {
    let faults = Faults { loss: 0.2, duplicate: 0.05, delay_ms: (1, 40) };
    let mut sim = three_users(faults, 13);
    let per_sender = 40;
    for round in 0..per_sender {
        for sender in 0..3 {
            let now = sim.now;
            let name = ["star", "star2", "star3"][sender];
            while sim.client(sender).say(now, &format!("{name}-{round}")).is_err() {
                sim.run_for(Duration::from_millis(50)); // queue full: wait for acks
            }
        }
        sim.run_for(Duration::from_millis(100));
    }
    // Everything received, and every sender has its answers.
    let complete = |s: &Sim| {
        (0..3).all(|i| s.received(i).len() == 2 * per_sender)
            && s.clients.iter().all(|(_, c)| c.pending() == 0)
    };
    assert!(
        sim.run_until(Duration::from_secs(300), complete),
        "received {:?}",
        (0..3).map(|i| sim.received(i).len()).collect::<Vec<_>>()
    );
    for recipient in 0..3 {
        let got = sim.received(recipient);
        for sender in (0..3).filter(|s| *s != recipient) {
            let name = ["star", "star2", "star3"][sender];
            let from_sender: Vec<&String> =
                got.iter().filter(|l| l.starts_with(&format!("{name}: "))).collect();
            let expected: Vec<String> =
                (0..per_sender).map(|r| format!("{name}: {name}-{r}")).collect();
            assert_eq!(from_sender, expected.iter().collect::<Vec<_>>(), "{recipient} from {name}");
        }
    }
    for sender in 0..3 {
        let delivered = sim.client_events[sender]
            .iter()
            .filter(|e| matches!(e, OwnedClientEvent::Delivered { .. }))
            .count();
        assert_eq!(delivered, per_sender);
    }
}

#[test]
fn with_the_server_gone_messages_fail_honestly() {
    let mut sim = three_users(Faults::NONE, 14);
    sim.server_up = false;
    let now = sim.now;
    let id = sim.client(0).say(now, "into the void").unwrap();
    let give_up = sim.clients[0].1.config().give_up();
    assert!(sim.run_until(give_up + 5 * SECOND, |s| s.saw(0, &OwnedClientEvent::Failed { id })));
    assert!(!sim.saw(0, &OwnedClientEvent::Delivered { id }));
}

#[test]
fn after_a_failure_the_next_message_gets_a_fresh_session_and_arrives_once() {
    let mut sim = three_users(Faults::NONE, 17);
    let now = sim.now;
    let first = sim.client(0).say(now, "one").unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.saw(0, &OwnedClientEvent::Delivered { id: first })));
    // The server stops answering (but keeps the session) until the message gives up.
    sim.server_up = false;
    let now = sim.now;
    let lost = sim.client(0).say(now, "two").unwrap();
    let give_up = sim.clients[0].1.config().give_up();
    assert!(
        sim.run_until(give_up + 5 * SECOND, |s| s.saw(0, &OwnedClientEvent::Failed { id: lost }))
    );
    sim.server_up = true;
    let now = sim.now;
    let third = sim.client(0).say(now, "three").unwrap();
    assert!(sim.run_until(20 * SECOND, |s| s.saw(0, &OwnedClientEvent::Delivered { id: third })));
    assert!(sim.run_until(5 * SECOND, |s| s.received(1).len() == 2));
    sim.run_for(2 * SECOND);
    assert_eq!(sim.received(1), ["star: one", "star: three"]);
    assert!(sim.server_events.iter().any(
        |e| matches!(e, ServerEvent::Left { name, reason: LeftReason::Replaced, .. } if name.as_str() == "star")
    ));
}

#[test]
fn the_operator_speaks_and_kicks() {
    let mut sim = three_users(Faults::NONE, 15);
    let now = sim.now;
    sim.server.announce(now, "welcome all", None).unwrap();
    let star3 = minichat_core::wire::Name::new("star3").unwrap();
    sim.server.announce(now, "just you", Some(star3)).unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.received(2).len() == 2));
    assert_eq!(sim.received(2), ["server: welcome all", "server (direct): just you"]);
    assert_eq!(sim.received(0), ["server: welcome all"]);
    sim.server.kick(minichat_core::wire::Name::new("STAR2").unwrap()).unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.clients[1].1.is_closed()));
    assert!(sim.saw(1, &OwnedClientEvent::Kicked));
    assert_eq!(sim.server.user_count(), 2);
}

/// A message relayed from a user of a bridged server reaches everyone here, but not a
/// user whose name has the same key (as a sender never gets its own room messages), and
/// a text longer than the server accepts is refused.
#[test]
fn messages_from_elsewhere_reach_the_room() {
    let mut sim = three_users(Faults::NONE, 17);
    let now = sim.now;
    let star2 = minichat_core::wire::Name::new("Star2").unwrap();
    sim.server.relay(now, minichat_core::wire::Name::new("faraway").unwrap(), "hello").unwrap();
    sim.server.relay(now, star2, "same key as star2").unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.received(0).len() == 2 && s.received(2).len() == 2));
    sim.run_for(SECOND);
    assert_eq!(sim.received(0), ["faraway: hello", "Star2: same key as star2"]);
    assert_eq!(sim.received(1), ["faraway: hello"]);
    let long = "x".repeat(usize::from(sim.server.config().max_text()) + 1);
    let faraway = minichat_core::wire::Name::new("faraway").unwrap();
    assert!(matches!(
        sim.server.relay(now, faraway, &long),
        Err(minichat_core::error::ServerError::TextTooLong { .. })
    ));
}

/// With users of other servers in the room (a bridge's directory): their names are taken
/// here, a tell to one of them is accepted and left for the bridge, `who` lists them after
/// the server's own, and a relayed tell reaches its recipient here or says no such user.
#[test]
fn users_of_other_servers_hold_their_names_and_get_direct_messages() {
    use minichat_core::server::Recipient;
    use minichat_core::wire::Name;

    let mut sim = three_users(Faults::NONE, 21);
    sim.elsewhere.names = vec![NameBuf::parse("bob").unwrap(), NameBuf::parse("carol").unwrap()];
    let newcomer = sim.add_client("BOB");
    assert!(sim.run_until(5 * SECOND, |s| s.refusal(newcomer, ErrorCode::NameTaken).is_some()));
    assert_eq!(sim.refusal(newcomer, ErrorCode::NameTaken).unwrap(), "the name BOB is taken");

    let now = sim.now;
    let id = sim.client(0).tell(now, "Bob", "hi bob").unwrap();
    sim.client(0).who(now).unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.saw(0, &OwnedClientEvent::Delivered { id })
        && s.client_events[0].iter().any(|e| matches!(e, OwnedClientEvent::Users { .. }))));
    let stored = sim.server.message(sim.server.newest_message()).unwrap();
    assert_eq!(stored.to, Recipient::Elsewhere);
    assert_eq!((stored.from.as_str(), stored.to_name.map(|n| n.as_str())), ("star", Some("Bob")));
    let names: Vec<String> = sim.client_events[0]
        .iter()
        .find_map(|e| match e {
            OwnedClientEvent::Users { total: 5, start: 0, names } => {
                Some(names.iter().map(|n| n.name.to_string()).collect())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(names, ["star", "star2", "star3", "bob", "carol"]);
    // The other servers' users come with their server's name.
    let places: Vec<Option<String>> = sim.client_events[0]
        .iter()
        .find_map(|e| match e {
            OwnedClientEvent::Users { names, .. } => {
                Some(names.iter().map(|u| u.place.map(|p| p.to_string())).collect())
            }
            _ => None,
        })
        .unwrap();
    let elsewhere = Some("elsewhere".to_owned());
    assert_eq!(places, [None, None, None, elsewhere.clone(), elsewhere]);
    // Nobody here got the tell for bob.
    sim.run_for(SECOND);
    assert!((1..3).all(|i| sim.received(i).is_empty()));

    let (bob, star2) = (Name::new("bob").unwrap(), Name::new("Star2").unwrap());
    let now = sim.now;
    sim.server.relay_tell(now, bob, star2, "hi star2").unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.received(1) == ["bob (direct): hi star2"]));
    let nobody = Name::new("nobody").unwrap();
    assert!(matches!(
        sim.server.relay_tell(now, bob, nobody, "hello?"),
        Err(minichat_core::error::ServerError::NoSuchUser)
    ));
}

#[test]
fn late_joiners_get_recent_history() {
    let mut config = Sim::server_config();
    config.set_history(2).unwrap();
    let mut sim = Sim::new(config, Faults::NONE, 16);
    sim.add_client("star");
    assert!(sim.run_until(5 * SECOND, |s| joined(s, 0)));
    for text in ["one", "two", "three"] {
        let now = sim.now;
        sim.client(0).say(now, text).unwrap();
    }
    sim.run_for(SECOND);
    sim.add_client_with(ClientConfig::new("late", server_addr(), 0x1a7e).unwrap());
    assert!(sim.run_until(5 * SECOND, |s| s.received(1).len() == 2));
    assert_eq!(sim.received(1), ["star: two", "star: three"]);
}

/// Encodes a message into a fresh buffer.
fn encode(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; message.buffer_len()];
    message.encode(&mut buf).unwrap();
    buf
}

/// Client `i`'s session token, as an on-path observer would read it off any frame.
fn token_of(sim: &mut Sim, i: usize) -> Token {
    sim.clients[i].1.session_token().expect("joined")
}
