//! User names: validated borrowed names and the encoded list a `users` frame carries.

use crate::error::WireError;
use crate::name_policy::{self, NameKey};
use crate::wire::Kind;
use crate::wire::cursor::Reader;
use crate::wire::limits::{MAX_NAME, MIN_NAME};

/// A user name as the wire accepts it, borrowed: 1 to [`MAX_NAME`] bytes of UTF-8 with no
/// control character (Cc).
///
/// The wire is syntactic on purpose: whitespace, invisible characters, mixed scripts and
/// look-alikes are the name policy's ([`crate::name_policy::check`]), so a server can
/// answer such a name with the rule it breaks instead of dropping the frame as malformed.
/// Controls stay refused here because no terminal can show them safely.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name<'a>(&'a str);

impl<'a> Name<'a> {
    /// Checks `name` against the rules above (lengths and control characters).
    pub fn new(name: &'a str) -> Result<Self, WireError> {
        if name.len() < MIN_NAME {
            return Err(WireError::NameEmpty);
        }
        if name.len() > MAX_NAME {
            return Err(WireError::NameTooLong { len: name.len() });
        }
        match name.chars().find(|c| c.is_control()) {
            Some(c) => Err(WireError::NameBadChar(u32::from(c))),
            None => Ok(Name(name)),
        }
    }

    /// Checks raw bytes: UTF-8 first, then the rules of [`Name::new`].
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, WireError> {
        if bytes.len() > MAX_NAME {
            return Err(WireError::NameTooLong { len: bytes.len() });
        }
        let name = core::str::from_utf8(bytes).map_err(|_| WireError::NameNotUtf8)?;
        Self::new(name)
    }

    /// A name that was checked before it was stored (the server's message ring).
    pub(crate) const fn stored(name: &'a str) -> Self {
        Name(name)
    }

    /// The name as text.
    pub const fn as_str(&self) -> &'a str {
        self.0
    }

    /// Whether two names are the same user: their keys ([`name_policy::key`]) are equal,
    /// so case variants and look-alikes (`alice`, `ALICE`, `аlice` with a Cyrillic а) are
    /// one user.
    pub fn same_user(&self, other: &Name<'_>) -> bool {
        self.key() == other.key()
    }

    /// The name's key for uniqueness, [`name_policy::key`].
    pub fn key(&self) -> NameKey {
        name_policy::key(self.0)
    }
}

impl core::fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.0)
    }
}

/// An owned copy of a valid name, for tables and events that outlive the frame it came
/// in. Fixed size, no allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameBuf {
    bytes: [u8; MAX_NAME],
    len: u8,
}

impl NameBuf {
    /// A one-letter name for storage slots that must hold something before first use.
    pub const PLACEHOLDER: NameBuf = NameBuf { bytes: [b'?'; MAX_NAME], len: 1 };

    /// "server": the name the server's operator speaks as.
    pub const OPERATOR: NameBuf = NameBuf { bytes: *b"server\0\0\0\0\0\0\0\0\0\0", len: 6 };

    /// Copies `name`.
    pub fn new(name: Name<'_>) -> Self {
        let mut bytes = [0u8; MAX_NAME];
        let src = name.as_str().as_bytes();
        // A valid name has at most MAX_NAME bytes, so this copies all of it.
        for (dst, src) in bytes.iter_mut().zip(src) {
            *dst = *src;
        }
        NameBuf { bytes, len: u8::try_from(src.len().min(MAX_NAME)).unwrap_or(0) }
    }

    /// Checks and copies `name`.
    pub fn parse(name: &str) -> Result<Self, WireError> {
        Name::new(name).map(NameBuf::new)
    }

    /// The name, borrowed.
    pub fn as_name(&self) -> Name<'_> {
        Name(self.as_str())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        // Built from a valid name only, so always UTF-8.
        core::str::from_utf8(bytes).unwrap_or_default()
    }
}

impl From<Name<'_>> for NameBuf {
    fn from(name: Name<'_>) -> Self {
        NameBuf::new(name)
    }
}

impl core::fmt::Debug for NameBuf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "NameBuf({:?})", self.as_str())
    }
}

impl core::fmt::Display for NameBuf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<Name<'_>> for NameBuf {
    fn eq(&self, other: &Name<'_>) -> bool {
        self.as_str() == other.as_str()
    }
}

