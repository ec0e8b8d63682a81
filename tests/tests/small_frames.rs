//! A client with small frames (issue 26): its join says the largest frame it takes, and
//! the server never sends it a larger one, in the clear or sealed. Its `welcome` holds its
//! texts to what its frames carry, a message too long for it reaches it as a loss it is
//! told of (and what follows still arrives), and the user list comes in pages its frames
//! hold. Simulated network and time: no sockets.

use std::net::SocketAddr;

use minichat_core::client::{ClientConfig, OwnedClientEvent};
use minichat_core::time::Duration;
use minichat_core::wire::limits::{MAX_FRAME, MIN_FRAME, text_in_frame};
use minichat_tests::sim::{Faults, Sim, server_addr};

const SECOND: Duration = Duration::from_secs(1);

/// The frame the small client takes: the 2 KiB firmware build's.
const SMALL: usize = 256;

/// A client called `name` that takes frames of at most `frame` bytes.
fn config(name: &str, frame: usize) -> ClientConfig {
    let mut config = ClientConfig::new(name, server_addr(), minichat_tests::seed_of(name)).unwrap();
    config.set_max_frame(frame).unwrap();
    config
}

/// A server with `star` and `moon` (every frame) and `mcu` (small frames), joined; encrypted
/// sessions if `sealed`. Every frame the server sends is recorded.
fn room(sealed: bool, seed: u64) -> Sim {
    let mut sim = Sim::new(Sim::server_config(), Faults::NONE, seed);
    if sealed {
        sim.secure([0x42; 32], None);
    }
    sim.add_client("star");
    sim.add_client_with(config("mcu", SMALL));
    sim.add_client("moon");
    sim.record = true;
    let joined = sim.run_until(10 * SECOND, |s| s.clients.iter().all(|(_, c)| c.is_joined()));
    assert!(joined, "all join");
    sim
}

/// The largest frame the server sent to `to`.
fn largest_sent_to(sim: &Sim, to: SocketAddr) -> usize {
    sim.server_sent.iter().filter(|(a, _)| *a == to).map(|(_, f)| f.len()).max().unwrap_or(0)
}

fn a_message_too_long_is_a_loss_told_and_no_frame_is_too_large(sealed: bool) {
    let mut sim = room(sealed, 1 + u64::from(sealed));
    let mcu = sim.clients[1].0;
    let limit = text_in_frame(SMALL, sealed);
    assert_eq!(usize::from(sim.client(1).max_text()), limit, "the welcome held mcu's texts");
    let star = usize::from(sim.client(0).max_text());
    assert_eq!(star, text_in_frame(MAX_FRAME, sealed), "and no one else's");
    let long = "x".repeat(600);
    let fits = "y".repeat(limit);
    let now = sim.now;
    sim.client(0).say(now, "before").unwrap();
    sim.client(0).say(now, &long).unwrap();
    sim.client(0).say(now, &fits).unwrap();
    sim.client(0).say(now, "after").unwrap();
    assert!(
        sim.run_until(10 * SECOND, |s| s.received(1).len() == 3 && s.received(2).len() == 4),
        "{:?}",
        sim.received(1)
    );
    assert_eq!(
        sim.received(1),
        ["star: before".to_owned(), format!("star: {fits}"), "star: after".into()]
    );
    let told =
        sim.client_events[1].iter().position(|e| *e == OwnedClientEvent::Missed { count: 1 });
    assert!(
        told.is_some(),
        "mcu is told of the message it could not take: {:?}",
        sim.client_events[1]
    );
    assert_eq!(sim.server.stats().too_long, 1);
    assert!(largest_sent_to(&sim, mcu) <= SMALL, "a frame of {} B", largest_sent_to(&sim, mcu));
    assert!(sim.received(2).contains(&format!("star: {long}")), "moon takes every frame");
    // mcu acknowledged its loss: nothing is outstanding, nothing goes again.
    let stats = |s: &Sim| (s.server.stats().deliveries, s.server.stats().missed_notices);
    let before = stats(&sim);
    sim.run_for(5 * SECOND);
    assert_eq!(stats(&sim), before, "nothing resent once acknowledged");
}

#[test]
fn in_the_clear_a_message_too_long_is_a_loss_told_and_no_frame_is_too_large() {
    a_message_too_long_is_a_loss_told_and_no_frame_is_too_large(false);
}

#[test]
fn sealed_a_message_too_long_is_a_loss_told_and_no_frame_is_too_large() {
    a_message_too_long_is_a_loss_told_and_no_frame_is_too_large(true);
}

#[test]
fn a_message_longer_than_its_frames_is_refused_to_the_small_client_itself() {
    let mut sim = room(false, 3);
    let too_long = "z".repeat(text_in_frame(SMALL, false) + 1);
    let now = sim.now;
    assert!(sim.client(1).say(now, &too_long).is_err(), "it could not come back to it");
}

#[test]
fn the_user_list_comes_in_pages_the_small_frames_hold() {
    let mut sim = room(true, 4);
    let names: Vec<String> = (0..12).map(|i| format!("sixteen-bytes-{i:02}")).collect();
    for name in &names {
        sim.add_client(name);
    }
    assert!(sim.run_until(10 * SECOND, |s| s.clients.iter().all(|(_, c)| c.is_joined())));
    let now = sim.now;
    sim.client(1).who(now).unwrap();
    let listed = |s: &Sim| -> Vec<String> {
        s.client_events[1]
            .iter()
            .filter_map(|e| match e {
                OwnedClientEvent::Users { names, .. } => Some(names.clone()),
                _ => None,
            })
            .flatten()
            .map(|n| n.name.to_string())
            .collect()
    };
    assert!(sim.run_until(10 * SECOND, |s| listed(s).len() == 15), "{:?}", listed(&sim));
    let pages = sim.client_events[1].iter().filter(|e| matches!(e, OwnedClientEvent::Users { .. }));
    assert!(pages.count() > 1, "15 names of up to 16 bytes take more than one page of 256 B");
    let mut got = listed(&sim);
    got.sort();
    let mut want: Vec<String> = names.clone();
    want.extend(["mcu".to_owned(), "moon".to_owned(), "star".to_owned()]);
    want.sort();
    assert_eq!(got, want);
    assert!(largest_sent_to(&sim, sim.clients[1].0) <= SMALL);
}

#[test]
fn the_setting_is_checked() {
    let mut config = ClientConfig::new("mcu", server_addr(), 7).unwrap();
    assert!(config.set_max_frame(MIN_FRAME - 1).is_err());
    assert!(config.set_max_frame(MAX_FRAME + 1).is_err());
    assert_eq!(config.set_max_frame(MIN_FRAME).unwrap().max_frame(), MIN_FRAME as u16);
    let message = config.set_max_frame(100).unwrap_err().to_string();
    assert_eq!(message, "the largest frame is 100; it must be between 168 and 1024");
}
