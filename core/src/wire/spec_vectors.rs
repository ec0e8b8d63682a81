//! The test vectors of `docs/PROTOCOL.md`, read from the spec itself: a vector is a
//! fenced block whose info string is `hex NAME`; `#` starts a comment. For tests only —
//! the core's (`vectors.rs`) and, with the `test-hooks` and `std` features, the test
//! suite's (the Wireshark dissector is held to the same bytes). A spec that does not parse
//! fails them, loudly: that is what the panics here are for.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a bad spec must fail the tests"
)]

use std::string::String;
use std::vec::Vec;

/// The normative spec, as this build was compiled with it.
pub const SPEC: &str = include_str!("../../../docs/PROTOCOL.md");

/// Every vector in the spec, by name, in order.
pub fn all() -> Vec<(String, Vec<u8>)> {
    let mut vectors = Vec::new();
    let mut current: Option<(String, Vec<u8>)> = None;
    for line in SPEC.lines() {
        match (&mut current, line.strip_prefix("```hex ")) {
            (None, Some(name)) => current = Some((name.trim().into(), Vec::new())),
            (Some(_), _) if line.trim() == "```" => vectors.extend(current.take()),
            (Some((_, bytes)), _) => {
                let hex = line.split('#').next().unwrap_or_default();
                for pair in hex.split_whitespace() {
                    bytes.push(u8::from_str_radix(pair, 16).expect("hex pair in spec vector"));
                }
            }
            (None, None) => {}
        }
    }
    assert!(current.is_none(), "unterminated vector in the spec");
    vectors
}

/// The bytes of the vector called `name`.
pub fn get(name: &str) -> Vec<u8> {
    all()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no vector {name:?} in docs/PROTOCOL.md"))
        .1
}
