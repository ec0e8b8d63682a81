//! Deliveries in: each is handed to the application exactly once and in order; early
//! ones (after a gap) are held and selectively acknowledged, a `missed` notice skips what
//! the server lost, and acknowledgements are batched.

use crate::address::PeerAddress;
use crate::client::stats::tally;
use crate::client::{Client, ClientEvent};
use crate::seq::after;
use crate::time::{Duration, Instant};
use crate::wire::{Name, NameBuf, TextBuf, text_buf};

/// Deliveries accepted in order before an acknowledgement goes without waiting.
const ACK_EVERY: u8 = 8;

/// Event slots kept free for reports about our own messages: a new incoming message is
/// accepted only while more than this many slots are free (otherwise it is left
/// unacknowledged, and the server sends it again later).
const EVENT_RESERVE: usize = 2;

/// A delivery received: handed over at once if it is next in order, held if early.
#[derive(Debug, Clone)]
pub(super) struct Delivery {
    seq: u32,
    history: bool,
    from: NameBuf,
    text: TextBuf,
    direct: bool,
}

/// Where the client's inbox stands: what was handed over, what is held, what is owed an
/// acknowledgement.
#[derive(Debug, Clone)]
pub(super) struct Inbox<const EARLY: usize> {
    /// The last delivery number accepted in order.
    pub(super) delivered: u32,
    /// Early deliveries, at index `seq % EARLY`.
    held: [Option<Delivery>; EARLY],
    /// An acknowledgement goes with the next transmit.
    pub(super) ack_due: bool,
    /// Deliveries accepted in order since the last acknowledgement.
    unacked: u8,
    /// When the delayed acknowledgement is due.
    pub(super) ack_at: Option<Instant>,
}

impl<const EARLY: usize> Inbox<EARLY> {
    /// Empty, the next delivery expected after `delivered`.
    pub(super) const fn new(delivered: u32) -> Self {
        Inbox { delivered, held: [const { None }; EARLY], ack_due: false, unacked: 0, ack_at: None }
    }

    /// The acknowledgement goes now: its numbers, and the delay is over.
    pub(super) fn take_ack(&mut self) -> (u32, u32) {
        self.ack_due = false;
        self.unacked = 0;
        self.ack_at = None;
        (self.delivered, self.sack())
    }

    /// The delayed acknowledgement is due at `now`, if its time came.
    pub(super) fn on_timeout(&mut self, now: Instant) {
        if self.ack_at.is_some_and(|at| at <= now) {
            self.ack_due = true;
            self.ack_at = None;
        }
    }

    /// One more delivery accepted in order: the acknowledgement goes with every
    /// [`ACK_EVERY`]th, or after `delay`, whichever comes first — one datagram for several
    /// deliveries.
    fn acknowledge_later(&mut self, now: Instant, delay: Duration) {
        self.unacked = self.unacked.saturating_add(1);
        if self.unacked >= ACK_EVERY {
            self.ack_due = true;
        } else if self.ack_at.is_none() {
            self.ack_at = Some(now + delay);
        }
    }

    /// Keeps an early delivery, if it falls within the `EARLY` numbers after the gap.
    fn hold(&mut self, delivery: Delivery) {
        let ahead = delivery.seq.wrapping_sub(self.delivered).wrapping_sub(1);
        if usize::try_from(ahead).is_ok_and(|ahead| (1..=EARLY).contains(&ahead))
            && let Some(slot) = Self::slot(delivery.seq).and_then(|i| self.held.get_mut(i))
        {
            *slot = Some(delivery);
        }
    }

    fn is_held(&self, seq: u32) -> bool {
        Self::slot(seq)
            .and_then(|i| self.held.get(i))
            .is_some_and(|held| held.as_ref().is_some_and(|h| h.seq == seq))
    }

    /// The length of the held delivery `seq`'s text, if it is held.
    fn held_len(&self, seq: u32) -> Option<usize> {
        let held = self.held.get(Self::slot(seq)?)?.as_ref()?;
        (held.seq == seq).then_some(held.text.len())
    }

    fn take_held(&mut self, seq: u32) -> Option<Delivery> {
        let slot = self.held.get_mut(Self::slot(seq)?)?;
        if slot.as_ref().is_some_and(|h| h.seq == seq) { slot.take() } else { None }
    }

    fn slot(seq: u32) -> Option<usize> {
        usize::try_from(seq).ok()?.checked_rem(EARLY)
    }

    /// The selective acknowledgement: bit `i` for delivery `delivered + 2 + i`, held.
    fn sack(&self) -> u32 {
        (0..32u32)
            .filter(|i| self.is_held(self.delivered.wrapping_add(2).wrapping_add(*i)))
            .fold(0, |bits, i| bits | 1 << i)
    }
}

