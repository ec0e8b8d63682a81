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

/// Memory in arrays: `N` users, `R` messages of `T` bytes in all, and `I` index entries
/// (`N` to index, 0 to scan).
#[derive(Debug)]
pub struct Arrays<const N: usize, const R: usize, const T: usize, const I: usize> {
    never: PhantomData<()>,
}

impl<A: Debug, const N: usize, const R: usize, const T: usize, const I: usize> ServerMemory<A>
    for Arrays<N, R, T, I>
{
    type Users = [UserSlot<A>; N];
    type Index = [IndexEntry; I];
    type Messages = [MessageSlot; R];
    type Bytes = [u8; T];
}

/// A server in arrays: `N` user slots, a ring of at most `R` messages whose names and
/// texts take at most `T` bytes (each message its own length: a firmware server keeps a
/// few kilobytes of history, not room for `R` of the longest), and `I` index entries (by
/// default one per slot; 0 for a server of a few users, which then scans them).
pub type StaticServer<
    const N: usize,
    const R: usize,
    A = SocketAddr,
    const T: usize = RING_BYTES,
    const I: usize = N,
> = Server<A, Arrays<N, R, T, I>>;
