//! The message ring: the recent messages every recipient's cursor walks.
//!
//! Each message is stored once, however many users it goes to. Room sequence numbers are
//! internal (`u64`, never on the wire, never wrapping); each recipient numbers what it gets
//! on its own (see `delivery.rs`). When the ring is full the oldest message is evicted and
//! every cursor still behind it learns what it lost.

use crate::name_policy::NameKey;
use crate::wire::{Name, NameBuf, TextBuf, Token};

/// A recipient as the ring sees it: its session, and its name's key — so a user who
/// joins again under a new session still never gets its own room messages back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) token: Token,
    pub(crate) key: NameKey,
}

/// Who a stored message is for.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// Everyone but the sender.
    Room,
    /// The user whose session has this token.
    User(Token),
    /// The server's operator (a `tell` to the operator's name): no one on the network.
    Operator,
}

impl Recipient {
    /// Whether a message from the user whose name has key `from` to this recipient goes
    /// to `me`.
    pub(crate) fn includes(self, from: NameKey, me: Member) -> bool {
        match self {
            Recipient::Room => from != me.key,
            Recipient::User(to) => to == me.token,
            Recipient::Operator => false,
        }
    }
}

/// One stored message.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Room sequence number; 0 marks a slot never written.
    pub(crate) seq: u64,
    /// The sender's name's key: the sender, across its sessions.
    pub(crate) from_key: NameKey,
    pub(crate) from: NameBuf,
    pub(crate) to: Recipient,
    /// The recipient's name, for the operator's view of direct messages.
    pub(crate) to_name: Option<NameBuf>,
    pub(crate) text: TextBuf,
}

impl Entry {
    const EMPTY: Entry = Entry {
        seq: 0,
        from_key: NameKey::PLACEHOLDER,
        from: NAME_PLACEHOLDER,
        to: Recipient::Room,
        to_name: None,
        text: TextBuf::new(),
    };

    /// Whether this message goes to `me`.
    pub(crate) fn is_for(&self, me: Member) -> bool {
        self.to.includes(self.from_key, me)
    }
}

/// What an eviction took: enough for a cursor to count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Evicted {
    pub(crate) seq: u64,
    pub(crate) from_key: NameKey,
    pub(crate) to: Recipient,
}

impl Evicted {
    pub(crate) fn is_for(&self, me: Member) -> bool {
        self.to.includes(self.from_key, me)
    }
}

// Never read: slots with seq 0 are empty.
const NAME_PLACEHOLDER: NameBuf = NameBuf::PLACEHOLDER;

/// A ring of the last `R` messages.
#[derive(Debug)]
pub(crate) struct Ring<const R: usize> {
    entries: [Entry; R],
    /// The newest message's sequence number; 0 before the first.
    newest: u64,
}

impl<const R: usize> Ring<R> {
    pub(crate) const fn new() -> Self {
        Ring { entries: [const { Entry::EMPTY }; R], newest: 0 }
    }

    /// The newest sequence number (0 when nothing was ever stored).
    pub(crate) const fn newest(&self) -> u64 {
        self.newest
    }

    /// The oldest sequence number still stored (1 when nothing was evicted yet).
    pub(crate) const fn oldest(&self) -> u64 {
        let span = R as u64;
        if self.newest >= span { self.newest - span + 1 } else { 1 }
    }

    /// The message with sequence number `seq`, if still stored.
    pub(crate) fn get(&self, seq: u64) -> Option<&Entry> {
        if seq == 0 || seq > self.newest || seq < self.oldest() {
            return None;
        }
        let entry = self.entries.get(Self::index(seq)?)?;
        (entry.seq == seq).then_some(entry)
    }

    /// Stores a message and returns its sequence number, and what was evicted to make room.
    pub(crate) fn push(
        &mut self,
        from: Name<'_>,
        to: Recipient,
        to_name: Option<Name<'_>>,
        text: &str,
    ) -> (u64, Option<Evicted>) {
        let seq = self.newest + 1;
        let Some(slot) = Self::index(seq).and_then(|i| self.entries.get_mut(i)) else {
            return (self.newest, None); // R == 0: nothing can be stored
        };
        let evicted = (slot.seq != 0).then_some(Evicted {
            seq: slot.seq,
            from_key: slot.from_key,
            to: slot.to,
        });
        slot.seq = seq;
        slot.from_key = from.key();
        slot.from = NameBuf::new(from);
        slot.to = to;
        slot.to_name = to_name.map(NameBuf::new);
        slot.text.clear();
        // The caller checked the text against MAX_TEXT; a longer one would be cut here.
        let _ = slot.text.push_str(text);
        self.newest = seq;
        (seq, evicted)
    }

    fn index(seq: u64) -> Option<usize> {
        let r = u64::try_from(R).ok().filter(|&r| r > 0)?;
        usize::try_from(seq % r).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> Name<'_> {
        Name::new(n).unwrap()
    }

    #[test]
    fn keeps_the_last_r_and_reports_evictions() {
        let mut ring = Ring::<3>::new();
        assert_eq!((ring.newest(), ring.oldest()), (0, 1));
        for i in 1..=3u64 {
            let (seq, evicted) = ring.push(name("a"), Recipient::Room, None, "x");
            assert_eq!((seq, evicted), (i, None));
        }
        let (seq, evicted) = ring.push(name("b"), Recipient::User(Token(1)), Some(name("a")), "y");
        assert_eq!(seq, 4);
        let a = Member { token: Token(1), key: name("a").key() };
        let b = Member { token: Token(2), key: name("b").key() };
        assert_eq!(evicted, Some(Evicted { seq: 1, from_key: a.key, to: Recipient::Room }));
        assert!(ring.get(1).is_none());
        assert_eq!(ring.oldest(), 2);
        let entry = ring.get(4).unwrap();
        assert_eq!((entry.from.as_str(), entry.text.as_str()), ("b", "y"));
        assert!(entry.is_for(a) && !entry.is_for(b));
        assert!(ring.get(5).is_none() && ring.get(0).is_none());
    }

    #[test]
    fn room_messages_skip_their_sender_in_every_session() {
        let alice = name("alice").key();
        let bob = Member { token: Token(2), key: name("bob").key() };
        assert!(Recipient::Room.includes(alice, bob));
        // alice again, in a new session after a re-join: still her own message.
        let alice_again = Member { token: Token(3), key: name("ALICE").key() };
        assert!(!Recipient::Room.includes(alice, alice_again));
        assert!(!Recipient::Operator.includes(alice, bob));
        assert!(Recipient::User(Token(2)).includes(alice, bob));
    }
}
