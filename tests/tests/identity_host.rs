//! Names that belong to keys, as users and operators meet them, with the `minichat`
//! binary over UDP on 127.0.0.1 (issue 27's attack tests): a name's first key owns it, so
//! after `alice` leaves nobody else — with another key, or with none — joins as `alice`,
//! across a restart too; with `--authorized-keys` only listed keys join, a refused key
//! costs no slot, and a line removed (SIGHUP) cuts its sessions off at once; `/ban` ends a
//! key's sessions and keeps it out across a restart until `/unban`.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use minichat_tests::process::{Minichat, user_key};

const WAIT: Duration = Duration::from_secs(30);

/// A scratch directory of this test process: the server's key and records live there.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("minichat-identity-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A server whose key (and so its records) is in `dir`, with `more` flags.
fn serve(dir: &Path, more: &[&str]) -> (Minichat, String) {
    let key = dir.join("server.key");
    let key = key.to_str().unwrap();
    let args = [&["serve", "--bind", "127.0.0.1:0", "--key", key][..], more].concat();
    let (server, addr) = Minichat::serve_with_stdin(&args);
    (server, addr.to_string())
}

/// `minichat send` as `name` with the key file `key` (`None`: in the clear, no key):
/// its exit code and what it said on stderr.
fn send(addr: &str, name: &str, key: Option<&str>, text: &str) -> (Option<i32>, String) {
    let mut args = vec!["send", "--name", name, "--server", addr];
    match key {
        Some(key) => args.extend(["--key", key]),
        None => args.push("--plaintext"),
    }
    args.push(text);
    let mut send = Minichat::spawn(&args);
    let code = send.wait_exit(WAIT).code();
    (code, send.stderr_after_exit(WAIT).join("\n"))
}

/// A chat client of `name` with `key` that stays until its stdin closes.
fn chatter(addr: &str, name: &str, key: &str, server: &mut Minichat) -> Minichat {
    let args = ["chat", "--name", name, "--key", key, "--server", addr, "--linger", "0"];
    let client = Minichat::spawn_with_stdin(&args);
    server.stdout_line_containing(&format!("{name} joined from"), WAIT);
    client
}

/// The public key in `key`'s file, as `minichat key --client --public` prints it.
fn public_key(key: &str) -> String {
    let mut shown = Minichat::spawn(&["key", "--client", "--key", key, "--public"]);
    assert!(shown.wait_exit(WAIT).success());
    shown.stdout_after_exit(WAIT).concat()
}

#[test]
fn after_alice_leaves_nobody_else_joins_as_alice_even_across_a_restart() {
    let dir = scratch("first-use");
    let (alice, mallory) = (user_key("first-use", "alice"), user_key("first-use", "mallory"));
    let (mut server, addr) = serve(&dir, &["--plaintext"]);
    let (code, stderr) = send(&addr, "alice", Some(&alice), "hello, it is alice");
    assert_eq!(code, Some(0), "{stderr}");
    let recorded = server.stdout_line_containing("belongs to key", WAIT);
    assert!(recorded.starts_with("alice belongs to key "), "{recorded}");
    // The owners file is a file the operator can read: alice's key, her name.
    let owners = std::fs::read_to_string(dir.join("owners")).unwrap();
    assert!(owners.contains(&format!("{} alice", public_key(&alice))), "{owners}");
    for _restart in 0..2 {
        // Another key, and a session in the clear with no key, under alice's name or a
        // look-alike of it: refused, with the reason.
        for (name, key) in [("alice", Some(mallory.as_str())), ("ALICE", None)] {
            let (code, stderr) = send(&addr, name, key, "I am alice");
            assert_eq!(code, Some(1), "{name} {key:?} joined: {stderr}");
            assert!(
                stderr.contains(&format!("the name {name} belongs to another key")),
                "{stderr}"
            );
        }
        // Alice herself, with her key.
        let (code, stderr) = send(&addr, "alice", Some(&alice), "still alice");
        assert_eq!(code, Some(0), "{stderr}");
        server.stdout_line_containing("alice: still alice", WAIT);
        server.terminate();
        assert!(server.wait_exit(WAIT).success());
        let shown = server.whole_stdout_after_exit(WAIT);
        assert!(!shown.iter().any(|l| l.contains("I am alice")), "{shown:?}");
        (server, _) = serve_at(&dir, &addr);
    }
}

