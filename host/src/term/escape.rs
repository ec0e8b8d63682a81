//! Showing remote text safely: control characters, line and paragraph separators and
//! format characters (bidirectional overrides, zero-width characters, soft hyphens) are
//! escaped, so a message cannot move the cursor, clear the screen or disguise itself.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every character of general category Cc, Zl, Zp or Cf written as an escape:
/// `\n`, `\t`, `\r`, `\x1b`, `\u{202e}`.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) && u32::from(c) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_format(c)
}

/// General category Cf (format), from Unicode 17's UnicodeData.txt: invisible characters
/// that change how their neighbours are shown. Small and stable enough to list by hand.
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_only() {
        assert_eq!(escape("hello, wörld 🙂"), "hello, wörld 🙂");
        assert_eq!(escape("a\nb\tc\rd"), "a\\nb\\tc\\rd");
        assert_eq!(escape("\x1b[2Jgone"), "\\x1b[2Jgone");
        assert_eq!(escape("\u{7f}\u{85}"), "\\x7f\\u{85}");
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
    }

    #[test]
    fn escapes_separators_and_format_characters() {
        let listed = [
            '\u{2028}', '\u{2029}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}',
            '\u{FEFF}', '\u{061C}', '\u{00AD}', '\u{FFF9}', '\u{FFFA}', '\u{FFFB}',
        ];
        for c in listed {
            let text = format!("a{c}b");
            assert_eq!(
                escape(&text),
                format!("a\\u{{{:x}}}b", u32::from(c)),
                "U+{:04X}",
                u32::from(c)
            );
        }
        // Emoji presentation selectors are marks, not format characters: kept.
        assert_eq!(escape("\u{2764}\u{FE0F}"), "\u{2764}\u{FE0F}");
    }
}
