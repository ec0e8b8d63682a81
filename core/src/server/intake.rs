//! Sequenced messages in: `say`, `tell` and `leave` are accepted in the client's order,
//! exactly once, within the rate limit and the text limit, and stored in the ring for
//! delivery; a refusal is remembered so a resend gets the same answer.

use crate::address::PeerAddress;
use crate::seq::after;
use crate::server::ServerMemory;
use crate::server::directory::Directory;
use crate::server::ring::{Member, Recipient};
use crate::server::session::low_byte;
use crate::server::timers::deadline;
use crate::server::{LeftReason, Server, Session};
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

/// What a sequenced message comes to. The checks decide it ([`Server::take_sequenced`]);
/// one writer ([`Server::answer_sequenced`]) turns it into the frame.
#[derive(Debug, Clone, Copy)]
pub(super) enum Intake {
    /// Stored: one acknowledgement from `poll_transmit` covers it and what follows it.
    Accepted,
    /// Neither accepted nor answered: the client's resend brings it back (the room is
    /// backed up, the event queue is full, or the sender is over its rate again).
    Unanswered,
    /// Not the number expected (a duplicate, or after a gap): the last accepted is
    /// acknowledged, so the client resends what follows it.
    OutOfOrder { last_accepted: u32 },
    /// Answered with an error: refused for good (a resend gets the same answer), or told
    /// to slow down (not accepted; the resend brings it back).
    Error { seq: u32, code: ErrorCode },
    /// A leave, accepted: acknowledged, then the session ends.
    Left { seq: u32 },
}

impl<'a> Sequenced<'a> {
    /// The text it carries: none for a leave.
    const fn text(self) -> Option<&'a str> {
        match self {
            Sequenced::Say(text) | Sequenced::Tell(_, text) => Some(text),
            Sequenced::Leave => None,
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
        let intake = self.take_sequenced(now, slot, seq, what, directory);
        self.answer_sequenced(slot, what, intake, buf)
    }

    /// A sequenced message's checks, in order (its number, the room, the rate, the text
    /// limit, the recipient), and what they come to.
    fn take_sequenced<D: Directory + ?Sized>(
        &mut self,
        now: Instant,
        slot: SlotId,
        seq: u32,
        what: Sequenced<'_>,
        directory: &D,
    ) -> Intake {
        let Some(user) = self.table.get(slot) else { return Intake::Unanswered };
        let (name, session) = (user.name, &user.state);
        if seq != session.expected {
            return out_of_order(session, seq);
        }
        if let Some(len) = what.stored_len(name.as_name())
            && (directory.holds_back() || self.room_backed_up(len))
        {
            // Not accepted and not acknowledged: the room delivers what it holds, and the
            // client's resend brings this back. Senders slow to the pace of the recipients
            // who keep up, here and on the servers sharing the room, instead of overrunning
            // them into `missed`.
            self.stats.held_back += 1;
            return Intake::Unanswered;
        }
        if let Some(text) = what.text()
            && let Some(refused) = self.check_rate_and_length(now, slot, seq, what, text)
        {
            return refused;
        }
        match what {
            Sequenced::Say(text) => {
                self.accept(slot, what);
                self.store(now, name, Recipient::Room, None, text);
                Intake::Accepted
            }
            Sequenced::Tell(to, text) => match self.recipient(to, directory) {
                Some((recipient, to_name)) => {
                    self.accept(slot, what);
                    self.store(now, name, recipient, Some(to_name), text);
                    Intake::Accepted
                }
                None => self.refuse_sequenced(slot, seq, what, ErrorCode::NoSuchUser),
            },
            Sequenced::Leave => {
                if self.events.is_full() {
                    // Not accepted, so not acknowledged: the resend finds room for `Left`.
                    self.stats.events_waited += 1;
                    return Intake::Unanswered;
                }
                if let Some(user) = self.table.get_mut(slot) {
                    user.state.expected = seq.wrapping_add(1);
                }
                Intake::Left { seq }
            }
        }
    }

