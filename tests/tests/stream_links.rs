//! The byte-stream transports as a user runs them: `serve --tcp` and `chat --tcp` on one
//! port beside UDP users, and `serve --serial` / `chat --serial` over a serial line (a
//! null-modem cable between two pseudo-terminals), all in one room.

use std::time::Duration;

use minichat_tests::process::Minichat;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn tcp_and_udp_users_share_one_room() {
    let (mut server, addr) =
        Minichat::serve(&["serve", "--bind", "127.0.0.1:0", "--tcp", "--history", "0"]);
    let addr = addr.to_string();
    assert!(server.stdout_seen().iter().any(|l| l.contains("(udp, tcp)")));
    let mut over_tcp = Minichat::spawn_with_stdin(&[
        "chat", "--name", "tee", "--server", &addr, "--tcp", "--linger", "0",
    ]);
    let joined = server.stdout_line_containing("tee joined from", WAIT);
    assert!(joined.contains("tcp:127.0.0.1:"), "{joined}");
    let mut over_udp =
        Minichat::spawn_with_stdin(&["chat", "--name", "you", "--server", &addr, "--linger", "0"]);
    server.stdout_line_containing("you joined from", WAIT);
    over_tcp.write_line("hello from tcp");
    assert_eq!(over_udp.stdout_line_containing("hello", WAIT), "tee: hello from tcp");
    over_udp.write_line("/to tee and back over udp");
    assert_eq!(over_tcp.stdout_line_containing("back", WAIT), "you (direct): and back over udp");
    assert!(over_tcp.close_and_wait(WAIT).success());
    assert!(over_udp.close_and_wait(WAIT).success());
}

/// A TCP port that refuses every connection for as long as it is held: bound and never
/// listening, so no other program can take it meanwhile.
#[cfg(unix)]
fn refusing_tcp_port() -> (std::os::fd::OwnedFd, std::net::SocketAddr) {
    use nix::sys::socket::{
        AddressFamily, SockFlag, SockType, SockaddrIn, bind, getsockname, socket,
    };
    let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::empty(), None).unwrap();
    let any_port: SockaddrIn = "127.0.0.1:0".parse::<std::net::SocketAddrV4>().unwrap().into();
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &any_port).unwrap();
    let bound: SockaddrIn = getsockname(std::os::fd::AsRawFd::as_raw_fd(&fd)).unwrap();
    (fd, std::net::SocketAddr::V4(bound.into()))
}

#[cfg(unix)]
#[test]
fn a_tcp_client_without_a_server_says_so() {
    let (_held, port) = refusing_tcp_port();
    let port = format!("tcp:{port}");
    let mut send = Minichat::spawn(&[
        "send",
        "--name",
        "lonely",
        "--server",
        port.strip_prefix("tcp:").unwrap(),
        "--tcp",
        "--timeout",
        "2",
        "hi",
    ]);
    assert_eq!(send.wait_exit(WAIT).code(), Some(1));
    let said = send.stderr_after_exit(WAIT);
    // Why it cannot reach the server, while it tries; and, at the end, that the message
    // was not delivered, and why.
    assert!(
        said.iter().any(|l| l.contains(&port) && l.contains("refused")),
        "the refusal is said: {said:?}"
    );
    assert_eq!(
        said.last().map(String::as_str),
        Some(&*format!("minichat: not delivered: no answer from {port} within 2 s")),
        "{said:?}"
    );
}

#[cfg(unix)]
mod serial {
    use minichat_tests::null_modem::NullModem;

    use super::*;

    #[test]
    fn a_user_on_a_serial_line_chats_with_a_user_on_udp() {
        let cable = NullModem::new();
        let (mut server, addr) = Minichat::serve(&[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--serial",
            &cable.a,
            "--history",
            "0",
        ]);
        let addr = addr.to_string();
        assert!(
            server.stdout_seen().iter().any(|l| l.contains(&format!("serial:{}", cable.a))),
            "{:?}",
            server.stdout_seen()
        );
        let mut board = Minichat::spawn_with_stdin(&[
            "chat", "--name", "mcu", "--serial", &cable.b, "--linger", "0",
        ]);
        let joined = server.stdout_line_containing("mcu joined from", WAIT);
        assert!(joined.ends_with(&format!("serial:{}", cable.a)), "{joined}");
        let mut desk = Minichat::spawn_with_stdin(&[
            "chat", "--name", "desk", "--server", &addr, "--linger", "0",
        ]);
        server.stdout_line_containing("desk joined from", WAIT);
        board.write_line("mcu is up");
        assert_eq!(desk.stdout_line_containing("is up", WAIT), "mcu: mcu is up");
        desk.write_line("/to mcu hello");
        assert_eq!(board.stdout_line_containing("hello", WAIT), "desk (direct): hello");
        assert!(board.close_and_wait(WAIT).success());
        assert!(desk.close_and_wait(WAIT).success());
    }

