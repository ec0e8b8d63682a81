//! `minichat chat`: the interactive client, and its scripted mode.
//!
//! On a terminal: a `>>>:` prompt, messages shown as they arrive, slash commands. With
//! stdin not a terminal: each line is sent, every message received is printed on stdout
//! as `FROM: TEXT` (`FROM (direct): TEXT`), and after the end of input the client waits
//! until everything is acknowledged, keeps listening for `--linger`, leaves and exits —
//! 0 if everything was delivered, 1 (with the reasons on stderr) if not.

use std::collections::HashMap;
use std::process::ExitCode;

use minichat_core::client::{MessageId, OwnedClientEvent};
use minichat_core::error::ClientError;
use minichat_core::time::{Duration, Instant};
use minichat_core::wire::{Kind, NameBuf};

use crate::clock;
use crate::error::HostError;
use crate::keys::Encryption;
use crate::known_users::UserKeys;
use crate::net::client_link::Target;
use crate::net::client_loop::{ClientLoop, HostClient};
use crate::net::peer::Peer;
use crate::shutdown::Shutdown;
use crate::term::client_news::{NOT_ENCRYPTED, News, Session, news};
use crate::term::console::{self, Console, Input};
use crate::term::escape::escape;
use crate::term::slash::{CHAT_HELP, ChatCommand, parse_chat};

/// How long leaving may take before the client exits anyway.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(3);

/// The most messages waiting for acknowledgement before input is read further.
const IN_FLIGHT: usize = 24;

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
    /// The keys of the users met, checked against those remembered (encrypted sessions).
    user_keys: Option<UserKeys>,
}

/// Runs the chat until the user quits, the input ends or the session ends.
pub(crate) fn run(config: ChatConfig) -> Result<ExitCode, HostError> {
    let capture = config.capture.as_deref().map(super::start_capture).transpose()?;
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
    let mut chat = Chat::new(net.server(), config.give_up, net.now() + config.give_up);
    chat.user_keys =
        net.known_users().map(|file| UserKeys::new(file.to_owned(), net.server_name()));
    while chat.stage != Stage::Done {
        net.turn()?;
        for notice in net.take_link_notices() {
            console.notice(&notice);
        }
        chat.take_events(&mut net, &mut console);
        let now = net.now();
        if let Some(user_keys) = &mut chat.user_keys {
            user_keys.ask_next(&mut net.client, now);
        }
        if chat.ended.is_some() || net.client.is_closed() {
            break;
        }
        if shutdown.requested() && chat.stage == Stage::Running {
            chat.leave(&mut net.client, now);
        }
        let took_input = chat.take_input(&mut net.client, now, &mut console);
        chat.advance(&mut net.client, now, config.linger, interactive);
        // What was just queued goes on the wire now, not after the next wake-up.
        if chat.stage != Stage::Done && !took_input {
            net.wait(std::time::Duration::from_millis(500))?;
        }
    }
    net.turn()?;
    let code = chat.finish(&net.client, &mut console, interactive);
    if let (Some(capture), Some(path)) = (net.take_capture(), &config.capture) {
        super::finish_capture(capture, path, "chat")?;
    }
    Ok(code)
}

impl Chat {
    /// A chat with `server` that has not joined yet, and must have by `join_by`.
    fn new(server: Peer, give_up: Duration, join_by: Instant) -> Chat {
        Chat {
            server,
            give_up,
            sent: HashMap::new(),
            failures: Vec::new(),
            requests: 0,
            users: Vec::new(),
            input_done: false,
            stage: Stage::Running,
            ended: None,
            joined: false,
            join_by,
            user_keys: None,
        }
    }

    /// Takes every event the client raised: the server's key is trusted (or the session
    /// ends), the rest is told.
    fn take_events(&mut self, net: &mut ClientLoop, console: &mut Console) {
        while let Some(event) = net.next_event() {
            match event {
                OwnedClientEvent::ServerKeyOffered { key, fleet } => {
                    match net.trust_key(key, fleet) {
                        Ok(Some(notice)) => console.notice(&notice),
                        Ok(None) => {}
                        Err(refusal) => self.end(console, refusal.to_string()),
                    }
                }
                OwnedClientEvent::UserKey { name, here, key } => {
                    self.on_user_key(&name, here, key, console)
                }
                OwnedClientEvent::RequestTimedOut { kind: Kind::KeyOf } => {
                    if let Some(user_keys) = &mut self.user_keys {
                        user_keys.unanswered();
                    }
                }
                event => {
                    let joined = matches!(event, OwnedClientEvent::Joined { .. });
                    // Live messages only: history's senders may be long gone.
                    if let (OwnedClientEvent::Message { from, history: false, .. }, Some(keys)) =
                        (&event, &mut self.user_keys)
                    {
                        keys.met(from.as_name());
                    }
                    let session = Session {
                        server: self.server,
                        give_up: self.give_up,
                        refused: net.refused(),
                    };
                    self.on_event(event, console, &session);
                    if joined && !net.encrypted() {
                        console.notice(NOT_ENCRYPTED);
                    }
                }
            }
        }
    }

    /// The server's answer about a user's key: told if it is news, loudly if it changed.
    fn on_user_key(
        &mut self,
        name: &NameBuf,
        here: bool,
        key: Option<[u8; 32]>,
        console: &mut Console,
    ) {
        let Some(user_keys) = &mut self.user_keys else { return };
        match user_keys.answered(name, here, key) {
            Ok(Some(notice)) => console.notice(&notice),
            Ok(None) => {}
            Err(error) => console.notice(&error.to_string()),
        }
    }

    /// Takes the lines typed, while few enough messages wait for acknowledgement; returns
    /// whether it took any.
    fn take_input(&mut self, client: &mut HostClient, now: Instant, console: &mut Console) -> bool {
        let mut took_input = false;
        while self.stage == Stage::Running && client.pending() < IN_FLIGHT {
            let Some(input) = console.try_input() else { break };
            self.on_input(input, client, now, console);
            took_input = true;
        }
        took_input
    }

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

    fn on_event(&mut self, event: OwnedClientEvent, console: &mut Console, session: &Session) {
        let Some(news) = news(event, session) else { return };
        match news {
            News::Joined { again, notice } => {
                if !again {
                    self.joined = true;
                }
                console.notice(&notice);
            }
            News::NoAnswer(notice) | News::Notice(notice) => console.notice(&notice),
            News::Message(line) => console.show(&line),
            News::Users { entries, last } => {
                self.users.extend(entries);
                if let Some(total) = last {
                    self.requests = self.requests.saturating_sub(1);
                    console.show(&format!("users ({total}): {}", self.users.join(", ")));
                }
            }
            News::Echo(line) => {
                self.requests = self.requests.saturating_sub(1);
                console.show(&line);
            }
            News::Unanswered(notice) => {
                self.requests = self.requests.saturating_sub(1);
                console.notice(&notice);
            }
            News::Delivered(id) => {
                self.sent.remove(&id);
            }
            News::Undelivered(id, why) => {
                let text = self.sent.remove(&id).unwrap_or_default();
                self.fail(console, why.about(&text));
            }
            News::Ended(ending) => self.end(console, ending.notice()),
            News::Left => self.stage = Stage::Done,
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
