//! A minichat client inside the test process, over a real UDP socket: the core's client
//! and driver with the `std` adapter. Tests use it where they need to see the protocol
//! itself (its token, say), not the `minichat` program.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration as StdDuration, Instant as StdInstant};

use minichat_core::client::{Client, ClientConfig, OwnedClientEvent};
use minichat_core::time::Instant;
use minichat_core::transport::Driver;

/// A core client on its own socket.
pub struct UdpClient {
    pub client: Client<16, 64, 8, SocketAddr, 16_384, 65_535>,
    socket: UdpSocket,
    driver: Driver,
    start: StdInstant,
    /// Every event so far.
    pub events: Vec<OwnedClientEvent>,
}

impl UdpClient {
    /// A client called `name` for `server`, on a fresh socket on 127.0.0.1.
    pub fn new(name: &str, server: SocketAddr) -> UdpClient {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let config = ClientConfig::new(name, server, crate::seed_of(name)).unwrap();
        UdpClient {
            client: Client::new(config, Instant::ZERO),
            socket,
            driver: Driver::new(),
            start: StdInstant::now(),
            events: Vec::new(),
        }
    }

    /// The client's clock.
    pub fn now(&self) -> Instant {
        Instant::from_millis(self.start.elapsed().as_millis() as u64)
    }

    /// The socket, to send raw datagrams from this address.
    pub fn socket(&mut self) -> &mut UdpSocket {
        &mut self.socket
    }

    /// Turns until `done` holds for the events so far, or `timeout` passes; returns
    /// whether `done` held. Checks every 5 ms.
    pub fn run_until(
        &mut self,
        timeout: StdDuration,
        mut done: impl FnMut(&UdpClient) -> bool,
    ) -> bool {
        let deadline = StdInstant::now() + timeout;
        loop {
            let now = self.now();
            // A refused port shows up as an error: the client retries by itself.
            let _ = self.driver.turn(now, &mut self.socket, &mut self.client, |_| {});
            while let Some(event) = self.client.poll_event().map(|e| e.into_owned()) {
                self.events.push(event);
            }
            if done(self) {
                return true;
            }
            if StdInstant::now() >= deadline {
                return false;
            }
            std::thread::sleep(StdDuration::from_millis(5));
        }
    }
}
