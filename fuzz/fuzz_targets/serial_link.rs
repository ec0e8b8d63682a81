//! The host's framed stream link (`net/stream_link.rs`, what `serve --serial` and
//! `chat --serial` run on) over a serial line that does what lines do: bytes arrive in
//! pieces of any size, reads and writes say "not now" (would block, timed out) or are
//! interrupted, writes take only part, and the line may end. Checks: no panic; the frames
//! it reads are exactly the frames the core's decoder finds in the same bytes at once,
//! in order (nothing lost to how the bytes were cut, nothing made up); every frame it
//! sends and does not report dropped comes out of the line once, in order, intact; the
//! output it holds stays bounded, and drops are counted as reported.
#![no_main]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;

use arbitrary::Arbitrary;
use host::fuzzing::{FramedStream, NextFrame};
use libfuzzer_sys::fuzz_target;
use minichat_core::stream::{MAX_CHECKED_FRAME, MAX_ENCODED_FRAME, StreamDecoder, encode_frame};
use minichat_core::wire::limits::MAX_FRAME;

/// What the line does at the next call.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Turn {
    /// Take (or give) up to this many bytes.
    Bytes(u16),
    WouldBlock,
    TimedOut,
    Interrupted,
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// What arrives on the line.
    incoming: Vec<u8>,
    /// How reads go, in turn (then: everything left at once).
    reads: Vec<Turn>,
    /// Frames to send, and how writes go.
    outgoing: Vec<Vec<u8>>,
    writes: Vec<Turn>,
    /// The most bytes the link hands the line per write.
    write_chunk: u16,
    /// Whether the line ends after its bytes (a device unplugged) or just goes quiet.
    ends: bool,
}

/// What the line does, shared with the test so it can change while the link holds the line.
struct Script {
    incoming: VecDeque<u8>,
    reads: VecDeque<Turn>,
    writes: VecDeque<Turn>,
    written: Vec<u8>,
    ends: bool,
}

/// A serial line scripted by the input.
struct Line(Rc<RefCell<Script>>);

fn turn(turns: &mut VecDeque<Turn>) -> Turn {
    turns.pop_front().unwrap_or(Turn::Bytes(u16::MAX))
}

impl Read for Line {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut script = self.0.borrow_mut();
        match turn(&mut script.reads) {
            Turn::WouldBlock => Err(io::ErrorKind::WouldBlock.into()),
            Turn::TimedOut => Err(io::ErrorKind::TimedOut.into()),
            Turn::Interrupted => Err(io::ErrorKind::Interrupted.into()),
            Turn::Bytes(_) if script.incoming.is_empty() && script.ends => Ok(0),
            Turn::Bytes(_) if script.incoming.is_empty() => Err(io::ErrorKind::WouldBlock.into()),
            Turn::Bytes(n) => {
                let n = usize::from(n).clamp(1, buf.len()).min(script.incoming.len());
                for (dst, src) in buf.iter_mut().zip(script.incoming.drain(..n)) {
                    *dst = src;
                }
                Ok(n)
            }
        }
    }
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut script = self.0.borrow_mut();
        match turn(&mut script.writes) {
            Turn::WouldBlock | Turn::Bytes(0) => Err(io::ErrorKind::WouldBlock.into()),
            Turn::TimedOut => Err(io::ErrorKind::TimedOut.into()),
            Turn::Interrupted => Err(io::ErrorKind::Interrupted.into()),
            Turn::Bytes(n) => {
                let n = usize::from(n).min(buf.len());
                script.written.extend_from_slice(&buf[..n]);
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The frames the core's decoder finds in `bytes`, decoded at once.
fn frames_in(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    StreamDecoder::<MAX_CHECKED_FRAME>::new().decode_all(bytes, |frame| {
        if let Ok(frame) = frame {
            frames.push(frame.to_vec());
        }
    });
    frames
}

/// The most encoded output the link may hold: 32 whole frames (`stream_link.rs`).
const OUT_LIMIT: usize = 32 * MAX_ENCODED_FRAME;

fuzz_target!(|input: Input| {
    let expected = frames_in(&input.incoming);
    let script = Rc::new(RefCell::new(Script {
        incoming: input.incoming.iter().copied().collect(),
        reads: input.reads.iter().copied().take(4096).collect(),
        writes: input.writes.iter().copied().take(4096).collect(),
        written: Vec::new(),
        ends: input.ends,
    }));
    let mut link = FramedStream::new(Line(script.clone()), usize::from(input.write_chunk));

    // Reading: call until the line is drained and quiet, or ends.
    let mut buf = [0u8; MAX_CHECKED_FRAME];
    let mut read = Vec::new();
    loop {
        match link.next_frame(&mut buf) {
            Ok(NextFrame::Frame(len)) => read.push(buf[..len].to_vec()),
            Ok(NextFrame::Busy) => {}
            // "Not now": the event loop comes back when the line is readable again.
            Ok(NextFrame::Empty) if script.borrow().incoming.is_empty() => break,
            Ok(NextFrame::Empty) => {}
            Err(_) => {
                let script = script.borrow();
                assert!(script.ends && script.incoming.is_empty(), "reading failed early");
                break;
            }
        }
    }
    assert_eq!(read, expected, "frames read in pieces differ from the stream's");
    assert_eq!(link.stats().frames, expected.len() as u32, "frames counted");

    // Writing: every frame not reported dropped comes out once, in order, intact, and the
    // output held stays bounded.
    let mut accepted = Vec::new();
    let mut encoded_total = 0usize;
    let mut refused = 0u64;
    for frame in input.outgoing.iter().take(64) {
        let frame = &frame[..frame.len().min(MAX_FRAME)];
        match link.send(frame) {
            Ok(true) => {
                let mut out = [0u8; MAX_ENCODED_FRAME];
                encoded_total += encode_frame(frame, &mut out).expect("a frame fits");
                accepted.push(frame.to_vec());
            }
            Ok(false) => refused += 1,
            Err(e) => panic!("a line that only says \"not now\" failed: {e}"),
        }
        let held = encoded_total - script.borrow().written.len();
        assert!(held <= OUT_LIMIT, "{held} bytes held for the line");
    }
    assert_eq!(link.dropped(), refused, "drops counted as reported");
    // The line takes everything now.
    script.borrow_mut().writes.clear();
    link.flush().expect("a line that takes everything");
    let written = script.borrow().written.clone();
    assert_eq!(written.len(), encoded_total, "every byte queued was written once");
    assert_eq!(frames_in(&written), accepted, "frames out differ from frames sent");
});
