//! The client state machine fed what a server (or an impostor) could send: raw bytes and
//! well-formed frames with the right token or a wrong one, in any order, with time steps
//! and application calls between; numbers are full width, so wrap-around and spans near
//! 2^31 are reached. Checks: no panic, every frame it sends parses and goes to its server,
//! it hands over each delivery at most once per session and in order, every message the
//! application queued gets at most one answer (delivered, refused, failed, maybe lost),
//! and across sessions: a re-join resumes the session it had last, from a point that
//! covers every delivery it handed over there (so the server never sends one again).
#![no_main]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use minichat_core::client::{Client, ClientConfig, ClientEvent, MessageId};
use minichat_core::seq::after;
use minichat_core::time::{Duration, Instant};
use minichat_core::wire::ErrorCode;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Cookie, EchoMode, Message, Name, NameBuf, NameList, Token};

#[derive(Arbitrary, Debug)]
enum Op {
    Raw { from_server: bool, bytes: Vec<u8> },
    Frame { right_token: bool, kind: u8, seq: u32, code: u8, flag: bool },
    Advance(u16),
    Say(u8),
    Tell(u8),
    Who,
    Echo,
    Leave,
}

fuzz_target!(|ops: Vec<Op>| {
    let server: SocketAddr = "10.0.0.1:8080".parse().expect("literal");
    let other: SocketAddr = "10.0.0.2:8080".parse().expect("literal");
    let name = NameBuf::parse("me").expect("valid");
    let config = ClientConfig::new(name.as_str(), server, 0x5eed).expect("valid");
    let mut client = Client::<4, 8, 4>::new(config, Instant::ZERO);
    let mut now = Instant::ZERO;
    let mut buf = [0u8; MAX_FRAME];
    let mut last_nonce = 0u64;
    let mut token = Token(0x1234);
    let mut texts_seen: HashSet<String> = HashSet::new();
    let mut last_handed: Option<u32> = None;
    // The session the client is in (or was in last), and the last delivery handed over
    // in it.
    let mut session: Option<Token> = None;
    // Each queued message, and whether it got its answer.
    let mut answered: HashMap<MessageId, bool> = HashMap::new();
    let mut names_buf = [0u8; 64];
    let users = NameList::encode(
        [Name::new("me").expect("valid"), Name::new("you").expect("valid")],
        &mut names_buf,
    );
    for op in ops.into_iter().take(256) {
        match op {
            Op::Raw { from_server, bytes } => {
                client.handle(now, if from_server { server } else { other }, &bytes)
            }
            Op::Frame { right_token, kind, seq, code, flag } => {
                let t = if right_token { token } else { Token(0x9999) };
                // Each delivery carries its number in its text, to spot a repeat.
                let text = format!("m{seq}");
                let from = Name::new("you").expect("valid");
                let code = ErrorCode::ALL[usize::from(code) % ErrorCode::ALL.len()];
                let message = match kind % 14 {
                    0 => Message::Cookie {
                        cookie: Cookie([seq.to_le_bytes()[0]; 16]),
                        nonce: if flag { last_nonce } else { u64::from(seq) },
                    },
                    1 => {
                        if flag {
                            token = Token(0x1234 + u64::from(seq));
                        }
                        let me = Name::new(if flag { "me" } else { "ME" }).expect("valid");
                        Message::Welcome {
                            token,
                            nonce: last_nonce,
                            keepalive_ms: 1000,
                            max_text: 50,
                            rate_per_sec: 0,
                            name: me,
                        }
                    }
                    2 | 3 => Message::Deliver {
                        token: t,
                        seq,
                        direct: flag,
                        history: !flag,
                        from,
                        text: &text,
                    },
                    4 => Message::Missed { token: t, seq },
                    5 => Message::Ack { token: t, seq, sack: u32::from(code.to_byte()) },
                    6 => Message::Error {
                        token: if flag { Token::NONE } else { t },
                        code,
                        seq,
                        detail: "no",
                    },
                    7 => Message::Users {
                        token: t,
                        req: seq,
                        total: 5,
                        start: seq as u16 % 3,
                        names: users,
                    },
                    8 => {
                        Message::EchoReply { token: t, req: seq, mode: EchoMode::Upper, text: "HI" }
                    }
                    9 => Message::Pong { token: t, req: seq },
                    10 => Message::Challenge { token: t, nonce: seq },
                    11 => Message::Refused {
                        nonce: if flag { last_nonce } else { u64::from(seq) },
                        code,
                        detail: "no",
                    },
                    12 => Message::Moved { token: t, nonce: seq, seq, digest: seq.rotate_left(7) },
                    _ => Message::UnknownSession { token: t },
                };
                let len = message.encode(&mut buf).expect("valid");
                client.handle(now, server, &buf[..len]);
            }
            Op::Advance(ms) => {
                now = now + Duration::from_millis(u64::from(ms) * 8);
                if client.poll_timeout().is_some_and(|t| t <= now) {
                    client.handle_timeout(now);
                }
            }
            Op::Say(n) => {
                if let Ok(id) = client.say(now, &"s".repeat(usize::from(n))) {
                    answered.insert(id, false);
                }
            }
            Op::Tell(n) => {
                if let Ok(id) = client.tell(now, "you", &"t".repeat(usize::from(n))) {
                    answered.insert(id, false);
                }
            }
            Op::Who => {
                let _ = client.who(now);
            }
            Op::Echo => {
                let _ = client.echo(now, EchoMode::Lower, "Hi");
            }
            Op::Leave => {
                if let Ok(id) = client.leave(now) {
                    answered.insert(id, false);
                }
            }
        }
        for _ in 0..1000 {
            let Some(transmit) = client.poll_transmit(now, &mut buf) else { break };
            assert_eq!(transmit.destination, server);
            let message =
                Message::decode(&buf[..transmit.len]).expect("the client sends only valid frames");
            if let Message::Join { nonce, resume, delivered, .. } = message {
                last_nonce = nonce;
                if resume != Token::NONE {
                    assert_eq!(Some(resume), session, "a re-join resumes another session");
                    if let Some(last) = last_handed {
                        assert!(
                            !after(last, delivered),
                            "re-join from {delivered}, after m{last} was handed over"
                        );
                    }
                }
            }
        }
        while let Some(event) = client.poll_event() {
            if let ClientEvent::Joined { .. } = event {
                texts_seen.clear(); // a new session numbers from 1 again
                last_handed = None;
                session = Some(token);
            }
            if let ClientEvent::Message { text, .. } = &event {
                assert!(
                    texts_seen.insert(text.to_string()),
                    "{text} handed over twice in one session"
                );
                // In delivery order: each carries its number, and numbers only go up.
                if let Some(n) = text.strip_prefix('m').and_then(|n| n.parse::<u32>().ok()) {
                    if let Some(last) = last_handed {
                        assert!(after(n, last), "m{n} handed over after m{last}");
                    }
                    last_handed = Some(n);
                }
            }
            if let ClientEvent::Delivered { id }
            | ClientEvent::Rejected { id, .. }
            | ClientEvent::Failed { id }
            | ClientEvent::MaybeLost { id } = event
            {
                let done = answered.get_mut(&id).expect("an answer for a message never queued");
                assert!(!*done, "{id:?} answered twice: {event:?}");
                *done = true;
            }
        }
    }
});
