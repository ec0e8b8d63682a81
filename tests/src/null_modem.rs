//! A null-modem cable between two pseudo-terminals, for serial-line tests without
//! hardware: whatever a program writes to one end's device comes out of the other's.
//! (Unix only: it needs pseudo-terminals.)

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};

/// Two device paths joined by a relay thread; the cable is cut when this is dropped (or
/// with [`NullModem::cut_a`], which closes the first end as an unplugged adapter would).
/// Each end also has a path of the test's own ([`NullModem::a_link`], `b_link`), a link to
/// its device that [`NullModem::replug_a`] points at a new one: an adapter plugged back in
/// under the name the program was given.
#[derive(Debug)]
pub struct NullModem {
    /// The first end's device path.
    pub a: String,
    /// The second end's device path.
    pub b: String,
    /// A link to the first end's device (its latest, after a replug).
    pub a_link: String,
    /// A link to the second end's device.
    pub b_link: String,
    dir: PathBuf,
    stop: Arc<AtomicBool>,
    ends: [Arc<End>; 2],
    relay: Option<JoinHandle<()>>,
}

/// What the test asks of one end of the cable.
#[derive(Debug, Default)]
struct End {
    cut: AtomicBool,
    plugged: Mutex<Option<File>>,
}

impl NullModem {
    /// A new cable between two fresh pseudo-terminals.
    pub fn new() -> NullModem {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("minichat-serial-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for the links");
        let (master_a, a) = pseudo_terminal();
        let (master_b, b) = pseudo_terminal();
        let (a_link, b_link) = (dir.join("a"), dir.join("b"));
        point(&a_link, &a);
        point(&b_link, &b);
        let stop = Arc::new(AtomicBool::new(false));
        let ends = [Arc::new(End::default()), Arc::new(End::default())];
        let relay = {
            let (stop, ends) = (Arc::clone(&stop), ends.clone());
            std::thread::spawn(move || relay([master_a, master_b], &stop, &ends))
        };
        NullModem {
            a,
            b,
            a_link: a_link.to_string_lossy().into_owned(),
            b_link: b_link.to_string_lossy().into_owned(),
            dir,
            stop,
            ends,
            relay: Some(relay),
        }
    }

    /// Closes the first end's pseudo-terminal: its device disappears, as a USB serial
    /// adapter that was pulled out. `a_link` first points nowhere: the kernel gives the
    /// freed device number to the next pseudo-terminal, another test's perhaps, and a
    /// program retrying the old path would open (and lock) that one. A program that
    /// reopens a cut end must be given the link, never the device path.
    pub fn cut_a(&self) {
        point(Path::new(&self.a_link), &self.unplugged());
        self.ends[0].cut.store(true, Ordering::Relaxed);
    }

    /// Closes the second end's pseudo-terminal (`b_link` pointing nowhere first).
    pub fn cut_b(&self) {
        point(Path::new(&self.b_link), &self.unplugged());
        self.ends[1].cut.store(true, Ordering::Relaxed);
    }

    /// A path that names no device: where a cut end's link points.
    fn unplugged(&self) -> String {
        self.dir.join("unplugged").to_string_lossy().into_owned()
    }

    /// A new pseudo-terminal for the first end, joined to the cable, and `a_link` pointing
    /// at it: the adapter is back.
    pub fn replug_a(&mut self) {
        self.a = self.replug(0, &self.a_link.clone());
    }

    /// A new pseudo-terminal for the second end, and `b_link` pointing at it.
    pub fn replug_b(&mut self) {
        self.b = self.replug(1, &self.b_link.clone());
    }

    fn replug(&self, end: usize, link: &str) -> String {
        let (master, path) = pseudo_terminal();
        self.ends[end].cut.store(false, Ordering::Relaxed);
        if let Ok(mut plugged) = self.ends[end].plugged.lock() {
            *plugged = Some(master);
        }
        point(Path::new(link), &path);
        path
    }
}

/// Makes `link` a symbolic link to `device`, in one step (a program opening `link` finds
/// the old device or the new one, never nothing).
fn point(link: &Path, device: &str) {
    let fresh = link.with_extension("new");
    let _ = std::fs::remove_file(&fresh);
    std::os::unix::fs::symlink(device, &fresh).expect("a link to the device");
    std::fs::rename(&fresh, link).expect("the link in place");
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
        let _ = std::fs::remove_dir_all(&self.dir);
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
fn relay(masters: [File; 2], stop: &AtomicBool, ends: &[Arc<End>; 2]) {
    let [a, b] = masters;
    let mut masters = [Some(a), Some(b)];
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        for (master, end) in masters.iter_mut().zip(ends) {
            if let Some(plugged) = end.plugged.lock().ok().and_then(|mut p| p.take()) {
                *master = Some(plugged);
            } else if end.cut.load(Ordering::Relaxed) {
                *master = None; // closing the master removes the device
            }
        }
        let mut idle = true;
        for (from, to) in [(0, 1), (1, 0)] {
            let Some(reader) = masters[from].as_mut() else { continue };
            if let Ok(n) = reader.read(&mut buf)
                && n > 0
            {
                idle = false;
                // Into a cut cable: lost.
                if let Some(writer) = masters[to].as_mut() {
                    let _ = writer.write_all(&buf[..n]);
                }
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}
