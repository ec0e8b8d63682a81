//! The keys a secure build compiles in: the server's static public key (pinned: the board
//! joins no other server), for a fleet its pre-shared key, and the board's own key, which
//! its joins prove (the server keeps the name `mcu` for it, or lets in only listed keys).
//! `build.rs` takes them from MINICHAT_SERVER_KEY, MINICHAT_FLEET_KEY and
//! MINICHAT_CLIENT_KEY (a private key, as `minichat key --client` keeps it in its file)
//! when the firmware is built.

use minichat_core::client::ServerKey;
use minichat_core::secure::Keypair;

include!(concat!(env!("OUT_DIR"), "/server_key.rs"));

/// The server this board trusts, as the client takes it.
pub const fn server_key() -> ServerKey {
    ServerKey { public: SERVER_PUBLIC_KEY, psk: FLEET_KEY }
}

/// The board's own key pair, if it was built with one.
pub fn client_keypair() -> Option<Keypair> {
    CLIENT_PRIVATE_KEY.map(Keypair::from_private)
}
