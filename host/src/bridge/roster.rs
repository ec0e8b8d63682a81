//! Who is on the other bridged servers (`docs/BRIDGE.md`, section 7), as their posts
//! said: per server, its users' names and when each joined. It is the core's
//! [`Directory`]: their names are taken here, direct messages to them are accepted for
//! forwarding, and `who` lists them.
//!
//! Two servers may each admit a user with the same name before either hears of the other
//! (the name key of `docs/PROTOCOL.md` section 5 decides "the same"). Every server decides
//! the same winner from the same facts: the earlier `since`, then the smaller server id.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use minichat_core::name_policy::{self, NameKey};
use minichat_core::server::Directory;
use minichat_core::wire::Name;

use crate::bridge::MAX_SERVERS;

/// A name's claim: who holds it and since when.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Claim {
    /// Milliseconds since the Unix epoch, on the claiming server's clock.
    pub(crate) since: u64,
    /// The claiming server's id.
    pub(crate) server: String,
}

impl Claim {
    /// Whether this claim wins over `other` for the same name.
    pub(crate) fn beats(&self, other: &Claim) -> bool {
        self < other
    }
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    since: u64,
}

/// The most users of other servers listed: as many as one server holds, and as many as
/// `who` can count. About 300 bytes each.
pub(crate) const MAX_USERS: usize = 65_535;

/// Why a user of another server is not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unlisted {
    /// The name is not a valid name (the wire's lengths and the name policy).
    InvalidName,
    /// [`MAX_USERS`] are listed already.
    TooManyUsers,
    /// Users of [`MAX_SERVERS`] other servers are listed already.
    TooManyServers,
}

/// How long a server's word that its room is full holds unless said again (it says it
/// again every [`BUSY_REPEAT`] while it lasts): a server that went away says nothing more.
pub(crate) const BUSY_FOR: Duration = Duration::from_secs(2);
/// How often a server whose room stays full says so again.
pub(crate) const BUSY_REPEAT: Duration = Duration::from_millis(500);

/// The other servers' users, and which of their rooms are full.
#[derive(Debug, Default)]
pub(crate) struct Roster {
    /// Per server, its users by name key.
    servers: HashMap<String, HashMap<NameKey, Entry>>,
    /// (name, server) of everyone, for a stable `who` order.
    listed: BTreeSet<(String, String)>,
    /// Servers whose room is full, until when that holds.
    busy: HashMap<String, Instant>,
}

impl Roster {
    /// `server` says `name` joined at `since`; `Err` if it is not listed: `name` is not a
    /// valid name (the wire's lengths and the name policy, `docs/PROTOCOL.md` section 5),
    /// or the roster is full ([`MAX_USERS`], [`MAX_SERVERS`]).
    pub(crate) fn join(
        &mut self,
        server: &str,
        name: &str,
        since: u64,
    ) -> Result<NameKey, Unlisted> {
        name_policy::check(name).map_err(|_| Unlisted::InvalidName)?;
        let key = Name::new(name).map_err(|_| Unlisted::InvalidName)?.key();
        if !self.servers.contains_key(server) && self.servers.len() >= MAX_SERVERS {
            return Err(Unlisted::TooManyServers);
        }
        let known = self.servers.get(server).is_some_and(|users| users.contains_key(&key));
        if !known && self.listed.len() >= MAX_USERS {
            return Err(Unlisted::TooManyUsers);
        }
        let users = self.servers.entry(server.to_owned()).or_default();
        if let Some(old) = users.insert(key, Entry { name: name.to_owned(), since }) {
            self.listed.remove(&(old.name, server.to_owned()));
        }
        self.listed.insert((name.to_owned(), server.to_owned()));
        Ok(key)
    }

    /// `server` says `name` left.
    pub(crate) fn leave(&mut self, server: &str, name: &str) {
        let Ok(name) = Name::new(name) else { return };
        if let Some(old) = self.servers.get_mut(server).and_then(|users| users.remove(&name.key()))
        {
            self.listed.remove(&(old.name, server.to_owned()));
        }
    }

    /// `server` says whether its room is full, at `now`.
    pub(crate) fn set_busy(&mut self, server: &str, busy: bool, now: Instant) {
        if busy && (self.busy.contains_key(server) || self.busy.len() < MAX_SERVERS) {
            self.busy.insert(server.to_owned(), now + BUSY_FOR);
        } else {
            self.busy.remove(server);
        }
    }

    /// Forgets what servers said of a full room longer ago than [`BUSY_FOR`].
    pub(crate) fn expire_busy(&mut self, now: Instant) {
        self.busy.retain(|_, until| *until > now);
    }

    /// Forgets that `server` is full (it is gone).
    pub(crate) fn forget_busy(&mut self, server: &str) {
        self.busy.remove(server);
    }

    /// Forgets `server`'s users (it is gone, or about to say who it has again); returns
    /// how many there were.
    pub(crate) fn forget(&mut self, server: &str) -> usize {
        let Some(users) = self.servers.remove(server) else { return 0 };
        // (The map's memory is given back as it empties: a flood of names leaves none.)
        for entry in users.values() {
            self.listed.remove(&(entry.name.clone(), server.to_owned()));
        }
        users.len()
    }

