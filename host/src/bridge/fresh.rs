//! Fresh messages only, on a sealed bridge (`docs/BRIDGE.md` section 9): a message that
//! someone recorded and publishes again is dropped, whatever its kind.
//!
//! Every sealed message carries its sender's id, its number among what that server
//! sealed, and the time it was sealed (`seal.rs`). A message is taken if it was sealed
//! less than [`FRESH_FOR_MS`] from now (the servers' clocks must agree that well), and its
//! number was not seen before from that sender: per sender, the highest number seen and
//! which of the [`WINDOW`] before it were. A sender not heard from within [`FRESH_FOR_MS`]
//! can only be replayed with stale times, so at most [`MAX_SENDERS`] are remembered.
//!
//! The last will is the one message sealed long before the broker may publish it: a
//! server says in each greeting which number its current will carries, and a `gone` with
//! exactly that number is taken once, whatever its time.

use std::collections::HashMap;

use crate::bridge::seal::Stamp;

/// How far a message's time may be from this server's clock.
pub(crate) const FRESH_FOR_MS: u64 = 60_000;
/// How many numbers before a sender's highest are remembered as seen or not.
const WINDOW: u64 = 128;
/// How many senders are remembered; past that, the one heard from longest ago is
/// forgotten.
pub(crate) const MAX_SENDERS: usize = 256;

/// Why a message was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stale {
    /// Its number was seen before (or is too far behind to tell).
    Replayed,
    /// Sealed this many milliseconds from now (negative: ahead of this clock).
    OutOfTime { behind_ms: i64 },
}

