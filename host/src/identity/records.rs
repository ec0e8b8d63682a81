//! The server's records of keys, and what they decide: whether a session may take a name
//! with a key (or without one), whose key a name is, and which sessions must end when the
//! records change (a ban, a line removed from the authorized keys).
//!
//! - **Owners** (`owners` beside the server's key): the first key to use a name owns it
//!   (trust on first use), recorded as it joins. Not used with an authorized-keys file,
//!   whose lines are the owners.
//! - **Authorized keys** (`serve --authorized-keys FILE`): only the keys listed join, and
//!   only under the names listed for them.
//! - **Bans** (`banned` beside the server's key): keys kept out under any name.
//!
//! Names are compared as the core compares them (by their look-alike key), so `Alice`
//! and `alice` are one name here too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use minichat_core::name_policy::NameKey;
use minichat_core::server::{ClientKey, KeyRefusal};
use minichat_core::wire::{Name, NameBuf};

use super::key_list::{self, KeyLine};
use crate::error::HostError;

/// Where the records live.
#[derive(Debug, Clone)]
pub(crate) struct RecordsPaths {
    /// The names first used by a key.
    pub(crate) owners: PathBuf,
    /// The keys banned.
    pub(crate) banned: PathBuf,
    /// The operator's list of the keys that may join, if any.
    pub(crate) authorized: Option<PathBuf>,
}

impl RecordsPaths {
    /// The records beside the server's key file `key`, and the authorized keys if given.
    pub(crate) fn beside(key: &Path, authorized: Option<PathBuf>) -> RecordsPaths {
        let dir = key.parent().unwrap_or(Path::new("."));
        RecordsPaths { owners: dir.join("owners"), banned: dir.join("banned"), authorized }
    }
}

const OWNERS_HEADER: &str = "Names and the keys that own them (the first key to use a name), as\n\
    minichat serve records them: KEY NAME per line. Delete a line to free its name.";
const BANNED_HEADER: &str = "Keys banned from this server (/ban NAME at its console): KEY NAME per\n\
    line, the name the key was banned under. /unban NAME, or delete the line and /reload.";

/// The records, as read from their files.
#[derive(Debug)]
pub(crate) struct KeyRecords {
    paths: RecordsPaths,
    /// Name → owner: the authorized keys' lines if there is that file, else first uses.
    owners: HashMap<NameKey, (ClientKey, NameBuf)>,
    banned: Vec<KeyLine>,
}

impl KeyRecords {
    /// Reads the records at `paths` (the owners and bans may not exist yet; the
    /// authorized-keys file must). A bad line is an error with its number.
    pub(crate) fn load(paths: RecordsPaths) -> Result<KeyRecords, HostError> {
        let mut records = KeyRecords { paths, owners: HashMap::new(), banned: Vec::new() };
        records.reload()?;
        Ok(records)
    }

    /// Reads every file again (the console's `/reload`, SIGHUP). On an error the records
    /// stay as they were.
    pub(crate) fn reload(&mut self) -> Result<(), HostError> {
        let (source, missing_is_empty) = match &self.paths.authorized {
            Some(path) => (path, false),
            None => (&self.paths.owners, true),
        };
        let lines = key_list::read(source, missing_is_empty)?;
        let mut owners = HashMap::new();
        for line in lines {
            let name = line.name.as_name();
            if let Some((other, first)) = owners.get(&name.key())
                && *other != line.key
            {
                return Err(HostError::KeyListLine {
                    path: source.clone(),
                    line: line.line,
                    why: format!(
                        "{name} has another key on an earlier line (as {first}): a name belongs to one key"
                    ),
                });
            }
            owners.insert(name.key(), (line.key, line.name));
        }
        self.banned = key_list::read(&self.paths.banned, true)?;
        self.owners = owners;
        Ok(())
    }

    /// Whether only listed keys join.
    pub(crate) fn listed_only(&self) -> bool {
        self.paths.authorized.is_some()
    }

