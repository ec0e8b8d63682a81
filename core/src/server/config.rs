//! The server's settings: what a server cannot do without (its secret, this start's boot
//! value) is asked for up front, the rest has the defaults of `docs/PROTOCOL.md` ("Timers
//! and limits in use") and a setter that refuses a value out of range.

use crate::error::ConfigError;
use crate::server::delivery::MAX_WINDOW;
use crate::settings::{count_within, retransmission_within, within};
use crate::table::MAX_CAPACITY;
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

/// How a [`crate::server::Server`] behaves: its secret and this start's boot value, given
/// to [`ServerConfig::new`], and settings with the defaults of `docs/PROTOCOL.md`, "Timers
/// and limits in use". Fields are private, so a setting can be added without breaking a
/// program; a setter refuses a value out of range ([`ConfigError`]) and leaves the
/// setting as it was.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The key for cookies, tokens and nonces ([`ServerConfig::new`]).
    pub(crate) secret: [u8; 16],
    /// Different at every start of the server ([`ServerConfig::boot`]).
    pub(crate) boot: u64,
    /// [`ServerConfig::capacity`]; `usize::MAX`: as many as the table's slots.
    pub(crate) capacity: usize,
    /// [`ServerConfig::per_ip`].
    pub(crate) per_ip: u16,
    /// [`ServerConfig::keepalive`].
    pub(crate) keepalive: Duration,
    /// [`ServerConfig::idle_timeout`].
    pub(crate) idle_timeout: Duration,
    /// [`ServerConfig::cookie_lifetime`].
    pub(crate) cookie_lifetime: Duration,
    /// [`ServerConfig::handshakes_per_sec`].
    pub(crate) handshakes_per_sec: u16,
    /// [`ServerConfig::handshake_burst`].
    pub(crate) handshake_burst: u16,
    /// [`ServerConfig::rate_per_sec`].
    pub(crate) rate_per_sec: u16,
    /// [`ServerConfig::burst`].
    pub(crate) burst: u16,
    /// [`ServerConfig::max_text`]; the server lowers it to what its memory holds, and to
    /// what a sealed frame carries.
    pub(crate) max_text: u16,
    /// [`ServerConfig::retransmission`]: the first.
    pub(crate) rto_initial: Duration,
    /// [`ServerConfig::retransmission`]: the shortest.
    pub(crate) rto_min: Duration,
    /// [`ServerConfig::retransmission`]: the longest.
    pub(crate) rto_max: Duration,
    /// [`ServerConfig::window`]; the server lowers it to what its ring holds.
    pub(crate) window: u32,
    /// [`ServerConfig::history`].
    pub(crate) history: u16,
    /// [`ServerConfig::operator`].
    pub(crate) operator: NameBuf,
    /// Test only (feature `test-hooks`): the first sequence number of every session
    /// ([`ServerConfig::set_first_seq`]).
    #[cfg(feature = "test-hooks")]
    first_seq: u32,
}

impl ServerConfig {
    /// The defaults, with `secret` and this start's `boot` value.
    ///
    /// `secret` is the key for cookies, tokens and nonces: keep it secret, make it random
    /// (the host reads the operating system's generator, firmware a hardware one).
    ///
    /// `boot` must differ at every start of the server: a boot counter kept in
    /// non-volatile memory, or 64 bits of fresh entropy. Tokens derive from the secret and
    /// this, so a server restarted with the same secret (firmware often has a fixed one)
    /// never hands out an earlier run's tokens — whose old holders would otherwise be taken
    /// for their new owners.
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

    /// This start's boot value, as given to [`ServerConfig::new`].
    pub const fn boot(&self) -> u64 {
        self.boot
    }

    /// How many users may be connected at once. `usize::MAX` (the default) until a server
    /// is made: then as many as its table's slots; a server's
    /// [`config`](crate::server::Server::config) tells the number in force.
    pub const fn capacity(&self) -> usize {
        self.capacity
    }

    /// Sets [`ServerConfig::capacity`]: from 1 to [`MAX_CAPACITY`]. A server whose table
    /// has fewer slots
    /// refuses it ([`ServerError::CapacityTooLarge`](crate::error::ServerError::CapacityTooLarge)).
    pub fn set_capacity(&mut self, capacity: usize) -> Result<&mut Self, ConfigError> {
        let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        count_within("capacity", as_u64(capacity), 1, as_u64(MAX_CAPACITY))?;
        self.capacity = capacity;
        Ok(self)
    }

