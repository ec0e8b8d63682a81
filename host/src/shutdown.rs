//! Ctrl-C (and SIGTERM): ask the event loop to stop, and wake it so it notices at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mio::Waker;

use crate::error::HostError;

/// Set once Ctrl-C or SIGTERM arrives; the waker gets the event loop out of `poll`.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    requested: Arc<AtomicBool>,
}

impl Shutdown {
    /// Installs the process's signal handler, which wakes the loop through `waker`.
    /// There is one handler per process, so call this once.
    pub(crate) fn install(waker: Arc<Waker>) -> Result<Self, HostError> {
        let requested = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&requested);
        ctrlc::set_handler(move || {
            flag.store(true, Ordering::SeqCst);
            // If the wake fails the loop still sees the flag at its next event.
            let _ = waker.wake();
        })?;
        Ok(Shutdown { requested })
    }

    /// Whether a stop was asked for.
    pub(crate) fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}
