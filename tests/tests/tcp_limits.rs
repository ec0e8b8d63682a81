//! One host against `serve --tcp` (the attacks of issue 24, item 6): connections that send
//! nothing, or a byte a second, or too many from one address, no longer hold the TCP
//! port, and a real `minichat send --tcp` gets through.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use minichat_tests::process::Minichat;

const WAIT: Duration = Duration::from_secs(20);

/// Whether the server closed `stream` within `within` (end of file or a reset), reading
/// and discarding whatever it sent.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 256];
    while Instant::now() < deadline {
        stream.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).unwrap()
}

#[test]
fn a_connection_that_carries_no_frame_is_closed_and_a_byte_a_second_does_not_help() {
    // With a keep-alive of 1 s, a connection has 1 s to carry its first frame.
    let (_server, addr) =
        Minichat::serve(&["serve", "--bind", "127.0.0.1:0", "--tcp", "--keepalive", "1"]);
    let mut silent = connect(addr);
    let mut dribbling = connect(addr);
    let started = Instant::now();
    let mut dribble_closed = false;
    // A byte every 200 ms, never a frame's end.
    while started.elapsed() < Duration::from_secs(10) && !dribble_closed {
        dribble_closed = dribbling.write_all(b"x").is_err()
            || closed_within(&mut dribbling, Duration::from_millis(200));
    }
    assert!(dribble_closed, "a byte every 200 ms kept the connection open for 10 s");
    assert!(closed_within(&mut silent, WAIT), "a silent connection stays open");
}

#[test]
fn one_address_holds_at_most_twice_its_sessions_in_connections() {
    let (mut server, addr) =
        Minichat::serve_with_stdin(&["serve", "--bind", "127.0.0.1:0", "--tcp", "--per-ip", "2"]);
    let mut kept: Vec<TcpStream> = (0..4).map(|_| connect(addr)).collect();
    let mut over: Vec<TcpStream> = (0..3).map(|_| connect(addr)).collect();
    for stream in &mut over {
        assert!(closed_within(stream, WAIT), "a fifth connection from one address stays open");
    }
    // The first four are held (for their first frame's 5 s).
    for stream in &mut kept {
        assert!(!closed_within(stream, Duration::from_millis(100)));
    }
    server.write_line("/stats");
    let line = server.stdout_line_containing("[stats] tcp connections", WAIT);
    assert!(line.contains("refused, too many from one address 3,"), "{line}");
}

#[test]
fn idle_connections_do_not_lock_a_real_tcp_client_out() {
    // More idle connections than the server holds (1,024), from the same address as the
    // real client, with no per-address limit: the worst case.
    raise_open_files_limit(4096);
    let (mut server, addr) =
        Minichat::serve(&["serve", "--bind", "127.0.0.1:0", "--tcp", "--quiet", "--per-ip", "0"]);
    let idle: Vec<TcpStream> = (0..1100).filter_map(|_| TcpStream::connect(addr).ok()).collect();
    assert!(idle.len() > 1024, "{} connections opened", idle.len());
    let mut send = Minichat::spawn(&[
        "send",
        "--name",
        "real",
        "--server",
        &addr.to_string(),
        "--tcp",
        "--timeout",
        "15",
        "through",
    ]);
    let status = send.wait_exit(WAIT);
    assert!(status.success(), "send --tcp failed: {:?}", send.stderr_after_exit(WAIT));
    drop(idle);
    server.kill();
}

/// Lets this test process hold `n` open files, if the hard limit allows (Unix; the tests
/// run on Linux).
#[cfg_attr(not(unix), allow(unused_variables))]
fn raise_open_files_limit(n: u64) {
    #[cfg(unix)]
    {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        if soft < n {
            setrlimit(Resource::RLIMIT_NOFILE, n.min(hard), hard).unwrap();
        }
    }
}
