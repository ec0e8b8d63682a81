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
//! Finding a user by address, token or name key takes expected constant time, whatever
//! the number of users: three hash indexes of `N` buckets, each a chain threaded through
//! the slots (two bytes per slot and per bucket for each), hashed with SipHash under a
//! key the embedding chooses (the server derives it from its secret), so that remote
//! parties, who choose addresses, names and the tokens they try, cannot steer entries
//! into one bucket. Free slots are a chain too, so a join does not scan either. A table
//! of at most [`SCAN_UP_TO`] slots (a firmware server's) is scanned instead: looking at
//! every slot costs less than hashing, and the index code is then not in the program.

use core::hash::Hasher;
use core::net::SocketAddr;

use siphasher::sip::SipHasher24;

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

/// The end of a chain.
const END: u16 = u16::MAX;

/// Tables of at most this many slots find users by scanning them, not by their indexes.
pub const SCAN_UP_TO: usize = 16;

/// One link per index: the next slot in the same bucket (or, for a free slot, `addr` is
/// the next free slot).
#[derive(Debug, Clone, Copy)]
struct Links {
    addr: u16,
    token: u16,
    key: u16,
}

impl Links {
    const NONE: Links = Links { addr: END, token: END, key: END };
}

/// Which index.
#[derive(Debug, Clone, Copy)]
enum Index {
    Addr,
    Token,
    Key,
}

impl Links {
    fn get(&self, index: Index) -> u16 {
        match index {
            Index::Addr => self.addr,
            Index::Token => self.token,
            Index::Key => self.key,
        }
    }

    fn set(&mut self, index: Index, to: u16) {
        match index {
            Index::Addr => self.addr = to,
            Index::Token => self.token = to,
            Index::Key => self.key = to,
        }
    }
}

/// A fixed-capacity table of users. `N` slots are allocated (at most 65,535); `capacity`
/// (at most `N`) of them may be used, so one build can serve different configured sizes.
#[derive(Debug)]
pub struct UserTable<S, const N: usize, A = SocketAddr> {
    slots: [Option<User<S, A>>; N],
    /// Each slot's next slot in its buckets.
    next: [Links; N],
    /// Each bucket's first slot, per index.
    heads: [Links; N],
    /// The first free slot, the rest chained through `next[..].addr` (indexed tables).
    free: u16,
    hash_key: [u8; 16],
    capacity: usize,
    len: usize,
}

impl<S, const N: usize, A: PeerAddress> UserTable<S, N, A> {
    /// An empty table that admits up to `capacity` users (at most `N`), hashing under the
    /// key `hash_key` gives (keep it secret from the network: [`UserTable`]); a table that
    /// scans ([`SCAN_UP_TO`]) never asks for it.
    pub fn new(capacity: usize, hash_key: impl FnOnce() -> [u8; 16]) -> Self {
        let capacity = capacity.min(N).min(usize::from(END));
        let mut next = [Links::NONE; N];
        // Free slots chained in order, so the first join takes slot 0.
        for (i, links) in next.iter_mut().enumerate().take(if Self::INDEXED { capacity } else { 0 })
        {
            links.addr =
                u16::try_from(i + 1).ok().filter(|&n| usize::from(n) < capacity).unwrap_or(END);
        }
        UserTable {
            slots: [const { None }; N],
            next,
            heads: [Links::NONE; N],
            free: if capacity > 0 { 0 } else { END },
            hash_key: if Self::INDEXED { hash_key() } else { [0; 16] },
            capacity,
            len: 0,
        }
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
        let full = TableError::Full { capacity: self.capacity };
        if self.len >= self.capacity {
            return Err((full, state));
        }
        let id = if Self::INDEXED {
            self.free
        } else {
            // A few slots: the first free one, as a scan finds it.
            let free = self.slots.iter().take(self.capacity).position(Option::is_none);
            free.and_then(|i| u16::try_from(i).ok()).unwrap_or(END)
        };
        let (Some(slot), Some(after)) =
            (self.slots.get_mut(usize::from(id)), self.next.get(usize::from(id)).map(|l| l.addr))
        else {
            return Err((full, state));
        };
        *slot = Some(User { addr, token, name: NameBuf::new(name), key, last_heard: now, state });
        if Self::INDEXED {
            self.free = after;
        }
        self.len += 1;
        if Self::INDEXED {
            let (a, t, k) =
                (self.addr_bucket(addr), self.token_bucket(token), self.key_bucket(key));
            self.link(Index::Addr, a, id);
            self.link(Index::Token, t, id);
            self.link(Index::Key, k, id);
        }
        Ok(SlotId(id))
    }

