//! The server's memory, given by the embedding: its user slots, their index entries, the
//! ring's message slots and the ring's bytes.
//!
//! Firmware gives arrays ([`Arrays`], usually in a static): sizes fixed when it is built,
//! and a server of a few users gives no index entries, so it scans them and carries none
//! of the index code. A host gives memory it allocated once at start-up, sized by its
//! command line (up to [`crate::table::MAX_CAPACITY`] users); the server never allocates.

use core::fmt::Debug;
use core::marker::PhantomData;
use core::net::SocketAddr;

use crate::server::ring::MessageSlot;
use crate::server::session::Session;
use crate::server::{RING_BYTES, Server};
use crate::storage::Storage;
use crate::table::{IndexEntry, Slot};

/// A user slot of a server: a user and its session, or free.
pub type UserSlot<A> = Slot<Session, A>;

/// The kinds of memory a [`Server`] is given; each an array, a boxed slice, a borrowed
/// slice… ([`Storage`]).
pub trait ServerMemory<A> {
    /// The user slots: one per user it admits.
    type Users: Storage<UserSlot<A>> + Debug;
    /// Index entries: one per user slot to find users, queue them and order their
    /// deadlines in constant time; none to scan the slots instead.
    type Index: Storage<IndexEntry> + Debug;
    /// The ring's message slots: the most messages kept for resending and history.
    type Messages: Storage<MessageSlot> + Debug;
    /// The ring's arena: the bytes those messages' names and texts may take.
    type Bytes: Storage<u8> + Debug;
}

/// Memory in arrays: `USERS` users, `MESSAGES` messages of `BYTES` bytes in all, and
/// `INDEX` index entries (`USERS` to index, 0 to scan).
#[derive(Debug)]
pub struct Arrays<const USERS: usize, const MESSAGES: usize, const BYTES: usize, const INDEX: usize>
{
    never: PhantomData<()>,
}

impl<A: Debug, const USERS: usize, const MESSAGES: usize, const BYTES: usize, const INDEX: usize>
    ServerMemory<A> for Arrays<USERS, MESSAGES, BYTES, INDEX>
{
    type Users = [UserSlot<A>; USERS];
    type Index = [IndexEntry; INDEX];
    type Messages = [MessageSlot; MESSAGES];
    type Bytes = [u8; BYTES];
}

/// A server in arrays: `USERS` user slots, a ring of at most `MESSAGES` messages whose
/// names and texts take at most `BYTES` bytes (each message its own length: a firmware
/// server keeps a few kilobytes of history, not room for `MESSAGES` of the longest), and
/// `INDEX` index entries (by default one per slot; 0 for a server of a few users, which
/// then scans them).
pub type StaticServer<
    const USERS: usize,
    const MESSAGES: usize,
    A = SocketAddr,
    const BYTES: usize = RING_BYTES,
    const INDEX: usize = USERS,
> = Server<A, Arrays<USERS, MESSAGES, BYTES, INDEX>>;

/// A server for firmware: 8 users (scanned, no index), at most 16 messages of history in
/// 2 KiB of names and texts (what the footprint report measures).
pub type SmallServer<A = SocketAddr> = StaticServer<8, 16, A, 2048, 0>;
