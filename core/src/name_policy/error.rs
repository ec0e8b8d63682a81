//! Why the name policy refuses a name: [`NameError`], and the sentence it reads as, written
//! without `core::fmt` so a firmware server can send it.

/// Why the name policy ([`crate::name_policy::check`]) refuses a name: the first rule the
/// name breaks, with the offending code point where there is one.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    /// A control character (general category Cc).
    Control(u32),
    /// Whitespace, a default-ignorable code point (which includes the variation selectors
    /// and the Hangul fillers) or a blank-looking character such as U+2800.
    Invisible(u32),
    /// `:`, which separates a name from its text on screen (`name: text`).
    Colon,
    /// The first character is a combining mark (general category Mn, Mc or Me).
    LeadingMark(u32),
    /// A combining mark that is hard to see where it is: the same mark twice in a row, or
    /// a dot above on a letter that already has a dot or looks like one (UTS #39, 5.4).
    HiddenMark(u32),
    /// A name not in Unicode Normalization Form C: a letter and a mark that have a
    /// composed form must be written composed, so one name has one spelling.
    NotComposed,
    /// A character outside the identifier profile of UTS #39 (Identifier_Status=Allowed)
    /// that is not printable ASCII: symbols, emoji, compatibility forms such as
    /// fullwidth letters, historic scripts.
    NotAllowed(u32),
    /// A non-ASCII character on a server built without the Unicode tables.
    NotAscii(u32),
    /// Letters of scripts that may not be mixed (more than UTS #39's Highly Restrictive
    /// level allows).
    MixedScripts {
        /// A script of the name's earlier letters.
        first: &'static str,
        /// The script of the letter that cannot join them.
        second: &'static str,
    },
}

impl NameError {
    /// Writes the sentence piece by piece to `out`, without `core::fmt`: the server sends
    /// it as a refusal's detail (firmware carries no formatting for it), and `Display`
    /// prints the same pieces.
    pub fn write_sentence(&self, out: &mut dyn FnMut(&str)) {
        // "a name must not contain U+XXXX" and why: most rules read so.
        fn contains(out: &mut dyn FnMut(&str), c: u32, why: &str) {
            out("a name must not contain U+");
            out(hex_code_point(c).as_str());
            out(why);
        }
        match *self {
            NameError::Control(c) => contains(out, c, ", a control character"),
            NameError::Invisible(c) => contains(
                out,
                c,
                ": whitespace, invisible and blank-looking characters are not allowed",
            ),
            NameError::Colon => {
                out("a name must not contain ':', the separator between a name and its text");
            }
            NameError::LeadingMark(c) => {
                out("a name must not start with a combining mark (U+");
                out(hex_code_point(c).as_str());
                out(")");
            }
            NameError::HiddenMark(c) => contains(out, c, " where it cannot be seen"),
            NameError::NotComposed => out("a name must be written in composed form (Unicode NFC)"),
            NameError::NotAllowed(c) => contains(
                out,
                c,
                ": only letters, digits and marks in common use, and printable ASCII, are allowed",
            ),
            NameError::NotAscii(c) => {
                contains(out, c, ": this server accepts printable ASCII names only");
            }
            NameError::MixedScripts { first, second } => {
                out("a name must not mix scripts (");
                out(first);
                out(" and ");
                out(second);
                out(")");
            }
        }
    }
}

impl core::fmt::Display for NameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut result = Ok(());
        self.write_sentence(&mut |piece| {
            if result.is_ok() {
                result = f.write_str(piece);
            }
        });
        result
    }
}

impl core::error::Error for NameError {}

/// `c` as the hexadecimal digits of `U+XXXX`: upper case, at least four digits.
fn hex_code_point(c: u32) -> HexDigits {
    let mut buf = [0u8; 8];
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let digits = (32 - c.leading_zeros()).div_ceil(4).max(4) as usize;
    for (i, slot) in buf.iter_mut().take(digits).enumerate() {
        let shift = 4 * (digits - 1 - i);
        *slot = DIGITS.get(((c >> shift) & 0xF) as usize).copied().unwrap_or(b'0');
    }
    HexDigits { buf, len: digits }
}

/// The digits [`hex_code_point`] wrote.
struct HexDigits {
    buf: [u8; 8],
    len: usize,
}

impl HexDigits {
    fn as_str(&self) -> &str {
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn code_points_read_as_in_the_unicode_standard() {
        assert_eq!(hex_code_point(0x7).as_str(), "0007");
        assert_eq!(hex_code_point(0x200B).as_str(), "200B");
        assert_eq!(hex_code_point(0x1F600).as_str(), "1F600");
        assert_eq!(hex_code_point(0x10_FFFF).as_str(), "10FFFF");
        assert_eq!(
            NameError::Control(0x7).to_string(),
            "a name must not contain U+0007, a control character"
        );
    }
}
