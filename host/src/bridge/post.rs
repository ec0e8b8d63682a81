//! What bridged servers publish (`docs/BRIDGE.md`): posts (room and direct messages,
//! bounces, who is here), greetings, where one's posts start for another, requests to
//! publish posts again, and goodbyes, all as JSON.

use serde::{Deserialize, Serialize};

/// The version of `docs/BRIDGE.md` these follow.
pub(crate) const VERSION: u32 = 1;

/// One post: everything a server tells the others in order, numbered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Post {
    pub(crate) v: u32,
    /// The publishing server's id.
    pub(crate) server: String,
    /// 1 for the server's first post, each next one more.
    pub(crate) seq: u64,
    #[serde(flatten)]
    pub(crate) body: Body,
}

/// What a post says, by its `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum Body {
    /// A room message of one of the server's users (or its operator).
    Say { from: String, text: String },
    /// A direct message to `to`, a user of server `at`.
    Tell { from: String, to: String, at: String, text: String },
    /// Server `at`'s user `to` sent a direct message to `name`, who is not here.
    Bounce { to: String, at: String, name: String, text: String },
    /// A user joined, at `since` (milliseconds since the Unix epoch, the server's clock).
    Joined { name: String, since: u64 },
    /// A user left.
    Left { name: String },
    /// Who is here now: replaces what the server said before when `first`, adds to it
    /// otherwise (a long roster takes several posts in a row).
    Roster { first: bool, users: Vec<Present> },
}

/// A user in a roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Present {
    pub(crate) name: String,
    pub(crate) since: u64,
}

/// A request to publish again every post after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReplayRequest {
    pub(crate) v: u32,
    pub(crate) after: u64,
}

/// A server's greeting, on each connection to the broker; and its goodbye (the same
/// message, on another topic: also its MQTT last will).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Hello {
    pub(crate) v: u32,
    /// In a greeting on a sealed bridge: the number its current last will is sealed with
    /// (`docs/BRIDGE.md` section 9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) will: Option<u64>,
}

/// `server`'s posts for the greeted server start after number `met`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Met {
    pub(crate) v: u32,
    pub(crate) server: String,
    pub(crate) met: u64,
}

/// Whether the publishing server's room is full (`docs/BRIDGE.md` section 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Busy {
    pub(crate) v: u32,
    pub(crate) busy: bool,
}

/// JSON for any of these.
pub(crate) fn to_json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// One of these from JSON, if it is one of this version.
pub(crate) fn from_json<T: for<'de> Deserialize<'de> + Versioned>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice::<T>(bytes).ok().filter(|value| value.version() == VERSION)
}

/// What carries `docs/BRIDGE.md`'s version.
pub(crate) trait Versioned {
    fn version(&self) -> u32;
}

impl Versioned for Post {
    fn version(&self) -> u32 {
        self.v
    }
}

impl Versioned for ReplayRequest {
    fn version(&self) -> u32 {
        self.v
    }
}

impl Versioned for Hello {
    fn version(&self) -> u32 {
        self.v
    }
}

impl Versioned for Busy {
    fn version(&self) -> u32 {
        self.v
    }
}

impl Versioned for Met {
    fn version(&self) -> u32 {
        self.v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(seq: u64, body: Body) -> Post {
        Post { v: 1, server: "3f2a9c0d11b7e845".into(), seq, body }
    }

    /// The examples of `docs/BRIDGE.md`, byte for byte, both ways.
    #[test]
    fn the_documented_examples() {
        let examples: [(&[u8], Post); 6] = [
            (
                br#"{"v":1,"server":"3f2a9c0d11b7e845","seq":7,"kind":"say","from":"alice","text":"hello from A"}"#,
                post(7, Body::Say { from: "alice".into(), text: "hello from A".into() }),
            ),
            (
                br#"{"v":1,"server":"3f2a9c0d11b7e845","seq":8,"kind":"tell","from":"alice","to":"bob","at":"90be1c55d2e04a17","text":"hi bob"}"#,
                post(
                    8,
                    Body::Tell {
                        from: "alice".into(),
                        to: "bob".into(),
                        at: "90be1c55d2e04a17".into(),
                        text: "hi bob".into(),
                    },
                ),
            ),
            (
                br#"{"v":1,"server":"3f2a9c0d11b7e845","seq":9,"kind":"bounce","to":"carol","at":"90be1c55d2e04a17","name":"alice","text":"still there?"}"#,
                post(
                    9,
                    Body::Bounce {
                        to: "carol".into(),
                        at: "90be1c55d2e04a17".into(),
                        name: "alice".into(),
                        text: "still there?".into(),
                    },
                ),
            ),
            (
                br#"{"v":1,"server":"3f2a9c0d11b7e845","seq":10,"kind":"joined","name":"dave","since":1764644400123}"#,
                post(10, Body::Joined { name: "dave".into(), since: 1_764_644_400_123 }),
            ),
            (
                br#"{"v":1,"server":"3f2a9c0d11b7e845","seq":11,"kind":"left","name":"dave"}"#,
                post(11, Body::Left { name: "dave".into() }),
            ),
            (
                br#"{"v":1,"server":"3f2a9c0d11b7e845","seq":12,"kind":"roster","first":true,"users":[{"name":"alice","since":1764644000000}]}"#,
                post(
                    12,
                    Body::Roster {
                        first: true,
                        users: vec![Present { name: "alice".into(), since: 1_764_644_000_000 }],
                    },
                ),
            ),
        ];
        for (json, expected) in examples {
            assert_eq!(from_json::<Post>(json).as_ref(), Some(&expected));
            assert_eq!(to_json(&expected), json, "{expected:?}");
        }
        let replay = ReplayRequest { v: 1, after: 41 };
        assert_eq!(to_json(&replay), br#"{"v":1,"after":41}"#);
        assert_eq!(from_json(br#"{"v":1,"after":41}"#), Some(replay));
        assert_eq!(to_json(&Hello { v: 1, will: None }), br#"{"v":1}"#);
        assert_eq!(to_json(&Hello { v: 1, will: Some(9) }), br#"{"v":1,"will":9}"#);
        assert_eq!(to_json(&Busy { v: 1, busy: true }), br#"{"v":1,"busy":true}"#);
        let met = Met { v: 1, server: "3f2a9c0d11b7e845".into(), met: 6 };
        assert_eq!(to_json(&met), br#"{"v":1,"server":"3f2a9c0d11b7e845","met":6}"#);
    }

    #[test]
    fn other_versions_kinds_and_shapes_are_not_posts() {
        for bad in [
            &br#"{"v":2,"server":"a","seq":1,"kind":"say","from":"x","text":"t"}"#[..],
            br#"{"v":1,"server":"a","seq":1,"kind":"say","from":"x"}"#,
            br#"{"v":1,"server":"a","seq":1,"from":"x","text":"t"}"#,
            br#"{"v":1,"server":"a","seq":1,"kind":"shout","from":"x","text":"t"}"#,
            br#"{"v":1,"server":"a","seq":-1,"kind":"say","from":"x","text":"t"}"#,
            b"not json",
        ] {
            assert_eq!(from_json::<Post>(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        // Members a later revision may add are ignored.
        let newer =
            br#"{"v":1,"server":"a","seq":1,"kind":"say","from":"x","text":"t","mood":"good"}"#;
        assert!(from_json::<Post>(newer).is_some());
    }
}
