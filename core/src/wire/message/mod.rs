//! Every message of the protocol as a typed value (smoltcp's `Repr`): `parse` reads one
//! from a [`Frame`](crate::wire::Frame) (`parse.rs`), `emit` writes one and `buffer_len` says how many bytes
//! that takes (`emit.rs`).
//!
//! Parsing borrows names and texts from the frame, so nothing is copied. Exactly one
//! encoding is accepted for every message: lengths must match, no bytes may follow the
//! last field, and undefined flag bits, modes and codes are refused. So whatever parses
//! re-emits to the identical bytes.

mod emit;
mod parse;

use crate::wire::{Cookie, EchoMode, ErrorCode, Kind, Name, NameList, Token};

/// Bit 0 of a `deliver` frame's flags: sent to one user (`tell`), not to the room.
const FLAG_DIRECT: u8 = 0x01;
/// Bit 1 of a `deliver` frame's flags: said before the recipient joined (history).
const FLAG_HISTORY: u8 = 0x02;
/// Bit 0 of a `server-key` frame's flags: the server wants a fleet's key too.
const FLAG_FLEET: u8 = 0x01;
/// A `user-key` frame's flags: a user of this server holds the name (bit 0); a key follows
/// (bit 1).
const USER_HERE: u8 = 0x01;
const USER_KEY_FOLLOWS: u8 = 0x02;
/// The zero bytes that pad a `key-request` to the size of its answer.
const KEY_REQUEST_PADDING: usize = 33;

