//! What differs between platforms, behind one interface (quinn-udp's shape): `unix.rs`
//! registers std sockets with the reactor by file descriptor and sizes their buffers;
//! `fallback.rs` (Windows and the rest) registers nothing, and the reactor then wakes
//! every tick (`fallback.rs`, `TICK`) to look at the sockets itself.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(not(unix))]
mod fallback;
#[cfg(not(unix))]
pub(crate) use fallback::*;
