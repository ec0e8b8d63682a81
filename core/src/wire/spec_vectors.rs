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

/// Every vector in the spec, by name, in order; the first line that is not hex pairs, or
/// a vector left open, is an error that names it.
pub fn all() -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut vectors = Vec::new();
    let mut current: Option<(String, Vec<u8>)> = None;
    for line in SPEC.lines() {
        match (&mut current, line.strip_prefix("```hex ")) {
            (None, Some(name)) => current = Some((name.trim().into(), Vec::new())),
            (Some(_), _) if line.trim() == "```" => vectors.extend(current.take()),
            (Some((name, bytes)), _) => {
                let hex = line.split('#').next().unwrap_or_default();
                for pair in hex.split_whitespace() {
                    let byte = u8::from_str_radix(pair, 16)
                        .map_err(|_| std::format!("vector {name}: {pair:?} is not a hex pair"))?;
                    bytes.push(byte);
                }
            }
            (None, None) => {}
        }
    }
    match current {
        Some((name, _)) => Err(std::format!("vector {name} is not closed")),
        None => Ok(vectors),
    }
}

/// The bytes of the vector called `name`, if the spec has it (and parses).
pub fn get(name: &str) -> Option<Vec<u8>> {
    all().ok()?.into_iter().find(|(n, _)| n == name).map(|(_, bytes)| bytes)
}
