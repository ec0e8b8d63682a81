//! `minichat` at a terminal: its stdin, stdout and stderr a pseudo-terminal whose other
//! end the test types into (Ctrl-C and Ctrl-D as a person presses them) and reads, with
//! deadlines. (Unix only.)

use std::fs::File;
use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `minichat` at a terminal, killed when dropped.
#[derive(Debug)]
pub struct AtTerminal {
    child: Child,
    keys: File,
    screen: Arc<Mutex<String>>,
    home: std::path::PathBuf,
}

impl AtTerminal {
    /// Starts `minichat ARGS...` with a terminal for stdin, stdout and stderr.
    pub fn spawn(args: &[&str]) -> AtTerminal {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let home = std::env::temp_dir().join(format!("minichat-tty-{}-{n}", std::process::id()));
        let size = nix::pty::Winsize { ws_row: 24, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0 };
        let pty = nix::pty::openpty(Some(&size), None).expect("a pseudo-terminal");
        let slave = File::from(pty.slave);
        let child = Command::new(crate::process::binary())
            .args(args)
            .env("MINICHAT_HOME", &home)
            .env("TERM", "xterm")
            .env_remove("MINICHAT_KEYLOGFILE")
            .stdin(Stdio::from(slave.try_clone().expect("the terminal, again")))
            .stdout(Stdio::from(slave.try_clone().expect("the terminal, again")))
            .stderr(Stdio::from(slave))
            .spawn()
            .expect("minichat starts");
        // (The test's copies of the terminal's end are gone: when the program exits, reading
        // the other end ends.)
        let keys = File::from(pty.master);
        let mut reader = keys.try_clone().expect("the terminal's other end, again");
        let screen = Arc::new(Mutex::new(String::new()));
        let shown = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    return;
                }
                if let Ok(mut screen) = shown.lock() {
                    screen.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        AtTerminal { child, keys, screen, home }
    }

    /// Types `keys` (raw bytes: `b"\x03"` is Ctrl-C, `b"\x04"` Ctrl-D, `b"\r"` Enter).
    pub fn type_keys(&mut self, keys: &[u8]) {
        self.keys.write_all(keys).expect("the terminal takes keys");
        self.keys.flush().expect("flush the keys");
    }

    /// Waits up to `timeout` until the screen shows `needle`; panics with the screen if not.
    pub fn wait_for(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {needle:?} within {timeout:?}: {screen:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything shown so far (escape sequences included).
    pub fn screen(&self) -> String {
        self.screen.lock().map(|screen| screen.clone()).unwrap_or_default()
    }

    /// Waits up to `timeout` for the program to exit; panics (with the screen) if not.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "minichat did not exit within {timeout:?}; the terminal shows {:?}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for AtTerminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}
