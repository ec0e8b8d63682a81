//! A sender's retransmission state, the same for the server's deliveries and the client's
//! messages: the round-trip estimate, the timer, the one frame timed for a sample (Karn's
//! rule: a frame sent twice gives no sample, since an acknowledgement does not say which
//! copy it saw), and the duplicate acknowledgements that trigger a fast retransmit.

use crate::rtt::{RttBounds, RttEstimator};
use crate::seq::after;
use crate::time::{Instant, MaybeInstant};

/// Acknowledgements that accept nothing new, in a row, before a fast retransmit.
const DUPLICATE_ACKS: u8 = 3;

/// In `counts`: the duplicate acknowledgements in a row (the low four
/// bits), or [`FAST_RESENT`] there; the timeouts (the high four bits).
const DUPLICATES: u8 = 0x0F;
/// A fast retransmit happened since the last progress: no second one until then.
const FAST_RESENT: u8 = DUPLICATES;
/// One timeout, in `counts`.
const TIMEOUT: u8 = 0x10;
/// Two timeouts: all [`Retransmission::silent`] asks, so the count stops there.
const TWO_TIMEOUTS: u8 = 2 * TIMEOUT;

/// The timer and what decides when it fires.
#[derive(Debug, Clone)]
pub(crate) struct Retransmission {
    rtt: RttEstimator,
    /// When the oldest unacknowledged frame goes again, if `armed`. Not a `MaybeInstant`:
    /// every timer poll reads it, and unpacking that there cost the QEMU client 170 B of
    /// code; not an `Option` either, whose tag took four bytes where this flag takes one
    /// (next to the other small fields).
    at: Instant,
    /// Whether the timer runs.
    armed: bool,
    /// When the frame timed for a round-trip sample (`probe_seq`, sent once) went out.
    probe_at: MaybeInstant,
    probe_seq: u32,
    /// Since the last progress, in one byte (a user slot's size counts them): the
    /// acknowledgements in a row that accepted nothing new while frames were out (0 to 2),
    /// or [`FAST_RESENT`] once they triggered a fast retransmit (bits 0-3); the timeouts,
    /// up to two (bits 4-7).
    counts: u8,
}

impl Retransmission {
    /// Stopped, with the timeouts of `rtt`.
    pub(crate) const fn new(rtt: RttEstimator) -> Self {
        Retransmission {
            rtt,
            at: Instant::ZERO,
            armed: false,
            probe_at: MaybeInstant::NONE,
            probe_seq: 0,
            counts: 0,
        }
    }

    /// When the oldest unacknowledged frame goes again, if the timer runs.
    pub(crate) const fn at(&self) -> Option<Instant> {
        if self.armed { Some(self.at) } else { None }
    }

    /// Frame `seq` went out, for the first time if `first` (then it may be timed).
    /// Starts the timer if it is stopped.
    pub(crate) fn on_send(&mut self, seq: u32, first: bool, now: Instant) {
        if first && self.probe_at.is_none() {
            self.probe_at = MaybeInstant::some(now);
            self.probe_seq = seq;
        }
        self.arm(now);
    }

    /// Whether the timer fired twice since the last progress: the receiver went silent
    /// (once may be a receiver slower than its round trip, for a moment).
    pub(crate) fn silent(&self) -> bool {
        self.counts >= TWO_TIMEOUTS
    }

    /// Starts the timer if it is stopped.
    pub(crate) fn arm(&mut self, now: Instant) {
        if !self.armed {
            self.at = now + self.rtt.rto();
            self.armed = true;
        }
    }

    /// Restarts the timer from `now` if anything is `outstanding`, stops it otherwise.
    pub(crate) fn restart(&mut self, now: Instant, outstanding: bool) {
        self.at = now + self.rtt.rto();
        self.armed = outstanding;
    }

    /// Holds the next retransmission back until `later` at least.
    pub(crate) fn defer(&mut self, later: Instant) {
        self.at = if self.armed { self.at.max(later) } else { later };
        self.armed = true;
    }

    /// Stops the timer.
    pub(crate) fn stop(&mut self) {
        self.armed = false;
    }

    /// The receiver accepted everything up to `seq`: a round-trip sample if the timed
    /// frame is among it, the back-off ends, and fast retransmit is armed again.
    pub(crate) fn on_progress(&mut self, seq: u32, now: Instant, bounds: &RttBounds) {
        if let Some(sent_at) = self.probe_at.get()
            && !after(self.probe_seq, seq)
        {
            self.rtt.sample(now.saturating_since(sent_at), bounds);
            self.probe_at = MaybeInstant::NONE;
        }
        self.rtt.on_progress(bounds);
        self.counts = 0;
    }

    /// An acknowledgement accepted nothing new while frames were out. Returns whether
    /// that makes a fast retransmit due (at most one between two progresses).
    pub(crate) fn on_duplicate(&mut self) -> bool {
        let duplicates = self.counts & DUPLICATES;
        if duplicates == FAST_RESENT {
            return false;
        }
        if duplicates + 1 < DUPLICATE_ACKS {
            self.counts += 1;
            return false;
        }
        self.counts |= FAST_RESENT;
        true
    }

    /// If the timer is due at `now` it fires: the timeout backs off (doubles) for the
    /// resend it triggers, and true is returned.
    pub(crate) fn fire_if_due(&mut self, now: Instant, bounds: &RttBounds) -> bool {
        if self.armed && self.at <= now {
            self.rtt.back_off(bounds);
            if self.counts < TWO_TIMEOUTS {
                self.counts += TIMEOUT;
            }
            return true;
        }
        false
    }

    /// Everything unacknowledged goes again: the timer stops until the first resend, and
    /// nothing sent so far can be timed.
    pub(crate) fn on_resend(&mut self) {
        self.armed = false;
        self.probe_at = MaybeInstant::NONE;
        if self.counts & DUPLICATES != FAST_RESENT {
            self.counts &= !DUPLICATES;
        }
    }

    /// A new session: nothing is out, nothing timed, the estimate kept.
    pub(crate) fn reset(&mut self) {
        self.on_resend();
        self.counts &= !DUPLICATES;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    fn bounds() -> RttBounds {
        let ms = Duration::from_millis;
        RttBounds::new(ms(100), ms(20), ms(800))
    }

    #[test]
    fn one_fast_retransmit_and_two_timeouts_between_progresses() {
        let bounds = bounds();
        let mut r = Retransmission::new(RttEstimator::new(&bounds));
        let now = Instant::ZERO;
        r.on_send(1, true, now);
        assert!(!r.on_duplicate() && !r.on_duplicate() && r.on_duplicate());
        r.on_resend();
        assert!((0..5).all(|_| !r.on_duplicate()), "one fast retransmit until progress");
        r.arm(now);
        let at = r.at().unwrap_or(now);
        assert!(r.fire_if_due(at, &bounds) && !r.silent());
        r.arm(at);
        assert!(r.fire_if_due(r.at().unwrap_or(at), &bounds) && r.silent());
        for _ in 0..20 {
            assert!(r.fire_if_due(r.at().unwrap_or(at), &bounds) && r.silent());
        }
        assert!(!r.on_duplicate(), "timeouts leave the fast retransmit spent");
        r.on_progress(1, now, &bounds);
        assert!(!r.silent());
        assert!(!r.on_duplicate() && !r.on_duplicate() && r.on_duplicate());
        r.reset();
        assert!(!r.on_duplicate() && !r.on_duplicate() && r.on_duplicate(), "a new session");
    }
}
