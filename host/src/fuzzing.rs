//! Entry points for the fuzz targets of `fuzz/` (not API: hidden from the docs, and
//! free to change with them). Thin wrappers over the crate's own code for what takes
//! input from outside — lines typed at a prompt, key and known-servers files, what the
//! broker passes to a bridge, a serial line's bytes — with types of their own where the
//! crate's would expose its internals.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use minichat_core::secure::KEY_LEN;
use minichat_core::stream::StreamStats;

use crate::bridge::link::{FromLink, Link, ToLink};
use crate::bridge::seal::BridgeSeal;
use crate::bridge::{BridgeAccess, BridgeUrl};
use crate::error::HostError;
use crate::keys::{self, Trust};
use crate::net::stream_link::{Next, StreamLink};

/// A line typed at the `chat` prompt or the `serve` console, and their parsers, as
/// `term/slash.rs` reads them.
pub use crate::term::slash::{
    ChatCommand as ChatLine, OperatorCommand as OperatorLine, parse_chat, parse_operator,
};

/// What reading a key, or deciding whether to trust one, came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyVerdict {
    /// Trusted: pinned, or the key the known-servers file holds.
    Trusted,
    /// Trusted on first use, and recorded.
    FirstUse,
    /// Refused: the known-servers file holds another key for the server, on this line.
    Changed {
        /// The file's line (from 1).
        line: usize,
    },
    /// Refused: not the pinned key.
    NotPinned,
    /// A key file (or a line of the known-servers file) that does not hold a key.
    Invalid,
    /// Anything else (the file system, a key file others can read).
    Other(String),
}

impl From<HostError> for KeyVerdict {
    fn from(error: HostError) -> Self {
        match error {
            HostError::ServerKeyChanged { line, .. } => KeyVerdict::Changed { line },
            HostError::ServerKeyNotPinned { .. } => KeyVerdict::NotPinned,
            HostError::KeyFileInvalid { .. } => KeyVerdict::Invalid,
            other => KeyVerdict::Other(other.to_string()),
        }
    }
}

/// Reads a key file (a fleet's, or the server's): 64 hexadecimal digits.
pub fn read_key_file(path: &Path) -> Result<[u8; KEY_LEN], KeyVerdict> {
    keys::fleet_key(path).map_err(KeyVerdict::from)
}

/// Whether a client trusts `key` for `server` by the known-servers file at `file`
/// (recording it on first use).
pub fn trust_known(file: &Path, server: &str, key: &[u8; KEY_LEN]) -> KeyVerdict {
    match Trust::Known(file.to_owned()).decide(server, key) {
        Ok(None) => KeyVerdict::Trusted,
        Ok(Some(_)) => KeyVerdict::FirstUse,
        Err(error) => error.into(),
    }
}

/// Whether a client given `--server-key pin` trusts `key`: `Err` if the pin does not
/// parse.
pub fn trust_pinned(pin: &str, key: &[u8; KEY_LEN]) -> Result<KeyVerdict, String> {
    let pin = keys::parse_pin(pin)?;
    Ok(match Trust::Pinned(pin).decide("server", key) {
        Ok(_) => KeyVerdict::Trusted,
        Err(error) => error.into(),
    })
}

/// A line of a list of keys, as [`parse_key_list`] reads it: its key, its name, its number.
pub type KeyListLine = ([u8; KEY_LEN], String, usize);

/// A list of keys (authorized keys, owners, bans) read from `text`: each line's key, name
/// and number, or the first bad line's number and why.
pub fn parse_key_list(text: &str) -> Result<Vec<KeyListLine>, (usize, String)> {
    let lines = crate::identity::parse_key_list(text)?;
    Ok(lines.into_iter().map(|l| (l.key, l.name.as_str().to_owned(), l.line)).collect())
}

/// A key as key files hold it: 64 lower-case hexadecimal digits.
pub fn key_hex(key: &[u8; KEY_LEN]) -> String {
    keys::hex(key)
}

/// A key's fingerprint, as `minichat serve` prints it.
pub fn key_fingerprint(key: &[u8; KEY_LEN]) -> String {
    keys::print(key)
}

/// The topic prefix of [`BridgeInbound`]'s broker URL.
pub const BRIDGE_PREFIX: &str = "minichat";

/// What a bridge's link passed to its server's loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passed {
    /// A post of another server's, to store: its server and number.
    Post {
        /// The server's id.
        server: String,
        /// The post's number.
        seq: u64,
    },
    /// A server is gone.
    Gone(String),
    /// A server says whether its room is full.
    Busy(String, bool),
    /// Something for the operator.
    Notice,
}

