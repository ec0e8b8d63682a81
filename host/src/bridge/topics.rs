//! The topics bridged servers publish on (`docs/BRIDGE.md` section 2), under the URL's
//! prefix, and which server a topic names.

/// One server's topics, and every other's, under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Topics {
    prefix: String,
    /// This server's id.
    server: String,
}

impl Topics {
    pub(crate) fn new(prefix: &str, server: &str) -> Topics {
        Topics { prefix: prefix.to_owned(), server: server.to_owned() }
    }

    /// `server`'s posts (`+`: every server's).
    pub(crate) fn room(&self, server: &str) -> String {
        format!("{}/room/{server}", self.prefix)
    }

    /// Requests to `server` to publish its posts again.
    pub(crate) fn replay(&self, server: &str) -> String {
        format!("{}/replay/{server}", self.prefix)
    }

    /// `server`'s greetings.
    pub(crate) fn hello(&self, server: &str) -> String {
        format!("{}/hello/{server}", self.prefix)
    }

    /// Answers to `server`'s greetings.
    pub(crate) fn met(&self, server: &str) -> String {
        format!("{}/met/{server}", self.prefix)
    }

    /// `server`'s goodbyes, and its last will.
    pub(crate) fn gone(&self, server: &str) -> String {
        format!("{}/gone/{server}", self.prefix)
    }

    /// Whether `server`'s room is full.
    pub(crate) fn busy(&self, server: &str) -> String {
        format!("{}/busy/{server}", self.prefix)
    }

    /// What this server sends itself, to know the broker still passes messages on.
    pub(crate) fn echo(&self) -> String {
        format!("{}/echo/{}", self.prefix, self.server)
    }

    /// The server a topic of a kind that names its publisher (`room`, `hello`, `gone`,
    /// `busy`, `echo`) names; `None` for the others (`met`, `replay`: named for their
    /// recipient).
    pub(crate) fn publisher<'t>(&self, topic: &'t str) -> Option<&'t str> {
        let rest = topic.strip_prefix(self.prefix.as_str())?.strip_prefix('/')?;
        let (kind, server) = rest.split_once('/')?;
        matches!(kind, "room" | "hello" | "gone" | "busy" | "echo").then_some(server)
    }

    /// Whether `topic` carries a goodbye (or a last will).
    pub(crate) fn is_goodbye(&self, topic: &str) -> bool {
        topic.starts_with(&self.gone(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_name_their_publisher_or_their_recipient() {
        let topics = Topics::new("a/b", "0f");
        assert_eq!(topics.room("1e"), "a/b/room/1e");
        assert_eq!(topics.echo(), "a/b/echo/0f");
        assert_eq!(topics.publisher("a/b/room/1e"), Some("1e"));
        assert_eq!(topics.publisher("a/b/gone/1e"), Some("1e"));
        assert_eq!(topics.publisher("a/b/met/1e"), None, "named for its recipient");
        assert_eq!(topics.publisher("a/bc/room/1e"), None, "another prefix");
        assert!(topics.is_goodbye("a/b/gone/1e") && !topics.is_goodbye("a/b/busy/1e"));
    }
}
