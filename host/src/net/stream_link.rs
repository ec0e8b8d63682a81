//! A byte stream (a serial line, a TCP connection) carrying minichat frames with the
//! core's stream framing: frames in are decoded and checked, frames out are encoded and
//! queued, and nothing ever blocks the event loop. Output that the other end does not
//! take is bounded; past the bound a frame is dropped and counted (the protocol resends
//! what matters).

use std::io::{self, Read, Write};

use minichat_core::stream::{MAX_ENCODED_FRAME, StreamDecoder, StreamStats, encode_frame};
use mio::net::TcpStream;

use crate::net::serial::{self, NativePort};

/// Bytes read from the stream per system call.
const READ_CHUNK: usize = 4096;
/// Reads per [`StreamLink::next_frame`] call before it yields, so a flood of noise cannot
/// hold the loop.
const READS_PER_CALL: usize = 16;
/// Encoded output waiting for the stream, at most: 32 full frames.
const OUT_LIMIT: usize = 32 * MAX_ENCODED_FRAME;

/// A TCP connection or a serial port.
#[derive(Debug)]
pub(crate) enum LinkIo {
    Tcp(TcpStream),
    Serial(NativePort),
}

impl StreamLink<LinkIo> {
    /// A link over a TCP connection (written as fast as it takes) or a serial line
    /// (written in [`serial::WRITE_CHUNK`]s, so a tty never makes the loop wait).
    pub(crate) fn over(io: LinkIo) -> Self {
        let chunk = match io {
            LinkIo::Tcp(_) => usize::MAX,
            LinkIo::Serial(_) => serial::WRITE_CHUNK,
        };
        StreamLink::new(io, chunk)
    }
}

impl Read for LinkIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            LinkIo::Tcp(stream) => stream.read(buf),
            LinkIo::Serial(port) => port.read(buf),
        }
    }
}

impl Write for LinkIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            LinkIo::Tcp(stream) => stream.write(buf),
            LinkIo::Serial(port) => port.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What [`StreamLink::next_frame`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// A frame of this many bytes, copied into the caller's buffer.
    Frame(usize),
    /// Nothing more is waiting.
    Empty,
    /// More may be waiting, but this call read enough: call again soon.
    Busy,
}

/// A framed byte stream over `IO`.
#[derive(Debug)]
pub(crate) struct StreamLink<IO> {
    io: IO,
    decoder: StreamDecoder,
    input: Box<[u8; READ_CHUNK]>,
    in_start: usize,
    in_end: usize,
    out: Vec<u8>,
    /// The most bytes one write hands the stream (a serial line's write room).
    write_chunk: usize,
    /// Frames dropped because the other end did not take the output.
    pub(crate) dropped: u64,
}

impl<IO: Read + Write> StreamLink<IO> {
    /// A link over `io`, which must not block (non-blocking, or a zero timeout), writing
    /// at most `write_chunk` bytes at a time.
    pub(crate) fn new(io: IO, write_chunk: usize) -> Self {
        StreamLink {
            io,
            decoder: StreamDecoder::new(),
            input: Box::new([0; READ_CHUNK]),
            in_start: 0,
            in_end: 0,
            out: Vec::with_capacity(MAX_ENCODED_FRAME),
            write_chunk: write_chunk.max(1),
            dropped: 0,
        }
    }

    /// The stream.
    #[cfg(test)]
    fn io(&self) -> &IO {
        &self.io
    }

    /// Gives the stream back.
    pub(crate) fn into_io(self) -> IO {
        self.io
    }

    /// What the decoder has seen: frames, and the noise it dropped.
    pub(crate) fn stats(&self) -> &StreamStats {
        self.decoder.stats()
    }

