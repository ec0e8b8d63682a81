//! `minichat demo`: a server and three clients (star, star2, star3) in one process, over
//! smoltcp's in-memory IP stack with a lossy link, on simulated time. The whole system with
//! no network: the conversation, and what the protocol did to get it through.

use minichat_core::client::{Client, ClientConfig, ClientEvent, OwnedClientEvent};
use minichat_core::server::{ServerConfig, ServerEvent, StaticServer};
use minichat_core::time::Instant;
use minichat_core::wire::{EchoMode, NameBuf};

use crate::net::memory::{LinkFaults, LoopbackNet, SocketHandle};
use crate::term::escape::escape;

/// Simulated milliseconds per step.
const STEP_MS: u64 = 5;
/// The demo gives up after this much simulated time.
const LIMIT_MS: u64 = 120_000;
const SERVER_PORT: u16 = 8080;
const NAMES: [&str; 3] = ["star", "star2", "star3"];
const GREETING: &str = "hello everyone";
const ANSWER: &str = "hi star!";
const SECRET: &str = "psst, star2: only you can read this";

type DemoServer = StaticServer<8, 64>;
type DemoClient = Client<8, 16>;

/// Why the demo could not finish.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The conversation did not complete in the simulated time allowed.
    #[error("the conversation did not finish within {} simulated seconds (stuck at step {step})", LIMIT_MS / 1000)]
    Stuck {
        /// The script step it was waiting at.
        step: usize,
    },
    /// A client saw a message twice: the protocol failed its promise.
    #[error("{name} received {text:?} {times} times")]
    Duplicate {
        /// The recipient.
        name: String,
        /// The message.
        text: String,
        /// How often it arrived.
        times: usize,
    },
    /// The core rejected the demo's own setup.
    #[error("{0}")]
    Setup(String),
}

/// What the demo printed, line by line, and the counters at the end.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// The conversation, one line per event, with simulated time stamps.
    pub lines: Vec<String>,
    /// Server retransmission timeouts, client retransmission timeouts.
    pub retransmits: (u64, u64),
}

/// Runs the scripted conversation over a link with `faults`.
pub fn run(faults: LinkFaults) -> Result<Transcript, DemoError> {
    let mut demo = Demo::new(faults)?;
    let mut step = 0;
    while u64::from(demo.net.now().as_millis()) < LIMIT_MS {
        demo.exchange();
        demo.log_server_events();
        demo.log_client_events();
        let Some(ready) = demo.done_before(step) else { break };
        if ready {
            let now = demo.net.now();
            if let Some(line) = act(step, &mut demo.clients, now) {
                demo.log(line.to_owned());
            }
            step += 1;
        }
        demo.net.advance(STEP_MS);
    }
    if step < 6 {
        return Err(DemoError::Stuck { step });
    }
    demo.check_exactly_once()?;
    Ok(demo.finish())
}

/// The demo under way: the simulated network, the server, the clients (in [`NAMES`]'
/// order) and every event each client saw.
struct Demo {
    net: LoopbackNet,
    server_socket: SocketHandle,
    server: DemoServer,
    clients: Vec<(SocketHandle, DemoClient)>,
    seen: Vec<Vec<OwnedClientEvent>>,
    transcript: Transcript,
}

impl Demo {
    /// The server on [`SERVER_PORT`] and a client for each of [`NAMES`], none joined yet.
    fn new(faults: LinkFaults) -> Result<Demo, DemoError> {
        let mut net = LoopbackNet::new(faults);
        let server_socket = net.bind(SERVER_PORT);
        let server_addr = LoopbackNet::addr(SERVER_PORT);
        let mut config = ServerConfig::new(*b"minichat demo!!!", 1);
        config.set_history(0).map_err(|e| DemoError::Setup(e.to_string()))?;
        let server = DemoServer::new(config).map_err(|e| DemoError::Setup(e.to_string()))?;
        let mut clients = Vec::new();
        for (i, name) in NAMES.iter().enumerate() {
            let port = 5001 + u16::try_from(i).unwrap_or(0);
            let socket = net.bind(port);
            let name = NameBuf::parse(name).map_err(|e| DemoError::Setup(e.to_string()))?;
            clients.push((
                socket,
                DemoClient::new(
                    ClientConfig::new(name.as_str(), server_addr, 0x5eed)
                        .map_err(|e| DemoError::Setup(e.to_string()))?,
                    net.now(),
                ),
            ));
        }
        let seen = vec![Vec::new(); NAMES.len()];
        Ok(Demo { net, server_socket, server, clients, seen, transcript: Transcript::default() })
    }

    /// A line of the transcript, stamped with the simulated time.
    fn log(&mut self, line: String) {
        let seconds = self.net.now().as_millis() as f64 / 1000.0;
        self.transcript.lines.push(format!("{seconds:>7.3} s  {line}"));
    }

    /// Moves every datagram waiting: the network, the server, the clients.
    fn exchange(&mut self) {
        self.net.poll();
        let _ = self.net.turn(self.server_socket, &mut self.server);
        for (socket, client) in &mut self.clients {
            let _ = self.net.turn(*socket, client);
        }
        self.net.poll();
    }

