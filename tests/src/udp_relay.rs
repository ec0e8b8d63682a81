//! A UDP address the test holds for as long as it runs, relayed to a server it can change:
//! a server that restarts, or is replaced by another, at the address its clients know,
//! without ever letting that port go (where another program could take it).

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the relay's threads look at the stop flag.
const TICK: Duration = Duration::from_millis(20);

/// Relays datagrams sent to [`UdpRelay::addr`] to the current target (none: dropped, as
/// an address where nothing answers), each client from a socket of its own, and the
/// answers back to that client.
#[derive(Debug)]
pub struct UdpRelay {
    addr: SocketAddr,
    target: Arc<Mutex<Option<SocketAddr>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl UdpRelay {
    /// A relay on a free port of 127.0.0.1 that leads nowhere yet.
    pub fn new() -> UdpRelay {
        let front = UdpSocket::bind("127.0.0.1:0").expect("a free port");
        front.set_read_timeout(Some(TICK)).expect("a read timeout");
        let addr = front.local_addr().expect("its address");
        let target = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (target_, stop_) = (Arc::clone(&target), Arc::clone(&stop));
        let relay = std::thread::spawn(move || relay(&front, &target_, &stop_));
        UdpRelay { addr, target, stop, threads: vec![relay] }
    }

    /// The address clients are given.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// From now on datagrams go to `target`; `None`: nowhere.
    pub fn retarget(&self, target: Option<SocketAddr>) {
        if let Ok(mut current) = self.target.lock() {
            *current = target;
        }
    }
}

impl Default for UdpRelay {
    fn default() -> Self {
        UdpRelay::new()
    }
}

/// The front socket's loop: one upstream socket per client, made on its first datagram.
fn relay(front: &UdpSocket, target: &Mutex<Option<SocketAddr>>, stop: &Arc<AtomicBool>) {
    let mut upstreams: HashMap<SocketAddr, UdpSocket> = HashMap::new();
    let mut readers = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::SeqCst) {
        let Ok((len, client)) = front.recv_from(&mut buf) else { continue };
        let Some(to) = target.lock().ok().and_then(|target| *target) else { continue };
        let upstream = match upstreams.get(&client) {
            Some(upstream) => upstream,
            None => {
                let Ok(upstream) = UdpSocket::bind("127.0.0.1:0") else { continue };
                let (Ok(back), Ok(reader)) = (front.try_clone(), upstream.try_clone()) else {
                    continue;
                };
                let stop = Arc::clone(stop);
                readers.push(std::thread::spawn(move || answers(&reader, &back, client, &stop)));
                upstreams.entry(client).or_insert(upstream)
            }
        };
        let _ = upstream.send_to(&buf[..len], to);
    }
    for reader in readers {
        let _ = reader.join();
    }
}

/// What the server sends one client's upstream socket goes back to that client.
fn answers(upstream: &UdpSocket, front: &UdpSocket, client: SocketAddr, stop: &AtomicBool) {
    if upstream.set_read_timeout(Some(TICK)).is_err() {
        return;
    }
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::SeqCst) {
        if let Ok((len, _)) = upstream.recv_from(&mut buf) {
            let _ = front.send_to(&buf[..len], client);
        }
    }
}

impl Drop for UdpRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
