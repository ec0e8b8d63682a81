//! Running the `minichat` binary as a user would: build it, start it, read what it
//! prints with deadlines, signal it, and never leave it running.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// How long a started program may take to print its first line; generous, because CI
/// machines are slow and a debug build of a cold binary starts slowly.
pub const STARTUP: Duration = Duration::from_secs(30);

/// The path of the `minichat` binary, built (or found up to date) once per test process
/// with the same profile as the tests themselves.
pub fn binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            // tests run from target/<profile>/deps/; the binary lives in target/<profile>/.
            let exe = std::env::current_exe().expect("the test's own path");
            let profile_dir =
                exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
            let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = Command::new(cargo);
            build.args(["build", "--quiet", "-p", "host", "--bin", "minichat"]);
            // What cargo set for this test (its package's name, its manifest): build
            // scripts that watch them (ring's) would otherwise see them change, and build
            // again here and again in the next `cargo test`.
            for (name, _) in std::env::vars_os() {
                let name = name.to_string_lossy();
                let for_this_test = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_", "CARGO_CRATE_"]
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
                    || ["OUT_DIR", "CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR"]
                        .contains(&&*name);
                if for_this_test {
                    build.env_remove(&*name);
                }
            }
            if profile != "debug" {
                build.args(["--profile", profile]);
            }
            let status = build.status().expect("cargo runs");
            assert!(status.success(), "building the minichat binary failed");
            let binary = profile_dir.join(format!("minichat{}", std::env::consts::EXE_SUFFIX));
            assert!(binary.exists(), "{} was not built", binary.display());
            binary
        })
        .clone()
}

/// A running `minichat`, killed when dropped. Its stdout and stderr are read line by line
/// on threads, so a test can wait for a line with a deadline.
#[derive(Debug)]
pub struct Minichat {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    /// Every line seen so far on stderr, for failure messages.
    stderr_seen: Vec<String>,
    /// Every stdout line read so far, the ones waits passed over included.
    stdout_seen: Vec<String>,
    /// A stdout pipe the test holds open and never reads (a stuck terminal).
    unread_stdout: Option<BufReader<std::process::ChildStdout>>,
    /// The program's own `MINICHAT_HOME` (its keys, its known servers), removed with it.
    home: PathBuf,
}

/// A fresh `MINICHAT_HOME` for one program: no test shares keys or known servers with
/// another, or with the user who runs the tests.
fn home() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("minichat-home-{}-{n}", std::process::id()))
}

