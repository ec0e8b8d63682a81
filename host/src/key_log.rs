//! `MINICHAT_KEYLOGFILE`: when set, `chat` and `send` append each encrypted session's keys
//! to that file (`docs/PROTOCOL.md`, section 12, "Key log"), so that the Wireshark
//! dissector can open a capture's sealed frames — as SSLKEYLOGFILE does for TLS. Off
//! unless asked for, said on stderr when on, and the file is made readable by its owner
//! only.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use minichat_core::secure::KeyLogEntry;

use crate::error::HostError;
use crate::term::output::{self, Stream};

/// The environment variable that names the key log.
pub(crate) const KEY_LOG_VARIABLE: &str = "MINICHAT_KEYLOGFILE";

/// An open key log.
#[derive(Debug)]
pub(crate) struct KeyLog {
    path: PathBuf,
    file: File,
}

impl KeyLog {
    /// The key log `MINICHAT_KEYLOGFILE` names, opened to append (and made if missing),
    /// or none when the variable is unset or empty.
    pub(crate) fn from_env() -> Result<Option<KeyLog>, HostError> {
        let Some(path) = std::env::var_os(KEY_LOG_VARIABLE).filter(|p| !p.is_empty()) else {
            return Ok(None);
        };
        let path = PathBuf::from(path);
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&path)
            .map_err(|source| HostError::KeyFile { path: path.clone(), source })?;
        output::line(
            Stream::Stderr,
            format!(
                "minichat: {KEY_LOG_VARIABLE} is set: the session's keys go to {}; whoever reads that file can read the session",
                path.display()
            ),
        );
        Ok(Some(KeyLog { path, file }))
    }

    /// Appends a session's line.
    pub(crate) fn record(&mut self, entry: &KeyLogEntry) -> Result<(), HostError> {
        writeln!(self.file, "{entry}")
            .and_then(|()| self.file.flush())
            .map_err(|source| HostError::KeyFile { path: self.path.clone(), source })
    }
}
