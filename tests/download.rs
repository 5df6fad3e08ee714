//! `credaudit download`: mirroring prefix ranges from a loopback range API,
//! resuming, refreshing by ETag, verifying, and auditing from the mirror.
mod api_server;
mod common;

use api_server::{Fault, Mode, Server};
use common::*;
use credaudit::hash::{encode_hex, ntlm};
use std::collections::BTreeSet;

/// The 16 prefixes 5BAA0..5BAAF; alice's "password" is in 5BAA6.
const RANGE: &str = "5BAA0-5BAAF";

fn prefixes() -> Vec<String> {
    (0x5BAA0..=0x5BAAF).map(|p| format!("{p:05X}")).collect()
}

fn download(wd: &Workdir, server: &Server, extra: &[&str]) -> Run {
    let mut cmd = wd
        .cmd(&["download", "--out", "mirror", "--prefixes", RANGE])
        .arg(format!("--api={}", server.url));
    for a in extra {
        cmd = cmd.arg(a);
    }
    cmd.run()
}

fn requested(server: &Server) -> BTreeSet<String> {
    server
        .log()
        .iter()
        .map(|s| s.prefix().to_string())
        .collect()
}

#[test]
fn mirrors_a_range_that_audits_as_a_corpus() {
    let wd = Workdir::new();
    let server = Server::start();
    let run = download(&wd, &server, &[]).code(0);
    assert!(
        run.stderr.contains("16 of 16 prefixes present; 16 fetched"),
        "{}",
        run.stderr
    );
    let log = server.log();
    assert_eq!(log.len(), 16);
    assert!(log
        .iter()
        .all(|s| s.header("add-padding").is_none() && s.query.is_none()));
    for p in prefixes() {
        let n = u32::from_str_radix(&p, 16).unwrap();
        let file = wd.read(&format!("mirror/{p}.txt"));
        // Exactly the server's lines, CRLF after each, nothing else.
        assert_eq!(file, format!("{}\r\n", server.body(Mode::Sha1, n)));
    }
    // 5BAA6 holds "password"; 5BAA7 is complete, so this hash is clean.
    wd.write(
        "users.csv",
        format!(
            "email,sha1\nalice@example.com,{SHA1_PASSWORD}\nbob@example.com,5BAA700000000000000000000000000000000001\n"
        ),
    );
    let run = wd
        .cmd(&["audit", "users.csv", "--corpus", "mirror"])
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["alice@example.com"]);
    assert_eq!(run.rows()[0][3], "9659365");
    wd.cmd(&[
        "download",
        "--verify",
        "--out",
        "mirror",
        "--prefixes",
        RANGE,
    ])
    .run()
    .code(0);
}

#[test]
fn rerun_fetches_only_what_is_missing_and_refresh_only_what_changed() {
    let wd = Workdir::new();
    let server = Server::start();
    download(&wd, &server, &[]).code(0);
    std::fs::remove_file(wd.path("mirror/5BAA2.txt")).unwrap();
    wd.write("mirror/5BAA9.txt", "not a range line\r\n");
    server.clear_log();
    let run = download(&wd, &server, &[]).code(0);
    assert_eq!(
        requested(&server),
        ["5BAA2", "5BAA9"].iter().map(|s| s.to_string()).collect()
    );
    assert!(
        run.stderr.contains("2 fetched, 0 not modified, 14 kept"),
        "{}",
        run.stderr
    );
    assert!(wd
        .read("mirror/5BAA9.txt")
        .starts_with(&server.body(Mode::Sha1, 0x5BAA9)[..10]));

    // --refresh revalidates everything by ETag; only the changed prefix is sent.
    server.add(Mode::Sha1, "5BAA400000000000000000000000000000000042", 42);
    server.clear_log();
    let run = download(&wd, &server, &["--refresh"]).code(0);
    let log = server.log();
    assert_eq!(log.len(), 16);
    assert!(log.iter().all(|s| s.header("if-none-match").is_some()));
    let changed: Vec<&str> = log
        .iter()
        .filter(|s| s.status == 200)
        .map(|s| s.prefix())
        .collect();
    assert_eq!(changed, ["5BAA4"]);
    assert!(
        run.stderr.contains("1 fetched, 15 not modified"),
        "{}",
        run.stderr
    );
    assert!(wd
        .read("mirror/5BAA4.txt")
        .contains("00000000000000000000000000000000042:42\r\n"));
}