    /// The next frame whose check matches, copied into `buf`. An error means the stream
    /// is gone (closed by the other end, a device unplugged).
    pub(crate) fn next_frame(&mut self, buf: &mut [u8]) -> io::Result<Next> {
        let mut reads = 0;
        loop {
            if self.in_start < self.in_end {
                let pending = self.input.get(self.in_start..self.in_end).unwrap_or_default();
                let step = self.decoder.decode(pending);
                self.in_start += step.consumed;
                match step.frame {
                    Some(Ok(frame)) => {
                        let Some(dst) = buf.get_mut(..frame.len()) else { continue };
                        dst.copy_from_slice(frame);
                        return Ok(Next::Frame(frame.len()));
                    }
                    Some(Err(error)) => tracing::debug!(%error, "a frame on a stream was dropped"),
                    None => {}
                }
                continue;
            }
            if reads == READS_PER_CALL {
                return Ok(Next::Busy);
            }
            reads += 1;
            match self.io.read(self.input.as_mut_slice()) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => (self.in_start, self.in_end) = (0, n),
                Err(e) if not_now(&e) => return Ok(Next::Empty),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Encodes `frame` for the stream and writes what the stream takes. `Ok(false)` if the
    /// output is full and the frame was dropped.
    pub(crate) fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        self.flush()?;
        if self.out.len() + MAX_ENCODED_FRAME > OUT_LIMIT {
            self.dropped += 1;
            return Ok(false);
        }
        let start = self.out.len();
        self.out.resize(start + MAX_ENCODED_FRAME, 0);
        let room = self.out.get_mut(start..).unwrap_or_default();
        let len = encode_frame(frame, room).map_err(io::Error::other)?;
        self.out.truncate(start + len);
        self.flush()?;
        Ok(true)
    }

    /// Writes as much of the queued output as the stream takes now.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        let mut written = 0;
        while written < self.out.len() {
            let end = self.out.len().min(written + self.write_chunk);
            match self.io.write(self.out.get(written..end).unwrap_or_default()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if not_now(&e) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.drain(..written);
        Ok(())
    }

    /// Whether output waits for the stream to take it.
    #[cfg(test)]
    fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }
}

/// Errors that only say "not now": nothing to read, no room to write (a serial port with
/// a zero timeout says "timed out"), or a TCP connection still being made.
fn not_now(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::NotConnected
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory stream: reads from `input` (then would block), writes to `output`
    /// (up to `room` bytes, then would block).
    struct Pipe {
        input: Vec<u8>,
        output: Vec<u8>,
        room: usize,
    }

    impl Read for Pipe {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.input.is_empty() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.input.len()).min(7); // small reads: frames split
            buf[..n].copy_from_slice(&self.input[..n]);
            self.input.drain(..n);
            Ok(n)
        }
    }

    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.room);
            if n == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.room -= n;
            self.output.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn frames_sent_come_back_and_noise_is_counted() {
        let mut sender =
            StreamLink::new(Pipe { input: Vec::new(), output: Vec::new(), room: 1 << 20 }, 64);
        assert!(sender.send(b"\xff\x02\x24first").unwrap());
        assert!(sender.send(b"\xff\x02\x24second").unwrap());
        let mut wire = sender.io().output.clone();
        wire.splice(0..0, *b"noise\x00"); // a line that was already talking
        let mut receiver = StreamLink::new(Pipe { input: wire, output: Vec::new(), room: 0 }, 64);
        let mut buf = [0u8; 1024];
        let mut frames = Vec::new();
        while let Next::Frame(len) = receiver.next_frame(&mut buf).unwrap() {
            frames.push(buf[..len].to_vec());
        }
        assert_eq!(frames, [b"\xff\x02\x24first".to_vec(), b"\xff\x02\x24second".to_vec()]);
        assert_eq!(receiver.stats().frames, 2);
        assert_eq!(receiver.stats().corrupt + receiver.stats().bad_checks, 1);
    }

    #[test]
    fn output_the_other_end_does_not_take_is_bounded() {
        let mut link = StreamLink::new(Pipe { input: Vec::new(), output: Vec::new(), room: 0 }, 64);
        let frame = [0xffu8; 1000];
        let queued = (0..100).filter(|_| link.send(&frame).unwrap()).count();
        assert!(queued < 100 && link.dropped > 0, "queued {queued}");
        assert!(link.wants_write());
    }

    #[test]
    fn a_closed_stream_is_an_error() {
        struct Closed;
        impl Read for Closed {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Ok(0)
            }
        }
        impl Write for Closed {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut link = StreamLink::new(Closed, 64);
        assert!(link.next_frame(&mut [0u8; 64]).is_err());
    }
}
