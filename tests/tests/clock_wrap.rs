//! The core's clock is 32 bits of milliseconds and wraps every 49.7 days (`time::Instant`).
//! These run the chat through the wrap and across spans longer than half the clock, in
//! simulated time: joins whose cookie is minted before the wrap and checked after it,
//! retransmission and delivery through loss, keep-alives and idle expiry, and what may lie
//! unread for weeks: a rate limiter, a challenge, a client's keep-alive.

use minichat_core::client::{Client, ClientConfig, MessageId, OwnedClientEvent};
use minichat_core::server::{LeftReason, MAX_KEEPALIVE, ServerEvent};
use minichat_core::time::{Duration, Instant};
use minichat_core::wire::{Message, Name, Token};
use minichat_tests::sim::{Faults, Sim};

const SECOND: Duration = Duration::from_secs(1);
const DAY: u64 = 86_400_000;

/// `ms` milliseconds before the clock wraps to zero.
fn before_the_wrap(ms: u64) -> Instant {
    Instant::from_millis((1 << 32) - ms)
}

/// A server and `names`, joined, starting `ms` before the wrap.
fn joined_before_the_wrap(
    ms: u64,
    config: minichat_core::server::ServerConfig,
    faults: Faults,
    names: &[&str],
) -> Sim {
    let mut sim = Sim::new(config, faults, 7);
    sim.now = before_the_wrap(ms);
    for name in names {
        sim.add_client(name);
    }
    assert!(
        sim.run_until(30 * SECOND, |s| s.clients.iter().all(|(_, c)| c.is_joined())),
        "everyone joins"
    );
    sim
}

#[test]
fn a_join_whose_cookie_is_minted_before_the_wrap_is_taken_after_it() {
    // One-way delay of 5 ms: the cookie leaves the server 5 ms before the wrap, and the
    // second join reaches it 5 ms after.
    let faults = Faults { delay_ms: (5, 5), ..Faults::NONE };
    let sim = joined_before_the_wrap(10, Sim::server_config(), faults, &["early", "late"]);
    assert!(sim.now.as_millis() < 1_000, "the joins end just after the wrap");
    assert_eq!(sim.server.user_count(), 2);
}

#[test]
fn a_lossy_chat_through_the_wrap_delivers_everything_once_in_order() {
    let faults = Faults { loss: 0.1, duplicate: 0.05, delay_ms: (1, 30) };
    let mut sim = joined_before_the_wrap(20_000, Sim::server_config(), faults, &["a", "b", "c"]);
    let mut ids = Vec::new();
    for i in 0..100 {
        let now = sim.now;
        ids.push(sim.client(0).say(now, &format!("m{i}")).unwrap());
        sim.run_for(Duration::from_millis(400));
    }
    assert!(sim.now.as_millis() < 30_000, "the messages went out across the wrap");
    let expected: Vec<String> = (0..100).map(|i| format!("a: m{i}")).collect();
    assert!(
        sim.run_until(60 * SECOND, |s| s.received(1).len() >= 100 && s.received(2).len() >= 100)
    );
    assert_eq!(sim.received(1), expected);
    assert_eq!(sim.received(2), expected);
    for id in ids {
        assert!(sim.saw(0, &OwnedClientEvent::Delivered { id }), "{id:?} is acknowledged");
    }
}

#[test]
fn keep_alives_hold_and_silence_expires_on_time_across_the_wrap() {
    let config = Sim::server_config();
    let idle = config.idle_timeout();
    let start = idle.as_millis() * 2 + idle.as_millis() / 2;
    let mut sim = joined_before_the_wrap(start, config, Faults::NONE, &["a", "b"]);
    // Two idle timeouts of keep-alives hold both.
    sim.run_for(idle.times(2));
    assert_eq!(sim.server.user_count(), 2);
    // A client that vanishes half an idle timeout before the wrap is expired after it, on
    // time: not before the idle timeout, and soon after. The other keeps its session.
    assert!(sim.now < before_the_wrap(idle.as_millis() / 2 - 1_000));
    sim.client_up[1] = false;
    let gone = sim.now;
    let almost = Duration::from_millis(idle.as_millis() - 5_000);
    sim.run_for(almost);
    assert_eq!(sim.server.user_count(), 2, "not expired early");
    assert!(sim.run_until(10 * SECOND, |s| s.server.user_count() == 1));
    assert!(sim.now - gone >= almost);
    assert!(u64::from(sim.now.as_millis()) < idle.as_millis(), "expired after the wrap");
    assert!(sim.server_events.iter().any(
        |e| matches!(e, ServerEvent::Left { name, reason: LeftReason::TimedOut, .. } if name.as_str() == "b")
    ));
}