    /// How many sessions one source IP address may hold at once (0: no limit), so one host
    /// cannot take every slot. Joins over it are refused `too-many-from-address`. Default
    /// [`DEFAULT_PER_IP`].
    pub const fn per_ip(&self) -> u16 {
        self.per_ip
    }

    /// Sets [`ServerConfig::per_ip`]: any number (0: no limit).
    pub fn set_per_ip(&mut self, per_ip: u16) -> Result<&mut Self, ConfigError> {
        self.per_ip = per_ip;
        Ok(self)
    }

    /// How long a client may stay silent before it pings; sent in `welcome`. Default
    /// [`DEFAULT_KEEPALIVE`].
    pub const fn keepalive(&self) -> Duration {
        self.keepalive
    }

    /// How long a user may stay silent before the server drops it. Default three
    /// keep-alives.
    pub const fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Sets [`ServerConfig::keepalive`] and [`ServerConfig::idle_timeout`] together, as
    /// each bounds the other: the keep-alive from [`MIN_KEEPALIVE`] to [`MAX_KEEPALIVE`],
    /// the idle timeout from the keep-alive (a client is silent for up to one, and is never
    /// dropped sooner) to [`MAX_IDLE_TIMEOUT`].
    pub fn set_liveness(
        &mut self,
        keepalive: Duration,
        idle_timeout: Duration,
    ) -> Result<&mut Self, ConfigError> {
        let keepalive = within("keep-alive", keepalive, MIN_KEEPALIVE, MAX_KEEPALIVE)?;
        self.idle_timeout = within("idle timeout", idle_timeout, keepalive, MAX_IDLE_TIMEOUT)?;
        self.keepalive = keepalive;
        Ok(self)
    }

    /// How long a join cookie stays valid. Default 30 s.
    pub const fn cookie_lifetime(&self) -> Duration {
        self.cookie_lifetime
    }

    /// Sets [`ServerConfig::cookie_lifetime`]: from 1 ms to [`MAX_IDLE_TIMEOUT`].
    pub fn set_cookie_lifetime(&mut self, lifetime: Duration) -> Result<&mut Self, ConfigError> {
        let one = Duration::from_millis(1);
        self.cookie_lifetime = within("cookie lifetime", lifetime, one, MAX_IDLE_TIMEOUT)?;
        Ok(self)
    }

    /// Encrypted sessions: handshakes a second one source host (IP address) may make the
    /// server compute (0: no limit); a `hello` over it is dropped before any work. Default
    /// [`DEFAULT_HANDSHAKES_PER_SEC`].
    pub const fn handshakes_per_sec(&self) -> u16 {
        self.handshakes_per_sec
    }

    /// Sets [`ServerConfig::handshakes_per_sec`]: any number (0: no limit).
    pub fn set_handshakes_per_sec(&mut self, rate: u16) -> Result<&mut Self, ConfigError> {
        self.handshakes_per_sec = rate;
        Ok(self)
    }

    /// How many handshakes one source host may start at once before
    /// [`ServerConfig::handshakes_per_sec`] applies. Default [`DEFAULT_PER_IP`].
    pub const fn handshake_burst(&self) -> u16 {
        self.handshake_burst
    }

    /// Sets [`ServerConfig::handshake_burst`]: at least 1.
    pub fn set_handshake_burst(&mut self, burst: u16) -> Result<&mut Self, ConfigError> {
        self.handshake_burst = count_within("handshake burst", burst, 1, u16::MAX)?;
        Ok(self)
    }

    /// Messages a second accepted from one user (0: no limit); sent in `welcome`.
    /// Default 50.
    pub const fn rate_per_sec(&self) -> u16 {
        self.rate_per_sec
    }

    /// Sets [`ServerConfig::rate_per_sec`]: any number (0: no limit).
    pub fn set_rate_per_sec(&mut self, rate: u16) -> Result<&mut Self, ConfigError> {
        self.rate_per_sec = rate;
        Ok(self)
    }