/// The top bit of a listed name's length byte: the name of the server the user is on
/// follows (a user of a bridged server, `docs/BRIDGE.md` section 7).
pub(crate) const ELSEWHERE: u8 = 0x80;

/// A user as a `users` frame lists it: its name, and the server it is on if it is a user
/// of another server that shares the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedName<'a> {
    /// The user's name.
    pub name: Name<'a>,
    /// The server it is on, if not this one.
    pub place: Option<Name<'a>>,
}

/// The names a `users` frame carries, as their encoded bytes: each a length byte and the
/// name (and, for a user of another server, that server's name). Validated when built,
/// so iterating cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameList<'a> {
    count: u8,
    encoded: &'a [u8],
}

impl<'a> NameList<'a> {
    /// An empty list.
    pub const EMPTY: NameList<'static> = NameList { count: 0, encoded: &[] };

    /// A list over already validated encoded names; the parser builds it name by name.
    pub(crate) const fn from_validated(count: u8, encoded: &'a [u8]) -> Self {
        NameList { count, encoded }
    }

    /// Checks that `encoded` is exactly `count` valid listed names.
    pub fn from_encoded(count: u8, encoded: &'a [u8]) -> Result<Self, WireError> {
        let mut reader = Reader::new(encoded, Kind::Users);
        for _ in 0..count {
            reader.listed_name()?;
        }
        reader.finish()?;
        Ok(NameList { count, encoded })
    }

    /// Encodes as many of `names` as fit into `buf` (at most 255) and returns the list and
    /// how many names it took.
    pub fn encode<'n>(names: impl IntoIterator<Item = Name<'n>>, buf: &'a mut [u8]) -> Self {
        let mut builder = NameListBuilder::new(buf);
        for name in names {
            if !builder.push(name) {
                break;
            }
        }
        builder.finish()
    }

    /// How many names the list holds.
    pub const fn len(&self) -> u8 {
        self.count
    }

    /// Whether the list holds no names.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The encoded names, without the count byte.
    pub const fn encoded(&self) -> &'a [u8] {
        self.encoded
    }

    /// The names, in order.
    pub fn iter(&self) -> NameIter<'a> {
        NameIter { entries: self.entries() }
    }

    /// The users, in order, each with the server it is on if not this one.
    pub fn entries(&self) -> ListedNames<'a> {
        ListedNames { rest: self.encoded }
    }
}

/// Builds a [`NameList`] in a buffer one name at a time, for names that come from more
/// than one place.
#[derive(Debug)]
pub struct NameListBuilder<'a> {
    buf: &'a mut [u8],
    used: usize,
    count: u8,
}

impl<'a> NameListBuilder<'a> {
    /// An empty list, to be written into `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        NameListBuilder { buf, used: 0, count: 0 }
    }

    /// Appends `name` if it fits in the buffer and the list holds fewer than 255 names;
    /// returns whether it did.
    pub fn push(&mut self, name: Name<'_>) -> bool {
        self.push_listed(name, None)
    }

    /// Appends `name`, a user of the server called `place` if that is another server, as
    /// [`NameListBuilder::push`] does.
    pub fn push_listed(&mut self, name: Name<'_>, place: Option<Name<'_>>) -> bool {
        let Some(next) = self.count.checked_add(1) else { return false };
        let at = self.used;
        let flag = if place.is_some() { ELSEWHERE } else { 0 };
        let written = self.put(name, flag) && place.is_none_or(|place| self.put(place, 0));
        if !written {
            self.used = at;
            return false;
        }
        self.count = next;
        true
    }

    /// Writes a length byte (with `flag`) and `name`, if they fit.
    fn put(&mut self, name: Name<'_>, flag: u8) -> bool {
        let bytes = name.as_str().as_bytes();
        let end = self.used + 1 + bytes.len();
        let (Some(slot), Ok(len)) = (self.buf.get_mut(self.used..end), u8::try_from(bytes.len()))
        else {
            return false;
        };
        if let Some((first, tail)) = slot.split_first_mut() {
            *first = len | flag;
            tail.iter_mut().zip(bytes).for_each(|(d, s)| *d = *s);
        }
        self.used = end;
        true
    }

    /// The list written so far.
    pub fn finish(self) -> NameList<'a> {
        let encoded: &'a [u8] = self.buf;
        NameList { count: self.count, encoded: encoded.get(..self.used).unwrap_or_default() }
    }
}