    /// How many users `server` holds.
    pub(crate) fn count_on(&self, server: &str) -> u64 {
        let users = self.servers.get(server).map_or(0, HashMap::len);
        u64::try_from(users).unwrap_or(u64::MAX)
    }

    /// The claim that wins `key` among the other servers', if any holds it.
    pub(crate) fn owner(&self, key: NameKey) -> Option<Claim> {
        self.servers
            .iter()
            .filter_map(|(server, users)| {
                users.get(&key).map(|e| Claim { since: e.since, server: server.clone() })
            })
            .min()
    }

    /// Everyone, as (name, server), in name order.
    pub(crate) fn users(&self) -> impl Iterator<Item = (&str, &str)> {
        self.listed.iter().map(|(name, server)| (name.as_str(), server.as_str()))
    }
}

impl Directory for Roster {
    fn holds(&self, key: NameKey) -> bool {
        self.servers.values().any(|users| users.contains_key(&key))
    }

    fn len(&self) -> usize {
        self.listed.len()
    }

    fn holds_back(&self) -> bool {
        !self.busy.is_empty()
    }

    fn names_from(&self, start: usize, each: &mut dyn FnMut(Name<'_>, Option<Name<'_>>) -> bool) {
        for (name, server) in self.listed.iter().skip(start) {
            // Stored only once checked, so this always holds.
            if let Ok(name) = Name::new(name)
                && !each(name, Name::new(server).ok())
            {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> NameKey {
        Name::new(name).unwrap().key()
    }

    #[test]
    fn users_come_and_go_per_server() {
        let mut roster = Roster::default();
        roster.join("b", "bob", 5).unwrap();
        roster.join("c", "carol", 6).unwrap();
        roster.join("c", "dave", 7).unwrap();
        assert!(roster.holds(key("BOB")));
        assert_eq!(roster.len(), 3);
        roster.leave("b", "Bob");
        assert!(!roster.holds(key("bob")));
        assert_eq!(roster.forget("c"), 2);
        assert!(roster.is_empty());
        assert_eq!(roster.join("c", "not:valid", 1), Err(Unlisted::InvalidName));
    }

    #[test]
    fn the_roster_lists_a_bounded_number_of_users_and_servers() {
        let mut roster = Roster::default();
        for i in 0..MAX_USERS {
            assert!(roster.join(&format!("s{}", i % 4), &format!("u{i}"), 1).is_ok());
        }
        assert_eq!(roster.join("s0", "one-more", 1), Err(Unlisted::TooManyUsers));
        // A user listed already may say it again; one that leaves makes room.
        assert!(roster.join("s0", "u0", 2).is_ok());
        roster.leave("s1", "u1");
        assert!(roster.join("s0", "one-more", 1).is_ok());
        roster.forget("s0");
        for server in 0..MAX_SERVERS {
            let _ = roster.join(&format!("t{server}"), "x", 1);
        }
        assert_eq!(roster.join("latecomer", "y", 1), Err(Unlisted::TooManyServers));
    }

    #[test]
    fn the_earlier_claim_wins_then_the_smaller_server_id() {
        let mut roster = Roster::default();
        roster.join("b", "alice", 20).unwrap();
        roster.join("a", "Alice", 20).unwrap();
        roster.join("c", "alice", 19).unwrap();
        assert_eq!(roster.owner(key("alice")).map(|c| c.server), Some("c".to_owned()));
        roster.leave("c", "alice");
        assert_eq!(roster.owner(key("alice")).map(|c| c.server), Some("a".to_owned()));
        let mine = Claim { since: 20, server: "0".into() };
        assert!(mine.beats(&roster.owner(key("alice")).unwrap()));
    }

    #[test]
    fn a_full_room_elsewhere_holds_back_until_cleared_or_stale() {
        let mut roster = Roster::default();
        let t = Instant::now();
        roster.set_busy("b", true, t);
        roster.set_busy("c", true, t);
        assert!(roster.holds_back());
        roster.set_busy("b", false, t);
        roster.expire_busy(t + BUSY_FOR / 2);
        assert!(roster.holds_back(), "c said it within BUSY_FOR");
        roster.expire_busy(t + BUSY_FOR);
        assert!(!roster.holds_back(), "c did not say it again");
        roster.set_busy("d", true, t);
        roster.forget_busy("d");
        assert!(!roster.holds_back());
    }

    #[test]
    fn who_pages_in_a_stable_order() {
        let mut roster = Roster::default();
        for (server, name) in [("b", "zed"), ("a", "amy"), ("b", "kim")] {
            roster.join(server, name, 1).unwrap();
        }
        let mut seen = Vec::new();
        roster.names_from(1, &mut |name, place| {
            seen.push(format!("{name}@{}", place.unwrap()));
            true
        });
        assert_eq!(seen, ["kim@b", "zed@b"]);
        assert_eq!(roster.users().collect::<Vec<_>>(), [("amy", "a"), ("kim", "b"), ("zed", "b")]);
    }
}
