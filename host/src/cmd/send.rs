//! `minichat send`: join, send one message, leave; the exit status says whether it was
//! delivered.

use std::process::ExitCode;

use minichat_core::client::ClientEvent;
use minichat_core::time::Duration;
use minichat_core::wire::NameBuf;

use crate::clock;
use crate::error::HostError;
use crate::net::client_link::Target;
use crate::net::client_loop::{ClientLoop, no_answer_notice};
use crate::shutdown::Shutdown;
use crate::term::escape::escape;
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
    let mut outcome: Option<Result<(), String>> = None;
    let mut leave_until = None;
    loop {
        net.pump()?;
        for notice in net.take_link_notices() {
            output::line(Stream::Stderr, format!("minichat: {notice}"));
        }
        while let Some(event) = net.next_event() {
            match event {
                ClientEvent::ServerKeyOffered { key, fleet } => match net.trust_key(key, fleet) {
                    Ok(Some(notice)) => output::line(Stream::Stderr, format!("minichat: {notice}")),
                    Ok(None) => {}
                    Err(refusal) => outcome = Some(Err(refusal.to_string())),
                },
                ClientEvent::Joined { .. } if !net.encrypted() => {
                    let notice = crate::cmd::chat::NOT_ENCRYPTED;
                    output::line(Stream::Stderr, format!("minichat: {notice}"));
                }
                ClientEvent::Delivered { id: done } if done == id => outcome = Some(Ok(())),
                ClientEvent::Rejected { id: done, detail, .. } if done == id => {
                    outcome = Some(Err(escape(&detail).into_owned()));
                }
                ClientEvent::Failed { id: done } if done == id => {
                    let why = format!(
                        "no answer from {} within {}",
                        net.server(),
                        clock::seconds(config.give_up)
                    );
                    outcome = Some(Err(why));
                }
                ClientEvent::Refused { detail, .. } => {
                    outcome = Some(Err(escape(&detail).into_owned()));
                }
                ClientEvent::MaybeLost { id: done } if done == id => {
                    outcome = Some(Err(
                        "the session moved while the message was in flight; it may be lost"
                            .to_owned(),
                    ));
                }
                ClientEvent::Kicked => {
                    outcome = Some(Err("the operator removed this user".to_owned()))
                }
                ClientEvent::NameTaken { detail } => {
                    outcome = Some(Err(escape(&detail).into_owned()));
                }
                ClientEvent::JoinRetry { retry_in, .. } => {
                    let notice = no_answer_notice(net.server(), net.refused(), retry_in);
                    output::line(Stream::Stderr, format!("minichat: {notice}"));
                }
                _ => {}
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
    match outcome {
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
