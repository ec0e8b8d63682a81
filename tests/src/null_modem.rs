//! A null-modem cable between two pseudo-terminals, for serial-line tests without
//! hardware: whatever a program writes to one end's device comes out of the other's.
//! (Unix only: it needs pseudo-terminals.)

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};

/// Two device paths joined by a relay thread; the cable is cut when this is dropped (or
/// with [`NullModem::cut_a`], which closes the first end as an unplugged adapter would).
#[derive(Debug)]
pub struct NullModem {
    /// The first end's device path.
    pub a: String,
    /// The second end's device path.
    pub b: String,
    stop: Arc<AtomicBool>,
    cut_a: Arc<AtomicBool>,
    relay: Option<JoinHandle<()>>,
}

impl NullModem {
    /// A new cable between two fresh pseudo-terminals.
    pub fn new() -> NullModem {
        let (master_a, a) = pseudo_terminal();
        let (master_b, b) = pseudo_terminal();
        let stop = Arc::new(AtomicBool::new(false));
        let cut_a = Arc::new(AtomicBool::new(false));
        let relay = {
            let (stop, cut_a) = (Arc::clone(&stop), Arc::clone(&cut_a));
            std::thread::spawn(move || relay(master_a, master_b, &stop, &cut_a))
        };
        NullModem { a, b, stop, cut_a, relay: Some(relay) }
    }

    /// Closes the first end's pseudo-terminal: its device disappears, as a USB serial
    /// adapter that was pulled out.
    pub fn cut_a(&self) {
        self.cut_a.store(true, Ordering::Relaxed);
    }
}

impl Default for NullModem {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NullModem {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(relay) = self.relay.take() {
            let _ = relay.join();
        }
    }
}

/// A pseudo-terminal's master end (non-blocking, and not inherited by the programs the
/// test starts, so closing it here removes the device) and its device's path.
fn pseudo_terminal() -> (File, String) {
    let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
    let path = nix::unistd::ttyname(&pty.slave).expect("its device's path");
    let mut raw = nix::sys::termios::tcgetattr(&pty.slave).expect("its settings");
    nix::sys::termios::cfmakeraw(&mut raw);
    nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &raw)
        .expect("raw mode");
    // The programs under test open the device themselves.
    drop(pty.slave);
    let master: OwnedFd = pty.master;
    fcntl(&master, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).expect("close on exec");
    fcntl(&master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("non-blocking");
    (File::from(master), path.to_string_lossy().into_owned())
}

/// Copies bytes both ways until told to stop. A master reads an error while no program
/// has its device open; that only means "nothing yet".
fn relay(a: File, mut b: File, stop: &AtomicBool, cut_a: &AtomicBool) {
    let mut a = Some(a);
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        if cut_a.load(Ordering::Relaxed) {
            a = None; // closing the master removes the device
        }
        let mut idle = true;
        if let Some(a) = a.as_mut() {
            if let Ok(n) = a.read(&mut buf)
                && n > 0
            {
                let _ = b.write_all(&buf[..n]);
                idle = false;
            }
            if let Ok(n) = b.read(&mut buf)
                && n > 0
            {
                let _ = a.write_all(&buf[..n]);
                idle = false;
            }
        } else {
            let _ = b.read(&mut buf); // the other end talks to a cut cable
        }
        if idle {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}
