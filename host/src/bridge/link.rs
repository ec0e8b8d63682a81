//! The bridge's connection to the broker, on a thread of its own: it numbers and publishes
//! this server's posts (holding them while the broker is away, keeping the last ones for
//! replays), says who is here at each connection and to each server it meets, subscribes
//! to the other servers' posts, puts them in order, answers and sends replay requests,
//! passes on goodbyes, and reconnects with back-off (`docs/BRIDGE.md`). On a sealed
//! bridge it takes only fresh messages (`fresh.rs`).
//!
//! MQTT 5, so that the broker drops a publish larger than [`MAX_PACKET`] for this server
//! instead of sending it (under MQTT 3.1.1 the client could only drop its connection).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use mio::Waker;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, LastWill, Packet};
use rumqttc::v5::{Client, Connection, ConnectionError, Event, MqttOptions, RecvTimeoutError};

use crate::bridge::access::{self, BridgeAccess};
use crate::bridge::arrivals::Arrival;
use crate::bridge::arrivals::Arrivals;
use crate::bridge::fresh::{Freshness, Stale};
use crate::bridge::post::{
    Body, Busy, Hello, Met, Post, Present, ReplayRequest, VERSION, from_json, to_json,
};
use crate::bridge::seal::{BridgeSeal, Stamp};
use crate::bridge::{BridgeUrl, MAX_SERVERS, wall_clock_ms};

/// Posts kept for replays, and the most waiting for the broker.
pub(crate) const KEPT: usize = 4096;
/// The first wait before trying the broker again, doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long the thread waits on the broker before looking at its requests again.
const TICK: Duration = Duration::from_millis(20);
/// Requests rumqttc queues towards the broker.
const REQUESTS: usize = 256;
/// Users per roster post: at most about 30 KB of JSON, names escaped at their longest.
const ROSTER_CHUNK: usize = 200;
/// The largest MQTT packet this server takes (the broker drops larger ones for it) or
/// sends: a post, a roster chunk, sealed, with room to spare.
pub(crate) const MAX_PACKET: u32 = 64 * 1024;
/// How often the other servers' replay requests are served, at most: requests that come
/// meanwhile are served together, from the earliest post any of them asked for.
const REPLAY_EVERY: Duration = Duration::from_secs(1);
/// How often the link sends itself a message through the broker while connected, and how
/// long it waits for one before it takes the connection for broken and makes a new one.
const ECHO_EVERY: Duration = Duration::from_secs(10);
const ECHO_LOST: Duration = Duration::from_secs(30);

/// From the server's loop to the link.
#[derive(Debug)]
pub(crate) enum ToLink {
    /// Something of this server's to publish, in order.
    Post(Body),
    /// Whether this server's room is full: the others hold their senders back.
    Busy(bool),
    Stop,
}

/// From the link to the server's loop.
#[derive(Debug)]
pub(crate) enum FromLink {
    /// A post of another server's, in order: store it.
    Post(Post),
    /// A server said goodbye, or the broker lost it: its users are gone.
    Gone(String),
    /// A server says whether its room is full.
    Busy(String, bool),
    /// Something the operator should know.
    Notice(String),
}

/// The link's state, on its thread.
pub(crate) struct Link {
    url: BridgeUrl,
    server: String,
    client: Client,
    connection: Connection,
    requests: Receiver<ToLink>,
    out: Sender<FromLink>,
    waker: Arc<Waker>,
    next_seq: u64,
    /// Numbered, not yet taken by the broker.
    outbox: VecDeque<Post>,
    /// Taken by the broker, kept for replays.
    kept: VecDeque<Post>,
    /// Kept posts asked for again, not yet taken.
    resend: VecDeque<Post>,
    /// Replay requests not served yet: posts after this one are asked for.
    replay_after: Option<u64>,
    /// When the last replay was served.
    replayed_at: Option<Instant>,
    arrivals: Arrivals,
    /// Per server met: the number of this server's last post the broker had taken then
    /// (its posts after it are that server's), and when that server last greeted.
    met: HashMap<String, (u64, Instant)>,
    /// The number of the last post the broker took.
    published: u64,
    /// This server's users as its numbered posts say (name, since).
    users: BTreeMap<String, u64>,
    connected: bool,
    ever_connected: bool,
    backoff: Duration,
    /// The server's loop said stop.
    stopping: bool,
    /// The fleet's key, when the bridge is sealed (`docs/BRIDGE.md` section 9).
    seal: Option<BridgeSeal>,
    /// Sealed messages seen per sender, so a recorded one is not taken again.
    freshness: Freshness,
    /// The number the current last will is sealed with (a sealed bridge's).
    will: Option<u64>,
    /// The last echo sent and when one last came back (`ECHO_EVERY`).
    echo_sent: Option<Instant>,
    echo_heard: Instant,
    /// Messages dropped, each kind said once to the operator and then only counted: not
    /// opening with the fleet's key, not fresh, not a message of docs/BRIDGE.md.
    unopened: Dropped,
    stale: Dropped,
    malformed: Dropped,
}

