//! A server and its clients on smoltcp's in-memory network (the host's `loopback`), on
//! simulated time: the harness the loopback chat and fault tests share. Each turn moves
//! every endpoint through the core's smoltcp adapter, exactly as firmware on smoltcp would.

use host::net::memory::{LinkFaults, LoopbackNet, SocketHandle};
use minichat_core::client::{Client, ClientConfig, OwnedClientEvent};
use minichat_core::server::{ServerConfig, StaticServer};
use minichat_core::time::Duration;

/// The server's port; clients bind 5000, 5001, ...
pub const SERVER_PORT: u16 = 8080;

/// Simulated milliseconds per step.
const STEP_MS: u64 = 5;

/// The network, the server (boxed: a big ring does not fit a test thread's stack twice),
/// the clients and every event each client reported.
pub struct LoopbackChat<
    const N: usize,
    const R: usize,
    const Q: usize,
    const E: usize,
    const B: usize,
> {
    /// The simulated network.
    pub net: LoopbackNet,
    /// The server's socket and the server.
    pub server: (SocketHandle, Box<StaticServer<N, R>>),
    /// Each client's socket and the client, in the order they were added.
    pub clients: Vec<(SocketHandle, Client<Q, E, B>)>,
    /// Every event of client `i`, in order.
    pub events: Vec<Vec<OwnedClientEvent>>,
}

impl<const N: usize, const R: usize, const Q: usize, const E: usize, const B: usize>
    LoopbackChat<N, R, Q, E, B>
{
    /// A server with `config` on a network with `faults`, and no clients yet.
    pub fn new(faults: LinkFaults, config: ServerConfig) -> Self {
        let mut net = LoopbackNet::new(faults);
        let server = (net.bind(SERVER_PORT), Box::new(StaticServer::new(config).unwrap()));
        LoopbackChat { net, server, clients: Vec::new(), events: Vec::new() }
    }

    /// The configuration of a client called `name` of this server.
    pub fn client_config(name: &str) -> ClientConfig {
        ClientConfig::new(name, LoopbackNet::addr(SERVER_PORT), crate::seed_of(name)).unwrap()
    }

    /// Adds a client with `config` on the next free port; returns its index.
    pub fn add(&mut self, config: ClientConfig) -> usize {
        let port = 5000 + u16::try_from(self.clients.len()).unwrap();
        let socket = self.net.bind(port);
        self.clients.push((socket, Client::new(config, self.net.now())));
        self.events.push(Vec::new());
        self.clients.len() - 1
    }

    /// One step of the whole network: packets moved, every endpoint turned, events
    /// collected, the clock moved on.
    pub fn turn(&mut self) {
        self.net.poll();
        self.net.turn(self.server.0, &mut *self.server.1).unwrap();
        for (socket, client) in &mut self.clients {
            self.net.turn(*socket, client).unwrap();
        }
        self.net.poll();
        while self.server.1.poll_event().is_some() {}
        for (i, (_, client)) in self.clients.iter_mut().enumerate() {
            while let Some(event) = client.poll_event().map(|e| e.into_owned()) {
                self.events[i].push(event);
            }
        }
        self.net.advance(STEP_MS);
    }

    /// Steps until `done` or `limit_ms` of simulated time; returns whether `done` came.
    pub fn run_until(&mut self, limit_ms: u64, mut done: impl FnMut(&Self) -> bool) -> bool {
        let end = self.net.now() + Duration::from_millis(limit_ms);
        while self.net.now() < end {
            self.turn();
            if done(self) {
                return true;
            }
        }
        false
    }

    /// Whether every client has a session.
    pub fn joined(&self) -> bool {
        self.clients.iter().all(|(_, c)| c.is_joined())
    }

    /// The texts client `i` received, in order.
    pub fn texts(&self, i: usize) -> Vec<&str> {
        self.events[i]
            .iter()
            .filter_map(|e| match e {
                OwnedClientEvent::Message { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The messages client `i` received as a terminal shows them: `FROM: TEXT`, or
    /// `FROM (direct): TEXT`.
    pub fn lines(&self, i: usize) -> Vec<String> {
        self.events[i]
            .iter()
            .filter_map(|e| match e {
                OwnedClientEvent::Message { from, text, direct, .. } => {
                    Some(format!("{from}{}: {text}", if *direct { " (direct)" } else { "" }))
                }
                _ => None,
            })
            .collect()
    }
}
