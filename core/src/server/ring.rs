//! The message ring: the recent messages every recipient's cursor walks.
//!
//! Each message is stored once, however many users it goes to. Room sequence numbers are
//! internal (`u64`, never on the wire, never wrapping); each recipient numbers what it gets
//! on its own (see `delivery.rs`), and its cursor keeps only their low 32 bits ([`low`],
//! [`Ring::full`]). When the ring is full the oldest message is evicted and
//! every cursor still behind it learns what it lost.

use crate::name_policy::NameKey;
use crate::storage::Storage;
use crate::wire::limits::{DELIVER_OVERHEAD, MAX_NAME};
use crate::wire::{Name, Token};

/// A recipient as the ring sees it: its session, and its name's key — so a user who
/// joins again under a new session still never gets its own room messages back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) token: Token,
    pub(crate) key: NameKey,
}

/// The most messages a ring keeps (it uses no more slots than this): less than half of
/// 2^32, so positions from the oldest message's predecessor to the newest compare by their
/// low 32 bits as serial numbers ([`crate::seq::after`]).
const MAX_MESSAGES: usize = 1 << 30;

/// The low 32 bits of room sequence number `seq`: what a cursor keeps of a position.
pub(crate) const fn low(seq: u64) -> u32 {
    let [a, b, c, d, ..] = seq.to_le_bytes();
    u32::from_le_bytes([a, b, c, d])
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
    /// A user of another server (a bridged one, [`crate::server::Directory`]): no one
    /// here; the embedding forwards it.
    Elsewhere,
}

impl Recipient {
    /// Whether a message from the user whose name has key `from` to this recipient goes
    /// to `me`.
    pub(crate) fn includes(self, from: NameKey, me: Member) -> bool {
        match self {
            Recipient::Room => from != me.key,
            Recipient::User(to) => to == me.token,
            Recipient::Operator | Recipient::Elsewhere => false,
        }
    }
}

/// One stored message, borrowed from the ring.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    /// The sender's name's key: the sender, across its sessions.
    pub(crate) from_key: NameKey,
    pub(crate) from: Name<'a>,
    pub(crate) to: Recipient,
    /// The recipient's name, for the operator's view of direct messages.
    pub(crate) to_name: Option<Name<'a>>,
    pub(crate) text: &'a str,
}