    /// The sender's rate and the server's text limit: `None` if `text` passes both.
    fn check_rate_and_length(
        &mut self,
        now: Instant,
        slot: SlotId,
        seq: u32,
        what: Sequenced<'_>,
        text: &str,
    ) -> Option<Intake> {
        let (rate, burst) = (self.config.rate_per_sec, self.config.burst);
        let session = &mut self.table.get_mut(slot)?.state;
        if !session.rate.try_take(now, rate, burst) {
            // Not accepted and not acknowledged: the client's resend brings it back.
            self.stats.rate_limited += 1;
            if !session.rate.should_report(now) {
                return Some(Intake::Unanswered);
            }
            return Some(Intake::Error { seq, code: ErrorCode::RateLimited });
        }
        if text.len() > usize::from(self.config.max_text) {
            return Some(self.refuse_sequenced(slot, seq, what, ErrorCode::TextTooLong));
        }
        None
    }

    /// Whom a `tell` to `to` goes to: the operator, a user here, or a user of a server
    /// sharing the room; `None` if no one has the name.
    fn recipient<D: Directory + ?Sized>(
        &self,
        to: Name<'_>,
        directory: &D,
    ) -> Option<(Recipient, NameBuf)> {
        if self.config.operator.as_name().same_user(&to) {
            Some((Recipient::Operator, self.config.operator))
        } else if let Some(target) = self.table.by_name(to).and_then(|s| self.table.get(s)) {
            Some((Recipient::User(target.token), target.name))
        } else if directory.holds(to.key()) {
            // A user of another server: accepted here, forwarded by the embedding.
            Some((Recipient::Elsewhere, NameBuf::new(to)))
        } else {
            None
        }
    }

    /// `what`, number `seq`, is accepted: the next number is expected, and an
    /// acknowledgement is due.
    fn accept(&mut self, slot: SlotId, what: Sequenced<'_>) {
        if let Some(user) = self.table.get_mut(slot) {
            let session = &mut user.state;
            session.expected = session.expected.wrapping_add(1);
            session.last_digest = what.digest();
            session.ack_due = true;
            self.wake(slot);
        }
    }

    /// `what`, number `seq`, is refused for good with `code`: its number is used, and a
    /// resend gets the same answer.
    fn refuse_sequenced(
        &mut self,
        slot: SlotId,
        seq: u32,
        what: Sequenced<'_>,
        code: ErrorCode,
    ) -> Intake {
        if let Some(user) = self.table.get_mut(slot) {
            let session = &mut user.state;
            session.expected = seq.wrapping_add(1);
            session.last_digest = what.digest();
            (session.last_reject, session.last_reject_low) = (Some(code), low_byte(seq));
        }
        Intake::Error { seq, code }
    }

    /// The frame that answers what a sequenced message came to: the one writer of them.
    fn answer_sequenced(
        &mut self,
        slot: SlotId,
        what: Sequenced<'_>,
        intake: Intake,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let user = self.table.get(slot)?;
        let (token, addr) = (user.token, user.addr);
        let acknowledged = match intake {
            // The acknowledgement goes from poll_transmit: after a batch of messages from
            // this sender, one covers them all.
            Intake::Accepted | Intake::Unanswered => return None,
            Intake::Error { seq, code } => {
                return self.reject_reply(addr, token, seq, code, what, buf);
            }
            Intake::OutOfOrder { last_accepted } => last_accepted,
            Intake::Left { seq } => {
                // The session ends once its acknowledgement is on its way (sealed, in an
                // encrypted session, while its keys are still there).
                self.ending = Some((slot, LeftReason::Left));
                seq
            }
        };
        Transmit::to_client(buf, addr, &Message::Ack { token, seq: acknowledged, sack: 0 })
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

/// The answer to number `seq` when `session` expects another: the same refusal again for
/// a resend of the last message refused, else the acknowledgement of the last accepted.
fn out_of_order(session: &Session, seq: u32) -> Intake {
    let expected = session.expected;
    if after(expected, seq)
        && expected.wrapping_sub(seq) <= 256
        && session.last_reject_low == low_byte(seq)
        && let Some(code) = session.last_reject
    {
        return Intake::Error { seq, code };
    }
    Intake::OutOfOrder { last_accepted: expected.wrapping_sub(1) }
}
