//! How the host names the peers of its state machines: a UDP sender by its socket address,
//! a TCP connection by its remote address, a serial link by its device path. Each stream
//! link (TCP connection or serial line) carries one peer, as `docs/PROTOCOL.md`, "Stream
//! framing", says.

use std::fmt;
use std::hash::Hasher;
use std::net::SocketAddr;

use minichat_core::address::PeerAddress;

/// A peer of the host's server or client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// A UDP sender.
    Udp(SocketAddr),
    /// A TCP connection, by its remote address.
    Tcp(SocketAddr),
    /// A serial line, by its device path (interned for the program's life: the paths come
    /// from the command line).
    Serial(&'static str),
}

impl Peer {
    /// The peer of the serial line at `path`.
    pub fn serial(path: &str) -> Peer {
        Peer::Serial(intern(path))
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Udp(addr) => write!(f, "{addr}"),
            Peer::Tcp(addr) => write!(f, "tcp:{addr}"),
            Peer::Serial(path) => write!(f, "serial:{path}"),
        }
    }
}

impl PeerAddress for Peer {
    fn write_key<H: Hasher>(&self, hasher: &mut H) {
        match self {
            Peer::Udp(addr) => {
                hasher.write_u8(0);
                addr.write_key(hasher);
            }
            Peer::Tcp(addr) => {
                hasher.write_u8(1);
                addr.write_key(hasher);
            }
            Peer::Serial(path) => {
                hasher.write_u8(2);
                hasher.write(path.as_bytes());
            }
        }
    }

    /// UDP and TCP peers on one IP address are one host; a serial line is nobody else's.
    fn same_host(&self, other: &Self) -> bool {
        match (self, other) {
            (Peer::Udp(a) | Peer::Tcp(a), Peer::Udp(b) | Peer::Tcp(b)) => a.ip() == b.ip(),
            _ => false,
        }
    }

    fn write_host_key<H: Hasher>(&self, hasher: &mut H) {
        match self {
            Peer::Udp(addr) | Peer::Tcp(addr) => addr.write_host_key(hasher),
            Peer::Serial(_) => self.write_key(hasher),
        }
    }
}

/// `path` as a `&'static str`, allocated once per distinct path.
fn intern(path: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static PATHS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut paths = PATHS.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = paths.get(path) {
        return known;
    }
    let leaked: &'static str = Box::leak(path.to_owned().into_boxed_str());
    paths.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_addresses_and_hosts_are_shared_only_over_ip() {
        let udp = Peer::Udp(SocketAddr::from(([10, 0, 0, 1], 5)));
        let tcp = Peer::Tcp(SocketAddr::from(([10, 0, 0, 1], 6)));
        let serial = Peer::serial("/dev/ttyUSB0");
        assert_eq!(udp.to_string(), "10.0.0.1:5");
        assert_eq!(tcp.to_string(), "tcp:10.0.0.1:6");
        assert_eq!(serial.to_string(), "serial:/dev/ttyUSB0");
        assert!(udp.same_host(&tcp));
        assert!(!serial.same_host(&serial));
        assert_eq!(serial, Peer::serial("/dev/ttyUSB0"));
    }
}
