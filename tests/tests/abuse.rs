//! Abuse and garbage: spoofed join floods, guessed and stolen tokens, senders over the
//! rate limit, and a battery of malformed frames, each with the outcome the spec gives,
//! while the real users keep chatting. On the simulated network (`tests/src/sim.rs`).

use std::net::SocketAddr;

use minichat_core::client::OwnedClientEvent;
use minichat_core::time::Duration;
use minichat_core::wire::ErrorCode;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Cookie, Kind, Message, Name, Token};
use minichat_tests::rng;
use minichat_tests::sim::{Faults, Sim, client_addr};
use proptest::prelude::RngExt;

const SECOND: Duration = Duration::from_secs(1);

fn encode(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; message.buffer_len()];
    message.encode(&mut buf).unwrap();
    buf
}

fn spoofed(i: usize) -> SocketAddr {
    SocketAddr::from((
        [203, 0, (i / 250 % 250) as u8, (i % 250) as u8 + 1],
        1024 + (i % 40_000) as u16,
    ))
}

/// star, star2, star3 joined, history off.
fn three_users(seed: u64) -> Sim {
    let mut config = Sim::server_config();
    config.set_history(0).unwrap();
    Sim::joined(config, seed, &["star", "star2", "star3"])
}

#[test]
fn a_spoofed_join_flood_takes_no_slot_amplifies_nothing_and_the_chat_goes_on() {
    let mut sim = three_users(40);
    let mut random = rng(40);
    // A cookie the attacker really got, for its own address, to replay from others.
    let attacker: SocketAddr = "198.51.100.7:4444".parse().unwrap();
    sim.inject(
        attacker,
        &encode(&Message::Join {
            cookie: Cookie::EMPTY,
            nonce: 1,
            window: 1,
            resume: Token::NONE,
            delivered: 0,
            name: Name::new("x").unwrap(),
            max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
        }),
    );
    sim.run_for(SECOND);
    let real_cookie = sim
        .sent_to_strangers
        .iter()
        .find_map(|(to, bytes)| match Message::decode(bytes) {
            Ok(Message::Cookie { cookie, .. }) if *to == attacker => Some(cookie),
            _ => None,
        })
        .expect("the attacker got a cookie");
    let joins_before = sim.server.stats().joins;
    let mut said = 0;
    for batch in 0..100 {
        for j in 0..1000 {
            let i = batch * 1000 + j;
            let cookie = match i % 5 {
                0 | 1 => Cookie::EMPTY,
                2 | 3 => Cookie(std::array::from_fn(|_| random.random())),
                _ => real_cookie,
            };
            let name = format!("bot{}", i % 10_000);
            let join = Message::Join {
                cookie,
                nonce: i as u64,
                window: 8,
                resume: Token::NONE,
                delivered: 0,
                name: Name::new(&name).unwrap(),
                max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
            };
            sim.inject(spoofed(i % 10_000), &encode(&join));
        }
        // The real users keep talking through the flood.
        if batch % 10 == 0 {
            let now = sim.now;
            sim.client(batch / 10 % 3).say(now, &format!("through the flood {said}")).unwrap();
            said += 1;
        }
        sim.run_for(Duration::from_millis(20));
    }
    assert!(sim.run_until(10 * SECOND, |s| (0..3).map(|i| s.received(i).len()).sum::<usize>()
        == 2 * said));
    let stats = *sim.server.stats();
    assert_eq!(sim.server.user_count(), 3, "no spoofed join took a slot");
    assert_eq!(stats.joins, joins_before);
    assert!(stats.cookies >= 100_000, "every join without a valid cookie got a cookie: {stats:?}");
    for i in 0..10_000 {
        let (received, sent) = sim.server_bytes[&spoofed(i)];
        assert!(sent <= received, "{} got {sent} bytes for {received}", spoofed(i));
    }
}

