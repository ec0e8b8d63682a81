//! The running server: the network, the server's events, the bridge and the console's
//! lines, each taken in turn; what they bring is shown on the console.

use std::net::SocketAddr;

use minichat_core::server::{Alone, Directory, LeftReason, Recipient, ServerEvent};
use minichat_core::time::Instant;
use minichat_core::wire::NameBuf;

use super::ServeConfig;
use crate::bridge::Bridge;
use crate::error::HostError;
use crate::identity::{Gate, KeyRecords};
use crate::net::peer::Peer;
use crate::net::server_loop::ServerLoop;
use crate::net::server_memory::HostServer;
use crate::shutdown::Shutdown;
use crate::term::console::{self, Console, Input};
use crate::term::escape::escape;
use crate::term::legacy::LegacyGate;
use crate::term::output::{self, Stream};
use crate::term::reply_target::{ReplyPrompt, ReplyTargets};

/// Who the operator's plain lines answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum LastSender {
    User(NameBuf),
    Legacy(SocketAddr),
}

/// What the operator's console lines asked for, in one go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Typed {
    Nothing,
    /// Lines to carry out (done already); what they queued goes out now.
    Lines,
    /// Stop the server.
    Quit,
}

/// A running server with its console: one method per kind of input (the network, the
/// server's events, the bridge, the console's lines).
pub(super) struct ServeApp {
    pub(super) config: ServeConfig,
    pub(super) net: ServerLoop,
    pub(super) bridge: Option<Bridge>,
    pub(super) console: Console,
    /// Who owns which name, which keys may join, which are banned.
    pub(super) records: KeyRecords,
    /// Whether the console still reads (without a terminal, its input may end).
    console_open: bool,
    replies: ReplyTargets<LastSender>,
    legacy: LegacyGate,
    /// The last message shown (or passed over, when quiet), by room sequence number.
    shown: u64,
}

impl ServeApp {
    pub(super) fn new(
        config: ServeConfig,
        net: ServerLoop,
        bridge: Option<Bridge>,
        records: KeyRecords,
    ) -> ServeApp {
        let reply_prompt = ReplyPrompt::default();
        let console = Console::start(">>>: ", net.waker(), 16, Some(reply_prompt.clone()));
        let shown = net.server.newest_message();
        ServeApp {
            config,
            net,
            bridge,
            console,
            records,
            console_open: true,
            replies: ReplyTargets::new(reply_prompt),
            legacy: LegacyGate::default(),
            shown,
        }
    }

    /// Serves until Ctrl-C, SIGTERM or the console's `/quit`.
    pub(super) fn serve(&mut self, shutdown: &Shutdown) -> Result<(), HostError> {
        loop {
            let now = self.net.clock.now();
            let mut more = self.serve_network(now)?;
            self.take_server_events();
            more |= self.exchange_with_bridge(now);
            self.show_new_messages();
            if shutdown.requested() {
                return Ok(());
            }
            if shutdown.take_reload() {
                self.reload_records("SIGHUP");
                more = true;
            }
            match self.take_console_lines() {
                Typed::Quit => return Ok(()),
                Typed::Lines => more = true,
                Typed::Nothing => {}
            }
            if !more {
                self.net.wait(std::time::Duration::from_secs(1))?;
            }
        }
    }

    /// One turn of the network loop; plain-text datagrams are shown. Returns whether more
    /// may be waiting.
    fn serve_network(&mut self, now: Instant) -> Result<bool, HostError> {
        let inner: &dyn Directory = match &self.bridge {
            Some(bridge) => bridge.roster(),
            None => &Alone,
        };
        let directory = &Gate { inner, records: &self.records };
        let (legacy, replies, console) = (&mut self.legacy, &mut self.replies, &mut self.console);
        let quiet = self.config.quiet;
        let more = self.net.turn(
            &mut |from, bytes| {
                // Not a frame: a plain-text client of the original program.
                if !legacy.admit(now, from.ip()) {
                    return;
                }
                // Noted before it is shown: once the operator sees it, a line answers it.
                replies.note(LastSender::Legacy(from), || from.to_string());
                if !quiet {
                    let text = String::from_utf8_lossy(bytes);
                    console
                        .show(&format!("[{from}] {}", escape(text.trim_end_matches(['\r', '\n']))));
                }
            },
            directory,
        )?;
        let held_back = self.legacy.take_suppressed();
        if held_back > 0 && !quiet {
            let what = console::count(held_back, "plain-text datagram");
            self.console.notice(&format!(
                "… {what} not shown (more than {} a second from one address)",
                crate::term::legacy::RATE_PER_SEC
            ));
        }
        for notice in self.net.take_link_notices() {
            self.console.notice(&notice);
        }
        Ok(more)
    }

    /// The server's events (joins, leaves, moves): to the bridge, recorded (a name's
    /// first key), and shown.
    fn take_server_events(&mut self) {
        while let Some(event) = self.net.server.poll_event() {
            if let Some(bridge) = &mut self.bridge {
                bridge.on_event(&event);
            }
            if let ServerEvent::Joined { name, .. } = &event {
                self.record_first_use(name.as_name());
            }
            if !self.config.quiet {
                show_event(event, &mut self.console);
            }
        }
    }

    /// Messages to and from the other servers, and what the bridge has to say; returns
    /// whether more may be waiting.
    fn exchange_with_bridge(&mut self, now: Instant) -> bool {
        let Some(bridge) = &mut self.bridge else { return false };
        // Messages from the other servers are delivered now, not at the next wake-up.
        let more = bridge.exchange(&mut self.net.server, now);
        for notice in bridge.take_notices() {
            self.console.notice(&notice);
        }
        for line in bridge.take_presence() {
            if !self.config.quiet {
                self.console.show(&line);
            }
        }
        more
    }

    fn show_new_messages(&mut self) {
        let (server, quiet) = (&self.net.server, self.config.quiet);
        self.shown = show_messages(server, self.shown, &mut self.console, &mut self.replies, quiet);
    }

    /// Carries out the lines typed at the console.
    fn take_console_lines(&mut self) -> Typed {
        let mut typed = Typed::Nothing;
        while self.console_open {
            let Some(input) = self.console.try_input() else { break };
            // What the line asked for (a kick, a reply) goes out now, not at the next
            // wake-up.
            typed = Typed::Lines;
            match input {
                Input::Line { text, addressed } => {
                    let recipient = self.replies.recipient(addressed);
                    if self.operate(&text, recipient) {
                        return Typed::Quit;
                    }
                }
                // Without a console the server keeps serving; at a terminal, Ctrl-D or
                // Ctrl-C at the prompt stops it.
                Input::Eof if !self.console.is_interactive() => self.console_open = false,
                Input::Eof | Input::Interrupted => return Typed::Quit,
            }
        }
        typed
    }

    /// Stops: the bridge's last exchange, every user told, the capture finished.
    pub(super) fn stop(mut self) -> Result<(), HostError> {
        if let Some(mut bridge) = self.bridge.take() {
            // The last lines (the operator's, the users') still reach the other servers.
            bridge.exchange(&mut self.net.server, self.net.clock.now());
            bridge.stop();
        }
        let users = self.net.server.user_count();
        let told = self.net.shutdown();
        tracing::info!(users, told, "chat server stopped");
        let told = console::count(told, "connected user");
        output::line(Stream::Stderr, format!("minichat serve: stopped; {told} told"));
        if let (Some(capture), Some(path)) = (self.net.take_capture(), &self.config.capture) {
            crate::cmd::finish_capture(capture, path, "serve")?;
        }
        Ok(())
    }
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
        if !message.from.same_user(&server.config().operator().as_name()) {
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