/// The receiving side of a bridge's link to the broker, fed by hand: what the broker
/// would pass on, in, and what the link hands the server's loop, out. Nothing is
/// connected; what the link publishes is queued and dropped.
pub struct BridgeInbound {
    link: Link,
    from_link: Receiver<FromLink>,
    _to_link: Sender<ToLink>,
    _poll: mio::Poll,
}

impl std::fmt::Debug for BridgeInbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeInbound").finish_non_exhaustive()
    }
}

impl BridgeInbound {
    /// The link of the server whose id is `server` (16 hexadecimal digits), under
    /// [`BRIDGE_PREFIX`], sealed with `fleet_key` if given.
    pub fn new(server: u64, fleet_key: Option<&[u8; 32]>) -> io::Result<BridgeInbound> {
        let url = BridgeUrl::parse("mqtt://127.0.0.1:1").map_err(io::Error::other)?;
        let access = BridgeAccess::new(&url, None, None).map_err(io::Error::other)?;
        let poll = mio::Poll::new()?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(0))?);
        let (to_link, requests) = channel();
        let (out, from_link) = channel();
        let seal = fleet_key.map(|key| BridgeSeal::new(key, server));
        let id = format!("{server:016x}");
        let link = Link::new(url, access, id, requests, out, waker, seal);
        Ok(BridgeInbound { link, from_link, _to_link: to_link, _poll: poll })
    }

    /// What the broker passes on: `payload` published on `topic`.
    pub fn publish(&mut self, topic: &str, payload: &[u8]) {
        self.link.on_publish(topic, payload);
    }

    /// What the link handed the server's loop since the last call.
    pub fn passed(&mut self) -> Vec<Passed> {
        self.from_link
            .try_iter()
            .map(|message| match message {
                FromLink::Post(post) => Passed::Post { server: post.server, seq: post.seq },
                FromLink::Gone(server) => Passed::Gone(server),
                FromLink::Busy(server, busy) => Passed::Busy(server, busy),
                FromLink::Notice(_) => Passed::Notice,
            })
            .collect()
    }
}

/// Another server's bridge seal: what it publishes, sealed as the fleet's servers seal.
pub struct BridgeSealer(BridgeSeal);

impl std::fmt::Debug for BridgeSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl BridgeSealer {
    /// The seal of server `server` in the fleet whose key is `fleet_key`.
    pub fn new(fleet_key: &[u8; 32], server: u64) -> BridgeSealer {
        BridgeSealer(BridgeSeal::new(fleet_key, server))
    }

    /// `payload` sealed for `topic` as this server's message number `n`, at `now_ms`.
    pub fn seal_as(&self, topic: &str, payload: &[u8], n: u64, now_ms: u64) -> Option<Vec<u8>> {
        self.0.seal_as(topic, payload, n, now_ms).ok()
    }
}

/// The wall clock as a sealed bridge reads it: milliseconds since the Unix epoch.
pub fn wall_clock_ms() -> u64 {
    crate::bridge::wall_clock_ms()
}

/// What [`FramedStream::next_frame`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextFrame {
    /// A frame of this many bytes.
    Frame(usize),
    /// Nothing more waiting.
    Empty,
    /// Call again.
    Busy,
}

/// The host's framed byte stream (a serial line's, a TCP connection's) over any
/// non-blocking `IO`.
#[derive(Debug)]
pub struct FramedStream<IO>(StreamLink<IO>);

impl<IO: Read + Write> FramedStream<IO> {
    /// A stream over `io`, writing at most `write_chunk` bytes at a time.
    pub fn new(io: IO, write_chunk: usize) -> Self {
        FramedStream(StreamLink::new(io, write_chunk))
    }

    /// The next frame whose check matches, copied into `buf`.
    pub fn next_frame(&mut self, buf: &mut [u8]) -> io::Result<NextFrame> {
        Ok(match self.0.next_frame(buf)? {
            Next::Frame(len) => NextFrame::Frame(len),
            Next::Empty => NextFrame::Empty,
            Next::Busy => NextFrame::Busy,
        })
    }

    /// Queues `frame` and writes what the stream takes: `Ok(false)` if it was dropped.
    pub fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        self.0.send(frame)
    }

    /// Writes what the stream takes of the queued output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }

    /// Frames dropped for want of room.
    pub fn dropped(&self) -> u64 {
        self.0.dropped
    }

    /// The decoder's counts.
    pub fn stats(&self) -> &StreamStats {
        self.0.stats()
    }

    /// The stream.
    pub fn into_io(self) -> IO {
        self.0.into_io()
    }
}