/// A client key file for one user of one test (`chat --key`, `send --key`), made by the
/// first program that uses it: the programs of one user share it, as they would share the
/// user's home (each program has a home of its own, so by default each is another user,
/// with another key).
pub fn user_key(test: &str, user: &str) -> String {
    let dir = std::env::temp_dir().join(format!("minichat-user-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory for user keys");
    dir.join(format!("{test}-{user}.key")).to_str().expect("a UTF-8 path").to_owned()
}

impl Minichat {
    /// Starts `minichat ARGS...` with stdin closed (reading it gives end of file).
    pub fn spawn(args: &[&str]) -> Minichat {
        Self::start(args, Stdio::null(), &[])
    }

    /// Starts `minichat ARGS...` with stdin a pipe the test writes with
    /// [`Minichat::write_line`] and closes with [`Minichat::close_stdin`].
    pub fn spawn_with_stdin(args: &[&str]) -> Minichat {
        Self::start(args, Stdio::piped(), &[])
    }

    /// [`Minichat::spawn_with_stdin`] with the environment variables `vars` set too.
    pub fn spawn_with_stdin_and_env(args: &[&str], vars: &[(&str, &str)]) -> Minichat {
        Self::start(args, Stdio::piped(), vars)
    }

    fn start(args: &[&str], stdin: Stdio, vars: &[(&str, &str)]) -> Minichat {
        let home = home();
        let mut child = Command::new(binary())
            .args(args)
            .env("MINICHAT_HOME", &home)
            // A key log the developer asked for is not the tests'.
            .env_remove("MINICHAT_KEYLOGFILE")
            .envs(vars.iter().copied())
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("minichat starts");
        let stdout = lines_of(child.stdout.take().expect("piped stdout"));
        let stderr = lines_of(child.stderr.take().expect("piped stderr"));
        let stdin = child.stdin.take();
        Minichat {
            child,
            stdin,
            stdout,
            stderr,
            stderr_seen: Vec::new(),
            stdout_seen: Vec::new(),
            unread_stdout: None,
            home,
        }
    }

    /// Starts a server (`ARGS` should bind port 0), reads its "listening on ADDR" line,
    /// and from then on never reads its stdout again, while holding the pipe open: what
    /// a terminal nobody reads, or a stuck ssh session, does to a program.
    pub fn serve_with_stdout_unread(args: &[&str]) -> (Minichat, SocketAddr) {
        let home = home();
        let mut child = Command::new(binary())
            .args(args)
            .env("MINICHAT_HOME", &home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("minichat starts");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let stderr = lines_of(child.stderr.take().expect("piped stderr"));
        // The first line is read on a thread, so a server that never prints it fails the
        // test at the deadline instead of hanging it; the pipe comes back with the line.
        let (first, first_in) = channel();
        std::thread::spawn(move || {
            let mut stdout = stdout;
            let mut line = String::new();
            let read = stdout.read_line(&mut line).map(|_| line);
            let _ = first.send((read, stdout));
        });
        let (line, stdout) = match first_in.recv_timeout(STARTUP) {
            Ok((Ok(line), stdout)) => (line, stdout),
            Ok((Err(error), _)) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("reading the listening line: {error}");
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr: Vec<String> = stderr.try_iter().collect();
                panic!("no listening line within {STARTUP:?}; stderr: {stderr:?}");
            }
        };
        let addr = address_in(&line);
        let (_, never) = channel();
        let server = Minichat {
            child,
            stdin: None,
            stdout: never,
            stderr,
            stderr_seen: Vec::new(),
            stdout_seen: Vec::new(),
            unread_stdout: Some(stdout),
            home,
        };
        (server, addr)
    }

    /// Starts reading the stdout that [`Minichat::serve_with_stdout_unread`] left unread:
    /// the terminal moves again. Its lines then come as any program's do.
    pub fn resume_stdout(&mut self) {
        let stdout = self.unread_stdout.take().expect("started with serve_with_stdout_unread");
        self.stdout = lines_of(stdout);
    }

    /// Writes one line to the program's stdin.
    pub fn write_line(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("started with spawn_with_stdin and not closed");
        writeln!(stdin, "{line}").expect("the program reads its stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Closes stdin (the script ends) and waits up to `timeout` for the program to exit.
    pub fn close_and_wait(&mut self, timeout: Duration) -> ExitStatus {
        self.close_stdin();
        self.wait_exit(timeout)
    }

    /// Closes the program's stdin: it reads end of file.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits up to `timeout` for a stderr line containing `needle`.
    pub fn stderr_line_containing(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(needle) => {
                    self.stderr_seen.push(line.clone());
                    return line;
                }
                Ok(line) => self.stderr_seen.push(line),
                Err(_) => panic!(
                    "no stderr line with {needle:?} within {timeout:?}; stderr: {:?}",
                    self.stderr_seen
                ),
            }
        }
    }

    /// Every stderr line printed so far, those earlier waits read included (without
    /// waiting).
    pub fn stderr_so_far(&mut self) -> Vec<String> {
        while let Ok(line) = self.stderr.try_recv() {
            self.stderr_seen.push(line);
        }
        self.stderr_seen.clone()
    }

    /// Every stdout line printed so far (without waiting).
    pub fn stdout_so_far(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.stdout.try_recv() {
            self.stdout_seen.push(line.clone());
            lines.push(line);
        }
        lines
    }

    /// Everything the program printed on stdout, from its start to its exit, including
    /// the lines earlier waits read past (call after it exited).
    pub fn whole_stdout_after_exit(&mut self, timeout: Duration) -> Vec<String> {
        let rest = self.stdout_after_exit(timeout);
        let mut all = std::mem::take(&mut self.stdout_seen);
        all.extend(rest);
        all
    }

    /// Everything printed on stdout until the program closed it (call after it exited).
    pub fn stdout_after_exit(&mut self, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(RecvTimeoutError::Disconnected) => return lines,
                Err(RecvTimeoutError::Timeout) => panic!("stdout still open after {timeout:?}"),
            }
        }
    }

    /// Starts a server (`ARGS` should bind port 0) and waits for its "listening on ADDR"
    /// line; returns it with the address it bound.
    pub fn serve(args: &[&str]) -> (Minichat, SocketAddr) {
        let mut server = Minichat::spawn(args);
        let addr = server.listening_addr();
        (server, addr)
    }

    /// [`Minichat::serve`] with stdin a pipe (for the server's console).
    pub fn serve_with_stdin(args: &[&str]) -> (Minichat, SocketAddr) {
        let mut server = Minichat::spawn_with_stdin(args);
        let addr = server.listening_addr();
        (server, addr)
    }

    /// Every stdout line read so far (the "listening on" line of a server included).
    pub fn stdout_seen(&self) -> &[String] {
        &self.stdout_seen
    }

    fn listening_addr(&mut self) -> SocketAddr {
        let line = self.stdout_line_containing("listening on ", STARTUP);
        address_in(&line)
    }

    /// Waits up to `timeout` for a stdout line containing `needle`; panics with what was
    /// printed if none comes. Lines before it are passed over for good: a test waiting for
    /// two lines waits for them in the order they are printed (the panic names the earlier
    /// lines that held `needle`, matched or passed over by earlier waits).
    pub fn stdout_line_containing(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if line.contains(needle) => {
                    self.stdout_seen.push(line.clone());
                    return line;
                }
                Ok(line) => {
                    self.stdout_seen.push(line.clone());
                    seen.push(line);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    self.drain_stderr();
                    let earlier: Vec<&String> =
                        self.stdout_seen.iter().filter(|line| line.contains(needle)).collect();
                    panic!(
                        "no stdout line with {needle:?} within {timeout:?}; stdout: {seen:?}; \
                         earlier lines with it (taken or passed over by earlier waits): \
                         {earlier:?}; stderr: {:?}",
                        self.stderr_seen
                    );
                }
            }
        }
    }

    /// Kills the program at once (SIGKILL): a crash, for restart tests.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The program's resident memory in KiB, from `/proc` (Linux).
    pub fn resident_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Sends SIGTERM, as a service manager does.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends SIGHUP, as a service manager's reload does.
    pub fn hang_up(&self) {
        self.signal("HUP");
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) {
        self.signal("INT");
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits up to `timeout` for the program to exit; panics if it does not.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "minichat did not exit within {timeout:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything printed on stderr until the program closed it (call after it exited).
    pub fn stderr_after_exit(&mut self, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.stderr_seen.push(line),
                Err(RecvTimeoutError::Disconnected) => return self.stderr_seen.clone(),
                Err(RecvTimeoutError::Timeout) => panic!("stderr still open after {timeout:?}"),
            }
        }
    }

    fn drain_stderr(&mut self) {
        while let Ok(line) = self.stderr.try_recv() {
            self.stderr_seen.push(line);
        }
    }
}

impl Drop for Minichat {
    fn drop(&mut self) {
        self.stdin = None;
        self.unread_stdout = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// The address of a "listening on ADDR" line.
fn address_in(line: &str) -> SocketAddr {
    line.split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

fn lines_of(reader: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
