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
//! Positions in the ring are kept as the low 32 bits of room sequence numbers
//! ([`ring::low`]): a cursor never lags the ring's oldest message (eviction moves it on),
//! so they compare as serial numbers and [`Ring::full`] restores the rest.
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
use crate::server::ring::{self, Evicted, Member, MessageSlot, Ring};
use crate::storage::Storage;
use crate::time::Instant;

/// The most deliveries a cursor keeps unacknowledged: the width of its bitmap.
pub const MAX_WINDOW: u32 = 64;

/// The next frame a cursor wants sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// `deliver` the ring entry `room_seq` as delivery number `seq`; `history` if it was
    /// said before the recipient joined.
    Deliver { seq: u32, room_seq: u64, history: bool },
    /// `missed`: every delivery up to `seq` not yet accepted is lost; `too_long` when
    /// `seq` is a message too long for the recipient's frames (the join's `max frame`),
    /// told as lost, never sent.
    Missed { seq: u32, too_long: bool },
}

/// A recipient's delivery cursor.
#[derive(Debug, Clone)]
pub(crate) struct DeliveryCursor {
    /// The highest delivery number the recipient acknowledged in order.
    confirmed: u32,
    base_seq: u32,
    base_room: u32,
    scan_room: u32,
    /// Ring entries up to here were said before the recipient joined: history. Moved on
    /// past what the ring evicts, so it stays among the positions a cursor compares.
    history_until: u32,
    /// A resend pass, while `resending`: the room position it examined last, and that
    /// entry's delivery number, `resend_ahead` past base (apart, not an `Option` of a
    /// pair, whose tag and padding took 8 bytes).
    resend_room: u32,
    /// Bit `k`: delivery `base_seq + 1 + k` is held by the recipient out of order.
    held: u64,
    /// The frontier: deliveries sent past base (at most [`MAX_WINDOW`], so a byte holds
    /// the count where a delivery number took four).
    in_flight: u8,
    /// How far past base the resend pass's delivery number is (at most `in_flight`).
    resend_ahead: u8,
    resending: bool,
    /// A `missed` for the current base was sent since the last loss event.
    missed_sent: bool,
    retransmission: Retransmission,
}

impl DeliveryCursor {
    /// A cursor that starts after room sequence number `start_room` (not before the ring's
    /// oldest message's predecessor), its first delivery numbered `first_seq`; ring entries
    /// up to `history_until` are history.
    pub(crate) fn new(
        start_room: u64,
        history_until: u64,
        first_seq: u32,
        rtt: RttEstimator,
    ) -> Self {
        let before = first_seq.wrapping_sub(1);
        let start = ring::low(start_room);
        DeliveryCursor {
            confirmed: before,
            base_seq: before,
            base_room: start,
            scan_room: start,
            // Nothing up to the start is delivered: a mark before it may as well be there.
            history_until: ring::low(history_until.max(start_room)),
            resend_room: start,
            held: 0,
            in_flight: 0,
            resend_ahead: 0,
            resending: false,
            missed_sent: false,
            retransmission: Retransmission::new(rtt),
        }
    }

    /// Where everything is done (acknowledged in order, or evicted): the delivery number
    /// and its room sequence number. What a re-joining client resumes from.
    pub(crate) fn done<M: Storage<MessageSlot>, B: Storage<u8>>(
        &self,
        ring: &Ring<M, B>,
    ) -> (u32, u64) {
        (self.base_seq, ring.full(self.base_room))
    }

    /// When the oldest unacknowledged frame is resent, if any is outstanding.
    pub(crate) const fn retransmit_at(&self) -> Option<Instant> {
        self.retransmission.at()
    }

    /// Deliveries sent and not yet acknowledged in order.
    pub(crate) const fn in_flight(&self) -> u32 {
        self.in_flight as u32
    }

    /// The last delivery number sent (the frontier).
    const fn sent_seq(&self) -> u32 {
        self.base_seq.wrapping_add(self.in_flight as u32)
    }

    /// The resend pass's last delivery number.
    const fn resend_seq(&self) -> u32 {
        self.base_seq.wrapping_add(self.resend_ahead as u32)
    }

    /// Moves base to delivery `seq`, at room position `room` (never past the frontier),
    /// keeping the frontier's and the resend pass's delivery numbers where they are (a
    /// pass left behind restarts from base: its caller sets it).
    fn move_base(&mut self, seq: u32, room: u32) {
        let (sent, resend) = (self.sent_seq(), self.resend_seq());
        (self.base_seq, self.base_room) = (seq, room);
        self.in_flight = ahead(sent, seq);
        self.resend_ahead = ahead(resend, seq);
    }

    fn missed_due(&self) -> bool {
        after(self.base_seq, self.confirmed)
    }

    /// Whether anything sent still waits for its acknowledgement.
    fn outstanding(&self) -> bool {
        self.in_flight() > 0 || self.missed_due()
    }

