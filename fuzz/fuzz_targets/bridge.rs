//! A bridge's link fed what an MQTT broker passes on (`host/src/bridge/link/inbound.rs`):
//! other servers' posts, greetings, answers to greetings, goodbyes, full rooms, replay
//! requests, in any order, on any topic, and whatever else anyone on the broker
//! publishes — raw bytes, recordings of earlier messages published again, messages
//! sealed with another fleet's key, stale or renumbered stamps. Half the runs are a
//! sealed bridge (`--fleet-key`), half in the clear. Checks: no panic; a post is handed
//! to the server's loop at most once (by server and number) and each server's in
//! increasing order; only a post published on its own server's room topic, never one
//! of this server's own; on a sealed bridge, only what the fleet sealed — a post or a
//! goodbye from raw bytes, another fleet, or a recording is never taken.
#![no_main]

use std::collections::{HashMap, HashSet};

use arbitrary::Arbitrary;
use host::fuzzing::{BRIDGE_PREFIX, BridgeInbound, BridgeSealer, Passed, wall_clock_ms};
use libfuzzer_sys::fuzz_target;

/// This server's id, and the others'.
const OURS: u64 = 0xaa;
const OTHERS: [u64; 3] = [0x11, 0x22, 0x33];
const FLEET_KEY: [u8; 32] = [9; 32];
const OTHER_FLEET_KEY: [u8; 32] = [10; 32];
const NAMES: [&str; 4] = ["ann", "bob", "bad name", ""];

#[derive(Arbitrary, Debug)]
enum Op {
    /// A post of server `from`'s, published on the room topic of server `topic_of`.
    Post {
        from: u8,
        topic_of: u8,
        seq: u8,
        kind: u8,
        name: u8,
    },
    Hello {
        from: u8,
        will: Option<u8>,
    },
    Met {
        from: u8,
        met: u8,
    },
    Busy {
        from: u8,
        busy: bool,
    },
    Gone {
        from: u8,
    },
    Replay {
        after: u8,
    },
    Echo,
    /// Anything, on a topic of a kind (or another).
    Raw {
        kind: u8,
        of: u8,
        payload: Vec<u8>,
    },
    /// A message published before, published again as it was.
    Again {
        index: u8,
    },
    /// The next message sealed with another fleet's key.
    OtherFleet,
    /// The next message's stamp: this many seconds off the clock, and (if given) this
    /// number rather than its sender's next.
    Stamp {
        seconds_off: i8,
        number: Option<u8>,
    },
}

fn id(server: u64) -> String {
    format!("{server:016x}")
}

fn other(i: u8) -> u64 {
    OTHERS[usize::from(i) % OTHERS.len()]
}

fn topic(kind: &str, server: u64) -> String {
    format!("{BRIDGE_PREFIX}/{kind}/{}", id(server))
}