/// Messages of one kind the link dropped: the operator is told of the first.
#[derive(Debug, Default)]
struct Dropped {
    count: u64,
}

impl Dropped {
    /// Counts one; whether it is the first.
    fn first(&mut self) -> bool {
        self.count += 1;
        self.count == 1
    }
}

impl Link {
    pub(crate) fn new(
        url: BridgeUrl,
        access: BridgeAccess,
        server: String,
        requests: Receiver<ToLink>,
        out: Sender<FromLink>,
        waker: Arc<Waker>,
        seal: Option<BridgeSeal>,
    ) -> Link {
        let mut options =
            MqttOptions::new(format!("minichat-{server}"), url.host.clone(), url.port);
        options.set_keep_alive(Duration::from_secs(5));
        // Nothing is left on the broker for a server that is gone: what a server missed
        // while away comes back by replay.
        options.set_clean_start(true);
        // The broker drops what is larger for this server, rather than send it.
        options.set_max_packet_size(Some(MAX_PACKET));
        // mosquitto 2.0 counts each message it drops for being too large against this
        // (and never gives it back): as many as it allows (`ECHO_LOST` catches the rest).
        options.set_receive_maximum(Some(u16::MAX));
        if let Some((user, password)) = access.credentials {
            options.set_credentials(user, password);
        }
        if let Some(tls) = access.tls {
            options.set_transport(access::transport(tls));
        }
        let (client, connection) = Client::new(options, REQUESTS);
        let mut link = Link {
            url,
            server,
            client,
            connection,
            requests,
            out,
            waker,
            next_seq: 1,
            outbox: VecDeque::new(),
            kept: VecDeque::new(),
            resend: VecDeque::new(),
            replay_after: None,
            replayed_at: None,
            arrivals: Arrivals::default(),
            met: HashMap::new(),
            published: 0,
            users: BTreeMap::new(),
            connected: false,
            ever_connected: false,
            backoff: FIRST_BACKOFF,
            stopping: false,
            seal,
            freshness: Freshness::default(),
            will: None,
            echo_sent: None,
            echo_heard: Instant::now(),
            unopened: Dropped::default(),
            stale: Dropped::default(),
            malformed: Dropped::default(),
        };
        link.arm_will();
        link
    }

    /// Lost without a goodbye, the broker says it for us: the others forget our users.
    /// Sealed anew before every connection, with a number the greeting then names.
    fn arm_will(&mut self) {
        let gone = self.gone_topic(&self.server);
        let goodbye = to_json(&Hello { v: VERSION, will: None });
        let payload = match &self.seal {
            Some(seal) => {
                let n = seal.reserve();
                self.will = Some(n);
                seal.seal_as(&gone, &goodbye, n, wall_clock_ms()).unwrap_or_default()
            }
            None => goodbye,
        };
        let will = LastWill::new(gone, payload, QoS::AtLeastOnce, false, None);
        self.connection.eventloop.options.set_last_will(will);
    }

    /// `payload` as it goes on `topic`: sealed, on a sealed bridge.
    fn outgoing(&self, topic: &str, payload: Vec<u8>) -> Option<Vec<u8>> {
        let Some(seal) = &self.seal else { return Some(payload) };
        match seal.seal(topic, &payload, wall_clock_ms()) {
            Ok(sealed) => Some(sealed),
            Err(error) => {
                self.notice(format!("bridge: {error}; not published"));
                None
            }
        }
    }

