//! What an encrypted session costs the board, counted: each step of the Noise NK
//! handshake (client and server sides, with the core's `secure` module), each step of the
//! IK handshake (a client that proves a key of its own), one X25519, and sealing and
//! opening a 64-byte frame, each in instructions, then the program exits.
//!
//! Run under QEMU with `-icount shift=0`, where the emulated clock advances one
//! nanosecond per instruction: the SysTick clock then counts instructions, and a
//! `cortex_m::asm::delay` loop of known length (two instructions an iteration) converts
//! its ticks into them. Instructions, not cycles: a Cortex-M3 takes one or more cycles
//! per instruction (loads and taken branches more), so the time on a real board is at
//! least this count divided by its clock. `python3 handshake.py` runs it and prints the
//! table of BENCHMARKS.md.
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use minichat_core::secure::{
    IkInitiator, IkPattern, IkResponder, Initiator, Keypair, PROLOGUE, Pattern, Responder,
};
use minichat_qemu::{clock, halt, log};

/// Iterations of the calibration loop (two instructions each).
const CALIBRATION: u32 = 5_000_000;

#[entry]
fn main() -> ! {
    minichat_qemu::start();
    let t = clock::ticks();
    cortex_m::asm::delay(CALIBRATION);
    // delay(n) runs n + 1 iterations of `subs; bne`.
    let calibration = (clock::ticks() - t, 2 * (u64::from(CALIBRATION) + 1));
    let report = |what: &str, ticks: u64| {
        let instructions = ticks * calibration.1 / calibration.0.max(1);
        let mut digits = [0u8; 20];
        log::line(&["qemu-handshake: ", what, " ", log::decimal(instructions, &mut digits)]);
    };

    // The method checked: a loop of known length (2,000,002 instructions), counted.
    let t = clock::ticks();
    cortex_m::asm::delay(black_box(1_000_000));
    report("check-2000002", clock::ticks() - t);

    let t = clock::ticks();
    let server = Keypair::from_private(black_box([0x5a; 32]));
    report("x25519", clock::ticks() - t);
    #[cfg(feature = "salty")]
    {
        let t = clock::ticks();
        let secret = salty::agreement::SecretKey::from_seed(&black_box([0x5a; 32]));
        let public = salty::agreement::PublicKey::from(&secret).to_bytes();
        report("x25519-salty", clock::ticks() - t);
        if &public != server.public() {
            log::line(&["qemu-handshake: salty's X25519 disagrees"]);
            debug::exit(debug::EXIT_FAILURE);
        }
    }

    let pattern = Pattern::Nk;
    let mut first = [0u8; 128];
    let mut answer = [0u8; 128];
    let t = clock::ticks();
    let Ok((initiator, len)) =
        Initiator::start(&pattern, PROLOGUE, server.public(), [0x21; 32], b"join", &mut first)
    else {
        halt()
    };
    report("client-hello", clock::ticks() - t);
    let t = clock::ticks();
    let Ok((responder, _)) =
        Responder::read(&pattern, PROLOGUE, &server, first.get_mut(..len).unwrap_or_default())
    else {
        halt()
    };
    report("server-read", clock::ticks() - t);
    let t = clock::ticks();
    let Ok((mut at_server, len)) = responder.answer(&pattern, [0x41; 32], b"welcome", &mut answer)
    else {
        halt()
    };
    report("server-answer", clock::ticks() - t);
    let t = clock::ticks();
    let Ok((mut at_client, _)) =
        initiator.finish(&pattern, answer.get_mut(..len).unwrap_or_default())
    else {
        halt()
    };
    report("client-finish", clock::ticks() - t);
    if !ik_steps(&server, &report) {
        halt()
    }

    let mut frame = [0x61u8; 64 + 16];
    let ad = [0u8; 19];
    let t = clock::ticks();
    let Ok((nonce, sealed)) = at_client.seal(&ad, &mut frame, 64) else { halt() };
    let opened = at_server.open(nonce, &ad, frame.get_mut(..sealed).unwrap_or_default());
    report("seal-open-64", clock::ticks() - t);
    log::line(&[if opened.is_ok() { "qemu-handshake: done" } else { "qemu-handshake: failed" }]);
    debug::exit(if opened.is_ok() { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    halt()
}

/// The IK handshake's steps, reported as the NK ones are, with `-key` after their names;
/// whether both sides agreed.
fn ik_steps(server: &Keypair, report: &dyn Fn(&str, u64)) -> bool {
    let client = Keypair::from_private(black_box([0x6b; 32]));
    let pattern = IkPattern::Ik;
    let mut first = [0u8; 160];
    let mut answer = [0u8; 128];
    let t = clock::ticks();
    let started = IkInitiator::start(
        &pattern,
        PROLOGUE,
        server.public(),
        &client,
        [0x21; 32],
        b"join",
        &mut first,
    );
    report("client-hello-key", clock::ticks() - t);
    let Ok((initiator, len)) = started else { return false };
    let t = clock::ticks();
    let read =
        IkResponder::read(&pattern, PROLOGUE, server, first.get_mut(..len).unwrap_or_default());
    report("server-read-key", clock::ticks() - t);
    let Ok((responder, _)) = read else { return false };
    if responder.remote_static() != client.public() {
        return false;
    }
    let t = clock::ticks();
    let answered = responder.answer(&pattern, [0x41; 32], b"welcome", &mut answer);
    report("server-answer-key", clock::ticks() - t);
    let Ok((_, len)) = answered else { return false };
    let t = clock::ticks();
    let finished = initiator.finish(&pattern, answer.get_mut(..len).unwrap_or_default());
    report("client-finish-key", clock::ticks() - t);
    finished.is_ok()
}
