//! One recipient's delivery cursor over the message ring: what it has been sent, what it
//! acknowledged, what to resend, and what it lost.
//!
//! Each recipient numbers its deliveries 1, 2, 3, ... (the `seq` of `deliver`), counting
//! only the ring entries meant for it. Positions are kept as pairs (delivery number, room
//! sequence number):
//!
//! - *base*: everything up to here is done — acknowledged in order, or evicted;
//! - *sent*: the frontier, everything up to here was sent at least once;
//! - a *resend pass*, while one runs: how far it has got between base and sent.
//!
//! Between base and sent, a bitmap remembers which deliveries the recipient holds out of
//! order (its selective acknowledgements). A retransmission timeout, or three
//! acknowledgements in a row that accept nothing new (fast retransmit), starts a resend
//! pass that sends again only what the recipient neither acknowledged nor holds (selective
//! repeat; a recipient that holds nothing gets everything again, go-back-N). The timeout
//! follows the measured round trip and doubles on each expiry.
//!
//! When the ring evicts an entry the recipient has not acknowledged, base moves past it
//! anyway; if the recipient's own acknowledgements then lag base, it is sent a `missed`
//! frame naming base, and counts what it lost itself.

use crate::retransmit::Retransmission;
use crate::rtt::{RttBounds, RttEstimator};
use crate::seq::after;
use crate::server::ring::{Evicted, Member, MessageSlot, Ring};
use crate::storage::Storage;
use crate::time::Instant;

/// The most deliveries a cursor keeps unacknowledged: the width of its bitmap.
pub const MAX_WINDOW: u32 = 64;

/// The next frame a cursor wants sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// `deliver` the ring entry `room_seq` as delivery number `seq`.
    Deliver { seq: u32, room_seq: u64 },
    /// `missed`: every delivery up to `seq` not yet accepted is lost.
    Missed { seq: u32 },
    /// `missed` for delivery number `seq`, a message too long for the recipient's frames
    /// (the join's `max frame`): told as lost, never sent.
    TooLong { seq: u32 },
}

/// A recipient's delivery cursor.
#[derive(Debug, Clone)]
pub(crate) struct DeliveryCursor {
    /// The highest delivery number the recipient acknowledged in order.
    confirmed: u32,
    base_seq: u32,
    base_room: u64,
    sent_seq: u32,
    scan_room: u64,
    /// Bit `k`: delivery `base_seq + 1 + k` is held by the recipient out of order.
    held: u64,
    /// A resend pass: the last (delivery number, room sequence number) it examined.
    resend: Option<(u32, u64)>,
    /// A `missed` for the current base was sent since the last loss event.
    missed_sent: bool,
    retransmission: Retransmission,
}

impl DeliveryCursor {
    /// A cursor that starts after room sequence number `start_room`, its first delivery
    /// numbered `first_seq`.
    pub(crate) fn new(start_room: u64, first_seq: u32, rtt: RttEstimator) -> Self {
        let before = first_seq.wrapping_sub(1);
        DeliveryCursor {
            confirmed: before,
            base_seq: before,
            base_room: start_room,
            sent_seq: before,
            scan_room: start_room,
            held: 0,
            resend: None,
            missed_sent: false,
            retransmission: Retransmission::new(rtt),
        }
    }

    /// Where everything is done (acknowledged in order, or evicted): the delivery number
    /// and its room sequence number. What a re-joining client resumes from.
    pub(crate) const fn done(&self) -> (u32, u64) {
        (self.base_seq, self.base_room)
    }

    /// When the oldest unacknowledged frame is resent, if any is outstanding.
    pub(crate) const fn retransmit_at(&self) -> Option<Instant> {
        self.retransmission.at()
    }

    /// Deliveries sent and not yet acknowledged in order.
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

    /// Whether the recipient holds delivery `seq` out of order.
    fn is_held(&self, seq: u32) -> bool {
        let k = seq.wrapping_sub(self.base_seq).wrapping_sub(1);
        k < 64 && self.held & (1 << k) != 0
    }

