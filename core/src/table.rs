//! The user table: who is who, by address, name and token, in a fixed number of slots.
//!
//! The server alone decides who sent a frame, from this table. Each slot carries the
//! server's per-user session state `S` (delivery cursor, rate limit, ...). A full table
//! refuses the newcomer; it never evicts an active user.
//!
//! Names are unique by confusable skeleton: two users never share a key
//! ([`crate::name_policy::key`]), so no user can take a case variant or a look-alike of
//! another's name.

use core::net::SocketAddr;

use crate::address::PeerAddress;
use crate::error::TableError;
use crate::name_policy::NameKey;
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

/// A fixed-capacity table of users. `N` slots are allocated; `capacity` (at most `N`) of
/// them may be used, so one build can serve different configured sizes.
#[derive(Debug)]
pub struct UserTable<S, const N: usize, A = SocketAddr> {
    slots: [Option<User<S, A>>; N],
    capacity: usize,
    len: usize,
}

impl<S, const N: usize, A: PeerAddress> UserTable<S, N, A> {
    /// An empty table that admits up to `capacity` users (at most `N`).
    pub fn new(capacity: usize) -> Self {
        UserTable { slots: [const { None }; N], capacity: capacity.min(N), len: 0 }
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
    /// user's name), an address or token
    /// already in use, and a full table; the state comes back with the error.
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
        if self.len >= self.capacity {
            return Err((TableError::Full { capacity: self.capacity }, state));
        }
        let free = self.slots.iter().take(self.capacity).position(Option::is_none);
        let Some((index, slot)) = free.and_then(|i| Some((i, self.slots.get_mut(i)?))) else {
            return Err((TableError::Full { capacity: self.capacity }, state));
        };
        let Ok(id) = u16::try_from(index) else {
            return Err((TableError::Full { capacity: self.capacity }, state));
        };
        *slot = Some(User { addr, token, name: NameBuf::new(name), key, last_heard: now, state });
        self.len += 1;
        Ok(SlotId(id))
    }

    /// Removes a user and returns it.
    pub fn remove(&mut self, slot: SlotId) -> Option<User<S, A>> {
        let user = self.slots.get_mut(slot.index())?.take()?;
        self.len -= 1;
        Some(user)
    }

    /// The user in `slot`.
    pub fn get(&self, slot: SlotId) -> Option<&User<S, A>> {
        self.slots.get(slot.index())?.as_ref()
    }

    /// The user in `slot`, mutable.
    pub fn get_mut(&mut self, slot: SlotId) -> Option<&mut User<S, A>> {
        self.slots.get_mut(slot.index())?.as_mut()
    }

    /// The user at `addr`.
    pub fn by_addr(&self, addr: A) -> Option<SlotId> {
        self.find(|user| user.addr == addr)
    }

    /// The user called `name` or a name with the same key (a case variant or look-alike).
    pub fn by_name(&self, name: Name<'_>) -> Option<SlotId> {
        self.by_key(name.key())
    }

    /// The user whose name has `key`. A scan of the slots, like the other lookups.
    pub fn by_key(&self, key: NameKey) -> Option<SlotId> {
        self.find(|user| user.key == key)
    }

    /// How many users' addresses are on the same host as `addr` (any port).
    pub fn count_same_host(&self, addr: A) -> usize {
        self.iter().filter(|(_, user)| user.addr.same_host(&addr)).count()
    }

    /// The user whose session has `token`.
    pub fn by_token(&self, token: Token) -> Option<SlotId> {
        if token.is_none() {
            return None;
        }
        self.find(|user| user.token == token)
    }

    /// Moves a user to a new address (after it proved it holds the session there).
    pub fn move_to(&mut self, slot: SlotId, addr: A) -> Result<(), TableError> {
        if self.by_addr(addr).is_some_and(|other| other != slot) {
            return Err(TableError::AddressTaken);
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

    /// The first user silent for `idle` or longer at `now`.
    pub fn first_expired(&self, now: Instant, idle: Duration) -> Option<SlotId> {
        self.find(|user| now.saturating_since(user.last_heard) >= idle)
    }

    /// When the next user will have been silent for `idle`.
    pub fn next_expiry(&self, idle: Duration) -> Option<Instant> {
        self.iter().map(|(_, user)| user.last_heard + idle).min()
    }

    /// Every user, with its slot.
    pub fn iter(&self) -> impl Iterator<Item = (SlotId, &User<S, A>)> {
        self.slots.iter().enumerate().filter_map(|(i, slot)| {
            let user = slot.as_ref()?;
            Some((SlotId(u16::try_from(i).ok()?), user))
        })
    }

    /// Every user, mutable, with its slot.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (SlotId, &mut User<S, A>)> {
        self.slots.iter_mut().enumerate().filter_map(|(i, slot)| {
            let user = slot.as_mut()?;
            Some((SlotId(u16::try_from(i).ok()?), user))
        })
    }

    /// The slot at `index`, if a user is in it (for round-robin walks).
    pub fn slot_at(&self, index: usize) -> Option<SlotId> {
        self.slots.get(index)?.as_ref()?;
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
        let mut table = UserTable::<u8, 4>::new(4);
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
        let mut table = UserTable::<(), 4>::new(2);
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

    #[test]
    fn expiry_and_reuse() {
        let mut table = UserTable::<(), 2>::new(2);
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
}
