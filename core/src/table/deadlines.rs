//! The deadline heap: each user's next deadline (a retransmission, or the end of its
//! allowed silence), so that the server finds the earliest without looking at everyone.
//!
//! A binary min-heap of slot numbers in the index entries (entry `i` holds the slot at
//! heap position `i`; each slot's entry its own position and deadline). The server keeps a
//! user's deadline no later than the real one: it moves a deadline earlier when one comes
//! sooner ([`UserTable::schedule`]) and sets it exactly when it handles the user
//! ([`UserTable::reschedule`]); a deadline that passed later (the user was heard from)
//! only wakes the server once more than needed, to be set right.
//!
//! The heap orders deadlines with [`Instant`]'s order on the clock's circle, which is
//! total (and so a valid heap order) only among times less than half the clock (24.8
//! days) apart. The server's deadlines are: each is at most its idle timeout ahead of the
//! time it was set (`MAX_IDLE_TIMEOUT`, 12.4 days, at the most; a retransmission comes
//! sooner), and none stays in the heap long after it is due, as long as the server is
//! polled no later than 12.4 days after its next deadline. The tests below hold the heap
//! to a sorted list for deadlines that far apart, across the clock's wrap.

use super::index::END;
use super::{IndexEntry, Slot, SlotId, UserTable};
use crate::address::PeerAddress;
use crate::storage::Storage;
use crate::time::Instant;

impl<S, A: PeerAddress, U: Storage<Slot<S, A>>, I: Storage<IndexEntry>> UserTable<S, A, U, I> {
    /// Makes `slot`'s deadline no later than `at` (indexed tables).
    pub fn schedule(&mut self, slot: SlotId, at: Instant) {
        if !self.indexed() {
            return;
        }
        match self.entry(slot.0).map(|entry| (entry.heap_pos, entry.due)) {
            Some((END, _)) => self.heap_insert(slot.0, at),
            Some((pos, due)) if at < due => {
                if let Some(entry) = self.entry_mut(slot.0) {
                    entry.due = at;
                }
                self.sift_up(pos);
            }
            _ => {}
        }
    }

    /// Sets `slot`'s deadline to `at`, earlier or later (indexed tables).
    pub fn reschedule(&mut self, slot: SlotId, at: Instant) {
        if !self.indexed() {
            return;
        }
        self.unschedule(slot);
        self.heap_insert(slot.0, at);
    }

    /// Takes `slot` out of the heap.
    pub fn unschedule(&mut self, slot: SlotId) {
        let Some(pos) = self.entry(slot.0).map(|entry| entry.heap_pos).filter(|&p| p != END) else {
            return;
        };
        let last = self.heap_len.wrapping_sub(1);
        let moved = self.heap_at(last);
        self.set_heap(pos, moved);
        self.set_heap(last, END);
        if let Some(entry) = self.entry_mut(slot.0) {
            entry.heap_pos = END;
        }
        self.heap_len = last;
        if pos < last {
            // The last entry took the hole: it may belong higher or lower.
            self.sift_up(pos);
            let pos = self.entry(moved).map_or(END, |entry| entry.heap_pos);
            self.sift_down(pos);
        }
    }

    /// The earliest deadline.
    pub fn next_due(&self) -> Option<Instant> {
        (self.heap_len > 0).then(|| self.due_of(self.heap_at(0)))
    }

    /// Takes the slot with the earliest deadline out of the heap, if that deadline is not
    /// after `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<SlotId> {
        if self.next_due()? > now {
            return None;
        }
        let slot = SlotId(self.heap_at(0));
        self.unschedule(slot);
        Some(slot)
    }

    fn heap_insert(&mut self, slot: u16, at: Instant) {
        let pos = self.heap_len;
        if usize::from(pos) >= self.entries().len() {
            return;
        }
        let Some(entry) = self.entry_mut(slot) else { return };
        entry.due = at;
        self.heap_len = pos.saturating_add(1);
        self.set_heap(pos, slot);
        self.sift_up(pos);
    }

    fn heap_at(&self, pos: u16) -> u16 {
        self.entry(pos).map_or(END, |entry| entry.heap)
    }

    fn due_of(&self, slot: u16) -> Instant {
        self.entry(slot).map_or(Instant::ZERO, |entry| entry.due)
    }

    /// Puts `slot` at heap position `pos`.
    fn set_heap(&mut self, pos: u16, slot: u16) {
        if let Some(entry) = self.entry_mut(pos) {
            entry.heap = slot;
        }
        if let Some(entry) = self.entry_mut(slot) {
            entry.heap_pos = pos;
        }
    }

    fn swap(&mut self, a: u16, b: u16) {
        let (slot_a, slot_b) = (self.heap_at(a), self.heap_at(b));
        self.set_heap(a, slot_b);
        self.set_heap(b, slot_a);
    }

    fn sift_up(&mut self, mut pos: u16) {
        while pos > 0 && pos < self.heap_len {
            let parent = (pos - 1) / 2;
            if self.due_of(self.heap_at(parent)) <= self.due_of(self.heap_at(pos)) {
                return;
            }
            self.swap(pos, parent);
            pos = parent;
        }
    }

    fn sift_down(&mut self, mut pos: u16) {
        while pos < self.heap_len {
            let mut least = pos;
            for child in [2 * u32::from(pos) + 1, 2 * u32::from(pos) + 2] {
                let Ok(child) = u16::try_from(child) else { continue };
                if child < self.heap_len
                    && self.due_of(self.heap_at(child)) < self.due_of(self.heap_at(least))
                {
                    least = child;
                }
            }
            if least == pos {
                return;
            }
            self.swap(pos, least);
            pos = least;
        }
    }
}

