//! The server state machine fed sequences of datagrams from several addresses, with time
//! steps and operator actions. Raw bytes reach the parser's corners; structured frames
//! (joins that echo the cookie they got, session frames with tokens the server issued,
//! challenge-responses that echo the nonce of the challenge an address got) reach the
//! session logic and address moves; numbers are full width, so wrap-around is reached,
//! and the clock starts a minute before its own wrap (2^32 ms). Checks: no panic, every
//! frame it sends parses, never more bytes to an unverified address than it sent, never
//! more users than the capacity, no event dropped, a delivery number resent to a session
//! always carries the same message, a session moves only to an address that echoed a
//! challenge sent there, and a `moved` names a challenge the server sent for that session.
#![no_main]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use minichat_core::server::{ServerConfig, ServerEvent, StaticServer};
use minichat_core::time::{Duration, Instant};
use minichat_core::wire::limits::{MAX_FRAME, MIN_FRAME};
use minichat_core::wire::{Cookie, EchoMode, Message, Name, Token};

const NAMES: [&str; 4] = ["ann", "ANN", "bob", "cy"];

/// A text too long for a client of the smallest frames.
const LONG: &str = "a text too long for the smallest frames a client may take, which hold \
    168 bytes: the deliver of this from a name of three letters is more than that, so it \
    reaches such a client as a missed";

#[derive(Arbitrary, Debug)]
enum Op {
    Raw {
        from: u8,
        bytes: Vec<u8>,
    },
    Join {
        from: u8,
        name: u8,
        echo_cookie: bool,
        nonce: u64,
        window: u8,
        resume_of: Option<u8>,
        delivered: u32,
        /// The join says the client takes only the smallest frames.
        small: bool,
    },
    Session {
        from: u8,
        token_of: u8,
        kind: u8,
        seq: u32,
        sack: u32,
        text: u8,
    },
    /// A challenge-response from this address echoing the last challenge sent there.
    EchoChallenge {
        from: u8,
    },
    Advance(u16),
    Kick(u8),
    Announce {
        to: Option<u8>,
    },
    Shutdown,
}

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i % 6], 5000))
}

fn encode(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; message.buffer_len()];
    message.encode(&mut buf).expect("a valid message encodes");
    buf
}

fuzz_target!(|ops: Vec<Op>| {
    let mut config = ServerConfig::new([7; 16], 1);
    config.set_capacity(3).unwrap();
    config.set_rate_per_sec(5).unwrap();
    config.set_burst(3).unwrap();
    let mut server = StaticServer::<4, 16>::new(config).expect("capacity 3 of 4");
    // A minute before the clock wraps: runs cross it.
    let mut now = Instant::from_millis(u64::from(u32::MAX - 60_000));
    let mut buf = [0u8; MAX_FRAME];
    let mut cookies: HashMap<SocketAddr, Cookie> = HashMap::new();
    let mut sent: Sent = HashMap::new();
    let mut tokens: HashMap<SocketAddr, Token> = HashMap::new();
    let mut verified: HashSet<SocketAddr> = HashSet::new();
    let mut moves = Moves::default();
    for op in ops.into_iter().take(256) {
        // A join made here: the largest frame it says its client takes.
        let mut joining = None;
        let (from, datagram, proves) = match op {
            Op::Raw { from, bytes } => (addr(from), bytes, false),
            Op::Join { from, name, echo_cookie, nonce, window, resume_of, delivered, small } => {
                let from = addr(from);
                let cookie = if echo_cookie {
                    cookies.get(&from).copied().unwrap_or(Cookie::EMPTY)
                } else {
                    Cookie::EMPTY
                };
                let name = Name::new(NAMES[usize::from(name) % NAMES.len()]).expect("valid");
                let resume =
                    resume_of.and_then(|i| tokens.get(&addr(i)).copied()).unwrap_or(Token::NONE);
                let join = Message::Join {
                    cookie,
                    nonce,
                    window: u16::from(window),
                    resume,
                    delivered,
                    name,
                    max_frame: if small { MIN_FRAME as u16 } else { MAX_FRAME as u16 },
                };
                joining = Some(if small { MIN_FRAME } else { MAX_FRAME });
                (from, encode(&join), !cookie.is_empty())
            }
            Op::Session { from, token_of, kind, seq, sack, text } => {
                let token = tokens.get(&addr(token_of)).copied().unwrap_or(Token(0x5eed));
                let text = ["", "hi", "a bit longer text", "ünïcödé", LONG][usize::from(text) % 5];
                let to = Name::new(NAMES[usize::from(seq as u8) % NAMES.len()]).expect("valid");
                let message = match kind % 9 {
                    0 => Message::Say { token, seq, text },
                    1 => Message::Tell { token, seq, to, text },
                    2 => Message::Leave { token, seq },
                    3 => Message::Ack { token, seq, sack },
                    4 => Message::Who { token, req: seq, start: seq as u16 },
                    5 => Message::Echo { token, req: seq, mode: EchoMode::Lower, text },
                    6 => Message::Ping { token, req: seq },
                    7 => Message::ChallengeResponse { token, nonce: sack },
                    _ => Message::Deliver {
                        token,
                        seq,
                        direct: true,
                        history: false,
                        from: to,
                        text,
                    },
                };
                (addr(from), encode(&message), false)
            }
            Op::EchoChallenge { from } => {
                let from = addr(from);
                let Some(&(token, nonce)) = moves.last_challenge.get(&from) else { continue };
                (from, encode(&Message::ChallengeResponse { token, nonce }), false)
            }
            Op::Advance(ms) => {
                now = now + Duration::from_millis(u64::from(ms) * 4);
                if server.poll_timeout().is_some_and(|t| t <= now) {
                    server.handle_timeout(now);
                }
                drain(&mut server, now, &mut buf, &verified, &mut sent, &mut moves);
                continue;
            }
            Op::Kick(i) => {
                let _ = server.kick(Name::new(NAMES[usize::from(i) % NAMES.len()]).expect("valid"));
                drain(&mut server, now, &mut buf, &verified, &mut sent, &mut moves);
                continue;
            }
            Op::Announce { to } => {
                let to = to.map(|i| Name::new(NAMES[usize::from(i) % NAMES.len()]).expect("valid"));
                let _ = server.announce(now, "attention", to);
                drain(&mut server, now, &mut buf, &verified, &mut sent, &mut moves);
                continue;
            }
            Op::Shutdown => {
                server.shutdown();
                drain(&mut server, now, &mut buf, &verified, &mut sent, &mut moves);
                continue;
            }
        };
        // An address that echoes a challenge sent there proved it receives there.
        let proves = moves.received(from, &datagram) || proves;
        if let Some(reply) = server.handle(now, from, &datagram, &mut buf) {
            let bytes = &buf[..reply.len];
            let parsed = Message::decode(bytes).expect("the server sends only valid frames");
            assert!(
                verified.contains(&from) || proves || reply.len <= datagram.len(),
                "{} bytes to unverified {from} for {}: {parsed:?}",
                reply.len,
                datagram.len()
            );
            moves.sent(reply.destination, &parsed);
            moves.fits(&parsed, reply.len);
            match parsed {
                Message::Cookie { cookie, .. } => {
                    cookies.insert(reply.destination, cookie);
                }
                Message::Welcome { token, .. } => {
                    tokens.insert(reply.destination, token);
                    if let Some(frame) = joining {
                        moves.frames.insert(token, frame);
                    }
                }
                _ => {}
            }
        }
        for (_, user) in server.users() {
            verified.insert(user);
        }
        drain(&mut server, now, &mut buf, &verified, &mut sent, &mut moves);
        assert!(server.user_count() <= 3);
    }
});

