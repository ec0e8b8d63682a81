//! Something different for every start, from QEMU's semihosting clocks: the host's time
//! in seconds and the nanoseconds since the emulator started. That makes each boot's
//! server secret and session tokens differ, as the protocol needs, but it is not secret
//! to someone who knows when the board started: a real board takes these from its
//! hardware random generator.
#![allow(unsafe_code)] // semihosting calls, in this file only

use cortex_m_semihosting::{nr, syscall1};

/// 64 bits that differ from one start to the next.
pub fn boot_entropy() -> u64 {
    // SAFETY: SYS_TIME takes no argument block and returns seconds since the epoch.
    let seconds = unsafe { syscall1(nr::TIME, 0) } as u64;
    let mut elapsed = [0u32; 2];
    // SAFETY: SYS_ELAPSED writes the 64-bit tick count into the two words it is given,
    // which live until the call returns.
    let ok = unsafe { syscall1(nr::ELAPSED, elapsed.as_mut_ptr() as usize) } == 0;
    let ticks = if ok { u64::from(elapsed[0]) | (u64::from(elapsed[1]) << 32) } else { 0 };
    mix(seconds ^ ticks.rotate_left(32))
}

/// SplitMix64's finaliser: every input bit moves every output bit.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 32 bytes for the secure client's key generator, from [`boot_entropy`]: they differ
/// from one start to the next, but hold only its 64 bits, guessable from when the board
/// started. On QEMU that is what there is; a real board seeds from its hardware random
/// generator, or the ephemeral keys (and with them the sessions' secrecy) are guessable.
pub fn boot_seed() -> [u8; 32] {
    let boot = boot_entropy();
    let mut seed = [0u8; 32];
    for (i, chunk) in seed.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(boot ^ (i as u64 + 1)).to_le_bytes());
    }
    seed
}
