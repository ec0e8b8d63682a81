//! Faults on the wire, over smoltcp's in-memory stack with a seeded lossy link: drop and
//! corruption from smoltcp's fault injector, duplication and reordering from the host's
//! shuffle link. Every acknowledged message arrives exactly once, in per-sender order, at
//! every recipient; under heavy loss what cannot be delivered is reported, never lost in
//! silence.

use std::collections::HashMap;

use host::net::memory::LinkFaults;
use minichat_core::client::{MessageId, OwnedClientEvent};
use minichat_core::server::ServerConfig;
use minichat_core::time::Duration;
use minichat_tests::loopback_chat::LoopbackChat;

/// A ring big enough that no recipient falls a whole ring behind at these rates; clients
/// with room for `Q` messages out and `B` early deliveries held.
type Chat<const Q: usize = 16, const B: usize = 32> = LoopbackChat<8, 2048, Q, 64, B>;

/// A server without history or rate limit, and `users` users `u0`, `u1`, ...
fn chat<const Q: usize, const B: usize>(faults: LinkFaults, users: usize) -> Chat<Q, B> {
    let mut config = ServerConfig::new([3; 16], 1);
    config.set_history(0).unwrap();
    config.set_rate_per_sec(0).unwrap();
    let mut chat = Chat::<Q, B>::new(faults, config);
    for i in 0..users {
        let mut config = Chat::<Q, B>::client_config(&format!("u{i}"));
        config.set_give_up(Duration::from_secs(60)).unwrap();
        chat.add(config);
    }
    chat
}

/// Whether user `i` lost its session or was told it missed something.
fn lost_session<const Q: usize, const B: usize>(chat: &Chat<Q, B>, i: usize) -> bool {
    chat.events[i].iter().any(|e| {
        matches!(
            e,
            OwnedClientEvent::SessionLost
                | OwnedClientEvent::ServerLost
                | OwnedClientEvent::Missed { .. }
        )
    })
}

/// Runs `users` users sending `per_user` messages each, one every `gap_ms` per user, and
/// returns the chat and what each message became.
fn conversation<const Q: usize, const B: usize>(
    faults: LinkFaults,
    users: usize,
    per_user: usize,
    gap_ms: u64,
) -> (Chat<Q, B>, Vec<HashMap<MessageId, String>>) {
    // The server's ring lives on the heap, but building it goes through the stack.
    let handle = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let mut chat = chat::<Q, B>(faults, users);
            assert!(
                chat.run_until(60_000, |c| c.clients.iter().all(|(_, cl)| cl.is_joined())),
                "everyone joins"
            );
            let mut sent: Vec<HashMap<MessageId, String>> = vec![HashMap::new(); users];
            let mut next = vec![0usize; users];
            let mut next_at = chat.net.now();
            while next.iter().any(|n| *n < per_user) {
                if chat.net.now() >= next_at {
                    next_at = next_at + Duration::from_millis(gap_ms);
                    for u in 0..users {
                        if next[u] < per_user {
                            let text = format!("u{u}-{}", next[u]);
                            let now = chat.net.now();
                            if let Ok(id) = chat.clients[u].1.say(now, &text) {
                                sent[u].insert(id, text);
                                next[u] += 1;
                            }
                        }
                    }
                }
                chat.turn();
            }
            // Until every message is answered: delivered or failed.
            let answered = |c: &Chat<Q, B>| c.clients.iter().all(|(_, cl)| cl.pending() == 0);
            assert!(chat.run_until(600_000, answered), "every message is answered");
            // Let the last deliveries land.
            let total: usize = per_user * (users - 1);
            chat.run_until(120_000, |c| {
                (0..users).all(|i| lost_session(c, i) || c.texts(i).len() >= total)
            });
            (chat, sent)
        })
        .unwrap();
    handle.join().unwrap()
}

