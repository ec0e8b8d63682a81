//! The chat server on a microcontroller: minichat's server for 8 users on QEMU's
//! lm3s6965evb, serving a user on each of UART0 and UART1 (each a serial line to a
//! computer running `minichat chat --serial`), all in one room.
//!
//! `cargo run --release --bin qemu-server` boots it with UART0 on a pseudo-terminal; with
//! `-serial pty -serial pty` (see README.md) UART1 gets one too.
//!
//! With `wrap-soon` its clock starts ten seconds before it wraps, its keep-alive is 2 s,
//! its rate limit bursts of 2 at 1 message a second, and its operator says `the board's
//! clock wrapped 10 s ago` to the room 10 s after the wrap (the test of the wrapping
//! clock).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use minichat_core::address::SerialLine;
use minichat_core::error::ServerError;
use minichat_core::server::{ServerConfig, ServerEvent, StaticServer};
use minichat_core::wire::limits::MAX_FRAME;
use minichat_qemu::entropy::{boot_entropy, mix};
use minichat_qemu::serial_link::SerialLink;
use minichat_qemu::uart::Uart;
use minichat_qemu::{clock, halt, log};

/// UARTs served.
const LINKS: usize = 2;

/// 8 user slots, scanned (no index entries: at this size a scan costs less than hashing);
/// history and resending: at most 16 messages, in 2 KiB of names and texts.
type McuServer = StaticServer<8, 16, SerialLine, 2048, 0>;

/// Everything the program keeps, each part in its own static (so `.bss` shows its RAM,
/// and no part is ever copied on the stack together with another).
struct State {
    server: &'static mut McuServer,
    links: &'static mut [SerialLink; LINKS],
    rx: &'static mut [u8; MAX_FRAME],
    tx: &'static mut [u8; MAX_FRAME],
}

#[entry]
fn main() -> ! {
    minichat_qemu::start();
    let seed = boot_entropy();
    let mut secret = [0u8; 16];
    secret[..8].copy_from_slice(&mix(seed).to_le_bytes());
    secret[8..].copy_from_slice(&mix(seed ^ 0x5eed).to_le_bytes());
    let mut config = ServerConfig::new(secret, seed);
    if config.set_capacity(8).is_err() {
        halt()
    }
    // The test of the wrap: keep-alives every 2 s, so a silent user goes after 6 s; and
    // bursts of 2 messages at 1 a second, so the rate limiter must refill after the wrap.
    #[cfg(feature = "wrap-soon")]
    {
        use minichat_core::time::Duration;
        let (keepalive, idle_timeout) = (Duration::from_secs(2), Duration::from_secs(6));
        let wrap_soon = |config: &mut ServerConfig| {
            config.set_liveness(keepalive, idle_timeout)?.set_rate_per_sec(1)?.set_burst(2)?;
            Ok::<_, minichat_core::ConfigError>(())
        };
        if wrap_soon(&mut config).is_err() {
            halt()
        }
    }
    let Some(Ok(server)) =
        cortex_m::singleton!(: Result<McuServer, ServerError> = McuServer::new(config))
    else {
        halt()
    };
    let Some(links) = cortex_m::singleton!(: [SerialLink; LINKS] =
        [SerialLink::new(Uart::new(0)), SerialLink::new(Uart::new(1))])
    else {
        halt()
    };
    let (rx, tx) = minichat_qemu::frame_buffers();
    let mut state = State { server, links, rx, tx };
    let state = &mut state;
    log::line(&["qemu-server: serving 8 users on UART0 and UART1"]);
    #[cfg(feature = "wrap-soon")]
    let mut told_wrap = false;
    loop {
        #[cfg(feature = "wrap-soon")]
        tell_wrap(state.server, &mut told_wrap);
        if !turn(state) {
            cortex_m::asm::wfi();
        }
    }
}

/// One pass: frames in (and immediate answers), timers, events, frames out.
fn turn(state: &mut State) -> bool {
    let now = clock::now();
    let State { server, links, rx, tx } = state;
    let mut busy = false;
    for port in 0..LINKS {
        let from = SerialLine(port as u8);
        while let Some(len) = links.get_mut(port).and_then(|link| link.next_frame(&mut rx[..])) {
            busy = true;
            let frame = rx.get(..len).unwrap_or_default();
            if let Some(reply) = server.handle(now, from, frame, &mut tx[..]) {
                send(links, reply.destination, tx.get(..reply.len).unwrap_or_default());
            }
        }
    }
    if server.poll_timeout().is_some_and(|at| at <= now) {
        server.handle_timeout(now);
    }
    while let Some(event) = server.poll_event() {
        busy = true;
        match event {
            ServerEvent::Joined { name, addr } => {
                let uart = if addr.0 == 0 { "UART0" } else { "UART1" };
                log::line(&["qemu-server: ", name.as_str(), " joined on ", uart]);
            }
            ServerEvent::Left { name, .. } => log::line(&["qemu-server: ", name.as_str(), " left"]),
            _ => {}
        }
    }
    while let Some(transmit) = server.poll_transmit(now, &mut tx[..]) {
        busy = true;
        send(links, transmit.destination, tx.get(..transmit.len).unwrap_or_default());
    }
    busy
}

/// Ten seconds after the clock wrapped (it started just before, `wrap-soon`), the operator
/// says so to the room: the test of the wrap waits for it, then checks that the rate
/// limiter still refills and a user who went silent is still dropped on time.
#[cfg(feature = "wrap-soon")]
fn tell_wrap(server: &mut McuServer, told: &mut bool) {
    if !*told && clock::wrapped_10_s_ago() && server.user_count() > 0 {
        let text = "the board's clock wrapped 10 s ago";
        *told = server.announce(clock::now(), text, None).is_ok();
    }
}

fn send(links: &mut [SerialLink; LINKS], to: SerialLine, frame: &[u8]) {
    if let Some(link) = links.get_mut(usize::from(to.0)) {
        link.send(frame);
    }
}
