//! Who a plain line at the server's console answers, as the operator saw it.
//!
//! A plain line answers the last sender, and a plain-text datagram from any (spoofable)
//! address becomes the last sender. So at a terminal the prompt names the line's
//! recipient (`(to alice) >>>: `), and the recipient is fixed when the operator starts
//! typing: a datagram that arrives after the first key changes the next line's
//! recipient, never this one's. If someone wrote between the prompt and the first key,
//! the console says at that key whom the line now answers. Without a terminal (a script
//! piped in) there is no typing to wait for: a line answers the last sender when it is
//! read.
//!
//! The event loop [`ReplyTargets::note`]s each sender; the input thread reads the
//! [`ReplyPrompt`] before each prompt and at the first key, and hands the recipient's
//! number back with the line ([`crate::term::console::Input::Line`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use crate::term::output::{self, Stream};

/// How many recipients are remembered for lines being typed: more senders than this
/// while one line is typed, and that line is not sent (the console says so).
const REMEMBERED: usize = 64;

/// The current recipient as the input thread shows it: its number (0: nobody yet) and
/// how it is named.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReplyPrompt {
    current: Arc<Mutex<(u64, Option<String>)>>,
}

impl ReplyPrompt {
    /// The current recipient's number and name.
    pub(crate) fn current(&self) -> (u64, Option<String>) {
        self.current.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set(&self, number: u64, label: String) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = (number, Some(label));
    }

    /// The prompt for a line whose recipient is `label`: `(to alice) >>>: `.
    pub(crate) fn decorate(base: &str, label: Option<&str>) -> String {
        match label {
            Some(label) => format!("(to {label}) {base}"),
            None => base.to_owned(),
        }
    }
}

/// What the input thread knows of the line being typed: the recipient its prompt showed,
/// and the one current at its first key.
#[derive(Debug, Default)]
pub(crate) struct Typing {
    prompt: (u64, Option<String>),
    first_key: Option<u64>,
}

/// The line editor's hook on every key: on the first key of a line, the recipient is
/// taken (and told, if it is not the one the prompt shows).
#[derive(Debug, Clone)]
pub(crate) struct FirstKey {
    pub(crate) prompt: ReplyPrompt,
    pub(crate) typing: Arc<Mutex<Typing>>,
}

impl FirstKey {
    /// A new line's prompt: shows `prompt`'s current recipient, and forgets the last
    /// line's first key. Returns the prompt to show.
    pub(crate) fn start_line(&self, base: &str) -> String {
        let current = self.prompt.current();
        let shown = ReplyPrompt::decorate(base, current.1.as_deref());
        *self.typing.lock().unwrap_or_else(PoisonError::into_inner) =
            Typing { prompt: current, first_key: None };
        shown
    }

    /// The recipient of the line just entered: the one taken at its first key, else the
    /// one its prompt showed.
    pub(crate) fn finish_line(&self) -> u64 {
        let typing = self.typing.lock().unwrap_or_else(PoisonError::into_inner);
        typing.first_key.unwrap_or(typing.prompt.0)
    }

    /// A key of a line; the first (on an empty line) takes the current recipient, for the
    /// whole line: emptied and typed again, it keeps it.
    pub(crate) fn on_key(&self, line_is_empty: bool) {
        let mut typing = self.typing.lock().unwrap_or_else(PoisonError::into_inner);
        if !line_is_empty || typing.first_key.is_some() {
            return;
        }
        let (number, label) = self.prompt.current();
        if number != typing.prompt.0
            && let Some(label) = label
        {
            output::line(
                Stream::Stderr,
                format!("* a plain line now answers {label}, who wrote after the prompt appeared"),
            );
        }
        typing.first_key = Some(number);
    }
}

impl rustyline::ConditionalEventHandler for FirstKey {
    fn handle(
        &self,
        _event: &rustyline::Event,
        _n: rustyline::RepeatCount,
        _positive: bool,
        ctx: &rustyline::EventContext<'_>,
    ) -> Option<rustyline::Cmd> {
        self.on_key(ctx.line().is_empty());
        None // the key does what it always does
    }
}

