//! The client's settings and their defaults.

use core::net::SocketAddr;

use crate::server::DEFAULT_KEEPALIVE;
use crate::time::Duration;
use crate::wire::NameBuf;

/// How a [`crate::client::Client`] behaves. [`ClientConfig::new`] gives the defaults of
/// `docs/PROTOCOL.md`, "Timers".
#[derive(Debug, Clone)]
pub struct ClientConfig<A = SocketAddr> {
    /// The name to join as.
    pub name: NameBuf,
    /// The server's address; datagrams from anywhere else are ignored.
    pub server: A,
    /// The first retransmission timeout (joins, requests, and messages until a round trip
    /// is measured).
    pub rto_initial: Duration,
    /// The shortest retransmission timeout for messages, however fast the path.
    pub rto_min: Duration,
    /// The longest retransmission timeout (back-off doubles up to it).
    pub rto_max: Duration,
    /// How long a message may wait for the server's acknowledgement before it counts as
    /// not delivered.
    pub give_up: Duration,
    /// The keep-alive until the server's `welcome` says otherwise.
    pub keepalive: Duration,
    /// How long an acknowledgement of deliveries that arrived in order may wait for more
    /// to share it (one goes at once after every eighth, and at once after a gap).
    pub ack_delay: Duration,
    /// Where join nonces come from: give every client process a different value (the
    /// host reads the operating system's random generator, firmware a hardware one), so
    /// a restarted client at a reused address is never taken for its predecessor.
    pub entropy: u64,
    /// Test only (feature `test-hooks`): the first sequence number of every session
    /// ([`ClientConfig::set_first_seq`]).
    #[cfg(feature = "test-hooks")]
    first_seq: u32,
}

impl<A> ClientConfig<A> {
    /// The defaults, for `name` at `server`.
    pub fn new(name: NameBuf, server: A) -> Self {
        ClientConfig {
            name,
            server,
            rto_initial: Duration::from_millis(250),
            rto_min: Duration::from_millis(50),
            rto_max: Duration::from_secs(4),
            give_up: Duration::from_secs(30),
            keepalive: DEFAULT_KEEPALIVE,
            ack_delay: Duration::from_millis(10),
            entropy: 0,
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
}
