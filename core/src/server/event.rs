//! What the server tells its embedding: users coming and going. Messages are not events:
//! the application reads them from the ring by number (`Server::newest_message`), so a
//! burst of them can never crowd out a join or a leave.

use core::net::SocketAddr;

use crate::server::ring::Recipient;
use crate::wire::{Name, NameBuf};

/// Something the application (an operator console, a log) may want to know.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent<A = SocketAddr> {
    /// A user joined.
    Joined {
        /// The user's name.
        name: NameBuf,
        /// The user's address.
        addr: A,
    },
    /// A user is gone.
    Left {
        /// The user's name.
        name: NameBuf,
        /// The user's last address.
        addr: A,
        /// Why.
        reason: LeftReason,
    },
    /// A user proved it holds its session from a new address, and moved there.
    Moved {
        /// The user's name.
        name: NameBuf,
        /// The old address.
        from: A,
        /// The new address.
        to: A,
    },
}

/// Why a user left.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeftReason {
    /// It said goodbye.
    Left,
    /// It was silent for longer than the idle timeout.
    TimedOut,
    /// The operator removed it.
    Kicked,
    /// A new join from the same address replaced it.
    Replaced,
    /// The server shut down.
    ServerShutdown,
    /// A user of another server that shares the room holds the name (`docs/BRIDGE.md`).
    NameTakenElsewhere,
}

impl LeftReason {
    /// The reason in words.
    pub const fn describe(self) -> &'static str {
        match self {
            LeftReason::Left => "left",
            LeftReason::TimedOut => "timed out",
            LeftReason::Kicked => "was kicked",
            LeftReason::Replaced => "was replaced by a new join from the same address",
            LeftReason::ServerShutdown => "was told the server is shutting down",
            LeftReason::NameTakenElsewhere => "lost its name to a user of another server",
        }
    }
}

/// A message in the ring, as [`crate::server::Server::message`] shows it.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomMessage<'a> {
    /// Its room sequence number.
    pub seq: u64,
    /// The sender, as the table knew it.
    pub from: Name<'a>,
    /// Who it is for.
    pub to: Recipient,
    /// The recipient's name, for a direct message.
    pub to_name: Option<Name<'a>>,
    /// The text.
    pub text: &'a str,
}