    /// The next frame to send, if any: a pending `missed` first, then what a resend pass
    /// has to resend, then the next ring entry for `me`, within `window` unacknowledged
    /// deliveries and `max_deliver` bytes of `deliver` frame.
    pub(crate) fn next<M: Storage<MessageSlot>, B: Storage<u8>>(
        &mut self,
        ring: &Ring<M, B>,
        me: Member,
        (window, max_deliver): (u32, usize),
        now: Instant,
    ) -> Option<Next> {
        if self.missed_due() && !self.missed_sent {
            self.missed_sent = true;
            self.retransmission.arm(now);
            return Some(Next::Missed { seq: self.base_seq });
        }
        if let Some(next) = self.next_resend(ring, me, now) {
            return Some(next);
        }
        if self.in_flight() >= window.min(MAX_WINDOW) {
            return None;
        }
        while self.scan_room < ring.newest() {
            let room_seq = self.scan_room + 1;
            let entry = ring.get(room_seq);
            if let Some(entry) = entry
                && entry.is_for(me)
                && entry.deliver_len() > max_deliver
            {
                return self.skip_too_long(room_seq, now);
            }
            self.scan_room = room_seq;
            let Some(entry) = entry else { continue };
            if entry.is_for(me) {
                self.sent_seq = self.sent_seq.wrapping_add(1);
                self.retransmission.on_send(self.sent_seq, self.resend.is_none(), now);
                return Some(Next::Deliver { seq: self.sent_seq, room_seq });
            }
            if self.in_flight() == 0 {
                // Nothing outstanding before it: an entry for others is done at once.
                self.base_room = room_seq;
            }
        }
        None
    }

    /// Ring entry `room_seq`, for me, is too long for my frames. Once everything before
    /// it is acknowledged (a `missed` names every number up to its own), its delivery
    /// number is used up and a `missed` naming it goes: the recipient counts it lost. Until
    /// then the scan waits before it.
    fn skip_too_long(&mut self, room_seq: u64, now: Instant) -> Option<Next> {
        if self.in_flight() > 0 {
            return None;
        }
        self.scan_room = room_seq;
        self.sent_seq = self.sent_seq.wrapping_add(1);
        self.base_seq = self.sent_seq;
        self.base_room = room_seq;
        self.held = 0;
        self.missed_sent = true;
        self.retransmission.arm(now);
        Some(Next::TooLong { seq: self.base_seq })
    }

    /// The next delivery a running resend pass must send again.
    fn next_resend<M: Storage<MessageSlot>, B: Storage<u8>>(
        &mut self,
        ring: &Ring<M, B>,
        me: Member,
        now: Instant,
    ) -> Option<Next> {
        let (mut seq, mut room_seq) = self.resend?;
        while after(self.sent_seq, seq) && room_seq < self.scan_room {
            room_seq += 1;
            if !ring.get(room_seq).is_some_and(|entry| entry.is_for(me)) {
                continue;
            }
            seq = seq.wrapping_add(1);
            if !self.is_held(seq) {
                self.resend = Some((seq, room_seq));
                self.retransmission.arm(now);
                return Some(Next::Deliver { seq, room_seq });
            }
        }
        self.resend = None;
        None
    }

