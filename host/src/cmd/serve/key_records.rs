//! The running server's records of keys (`identity/`): a name's first key recorded as it
//! joins, the console's `/ban`, `/unban` and `/reload` (and SIGHUP's), and the sessions
//! that end when the records no longer admit them.

use minichat_core::server::ClientKey;
use minichat_core::wire::{Name, NameBuf};

use super::app::ServeApp;
use crate::identity::KeyRecords;
use crate::keys;

/// What the records say, in a line for the operator.
pub(super) fn describe(records: &KeyRecords) -> String {
    let (owners, banned) = records.counts();
    let paths = records.paths();
    let banned = format!("{banned} banned (in {})", paths.banned.display());
    match &paths.authorized {
        Some(file) => {
            format!("only the keys in {} join ({owners} names); {banned}", file.display())
        }
        None => format!(
            "a name belongs to the first key that uses it ({owners} recorded in {}); {banned}",
            paths.owners.display()
        ),
    }
}

impl ServeApp {
    /// `name` joined: if its session proved a key and the name has no owner yet, that key
    /// owns it from now on.
    pub(super) fn record_first_use(&mut self, name: Name<'_>) {
        let Some(key) = self.key_of(name) else { return };
        match self.records.first_use(name, &key) {
            Ok(true) => {
                tracing::info!(%name, key = %keys::print(&key), "name recorded for its first key");
                if !self.config.quiet {
                    let print = keys::print(&key);
                    self.console.show(&format!("{name} belongs to key {print} from now on"));
                }
            }
            Ok(false) => {}
            // Kept in memory all the same; the operator hears why it is not on disk.
            Err(error) => self.console.notice(&error.to_string()),
        }
    }

    /// The key of `name`'s session here, or the key that owns the name.
    fn key_of(&self, name: Name<'_>) -> Option<ClientKey> {
        let session = self.net.server.users_with_keys().find(|(user, ..)| user.same_user(&name));
        match session {
            Some((.., key)) => key.copied(),
            None => self.records.owner(name).copied(),
        }
    }

    /// `/ban NAME`: the name's key (its session's, or its owner's) is kept out from now
    /// on, and its sessions end.
    pub(super) fn ban(&mut self, name: &str) -> Result<(), String> {
        let name = Name::new(name).map_err(|error| error.to_string())?;
        let Some(key) = self.key_of(name) else {
            return Err(format!(
                "{name} has no key to ban: a session without a key carries no identity (/kick {name} ends it)"
            ));
        };
        self.records.ban(&key, name).map_err(|error| error.to_string())?;
        let ended = self.end_refused_sessions();
        self.console.notice(&format!(
            "key {} ({name}) banned; {}",
            keys::print(&key),
            ended_sessions(&ended)
        ));
        Ok(())
    }

    /// `/unban NAME`: the bans of the name's key (or of the key banned under it) lifted.
    pub(super) fn unban(&mut self, name: &str) -> Result<(), String> {
        let name = Name::new(name).map_err(|error| error.to_string())?;
        match self.records.unban(name) {
            Ok(0) => Err(format!("no key is banned as {name}")),
            Ok(_) => {
                self.console.notice(&format!("{name}'s key may join again"));
                Ok(())
            }
            Err(error) => Err(error.to_string()),
        }
    }

    /// `/reload` and SIGHUP (`cause`): the records read again; sessions they no longer
    /// admit end. A bad file leaves the records as they were, and says why.
    pub(super) fn reload_records(&mut self, cause: &str) {
        if let Err(error) = self.records.reload() {
            self.console.notice(&format!("{cause}: the records were not changed: {error}"));
            return;
        }
        let ended = self.end_refused_sessions();
        let summary = describe(&self.records);
        tracing::info!(cause, ended = ended.len(), "records of keys read again");
        self.console.notice(&format!("{cause}: {summary}; {}", ended_sessions(&ended)));
    }

    /// Ends every session the records no longer admit (a banned key, a key no longer
    /// listed, a name that now belongs to another key); returns their names.
    fn end_refused_sessions(&mut self) -> Vec<NameBuf> {
        let refused: Vec<NameBuf> = self
            .net
            .server
            .users_with_keys()
            .filter(|(name, _, key)| self.records.admits(*name, *key).is_err())
            .map(|(name, ..)| NameBuf::new(name))
            .collect();
        for name in &refused {
            // Not connected any more is as good as ended.
            let _ = self.net.server.kick(name.as_name());
        }
        refused
    }
}

/// The sessions `ended`, in words.
fn ended_sessions(ended: &[NameBuf]) -> String {
    if ended.is_empty() {
        return "no session ended".to_owned();
    }
    let names: Vec<&str> = ended.iter().map(NameBuf::as_str).collect();
    format!("ended the sessions of {}", names.join(", "))
}