/// What each (session, delivery number) carried when first sent.
type Sent = HashMap<(Token, u32), (String, String)>;

/// The server's challenges and the answers that echoed them.
#[derive(Default)]
struct Moves {
    /// Every challenge sent: (session, nonce); and to which address.
    issued: HashSet<(Token, u32)>,
    sent_to: HashSet<(SocketAddr, Token, u32)>,
    /// The last challenge sent to each address.
    last_challenge: HashMap<SocketAddr, (Token, u32)>,
    /// Addresses that echoed a challenge sent to them, for a session.
    echoed: HashSet<(SocketAddr, Token)>,
    /// Each user's session token, by name, as the server's welcomes said.
    tokens: HashMap<SocketAddr, Token>,
    /// The largest frame each session's client takes, as its join said.
    frames: HashMap<Token, usize>,
}

impl Moves {
    /// A datagram from `from`: whether it echoes a challenge sent there (whatever made it).
    fn received(&mut self, from: SocketAddr, datagram: &[u8]) -> bool {
        if let Ok(Message::ChallengeResponse { token, nonce }) = Message::decode(datagram)
            && self.sent_to.contains(&(from, token, nonce))
        {
            self.echoed.insert((from, token));
            return true;
        }
        false
    }

    /// A frame of `len` bytes with `message` is no larger than its client takes.
    fn fits(&self, message: &Message<'_>, len: usize) {
        let frame = message.token().and_then(|t| self.frames.get(&t)).copied();
        let frame = frame.unwrap_or(MAX_FRAME);
        assert!(len <= frame, "a {len}-byte frame to a client of {frame}: {message:?}");
    }

    fn sent(&mut self, to: SocketAddr, message: &Message<'_>) {
        match *message {
            Message::Challenge { token, nonce } => {
                self.issued.insert((token, nonce));
                self.sent_to.insert((to, token, nonce));
                self.last_challenge.insert(to, (token, nonce));
            }
            Message::Moved { token, nonce, .. } => {
                assert!(
                    self.issued.contains(&(token, nonce)),
                    "moved for {token:?} names challenge {nonce}, never sent for it"
                );
            }
            Message::Welcome { token, .. } => {
                self.tokens.insert(to, token);
            }
            _ => {}
        }
    }
}

fn drain(
    server: &mut StaticServer<4, 16>,
    now: Instant,
    buf: &mut [u8; MAX_FRAME],
    verified: &HashSet<SocketAddr>,
    sent: &mut Sent,
    moves: &mut Moves,
) {
    for _ in 0..10_000 {
        let Some(transmit) = server.poll_transmit(now, buf) else { break };
        let message =
            Message::decode(&buf[..transmit.len]).expect("the server sends only valid frames");
        moves.sent(transmit.destination, &message);
        moves.fits(&message, transmit.len);
        if let Message::Deliver { token, seq, from, text, .. } = message {
            let carried = (from.as_str().to_owned(), text.to_owned());
            let first = sent.entry((token, seq)).or_insert_with(|| carried.clone());
            assert_eq!(*first, carried, "delivery {seq} to {token:?} changed on resend");
        }
        assert!(
            verified.contains(&transmit.destination),
            "poll_transmit to unverified {}",
            transmit.destination
        );
    }
    while let Some(event) = server.poll_event() {
        if let ServerEvent::Moved { from, to, .. } = event {
            let token = moves.tokens.get(&from).copied();
            assert!(
                token.is_some_and(|token| moves.echoed.contains(&(to, token))),
                "a session moved from {from} to {to}, which echoed no challenge for it"
            );
            if let Some(token) = token {
                moves.tokens.insert(to, token);
            }
        }
    }
    assert_eq!(server.stats().events_dropped, 0, "an event was dropped");
    for seq in server.oldest_message()..=server.newest_message() {
        let _ = server.message(seq);
    }
}
