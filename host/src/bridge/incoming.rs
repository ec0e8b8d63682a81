//! The other servers' posts, stored here (`docs/BRIDGE.md` sections 3, 7 and 8): room
//! messages as messages from their senders (waiting while the room here is full), direct
//! messages for users here (or bounced), bounces for users here, and who is on the other
//! servers, whose claims on names are weighed against this server's users'.

use minichat_core::error::ServerError;
use minichat_core::time::Instant;
use minichat_core::wire::Name;

use crate::bridge::post::{Body, Post, Present};
use crate::bridge::roster::{self, Claim, Unlisted};
use crate::bridge::{Bridge, MAX_SERVERS, bounce_note, truncate};
use crate::net::server_memory::HostServer;
use crate::term::console;
use crate::term::escape::escape;

/// The most posts of other servers waiting for room here; past it, room messages are
/// stored anyway (overrun users are told they missed messages).
const MAX_WAITING: usize = 65_536;

impl Bridge {
    /// Takes one post of another server's; gives it back if it must wait (a room message
    /// while the room here is full of messages its users still need, unless too many
    /// wait: then it is stored, and whoever is overrun is told they missed messages).
    pub(super) fn on_post(
        &mut self,
        server: &mut HostServer,
        now: Instant,
        post: Post,
    ) -> Option<Post> {
        if matches!(post.body, Body::Say { .. }) {
            return self.on_say(server, now, post);
        }
        let origin = post.server;
        match post.body {
            Body::Say { .. } => {}
            Body::Tell { from, to, at, text } if at == self.id => {
                self.on_tell(server, now, &origin, from, to, text);
            }
            Body::Tell { .. } => {} // for a user of a third server
            Body::Bounce { to, at, name, text } if at == self.id => {
                self.on_bounce(server, now, &to, &name, &text);
            }
            Body::Bounce { .. } => {}
            Body::Joined { name, since } => {
                let (who, at) = (escape(&name), escape(&origin));
                self.presence.push(format!("{who} joined on server {at}"));
                self.on_claim(server, &origin, &name, since);
            }
            Body::Left { name } => {
                let (who, at) = (escape(&name), escape(&origin));
                self.presence.push(format!("{who} left server {at}"));
                self.roster.leave(&origin, &name);
            }
            Body::Roster { first, users } => self.on_roster(server, &origin, first, users),
        }
        None
    }

    /// A room message: stored as a message from its sender, or given back to wait.
    fn on_say(&mut self, server: &mut HostServer, now: Instant, post: Post) -> Option<Post> {
        let Body::Say { from, text } = &post.body else { return None };
        let stored = match Name::new(from) {
            Ok(name) if self.waiting.len() < MAX_WAITING => server.try_relay(now, name, text),
            Ok(name) => server.relay(now, name, text),
            Err(error) => {
                let why = error.to_string();
                self.stored(Err(why), from, &post.server);
                return None;
            }
        };
        if stored == Err(ServerError::RoomFull) {
            return Some(post);
        }
        self.stored(stored.map_err(|e| e.to_string()), from, &post.server);
        None
    }

    /// A direct message for a user here, from `from` on server `origin`; bounced if the
    /// user is gone.
    fn on_tell(
        &mut self,
        server: &mut HostServer,
        now: Instant,
        origin: &str,
        from: String,
        to: String,
        text: String,
    ) {
        let stored = match (Name::new(&from), Name::new(&to)) {
            (Ok(sender), Ok(recipient)) => match server.relay_tell(now, sender, recipient, &text) {
                Err(ServerError::NoSuchUser) => {
                    // Gone meanwhile: the sender's server tells the sender.
                    self.publish(Body::Bounce { to: from, at: origin.to_owned(), name: to, text });
                    return;
                }
                other => other.map_err(|e| e.to_string()),
            },
            (Err(error), _) | (_, Err(error)) => Err(error.to_string()),
        };
        self.stored(stored, &from, origin);
    }

    /// A direct message of `to`'s (a user here) to `name` came back: `to` is told.
    fn on_bounce(
        &mut self,
        server: &mut HostServer,
        now: Instant,
        to: &str,
        name: &str,
        text: &str,
    ) {
        let note = bounce_note(name, text);
        let note = truncate(&note, usize::from(server.config().max_text()));
        let told = Name::new(to).map(|to| server.announce(now, note, Some(to)));
        if !matches!(told, Ok(Ok(_))) {
            self.notices.push(format!(
                "bridge: {to}'s direct message to {name} was not delivered, and {to} is gone too"
            ));
        }
    }

    /// Who is on server `origin` (all of them, when `first`; more, after it).
    fn on_roster(
        &mut self,
        server: &mut HostServer,
        origin: &str,
        first: bool,
        users: Vec<Present>,
    ) {
        if first {
            self.roster.forget(origin);
        }
        for user in users {
            self.on_claim(server, origin, &user.name, user.since);
        }
        let count = self.roster.count_on(origin);
        self.presence.push(format!("server {origin} has {}", console::count(count, "user")));
    }

    /// Another server's user holds `name` since `since`. A user of ours with the same
    /// name key who claimed it later loses it; every server decides alike.
    fn on_claim(&mut self, server: &mut HostServer, origin: &str, name: &str, since: u64) {
        let key = match self.roster.join(origin, name, since) {
            Ok(key) => key,
            Err(unlisted) => {
                // Said once per kind; a flood of them is counted only.
                let told = &mut self.unlisted_told;
                let (first, why) = match unlisted {
                    Unlisted::InvalidName => (&mut told.0, "not a valid name".to_owned()),
                    Unlisted::TooManyUsers => (
                        &mut told.1,
                        format!(
                            "the other servers' users listed here are {} already",
                            roster::MAX_USERS
                        ),
                    ),
                    Unlisted::TooManyServers => (
                        &mut told.2,
                        format!("users of {MAX_SERVERS} other servers are listed here already"),
                    ),
                };
                if !*first {
                    *first = true;
                    self.notices.push(format!(
                        "bridge: server {} named a user {}, not listed: {why} (the name is not \
                         reserved here, and direct messages to it are refused; said once)",
                        escape(origin),
                        escape(name)
                    ));
                }
                return;
            }
        };
        let Some((ours, our_since)) = self.claims.get(&key).copied() else { return };
        let theirs = Claim { since, server: origin.to_owned() };
        let mine = Claim { since: our_since, server: self.id.clone() };
        if theirs.beats(&mine) {
            self.claims.remove(&key);
            if server.release_name(ours.as_name()).is_ok() {
                self.notices.push(format!(
                    "bridge: {ours} here and {name} on server {origin} joined at once; {name} was first, so {ours} here must choose another name"
                ));
            }
        }
    }

    fn stored(&mut self, stored: Result<u64, String>, from: &str, origin: &str) {
        match stored {
            Ok(seq) => self.relayed.push_back(seq),
            Err(why) => self.notices.push(format!(
                "bridge: a message from {from:?} on server {origin} was not stored: {why}"
            )),
        }
    }
}
