//! Who is who, as a client remembers it (`docs/PROTOCOL.md`, section 12, "Client keys"):
//! the SSH `known_hosts` idea for users. The first time a chat meets a user under a name
//! it asks the server for the key that user proved (`key-of`), shows its fingerprint and
//! remembers it in `known_users` beside `known_servers`; if the name later comes back with
//! another key, it warns loudly (and keeps the key it knew: the user decides).
//!
//! One line per user: `SERVER NAME KEY` (the server as `known_servers` names it, the key
//! as 64 hexadecimal digits). Names are compared as servers compare them (look-alikes are
//! one name).

use std::collections::{HashSet, VecDeque};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use minichat_core::name_policy::NameKey;
use minichat_core::time::Instant;
use minichat_core::wire::{Name, NameBuf};

use crate::error::HostError;
use crate::keys::{hex, parse_hex, print};
use crate::net::client_loop::HostClient;

/// The known-users file beside `known_servers`.
pub(crate) fn beside(known_servers: &Path) -> PathBuf {
    known_servers.with_file_name("known_users")
}

/// The users of one server a chat has checked, and those it is still to ask about.
#[derive(Debug)]
pub(crate) struct UserKeys {
    file: PathBuf,
    server: String,
    /// Names met this session (asked about, or about to be).
    met: HashSet<NameKey>,
    to_ask: VecDeque<NameBuf>,
    asking: bool,
}

impl UserKeys {
    /// Checks for the users of `server`, remembered in `file`.
    pub(crate) fn new(file: PathBuf, server: String) -> UserKeys {
        UserKeys { file, server, met: HashSet::new(), to_ask: VecDeque::new(), asking: false }
    }

    /// A message from `name` arrived: the first time this session, its key is asked for.
    pub(crate) fn met(&mut self, name: Name<'_>) {
        if self.met.insert(name.key()) {
            self.to_ask.push_back(NameBuf::new(name));
        }
    }

    /// Asks the next name's key, if none is being asked.
    pub(crate) fn ask_next(&mut self, client: &mut HostClient, now: Instant) {
        while !self.asking {
            let Some(name) = self.to_ask.pop_front() else { return };
            self.asking = client.key_of(now, name.as_str()).is_ok();
        }
    }

    /// The question went unanswered: on to the next.
    pub(crate) fn unanswered(&mut self) {
        self.asking = false;
    }

    /// The server's answer about `name`: what to tell the user, if anything (a loud
    /// warning when the key changed).
    pub(crate) fn answered(
        &mut self,
        name: &NameBuf,
        here: bool,
        key: Option<[u8; 32]>,
    ) -> Result<Option<String>, HostError> {
        self.asking = false;
        let name = name.as_name();
        if !here && key.is_none() {
            // Nobody holds the name and no key owns it: nothing to know yet. Asked again
            // at the name's next message.
            self.met.remove(&name.key());
            return Ok(None);
        }
        let Some(key) = key else {
            return Ok(here.then(|| {
                format!("{name} has no key: the name proves nothing about who is using it")
            }));
        };
        // (A key for a name nobody holds now is the one the server's records say owns it.)
        match self.known(name)? {
            Some((known, _)) if known == key => Ok(None),
            Some((known, line)) => Ok(Some(format!(
                "WARNING: the key of {name} changed. It was {} and is now {}: someone else may \
                 be using the name {name}, or they have a new key. The key known is in {}, line \
                 {line}; delete that line once you know it is them.",
                print(&known),
                print(&key),
                self.file.display()
            ))),
            None => {
                self.remember(name, &key)?;
                Ok(Some(format!(
                    "{name}'s key is {} (first met; remembered in {})",
                    print(&key),
                    self.file.display()
                )))
            }
        }
    }

    /// The key remembered for `name` at this server, and its line.
    fn known(&self, name: Name<'_>) -> Result<Option<([u8; 32], usize)>, HostError> {
        let text = match fs::read_to_string(&self.file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(HostError::KeyFile { path: self.file.clone(), source }),
        };
        for (n, line) in text.lines().enumerate() {
            let mut fields = line.split_whitespace();
            let (Some(server), Some(user), Some(key)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let same_user = Name::new(user).is_ok_and(|user| user.same_user(&name));
            if server == self.server && same_user && !server.starts_with('#') {
                let key = parse_hex(key)
                    .ok_or_else(|| HostError::KeyFileInvalid { path: self.file.clone() })?;
                return Ok(Some((key, n + 1)));
            }
        }
        Ok(None)
    }

    fn remember(&self, name: Name<'_>, key: &[u8; 32]) -> Result<(), HostError> {
        let error = |source| HostError::KeyFile { path: self.file.clone(), source };
        if let Some(dir) = self.file.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(error)?;
        }
        let text = fs::read(&self.file).unwrap_or_default();
        let newline = if text.last().is_some_and(|b| *b != b'\n') { "\n" } else { "" };
        let mut out =
            fs::OpenOptions::new().create(true).append(true).open(&self.file).map_err(error)?;
        writeln!(out, "{newline}{} {name} {}", self.server, hex(key)).map_err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(test: &str) -> UserKeys {
        let dir = std::env::temp_dir()
            .join(format!("minichat-known-users-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        UserKeys::new(dir.join("known_users"), "127.0.0.1:8080".to_owned())
    }

    #[test]
    fn a_key_is_shown_the_first_time_and_a_changed_one_warned_of_loudly() {
        let mut keys = checks("change");
        let alice = NameBuf::parse("alice").unwrap();
        let first = keys.answered(&alice, true, Some([1; 32])).unwrap().unwrap();
        assert!(first.starts_with(&format!("alice's key is {}", print(&[1; 32]))), "{first}");
        assert_eq!(keys.answered(&alice, true, Some([1; 32])).unwrap(), None, "known");
        let look_alike = NameBuf::parse("ALICE").unwrap();
        let changed = keys.answered(&look_alike, true, Some([2; 32])).unwrap().unwrap();
        assert!(changed.starts_with("WARNING: the key of ALICE changed"), "{changed}");
        assert!(changed.contains(&print(&[1; 32])) && changed.contains("line 1"), "{changed}");
        // The key known stays the one remembered.
        assert!(keys.answered(&alice, true, Some([2; 32])).unwrap().unwrap().contains("WARNING"));
        let bob = NameBuf::parse("bob").unwrap();
        let none = keys.answered(&bob, true, None).unwrap().unwrap();
        assert!(none.contains("bob has no key"), "{none}");
        assert_eq!(keys.answered(&bob, false, None).unwrap(), None, "not a user here");
    }

    #[test]
    fn each_name_is_asked_about_once_a_session() {
        let mut keys = checks("once");
        for name in ["alice", "Alice", "bob", "alice"] {
            keys.met(Name::new(name).unwrap());
        }
        let asked: Vec<&str> = keys.to_ask.iter().map(NameBuf::as_str).collect();
        assert_eq!(asked, ["alice", "bob"]);
    }
}
