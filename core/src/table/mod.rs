//! The user table: who is who, by address, name and token, in a fixed number of slots.
//!
//! The server alone decides who sent a frame, from this table. Each slot carries the
//! server's per-user session state `S` (delivery cursor, rate limit, ...). A full table
//! refuses the newcomer; it never evicts an active user.
//!
//! Names are unique by confusable skeleton: two users never share a key
//! ([`crate::name_policy::key`]), so no user can take a case variant or a look-alike of
//! another's name.
//!
//! The embedding gives the memory ([`crate::storage`]): the slots, and optionally one
//! [`IndexEntry`] per slot. With index memory, nothing the server does per datagram or per
//! turn grows with the number of users: hash indexes find a user by address, token or
//! name key (`index.rs`), a queue names the users with something to send (`ready.rs`),
//! and a heap orders their deadlines (`deadlines.rs`). Without it (a firmware server of a
//! few users) every lookup scans the slots: cheaper than hashing at that size, and none
//! of that code is in the program.

mod deadlines;
mod index;
mod ready;

use core::marker::PhantomData;
use core::net::SocketAddr;

pub use self::index::IndexEntry;
use self::index::{END, Index};
use crate::address::PeerAddress;
use crate::error::TableError;
use crate::name_policy::NameKey;
use crate::storage::Storage;
use crate::time::{Duration, Instant};
use crate::wire::{Name, NameBuf, Token};

/// Index of a slot in a [`UserTable`]. Stable while the user stays.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotId(u16);

impl SlotId {
    /// The slot's index.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// One connected user.
#[derive(Debug, Clone)]
pub struct User<S, A = SocketAddr> {
    /// Where the user's frames come from and where replies go.
    pub addr: A,
    /// The session token every frame of the session carries.
    pub token: Token,
    /// The user's name, as the user spelled it.
    pub name: NameBuf,
    /// The name's key, unique in the table; computed once at insertion.
    pub key: NameKey,
    /// When anything valid was last heard from the user.
    pub last_heard: Instant,
    /// The server's per-user session state.
    pub state: S,
}

/// A slot: a user, or free.
pub type Slot<S, A = SocketAddr> = Option<User<S, A>>;

/// The most users a table holds: slot numbers are 16 bits, one value marks a chain's end.
pub const MAX_CAPACITY: usize = END as usize;

/// A table in arrays: `N` slots and `I` index entries (`N`, the default, to index; 0 to
/// scan, as a firmware server of a few users does).
pub type ArrayTable<S, const N: usize, A = SocketAddr, const I: usize = N> =
    UserTable<S, A, [Slot<S, A>; N], [IndexEntry; I]>;

/// A table of users in memory the embedding gives: slots `U`, index entries `I`. Up to
/// `capacity` slots are used (at most [`MAX_CAPACITY`] and the slots given), so one build
/// can serve different configured sizes. The table indexes when `I` has an entry for
/// every usable slot, and scans otherwise.
#[derive(Debug)]
pub struct UserTable<S, A, U, I> {
    slots: U,
    index: I,
    /// The first free slot, the rest chained through the index (indexed tables).
    free: u16,
    /// The ready queue's first and last slot (`ready.rs`).
    ready_head: u16,
    ready_tail: u16,
    /// How many slots the deadline heap holds (`deadlines.rs`).
    heap_len: u16,
    hash_key: [u8; 16],
    capacity: usize,
    len: usize,
    user: PhantomData<fn() -> (S, A)>,
}

impl<S, const N: usize, A: PeerAddress, const I: usize> ArrayTable<S, N, A, I> {
    /// An empty table in arrays that admits up to `capacity` users (at most `N`); see
    /// [`UserTable::with_storage`].
    pub fn new(capacity: usize, hash_key: impl FnOnce() -> [u8; 16]) -> Self {
        UserTable::with_storage([const { None }; N], [IndexEntry::EMPTY; I], capacity, hash_key)
    }
}

impl<S, A: PeerAddress, U: Storage<Slot<S, A>>, I: Storage<IndexEntry>> UserTable<S, A, U, I> {
    /// An empty table in `slots` (all must be free) and `index` (its entries are
    /// overwritten) that admits up to `capacity` users, hashing under the key `hash_key`
    /// gives (keep it secret from the network: remote parties choose addresses, names and
    /// the tokens they try, and must not be able to steer them into one bucket); a table
    /// that scans never asks for it.
    pub fn with_storage(
        slots: U,
        index: I,
        capacity: usize,
        hash_key: impl FnOnce() -> [u8; 16],
    ) -> Self {
        let capacity = capacity.min(slots.as_ref().len()).min(MAX_CAPACITY);
        let mut table = UserTable {
            slots,
            index,
            free: END,
            ready_head: END,
            ready_tail: END,
            heap_len: 0,
            hash_key: [0; 16],
            capacity,
            len: 0,
            user: PhantomData,
        };
        if table.indexed() {
            table.hash_key = hash_key();
            table.reset_index();
        }
        table
    }