    fn log_server_events(&mut self) {
        while let Some(event) = self.server.poll_event() {
            match event {
                ServerEvent::Joined { name, addr } => {
                    self.log(format!("server: {name} joined from {addr}"))
                }
                ServerEvent::Left { name, reason, .. } => {
                    self.log(format!("server: {name} {}", reason.describe()))
                }
                _ => {}
            }
        }
    }

    /// Logs what each client heard, and keeps it.
    fn log_client_events(&mut self) {
        for i in 0..self.clients.len() {
            let me = NAMES.get(i).copied().unwrap_or("?");
            while let Some(event) = self
                .clients
                .get_mut(i)
                .and_then(|(_, c)| c.poll_event().map(ClientEvent::into_owned))
            {
                if let Some(line) = client_line(me, &event) {
                    self.log(line);
                }
                if let Some(events) = self.seen.get_mut(i) {
                    events.push(event);
                }
            }
        }
    }

    /// Whether the script's step before `step` is done, so `step` may start; `None`
    /// once the script is over.
    fn done_before(&self, step: usize) -> Option<bool> {
        let heard = |i: usize, needle: &str| {
            self.seen.get(i).is_some_and(|events| {
                events.iter().any(
                    |e| matches!(e, OwnedClientEvent::Message { text, .. } if text.as_str() == needle),
                )
            })
        };
        let saw = |i: usize, what: fn(&OwnedClientEvent) -> bool| {
            self.seen.get(i).is_some_and(|events| events.iter().any(what))
        };
        let ready = match step {
            0 => self.clients.iter().all(|(_, c)| c.is_joined()),
            1 => heard(1, GREETING) && heard(2, GREETING),
            2 => heard(0, ANSWER) && heard(2, ANSWER),
            3 => heard(1, SECRET),
            4 => {
                saw(0, |e| matches!(e, OwnedClientEvent::Users { .. }))
                    && saw(2, |e| matches!(e, OwnedClientEvent::EchoReply { .. }))
            }
            5 => self.clients.get(2).is_some_and(|(_, c)| c.is_closed()),
            _ => return None,
        };
        Some(ready)
    }

    /// The closing line claims exactly-once delivery: no client heard a message twice.
    fn check_exactly_once(&self) -> Result<(), DemoError> {
        for (name, events) in NAMES.iter().zip(&self.seen) {
            let texts: Vec<&str> = events
                .iter()
                .filter_map(|e| match e {
                    OwnedClientEvent::Message { text, .. } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            for text in &texts {
                let times = texts.iter().filter(|t| *t == text).count();
                if times > 1 {
                    return Err(DemoError::Duplicate {
                        name: (*name).to_owned(),
                        text: (*text).to_owned(),
                        times,
                    });
                }
            }
        }
        Ok(())
    }

    /// The transcript, with the retransmissions counted.
    fn finish(mut self) -> Transcript {
        let client_retransmits =
            self.clients.iter().map(|(_, c)| u64::from(c.stats().retransmits)).sum();
        self.transcript.retransmits = (self.server.stats().retransmits, client_retransmits);
        self.transcript
    }
}

/// What the transcript says of an event of the client `me`, if anything.
fn client_line(me: &str, event: &OwnedClientEvent) -> Option<String> {
    let line = match event {
        OwnedClientEvent::Joined { .. } => format!("{me}: joined"),
        OwnedClientEvent::Message { from, text, direct: false, .. } => {
            format!("{me} hears {from}: {}", escape(text))
        }
        OwnedClientEvent::Message { from, text, direct: true, .. } => {
            format!("{me} hears {from} (direct): {}", escape(text))
        }
        OwnedClientEvent::Users { total, names, .. } => {
            let names: Vec<String> = names.iter().map(|n| n.name.to_string()).collect();
            format!("{me} asks who is here: {total} users: {}", names.join(", "))
        }
        OwnedClientEvent::EchoReply { text, .. } => {
            format!("{me} gets its echo back: {}", escape(text))
        }
        OwnedClientEvent::Left => format!("{me}: left"),
        _ => return None,
    };
    Some(line)
}

/// What the script does at `step`, once the step before it is done; the line to print.
fn act(
    step: usize,
    clients: &mut [(SocketHandle, DemoClient)],
    now: Instant,
) -> Option<&'static str> {
    let [(_, star), (_, star2), (_, star3)] = clients else { return None };
    // Each call queues at most a couple of messages into empty queues: none can fail.
    match step {
        0 => star.say(now, GREETING).ok().map(|_| "star says to everyone: hello everyone"),
        1 => star2.say(now, ANSWER).ok().map(|_| "star2 says to everyone: hi star!"),
        2 => star3
            .tell(now, "star2", SECRET)
            .ok()
            .map(|_| "star3 says to star2 alone: psst, star2: only you can read this"),
        3 => {
            star.who(now).ok()?;
            star3.echo(now, EchoMode::Upper, "shout this").ok()?;
            Some("star asks /who; star3 asks the server to /echo upper \"shout this\"")
        }
        4 => star3.leave(now).ok().map(|_| "star3 says /quit"),
        _ => None,
    }
}