#[test]
fn guessed_tokens_get_nothing_and_change_nothing() {
    let mut sim = three_users(41);
    let mut random = rng(41);
    let before = *sim.server.stats();
    for i in 0..10_000 {
        let guess = Token(random.random::<u64>() | 1);
        let say = encode(&Message::Say { token: guess, seq: 1, text: "let me in" });
        // From strangers: "unknown session", never more bytes than came in.
        sim.inject(spoofed(i), &say);
        // From a real user's address: dropped without a word.
        if i % 10 == 0 {
            sim.inject(client_addr(i % 3), &say);
        }
        if i % 500 == 0 {
            sim.run_for(Duration::from_millis(10));
        }
    }
    sim.run_for(SECOND);
    let stats = sim.server.stats();
    assert_eq!(stats.bad_token - before.bad_token, 1_000);
    assert_eq!(stats.unknown_session - before.unknown_session, 10_000);
    assert_eq!(sim.server.user_count(), 3);
    assert!((0..3).all(|i| sim.received(i).is_empty()), "no guess was delivered");
    for i in 0..10_000 {
        let (received, sent) = sim.server_bytes[&spoofed(i)];
        assert!(sent <= received);
    }
}

#[test]
fn the_rate_limit_complains_at_most_once_a_second() {
    let mut config = Sim::server_config();
    config.set_rate_per_sec(5).unwrap();
    config.set_burst(5).unwrap();
    let mut sim = Sim::new(config, Faults::NONE, 42);
    sim.add_client("flood");
    sim.add_client("reader");
    assert!(sim.run_until(10 * SECOND, |s| s.clients.iter().all(|(_, c)| c.is_joined())));
    sim.record = true;
    let start = sim.now;
    let now = sim.now;
    for i in 0..16 {
        sim.client(0).say(now, &format!("{i}")).unwrap();
    }
    assert!(sim.run_until(60 * SECOND, |s| s.received(1).len() == 16), "all 16 arrive, slowly");
    let elapsed_s = (sim.now - start).as_millis() / 1000;
    let complaints = sim
        .server_sent
        .iter()
        .filter(|(to, bytes)| {
            *to == client_addr(0)
                && matches!(
                    Message::decode(bytes),
                    Ok(Message::Error { code: ErrorCode::RateLimited, .. })
                )
        })
        .count() as u64;
    assert!(complaints >= 1, "the sender was told");
    assert!(complaints <= elapsed_s + 1, "{complaints} complaints in {elapsed_s} s");
    assert!(elapsed_s >= 2, "16 messages at 5 a second take a while");
}

/// A malformed frame, where it comes from, and what the server must answer.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// From a joined user: the error code it gets (None: no answer).
    from_user: Option<ErrorCode>,
    /// From a stranger: whether it gets an answer (only a version mismatch does).
    stranger_answered: bool,
}

