//! `minichat chat`: the interactive client, and its scripted mode.
//!
//! On a terminal: a `>>>:` prompt, messages shown as they arrive, slash commands. With
//! stdin not a terminal: each line is sent, every message received is printed on stdout
//! as `FROM: TEXT` (`FROM (direct): TEXT`), and after the end of input the client waits
//! until everything is acknowledged, keeps listening for `--linger`, leaves and exits —
//! 0 if everything was delivered, 1 (with the reasons on stderr) if not.

use std::collections::HashMap;
use std::process::ExitCode;

use minichat_core::client::{ClientEvent, MessageId};
use minichat_core::error::ClientError;
use minichat_core::time::{Duration, Instant};
use minichat_core::wire::ErrorCode;
use minichat_core::wire::{Kind, NameBuf};

use crate::clock;
use crate::error::HostError;
use crate::keys::Encryption;
use crate::net::capture::Capture;
use crate::net::client_link::Target;
use crate::net::client_loop::{ClientLoop, HostClient, no_answer_notice};
use crate::net::peer::Peer;
use crate::shutdown::Shutdown;
use crate::term::console::{self, Console, Input};
use crate::term::escape::escape;
use crate::term::slash::{CHAT_HELP, ChatCommand, parse_chat};

/// How long leaving may take before the client exits anyway.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(3);

/// The most messages waiting for acknowledgement before input is read further.
const IN_FLIGHT: usize = 24;

/// What `chat` and `send` say of a session in the clear.
pub(crate) const NOT_ENCRYPTED: &str =
    "this session is not encrypted (--plaintext): anyone on the path can read it and speak in it";

/// What `minichat chat` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct ChatConfig {
    pub(crate) name: NameBuf,
    /// The server, and how to reach it (UDP, TCP, a serial line).
    pub(crate) server: Target,
    pub(crate) linger: Duration,
    pub(crate) give_up: Duration,
    /// `--capture`: the file the traffic is written to.
    pub(crate) capture: Option<std::path::PathBuf>,
    /// Whether and how the session is encrypted.
    pub(crate) encryption: Encryption,
}

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Running,
    /// Input is done and everything acknowledged: listening a little longer.
    Lingering {
        until: Instant,
    },
    /// Leave sent; waiting for its acknowledgement.
    Leaving {
        until: Instant,
    },
    Done,
}

/// The chat's bookkeeping around the client.
struct Chat {
    server: Peer,
    give_up: Duration,
    /// What each unacknowledged message was, to explain a failure.
    sent: HashMap<MessageId, String>,
    failures: Vec<String>,
    /// A who or echo request is waiting.
    requests: usize,
    /// Names gathered from user-list pages so far.
    users: Vec<String>,
    input_done: bool,
    stage: Stage,
    /// The session ended from the server's side (refused, kicked).
    ended: Option<String>,
    /// Whether the client ever joined, and by when it must have (input that ends before
    /// the join still makes the session it asked for: `chat </dev/null` joins, then leaves).
    joined: bool,
    join_by: Instant,
}

/// Runs the chat until the user quits, the input ends or the session ends.
pub(crate) fn run(config: ChatConfig) -> Result<ExitCode, HostError> {
    let capture = match &config.capture {
        Some(path) => Some(
            Capture::create(path)
                .map_err(|source| HostError::Capture { path: path.clone(), source })?,
        ),
        None => None,
    };
    let mut net = ClientLoop::connect(
        config.name,
        &config.server,
        config.give_up,
        capture,
        config.encryption.clone(),
    )?;
    let shutdown = Shutdown::install(net.waker())?;
    let mut console = Console::start(">>>: ", net.waker(), 1, None);
    let interactive = console.is_interactive();
    if interactive {
        console.notice(&format!(
            "joining {} as {}; /help lists the commands",
            net.server(),
            config.name
        ));
    }
    let mut chat = Chat {
        server: net.server(),
        give_up: config.give_up,
        sent: HashMap::new(),
        failures: Vec::new(),
        requests: 0,
        users: Vec::new(),
        input_done: false,
        stage: Stage::Running,
        ended: None,
        joined: false,
        join_by: net.now() + config.give_up,
    };
    while chat.stage != Stage::Done {
        net.pump()?;
        for notice in net.take_link_notices() {
            console.notice(&notice);
        }
        while let Some(event) = net.next_event() {
            match event {
                ClientEvent::ServerKeyOffered { key, fleet } => match net.trust_key(key, fleet) {
                    Ok(Some(notice)) => console.notice(&notice),
                    Ok(None) => {}
                    Err(refusal) => chat.end(&mut console, refusal.to_string()),
                },
                ClientEvent::Joined { .. } if !net.encrypted() => {
                    chat.on_event(event, &mut console, net.refused());
                    console.notice(NOT_ENCRYPTED);
                }
                event => chat.on_event(event, &mut console, net.refused()),
            }
        }
        let now = net.now();
        if chat.ended.is_some() || net.client.is_closed() {
            break;
        }
        if shutdown.requested() && chat.stage == Stage::Running {
            chat.leave(&mut net.client, now);
        }
        let mut took_input = false;
        while chat.stage == Stage::Running && net.client.pending() < IN_FLIGHT {
            let Some(input) = console.try_input() else { break };
            chat.on_input(input, &mut net.client, now, &mut console);
            took_input = true;
        }
        chat.advance(&mut net.client, now, config.linger, interactive);
        // What was just queued goes on the wire now, not after the next wake-up.
        if chat.stage != Stage::Done && !took_input {
            net.wait(std::time::Duration::from_millis(500))?;
        }
    }
    net.pump()?;
    let code = chat.finish(&net.client, &mut console, interactive);
    if let (Some(capture), Some(path)) = (net.take_capture(), &config.capture) {
        super::finish_capture(capture, path, "chat")?;
    }
    Ok(code)
}

