//! The upper-case echo of the original socket programs, now on a microcontroller: a
//! minichat client on QEMU's lm3s6965evb that joins over UART0 as `mcu`, says `mcu is
//! up` to the room, and answers every direct message with its text upper-cased (ASCII
//! letters; the rest passes unchanged).
//!
//! With `wrap-soon` its clock starts ten seconds before it wraps, and it says `mcu's clock
//! wrapped 10 s ago` to the room when it has (the test of the wrapping clock).
//!
//! With the `full` feature it also asks who is in the room and for an echo when it joins
//! (the full client, measured beside this minimal one in BENCHMARKS.md). With
//! `small-frames` it takes frames of 256 B and its join says so (2 KiB of RAM). With `secure` it
//! joins in an encrypted session (Noise NK; NKpsk0 with a fleet key) with the one server
//! whose key it was built with: `MINICHAT_SERVER_KEY=$(minichat key --public) cargo run
//! --release --features secure --bin qemu-chat`. With `client-keys` and MINICHAT_CLIENT_KEY
//! (a private key, such as a file `minichat key --client --key board.key` made) it proves
//! that key as it joins (Noise IK): the server keeps `mcu` for it, or lets it in only
//! if its operator listed it.
//!
//! `cargo run --release --bin qemu-chat` boots it; QEMU prints the pseudo-terminal UART0
//! is on, and `minichat serve --serial /dev/pts/N` puts `mcu` in the room.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use minichat_core::address::PointToPoint;
use minichat_core::client::{Client, ClientConfig, ClientEvent};
use minichat_core::time::Duration;
use minichat_core::wire::limits::{DELIVER_OVERHEAD, SEALED_OVERHEAD};
use minichat_qemu::serial_link::SerialLink;
use minichat_qemu::uart::Uart;
use minichat_qemu::{clock, halt, log};

/// The client: one message in flight (stop-and-wait: every answer is a `tell`, and a tell
/// travels alone anyway; 532 B of code less than four), a few events, no early delivery
/// held (a serial line rarely loses a frame, and the server resends everything after a
/// gap: 136 B of code saved); its one peer is the other end of the serial line. Its texts
/// live in two small arenas. (The sizes keep it within 4 KiB of RAM with frames of 1 KiB,
/// 2 KiB with frames of 256 B, the stack included: BENCHMARKS.md, "Firmware on QEMU".)
type McuClient = Client<QUEUE, EVENTS, 0, PointToPoint, ANSWER_BYTES, EVENT_BYTES>;

/// Messages the client holds until the server has them.
const QUEUE: usize = 1;

/// The sizes for the protocol's frames, up to 1 KiB.
#[cfg(not(feature = "small-frames"))]
mod sizes {
    /// The largest frame the board takes and sends.
    pub const FRAME: usize = minichat_core::wire::limits::MAX_FRAME;
    /// Events waiting for the program.
    pub const EVENTS: usize = 6;
    /// The longest answer: the outbox holds one. A longer message is not answered (the
    /// log says so).
    pub const ANSWER_BYTES: usize = 256;
    /// What the texts of events waiting for this program share: a message longer than
    /// this reaches it as a loss it is told of (`Missed`).
    pub const EVENT_BYTES: usize = 384;
}

/// The sizes with `small-frames`: the board takes frames of 256 B and its join says so,
/// so the server tells it of a longer message as lost instead of sending it.
#[cfg(feature = "small-frames")]
mod sizes {
    /// The largest frame the board takes and sends.
    pub const FRAME: usize = 256;
    /// Events waiting for the program.
    pub const EVENTS: usize = 3;
    /// The longest answer.
    pub const ANSWER_BYTES: usize = 128;
    /// Room for the longest text a 256-byte frame delivers (221 B).
    pub const EVENT_BYTES: usize = 224;
}

use sizes::{ANSWER_BYTES, EVENT_BYTES, EVENTS, FRAME};

