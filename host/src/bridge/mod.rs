//! `minichat serve --bridge mqtt[s]://[USER@]HOST:PORT[/PREFIX]`: servers that share one
//! room through an MQTT broker (`docs/BRIDGE.md`).
//!
//! The server's loop hands the link (`link.rs`, a thread that speaks MQTT through rumqttc)
//! each new room message of its own, each direct message to a user of another server, and
//! each join and leave (`outgoing.rs`). The link hands back the other servers' posts, in
//! order and once (`arrivals.rs`), on the topics of `topics.rs`: room messages are stored
//! as messages from that server's user ([`minichat_core::server::Server::relay`]), direct
//! messages for users here are stored for them (or bounced back), and joins and leaves keep
//! the roster of the other servers' users (`roster.rs`), which the server consults for
//! names, direct messages and `who` (`incoming.rs`). Messages that came through the bridge
//! are never published again. Servers given one fleet key seal everything they publish
//! with it (`seal.rs`) and take only fresh messages (`fresh.rs`); the broker's own
//! protections, a user's password and TLS, are `access.rs`'s.

mod access;
mod arrivals;
mod fresh;
mod incoming;
pub(crate) mod link;
mod outgoing;
mod post;
mod roster;
pub(crate) mod seal;
mod topics;
mod url;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use minichat_core::name_policy::NameKey;
use minichat_core::time::Instant;
use minichat_core::wire::NameBuf;
use mio::Waker;

pub(crate) use self::access::BridgeAccess;
use self::link::{FromLink, Link, ToLink};
use self::post::Post;
pub(crate) use self::roster::Roster;
use self::seal::BridgeSeal;
pub(crate) use self::url::BridgeUrl;

/// `serve --bridge` and the flags that go with it.
#[derive(Debug, Clone)]
pub(crate) struct BridgeOptions {
    /// The broker and the topic prefix.
    pub(crate) url: BridgeUrl,
    /// `--bridge-password-file`: the URL's user's password.
    pub(crate) password_file: Option<std::path::PathBuf>,
    /// `--bridge-ca`: the authorities of the broker's certificate (`mqtts://`).
    pub(crate) ca_file: Option<std::path::PathBuf>,
    /// `--anyone-on-the-broker-may-speak-for-users`: a bridge in the clear is allowed.
    pub(crate) anyone_may_speak: bool,
}
use crate::error::HostError;
use crate::net::server_memory::HostServer;
use crate::term::console;

/// The bridge as the server's loop sees it.
#[derive(Debug)]
pub(crate) struct Bridge {
    /// This server's id.
    id: String,
    to_link: Sender<ToLink>,
    from_link: Receiver<FromLink>,
    thread: Option<JoinHandle<()>>,
    /// The last room message handed to the link or passed over.
    exported: u64,
    /// Room sequence numbers of the messages that came through the bridge, in order.
    relayed: VecDeque<u64>,
    /// The other servers' posts, in order, not yet taken: a room message waits at the
    /// front while the room here is full of messages its users still need.
    waiting: VecDeque<Post>,
    /// The other servers' users.
    roster: Roster,
    /// This server's users' claims on their names, by name key: (name, since).
    claims: HashMap<NameKey, (NameBuf, u64)>,
    notices: Vec<String>,
    /// The other servers' joins and leaves, for the console.
    presence: Vec<String>,
    /// Whether the operator was told of a user not listed: for an invalid name, a full
    /// roster, too many servers.
    unlisted_told: (bool, bool, bool),
    /// Whether this server last said its room is full, and when it last looked and said.
    busy: bool,
    busy_checked: std::time::Instant,
    busy_told: std::time::Instant,
}

