//! The broker a server bridges through: `mqtt://HOST:PORT[/PREFIX]`.

use std::fmt;

/// The broker's port unless the URL says.
pub(crate) const DEFAULT_PORT: u16 = 1883;
/// The topic prefix unless the URL says.
pub(crate) const DEFAULT_PREFIX: &str = "minichat";

/// Where the broker is, and the prefix of the topics the bridged servers share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BridgeUrl {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) prefix: String,
}

impl BridgeUrl {
    /// Parses `mqtt://HOST[:PORT][/PREFIX]`; an IPv6 host in brackets (`mqtt://[::1]:1883`).
    pub(crate) fn parse(text: &str) -> Result<BridgeUrl, String> {
        let hint = "expected mqtt://HOST:PORT[/PREFIX], like mqtt://127.0.0.1:1883/minichat";
        let rest = text.strip_prefix("mqtt://").ok_or_else(|| format!("{text}: {hint}"))?;
        let (authority, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) =
                    v6.split_once(']').ok_or_else(|| format!("{text}: unclosed [ in the host"))?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty() {
            return Err(format!("{text} has no host; {hint}"));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(port) => port
                .parse()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| format!("{text}: {port:?} is not a port (1 to 65535)"))?,
        };
        let prefix = prefix.trim_end_matches('/');
        let prefix = if prefix.is_empty() { DEFAULT_PREFIX } else { prefix };
        if prefix.contains(['+', '#', '\0']) || prefix.split('/').any(str::is_empty) {
            return Err(format!(
                "{text}: the prefix {prefix:?} must be topic levels without wildcards (+, #)"
            ));
        }
        Ok(BridgeUrl { host: host.to_owned(), port, prefix: prefix.to_owned() })
    }
}

impl fmt::Display for BridgeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "mqtt://[{}]:{}/{}", self.host, self.port, self.prefix)
        } else {
            write!(f, "mqtt://{}:{}/{}", self.host, self.port, self.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(host: &str, port: u16, prefix: &str) -> BridgeUrl {
        BridgeUrl { host: host.into(), port, prefix: prefix.into() }
    }

    #[test]
    fn parses_hosts_ports_and_prefixes() {
        let parse = BridgeUrl::parse;
        assert_eq!(parse("mqtt://127.0.0.1:1884/room"), Ok(url("127.0.0.1", 1884, "room")));
        assert_eq!(parse("mqtt://broker"), Ok(url("broker", 1883, "minichat")));
        assert_eq!(parse("mqtt://broker/a/b/"), Ok(url("broker", 1883, "a/b")));
        assert_eq!(parse("mqtt://[::1]:9/x"), Ok(url("::1", 9, "x")));
        assert_eq!(parse("mqtt://[::1]:9/x").unwrap().to_string(), "mqtt://[::1]:9/x");
        assert!(parse("tcp://broker").unwrap_err().contains("expected mqtt://"));
        assert!(parse("mqtt://:1883").unwrap_err().contains("no host"));
        assert!(parse("mqtt://broker:0").unwrap_err().contains("not a port"));
        assert!(parse("mqtt://broker:http").unwrap_err().contains("not a port"));
        assert!(parse("mqtt://broker/a/+").unwrap_err().contains("wildcards"));
        assert!(parse("mqtt://broker/a//b").unwrap_err().contains("wildcards"));
    }
}
