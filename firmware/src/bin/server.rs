//! A server for 8 users alone, with whatever the network brings: the footprint of a
//! server firmware, under the same no-panic proof.
#![no_std]
#![no_main]

use core::hint::black_box;

use minichat_core::wire::limits::MAX_FRAME;
use minichat_firmware::{Clock, Wire, client_addr, new_server, opaque_bytes, turn_server};
#[cfg(not(feature = "find-panics"))]
use panic_never as _;

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let mut clock = Clock::new();
    let mut wire = Wire::new();
    let mut server = new_server();
    let mut from_network = [0u8; MAX_FRAME + 8];
    let mut driver = minichat_core::Driver::new();
    loop {
        let now = clock.tick();
        wire.inject(black_box(client_addr()), opaque_bytes(&mut from_network));
        turn_server(&mut driver, &mut wire, &mut server, now);
    }
}
