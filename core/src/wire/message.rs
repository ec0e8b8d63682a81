//! Every message of the protocol as a typed value (smoltcp's `Repr`): `parse` reads one
//! from a [`Frame`], `emit` writes one, `buffer_len` says how many bytes that takes.
//!
//! Parsing borrows names and texts from the frame, so nothing is copied. Exactly one
//! encoding is accepted for every message: lengths must match, no bytes may follow the
//! last field, and undefined flag bits, modes and codes are refused. So whatever parses
//! re-emits to the identical bytes.

use crate::error::WireError;
use crate::wire::cursor::{Reader, Writer};
use crate::wire::limits::{COOKIE_LEN, HEADER_LEN, MAX_FRAME};
use crate::wire::{Cookie, EchoMode, ErrorCode, Frame, Kind, Name, NameList, Token};

/// Bit 0 of a `deliver` frame's flags: sent to one user (`tell`), not to the room.
const FLAG_DIRECT: u8 = 0x01;
/// Bit 1 of a `deliver` frame's flags: said before the recipient joined (history).
const FLAG_HISTORY: u8 = 0x02;

/// One minichat message. Field layouts are in `docs/PROTOCOL.md`, "Messages"; every
/// frame starts with the header (magic, version, kind), and every kind but `join` and
/// `cookie` continues with the session [`Token`].
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

