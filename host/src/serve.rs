//! `minichat serve`: the chat server over UDP, with the operator console of the original
//! QQ program, and legacy plain-text clients.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;

use minichat_core::error::TransportError;
use minichat_core::server::{LeftReason, Recipient, Server, ServerConfig, ServerEvent};
use minichat_core::time::Duration;
use minichat_core::transport::{Datagram, Driver, RECEIVE_BUDGET};
use minichat_core::wire::{Name, NameBuf};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::clock::Clock;
use crate::commands::{OPERATOR_HELP, OperatorCommand, parse_operator};
use crate::console::{self, Console, Input};
use crate::error::HostError;
use crate::escape::escape;
use crate::shutdown::Shutdown;

/// The most users `--capacity` may ask for: the table's slots.
pub(crate) const MAX_USERS: usize = 1024;
/// Messages kept for resending and for newcomers' history.
pub(crate) const RING: usize = 1024;
/// The server the host runs.
type HostServer = Server<MAX_USERS, RING>;

const SOCKET: Token = Token(0);
const WAKER: Token = Token(1);
/// The server's table and ring live on its thread's stack.
const SERVER_STACK: usize = 64 << 20;
/// How many times the goodbye notices are pumped at shutdown.
const FAREWELL_ROUNDS: usize = 8;

/// What `minichat serve` was asked to do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServeConfig {
    pub(crate) bind: SocketAddr,
    pub(crate) capacity: usize,
    pub(crate) keepalive: Duration,
    pub(crate) history: u16,
    pub(crate) rate_per_sec: u16,
}

/// Who the operator's plain lines answer.
#[derive(Debug, Clone, Copy)]
enum LastSender {
    User(NameBuf),
    Legacy(SocketAddr),
}

/// Runs the server until Ctrl-C, SIGTERM or `/quit`.
pub(crate) fn run(config: ServeConfig) -> Result<(), HostError> {
    std::thread::Builder::new()
        .name("server".into())
        .stack_size(SERVER_STACK)
        .spawn(move || serve(config))
        .map_err(HostError::Thread)?
        .join()
        .unwrap_or_else(|_| {
            Err(HostError::Thread(std::io::Error::other("the server thread panicked")))
        })
}

fn serve(config: ServeConfig) -> Result<(), HostError> {
    let socket = UdpSocket::bind(config.bind).map_err(|source| HostError::Bind {
        addr: config.bind,
        protocol: "udp",
        source,
    })?;
    let addr = socket.local_addr().map_err(|source| HostError::Bind {
        addr: config.bind,
        protocol: "udp",
        source,
    })?;
    socket.set_nonblocking(true).map_err(HostError::Poll)?;
    let mut poll = Poll::new().map_err(HostError::Poll)?;
    poll.registry()
        .register(&mut SourceFd(&socket.as_raw_fd()), SOCKET, Interest::READABLE)
        .map_err(HostError::Poll)?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(HostError::Poll)?);
    let shutdown = Shutdown::install(Arc::clone(&waker))?;

    let mut secret = [0u8; 16];
    getrandom::fill(&mut secret).map_err(HostError::Random)?;
    let mut server_config = ServerConfig::new(secret);
    server_config.capacity = config.capacity;
    server_config.keepalive = config.keepalive;
    server_config.idle_timeout = config.keepalive.times(3);
    server_config.history = config.history;
    server_config.rate_per_sec = config.rate_per_sec;
    server_config.burst = config.rate_per_sec.saturating_mul(2);
    let mut server = HostServer::new(server_config)?;
    let mut driver = Driver::new(socket);
    let clock = Clock::new();

    // The line scripts and tests wait for, before the console takes the terminal.
    println!(
        "minichat serve: listening on {addr} (udp), up to {} users; type /help for the console, Ctrl-C stops",
        config.capacity
    );
    tracing::info!(%addr, capacity = config.capacity, "chat server started");
    let mut console = Console::start(">>>: ", waker, 16);
    let mut last_sender: Option<LastSender> = None;
    let mut events = Events::with_capacity(16);
    let mut console_open = true;

    loop {
        let now = clock.now();
        let pumped = driver.pump(&mut server, now, |_, from, bytes| {
            // Not a frame: a plain-text client of the original program.
            let text = String::from_utf8_lossy(bytes);
            console.show(&format!("[{from}] {}", escape(text.trim_end_matches(['\r', '\n']))));
            last_sender = Some(LastSender::Legacy(from));
        });
        let more_waiting = match pumped {
            Ok(pumped) => pumped.received >= RECEIVE_BUDGET,
            Err(TransportError::Receive(error) | TransportError::Send(error)) => {
                // One peer's trouble (an ICMP error, say) is not the server's.
                tracing::warn!(%error, "a datagram could not be moved");
                true
            }
            Err(_) => false,
        };
        while let Some(event) = server.poll_event() {
            show_event(&server, event, &mut console, &mut last_sender);
        }
        if shutdown.requested() {
            break;
        }
        let mut quit = false;
        while console_open {
            let Some(input) = console.try_input() else { break };
            match input {
                Input::Line(line) => {
                    quit =
                        operate(&line, &mut server, &mut driver, &mut console, last_sender, &clock);
                }
                // Without a console the server keeps serving; at a terminal, Ctrl-D or
                // Ctrl-C at the prompt stops it.
                Input::Eof if !console.is_interactive() => console_open = false,
                Input::Eof | Input::Interrupted => quit = true,
            }
            if quit {
                break;
            }
        }
        if quit {
            break;
        }
        let timeout = if more_waiting {
            std::time::Duration::ZERO
        } else {
            let timer = server.poll_timeout().map(|at| clock.until(at));
            timer.map_or(std::time::Duration::from_secs(1), |t| {
                t.min(std::time::Duration::from_secs(1))
            })
        };
        if let Err(error) = poll.poll(&mut events, Some(timeout))
            && error.kind() != std::io::ErrorKind::Interrupted
        {
            return Err(HostError::Poll(error));
        }
    }

    let users = server.user_count();
    server.shutdown();
    for _ in 0..FAREWELL_ROUNDS {
        let _ = driver.pump(&mut server, clock.now(), |_, _, _| {});
    }
    tracing::info!(users, "chat server stopped");
    let told = console::count(u64::try_from(users).unwrap_or(u64::MAX), "connected user");
    eprintln!("minichat serve: stopped; {told} told");
    Ok(())
}