    /// Whether lookups, the ready queue and the deadlines go through the index memory:
    /// for arrays a constant, so the other way is not in the program.
    pub fn indexed(&self) -> bool {
        let entries = self.index.as_ref().len();
        entries > 0 && entries >= self.capacity
    }

    fn slots(&self) -> &[Slot<S, A>] {
        self.slots.as_ref()
    }

    fn slots_mut(&mut self) -> &mut [Slot<S, A>] {
        self.slots.as_mut()
    }

    /// How many users the table admits.
    pub const fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many users are in the table.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a user. Refuses a name whose key is taken (a case variant or look-alike of a
    /// user's name), an address or token already in use, and a full table; the state
    /// comes back with the error.
    pub fn insert(
        &mut self,
        addr: A,
        token: Token,
        name: Name<'_>,
        now: Instant,
        state: S,
    ) -> Result<SlotId, (TableError, S)> {
        let key = name.key();
        if self.by_key(key).is_some() {
            return Err((TableError::NameTaken, state));
        }
        if self.by_addr(addr).is_some() {
            return Err((TableError::AddressTaken, state));
        }
        if token.is_none() || self.by_token(token).is_some() {
            return Err((TableError::TokenTaken, state));
        }
        let full = TableError::Full { capacity: self.capacity };
        if self.len >= self.capacity {
            return Err((full, state));
        }
        let id = if self.indexed() {
            self.take_free()
        } else {
            // A few slots: the first free one, as a scan finds it.
            let free = self.slots().iter().take(self.capacity).position(Option::is_none);
            free.and_then(|i| u16::try_from(i).ok()).unwrap_or(END)
        };
        let Some(slot) = self.slots_mut().get_mut(usize::from(id)) else {
            return Err((full, state));
        };
        *slot = Some(User { addr, token, name: NameBuf::new(name), key, last_heard: now, state });
        self.len += 1;
        if self.indexed() {
            self.link(Index::Addr, self.addr_bucket(addr), id);
            self.link(Index::Token, self.token_bucket(token), id);
            self.link(Index::Key, self.key_bucket(key), id);
        }
        Ok(SlotId(id))
    }

    /// Removes a user and returns it.
    pub fn remove(&mut self, slot: SlotId) -> Option<User<S, A>> {
        let user = self.slots_mut().get_mut(slot.index())?.take()?;
        if self.indexed() {
            self.unlink(Index::Addr, self.addr_bucket(user.addr), slot.0);
            self.unlink(Index::Token, self.token_bucket(user.token), slot.0);
            self.unlink(Index::Key, self.key_bucket(user.key), slot.0);
            self.unschedule(slot);
            self.give_free(slot.0);
        }
        self.len -= 1;
        Some(user)
    }

    /// The user in `slot`.
    pub fn get(&self, slot: SlotId) -> Option<&User<S, A>> {
        self.slots().get(slot.index())?.as_ref()
    }

    /// The user in `slot`, mutable.
    pub fn get_mut(&mut self, slot: SlotId) -> Option<&mut User<S, A>> {
        self.slots_mut().get_mut(slot.index())?.as_mut()
    }

    /// The user at `addr`.
    pub fn by_addr(&self, addr: A) -> Option<SlotId> {
        if !self.indexed() {
            return self.find(|user| user.addr == addr);
        }
        self.find_in(Index::Addr, self.addr_bucket(addr), |user| user.addr == addr)
    }

    /// The user called `name` or a name with the same key (a case variant or look-alike).
    pub fn by_name(&self, name: Name<'_>) -> Option<SlotId> {
        self.by_key(name.key())
    }

    /// The user whose name has `key`.
    pub fn by_key(&self, key: NameKey) -> Option<SlotId> {
        if !self.indexed() {
            return self.find(|user| user.key == key);
        }
        self.find_in(Index::Key, self.key_bucket(key), |user| user.key == key)
    }

    /// How many users' addresses are on the same host as `addr` (any port). A scan of
    /// every user: it runs for joins only, and only under a per-host limit.
    pub fn count_same_host(&self, addr: A) -> usize {
        self.iter().filter(|(_, user)| user.addr.same_host(&addr)).count()
    }

    /// The user whose session has `token`.
    pub fn by_token(&self, token: Token) -> Option<SlotId> {
        if token.is_none() {
            return None;
        }
        if !self.indexed() {
            return self.find(|user| user.token == token);
        }
        self.find_in(Index::Token, self.token_bucket(token), |user| user.token == token)
    }

    /// Moves a user to a new address (after it proved it holds the session there).
    pub fn move_to(&mut self, slot: SlotId, addr: A) -> Result<(), TableError> {
        if self.by_addr(addr).is_some_and(|other| other != slot) {
            return Err(TableError::AddressTaken);
        }
        let Some(old) = self.get(slot).map(|user| user.addr) else { return Ok(()) };
        if self.indexed() {
            let (from, to) = (self.addr_bucket(old), self.addr_bucket(addr));
            self.unlink(Index::Addr, from, slot.0);
            self.link(Index::Addr, to, slot.0);
        }
        if let Some(user) = self.get_mut(slot) {
            user.addr = addr;
        }
        Ok(())
    }

    /// Records that the user was heard from at `now`.
    pub fn touch(&mut self, slot: SlotId, now: Instant) {
        if let Some(user) = self.get_mut(slot) {
            user.last_heard = user.last_heard.max(now);
        }
    }

    /// The first user silent for `idle` or longer at `now` (a scan: a table without
    /// index memory keeps no deadlines).
    pub fn first_expired(&self, now: Instant, idle: Duration) -> Option<SlotId> {
        self.find(|user| user.last_heard + idle <= now)
    }

    /// When the next user will have been silent for `idle` (a scan).
    pub fn next_expiry(&self, idle: Duration) -> Option<Instant> {
        self.iter().map(|(_, user)| user.last_heard + idle).min()
    }

    /// Every user, with its slot.
    pub fn iter(&self) -> impl Iterator<Item = (SlotId, &User<S, A>)> {
        self.slots().iter().enumerate().filter_map(|(i, slot)| {
            let user = slot.as_ref()?;
            Some((SlotId(u16::try_from(i).ok()?), user))
        })
    }

    /// Every user, mutable, with its slot.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (SlotId, &mut User<S, A>)> {
        self.slots_mut().iter_mut().enumerate().filter_map(|(i, slot)| {
            let user = slot.as_mut()?;
            Some((SlotId(u16::try_from(i).ok()?), user))
        })
    }

