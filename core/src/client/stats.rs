//! The client's counters.

/// Counters, for logs and tests. 32 bits each (a firmware's words): they wrap after 4.29
/// billion.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Datagrams handled.
    pub datagrams: u32,
    /// Datagrams from addresses other than the server's: ignored.
    pub foreign: u32,
    /// Frames that did not parse, or carried a token not ours: ignored.
    pub ignored: u32,
    /// Retransmission timeouts (everything unacknowledged sent again).
    pub retransmits: u32,
    /// Sessions joined, the first one included.
    pub joins: u32,
    /// Deliveries refused because the application had not taken its events.
    pub deferred: u32,
    /// Messages for us longer than the event arena holds: reported as missed.
    pub too_long: u32,
    /// Events dropped because the application did not poll them.
    pub events_dropped: u32,
}

/// One more of `counter`, wrapping as the type says.
pub(crate) fn tally(counter: &mut u32) {
    *counter = counter.wrapping_add(1);
}
