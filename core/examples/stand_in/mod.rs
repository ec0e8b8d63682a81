//! What this computer lends the examples in place of a board's hardware: a serial line for
//! its UART ([`uart`]), a UDP socket for its network device ([`ip_link`]). Nothing here is
//! minichat; on a board, its HAL's drivers take these places and the examples stay as
//! they are.
#![allow(dead_code)] // each example uses one of the two

#[cfg(feature = "smoltcp")]
pub(crate) mod ip_link;
pub(crate) mod uart;