impl Bridge {
    /// Starts the link to the broker at `url`, waking the server's loop through `waker`;
    /// the room's messages up to `newest` are not published.
    /// With `fleet_key`, everything published is sealed with the fleet's bridge key.
    pub(crate) fn start(
        url: BridgeUrl,
        access: BridgeAccess,
        waker: Arc<Waker>,
        newest: u64,
        fleet_key: Option<&[u8; 32]>,
    ) -> Result<Bridge, HostError> {
        let number = getrandom::u64().map_err(HostError::Random)?;
        let id = format!("{number:016x}");
        let (to_link, requests) = channel();
        let (out, from_link) = channel();
        let seal = fleet_key.map(|key| BridgeSeal::new(key, number));
        let link = Link::new(url, access, id.clone(), requests, out, waker, seal);
        let thread = std::thread::Builder::new()
            .name("bridge".into())
            .spawn(move || link.run())
            .map_err(HostError::Thread)?;
        Ok(Bridge {
            id,
            to_link,
            from_link,
            thread: Some(thread),
            exported: newest,
            relayed: VecDeque::new(),
            waiting: VecDeque::new(),
            roster: Roster::default(),
            claims: HashMap::new(),
            notices: Vec::new(),
            presence: Vec::new(),
            unlisted_told: (false, false, false),
            busy: false,
            busy_checked: std::time::Instant::now(),
            busy_told: std::time::Instant::now(),
        })
    }

    /// The other servers' users, for the server's `handle_with` and the console.
    pub(crate) fn roster(&self) -> &Roster {
        &self.roster
    }

