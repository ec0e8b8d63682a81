//! The values the command line takes, parsed with their limits and explained when wrong:
//! seconds, sizes, user names and addresses.

use std::net::{SocketAddr, ToSocketAddrs};

use minichat_core::time::Duration;
use minichat_core::wire::NameBuf;

use crate::net::server_memory::MIN_BUFFER;

/// The most whole seconds a time span holds: [`Duration::MAX`] is 2,147,483.647 s.
pub(super) const MAX_SECONDS: i64 = 2_147_483;

/// Parses a number of seconds, fractions allowed: `1`, `0.5`.
pub(crate) fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text.parse().map_err(|_| format!("{text} is not a number of seconds"))?;
    let span = std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{text} is not a number of seconds from 0 up"))?;
    match u64::try_from(span.as_millis()) {
        Ok(ms) if ms <= Duration::MAX.as_millis() => Ok(Duration::from_millis(ms)),
        _ => Err(format!("{text} seconds is longer than minichat keeps time spans (24 days)")),
    }
}

/// Parses a size in bytes: `4096`, `64K`, `1M` (powers of 1024), from 2K to 1G.
pub(crate) fn parse_bytes(text: &str) -> Result<usize, String> {
    let (digits, unit) = match text.trim().to_ascii_uppercase() {
        t if t.ends_with('K') => (t.trim_end_matches('K').to_owned(), 1 << 10),
        t if t.ends_with('M') => (t.trim_end_matches('M').to_owned(), 1 << 20),
        t => (t, 1),
    };
    let bytes = digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| format!("{text} is not a size; expected bytes, like 4096, 64K or 1M"))?;
    let (least, most) = (MIN_BUFFER, 1 << 30);
    if !(least..=most).contains(&bytes) {
        return Err(format!("{text} is out of range; between 2K and 1024M"));
    }
    Ok(bytes)
}

/// Parses a user name with the protocol's rules.
pub(crate) fn parse_name(text: &str) -> Result<NameBuf, String> {
    // The server's name policy, checked here too so a bad name is explained at once.
    minichat_core::name_policy::check(text).map_err(|error| error.to_string())?;
    NameBuf::parse(text).map_err(|error| error.to_string())
}

/// Parses `HOST:PORT`: a literal address (`127.0.0.1:8080`, `[::1]:8080`) or a host name
/// (`localhost:8080`), taking the first address it resolves to.
pub(crate) fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let hint = "expected HOST:PORT, like 127.0.0.1:8080 or [::1]:8080";
    match text.to_socket_addrs() {
        Ok(mut addrs) => addrs.next().ok_or_else(|| format!("{text} resolves to no address")),
        Err(_) if !text.contains(':') => Err(format!("{text} has no port; {hint}")),
        Err(error) => {
            Err(format!("{text} is not an address this machine can resolve ({error}); {hint}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses() {
        assert_eq!(parse_addr("127.0.0.1:8080"), Ok("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(parse_addr("[::1]:9"), Ok("[::1]:9".parse().unwrap()));
        assert!(parse_addr("localhost:8080").unwrap().ip().is_loopback());
        assert!(parse_addr("nonsense").unwrap_err().contains("has no port"));
        assert!(parse_addr("127.0.0.1:99999").is_err());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("64k"), Ok(64 << 10));
        assert_eq!(parse_bytes("1M"), Ok(1 << 20));
        assert!(parse_bytes("1").unwrap_err().contains("out of range"));
        assert!(parse_bytes("lots").unwrap_err().contains("not a size"));
        assert!(parse_bytes("99999999999999999999M").is_err());
    }

    #[test]
    fn seconds_parse() {
        assert_eq!(parse_seconds("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert!(parse_seconds("-1").is_err() && parse_seconds("soon").is_err());
        assert_eq!(parse_seconds("2147483.647"), Ok(Duration::MAX));
        assert!(parse_seconds("2147484").is_err_and(|e| e.contains("24 days")));
    }
}