/// The recipients the console has shown, by number, for the lines being typed.
#[derive(Debug)]
pub(crate) struct ReplyTargets<T> {
    prompt: ReplyPrompt,
    number: u64,
    recent: VecDeque<(u64, T)>,
}

impl<T: Clone + PartialEq> ReplyTargets<T> {
    /// Nobody yet; `prompt` is what the input thread reads.
    pub(crate) fn new(prompt: ReplyPrompt) -> Self {
        ReplyTargets { prompt, number: 0, recent: VecDeque::new() }
    }

    /// `sender` wrote, shown as `label`: plain lines started from now on answer it.
    pub(crate) fn note(&mut self, sender: T, label: impl FnOnce() -> String) {
        if self.recent.back().is_some_and(|(_, last)| *last == sender) {
            return;
        }
        self.number += 1;
        if self.recent.len() == REMEMBERED {
            self.recent.pop_front();
        }
        self.recent.push_back((self.number, sender));
        self.prompt.set(self.number, label());
    }

    /// Who a line answers: the recipient numbered `addressed` (the one shown while it was
    /// typed), or without a terminal (`None`) the last sender. `Err` if that recipient
    /// is no longer remembered.
    pub(crate) fn recipient(&self, addressed: Option<u64>) -> Result<Option<T>, Forgotten> {
        match addressed {
            None => Ok(self.recent.back().map(|(_, sender)| sender.clone())),
            Some(0) => Ok(None),
            Some(number) => self
                .recent
                .iter()
                .find(|(n, _)| *n == number)
                .map(|(_, sender)| Some(sender.clone()))
                .ok_or(Forgotten),
        }
    }
}

/// More than [`REMEMBERED`] senders wrote while a line was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Forgotten;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_answers_whom_it_was_typed_for_not_who_wrote_since() {
        let prompt = ReplyPrompt::default();
        let mut targets = ReplyTargets::new(prompt.clone());
        let keys = FirstKey { prompt: prompt.clone(), typing: Arc::default() };
        // Nobody yet: a line typed now answers nobody.
        assert_eq!(keys.start_line(">>>: "), ">>>: ");
        keys.on_key(true);
        assert_eq!(targets.recipient(Some(keys.finish_line())), Ok(None));
        // Alice writes; the next prompt names her, and a forged datagram after the first
        // key changes nothing.
        targets.note("alice", || "alice".to_owned());
        assert_eq!(keys.start_line(">>>: "), "(to alice) >>>: ");
        keys.on_key(true);
        keys.on_key(false);
        targets.note("forger", || "10.0.0.9:4000".to_owned());
        keys.on_key(false);
        assert_eq!(targets.recipient(Some(keys.finish_line())), Ok(Some("alice")));
        // Emptied and typed again, the line keeps its recipient.
        keys.start_line(">>>: ");
        keys.on_key(true);
        targets.note("forger2", || "10.0.0.10:4000".to_owned());
        keys.on_key(false);
        keys.on_key(true);
        assert_eq!(targets.recipient(Some(keys.finish_line())), Ok(Some("forger")));
        // The next line is the latest forger's, and says so in its prompt.
        targets.note("forger", || "10.0.0.9:4000".to_owned());
        assert_eq!(keys.start_line(">>>: "), "(to 10.0.0.9:4000) >>>: ");
        // Someone who writes between the prompt and the first key gets the line.
        targets.note("bob", || "bob".to_owned());
        keys.on_key(true);
        assert_eq!(targets.recipient(Some(keys.finish_line())), Ok(Some("bob")));
        // Without a terminal, a line answers the last sender.
        assert_eq!(targets.recipient(None), Ok(Some("bob")));
    }

    #[test]
    fn a_recipient_pushed_out_by_many_senders_is_not_guessed() {
        let prompt = ReplyPrompt::default();
        let mut targets = ReplyTargets::new(prompt);
        targets.note(0usize, || "first".to_owned());
        for sender in 1..=REMEMBERED {
            targets.note(sender, || sender.to_string());
        }
        assert_eq!(targets.recipient(Some(1)), Err(Forgotten));
        assert_eq!(targets.recipient(Some(2)), Ok(Some(1)));
    }
}
