//! The slash commands typed at the `chat` prompt and the `serve` console.

use minichat_core::wire::EchoMode;

/// What a line typed into `minichat chat` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatCommand<'a> {
    /// A message to the room. `//text` sends `/text`.
    Say(&'a str),
    /// `/to NAME TEXT`: a message to one user.
    To(&'a str, &'a str),
    /// `/who`.
    Who,
    /// `/echo upper|lower|same TEXT`.
    Echo(EchoMode, &'a str),
    /// `/quit`.
    Quit,
    /// `/help`.
    Help,
    /// An empty line: nothing.
    Nothing,
}

/// The help for the chat prompt.
pub(crate) const CHAT_HELP: &str = "type a line to send it to everyone; /to NAME TEXT sends to one user; \
/who lists users; /echo upper|lower TEXT asks the server to echo; //text sends a line starting with /; /quit leaves";

/// What a line typed into the `minichat serve` console asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorCommand<'a> {
    /// A plain line: an answer to whoever wrote last.
    Reply(&'a str),
    /// `/all TEXT`.
    All(&'a str),
    /// `/who`.
    Who,
    /// `/kick NAME`.
    Kick(&'a str),
    /// `/ban NAME`: the sessions of the name's key end, and the key stays out.
    Ban(&'a str),
    /// `/unban NAME`.
    Unban(&'a str),
    /// `/reload`: the records of keys read again (as on SIGHUP).
    Reload,
    /// `/stats`.
    Stats,
    /// `/quit`.
    Quit,
    /// `/help`.
    Help,
    /// An empty line.
    Nothing,
}

/// The help for the server console.
pub(crate) const OPERATOR_HELP: &str = "a plain line answers whoever wrote last (the prompt names them; at a terminal, as of the line's first key); /all TEXT writes to everyone; \
/who lists users and their keys; /kick NAME removes a user; /ban NAME removes a user's key and keeps it out, /unban NAME lets it in again; \
/reload reads the authorized keys, owners and bans again (as SIGHUP does); /stats shows the server's counters; //text sends a line starting with /; /quit stops the server";

/// Splits `/cmd rest` into the command word and the rest (trimmed of one separating
/// space run).
fn split_command(line: &str) -> (&str, &str) {
    match line.split_once(char::is_whitespace) {
        Some((command, rest)) => (command, rest.trim_start()),
        None => (line, ""),
    }
}

/// Parses a chat line; an error says why in words.
pub fn parse_chat(line: &str) -> Result<ChatCommand<'_>, String> {
    if line.is_empty() {
        return Ok(ChatCommand::Nothing);
    }
    if let Some(escaped) = line.strip_prefix("//") {
        return Ok(ChatCommand::Say(line.get(1..).unwrap_or(escaped)));
    }
    if !line.starts_with('/') {
        return Ok(ChatCommand::Say(line));
    }
    match split_command(line) {
        ("/to", rest) => match split_command(rest) {
            ("", _) => Err("/to needs a name and a text: /to NAME TEXT".into()),
            (name, text) => Ok(ChatCommand::To(name, text)),
        },
        ("/who", "") => Ok(ChatCommand::Who),
        ("/echo", rest) => {
            let (mode, text) = split_command(rest);
            let mode = match mode {
                "upper" => EchoMode::Upper,
                "lower" => EchoMode::Lower,
                "same" => EchoMode::Same,
                _ => return Err("/echo needs a mode: /echo upper|lower|same TEXT".into()),
            };
            Ok(ChatCommand::Echo(mode, text))
        }
        ("/quit", "") => Ok(ChatCommand::Quit),
        ("/help", _) => Ok(ChatCommand::Help),
        (command, _) => Err(format!(
            "{command} is not a command (type /help; //text sends a line starting with /)"
        )),
    }
}

/// Parses a console line; an error says why in words.
pub fn parse_operator(line: &str) -> Result<OperatorCommand<'_>, String> {
    if line.is_empty() {
        return Ok(OperatorCommand::Nothing);
    }
    if line.starts_with("//") {
        return Ok(OperatorCommand::Reply(line.get(1..).unwrap_or_default()));
    }
    if !line.starts_with('/') {
        return Ok(OperatorCommand::Reply(line));
    }
    match split_command(line) {
        ("/all", text) => Ok(OperatorCommand::All(text)),
        ("/who", "") => Ok(OperatorCommand::Who),
        ("/kick", "") => Err("/kick needs a name: /kick NAME".into()),
        ("/kick", name) => Ok(OperatorCommand::Kick(name.trim())),
        ("/ban", "") => Err("/ban needs a name: /ban NAME".into()),
        ("/ban", name) => Ok(OperatorCommand::Ban(name.trim())),
        ("/unban", "") => Err("/unban needs a name: /unban NAME".into()),
        ("/unban", name) => Ok(OperatorCommand::Unban(name.trim())),
        ("/reload", "") => Ok(OperatorCommand::Reload),
        ("/stats", "") => Ok(OperatorCommand::Stats),
        ("/quit", "") => Ok(OperatorCommand::Quit),
        ("/help", _) => Ok(OperatorCommand::Help),
        (command, _) => Err(format!(
            "{command} is not a command (type /help; //text sends a line starting with /)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_lines() {
        assert_eq!(parse_chat("hello there"), Ok(ChatCommand::Say("hello there")));
        assert_eq!(parse_chat("/to star2 hi  you"), Ok(ChatCommand::To("star2", "hi  you")));
        assert_eq!(parse_chat("/to star2"), Ok(ChatCommand::To("star2", "")));
        assert!(parse_chat("/to").is_err());
        assert_eq!(parse_chat("/who"), Ok(ChatCommand::Who));
        assert_eq!(parse_chat("/echo upper Hi"), Ok(ChatCommand::Echo(EchoMode::Upper, "Hi")));
        assert!(parse_chat("/echo sideways Hi").unwrap_err().contains("upper|lower"));
        assert_eq!(parse_chat("//etc/passwd"), Ok(ChatCommand::Say("/etc/passwd")));
        assert_eq!(parse_chat("/quit"), Ok(ChatCommand::Quit));
        assert_eq!(parse_chat(""), Ok(ChatCommand::Nothing));
        assert!(parse_chat("/frobnicate").unwrap_err().contains("/frobnicate is not a command"));
    }

    #[test]
    fn operator_lines() {
        assert_eq!(parse_operator("thanks!"), Ok(OperatorCommand::Reply("thanks!")));
        assert_eq!(parse_operator("/all hello all"), Ok(OperatorCommand::All("hello all")));
        assert_eq!(parse_operator("/kick star"), Ok(OperatorCommand::Kick("star")));
        assert!(parse_operator("/kick").is_err());
        assert_eq!(parse_operator("/ban troll"), Ok(OperatorCommand::Ban("troll")));
        assert!(parse_operator("/ban").unwrap_err().contains("/ban NAME"));
        assert_eq!(parse_operator("/unban troll"), Ok(OperatorCommand::Unban("troll")));
        assert_eq!(parse_operator("/reload"), Ok(OperatorCommand::Reload));
        assert_eq!(parse_operator("/who"), Ok(OperatorCommand::Who));
        assert_eq!(parse_operator("/stats"), Ok(OperatorCommand::Stats));
        assert_eq!(parse_operator("/quit"), Ok(OperatorCommand::Quit));
        assert_eq!(parse_operator("//who"), Ok(OperatorCommand::Reply("/who")));
    }
}
