//! What the simulated server's directory holds (`Directory`): the users of other servers
//! sharing the room (a bridge's), and the records of keys an embedding would keep (who
//! owns which name, whether only listed keys join, which are banned).

use minichat_core::name_policy::NameKey;
use minichat_core::server::{ClientKey, Directory, KeyRefusal};
use minichat_core::wire::{Name, NameBuf};

/// The other servers sharing the room (a bridge's), as the server is told of them.
#[derive(Debug, Default)]
pub struct Elsewhere {
    /// Their users' names, in order.
    pub names: Vec<NameBuf>,
    /// One of their rooms is full.
    pub busy: bool,
    /// Names and the keys that own them (as an embedding records them).
    pub owners: Vec<(NameBuf, ClientKey)>,
    /// Only keys in `owners` join, and only under their names.
    pub listed_only: bool,
    /// Keys the operator banned.
    pub banned: Vec<ClientKey>,
}

impl Directory for Elsewhere {
    fn holds(&self, key: NameKey) -> bool {
        self.names.iter().any(|name| name.as_name().key() == key)
    }

    fn len(&self) -> usize {
        self.names.len()
    }

    fn holds_back(&self) -> bool {
        self.busy
    }

    fn owner(&self, name: Name<'_>) -> Option<ClientKey> {
        self.owners.iter().find(|(owned, _)| owned.as_name().same_user(&name)).map(|(_, key)| *key)
    }

    fn admits(&self, name: Name<'_>, key: Option<&ClientKey>) -> Result<(), KeyRefusal> {
        if key.is_some_and(|key| self.banned.contains(key)) {
            return Err(KeyRefusal::Banned);
        }
        let owner = self.owners.iter().find(|(owned, _)| owned.as_name().same_user(&name));
        match (owner, key) {
            (Some((_, owner)), Some(key)) if owner == key => Ok(()),
            _ if self.listed_only => Err(KeyRefusal::NotAuthorized),
            (Some(_), _) => Err(KeyRefusal::NameOwned),
            (None, _) => Ok(()),
        }
    }

    fn names_from(&self, start: usize, each: &mut dyn FnMut(Name<'_>, Option<Name<'_>>) -> bool) {
        let place = Name::new("elsewhere").ok();
        for name in self.names.iter().skip(start) {
            if !each(name.as_name(), place) {
                return;
            }
        }
    }
}
