//! The host's clock: `std::time::Instant` turned into the core's milliseconds.

use minichat_core::time::{Duration, Instant};

/// Milliseconds since the program started, as the core counts time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: std::time::Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Clock { start: std::time::Instant::now() }
    }

    /// Now, in the core's terms.
    pub(crate) fn now(&self) -> Instant {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        Instant::from_millis(ms)
    }

    /// How long from now until `at` (zero if it has passed), for `poll` timeouts. Rounded
    /// up so a timer is never polled a millisecond early and spun on.
    pub(crate) fn until(&self, at: Instant) -> std::time::Duration {
        to_std(at.saturating_since(self.now()))
    }
}

/// A core span as std's.
pub(crate) fn to_std(duration: Duration) -> std::time::Duration {
    std::time::Duration::from_millis(duration.as_millis())
}

/// Whole seconds, for messages: "1 s", "2.5 s".
pub(crate) fn seconds(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}