impl<'a> IntoIterator for NameList<'a> {
    type Item = Name<'a>;
    type IntoIter = NameIter<'a>;
    fn into_iter(self) -> NameIter<'a> {
        self.iter()
    }
}

/// Iterator over the names of a [`NameList`].
#[derive(Debug, Clone)]
pub struct NameIter<'a> {
    entries: ListedNames<'a>,
}

impl<'a> Iterator for NameIter<'a> {
    type Item = Name<'a>;

    fn next(&mut self) -> Option<Name<'a>> {
        self.entries.next().map(|entry| entry.name)
    }
}

/// Iterator over the users of a [`NameList`], with their servers.
#[derive(Debug, Clone)]
pub struct ListedNames<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for ListedNames<'a> {
    type Item = ListedName<'a>;

    fn next(&mut self) -> Option<ListedName<'a>> {
        // Validated when the list was built; a failure here would only end the iteration.
        let mut reader = Reader::new(self.rest, Kind::Users);
        let entry = reader.listed_name().ok()?;
        self.rest = reader.rest();
        Some(entry)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for NameBuf {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.as_str());
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for NameList<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=u8} names", self.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["a", "star", "Zoë", "李雷", "sixteen-bytes-ok", "émoji🙂"] {
            assert_eq!(Name::new(name).map(|n| n.as_str()), Ok(name));
        }
    }

    #[test]
    fn refuses_bad_names() {
        assert_eq!(Name::new(""), Err(WireError::NameEmpty));
        assert_eq!(Name::new("seventeen-bytes-x"), Err(WireError::NameTooLong { len: 17 }));
        assert_eq!(Name::new("tab\t"), Err(WireError::NameBadChar(0x09)));
        assert_eq!(Name::new("bell\u{7}"), Err(WireError::NameBadChar(0x07)));
        assert_eq!(Name::new("c1\u{85}"), Err(WireError::NameBadChar(0x85)));
        assert_eq!(Name::from_bytes(b"\xff\xfe"), Err(WireError::NameNotUtf8));
    }

    #[test]
    fn leaves_the_rest_to_the_name_policy() {
        // Whitespace and invisible characters parse, so the server can say why it refuses.
        for name in ["a b", "ali\u{200B}ce", "\u{202E}evil", "alice\u{FE0F}", "server:"] {
            assert_eq!(Name::new(name).map(|n| n.as_str()), Ok(name));
        }
    }

    #[test]
    fn same_user_compares_keys() {
        let a = Name::new("Star").unwrap();
        assert!(a.same_user(&Name::new("sTAR").unwrap()));
        assert!(!a.same_user(&Name::new("star2").unwrap()));
        assert!(Name::new("aIice").unwrap().same_user(&Name::new("alice").unwrap()));
    }

    #[test]
    fn name_buf_keeps_the_name() {
        for name in ["a", "sixteen-bytes-ok", "Zoë", "émoji🙂"] {
            let buf = NameBuf::parse(name).unwrap();
            assert_eq!(buf.as_str(), name);
            assert_eq!(buf.as_name(), Name::new(name).unwrap());
        }
        assert_eq!(NameBuf::parse("a\tb"), Err(WireError::NameBadChar(0x09)));
    }

    #[test]
    fn name_list_encodes_what_fits() {
        let names = ["ann", "bob", "cy"].map(|n| Name::new(n).unwrap());
        let mut buf = [0u8; 9];
        let list = NameList::encode(names, &mut buf);
        assert_eq!(list.len(), 2);
        assert_eq!(list.encoded(), b"\x03ann\x03bob");
        let back: [&str; 2] =
            [list.iter().next().unwrap().as_str(), list.iter().nth(1).unwrap().as_str()];
        assert_eq!(back, ["ann", "bob"]);
        assert_eq!(NameList::from_encoded(2, b"\x03ann\x03bob"), Ok(list));
        assert_eq!(
            NameList::from_encoded(3, b"\x03ann\x03bob"),
            Err(WireError::Truncated { kind: Kind::Users })
        );
        assert_eq!(NameList::from_encoded(1, b"\x02a\x07"), Err(WireError::NameBadChar(0x07)));
    }
}
