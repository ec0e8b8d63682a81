//! `minichat bench --idle N`: N users who join the server and stay, silent but pinging
//! when their keep-alive comes due, while the load runs — what a fuller table costs the
//! users who talk.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use minichat_core::client::{Client, ClientConfig};
use minichat_core::time::Instant;
use minichat_core::transport::Driver;
use minichat_core::wire::NameBuf;

/// An idle user: one message in flight, two events, no early deliveries held (a few
/// kilobytes each, so a thousand fit easily).
type IdleClient = Client<1, 2, 1>;

/// How often the idle users' sockets are looked at: enough for their pings and the
/// server's answers, little enough to leave the machine to the load.
const PUMP_EVERY: StdDuration = StdDuration::from_millis(20);

/// How long joining may take, in all.
const JOIN_WITHIN: StdDuration = StdDuration::from_secs(30);

/// The idle users, joined and kept alive on a thread of their own until stopped.
#[derive(Debug)]
pub(crate) struct IdleUsers {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl IdleUsers {
    /// Joins `count` users to the server at `server` and returns once all are in.
    pub(crate) fn join(server: SocketAddr, count: usize) -> std::io::Result<IdleUsers> {
        let start = StdInstant::now();
        let mut users = Vec::with_capacity(count);
        for i in 0..count {
            let socket = UdpSocket::bind("127.0.0.1:0")?;
            socket.set_nonblocking(true)?;
            let name = NameBuf::parse(&format!("idle{i}")).map_err(std::io::Error::other)?;
            let mut config = ClientConfig::new(name, server);
            config.entropy = u64::try_from(i).unwrap_or(0);
            users.push((IdleClient::new(config, since(start)), Driver::new(socket)));
        }
        while !users.iter().all(|(client, _)| client.is_joined()) {
            if start.elapsed() > JOIN_WITHIN {
                let joined = users.iter().filter(|(client, _)| client.is_joined()).count();
                return Err(std::io::Error::other(format!(
                    "only {joined} of {count} idle users joined within {JOIN_WITHIN:?}"
                )));
            }
            pump(&mut users, start);
            std::thread::sleep(StdDuration::from_millis(1));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name("idle users".into()).spawn(move || {
            while !thread_stop.load(Ordering::Relaxed) {
                pump(&mut users, start);
                std::thread::sleep(PUMP_EVERY);
            }
        })?;
        Ok(IdleUsers { stop, thread: Some(thread) })
    }

    /// Stops keeping them alive (the server expires them later).
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The idle users' clock: milliseconds since `start`.
fn since(start: StdInstant) -> Instant {
    Instant::from_millis(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX))
}

/// Takes what came for every idle user and sends what each has to send (joins, pings,
/// acknowledgements).
fn pump(users: &mut [(IdleClient, Driver<UdpSocket>)], start: StdInstant) {
    for (client, driver) in users.iter_mut() {
        let _ = driver.pump(client, since(start), |_, _, _| {});
        while client.poll_event().is_some() {}
    }
}
