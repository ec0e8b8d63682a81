//! Users this server does not hold but shares its room with: the users of bridged servers
//! (`docs/BRIDGE.md`), as the embedding knows them. Their names are taken here too, a
//! `tell` to one of them is accepted and left for the embedding to forward
//! ([`crate::server::Recipient::Elsewhere`]), and `who` lists them after this server's own.
//! When another server's room is full, new messages from users here are held back, as
//! when this server's own room is (its senders slow to the pace of every recipient).
//!
//! The directory is also where the embedding keeps who is who
//! ([`Directory::admits`]): which key owns which name, which keys the operator listed or
//! banned (`docs/PROTOCOL.md`, "Client keys"). The server asks it before a session takes
//! a name, and so before the session costs a slot.
//!
//! A server alone passes [`Alone`], whose answers are constants, so a firmware server
//! carries none of this.

use crate::name_policy::NameKey;
use crate::wire::Name;

/// The users of other servers that share this server's room.
pub trait Directory {
    /// Whether a user of another server holds a name with `key`.
    fn holds(&self, key: NameKey) -> bool;

    /// How many users the other servers hold.
    fn len(&self) -> usize;

    /// Whether the other servers hold no user.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `each` with their names, each with the name of its server (if that is a
    /// valid name), in a stable order, from the `start`-th on, until it returns `false` or
    /// the names run out.
    fn names_from(&self, start: usize, each: &mut dyn FnMut(Name<'_>, Option<Name<'_>>) -> bool);

    /// Whether a session may take `name` with the client key `key` (`None`: a session
    /// without one, in the clear or encrypted with the server's key alone). Everyone,
    /// unless the embedding keeps records of who owns which name.
    fn admits(&self, name: Name<'_>, key: Option<&ClientKey>) -> Result<(), KeyRefusal> {
        let _ = (name, key);
        Ok(())
    }

    /// The key that owns `name` by the embedding's records, if any: told to a client
    /// that asks whose key a name is (`key-of`) when no user here holds it.
    fn owner(&self, name: Name<'_>) -> Option<ClientKey> {
        let _ = name;
        None
    }

    /// Whether another server's room is full ([`crate::server::Server::is_backed_up`]
    /// there): new messages from users here are then held back.
    fn holds_back(&self) -> bool {
        false
    }
}

/// A client's static public key (X25519), as its `hello-key` proved it.
pub type ClientKey = [u8; 32];

/// Why a directory keeps a session from taking a name ([`Directory::admits`]); each is
/// the `refused` code its client reads.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRefusal {
    /// Another key owns the name ([`ErrorCode::NameOwned`](crate::wire::ErrorCode::NameOwned)).
    NameOwned,
    /// Only listed keys join, and this one is not listed for the name
    /// ([`ErrorCode::KeyNotAuthorized`](crate::wire::ErrorCode::KeyNotAuthorized)).
    NotAuthorized,
    /// The operator banned the key
    /// ([`ErrorCode::KeyBanned`](crate::wire::ErrorCode::KeyBanned)).
    Banned,
}

/// No other servers: the directory of a server alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Alone;

impl Directory for Alone {
    fn holds(&self, _key: NameKey) -> bool {
        false
    }

    fn len(&self) -> usize {
        0
    }

    fn names_from(&self, _: usize, _: &mut dyn FnMut(Name<'_>, Option<Name<'_>>) -> bool) {}
}
