//! `minichat echo`, driven as the original tutorial's clients drive their servers: plain
//! UDP and TCP sockets on 127.0.0.1, several clients at once.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use minichat_tests::process::Minichat;
use minichat_tests::{python_lower, python_upper, rng};
use proptest::prelude::Rng;

const CLIENTS: usize = 8;
const PER_CLIENT: usize = 40;
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `data` and returns the reply, resending on timeout like any UDP client must
/// (bounded: loopback loses nothing in practice).
fn udp_round_trip(socket: &UdpSocket, server: SocketAddr, data: &[u8]) -> Vec<u8> {
    let mut counts = Counts::default();
    udp_exchange(socket, server, data, &mut counts)
}

/// Datagrams sent and replies received, so a test can check one reply per datagram.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    sent: usize,
    replies: usize,
}

fn udp_exchange(
    socket: &UdpSocket,
    server: SocketAddr,
    data: &[u8],
    counts: &mut Counts,
) -> Vec<u8> {
    let mut buf = vec![0u8; 65_536];
    for _attempt in 0..3 {
        socket.send_to(data, server).unwrap();
        counts.sent += 1;
        match socket.recv_from(&mut buf) {
            Ok((len, from)) => {
                assert_eq!(from, server);
                counts.replies += 1;
                return buf[..len].to_vec();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("recv_from: {e}"),
        }
    }
    panic!("no reply from {server} after 3 tries");
}

/// Counts whatever replies are still arriving (none, if every datagram got exactly one).
fn drain_replies(socket: &UdpSocket, counts: &mut Counts) {
    socket.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut buf = vec![0u8; 65_536];
    while socket.recv_from(&mut buf).is_ok() {
        counts.replies += 1;
    }
}

fn udp_client() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
    socket
}

/// Runs `CLIENTS` UDP clients at once, each sending `PER_CLIENT` random datagrams (every
/// byte value, up to 2000 bytes, some empty) and checking each reply.
fn many_udp_clients(server: SocketAddr, expected: fn(&[u8]) -> Vec<u8>) {
    let start = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                let socket = udp_client();
                let mut rng = rng(client as u64);
                let mut counts = Counts::default();
                start.wait();
                for i in 0..PER_CLIENT {
                    let len = if i % 10 == 0 { 0 } else { rng.next_u32() as usize % 2000 };
                    let mut data = vec![0u8; len];
                    rng.fill_bytes(&mut data);
                    assert_eq!(
                        udp_exchange(&socket, server, &data, &mut counts),
                        expected(&data),
                        "client {client}, datagram {i}"
                    );
                }
                // Exactly one reply per datagram sent, resends included: nothing extra.
                drain_replies(&socket, &mut counts);
                assert_eq!(counts.sent, counts.replies, "client {client}");
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
}

#[test]
fn udp_upper_serves_many_clients_byte_exact() {
    let (_server, addr) = Minichat::serve(&["echo", "--upper", "--bind", "127.0.0.1:0"]);
    many_udp_clients(addr, python_upper);
}

#[test]
fn udp_lower_serves_many_clients_byte_exact() {
    let (_server, addr) = Minichat::serve(&["echo", "--lower", "--bind", "127.0.0.1:0"]);
    many_udp_clients(addr, python_lower);
}

#[test]
fn udp_every_byte_value_and_the_empty_datagram() {
    let (_server, addr) = Minichat::serve(&["echo", "--upper", "--bind", "127.0.0.1:0"]);
    let socket = udp_client();
    let all: Vec<u8> = (0..=255).collect();
    assert_eq!(udp_round_trip(&socket, addr, &all), python_upper(&all));
    assert_eq!(udp_round_trip(&socket, addr, b""), b"");
    assert_eq!(udp_round_trip(&socket, addr, b"hello, world"), b"HELLO, WORLD");
    // A datagram longer than the original's recvfrom(1024) comes back whole.
    let long = vec![b'q'; 4000];
    assert_eq!(udp_round_trip(&socket, addr, &long), vec![b'Q'; 4000]);
}

#[test]
fn tcp_serves_many_connections_at_once() {
    let (_server, addr) = Minichat::serve(&["echo", "--upper", "--tcp", "--bind", "127.0.0.1:0"]);
    // Every client connects before any sends, so all connections are open together.
    let connected = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let connected = Arc::clone(&connected);
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
                connected.wait();
                let mut rng = rng(100 + client as u64);
                for i in 0..PER_CLIENT {
                    let mut data = vec![0u8; 1 + rng.next_u32() as usize % 3000];
                    rng.fill_bytes(&mut data);
                    stream.write_all(&data).unwrap();
                    let mut reply = vec![0u8; data.len()];
                    stream.read_exact(&mut reply).unwrap();
                    assert_eq!(reply, python_upper(&data), "client {client}, chunk {i}");
                }
                // Closing our side ends the connection cleanly: the server closes too.
                stream.shutdown(std::net::Shutdown::Write).unwrap();
                let mut rest = Vec::new();
                stream.read_to_end(&mut rest).unwrap();
                assert!(rest.is_empty());
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
}