    #[test]
    fn a_serial_line_that_disappears_is_reported_and_the_rest_goes_on() {
        let cable = NullModem::new();
        // The link, not the device: the server retries the path it was given.
        let (mut server, addr) =
            Minichat::serve(&["serve", "--bind", "127.0.0.1:0", "--serial", &cable.a_link]);
        cable.cut_a();
        let notice = server.stderr_line_containing("is gone", WAIT);
        assert!(notice.contains(&format!("serial:{}", cable.a_link)), "{notice}");
        let mut send =
            Minichat::spawn(&["send", "--name", "still", "--server", &addr.to_string(), "served"]);
        assert!(send.wait_exit(WAIT).success());
        server.stdout_line_containing("still: served", WAIT);
    }

    /// A server on the serial line `server_line`, the board `mcu` chatting on the other end
    /// (`board_line`), and `desk` over UDP; both joined.
    fn board_and_desk(server_line: &str, board_line: &str) -> (Minichat, Minichat, Minichat) {
        let (mut server, addr) = Minichat::serve(&[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--serial",
            server_line,
            "--history",
            "0",
        ]);
        let addr = addr.to_string();
        let board = Minichat::spawn_with_stdin(&[
            "chat", "--name", "mcu", "--serial", board_line, "--linger", "0",
        ]);
        server.stdout_line_containing("mcu joined from", WAIT);
        let desk = Minichat::spawn_with_stdin(&[
            "chat", "--name", "desk", "--server", &addr, "--linger", "0",
        ]);
        server.stdout_line_containing("desk joined from", WAIT);
        (server, board, desk)
    }

    /// The server's line is unplugged and plugged back in under the same name: the server
    /// reopens it, and the user on it goes on where it was, in the same session.
    #[test]
    fn a_serial_line_that_comes_back_is_reopened_by_the_server() {
        let mut cable = NullModem::new();
        let (mut server, mut board, mut desk) = board_and_desk(&cable.a_link, &cable.b);
        board.write_line("before");
        assert_eq!(desk.stdout_line_containing("before", WAIT), "mcu: before");
        cable.cut_a();
        server.stderr_line_containing(&format!("serial:{} is gone", cable.a_link), WAIT);
        // Said while the line is away: resent once it is back.
        board.write_line("while unplugged");
        cable.replug_a();
        server.stderr_line_containing(&format!("serial:{} is back", cable.a_link), WAIT);
        assert_eq!(desk.stdout_line_containing("unplugged", WAIT), "mcu: while unplugged");
        board.write_line("after");
        assert_eq!(desk.stdout_line_containing("after", WAIT), "mcu: after");
        desk.write_line("/to mcu welcome back");
        assert_eq!(board.stdout_line_containing("welcome", WAIT), "desk (direct): welcome back");
        assert!(board.close_and_wait(WAIT).success(), "{:?}", board.stderr_so_far());
        assert!(desk.close_and_wait(WAIT).success());
        // One session throughout: mcu joined once.
        server.terminate();
        assert!(server.wait_exit(WAIT).success());
        let shown = server.whole_stdout_after_exit(WAIT);
        assert_eq!(shown.iter().filter(|l| l.contains("mcu joined")).count(), 1, "{shown:?}");
    }

    /// `chat --serial`'s own line goes away and comes back: the client reopens it, and
    /// what its user typed meanwhile arrives.
    #[test]
    fn a_serial_line_that_comes_back_is_reopened_by_chat() {
        let mut cable = NullModem::new();
        let (_server, mut board, mut desk) = board_and_desk(&cable.a, &cable.b_link);
        cable.cut_b();
        board.stderr_line_containing(&format!("serial:{} is gone", cable.b_link), WAIT);
        board.write_line("typed while unplugged");
        cable.replug_b();
        board.stderr_line_containing(&format!("serial:{} is back", cable.b_link), WAIT);
        assert_eq!(desk.stdout_line_containing("unplugged", WAIT), "mcu: typed while unplugged");
        desk.write_line("/to mcu welcome back");
        assert_eq!(board.stdout_line_containing("welcome", WAIT), "desk (direct): welcome back");
        assert!(board.close_and_wait(WAIT).success(), "{:?}", board.stderr_so_far());
        assert!(desk.close_and_wait(WAIT).success());
    }

    #[test]
    fn a_serial_line_that_cannot_be_opened_stops_the_server_with_a_clear_error() {
        let mut server = Minichat::spawn(&[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--serial",
            "/dev/minichat-no-such-line",
        ]);
        assert_eq!(server.wait_exit(WAIT).code(), Some(1));
        let stderr = server.stderr_after_exit(WAIT).join("\n");
        assert!(
            stderr.contains("cannot open the serial line /dev/minichat-no-such-line"),
            "{stderr}"
        );
    }
}
