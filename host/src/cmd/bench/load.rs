//! What every load generator shares: its settings, the measurement window, the stamp each
//! message carries, and what it measured.

use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use mio::{Interest, Token};

use crate::cmd::bench::cpu::CpuProbe;
use crate::net::reactor::{self, Reactor};

/// How hard to push.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadConfig {
    /// Clients (sockets) at once.
    pub(crate) clients: usize,
    /// Messages each client keeps in flight.
    pub(crate) window: usize,
    /// Bytes of payload per message.
    pub(crate) size: usize,
    /// Time to reach steady state before measuring.
    pub(crate) warmup: Duration,
    /// Time measured.
    pub(crate) duration: Duration,
}

/// A load client's socket: non-blocking, connected to `target`, registered with
/// `reactor` as `Token(index)`.
pub(crate) fn client_socket(
    reactor: &Reactor,
    target: SocketAddr,
    index: usize,
) -> std::io::Result<UdpSocket> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.connect(target)?;
    socket.set_nonblocking(true)?;
    reactor
        .register_udp(&socket, Token(index), Interest::READABLE)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(socket)
}

/// The load clients whose sockets may have something: those the last wait reported, or
/// all of them where the platform reports nothing for std sockets.
pub(crate) fn ready_clients(reactor: &Reactor, clients: usize) -> Vec<usize> {
    if reactor::SOCKET_EVENTS {
        reactor.events().map(|event| event.token().0).filter(|&i| i < clients).collect()
    } else {
        (0..clients).collect()
    }
}

/// Waits for the load's sockets, up to `timeout`.
pub(crate) fn wait(reactor: &mut Reactor, timeout: Duration) -> std::io::Result<()> {
    reactor.wait(Some(timeout)).map_err(|e| std::io::Error::other(e.to_string()))
}

/// The shortest payload: the stamp itself.
pub(crate) const STAMP_LEN: usize = 30;

/// What one scenario measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    /// Messages that completed in the window (replies, or deliveries).
    pub(crate) messages: u64,
    /// The window's length.
    pub(crate) seconds: f64,
    /// Latency of each completed message, microseconds.
    pub(crate) latencies_us: Vec<u32>,
    /// Messages lost (no reply in time, not delivered, or reported missed).
    pub(crate) lost: u64,
    /// The server's CPU time in the window, if it could be read.
    pub(crate) server_cpu: Option<Duration>,
    /// A broker's between bridged servers, if there is one.
    pub(crate) broker_cpu: Option<Duration>,
    /// Users connected to the server during the window, when the scenario counts them.
    pub(crate) connected: Option<usize>,
    /// The server process's resident memory with them connected, KiB.
    pub(crate) server_rss_kib: Option<u64>,
    /// Datagrams offered, when more were sent than taken (`--flood`).
    pub(crate) offered: Option<u64>,
    /// Another user's questions answered, and asked (`--flood`).
    pub(crate) probes: Option<(u64, u64)>,
}

impl Outcome {
    /// Messages a second.
    pub(crate) fn rate(&self) -> f64 {
        if self.seconds > 0.0 { self.messages as f64 / self.seconds } else { 0.0 }
    }

    /// A quantile of latency, in thousandths (500: the median, 990: p99), microseconds.
    pub(crate) fn latency(&mut self, per_mille: usize) -> Option<u32> {
        if self.latencies_us.is_empty() {
            return None;
        }
        self.latencies_us.sort_unstable();
        let index = ((self.latencies_us.len() - 1) * per_mille.min(1000) + 500) / 1000;
        self.latencies_us.get(index).copied()
    }

    /// Server CPU per completed message, nanoseconds.
    pub(crate) fn cpu_per_message_ns(&self) -> Option<f64> {
        self.per_message_ns(self.server_cpu?)
    }

    /// The broker's CPU per completed message, nanoseconds.
    pub(crate) fn broker_cpu_per_message_ns(&self) -> Option<f64> {
        self.per_message_ns(self.broker_cpu?)
    }

