//! The client's counters.

/// Counters, for logs and tests.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Datagrams handled.
    pub datagrams: u64,
    /// Datagrams from addresses other than the server's: ignored.
    pub foreign: u64,
    /// Frames that did not parse, or carried a token not ours: ignored.
    pub ignored: u64,
    /// Retransmission timeouts (everything unacknowledged sent again).
    pub retransmits: u64,
    /// Sessions joined, the first one included.
    pub joins: u64,
    /// Deliveries refused because the application had not taken its events.
    pub deferred: u64,
    /// Messages for us longer than the event arena holds: reported as missed.
    pub too_long: u64,
    /// Events dropped because the application did not poll them.
    pub events_dropped: u64,
}
