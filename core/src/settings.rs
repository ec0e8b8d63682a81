//! What a setting may be: the range checks both configurations ([`crate::client::ClientConfig`],
//! [`crate::server::ServerConfig`]) make, and the error that says why a value was refused.
//! A value out of range is refused, never clamped.

use crate::client::MAX_RTO;
use crate::error::WireError;
use crate::time::Duration;

/// Why a configuration was refused: a value out of its range is an error, never silently
/// clamped.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The name is not one the protocol carries.
    #[error("the name is not valid: {0}")]
    InvalidName(WireError),
    /// The seed is 0, what a program that forgot its random source would pass.
    #[error(
        "the seed is 0; give every client a value from a random source (a hardware generator, the operating system's), so a restarted client is never taken for its predecessor"
    )]
    ZeroSeed,
    /// A span is outside the range the protocol's timers work in.
    #[error("the {setting} is {value_ms} ms; it must be between {min_ms} and {max_ms} ms")]
    OutOfRange {
        /// Which setting.
        setting: &'static str,
        /// The value given, in milliseconds.
        value_ms: u64,
        /// The least it may be, in milliseconds.
        min_ms: u64,
        /// The most it may be, in milliseconds.
        max_ms: u64,
    },
    /// A count (users, messages, bytes) is outside the range its setting takes.
    #[error("the {setting} is {value}; it must be between {min} and {max}")]
    OutOfRangeCount {
        /// Which setting.
        setting: &'static str,
        /// The value given.
        value: u64,
        /// The least it may be.
        min: u64,
        /// The most it may be.
        max: u64,
    },
}

/// `value` if it lies within `min..=max`, or the error that says where it must lie.
pub(crate) fn within(
    setting: &'static str,
    value: Duration,
    min: Duration,
    max: Duration,
) -> Result<Duration, ConfigError> {
    if (min..=max).contains(&value) {
        return Ok(value);
    }
    let (value_ms, min_ms, max_ms) = (value.as_millis(), min.as_millis(), max.as_millis());
    Err(ConfigError::OutOfRange { setting, value_ms, min_ms, max_ms })
}

/// The count `value` if it lies within `min..=max`, or the error that says where it must
/// lie.
pub(crate) fn count_within<T: Copy + PartialOrd + Into<u64>>(
    setting: &'static str,
    value: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    if (min..=max).contains(&value) {
        return Ok(value);
    }
    let (value, min, max) = (value.into(), min.into(), max.into());
    Err(ConfigError::OutOfRangeCount { setting, value, min, max })
}

/// The retransmission timeouts `initial`, `min` and `max` if each lies between 1 ms and
/// [`MAX_RTO`] and `min` ≤ `initial` ≤ `max`, or the error that says which does not.
pub(crate) fn retransmission_within(
    initial: Duration,
    min: Duration,
    max: Duration,
) -> Result<(Duration, Duration, Duration), ConfigError> {
    let one = Duration::from_millis(1);
    let min = within("shortest retransmission timeout", min, one, MAX_RTO)?;
    let max = within("longest retransmission timeout", max, min, MAX_RTO)?;
    let initial = within("first retransmission timeout", initial, min, max)?;
    Ok((initial, min, max))
}