    fn per_message_ns(&self, cpu: Duration) -> Option<f64> {
        (self.messages > 0).then(|| cpu.as_nanos() as f64 / self.messages as f64)
    }
}

/// Where in its run a load generator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Warmup,
    Measure,
    Done,
}

/// The warm-up, then the measured window, with the server's CPU time at its edges.
#[derive(Debug)]
pub(crate) struct Window {
    start: Instant,
    warmup: Duration,
    duration: Duration,
    cpu: CpuProbe,
    cpu_start: Option<Duration>,
    broker: CpuProbe,
    broker_start: Option<Duration>,
    measuring: bool,
}

impl Window {
    pub(crate) fn new(config: &LoadConfig, cpu: CpuProbe) -> Self {
        Window {
            start: Instant::now(),
            warmup: config.warmup,
            duration: config.duration,
            cpu,
            cpu_start: None,
            broker: CpuProbe::None,
            broker_start: None,
            measuring: false,
        }
    }

    /// Also reads a broker's CPU time at the window's edges.
    pub(crate) fn with_broker(mut self, broker: CpuProbe) -> Self {
        self.broker = broker;
        self
    }

    /// The phase now; entering the measured window reads the server's CPU time.
    pub(crate) fn phase(&mut self) -> Phase {
        let elapsed = self.start.elapsed();
        if elapsed < self.warmup {
            Phase::Warmup
        } else if elapsed < self.warmup + self.duration {
            if !self.measuring {
                self.measuring = true;
                self.cpu_start = self.cpu.read();
                self.broker_start = self.broker.read();
            }
            Phase::Measure
        } else {
            Phase::Done
        }
    }

    /// How far along the whole run is, in thousandths.
    pub(crate) fn progress(&self) -> u64 {
        let total = (self.warmup + self.duration).as_millis().max(1);
        u64::try_from(self.start.elapsed().as_millis() * 1000 / total).unwrap_or(1000).min(1000)
    }

    /// Microseconds since the run started: the clock stamps use.
    pub(crate) fn micros(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Closes the window: the CPU the server spent in it.
    pub(crate) fn finish(&self, outcome: &mut Outcome) {
        outcome.seconds = self.duration.as_secs_f64();
        let spent = |start: Option<Duration>, end: Option<Duration>| match (start, end) {
            (Some(start), Some(end)) => Some(end.saturating_sub(start)),
            _ => None,
        };
        outcome.server_cpu = spent(self.cpu_start, self.cpu.read());
        outcome.broker_cpu = spent(self.broker_start, self.broker.read());
    }
}

/// Writes the stamp (client, sequence number, send time in microseconds; digits only, so
/// case mapping leaves it alone) and pads to `size` bytes.
pub(crate) fn stamp(out: &mut String, client: usize, seq: u64, micros: u64, size: usize) {
    out.clear();
    let _ = write!(out, "{:04}{:010}{:016}", client % 10_000, seq % 10_000_000_000, micros);
    while out.len() < size.max(STAMP_LEN) {
        out.push('x');
    }
}

/// Reads a stamp back: (client, sequence number, send time).
pub(crate) fn read_stamp(bytes: &[u8]) -> Option<(usize, u64, u64)> {
    let digits = std::str::from_utf8(bytes.get(..STAMP_LEN)?).ok()?;
    let client = digits.get(0..4)?.parse().ok()?;
    let seq = digits.get(4..14)?.parse().ok()?;
    let micros = digits.get(14..30)?.parse().ok()?;
    Some((client, seq, micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_survive_case_mapping() {
        let mut text = String::new();
        stamp(&mut text, 7, 12_345, 987_654_321, 64);
        assert_eq!(text.len(), 64);
        let upper = text.to_ascii_uppercase();
        assert_eq!(read_stamp(upper.as_bytes()), Some((7, 12_345, 987_654_321)));
    }

    #[test]
    fn quantiles() {
        let mut outcome = Outcome { latencies_us: (1..=100).rev().collect(), ..Outcome::default() };
        assert_eq!(outcome.latency(500), Some(51));
        assert_eq!(outcome.latency(990), Some(99));
    }
}
