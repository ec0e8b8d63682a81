//! The server's operator console at a terminal (a pseudo-terminal here), against the
//! attack of issue 24, item 8: a plain-text datagram from any address becomes the last
//! sender, so it used to take the reply the operator was typing for someone else. Now the
//! prompt names a line's recipient, and a datagram that arrives after the first key
//! changes the next line's recipient, never this one's.
#![cfg(unix)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::UdpSocket;
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use minichat_tests::process::binary;
use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::pty::{Winsize, openpty};

const WAIT: Duration = Duration::from_secs(20);

/// `minichat serve` on a pseudo-terminal, killed when dropped.
struct AtTerminal {
    child: Child,
    master: File,
    /// Everything the program wrote to the terminal so far.
    screen: String,
    home: std::path::PathBuf,
}

impl AtTerminal {
    fn serve(args: &[&str]) -> AtTerminal {
        let size = Winsize { ws_row: 40, ws_col: 200, ws_xpixel: 0, ws_ypixel: 0 };
        let pty = openpty(Some(&size), None).expect("a pseudo-terminal");
        let master: OwnedFd = pty.master;
        fcntl(&master, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).unwrap();
        fcntl(&master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
        let slave = File::from(pty.slave);
        let home = std::env::temp_dir().join(format!(
            "minichat-console-{}-{}",
            std::process::id(),
            line!()
        ));
        let child = Command::new(binary())
            .args(args)
            .env("MINICHAT_HOME", &home)
            .env("TERM", "xterm")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .expect("minichat starts");
        AtTerminal { child, master: File::from(master), screen: String::new(), home }
    }

    /// Reads what the program wrote until `needle` appears after byte `from` of the
    /// screen; returns where it ends. Answers the line editor's cursor queries.
    fn wait_for(&mut self, needle: &str, from: usize) -> usize {
        let deadline = Instant::now() + WAIT;
        let mut buf = [0u8; 4096];
        loop {
            if let Some(at) = self.screen.get(from..).and_then(|s| s.find(needle)) {
                return from + at + needle.len();
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} not shown; the terminal shows {:?}",
                self.screen.get(from..).unwrap_or_default()
            );
            match self.master.read(&mut buf) {
                Ok(n) if n > 0 => {
                    let text = String::from_utf8_lossy(&buf[..n]);
                    for _ in text.matches("\x1b[6n") {
                        self.type_keys("\x1b[1;1R");
                    }
                    self.screen.push_str(&text);
                }
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }

    fn type_keys(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
    }
}

impl Drop for AtTerminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

#[test]
fn a_datagram_after_the_first_key_does_not_take_the_operators_reply() {
    let mut console = AtTerminal::serve(&["serve", "--plaintext", "--bind", "127.0.0.1:0"]);
    let end = console.wait_for("listening on ", 0);
    let port_end = console.wait_for(" (udp", end);
    let addr = console.screen[end..port_end - " (udp".len()].to_owned();
    let mut seen = console.wait_for(">>>: ", port_end);
    // A plain-text client writes, and the operator starts a reply to it: at the first
    // key the console says whom the line answers.
    let alice = UdpSocket::bind("127.0.0.1:0").unwrap();
    let alice_addr = alice.local_addr().unwrap().to_string();
    alice.send_to(b"hello from alice", &addr).unwrap();
    seen = console.wait_for("hello from alice", seen);
    console.type_keys("w");
    seen = console.wait_for(&format!("a plain line now answers {alice_addr}"), seen);
    // A forged datagram arrives while the operator types.
    let forger = UdpSocket::bind("127.0.0.1:0").unwrap();
    let forger_addr = forger.local_addr().unwrap().to_string();
    forger.send_to(b"z", &addr).unwrap();
    seen = console.wait_for(&format!("[{forger_addr}] z"), seen);
    console.type_keys("ifi is on channel 6\r");
    // The reply goes to alice, and the console says so.
    seen = console.wait_for(&format!("[to {alice_addr}] wifi is on channel 6"), seen);
    alice.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 1500];
    let n = alice.recv(&mut buf).expect("alice gets the reply");
    assert_eq!(&buf[..n], b"wifi is on channel 6");
    // The reply went out before that line was shown: the forger got nothing.
    forger.set_nonblocking(true).unwrap();
    assert!(forger.recv(&mut buf).is_err(), "the forger got {:?}", &buf[..8]);
    // The next line answers the forger, and its prompt says so before anything is typed.
    console.wait_for(&format!("(to {forger_addr}) >>>: "), seen);
}