/// A server in `dir` bound to `addr` again (its records read back).
fn serve_at(dir: &Path, addr: &str) -> (Minichat, String) {
    let key = dir.join("server.key");
    let args = ["serve", "--bind", addr, "--key", key.to_str().unwrap(), "--plaintext"];
    let (server, bound) = Minichat::serve_with_stdin(&args);
    (server, bound.to_string())
}

#[test]
fn only_listed_keys_join_a_refused_one_costs_no_slot_and_a_removed_line_cuts_it_off() {
    let dir = scratch("listed");
    let (mcu, alice, guest) =
        (user_key("listed", "mcu"), user_key("listed", "alice"), user_key("listed", "guest"));
    let list = dir.join("authorized_keys");
    let both = format!(
        "# the devices and people of this server\n{} mcu\n{} alice # her laptop\n",
        public_key(&mcu),
        public_key(&alice)
    );
    std::fs::write(&list, &both).unwrap();
    let list_arg = list.to_str().unwrap();
    // One slot: refusals that cost a slot would fill it.
    let flags = ["--authorized-keys", list_arg, "--capacity", "1", "--plaintext"];
    let (mut server, addr) = serve(&dir, &flags);
    let listed = server.stdout_line_containing("only the keys in", WAIT);
    assert!(listed.contains("(2 names)"), "{listed}");
    for (name, key) in [("guest", Some(guest.as_str())), ("nokey", None), ("alice", Some(&mcu))] {
        for _ in 0..2 {
            let (code, stderr) = send(&addr, name, key, "let me in");
            assert_eq!(code, Some(1), "{name} joined: {stderr}");
            assert!(
                stderr.contains("this server lets in only the keys its operator listed; ask its operator to list your key: minichat key --client --public shows it"),
                "{stderr}"
            );
        }
    }
    // The listed device takes the one slot.
    let mut board = chatter(&addr, "mcu", &mcu, &mut server);
    board.write_line("mcu is up");
    server.stdout_line_containing("mcu: mcu is up", WAIT);
    // Its line removed, and the server told (SIGHUP): its session ends at once.
    std::fs::write(&list, format!("{} alice\n", public_key(&alice))).unwrap();
    server.hang_up();
    let notice = server.stderr_line_containing("SIGHUP", WAIT);
    assert!(notice.ends_with("ended the sessions of mcu"), "{notice}");
    board.stderr_line_containing("the operator removed you", WAIT);
    assert_eq!(board.wait_exit(WAIT).code(), Some(1));
    let (code, stderr) = send(&addr, "mcu", Some(&mcu), "back?");
    assert_eq!(code, Some(1), "{stderr}");
    // A bad line: the records stay as they were, and the operator reads why.
    std::fs::write(&list, format!("{} alice\nnot-a-key bob\n", public_key(&alice))).unwrap();
    server.write_line("/reload");
    let notice = server.stderr_line_containing("/reload", WAIT);
    assert!(notice.contains("the records were not changed"), "{notice}");
    assert!(notice.contains("line 2: \"not-a-key\" is not a key"), "{notice}");
    let (code, stderr) = send(&addr, "alice", Some(&alice), "hi");
    assert_eq!(code, Some(0), "{stderr}");
    drop(server);
    // A server with a bad file does not start, and says where.
    let key = dir.join("server.key");
    let args = [
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--key",
        key.to_str().unwrap(),
        "--authorized-keys",
        list_arg,
    ];
    let mut refused = Minichat::spawn(&args);
    assert_eq!(refused.wait_exit(WAIT).code(), Some(1));
    let stderr = refused.stderr_after_exit(WAIT).join("\n");
    assert!(stderr.contains(&format!("{list_arg}, line 2:")), "{stderr}");
}

