//! The firmware's log: lines to the host's stdout over semihosting, written piece by piece
//! so the firmware carries no `core::fmt` (whose formatting machinery costs kilobytes).

use cortex_m_semihosting::hio;

/// Writes `pieces` and a newline as one log line. A host without semihosting gets nothing.
pub fn line(pieces: &[&str]) {
    let Ok(mut out) = hio::hstdout() else { return };
    for piece in pieces {
        let _ = out.write_all(piece.as_bytes());
    }
    let _ = out.write_all(b"\n");
}
