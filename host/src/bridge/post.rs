//! What bridged servers publish (`docs/BRIDGE.md`): posts, greetings, where one's posts
//! start for another, and requests to publish posts again, all as JSON.

use serde::{Deserialize, Serialize};

/// The version of `docs/BRIDGE.md` these follow.
pub(crate) const VERSION: u32 = 1;

/// One room message, as its server publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Post {
    pub(crate) v: u32,
    /// The publishing server's id.
    pub(crate) server: String,
    /// 1 for the server's first post, each next one more.
    pub(crate) seq: u64,
    pub(crate) from: String,
    pub(crate) text: String,
}

/// A request to publish again every post after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplayRequest {
    pub(crate) v: u32,
    pub(crate) after: u64,
}

/// A server's greeting, on each connection to the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Hello {
    pub(crate) v: u32,
}

/// `server`'s posts for the greeted server start after number `met`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Met {
    pub(crate) v: u32,
    pub(crate) server: String,
    pub(crate) met: u64,
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

impl Versioned for Met {
    fn version(&self) -> u32 {
        self.v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of `docs/BRIDGE.md`, byte for byte.
    #[test]
    fn the_documented_example() {
        let json =
            br#"{"v":1,"server":"3f2a9c0d11b7e845","seq":7,"from":"alice","text":"hello from A"}"#;
        let post: Post = from_json(json).unwrap();
        assert_eq!(
            (post.seq, post.from.as_str(), post.text.as_str()),
            (7, "alice", "hello from A")
        );
        assert_eq!(to_json(&post), json);
        let replay = ReplayRequest { v: 1, after: 41 };
        assert_eq!(to_json(&replay), br#"{"v":1,"after":41}"#);
        assert_eq!(from_json(br#"{"v":1,"after":41}"#), Some(replay));
        assert_eq!(to_json(&Hello { v: 1 }), br#"{"v":1}"#);
        let met = Met { v: 1, server: "3f2a9c0d11b7e845".into(), met: 6 };
        assert_eq!(to_json(&met), br#"{"v":1,"server":"3f2a9c0d11b7e845","met":6}"#);
    }

    #[test]
    fn other_versions_and_shapes_are_not_posts() {
        for bad in [
            &br#"{"v":2,"server":"a","seq":1,"from":"x","text":"t"}"#[..],
            br#"{"v":1,"server":"a","seq":1,"from":"x"}"#,
            br#"{"v":1,"server":"a","seq":1,"from":"x","text":"t","extra":0}"#,
            br#"{"v":1,"server":"a","seq":-1,"from":"x","text":"t"}"#,
            b"not json",
        ] {
            assert_eq!(from_json::<Post>(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
