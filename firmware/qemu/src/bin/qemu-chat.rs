//! The upper-case echo of the original socket programs, now on a microcontroller: a
//! minichat client on QEMU's lm3s6965evb that joins over UART0 as `mcu`, says `mcu is
//! up` to the room, and answers every direct message with its text upper-cased (ASCII
//! letters; the rest passes unchanged).
//!
//! With `wrap-soon` its clock starts ten seconds before it wraps, and it says `mcu's clock
//! wrapped 10 s ago` to the room when it has (the test of the wrapping clock).
//!
//! With the `full` feature it also asks who is in the room and for an echo when it joins
//! (the full client, measured beside this minimal one in BENCHMARKS.md). With `secure` it
//! joins in an encrypted session (Noise NK; NKpsk0 with a fleet key) with the one server
//! whose key it was built with: `MINICHAT_SERVER_KEY=$(minichat key --public) cargo run
//! --release --features secure --bin qemu-chat`.
//!
//! `cargo run --release --bin qemu-chat` boots it; QEMU prints the pseudo-terminal UART0
//! is on, and `minichat serve --serial /dev/pts/N` puts `mcu` in the room.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use minichat_core::address::PointToPoint;
use minichat_core::client::{Client, ClientConfig, ClientEvent};
use minichat_core::time::Duration;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{NameBuf, TextBuf};
use minichat_qemu::serial_link::SerialLink;
use minichat_qemu::uart::Uart;
use minichat_qemu::{clock, halt, log};

/// The client: one message in flight (stop-and-wait: every answer is a `tell`, and a tell
/// travels alone anyway; 3 KB of RAM and 532 B of code less than four), 8 events, no early
/// delivery held (a serial line rarely loses a frame, and the server resends everything
/// after a gap: 4 KB of RAM and 136 B of code saved); its one peer is the other end of the
/// serial line.
type McuClient = Client<QUEUE, 8, 0, PointToPoint>;

/// Messages the client holds until the server has them.
const QUEUE: usize = 1;

/// Everything the program keeps, each part in its own static (so `.bss` shows its RAM,
/// and no part is ever copied on the stack together with another).
struct State {
    client: &'static mut McuClient,
    link: &'static mut SerialLink,
    rx: &'static mut [u8; MAX_FRAME],
    tx: &'static mut [u8; MAX_FRAME],
}

#[entry]
fn main() -> ! {
    minichat_qemu::start();
    let name = NameBuf::parse("mcu").unwrap_or(NameBuf::PLACEHOLDER);
    let mut config = ClientConfig::new(name, PointToPoint);
    // A serial line is quick and nothing else shares it: retry joins at most every 2 s.
    config.rto_max = Duration::from_secs(2);
    // No random source on this board: the nonces still differ per join attempt.
    config.entropy = 0x6d63_7521_u64;
    let Some(client) = cortex_m::singleton!(: McuClient = McuClient::new(config, clock::now()))
    else {
        halt()
    };
    #[cfg(feature = "secure")]
    client.set_server_key(
        minichat_qemu::server_key::server_key(),
        minichat_qemu::entropy::boot_seed(),
    );
    let Some(link) = cortex_m::singleton!(: SerialLink = SerialLink::new(Uart::new(0))) else {
        halt()
    };
    let (rx, tx) = minichat_qemu::frame_buffers();
    let mut state = State { client, link, rx, tx };
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

/// One pass: frames in, timers, events, frames out. Returns whether anything happened.
fn turn(state: &mut State) -> bool {
    let now = clock::now();
    let State { client, link, rx, tx } = state;
    let mut busy = false;
    while let Some(len) = link.next_frame(&mut rx[..]) {
        busy = true;
        client.handle(now, PointToPoint, rx.get(..len).unwrap_or_default());
    }
    if client.poll_timeout().is_some_and(|at| at <= now) {
        client.handle_timeout(now);
    }
    // An event may need a message sent (the answer to a direct message): take one only
    // while the queue has room for it. The rest wait in the client, which leaves further
    // deliveries unacknowledged once its events fill up, so the server sends them again
    // later: none is lost, none is answered twice.
    while client.pending() < QUEUE
        && let Some(event) = client.poll_event()
    {
        busy = true;
        on_event(client, event);
    }
    while let Some(transmit) = client.poll_transmit(now, &mut tx[..]) {
        busy = true;
        link.send(tx.get(..transmit.len).unwrap_or_default());
    }
    busy
}

fn on_event(client: &mut McuClient, event: ClientEvent) {
    let now = clock::now();
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
            log::line(&["qemu-chat: ", from.as_str(), " asked for ", text.as_str()]);
            let _ = client.tell(now, from.as_str(), upper(&text).as_str());
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
            log::line(&["qemu-chat: the server echoed ", text.as_str()]);
        }
        ClientEvent::Refused { detail, .. } => {
            log::line(&["qemu-chat: refused: ", detail.as_str()]);
        }
        _ => {}
    }
}

/// Ten seconds after the clock wrapped (it started just before, `wrap-soon`), says so to
/// the room: the test of the wrap waits for it before it asks for an answer.
#[cfg(feature = "wrap-soon")]
fn tell_wrap(client: &mut McuClient, told: &mut bool) {
    if !*told && clock::wrapped_10_s_ago() && client.is_joined() && client.pending() == 0 {
        *told = client.say(clock::now(), "mcu's clock wrapped 10 s ago").is_ok();
    }
}

/// `text` with its ASCII letters upper-cased; other characters pass unchanged. (Unicode's
/// case tables would cost this firmware 13.8 KB of flash: BENCHMARKS.md.)
fn upper(text: &str) -> TextBuf {
    let mut out = TextBuf::new();
    for c in text.chars().map(|c| c.to_ascii_uppercase()) {
        if out.push(c).is_err() {
            break;
        }
    }
    out
}
