//! Support for minichat's integration and property tests: proptest strategies for the
//! wire types and a seeded proptest configuration. The tests themselves are in `tests/`.

pub mod broker;
pub mod cuttable;
pub mod elsewhere;
pub mod loopback_chat;
#[cfg(unix)]
pub mod null_modem;
pub mod process;
#[cfg(unix)]
pub mod qemu;
pub mod sim;
pub mod strategies;
#[cfg(unix)]
pub mod terminal;
pub mod udp_client;
pub mod udp_relay;

use proptest::test_runner::{Config, RngSeed};

/// A proptest configuration with a fixed seed, so every run explores the same cases and a
/// failure reproduces. Set `PROPTEST_RNG_SEED` to explore others, `PROPTEST_CASES` to
/// change the count.
pub fn seeded(cases: u32) -> Config {
    let mut config = Config { cases, failure_persistence: None, ..Config::default() };
    if std::env::var_os("PROPTEST_CASES").is_some() {
        config.cases = Config::default().cases;
    }
    if matches!(config.rng_seed, RngSeed::Random) {
        config.rng_seed = RngSeed::Fixed(0x6d69_6e69_6368_6174); // "minichat"
    }
    config
}

/// A deterministic random number generator for test data: the same `seed` gives the same
/// bytes on every run and machine.
pub fn rng(seed: u64) -> proptest::test_runner::TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    proptest::test_runner::TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &bytes)
}

/// ASCII upper-casing exactly as Python's `bytes.upper()` defines it, written out
/// independently of the code under test.
#[allow(clippy::manual_is_ascii_check, reason = "the oracle must not reuse what it tests")]
pub fn python_upper(data: &[u8]) -> Vec<u8> {
    data.iter().map(|&b| if (b'a'..=b'z').contains(&b) { b - 32 } else { b }).collect()
}

/// ASCII lower-casing exactly as Python's `bytes.lower()` defines it.
#[allow(clippy::manual_is_ascii_check, reason = "the oracle must not reuse what it tests")]
pub fn python_lower(data: &[u8]) -> Vec<u8> {
    data.iter().map(|&b| if (b'A'..=b'Z').contains(&b) { b + 32 } else { b }).collect()
}

/// A client's seed for its join nonces, from its name: fixed, so runs repeat, and
/// different for every name (never 0).
pub fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    }) | 1
}
