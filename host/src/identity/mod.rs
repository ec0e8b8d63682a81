//! Who is who on a server (`docs/PROTOCOL.md`, section 12, "Client keys"): which key owns
//! which name (the first to use it, or as the operator's authorized-keys file says), which
//! keys are banned, and the gate through which the core asks before a session takes a
//! name. `key_list.rs` is the files' one format, `records.rs` the records and their
//! decisions, `gate.rs` the core's view of them.

mod gate;
mod key_list;
mod records;

pub(crate) use gate::Gate;
pub(crate) use key_list::parse as parse_key_list;
pub(crate) use records::{KeyRecords, RecordsPaths};