    /// How many names have owners, and how many keys are banned.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.owners.len(), self.banned.len())
    }

    /// Whether a session may take `name` with `key` (`None`: without a key).
    pub(crate) fn admits(&self, name: Name<'_>, key: Option<&ClientKey>) -> Result<(), KeyRefusal> {
        if key.is_some_and(|key| self.is_banned(key)) {
            return Err(KeyRefusal::Banned);
        }
        match (self.owners.get(&name.key()), key) {
            (Some((owner, _)), Some(key)) if owner == key => Ok(()),
            _ if self.listed_only() => Err(KeyRefusal::NotAuthorized),
            (Some(_), _) => Err(KeyRefusal::NameOwned),
            (None, _) => Ok(()),
        }
    }

    fn is_banned(&self, key: &ClientKey) -> bool {
        self.banned.iter().any(|line| line.key == *key)
    }

    /// The key that owns `name`, if any.
    pub(crate) fn owner(&self, name: Name<'_>) -> Option<&ClientKey> {
        self.owners.get(&name.key()).map(|(key, _)| key)
    }

    /// `key` joined as `name`: if the name has no owner yet (and owners are first uses),
    /// `key` owns it from now on, recorded in the owners file. Returns whether it was
    /// recorded.
    pub(crate) fn first_use(&mut self, name: Name<'_>, key: &ClientKey) -> Result<bool, HostError> {
        if self.listed_only() || self.owners.contains_key(&name.key()) {
            return Ok(false);
        }
        self.owners.insert(name.key(), (*key, NameBuf::new(name)));
        key_list::append(&self.paths.owners, key, name, "first use")?;
        Ok(true)
    }

    /// Bans `key` (known as `name`), recorded in the bans file.
    pub(crate) fn ban(&mut self, key: &ClientKey, name: Name<'_>) -> Result<(), HostError> {
        if self.is_banned(key) {
            return Ok(());
        }
        key_list::append(&self.paths.banned, key, name, "banned")?;
        self.banned.push(KeyLine { key: *key, name: NameBuf::new(name), line: 0 });
        Ok(())
    }

    /// Lifts the bans of `name`'s key, or of the key banned under `name`: the keys
    /// unbanned (none: nothing matched).
    pub(crate) fn unban(&mut self, name: Name<'_>) -> Result<usize, HostError> {
        let owner = self.owner(name).copied();
        let before = self.banned.len();
        self.banned.retain(|line| !line.name.as_name().same_user(&name) && Some(line.key) != owner);
        let lifted = before - self.banned.len();
        if lifted > 0 {
            key_list::rewrite(&self.paths.banned, BANNED_HEADER, &self.banned)?;
        }
        Ok(lifted)
    }

    /// Writes the owners file's header, if the file is new (so an operator who opens it
    /// reads what it is).
    pub(crate) fn describe_files(&self) -> Result<(), HostError> {
        if !self.listed_only() && !self.paths.owners.exists() {
            key_list::rewrite(&self.paths.owners, OWNERS_HEADER, &[])?;
        }
        if !self.paths.banned.exists() {
            key_list::rewrite(&self.paths.banned, BANNED_HEADER, &[])?;
        }
        Ok(())
    }

    /// Where the records live.
    pub(crate) fn paths(&self) -> &RecordsPaths {
        &self.paths
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name<'_> {
        Name::new(text).unwrap()
    }

    fn scratch(test: &str, authorized: Option<&str>) -> RecordsPaths {
        let dir =
            std::env::temp_dir().join(format!("minichat-records-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let authorized = authorized.map(|text| {
            let path = dir.join("authorized_keys");
            std::fs::write(&path, text).unwrap();
            path
        });
        RecordsPaths::beside(&dir.join("server.key"), authorized)
    }

    #[test]
    fn the_first_key_to_use_a_name_owns_it_across_a_restart() {
        let paths = scratch("first-use", None);
        let mut records = KeyRecords::load(paths.clone()).unwrap();
        records.describe_files().unwrap();
        assert_eq!(records.admits(name("alice"), None), Ok(()), "nobody owns it yet");
        assert!(records.first_use(name("alice"), &[1; 32]).unwrap());
        assert!(!records.first_use(name("alice"), &[2; 32]).unwrap(), "owned already");
        let records = KeyRecords::load(paths).unwrap();
        assert_eq!(records.admits(name("alice"), Some(&[1; 32])), Ok(()));
        assert_eq!(records.admits(name("ALICE"), Some(&[2; 32])), Err(KeyRefusal::NameOwned));
        assert_eq!(records.admits(name("alice"), None), Err(KeyRefusal::NameOwned));
        assert_eq!(records.admits(name("bob"), Some(&[2; 32])), Ok(()));
    }

    #[test]
    fn with_authorized_keys_only_their_lines_join() {
        let key = |byte: u8| crate::keys::hex(&[byte; 32]);
        let text = format!("# devices\n{} mcu\n{} alice\n", key(1), key(2));
        let records = KeyRecords::load(scratch("authorized", Some(&text))).unwrap();
        assert_eq!(records.admits(name("mcu"), Some(&[1; 32])), Ok(()));
        assert_eq!(records.admits(name("alice"), Some(&[1; 32])), Err(KeyRefusal::NotAuthorized));
        assert_eq!(records.admits(name("bob"), Some(&[3; 32])), Err(KeyRefusal::NotAuthorized));
        assert_eq!(records.admits(name("bob"), None), Err(KeyRefusal::NotAuthorized));
        let twice = format!("{} mcu\n{} MCU\n", key(1), key(2));
        let err = KeyRecords::load(scratch("twice", Some(&twice))).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "line 2: MCU has another key on an earlier line (as mcu): a name belongs to one key"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_ban_holds_across_a_restart_until_lifted() {
        let paths = scratch("ban", None);
        let mut records = KeyRecords::load(paths.clone()).unwrap();
        records.first_use(name("troll"), &[9; 32]).unwrap();
        records.ban(&[9; 32], name("troll")).unwrap();
        let mut records = KeyRecords::load(paths.clone()).unwrap();
        assert_eq!(records.admits(name("other"), Some(&[9; 32])), Err(KeyRefusal::Banned));
        assert_eq!(records.unban(name("troll")).unwrap(), 1);
        assert_eq!(records.unban(name("troll")).unwrap(), 0);
        let records = KeyRecords::load(paths).unwrap();
        assert_eq!(records.admits(name("other"), Some(&[9; 32])), Ok(()));
    }
}
