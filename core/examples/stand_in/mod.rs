//! What this computer lends the examples in place of a board's hardware: a UDP socket for
//! its network device ([`ip_link`]). Nothing here is minichat; on a board, its HAL's
//! drivers take these places and the examples stay as they are.

#[cfg(feature = "smoltcp")]
pub(crate) mod ip_link;
