//! What the embedding asks: the operator's announcements, kicks and shutdown; and what a
//! bridge brings (`docs/BRIDGE.md`): messages from users the server does not hold, and a
//! name another server won.

use crate::address::PeerAddress;
use crate::error::ServerError;
use crate::server::Server;
use crate::server::ServerMemory;
use crate::server::directory::{Alone, Directory};
use crate::server::ring::Recipient;
use crate::time::Instant;
use crate::wire::{ErrorCode, Name, NameBuf};

impl<A: PeerAddress, M: ServerMemory<A>> Server<A, M> {
    /// The operator says `text`, to the room or to one user; delivered like any message,
    /// from the operator's name.
    pub fn announce(
        &mut self,
        now: Instant,
        text: &str,
        to: Option<Name<'_>>,
    ) -> Result<u64, ServerError> {
        self.announce_with(now, text, to, &Alone)
    }

    /// [`Server::announce`] where the room is shared with other servers: to a user of
    /// another server (`directory` holds it), stored as [`Recipient::Elsewhere`] for the
    /// embedding to forward.
    pub fn announce_with<D: Directory + ?Sized>(
        &mut self,
        now: Instant,
        text: &str,
        to: Option<Name<'_>>,
        directory: &D,
    ) -> Result<u64, ServerError> {
        let operator = self.config.operator;
        self.store_from(now, operator, text, to, directory)
    }

    /// Checks `text` and stores it from `from` to the room or to `to`, here or elsewhere.
    fn store_from<D: Directory + ?Sized>(
        &mut self,
        now: Instant,
        from: NameBuf,
        text: &str,
        to: Option<Name<'_>>,
        directory: &D,
    ) -> Result<u64, ServerError> {
        let max = usize::from(self.config.max_text);
        if text.len() > max {
            return Err(ServerError::TextTooLong { len: text.len(), max });
        }
        let (recipient, to_name) = match to {
            None => (Recipient::Room, None),
            Some(name) => match self.table.by_name(name).and_then(|slot| self.table.get(slot)) {
                Some(user) => (Recipient::User(user.token), Some(user.name)),
                None if directory.holds(name.key()) => {
                    (Recipient::Elsewhere, Some(NameBuf::new(name)))
                }
                None => return Err(ServerError::NoSuchUser),
            },
        };
        Ok(self.store(now, from, recipient, to_name, text))
    }

    /// A room message from `from`, a user of another server (a bridged one): delivered to
    /// every user here like any room message, but to none whose name has `from`'s key.
    /// Returns its room sequence number.
    pub fn relay(&mut self, now: Instant, from: Name<'_>, text: &str) -> Result<u64, ServerError> {
        self.store_from(now, NameBuf::new(from), text, None, &Alone)
    }

    /// [`Server::relay`], unless storing it would overwrite a message a user here who
    /// keeps up still needs: then [`ServerError::RoomFull`], and the embedding keeps it
    /// and tries again later, as a client's resend would.
    pub fn try_relay(
        &mut self,
        now: Instant,
        from: Name<'_>,
        text: &str,
    ) -> Result<u64, ServerError> {
        if self.room_backed_up(from.as_str().len() + text.len()) {
            self.stats.held_back += 1;
            return Err(ServerError::RoomFull);
        }
        self.relay(now, from, text)
    }

    /// A direct message from `from`, a user of another server, to `to`, a user here;
    /// [`ServerError::NoSuchUser`] if no user here has that name (any more).
    pub fn relay_tell(
        &mut self,
        now: Instant,
        from: Name<'_>,
        to: Name<'_>,
        text: &str,
    ) -> Result<u64, ServerError> {
        self.store_from(now, NameBuf::new(from), text, Some(to), &Alone)
    }

    /// Ends the session of the user called `name` because a user of another server holds
    /// the name (a bridge decided so, `docs/BRIDGE.md`): it is told `name-taken`, and its
    /// client gives up.
    pub fn release_name(&mut self, name: Name<'_>) -> Result<(), ServerError> {
        self.close_session(name, ErrorCode::NameTaken)
    }

    /// Removes the user called `name`, telling it so.
    pub fn kick(&mut self, name: Name<'_>) -> Result<(), ServerError> {
        self.close_session(name, ErrorCode::Kicked)
    }

    /// Ends `name`'s session with an error `code`, sent first.
    fn close_session(&mut self, name: Name<'_>, code: ErrorCode) -> Result<(), ServerError> {
        let slot = self.table.by_name(name).ok_or(ServerError::NoSuchUser)?;
        if let Some(user) = self.table.get_mut(slot) {
            user.state.closing = Some(code);
        }
        self.wake(slot);
        Ok(())
    }

    /// Tells every user the server is going away, then forgets them. Turn until
    /// [`Server::poll_transmit`] is `None` to send the notices.
    pub fn shutdown(&mut self) {
        for (_, user) in self.table.iter_mut() {
            user.state.closing = Some(ErrorCode::ShuttingDown);
        }
        self.wake_all();
    }
}
