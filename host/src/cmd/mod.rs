//! The subcommands of `minichat` (`cli::Command`), one file each.

pub(crate) mod bench;
pub(crate) mod chat;
pub mod demo;
pub(crate) mod echo;
pub(crate) mod send;
pub(crate) mod serve;
