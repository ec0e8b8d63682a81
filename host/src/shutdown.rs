//! Ctrl-C and SIGTERM: ask the event loop to stop, and wake it so it notices at once. On
//! Unix, SIGHUP asks a server to re-read its records of keys (a program that reads none
//! stops on it, as it always did).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mio::Waker;

use crate::error::HostError;

/// Set once Ctrl-C or SIGTERM arrives (and SIGHUP, for a [`Shutdown::reload`] taken);
/// the waker gets the event loop out of `poll`.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    requested: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
}

impl Shutdown {
    /// Installs the process's signal handlers, which wake the loop through `waker`; a
    /// hang-up stops the program too. There is one handler per process, so call this
    /// (or [`Shutdown::install_with_reload`]) once.
    pub(crate) fn install(waker: Arc<Waker>) -> Result<Self, HostError> {
        Self::install_as(waker, false)
    }

    /// As [`Shutdown::install`], but a hang-up (SIGHUP) asks for a reload
    /// ([`Shutdown::take_reload`]) instead of a stop.
    pub(crate) fn install_with_reload(waker: Arc<Waker>) -> Result<Self, HostError> {
        Self::install_as(waker, true)
    }

    fn install_as(waker: Arc<Waker>, reloads: bool) -> Result<Self, HostError> {
        let requested = Arc::new(AtomicBool::new(false));
        let reload = Arc::new(AtomicBool::new(false));
        let (flag, wake) = (Arc::clone(&requested), Arc::clone(&waker));
        ctrlc::set_handler(move || {
            flag.store(true, Ordering::SeqCst);
            // If the wake fails the loop still sees the flag at its next event.
            let _ = wake.wake();
        })?;
        #[cfg(unix)]
        watch_signals(waker, Arc::clone(&requested), reloads.then(|| Arc::clone(&reload)))?;
        #[cfg(not(unix))]
        let _ = (waker, reloads);
        Ok(Shutdown { requested, reload })
    }

    /// Whether a stop was asked for.
    pub(crate) fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Whether a reload was asked for since the last call.
    pub(crate) fn take_reload(&self) -> bool {
        self.reload.swap(false, Ordering::SeqCst)
    }
}

/// SIGTERM (and SIGHUP, without `reload`) stops; SIGHUP with `reload` sets it. A thread
/// waits for them, so the work is done outside the signal handler.
#[cfg(unix)]
fn watch_signals(
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
    reload: Option<Arc<AtomicBool>>,
) -> Result<(), HostError> {
    use signal_hook::consts::{SIGHUP, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGTERM, SIGHUP]).map_err(HostError::SignalWatch)?;
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            for signal in signals.forever() {
                match (&reload, signal) {
                    (Some(reload), SIGHUP) => reload.store(true, Ordering::SeqCst),
                    _ => stop.store(true, Ordering::SeqCst),
                }
                let _ = waker.wake();
            }
        })
        .map_err(HostError::SignalWatch)?;
    Ok(())
}
