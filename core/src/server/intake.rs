//! Sequenced messages in: `say`, `tell` and `leave` are accepted in the client's order,
//! exactly once, within the rate limit and the text limit, and stored in the ring for
//! delivery; a refusal is remembered so a resend gets the same answer.

use crate::address::PeerAddress;
use crate::seq::after;
use crate::server::ServerMemory;
use crate::server::detail::Detail;
use crate::server::directory::Directory;
use crate::server::ring::{Member, Recipient};
use crate::server::timers::deadline;
use crate::server::{LeftReason, Server};
use crate::table::SlotId;
use crate::time::Instant;
use crate::transport::Transmit;
use crate::wire::{ErrorCode, Kind, Message, Name, NameBuf, message_digest};

/// What a sequenced client message asks for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Sequenced<'a> {
    Say(&'a str),
    Tell(Name<'a>, &'a str),
    Leave,
}

impl Sequenced<'_> {
    /// The bytes it takes in the ring, from `from`: none for a leave.
    fn stored_len(self, from: Name<'_>) -> Option<usize> {
        let from = from.as_str().len();
        match self {
            Sequenced::Say(text) => Some(from + text.len()),
            Sequenced::Tell(to, text) => Some(from + to.as_str().len() + text.len()),
            Sequenced::Leave => None,
        }
    }

    pub(super) fn digest(self) -> u32 {
        match self {
            Sequenced::Say(text) => message_digest(Kind::Say, None, text),
            Sequenced::Tell(to, text) => message_digest(Kind::Tell, Some(to), text),
            Sequenced::Leave => message_digest(Kind::Leave, None, ""),
        }
    }
}

impl<A: PeerAddress, M: ServerMemory<A>> Server<A, M> {
    pub(super) fn on_sequenced<D: Directory + ?Sized>(
        &mut self,
        now: Instant,
        slot: SlotId,
        seq: u32,
        what: Sequenced<'_>,
        buf: &mut [u8],
        directory: &D,
    ) -> Option<Transmit<A>> {
        let (rate, burst, max_text) =
            (self.config.rate_per_sec, self.config.burst, self.config.max_text);
        let user = self.table.get_mut(slot)?;
        let (token, addr, name) = (user.token, user.addr, user.name);
        let session = &mut user.state;
        let expected = session.expected;
        let last_accepted = expected.wrapping_sub(1);
        if seq != expected {
            if after(expected, seq)
                && let Some((rejected, code)) = session.last_reject.filter(|(s, _)| *s == seq)
            {
                return self.reject_reply(addr, token, rejected, code, what, buf);
            }
            // A duplicate, or a gap before it: say what was accepted, so the client resends.
            return Transmit::to_client(
                buf,
                addr,
                &Message::Ack { token, seq: last_accepted, sack: 0 },
            );
        }
        if let Some(len) = what.stored_len(name.as_name())
            && (directory.holds_back() || self.room_backed_up(len))
        {
            // Not accepted and not acknowledged: the room delivers what it holds, and the
            // client's resend brings this back. Senders slow to the pace of the recipients
            // who keep up, here and on the servers sharing the room, instead of overrunning
            // them into `missed`.
            self.stats.held_back += 1;
            return None;
        }
        let session = &mut self.table.get_mut(slot)?.state;
        let text = match what {
            Sequenced::Say(text) | Sequenced::Tell(_, text) => Some(text),
            Sequenced::Leave => None,
        };
        if let Some(text) = text {
            if !session.rate.try_take(now, rate, burst) {
                // Not accepted and not acknowledged: the client's resend brings it back.
                self.stats.rate_limited += 1;
                if !session.rate.should_report(now) {
                    return None;
                }
                let mut detail = Detail::new();
                detail.push("slow down: at most ");
                detail.push_u32(u32::from(rate));
                detail.push(" messages a second");
                let message = Message::Error {
                    token,
                    code: ErrorCode::RateLimited,
                    seq,
                    detail: detail.as_str(),
                };
                return Transmit::to_client(buf, addr, &message);
            }
            if text.len() > usize::from(max_text) {
                session.expected = expected.wrapping_add(1);
                session.last_digest = what.digest();
                session.last_reject = Some((seq, ErrorCode::TextTooLong));
                return self.reject_reply(addr, token, seq, ErrorCode::TextTooLong, what, buf);
            }
        }
        let session = &mut self.table.get_mut(slot)?.state;
        match what {
            Sequenced::Say(text) => {
                session.expected = expected.wrapping_add(1);
                session.last_digest = what.digest();
                session.ack_due = true;
                self.wake(slot);
                self.store(now, name, Recipient::Room, None, text);
            }
            Sequenced::Tell(to, text) => {
                let recipient = if self.config.operator.as_name().same_user(&to) {
                    Some((Recipient::Operator, self.config.operator))
                } else if let Some(target) = self.table.by_name(to).and_then(|s| self.table.get(s))
                {
                    Some((Recipient::User(target.token), target.name))
                } else if directory.holds(to.key()) {
                    // A user of another server: accepted here, forwarded by the embedding.
                    Some((Recipient::Elsewhere, NameBuf::new(to)))
                } else {
                    None
                };
                let session = &mut self.table.get_mut(slot)?.state;
                session.expected = expected.wrapping_add(1);
                session.last_digest = what.digest();
                let Some((recipient, to_name)) = recipient else {
                    session.last_reject = Some((seq, ErrorCode::NoSuchUser));
                    return self.reject_reply(addr, token, seq, ErrorCode::NoSuchUser, what, buf);
                };
                session.ack_due = true;
                self.wake(slot);
                self.store(now, name, recipient, Some(to_name), text);
            }
            Sequenced::Leave => {
                if self.events.is_full() {
                    // Not accepted, so not acknowledged: the resend finds room for `Left`.
                    self.stats.events_waited += 1;
                    return None;
                }
                let session = &mut self.table.get_mut(slot)?.state;
                session.expected = expected.wrapping_add(1);
                let ack = Transmit::to_client(buf, addr, &Message::Ack { token, seq, sack: 0 });
                // Sealed while the session's keys are still there.
                #[cfg(feature = "secure")]
                let ack = ack.and_then(|t| self.seal_for(slot, t, buf));
                self.end_session(slot, LeftReason::Left);
                return ack;
            }
        }
        // The acknowledgement goes from poll_transmit: after a batch of messages from
        // this sender, one covers them all.
        None
    }

