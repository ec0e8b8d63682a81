//! The terminal: lines in and out without ever stalling the network loop, remote text
//! shown safely, what a client's events tell its user, the slash commands typed at the
//! prompts, and legacy plain-text datagrams shown on the operator's console.

pub(crate) mod client_news;
pub(crate) mod console;
pub(crate) mod escape;
pub(crate) mod legacy;
pub(crate) mod output;
pub(crate) mod reply_target;
pub(crate) mod server_stats;
pub(crate) mod slash;