fn battery(token: Token) -> Vec<Case> {
    let say = encode(&Message::Say { token, seq: 1, text: "hello" });
    let mut truncated = say.clone();
    truncated.truncate(say.len() - 2);
    let mut oversized = say.clone();
    oversized.resize(MAX_FRAME + 100, b'x');
    let mut version = say.clone();
    version[1] = minichat_core::wire::limits::VERSION + 1;
    let mut bad_utf8 = say.clone();
    let n = bad_utf8.len();
    bad_utf8[n - 2..].copy_from_slice(&[0xc3, 0x28]);
    let mut inconsistent = say.clone();
    inconsistent[15..17].copy_from_slice(&10u16.to_be_bytes());
    let mut unknown_kind = say.clone();
    unknown_kind[2] = 0x7f;
    let mut trailing = say.clone();
    trailing.push(0);
    let bad_name = {
        let mut join = encode(&Message::Join {
            cookie: Cookie::EMPTY,
            nonce: 1,
            window: 1,
            resume: Token::NONE,
            delivered: 0,
            name: Name::new("ab").unwrap(),
            max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
        });
        let n = join.len();
        join[n - 1] = 0x07;
        join
    };
    let server_kind = encode(&Message::Deliver {
        token,
        seq: 1,
        direct: false,
        history: false,
        from: Name::new("me").unwrap(),
        text: "hi",
    });
    vec![
        Case {
            name: "truncated",
            bytes: truncated,
            from_user: Some(ErrorCode::Malformed),
            stranger_answered: false,
        },
        Case {
            name: "oversized",
            bytes: oversized,
            from_user: Some(ErrorCode::Malformed),
            stranger_answered: false,
        },
        Case {
            name: "wrong magic",
            bytes: b"hello".to_vec(),
            from_user: None,
            stranger_answered: false,
        },
        Case {
            name: "wrong version",
            bytes: version,
            from_user: Some(ErrorCode::UnsupportedVersion),
            stranger_answered: true,
        },
        Case {
            name: "bad UTF-8",
            bytes: bad_utf8,
            from_user: Some(ErrorCode::Malformed),
            stranger_answered: false,
        },
        Case {
            name: "inconsistent length",
            bytes: inconsistent,
            from_user: Some(ErrorCode::Malformed),
            stranger_answered: false,
        },
        Case {
            name: "unknown kind",
            bytes: unknown_kind,
            from_user: Some(ErrorCode::Malformed),
            stranger_answered: false,
        },
        Case {
            name: "trailing bytes",
            bytes: trailing,
            from_user: Some(ErrorCode::Malformed),
            stranger_answered: false,
        },
        Case {
            name: "control character in a name",
            bytes: bad_name,
            from_user: Some(ErrorCode::Malformed),
            stranger_answered: false,
        },
        Case {
            name: "a kind only servers send",
            bytes: server_kind,
            from_user: None,
            stranger_answered: false,
        },
    ]
}

#[test]
fn every_malformed_frame_gets_its_typed_outcome_and_the_server_keeps_serving() {
    let mut sim = three_users(43);
    sim.record = true;
    let token = sim.clients[0].1.session_token().unwrap();
    let stranger: SocketAddr = "192.0.2.99:9999".parse().unwrap();
    for (round, case) in battery(token).into_iter().enumerate() {
        let mark = sim.server_sent.len();
        let strangers_mark = sim.sent_to_strangers.len();
        sim.inject(client_addr(0), &case.bytes);
        sim.inject(stranger, &case.bytes);
        sim.run_for(Duration::from_millis(1100)); // malformed reports: at most one a second
        let to_user: Vec<Message> = sim.server_sent[mark..]
            .iter()
            .filter(|(to, _)| *to == client_addr(0))
            .filter_map(|(_, bytes)| Message::decode(bytes).ok())
            .filter(|m| m.kind() == Kind::Error)
            .collect();
        match case.from_user {
            Some(code) => assert!(
                matches!(to_user.as_slice(), [Message::Error { code: c, token: t, .. }] if *c == code && *t == token),
                "{}: expected one {code:?} error with the session's token, got {to_user:?}",
                case.name
            ),
            None => {
                assert!(to_user.is_empty(), "{}: expected no answer, got {to_user:?}", case.name)
            }
        }
        let to_stranger = &sim.sent_to_strangers[strangers_mark..];
        assert_eq!(
            !to_stranger.is_empty(),
            case.stranger_answered,
            "{}: stranger got {to_stranger:?}",
            case.name
        );
        for (_, reply) in to_stranger {
            assert!(reply.len() <= case.bytes.len(), "{}: amplified", case.name);
            assert!(matches!(
                Message::decode(reply),
                Ok(Message::Error { code: ErrorCode::UnsupportedVersion, token: Token::NONE, .. })
            ));
        }
        // Still serving.
        let now = sim.now;
        sim.client(0).say(now, &format!("still here {round}")).unwrap();
        assert!(
            sim.run_until(5 * SECOND, |s| s
                .received(1)
                .last()
                .is_some_and(|l| *l == format!("star: still here {round}"))),
            "{}: the server stopped serving",
            case.name
        );
    }
    assert!(sim.clients.iter().all(|(_, c)| c.is_joined()));
    assert!(
        !sim.client_events[0]
            .iter()
            .any(|e| matches!(e, OwnedClientEvent::SessionLost | OwnedClientEvent::ServerLost))
    );
}