/// Checks what each recipient got against what each sender was told.
fn check<const Q: usize, const B: usize>(
    chat: &Chat<Q, B>,
    sent: &[HashMap<MessageId, String>],
    per_user: usize,
) -> (usize, usize) {
    let users = sent.len();
    let (mut delivered, mut failed) = (0, 0);
    let mut acknowledged: Vec<Vec<String>> = vec![Vec::new(); users];
    for u in 0..users {
        for event in &chat.events[u] {
            match event {
                OwnedClientEvent::Delivered { id } => {
                    delivered += 1;
                    acknowledged[u].push(sent[u][id].clone());
                }
                OwnedClientEvent::Failed { id } => {
                    failed += 1;
                    assert!(sent[u].contains_key(id));
                }
                _ => {}
            }
        }
    }
    assert_eq!(delivered + failed, users * per_user, "every message is answered, none twice");
    for r in 0..users {
        let got = chat.texts(r);
        // Nothing is lost without the recipient being told: every acknowledged message
        // from the others arrived, or a `missed` notice counted it.
        let told: u64 = chat.events[r]
            .iter()
            .map(|e| match e {
                OwnedClientEvent::Missed { count } => u64::from(*count),
                _ => 0,
            })
            .sum();
        let missing = (0..users)
            .filter(|s| *s != r)
            .flat_map(|s| acknowledged[s].iter())
            .filter(|text| !got.contains(&text.as_str()))
            .count() as u64;
        assert!(missing <= told, "user {r} lost {missing} acknowledged messages, told of {told}");
        // Never twice.
        let mut unique = got.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), got.len(), "user {r} got a message twice");
        for s in (0..users).filter(|s| *s != r) {
            let prefix = format!("u{s}-");
            let from_s: Vec<usize> =
                got.iter().filter_map(|t| t.strip_prefix(&prefix)?.parse().ok()).collect();
            // In the order the sender sent them.
            assert!(
                from_s.windows(2).all(|w| w[0] < w[1]),
                "user {r} got u{s}'s messages out of order"
            );
            if told == 0 {
                // Nothing reported lost: every acknowledged one, whatever else happened.
                for text in &acknowledged[s] {
                    assert!(got.contains(&text.as_str()), "user {r} never got {text}");
                }
            }
        }
    }
    (delivered, failed)
}

#[test]
fn ten_thousand_messages_among_eight_users_at_20_percent_loss_arrive_exactly_once() {
    let faults =
        LinkFaults { drop_pct: 20, corrupt_pct: 1, duplicate_pct: 5, reorder_pct: 10, seed: 2026 };
    let (chat, sent) = conversation::<16, 32>(faults, 8, 1250, 50);
    let (delivered, failed) = check(&chat, &sent, 1250);
    assert_eq!((delivered, failed), (10_000, 0), "at 20% loss everything is delivered");
    for r in 0..8 {
        assert!(!lost_session(&chat, r), "user {r} lost its session");
        assert_eq!(chat.texts(r).len(), 7 * 1250);
    }
}

#[test]
fn at_50_percent_loss_every_message_is_delivered_once_or_reported_as_not_delivered() {
    let faults =
        LinkFaults { drop_pct: 50, corrupt_pct: 1, duplicate_pct: 5, reorder_pct: 10, seed: 7 };
    let (chat, sent) = conversation::<16, 32>(faults, 4, 100, 200);
    let (delivered, failed) = check(&chat, &sent, 100);
    // Selective repeat gets nearly everything through even so; what does not get through
    // is reported (check() counted every message as delivered or failed).
    assert!(delivered >= 360, "{delivered} delivered, {failed} failed");
}

#[test]
fn stop_and_wait_clients_without_early_deliveries_get_everything_through_20_percent_loss() {
    // The QEMU client's shape: one message out at a time (no fast retransmit, no tell
    // rule to apply), no early delivery held (the server resends everything after a gap).
    let faults =
        LinkFaults { drop_pct: 20, corrupt_pct: 1, duplicate_pct: 5, reorder_pct: 10, seed: 1 };
    let (chat, sent) = conversation::<1, 0>(faults, 4, 200, 50);
    let (delivered, failed) = check(&chat, &sent, 200);
    assert_eq!((delivered, failed), (800, 0), "at 20% loss everything is delivered");
    for r in 0..4 {
        assert!(!lost_session(&chat, r), "user {r} lost its session");
        assert_eq!(chat.texts(r).len(), 3 * 200);
    }
}
