//! The ready queue: the users who may have something to send, first come first served.
//!
//! The server puts a user here when something for it happens (a message for it, an
//! acknowledgement that opens its window, a timer that rewinds its cursor, an
//! acknowledgement it is owed) and takes users off the front to send one frame each,
//! putting back at the end those who sent one: round robin, touching only users who have
//! work, however many are connected. A chain through the index entries; a user who
//! leaves while queued is skipped when its turn comes (its slot is empty, or another
//! user's, who is merely asked once too often).

use super::index::END;
use super::{IndexEntry, Slot, SlotId, UserTable};
use crate::address::PeerAddress;
use crate::storage::Storage;

impl<S, A: PeerAddress, U: Storage<Slot<S, A>>, I: Storage<IndexEntry>> UserTable<S, A, U, I> {
    /// Queues `slot` at the end, unless it is queued already (indexed tables; a table that
    /// scans has no queue).
    pub fn mark_ready(&mut self, slot: SlotId) {
        if !self.indexed() {
            return;
        }
        let tail = self.ready_tail;
        match self.entry_mut(slot.0) {
            Some(entry) if entry.ready == END => entry.ready = slot.0,
            _ => return,
        }
        match self.entry_mut(tail) {
            Some(last) => last.ready = slot.0,
            None => self.ready_head = slot.0,
        }
        self.ready_tail = slot.0;
    }

    /// Queues every user.
    pub fn mark_all_ready(&mut self) {
        if !self.indexed() {
            return;
        }
        for i in 0..self.slots().len() {
            if let (Some(Some(_)), Ok(id)) = (self.slots().get(i), u16::try_from(i)) {
                self.mark_ready(SlotId(id));
            }
        }
    }

    /// Takes the first queued slot off the queue.
    pub fn pop_ready(&mut self) -> Option<SlotId> {
        let first = self.ready_head;
        let entry = self.entry_mut(first)?;
        let after = entry.ready;
        entry.ready = END;
        if after == first {
            self.ready_head = END;
            self.ready_tail = END;
        } else {
            self.ready_head = after;
        }
        Some(SlotId(first))
    }
}

#[cfg(test)]
mod tests {
    use core::net::SocketAddr;

    use crate::table::ArrayTable;
    use crate::time::Instant;
    use crate::wire::{Name, Token};

    #[test]
    fn first_come_first_served_once_each() {
        let mut table = ArrayTable::<(), 32>::new(32, || [5; 16]);
        let slots: std::vec::Vec<_> = (0..5u16)
            .map(|i| {
                let name = std::format!("u{i}");
                let addr = SocketAddr::from(([10, 0, 0, 1], i));
                table
                    .insert(
                        addr,
                        Token(u64::from(i) + 1),
                        Name::new(&name).unwrap(),
                        Instant::ZERO,
                        (),
                    )
                    .unwrap()
            })
            .collect();
        assert_eq!(table.pop_ready(), None);
        for &i in &[3, 1, 3, 4, 1] {
            table.mark_ready(slots[i]);
        }
        assert_eq!(table.pop_ready(), Some(slots[3]));
        table.mark_ready(slots[3]); // back at the end
        assert_eq!(table.pop_ready(), Some(slots[1]));
        assert_eq!(table.pop_ready(), Some(slots[4]));
        assert_eq!(table.pop_ready(), Some(slots[3]));
        assert_eq!(table.pop_ready(), None);
        table.mark_all_ready();
        let all: std::vec::Vec<_> = core::iter::from_fn(|| table.pop_ready()).collect();
        assert_eq!(all, slots);
    }

    #[test]
    fn a_table_that_scans_has_no_queue() {
        let mut table = ArrayTable::<(), 4, SocketAddr, 0>::new(4, || [5; 16]);
        let addr = SocketAddr::from(([10, 0, 0, 1], 1));
        let slot =
            table.insert(addr, Token(1), Name::new("a").unwrap(), Instant::ZERO, ()).unwrap();
        table.mark_ready(slot);
        table.schedule(slot, Instant::ZERO);
        assert_eq!((table.pop_ready(), table.next_due()), (None, None));
    }
}
