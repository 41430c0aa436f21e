//! A store URL that cannot be right, one server or several, is refused by
//! every command that takes one, before anything connects: one line
//! naming it (never its password) and what is wrong, and exit 2.

mod support;

use std::process::Command;

use support::processes::{BAZAAR, write_cluster};

/// The URLs, and a word each error must carry.
const BAD: &[(&str, &str)] = &[
    (
        "postgres://bazaar:hunter2@h1:5432,h2:5432/books?target_session_attrs=primary",
        "target_session_attrs",
    ),
    (
        "postgres://bazaar:hunter2@h1:5432,h2:5432/books?target_session_attrs=read-only",
        "read-only",
    ),
    ("postgres://bazaar:hunter2@h1:5432,,h2:5432/books", "empty"),
    ("postgres://bazaar:hunter2@h1:x,h2:5432/books", "port"),
    ("mysql://bazaar:hunter2@h1/books", "not a PostgreSQL URL"),
];

/// Runs `bazaar args`; returns the exit code and what it wrote.
fn bazaar(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BAZAAR)
        .args(args)
        .output()
        .expect("bazaar runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

fn refused(args: &[&str], word: &str) {
    let (code, text) = bazaar(args);
    assert_eq!(code, Some(2), "{args:?}: {text}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: one line, not:\n{text}");
    assert!(lines[0].contains(word), "{args:?}: {text}");
    assert!(lines[0].contains("h1"), "{args:?} names the URL: {text}");
    assert!(
        !text.contains("hunter2"),
        "{args:?} shows the password: {text}"
    );
}

#[test]
fn every_command_refuses_a_bad_store_url_in_one_line() {
    let (dir, cluster) = write_cluster("store-url", 3, 20, false);
    let cluster = cluster.to_str().unwrap();
    let out = dir.join("init");
    let out = out.to_str().unwrap();
    for (url, word) in BAD {
        refused(&["audit", "--store", url], word);
        refused(&["ledger", "--store", url], word);
        refused(
            &["node", "--cluster", cluster, "--id", "1", "--store", url],
            word,
        );
        refused(&["up", "--cluster", cluster, "--store", url], word);
        refused(
            &["init", "--peers", "3", "--out", out, "--store", url],
            word,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cluster_file_with_a_bad_store_url_is_refused() {
    let (dir, cluster) = write_cluster("store-url-file", 3, 20, false);
    let text = std::fs::read_to_string(&cluster).unwrap();
    let (url, word) = BAD[0];
    std::fs::write(&cluster, format!("store = {url:?}\n{text}")).unwrap();
    refused(
        &["node", "--cluster", cluster.to_str().unwrap(), "--id", "1"],
        word,
    );
    let _ = std::fs::remove_dir_all(&dir);
}
