//! One recipient's delivery cursor over the message ring: what it has been sent, what it
//! acknowledged, what to resend, and what it lost.
//!
//! Each recipient numbers its deliveries 1, 2, 3, ... (the `seq` of `deliver`), counting
//! only the ring entries meant for it. Two positions are kept, each as a pair (delivery
//! number, room sequence number):
//!
//! - *base*: everything up to here is done — acknowledged, or evicted from the ring;
//! - *sent*: everything up to here was sent in the current pass.
//!
//! Acknowledgements move base forward; a retransmission timeout rewinds sent to base
//! (go-back-N, with exponential back-off). When the ring evicts an entry the recipient has
//! not acknowledged, base moves past it anyway; if the recipient's own acknowledgements
//! then lag base, it is sent a `missed` frame naming base, and counts what it lost itself.

use crate::seq::after;
use crate::server::ring::{Evicted, Ring};
use crate::time::{Duration, Instant};
use crate::wire::Token;

/// The next frame a cursor wants sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// `deliver` the ring entry `room_seq` as delivery number `seq`.
    Deliver { seq: u32, room_seq: u64 },
    /// `missed`: every delivery up to `seq` not yet accepted is lost.
    Missed { seq: u32 },
}

/// A recipient's delivery cursor.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    /// The highest delivery number the recipient acknowledged.
    confirmed: u32,
    base_seq: u32,
    base_room: u64,
    sent_seq: u32,
    scan_room: u64,
    /// A `missed` for the current base was sent in this pass.
    missed_sent: bool,
    rto: Duration,
    retransmit_at: Option<Instant>,
}

impl Outbound {
    /// A cursor that starts after room sequence number `start_room`.
    pub(crate) fn new(start_room: u64, rto: Duration) -> Self {
        Outbound {
            confirmed: 0,
            base_seq: 0,
            base_room: start_room,
            sent_seq: 0,
            scan_room: start_room,
            missed_sent: false,
            rto,
            retransmit_at: None,
        }
    }

    /// When the oldest unacknowledged frame is resent, if any is outstanding.
    pub(crate) const fn retransmit_at(&self) -> Option<Instant> {
        self.retransmit_at
    }

    /// Deliveries sent and not yet acknowledged.
    pub(crate) const fn in_flight(&self) -> u32 {
        self.sent_seq.wrapping_sub(self.base_seq)
    }

    fn missed_due(&self) -> bool {
        after(self.base_seq, self.confirmed)
    }

    /// Whether anything sent still waits for its acknowledgement.
    fn outstanding(&self) -> bool {
        self.in_flight() > 0 || self.missed_due()
    }

    /// The next frame to send, if any: a pending `missed` first, then the next ring entry
    /// for `me`, within `window` unacknowledged deliveries.
    pub(crate) fn next<const R: usize>(
        &mut self,
        ring: &Ring<R>,
        me: Token,
        window: u32,
        now: Instant,
    ) -> Option<Next> {
        if self.missed_due() && !self.missed_sent {
            self.missed_sent = true;
            self.arm(now);
            return Some(Next::Missed { seq: self.base_seq });
        }
        if self.in_flight() >= window {
            return None;
        }
        while self.scan_room < ring.newest() {
            let room_seq = self.scan_room + 1;
            self.scan_room = room_seq;
            let Some(entry) = ring.get(room_seq) else { continue };
            if entry.is_for(me) {
                self.sent_seq = self.sent_seq.wrapping_add(1);
                self.arm(now);
                return Some(Next::Deliver { seq: self.sent_seq, room_seq });
            }
            if self.in_flight() == 0 {
                // Nothing outstanding before it: an entry for others is done at once.
                self.base_room = room_seq;
            }
        }
        None
    }

    /// The recipient acknowledged every delivery up to `seq`. Returns whether that was
    /// progress.
    pub(crate) fn on_ack<const R: usize>(
        &mut self,
        seq: u32,
        ring: &Ring<R>,
        me: Token,
        now: Instant,
        rto_initial: Duration,
    ) -> bool {
        if !after(seq, self.confirmed) || after(seq, self.sent_seq) {
            return false; // old, duplicate, or claims more than was sent
        }
        self.confirmed = seq;
        if after(seq, self.base_seq) {
            // Walk base forward to the entry that got delivery number `seq`.
            let mut counted = self.base_seq;
            let mut room_seq = self.base_room;
            while room_seq < self.scan_room && counted != seq {
                room_seq += 1;
                if ring.get(room_seq).is_some_and(|entry| entry.is_for(me)) {
                    counted = counted.wrapping_add(1);
                }
            }
            self.base_seq = counted;
            self.base_room = room_seq;
        }
        self.rto = rto_initial;
        self.retransmit_at = None;
        if self.outstanding() {
            self.arm(now);
        }
        true
    }

    /// If the retransmission time has come, rewinds to base so everything unacknowledged
    /// goes again, and doubles the timeout. Returns whether it rewound.
    pub(crate) fn on_timeout(&mut self, now: Instant, rto_max: Duration) -> bool {
        match self.retransmit_at {
            Some(at) if at <= now => {
                self.sent_seq = self.base_seq;
                self.scan_room = self.base_room;
                self.missed_sent = false;
                self.rto = self.rto.doubled(rto_max);
                self.retransmit_at = None;
                true
            }
            _ => false,
        }
    }

