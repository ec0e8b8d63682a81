//! `minichat send`: join, send one message, leave; the exit status says whether it was
//! delivered.

use std::process::ExitCode;

use minichat_core::client::{MessageId, OwnedClientEvent};
use minichat_core::time::Duration;
use minichat_core::wire::NameBuf;

use crate::error::HostError;
use crate::net::client_link::Target;
use crate::net::client_loop::ClientLoop;
use crate::shutdown::Shutdown;
use crate::term::client_news::{NOT_ENCRYPTED, News, Session, news};
use crate::term::output::{self, Stream};

/// How long leaving may take before the command exits anyway.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(2);

/// What `minichat send` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct SendConfig {
    pub(crate) name: NameBuf,
    pub(crate) to: Option<NameBuf>,
    /// The server, and how to reach it (UDP, TCP, a serial line).
    pub(crate) server: Target,
    pub(crate) text: String,
    pub(crate) give_up: Duration,
    /// Whether and how the session is encrypted.
    pub(crate) encryption: crate::keys::Encryption,
}

/// Whether the message was delivered, and why not.
type Outcome = Result<(), String>;

/// Sends the message; `Ok(SUCCESS)` only if the server accepted it.
pub(crate) fn run(config: SendConfig) -> Result<ExitCode, HostError> {
    let mut net =
        ClientLoop::connect(config.name, &config.server, config.give_up, None, config.encryption)?;
    let shutdown = Shutdown::install(net.waker())?;
    let now = net.now();
    let queued = match config.to {
        Some(to) => net.client.tell(now, to.as_str(), &config.text),
        None => net.client.say(now, &config.text),
    };
    let id = match queued {
        Ok(id) => id,
        Err(error) => {
            output::line(Stream::Stderr, format!("minichat: not sent: {error}"));
            return Ok(ExitCode::FAILURE);
        }
    };
    match await_outcome(&mut net, id, config.give_up, &shutdown)? {
        Some(Ok(())) => Ok(ExitCode::SUCCESS),
        Some(Err(why)) => {
            output::line(Stream::Stderr, format!("minichat: not delivered: {why}"));
            Ok(ExitCode::FAILURE)
        }
        None => {
            output::line(
                Stream::Stderr,
                "minichat: not delivered: the command stopped before an answer came".to_owned(),
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Runs the client until the message `id` is delivered or not (or Ctrl-C), then leaves;
/// the outcome, if one came before the session closed.
fn await_outcome(
    net: &mut ClientLoop,
    id: MessageId,
    give_up: Duration,
    shutdown: &Shutdown,
) -> Result<Option<Outcome>, HostError> {
    let mut outcome: Option<Outcome> = None;
    let mut leave_until = None;
    loop {
        net.turn()?;
        for notice in net.take_link_notices() {
            tell(&notice);
        }
        while let Some(event) = net.next_event() {
            if let Some(news) = on_event(net, event, id, give_up) {
                outcome = Some(news);
            }
        }
        let now = net.now();
        if shutdown.requested() && outcome.is_none() {
            outcome = Some(Err("interrupted".to_owned()));
        }
        if outcome.is_some() && leave_until.is_none() {
            leave_until = Some(now + LEAVE_TIMEOUT);
            if net.client.leave(now).is_err() {
                break;
            }
        }
        if net.client.is_closed() || leave_until.is_some_and(|until| now >= until) {
            break;
        }
        net.wait(std::time::Duration::from_millis(500))?;
    }
    Ok(outcome)
}

/// What `event` says of the message `id` or of the session that carries it, if anything;
/// what the user must know meanwhile is told on stderr.
fn on_event(
    net: &mut ClientLoop,
    event: OwnedClientEvent,
    id: MessageId,
    give_up: Duration,
) -> Option<Outcome> {
    if let OwnedClientEvent::ServerKeyOffered { key, fleet } = event {
        return match net.trust_key(key, fleet) {
            Ok(Some(notice)) => {
                tell(&notice);
                None
            }
            Ok(None) => None,
            Err(refusal) => Some(Err(refusal.to_string())),
        };
    }
    let session = Session { server: net.server(), give_up, refused: net.refused() };
    match news(event, &session)? {
        News::Joined { .. } if !net.encrypted() => tell(NOT_ENCRYPTED),
        News::NoAnswer(notice) => tell(&notice),
        News::Delivered(done) if done == id => return Some(Ok(())),
        News::Undelivered(done, why) if done == id => return Some(Err(why.reason())),
        News::Ended(ending) => return Some(Err(ending.reason())),
        _ => {}
    }
    None
}

/// Tells the user something on stderr.
fn tell(what: &str) {
    output::line(Stream::Stderr, format!("minichat: {what}"));
}