impl<
    const UNACKED: usize,
    const EVENTS: usize,
    const EARLY: usize,
    A: PeerAddress,
    const OUTBOX_BYTES: usize,
    const EVENT_BYTES: usize,
> Client<UNACKED, EVENTS, EARLY, A, OUTBOX_BYTES, EVENT_BYTES>
{
    /// A `deliver` frame: delivery `seq` of this session.
    pub(super) fn on_deliver(
        &mut self,
        now: Instant,
        seq: u32,
        direct: bool,
        history: bool,
        from: Name<'_>,
        text: &str,
    ) {
        if seq == self.inbox.delivered.wrapping_add(1) {
            if !self.event_room(1) || !self.text_room(text.len()) {
                // No room to hand it over: leave it unacknowledged; it comes again.
                tally(&mut self.stats.deferred);
                return;
            }
            let from = NameBuf::new(from);
            self.accept(seq, ClientEvent::Message { from, text: "", direct, history }, text);
            self.release_held();
            if self.inbox.sack() == 0 {
                // In order, nothing held: acknowledge with the next few, or soon.
                self.inbox.acknowledge_later(now, self.config.ack_delay);
                return;
            }
        } else if EARLY > 0
            && after(seq, self.inbox.delivered)
            && let Ok(text) = text_buf(text)
        {
            self.inbox.hold(Delivery { seq, history, from: NameBuf::new(from), text, direct });
        }
        // Early, duplicate, or a gap still open: say at once what we have, so the
        // server resends what is missing.
        self.inbox.ack_due = true;
    }

    /// A `missed` frame: every delivery up to `seq` not accepted yet is lost.
    pub(super) fn on_missed(&mut self, seq: u32) {
        if after(seq, self.inbox.delivered) {
            let span = seq.wrapping_sub(self.inbox.delivered);
            // Only the first EARLY + 1 numbers after the gap can be held: the work is
            // bounded by what the client holds, never by the number a peer sent.
            let reach = span.min(u32::try_from(EARLY).unwrap_or(u32::MAX).saturating_add(1));
            let (held, bytes) = (1..=reach)
                .filter_map(|i| self.inbox.held_len(self.inbox.delivered.wrapping_add(i)))
                // A text the arena could never hold takes no room: it is reported as lost.
                .map(|len| if len > EVENT_BYTES { 0 } else { len })
                .fold((0usize, 0usize), |(n, bytes), len| (n + 1, bytes.saturating_add(len)));
            if !self.event_room(held.saturating_add(1)) || !self.text_room(bytes) {
                tally(&mut self.stats.deferred);
                return;
            }
            // What was lost is reported; what is held is handed over, in order.
            let count = span.saturating_sub(u32::try_from(held).unwrap_or(span));
            if count > 0 {
                self.push_event(ClientEvent::Missed { count });
            }
            for _ in 0..reach {
                let next = self.inbox.delivered.wrapping_add(1);
                match self.inbox.take_held(next) {
                    Some(delivery) => self.accept_held(delivery),
                    None => self.inbox.delivered = next,
                }
            }
            self.inbox.delivered = seq;
            self.release_held();
        }
        self.inbox.ack_due = true;
    }

    /// Whether `n` more events fit, keeping the reserve for reports about our own
    /// messages.
    fn event_room(&self, n: usize) -> bool {
        EVENTS.saturating_sub(self.events.len()) > EVENT_RESERVE.saturating_add(n.saturating_sub(1))
    }

    /// Whether a text of `len` bytes can be handed over now: it fits the event arena, or
    /// it never could (then it is reported as lost).
    fn text_room(&self, len: usize) -> bool {
        len > EVENT_BYTES || self.event_texts.fits(len)
    }

    /// Hands delivery `seq` to the application (`message` with `text`): it is the next in
    /// order. A text longer than the event arena could ever hold is a loss the
    /// application is told of.
    fn accept(&mut self, seq: u32, message: ClientEvent<'static>, text: &str) {
        self.inbox.delivered = seq;
        if text.len() > EVENT_BYTES {
            tally(&mut self.stats.too_long);
            self.push_event(ClientEvent::Missed { count: 1 });
        } else {
            self.push_event_with(message, text.as_bytes());
        }
    }

    fn accept_held(&mut self, delivery: Delivery) {
        let Delivery { seq, from, text, direct, history } = delivery;
        self.accept(seq, ClientEvent::Message { from, text: "", direct, history }, &text);
    }

    /// Hands over held deliveries that are now next in order, while there is room.
    fn release_held(&mut self) {
        while self.event_room(1) {
            let next = self.inbox.delivered.wrapping_add(1);
            if !self.inbox.held_len(next).is_some_and(|len| self.text_room(len)) {
                return;
            }
            let Some(delivery) = self.inbox.take_held(next) else { return };
            self.accept_held(delivery);
        }
    }
}
