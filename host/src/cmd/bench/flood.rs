//! `minichat bench --flood RATE`: a `minichat serve` process under a flood from one source
//! at RATE datagrams a second, while another user asks for the server's key ten times a
//! second. Measured: what the server took in (the datagrams its socket did not drop, from
//! `/proc/net/udp`), its CPU, and how the other user fared. Three floods, side by side: a
//! flood of plain-text datagrams; one of `hello`s with one valid cookie and a handshake
//! that fails (each used to cost a Diffie-Hellman computation); and the same against a
//! server with no handshake budget (`--handshake-rate 0`): the CPU one source could take.
//! Linux only (`/proc`).

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Cookie, Message};

use crate::cmd::bench::load::Outcome;
use crate::cmd::bench::servers;
use crate::cmd::bench::{Measure, Scenario};
use crate::error::HostError;

/// What floods the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flood {
    /// Plain-text datagrams of the original programs (80 bytes).
    Plain,
    /// `hello`s with one valid cookie, whose handshake does not open (about 120 bytes).
    Hellos,
    /// The same, against a server with no handshake budget.
    HellosUnbudgeted,
}

/// The three floods at `rate` datagrams a second, side by side.
pub(super) fn scenarios(rate: u32) -> Vec<Scenario> {
    [
        (Flood::Plain, "flood-plain", "plain-text datagrams"),
        (Flood::Hellos, "flood-hello", "hellos with a valid cookie"),
        (
            Flood::HellosUnbudgeted,
            "flood-hello-unbudgeted",
            "hellos, server without a handshake budget",
        ),
    ]
    .into_iter()
    .map(|(flood, key, name)| {
        let run: Measure = Box::new(move |load, tick| run(flood, rate, load.duration, tick));
        Scenario { key: key.into(), name: name.into(), unit: "datagrams", run }
    })
    .collect()
}

/// How often the other user asks for the server's key, and how long it waits.
const PROBE_EVERY: Duration = Duration::from_millis(100);
const PROBE_WAIT: Duration = Duration::from_secs(1);

/// Floods a fresh server at `rate` datagrams a second for `duration`.
fn run(
    flood: Flood,
    rate: u32,
    duration: Duration,
    tick: &mut dyn FnMut(u64),
) -> Result<Outcome, HostError> {
    let extra: &[&str] = match flood {
        Flood::HellosUnbudgeted => &["--handshake-rate", "0"],
        _ => &[],
    };
    let server = servers::serve_process_args(16, extra)?;
    let outcome = measure(flood, server.addr, server.cpu, rate, duration, tick);
    server.stop();
    outcome.map_err(HostError::Load)
}

fn measure(
    flood: Flood,
    server: SocketAddr,
    cpu: crate::cmd::bench::cpu::CpuProbe,
    rate: u32,
    duration: Duration,
    tick: &mut dyn FnMut(u64),
) -> std::io::Result<Outcome> {
    let flooder = UdpSocket::bind("127.0.0.1:0")?;
    let datagram = match flood {
        Flood::Plain => vec![b'x'; 80],
        Flood::Hellos | Flood::HellosUnbudgeted => {
            let cookie = cookie_for(&flooder, server)?;
            encode(&Message::Hello { cookie, nonce: 2, handshake: &[0x5a; 88] })
        }
    };
    flooder.set_nonblocking(true)?;
    let prober = UdpSocket::bind("127.0.0.1:0")?;
    prober.set_nonblocking(true)?;
    let drops_before = socket_drops(server).unwrap_or(0);
    let cpu_before = cpu.read();
    let start = Instant::now();
    let (mut sent, mut asked) = (0u64, 0u64);
    let mut asked_at: Vec<(u64, Instant)> = Vec::new();
    let mut latencies_us = Vec::new();
    let mut next_probe = start;
    let mut buf = [0u8; MAX_FRAME];
    while start.elapsed() < duration {
        let elapsed = start.elapsed();
        // Paced: every datagram due by now, in steps of about a millisecond.
        let due =
            u64::try_from(elapsed.as_micros() * u128::from(rate) / 1_000_000).unwrap_or(u64::MAX);
        while sent < due {
            // A full socket buffer on our side drops it here; counted as sent all the same
            // (it was offered).
            let _ = flooder.send_to(&datagram, server);
            sent += 1;
        }
        let now = Instant::now();
        if now >= next_probe {
            asked += 1;
            asked_at.push((asked, now));
            prober.send_to(&encode(&Message::KeyRequest { nonce: asked }), server)?;
            next_probe = now + PROBE_EVERY;
        }
        while let Ok(n) = prober.recv(&mut buf) {
            if let Ok(Message::ServerKey { nonce, .. }) =
                Message::decode(buf.get(..n).unwrap_or_default())
                && let Some(at) = asked_at.iter().position(|(asked, _)| *asked == nonce)
            {
                let (_, sent_at) = asked_at.swap_remove(at);
                let waited = sent_at.elapsed().min(PROBE_WAIT);
                latencies_us.push(u32::try_from(waited.as_micros()).unwrap_or(u32::MAX));
            }
        }
        // Questions unanswered after a second are not waited for.
        asked_at.retain(|(_, at)| at.elapsed() < PROBE_WAIT);
        let done = elapsed.as_millis() * 1000 / duration.as_millis().max(1);
        tick(u64::try_from(done).unwrap_or(1000));
        std::thread::sleep(Duration::from_micros(500));
    }
    let seconds = start.elapsed().as_secs_f64();
    let server_cpu = cpu.read().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));
    let dropped = socket_drops(server).map(|after| after.saturating_sub(drops_before));
    Ok(Outcome {
        messages: sent.saturating_sub(dropped.unwrap_or(0)),
        seconds,
        lost: dropped.unwrap_or(0),
        server_cpu,
        offered: Some(sent),
        probes: Some((u64::try_from(latencies_us.len()).unwrap_or(u64::MAX), asked)),
        latencies_us,
        ..Outcome::default()
    })
}

/// The cookie the server at `server` gives `socket`'s address.
fn cookie_for(socket: &UdpSocket, server: SocketAddr) -> std::io::Result<Cookie> {
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    let hello = encode(&Message::Hello { cookie: Cookie::EMPTY, nonce: 2, handshake: &[0x5a; 88] });
    let mut buf = [0u8; MAX_FRAME];
    for _ in 0..25 {
        socket.send_to(&hello, server)?;
        if let Ok(n) = socket.recv(&mut buf)
            && let Ok(Message::Cookie { cookie, .. }) =
                Message::decode(buf.get(..n).unwrap_or_default())
        {
            return Ok(cookie);
        }
    }
    Err(std::io::Error::other("the server gave no cookie in 5 s"))
}

fn encode(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; message.buffer_len()];
    let _ = message.encode(&mut buf);
    buf
}

/// Datagrams the kernel dropped at `server`'s socket (its receive buffer was full), from
/// `/proc/net/udp`.
fn socket_drops(server: SocketAddr) -> Option<u64> {
    let SocketAddr::V4(v4) = server else { return None };
    let local = format!("{:08X}:{:04X}", u32::from_le_bytes(v4.ip().octets()), v4.port());
    let table = std::fs::read_to_string("/proc/net/udp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&local.as_str())).then(|| fields.last()?.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_sockets_drops() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        if std::path::Path::new("/proc/net/udp").exists() {
            assert_eq!(socket_drops(addr), Some(0));
        }
    }
}
