//! Program output that can never stall the network loop.
//!
//! Every line for the terminal — the console's messages and notices, and the log — goes
//! into one bounded queue that a thread of its own writes out. Writing to a pipe nobody
//! reads (or a stuck ssh session) blocks only that thread: the loop that pushes lines never
//! waits. When the queue is full a line is counted, not queued, and once output moves again
//! `… N lines not shown` says how many went missing, right where they would have been.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use rustyline::ExternalPrinter;

/// Lines that may wait to be written; more are counted and dropped.
pub(crate) const QUEUE_LINES: usize = 4096;

/// Where a line goes when no person is at a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Program output: messages, lists.
    Stdout,
    /// Notices and the log.
    Stderr,
}

/// Lines waiting, and how many did not fit since the last were written.
struct Queue {
    lines: VecDeque<(Stream, String)>,
    dropped: u64,
    /// The writer thread is writing a batch it took.
    busy: bool,
}

/// Where the writer thread puts lines.
enum Sink {
    /// stdout and stderr as they are.
    Plain,
    /// rustyline's printer, which shows lines above the line being edited.
    Terminal(Box<dyn ExternalPrinter + Send>),
}

struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when lines arrive.
    arrived: Condvar,
    /// Signalled when the writer has written everything.
    drained: Condvar,
    sink: Mutex<Sink>,
}

fn shared() -> &'static Arc<Shared> {
    static OUTPUT: OnceLock<Arc<Shared>> = OnceLock::new();
    OUTPUT.get_or_init(|| {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue { lines: VecDeque::new(), dropped: 0, busy: false }),
            arrived: Condvar::new(),
            drained: Condvar::new(),
            sink: Mutex::new(Sink::Plain),
        });
        let writer = Arc::clone(&shared);
        // If the thread cannot start, lines simply wait in the queue and then are counted:
        // output is lost, the network loop is not.
        let _ = std::thread::Builder::new().name("output".into()).spawn(move || write_out(&writer));
        shared
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind: keep using it.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Queues `line` for `stream`. Never blocks on the terminal: if the queue is full the line
/// is counted instead.
pub(crate) fn line(stream: Stream, line: String) {
    let shared = shared();
    let mut queue = lock(&shared.queue);
    if queue.lines.len() >= QUEUE_LINES {
        queue.dropped += 1;
        return;
    }
    queue.lines.push_back((stream, line));
    drop(queue);
    shared.arrived.notify_one();
}

/// From now on lines are shown above the prompt that `printer` belongs to.
pub(crate) fn use_terminal(printer: Box<dyn ExternalPrinter + Send>) {
    *lock(&shared().sink) = Sink::Terminal(printer);
}

/// Waits until every queued line is written, or `max` passed; returns whether all went.
/// Used on exit, so that a blocked terminal delays the exit by at most `max`.
pub(crate) fn flush(max: Duration) -> bool {
    let shared = shared();
    let deadline = Instant::now() + max;
    let mut queue = lock(&shared.queue);
    while !queue.lines.is_empty() || queue.busy || queue.dropped > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        queue = match shared.drained.wait_timeout(queue, left) {
            Ok((queue, _)) => queue,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
    true
}

/// The writer thread: takes what is queued and writes it, for as long as the process runs.
fn write_out(shared: &Shared) {
    let mut batch = VecDeque::new();
    loop {
        let dropped = {
            let mut queue = lock(&shared.queue);
            queue.busy = false;
            while queue.lines.is_empty() && queue.dropped == 0 {
                shared.drained.notify_all();
                queue = match shared.arrived.wait(queue) {
                    Ok(queue) => queue,
                    Err(poisoned) => poisoned.into_inner(),
                };
            }
            std::mem::swap(&mut batch, &mut queue.lines);
            queue.busy = true;
            std::mem::take(&mut queue.dropped)
        };
        let mut sink = lock(&shared.sink);
        // The lines taken were queued before any of the dropped ones: they go first.
        for (stream, text) in batch.drain(..) {
            sink.write(stream, &text);
        }
        if dropped > 0 {
            let noun = if dropped == 1 { "line" } else { "lines" };
            sink.write(Stream::Stderr, &format!("… {dropped} {noun} not shown"));
        }
        sink.flush();
    }
}

impl Sink {
    fn write(&mut self, stream: Stream, text: &str) {
        match self {
            Sink::Terminal(printer) => {
                let _ = printer.print(format!("{text}\n"));
            }
            Sink::Plain => {
                let _ = match stream {
                    Stream::Stdout => writeln!(std::io::stdout().lock(), "{text}"),
                    Stream::Stderr => writeln!(std::io::stderr().lock(), "{text}"),
                };
            }
        }
    }

    fn flush(&mut self) {
        if let Sink::Plain = self {
            let _ = std::io::stdout().lock().flush();
        }
    }
}

/// A `tracing` writer: each log record becomes one queued stderr line.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LogWriter;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogRecord;

    fn make_writer(&'a self) -> LogRecord {
        LogRecord(Vec::new())
    }
}

/// One log record being formatted; queued when dropped.
#[derive(Debug)]
pub(crate) struct LogRecord(Vec<u8>);

impl Write for LogRecord {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogRecord {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.0);
        line(Stream::Stderr, text.trim_end_matches('\n').to_owned());
    }
}