impl Stale {
    /// Why, for the operator.
    pub(crate) fn describe(&self) -> String {
        match self {
            Stale::Replayed => "it was taken before (someone publishes a recording)".to_owned(),
            Stale::OutOfTime { behind_ms } => format!(
                "it was sealed {:.1} s {} this server's clock (do the servers' clocks agree?)",
                behind_ms.unsigned_abs() as f64 / 1000.0,
                if *behind_ms < 0 { "ahead of" } else { "behind" }
            ),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Sender {
    highest: u64,
    /// Bit i: number `highest - i` was seen.
    seen: u128,
    /// The number its current last will carries, as its greeting said.
    will: Option<u64>,
    /// When it was last heard from (this server's milliseconds), for forgetting.
    heard_ms: u64,
}

/// The numbers seen per sender.
#[derive(Debug, Default)]
pub(crate) struct Freshness {
    senders: HashMap<u64, Sender>,
}

impl Freshness {
    /// Takes a message stamped `stamp` at `now_ms`, or says why not.
    pub(crate) fn admit(&mut self, stamp: &Stamp, now_ms: u64) -> Result<(), Stale> {
        let behind = i64::try_from(now_ms).unwrap_or(i64::MAX)
            - i64::try_from(stamp.time_ms).unwrap_or(i64::MAX);
        if behind.unsigned_abs() > FRESH_FOR_MS {
            return Err(Stale::OutOfTime { behind_ms: behind });
        }
        self.take_number(stamp, now_ms)
    }

    /// Takes a `gone` stamped `stamp`: fresh, or the sender's current last will (once).
    pub(crate) fn admit_goodbye(&mut self, stamp: &Stamp, now_ms: u64) -> Result<(), Stale> {
        if let Some(sender) = self.senders.get_mut(&stamp.from)
            && sender.will == Some(stamp.n)
        {
            sender.will = None;
            sender.heard_ms = now_ms;
            // Seen, so that a recording of it is not fresh later either.
            let behind = sender.highest.saturating_sub(stamp.n);
            if behind < WINDOW {
                sender.seen |= 1u128 << behind;
            }
            return Ok(());
        }
        self.admit(stamp, now_ms)
    }

    /// `from` said its current last will carries number `n`.
    pub(crate) fn expect_will(&mut self, from: u64, n: u64) {
        if let Some(sender) = self.senders.get_mut(&from) {
            sender.will = Some(n);
        }
    }

    fn take_number(&mut self, stamp: &Stamp, now_ms: u64) -> Result<(), Stale> {
        if !self.senders.contains_key(&stamp.from) && self.senders.len() >= MAX_SENDERS {
            let quietest =
                self.senders.iter().min_by_key(|(_, sender)| sender.heard_ms).map(|(id, _)| *id);
            if let Some(quietest) = quietest {
                self.senders.remove(&quietest);
            }
        }
        let sender = self.senders.entry(stamp.from).or_insert(Sender {
            highest: stamp.n,
            seen: 0,
            will: None,
            heard_ms: now_ms,
        });
        sender.heard_ms = now_ms;
        if stamp.n > sender.highest || sender.seen == 0 {
            let ahead = stamp.n.saturating_sub(sender.highest);
            sender.seen = if ahead >= WINDOW { 0 } else { sender.seen << ahead };
            sender.highest = stamp.n;
            sender.seen |= 1;
            return Ok(());
        }
        let behind = sender.highest - stamp.n;
        if behind >= WINDOW {
            return Err(Stale::Replayed);
        }
        let bit = 1u128 << behind;
        if sender.seen & bit != 0 {
            return Err(Stale::Replayed);
        }
        sender.seen |= bit;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(from: u64, n: u64, time_ms: u64) -> Stamp {
        Stamp { from, n, time_ms }
    }

    const NOW: u64 = 1_800_000_000_000;

    #[test]
    fn each_number_once_in_any_order_within_the_window() {
        let mut fresh = Freshness::default();
        assert_eq!(fresh.admit(&stamp(1, 5, NOW), NOW), Ok(()));
        assert_eq!(fresh.admit(&stamp(1, 5, NOW), NOW), Err(Stale::Replayed));
        assert_eq!(fresh.admit(&stamp(1, 7, NOW), NOW), Ok(()));
        assert_eq!(fresh.admit(&stamp(1, 6, NOW), NOW), Ok(()), "late, not seen");
        assert_eq!(fresh.admit(&stamp(1, 6, NOW), NOW), Err(Stale::Replayed));
        // Another sender counts on its own.
        assert_eq!(fresh.admit(&stamp(2, 5, NOW), NOW), Ok(()));
        // Far ahead, then what fell out of the window cannot be told apart: dropped.
        assert_eq!(fresh.admit(&stamp(1, 1_000, NOW), NOW), Ok(()));
        assert_eq!(fresh.admit(&stamp(1, 1_000 - WINDOW, NOW), NOW), Err(Stale::Replayed));
        assert_eq!(fresh.admit(&stamp(1, 1_000 - WINDOW + 1, NOW), NOW), Ok(()));
    }

    #[test]
    fn a_recording_older_than_a_minute_is_stale_even_from_a_forgotten_sender() {
        let mut fresh = Freshness::default();
        let old = stamp(3, 1, NOW - FRESH_FOR_MS - 1);
        assert_eq!(
            fresh.admit(&old, NOW),
            Err(Stale::OutOfTime { behind_ms: i64::try_from(FRESH_FOR_MS).unwrap() + 1 })
        );
        assert!(fresh.admit(&stamp(3, 2, NOW + FRESH_FOR_MS + 5), NOW).is_err(), "ahead");
        assert_eq!(fresh.admit(&stamp(3, 3, NOW - FRESH_FOR_MS), NOW), Ok(()));
    }

    #[test]
    fn the_current_last_will_is_taken_once_whenever_it_comes() {
        let mut fresh = Freshness::default();
        // The will was sealed as number 10, then the greeting (11) said so.
        assert_eq!(fresh.admit(&stamp(4, 11, NOW), NOW), Ok(()));
        fresh.expect_will(4, 10);
        let will = stamp(4, 10, NOW - 3_600_000);
        assert_eq!(fresh.admit_goodbye(&will, NOW), Ok(()), "published an hour after sealing");
        assert!(fresh.admit_goodbye(&will, NOW).is_err(), "once");
        // An earlier will, recorded, is stale.
        fresh.expect_will(4, 20);
        assert!(fresh.admit_goodbye(&stamp(4, 10, NOW - 3_600_000), NOW).is_err());
        // So is one the broker published soon after it was sealed, recorded and
        // published again within the minute.
        assert_eq!(fresh.admit(&stamp(4, 21, NOW), NOW), Ok(()));
        let prompt_will = stamp(4, 20, NOW - 1_000);
        assert_eq!(fresh.admit_goodbye(&prompt_will, NOW), Ok(()));
        assert_eq!(fresh.admit_goodbye(&prompt_will, NOW + 1), Err(Stale::Replayed));
    }

    #[test]
    fn senders_are_remembered_up_to_a_bound() {
        let mut fresh = Freshness::default();
        for sender in 0..(MAX_SENDERS as u64 + 10) {
            assert_eq!(fresh.admit(&stamp(sender, 1, NOW), NOW + sender), Ok(()));
        }
        assert_eq!(fresh.senders.len(), MAX_SENDERS);
        // The newest are still remembered.
        assert_eq!(fresh.admit(&stamp(MAX_SENDERS as u64 + 9, 1, NOW), NOW), Err(Stale::Replayed));
    }
}