impl<'a> Message<'a> {
    /// Parses a frame checked by [`Frame::new_checked`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(frame: &Frame<&'a T>) -> Result<Message<'a>, WireError> {
        Self::parse_only::<{ Kind::ALL_MASK }, _>(frame)
    }

    /// [`Message::parse`] for the kinds in `KINDS` only (a mask, [`Kind::mask`]); any other
    /// kind is [`WireError::UnexpectedKind`]. The mask is a constant, so the code that reads
    /// the other kinds is not in the program at all: a firmware client carries the
    /// readers of what servers send and nothing else.
    pub fn parse_only<const KINDS: u64, T: AsRef<[u8]> + ?Sized>(
        frame: &Frame<&'a T>,
    ) -> Result<Message<'a>, WireError> {
        frame.check_len()?;
        let kind = frame.kind()?;
        if KINDS & kind.bit() == 0 {
            return Err(WireError::UnexpectedKind(kind));
        }
        let buffer: &'a [u8] = frame.into_inner().as_ref();
        let mut r = Reader::new(buffer.get(HEADER_LEN..).unwrap_or_default(), kind);
        let message = if kind.has_token() {
            let token = Token(r.u64()?);
            Self::parse_session::<KINDS>(kind, token, &mut r)?
        } else {
            Self::parse_tokenless::<KINDS>(kind, &mut r)?
        };
        r.finish()?;
        Ok(message)
    }

    // Every arm is guarded by `takes::<KINDS>`, a constant: arms for kinds outside the
    // mask are dropped when the function is compiled for it.
    fn parse_tokenless<const KINDS: u64>(
        kind: Kind,
        r: &mut Reader<'a>,
    ) -> Result<Message<'a>, WireError> {
        Ok(match kind {
            Kind::Join if takes::<KINDS>(Kind::Join) => Message::Join {
                cookie: Cookie(r.array::<COOKIE_LEN>()?),
                nonce: r.u64()?,
                window: r.u16()?,
                resume: Token(r.u64()?),
                delivered: r.u32()?,
                name: r.name()?,
            },
            Kind::Cookie if takes::<KINDS>(Kind::Cookie) => {
                Message::Cookie { cookie: Cookie(r.array::<COOKIE_LEN>()?), nonce: r.u64()? }
            }
            Kind::Refused if takes::<KINDS>(Kind::Refused) => Message::Refused {
                nonce: r.u64()?,
                code: ErrorCode::from_byte(r.u8()?)?,
                detail: r.detail()?,
            },
            _ => return Err(WireError::UnexpectedKind(kind)),
        })
    }

    fn parse_session<const KINDS: u64>(
        kind: Kind,
        token: Token,
        r: &mut Reader<'a>,
    ) -> Result<Message<'a>, WireError> {
        Ok(match kind {
            Kind::Welcome if takes::<KINDS>(Kind::Welcome) => Message::Welcome {
                token,
                nonce: r.u64()?,
                keepalive_ms: r.u32()?,
                max_text: r.u16()?,
                rate_per_sec: r.u16()?,
                name: r.name()?,
            },
            Kind::Leave if takes::<KINDS>(Kind::Leave) => Message::Leave { token, seq: r.u32()? },
            Kind::UnknownSession if takes::<KINDS>(Kind::UnknownSession) => {
                Message::UnknownSession { token }
            }
            Kind::Challenge if takes::<KINDS>(Kind::Challenge) => {
                Message::Challenge { token, nonce: r.u32()? }
            }
            Kind::ChallengeResponse if takes::<KINDS>(Kind::ChallengeResponse) => {
                Message::ChallengeResponse { token, nonce: r.u32()? }
            }
            Kind::Moved if takes::<KINDS>(Kind::Moved) => {
                Message::Moved { token, nonce: r.u32()?, seq: r.u32()?, digest: r.u32()? }
            }
            Kind::Say if takes::<KINDS>(Kind::Say) => {
                Message::Say { token, seq: r.u32()?, text: r.text()? }
            }
            Kind::Tell if takes::<KINDS>(Kind::Tell) => {
                Message::Tell { token, seq: r.u32()?, to: r.name()?, text: r.text()? }
            }
            Kind::Deliver if takes::<KINDS>(Kind::Deliver) => {
                let seq = r.u32()?;
                let flags = r.u8()?;
                if flags & !(FLAG_DIRECT | FLAG_HISTORY) != 0 {
                    return Err(WireError::UnknownFlags(flags));
                }
                let direct = flags & FLAG_DIRECT != 0;
                let history = flags & FLAG_HISTORY != 0;
                Message::Deliver { token, seq, direct, history, from: r.name()?, text: r.text()? }
            }
            Kind::Missed if takes::<KINDS>(Kind::Missed) => {
                Message::Missed { token, seq: r.u32()? }
            }
            Kind::Ack if takes::<KINDS>(Kind::Ack) => {
                Message::Ack { token, seq: r.u32()?, sack: r.u32()? }
            }
            Kind::Who if takes::<KINDS>(Kind::Who) => {
                Message::Who { token, req: r.u32()?, start: r.u16()? }
            }
            Kind::Users if takes::<KINDS>(Kind::Users) => {
                let req = r.u32()?;
                let total = r.u16()?;
                let start = r.u16()?;
                let names = r.name_list()?;
                let end = u32::from(start) + u32::from(names.len());
                if end > u32::from(total) {
                    return Err(WireError::UserListInconsistent { start, end, total });
                }
                Message::Users { token, req, total, start, names }
            }
            Kind::Echo | Kind::EchoReply
                if takes::<KINDS>(Kind::Echo) || takes::<KINDS>(Kind::EchoReply) =>
            {
                let req = r.u32()?;
                let mode = EchoMode::from_byte(r.u8()?)?;
                let text = r.text()?;
                if kind == Kind::Echo {
                    Message::Echo { token, req, mode, text }
                } else {
                    Message::EchoReply { token, req, mode, text }
                }
            }
            Kind::Ping if takes::<KINDS>(Kind::Ping) => Message::Ping { token, req: r.u32()? },
            Kind::Pong if takes::<KINDS>(Kind::Pong) => Message::Pong { token, req: r.u32()? },
            Kind::Error if takes::<KINDS>(Kind::Error) => Message::Error {
                token,
                code: ErrorCode::from_byte(r.u8()?)?,
                seq: r.u32()?,
                detail: r.detail()?,
            },
            // Outside the mask; `join`, `cookie` and `refused` carry no token and never
            // reach here.
            _ => return Err(WireError::UnexpectedKind(kind)),
        })
    }

    /// Parses a datagram: [`Frame::new_checked`] then [`Message::parse`].
    pub fn decode(datagram: &'a [u8]) -> Result<Message<'a>, WireError> {
        Self::parse(&Frame::new_checked(datagram)?)
    }

    /// [`Message::decode`] for the kinds in `KINDS` only ([`Message::parse_only`]).
    pub fn decode_only<const KINDS: u64>(datagram: &'a [u8]) -> Result<Message<'a>, WireError> {
        Self::parse_only::<KINDS, _>(&Frame::new_checked(datagram)?)
    }

    /// The message's kind.
    pub const fn kind(&self) -> Kind {
        match self {
            Message::Join { .. } => Kind::Join,
            Message::Cookie { .. } => Kind::Cookie,
            Message::Refused { .. } => Kind::Refused,
            Message::Moved { .. } => Kind::Moved,
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
            Message::Error { .. } => Kind::Error,
        }
    }

    /// The session token, for every kind but `join` and `cookie`.
    pub const fn token(&self) -> Option<Token> {
        match *self {
            Message::Join { .. } | Message::Cookie { .. } | Message::Refused { .. } => None,
            Message::Welcome { token, .. }
            | Message::Leave { token, .. }
            | Message::UnknownSession { token }
            | Message::Challenge { token, .. }
            | Message::ChallengeResponse { token, .. }
            | Message::Moved { token, .. }
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
            | Message::Error { token, .. } => Some(token),
        }
    }

    /// How many bytes [`Message::emit`] writes: the frame's exact length, measured by
    /// the same `write_fields` that writes it.
    pub fn buffer_len(&self) -> usize {
        self.buffer_len_only::<{ Kind::ALL_MASK }>()
    }

    /// [`Message::buffer_len`] through the writers of the kinds in `KINDS` only, as
    /// [`Message::emit_only`] writes (a kind outside them counts its header and token).
    pub(crate) fn buffer_len_only<const KINDS: u64>(&self) -> usize {
        let mut w = Writer::counting();
        self.write_fields::<KINDS>(&mut w);
        HEADER_LEN + w.len()
    }

    /// Writes the message at the start of `frame`'s buffer and returns its length,
    /// [`Message::buffer_len`]. A buffer that is too small, a text or detail over its limit,
    /// or a frame over [`MAX_FRAME`] is an error.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        frame: &mut Frame<T>,
    ) -> Result<usize, WireError> {
        self.emit_only::<{ Kind::ALL_MASK }, T>(frame)
    }

    /// [`Message::emit`] for the kinds in `KINDS` only (a mask, [`Kind::mask`]); any other
    /// kind is [`WireError::UnexpectedKind`]. As with [`Message::parse_only`], the writers
    /// of the other kinds are not in the program: a client carries those of what clients
    /// send, a server those of what servers send.
    pub fn emit_only<const KINDS: u64, T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        frame: &mut Frame<T>,
    ) -> Result<usize, WireError> {
        let kind = self.kind();
        if KINDS & kind.bit() == 0 {
            return Err(WireError::UnexpectedKind(kind));
        }
        // One pass: the writer goes on counting past the end of a short buffer, so the
        // frame's length is known even when it does not fit.
        let mut w = Writer::new(frame.body_mut());
        self.write_fields::<KINDS>(&mut w);
        let len = HEADER_LEN + w.len();
        let written = w.finish();
        if len > MAX_FRAME {
            return Err(WireError::FrameTooLong { len });
        }
        frame.set_header(kind)?;
        Ok(HEADER_LEN + written?)
    }

    /// The layout of every kind after the header, in the order of `docs/PROTOCOL.md`
    /// ("Messages"): the token, then the body. [`Message::parse`] reads the same fields.
    // Arms guarded by `takes::<KINDS>` as in `parse_only`; `emit_only` has refused the
    // kinds outside the mask before this runs. Never inlined, so writing and counting
    // (`buffer_len_only`) share one copy per mask.
    #[inline(never)]
    fn write_fields<const KINDS: u64>(&self, w: &mut Writer<'_>) {
        if let Some(token) = self.token() {
            w.u64(token.0);
        }
        match *self {
            Message::Join { cookie, nonce, window, resume, delivered, name }
                if takes::<KINDS>(Kind::Join) =>
            {
                w.bytes(&cookie.0);
                w.u64(nonce);
                w.u16(window);
                w.u64(resume.0);
                w.u32(delivered);
                w.name(name);
            }
            Message::Cookie { cookie, nonce } if takes::<KINDS>(Kind::Cookie) => {
                w.bytes(&cookie.0);
                w.u64(nonce);
            }
            Message::Refused { nonce, code, detail } if takes::<KINDS>(Kind::Refused) => {
                w.u64(nonce);
                w.u8(code.to_byte());
                w.detail(detail);
            }
            Message::Moved { nonce, seq, digest, .. } if takes::<KINDS>(Kind::Moved) => {
                w.u32(nonce);
                w.u32(seq);
                w.u32(digest);
            }
            Message::Welcome { nonce, keepalive_ms, max_text, rate_per_sec, name, .. }
                if takes::<KINDS>(Kind::Welcome) =>
            {
                w.u64(nonce);
                w.u32(keepalive_ms);
                w.u16(max_text);
                w.u16(rate_per_sec);
                w.name(name);
            }
            Message::UnknownSession { .. } if takes::<KINDS>(Kind::UnknownSession) => {}
            Message::Leave { seq, .. } | Message::Missed { seq, .. }
                if takes::<KINDS>(Kind::Leave) || takes::<KINDS>(Kind::Missed) =>
            {
                w.u32(seq)
            }
            Message::Ack { seq, sack, .. } if takes::<KINDS>(Kind::Ack) => {
                w.u32(seq);
                w.u32(sack);
            }
            Message::Challenge { nonce, .. } | Message::ChallengeResponse { nonce, .. }
                if takes::<KINDS>(Kind::Challenge) || takes::<KINDS>(Kind::ChallengeResponse) =>
            {
                w.u32(nonce);
            }
            Message::Ping { req, .. } | Message::Pong { req, .. }
                if takes::<KINDS>(Kind::Ping) || takes::<KINDS>(Kind::Pong) =>
            {
                w.u32(req)
            }
            Message::Say { seq, text, .. } if takes::<KINDS>(Kind::Say) => {
                w.u32(seq);
                w.text(text);
            }
            Message::Tell { seq, to, text, .. } if takes::<KINDS>(Kind::Tell) => {
                w.u32(seq);
                w.name(to);
                w.text(text);
            }
            Message::Deliver { seq, direct, history, from, text, .. }
                if takes::<KINDS>(Kind::Deliver) =>
            {
                w.u32(seq);
                let direct = if direct { FLAG_DIRECT } else { 0 };
                w.u8(direct | if history { FLAG_HISTORY } else { 0 });
                w.name(from);
                w.text(text);
            }
            Message::Who { req, start, .. } if takes::<KINDS>(Kind::Who) => {
                w.u32(req);
                w.u16(start);
            }
            Message::Users { req, total, start, names, .. } if takes::<KINDS>(Kind::Users) => {
                w.u32(req);
                w.u16(total);
                w.u16(start);
                w.name_list(&names);
            }
            Message::Echo { req, mode, text, .. } | Message::EchoReply { req, mode, text, .. }
                if takes::<KINDS>(Kind::Echo) || takes::<KINDS>(Kind::EchoReply) =>
            {
                w.u32(req);
                w.u8(mode.to_byte());
                w.text(text);
            }
            Message::Error { code, seq, detail, .. } if takes::<KINDS>(Kind::Error) => {
                w.u8(code.to_byte());
                w.u32(seq);
                w.detail(detail);
            }
            _ => {}
        }
    }

    /// Writes the message into `buf` and returns its length: [`Message::emit`] over a
    /// plain buffer.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        self.emit(&mut Frame::new_unchecked(buf))
    }
}

/// Whether the kind mask `KINDS` holds `kind`; constant wherever `kind` is.
const fn takes<const KINDS: u64>(kind: Kind) -> bool {
    KINDS & kind.bit() != 0
}