    /// How many messages one user may send at once before
    /// [`ServerConfig::rate_per_sec`] applies. Default 100.
    pub const fn burst(&self) -> u16 {
        self.burst
    }

    /// Sets [`ServerConfig::burst`]: at least 1.
    pub fn set_burst(&mut self, burst: u16) -> Result<&mut Self, ConfigError> {
        self.burst = count_within("message burst", burst, 1, u16::MAX)?;
        Ok(self)
    }

    /// The longest text accepted, in bytes; sent in `welcome`. Default
    /// [`MAX_TEXT`](crate::wire::limits::MAX_TEXT). A server lowers it to what its ring's
    /// arena holds beside two names ([`Server::with_memory`](crate::server::Server::with_memory)),
    /// and to what a sealed frame carries once it speaks encrypted sessions
    /// ([`Server::set_identity`](crate::server::Server::set_identity)); its
    /// [`config`](crate::server::Server::config) tells the limit in force.
    pub const fn max_text(&self) -> u16 {
        self.max_text
    }

    /// Sets [`ServerConfig::max_text`]: from 1 to
    /// [`MAX_TEXT`](crate::wire::limits::MAX_TEXT).
    pub fn set_max_text(&mut self, max_text: u16) -> Result<&mut Self, ConfigError> {
        self.max_text = count_within("longest text", max_text, 1, MAX_TEXT_U16)?;
        Ok(self)
    }

    /// The retransmission timeouts of deliveries: the first (before a round trip is
    /// measured), the shortest however fast the path, and the longest (back-off doubles up
    /// to it). Defaults: 200 ms, 50 ms, 4 s.
    pub const fn retransmission(&self) -> (Duration, Duration, Duration) {
        (self.rto_initial, self.rto_min, self.rto_max)
    }

    /// Sets the retransmission timeouts ([`ServerConfig::retransmission`]): each between
    /// 1 ms and [`MAX_RTO`](crate::client::MAX_RTO), and `min` ≤ `initial` ≤ `max`.
    pub fn set_retransmission(
        &mut self,
        initial: Duration,
        min: Duration,
        max: Duration,
    ) -> Result<&mut Self, ConfigError> {
        (self.rto_initial, self.rto_min, self.rto_max) = retransmission_within(initial, min, max)?;
        Ok(self)
    }

    /// How many deliveries to one user may await acknowledgement at once (a client's join
    /// may ask for fewer). Default 32. A server lowers it to the messages its ring holds;
    /// its [`config`](crate::server::Server::config) tells the window in force.
    pub const fn window(&self) -> u32 {
        self.window
    }

    /// Sets [`ServerConfig::window`]: from 1 to [`MAX_WINDOW`].
    pub fn set_window(&mut self, window: u32) -> Result<&mut Self, ConfigError> {
        self.window = count_within("delivery window", window, 1, MAX_WINDOW)?;
        Ok(self)
    }

    /// How many recent ring entries a user who just joined is offered. Default 10.
    pub const fn history(&self) -> u16 {
        self.history
    }

    /// Sets [`ServerConfig::history`]: any number (0: none; a newcomer gets at most what
    /// the ring still holds).
    pub fn set_history(&mut self, history: u16) -> Result<&mut Self, ConfigError> {
        self.history = history;
        Ok(self)
    }

    /// The operator's name: messages the operator writes come from it, and no user may
    /// take it. Default [`NameBuf::OPERATOR`].
    pub const fn operator(&self) -> &NameBuf {
        &self.operator
    }

