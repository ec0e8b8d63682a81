//! Writing a message into a frame: [`Message::emit`], [`Message::emit_only`] for the kinds
//! one end sends, and [`Message::buffer_len`], counted by the same code that writes.

use crate::error::WireError;
use crate::wire::cursor::Writer;
use crate::wire::limits::{HANDSHAKE_MIN, HEADER_LEN, MAX_FRAME, MAX_FRAME_U16, SEAL_TAG_LEN};
use crate::wire::message::{
    FLAG_DIRECT, FLAG_FLEET, FLAG_HISTORY, KEY_REQUEST_PADDING, USER_HERE, USER_KEY_FOLLOWS, takes,
};
use crate::wire::{Frame, Kind, Message};

impl Message<'_> {
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
        match self.token() {
            Some(token) => {
                w.u64(token.0);
                self.write_session::<KINDS>(w);
            }
            None => self.write_tokenless::<KINDS>(w),
        }
    }

    /// The body of the kinds without a token: joining, and learning the server's key.
    // Steps of `write_fields`, inlined into it (one copy per mask).
    #[inline(always)]
    fn write_tokenless<const KINDS: u64>(&self, w: &mut Writer<'_>) {
        match *self {
            Message::Join { cookie, nonce, window, resume, delivered, name, max_frame }
                if takes::<KINDS>(Kind::Join) =>
            {
                w.bytes(&cookie.0);
                w.u64(nonce);
                w.u16(window);
                w.u64(resume.0);
                w.u32(delivered);
                w.name(name);
                // Left out at the protocol's limit: the join of a client that takes every
                // frame is the same as before the field existed.
                if max_frame != MAX_FRAME_U16 {
                    w.u16(max_frame);
                }
            }
            Message::Cookie { cookie, nonce } if takes::<KINDS>(Kind::Cookie) => {
                w.bytes(&cookie.0);
                w.u64(nonce);
            }
            Message::Hello { cookie, nonce, handshake } if takes::<KINDS>(Kind::Hello) => {
                w.bytes(&cookie.0);
                w.u64(nonce);
                w.at_least(handshake, HANDSHAKE_MIN, Kind::Hello);
            }
            Message::HelloKey { cookie, nonce, handshake } if takes::<KINDS>(Kind::HelloKey) => {
                w.bytes(&cookie.0);
                w.u64(nonce);
                w.at_least(handshake, HANDSHAKE_MIN, Kind::HelloKey);
            }
            Message::Answer { nonce, handshake } if takes::<KINDS>(Kind::Answer) => {
                w.u64(nonce);
                w.at_least(handshake, HANDSHAKE_MIN, Kind::Answer);
            }
            Message::KeyRequest { nonce } if takes::<KINDS>(Kind::KeyRequest) => {
                w.u64(nonce);
                w.bytes(&[0; KEY_REQUEST_PADDING]);
            }
            Message::ServerKey { nonce, fleet, key } if takes::<KINDS>(Kind::ServerKey) => {
                w.u64(nonce);
                w.u8(if fleet { FLAG_FLEET } else { 0 });
                w.bytes(&key);
            }
            Message::Refused { nonce, code, detail } if takes::<KINDS>(Kind::Refused) => {
                w.u64(nonce);
                w.u8(code.to_byte());
                w.detail(detail);
            }
            _ => {}
        }
    }

    /// The body of the kinds of a session, after its token.
    #[inline(always)]
    fn write_session<const KINDS: u64>(&self, w: &mut Writer<'_>) {
        match *self {
            Message::Sealed { counter, sealed, .. } if takes::<KINDS>(Kind::Sealed) => {
                w.u64(counter);
                w.at_least(sealed, SEAL_TAG_LEN, Kind::Sealed);
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
            Message::Deliver { .. } if takes::<KINDS>(Kind::Deliver) => self.write_deliver(w),
            Message::Who { req, start, .. } if takes::<KINDS>(Kind::Who) => {
                w.u32(req);
                w.u16(start);
            }
            Message::Users { .. } if takes::<KINDS>(Kind::Users) => self.write_users(w),
            Message::KeyOf { req, name, .. } if takes::<KINDS>(Kind::KeyOf) => {
                w.u32(req);
                w.name(name);
            }
            Message::UserKey { .. } if takes::<KINDS>(Kind::UserKey) => self.write_user_key(w),
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

    /// A `user-key`'s body: its flags, the key if there is one (`parse_user_key` reads it
    /// back).
    #[inline(always)]
    fn write_user_key(&self, w: &mut Writer<'_>) {
        if let Message::UserKey { req, name, here, key, .. } = *self {
            w.u32(req);
            let follows = if key.is_some() { USER_KEY_FOLLOWS } else { 0 };
            w.u8(if here { USER_HERE } else { 0 } | follows);
            if let Some(key) = key {
                w.bytes(&key);
            }
            w.name(name);
        }
    }

    /// A `deliver`'s body, its flags from `direct` and `history` (`parse_deliver` reads
    /// it back).
    #[inline(always)]
    fn write_deliver(&self, w: &mut Writer<'_>) {
        if let Message::Deliver { seq, direct, history, from, text, .. } = *self {
            w.u32(seq);
            let direct = if direct { FLAG_DIRECT } else { 0 };
            w.u8(direct | if history { FLAG_HISTORY } else { 0 });
            w.name(from);
            w.text(text);
        }
    }

    /// A `users` page's body.
    #[inline(always)]
    fn write_users(&self, w: &mut Writer<'_>) {
        if let Message::Users { req, total, start, names, .. } = *self {
            w.u32(req);
            w.u16(total);
            w.u16(start);
            w.name_list(&names);
        }
    }

    /// Writes the message into `buf` and returns its length: [`Message::emit`] over a
    /// plain buffer.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        self.emit(&mut Frame::new_unchecked(buf))
    }
}
