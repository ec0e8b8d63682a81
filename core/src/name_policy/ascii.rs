//! The name policy without the Unicode tables (firmware builds): printable ASCII only,
//! and the key restricted to ASCII by a small table.

use crate::error::NameError;

pub(super) fn is_combining_mark(_: char) -> bool {
    // No ASCII character is a mark, and non-ASCII is refused below anyway.
    false
}

pub(super) fn check(name: &str) -> Result<(), NameError> {
    match name.chars().find(|c| !c.is_ascii()) {
        Some(c) => Err(NameError::NotAscii(u32::from(c))),
        None => Ok(()),
    }
}

/// The Unicode key restricted to ASCII; other characters (which this policy refuses)
/// are taken as they are: Unicode's case tables would cost firmware about 11 KB.
pub(super) fn for_each_key_char(name: &str, mut each: impl FnMut(char)) {
    for c in name.chars().map(|c| c.to_ascii_lowercase()) {
        match super::ascii_key(c) {
            Some(key) => key.chars().for_each(&mut each),
            None => each(c),
        }
    }
}