impl Entry<'_> {
    /// Whether this message goes to `me`.
    pub(crate) fn is_for(&self, me: Member) -> bool {
        self.to.includes(self.from_key, me)
    }

    /// The length of the `deliver` frame that carries it (in the clear).
    pub(crate) fn deliver_len(&self) -> usize {
        DELIVER_OVERHEAD - MAX_NAME + self.from.as_str().len() + self.text.len()
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

/// Where a message lives: its fixed part (24 bytes). Its names and text are in the
/// arena, one after the other from `start` (all UTF-8, so the run is too).
#[derive(Debug, Clone, Copy)]
pub struct MessageSlot {
    from_key: NameKey,
    to: Recipient,
    start: u32,
    from_len: u8,
    /// 0: no recipient name (a name is never empty).
    to_len: u8,
    text_len: u16,
}

impl MessageSlot {
    /// A slot for the ring to overwrite.
    pub const EMPTY: MessageSlot = MessageSlot {
        from_key: NameKey::PLACEHOLDER,
        to: Recipient::Room,
        start: 0,
        from_len: 0,
        to_len: 0,
        text_len: 0,
    };

    fn len(&self) -> usize {
        usize::from(self.from_len) + usize::from(self.to_len) + usize::from(self.text_len)
    }

    fn end(&self) -> usize {
        usize::try_from(self.start).unwrap_or(usize::MAX).saturating_add(self.len())
    }
}

/// A ring of at most as many messages as it has slots (`M`), whose names and texts share
/// an arena of bytes (`B`): a short message costs its own length, not room for the longest
/// one. When either runs out the oldest messages are evicted, as many as it takes.
///
/// Each message's bytes are contiguous: one that does not fit between the newest and the
/// end of the arena starts again at its beginning (the tail left behind is free again once
/// the messages before it are evicted), as in a bip buffer.
#[derive(Debug)]
pub(crate) struct Ring<M, B> {
    slots: M,
    arena: B,
    /// The oldest message's sequence number; `newest + 1` when the ring is empty.
    oldest: u64,
    /// The newest message's sequence number; 0 before the first.
    newest: u64,
}

impl<const R: usize, const T: usize> Ring<[MessageSlot; R], [u8; T]> {
    #[cfg(test)]
    pub(crate) const fn new() -> Self {
        Ring::with_storage([MessageSlot::EMPTY; R], [0; T])
    }
}

impl<M: Storage<MessageSlot>, B: Storage<u8>> Ring<M, B> {
    /// An empty ring whose first message is numbered `first` (tests: a cursor's positions
    /// across the 32-bit boundary).
    #[cfg(test)]
    pub(crate) const fn numbered_from(mut self, first: u64) -> Self {
        (self.oldest, self.newest) = (first, first - 1);
        self
    }

    /// An empty ring in `slots` and `arena` (their contents are overwritten as it fills).
    pub(crate) const fn with_storage(slots: M, arena: B) -> Self {
        Ring { slots, arena, oldest: 1, newest: 0 }
    }

    /// How many bytes the arena has.
    pub(crate) fn arena_len(&self) -> usize {
        self.arena.as_ref().len()
    }

    /// How many messages it keeps at most.
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.as_ref().len().min(MAX_MESSAGES)
    }

    /// The newest sequence number (0 when nothing was ever stored).
    pub(crate) const fn newest(&self) -> u64 {
        self.newest
    }

    /// The oldest sequence number still stored (`newest + 1` when none is: 1 when nothing
    /// was evicted yet).
    pub(crate) const fn oldest(&self) -> u64 {
        self.oldest
    }

    /// The room sequence number whose low 32 bits are `low`, for a position from the
    /// oldest message's predecessor to the newest (a cursor's: see [`MAX_MESSAGES`]).
    pub(crate) const fn full(&self, low: u32) -> u64 {
        let behind = self::low(self.newest).wrapping_sub(low);
        self.newest.saturating_sub(behind as u64)
    }

    /// The message with sequence number `seq`, if still stored.
    pub(crate) fn get(&self, seq: u64) -> Option<Entry<'_>> {
        if seq < self.oldest || seq > self.newest {
            return None;
        }
        let slot = self.slots.as_ref().get(self.index(seq)?)?;
        let start = usize::try_from(slot.start).ok()?;
        let run = self.arena.as_ref().get(start..slot.end())?;
        // Stored from `&str`s, so this holds; checked anyway, as no input may panic.
        let run = core::str::from_utf8(run).ok()?;
        let (from, rest) = run.split_at_checked(usize::from(slot.from_len))?;
        let (to_name, text) = rest.split_at_checked(usize::from(slot.to_len))?;
        Some(Entry {
            from_key: slot.from_key,
            from: Name::stored(from),
            to: slot.to,
            to_name: (slot.to_len > 0).then(|| Name::stored(to_name)),
            text,
        })
    }

    /// Stores a message and returns its sequence number; every message evicted to make
    /// room goes to `evicted`, oldest first. A message longer than the whole arena (the
    /// server clamps its `max_text` so none is) empties the ring and is itself evicted at
    /// once: what is stored stays one run of sequence numbers.
    pub(crate) fn push(
        &mut self,
        from: Name<'_>,
        to: Recipient,
        to_name: Option<Name<'_>>,
        text: &str,
        mut evicted: impl FnMut(Evicted),
    ) -> u64 {
        let from_str = from.as_str();
        let to_str = to_name.map_or("", |n| n.as_str());
        let slot = MessageSlot {
            from_key: from.key(),
            to,
            start: 0,
            from_len: u8::try_from(from_str.len()).unwrap_or(u8::MAX),
            to_len: u8::try_from(to_str.len()).unwrap_or(u8::MAX),
            text_len: u16::try_from(text.len()).unwrap_or(u16::MAX),
        };
        let len = slot.len();
        let seq = self.newest + 1;
        let start = loop {
            if self.len() < self.slot_count() as u64
                && let Some(start) = self.place(len)
            {
                break Some(start);
            }
            match self.evict_oldest() {
                Some(gone) => evicted(gone),
                // Empty, and still no room: longer than the arena, or `R == 0`.
                None => break None,
            }
        };
        self.newest = seq;
        let stored = start.and_then(|start| {
            let index = self.index(seq)?;
            let bytes = from_str.bytes().chain(to_str.bytes()).chain(text.bytes());
            let run = self.arena.as_mut().get_mut(start..start.checked_add(len)?)?;
            run.iter_mut().zip(bytes).for_each(|(d, s)| *d = s);
            let start = u32::try_from(start).ok()?;
            *self.slots.as_mut().get_mut(index)? = MessageSlot { start, ..slot };
            Some(())
        });
        if stored.is_none() {
            // Nowhere to keep it: it is gone at once, and every cursor counts it missed.
            self.oldest = seq + 1;
            evicted(Evicted { seq, from_key: slot.from_key, to });
        }
        seq
    }

    /// Whether storing a message of `len` bytes (names and text) would evict the oldest.
    pub(crate) fn would_evict(&self, len: usize) -> bool {
        self.would_evict_within(1, len)
    }

    /// Whether storing `messages` more, or one of `bytes`, would evict the oldest.
    pub(crate) fn would_evict_within(&self, messages: usize, bytes: usize) -> bool {
        let room = (self.slot_count() as u64).saturating_sub(self.len());
        room < messages as u64 || self.place(bytes).is_none()
    }

    /// How many messages are stored.
    const fn len(&self) -> u64 {
        self.newest + 1 - self.oldest
    }

    /// Where `len` more bytes can go after the newest message without reaching the
    /// oldest's, if anywhere.
    fn place(&self, len: usize) -> Option<usize> {
        let size = self.arena_len();
        if self.len() == 0 {
            return (len <= size).then_some(0);
        }
        let head = usize::try_from(self.slot(self.oldest)?.start).ok()?;
        let tail = self.slot(self.newest)?.end();
        if head < tail {
            // In order: after the newest up to the end, else from the start up to the oldest.
            if tail.checked_add(len)? <= size { Some(tail) } else { (len <= head).then_some(0) }
        } else {
            // Wrapped (every message is at least one byte, so `head == tail` is full):
            // between the newest and the oldest.
            (tail.checked_add(len)? <= head).then_some(tail)
        }
    }

    fn evict_oldest(&mut self) -> Option<Evicted> {
        let seq = self.oldest;
        if self.len() == 0 {
            return None;
        }
        let slot = *self.slot(seq)?;
        self.oldest = seq + 1;
        Some(Evicted { seq, from_key: slot.from_key, to: slot.to })
    }

    fn slot(&self, seq: u64) -> Option<&MessageSlot> {
        self.slots.as_ref().get(self.index(seq)?)
    }

    fn index(&self, seq: u64) -> Option<usize> {
        let r = u64::try_from(self.slot_count()).ok().filter(|&r| r > 0)?;
        usize::try_from(seq % r).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> Name<'_> {
        Name::new(n).unwrap()
    }

    /// Pushes and returns the sequence number with what was evicted.
    fn push<const R: usize, const T: usize>(
        ring: &mut Ring<[MessageSlot; R], [u8; T]>,
        from: &str,
        to: Recipient,
        to_name: Option<&str>,
        text: &str,
    ) -> (u64, std::vec::Vec<u64>) {
        let mut gone = std::vec::Vec::new();
        let seq = ring.push(name(from), to, to_name.map(name), text, |e| gone.push(e.seq));
        (seq, gone)
    }

    #[test]
    fn keeps_the_last_r_and_reports_evictions() {
        let mut ring = Ring::<[MessageSlot; 3], [u8; 1024]>::new();
        assert_eq!((ring.newest(), ring.oldest()), (0, 1));
        for i in 1..=3u64 {
            assert_eq!(push(&mut ring, "a", Recipient::Room, None, "x"), (i, std::vec![]));
        }
        let mut evicted = std::vec::Vec::new();
        let seq = ring.push(name("b"), Recipient::User(Token(1)), Some(name("a")), "y", |e| {
            evicted.push(e);
        });
        assert_eq!(seq, 4);
        let a = Member { token: Token(1), key: name("a").key() };
        let b = Member { token: Token(2), key: name("b").key() };
        assert_eq!(evicted, [Evicted { seq: 1, from_key: a.key, to: Recipient::Room }]);
        assert!(ring.get(1).is_none());
        assert_eq!(ring.oldest(), 2);
        let entry = ring.get(4).unwrap();
        assert_eq!((entry.from.as_str(), entry.text), ("b", "y"));
        assert_eq!(entry.to_name.map(|n| n.as_str()), Some("a"));
        assert!(entry.is_for(a) && !entry.is_for(b));
        assert!(ring.get(5).is_none() && ring.get(0).is_none());
    }

    /// Messages cost their own length: the arena, not the count, decides what stays.
    #[test]
    fn the_arena_holds_bytes_not_slots() {
        // Each message below is 1 + 9 = 10 bytes; 35 bytes hold three.
        let mut ring = Ring::<[MessageSlot; 16], [u8; 35]>::new();
        for i in 1..=3u64 {
            assert_eq!(push(&mut ring, "a", Recipient::Room, None, "123456789"), (i, std::vec![]));
        }
        // The fourth does not fit after the third (30 + 10 > 35) nor before the first
        // (which starts at 0): the first goes, and it starts over at 0.
        assert_eq!(push(&mut ring, "b", Recipient::Room, None, "abcdefghi"), (4, std::vec![1]));
        assert_eq!(ring.get(4).unwrap().text, "abcdefghi");
        assert_eq!(ring.get(2).unwrap().text, "123456789");
        // A long one takes the room of several.
        let (seq, gone) = push(&mut ring, "c", Recipient::Room, None, "0123456789012345678");
        assert_eq!((seq, gone), (5, std::vec![2, 3]));
        assert_eq!((ring.oldest(), ring.newest()), (4, 5));
        assert_eq!(ring.get(5).unwrap().text, "0123456789012345678");
        assert_eq!(ring.get(4).unwrap().from.as_str(), "b");
    }

    /// Round and round with texts of every length: what the ring still holds always reads
    /// back exactly, evictions come oldest first, and the newest is always kept.
    #[test]
    fn wraps_around_the_arena_with_any_lengths() {
        let mut ring = Ring::<[MessageSlot; 8], [u8; 100]>::new();
        let text = "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789";
        let mut next_gone = 1;
        for i in 1..=500u64 {
            let len = usize::try_from(i * 7 % 60).unwrap();
            let (seq, gone) = push(&mut ring, "n", Recipient::Room, Some("to"), &text[..len]);
            assert_eq!(seq, i);
            for g in gone {
                assert_eq!(g, next_gone, "evicted in order");
                next_gone += 1;
            }
            assert_eq!(ring.oldest(), next_gone);
            for s in ring.oldest()..=ring.newest() {
                let len = usize::try_from(s * 7 % 60).unwrap();
                let entry = ring.get(s).unwrap();
                assert_eq!((entry.from.as_str(), entry.text), ("n", &text[..len]), "seq {s}");
                assert_eq!(entry.to_name.unwrap().as_str(), "to");
            }
            assert!(ring.newest() - ring.oldest() < 8);
        }
    }

    /// A server's texts fit its arena: `max_text` comes down to the arena less two names.
    #[test]
    fn a_small_arena_means_shorter_texts() {
        use crate::server::{ServerConfig, StaticServer};
        let small =
            StaticServer::<2, 4, core::net::SocketAddr, 100>::new(ServerConfig::new([1; 16], 1));
        assert_eq!(small.unwrap().config().max_text(), 100 - 2 * 16);
        let roomy =
            StaticServer::<2, 4, core::net::SocketAddr, 4096>::new(ServerConfig::new([1; 16], 1));
        assert_eq!(roomy.unwrap().config().max_text(), crate::wire::limits::MAX_TEXT_U16);
    }

    /// A message longer than the whole arena is counted and gone at once, as is every
    /// message of a ring with no slots.
    #[test]
    fn what_cannot_be_kept_is_evicted_at_once() {
        let mut ring = Ring::<[MessageSlot; 4], [u8; 8]>::new();
        assert_eq!(push(&mut ring, "a", Recipient::Room, None, "x"), (1, std::vec![]));
        assert_eq!(
            push(&mut ring, "a", Recipient::Room, None, "far too long"),
            (2, std::vec![1, 2])
        );
        assert!(ring.get(2).is_none());
        assert_eq!((ring.oldest(), ring.newest()), (3, 2));
        assert_eq!(push(&mut ring, "a", Recipient::Room, None, "ok"), (3, std::vec![]));
        let mut none = Ring::<[MessageSlot; 0], [u8; 64]>::new();
        assert_eq!(push(&mut none, "a", Recipient::Room, None, "x"), (1, std::vec![1]));
        assert!(none.get(1).is_none());
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
