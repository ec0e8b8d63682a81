//! The chat scenarios again, over smoltcp's in-memory IP stack (the host's `loopback`
//! network): the core's smoltcp adapter and driver, exactly as firmware on smoltcp uses
//! them, on simulated time.

use host::net::memory::{LinkFaults, LoopbackNet};
use minichat_core::client::OwnedClientEvent;
use minichat_core::server::ServerConfig;
use minichat_core::wire::ErrorCode;
use minichat_core::wire::Message;
use minichat_tests::loopback_chat::{LoopbackChat, SERVER_PORT};

const LIMIT_MS: u64 = 60_000;

type Net = LoopbackChat<8, 64, 16, 32, 8>;

/// A server without history, and a client for each of `names`.
fn chat(faults: LinkFaults, names: &[&str]) -> Net {
    let mut config = ServerConfig::new([9; 16], 1);
    config.set_history(0).unwrap();
    let mut net = Net::new(faults, config);
    for name in names {
        net.add(Net::client_config(name));
    }
    net
}

fn lossy(seed: u32) -> LinkFaults {
    LinkFaults { drop_pct: 20, corrupt_pct: 1, duplicate_pct: 5, reorder_pct: 10, seed }
}

#[test]
fn three_users_chat_over_a_lossy_smoltcp_link() {
    let mut net = chat(lossy(1), &["star", "star2", "star3"]);
    assert!(net.run_until(LIMIT_MS, Net::joined));
    let now = net.net.now();
    for i in 0..10 {
        net.clients[0].1.say(now, &format!("star {i}")).unwrap();
        net.clients[1].1.say(now, &format!("star2 {i}")).unwrap();
    }
    assert!(net.run_until(LIMIT_MS, |n| n.lines(2).len() == 20
        && n.lines(0).len() == 10
        && n.lines(1).len() == 10));
    let from_star: Vec<String> =
        net.lines(2).into_iter().filter(|l| l.starts_with("star:")).collect();
    assert_eq!(from_star, (0..10).map(|i| format!("star: star {i}")).collect::<Vec<_>>());
    assert_eq!(net.lines(1), (0..10).map(|i| format!("star: star {i}")).collect::<Vec<_>>());
    assert_eq!(net.lines(0), (0..10).map(|i| format!("star2: star2 {i}")).collect::<Vec<_>>());
}

#[test]
fn direct_messages_reach_only_their_target_over_smoltcp() {
    let mut net = chat(lossy(2), &["star", "star2", "star3"]);
    assert!(net.run_until(LIMIT_MS, Net::joined));
    let now = net.net.now();
    net.clients[0].1.tell(now, "star3", "psst").unwrap();
    assert!(net.run_until(LIMIT_MS, |n| !n.lines(2).is_empty()));
    let now = net.net.now();
    net.clients[2].1.say(now, "after").unwrap();
    assert!(net.run_until(LIMIT_MS, |n| n.lines(1).len() == 1 && n.lines(0).len() == 1));
    assert_eq!(net.lines(2), ["star (direct): psst"]);
    assert_eq!(net.lines(1), ["star3: after"]);
}

#[test]
fn the_same_name_in_another_case_is_refused_over_smoltcp() {
    let mut net = chat(LinkFaults::NONE, &["star2"]);
    assert!(net.run_until(LIMIT_MS, Net::joined));
    let twin = net.add(Net::client_config("STAR2"));
    assert!(net.run_until(LIMIT_MS, |n| n.clients[twin].1.is_closed()));
    assert!(
        net.events[twin]
            .iter()
            .any(|e| matches!(e, OwnedClientEvent::Refused { code: ErrorCode::NameTaken, .. }))
    );
}

#[test]
fn a_frame_with_another_users_token_from_another_address_is_dropped_over_smoltcp() {
    let mut net = chat(LinkFaults::NONE, &["alice", "mallory", "watcher"]);
    assert!(net.run_until(LIMIT_MS, Net::joined));
    let stolen = net.clients[0].1.session_token().unwrap();
    let forged = Message::Say { token: stolen, seq: 1, text: "I am alice" };
    let mut buf = [0u8; 64];
    let len = forged.encode(&mut buf).unwrap();
    // Sent from mallory's socket, which has its own session.
    struct Forger<'a>(&'a [u8], bool);
    impl minichat_core::transport::Endpoint for Forger<'_> {
        type Addr = std::net::SocketAddr;

        fn handle(
            &mut self,
            _: minichat_core::time::Instant,
            _: std::net::SocketAddr,
            _: &[u8],
            _: &mut [u8],
        ) -> Option<minichat_core::transport::Transmit> {
            None
        }
        fn poll_transmit(
            &mut self,
            _: minichat_core::time::Instant,
            buf: &mut [u8],
        ) -> Option<minichat_core::transport::Transmit> {
            if self.1 {
                return None;
            }
            self.1 = true;
            buf[..self.0.len()].copy_from_slice(self.0);
            Some(minichat_core::transport::Transmit {
                destination: LoopbackNet::addr(SERVER_PORT),
                len: self.0.len(),
            })
        }
        fn poll_timeout(&self) -> Option<minichat_core::time::Instant> {
            None
        }
        fn handle_timeout(&mut self, _: minichat_core::time::Instant) {}
    }
    let mallory_socket = net.clients[1].0;
    net.net.turn(mallory_socket, &mut Forger(&buf[..len], false)).unwrap();
    let before = net.server.1.stats().bad_token;
    let now = net.net.now();
    net.clients[0].1.say(now, "the real alice").unwrap();
    assert!(net.run_until(LIMIT_MS, |n| n.lines(2).len() == 1));
    assert_eq!(net.lines(2), ["alice: the real alice"]);
    assert_eq!(net.server.1.stats().bad_token, before + 1);
}

#[test]
fn the_demo_conversation_completes_exactly_once_whatever_the_seed() {
    for seed in 1..=12 {
        for drop_pct in [0, 10, 30] {
            let faults =
                LinkFaults { drop_pct, corrupt_pct: 1, duplicate_pct: 5, reorder_pct: 5, seed };
            let transcript = host::cmd::demo::run(faults)
                .unwrap_or_else(|e| panic!("seed {seed}, {drop_pct}% loss: {e}"));
            let heard = transcript.lines.iter().filter(|l| l.contains(" hears ")).count();
            // Two room messages to two listeners each, and one direct message.
            assert_eq!(heard, 5, "seed {seed}: {:#?}", transcript.lines);
        }
    }
}
