//! Messages the client sent (or will send) and the server has not acknowledged yet.
//!
//! Sequence numbers are per session: a re-join numbers what is still queued from 1 again.
//! Sending is go-back-N: a timeout sends everything unacknowledged again, in order. With
//! room for one (`UNACKED` = 1) it is stop-and-wait, and the code for more drops out.
//!
//! A `tell` may be refused (no such user) and the refusal, not an acknowledgement, is its
//! answer. So that a lost refusal can never be mistaken for delivery by a later
//! cumulative acknowledgement, a `tell` is sent only when everything before it is
//! acknowledged, and nothing after it is sent until it is answered.
//!
//! The texts lie in a byte arena of `BYTES`, in queue order: entries leave from the front
//! only, so the arena is a ring and a message costs its length.

use heapless::Deque;

use crate::client::event::MessageId;
use crate::client::text_ring::{Span, TextRing};
use crate::error::ClientError;
use crate::seq::after;
use crate::time::Instant;
use crate::wire::{Kind, NameBuf, message_digest};

/// What a queued message is (its text is in the outbox's arena).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outgoing {
    Say,
    Tell(NameBuf),
    Leave,
}

/// One queued message.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) id: MessageId,
    pub(crate) seq: u32,
    pub(crate) what: Outgoing,
    text: Span,
    pub(crate) queued_at: Instant,
    /// How often it was sent in this session.
    pub(crate) transmissions: u8,
}

/// The queue of unacknowledged messages: `UNACKED` at most, their texts in `BYTES`.
#[derive(Debug)]
pub(crate) struct Outbox<const UNACKED: usize, const BYTES: usize> {
    entries: Deque<Entry, UNACKED>,
    texts: TextRing<BYTES>,
    /// How many entries from the front were sent in the current pass.
    sent: usize,
    /// The number given last (0 before the first): kept rather than the next one so that
    /// an empty outbox is all zeros, which a program clears in place (an initial 1 made
    /// the whole outbox, arena included, a constant copied from flash).
    last_seq: u32,
}

impl<const UNACKED: usize, const BYTES: usize> Outbox<UNACKED, BYTES> {
    /// Empty, as a constant ([`TextRing::EMPTY`] says why).
    pub(crate) const EMPTY: Self =
        Outbox { entries: Deque::new(), texts: TextRing::EMPTY, sent: 0, last_seq: 0 };

    #[cfg(test)]
    const fn new() -> Self {
        Self::EMPTY
    }

    /// The text of `entry`, a queued entry.
    pub(crate) fn text(&self, entry: &Entry) -> &str {
        // Stored from a `&str`, whole.
        core::str::from_utf8(self.texts.get(entry.text)).unwrap_or_default()
    }

    /// The digest the server reports in `moved` for `entry`.
    pub(crate) fn digest(&self, entry: &Entry) -> u32 {
        let text = self.text(entry);
        match &entry.what {
            Outgoing::Say => message_digest(Kind::Say, None, text),
            Outgoing::Tell(to) => message_digest(Kind::Tell, Some(to.as_name()), text),
            Outgoing::Leave => message_digest(Kind::Leave, None, ""),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn front(&self) -> Option<&Entry> {
        self.entries.front()
    }

    /// Queues a message with its text, unless the queue or its arena is full.
    pub(crate) fn push(
        &mut self,
        id: MessageId,
        what: Outgoing,
        text: &str,
        now: Instant,
    ) -> Result<(), ClientError> {
        if text.len() > BYTES {
            return Err(ClientError::TextOverOutbox { len: text.len(), bytes: BYTES });
        }
        if self.entries.is_full() {
            return Err(ClientError::QueueFull { capacity: UNACKED });
        }
        let text =
            self.texts.push(text.as_bytes()).ok_or(ClientError::OutboxFull { bytes: BYTES })?;
        let seq = self.last_seq.wrapping_add(1);
        let entry = Entry { id, seq, what, text, queued_at: now, transmissions: 0 };
        let _ = self.entries.push_back(entry);
        self.last_seq = seq;
        Ok(())
    }

    /// A new session: number everything from `first` (1, by the protocol) and send it all
    /// again.
    pub(crate) fn renumber(&mut self, first: u32) {
        let mut seq = first;
        for entry in self.entries.iter_mut() {
            entry.seq = seq;
            entry.transmissions = 0;
            seq = seq.wrapping_add(1);
        }
        self.last_seq = seq.wrapping_sub(1);
        self.sent = 0;
    }

    /// The highest sequence number sent in this session (0 before the first): numbers are
    /// given in order and sent in order, so what was never sent is at the back.
    pub(crate) fn sent_up_to(&self) -> u32 {
        let unsent = self.entries.iter().rev().take_while(|e| e.transmissions == 0).count();
        let unsent = u32::try_from(unsent).unwrap_or(u32::MAX);
        self.last_seq.wrapping_sub(unsent)
    }

    /// The entry numbered `seq` in this session, if still queued.
    pub(crate) fn get(&self, seq: u32) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.seq == seq && entry.transmissions > 0)
    }

    /// Everything unacknowledged goes again (retransmission timeout).
    pub(crate) fn rewind(&mut self) {
        self.sent = 0;
    }

    /// Whether anything sent in this session awaits its answer.
    pub(crate) fn awaiting(&self) -> bool {
        self.entries.front().is_some_and(|e| e.transmissions > 0)
    }

    /// Whether all that is left is a leave, already sent.
    pub(crate) fn only_leave_sent(&self) -> bool {
        self.sent > 0
            && self.entries.len() == 1
            && self.entries.front().is_some_and(|e| e.what == Outgoing::Leave)
    }

