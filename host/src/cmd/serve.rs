//! `minichat serve`: the chat server over UDP, with the operator console of the original
//! QQ program, and legacy plain-text clients.

use std::net::SocketAddr;
use std::path::PathBuf;

use minichat_core::server::{
    Alone, Directory, LeftReason, Recipient, ServerConfig, ServerEvent, ServerIdentity,
};
use minichat_core::time::Duration;
use minichat_core::wire::{Name, NameBuf};

use crate::bridge::{Bridge, BridgeAccess, BridgeOptions, Roster};
use crate::error::HostError;
use crate::keys;
use crate::net::capture::Capture;
use crate::net::peer::Peer;
use crate::net::server_loop::{Listen, ServerLoop};
use crate::net::server_memory::HostServer;
use crate::shutdown::Shutdown;
use crate::term::console::{self, Console, Input};
use crate::term::escape::escape;
use crate::term::legacy::LegacyGate;
use crate::term::output::{self, Stream};
use crate::term::reply_target::{Forgotten, ReplyPrompt, ReplyTargets};
use crate::term::server_stats;
use crate::term::slash::{OPERATOR_HELP, OperatorCommand, parse_operator};

/// What `minichat serve` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct ServeConfig {
    /// UDP (and TCP, and serial lines) to serve.
    pub(crate) listen: Listen,
    pub(crate) capacity: usize,
    /// Bytes of recent messages kept for resending and history.
    pub(crate) buffer: usize,
    pub(crate) keepalive: Duration,
    pub(crate) history: u16,
    pub(crate) rate_per_sec: u16,
    /// Sessions one source IP address may hold (0: no limit).
    pub(crate) per_ip: u16,
    /// Handshakes a second one source IP address may cause (0: no limit).
    pub(crate) handshake_rate: u16,
    /// Do not show joins, leaves and messages (the console still answers, and a plain
    /// line still answers the last sender).
    pub(crate) quiet: bool,
    /// `--capture`: the file everything in and out is written to.
    pub(crate) capture: Option<PathBuf>,
    /// `--bridge`: the broker through which other servers share the room, and how.
    pub(crate) bridge: Option<BridgeOptions>,
    /// The server's key file (made if missing).
    pub(crate) key: PathBuf,
    /// `--fleet-key`: admit a fleet's devices only.
    pub(crate) fleet_key: Option<PathBuf>,
    /// `--plaintext`: sessions in the clear are taken too.
    pub(crate) plaintext: bool,
}

impl ServeConfig {
    /// The core's configuration for these settings, with a fresh random secret.
    pub(crate) fn server_config(&self) -> Result<ServerConfig, HostError> {
        let mut secret = [0u8; 16];
        getrandom::fill(&mut secret).map_err(HostError::Random)?;
        let mut config = ServerConfig::new(secret, getrandom::u64().map_err(HostError::Random)?);
        config.capacity = self.capacity;
        config.per_ip = self.per_ip;
        config.handshakes_per_sec = self.handshake_rate;
        // The sessions one address may hold may all start at once.
        if self.per_ip > 0 {
            config.handshake_burst = self.per_ip;
        }
        config.keepalive = self.keepalive;
        config.idle_timeout = self.keepalive.times(3);
        config.history = self.history;
        config.rate_per_sec = self.rate_per_sec;
        config.burst = self.rate_per_sec.saturating_mul(2);
        Ok(config)
    }
}

/// Who the operator's plain lines answer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LastSender {
    User(NameBuf),
    Legacy(SocketAddr),
}

