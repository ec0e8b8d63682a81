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
    answers: Arc<Mutex<Vec<Vec<u8>>>>,
    rebind: Arc<AtomicBool>,
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
        let answers = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let rebind = Arc::new(AtomicBool::new(false));
        let shared = Shared {
            target: Arc::clone(&target),
            answers: Arc::clone(&answers),
            rebind: Arc::clone(&rebind),
            stop: Arc::clone(&stop),
        };
        let relay = std::thread::spawn(move || relay(&front, &shared));
        UdpRelay { addr, target, answers, rebind, stop, threads: vec![relay] }
    }

    /// The address clients are given.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every datagram the server sent back through the relay so far, in order: what
    /// someone on the path sees.
    pub fn answers(&self) -> Vec<Vec<u8>> {
        self.answers.lock().map(|answers| answers.clone()).unwrap_or_default()
    }

    /// From the next datagram on, each client comes from a new address (a NAT that
    /// rebinds).
    pub fn rebind(&self) {
        self.rebind.store(true, Ordering::SeqCst);
    }

    /// From now on datagrams go to `target`; `None`: nowhere, and nothing comes back (the
    /// path is cut both ways).
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

/// What the relay's threads share with it.
#[derive(Clone)]
struct Shared {
    target: Arc<Mutex<Option<SocketAddr>>>,
    answers: Arc<Mutex<Vec<Vec<u8>>>>,
    rebind: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Shared {
    fn target(&self) -> Option<SocketAddr> {
        self.target.lock().ok().and_then(|target| *target)
    }
}

/// The front socket's loop: one upstream socket per client, made on its first datagram
/// (and again after a rebind, the old one retired).
fn relay(front: &UdpSocket, shared: &Shared) {
    let mut upstreams: HashMap<SocketAddr, (UdpSocket, Arc<AtomicBool>)> = HashMap::new();
    let mut readers = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok((len, client)) = front.recv_from(&mut buf) else { continue };
        let Some(to) = shared.target() else { continue };
        if shared.rebind.swap(false, Ordering::SeqCst) {
            for (_, (_, retired)) in upstreams.drain() {
                retired.store(true, Ordering::SeqCst);
            }
        }
        let upstream = match upstreams.get(&client) {
            Some((upstream, _)) => upstream,
            None => {
                let Ok(upstream) = UdpSocket::bind("127.0.0.1:0") else { continue };
                let (Ok(back), Ok(reader)) = (front.try_clone(), upstream.try_clone()) else {
                    continue;
                };
                let retired = Arc::new(AtomicBool::new(false));
                let (shared, gone) = (shared.clone(), Arc::clone(&retired));
                readers.push(std::thread::spawn(move || {
                    relay_answers(&reader, &back, client, &shared, &gone);
                }));
                &upstreams.entry(client).or_insert((upstream, retired)).0
            }
        };
        let _ = upstream.send_to(&buf[..len], to);
    }
    for reader in readers {
        let _ = reader.join();
    }
}

/// What the server sends one client's upstream socket goes back to that client, while the
/// path is not cut and the socket not retired by a rebind.
fn relay_answers(
    upstream: &UdpSocket,
    front: &UdpSocket,
    client: SocketAddr,
    shared: &Shared,
    retired: &AtomicBool,
) {
    if upstream.set_read_timeout(Some(TICK)).is_err() {
        return;
    }
    let mut buf = vec![0u8; 65_536];
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok((len, _)) = upstream.recv_from(&mut buf) else { continue };
        if retired.load(Ordering::SeqCst) || shared.target().is_none() {
            continue;
        }
        if let Ok(mut seen) = shared.answers.lock() {
            seen.push(buf[..len].to_vec());
        }
        let _ = front.send_to(&buf[..len], client);
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
