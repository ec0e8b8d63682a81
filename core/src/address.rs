//! Where a datagram comes from and goes to, as the embedding names its peers.
//!
//! The state machines never look inside an address: they compare addresses, bind their
//! secrets (cookies, tokens, challenges) to one, and ask whether two share a host (for the
//! per-host session limit). So the embedding chooses the type: `SocketAddr` on a computer,
//! smoltcp's `IpEndpoint` on firmware, or its own — the host's `Peer` names a UDP sender or
//! a serial or TCP link; a firmware on one serial line uses [`PointToPoint`]: it has one
//! peer; a firmware server with a line per user uses [`SerialLine`].

use core::hash::Hasher;
use core::net::SocketAddr;

/// A peer's address, as the server and client state machines need it.
pub trait PeerAddress: Copy + Eq + core::fmt::Debug {
    /// Feeds the address to the server's keyed hash: different addresses must write
    /// different bytes, so a cookie or token minted for one is worthless at another.
    fn write_key<H: Hasher>(&self, hasher: &mut H);

    /// Whether `self` and `other` are on the same host, for the per-host session limit
    /// (`ServerConfig::per_ip`). Addresses of point-to-point links share with nobody.
    fn same_host(&self, other: &Self) -> bool;

    /// Feeds the address's host to the server's keyed hash: two addresses on the same
    /// host ([`PeerAddress::same_host`]) must write the same bytes, for the limits a
    /// server keeps per host (handshakes a second); a host may be wider (an IPv6 /64). By
    /// default every address is a host of its own.
    fn write_host_key<H: Hasher>(&self, hasher: &mut H) {
        self.write_key(hasher);
    }

    /// Whether a peer can turn up at another address of this type (a NAT rebinding, a
    /// phone changing networks). A client on an address that cannot move never gets a
    /// `challenge` it should answer nor a `moved` of its own, so it reads neither and
    /// leaves their code out (PROTOCOL.md section 10, "Identity"); if its session is ever
    /// moved away, it stops hearing the server and re-joins. Say `false` only where the
    /// server, too, always sees the link as the same peer (a serial line); over a TCP
    /// connection opened again the server sees a new address, and such a client re-joins
    /// (with `resume`, losing nothing) where a roaming one would have moved.
    ///
    /// A server whose peers' addresses cannot move (users on its serial lines) challenges
    /// no one: a session's token from another address is answered `unknown-session`, a
    /// `challenge-response` is not read, and the code for moves is left out of it.
    const ROAMS: bool = true;
}

impl PeerAddress for SocketAddr {
    // Called from three places (cookies, tokens, challenges): kept out of line, so the
    // firmware carries it once.
    #[inline(never)]
    fn write_key<H: Hasher>(&self, hasher: &mut H) {
        match self {
            SocketAddr::V4(v4) => {
                hasher.write_u8(4);
                hasher.write(&v4.ip().octets());
            }
            SocketAddr::V6(v6) => {
                hasher.write_u8(6);
                hasher.write(&v6.ip().octets());
            }
        }
        hasher.write(&self.port().to_be_bytes());
    }

    fn same_host(&self, other: &Self) -> bool {
        self.ip() == other.ip()
    }

    /// An IPv4 address, or an IPv6 address's /64: one host has a whole /64 to send from.
    fn write_host_key<H: Hasher>(&self, hasher: &mut H) {
        match self.ip() {
            core::net::IpAddr::V4(ip) => hasher.write(&ip.octets()),
            core::net::IpAddr::V6(ip) => hasher.write(ip.octets().get(..8).unwrap_or_default()),
        }
    }
}

/// The only peer on a point-to-point link (a firmware's serial line): an address that
/// takes no memory.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PointToPoint;

impl PeerAddress for PointToPoint {
    // The line's other end is always the same peer.
    const ROAMS: bool = false;

    fn write_key<H: Hasher>(&self, _hasher: &mut H) {}

    fn same_host(&self, _other: &Self) -> bool {
        false
    }
}

/// A peer on one of a device's serial lines (a server with a UART per user): the line's
/// number. A line is its cable: a session never moves to another line.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SerialLine(pub u8);

impl PeerAddress for SerialLine {
    // A token from another line is answered `unknown-session`: no moves, and no code for
    // them.
    const ROAMS: bool = false;

