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
use crate::time::{Instant, MaybeInstant};
use crate::transport::Transmit;
use crate::wire::{ErrorCode, Message, Token, echo_reply_in_place};

/// The server's per-user state, kept in the table slot. Opaque: an embedding names it only
/// to give the server memory for its users ([`crate::server::UserSlot`]).
#[derive(Debug, Clone)]
pub struct Session {
    /// The nonce of the join that made this session: a join with it again is a resend.
    pub(super) join_nonce: u64,
    /// The most deliveries outstanding: the server's window or the client's, the smaller
    /// (at most [`MAX_WINDOW`](crate::server::delivery::MAX_WINDOW), 64).
    pub(super) window: u8,
    /// The client sequence number expected next.
    pub(super) expected: u32,
    /// The last message refused (number `last_reject_seq`), to answer its retransmissions
    /// the same way. Apart, not an `Option` of a pair: the code goes with the small
    /// fields, not padded to four bytes.
    pub(super) last_reject: Option<ErrorCode>,
    pub(super) last_reject_seq: u32,
    pub(super) cursor: DeliveryCursor,
    pub(super) rate: RateLimiter,
    /// When the user was last told its frame was malformed (at most once a second).
    pub(super) malformed_reported_at: MaybeInstant,
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

impl Session {
    /// Whether the session is encrypted.
    pub(super) const fn is_sealed(&self) -> bool {
        self.keys.is_some()
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
                self.users_reply(addr, token, req, start, buf, directory)
            }
            Message::Echo { mode, .. } => {
                let len = echo_reply_in_place::<A>(datagram, mode, buf)?;
                Some(Transmit { destination: addr, len })
            }
            Message::Ping { req, .. } => {
                Transmit::to_client(buf, addr, &Message::Pong { token, req })
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

    /// The RAM a user slot takes (issue 26's budget is 128 B with a serial port's one-byte
    /// address). Reached: 136 B serial, 168 B with a `SocketAddr`, without `secure` (with it the
    /// session keys add theirs: 320 B serial, 352 B `SocketAddr`). The
    /// last 8 B would take a session's fields that are not its own: `last_digest` is read
    /// only where addresses roam (a serial server never sends `moved`), and the join's
    /// nonce is kept whole to tell a resent join from a new one. This fails if the slot
    /// grows past what was reached; lower the figures as it shrinks.
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
        assert!(serial <= 136, "{serial} B a slot with a serial line's address");
        assert!(socket <= 168, "{socket} B a slot with a SocketAddr");
    }
}