#[cfg(test)]
mod tests {
    use core::net::SocketAddr;

    use crate::table::ArrayTable;
    use crate::time::Instant;
    use crate::wire::{Name, Token};

    /// Against a plain list, for deadlines up to a second apart around the clock's wrap.
    #[test]
    fn the_heap_agrees_with_a_sorted_list() {
        agrees_with_a_sorted_list(1000);
    }

    /// Against a plain list, for deadlines as far apart as a server's can be (just under
    /// half the clock, `MAX_IDLE_TIMEOUT` ahead and as long again overdue), around the
    /// clock's wrap.
    #[test]
    fn the_heap_agrees_with_a_sorted_list_over_half_the_clock() {
        agrees_with_a_sorted_list(crate::time::Duration::MAX.as_millis());
    }

    /// Seeded inserts, moves earlier and later, removals and pops of deadlines in a span of
    /// `span` ms; the heap always names the earliest deadline. The times straddle the
    /// clock's wrap.
    fn agrees_with_a_sorted_list(span: u64) {
        let base: u64 = (1 << 32) - span / 2;
        let at_ms = |ms: u64| Instant::from_millis(base + ms);
        let mut table = ArrayTable::<(), 64>::new(64, || [5; 16]);
        let mut model: std::vec::Vec<(u64, super::SlotId)> = std::vec::Vec::new();
        let mut seed = 0x2545_f491_u64;
        let mut random = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut names = 0u16;
        for _ in 0..5000 {
            match random(5) {
                0 if table.len() < 64 => {
                    names += 1;
                    let name = std::format!("u{names}");
                    let addr = SocketAddr::from(([10, 0, 0, 1], names));
                    let at = random(span);
                    let slot = table
                        .insert(
                            addr,
                            Token(u64::from(names)),
                            Name::new(&name).unwrap(),
                            Instant::ZERO,
                            (),
                        )
                        .unwrap();
                    table.schedule(slot, at_ms(at));
                    model.push((at, slot));
                }
                1 if !model.is_empty() => {
                    let i = usize::try_from(random(model.len() as u64)).unwrap();
                    let at = random(span);
                    table.reschedule(model[i].1, at_ms(at));
                    model[i].0 = at;
                }
                2 if !model.is_empty() => {
                    let i = usize::try_from(random(model.len() as u64)).unwrap();
                    let at = random(span);
                    table.schedule(model[i].1, at_ms(at));
                    model[i].0 = model[i].0.min(at);
                }
                3 if !model.is_empty() => {
                    let i = usize::try_from(random(model.len() as u64)).unwrap();
                    table.remove(model.swap_remove(i).1).unwrap();
                }
                _ => {
                    let now = random(span);
                    let popped = table.pop_due(at_ms(now));
                    let earliest = model.iter().map(|&(at, _)| at).min();
                    match popped {
                        Some(slot) => {
                            let i = model.iter().position(|&(_, s)| s == slot).unwrap();
                            assert_eq!(Some(model[i].0), earliest);
                            assert!(model[i].0 <= now);
                            // Back in, as the server does once it handled the user.
                            let at = (now + 1 + random(span)).min(span - 1);
                            table.reschedule(slot, at_ms(at));
                            model[i].0 = at;
                        }
                        None => assert!(earliest.is_none_or(|at| at > now)),
                    }
                }
            }
            let earliest = model.iter().map(|&(at, _)| at).min();
            assert_eq!(table.next_due(), earliest.map(at_ms));
        }
    }
}