    /// Whether the ring is nearly full of messages recipients who keep up still need:
    /// within an eighth of its messages or bytes of overwriting one. A server whose room
    /// is shared with others tells them so ([`Directory::holds_back`] there), so that
    /// their senders wait too, before anything is overwritten here.
    pub fn is_backed_up(&self) -> bool {
        let slots = self.ring.slot_count() / 8;
        let bytes = self.ring.arena_len() / 8;
        self.needed_when(self.ring.would_evict_within(slots.max(1), bytes.max(1)))
    }

    /// Whether storing `len` more bytes would evict a message a recipient who keeps up
    /// still needs.
    pub(super) fn room_backed_up(&self, len: usize) -> bool {
        self.needed_when(self.ring.would_evict(len))
    }

    /// If `full`, whether the oldest message is still needed by a recipient who keeps up.
    /// Looks at every user, but only when the ring is full (when eviction itself visits
    /// every user).
    fn needed_when(&self, full: bool) -> bool {
        if !full {
            return false;
        }
        let oldest = self.ring.oldest();
        let Some(entry) = self.ring.get(oldest) else { return false };
        self.table.iter().any(|(_, user)| {
            let me = Member { token: user.token, key: user.key };
            entry.is_for(me) && user.state.cursor.holds_up(oldest)
        })
    }

    pub(super) fn store(
        &mut self,
        now: Instant,
        from: NameBuf,
        to: Recipient,
        to_name: Option<NameBuf>,
        text: &str,
    ) -> u64 {
        let table = &mut self.table;
        let to_name = to_name.as_ref().map(NameBuf::as_name);
        let idle = self.config.idle_timeout;
        let seq = self.ring.push(from.as_name(), to, to_name, text, |evicted| {
            // Every cursor that was not done with the evicted message learns it is gone
            // (and may owe a `missed`): queued, its deadline brought forward.
            table.update_each(
                |user| {
                    let me = Member { token: user.token, key: user.key };
                    user.state.cursor.on_evict(&evicted, me, now)
                },
                |user| deadline(user, idle),
            );
        });
        self.stats.messages += 1;
        self.work = true;
        if self.table.indexed() {
            // Who the message is for: everyone, or its recipient and its sender.
            match to {
                Recipient::Room => self.wake_all(),
                Recipient::User(token) => {
                    if let Some(slot) = self.table.by_token(token) {
                        self.wake(slot);
                    }
                }
                Recipient::Operator | Recipient::Elsewhere => {}
            }
            if let Some(slot) = self.table.by_key(from.as_name().key()) {
                self.wake(slot);
            }
        }
        seq
    }
}