    /// Runs `update` on every user; each one it changed (it returns `true`) is put in the
    /// ready queue and scheduled no later than its `deadline` (indexed tables).
    pub fn update_each(
        &mut self,
        mut update: impl FnMut(&mut User<S, A>) -> bool,
        deadline: impl Fn(&User<S, A>) -> Instant,
    ) {
        if !self.indexed() {
            self.iter_mut().for_each(|(_, user)| _ = update(user));
            return;
        }
        for i in 0..self.slots().len() {
            let Some(user) = self.slots_mut().get_mut(i).and_then(Option::as_mut) else {
                continue;
            };
            if !update(user) {
                continue;
            }
            let at = deadline(user);
            if let Ok(id) = u16::try_from(i) {
                self.mark_ready(SlotId(id));
                self.schedule(SlotId(id), at);
            }
        }
    }

    /// The slot at `index`, if a user is in it (for round-robin walks).
    pub fn slot_at(&self, index: usize) -> Option<SlotId> {
        self.slots().get(index)?.as_ref()?;
        Some(SlotId(u16::try_from(index).ok()?))
    }

    fn find(&self, mut matches: impl FnMut(&User<S, A>) -> bool) -> Option<SlotId> {
        self.iter().find(|(_, user)| matches(user)).map(|(slot, _)| slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn name(n: &str) -> Name<'_> {
        Name::new(n).unwrap()
    }

    #[test]
    fn finds_users_every_way() {
        let mut table = ArrayTable::<u8, 4, SocketAddr, 0>::new(4, || [3; 16]);
        let now = Instant::ZERO;
        let a = table.insert(addr(1), Token(10), name("Star"), now, 1).unwrap();
        let b = table.insert(addr(2), Token(20), name("star2"), now, 2).unwrap();
        assert_eq!(table.by_addr(addr(2)), Some(b));
        assert_eq!(table.by_name(name("STAR")), Some(a));
        assert_eq!(table.by_token(Token(10)), Some(a));
        assert_eq!(table.by_token(Token::NONE), None);
        assert_eq!(table.get(b).map(|u| u.state), Some(2));
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn refuses_duplicates_and_a_full_table_without_evicting() {
        let mut table = ArrayTable::<(), 4>::new(2, || [3; 16]);
        let now = Instant::ZERO;
        table.insert(addr(1), Token(1), name("a"), now, ()).unwrap();
        assert_eq!(
            table.insert(addr(2), Token(2), name("A"), now, ()).err().map(|e| e.0),
            Some(TableError::NameTaken)
        );
        assert_eq!(
            table.insert(addr(1), Token(2), name("b"), now, ()).err().map(|e| e.0),
            Some(TableError::AddressTaken)
        );
        table.insert(addr(2), Token(2), name("b"), now, ()).unwrap();
        assert_eq!(
            table.insert(addr(3), Token(3), name("c"), now, ()).err().map(|e| e.0),
            Some(TableError::Full { capacity: 2 })
        );
        assert!(table.by_name(name("a")).is_some() && table.by_name(name("b")).is_some());
    }

    /// A thousand users: each found every way, through chains that stay short, and gone
    /// from every index once removed.
    #[test]
    fn the_indexes_find_every_user_in_few_steps() {
        let mut table = ArrayTable::<(), 1024>::new(1024, || [7; 16]);
        let names: std::vec::Vec<std::string::String> =
            (0..1000).map(|i| std::format!("user{i}")).collect();
        let at = |i: usize| {
            let [.., high, low] = u32::try_from(i).unwrap().to_be_bytes();
            SocketAddr::from(([10, 0, high, low], 9))
        };
        for (i, n) in names.iter().enumerate() {
            table.insert(at(i), Token(1000 + i as u64), name(n), Instant::ZERO, ()).unwrap();
        }
        for (i, n) in names.iter().enumerate() {
            let slot = table.by_addr(at(i)).unwrap();
            assert_eq!(table.by_token(Token(1000 + i as u64)), Some(slot));
            assert_eq!(table.by_name(name(n)), Some(slot));
        }
        for index in [Index::Addr, Index::Token, Index::Key] {
            let longest = (0..1024)
                .map(|b| {
                    let mut at = table.index[b].head.get(index);
                    let mut len = 0;
                    while at != END {
                        len += 1;
                        at = table.index[usize::from(at)].next.get(index);
                    }
                    len
                })
                .max();
            assert!(longest.unwrap() <= 10, "{index:?}: a chain of {longest:?}");
        }
        for i in (0..1000).step_by(2) {
            let slot = table.by_addr(at(i)).unwrap();
            table.remove(slot).unwrap();
            assert_eq!(table.by_token(Token(1000 + i as u64)), None);
            assert_eq!(table.by_name(name(&names[i])), None);
        }
        assert_eq!(table.len(), 500);
        assert!(table.by_addr(at(1)).is_some() && table.by_name(name("user999")).is_some());
    }

    #[test]
    fn expiry_and_reuse() {
        let mut table = ArrayTable::<(), 2, SocketAddr, 0>::new(2, || [3; 16]);
        let a = table.insert(addr(1), Token(1), name("a"), Instant::from_millis(0), ()).unwrap();
        table.insert(addr(2), Token(2), name("b"), Instant::from_millis(500), ()).unwrap();
        let idle = Duration::from_millis(1000);
        assert_eq!(table.next_expiry(idle), Some(Instant::from_millis(1000)));
        assert_eq!(table.first_expired(Instant::from_millis(999), idle), None);
        assert_eq!(table.first_expired(Instant::from_millis(1000), idle), Some(a));
        table.touch(a, Instant::from_millis(1200));
        assert_eq!(table.first_expired(Instant::from_millis(1400), idle), None);
        table.remove(a).unwrap();
        assert_eq!(table.insert(addr(3), Token(3), name("c"), Instant::ZERO, ()), Ok(a));
    }

    /// The longest idle timeout, and a server polled a while after it: the user is still
    /// seen to be expired (as a deadline; as an age, 24.8 days would read as none).
    #[test]
    fn expiry_seen_late_after_the_longest_idle_timeout() {
        let mut table = ArrayTable::<(), 2, SocketAddr, 0>::new(2, || [3; 16]);
        let heard = Instant::from_millis((1 << 32) - 5);
        let a = table.insert(addr(1), Token(1), name("a"), heard, ()).unwrap();
        let idle = Duration::MAX;
        assert_eq!(table.first_expired(heard + idle, idle), Some(a));
        let late = heard + idle + Duration::from_secs(3600);
        assert_eq!(table.first_expired(late, idle), Some(a));
    }
}
