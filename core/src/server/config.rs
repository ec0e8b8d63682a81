//! The server's settings and their defaults.

use crate::time::Duration;
use crate::wire::NameBuf;
use crate::wire::limits::MAX_TEXT_U16;

/// Default: how long a client may stay silent before it pings.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(15);

/// The longest keep-alive a server announces: a third of [`Duration::MAX`] (8.3 days), so
/// that the spans derived from it (a client's two keep-alives and a round trip before it
/// gives up, a default idle timeout of three) still fit in a [`Duration`].
pub const MAX_KEEPALIVE: Duration = Duration::from_millis(Duration::MAX.as_millis() / 3);

/// The longest a user may stay silent before the server drops it: half of
/// [`Duration::MAX`] (12.4 days). Every deadline the server keeps for a user is then at most
/// this far ahead of the time it was set, so a server polled no later than 12.4 days after
/// its next deadline holds deadlines that lie within half the clock of each other, where
/// [`Instant`](crate::time::Instant)'s order is total (the deadline heap relies on it).
pub const MAX_IDLE_TIMEOUT: Duration = Duration::from_millis(Duration::MAX.as_millis() / 2);

/// The shortest keep-alive a server announces, and the shortest a client takes from a
/// `welcome`: a server that said 1 ms would have its clients ping a thousand times a second.
pub const MIN_KEEPALIVE: Duration = Duration::from_secs(1);

/// Default: sessions one source IP address may hold. Enough for a household or an office
/// behind one NAT address; small beside any useful capacity.
pub const DEFAULT_PER_IP: u16 = 16;

/// Default: handshakes a second one source host may cause (encrypted sessions), after a
/// burst of [`DEFAULT_PER_IP`]: a household behind one address joins at once, and one
/// source costs the server well under a percent of a core.
pub const DEFAULT_HANDSHAKES_PER_SEC: u16 = 4;

/// How a [`crate::server::Server`] behaves. [`ServerConfig::new`] gives the defaults of
/// `docs/PROTOCOL.md`, "Timers".
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The key for cookies, tokens and nonces. Keep it secret; make it random (the host
    /// reads the operating system's generator, firmware a hardware one).
    pub secret: [u8; 16],
    /// Different at every start of the server: a boot counter kept in non-volatile memory,
    /// or 64 bits of fresh entropy. Tokens derive from the secret and this, so a server
    /// restarted with the same secret (firmware often has a fixed one) never hands out an
    /// earlier run's tokens — whose old holders would otherwise be taken for their new
    /// owners.
    pub boot: u64,
    /// How many users may be connected at once (at most the table's `N`).
    pub capacity: usize,
    /// How many sessions one source IP address may hold at once (0: no limit), so one host
    /// cannot take every slot. Joins over it are refused `too-many-from-address`.
    pub per_ip: u16,
    /// How long a client may stay silent before it pings; sent in `welcome`. From
    /// [`MIN_KEEPALIVE`] to [`MAX_KEEPALIVE`] (the server brings it within them).
    pub keepalive: Duration,
    /// How long a user may stay silent before the server drops it: at least the
    /// keep-alive, at most [`MAX_IDLE_TIMEOUT`] (the server brings it within them).
    pub idle_timeout: Duration,
    /// How long a join cookie stays valid.
    pub cookie_lifetime: Duration,
    /// Encrypted sessions: handshakes a second one source host (IP address) may make the
    /// server compute (0: no limit); a `hello` over it is dropped before any work.
    pub handshakes_per_sec: u16,
    /// How many handshakes one source host may start at once before that rate applies.
    pub handshake_burst: u16,
    /// Messages a second accepted from one user (0: no limit); sent in `welcome`.
    pub rate_per_sec: u16,
    /// How many messages one user may send at once before the rate applies.
    pub burst: u16,
    /// The longest text accepted, at most [`MAX_TEXT`](crate::wire::limits::MAX_TEXT) and
    /// at most what the ring's arena holds beside two names ([`Server::new`](crate::server::Server::new)
    /// lowers it); sent in `welcome`.
    pub max_text: u16,
    /// The retransmission timeout for deliveries before a round trip is measured.
    pub rto_initial: Duration,
    /// The shortest retransmission timeout, however fast the path.
    pub rto_min: Duration,
    /// The longest retransmission timeout (back-off doubles up to it).
    pub rto_max: Duration,
    /// How many deliveries to one user may await acknowledgement at once (at most 64; a
    /// client's join may ask for fewer).
    pub window: u32,
    /// How many recent ring entries a user who just joined is offered.
    pub history: u16,
    /// The operator's name: messages the operator writes come from it, and no user may
    /// take it.
    pub operator: NameBuf,
    /// Test only (feature `test-hooks`): the first sequence number of every session
    /// ([`ServerConfig::set_first_seq`]).
    #[cfg(feature = "test-hooks")]
    first_seq: u32,
}

