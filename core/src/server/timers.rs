//! The server's timers: each user's retransmission and the end of its allowed silence. An
//! indexed table keeps users in a deadline heap, so only those whose time came are looked
//! at; a table that scans (a firmware server of a few users) walks them all.

use crate::address::PeerAddress;
use crate::server::{LeftReason, Server, ServerMemory, Session};
use crate::table::{SlotId, User};
use crate::time::{Duration, Instant, earliest};

impl<A: PeerAddress, M: ServerMemory<A>> Server<A, M> {
    /// When [`Server::handle_timeout`] should run next: the earliest retransmission or
    /// idle expiry.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.table.indexed() {
            return self.table.next_due();
        }
        let idle = self.config.idle_timeout;
        self.table.iter().fold(None, |next, (_, user)| {
            let next = earliest(next, user.state.cursor.retransmit_at());
            earliest(next, Some(user.last_heard + idle))
        })
    }

    /// Expires silent users and rewinds cursors whose retransmission time has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.table.indexed() {
            return self.handle_deadlines(now);
        }
        while let Some(slot) = self.table.first_expired(now, self.config.idle_timeout) {
            if !self.has_event_room(1) {
                self.stats.events_waited += 1;
                break; // the rest expire once the application took its events
            }
            self.end_session(slot, LeftReason::TimedOut);
        }
        for (_, user) in self.table.iter_mut() {
            if user.state.cursor.on_timeout(now, &self.rtt) {
                self.stats.retransmits += 1;
                self.work = true;
            }
        }
    }

    /// The timers of an indexed table: only the users whose deadline came.
    fn handle_deadlines(&mut self, now: Instant) {
        let idle = self.config.idle_timeout;
        // Each user at most once: a deadline set again is after `now`.
        for _ in 0..=self.table.len() {
            let Some(slot) = self.table.pop_due(now) else { return };
            let Some(user) = self.table.get_mut(slot) else { continue };
            // As a deadline, not an age: a poll up to 24.8 days late still sees it.
            if user.last_heard + idle <= now {
                if !self.has_event_room(1) {
                    self.stats.events_waited += 1;
                    // It expires once the application took its events.
                    self.table.reschedule(slot, now);
                    return;
                }
                self.end_session(slot, LeftReason::TimedOut);
                continue;
            }
            if user.state.cursor.on_timeout(now, &self.rtt) {
                self.stats.retransmits += 1;
                self.wake(slot);
            }
            if let Some(at) = self.deadline(slot) {
                self.table.reschedule(slot, at);
            }
        }
    }

    /// When `slot`'s user must next be looked at: its retransmission, or the end of its
    /// allowed silence.
    fn deadline(&self, slot: SlotId) -> Option<Instant> {
        Some(deadline(self.table.get(slot)?, self.config.idle_timeout))
    }

    /// Brings `slot`'s deadline forward if something made it sooner (a send armed its
    /// retransmission timer, an acknowledgement restarted it).
    pub(super) fn schedule(&mut self, slot: SlotId) {
        if self.table.indexed()
            && let Some(at) = self.deadline(slot)
        {
            self.table.schedule(slot, at);
        }
    }
}

/// When `user` must next be looked at: its retransmission, or the end of its allowed
/// silence (`idle`).
pub(super) fn deadline<A>(user: &User<Session, A>, idle: Duration) -> Instant {
    let silent_until = user.last_heard + idle;
    user.state.cursor.retransmit_at().map_or(silent_until, |at| at.min(silent_until))
}