    /// Stores what came from the other servers and hands the link this server's new
    /// messages; returns whether anything came (the server has deliveries to send).
    pub(crate) fn exchange(&mut self, server: &mut HostServer, now: Instant) -> bool {
        loop {
            match self.from_link.try_recv() {
                Ok(FromLink::Post(post)) => self.waiting.push_back(post),
                Ok(FromLink::Busy(other, busy)) => {
                    self.roster.set_busy(&other, busy, std::time::Instant::now());
                }
                Ok(FromLink::Gone(other)) => {
                    self.roster.forget_busy(&other);
                    let users = self.roster.forget(&other);
                    self.notices.push(format!(
                        "bridge: server {other} left the room ({} gone with it)",
                        console::count(u64::try_from(users).unwrap_or(u64::MAX), "user")
                    ));
                }
                Ok(FromLink::Notice(notice)) => self.notices.push(notice),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.notices.push("bridge: the link to the broker stopped".into());
                    break;
                }
            }
        }
        let mut came = false;
        while let Some(post) = self.waiting.pop_front() {
            if let Some(post) = self.on_post(server, now, post) {
                self.waiting.push_front(post);
                break;
            }
            came = true;
        }
        self.export(server, now);
        self.say_if_busy(server, std::time::Instant::now());
        came
    }

    /// Tells the other servers whether this server's room is full, when that changes
    /// (looked at every [`BUSY_CHECK`]) and again every [`roster::BUSY_REPEAT`] while it
    /// lasts; forgets what they said longer ago than [`roster::BUSY_FOR`].
    fn say_if_busy(&mut self, server: &HostServer, now: std::time::Instant) {
        self.roster.expire_busy(now);
        if now.duration_since(self.busy_checked) < BUSY_CHECK {
            return;
        }
        self.busy_checked = now;
        let busy = server.is_backed_up();
        let again = busy && now.duration_since(self.busy_told) >= roster::BUSY_REPEAT;
        if busy != self.busy || again {
            self.busy = busy;
            self.busy_told = now;
            let _ = self.to_link.send(ToLink::Busy(busy));
        }
    }

    /// What the operator should know since the last call.
    pub(crate) fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    /// The other servers' joins and leaves since the last call, for the console.
    pub(crate) fn take_presence(&mut self) -> Vec<String> {
        std::mem::take(&mut self.presence)
    }

    /// Stops the link: what waits for the broker goes out if the broker takes it within a
    /// second, and the others are told this server is gone.
    pub(crate) fn stop(mut self) {
        let _ = self.to_link.send(ToLink::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How often a server looks whether its room is full.
const BUSY_CHECK: std::time::Duration = std::time::Duration::from_millis(5);

/// The most other servers a bridge keeps anything for: past it, the one heard from
/// longest ago is forgotten (the order of their posts, where this server's posts start
/// for them, what they sealed: server ids change at every start, so old ones fall
/// silent), or a new one's users are not listed (the roster, whose entries go when their
/// server says goodbye).
pub(crate) const MAX_SERVERS: usize = 256;

/// Milliseconds since the Unix epoch (0 for a clock set before it).
pub(crate) fn wall_clock_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// What a user here is told of a direct message that found no `name` on any server.
fn bounce_note(name: &str, text: &str) -> String {
    format!("no user named {name} is connected on any server; not delivered: {text}")
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use minichat_core::client::{ClientConfig, OwnedClientEvent};
    use minichat_core::server::{Alone, Directory, ServerConfig};

    use super::*;
    use crate::bridge::post::Body;
    use crate::net::client_loop::HostClient;
    use crate::net::peer::Peer;
    use crate::net::server_memory::{DEFAULT_BUFFER, host_server};

    const OTHER: &str = "90be1c55d2e04a17";

    /// A bridge with no link thread: what it would hand the link comes out of the
    /// returned receiver; what the link would bring goes into the sender.
    fn bridge() -> (Bridge, Sender<FromLink>, Receiver<ToLink>) {
        let (to_link, requests) = channel();
        let (out, from_link) = channel();
        let bridge = Bridge {
            id: "3f2a9c0d11b7e845".into(),
            to_link,
            from_link,
            thread: None,
            exported: 0,
            relayed: VecDeque::new(),
            waiting: VecDeque::new(),
            roster: Roster::default(),
            claims: HashMap::new(),
            notices: Vec::new(),
            presence: Vec::new(),
            unlisted_told: (false, false, false),
            busy: false,
            busy_checked: std::time::Instant::now(),
            busy_told: std::time::Instant::now(),
        };
        (bridge, out, requests)
    }

    struct Room {
        server: Box<HostServer>,
        clients: Vec<(Peer, HostClient)>,
        now: Instant,
    }

    impl Room {
        /// A server with `names` joined, over no network.
        fn with(names: &[&str]) -> Room {
            let server = host_server(ServerConfig::new([7; 16], 1), DEFAULT_BUFFER).unwrap();
            let server_addr = Peer::Udp(SocketAddr::from(([127, 0, 0, 1], 8080)));
            let clients = names
                .iter()
                .zip(9000..)
                .map(|(name, port)| {
                    let addr = Peer::Udp(SocketAddr::from(([127, 0, 0, 1], port)));
                    let config = ClientConfig::new(name, server_addr, 0x5eed).unwrap();
                    (addr, HostClient::new(config, Instant::ZERO))
                })
                .collect();
            let mut room = Room { server, clients, now: Instant::ZERO };
            room.turn(&Alone);
            room
        }

        /// Datagrams both ways until nothing moves, the server knowing `directory`.
        fn turn(&mut self, directory: &dyn Directory) {
            let mut buf = [0u8; 1024];
            let mut reply = [0u8; 1024];
            for _ in 0..100 {
                let mut moved = false;
                for (addr, client) in &mut self.clients {
                    while let Some(t) = client.poll_transmit(self.now, &mut buf) {
                        moved = true;
                        let datagram = buf.get(..t.len).unwrap();
                        let server = &mut self.server;
                        if let Some(r) =
                            server.handle_with(self.now, *addr, datagram, &mut reply, directory)
                        {
                            client.handle(self.now, t.destination, reply.get(..r.len).unwrap());
                        }
                    }
                }
                while let Some(t) = self.server.poll_transmit(self.now, &mut buf) {
                    moved = true;
                    if let Some((_, client)) =
                        self.clients.iter_mut().find(|(addr, _)| *addr == t.destination)
                    {
                        let server_addr = *client.config().server();
                        client.handle(self.now, server_addr, buf.get(..t.len).unwrap());
                    }
                }
                if !moved {
                    return;
                }
            }
        }

        /// What client `i` was told: (from, text, direct).
        fn heard(&mut self, i: usize) -> Vec<(String, String, bool)> {
            let client = &mut self.clients.get_mut(i).unwrap().1;
            std::iter::from_fn(|| client.poll_event().map(|e| e.into_owned()))
                .filter_map(|event| match event {
                    OwnedClientEvent::Message { from, text, direct, .. } => {
                        Some((from.to_string(), text.to_string(), direct))
                    }
                    _ => None,
                })
                .collect()
        }
    }

    fn post(seq: u64, body: Body) -> FromLink {
        FromLink::Post(Post { v: 1, server: OTHER.into(), seq, body })
    }

    #[test]
    fn a_tell_for_a_user_here_is_delivered_and_one_for_a_user_gone_bounces() {
        let mut room = Room::with(&["bob"]);
        let (mut bridge, link, published) = bridge();
        let me = bridge.id.clone();
        let tell = |seq, to: &str| {
            let (from, to, at) = ("alice".into(), to.into(), me.clone());
            post(seq, Body::Tell { from, to, at, text: "hi".into() })
        };
        link.send(tell(1, "bob")).unwrap();
        link.send(tell(2, "carol")).unwrap();
        bridge.exchange(&mut room.server, room.now);
        room.turn(&Alone);
        assert_eq!(room.heard(0), [("alice".into(), "hi".into(), true)]);
        let bounce = published.try_iter().find_map(|request| match request {
            ToLink::Post(Body::Bounce { to, at, name, text }) => Some((to, at, name, text)),
            _ => None,
        });
        assert_eq!(bounce, Some(("alice".into(), OTHER.into(), "carol".into(), "hi".into())));
    }

    #[test]
    fn a_bounce_tells_the_sender_here_what_was_not_delivered() {
        let mut room = Room::with(&["alice"]);
        let (mut bridge, link, _published) = bridge();
        let (to, at, name, text) = ("alice".into(), bridge.id.clone(), "carol".into(), "hi".into());
        link.send(post(1, Body::Bounce { to, at, name, text })).unwrap();
        bridge.exchange(&mut room.server, room.now);
        room.turn(&Alone);
        let heard = room.heard(0);
        assert_eq!(heard.len(), 1, "{heard:?}");
        let (from, text, direct) = &heard[0];
        assert_eq!((from.as_str(), *direct), ("server", true));
        assert_eq!(text, "no user named carol is connected on any server; not delivered: hi");
    }

    #[test]
    fn a_tell_to_another_servers_user_is_published_for_its_server() {
        let mut room = Room::with(&["alice"]);
        let (mut bridge, link, published) = bridge();
        link.send(post(1, Body::Joined { name: "bob".into(), since: 5 })).unwrap();
        bridge.exchange(&mut room.server, room.now);
        let (_, alice) = room.clients.get_mut(0).unwrap();
        alice.tell(room.now, "Bob", "hi bob").unwrap();
        room.turn(bridge.roster());
        bridge.exchange(&mut room.server, room.now);
        let tell = published.try_iter().find_map(|request| match request {
            ToLink::Post(Body::Tell { from, to, at, text }) => Some((from, to, at, text)),
            _ => None,
        });
        assert_eq!(tell, Some(("alice".into(), "Bob".into(), OTHER.into(), "hi bob".into())));
    }

    #[test]
    fn of_two_claims_on_one_name_the_earlier_keeps_it() {
        let mut room = Room::with(&["carol"]);
        let (mut bridge, link, _published) = bridge();
        while let Some(event) = room.server.poll_event() {
            bridge.on_event(&event);
        }
        // A later claim elsewhere changes nothing here.
        let later = wall_clock_ms() + 60_000;
        link.send(post(1, Body::Joined { name: "Carol".into(), since: later })).unwrap();
        bridge.exchange(&mut room.server, room.now);
        room.turn(&Alone);
        assert_eq!(room.server.user_count(), 1);
        // An earlier one wins: carol here is told, and goes.
        link.send(post(
            2,
            Body::Roster {
                first: true,
                users: vec![post::Present { name: "CAROL".into(), since: 1 }],
            },
        ))
        .unwrap();
        bridge.exchange(&mut room.server, room.now);
        room.turn(&Alone);
        assert_eq!(room.server.user_count(), 0);
        let (_, carol) = room.clients.get_mut(0).unwrap();
        let events: Vec<_> =
            std::iter::from_fn(|| carol.poll_event().map(|e| e.into_owned())).collect();
        assert!(
            events.iter().any(|e| matches!(e, OwnedClientEvent::NameTaken { .. })),
            "{events:?}"
        );
    }
}