#[test]
fn a_banned_key_is_cut_off_and_stays_out_across_a_restart_until_unbanned() {
    let dir = scratch("ban");
    let (troll, alice) = (user_key("ban", "troll"), user_key("ban", "alice"));
    let (mut server, addr) = serve(&dir, &["--plaintext"]);
    let mut trolling = chatter(&addr, "troll", &troll, &mut server);
    let _alice = chatter(&addr, "alice", &alice, &mut server);
    // The console shows each user's key.
    server.write_line("/who");
    let who = server.stdout_line_containing("users (2)", WAIT);
    let fingerprint = |key: &str| {
        let mut shown = Minichat::spawn(&["key", "--client", "--key", key]);
        assert!(shown.wait_exit(WAIT).success());
        let lines = shown.stdout_after_exit(WAIT);
        lines.iter().find_map(|l| l.strip_prefix("fingerprint: ")).unwrap().trim().to_owned()
    };
    assert!(who.contains(&format!("key {}", fingerprint(&troll))), "{who}");
    server.write_line("/ban troll");
    let banned = server.stderr_line_containing("banned;", WAIT);
    assert!(banned.ends_with("ended the sessions of troll"), "{banned}");
    trolling.stderr_line_containing("the operator removed you", WAIT);
    for _restart in 0..2 {
        let (code, stderr) = send(&addr, "troll2", Some(&troll), "back under another name");
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains("the operator has banned this key"), "{stderr}");
        server.terminate();
        assert!(server.wait_exit(WAIT).success());
        (server, _) = serve_at(&dir, &addr);
    }
    let bans = std::fs::read_to_string(dir.join("banned")).unwrap();
    assert!(bans.contains(&format!("{} troll", public_key(&troll))), "{bans}");
    server.write_line("/unban troll");
    server.stderr_line_containing("troll's key may join again", WAIT);
    let (code, stderr) = send(&addr, "troll", Some(&troll), "sorry");
    assert_eq!(code, Some(0), "{stderr}");
}

/// A chat shows a user's key the first time it meets them under a name, and warns loudly
/// when the name comes back with another key (the operator freed it, and someone else
/// took it).
#[test]
fn a_chat_shows_a_users_key_when_first_met_and_warns_when_it_changes() {
    let dir = scratch("user-keys");
    let (alice, mallory) = (user_key("user-keys", "alice"), user_key("user-keys", "mallory"));
    let bob_key = user_key("user-keys", "bob");
    let known = dir.join("bob-known_servers");
    let known = known.to_str().unwrap().to_owned();
    let (mut server, addr) = serve(&dir, &[]);
    let bob = |server: &mut Minichat| {
        let args = [
            "chat",
            "--name",
            "bob",
            "--key",
            &bob_key,
            "--server",
            &addr,
            "--known-servers",
            &known,
        ];
        let client = Minichat::spawn_with_stdin(&args);
        server.stdout_line_containing("bob joined from", WAIT);
        client
    };
    let mut first = bob(&mut server);
    let (code, stderr) = send(&addr, "alice", Some(&alice), "hi bob");
    assert_eq!(code, Some(0), "{stderr}");
    first.stdout_line_containing("alice: hi bob", WAIT);
    let met = first.stderr_line_containing("alice's key is", WAIT);
    let print = {
        let mut shown = Minichat::spawn(&["key", "--client", "--key", &alice]);
        assert!(shown.wait_exit(WAIT).success());
        let lines = shown.stdout_after_exit(WAIT);
        lines.iter().find_map(|l| l.strip_prefix("fingerprint: ")).unwrap().trim().to_owned()
    };
    assert!(met.contains(&format!("alice's key is {print} (first met")), "{met}");
    assert!(first.close_and_wait(WAIT).success());
    // The operator frees the name; another key takes it.
    std::fs::write(dir.join("owners"), "# freed\n").unwrap();
    server.write_line("/reload");
    server.stderr_line_containing("/reload", WAIT);
    let mut second = bob(&mut server);
    let (code, stderr) = send(&addr, "alice", Some(&mallory), "it is me, alice");
    assert_eq!(code, Some(0), "{stderr}");
    second.stdout_line_containing("alice: it is me, alice", WAIT);
    let warning = second.stderr_line_containing("WARNING", WAIT);
    assert!(warning.contains("WARNING: the key of alice changed"), "{warning}");
    assert!(warning.contains(&format!("It was {print}")), "{warning}");
    assert!(second.close_and_wait(WAIT).success());
}