/// One minichat message. Field layouts are in `docs/PROTOCOL.md`, "Messages"; every
/// frame starts with the header (magic, version, kind), and the kinds of a session
/// continue with its [`Token`]; those of joining (`join`, `cookie`, `refused`, `hello`,
/// `answer`, `key-request`, `server-key`) carry none ([`Kind::has_token`]).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message<'a> {
    /// Client -> server: join as `name`; first with [`Cookie::EMPTY`], then with the
    /// cookie the server sent.
    Join {
        /// Empty on the first step, the server's cookie on the second.
        cookie: Cookie,
        /// Chosen by the client for this attempt to join, the same in both steps and in
        /// every resend; a new attempt (after the client lost its session) has a new one.
        /// The server answers a resend with the same welcome, a new attempt with a new
        /// session.
        nonce: u64,
        /// How many deliveries the client takes before acknowledging: the next one, plus
        /// as many early ones as it can hold. The server never has more outstanding.
        window: u16,
        /// The token of the session this client had before and lost (a server restart,
        /// an expiry), or [`Token::NONE`]: the server then offers only what the client has
        /// not handed over yet, and never its own messages.
        resume: Token,
        /// With `resume`: the last delivery number of that session the client handed to
        /// its application.
        delivered: u32,
        /// The name the client wants.
        name: Name<'a>,
        /// The largest frame the client takes, [`MIN_FRAME`](crate::wire::limits::MIN_FRAME)
        /// to [`MAX_FRAME`](crate::wire::limits::MAX_FRAME): the server never sends it a
        /// larger one, and tells it of a message too long for it as lost. On the wire
        /// only when below `MAX_FRAME`.
        max_frame: u16,
    },
    /// Server -> client: the answer to a join without a valid cookie.
    Cookie {
        /// The cookie to echo in the next join.
        cookie: Cookie,
        /// The nonce of the join this answers: a client ignores a cookie for another
        /// attempt.
        nonce: u64,
    },
    /// Server -> client: the join is refused (name taken or not allowed, server full, too
    /// many sessions from one address). Bound to the join by its nonce, so a forged
    /// refusal that does not know the nonce is ignored.
    Refused {
        /// The nonce of the join this answers.
        nonce: u64,
        /// Why.
        code: ErrorCode,
        /// A short explanation for people, up to
        /// [`MAX_DETAIL`](crate::wire::limits::MAX_DETAIL) bytes.
        detail: &'a str,
    },
    /// Server -> client: the client is in.
    Welcome {
        /// The session token every later frame carries.
        token: Token,
        /// The nonce of the join this answers, so a late welcome for an earlier attempt
        /// is recognised.
        nonce: u64,
        /// How long the client may stay silent before it must ping, in milliseconds.
        keepalive_ms: u32,
        /// The longest text this server accepts, in bytes.
        max_text: u16,
        /// How many messages a second the server accepts from one user (0: no limit).
        rate_per_sec: u16,
        /// The name the client joined with.
        name: Name<'a>,
    },
    /// Client -> server: leave the chat. Sequenced after the client's last message, so
    /// everything said before it is delivered first.
    Leave {
        /// The session token.
        token: Token,
        /// The client's next sequence number.
        seq: u32,
    },
    /// Server -> client: the server has no session for this address and token (it
    /// restarted, or the session expired); join again.
    UnknownSession {
        /// The token the client's frame carried, echoed so an off-path sender cannot forge
        /// this reply.
        token: Token,
    },
    /// Server -> client: a known token arrived from a new address; prove the address.
    Challenge {
        /// The session token.
        token: Token,
        /// The value to send back.
        nonce: u32,
    },
    /// Client -> server: the answer to a challenge, sent from the new address.
    ChallengeResponse {
        /// The session token.
        token: Token,
        /// The nonce of the challenge.
        nonce: u32,
    },
    /// Client -> server: a message to the whole room.
    Say {
        /// The session token.
        token: Token,
        /// The client's sequence number for this message, counting from 1 per session.
        seq: u32,
        /// The message.
        text: &'a str,
    },
    /// Client -> server: a message to one user.
    Tell {
        /// The session token.
        token: Token,
        /// The client's sequence number for this message.
        seq: u32,
        /// The recipient's name.
        to: Name<'a>,
        /// The message.
        text: &'a str,
    },
    /// Server -> client: a message for this client's application.
    Deliver {
        /// The recipient's session token.
        token: Token,
        /// This recipient's delivery number: 1 for the first message of the session, then
        /// one more for each. The recipient accepts only the one after the last it
        /// accepted, so it sees every message once and in order.
        seq: u32,
        /// Sent to this recipient alone (`tell`) rather than to the room.
        direct: bool,
        /// Said before the recipient joined: recent history, not news.
        history: bool,
        /// The sender, as the server's table knows it: never what the sender claimed.
        from: Name<'a>,
        /// The message.
        text: &'a str,
    },
    /// Server -> client: every delivery up to `seq` that the client has not accepted yet
    /// is lost (its backlog overflowed the server's ring). The client counts them, accepts
    /// `seq` as delivered, and goes on with `seq + 1`.
    Missed {
        /// The recipient's session token.
        token: Token,
        /// The last delivery number that is lost.
        seq: u32,
    },
    /// Cumulative acknowledgement. Client -> server: every delivery up to `seq` arrived.
    /// Server -> client: every client message up to `seq` was accepted.
    Ack {
        /// The session token.
        token: Token,
        /// The highest sequence number received in order.
        seq: u32,
        /// Selective acknowledgement: bit `i` set means number `seq + 2 + i` arrived too
        /// (out of order, and is held). Zero from a receiver that holds nothing out of
        /// order, which the server always is.
        sack: u32,
    },
    /// Client -> server: who is connected?
    Who {
        /// The session token.
        token: Token,
        /// The client's request id, echoed in the answer.
        req: u32,
        /// Index of the first user wanted (for lists longer than one frame).
        start: u16,
    },
    /// Server -> client: the connected users, or as many as fit from `start` on.
    Users {
        /// The session token.
        token: Token,
        /// The request id of the `who`.
        req: u32,
        /// How many users are connected in all.
        total: u16,
        /// Index of the first name in this frame.
        start: u16,
        /// The names.
        names: NameList<'a>,
    },
    /// Client -> server: send this text back, transformed by `mode`.
    Echo {
        /// The session token.
        token: Token,
        /// The client's request id, echoed in the answer.
        req: u32,
        /// The transformation.
        mode: EchoMode,
        /// The text.
        text: &'a str,
    },
    /// Server -> client: the answer to an echo. Same layout, so a server can answer in
    /// place.
    EchoReply {
        /// The session token.
        token: Token,
        /// The request id of the echo.
        req: u32,
        /// The transformation that was applied.
        mode: EchoMode,
        /// The transformed text.
        text: &'a str,
    },
    /// Client -> server: keep-alive; are you there?
    Ping {
        /// The session token.
        token: Token,
        /// The client's request id, echoed in the answer.
        req: u32,
    },
    /// Server -> client: the answer to a ping.
    Pong {
        /// The session token.
        token: Token,
        /// The request id of the ping.
        req: u32,
    },
    /// Client -> server: whose key is `name`'s? (`docs/PROTOCOL.md`, "key-of"; feature
    /// `client-keys`.)
    KeyOf {
        /// The session token.
        token: Token,
        /// The client's request id, echoed in the answer.
        req: u32,
        /// The user asked about.
        name: Name<'a>,
    },
    /// Server -> client: the answer to a key-of.
    UserKey {
        /// The session token.
        token: Token,
        /// The request id of the key-of.
        req: u32,
        /// The user asked about, as the key-of named it.
        name: Name<'a>,
        /// Whether a user of this server holds the name now.
        here: bool,
        /// The key of the name: the one its user's join proved, or, with nobody here, the
        /// one the server's records say owns the name. `None`: no key is known for it.
        key: Option<[u8; 32]>,
    },
    /// Server -> client, to the session's new address and to its old one: the session
    /// moved to the address that answered the challenge with `nonce`. A client that did
    /// not answer that challenge has lost its session to someone else.
    Moved {
        /// The session token.
        token: Token,
        /// The nonce of the challenge that was answered.
        nonce: u32,
        /// The highest client sequence number the server accepted in order.
        seq: u32,
        /// [`crate::wire::message_digest`] of the message the server accepted as `seq`
        /// (0 when `seq` is 0): the client compares it with its own.
        digest: u32,
    },
    /// Client -> server: join an encrypted session (`docs/PROTOCOL.md`, "Security"); first
    /// with [`Cookie::EMPTY`], then with the server's cookie, the same handshake both times.
    Hello {
        /// Empty on the first step, the server's cookie on the second.
        cookie: Cookie,
        /// The attempt's nonce, as a join's; the join inside carries the same.
        nonce: u64,
        /// The first Noise handshake message; its payload is a `join` frame.
        handshake: &'a [u8],
    },
    /// Client -> server: join an encrypted session with a key of its own (`docs/PROTOCOL.md`,
    /// "Client keys"): as [`Message::Hello`], but the handshake is `IK`, and the join
    /// inside carries this frame's cookie, so a recording replayed from another address
    /// joins no one.
    HelloKey {
        /// Empty on the first step, the server's cookie on the second.
        cookie: Cookie,
        /// The attempt's nonce, as a join's; the join inside carries the same.
        nonce: u64,
        /// The first Noise `IK` handshake message; its payload is a `join` frame.
        handshake: &'a [u8],
    },
    /// Server -> client: the answer to a hello (or a hello-key) with a valid cookie.
    Answer {
        /// The hello's nonce.
        nonce: u64,
        /// The second Noise handshake message; its payload is a `welcome` or a `refused`
        /// frame for the same nonce.
        handshake: &'a [u8],
    },
    /// Either way, in an encrypted session: a sealed frame.
    Sealed {
        /// The session's token: in the clear, it names the session.
        token: Token,
        /// The message's nonce: each direction counts from 0.
        counter: u64,
        /// The frame of the session (with this token), sealed, and the tag.
        sealed: &'a [u8],
    },
    /// Client -> server: what is your static public key? Padded to the size of the
    /// answer, so the server never sends more than it received.
    KeyRequest {
        /// Chosen by the client, echoed in the answer.
        nonce: u64,
    },
    /// Server -> client: the server's static public key, unauthenticated.
    ServerKey {
        /// The request's nonce.
        nonce: u64,
        /// The server also wants a fleet's pre-shared key (`NKpsk0`).
        fleet: bool,
        /// The key.
        key: [u8; 32],
    },
    /// Server -> client: something went wrong.
    Error {
        /// The session token, or [`Token::NONE`] when there is no session yet.
        token: Token,
        /// What went wrong.
        code: ErrorCode,
        /// The sequence number of the client message this is about, 0 for none.
        seq: u32,
        /// A short explanation for people, up to
        /// [`MAX_DETAIL`](crate::wire::limits::MAX_DETAIL) bytes.
        detail: &'a str,
    },
}

