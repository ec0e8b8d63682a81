//! Address moves: a valid token from an address without a session is challenged, and the
//! session moves when the new address answers; `moved` tells both addresses.

use crate::address::PeerAddress;
use crate::server::{Server, ServerEvent};
use crate::table::SlotId;
use crate::time::Instant;
use crate::transport::Transmit;
use crate::wire::{Kind, Message, Token};

/// A pending proof of a new address.
#[derive(Debug, Clone, Copy)]
pub(super) struct Challenge<A> {
    pub(super) addr: A,
    pub(super) nonce: u32,
    pub(super) sent_at: Instant,
}

impl<const N: usize, const R: usize, A: PeerAddress, const T: usize> Server<N, R, A, T> {
    pub(super) fn challenge(
        &mut self,
        now: Instant,
        slot: SlotId,
        from: A,
        received: usize,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let challenge_len = Message::Challenge { token: Token::NONE, nonce: 0 }
            .buffer_len_only::<{ Kind::FROM_SERVER }>();
        if received < challenge_len {
            return None; // the challenge would be larger than what provoked it
        }
        let resend_after = self.config.rto_initial;
        let user = self.table.get_mut(slot)?;
        let token = user.token;
        let nonce = match user.state.challenge {
            Some(pending) if pending.addr == from => {
                if now.saturating_since(pending.sent_at) < resend_after {
                    return None;
                }
                pending.nonce
            }
            _ => self.secrets.mint_nonce(token, from),
        };
        user.state.challenge = Some(Challenge { addr: from, nonce, sent_at: now });
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
        let pending = user.state.challenge?;
        if pending.addr != from || pending.nonce != nonce {
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
        let user = self.table.get_mut(slot)?;
        user.state.challenge = None;
        user.state.moved_from = Some((old, nonce));
        user.state.cursor.rewind_now();
        self.table.touch(slot, now);
        self.work = true;
        self.stats.migrations += 1;
        self.push_event(ServerEvent::Moved { name, from: old, to: from });
        Transmit::to_client(
            buf,
            from,
            &Message::Moved { token, nonce, seq: expected.wrapping_sub(1), digest },
        )
    }
}