    /// The next entry to send in this pass, if the rules allow one.
    pub(crate) fn next_to_send(&mut self) -> Option<(&Entry, &str)> {
        let limit = if UNACKED == 1 {
            // Room for one: everything travels alone, and the compiler drops the search.
            self.entries.len()
        } else {
            match self.entries.iter().position(|e| matches!(e.what, Outgoing::Tell(_))) {
                Some(0) => 1, // a tell at the front goes alone
                Some(i) => i, // everything before the first tell
                None => self.entries.len(),
            }
        };
        if self.sent >= limit {
            return None;
        }
        let entry = self.entries.get_mut(self.sent)?;
        entry.transmissions = entry.transmissions.saturating_add(1);
        self.sent += 1;
        Some((entry, core::str::from_utf8(self.texts.get(entry.text)).unwrap_or_default()))
    }

    /// The server accepted everything up to `seq`: removes those entries, oldest first,
    /// calling `done` for each.
    pub(crate) fn ack(&mut self, seq: u32, mut done: impl FnMut(Entry)) -> bool {
        let mut progress = false;
        // Anything sent in this session counts, in this pass or (after a rewind) an
        // earlier one; what was never sent cannot have been accepted.
        while let Some(front) = self.entries.front() {
            if front.transmissions == 0 || after(front.seq, seq) {
                break;
            }
            if let Some(entry) = self.entries.pop_front() {
                self.texts.pop(entry.text);
                self.sent = self.sent.saturating_sub(1);
                progress = true;
                done(entry);
            }
        }
        progress
    }

    /// The server refused the message `seq`, which must be at the front (the tell rule
    /// guarantees it); removes and returns it.
    pub(crate) fn refuse(&mut self, seq: u32) -> Option<Entry> {
        let front = self.entries.front()?;
        if front.transmissions == 0 || front.seq != seq {
            return None;
        }
        self.sent = self.sent.saturating_sub(1);
        let entry = self.entries.pop_front()?;
        self.texts.pop(entry.text);
        Some(entry)
    }

    /// Removes everything, calling `failed` for each.
    pub(crate) fn fail_all(&mut self, mut failed: impl FnMut(Entry)) {
        while let Some(entry) = self.entries.pop_front() {
            self.texts.pop(entry.text);
            failed(entry);
        }
        self.sent = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(text: &str) -> (Outgoing, &str) {
        (Outgoing::Say, text)
    }

    fn tell() -> (Outgoing, &'static str) {
        (Outgoing::Tell(NameBuf::parse("bob").unwrap()), "hi")
    }

    fn sendable<const UNACKED: usize>(outbox: &mut Outbox<UNACKED, 64>) -> std::vec::Vec<u32> {
        core::iter::from_fn(|| outbox.next_to_send().map(|(e, _)| e.seq)).collect()
    }

    #[test]
    fn a_tell_travels_alone() {
        let mut outbox = Outbox::<8, 64>::new();
        for (i, (what, text)) in (0u32..).zip([say("a"), say("b"), tell(), say("c")]) {
            outbox.push(MessageId(i), what, text, Instant::ZERO).unwrap();
        }
        assert_eq!(sendable(&mut outbox), [1, 2]);
        let mut done = std::vec::Vec::new();
        assert!(outbox.ack(2, |e| done.push(e.id)));
        assert_eq!(done, [MessageId(0), MessageId(1)]);
        assert_eq!(sendable(&mut outbox), [3]);
        assert_eq!(outbox.refuse(3).map(|e| e.id), Some(MessageId(2)));
        assert_eq!(sendable(&mut outbox), [4]);
    }

    #[test]
    fn rewind_resends_and_renumber_restarts_at_one() {
        let mut outbox = Outbox::<4, 64>::new();
        for i in 0..3 {
            outbox.push(MessageId(i), Outgoing::Say, "x", Instant::ZERO).unwrap();
        }
        assert_eq!(sendable(&mut outbox), [1, 2, 3]);
        outbox.ack(1, |_| {});
        outbox.rewind();
        assert_eq!(sendable(&mut outbox), [2, 3]);
        outbox.renumber(1);
        assert_eq!(sendable(&mut outbox), [1, 2]);
        assert!(!outbox.ack(0, |_| {}));
        outbox.push(MessageId(9), Outgoing::Say, "y", Instant::ZERO).unwrap();
        outbox.push(MessageId(10), Outgoing::Say, "z", Instant::ZERO).unwrap();
        assert!(outbox.push(MessageId(11), Outgoing::Say, "full", Instant::ZERO).is_err());
        assert_eq!(sendable(&mut outbox), [3, 4]);
    }

    #[test]
    fn an_ack_after_a_rewind_still_counts() {
        let mut outbox = Outbox::<4, 64>::new();
        for i in 0..3 {
            outbox.push(MessageId(i), Outgoing::Say, "x", Instant::ZERO).unwrap();
        }
        assert_eq!(sendable(&mut outbox), [1, 2, 3]);
        outbox.rewind();
        assert!(outbox.ack(2, |_| {}));
        assert_eq!(sendable(&mut outbox), [3]);
    }

    #[test]
    fn unsent_entries_are_never_acknowledged() {
        let mut outbox = Outbox::<4, 64>::new();
        outbox.push(MessageId(0), Outgoing::Say, "x", Instant::ZERO).unwrap();
        assert!(!outbox.ack(5, |_| {}));
        assert_eq!(outbox.len(), 1);
    }
}
