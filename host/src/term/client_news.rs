//! A client's events as its user hears of them: the words `chat` and `send` share.
//!
//! [`news`] turns each [`OwnedClientEvent`] into [`News`]: what happened, in the words shown
//! for it. `chat` shows all of it; `send` cares for its one message and for what ends
//! the session, and words those as reasons ([`Undelivered::reason`], [`Ending::reason`]).
//! Remote text (names, the server's details, messages) is escaped here, once.

use minichat_core::client::{MessageId, OwnedClientEvent, OwnedListedName};
use minichat_core::time::Duration;
use minichat_core::wire::{ErrorCode, Kind};

use crate::clock;
use crate::net::peer::Peer;
use crate::term::console;
use crate::term::escape::escape;

/// What `chat` and `send` say of a session in the clear.
pub(crate) const NOT_ENCRYPTED: &str =
    "this session is not encrypted (--plaintext): anyone on the path can read it and speak in it";

/// What `chat` and `send` say while no server answers their join.
pub(crate) fn no_answer_notice(server: Peer, refused: bool, retry_in: Duration) -> String {
    let why = if refused { " (connection refused)" } else { "" };
    format!("no server answers at {server}{why}; retrying in {}", clock::seconds(retry_in))
}

/// The session the events come from, as the words name it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Session {
    /// The server.
    pub(crate) server: Peer,
    /// How long a message may wait for the server (`--timeout`).
    pub(crate) give_up: Duration,
    /// Whether the last join found the server's port closed.
    pub(crate) refused: bool,
}

/// A client event, as its user hears of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum News {
    /// The server admitted the session (`again`: a re-join of an earlier one).
    Joined { again: bool, notice: String },
    /// A join got no answer and goes again.
    NoAnswer(String),
    /// Something about the session, which goes on.
    Notice(String),
    /// A message for the user: its line in the conversation.
    Message(String),
    /// A page of the user list (`/who`): its entries, and whether it is the last page,
    /// which says how many there are in all.
    Users { entries: Vec<String>, last: Option<u16> },
    /// The answer to an echo request.
    Echo(String),
    /// A request (`/who`, `/echo`) got no answer: what to say of it.
    Unanswered(String),
    /// The server accepted one of the user's messages.
    Delivered(MessageId),
    /// One of the user's messages did not get through, or may not have.
    Undelivered(MessageId, Undelivered),
    /// The server ended the session.
    Ended(Ending),
    /// The leave was acknowledged: the session is over.
    Left,
}

/// Why a message did not get through.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Undelivered {
    /// It was not delivered, for this reason (the server's, or no answer in time).
    Not(String),
    /// The session moved while it was in flight: it may be lost.
    MaybeLost,
}

impl Undelivered {
    /// The line about the message `what` (its excerpt), among others in a conversation.
    pub(crate) fn about(&self, what: &str) -> String {
        match self {
            Undelivered::Not(why) => format!("not delivered ({why}): {what}"),
            Undelivered::MaybeLost => format!(
                "may not have been delivered (the session moved while it was in flight): {what}"
            ),
        }
    }

    /// Why the one message sent was not delivered.
    pub(crate) fn reason(&self) -> String {
        match self {
            Undelivered::Not(why) => why.clone(),
            Undelivered::MaybeLost => {
                "the session moved while the message was in flight; it may be lost".to_owned()
            }
        }
    }
}

/// Why the server ended the session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ending {
    /// It refused the join; `detail` is what it said, escaped.
    Refused { code: ErrorCode, detail: String },
    /// The operator removed the user.
    Kicked,
    /// A user of another server won the name; `detail` is what the server said, escaped.
    NameTaken { detail: String },
}

impl Ending {
    /// What the conversation is told.
    pub(crate) fn notice(&self) -> String {
        match self {
            Ending::Refused { code, detail } => {
                let hint = match code {
                    ErrorCode::NameTaken | ErrorCode::InvalidName => "; choose another with --name",
                    _ => key_hint(*code),
                };
                format!("the server refused the join: {detail}{hint}")
            }
            Ending::Kicked => "the operator removed you from the chat".to_owned(),
            Ending::NameTaken { detail } => {
                format!("the server ended the session: {detail}; choose another name with --name")
            }
        }
    }

    /// Why a message sent alone was not delivered.
    pub(crate) fn reason(&self) -> String {
        match self {
            Ending::Refused { code, detail } => format!("{detail}{}", key_hint(*code)),
            Ending::NameTaken { detail } => detail.clone(),
            Ending::Kicked => "the operator removed this user".to_owned(),
        }
    }
}