impl Message<'_> {
    /// The message's kind.
    pub const fn kind(&self) -> Kind {
        match self {
            Message::Join { .. } => Kind::Join,
            Message::Cookie { .. } => Kind::Cookie,
            Message::Refused { .. } => Kind::Refused,
            Message::Moved { .. } => Kind::Moved,
            Message::Hello { .. } => Kind::Hello,
            Message::HelloKey { .. } => Kind::HelloKey,
            Message::Answer { .. } => Kind::Answer,
            Message::Sealed { .. } => Kind::Sealed,
            Message::KeyRequest { .. } => Kind::KeyRequest,
            Message::ServerKey { .. } => Kind::ServerKey,
            Message::Welcome { .. } => Kind::Welcome,
            Message::Leave { .. } => Kind::Leave,
            Message::UnknownSession { .. } => Kind::UnknownSession,
            Message::Challenge { .. } => Kind::Challenge,
            Message::ChallengeResponse { .. } => Kind::ChallengeResponse,
            Message::Say { .. } => Kind::Say,
            Message::Tell { .. } => Kind::Tell,
            Message::Deliver { .. } => Kind::Deliver,
            Message::Missed { .. } => Kind::Missed,
            Message::Ack { .. } => Kind::Ack,
            Message::Who { .. } => Kind::Who,
            Message::Users { .. } => Kind::Users,
            Message::Echo { .. } => Kind::Echo,
            Message::EchoReply { .. } => Kind::EchoReply,
            Message::Ping { .. } => Kind::Ping,
            Message::Pong { .. } => Kind::Pong,
            Message::KeyOf { .. } => Kind::KeyOf,
            Message::UserKey { .. } => Kind::UserKey,
            Message::Error { .. } => Kind::Error,
        }
    }

    /// The session token, for every kind but `join` and `cookie`.
    pub const fn token(&self) -> Option<Token> {
        match *self {
            Message::Join { .. }
            | Message::Cookie { .. }
            | Message::Refused { .. }
            | Message::Hello { .. }
            | Message::HelloKey { .. }
            | Message::Answer { .. }
            | Message::KeyRequest { .. }
            | Message::ServerKey { .. } => None,
            Message::Welcome { token, .. }
            | Message::Leave { token, .. }
            | Message::UnknownSession { token }
            | Message::Challenge { token, .. }
            | Message::ChallengeResponse { token, .. }
            | Message::Moved { token, .. }
            | Message::Sealed { token, .. }
            | Message::Say { token, .. }
            | Message::Tell { token, .. }
            | Message::Deliver { token, .. }
            | Message::Missed { token, .. }
            | Message::Ack { token, .. }
            | Message::Who { token, .. }
            | Message::Users { token, .. }
            | Message::Echo { token, .. }
            | Message::EchoReply { token, .. }
            | Message::Ping { token, .. }
            | Message::Pong { token, .. }
            | Message::KeyOf { token, .. }
            | Message::UserKey { token, .. }
            | Message::Error { token, .. } => Some(token),
        }
    }
}

/// Whether the kind mask `KINDS` holds `kind`; constant wherever `kind` is.
const fn takes<const KINDS: u64>(kind: Kind) -> bool {
    KINDS & kind.bit() != 0
}
