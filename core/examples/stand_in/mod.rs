//! What this computer lends the examples in place of a board's hardware: a serial line for
//! its UART ([`uart`]), a UDP socket for its network device ([`ip_link`]), the clock for its
//! tick counter ([`now`]), the time of day for its random number generator ([`seed`]).
//! Nothing here is minichat; on a board, its HAL's drivers take these places and the
//! examples stay as they are.
#![allow(dead_code)] // each example uses some of them

use std::sync::OnceLock;

#[cfg(feature = "smoltcp")]
pub(crate) mod ip_link;
pub(crate) mod uart;

/// Milliseconds since the program started, as a board's tick counter (SysTick, a timer)
/// counts them.
pub(crate) fn now() -> minichat_core::Instant {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    let elapsed = START.get_or_init(std::time::Instant::now).elapsed().as_millis();
    minichat_core::Instant::from_millis(elapsed.try_into().unwrap_or(u64::MAX))
}

/// A seed for the client's join nonces, different at every start: on a board, its random
/// number generator; here the time of day in nanoseconds (never 0).
pub(crate) fn seed() -> u64 {
    let nanos = std::time::UNIX_EPOCH.elapsed().map_or(0, |since| since.as_nanos());
    u64::try_from(nanos % u128::from(u64::MAX)).unwrap_or(1) | 1
}
