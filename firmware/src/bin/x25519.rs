//! One X25519 implementation alone, on keys the optimiser cannot see: curve25519-dalek's
//! (through x25519-dalek, what encrypted sessions use) by default, ed25519-compact's with
//! `--features compact`, salty's with `--features salty`, neither with `--features
//! no-curve`. The differences of their `.text` are the curves' own sizes (BENCHMARKS.md,
//! "Secure sessions").
#![no_std]
#![no_main]

use core::hint::black_box;

use minichat_firmware::halt;

// The crates' panicking branches are outside minichat's proof, as in `secure`.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    halt()
}

#[cfg(not(any(feature = "compact", feature = "salty", feature = "no-curve")))]
fn x25519(k: [u8; 32], u: [u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(k, u)
}

#[cfg(all(feature = "compact", not(feature = "no-curve")))]
fn x25519(k: [u8; 32], u: [u8; 32]) -> [u8; 32] {
    use ed25519_compact::x25519::{PublicKey, SecretKey};
    let (Ok(sk), Ok(pk)) = (SecretKey::from_slice(&k), PublicKey::from_slice(&u)) else {
        return [0; 32];
    };
    pk.dh(&sk).map(|shared| *shared).unwrap_or([0; 32])
}

#[cfg(all(feature = "salty", not(any(feature = "compact", feature = "no-curve"))))]
fn x25519(k: [u8; 32], u: [u8; 32]) -> [u8; 32] {
    let secret = salty::agreement::SecretKey::from_seed(&k);
    secret.agree(&salty::agreement::PublicKey::from(u)).to_bytes()
}

#[cfg(feature = "no-curve")]
fn x25519(k: [u8; 32], u: [u8; 32]) -> [u8; 32] {
    black_box((k, u)).0
}

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    loop {
        black_box(x25519(black_box([0x5a; 32]), black_box([9; 32])));
    }
}
