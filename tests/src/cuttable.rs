//! A TCP relay the test can cut and restore: a server's path to its broker, taken away
//! while everything else keeps running.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Relays every connection made to its port to `target`, until cut.
#[derive(Debug)]
pub struct CuttableLink {
    port: u16,
    target: Arc<Mutex<SocketAddr>>,
    open: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
}

impl CuttableLink {
    /// A relay on a free port of 127.0.0.1 to `target`.
    pub fn to(target: SocketAddr) -> CuttableLink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("its address").port();
        let open = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let target = Arc::new(Mutex::new(target));
        let (open_, stop_, streams_) = (Arc::clone(&open), Arc::clone(&stop), Arc::clone(&streams));
        let target_ = Arc::clone(&target);
        let accept = std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop_.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if !open_.load(Ordering::SeqCst) {
                    continue; // cut: refused by hanging up at once
                }
                let Ok(target) = target_.lock().map(|target| *target) else { continue };
                let Ok(upstream) = TcpStream::connect(target) else { continue };
                for stream in [&client, &upstream] {
                    if let (Ok(clone), Ok(mut list)) = (stream.try_clone(), streams_.lock()) {
                        list.push(clone);
                    }
                }
                pipe(&client, &upstream);
                pipe(&upstream, &client);
            }
        });
        CuttableLink { port, target, open, stop, streams, accept: Some(accept) }
    }

    /// Relays new connections to `target` from now on (connections open stay where they
    /// go).
    pub fn retarget(&self, target: SocketAddr) {
        if let Ok(mut current) = self.target.lock() {
            *current = target;
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes every connection through it, and refuses new ones until restored.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        if let Ok(mut list) = self.streams.lock() {
            for stream in list.drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }

    /// Relays new connections again.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` on a thread until either closes.
fn pipe(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else { return };
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

impl Drop for CuttableLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
        // Wakes the accepting thread so it sees the stop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}
