//! A session's keys for a key log (`docs/PROTOCOL.md`, section 12, "Key log"), as TLS has
//! SSLKEYLOGFILE: a line that lets a capture's reader (the Wireshark dissector) open the
//! session's sealed frames. Whoever holds it reads the whole session: an application
//! writes it only when its user asks.

use core::fmt;

use crate::secure::KEY_LEN;
use crate::wire::Token;

/// The label that starts a key log line.
pub const KEY_LOG_LABEL: &str = "MINICHAT_SESSION";

/// One session's entry: its token and the first key of each direction (the later ones
/// follow from them, section 12's rekeying).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyLogEntry {
    /// The session, as its sealed frames name it.
    pub token: Token,
    /// The key of the client's frames, before any rekeying.
    pub client_to_server: [u8; KEY_LEN],
    /// The key of the server's frames, before any rekeying.
    pub server_to_client: [u8; KEY_LEN],
}

impl fmt::Debug for KeyLogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the keys, even here.
        f.debug_struct("KeyLogEntry").field("token", &self.token).finish_non_exhaustive()
    }
}

impl fmt::Display for KeyLogEntry {
    /// The key log line, without its newline: `MINICHAT_SESSION`, the token (16
    /// hexadecimal digits), the client-to-server key and the server-to-client key (64
    /// each), separated by spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY_LOG_LABEL} {:016x} ", self.token.0)?;
        for byte in self.client_to_server {
            write!(f, "{byte:02x}")?;
        }
        f.write_str(" ")?;
        for byte in self.server_to_client {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern crate std;
    use std::string::ToString;

    #[test]
    fn a_key_log_line_is_the_label_the_token_and_both_keys_in_hex() {
        let entry = KeyLogEntry {
            token: Token(0x0123_4567_89ab_cdef),
            client_to_server: core::array::from_fn(|i| u8::try_from(i).unwrap_or(0)),
            server_to_client: [0xff; KEY_LEN],
        };
        // The line of docs/PROTOCOL.md section 12, "Key log".
        assert_eq!(
            entry.to_string(),
            "MINICHAT_SESSION 0123456789abcdef \
             000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
             ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        );
        // Debug never shows a key.
        let debug = std::format!("{entry:?}");
        assert!(!debug.contains("255") && !debug.contains("ff"), "{debug}");
    }
}
