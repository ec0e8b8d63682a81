//! A user's session on the server: the state kept in its table slot, and where its frames
//! go once the address and token are checked (an unknown address with a known token is
//! challenged, see `migrate.rs`).

use crate::address::PeerAddress;
use crate::rate::RateLimiter;
use crate::server::Server;
use crate::server::ServerMemory;
use crate::server::delivery::DeliveryCursor;
use crate::server::directory::Directory;
use crate::server::edge::SessionKeys;
use crate::server::intake::Sequenced;
use crate::server::ring::Member;
use crate::table::SlotId;
use crate::time::Instant;
use crate::transport::Transmit;
use crate::wire::limits::SEALED_OVERHEAD;
use crate::wire::{ErrorCode, Message, Token, echo_reply_in_place};

/// The server's per-user state, kept in the table slot. Opaque: an embedding names it only
/// to give the server memory for its users ([`crate::server::UserSlot`]).
#[derive(Debug, Clone)]
pub struct Session {
    /// The nonce of the join that made this session, folded to 32 bits ([`nonce_tag`]):
    /// a join with it again is a resend.
    pub(super) join_nonce: u32,
    /// The most deliveries outstanding: the server's window or the client's, the smaller
    /// (at most [`MAX_WINDOW`](crate::server::delivery::MAX_WINDOW), 64).
    pub(super) window: u8,
    /// The largest frame the client takes (its join's `max frame`).
    pub(super) max_frame: u16,
    /// The client sequence number expected next.
    pub(super) expected: u32,
    /// The last message refused, to answer its retransmissions the same way: its code,
    /// and its number's low byte. The client resends it while its later messages go, so
    /// it lies less than 256 behind `expected` for as long as it matters (older, it is
    /// forgotten): a byte tells it, where a number and an `Option`'s tag took 8.
    pub(super) last_reject: Option<ErrorCode>,
    pub(super) last_reject_low: u8,
    pub(super) cursor: DeliveryCursor,
    /// Its token bucket, and when the user was last told of something it did wrong (the
    /// rate limit, a malformed frame: one notice a second of either).
    pub(super) rate: RateLimiter,
    /// An error to send before the session ends (kicked, shutting down).
    pub(super) closing: Option<ErrorCode>,
    /// Messages were accepted and not yet acknowledged: one `ack` covers all of them.
    pub(super) ack_due: bool,
    /// The digest of the last sequenced message accepted (`expected - 1`), for `moved`.
    pub(super) last_digest: u32,
    /// An encrypted session's keys: every frame to it sealed, every frame from it opened
    /// (the edge's, `secure.rs` or `clear.rs`).
    pub(super) keys: SessionKeys,
}

/// A join nonce as a session keeps it: its two halves folded into 32 bits. A resend of the
/// join carries the same nonce; another attempt from the same address and name matches by
/// chance once in 2³², and is then answered as that session's resend (4 bytes of every
/// slot for a session the client would have taken over anyway).
pub(super) const fn nonce_tag(nonce: u64) -> u32 {
    let [a, b, c, d, ..] = (nonce ^ (nonce >> 32)).to_le_bytes();
    u32::from_le_bytes([a, b, c, d])
}

/// The low byte of a sequence number (a refusal's, as a session keeps it).
pub(super) const fn low_byte(seq: u32) -> u8 {
    let [low, ..] = seq.to_le_bytes();
    low
}

impl Session {
    /// Whether the session is encrypted.
    pub(super) const fn is_sealed(&self) -> bool {
        self.keys.is_some()
    }

    /// The largest frame that may go to the client before it is sealed (all of its
    /// `max frame` in the clear).
    pub(super) fn max_plain_frame(&self) -> usize {
        let sealing = if self.is_sealed() { SEALED_OVERHEAD } else { 0 };
        usize::from(self.max_frame).saturating_sub(sealing)
    }
}

impl<A: PeerAddress, M: ServerMemory<A>> Server<A, M> {
    #[allow(clippy::too_many_arguments)] // the datagram's parts, and where to answer
    pub(super) fn on_session_frame<D: Directory + ?Sized>(
        &mut self,
        now: Instant,
        from: A,
        token: Token,
        message: Message<'_>,
        datagram: &[u8],
        buf: &mut [u8],
        directory: &D,
    ) -> Option<Transmit<A>> {
        if let Some(slot) = self.table.by_addr(from) {
            if self.table.get(slot)?.token != token {
                // Someone else's token, or a guess: no reply, so nothing to learn from.
                self.stats.bad_token += 1;
                return None;
            }
            self.table.touch(slot, now);
            return self.dispatch(now, slot, message, datagram, buf, directory);
        }
        // Where addresses cannot move (a serial line), a session's token from another
        // address is no move: that peer is told the session is unknown, and re-joins.
        if A::ROAMS
            && let Some(slot) = self.table.by_token(token)
        {
            return self.challenge(now, slot, from, datagram.len(), buf);
        }
        // 11 bytes, never more than the frame that provoked it.
        self.stats.unknown_session += 1;
        Transmit::to_client(buf, from, &Message::UnknownSession { token })
    }