    /// Resends everything unacknowledged now (the recipient moved to a new address).
    pub(crate) fn rewind_now(&mut self) {
        self.sent_seq = self.base_seq;
        self.scan_room = self.base_room;
        self.missed_sent = false;
        self.retransmit_at = None;
    }

    /// The ring evicted an entry. If this cursor had not finished with it, base moves past
    /// it (consuming its delivery number if it was for `me`), so the entry counts as lost
    /// unless the recipient acknowledges it.
    pub(crate) fn on_evict(&mut self, evicted: &Evicted, me: Token, now: Instant) {
        if self.base_room >= evicted.seq {
            return;
        }
        if evicted.is_for(me) {
            self.base_seq = self.base_seq.wrapping_add(1);
        }
        self.base_room = evicted.seq;
        if self.scan_room < evicted.seq {
            // Never sent: skip it.
            self.scan_room = evicted.seq;
            self.sent_seq = self.base_seq;
        }
        if self.outstanding() {
            self.arm(now);
        }
    }

    fn arm(&mut self, now: Instant) {
        if self.retransmit_at.is_none() {
            self.retransmit_at = Some(now + self.rto);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ring::Recipient;
    use crate::wire::Name;

    const ME: Token = Token(7);
    const OTHER: Token = Token(8);
    const RTO: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_millis(800);

    fn push<const R: usize>(ring: &mut Ring<R>, to: Recipient) -> Option<Evicted> {
        ring.push(OTHER, Name::new("other").unwrap(), to, None, "x").1
    }

    fn drain<const R: usize>(
        cursor: &mut Outbound,
        ring: &Ring<R>,
        window: u32,
    ) -> std::vec::Vec<Next> {
        core::iter::from_fn(|| cursor.next(ring, ME, window, Instant::ZERO)).collect()
    }

    #[test]
    fn numbers_only_entries_for_me_and_respects_the_window() {
        let mut ring = Ring::<16>::new();
        push(&mut ring, Recipient::Room); // 1: for me
        push(&mut ring, Recipient::User(Token(99))); // 2: for someone else
        push(&mut ring, Recipient::User(ME)); // 3: for me
        push(&mut ring, Recipient::Room); // 4: for me
        let mut cursor = Outbound::new(0, RTO);
        assert_eq!(
            drain(&mut cursor, &ring, 2),
            [Next::Deliver { seq: 1, room_seq: 1 }, Next::Deliver { seq: 2, room_seq: 3 }]
        );
        assert!(cursor.on_ack(1, &ring, ME, Instant::ZERO, RTO));
        assert_eq!(drain(&mut cursor, &ring, 2), [Next::Deliver { seq: 3, room_seq: 4 }]);
        assert!(
            !cursor.on_ack(5, &ring, ME, Instant::ZERO, RTO),
            "acks beyond what was sent are ignored"
        );
        assert!(cursor.on_ack(3, &ring, ME, Instant::ZERO, RTO));
        assert_eq!(cursor.in_flight(), 0);
        assert_eq!(cursor.retransmit_at(), None);
    }

    #[test]
    fn timeout_rewinds_to_the_first_unacknowledged_with_backoff() {
        let mut ring = Ring::<16>::new();
        for _ in 0..3 {
            push(&mut ring, Recipient::Room);
        }
        let mut cursor = Outbound::new(0, RTO);
        assert_eq!(drain(&mut cursor, &ring, 8).len(), 3);
        cursor.on_ack(1, &ring, ME, Instant::ZERO, RTO);
        let at = cursor.retransmit_at().unwrap();
        assert!(!cursor.on_timeout(Instant::from_millis(at.as_millis() - 1), MAX));
        assert!(cursor.on_timeout(at, MAX));
        assert_eq!(
            drain(&mut cursor, &ring, 8),
            [Next::Deliver { seq: 2, room_seq: 2 }, Next::Deliver { seq: 3, room_seq: 3 }]
        );
        // Doubled: the next deadline is 200 ms away.
        let now = Instant::ZERO;
        cursor.on_timeout(cursor.retransmit_at().unwrap(), MAX);
        cursor.next(&ring, ME, 8, now);
        assert_eq!(cursor.retransmit_at(), Some(now + Duration::from_millis(400)));
    }

    #[test]
    fn eviction_of_unacknowledged_entries_becomes_a_missed_notice() {
        let mut ring = Ring::<2>::new();
        let mut cursor = Outbound::new(0, RTO);
        push(&mut ring, Recipient::Room); // 1
        assert_eq!(drain(&mut cursor, &ring, 8), [Next::Deliver { seq: 1, room_seq: 1 }]);
        push(&mut ring, Recipient::Room); // 2
        for _ in 0..2 {
            // 3 evicts 1 (sent, unacked), 4 evicts 2 (never sent)
            if let Some(evicted) = push(&mut ring, Recipient::Room) {
                cursor.on_evict(&evicted, ME, Instant::ZERO);
            }
        }
        assert_eq!(
            drain(&mut cursor, &ring, 8),
            [
                Next::Missed { seq: 2 },
                Next::Deliver { seq: 3, room_seq: 3 },
                Next::Deliver { seq: 4, room_seq: 4 }
            ]
        );
        // The recipient had in fact received 1 before it was evicted; it acknowledges the
        // missed notice (2), then the rest.
        assert!(cursor.on_ack(2, &ring, ME, Instant::ZERO, RTO));
        assert!(cursor.on_ack(4, &ring, ME, Instant::ZERO, RTO));
        assert_eq!(cursor.in_flight(), 0);
        assert_eq!(cursor.retransmit_at(), None);
    }
}