/// What a user can do about a refusal of their key, if anything.
fn key_hint(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NameOwned => {
            "; choose another with --name (or join with the key that owns it: --key FILE)"
        }
        ErrorCode::KeyNotAuthorized => {
            "; ask its operator to list your key: minichat key --client --public shows it"
        }
        _ => "",
    }
}

/// `event` in words, or nothing for an event the user is not told of (a key offered:
/// the caller decides whether to trust it).
pub(crate) fn news(event: OwnedClientEvent, session: &Session) -> Option<News> {
    let server = session.server;
    let news = match event {
        OwnedClientEvent::Joined { name, rejoined: false } => {
            News::Joined { again: false, notice: format!("joined as {name}") }
        }
        OwnedClientEvent::Joined { name, rejoined: true } => News::Joined {
            again: true,
            notice: format!("joined again as {name}; unacknowledged messages go again"),
        },
        OwnedClientEvent::JoinRetry { retry_in, .. } => {
            News::NoAnswer(no_answer_notice(server, session.refused, retry_in))
        }
        OwnedClientEvent::Message { from, text, direct, history } => {
            let marker = match (direct, history) {
                (true, true) => " (direct, earlier)",
                (true, false) => " (direct)",
                (false, true) => " (earlier)",
                (false, false) => "",
            };
            // The sender's name is remote text too: a server may send any bytes.
            News::Message(format!("{}{marker}: {}", escape(from.as_str()), escape(&text)))
        }
        OwnedClientEvent::Users { total, start, names } => {
            let last = usize::from(start) + names.len() >= usize::from(total) || names.is_empty();
            let entries = names.into_iter().map(|OwnedListedName { name, place }| match place {
                None => escape(name.as_str()).into_owned(),
                Some(at) => {
                    format!("{} (on server {})", escape(name.as_str()), escape(at.as_str()))
                }
            });
            News::Users { entries: entries.collect(), last: last.then_some(total) }
        }
        OwnedClientEvent::EchoReply { text, .. } => News::Echo(format!("echo: {}", escape(&text))),
        OwnedClientEvent::RequestTimedOut { kind } => {
            let what = if kind == Kind::Who { "/who" } else { "/echo" };
            News::Unanswered(format!("no answer to {what} from {server}"))
        }
        OwnedClientEvent::Delivered { id } => News::Delivered(id),
        OwnedClientEvent::Rejected { id, detail, .. } => {
            News::Undelivered(id, Undelivered::Not(escape(&detail).into_owned()))
        }
        OwnedClientEvent::Failed { id } => {
            let why = format!("no answer from {server} within {}", clock::seconds(session.give_up));
            News::Undelivered(id, Undelivered::Not(why))
        }
        OwnedClientEvent::MaybeLost { id } => News::Undelivered(id, Undelivered::MaybeLost),
        OwnedClientEvent::Refused { code, detail } => {
            News::Ended(Ending::Refused { code, detail: escape(&detail).into_owned() })
        }
        OwnedClientEvent::Kicked => News::Ended(Ending::Kicked),
        OwnedClientEvent::NameTaken { detail } => {
            News::Ended(Ending::NameTaken { detail: escape(&detail).into_owned() })
        }
        OwnedClientEvent::Left => News::Left,
        event => News::Notice(session_notice(event, server)?),
    };
    Some(news)
}

/// What the user is told of a change to a session that goes on.
fn session_notice(event: OwnedClientEvent, server: Peer) -> Option<String> {
    let notice = match event {
        OwnedClientEvent::RejoinRefused { detail, retry_in, .. } => format!(
            "the server refused to let this session back in ({}); trying again in {}",
            escape(&detail),
            clock::seconds(retry_in)
        ),
        OwnedClientEvent::SessionMoved => "the server moved this session to another address that \
                                      holds its token; joining again with a new session"
            .to_owned(),
        OwnedClientEvent::Missed { count } => format!(
            "{} for you were lost while you were away",
            console::count(u64::from(count), "message")
        ),
        OwnedClientEvent::RateLimited => {
            "sending too fast: the server holds messages back for a moment".to_owned()
        }
        OwnedClientEvent::SessionLost => {
            "the server no longer knows this session (it restarted?); joining again".to_owned()
        }
        OwnedClientEvent::ServerLost => format!("{server} stopped answering; joining again"),
        OwnedClientEvent::ServerShutdown => {
            "the server is shutting down; joining again when it is back".to_owned()
        }
        _ => return None,
    };
    Some(notice)
}