    fn dispatch<D: Directory + ?Sized>(
        &mut self,
        now: Instant,
        slot: SlotId,
        message: Message<'_>,
        datagram: &[u8],
        buf: &mut [u8],
        directory: &D,
    ) -> Option<Transmit<A>> {
        let user = self.table.get_mut(slot)?;
        let (token, addr) = (user.token, user.addr);
        match message {
            Message::Say { seq, text, .. } => {
                self.on_sequenced(now, slot, seq, Sequenced::Say(text), buf, directory)
            }
            Message::Tell { seq, to, text, .. } => {
                self.on_sequenced(now, slot, seq, Sequenced::Tell(to, text), buf, directory)
            }
            Message::Leave { seq, .. } => {
                self.on_sequenced(now, slot, seq, Sequenced::Leave, buf, directory)
            }
            Message::Ack { seq, sack, .. } => {
                let me = Member { token, key: user.key };
                if user.state.cursor.on_ack(seq, sack, &self.ring, me, now, &self.rtt) {
                    self.wake(slot);
                    self.schedule(slot);
                }
                None
            }
            Message::Who { req, start, .. } => {
                let page = (req, start, user.state.max_plain_frame());
                self.users_reply(addr, token, page, buf, directory)
            }
            Message::Echo { mode, .. } => {
                if datagram.len() > user.state.max_plain_frame() {
                    // Its reply, as long, would not fit the client's frames (a client
                    // held to its welcome's `max_text` never asks this).
                    let (code, detail) = (ErrorCode::TextTooLong, "longer than your frames");
                    let error = Message::Error { token, code, seq: 0, detail };
                    return Transmit::to_client(buf, addr, &error);
                }
                let len = echo_reply_in_place::<A>(datagram, mode, buf)?;
                Some(Transmit { destination: addr, len })
            }
            Message::Ping { req, .. } => {
                Transmit::to_client(buf, addr, &Message::Pong { token, req })
            }
            #[cfg(feature = "client-keys")]
            Message::KeyOf { req, name, .. } => {
                let holder = self.table.by_key(name.key()).and_then(|held| self.table.get(held));
                let key = match holder {
                    Some(user) => crate::server::edge::client_key(&user.state.keys).copied(),
                    None => directory.owner(name),
                };
                let here = holder.is_some();
                Transmit::to_client(buf, addr, &Message::UserKey { token, req, name, here, key })
            }
            _ => {
                self.stats.unexpected += 1;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::SerialLine;
    use crate::retransmit::Retransmission;
    use crate::rtt::RttEstimator;
    use crate::table::{Slot, User};
    use core::mem::size_of;
    use core::net::SocketAddr;

    /// The RAM a user slot takes: at most 128 B with a serial port's one-byte address
    /// (issue 26's budget), 160 B with a `SocketAddr`, without `secure` (with it the
    /// session keys add theirs: 312 B serial, 344 B `SocketAddr`). Fails if the slot grows.
    #[test]
    fn a_user_slot_stays_within_its_bytes() {
        let serial = size_of::<Slot<Session, SerialLine>>();
        let socket = size_of::<Slot<Session, SocketAddr>>();
        std::println!(
            "slot: {serial} B serial, {socket} B SocketAddr; user {} (session {}: cursor \
             {}: retransmission {}: estimate {}; rate {}); name {}",
            size_of::<User<Session, SerialLine>>(),
            size_of::<Session>(),
            size_of::<DeliveryCursor>(),
            size_of::<Retransmission>(),
            size_of::<RttEstimator>(),
            size_of::<RateLimiter>(),
            size_of::<crate::wire::NameBuf>(),
        );
        if cfg!(feature = "secure") {
            return; // the session keys' bytes on top: reported, not budgeted
        }
        assert!(serial <= 128, "{serial} B a slot with a serial line's address");
        assert!(socket <= 160, "{socket} B a slot with a SocketAddr");
    }
}