    /// Sets [`ServerConfig::operator`]: a name the protocol carries.
    pub fn set_operator(&mut self, name: &str) -> Result<&mut Self, ConfigError> {
        self.operator = NameBuf::parse(name).map_err(ConfigError::InvalidName)?;
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

    /// The keep-alive in milliseconds, as `welcome` carries it.
    pub(crate) fn keepalive_ms(&self) -> u32 {
        self.keepalive.as_millis_u32()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::MAX_RTO;
    use crate::server::StaticServer;
    use std::string::ToString;

    #[test]
    fn a_span_out_of_range_is_an_error_not_a_clamp() {
        let mut config = ServerConfig::new([1; 16], 1);
        let err = config.set_liveness(Duration::MAX, Duration::MAX).unwrap_err();
        assert_eq!(
            err,
            ConfigError::OutOfRange {
                setting: "keep-alive",
                value_ms: Duration::MAX.as_millis(),
                min_ms: 1000,
                max_ms: MAX_KEEPALIVE.as_millis(),
            }
        );
        assert!(config.set_liveness(Duration::from_millis(10), Duration::from_secs(3)).is_err());
        let (keepalive, idle) = (Duration::from_secs(15), Duration::from_secs(45));
        let err = config.set_liveness(keepalive, Duration::from_secs(10)).unwrap_err();
        let longest = MAX_IDLE_TIMEOUT.as_millis();
        assert_eq!(
            err.to_string(),
            std::format!("the idle timeout is 10000 ms; it must be between 15000 and {longest} ms"),
            "a client is never dropped sooner than a keep-alive"
        );
        assert!(config.set_liveness(keepalive, Duration::MAX).is_err(), "over MAX_IDLE_TIMEOUT");
        let ms = Duration::from_millis;
        assert!(config.set_retransmission(ms(200), ms(300), ms(4000)).is_err(), "initial < min");
        assert!(config.set_retransmission(ms(200), ms(50), ms(40)).is_err(), "max < min");
        assert!(config.set_retransmission(ms(200), ms(50), MAX_RTO + ms(1)).is_err());
        assert!(config.set_cookie_lifetime(Duration::ZERO).is_err());
        // Refused values leave the settings as they were.
        assert_eq!((config.keepalive(), config.idle_timeout()), (keepalive, idle));
        assert_eq!(config.retransmission(), (ms(200), ms(50), ms(4000)));
        config.set_liveness(MAX_KEEPALIVE, MAX_IDLE_TIMEOUT).unwrap();
        // The longest keep-alive's derived spans still fit: three keep-alives (the default
        // idle timeout), and a client's two with the longest round trip.
        assert!(MAX_KEEPALIVE.times(3) <= Duration::MAX);
        assert!(MAX_KEEPALIVE.times(2) + MAX_RTO > MAX_KEEPALIVE.times(2));
        assert!(MAX_KEEPALIVE <= MAX_IDLE_TIMEOUT);
        let Ok(server) = StaticServer::<2, 4>::new(config) else { panic!("a valid config") };
        assert_eq!(server.config().keepalive(), MAX_KEEPALIVE);
        assert_eq!(server.config().idle_timeout(), MAX_IDLE_TIMEOUT);
    }

    #[test]
    fn a_count_out_of_range_is_an_error_not_a_clamp() {
        let mut config = ServerConfig::new([1; 16], 1);
        let err = config.set_window(MAX_WINDOW + 1).unwrap_err();
        assert_eq!(
            err,
            ConfigError::OutOfRangeCount { setting: "delivery window", value: 65, min: 1, max: 64 }
        );
        assert_eq!(err.to_string(), "the delivery window is 65; it must be between 1 and 64");
        assert!(config.set_window(0).is_err());
        assert!(config.set_capacity(0).is_err());
        assert!(config.set_capacity(MAX_CAPACITY + 1).is_err());
        assert!(config.set_max_text(0).is_err());
        assert!(config.set_max_text(MAX_TEXT_U16 + 1).is_err());
        assert!(config.set_burst(0).is_err());
        assert!(config.set_handshake_burst(0).is_err());
        // Refused values leave the settings as they were.
        assert_eq!(
            (config.window(), config.capacity(), config.max_text(), config.burst()),
            (32, usize::MAX, MAX_TEXT_U16, 100)
        );
        config.set_window(64).unwrap().set_capacity(2).unwrap().set_history(0).unwrap();
        assert_eq!((config.window(), config.capacity(), config.history()), (64, 2, 0));
    }

    #[test]
    fn the_operator_has_a_name_the_protocol_carries() {
        let mut config = ServerConfig::new([1; 16], 1);
        assert!(matches!(config.set_operator(""), Err(ConfigError::InvalidName(_))));
        assert_eq!(config.operator(), &NameBuf::OPERATOR);
        config.set_operator("host").unwrap();
        assert_eq!(config.operator().as_str(), "host");
    }
}
