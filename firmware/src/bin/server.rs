//! A server for 8 users alone, with whatever the network brings: the footprint of a
//! server firmware, under the same no-panic proof.
#![no_std]
#![no_main]

use core::hint::black_box;

use minichat_core::server::{Server, ServerConfig};
use minichat_core::transport::Driver;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_firmware::{Clock, End, Link, Wire, client_addr, halt, opaque_bytes};
#[cfg(not(feature = "find-panics"))]
use panic_never as _;

/// Ring entries of the firmware server.
const RING: usize = 16;

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let mut clock = Clock::new();
    let mut wire = Wire::new();
    let mut config = ServerConfig::new(black_box([0x42; 16]));
    config.capacity = black_box(8);
    let Ok(mut server) = Server::<8, RING>::new(config) else { halt() };
    let mut from_network = [0u8; MAX_FRAME + 8];
    loop {
        let now = clock.tick();
        wire.inject(black_box(client_addr()), opaque_bytes(&mut from_network));
        let _ = Driver::new(Link { wire: &mut wire, end: End::Server }).pump(
            &mut server,
            now,
            |_, _, _| {},
        );
        while let Some(event) = server.poll_event() {
            black_box(event);
        }
    }
}