#[derive(Arbitrary, Debug)]
struct Input {
    sealed: bool,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| {
    let fleet_key = input.sealed.then_some(&FLEET_KEY);
    let Ok(mut link) = BridgeInbound::new(OURS, fleet_key) else { return };
    let mut numbers: HashMap<u64, u64> = HashMap::new();
    let mut published: Vec<(String, Vec<u8>)> = Vec::new();
    // Posts published on their own server's room topic, and (sealed) by the fleet.
    let mut postable: HashSet<(String, u64)> = HashSet::new();
    // Goodbyes the fleet sealed, by server.
    let mut goodbyes: HashSet<String> = HashSet::new();
    let mut passed: HashSet<(String, u64)> = HashSet::new();
    let mut last: HashMap<String, u64> = HashMap::new();
    let mut other_fleet = false;
    let mut stamp: Option<(i8, Option<u8>)> = None;
    for op in input.ops.into_iter().take(512) {
        // (topic, JSON, the sender: the server whose seal it carries)
        let (topic, payload, sender) = match op {
            Op::Post { from, topic_of, seq, kind, name } => {
                let from = other(from);
                let name = NAMES[usize::from(name) % NAMES.len()];
                let body = match kind % 5 {
                    0 => format!(r#""kind":"say","from":"{name}","text":"hi""#),
                    1 => format!(
                        r#""kind":"tell","from":"{name}","to":"ann","at":"{}","text":"psst""#,
                        id(OURS)
                    ),
                    2 => format!(r#""kind":"joined","name":"{name}","since":{seq}"#),
                    3 => format!(r#""kind":"left","name":"{name}""#),
                    _ => format!(
                        r#""kind":"roster","first":true,"users":[{{"name":"{name}","since":1}}]"#
                    ),
                };
                let seq = u64::from(seq % 16);
                let json = format!(r#"{{"v":1,"server":"{}","seq":{seq},{body}}}"#, id(from));
                let topic_of = if topic_of % 4 == 0 { other(topic_of / 4) } else { from };
                (topic("room", topic_of), json.into_bytes(), Some((from, Some(seq))))
            }
            Op::Hello { from, will } => {
                let from = other(from);
                let json = match will {
                    Some(n) => format!(r#"{{"v":1,"will":{n}}}"#),
                    None => r#"{"v":1}"#.to_owned(),
                };
                (topic("hello", from), json.into_bytes(), Some((from, None)))
            }
            Op::Met { from, met } => {
                let from = other(from);
                let json = format!(r#"{{"v":1,"server":"{}","met":{met}}}"#, id(from));
                (topic("met", OURS), json.into_bytes(), Some((from, None)))
            }
            Op::Busy { from, busy } => {
                let from = other(from);
                let json = format!(r#"{{"v":1,"busy":{busy}}}"#);
                (topic("busy", from), json.into_bytes(), Some((from, None)))
            }
            Op::Gone { from } => {
                let from = other(from);
                (topic("gone", from), br#"{"v":1}"#.to_vec(), Some((from, None)))
            }
            Op::Replay { after } => {
                let json = format!(r#"{{"v":1,"after":{after}}}"#);
                (topic("replay", OURS), json.into_bytes(), Some((OTHERS[0], None)))
            }
            Op::Echo => (topic("echo", OURS), b"{}".to_vec(), Some((OURS, None))),
            Op::Raw { kind, of, payload } => {
                let kinds = ["room", "hello", "met", "busy", "gone", "replay", "echo", "x"];
                let kind = kinds[usize::from(kind) % kinds.len()];
                let of = if of % 2 == 0 { OURS } else { other(of / 2) };
                // In the clear, anyone on the broker may publish a post.
                if !input.sealed
                    && let Some(post) = post_in(&payload)
                {
                    postable.insert(post);
                }
                (topic(kind, of), payload, None)
            }
            Op::Again { index } => {
                if published.is_empty() {
                    continue;
                }
                let (topic, payload) = published[usize::from(index) % published.len()].clone();
                link.publish(&topic, &payload);
                check(&mut link, &postable, &goodbyes, input.sealed, &mut passed, &mut last);
                continue;
            }
            Op::OtherFleet => {
                other_fleet = true;
                continue;
            }
            Op::Stamp { seconds_off, number } => {
                stamp = Some((seconds_off, number));
                continue;
            }
        };
        // What the fleet publishes is sealed with the fleet's key (on a sealed bridge).
        let from_fleet = sender.is_some() && !std::mem::take(&mut other_fleet);
        let (seconds_off, number) = stamp.take().unwrap_or((0, None));
        let payload = match (input.sealed, sender) {
            (true, Some((from, _))) => {
                let next = numbers.entry(from).or_insert(0);
                let n = match number {
                    Some(n) => u64::from(n),
                    None => {
                        *next += 1;
                        *next
                    }
                };
                let off = i64::from(seconds_off) * 1000;
                let time = wall_clock_ms().saturating_add_signed(off);
                let key = if from_fleet { &FLEET_KEY } else { &OTHER_FLEET_KEY };
                let Some(sealed) = BridgeSealer::new(key, from).seal_as(&topic, &payload, n, time)
                else {
                    continue;
                };
                sealed
            }
            _ => payload,
        };
        if let Some((from, Some(seq))) = sender
            && topic == self::topic("room", from)
            && (from_fleet || !input.sealed)
        {
            postable.insert((id(from), seq));
        }
        if let Some((from, None)) = sender
            && topic == self::topic("gone", from)
            && from_fleet
        {
            goodbyes.insert(id(from));
        }
        link.publish(&topic, &payload);
        published.push((topic, payload));
        check(&mut link, &postable, &goodbyes, input.sealed, &mut passed, &mut last);
    }
});

/// The server and number of the post `payload` holds, if it looks like one.
fn post_in(payload: &[u8]) -> Option<(String, u64)> {
    let value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    Some((value.get("server")?.as_str()?.to_owned(), value.get("seq")?.as_u64()?))
}

fn check(
    link: &mut BridgeInbound,
    postable: &HashSet<(String, u64)>,
    goodbyes: &HashSet<String>,
    sealed: bool,
    passed: &mut HashSet<(String, u64)>,
    last: &mut HashMap<String, u64>,
) {
    for message in link.passed() {
        match message {
            Passed::Post { server, seq } => {
                assert_ne!(server, id(OURS), "our own post taken back");
                assert!(
                    postable.contains(&(server.clone(), seq)),
                    "post {seq} of {server} was never published on its room topic{}",
                    if sealed { " sealed by the fleet" } else { "" }
                );
                assert!(passed.insert((server.clone(), seq)), "post {seq} of {server} taken twice");
                if let Some(before) = last.insert(server.clone(), seq) {
                    assert!(seq > before, "post {seq} of {server} taken after {before}");
                }
            }
            Passed::Gone(server) => {
                assert_ne!(server, id(OURS), "our own goodbye taken");
                if sealed {
                    assert!(
                        goodbyes.contains(&server),
                        "a goodbye of {server} the fleet never sealed"
                    );
                }
            }
            Passed::Busy(server, _) => assert_ne!(server, id(OURS)),
            Passed::Notice => {}
        }
    }
}