/// Runs the server until Ctrl-C, SIGTERM or `/quit`.
pub(crate) fn run(config: ServeConfig) -> Result<(), HostError> {
    // A bridge that cannot start safely is refused before anything listens.
    let bridge_access = match &config.bridge {
        Some(bridge) => {
            if config.fleet_key.is_none() && !bridge.anyone_may_speak {
                return Err(HostError::BridgeInTheClear { url: bridge.url.to_string() });
            }
            let (password, ca) = (bridge.password_file.as_deref(), bridge.ca_file.as_deref());
            Some(BridgeAccess::new(&bridge.url, password, ca)?)
        }
        None => None,
    };
    let mut net = ServerLoop::bind(&config.listen, config.server_config()?, config.buffer)?;
    if let Some(path) = &config.capture {
        let capture = Capture::create(path)
            .map_err(|source| HostError::Capture { path: path.clone(), source })?;
        net.set_capture(capture);
    }
    let shutdown = Shutdown::install(net.waker())?;
    let (keypair, made) = keys::server_keypair(&config.key)?;
    let psk = config.fleet_key.as_deref().map(keys::fleet_key).transpose()?;
    let fingerprint = keys::print(keypair.public());
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(HostError::Random)?;
    let identity = ServerIdentity { keypair, psk, plaintext: config.plaintext };
    net.server.set_identity(identity, seed);
    let addr = net.addr();
    // The line scripts and tests wait for, before the console takes the terminal.
    output::line(
        Stream::Stdout,
        format!(
            "minichat serve: listening on {addr} ({}), up to {} users; type /help for the console, Ctrl-C stops",
            net.protocols(),
            config.capacity
        ),
    );
    let made = if made { "made now, " } else { "" };
    let clear = if config.plaintext {
        "; sessions in the clear are taken too (--plaintext)"
    } else {
        "; sessions in the clear are refused"
    };
    let fleet = if psk.is_some() { "; a fleet's devices only (--fleet-key)" } else { "" };
    output::line(
        Stream::Stdout,
        format!(
            "minichat serve: encrypted sessions with key {fingerprint} ({made}{}){fleet}{clear}; clients pin it with --server-key {fingerprint}",
            config.key.display()
        ),
    );
    tracing::info!(%addr, capacity = config.capacity, "chat server started");
    let mut bridge = match (&config.bridge, bridge_access) {
        (Some(options), Some(access)) => {
            let newest = net.server.newest_message();
            let url = options.url.clone();
            Some(Bridge::start(url, access, net.waker(), newest, psk.as_ref())?)
        }
        _ => None,
    };
    let reply_prompt = ReplyPrompt::default();
    let mut console = Console::start(">>>: ", net.waker(), 16, Some(reply_prompt.clone()));
    let mut replies: ReplyTargets<LastSender> = ReplyTargets::new(reply_prompt);
    let mut console_open = true;
    let mut legacy = LegacyGate::default();
    // The last message shown (or passed over, when quiet), by room sequence number.
    let mut shown = net.server.newest_message();

    loop {
        let now = net.clock.now();
        let directory: &dyn Directory = match &bridge {
            Some(bridge) => bridge.roster(),
            None => &Alone,
        };
        let mut more = net.turn(
            &mut |from, bytes| {
                // Not a frame: a plain-text client of the original program.
                if !legacy.admit(now, from.ip()) {
                    return;
                }
                // Noted before it is shown: once the operator sees it, a line answers it.
                replies.note(LastSender::Legacy(from), || from.to_string());
                if !config.quiet {
                    let text = String::from_utf8_lossy(bytes);
                    console
                        .show(&format!("[{from}] {}", escape(text.trim_end_matches(['\r', '\n']))));
                }
            },
            directory,
        )?;
        let held_back = legacy.take_suppressed();
        if held_back > 0 && !config.quiet {
            let what = console::count(held_back, "plain-text datagram");
            console.notice(&format!(
                "… {what} not shown (more than {} a second from one address)",
                crate::term::legacy::RATE_PER_SEC
            ));
        }
        for notice in net.take_link_notices() {
            console.notice(&notice);
        }
        while let Some(event) = net.server.poll_event() {
            if let Some(bridge) = &mut bridge {
                bridge.on_event(&event);
            }
            if !config.quiet {
                show_event(event, &mut console);
            }
        }
        if let Some(bridge) = &mut bridge {
            // Messages from the other servers are delivered now, not at the next wake-up.
            more |= bridge.exchange(&mut net.server, now);
            for notice in bridge.take_notices() {
                console.notice(&notice);
            }
            for line in bridge.take_presence() {
                if !config.quiet {
                    console.show(&line);
                }
            }
        }
        shown = show_messages(&net.server, shown, &mut console, &mut replies, config.quiet);
        if shutdown.requested() {
            break;
        }
        let mut quit = false;
        while console_open && !quit {
            let Some(input) = console.try_input() else { break };
            // What the line asked for (a kick, a reply) goes out now, not at the next
            // wake-up.
            more = true;
            match input {
                Input::Line { text, addressed } => {
                    let roster = bridge.as_ref().map(Bridge::roster);
                    let recipient = replies.recipient(addressed);
                    quit = operate(&text, &mut net, &mut console, recipient, roster);
                }
                // Without a console the server keeps serving; at a terminal, Ctrl-D or
                // Ctrl-C at the prompt stops it.
                Input::Eof if !console.is_interactive() => console_open = false,
                Input::Eof | Input::Interrupted => quit = true,
            }
        }
        if quit {
            break;
        }
        if !more {
            net.wait(std::time::Duration::from_secs(1))?;
        }
    }

    if let Some(mut bridge) = bridge {
        // The last lines (the operator's, the users') still reach the other servers.
        bridge.exchange(&mut net.server, net.clock.now());
        bridge.stop();
    }
    let users = net.server.user_count();
    let told = net.shutdown();
    tracing::info!(users, told, "chat server stopped");
    let told = console::count(told, "connected user");
    output::line(Stream::Stderr, format!("minichat serve: stopped; {told} told"));
    if let (Some(capture), Some(path)) = (net.take_capture(), &config.capture) {
        super::finish_capture(capture, path, "serve")?;
    }
    Ok(())
}