    fn room_topic(&self, server: &str) -> String {
        format!("{}/room/{server}", self.url.prefix)
    }

    fn replay_topic(&self, server: &str) -> String {
        format!("{}/replay/{server}", self.url.prefix)
    }

    fn hello_topic(&self, server: &str) -> String {
        format!("{}/hello/{server}", self.url.prefix)
    }

    fn met_topic(&self, server: &str) -> String {
        format!("{}/met/{server}", self.url.prefix)
    }

    fn gone_topic(&self, server: &str) -> String {
        format!("{}/gone/{server}", self.url.prefix)
    }

    fn busy_topic(&self, server: &str) -> String {
        format!("{}/busy/{server}", self.url.prefix)
    }

    fn echo_topic(&self) -> String {
        format!("{}/echo/{}", self.url.prefix, self.server)
    }

    fn send(&self, topic: String, payload: Vec<u8>) {
        let Some(payload) = self.outgoing(&topic, payload) else { return };
        let sent = self.client.try_publish(&topic, QoS::AtLeastOnce, false, payload);
        tracing::debug!(topic, ?sent, "bridge: sent");
    }

    fn tell(&self, message: FromLink) {
        let _ = self.out.send(message);
        let _ = self.waker.wake();
    }

    fn notice(&self, text: String) {
        self.tell(FromLink::Notice(text));
    }