#[test]
fn verify_finds_deleted_and_corrupt_files() {
    let wd = Workdir::new();
    let server = Server::start();
    download(&wd, &server, &[]).code(0);
    server.clear_log();
    std::fs::remove_file(wd.path("mirror/5BAA3.txt")).unwrap();
    let verify = || {
        wd.cmd(&[
            "download",
            "--verify",
            "--out",
            "mirror",
            "--prefixes",
            RANGE,
        ])
        .arg(format!("--api={}", server.url))
        .run()
    };
    let run = verify().code(3);
    assert!(run.stderr.contains("1 missing"), "{}", run.stderr);
    assert!(run.stderr.contains("5BAA3.txt"), "{}", run.stderr);
    let text = wd.read("mirror/5BAA6.txt");
    wd.write("mirror/5BAA6.txt", &text[..text.len() - 12]);
    let run = verify().code(3);
    assert!(
        run.stderr.contains("2 of 16 prefixes not usable"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("5BAA6.txt: line"), "{}", run.stderr);
    assert!(server.log().is_empty(), "--verify fetches nothing");
    download(&wd, &server, &[]).code(0);
    verify().code(0);
}

#[test]
fn failing_prefix_leaves_the_mirror_incomplete_until_a_rerun() {
    let wd = Workdir::new();
    let server = Server::start();
    server.fail_always("5BAA7", Fault::Status(502));
    server.fail_next("5BAA1", &[Fault::Truncated, Fault::Drop]);
    let run = download(
        &wd,
        &server,
        &["--retries", "2", "--sorted-file", "all.txt"],
    )
    .code(3);
    assert!(run.stderr.contains("incomplete"), "{}", run.stderr);
    assert!(run.stderr.contains("5BAA7.txt: HTTP 502"), "{}", run.stderr);
    assert!(!wd.path("mirror/5BAA7.txt").exists());
    assert!(
        !wd.path("all.txt").exists(),
        "no sorted file of a partial mirror"
    );
    assert!(wd.path("mirror/5BAA1.txt").exists(), "retried to success");
    server.heal("5BAA7");
    server.clear_log();
    download(&wd, &server, &["--sorted-file", "all.txt"]).code(0);
    assert_eq!(requested(&server), BTreeSet::from(["5BAA7".to_string()]));
    // The sorted file is a corpus of the whole range.
    wd.write(
        "users.csv",
        format!("email,sha1\nalice@example.com,{SHA1_PASSWORD}\n"),
    );
    let run = wd
        .cmd(&["audit", "users.csv", "--corpus", "all.txt"])
        .run()
        .code(1);
    assert_eq!(run.rows()[0][3], "9659365");
    let expected: String = prefixes()
        .iter()
        .flat_map(|p| {
            let body = server.body(Mode::Sha1, u32::from_str_radix(p, 16).unwrap());
            body.split("\r\n")
                .map(|line| format!("{p}{line}\r\n"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(wd.read("all.txt"), expected);
}

#[test]
fn ntlm_mirror() {
    let wd = Workdir::new();
    let server = Server::start();
    // NTLM("password") = 8846F7EA...; mirror its prefix only.
    let run = wd
        .cmd(&["download", "--ntlm", "--out", "nt", "--prefixes", "8846F"])
        .arg(format!("--api={}", server.url))
        .run()
        .code(0);
    assert!(run.stderr.contains("1 of 1 prefixes"), "{}", run.stderr);
    assert_eq!(server.log()[0].query.as_deref(), Some("mode=ntlm"));
    let first = wd.read("nt/8846F.txt");
    assert_eq!(
        first
            .lines()
            .next()
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .len(),
        27
    );
    wd.write(
        "dump.txt",
        format!("jdoe:{}\n", encode_hex(&ntlm(b"password").unwrap())),
    );
    let run = wd
        .cmd(&["audit", "dump.txt", "--corpus", "nt"])
        .run()
        .code(1);
    assert_eq!(run.rows()[0][3], "9659365");
    // A SHA-1 download into the NTLM mirror is refused.
    let run = wd
        .cmd(&["download", "--out", "nt", "--prefixes", "8846F"])
        .arg(format!("--api={}", server.url))
        .run()
        .code(2);
    assert!(
        run.stderr.contains("mirror of ntlm hashes"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_prefix_ranges_are_usage_errors() {
    let wd = Workdir::new();
    for bad in ["5BAA", "FFFFF-00000", "GGGGG"] {
        let run = wd
            .cmd(&["download", "--out", "m", "--prefixes", bad])
            .run()
            .code(2);
        assert!(run.stderr.contains("--prefixes"), "{}", run.stderr);
    }
    assert!(!wd.path("m").exists());
}

#[test]
fn a_failed_refresh_keeps_the_old_file_but_does_not_pass() {
    let wd = Workdir::new();
    let server = Server::start();
    download(&wd, &server, &[]).code(0);
    let before = wd.read("mirror/5BAA2.txt");
    server.fail_always("5BAA2", Fault::Status(500));
    let run = download(&wd, &server, &["--refresh", "--retries", "0"]).code(3);
    assert!(
        run.stderr
            .contains("1 prefix(es) could not be refreshed and keep their previous file (first: 5BAA2: HTTP 500"),
        "{}",
        run.stderr
    );
    assert_eq!(wd.read("mirror/5BAA2.txt"), before);
    wd.cmd(&[
        "download",
        "--verify",
        "--out",
        "mirror",
        "--prefixes",
        RANGE,
    ])
    .run()
    .code(0);
}
