//! Exactly once across a re-join to the same server: the duplicates issue 14 found with
//! the binary (a client stopped past the idle timeout re-joined and printed a message it
//! had already shown, and could get its own messages back as history).

use minichat_core::client::OwnedClientEvent;
use minichat_core::time::Duration;
use minichat_tests::sim::{Faults, Sim};

const SECOND: Duration = Duration::from_secs(1);

fn messages(sim: &Sim, i: usize) -> Vec<(String, bool)> {
    sim.client_events[i]
        .iter()
        .filter_map(|e| match e {
            OwnedClientEvent::Message { from, text, history, .. } => {
                Some((format!("{from}: {text}"), *history))
            }
            _ => None,
        })
        .collect()
}

/// `serve --keepalive 1`: aa and bb chat, aa is stopped past the idle timeout and
/// resumed. It re-joins, and sees what it missed once — never again what it showed, never
/// its own messages.
#[test]
fn a_client_that_expired_and_rejoins_sees_every_message_exactly_once() {
    let mut config = Sim::server_config();
    config.set_liveness(SECOND, 3 * SECOND).unwrap();
    config.set_history(10).unwrap();
    let mut sim = Sim::new(config, Faults::NONE, 91);
    let aa = sim.add_client("aa");
    let bb = sim.add_client("bb");
    assert!(sim.run_until(10 * SECOND, |s| s.clients.iter().all(|(_, c)| c.is_joined())));
    let now = sim.now;
    sim.client(aa).say(now, "mine").unwrap();
    sim.client(bb).say(now, "hello from b").unwrap();
    assert!(sim.run_until(5 * SECOND, |s| messages(s, aa).len() == 1));
    // aa stops (SIGSTOP) for 6 s: the server expires it; bb says more meanwhile.
    sim.client_up[aa] = false;
    sim.run_for(4 * SECOND);
    assert_eq!(sim.server.user_count(), 1, "aa expired");
    let now = sim.now;
    sim.client(bb).say(now, "while you were away").unwrap();
    sim.run_for(2 * SECOND);
    sim.client_up[aa] = true;
    assert!(
        sim.run_until(20 * SECOND, |s| messages(s, aa).len() >= 2 && s.clients[aa].1.is_joined())
    );
    sim.run_for(3 * SECOND);
    assert!(
        sim.saw(aa, &OwnedClientEvent::SessionLost) || sim.saw(aa, &OwnedClientEvent::ServerLost)
    );
    assert_eq!(
        messages(&sim, aa),
        [("bb: hello from b".to_owned(), false), ("bb: while you were away".to_owned(), false)],
        "aa: {:?}",
        sim.client_events[aa]
    );
}

/// A newcomer's history is flagged as such, and a user who joins again under its name
/// (a new client, nothing to resume) never gets its own room messages back.
#[test]
fn history_is_flagged_and_never_holds_your_own_messages() {
    let mut config = Sim::server_config();
    config.set_history(10).unwrap();
    let mut sim = Sim::new(config, Faults::NONE, 92);
    let aa = sim.add_client("aa");
    let bb = sim.add_client("bb");
    assert!(sim.run_until(10 * SECOND, |s| s.clients.iter().all(|(_, c)| c.is_joined())));
    let now = sim.now;
    sim.client(aa).say(now, "from aa").unwrap();
    sim.client(bb).say(now, "from bb").unwrap();
    assert!(
        sim.run_until(5 * SECOND, |s| messages(s, aa).len() == 1 && messages(s, bb).len() == 1)
    );
    let now = sim.now;
    sim.client(aa).leave(now).unwrap();
    assert!(sim.run_until(5 * SECOND, |s| s.clients[aa].1.is_closed()));
    // aa comes back with a fresh client: history, flagged, without its own message.
    let again = sim.add_client("AA");
    assert!(sim.run_until(5 * SECOND, |s| !messages(s, again).is_empty()));
    sim.run_for(2 * SECOND);
    assert_eq!(messages(&sim, again), [("bb: from bb".to_owned(), true)]);
}
