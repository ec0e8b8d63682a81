//! A server whose peers cannot move (serial lines: `PeerAddress::ROAMS` false), beside
//! one whose peers can: a session's token from another address is challenged only where
//! addresses move; on fixed lines it is answered `unknown-session`, and a
//! `challenge-response` is not read at all (PROTOCOL.md section 10, "Identity").

use core::hash::Hasher;

use minichat_core::address::PeerAddress;
use minichat_core::server::{ServerConfig, StaticServer};
use minichat_core::time::Instant;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Cookie, Message, Name, Token};

/// A serial line, by number: a peer on it is always there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Line(u8);

impl PeerAddress for Line {
    const ROAMS: bool = false;

    fn write_key<H: Hasher>(&self, hasher: &mut H) {
        hasher.write_u8(self.0);
    }

    fn same_host(&self, _other: &Self) -> bool {
        false
    }
}

/// The same numbering, for peers that can turn up at another number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Roaming(u8);

impl PeerAddress for Roaming {
    fn write_key<H: Hasher>(&self, hasher: &mut H) {
        hasher.write_u8(self.0);
    }

    fn same_host(&self, _other: &Self) -> bool {
        false
    }
}

fn encode(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; message.buffer_len()];
    message.encode(&mut buf).unwrap();
    buf
}

/// What the server answers `message` from `from` with, decoded into `f`'s result.
fn answer<A: PeerAddress, T>(
    server: &mut StaticServer<4, 16, A, 2048, 0>,
    from: A,
    message: &Message<'_>,
    f: impl FnOnce(Option<Message<'_>>) -> T,
) -> T {
    let mut buf = [0u8; MAX_FRAME];
    let now = Instant::from_millis(1_000);
    let reply = server.handle(now, from, &encode(message), &mut buf);
    let reply = reply.map(|t| {
        assert_eq!(t.destination, from, "answers go back where the frame came from");
        Message::decode(&buf[..t.len]).unwrap()
    });
    f(reply)
}

/// A server with `ana` joined at `at`; returns it and her token.
fn joined<A: PeerAddress>(at: A) -> (StaticServer<4, 16, A, 2048, 0>, Token) {
    let mut server = StaticServer::new(ServerConfig::new([9; 16], 3)).unwrap();
    let join = |cookie| Message::Join {
        cookie,
        nonce: 5,
        window: 1,
        resume: Token::NONE,
        delivered: 0,
        name: Name::new("ana").unwrap(),
        max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
    };
    let cookie = answer(&mut server, at, &join(Cookie::EMPTY), |m| match m {
        Some(Message::Cookie { cookie, .. }) => cookie,
        other => panic!("expected a cookie, got {other:?}"),
    });
    let token = answer(&mut server, at, &join(cookie), |m| match m {
        Some(Message::Welcome { token, .. }) => token,
        other => panic!("expected a welcome, got {other:?}"),
    });
    (server, token)
}

#[test]
fn on_fixed_lines_a_token_from_another_line_is_an_unknown_session_never_a_move() {
    let (mut server, token) = joined(Line(0));
    let ping = Message::Ping { token, req: 1 };
    let reply = answer(&mut server, Line(1), &ping, |m| format!("{m:?}"));
    assert_eq!(reply, format!("{:?}", Some(Message::UnknownSession { token })));
    assert_eq!((server.stats().challenges, server.stats().unknown_session), (0, 1));
    // Not read at all: no answer, counted as a kind the server does not take.
    let response = Message::ChallengeResponse { token, nonce: 0 };
    assert!(answer(&mut server, Line(1), &response, |m| m.is_none()));
    assert_eq!((server.stats().unexpected, server.stats().migrations), (1, 0));
    // The session stays where it is, and answers there.
    let pong = answer(&mut server, Line(0), &ping, |m| matches!(m, Some(Message::Pong { .. })));
    assert!(pong);
    assert_eq!(server.users().map(|(_, at)| at).collect::<Vec<_>>(), [Line(0)]);
}

#[test]
fn where_addresses_move_the_same_frame_is_challenged() {
    let (mut server, token) = joined(Roaming(0));
    let ping = Message::Ping { token, req: 1 };
    let challenged = answer(
        &mut server,
        Roaming(1),
        &ping,
        |m| matches!(m, Some(Message::Challenge { token: t, .. }) if t == token),
    );
    assert!(challenged);
    assert_eq!((server.stats().challenges, server.stats().unknown_session), (1, 0));
}