    fn write_key<H: Hasher>(&self, hasher: &mut H) {
        hasher.write_u8(self.0);
    }

    fn same_host(&self, _other: &Self) -> bool {
        false // a serial line is point to point
    }
}

#[cfg(feature = "smoltcp")]
impl PeerAddress for smoltcp::wire::IpEndpoint {
    fn write_key<H: Hasher>(&self, hasher: &mut H) {
        core::hash::Hash::hash(self, hasher);
    }

    fn same_host(&self, other: &Self) -> bool {
        self.addr == other.addr
    }

    fn write_host_key<H: Hasher>(&self, hasher: &mut H) {
        core::hash::Hash::hash(&self.addr, hasher);
    }
}

#[cfg(test)]
mod tests {
    use super::PointToPoint;
    use crate::client::{Client, ClientConfig, ClientEvent};
    use crate::server::{ServerConfig, ServerEvent, StaticServer};
    use crate::time::{Duration, Instant};
    use crate::wire::limits::MAX_FRAME;
    use crate::wire::{Message, NameBuf};

    /// A server and a client on one point-to-point link, where the address is empty: the
    /// client joins, says something, and the server takes it.
    #[test]
    fn a_session_over_a_link_with_no_addresses() {
        let mut server =
            StaticServer::<2, 4, PointToPoint>::new(ServerConfig::new([7; 16], 1)).unwrap();
        let name = NameBuf::parse("mcu").unwrap();
        let mut client = Client::<4, 4, 4, PointToPoint>::new(
            ClientConfig::new(name.as_str(), PointToPoint, 0x5eed).unwrap(),
            Instant::ZERO,
        );
        let (mut buf, mut reply) = ([0u8; MAX_FRAME], [0u8; MAX_FRAME]);
        let mut now = Instant::ZERO;
        let mut said = false;
        for _ in 0..50 {
            now = now + Duration::from_millis(10);
            server.handle_timeout(now);
            client.handle_timeout(now);
            while let Some(t) = client.poll_transmit(now, &mut buf) {
                if let Some(r) = server.handle(now, t.destination, &buf[..t.len], &mut reply) {
                    client.handle(now, r.destination, &reply[..r.len]);
                }
            }
            while let Some(t) = server.poll_transmit(now, &mut buf) {
                client.handle(now, t.destination, &buf[..t.len]);
            }
            if client.is_joined() && !said {
                client.say(now, "mcu is up").unwrap();
                said = true;
            }
        }
        assert!(matches!(
            server.poll_event(),
            Some(ServerEvent::Joined { addr: PointToPoint, .. })
        ));
        assert_eq!(server.message(1).map(|m| m.text), Some("mcu is up"));
        let mut delivered = false;
        while let Some(event) = client.poll_event() {
            delivered |= matches!(event, ClientEvent::Delivered { .. });
        }
        assert!(delivered);

        // The line's other end cannot move, so a client on it reads no `challenge` (nor
        // `moved`): it neither answers nor changes anything.
        let token = client.session_token().unwrap();
        let ignored = client.stats().ignored;
        for message in [
            Message::Challenge { token, nonce: 7 },
            Message::Moved { token, nonce: 7, seq: 1, digest: 0 },
        ] {
            let len = message.encode(&mut buf).unwrap();
            client.handle(now, PointToPoint, &buf[..len]);
        }
        assert_eq!(client.stats().ignored, ignored + 2);
        assert!(client.poll_transmit(now, &mut buf).is_none());
        assert_eq!(client.session_token(), Some(token));
        assert!(client.poll_event().is_none());

        // Someone else moved the session away: every frame the client sends now draws a
        // challenge, and it goes on hearing nothing it reads, until it re-joins.
        let mut lost = false;
        for _ in 0..1_000 {
            now = now + Duration::from_millis(500);
            client.handle_timeout(now);
            while let Some(t) = client.poll_transmit(now, &mut buf) {
                let challenge = Message::Challenge { token, nonce: 8 };
                let len = challenge.encode(&mut reply).unwrap();
                client.handle(now, t.destination, &reply[..len]);
            }
            if let Some(event) = client.poll_event() {
                assert_eq!(event, ClientEvent::ServerLost);
                lost = true;
                break;
            }
        }
        assert!(lost, "the client never noticed its session was gone");
        assert!(!client.is_joined() && !client.is_closed());
    }
}
