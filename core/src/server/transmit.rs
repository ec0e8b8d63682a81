//! What goes to one user next, in order of urgency: the acknowledgement of what it sent,
//! the notice to its old address after a move, the notice that ends its session, then
//! deliveries (new, or resent after the retransmission timer rewound the cursor).

use crate::address::PeerAddress;
use crate::server::ServerMemory;
use crate::server::delivery::Next;
use crate::server::ring::{Member, Recipient};
use crate::server::{LeftReason, Server};
use crate::table::SlotId;
use crate::time::Instant;
use crate::transport::Transmit;
use crate::wire::{ErrorCode, Message};

impl<A: PeerAddress, M: ServerMemory<A>> Server<A, M> {
    /// The next frame for `slot`'s user, as it goes out (sealed, in an encrypted session).
    pub(super) fn transmit_for(
        &mut self,
        now: Instant,
        slot: SlotId,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let transmit = self.plain_transmit_for(now, slot, buf);
        self.outgoing(transmit, buf)
    }

    fn plain_transmit_for(
        &mut self,
        now: Instant,
        slot: SlotId,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let user = self.table.get_mut(slot)?;
        let (token, addr) = (user.token, user.addr);
        if user.state.ack_due {
            user.state.ack_due = false;
            let seq = user.state.expected.wrapping_sub(1);
            return Transmit::to_client(buf, addr, &Message::Ack { token, seq, sack: 0 });
        }
        if A::ROAMS
            && let Some((old, nonce)) = self.moves.take_notice(token)
        {
            let seq = user.state.expected.wrapping_sub(1);
            let digest = user.state.last_digest;
            return Transmit::to_client(buf, old, &Message::Moved { token, nonce, seq, digest });
        }
        if let Some(code) = user.state.closing {
            if self.events.is_full() {
                self.stats.events_waited += 1;
                self.closing_waits = true;
                return None; // the notice goes once the application took its events
            }
            let detail = match code {
                ErrorCode::NameTaken => "the name is taken on another server that shares the room",
                _ => code.describe(),
            };
            let transmit =
                Transmit::to_client(buf, addr, &Message::Error { token, code, seq: 0, detail });
            let reason = match code {
                ErrorCode::Kicked => LeftReason::Kicked,
                ErrorCode::NameTaken => LeftReason::NameTakenElsewhere,
                _ => LeftReason::ServerShutdown,
            };
            // The session ends once its notice is on its way (sealed, in an encrypted
            // session, while its keys are still there).
            self.ending = Some((slot, reason));
            return transmit;
        }
        let limits = (u32::from(user.state.window), user.state.max_plain_frame());
        let me = Member { token, key: user.key };
        match user.state.cursor.next(&self.ring, me, limits, now)? {
            Next::Missed { seq, too_long } => {
                self.stats.missed_notices += 1;
                self.stats.too_long += u64::from(too_long);
                Transmit::to_client(buf, addr, &Message::Missed { token, seq })
            }
            Next::Deliver { seq, room_seq, history } => {
                let entry = self.ring.get(room_seq)?;
                self.stats.deliveries += 1;
                let direct = matches!(entry.to, Recipient::User(_));
                let message = Message::Deliver {
                    token,
                    seq,
                    direct,
                    history,
                    from: entry.from,
                    text: entry.text,
                };
                Transmit::to_client(buf, addr, &message)
            }
        }
    }
}