    /// The recipient acknowledged every delivery up to `seq` in order, and holds those
    /// `sack` names after it. Returns whether there may be something new to send.
    pub(crate) fn on_ack<M: Storage<MessageSlot>, B: Storage<u8>>(
        &mut self,
        seq: u32,
        sack: u32,
        ring: &Ring<M, B>,
        me: Member,
        now: Instant,
        bounds: &RttBounds,
    ) -> bool {
        if after(seq, self.sent_seq) {
            return false; // claims more than was sent
        }
        if !after(seq, self.confirmed) {
            if seq != self.confirmed || self.in_flight() == 0 {
                return false; // an old acknowledgement, overtaken
            }
            self.hold(seq, sack);
            if !self.retransmission.on_duplicate() {
                return false;
            }
            // The recipient keeps getting deliveries past a gap: fill it now.
            self.start_resend();
            return true;
        }
        self.confirmed = seq;
        self.retransmission.on_progress(seq, now, bounds);
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
            let moved = counted.wrapping_sub(self.base_seq);
            self.held = if moved >= 64 { 0 } else { self.held >> moved };
            self.base_seq = counted;
            self.base_room = room_seq;
            if let Some((resend_seq, _)) = self.resend
                && !after(resend_seq, counted)
            {
                // The pass had not got this far: it goes on from the new base.
                self.resend = Some((counted, room_seq));
            }
        }
        self.hold(seq, sack);
        self.retransmission.restart(now, self.outstanding());
        true
    }

    /// Records the deliveries `sack` says the recipient holds after `seq`.
    fn hold(&mut self, seq: u32, sack: u32) {
        for i in 0..32u32 {
            if sack & (1 << i) == 0 {
                continue;
            }
            let held = seq.wrapping_add(2).wrapping_add(i);
            let k = held.wrapping_sub(self.base_seq).wrapping_sub(1);
            if k < 64 && !after(held, self.sent_seq) {
                self.held |= 1 << k;
            }
        }
    }

    /// If the retransmission time has come, starts a resend pass and doubles the
    /// timeout. Returns whether it did.
    pub(crate) fn on_timeout(&mut self, now: Instant, bounds: &RttBounds) -> bool {
        if !self.retransmission.fire_if_due(now, bounds) {
            return false;
        }
        self.start_resend();
        true
    }

    /// Resends everything unacknowledged now (the recipient moved to a new address).
    pub(crate) fn rewind_now(&mut self) {
        self.held = 0;
        self.start_resend();
    }

    fn start_resend(&mut self) {
        self.resend = Some((self.base_seq, self.base_room));
        self.missed_sent = false;
        self.retransmission.on_resend();
    }

    /// Whether evicting room message `seq` (which is for this recipient) would take
    /// something the recipient still needs while it keeps up: it has not finished with
    /// it, and its deliveries were not left unanswered through two timeouts since its last
    /// progress. A recipient that went silent never holds the room up for long.
    pub(crate) fn holds_up(&self, seq: u64) -> bool {
        self.base_room < seq && !self.retransmission.silent()
    }

    /// The ring evicted an entry. If this cursor had not finished with it, base moves past
    /// it (consuming its delivery number if it was for `me`), so the entry counts as lost
    /// unless the recipient acknowledges it.
    /// Returns whether something is now outstanding (a `missed` may be due, a resend pass
    /// may have moved): the recipient must be looked at.
    pub(crate) fn on_evict(&mut self, evicted: &Evicted, me: Member, now: Instant) -> bool {
        if self.base_room >= evicted.seq {
            return false;
        }
        if evicted.is_for(me) {
            self.base_seq = self.base_seq.wrapping_add(1);
            self.held >>= 1;
        }
        self.base_room = evicted.seq;
        if self.scan_room < evicted.seq {
            // Never sent: skip it.
            self.scan_room = evicted.seq;
            self.sent_seq = self.base_seq;
        }
        if self.resend.is_some_and(|(_, room)| room < evicted.seq) {
            self.resend = Some((self.base_seq, self.base_room));
        }
        if self.outstanding() {
            self.retransmission.arm(now);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ring::Recipient;
    use crate::wire::Name;

    use crate::time::Duration;
    use crate::wire::limits::MAX_FRAME;

    use crate::name_policy::NameKey;
    use crate::server::ring::Member;
    use crate::wire::Token;

    const ME: Member = Member { token: Token(7), key: NameKey::PLACEHOLDER };

    fn bounds() -> RttBounds {
        RttBounds::new(
            Duration::from_millis(100),
            Duration::from_millis(20),
            Duration::from_millis(800),
        )
    }

    fn rtt() -> RttEstimator {
        RttEstimator::new(&bounds())
    }

    fn push<M: Storage<MessageSlot>, B: Storage<u8>>(
        ring: &mut Ring<M, B>,
        to: Recipient,
    ) -> Option<Evicted> {
        let mut gone = None;
        ring.push(Name::new("other").unwrap(), to, None, "x", |e| gone = Some(e));
        gone
    }

    fn drain<M: Storage<MessageSlot>, B: Storage<u8>>(
        cursor: &mut DeliveryCursor,
        ring: &Ring<M, B>,
        window: u32,
    ) -> std::vec::Vec<Next> {
        core::iter::from_fn(|| cursor.next(ring, ME, (window, MAX_FRAME), Instant::ZERO)).collect()
    }

    #[test]
    fn numbers_only_entries_for_me_and_respects_the_window() {
        let mut ring = Ring::<[MessageSlot; 16], [u8; 1024]>::new();
        push(&mut ring, Recipient::Room); // 1: for me
        push(&mut ring, Recipient::User(Token(99))); // 2: for someone else
        push(&mut ring, Recipient::User(ME.token)); // 3: for me
        push(&mut ring, Recipient::Room); // 4: for me
        let mut cursor = DeliveryCursor::new(0, 1, rtt());
        assert_eq!(
            drain(&mut cursor, &ring, 2),
            [Next::Deliver { seq: 1, room_seq: 1 }, Next::Deliver { seq: 2, room_seq: 3 }]
        );
        assert!(cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()));
        assert_eq!(drain(&mut cursor, &ring, 2), [Next::Deliver { seq: 3, room_seq: 4 }]);
        assert!(
            !cursor.on_ack(5, 0, &ring, ME, Instant::ZERO, &bounds()),
            "acks beyond what was sent are ignored"
        );
        assert!(cursor.on_ack(3, 0, &ring, ME, Instant::ZERO, &bounds()));
        assert_eq!(cursor.in_flight(), 0);
        assert_eq!(cursor.retransmit_at(), None);
    }

    #[test]
    fn timeout_rewinds_to_the_first_unacknowledged_with_backoff() {
        let mut ring = Ring::<[MessageSlot; 16], [u8; 1024]>::new();
        for _ in 0..3 {
            push(&mut ring, Recipient::Room);
        }
        let mut cursor = DeliveryCursor::new(0, 1, rtt());
        assert_eq!(drain(&mut cursor, &ring, 8).len(), 3);
        // A 50 ms round trip: srtt 50, rttvar 25, so a 150 ms timeout.
        let acked = Instant::from_millis(50);
        cursor.on_ack(1, 0, &ring, ME, acked, &bounds());
        let at = cursor.retransmit_at().unwrap();
        assert_eq!(at, acked + Duration::from_millis(150));
        assert!(!cursor.on_timeout(Instant::from_millis(u64::from(at.as_millis()) - 1), &bounds()));
        assert!(cursor.on_timeout(at, &bounds()));
        assert_eq!(
            drain(&mut cursor, &ring, 8),
            [Next::Deliver { seq: 2, room_seq: 2 }, Next::Deliver { seq: 3, room_seq: 3 }]
        );
        // Doubled to 300 ms, then 600, then capped at 800.
        let now = Instant::ZERO;
        assert!(cursor.on_timeout(cursor.retransmit_at().unwrap(), &bounds()));
        cursor.next(&ring, ME, (8, MAX_FRAME), now);
        assert_eq!(cursor.retransmit_at(), Some(now + Duration::from_millis(600)));
        assert!(cursor.on_timeout(cursor.retransmit_at().unwrap(), &bounds()));
        cursor.next(&ring, ME, (8, MAX_FRAME), now);
        assert_eq!(cursor.retransmit_at(), Some(now + Duration::from_millis(800)));
    }

    #[test]
    fn an_ack_from_before_a_rewind_still_counts() {
        let mut ring = Ring::<[MessageSlot; 16], [u8; 1024]>::new();
        for _ in 0..4 {
            push(&mut ring, Recipient::Room);
        }
        let mut cursor = DeliveryCursor::new(0, 1, rtt());
        assert_eq!(drain(&mut cursor, &ring, 8).len(), 4);
        cursor.on_timeout(cursor.retransmit_at().unwrap(), &bounds());
        // The acknowledgement of the first pass arrives after the rewind.
        assert!(cursor.on_ack(3, 0, &ring, ME, Instant::ZERO, &bounds()));
        assert_eq!(drain(&mut cursor, &ring, 8), [Next::Deliver { seq: 4, room_seq: 4 }]);
        assert!(cursor.on_ack(4, 0, &ring, ME, Instant::ZERO, &bounds()));
        assert_eq!(cursor.in_flight(), 0);
    }

    #[test]
    fn three_duplicate_acks_resend_from_the_gap_once() {
        let mut ring = Ring::<[MessageSlot; 16], [u8; 1024]>::new();
        for _ in 0..6 {
            push(&mut ring, Recipient::Room);
        }
        let mut cursor = DeliveryCursor::new(0, 1, rtt());
        assert_eq!(drain(&mut cursor, &ring, 8).len(), 6);
        // 1 arrived, 2 was lost, 3..6 arrived: the recipient acks 1 four times.
        assert!(cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()));
        assert!(!cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()));
        assert!(!cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()));
        assert!(
            cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()),
            "the third duplicate resends"
        );
        assert_eq!(
            drain(&mut cursor, &ring, 8).first(),
            Some(&Next::Deliver { seq: 2, room_seq: 2 })
        );
        for _ in 0..5 {
            assert!(
                !cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()),
                "no second fast resend before progress"
            );
        }
        assert!(cursor.on_ack(6, 0, &ring, ME, Instant::ZERO, &bounds()));
        assert_eq!(cursor.in_flight(), 0);
    }

    #[test]
    fn the_timeout_follows_the_measured_round_trip() {
        let mut ring = Ring::<[MessageSlot; 16], [u8; 1024]>::new();
        push(&mut ring, Recipient::Room);
        let mut cursor = DeliveryCursor::new(0, 1, rtt());
        let t0 = Instant::from_millis(1000);
        assert!(cursor.next(&ring, ME, (8, MAX_FRAME), t0).is_some());
        assert_eq!(cursor.retransmit_at(), Some(t0 + Duration::from_millis(100)));
        cursor.on_ack(1, 0, &ring, ME, t0 + Duration::from_millis(10), &bounds());
        push(&mut ring, Recipient::Room);
        let t1 = Instant::from_millis(2000);
        assert!(cursor.next(&ring, ME, (8, MAX_FRAME), t1).is_some());
        // srtt 10 ms, rttvar 5 ms: 30 ms.
        assert_eq!(cursor.retransmit_at(), Some(t1 + Duration::from_millis(30)));
    }

    #[test]
    fn eviction_of_unacknowledged_entries_becomes_a_missed_notice() {
        let mut ring = Ring::<[MessageSlot; 2], [u8; 1024]>::new();
        let mut cursor = DeliveryCursor::new(0, 1, rtt());
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
        assert!(cursor.on_ack(2, 0, &ring, ME, Instant::ZERO, &bounds()));
        assert!(cursor.on_ack(4, 0, &ring, ME, Instant::ZERO, &bounds()));
        assert_eq!(cursor.in_flight(), 0);
        assert_eq!(cursor.retransmit_at(), None);
    }

    #[test]
    fn an_entry_too_long_for_the_recipient_waits_for_what_went_before_then_is_told_missed() {
        let mut ring = Ring::<[MessageSlot; 16], [u8; 1024]>::new();
        let long = "y".repeat(300);
        push(&mut ring, Recipient::Room); // 1
        ring.push(Name::new("other").unwrap(), Recipient::Room, None, &long, |_| {}); // 2
        push(&mut ring, Recipient::Room); // 3
        let entry = ring.get(2).unwrap();
        let deliver = crate::wire::Message::Deliver {
            token: ME.token,
            seq: 2,
            direct: false,
            history: false,
            from: entry.from,
            text: entry.text,
        };
        assert_eq!(entry.deliver_len(), deliver.buffer_len(), "the length is the frame's");
        let mut cursor = DeliveryCursor::new(0, 1, rtt());
        let limits = (8, 256);
        assert_eq!(
            cursor.next(&ring, ME, limits, Instant::ZERO),
            Some(Next::Deliver { seq: 1, room_seq: 1 })
        );
        assert_eq!(cursor.next(&ring, ME, limits, Instant::ZERO), None, "1 is still out");
        assert!(cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()));
        assert_eq!(cursor.next(&ring, ME, limits, Instant::ZERO), Some(Next::TooLong { seq: 2 }));
        assert_eq!(
            cursor.next(&ring, ME, limits, Instant::ZERO),
            Some(Next::Deliver { seq: 3, room_seq: 3 })
        );
        // The notice is resent like any `missed` until acknowledged.
        assert!(cursor.on_timeout(cursor.retransmit_at().unwrap(), &bounds()));
        assert_eq!(cursor.next(&ring, ME, limits, Instant::ZERO), Some(Next::Missed { seq: 2 }));
        assert!(cursor.on_ack(3, 0, &ring, ME, Instant::ZERO, &bounds()));
        assert_eq!(cursor.in_flight(), 0);
        assert_eq!(cursor.retransmit_at(), None);
        // A recipient with the protocol's frames gets it.
        let mut big = DeliveryCursor::new(0, 1, rtt());
        let all = drain(&mut big, &ring, 8);
        assert_eq!(all.get(1), Some(&Next::Deliver { seq: 2, room_seq: 2 }));
    }
}
