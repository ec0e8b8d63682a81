//! Load for plain datagram echo servers (the bare loop, `minichat echo`, the Python
//! originals): clients send stamped datagrams, each keeping `window` in flight, and time
//! each reply.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::cmd::bench::cpu::CpuProbe;
use crate::cmd::bench::load::{
    LoadConfig, Outcome, Phase, Window, client_socket, read_stamp, ready_clients, stamp, wait,
};
use crate::net::reactor::Reactor;

/// A client that heard nothing for this long has lost its window: it is counted and sent
/// again.
const STALL: Duration = Duration::from_millis(500);

struct Peer {
    socket: UdpSocket,
    in_flight: usize,
    next_seq: u64,
    heard: Instant,
}

/// Drives `target` with `config` and measures it; `progress` gets the thousandths done.
pub(crate) fn run(
    target: SocketAddr,
    config: &LoadConfig,
    cpu: CpuProbe,
    progress: &mut dyn FnMut(u64),
) -> std::io::Result<Outcome> {
    let mut reactor = Reactor::new(config.clients.max(1)).map_err(std::io::Error::other)?;
    let mut peers = Vec::with_capacity(config.clients);
    for i in 0..config.clients {
        let socket = client_socket(&reactor, target, i)?;
        peers.push(Peer { socket, in_flight: 0, next_seq: 0, heard: Instant::now() });
    }
    let mut window = Window::new(config, cpu);
    let mut outcome = Outcome::default();
    let mut text = String::with_capacity(config.size);
    let mut buf = vec![0u8; 65_536];
    for (i, peer) in peers.iter_mut().enumerate() {
        fill(peer, i, config, &window, &mut text);
    }
    let mut last_progress = Instant::now();
    loop {
        let phase = window.phase();
        if phase == Phase::Done {
            break;
        }
        wait(&mut reactor, Duration::from_millis(20))?;
        for i in ready_clients(&reactor, peers.len()) {
            let Some(peer) = peers.get_mut(i) else { continue };
            loop {
                let len = match peer.socket.recv(&mut buf) {
                    Ok(len) => len,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => continue, // a refused port, for instance: the stall check resends
                };
                peer.in_flight = peer.in_flight.saturating_sub(1);
                peer.heard = Instant::now();
                if phase == Phase::Measure
                    && let Some((_, _, sent)) = buf.get(..len).and_then(read_stamp)
                {
                    outcome.messages += 1;
                    let latency = window.micros().saturating_sub(sent);
                    outcome.latencies_us.push(u32::try_from(latency).unwrap_or(u32::MAX));
                }
            }
            fill(peer, i, config, &window, &mut text);
        }
        for (i, peer) in peers.iter_mut().enumerate() {
            if peer.in_flight > 0 && peer.heard.elapsed() > STALL {
                if phase == Phase::Measure {
                    outcome.lost += peer.in_flight as u64;
                }
                peer.in_flight = 0;
                peer.heard = Instant::now();
                fill(peer, i, config, &window, &mut text);
            }
        }
        if last_progress.elapsed() > Duration::from_millis(100) {
            progress(window.progress());
            last_progress = Instant::now();
        }
    }
    window.finish(&mut outcome);
    Ok(outcome)
}

/// Sends until the peer has its window in flight.
fn fill(peer: &mut Peer, i: usize, config: &LoadConfig, window: &Window, text: &mut String) {
    while peer.in_flight < config.window {
        stamp(text, i, peer.next_seq, window.micros(), config.size);
        match peer.socket.send(text.as_bytes()) {
            Ok(_) => {
                peer.in_flight += 1;
                peer.next_seq += 1;
            }
            Err(_) => return, // full, or refused: the stall check comes back to it
        }
    }
}
