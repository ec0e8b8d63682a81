//! The client's settings: what a client cannot do without is asked for up front, the rest
//! has the defaults of `docs/PROTOCOL.md` ("Timers") and a setter that refuses a value
//! out of range.

use core::net::SocketAddr;

use crate::error::ConfigError;
use crate::server::{DEFAULT_KEEPALIVE, MAX_IDLE_TIMEOUT, MAX_KEEPALIVE, MIN_KEEPALIVE};
use crate::settings::{count_within, retransmission_within, within};
use crate::time::Duration;
use crate::wire::NameBuf;
use crate::wire::limits::{MAX_FRAME, MAX_FRAME_U16, MIN_FRAME};

/// The longest retransmission timeout a client may be given: a minute between resends.
pub const MAX_RTO: Duration = Duration::from_secs(60);

/// The longest an acknowledgement may wait for more deliveries to share it.
pub const MAX_ACK_DELAY: Duration = Duration::from_secs(1);

/// How a [`crate::client::Client`] behaves: its name, its server and its seed, given to
/// [`ClientConfig::new`], and timers with defaults. Fields are private, so a setting can
/// be added without breaking a program.
#[derive(Debug, Clone)]
pub struct ClientConfig<A = SocketAddr> {
    pub(crate) name: NameBuf,
    pub(crate) server: A,
    pub(crate) rto_initial: Duration,
    pub(crate) rto_min: Duration,
    pub(crate) rto_max: Duration,
    pub(crate) give_up: Duration,
    pub(crate) keepalive: Duration,
    pub(crate) ack_delay: Duration,
    pub(crate) seed: u64,
    pub(crate) max_frame: u16,
    /// Test only (feature `test-hooks`): the first sequence number of every session
    /// ([`ClientConfig::set_first_seq`]).
    #[cfg(feature = "test-hooks")]
    first_seq: u32,
}

impl<A> ClientConfig<A> {
    /// The settings for a client called `name` at `server`, with the protocol's timers.
    ///
    /// `seed` makes this client's join nonces its own: give every client process a
    /// different value from a random source (the operating system's generator, a
    /// hardware one), so a restarted client at a reused address is never taken for its
    /// predecessor. 0 is refused, as the value of a program that forgot.
    pub fn new(name: &str, server: A, seed: u64) -> Result<Self, ConfigError> {
        let name = NameBuf::parse(name).map_err(ConfigError::InvalidName)?;
        if seed == 0 {
            return Err(ConfigError::ZeroSeed);
        }
        Ok(ClientConfig {
            name,
            server,
            rto_initial: Duration::from_millis(250),
            rto_min: Duration::from_millis(50),
            rto_max: Duration::from_secs(4),
            give_up: Duration::from_secs(30),
            keepalive: DEFAULT_KEEPALIVE,
            ack_delay: Duration::from_millis(10),
            seed,
            max_frame: MAX_FRAME_U16,
            #[cfg(feature = "test-hooks")]
            first_seq: 1,
        })
    }

    /// The name to join as.
    pub const fn name(&self) -> &NameBuf {
        &self.name
    }

    /// The server's address; datagrams from anywhere else are ignored.
    pub const fn server(&self) -> &A {
        &self.server
    }

    /// The retransmission timeouts: the first (joins, requests, and messages until a round
    /// trip is measured), the shortest however fast the path, and the longest (back-off
    /// doubles up to it). Defaults: 250 ms, 50 ms, 4 s.
    pub const fn retransmission(&self) -> (Duration, Duration, Duration) {
        (self.rto_initial, self.rto_min, self.rto_max)
    }

    /// Sets the retransmission timeouts ([`ClientConfig::retransmission`]): each between
    /// 1 ms and [`MAX_RTO`], and `min` ≤ `initial` ≤ `max`.
    pub fn set_retransmission(
        &mut self,
        initial: Duration,
        min: Duration,
        max: Duration,
    ) -> Result<&mut Self, ConfigError> {
        (self.rto_initial, self.rto_min, self.rto_max) = retransmission_within(initial, min, max)?;
        Ok(self)
    }

    /// How long a message may wait for the server's acknowledgement before it counts as
    /// not delivered. Default 30 s.
    pub const fn give_up(&self) -> Duration {
        self.give_up
    }

