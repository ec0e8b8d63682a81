//! The core's view of the records: the server's directory (the bridged servers' users, or
//! none) with the records' answer to [`Directory::admits`].

use minichat_core::name_policy::NameKey;
use minichat_core::server::{ClientKey, Directory, KeyRefusal};
use minichat_core::wire::Name;

use super::KeyRecords;

/// `inner`, the directory the server had, asking `records` who may take a name.
pub(crate) struct Gate<'a> {
    pub(crate) inner: &'a dyn Directory,
    pub(crate) records: &'a KeyRecords,
}

impl Directory for Gate<'_> {
    fn holds(&self, key: NameKey) -> bool {
        self.inner.holds(key)
    }

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn names_from(&self, start: usize, each: &mut dyn FnMut(Name<'_>, Option<Name<'_>>) -> bool) {
        self.inner.names_from(start, each);
    }

    fn holds_back(&self) -> bool {
        self.inner.holds_back()
    }

    fn owner(&self, name: Name<'_>) -> Option<ClientKey> {
        self.records.owner(name).copied().or_else(|| self.inner.owner(name))
    }

    fn admits(&self, name: Name<'_>, key: Option<&ClientKey>) -> Result<(), KeyRefusal> {
        self.inner.admits(name, key)?;
        self.records.admits(name, key)
    }
}
