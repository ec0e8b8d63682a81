//! The keys a secure build compiles in: the server's static public key (pinned: the board
//! joins no other server) and, for a fleet, its pre-shared key. `build.rs` takes them from
//! MINICHAT_SERVER_KEY and MINICHAT_FLEET_KEY when the firmware is built.

use minichat_core::client::ServerKey;

include!(concat!(env!("OUT_DIR"), "/server_key.rs"));

/// The server this board trusts, as the client takes it.
pub const fn server_key() -> ServerKey {
    ServerKey { public: SERVER_PUBLIC_KEY, psk: FLEET_KEY }
}
