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

/// `n` in decimal, in `buf`: a number for [`line`] without `core::fmt`.
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        if let Some(digit) = buf.get_mut(at) {
            *digit = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    core::str::from_utf8(buf.get(at..).unwrap_or_default()).unwrap_or("?")
}
