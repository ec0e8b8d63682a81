//! Opening a serial line (a USB adapter's tty, a board's CDC ACM port, an emulator's
//! pseudo-terminal) as a raw, non-blocking byte stream, and reopening one that went away
//! with back-off.

use std::time::{Duration, Instant};

/// The serial port type of this platform.
#[cfg(unix)]
pub(crate) type NativePort = serialport::TTYPort;
/// The serial port type of this platform.
#[cfg(windows)]
pub(crate) type NativePort = serialport::COMPort;

/// The baud rate unless told otherwise: what most USB serial adapters and boards default
/// to. (An emulator's pseudo-terminal ignores it.)
pub(crate) const DEFAULT_BAUD: u32 = 115_200;

/// The first wait before reopening a line that went away, doubled up to [`REOPEN_MAX`].
const REOPEN_FIRST: Duration = Duration::from_millis(250);
/// The longest wait between two attempts to reopen a line.
const REOPEN_MAX: Duration = Duration::from_secs(4);

/// The most bytes written to a serial line at once: a tty reports itself writable when
/// this much room is free, so a write this size never waits for the line to drain.
pub(crate) const WRITE_CHUNK: usize = 256;

/// Opens `path` at `baud`: 8N1, no flow control, raw, exclusive. Reads and writes wait for
/// nothing (a zero timeout: "timed out" means "not now"); keep writes to [`WRITE_CHUNK`].
pub(crate) fn open(path: &str, baud: u32) -> Result<NativePort, serialport::Error> {
    serialport::new(path, baud).timeout(Duration::ZERO).open_native()
}

/// When to try opening a line again, doubling the wait after each failure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reopen {
    pub(crate) at: Instant,
    wait: Duration,
}

impl Reopen {
    /// The first attempt after the line went away at `now`.
    pub(crate) fn after_loss(now: Instant) -> Reopen {
        Reopen { at: now + REOPEN_FIRST, wait: REOPEN_FIRST }
    }

    /// Another attempt failed at `now`: the next waits twice as long (up to the cap).
    pub(crate) fn failed(&mut self, now: Instant) -> Duration {
        self.wait = (self.wait * 2).min(REOPEN_MAX);
        self.at = now + self.wait;
        self.wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_backs_off_up_to_the_cap() {
        let now = Instant::now();
        let mut reopen = Reopen::after_loss(now);
        assert_eq!(reopen.at, now + REOPEN_FIRST);
        let waits: Vec<u128> = (0..6).map(|_| reopen.failed(now).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 4000, 4000]);
    }

    #[test]
    fn a_missing_device_is_an_error_not_a_panic() {
        let error = open("/dev/minichat-no-such-device", DEFAULT_BAUD).unwrap_err();
        assert!(!error.to_string().is_empty());
    }
}
