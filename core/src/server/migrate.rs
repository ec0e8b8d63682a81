//! Address moves: a valid token from an address without a session is challenged, and the
//! session moves when the new address answers; `moved` tells both addresses.

use crate::address::PeerAddress;
use crate::server::ServerMemory;
use crate::server::{Server, ServerEvent};
use crate::table::SlotId;
use crate::time::Instant;
use crate::transport::Transmit;
use crate::wire::{Message, Token};

/// How many address proofs and `moved` notices may wait at once, server-wide. Moves are
/// rare (a NAT rebinding, a client that changed networks), so no user slot carries room
/// for one; when more wait, the oldest is forgotten and the client's next frame from its
/// new address starts it again.
pub(super) const PENDING_MOVES: usize = 4;

/// Where a move stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A challenge went to `addr` at this time; its answer moves the session there.
    Challenged(Instant),
    /// The session moved away from `addr`, which is still owed a `moved`.
    NoticeOwed,
}

/// One move in progress, for the session with `token`.
#[derive(Debug, Clone, Copy)]
struct PendingMove<A> {
    token: Token,
    addr: A,
    nonce: u32,
    step: Step,
    /// When it was recorded, in records: the smallest is the oldest.
    order: u32,
}

impl<A> PendingMove<A> {
    fn is_challenge(&self) -> bool {
        matches!(self.step, Step::Challenged(_))
    }
}

/// The moves in progress. Fixed places, nothing shifted: a firmware server carries no
/// `memmove` for it.
#[derive(Debug)]
pub(super) struct PendingMoves<A> {
    moves: [Option<PendingMove<A>>; PENDING_MOVES],
    recorded: u32,
}

impl<A: PeerAddress> PendingMoves<A> {
    pub(super) const fn new() -> Self {
        PendingMoves { moves: [None; PENDING_MOVES], recorded: 0 }
    }

    /// The challenge pending for `token`: its address, nonce and when it went.
    fn challenge(&self, token: Token) -> Option<(A, u32, Instant)> {
        self.moves.iter().flatten().find_map(|m| match m.step {
            Step::Challenged(at) if m.token == token => Some((m.addr, m.nonce, at)),
            _ => None,
        })
    }

    /// Records a step for `token`, in place of its earlier one of the same kind, else of a
    /// free place, else of the oldest.
    fn record(&mut self, token: Token, addr: A, nonce: u32, step: Step) {
        let order = self.recorded;
        self.recorded = self.recorded.wrapping_add(1);
        let entry = PendingMove { token, addr, nonce, step, order };
        let age = |m: &Option<PendingMove<A>>| match m {
            Some(m) if m.token == token && m.is_challenge() == entry.is_challenge() => 0,
            None => 1,
            // The older, the smaller.
            Some(m) => 2 + u64::from(u32::MAX - order.wrapping_sub(m.order)),
        };
        let place = (0..PENDING_MOVES).min_by_key(|&i| self.moves.get(i).map_or(u64::MAX, age));
        if let Some(place) = place.and_then(|i| self.moves.get_mut(i)) {
            *place = Some(entry);
        }
    }

    /// The `moved` owed to the old address of the session with `token`, taken.
    pub(super) fn take_notice(&mut self, token: Token) -> Option<(A, u32)> {
        let place = self
            .moves
            .iter_mut()
            .find(|m| m.is_some_and(|m| m.token == token && m.step == Step::NoticeOwed))?;
        place.take().map(|m| (m.addr, m.nonce))
    }

    /// Forgets whatever waits for the session with `token` (it ended).
    pub(super) fn forget(&mut self, token: Token) {
        for place in &mut self.moves {
            if place.is_some_and(|m| m.token == token) {
                *place = None;
            }
        }
    }
}

impl<A: PeerAddress, M: ServerMemory<A>> Server<A, M> {
    pub(super) fn challenge(
        &mut self,
        now: Instant,
        slot: SlotId,
        from: A,
        received: usize,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let challenge_len =
            Transmit::<A>::len_to_client(&Message::Challenge { token: Token::NONE, nonce: 0 });
        if received < challenge_len {
            return None; // the challenge would be larger than what provoked it
        }
        let resend_after = self.config.rto_initial;
        let token = self.table.get(slot)?.token;
        let nonce = match self.moves.challenge(token) {
            Some((addr, nonce, sent_at)) if addr == from => {
                // A challenge's stamp may be weeks old (its client left it unanswered): an age.
                if now.wrapping_since(sent_at) < resend_after {
                    return None;
                }
                nonce
            }
            _ => self.secrets.mint_nonce(token, from),
        };
        self.moves.record(token, from, nonce, Step::Challenged(now));
        self.stats.challenges += 1;
        Transmit::to_client(buf, from, &Message::Challenge { token, nonce })
    }

    pub(super) fn on_challenge_response(
        &mut self,
        now: Instant,
        from: A,
        token: Token,
        nonce: u32,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let slot = self.table.by_token(token)?;
        let user = self.table.get(slot)?;
        let pending = self.moves.challenge(token);
        if pending.is_none_or(|(addr, sent, _)| addr != from || sent != nonce) {
            self.stats.bad_token += 1;
            return None;
        }
        if self.events.is_full() {
            // `Moved` must be reported: the next challenge to this address tries again.
            self.stats.events_waited += 1;
            return None;
        }
        let (old, name, expected) = (user.addr, user.name, user.state.expected);
        let digest = user.state.last_digest;
        self.table.move_to(slot, from).ok()?;
        self.moves.forget(token);
        self.moves.record(token, old, nonce, Step::NoticeOwed);
        let user = self.table.get_mut(slot)?;
        user.state.cursor.rewind_now();
        self.table.touch(slot, now);
        self.wake(slot);
        self.stats.migrations += 1;
        self.push_event(ServerEvent::Moved { name, from: old, to: from });
        Transmit::to_client(
            buf,
            from,
            &Message::Moved { token, nonce, seq: expected.wrapping_sub(1), digest },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::PointToPoint;
    use crate::time::Duration;

    /// Challenges and notices share a small table: one challenge per session (the newest
    /// address wins), notices taken once, the oldest forgotten when it is full.
    #[test]
    fn moves_wait_in_a_small_shared_table() {
        let mut moves = PendingMoves::<PointToPoint>::new();
        let at = Instant::ZERO + Duration::from_millis(5);
        moves.record(Token(1), PointToPoint, 11, Step::Challenged(at));
        moves.record(Token(1), PointToPoint, 12, Step::Challenged(at));
        assert_eq!(moves.challenge(Token(1)), Some((PointToPoint, 12, at)));
        moves.record(Token(1), PointToPoint, 12, Step::NoticeOwed);
        assert_eq!(moves.take_notice(Token(1)), Some((PointToPoint, 12)));
        assert_eq!(moves.take_notice(Token(1)), None);
        assert!(moves.challenge(Token(1)).is_some(), "a notice taken leaves the challenge");
        for t in 2..=u64::try_from(PENDING_MOVES).unwrap() + 1 {
            moves.record(Token(t), PointToPoint, 0, Step::Challenged(at));
        }
        assert_eq!(moves.challenge(Token(1)), None, "the oldest was forgotten");
        assert!(moves.challenge(Token(2)).is_some());
        moves.forget(Token(2));
        assert_eq!(moves.challenge(Token(2)), None);
    }
}