    /// The frame that delivers ring entry `room` (its full number `room_seq`) as `seq`.
    fn deliver(&self, seq: u32, room: u32, room_seq: u64) -> Next {
        Next::Deliver { seq, room_seq, history: !after(room, self.history_until) }
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
            return Some(Next::Missed { seq: self.base_seq, too_long: false });
        }
        if let Some(next) = self.next_resend(ring, me, now) {
            return Some(next);
        }
        if self.in_flight() >= window.min(MAX_WINDOW) {
            return None;
        }
        while after(ring::low(ring.newest()), self.scan_room) {
            let room = self.scan_room.wrapping_add(1);
            let room_seq = ring.full(room);
            let entry = ring.get(room_seq);
            if let Some(entry) = entry
                && entry.is_for(me)
                && entry.deliver_len() > max_deliver
            {
                return self.skip_too_long(room, now);
            }
            self.scan_room = room;
            let Some(entry) = entry else { continue };
            if entry.is_for(me) {
                self.in_flight = self.in_flight.wrapping_add(1);
                let seq = self.sent_seq();
                self.retransmission.on_send(seq, !self.resending, now);
                return Some(self.deliver(seq, room, room_seq));
            }
            if self.in_flight() == 0 {
                // Nothing outstanding before it: an entry for others is done at once.
                self.base_room = room;
            }
        }
        None
    }

    /// Ring entry `room_seq`, for me, is too long for my frames. Once everything before
    /// it is acknowledged (a `missed` names every number up to its own), its delivery
    /// number is used up and a `missed` naming it goes: the recipient counts it lost. Until
    /// then the scan waits before it.
    fn skip_too_long(&mut self, room: u32, now: Instant) -> Option<Next> {
        if self.in_flight() > 0 {
            return None;
        }
        // Nothing is out, so nothing is held or left to resend.
        self.scan_room = room;
        (self.base_seq, self.base_room) = (self.base_seq.wrapping_add(1), room);
        (self.held, self.resend_ahead, self.resending) = (0, 0, false);
        self.missed_sent = true;
        self.retransmission.arm(now);
        Some(Next::Missed { seq: self.base_seq, too_long: true })
    }

    /// The next delivery a running resend pass must send again.
    fn next_resend<M: Storage<MessageSlot>, B: Storage<u8>>(
        &mut self,
        ring: &Ring<M, B>,
        me: Member,
        now: Instant,
    ) -> Option<Next> {
        if !self.resending {
            return None;
        }
        let (mut seq, mut room) = (self.resend_seq(), self.resend_room);
        let sent = self.sent_seq();
        while after(sent, seq) && after(self.scan_room, room) {
            room = room.wrapping_add(1);
            let room_seq = ring.full(room);
            if !ring.get(room_seq).is_some_and(|entry| entry.is_for(me)) {
                continue;
            }
            seq = seq.wrapping_add(1);
            if !self.is_held(seq) {
                (self.resend_ahead, self.resend_room) = (ahead(seq, self.base_seq), room);
                self.retransmission.arm(now);
                return Some(self.deliver(seq, room, room_seq));
            }
        }
        self.resending = false;
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
        if after(seq, self.sent_seq()) {
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
            let mut room = self.base_room;
            while after(self.scan_room, room) && counted != seq {
                room = room.wrapping_add(1);
                if ring.get(ring.full(room)).is_some_and(|entry| entry.is_for(me)) {
                    counted = counted.wrapping_add(1);
                }
            }
            let moved = counted.wrapping_sub(self.base_seq);
            self.held = if moved >= 64 { 0 } else { self.held >> moved };
            let overtaken = !after(self.resend_seq(), counted);
            self.move_base(counted, room);
            if self.resending && overtaken {
                // The pass had not got this far: it goes on from the new base.
                (self.resend_ahead, self.resend_room) = (0, room);
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
            if k < 64 && !after(held, self.sent_seq()) {
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
        (self.resend_ahead, self.resend_room) = (0, self.base_room);
        self.resending = true;
        self.missed_sent = false;
        self.retransmission.on_resend();
    }

    /// Whether evicting room message `seq` (which is for this recipient) would take
    /// something the recipient still needs while it keeps up: it has not finished with
    /// it, and its deliveries were not left unanswered through two timeouts since its last
    /// progress. A recipient that went silent never holds the room up for long.
    pub(crate) fn holds_up(&self, seq: u64) -> bool {
        after(ring::low(seq), self.base_room) && !self.retransmission.silent()
    }

    /// The ring evicted an entry. If this cursor had not finished with it, base moves past
    /// it (consuming its delivery number if it was for `me`), so the entry counts as lost
    /// unless the recipient acknowledges it.
    /// Returns whether something is now outstanding (a `missed` may be due, a resend pass
    /// may have moved): the recipient must be looked at.
    pub(crate) fn on_evict(&mut self, evicted: &Evicted, me: Member, now: Instant) -> bool {
        let gone = ring::low(evicted.seq);
        if after(gone, self.history_until) {
            // Nothing up to `gone` is delivered again: the mark keeps up with the ring.
            self.history_until = gone;
        }
        if !after(gone, self.base_room) {
            return false;
        }
        let mut base_seq = self.base_seq;
        if evicted.is_for(me) {
            base_seq = base_seq.wrapping_add(1);
            self.held >>= 1;
        }
        // One the scan passed was sent: the frontier stays where it is.
        self.move_base(base_seq, gone);
        if after(gone, self.scan_room) {
            // Never sent: skip it.
            self.scan_room = gone;
            self.in_flight = 0;
        }
        if self.resending && after(gone, self.resend_room) {
            (self.resend_ahead, self.resend_room) = (0, gone);
        }
        if self.outstanding() {
            self.retransmission.arm(now);
            return true;
        }
        false
    }
}

/// How far delivery number `seq` is past `base`, for one at most [`MAX_WINDOW`] past it;
/// 0 for one behind it.
fn ahead(seq: u32, base: u32) -> u8 {
    u8::try_from(seq.wrapping_sub(base)).unwrap_or(0)
}

#[cfg(test)]
mod tests;
