//! The bridge's connection to the broker, on a thread of its own: it numbers and publishes
//! this server's posts (holding them while the broker is away, keeping the last ones for
//! replays), says who is here at each connection and to each server it meets, subscribes
//! to the other servers' posts, puts them in order, answers and sends replay requests,
//! passes on goodbyes, and reconnects with back-off (`docs/BRIDGE.md`). On a sealed
//! bridge it takes only fresh messages (`fresh.rs`). This file holds the connection (its
//! options, last will, echo, errors) and the thread's loop; `link/outbound.rs` this
//! server's posts, `link/inbound.rs` what comes from the broker.
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

mod inbound;
mod outbound;

use crate::bridge::access::{self, BridgeAccess};
use crate::bridge::arrivals::Arrivals;
use crate::bridge::fresh::Freshness;
use crate::bridge::post::{Body, Busy, Hello, Post, ReplayRequest, VERSION, to_json};
use crate::bridge::seal::BridgeSeal;
use crate::bridge::topics::Topics;
use crate::bridge::{BridgeUrl, wall_clock_ms};

/// Posts kept for replays, and the most waiting for the broker.
pub(crate) const KEPT: usize = 4096;
/// The first wait before trying the broker again, doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long the thread waits on the broker before looking at its requests again.
const TICK: Duration = Duration::from_millis(20);
/// Requests rumqttc queues towards the broker.
const REQUESTS: usize = 256;
/// The most publishes in flight towards the broker (fewer if the broker says so; mosquitto
/// says 20). Without a bound rumqttc keeps a slot for each of 65,535, some megabytes a
/// link.
const OUTGOING_IN_FLIGHT: u16 = 1024;
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
    topics: Topics,
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
        options.set_outgoing_inflight_upper_limit(OUTGOING_IN_FLIGHT);
        if let Some((user, password)) = access.credentials {
            options.set_credentials(user, password);
        }
        if let Some(tls) = access.tls {
            options.set_transport(access::transport(tls));
        }
        let (client, connection) = Client::new(options, REQUESTS);
        let mut link = Link {
            topics: Topics::new(&url.prefix, &server),
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
        let gone = self.topics.gone(&self.server);
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
            self.send(self.topics.gone(&self.server), to_json(&goodbye));
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
                            self.topics.busy(&self.server),
                            to_json(&Busy { v: VERSION, busy }),
                        );
                    }
                }
                Ok(ToLink::Stop) | Err(TryRecvError::Disconnected) => self.stopping = true,
                Err(TryRecvError::Empty) => return,
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
            self.send(self.topics.echo(), to_json(&Hello { v: VERSION, will: None }));
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
            self.topics.room("+"),
            self.topics.hello("+"),
            self.topics.met(&self.server),
            self.topics.replay(&self.server),
            self.topics.gone("+"),
            self.topics.busy("+"),
            self.topics.echo(),
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
        self.send(self.topics.hello(&self.server), to_json(&hello));
    }

    fn ask(&self, server: &str, after: u64) {
        self.send(self.topics.replay(server), to_json(&ReplayRequest { v: VERSION, after }));
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
