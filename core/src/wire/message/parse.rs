//! Reading a message from a frame: [`Message::parse`], and [`Message::parse_only`] for the
//! kinds one end takes.

use crate::error::WireError;
use crate::wire::cursor::Reader;
use crate::wire::limits::{COOKIE_LEN, HANDSHAKE_MIN, HEADER_LEN, SEAL_TAG_LEN};
use crate::wire::message::{
    FLAG_DIRECT, FLAG_FLEET, FLAG_HISTORY, KEY_REQUEST_PADDING, USER_HERE, USER_KEY_FOLLOWS, takes,
};
use crate::wire::{Cookie, EchoMode, ErrorCode, Frame, Kind, Message, Token};

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
            let token = Token(r.u64());
            Self::parse_session::<KINDS>(kind, token, &mut r)
        } else {
            Self::parse_tokenless::<KINDS>(kind, &mut r)
        };
        // A frame that ended early is truncated, whatever its zeros failed.
        let message = message.map_err(|error| r.error(error))?;
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
                cookie: Cookie(r.array::<COOKIE_LEN>()),
                nonce: r.u64(),
                window: r.u16(),
                resume: Token(r.u64()),
                delivered: r.u32(),
                name: r.name()?,
                max_frame: r.max_frame()?,
            },
            Kind::Cookie if takes::<KINDS>(Kind::Cookie) => {
                Message::Cookie { cookie: Cookie(r.array::<COOKIE_LEN>()), nonce: r.u64() }
            }
            Kind::Hello if takes::<KINDS>(Kind::Hello) => Message::Hello {
                cookie: Cookie(r.array::<COOKIE_LEN>()),
                nonce: r.u64(),
                handshake: r.remaining(HANDSHAKE_MIN)?,
            },
            Kind::HelloKey if takes::<KINDS>(Kind::HelloKey) => Message::HelloKey {
                cookie: Cookie(r.array::<COOKIE_LEN>()),
                nonce: r.u64(),
                handshake: r.remaining(HANDSHAKE_MIN)?,
            },
            Kind::Answer if takes::<KINDS>(Kind::Answer) => {
                Message::Answer { nonce: r.u64(), handshake: r.remaining(HANDSHAKE_MIN)? }
            }
            Kind::KeyRequest if takes::<KINDS>(Kind::KeyRequest) => {
                let nonce = r.u64();
                // Padding to the answer's size: zeros, so there is one encoding.
                if r.array::<KEY_REQUEST_PADDING>() != [0; KEY_REQUEST_PADDING] {
                    return Err(WireError::BadPadding);
                }
                Message::KeyRequest { nonce }
            }
            Kind::ServerKey if takes::<KINDS>(Kind::ServerKey) => {
                let nonce = r.u64();
                let flags = r.u8();
                if flags & !FLAG_FLEET != 0 {
                    return Err(WireError::UnknownFlags(flags));
                }
                Message::ServerKey { nonce, fleet: flags & FLAG_FLEET != 0, key: r.array() }
            }
            Kind::Refused if takes::<KINDS>(Kind::Refused) => Message::Refused {
                nonce: r.u64(),
                code: ErrorCode::from_byte(r.u8())?,
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
                nonce: r.u64(),
                keepalive_ms: r.u32(),
                max_text: r.u16(),
                rate_per_sec: r.u16(),
                name: r.name()?,
            },
            Kind::Leave if takes::<KINDS>(Kind::Leave) => Message::Leave { token, seq: r.u32() },
            Kind::UnknownSession if takes::<KINDS>(Kind::UnknownSession) => {
                Message::UnknownSession { token }
            }
            Kind::Challenge if takes::<KINDS>(Kind::Challenge) => {
                Message::Challenge { token, nonce: r.u32() }
            }
            Kind::ChallengeResponse if takes::<KINDS>(Kind::ChallengeResponse) => {
                Message::ChallengeResponse { token, nonce: r.u32() }
            }
            Kind::Moved if takes::<KINDS>(Kind::Moved) => {
                Message::Moved { token, nonce: r.u32(), seq: r.u32(), digest: r.u32() }
            }
            Kind::Sealed if takes::<KINDS>(Kind::Sealed) => {
                Message::Sealed { token, counter: r.u64(), sealed: r.remaining(SEAL_TAG_LEN)? }
            }
            Kind::Say if takes::<KINDS>(Kind::Say) => {
                Message::Say { token, seq: r.u32(), text: r.text()? }
            }
            Kind::Tell if takes::<KINDS>(Kind::Tell) => {
                Message::Tell { token, seq: r.u32(), to: r.name()?, text: r.text()? }
            }
            Kind::Deliver if takes::<KINDS>(Kind::Deliver) => Self::parse_deliver(token, r)?,
            Kind::Missed if takes::<KINDS>(Kind::Missed) => Message::Missed { token, seq: r.u32() },
            Kind::Ack if takes::<KINDS>(Kind::Ack) => {
                Message::Ack { token, seq: r.u32(), sack: r.u32() }
            }
            Kind::Who if takes::<KINDS>(Kind::Who) => {
                Message::Who { token, req: r.u32(), start: r.u16() }
            }
            Kind::Users if takes::<KINDS>(Kind::Users) => Self::parse_users(token, r)?,
            Kind::Echo | Kind::EchoReply
                if takes::<KINDS>(Kind::Echo) || takes::<KINDS>(Kind::EchoReply) =>
            {
                let req = r.u32();
                let mode = EchoMode::from_byte(r.u8())?;
                let text = r.text()?;
                if kind == Kind::Echo {
                    Message::Echo { token, req, mode, text }
                } else {
                    Message::EchoReply { token, req, mode, text }
                }
            }
            Kind::Ping if takes::<KINDS>(Kind::Ping) => Message::Ping { token, req: r.u32() },
            Kind::Pong if takes::<KINDS>(Kind::Pong) => Message::Pong { token, req: r.u32() },
            Kind::KeyOf if takes::<KINDS>(Kind::KeyOf) => {
                Message::KeyOf { token, req: r.u32(), name: r.name()? }
            }
            Kind::UserKey if takes::<KINDS>(Kind::UserKey) => Self::parse_user_key(token, r)?,
            Kind::Error if takes::<KINDS>(Kind::Error) => Message::Error {
                token,
                code: ErrorCode::from_byte(r.u8())?,
                seq: r.u32(),
                detail: r.detail()?,
            },
            // Outside the mask; `join`, `cookie` and `refused` carry no token and never
            // reach here.
            _ => return Err(WireError::UnexpectedKind(kind)),
        })
    }

    /// A `deliver`'s body: its flags may set only the bits this version defines.
    // One caller, a step of `parse_session`: inlined, as the arm it was.
    #[inline(always)]
    fn parse_deliver(token: Token, r: &mut Reader<'a>) -> Result<Message<'a>, WireError> {
        let seq = r.u32();
        let flags = r.u8();
        if flags & !(FLAG_DIRECT | FLAG_HISTORY) != 0 {
            return Err(WireError::UnknownFlags(flags));
        }
        let direct = flags & FLAG_DIRECT != 0;
        let history = flags & FLAG_HISTORY != 0;
        Ok(Message::Deliver { token, seq, direct, history, from: r.name()?, text: r.text()? })
    }

    /// A `user-key`'s body: the key is there when its flag says so.
    #[inline(always)]
    fn parse_user_key(token: Token, r: &mut Reader<'a>) -> Result<Message<'a>, WireError> {
        let req = r.u32();
        let flags = r.u8();
        if flags & !(USER_HERE | USER_KEY_FOLLOWS) != 0 {
            return Err(WireError::UnknownFlags(flags));
        }
        let key = (flags & USER_KEY_FOLLOWS != 0).then(|| r.array::<32>());
        Ok(Message::UserKey { token, req, name: r.name()?, here: flags & USER_HERE != 0, key })
    }

    /// A `users` page's body: its names must lie within its total.
    #[inline(always)]
    fn parse_users(token: Token, r: &mut Reader<'a>) -> Result<Message<'a>, WireError> {
        let req = r.u32();
        let total = r.u16();
        let start = r.u16();
        let names = r.name_list()?;
        let end = u32::from(start) + u32::from(names.len());
        if end > u32::from(total) {
            return Err(WireError::UserListInconsistent { start, end, total });
        }
        Ok(Message::Users { token, req, total, start, names })
    }

    /// Parses a datagram: [`Frame::new_checked`] then [`Message::parse`].
    pub fn decode(datagram: &'a [u8]) -> Result<Message<'a>, WireError> {
        Self::parse(&Frame::new_checked(datagram)?)
    }

    /// [`Message::decode`] for the kinds in `KINDS` only ([`Message::parse_only`]).
    pub fn decode_only<const KINDS: u64>(datagram: &'a [u8]) -> Result<Message<'a>, WireError> {
        Self::parse_only::<KINDS, _>(&Frame::new_checked(datagram)?)
    }
}