    /// Sets [`ClientConfig::give_up`]: between 1 ms and 12.4 days (the clock's reach).
    pub fn set_give_up(&mut self, give_up: Duration) -> Result<&mut Self, ConfigError> {
        let one = Duration::from_millis(1);
        self.give_up = within("time to give up", give_up, one, MAX_IDLE_TIMEOUT)?;
        Ok(self)
    }

    /// The keep-alive until the server's `welcome` says otherwise. Default 15 s.
    pub const fn keepalive(&self) -> Duration {
        self.keepalive
    }

    /// Sets [`ClientConfig::keepalive`]: within the range a server may announce.
    pub fn set_keepalive(&mut self, keepalive: Duration) -> Result<&mut Self, ConfigError> {
        self.keepalive = within("keep-alive", keepalive, MIN_KEEPALIVE, MAX_KEEPALIVE)?;
        Ok(self)
    }

    /// How long an acknowledgement of deliveries that arrived in order may wait for more
    /// to share it (one goes at once after every eighth, and at once after a gap).
    /// Default 10 ms.
    pub const fn ack_delay(&self) -> Duration {
        self.ack_delay
    }

    /// Sets [`ClientConfig::ack_delay`]: at most [`MAX_ACK_DELAY`] (0: at once).
    pub fn set_ack_delay(&mut self, delay: Duration) -> Result<&mut Self, ConfigError> {
        self.ack_delay = within("acknowledgement delay", delay, Duration::ZERO, MAX_ACK_DELAY)?;
        Ok(self)
    }

    /// The largest frame this client takes: what its receive buffer holds. Its join
    /// says so, and the server never sends it a larger frame; a message too long for it
    /// reaches it as [`Missed`](crate::client::Event::Missed). Default [`MAX_FRAME`]
    /// (1,024 B).
    pub const fn max_frame(&self) -> u16 {
        self.max_frame
    }

    /// Sets [`ClientConfig::max_frame`]: between [`MIN_FRAME`] (168 B, the largest frame
    /// a server sends without a message in it) and [`MAX_FRAME`].
    pub fn set_max_frame(&mut self, bytes: usize) -> Result<&mut Self, ConfigError> {
        let bytes =
            count_within("largest frame", bytes as u64, MIN_FRAME as u64, MAX_FRAME as u64)?;
        self.max_frame = u16::try_from(bytes).unwrap_or(MAX_FRAME_U16);
        Ok(self)
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::PointToPoint;

    #[test]
    fn what_a_client_needs_is_asked_for_and_checked() {
        assert!(matches!(ClientConfig::new("", PointToPoint, 1), Err(ConfigError::InvalidName(_))));
        assert_eq!(ClientConfig::new("mcu", PointToPoint, 0).unwrap_err(), ConfigError::ZeroSeed);
        let config = ClientConfig::new("mcu", PointToPoint, 7).unwrap();
        assert_eq!(config.name().as_str(), "mcu");
    }

    #[test]
    fn a_value_out_of_range_is_an_error_not_a_clamp() {
        let mut config = ClientConfig::new("mcu", PointToPoint, 7).unwrap();
        let ms = Duration::from_millis;
        let err = config.set_retransmission(ms(250), ms(300), ms(4000)).unwrap_err();
        assert_eq!(
            err,
            ConfigError::OutOfRange {
                setting: "first retransmission timeout",
                value_ms: 250,
                min_ms: 300,
                max_ms: 4000
            }
        );
        assert_eq!(
            std::string::ToString::to_string(&err),
            "the first retransmission timeout is 250 ms; it must be between 300 and 4000 ms"
        );
        assert!(config.set_retransmission(ms(250), ms(50), ms(40)).is_err(), "max < min");
        assert!(config.set_keepalive(ms(10)).is_err());
        assert!(config.set_ack_delay(Duration::from_secs(2)).is_err());
        assert!(config.set_give_up(Duration::ZERO).is_err());
        // Refused values leave the settings as they were.
        assert_eq!(config.retransmission(), (ms(250), ms(50), ms(4000)));
        config.set_retransmission(ms(100), ms(20), ms(2000)).unwrap().set_give_up(ms(5)).unwrap();
        assert_eq!(
            (config.retransmission(), config.give_up()),
            ((ms(100), ms(20), ms(2000)), ms(5))
        );
    }
}
