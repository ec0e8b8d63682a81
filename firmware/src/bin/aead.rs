//! One AEAD alone, sealing and opening whatever the network brings: ChaCha20-Poly1305 (what
//! encrypted sessions use) by default, Ascon-AEAD128 with `--features ascon`, neither with
//! `--features no-cipher` (the loop around them). The differences of their `.text` are the
//! ciphers' own sizes (BENCHMARKS.md, "Secure sessions").
#![no_std]
#![no_main]

use core::hint::black_box;

use minichat_core::wire::limits::MAX_FRAME;
use minichat_firmware::{halt, opaque_bytes_mut};

#[cfg(not(any(feature = "ascon", feature = "no-cipher")))]
use chacha20poly1305::{
    ChaCha20Poly1305 as Cipher,
    aead::{AeadInPlace, KeyInit},
};

#[cfg(all(feature = "ascon", not(feature = "no-cipher")))]
use ascon_aead::{
    AsconAead128 as Cipher,
    aead::{AeadInPlace, KeyInit},
};

// Whichever cipher: its key and nonce sizes, its tag; the crate's panicking branches are
// outside minichat's proof, as in the `secure` program.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    halt()
}

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let mut frame = [0u8; MAX_FRAME + 8];
    loop {
        let bytes = opaque_bytes_mut(&mut frame);
        let (ad, body) = bytes.split_at_mut(bytes.len().min(19));
        #[cfg(not(feature = "no-cipher"))]
        {
            let cipher = Cipher::new(&black_box(Default::default()));
            let nonce = black_box(Default::default());
            if let Ok(tag) = cipher.encrypt_in_place_detached(&nonce, ad, body) {
                let opened = cipher.decrypt_in_place_detached(&nonce, ad, body, &black_box(tag));
                black_box(opened.is_ok());
            }
        }
        #[cfg(feature = "no-cipher")]
        black_box((ad, body));
    }
}