impl Chat {
    fn on_input(
        &mut self,
        input: Input,
        client: &mut HostClient,
        now: Instant,
        console: &mut Console,
    ) {
        let line = match input {
            Input::Line { text, .. } => text,
            Input::Eof => {
                self.input_done = true;
                return;
            }
            Input::Interrupted => {
                self.leave(client, now);
                return;
            }
        };
        let command = match parse_chat(&line) {
            Ok(command) => command,
            Err(problem) => {
                console.notice(&problem);
                return;
            }
        };
        let result = match command {
            ChatCommand::Nothing => return,
            ChatCommand::Help => {
                console.notice(CHAT_HELP);
                return;
            }
            ChatCommand::Quit => {
                self.input_done = true;
                self.leave(client, now);
                return;
            }
            ChatCommand::Say(text) => client.say(now, text).map(|id| {
                self.sent.insert(id, excerpt(text));
            }),
            ChatCommand::To(to, text) => client.tell(now, to, text).map(|id| {
                self.sent.insert(id, excerpt(text));
            }),
            ChatCommand::Who => client.who(now).map(|()| {
                self.requests += 1;
                self.users.clear();
            }),
            ChatCommand::Echo(mode, text) => {
                client.echo(now, mode, text).map(|()| self.requests += 1)
            }
        };
        if let Err(error) = result {
            let what = match error {
                ClientError::RequestPending => {
                    "the previous request is still waiting for its answer".to_owned()
                }
                other => format!("not sent: {other}"),
            };
            if matches!(error, ClientError::TextTooLong { .. } | ClientError::InvalidName(_)) {
                self.failures.push(format!("not sent: {error}"));
            }
            console.notice(&what);
        }
    }

    fn on_event(&mut self, event: ClientEvent, console: &mut Console, refused: bool) {
        match event {
            ClientEvent::Joined { name, rejoined: false } => {
                self.joined = true;
                console.notice(&format!("joined as {name}"))
            }
            ClientEvent::Joined { name, rejoined: true } => {
                console
                    .notice(&format!("joined again as {name}; unacknowledged messages go again"));
            }
            ClientEvent::JoinRetry { retry_in, .. } => {
                console.notice(&no_answer_notice(self.server, refused, retry_in));
            }
            ClientEvent::Refused { code, detail } => {
                let hint = match code {
                    ErrorCode::NameTaken | ErrorCode::InvalidName => "; choose another with --name",
                    _ => "",
                };
                self.end(
                    console,
                    format!("the server refused the join: {}{hint}", escape(&detail)),
                );
            }
            ClientEvent::RejoinRefused { detail, retry_in, .. } => console.notice(&format!(
                "the server refused to let this session back in ({}); trying again in {}",
                escape(&detail),
                clock::seconds(retry_in)
            )),
            ClientEvent::SessionMoved => console.notice(
                "the server moved this session to another address that holds its token; \
                 joining again with a new session",
            ),
            ClientEvent::MaybeLost { id } => {
                let text = self.sent.remove(&id).unwrap_or_default();
                self.fail(
                    console,
                    format!(
                        "may not have been delivered (the session moved while it was in flight): {text}"
                    ),
                );
            }
            ClientEvent::Message { from, text, direct, history } => {
                let marker = match (direct, history) {
                    (true, true) => " (direct, earlier)",
                    (true, false) => " (direct)",
                    (false, true) => " (earlier)",
                    (false, false) => "",
                };
                // The sender's name is remote text too: a server may send any bytes.
                console.show(&format!("{}{marker}: {}", escape(from.as_str()), escape(&text)));
            }
            ClientEvent::Missed { count } => {
                console.notice(&format!(
                    "{} for you were lost while you were away",
                    console::count(count, "message")
                ));
            }
            ClientEvent::Delivered { id } => {
                self.sent.remove(&id);
            }
            ClientEvent::Rejected { id, detail, .. } => {
                let text = self.sent.remove(&id).unwrap_or_default();
                self.fail(console, format!("not delivered ({}): {text}", escape(&detail)));
            }
            ClientEvent::Failed { id } => {
                let text = self.sent.remove(&id).unwrap_or_default();
                self.fail(
                    console,
                    format!(
                        "not delivered (no answer from {} within {}): {text}",
                        self.server,
                        clock::seconds(self.give_up)
                    ),
                );
            }
            ClientEvent::Users { total, start, names } => {
                self.users.extend(names.entries().map(|user| match user.place {
                    None => escape(user.name.as_str()).into_owned(),
                    Some(server) => {
                        format!(
                            "{} (on server {})",
                            escape(user.name.as_str()),
                            escape(server.as_str())
                        )
                    }
                }));
                if usize::from(start) + usize::from(names.len()) >= usize::from(total)
                    || names.is_empty()
                {
                    self.requests = self.requests.saturating_sub(1);
                    console.show(&format!("users ({total}): {}", self.users.join(", ")));
                }
            }
            ClientEvent::EchoReply { text, .. } => {
                self.requests = self.requests.saturating_sub(1);
                console.show(&format!("echo: {}", escape(&text)));
            }
            ClientEvent::RequestTimedOut { kind } => {
                self.requests = self.requests.saturating_sub(1);
                let what = if kind == Kind::Who { "/who" } else { "/echo" };
                console.notice(&format!("no answer to {what} from {}", self.server));
            }
            ClientEvent::RateLimited => {
                console.notice("sending too fast: the server holds messages back for a moment")
            }
            ClientEvent::SessionLost => console
                .notice("the server no longer knows this session (it restarted?); joining again"),
            ClientEvent::ServerLost => {
                console.notice(&format!("{} stopped answering; joining again", self.server))
            }
            ClientEvent::ServerShutdown => {
                console.notice("the server is shutting down; joining again when it is back")
            }
            ClientEvent::Kicked => {
                self.end(console, "the operator removed you from the chat".to_owned())
            }
            ClientEvent::NameTaken { detail } => self.end(
                console,
                format!(
                    "the server ended the session: {}; choose another name with --name",
                    escape(&detail)
                ),
            ),
            ClientEvent::Left => self.stage = Stage::Done,
            _ => {}
        }
    }