/// The link's decoder holds a frame and its check.
const LINK_BYTES: usize = FRAME + minichat_core::stream::CHECK_LEN;

/// The largest frame the board sends: a `tell` of the longest answer to a user with the
/// longest name (no larger than a `deliver` of it), sealed in the secure build; a join, a
/// hello or a request is smaller.
const SEND_FRAME: usize = DELIVER_OVERHEAD + ANSWER_BYTES + SEALED_OVERHEAD;

/// Everything the program keeps, each part in its own static (so `.bss` shows its RAM,
/// and no part is ever copied on the stack together with another). Frames come in where
/// the link decoded them: one frame buffer, for sending.
struct State {
    client: &'static mut McuClient,
    link: &'static mut SerialLink<LINK_BYTES>,
    tx: &'static mut [u8; SEND_FRAME],
}

#[entry]
fn main() -> ! {
    minichat_qemu::start();
    run(start())
}

/// The program's loop: a turn, then sleep until the next tick if it found nothing to do.
/// Not inlined, like [`start`], so its frame and `start`'s share the same stack.
#[inline(never)]
fn run(mut state: State) -> ! {
    let state = &mut state;
    log::line(&["qemu-chat: joining as mcu over UART0"]);
    #[cfg(feature = "wrap-soon")]
    let mut told_wrap = false;
    loop {
        #[cfg(feature = "wrap-soon")]
        tell_wrap(state.client, &mut told_wrap);
        let busy = turn(state);
        if !busy {
            // Until the next millisecond tick.
            cortex_m::asm::wfi();
        }
    }
}

/// Builds the client, the link and the frame buffer in their statics. Not inlined: the
/// parts the client is built from pass through this frame (its arenas, 800 B), which the
/// turns reuse once it returns (in `main`'s, they would hold that stack for good).
#[inline(never)]
fn start() -> State {
    // No random source on this board (the secure build's keys take one from the host):
    // the nonces still differ per join attempt.
    let Ok(mut config) = ClientConfig::new("mcu", PointToPoint, 0x6d63_7521) else { halt() };
    // A serial line is quick and nothing else shares it: retry joins at most every 2 s.
    let (initial, min, _) = config.retransmission();
    if config.set_retransmission(initial, min, Duration::from_secs(2)).is_err() {
        halt()
    }
    #[cfg(feature = "small-frames")]
    if config.set_max_frame(FRAME).is_err() {
        halt()
    }
    let Some(client) = cortex_m::singleton!(: McuClient = McuClient::new(config, clock::now()))
    else {
        halt()
    };
    #[cfg(feature = "secure")]
    {
        client.set_server_key(
            minichat_qemu::server_key::server_key(),
            minichat_qemu::entropy::boot_seed(),
        );
        #[cfg(feature = "client-keys")]
        if let Some(keypair) = minichat_qemu::server_key::client_keypair() {
            client.set_client_key(keypair);
        }
    }
    let Some(link) = cortex_m::singleton!(: SerialLink<LINK_BYTES> = SerialLink::new(Uart::new(0)))
    else {
        halt()
    };
    let Some(tx) = cortex_m::singleton!(: [u8; SEND_FRAME] = [0; SEND_FRAME]) else { halt() };
    State { client, link, tx }
}

/// One pass: frames in, timers, events, frames out. Returns whether anything happened.
fn turn(state: &mut State) -> bool {
    let now = clock::now();
    let State { client, link, tx } = state;
    let mut busy = false;
    while link.take_frame(|frame| client.handle(now, PointToPoint, frame)) {
        busy = true;
    }
    if client.poll_timeout().is_some_and(|at| at <= now) {
        client.handle_timeout(now);
    }
    // An event may need a message sent (the answer to a direct message): take one only
    // while the queue has room for it. The rest wait in the client, which leaves further
    // deliveries unacknowledged once its events fill up, so the server sends them again
    // later: none is lost, none is answered twice.
    // The frame buffer is free until the frames go out: answers are written there.
    while client.pending() < QUEUE && on_event(client, &mut tx[..]) {
        busy = true;
    }
    while let Some(transmit) = client.poll_transmit(now, &mut tx[..]) {
        busy = true;
        link.send(tx.get(..transmit.len).unwrap_or_default());
    }
    busy
}