    /// Runs until the server's loop says stop (or is gone).
    pub(crate) fn run(mut self) {
        loop {
            self.take_requests();
            if self.stopping {
                self.finish();
                return;
            }
            if self.connected {
                self.publish();
                self.watch_echo();
            }
            match self.connection.recv_timeout(TICK) {
                Ok(Ok(event)) => self.on_event(event),
                Ok(Err(error)) => self.on_error(&error),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Stopping: what waits is handed to the broker, if it is there, within a second.
    fn finish(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.connected && !self.outbox.is_empty() && Instant::now() < deadline {
            self.publish();
            if !matches!(
                self.connection.recv_timeout(TICK),
                Ok(Ok(_)) | Err(RecvTimeoutError::Timeout)
            ) {
                break;
            }
        }
        // Goodbye, so the others forget our users now; a moment for rumqttc to write what
        // it took, then a clean disconnect.
        if self.connected {
            let goodbye = Hello { v: VERSION, will: None };
            self.send(self.gone_topic(&self.server), to_json(&goodbye));
        }
        let _ = self.client.disconnect();
        while Instant::now() < deadline {
            match self.connection.recv_timeout(TICK) {
                Ok(Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect))) | Ok(Err(_)) => return,
                Err(RecvTimeoutError::Disconnected) => return,
                _ => {}
            }
        }
    }

    /// Numbers the posts the server's loop sent; notes when it says stop.
    fn take_requests(&mut self) {
        while !self.stopping {
            match self.requests.try_recv() {
                Ok(ToLink::Post(body)) => self.number(body),
                Ok(ToLink::Busy(busy)) => {
                    // Now or never: an old state is no use later (it is said again).
                    if self.connected {
                        self.send(
                            self.busy_topic(&self.server),
                            to_json(&Busy { v: VERSION, busy }),
                        );
                    }
                }
                Ok(ToLink::Stop) | Err(TryRecvError::Disconnected) => self.stopping = true,
                Err(TryRecvError::Empty) => return,
            }
        }
    }

    /// Numbers a post and queues it for the broker.
    fn number(&mut self, body: Body) {
        match &body {
            Body::Joined { name, since } => {
                self.users.insert(name.clone(), *since);
            }
            Body::Left { name } => {
                self.users.remove(name);
            }
            _ => {}
        }
        let post = Post { v: VERSION, server: self.server.clone(), seq: self.next_seq, body };
        self.next_seq += 1;
        self.outbox.push_back(post);
        if self.outbox.len() > KEPT {
            self.outbox.pop_front();
            self.notice(format!(
                "bridge: more than {KEPT} posts waiting for the broker; the oldest is dropped"
            ));
        }
    }

    /// Says who is here, as posts of their own numbered after everything before: what
    /// the others knew of this server's users is replaced by it.
    fn post_roster(&mut self) {
        let users: Vec<Present> =
            self.users.iter().map(|(name, &since)| Present { name: name.clone(), since }).collect();
        let mut chunks = users.chunks(ROSTER_CHUNK);
        let first = chunks.next().map(<[Present]>::to_vec).unwrap_or_default();
        self.number(Body::Roster { first: true, users: first });
        for chunk in chunks {
            self.number(Body::Roster { first: false, users: chunk.to_vec() });
        }
    }

    /// Hands waiting posts to rumqttc, replays first, while it takes them.
    fn publish(&mut self) {
        let now = Instant::now();
        if self.resend.is_empty()
            && self.replayed_at.is_none_or(|at| now >= at + REPLAY_EVERY)
            && let Some(after) = self.replay_after.take()
        {
            self.replayed_at = Some(now);
            let again = self.kept.iter().filter(|post| post.seq > after);
            self.resend.extend(again.cloned());
        }
        let topic = self.room_topic(&self.server);
        while let Some(post) = self.resend.front() {
            let payload = self.outgoing(&topic, to_json(post)).unwrap_or_default();
            if self.client.try_publish(&topic, QoS::AtLeastOnce, false, payload).is_err() {
                return;
            }
            self.resend.pop_front();
        }
        while let Some(post) = self.outbox.front() {
            let payload = self.outgoing(&topic, to_json(post)).unwrap_or_default();
            if self.client.try_publish(&topic, QoS::AtLeastOnce, false, payload).is_err() {
                return;
            }
            if let Some(post) = self.outbox.pop_front() {
                tracing::debug!(seq = post.seq, "bridge: published");
                self.published = post.seq;
                self.kept.push_back(post);
            }
            if self.kept.len() > KEPT {
                self.kept.pop_front();
            }
        }
    }

    /// Sends itself a message through the broker every [`ECHO_EVERY`]; if none came back
    /// for [`ECHO_LOST`], the broker no longer passes messages on to this connection
    /// (mosquitto 2.0, after dropping too many too large for it): a new one is made.
    fn watch_echo(&mut self) {
        let now = Instant::now();
        if self.echo_sent.is_none_or(|at| now >= at + ECHO_EVERY) {
            self.echo_sent = Some(now);
            self.send(self.echo_topic(), to_json(&Hello { v: VERSION, will: None }));
        }
        if now >= self.echo_heard + ECHO_LOST {
            self.notice(format!(
                "bridge: {} passed nothing on to this server for {} s; connecting again",
                self.url,
                ECHO_LOST.as_secs()
            ));
            self.connection.eventloop.clean();
            self.connected = false;
            self.arm_will();
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Incoming(Packet::ConnAck(_)) => self.on_connected(),
            Event::Incoming(Packet::Publish(publish)) => {
                let Ok(topic) = std::str::from_utf8(&publish.topic) else { return };
                self.on_publish(topic, &publish.payload);
            }
            _ => {}
        }
    }

    fn on_connected(&mut self) {
        self.connected = true;
        self.backoff = FIRST_BACKOFF;
        self.echo_heard = Instant::now();
        self.echo_sent = None;
        let again = if self.ever_connected { "again " } else { "" };
        self.ever_connected = true;
        let sealed = if self.seal.is_some() {
            "sealed with the fleet's key"
        } else {
            "in the clear: whoever reads the broker reads the room, and whoever publishes on it \
             speaks for its users (--fleet-key seals it)"
        };
        self.notice(format!(
            "bridge: connected {again}to {} as server {} ({sealed})",
            self.url, self.server
        ));
        for topic in [
            self.room_topic("+"),
            self.hello_topic("+"),
            self.met_topic(&self.server),
            self.replay_topic(&self.server),
            self.gone_topic("+"),
            self.busy_topic("+"),
            self.echo_topic(),
        ] {
            let _ = self.client.try_subscribe(topic, QoS::AtLeastOnce);
        }
        // Subscribed first, so every server's posts after its answer reach this one; each
        // answers where they start (a `met`), and what this one missed is asked for then.
        self.greet();
        // The others may have forgotten our users (the broker said goodbye for us).
        self.post_roster();
    }

    fn greet(&self) {
        let hello = Hello { v: VERSION, will: self.will };
        self.send(self.hello_topic(&self.server), to_json(&hello));
    }

    fn ask(&self, server: &str, after: u64) {
        self.send(self.replay_topic(server), to_json(&ReplayRequest { v: VERSION, after }));
    }

    fn on_publish(&mut self, topic: &str, payload: &[u8]) {
        let opened;
        let payload = match &self.seal {
            None => payload,
            Some(seal) => match seal.open(topic, payload) {
                Some((stamp, plain)) => {
                    if !self.is_fresh(topic, &stamp) {
                        return;
                    }
                    opened = plain;
                    &opened[..]
                }
                None => return self.unopenable(topic),
            },
        };
        tracing::debug!(topic, payload = %String::from_utf8_lossy(payload), "bridge: received");
        if topic == self.echo_topic() {
            self.echo_heard = Instant::now();
            return;
        }
        if topic == self.replay_topic(&self.server) {
            if let Some(request) = from_json::<ReplayRequest>(payload) {
                // Served with the others asked for until the next replay is due.
                let after = self.replay_after.map_or(request.after, |a| a.min(request.after));
                self.replay_after = Some(after);
            }
            return;
        }
        if let Some(other) = topic.strip_prefix(&self.hello_topic("")) {
            if let Some(hello) = from_json::<Hello>(payload).filter(|_| other != self.server) {
                if let (Some(will), Ok(from)) = (hello.will, u64::from_str_radix(other, 16)) {
                    self.freshness.expect_will(from, will);
                }
                self.on_hello(other.to_owned());
            }
            return;
        }
        if let Some(other) = topic.strip_prefix(&self.busy_topic("")) {
            if let Some(busy) = from_json::<Busy>(payload).filter(|_| other != self.server) {
                self.tell(FromLink::Busy(other.to_owned(), busy.busy));
            }
            return;
        }
        if let Some(other) = topic.strip_prefix(&self.gone_topic("")) {
            if other != self.server && from_json::<Hello>(payload).is_some() {
                self.tell(FromLink::Gone(other.to_owned()));
            }
            return;
        }
        if topic == self.met_topic(&self.server) {
            if let Some(met) = from_json::<Met>(payload).filter(|m| m.server != self.server) {
                let arrival = self.arrivals.met(&met.server, met.met);
                self.on_arrival(&met.server, arrival);
            }
            return;
        }
        let Some(post) = from_json::<Post>(payload) else {
            if self.malformed.first() {
                self.notice(format!(
                    "bridge: a message on {topic} is not one of docs/BRIDGE.md v{VERSION}; \
                     dropped, as every such one will be"
                ));
            }
            return;
        };
        if post.server == self.server || topic != self.room_topic(&post.server) {
            return; // our own, or published under another server's name
        }
        let server = post.server.clone();
        let arrival = self.arrivals.accept(post);
        self.on_arrival(&server, arrival);
    }

    /// Whether a sealed message on `topic` stamped `stamp` is fresh: sealed by the server
    /// its topic names (for the kinds whose topic names their sender), recently, and not
    /// taken before (`fresh.rs`).
    fn is_fresh(&mut self, topic: &str, stamp: &Stamp) -> bool {
        let named = [
            self.room_topic(""),
            self.hello_topic(""),
            self.gone_topic(""),
            self.busy_topic(""),
            format!("{}/echo/", self.url.prefix),
        ]
        .into_iter()
        .find_map(|kind| topic.strip_prefix(&kind).map(str::to_owned));
        let sender_matches =
            named.as_deref().is_none_or(|server| u64::from_str_radix(server, 16) == Ok(stamp.from));
        let now = wall_clock_ms();
        let verdict = if !sender_matches {
            Err(Stale::Replayed)
        } else if topic.starts_with(&self.gone_topic("")) {
            self.freshness.admit_goodbye(stamp, now)
        } else {
            self.freshness.admit(stamp, now)
        };
        let Err(stale) = verdict else { return true };
        if self.stale.first() {
            let why = match stale {
                Stale::Replayed => "it was taken before (someone publishes a recording)".to_owned(),
                Stale::OutOfTime { behind_ms } => format!(
                    "it was sealed {:.1} s {} this server's clock (do the servers' clocks agree?)",
                    behind_ms.unsigned_abs() as f64 / 1000.0,
                    if behind_ms < 0 { "ahead of" } else { "behind" }
                ),
            };
            self.notice(format!(
                "bridge: a sealed message on {topic} is not fresh: {why}; dropped, as every such one will be"
            ));
        }
        tracing::debug!(
            topic,
            ?stale,
            dropped = self.stale.count,
            "bridge: dropped a stale message"
        );
        false
    }

    /// A message that does not open with the fleet's key: dropped and counted; said the
    /// first time (another fleet's server, or one in the clear, shares the prefix).
    fn unopenable(&mut self, topic: &str) {
        if self.unopened.first() {
            self.notice(format!(
                "bridge: a message on {topic} does not open with this fleet's key (a server of \
                 another fleet, or one without --fleet-key?); dropped, as every such one will be"
            ));
        }
        tracing::debug!(
            topic,
            unopened = self.unopened.count,
            "bridge: dropped a message that does not open"
        );
    }

    /// A server greeted (it connected): this one's posts for it start after the last the
    /// broker had taken when they first met. What it published while it was away is asked
    /// for; if it never said where its posts start (or that was lost with a connection),
    /// it is greeted back, and answers the same.
    fn on_hello(&mut self, other: String) {
        let now = Instant::now();
        let first_meeting = !self.met.contains_key(&other);
        if first_meeting && self.met.len() >= MAX_SERVERS {
            // The server that greeted longest ago is forgotten: if it greets again, it is
            // met anew, from this server's next post on.
            let quietest =
                self.met.iter().min_by_key(|(_, (_, heard))| *heard).map(|(id, _)| id.clone());
            if let Some(quietest) = quietest {
                self.met.remove(&quietest);
            }
        }
        let entry = self.met.entry(other.clone()).or_insert((self.published, now));
        entry.1 = now;
        let met = entry.0;
        let answer = Met { v: VERSION, server: self.server.clone(), met };
        self.send(self.met_topic(&other), to_json(&answer));
        if first_meeting {
            self.notice(format!("bridge: server {other} shares the room"));
            // Our posts for it start after `met`: who is here comes right after.
            self.post_roster();
        }
        match self.arrivals.last(&other) {
            Some(last) => self.ask(&other, last),
            None => self.greet(),
        }
    }

    fn on_arrival(&mut self, server: &str, arrival: Arrival) {
        tracing::debug!(server, ?arrival, "bridge: arrival");
        if let Some(after) = arrival.ask_after {
            self.ask(server, after);
        }
        if arrival.lost > 0 {
            self.notice(format!(
                "bridge: {} from server {server} lost (no longer kept there)",
                crate::term::console::count(arrival.lost, "message")
            ));
        }
        for post in arrival.ready {
            self.tell(FromLink::Post(post));
        }
    }

    fn on_error(&mut self, error: &ConnectionError) {
        let refused = matches!(
            error,
            ConnectionError::ConnectionRefused(
                ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized
            )
        );
        if self.connected || !self.ever_connected && self.backoff == FIRST_BACKOFF {
            let why = if refused {
                "it refused this server's user name or password (the URL's user, \
                 --bridge-password-file)"
                    .to_owned()
            } else {
                error.to_string()
            };
            self.notice(format!(
                "bridge: cannot reach the broker at {} ({why}); the room here goes on, retrying",
                self.url
            ));
        }
        self.connected = false;
        // A will sealed anew for the next connection (a recorded one is stale).
        self.arm_will();
        // The wait before the next try; requests keep coming and are numbered meanwhile.
        let mut waited = Duration::ZERO;
        while waited < self.backoff && !self.stopping {
            std::thread::sleep(TICK);
            waited += TICK;
            self.take_requests();
        }
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }
}
