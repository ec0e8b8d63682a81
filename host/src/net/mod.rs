//! Sockets and event loops: the core's state machines over real UDP (batched where the
//! platform can), one small reactor that every loop waits on, the in-memory network of
//! `minichat demo` and the tests, and which I/O errors are one peer's trouble.

pub mod capture;
pub(crate) mod client_link;
pub(crate) mod client_loop;
pub(crate) mod listeners;
pub mod memory;
pub mod peer;
pub(crate) mod peer_error;
pub(crate) mod reactor;
pub(crate) mod serial;
pub(crate) mod server_loop;
pub(crate) mod server_memory;
pub(crate) mod stream_link;
pub(crate) mod stream_links;
mod sys;
pub(crate) mod tcp_guard;
pub(crate) mod udp_batch;
