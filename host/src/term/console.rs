//! The terminal side of `serve` and `chat`: lines in, lines out.
//!
//! On a terminal, lines are edited with rustyline behind a prompt, and what arrives from
//! the network is printed above the line being typed. Otherwise (a pipe, a file, a
//! script) lines are read plainly, program output goes to stdout and notices to stderr.
//! Lines come in on a thread and reach the event loop through a bounded channel, with a
//! wake-up for its `poll`; lines go out through [`crate::term::output`], so a terminal that does
//! not keep up never stalls the loop.

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use mio::Waker;

use crate::term::output::{self, Stream};
use crate::term::reply_target::{FirstKey, ReplyPrompt};

/// What the input thread read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    /// One line, without its line ending, and at a terminal the number of the recipient
    /// a plain line answers, as the operator saw it ([`crate::term::reply_target`]).
    Line { text: String, addressed: Option<u64> },
    /// End of input (Ctrl-D, or the end of a file or pipe).
    Eof,
    /// Ctrl-C at the prompt.
    Interrupted,
}

/// Lines in, lines out.
pub(crate) struct Console {
    input: Receiver<Input>,
    /// The end of input was reported; nothing more will come.
    ended: bool,
    /// A person types at a terminal (lines are shown above the prompt).
    interactive: bool,
    /// Restores the terminal's settings when the console goes away, even if the input
    /// thread is still inside `readline`.
    _terminal: Option<TerminalGuard>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").field("interactive", &self.is_interactive()).finish()
    }
}

impl Console {
    /// Starts reading stdin on a thread. `backlog` lines may wait unread; after that the
    /// thread waits, so a script piped in is read only as fast as it is sent. With
    /// `reply`, the prompt names who a plain line answers, as the operator saw it.
    pub(crate) fn start(
        prompt: &str,
        waker: Arc<Waker>,
        backlog: usize,
        reply: Option<ReplyPrompt>,
    ) -> Console {
        let (tx, rx) = sync_channel(backlog);
        let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
        let editor = if interactive { rustyline::DefaultEditor::new().ok() } else { None };
        let (interactive, terminal) = match editor {
            Some(mut editor) => {
                let guard = TerminalGuard::save();
                let printer = editor.create_external_printer().ok();
                let base = prompt.to_owned();
                let keys = reply.map(|prompt| FirstKey { prompt, typing: Arc::default() });
                if let Some(keys) = &keys {
                    let handler = rustyline::EventHandler::Conditional(Box::new(keys.clone()));
                    editor.bind_sequence(rustyline::Event::Any, handler);
                }
                std::thread::spawn(move || {
                    loop {
                        let prompt =
                            keys.as_ref().map_or_else(|| base.clone(), |k| k.start_line(&base));
                        let input = match editor.readline(&prompt) {
                            Ok(line) => {
                                let _ = editor.add_history_entry(line.as_str());
                                let addressed = keys.as_ref().map(|k| k.finish_line());
                                Input::Line { text: line, addressed }
                            }
                            Err(rustyline::error::ReadlineError::Interrupted) => Input::Interrupted,
                            Err(_) => Input::Eof,
                        };
                        let last = input != Input::Eof && input != Input::Interrupted;
                        if tx.send(input).is_err() {
                            return;
                        }
                        let _ = waker.wake();
                        if !last {
                            return;
                        }
                    }
                });
                if let Some(printer) = printer {
                    output::use_terminal(Box::new(printer));
                }
                (true, guard)
            }
            None => {
                std::thread::spawn(move || {
                    for line in std::io::stdin().lock().lines() {
                        let Ok(line) = line else { break };
                        if tx.send(Input::Line { text: line, addressed: None }).is_err() {
                            return;
                        }
                        let _ = waker.wake();
                    }
                    let _ = tx.send(Input::Eof);
                    let _ = waker.wake();
                });
                (false, None)
            }
        };
        Console { input: rx, ended: false, interactive, _terminal: terminal }
    }

    /// Whether a person is typing at a terminal.
    pub(crate) fn is_interactive(&self) -> bool {
        self.interactive
    }

    /// The next line read, if one is waiting. The end of input is reported once.
    pub(crate) fn try_input(&mut self) -> Option<Input> {
        if self.ended {
            return None;
        }
        let input = match self.input.try_recv() {
            Ok(input) => input,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => Input::Eof,
        };
        self.ended = matches!(input, Input::Eof | Input::Interrupted);
        Some(input)
    }

    /// Program output: a message, a user list. Stdout when not interactive. Queued, never
    /// waited for (see [`crate::term::output`]).
    pub(crate) fn show(&mut self, line: &str) {
        output::line(Stream::Stdout, line.to_owned());
    }

    /// A notice about the program itself (joined, retrying, ...). Stderr when not
    /// interactive, so stdout stays parseable.
    pub(crate) fn notice(&mut self, line: &str) {
        let line = if self.interactive { format!("* {line}") } else { format!("minichat: {line}") };
        output::line(Stream::Stderr, line);
    }
}

/// "1 message", "2 messages": a count with its noun.
pub(crate) fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// The terminal settings at start-up, put back when dropped.
struct TerminalGuard {
    #[cfg(unix)]
    saved: Option<nix::sys::termios::Termios>,
}

impl TerminalGuard {
    fn save() -> Option<TerminalGuard> {
        #[cfg(unix)]
        {
            let saved = nix::sys::termios::tcgetattr(std::io::stdin()).ok();
            Some(TerminalGuard { saved })
        }
        #[cfg(not(unix))]
        None
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                saved,
            );
        }
    }
}
