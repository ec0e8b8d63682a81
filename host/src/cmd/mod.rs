//! The subcommands of `minichat` (`cli::Command`), one file each.

pub(crate) mod bench;
pub(crate) mod chat;
pub mod demo;
pub(crate) mod echo;
pub(crate) mod key;
pub(crate) mod send;
pub(crate) mod serve;

use std::path::Path;

use crate::error::HostError;
use crate::net::capture::Capture;
use crate::term::output::{self, Stream};

/// Starts a `--capture` into `path` (`serve` and `chat`).
pub(crate) fn start_capture(path: &Path) -> Result<Capture, HostError> {
    Capture::create(path).map_err(|source| HostError::Capture { path: path.to_path_buf(), source })
}

/// Finishes a `--capture` and says where it is, and how many records were dropped if the
/// disk did not keep up (`serve` and `chat`).
pub(crate) fn finish_capture(
    capture: Capture,
    path: &Path,
    program: &str,
) -> Result<(), HostError> {
    let dropped = capture
        .finish()
        .map_err(|source| HostError::Capture { path: path.to_path_buf(), source })?;
    let mut line = format!("minichat {program}: capture written to {}", path.display());
    if dropped > 0 {
        line += &format!(
            "; {dropped} datagrams or frames are missing from it (the disk did not keep up)"
        );
    }
    output::line(Stream::Stderr, line);
    Ok(())
}