#[test]
fn a_user_who_only_pings_for_weeks_gets_its_whole_burst_back() {
    // Keep-alives a day apart, so weeks pass in a few hundred steps.
    let mut config = Sim::server_config();
    config.set_liveness(Duration::from_millis(DAY), Duration::from_millis(3 * DAY)).unwrap();
    config.set_rate_per_sec(1).unwrap();
    config.set_burst(3).unwrap();
    let mut sim = joined_before_the_wrap(1_000, config, Faults::NONE, &["a", "b"]);
    let send_burst = |sim: &mut Sim, tag: &str| -> Vec<MessageId> {
        let now = sim.now;
        (0..3).map(|i| sim.client(0).say(now, &format!("{tag}{i}")).unwrap()).collect()
    };
    // The bucket emptied, then 30 days of pings alone: more than half the clock.
    send_burst(&mut sim, "first");
    assert!(
        sim.run_until(Duration::from_millis(500), |s| s.received(1).len() == 3),
        "a burst goes at once"
    );
    for _ in 0..3 {
        sim.run_for(Duration::from_millis(10 * DAY));
    }
    assert_eq!(sim.server.user_count(), 2);
    let again = send_burst(&mut sim, "again");
    assert!(
        sim.run_until(Duration::from_millis(500), |s| s.received(1).len() == 6),
        "the bucket refilled over the weeks: the whole burst goes at once"
    );
    for id in again {
        assert!(sim.saw(0, &OwnedClientEvent::Delivered { id }));
    }
}

#[test]
fn a_challenge_left_unanswered_for_weeks_is_sent_again() {
    // Keep-alives a day apart hold the session at its own address for a month.
    let mut config = Sim::server_config();
    config.set_liveness(Duration::from_millis(DAY), Duration::from_millis(3 * DAY)).unwrap();
    let mut sim = joined_before_the_wrap(DAY, config, Faults::NONE, &["a"]);
    let token = sim.clients[0].1.session_token().expect("joined");
    let stranger: std::net::SocketAddr = "10.7.7.7:7777".parse().unwrap();
    let ping = {
        let message = Message::Ping { token, req: 9 };
        let mut buf = vec![0u8; message.buffer_len()];
        message.encode(&mut buf).unwrap();
        buf
    };
    let challenges = |sim: &Sim| {
        sim.sent_to_strangers
            .iter()
            .filter(|(to, bytes)| {
                *to == stranger && matches!(Message::decode(bytes), Ok(Message::Challenge { .. }))
            })
            .count()
    };
    sim.inject(stranger, &ping);
    sim.run_for(SECOND);
    assert_eq!(challenges(&sim), 1);
    // 30 days on, past half the clock, the token shows up there again: the challenge then
    // is a month old, not a time to come, and goes out again.
    for _ in 0..3 {
        sim.run_for(Duration::from_millis(10 * DAY));
    }
    assert_eq!(sim.server.user_count(), 1);
    sim.inject(stranger, &ping);
    sim.run_for(SECOND);
    assert_eq!(challenges(&sim), 2);
}

#[test]
fn a_client_told_an_endless_keep_alive_still_notices_a_silent_server() {
    let server: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let start = before_the_wrap(DAY);
    let mut config = ClientConfig::new("me", server, 0x5eed).unwrap();
    // Unanswered pings go again at most a minute apart: some 12,000 of them in 8 days.
    let (initial, min, _) = config.retransmission();
    config.set_retransmission(initial, min, Duration::from_secs(60)).unwrap();
    let mut client = Client::<4, 16, 4>::new(config, start);
    let mut buf = [0u8; 1024];
    let join = client.poll_transmit(start, &mut buf).unwrap();
    let Ok(Message::Join { nonce, .. }) = Message::decode(&buf[..join.len]) else {
        panic!("a join")
    };
    // A keep-alive no server of today announces (the longest is `MAX_KEEPALIVE`).
    let welcome = Message::Welcome {
        token: Token(0xfeed),
        nonce,
        keepalive_ms: u32::MAX,
        max_text: 989,
        rate_per_sec: 0,
        name: Name::new("me").unwrap(),
    };
    let mut frame = vec![0u8; welcome.buffer_len()];
    welcome.encode(&mut frame).unwrap();
    client.handle(start, server, &frame);
    assert!(client.is_joined());
    // The server says nothing more; each timer is served a second late.
    // Time passed is counted apart, in 64 bits: the client's clock wraps on the way.
    let (mut now, mut passed_ms) = (start, 0u64);
    let mut lost = false;
    for _ in 0..100_000 {
        let Some(at) = client.poll_timeout() else { break };
        let next = at.max(now) + SECOND;
        // A step may be longer than half the clock: a difference modulo 2³².
        passed_ms += u64::from(next.as_millis().wrapping_sub(now.as_millis()));
        now = next;
        client.handle_timeout(now);
        while client.poll_transmit(now, &mut buf).is_some() {}
        if std::iter::from_fn(|| client.poll_event().map(|e| e.into_owned()))
            .any(|e| e == OwnedClientEvent::ServerLost)
        {
            lost = true;
            break;
        }
    }
    assert!(lost, "the client noticed the silent server");
    // Within two of the longest keep-alives a server may announce, and a round trip.
    let limit = MAX_KEEPALIVE.times(2) + Duration::from_secs(120);
    assert!(passed_ms <= limit.as_millis(), "noticed after {passed_ms} ms");
}
