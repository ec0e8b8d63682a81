//! The server's counters.

/// Counters, for logs and tests.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Datagrams handled.
    pub datagrams: u64,
    /// Datagrams that were not frames (legacy text, left to the embedding).
    pub not_frames: u64,
    /// Frames that could not be parsed.
    pub malformed: u64,
    /// Frames whose token did not match their address's session: dropped, no reply.
    pub bad_token: u64,
    /// Frames from addresses with no session, answered `unknown-session`.
    pub unknown_session: u64,
    /// Frames of kinds a server never receives.
    pub unexpected: u64,
    /// Cookies sent (first-step joins answered).
    pub cookies: u64,
    /// Users admitted.
    pub joins: u64,
    /// Joins refused because the table was full.
    pub refused_full: u64,
    /// Joins refused because the name was taken.
    pub refused_name: u64,
    /// Joins refused by the directory's records of keys: a name another key owns, a key
    /// not listed, or banned.
    pub refused_key: u64,
    /// Joins refused because their source IP address held `per_ip` sessions already.
    pub refused_per_ip: u64,
    /// Things that waited because the event queue was full (see [`EVENT_QUEUE`](crate::server::EVENT_QUEUE)).
    pub events_waited: u64,
    /// Messages accepted into the ring.
    pub messages: u64,
    /// `deliver` frames sent (retransmissions included).
    pub deliveries: u64,
    /// Retransmission timeouts that rewound a cursor.
    pub retransmits: u64,
    /// `missed` frames sent.
    pub missed_notices: u64,
    /// Deliveries too long for their recipient's frames (its join's `max frame`), told to
    /// it as lost instead.
    pub too_long: u64,
    /// Messages refused for the rate limit.
    pub rate_limited: u64,
    /// Messages not accepted yet because the ring was full of messages users still
    /// needed (their senders send them again).
    pub held_back: u64,
    /// Encrypted sessions made (handshakes answered with a welcome).
    pub handshakes: u64,
    /// Hellos dropped unread: their source host had used its handshake budget.
    pub handshakes_limited: u64,
    /// Resent hellos answered with the answer kept from the first (no handshake work).
    pub answers_resent: u64,
    /// Handshake messages and sealed frames that did not open (altered, replayed, or
    /// sealed for someone else): dropped unanswered.
    pub sealed_dropped: u64,
    /// Frames in the clear that named an encrypted session: dropped unanswered.
    pub plaintext_refused: u64,
    /// Joins in the clear refused by a server that takes encrypted sessions only.
    pub refused_plaintext: u64,
    /// Address challenges sent.
    pub challenges: u64,
    /// Sessions moved to a new address.
    pub migrations: u64,
    /// Events dropped. Stays 0: whatever would raise an event waits for room instead.
    pub events_dropped: u64,
}
