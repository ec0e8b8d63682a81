//! The secure session's own cost (issue 13): a client's Noise NK handshake with the server
//! key it was built with, then sealed and opened datagrams, on whatever the network
//! brings, under the same no-panic proof. Its `.text` is the crypto's footprint
//! (X25519, ChaCha20-Poly1305, SHA-256 and the Noise layer), apart from the plaintext
//! client's.
#![no_std]
#![no_main]

use core::hint::black_box;

use minichat_core::secure::{Initiator, Pattern, Session};
use minichat_core::wire::limits::MAX_FRAME;
use minichat_firmware::{Clock, opaque_bytes_mut};
#[cfg(not(feature = "find-panics"))]
use panic_never as _;

/// The server's public key, compiled in (a pinned key).
const SERVER_KEY: [u8; 32] = [0x42; 32];

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let mut clock = Clock::new();
    let mut network = [0u8; MAX_FRAME + 8];
    let mut out = [0u8; MAX_FRAME];
    let mut session: Option<Session> = None;
    loop {
        let now = clock.tick();
        let ephemeral = black_box([now.as_millis() as u8; 32]);
        let pattern = if black_box(now.as_millis() & 1 == 0) {
            Pattern::Nk
        } else {
            Pattern::NkPsk0(black_box([7; 32]))
        };
        match &mut session {
            None => {
                let Ok((initiator, _)) = Initiator::start(
                    &pattern,
                    b"minichat",
                    &SERVER_KEY,
                    ephemeral,
                    b"join",
                    &mut out,
                ) else {
                    continue;
                };
                let answer = opaque_bytes_mut(&mut network);
                if let Ok((keys, _)) = initiator.finish(&pattern, answer) {
                    session = Some(keys);
                }
            }
            Some(keys) => {
                let sealed = keys.seal(b"header", &mut out, black_box(64));
                let incoming = opaque_bytes_mut(&mut network);
                let opened = keys.open(black_box(u64::from(now.as_millis())), b"header", incoming);
                let _ = black_box((sealed, opened));
            }
        }
    }
}
