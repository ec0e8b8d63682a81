//! Sequence numbers: `u32` on the wire, compared modulo 2^32 (RFC 1982 serial numbers), so
//! a session may outlive four billion messages.

/// Whether `a` comes after `b`: less than half the number space ahead of it.
pub fn after(a: u32, b: u32) -> bool {
    let distance = a.wrapping_sub(b);
    distance != 0 && distance < 1 << 31
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_wraps() {
        assert!(after(1, 0) && after(0, u32::MAX) && after(5, u32::MAX - 5));
        assert!(!after(0, 0) && !after(u32::MAX, 0) && !after(0, 1));
    }
}
