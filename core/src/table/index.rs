//! The table's hash indexes: finding a user by address, token or name key in expected
//! constant time.
//!
//! Each index has one bucket per index entry, a chain threaded through the slots (two
//! bytes per slot and per bucket), hashed with SipHash-2-4 under the table's secret key
//! so that remote parties cannot steer entries into one bucket. Free slots are a chain
//! too, so a join does not scan either.

use core::hash::Hasher;

use siphasher::sip::SipHasher24;

use super::{Slot, SlotId, UserTable};
use crate::address::PeerAddress;
use crate::name_policy::NameKey;
use crate::storage::Storage;
use crate::time::Instant;
use crate::wire::Token;

/// The end of a chain, and "none" wherever a slot number is expected.
pub(super) const END: u16 = u16::MAX;

/// One link per index: the next slot in the same bucket (for a free slot, `addr` is the
/// next free slot).
#[derive(Debug, Clone, Copy)]
pub(super) struct Links {
    addr: u16,
    token: u16,
    key: u16,
}

impl Links {
    const NONE: Links = Links { addr: END, token: END, key: END };

    pub(super) fn get(&self, index: Index) -> u16 {
        match index {
            Index::Addr => self.addr,
            Index::Token => self.token,
            Index::Key => self.key,
        }
    }

    pub(super) fn set(&mut self, index: Index, to: u16) {
        match index {
            Index::Addr => self.addr = to,
            Index::Token => self.token = to,
            Index::Key => self.key = to,
        }
    }
}

/// Which index.
#[derive(Debug, Clone, Copy)]
pub(super) enum Index {
    Addr,
    Token,
    Key,
}

/// The index memory of one slot (32 bytes): its links in the hash chains, the heads of the
/// buckets of the same number, its place in the ready queue, and the deadline heap's
/// entry at the same position. A table given one per slot indexes; see [`UserTable`].
#[derive(Debug, Clone, Copy)]
pub struct IndexEntry {
    /// This slot's next slot in its bucket of each index.
    pub(super) next: Links,
    /// The first slot of the bucket of this number, per index.
    pub(super) head: Links,
    /// The next slot in the ready queue: `END` if this one is not queued, itself if it is
    /// the last.
    pub(super) ready: u16,
    /// The slot at this position of the deadline heap.
    pub(super) heap: u16,
    /// This slot's position in the deadline heap, `END` if it is not in it.
    pub(super) heap_pos: u16,
    /// This slot's deadline, while it is in the heap.
    pub(super) due: Instant,
}

impl IndexEntry {
    /// An entry for a table to overwrite.
    pub const EMPTY: IndexEntry = IndexEntry {
        next: Links::NONE,
        head: Links::NONE,
        ready: END,
        heap: END,
        heap_pos: END,
        due: Instant::ZERO,
    };
}

impl<S, A: PeerAddress, U: Storage<Slot<S, A>>, I: Storage<IndexEntry>> UserTable<S, A, U, I> {
    pub(super) fn entries(&self) -> &[IndexEntry] {
        self.index.as_ref()
    }

    pub(super) fn entry_mut(&mut self, at: u16) -> Option<&mut IndexEntry> {
        self.index.as_mut().get_mut(usize::from(at))
    }

    pub(super) fn entry(&self, at: u16) -> Option<&IndexEntry> {
        self.entries().get(usize::from(at))
    }

    /// Empty buckets and queues, and every usable slot free, chained in order so the
    /// first join takes slot 0.
    pub(super) fn reset_index(&mut self) {
        let capacity = self.capacity;
        for (i, entry) in self.index.as_mut().iter_mut().enumerate() {
            *entry = IndexEntry::EMPTY;
            let after = i + 1;
            entry.next.addr = u16::try_from(after).ok().filter(|_| after < capacity).unwrap_or(END);
        }
        self.free = if capacity > 0 { 0 } else { END };
    }

    /// Takes the first free slot off the free chain.
    pub(super) fn take_free(&mut self) -> u16 {
        let id = self.free;
        self.free = self.entry(id).map_or(END, |entry| entry.next.addr);
        if let Some(entry) = self.entry_mut(id) {
            entry.next = Links::NONE;
        }
        id
    }

    /// Puts slot `id` first on the free chain.
    pub(super) fn give_free(&mut self, id: u16) {
        let first = self.free;
        if let Some(entry) = self.entry_mut(id) {
            entry.next = Links { addr: first, ..Links::NONE };
            self.free = id;
        }
    }

    /// The first user of `bucket` in `index` that `matches`: a walk of one chain.
    pub(super) fn find_in(
        &self,
        index: Index,
        bucket: usize,
        matches: impl Fn(&super::User<S, A>) -> bool,
    ) -> Option<SlotId> {
        let mut at = self.entries().get(bucket)?.head.get(index);
        // Bounded by the slots, whatever the links say.
        for _ in 0..self.capacity {
            let user = self.slots().get(usize::from(at))?.as_ref()?;
            if matches(user) {
                return Some(SlotId(at));
            }
            at = self.entry(at)?.next.get(index);
        }
        None
    }

    /// Puts slot `id` first in `bucket` of `index`.
    pub(super) fn link(&mut self, index: Index, bucket: usize, id: u16) {
        let Some(head) = self.index.as_mut().get_mut(bucket).map(|entry| &mut entry.head) else {
            return;
        };
        let first = head.get(index);
        head.set(index, id);
        if let Some(entry) = self.entry_mut(id) {
            entry.next.set(index, first);
        }
    }

    /// Takes slot `id` out of `bucket` of `index`.
    pub(super) fn unlink(&mut self, index: Index, bucket: usize, id: u16) {
        let after = self.entry(id).map_or(END, |entry| entry.next.get(index));
        let Some(head) = self.index.as_mut().get_mut(bucket).map(|entry| &mut entry.head) else {
            return;
        };
        if head.get(index) == id {
            head.set(index, after);
            return;
        }
        let mut at = head.get(index);
        for _ in 0..self.capacity {
            let Some(links) = self.entry_mut(at).map(|entry| &mut entry.next) else { return };
            if links.get(index) == id {
                links.set(index, after);
                return;
            }
            at = links.get(index);
        }
    }

    fn bucket(&self, hash: u64) -> usize {
        // Lemire's reduction: the high half of a 32×32-bit product, no division.
        let low = hash & 0xffff_ffff;
        let n = u64::try_from(self.entries().len()).unwrap_or(u64::MAX);
        usize::try_from(low.saturating_mul(n) >> 32).unwrap_or(0)
    }

    fn hasher(&self, index: u8) -> SipHasher24 {
        let mut hasher = SipHasher24::new_with_key(&self.hash_key);
        hasher.write_u8(index);
        hasher
    }

    pub(super) fn addr_bucket(&self, addr: A) -> usize {
        let mut hasher = self.hasher(0);
        addr.write_key(&mut hasher);
        self.bucket(hasher.finish())
    }

    pub(super) fn token_bucket(&self, token: Token) -> usize {
        let mut hasher = self.hasher(1);
        hasher.write_u64(token.0);
        self.bucket(hasher.finish())
    }

    pub(super) fn key_bucket(&self, key: NameKey) -> usize {
        let mut hasher = self.hasher(2);
        hasher.write_u64(key.to_u64());
        self.bucket(hasher.finish())
    }
}
