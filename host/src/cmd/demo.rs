//! `minichat demo`: a server and three clients (star, star2, star3) in one process, over
//! smoltcp's in-memory IP stack with a lossy link, on simulated time. The whole system with
//! no network: the conversation, and what the protocol did to get it through.

use minichat_core::client::{Client, ClientConfig, ClientEvent};
use minichat_core::server::{ServerConfig, ServerEvent, StaticServer};
use minichat_core::time::Instant;
use minichat_core::wire::{EchoMode, NameBuf};

use crate::net::memory::{LinkFaults, LoopbackNet};
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
    let mut net = LoopbackNet::new(faults);
    let server_socket = net.bind(SERVER_PORT);
    let server_addr = LoopbackNet::addr(SERVER_PORT);
    let mut config = ServerConfig::new(*b"minichat demo!!!", 1);
    config.history = 0;
    let mut server = DemoServer::new(config).map_err(|e| DemoError::Setup(e.to_string()))?;
    let mut clients: Vec<(smoltcp::iface::SocketHandle, DemoClient)> = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        let port = 5001 + u16::try_from(i).unwrap_or(0);
        let socket = net.bind(port);
        let name = NameBuf::parse(name).map_err(|e| DemoError::Setup(e.to_string()))?;
        clients.push((socket, DemoClient::new(ClientConfig::new(name, server_addr), net.now())));
    }
    let mut transcript = Transcript::default();
    let mut log = |net: &LoopbackNet, line: String| {
        transcript.lines.push(format!("{:>7.3} s  {line}", net.now().as_millis() as f64 / 1000.0));
    };
    let mut step = 0;
    let mut seen: Vec<Vec<ClientEvent>> = vec![Vec::new(); NAMES.len()];
    while u64::from(net.now().as_millis()) < LIMIT_MS {
        net.poll();
        let _ = net.pump(server_socket, &mut server);
        for (socket, client) in &mut clients {
            let _ = net.pump(*socket, client);
        }
        net.poll();
        while let Some(event) = server.poll_event() {
            match event {
                ServerEvent::Joined { name, addr } => {
                    log(&net, format!("server: {name} joined from {addr}"))
                }
                ServerEvent::Left { name, reason, .. } => {
                    log(&net, format!("server: {name} {}", reason.describe()))
                }
                _ => {}
            }
        }
        for (i, (_, client)) in clients.iter_mut().enumerate() {
            while let Some(event) = client.poll_event() {
                let me = NAMES.get(i).copied().unwrap_or("?");
                match &event {
                    ClientEvent::Joined { .. } => log(&net, format!("{me}: joined")),
                    ClientEvent::Message { from, text, direct: false, .. } => {
                        log(&net, format!("{me} hears {from}: {}", escape(text)));
                    }
                    ClientEvent::Message { from, text, direct: true, .. } => {
                        log(&net, format!("{me} hears {from} (direct): {}", escape(text)));
                    }
                    ClientEvent::Users { total, names, .. } => {
                        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                        log(
                            &net,
                            format!("{me} asks who is here: {total} users: {}", names.join(", ")),
                        );
                    }
                    ClientEvent::EchoReply { text, .. } => {
                        log(&net, format!("{me} gets its echo back: {}", escape(text)))
                    }
                    ClientEvent::Left => log(&net, format!("{me}: left")),
                    _ => {}
                }
                if let Some(events) = seen.get_mut(i) {
                    events.push(event);
                }
            }
        }
        let now = net.now();
        let heard = |i: usize, needle: &str| {
            seen.get(i).is_some_and(|events| {
                events.iter().any(
                    |e| matches!(e, ClientEvent::Message { text, .. } if text.as_str() == needle),
                )
            })
        };
        let ready = match step {
            0 => clients.iter().all(|(_, c)| c.is_joined()),
            1 => heard(1, GREETING) && heard(2, GREETING),
            2 => heard(0, ANSWER) && heard(2, ANSWER),
            3 => heard(1, SECRET),
            4 => {
                seen.first()
                    .is_some_and(|e| e.iter().any(|e| matches!(e, ClientEvent::Users { .. })))
                    && seen.get(2).is_some_and(|e| {
                        e.iter().any(|e| matches!(e, ClientEvent::EchoReply { .. }))
                    })
            }
            5 => clients.get(2).is_some_and(|(_, c)| c.is_closed()),
            _ => break,
        };
        if ready {
            if let Some(line) = act(step, &mut clients, now) {
                log(&net, line.to_owned());
            }
            step += 1;
        }
        net.advance(STEP_MS);
    }
    if step < 6 {
        return Err(DemoError::Stuck { step });
    }
    // The closing line claims exactly-once delivery: check it.
    for (name, events) in NAMES.iter().zip(&seen) {
        let texts: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Message { text, .. } => Some(text.as_str()),
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
    let client_retransmits = clients.iter().map(|(_, c)| c.stats().retransmits).sum();
    transcript.retransmits = (server.stats().retransmits, client_retransmits);
    Ok(transcript)
}

/// What the script does at `step`, once the step before it is done; the line to print.
fn act(
    step: usize,
    clients: &mut [(smoltcp::iface::SocketHandle, DemoClient)],
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
