//! The slash-command parsers of the `chat` prompt and the `serve` console, fed any line.
//! Checks: no panic; a plain line is a message whose text is the line; `//text` is the
//! text `/text`; every text and name a command gives back is a piece of the line (no
//! bytes made up); a `/to` name is one word; a `/kick` name is trimmed and not empty; a
//! line starting with one `/` is a command or an error, never a message; and the escape
//! a user types round-trips: `/`-escaping any text gives that text back as a message,
//! and `/to NAME TEXT` gives NAME and TEXT back.
#![no_main]

use host::fuzzing::{ChatLine, OperatorLine, parse_chat, parse_operator};
use libfuzzer_sys::fuzz_target;

/// Whether `piece` lies within `line` (a slice of it, not a copy).
fn within(piece: &str, line: &str) -> bool {
    let (start, end) = (line.as_ptr() as usize, line.as_ptr() as usize + line.len());
    let at = piece.as_ptr() as usize;
    piece.is_empty() || (at >= start && at + piece.len() <= end)
}

/// What a user types to send `text` to the room as it is.
fn escaped(text: &str) -> String {
    if text.starts_with('/') { format!("/{text}") } else { text.to_owned() }
}

fn check_chat(line: &str) {
    match parse_chat(line) {
        Ok(ChatLine::Nothing) => assert!(line.is_empty(), "{line:?} is nothing"),
        Ok(ChatLine::Say(text)) => {
            assert!(within(text, line), "{line:?}: say {text:?}");
            match line.strip_prefix("//") {
                Some(_) => assert_eq!(text, &line[1..], "an escaped line sends one slash less"),
                None => {
                    assert!(!line.starts_with('/'), "{line:?}: a command taken as a message");
                    assert_eq!(text, line);
                }
            }
        }
        Ok(ChatLine::To(name, text)) => {
            assert!(line.starts_with("/to"), "{line:?}: to");
            assert!(within(name, line) && within(text, line), "{line:?}: to {name:?} {text:?}");
            assert!(!name.is_empty() && !name.contains(char::is_whitespace), "name {name:?}");
            assert!(!text.starts_with(char::is_whitespace), "text {text:?}");
        }
        Ok(ChatLine::Echo(_, text)) => {
            assert!(line.starts_with("/echo") && within(text, line), "{line:?}: echo {text:?}");
        }
        Ok(ChatLine::Who | ChatLine::Quit) => {
            assert!(matches!(line.trim_end(), "/who" | "/quit"), "{line:?}");
        }
        Ok(ChatLine::Help) => assert!(line.starts_with("/help"), "{line:?}: help"),
        Err(why) => {
            assert!(line.starts_with('/') && !line.starts_with("//"), "{line:?}: {why}");
            assert!(!why.is_empty());
        }
    }
}

fn check_operator(line: &str) {
    match parse_operator(line) {
        Ok(OperatorLine::Nothing) => assert!(line.is_empty(), "{line:?} is nothing"),
        Ok(OperatorLine::Reply(text)) => {
            assert!(within(text, line), "{line:?}: reply {text:?}");
            match line.strip_prefix("//") {
                Some(_) => assert_eq!(text, &line[1..]),
                None => assert_eq!(text, line, "{line:?}: a command taken as a reply"),
            }
        }
        Ok(OperatorLine::All(text)) => {
            assert!(line.starts_with("/all") && within(text, line), "{line:?}: all {text:?}");
        }
        Ok(OperatorLine::Kick(name)) => {
            assert!(line.starts_with("/kick") && within(name, line), "{line:?}: kick {name:?}");
            assert!(!name.is_empty() && name.trim() == name, "kick {name:?}");
        }
        Ok(OperatorLine::Ban(name)) => {
            assert!(line.starts_with("/ban") && within(name, line), "{line:?}: ban {name:?}");
            assert!(!name.is_empty() && name.trim() == name, "ban {name:?}");
        }
        Ok(OperatorLine::Unban(name)) => {
            assert!(line.starts_with("/unban") && within(name, line), "{line:?}: unban {name:?}");
            assert!(!name.is_empty() && name.trim() == name, "unban {name:?}");
        }
        Ok(OperatorLine::Who | OperatorLine::Stats | OperatorLine::Quit | OperatorLine::Reload) => {
            assert!(matches!(line.trim_end(), "/who" | "/stats" | "/quit" | "/reload"), "{line:?}");
        }
        Ok(OperatorLine::Help) => assert!(line.starts_with("/help"), "{line:?}: help"),
        Err(why) => assert!(line.starts_with('/') && !line.starts_with("//"), "{line:?}: {why}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    check_chat(&line);
    check_operator(&line);
    // The escape round-trips: any text can be sent as it is.
    if !line.is_empty() {
        let typed = escaped(&line);
        assert_eq!(parse_chat(&typed), Ok(ChatLine::Say(&line)), "sending {line:?}");
        assert_eq!(parse_operator(&typed), Ok(OperatorLine::Reply(&line)), "replying {line:?}");
    }
    // `/to NAME TEXT` with a one-word name gives both back.
    let (name, text) = line.split_once(' ').unwrap_or((&line, ""));
    if !name.is_empty() && !name.contains(char::is_whitespace) {
        let text = text.trim_start();
        let typed = format!("/to {name} {text}");
        assert_eq!(parse_chat(&typed), Ok(ChatLine::To(name, text)), "{typed:?}");
    }
});