    /// Moves the session along once input is over.
    fn advance(
        &mut self,
        client: &mut HostClient,
        now: Instant,
        linger: Duration,
        interactive: bool,
    ) {
        match self.stage {
            // Without a terminal the session asked for is made even if nothing is said in
            // it: it waits for the join (up to the give-up time).
            Stage::Running
                if self.input_done && !interactive && !self.joined && now < self.join_by => {}
            Stage::Running if self.input_done && client.pending() == 0 && self.requests == 0 => {
                if interactive || linger == Duration::ZERO {
                    self.leave(client, now);
                } else {
                    self.stage = Stage::Lingering { until: now + linger };
                }
            }
            Stage::Lingering { until } if now >= until => self.leave(client, now),
            Stage::Leaving { until } if now >= until || client.is_closed() => {
                self.stage = Stage::Done
            }
            _ => {}
        }
    }

    fn leave(&mut self, client: &mut HostClient, now: Instant) {
        if matches!(self.stage, Stage::Leaving { .. } | Stage::Done) {
            return;
        }
        self.stage = match client.leave(now) {
            Ok(_) => Stage::Leaving { until: now + LEAVE_TIMEOUT },
            Err(_) => Stage::Done,
        };
    }

    fn fail(&mut self, console: &mut Console, failure: String) {
        console.notice(&failure);
        self.failures.push(failure);
    }

    fn end(&mut self, console: &mut Console, why: String) {
        console.notice(&why);
        self.ended = Some(why);
        self.stage = Stage::Done;
    }

    /// The exit status, with a summary of what went wrong.
    fn finish(self, client: &HostClient, console: &mut Console, interactive: bool) -> ExitCode {
        let unanswered = self.sent.len().min(client.pending());
        let mut problems = self.failures.len();
        if !self.joined && !interactive && self.ended.is_none() {
            console.notice(&format!(
                "never joined: no answer from {} within {}",
                self.server,
                clock::seconds(self.give_up)
            ));
            return ExitCode::FAILURE;
        }
        if unanswered > 0 {
            let what = console::count(u64::try_from(unanswered).unwrap_or(u64::MAX), "message");
            console.notice(&format!("{what} not acknowledged before exit"));
            problems += unanswered;
        }
        if self.ended.is_some() || problems > 0 {
            if problems > 0 {
                let what = console::count(u64::try_from(problems).unwrap_or(u64::MAX), "message");
                console.notice(&format!("{what} not delivered"));
            }
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// The start of a message, for failure reports.
fn excerpt(text: &str) -> String {
    const MAX: usize = 40;
    let mut end = text.len().min(MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = if end < text.len() { "…" } else { "" };
    format!("\"{}{cut}\"", escape(text.get(..end).unwrap_or_default()))
}
