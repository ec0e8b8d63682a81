//! The server's memory on a host: allocated once, when the server starts, sized by the
//! command line (`--capacity`, `--buffer`); the server never allocates after that.

use minichat_core::error::ServerError;
use minichat_core::server::{MessageSlot, Server, ServerConfig, ServerMemory, UserSlot};
use minichat_core::table::{IndexEntry, MAX_CAPACITY};

use crate::net::peer::Peer;

/// Users when the configuration does not say.
pub(crate) const DEFAULT_CAPACITY: usize = 256;
/// Bytes of recent messages kept for resending and history, by default: 1 MiB.
pub(crate) const DEFAULT_BUFFER: usize = 1 << 20;
/// The least `--buffer` takes: two of the longest messages.
pub(crate) const MIN_BUFFER: usize = 2 << 10;
/// One message slot (24 bytes) per this many bytes of the buffer: room for as many
/// messages as the buffer holds at an average of 128 bytes of names and text.
const BYTES_PER_MESSAGE: usize = 128;

/// Memory in boxed slices.
#[derive(Debug)]
pub(crate) struct HeapMemory;

impl ServerMemory<Peer> for HeapMemory {
    type Users = Box<[UserSlot<Peer>]>;
    type Index = Box<[IndexEntry]>;
    type Messages = Box<[MessageSlot]>;
    type Bytes = Box<[u8]>;
}

/// The server the host runs.
pub(crate) type HostServer = Server<Peer, HeapMemory>;

/// A server with `config` (its capacity, or [`DEFAULT_CAPACITY`]) keeping `buffer` bytes
/// of messages: the users' slots and their index entries, the ring's slots and bytes.
pub(crate) fn host_server(
    config: ServerConfig,
    buffer: usize,
) -> Result<Box<HostServer>, ServerError> {
    // The default capacity, `usize::MAX`, is as many as the slots: DEFAULT_CAPACITY here.
    let users = match config.capacity() {
        usize::MAX => DEFAULT_CAPACITY,
        capacity => capacity.min(MAX_CAPACITY),
    };
    let buffer = buffer.max(MIN_BUFFER);
    let messages = (buffer / BYTES_PER_MESSAGE).max(16);
    let server = Server::with_memory(
        config,
        (0..users).map(|_| None).collect(),
        vec![IndexEntry::EMPTY; users].into_boxed_slice(),
        vec![MessageSlot::EMPTY; messages].into_boxed_slice(),
        vec![0; buffer].into_boxed_slice(),
    )?;
    Ok(Box::new(server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_at_run_time_up_to_the_table_limit() {
        let mut config = ServerConfig::new([1; 16], 1);
        config.set_capacity(MAX_CAPACITY).unwrap();
        let server = host_server(config.clone(), DEFAULT_BUFFER).unwrap();
        assert_eq!(server.config().capacity(), MAX_CAPACITY);
        assert!(matches!(
            config.set_capacity(MAX_CAPACITY + 1),
            Err(minichat_core::ConfigError::OutOfRangeCount { setting: "capacity", .. })
        ));
    }

    #[test]
    fn a_small_buffer_means_shorter_texts() {
        let config = ServerConfig::new([1; 16], 1);
        let server = host_server(config, 0).unwrap();
        assert_eq!(server.config().capacity(), DEFAULT_CAPACITY);
        assert!(usize::from(server.config().max_text()) < MIN_BUFFER);
    }
}