/// Takes the next event, if there is one, and acts on it, with `scratch` to write an
/// answer in. Returns whether there was one.
fn on_event(client: &mut McuClient, scratch: &mut [u8]) -> bool {
    let now = clock::now();
    let Some(event) = client.poll_event() else { return false };
    match event {
        ClientEvent::Joined { rejoined, .. } => {
            #[cfg(feature = "secure")]
            let how = if client.is_encrypted() { " (encrypted)" } else { " (in the clear)" };
            #[cfg(not(feature = "secure"))]
            let how = " (in the clear)";
            log::line(&["qemu-chat: joined as mcu", how]);
            if !rejoined {
                let _ = client.say(now, "mcu is up");
            }
            #[cfg(feature = "full")]
            {
                let _ = client.who(now);
                let _ = client.echo(now, minichat_core::wire::EchoMode::Upper, "echo");
            }
        }
        ClientEvent::Message { from, text, direct: true, history: false } => {
            log::line(&["qemu-chat: ", from.as_str(), " asked for ", text]);
            // The answer is copied out of the client's arena before it is queued there.
            match upper(text, scratch) {
                Some(answer) => drop(client.tell(now, from.as_str(), answer)),
                None => log::line(&["qemu-chat: too long to answer"]),
            }
            #[cfg(feature = "ram-report")]
            minichat_qemu::ram::log_used("qemu-chat");
        }
        // Longer than its event arena holds (or lost by the server): said, not silent.
        ClientEvent::Missed { .. } => {
            log::line(&["qemu-chat: missed messages"]);
            #[cfg(feature = "ram-report")]
            minichat_qemu::ram::log_used("qemu-chat");
        }
        #[cfg(feature = "full")]
        ClientEvent::Users { names, .. } => {
            for name in names.iter() {
                log::line(&["qemu-chat: in the room: ", name.as_str()]);
            }
        }
        #[cfg(feature = "full")]
        ClientEvent::EchoReply { text, .. } => {
            log::line(&["qemu-chat: the server echoed ", text]);
        }
        ClientEvent::Refused { detail, .. } => {
            log::line(&["qemu-chat: refused: ", detail]);
        }
        ClientEvent::Kicked => log::line(&["qemu-chat: the operator removed mcu"]),
        _ => {}
    }
    true
}

/// Ten seconds after the clock wrapped (it started just before, `wrap-soon`), says so to
/// the room: the test of the wrap waits for it before it asks for an answer.
#[cfg(feature = "wrap-soon")]
fn tell_wrap(client: &mut McuClient, told: &mut bool) {
    if !*told && clock::wrapped_10_s_ago() && client.is_joined() && client.pending() == 0 {
        *told = client.say(clock::now(), "mcu's clock wrapped 10 s ago").is_ok();
    }
}

/// `text` with its ASCII letters upper-cased, written in `scratch`; other characters pass
/// unchanged. (Unicode's case tables would cost this firmware 13.8 KB of flash:
/// BENCHMARKS.md.) `None` if it is longer than an answer may be.
fn upper<'s>(text: &str, scratch: &'s mut [u8]) -> Option<&'s str> {
    let answer = scratch.get_mut(..text.len()).filter(|_| text.len() <= ANSWER_BYTES)?;
    answer.iter_mut().zip(text.bytes()).for_each(|(to, from)| *to = from.to_ascii_uppercase());
    // Upper-casing ASCII letters keeps UTF-8 valid.
    core::str::from_utf8(answer).ok()
}
