//! What the embedding asks: the operator's announcements, kicks and shutdown, and room
//! messages from users the server does not hold (a bridge's, `docs/BRIDGE.md`).

use crate::address::PeerAddress;
use crate::error::ServerError;
use crate::server::Server;
use crate::server::ServerMemory;
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
        let max = usize::from(self.config.max_text);
        if text.len() > max {
            return Err(ServerError::TextTooLong { len: text.len(), max });
        }
        let (recipient, to_name) = match to {
            None => (Recipient::Room, None),
            Some(name) => {
                let slot = self.table.by_name(name).ok_or(ServerError::NoSuchUser)?;
                let user = self.table.get(slot).ok_or(ServerError::NoSuchUser)?;
                (Recipient::User(user.token), Some(user.name))
            }
        };
        let operator = self.config.operator;
        Ok(self.store(now, operator, recipient, to_name, text))
    }

    /// A room message from `from`, a user of another server (a bridged one): delivered to
    /// every user here like any room message, but to none whose name has `from`'s key.
    /// Returns its room sequence number.
    pub fn relay(&mut self, now: Instant, from: Name<'_>, text: &str) -> Result<u64, ServerError> {
        let max = usize::from(self.config.max_text);
        if text.len() > max {
            return Err(ServerError::TextTooLong { len: text.len(), max });
        }
        Ok(self.store(now, NameBuf::new(from), Recipient::Room, None, text))
    }

    /// Removes the user called `name`, telling it so.
    pub fn kick(&mut self, name: Name<'_>) -> Result<(), ServerError> {
        let slot = self.table.by_name(name).ok_or(ServerError::NoSuchUser)?;
        if let Some(user) = self.table.get_mut(slot) {
            user.state.closing = Some(ErrorCode::Kicked);
        }
        self.wake(slot);
        Ok(())
    }

    /// Tells every user the server is going away, then forgets them. Pump until
    /// [`Server::poll_transmit`] is `None` to send the notices.
    pub fn shutdown(&mut self) {
        for (_, user) in self.table.iter_mut() {
            user.state.closing = Some(ErrorCode::ShuttingDown);
        }
        self.wake_all();
    }
}