/// Carries out one console line; returns whether the operator asked to stop.
fn operate(
    line: &str,
    server: &mut HostServer,
    driver: &mut Driver<UdpSocket>,
    console: &mut Console,
    last_sender: Option<LastSender>,
    clock: &Clock,
) -> bool {
    let command = match parse_operator(line) {
        Ok(command) => command,
        Err(problem) => {
            console.notice(&problem);
            return false;
        }
    };
    let now = clock.now();
    let outcome = match command {
        OperatorCommand::Nothing => Ok(()),
        OperatorCommand::Quit => return true,
        OperatorCommand::Help => {
            console.notice(OPERATOR_HELP);
            Ok(())
        }
        OperatorCommand::Who => {
            let users: Vec<String> =
                server.users().map(|(name, addr)| format!("{name} ({addr})")).collect();
            console.show(&format!("users ({}): {}", users.len(), users.join(", ")));
            Ok(())
        }
        OperatorCommand::All(text) => {
            server.announce(now, text, None).map(|_| ()).map_err(|e| e.to_string())
        }
        OperatorCommand::Kick(name) => match Name::new(name) {
            Ok(name) => server.kick(name).map_err(|_| format!("no user named {name} is connected")),
            Err(error) => Err(error.to_string()),
        },
        OperatorCommand::Reply(text) => match last_sender {
            None => Err("nobody has written yet; /all TEXT writes to everyone".to_owned()),
            Some(LastSender::User(name)) => server
                .announce(now, text, Some(name.as_name()))
                .map(|_| ())
                .map_err(|_| format!("{name} is no longer connected")),
            Some(LastSender::Legacy(addr)) => {
                match driver.transport_mut().send_to(addr, text.as_bytes()) {
                    Ok(()) => {
                        console.show(&format!("[to {addr}] {}", escape(text)));
                        Ok(())
                    }
                    Err(_) => Err(format!("the reply to {addr} could not be sent")),
                }
            }
        },
    };
    if let Err(problem) = outcome {
        console.notice(&problem);
    }
    false
}

fn show_event(
    server: &HostServer,
    event: ServerEvent,
    console: &mut Console,
    last_sender: &mut Option<LastSender>,
) {
    match event {
        ServerEvent::Joined { name, addr } => {
            tracing::info!(%name, %addr, "joined");
            console.show(&format!("{name} joined from {addr}"));
        }
        ServerEvent::Left { name, addr, reason } => {
            tracing::info!(%name, %addr, reason = reason.describe(), "left");
            let how = match reason {
                LeftReason::Left => "left",
                other => other.describe(),
            };
            console.show(&format!("{name} {how}"));
        }
        ServerEvent::Message { seq } => {
            let Some(message) = server.message(seq) else { return };
            let from_operator = message.from.same_user(&server.config().operator.as_name());
            let line = match (message.to, message.to_name) {
                (Recipient::Room, _) => format!("{}: {}", message.from, escape(message.text)),
                (_, Some(to)) => format!("{} -> {to}: {}", message.from, escape(message.text)),
                (_, None) => format!("{}: {}", message.from, escape(message.text)),
            };
            console.show(&line);
            if !from_operator {
                *last_sender = Some(LastSender::User(NameBuf::new(message.from)));
            }
        }
        ServerEvent::Moved { name, from, to } => {
            console.show(&format!("{name} moved from {from} to {to}"))
        }
        _ => {}
    }
}
