//! The one file format of the server's records of keys (`docs/PROTOCOL.md`, section 12,
//! "Client keys"): the operator's authorized-keys file, and the owners and bans the server
//! records itself. SSH-style, so an operator reads and edits them with any editor: one
//! `KEY NAME` per line — the key as 64 hexadecimal digits (`minichat key --client
//! --public` prints it), the name as users join — with blank lines, `#` comment lines, and
//! a `# comment` after the name.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use minichat_core::server::ClientKey;
use minichat_core::wire::{Name, NameBuf};

use crate::error::HostError;
use crate::keys::{hex, parse_hex};

/// One line of a key list: a key and a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyLine {
    pub(crate) key: ClientKey,
    pub(crate) name: NameBuf,
    /// Its line in the file (1-based), for messages.
    pub(crate) line: usize,
}

/// Reads the key list at `path`: its lines, or the first bad one's number and what is
/// wrong with it. A file that does not exist is an empty list when `missing_is_empty`.
pub(crate) fn read(path: &Path, missing_is_empty: bool) -> Result<Vec<KeyLine>, HostError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if missing_is_empty && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Vec::new());
        }
        Err(source) => return Err(HostError::KeyList { path: path.to_owned(), source }),
    };
    parse(&text).map_err(|(line, why)| HostError::KeyListLine { path: path.to_owned(), line, why })
}

/// Parses a key list's text: its lines, or the first bad one's number and why.
pub(crate) fn parse(text: &str) -> Result<Vec<KeyLine>, (usize, String)> {
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.split_once('#').map_or(raw, |(before, _)| before);
        let mut fields = content.split_whitespace();
        let Some(key_text) = fields.next() else { continue };
        let key = parse_hex(key_text).ok_or_else(|| {
            (line, format!("{key_text:?} is not a key: a key is 64 hexadecimal digits"))
        })?;
        let name_text = fields
            .next()
            .ok_or_else(|| (line, "the key has no name after it: write KEY NAME".to_owned()))?;
        let name = Name::new(name_text)
            .map_err(|error| (line, format!("{name_text:?} is not a name: {error}")))?;
        if let Some(extra) = fields.next() {
            return Err((
                line,
                format!("{extra:?} follows the name: write KEY NAME, then # for a comment"),
            ));
        }
        lines.push(KeyLine { key, name: NameBuf::new(name), line });
    }
    Ok(lines)
}

/// Appends `key NAME` to the list at `path` (made, readable by its owner only, if it
/// does not exist), with `comment` after it.
pub(crate) fn append(
    path: &Path,
    key: &ClientKey,
    name: Name<'_>,
    comment: &str,
) -> Result<(), HostError> {
    let error = |source| HostError::KeyList { path: path.to_owned(), source };
    let mut out = open_for_writing(path, true).map_err(error)?;
    // A last line without its newline would take the record as its own continuation.
    let text = fs::read(path).map_err(error)?;
    let newline = if text.last().is_some_and(|b| *b != b'\n') { "\n" } else { "" };
    writeln!(out, "{newline}{} {name} # {comment}", hex(key)).map_err(error)
}

/// Writes the list at `path` anew: `header` (comment lines), then `lines`.
pub(crate) fn rewrite(path: &Path, header: &str, lines: &[KeyLine]) -> Result<(), HostError> {
    let error = |source| HostError::KeyList { path: path.to_owned(), source };
    let mut text = String::new();
    for comment in header.lines() {
        text.push_str(&format!("# {comment}\n"));
    }
    for line in lines {
        text.push_str(&format!("{} {}\n", hex(&line.key), line.name));
    }
    let temporary = with_suffix(path, ".new");
    let mut out = open_for_writing(&temporary, false).map_err(error)?;
    out.write_all(text.as_bytes()).map_err(error)?;
    out.sync_all().map_err(error)?;
    // Renamed into place: a crash leaves the old file or the new one, never half of one.
    fs::rename(&temporary, path).map_err(error)
}

/// Opens `path` to append to (or, not `append`, to write from empty), made readable by its
/// owner only if new, its directory made if missing.
fn open_for_writing(path: &Path, append: bool) -> std::io::Result<fs::File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut options = fs::OpenOptions::new();
    options.create(true);
    if append {
        options.append(true);
    } else {
        options.write(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0101010101010101010101010101010101010101010101010101010101010101";

    #[test]
    fn lines_comments_and_blank_lines() {
        let text = format!("# devices\n\n{KEY} mcu\n  {KEY}   alice   # her laptop\n");
        let lines = parse(&text).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].name.as_str(), lines[0].line, lines[0].key), ("mcu", 3, [1; 32]));
        assert_eq!((lines[1].name.as_str(), lines[1].line), ("alice", 4));
    }

    #[test]
    fn a_bad_line_is_named_by_its_number_and_its_fault() {
        let bad = |text: &str| parse(text).unwrap_err();
        assert_eq!(bad(&format!("{KEY} a\nnot-a-key b\n")).0, 2);
        assert!(bad("xyz alice").1.contains("is not a key: a key is 64 hexadecimal digits"));
        assert!(bad(KEY).1.contains("has no name after it"));
        assert!(bad(&format!("{KEY} al ice")).1.contains("\"ice\" follows the name"));
        let long = format!("{KEY} {}", "n".repeat(17));
        assert!(bad(&long).1.contains("is not a name"), "{}", bad(&long).1);
        assert!(bad(&format!("{} a", &KEY[1..])).1.contains("is not a key"), "63 digits");
    }

    #[test]
    fn what_is_appended_and_rewritten_reads_back() {
        let dir = std::env::temp_dir().join(format!("minichat-key-list-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join("owners");
        assert_eq!(read(&path, true).unwrap(), Vec::new());
        assert!(read(&path, false).is_err(), "a list that must exist");
        append(&path, &[1; 32], Name::new("mcu").unwrap(), "first use").unwrap();
        append(&path, &[2; 32], Name::new("alice").unwrap(), "first use").unwrap();
        let lines = read(&path, false).unwrap();
        assert_eq!(lines.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["mcu", "alice"]);
        rewrite(&path, "owners\nedit freely", &lines[1..]).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# owners\n# edit freely\n"), "{text}");
        assert_eq!(read(&path, false).unwrap()[0].key, [2; 32]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