/// Carries out one console line; returns whether the operator asked to stop.
/// `recipient`: whom a plain line answers, as the operator saw it. `roster`: the users
/// of the servers this one shares its room with (`--bridge`).
fn operate(
    line: &str,
    net: &mut ServerLoop,
    console: &mut Console,
    recipient: Result<Option<LastSender>, Forgotten>,
    roster: Option<&Roster>,
) -> bool {
    let command = match parse_operator(line) {
        Ok(command) => command,
        Err(problem) => {
            console.notice(&problem);
            return false;
        }
    };
    let now = net.clock.now();
    let server = &mut net.server;
    let outcome = match command {
        OperatorCommand::Nothing => Ok(()),
        OperatorCommand::Quit => return true,
        OperatorCommand::Help => {
            console.notice(OPERATOR_HELP);
            Ok(())
        }
        OperatorCommand::Who => {
            let mut users: Vec<String> =
                server.users().map(|(name, addr)| format!("{name} ({addr})")).collect();
            // Names from other servers are remote text: shown escaped.
            let elsewhere = roster.into_iter().flat_map(Roster::users);
            users.extend(elsewhere.map(|(name, at)| format!("{} (on server {at})", escape(name))));
            console.show(&format!("users ({}): {}", users.len(), users.join(", ")));
            Ok(())
        }
        OperatorCommand::Stats => {
            for line in server_stats::describe(server.stats()) {
                console.show(&line);
            }
            if let Some(tcp) = net.tcp_stats() {
                console.show(&server_stats::describe_tcp(&tcp));
            }
            Ok(())
        }
        OperatorCommand::All(text) => {
            server.announce(now, text, None).map(|_| ()).map_err(|e| e.to_string())
        }
        OperatorCommand::Kick(name) => match Name::new(name) {
            Ok(name) => {
                server.kick(name).map_err(|_| match roster.and_then(|r| r.owner(name.key())) {
                    Some(claim) => format!(
                        "{name} is a user of server {}: only its operator can remove it",
                        claim.server
                    ),
                    None => format!("no user named {name} is connected"),
                })
            }
            Err(error) => Err(error.to_string()),
        },
        OperatorCommand::Reply(text) => match recipient {
            Err(Forgotten) => Err(
                "so many wrote while this line was typed that its recipient is forgotten; it was not sent"
                    .to_owned(),
            ),
            Ok(None) => Err("nobody has written yet; /all TEXT writes to everyone".to_owned()),
            Ok(Some(LastSender::User(name))) => {
                let directory: &dyn Directory = roster.map_or(&Alone, |r| r as &dyn Directory);
                server
                    .announce_with(now, text, Some(name.as_name()), directory)
                    .map(|_| ())
                    .map_err(|_| format!("{name} is no longer connected"))
            }
            Ok(Some(LastSender::Legacy(addr))) => match net.send_text(text, addr) {
                Ok(()) => {
                    console.show(&format!("[to {addr}] {}", escape(text)));
                    Ok(())
                }
                Err(_) => Err(format!("the reply to {addr} could not be sent")),
            },
        },
    };
    if let Err(problem) = outcome {
        console.notice(&problem);
    }
    false
}

/// Shows the messages after `shown` (or only notes their senders, when `quiet`); returns
/// the last one handled. Messages the ring no longer holds are counted, never skipped
/// silently.
fn show_messages(
    server: &HostServer,
    shown: u64,
    console: &mut Console,
    replies: &mut ReplyTargets<LastSender>,
    quiet: bool,
) -> u64 {
    let newest = server.newest_message();
    let first = shown.saturating_add(1).max(server.oldest_message());
    let overwritten = first - shown.saturating_add(1);
    if overwritten > 0 && !quiet {
        console.notice(&format!("… {} not shown", console::count(overwritten, "message")));
    }
    for seq in first..=newest {
        let Some(message) = server.message(seq) else { continue };
        if !message.from.same_user(&server.config().operator.as_name()) {
            let from = message.from;
            replies
                .note(LastSender::User(NameBuf::new(from)), || escape(from.as_str()).into_owned());
        }
        if quiet {
            continue;
        }
        // Messages from other servers (a bridge's) carry their names: remote text.
        let from = escape(message.from.as_str());
        let line = match (message.to, message.to_name) {
            (Recipient::Room, _) => format!("{from}: {}", escape(message.text)),
            (_, Some(to)) => format!("{from} -> {}: {}", escape(to.as_str()), escape(message.text)),
            (_, None) => format!("{from}: {}", escape(message.text)),
        };
        console.show(&line);
    }
    newest.max(shown)
}

fn show_event(event: ServerEvent<Peer>, console: &mut Console) {
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
        ServerEvent::Moved { name, from, to } => {
            console.show(&format!("{name} moved from {from} to {to}"))
        }
        _ => {}
    }
}