    /// Removes a user and returns it.
    pub fn remove(&mut self, slot: SlotId) -> Option<User<S, A>> {
        let user = self.slots.get_mut(slot.index())?.take()?;
        if Self::INDEXED {
            let (a, t, k) = (
                self.addr_bucket(user.addr),
                self.token_bucket(user.token),
                self.key_bucket(user.key),
            );
            self.unlink(Index::Addr, a, slot.0);
            self.unlink(Index::Token, t, slot.0);
            self.unlink(Index::Key, k, slot.0);
        }
        if let Some(links) = self.next.get_mut(slot.index()).filter(|_| Self::INDEXED) {
            *links = Links { addr: self.free, ..Links::NONE };
            self.free = slot.0;
        }
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

    /// Whether lookups go through the indexes (a constant: the other way is not compiled).
    const INDEXED: bool = N > SCAN_UP_TO;

    /// The user at `addr`.
    pub fn by_addr(&self, addr: A) -> Option<SlotId> {
        if !Self::INDEXED {
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
        if !Self::INDEXED {
            return self.find(|user| user.key == key);
        }
        self.find_in(Index::Key, self.key_bucket(key), |user| user.key == key)
    }

    /// How many users' addresses are on the same host as `addr` (any port). A scan of
    /// every user: it runs for joins only.
    pub fn count_same_host(&self, addr: A) -> usize {
        self.iter().filter(|(_, user)| user.addr.same_host(&addr)).count()
    }

    /// The user whose session has `token`.
    pub fn by_token(&self, token: Token) -> Option<SlotId> {
        if token.is_none() {
            return None;
        }
        if !Self::INDEXED {
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
        if Self::INDEXED {
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

    /// The first user of `bucket` in `index` that `matches`: a walk of one chain.
    fn find_in(
        &self,
        index: Index,
        bucket: usize,
        matches: impl Fn(&User<S, A>) -> bool,
    ) -> Option<SlotId> {
        let mut at = self.heads.get(bucket)?.get(index);
        // Bounded by the slots, whatever the links say.
        for _ in 0..N {
            let user = self.slots.get(usize::from(at))?.as_ref()?;
            if matches(user) {
                return Some(SlotId(at));
            }
            at = self.next.get(usize::from(at))?.get(index);
        }
        None
    }

    /// Puts slot `id` first in `bucket` of `index`.
    fn link(&mut self, index: Index, bucket: usize, id: u16) {
        let Some(head) = self.heads.get_mut(bucket) else { return };
        let first = head.get(index);
        head.set(index, id);
        if let Some(links) = self.next.get_mut(usize::from(id)) {
            links.set(index, first);
        }
    }

    /// Takes slot `id` out of `bucket` of `index`.
    fn unlink(&mut self, index: Index, bucket: usize, id: u16) {
        let after = self.next.get(usize::from(id)).map_or(END, |links| links.get(index));
        let Some(head) = self.heads.get_mut(bucket) else { return };
        if head.get(index) == id {
            head.set(index, after);
            return;
        }
        let mut at = head.get(index);
        for _ in 0..N {
            let Some(links) = self.next.get_mut(usize::from(at)) else { return };
            if links.get(index) == id {
                links.set(index, after);
                return;
            }
            at = links.get(index);
        }
    }

    fn bucket(&self, hash: u64) -> usize {
        // Lemire's reduction: the high half of a 32×32-bit product, no division.
        let low = hash & 0xffff_ffff;
        let n = u64::try_from(N).unwrap_or(u64::MAX);
        usize::try_from(low.saturating_mul(n) >> 32).unwrap_or(0)
    }

    fn hasher(&self, index: u8) -> SipHasher24 {
        let mut hasher = SipHasher24::new_with_key(&self.hash_key);
        hasher.write_u8(index);
        hasher
    }

    fn addr_bucket(&self, addr: A) -> usize {
        let mut hasher = self.hasher(0);
        addr.write_key(&mut hasher);
        self.bucket(hasher.finish())
    }

    fn token_bucket(&self, token: Token) -> usize {
        let mut hasher = self.hasher(1);
        hasher.write_u64(token.0);
        self.bucket(hasher.finish())
    }

    fn key_bucket(&self, key: NameKey) -> usize {
        let mut hasher = self.hasher(2);
        hasher.write_u64(key.to_u64());
        self.bucket(hasher.finish())
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
        let mut table = UserTable::<u8, 4>::new(4, || [3; 16]);
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
        let mut table = UserTable::<(), 4>::new(2, || [3; 16]);
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
        let mut table = UserTable::<(), 1024>::new(1024, || [7; 16]);
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
                    let mut at = table.heads[b].get(index);
                    let mut len = 0;
                    while at != END {
                        len += 1;
                        at = table.next[usize::from(at)].get(index);
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
        let mut table = UserTable::<(), 2>::new(2, || [3; 16]);
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