impl ServerConfig {
    /// The defaults, with `secret` and this start's `boot` value (see
    /// [`ServerConfig::boot`]: it must differ at every start).
    pub fn new(secret: [u8; 16], boot: u64) -> Self {
        ServerConfig {
            secret,
            boot,
            capacity: usize::MAX,
            per_ip: DEFAULT_PER_IP,
            keepalive: DEFAULT_KEEPALIVE,
            idle_timeout: DEFAULT_KEEPALIVE.times(3),
            cookie_lifetime: Duration::from_secs(30),
            handshakes_per_sec: DEFAULT_HANDSHAKES_PER_SEC,
            handshake_burst: DEFAULT_PER_IP,
            rate_per_sec: 50,
            burst: 100,
            max_text: MAX_TEXT_U16,
            rto_initial: Duration::from_millis(200),
            rto_min: Duration::from_millis(50),
            rto_max: Duration::from_secs(4),
            window: 32,
            history: 10,
            operator: NameBuf::OPERATOR,
            #[cfg(feature = "test-hooks")]
            first_seq: 1,
        }
    }

    /// The first sequence number of a session: 1, as the protocol says.
    #[cfg(not(feature = "test-hooks"))]
    pub(crate) const fn first_seq(&self) -> u32 {
        1
    }

    /// The first sequence number of a session, as the test set it.
    #[cfg(feature = "test-hooks")]
    pub(crate) const fn first_seq(&self) -> u32 {
        self.first_seq
    }

    /// Test only (feature `test-hooks`): the first sequence number of every session, for
    /// the client's messages and the server's deliveries alike, instead of the protocol's
    /// 1 — so a test can start near `u32::MAX` and cross the wrap. Client and server must
    /// agree. A method, not a field, so the feature only adds (code built without it
    /// builds with it).
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub const fn set_first_seq(&mut self, first: u32) {
        self.first_seq = first;
    }

    /// The keep-alive in milliseconds, as `welcome` carries it.
    pub(crate) fn keepalive_ms(&self) -> u32 {
        self.keepalive.as_millis_u32()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::StaticServer;

    #[test]
    fn a_server_announces_no_keep_alive_whose_derived_spans_overflow() {
        let mut config = ServerConfig::new([1; 16], 1);
        config.keepalive = Duration::MAX;
        let rto_max = config.rto_max;
        let Ok(server) = StaticServer::<2, 4>::new(config) else { panic!("a valid config") };
        assert_eq!(server.config().keepalive, MAX_KEEPALIVE);
        // Three keep-alives (the default idle timeout) still fit, and a client's two with
        // the longest round trip are longer than two alone.
        assert!(MAX_KEEPALIVE.times(3) <= Duration::MAX);
        assert!(MAX_KEEPALIVE.times(2) + rto_max > MAX_KEEPALIVE.times(2));
    }

    #[test]
    fn no_deadline_lies_further_ahead_than_the_longest_idle_timeout() {
        let mut config = ServerConfig::new([1; 16], 1);
        config.idle_timeout = Duration::MAX;
        let Ok(server) = StaticServer::<2, 4>::new(config) else { panic!("a valid config") };
        assert_eq!(server.config().idle_timeout, MAX_IDLE_TIMEOUT);
        // The longest keep-alive still fits under it.
        assert!(MAX_KEEPALIVE <= MAX_IDLE_TIMEOUT);
    }
}