#[test]
fn tcp_and_udp_share_the_port() {
    let (_server, addr) = Minichat::serve(&["echo", "--lower", "--tcp", "--bind", "127.0.0.1:0"]);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
    stream.write_all(b"HeLLo TCP").unwrap();
    let mut reply = [0u8; 9];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"hello tcp");
    assert_eq!(udp_round_trip(&udp_client(), addr, b"HeLLo UDP"), b"hello udp");
}

#[test]
fn a_client_that_does_not_read_is_throttled_not_buffered_without_bound() {
    let (server, addr) = Minichat::serve(&["echo", "--upper", "--tcp", "--bind", "127.0.0.1:0"]);
    // Write up to 256 MiB without reading: the server must stop reading (the writes block) rather
    // than hold it all; a second client is served meanwhile.
    let mut hog = TcpStream::connect(addr).unwrap();
    hog.set_write_timeout(Some(Duration::from_millis(500))).unwrap();
    let block = vec![b'a'; 64 * 1024];
    let mut written = 0usize;
    while written < 256 << 20 {
        match hog.write(&block) {
            Ok(n) => written += n,
            Err(_) => break, // blocked: backpressure reached us
        }
    }
    assert!(written < 256 << 20, "256 MiB went in without the server pushing back");
    // While it pushes back, the server holds a bounded amount, not what was written.
    let rss = server.resident_kib().expect("/proc is readable");
    assert!(rss < 64 * 1024, "the server holds {rss} KiB with one stalled client");
    let mut other = TcpStream::connect(addr).unwrap();
    other.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
    other.write_all(b"still here").unwrap();
    let mut reply = [0u8; 10];
    other.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"STILL HERE");
    // Every byte the stalled client wrote comes back, in order, through the partial
    // writes the backpressure forced: read it all and compare.
    hog.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
    let mut back = vec![0u8; written];
    hog.read_exact(&mut back).unwrap();
    assert!(back.iter().all(|b| *b == b'A'), "the echo of {written} bytes is not all 'A'");
}

#[test]
fn python_clients_written_like_the_tutorial_get_byte_exact_replies() {
    let (_server, addr) = Minichat::serve(&["echo", "--upper", "--tcp", "--bind", "127.0.0.1:0"]);
    // The original clients, plus a check against Python's own bytes.upper().
    let script = r#"
import socket, sys, random
host, port = sys.argv[1], int(sys.argv[2])
random.seed(7)
payloads = [bytes(range(256)), b"", b"hello, world", "héllo wörld".encode()]
payloads += [bytes(random.randrange(256) for _ in range(random.randrange(1, 1000))) for _ in range(20)]

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for data in payloads:
    s.sendto(data, (host, port))
    reply, addr = s.recvfrom(1024 * 64)
    assert reply == data.upper(), (data, reply)
s.close()

t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.settimeout(5)
t.connect((host, port))
for data in payloads:
    if not data:
        continue
    t.sendall(data)
    reply = b""
    while len(reply) < len(data):
        chunk = t.recv(1024)
        assert chunk, "connection closed early"
        reply += chunk
    assert reply == data.upper(), (data, reply)
t.close()
print("ok", len(payloads))
"#;
    let output = std::process::Command::new("python3")
        .args(["-c", script, &addr.ip().to_string(), &addr.port().to_string()])
        .output()
        .expect("python3 is installed (it is on every CI machine)");
    assert!(
        output.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "ok 24");
}

#[test]
fn ctrl_c_stops_cleanly() {
    let (mut server, addr) =
        Minichat::serve(&["echo", "--upper", "--tcp", "--bind", "127.0.0.1:0"]);
    assert_eq!(udp_round_trip(&udp_client(), addr, b"x"), b"X");
    server.interrupt();
    let status = server.wait_exit(EXIT_TIMEOUT);
    assert!(status.success(), "exit status {status}");
    let stderr = server.stderr_after_exit(EXIT_TIMEOUT);
    assert!(stderr.iter().any(|l| l.contains("stopped after 1 datagrams")), "stderr: {stderr:?}");
}

#[test]
fn port_in_use_is_a_one_line_error() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut echo = Minichat::spawn(&["echo", "--upper", "--bind", &addr]);
    let status = echo.wait_exit(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(1));
    let stderr = echo.stderr_after_exit(EXIT_TIMEOUT);
    assert_eq!(
        stderr,
        [format!(
            "minichat: cannot listen on {addr} (udp): the port is already in use by another program"
        )]
    );
}

#[test]
fn bad_address_is_a_clear_error() {
    let mut echo = Minichat::spawn(&["echo", "--upper", "--bind", "nonsense"]);
    assert_eq!(echo.wait_exit(EXIT_TIMEOUT).code(), Some(2));
    let stderr = echo.stderr_after_exit(EXIT_TIMEOUT).join("\n");
    assert!(stderr.contains("invalid value 'nonsense' for '--bind <ADDR>'"), "{stderr}");
    assert!(stderr.contains("expected HOST:PORT"), "{stderr}");

    let mut echo = Minichat::spawn(&["echo", "--bind", "127.0.0.1:0"]);
    assert_eq!(echo.wait_exit(EXIT_TIMEOUT).code(), Some(2));
    let stderr = echo.stderr_after_exit(EXIT_TIMEOUT).join("\n");
    assert!(stderr.contains("--upper"), "{stderr}");
}
