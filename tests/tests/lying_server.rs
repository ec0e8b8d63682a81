//! `minichat chat` against a server that lies (the attacks of issue 24, item 7): a
//! `welcome` whose keep-alive is 1 ms, and a sender's name full of characters that
//! disguise text. A fake server on 127.0.0.1 speaks just enough of the protocol.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Cookie, Message, Name, Token};
use minichat_tests::process::Minichat;

const WAIT: Duration = Duration::from_secs(20);
const TOKEN: Token = Token(0x7777);

fn send(socket: &UdpSocket, to: SocketAddr, message: &Message<'_>) {
    let mut buf = vec![0u8; message.buffer_len()];
    message.encode(&mut buf).unwrap();
    socket.send_to(&buf, to).unwrap();
}

#[test]
fn a_server_cannot_make_the_client_ping_a_thousand_times_a_second_or_disguise_a_name() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let addr = server.local_addr().unwrap().to_string();
    let mut chat =
        Minichat::spawn_with_stdin(&["chat", "--name", "eve", "--server", &addr, "--plaintext"]);
    let mut buf = [0u8; MAX_FRAME];
    let mut welcomed_at = None;
    let mut pings = 0;
    let deadline = Instant::now() + WAIT;
    // Serve the client for three seconds after its welcome.
    while welcomed_at.is_none_or(|at: Instant| at.elapsed() < Duration::from_secs(3)) {
        assert!(Instant::now() < deadline, "the client joined");
        let Ok((n, client)) = server.recv_from(&mut buf) else { continue };
        match Message::decode(&buf[..n]) {
            Ok(Message::Join { cookie, nonce, name, .. }) if cookie.is_empty() => {
                assert_eq!(name.as_str(), "eve");
                send(&server, client, &Message::Cookie { cookie: Cookie([1; 16]), nonce });
            }
            Ok(Message::Join { nonce, .. }) => {
                let name = Name::new("eve").unwrap();
                let welcome = Message::Welcome {
                    token: TOKEN,
                    nonce,
                    keepalive_ms: 1,
                    max_text: 900,
                    rate_per_sec: 0,
                    name,
                };
                send(&server, client, &welcome);
                welcomed_at.get_or_insert_with(Instant::now);
                // A sender whose name reverses the text after it and hides a space.
                let from = Name::new("ab\u{202e}c\u{200b}").unwrap();
                let deliver = Message::Deliver {
                    token: TOKEN,
                    seq: 1,
                    direct: false,
                    history: false,
                    from,
                    text: "hello",
                };
                send(&server, client, &deliver);
            }
            Ok(Message::Ping { token, req }) => {
                pings += 1;
                send(&server, client, &Message::Pong { token, req });
            }
            _ => {}
        }
    }
    let line = chat.stdout_line_containing("hello", WAIT);
    assert!(line.contains(r"ab\u{202e}c\u{200b}: hello"), "{line:?}");
    assert!(!line.contains('\u{202e}') && !line.contains('\u{200b}'), "{line:?}");
    // A keep-alive of at least a second: about three pings in three seconds.
    assert!(pings <= 5, "{pings} pings in 3 s for a keep-alive of 1 ms");
    chat.close_stdin();
}
