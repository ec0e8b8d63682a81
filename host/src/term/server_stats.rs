//! The server's counters in words, for the console's `/stats`: what came in, who joined,
//! what was relayed, what encryption refused, who moved.

use minichat_core::server::ServerStats;

use crate::net::tcp_guard::TcpStats;

/// One line per part of the server's work, each counter with what it counts.
pub(crate) fn describe(stats: &ServerStats) -> [String; 5] {
    let s = stats;
    [
        line(
            "datagrams",
            &[
                ("in", s.datagrams),
                ("not minichat (legacy text)", s.not_frames),
                ("malformed", s.malformed),
                ("with another session's token", s.bad_token),
                ("of a kind only servers send", s.unexpected),
                ("answered unknown-session", s.unknown_session),
            ],
        ),
        line(
            "joins",
            &[
                ("admitted", s.joins),
                ("cookies sent", s.cookies),
                ("refused, table full", s.refused_full),
                ("refused, name taken or not allowed", s.refused_name),
                ("refused, name owned or key kept out", s.refused_key),
                ("refused, too many from one address", s.refused_per_ip),
                ("refused, in the clear", s.refused_plaintext),
            ],
        ),
        line(
            "messages",
            &[
                ("accepted", s.messages),
                ("deliveries sent (resends included)", s.deliveries),
                ("retransmission timeouts", s.retransmits),
                ("missed notices", s.missed_notices),
                ("rate-limited", s.rate_limited),
                ("held back for a recipient catching up", s.held_back),
            ],
        ),
        line(
            "encryption",
            &[
                ("handshakes", s.handshakes),
                ("dropped, did not open (altered, replayed or someone else's)", s.sealed_dropped),
                ("dropped, in the clear for an encrypted session", s.plaintext_refused),
                ("hellos over their source's handshake budget", s.handshakes_limited),
                ("resent answers", s.answers_resent),
            ],
        ),
        line(
            "moves and events",
            &[
                ("challenges sent", s.challenges),
                ("sessions moved", s.migrations),
                ("events that waited for room", s.events_waited),
                ("events dropped", s.events_dropped),
            ],
        ),
    ]
}

/// The TCP connections' line (`serve --tcp`): open, refused, closed by the guard.
pub(crate) fn describe_tcp(stats: &TcpStats) -> String {
    line(
        "tcp connections",
        &[
            ("open", u64::try_from(stats.open).unwrap_or(u64::MAX)),
            ("refused, too many from one address", stats.refused_per_ip),
            ("refused, all taken", stats.refused_full),
            ("closed, no frame in time", stats.no_first_frame),
            ("closed, silent", stats.silent),
            ("closed to make room", stats.evicted),
        ],
    )
}

/// `[stats] topic: what n, what n, ...`: marked, as a chat line `messages: hi` from a user
/// named "messages" would otherwise read the same (a name has no spaces, so a line with
/// one before its colon is never a user's).
fn line(topic: &str, counters: &[(&str, u64)]) -> String {
    let parts: Vec<String> = counters.iter().map(|(what, n)| format!("{what} {n}")).collect();
    format!("[stats] {topic}: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_shown_with_what_it_counts() {
        let mut stats = ServerStats::default();
        stats.datagrams = 12;
        stats.malformed = 1;
        stats.handshakes = 3;
        stats.sealed_dropped = 2;
        let lines = describe(&stats);
        assert_eq!(
            lines[0],
            "[stats] datagrams: in 12, not minichat (legacy text) 0, malformed 1, with another \
             session's token 0, of a kind only servers send 0, answered unknown-session 0"
        );
        assert!(
            lines[3].starts_with(
                "[stats] encryption: handshakes 3, dropped, did not open (altered, replayed or someone \
                 else's) 2,"
            ),
            "{}",
            lines[3]
        );
    }
}
