//! `--api`: the range API source against a real HTTP server on loopback.
//! Which accounts are flagged and which unchecked, exit codes, retries on
//! every kind of fault, the cache and its revalidation, and that nothing but
//! 5-hex prefixes ever reached the server.
mod api_server;
mod common;

use api_server::{Fault, Mode, Seen, Server};
use common::*;
use credaudit::hash::{encode_hex, ntlm, sha1};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Accounts of the SHA-1 export and the passwords behind their hashes.
const PEOPLE: [(&str, &str); 6] = [
    ("alice@example.com", "password"),
    ("bob@example.com", "correct horse battery staple"),
    ("carol@example.com", "123456"),
    ("grace@example.com", "letmein"),
    ("heidi@example.com", "Tr0ub4dor&3"),
    ("ivan@example.com", "rarely-seen-pw"),
];
/// In the same prefix as alice's hash (5BAA6), in no corpus.
const MALLORY: &str = "5BAA600000000000000000000000000000000001";
/// In alice's prefix too; the server sends it as a count-0 padding line.
const PADDED: &str = "5BAA6FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF";

/// The counts the fixture corpus holds for the pwned ones.
fn expected_pwned() -> BTreeMap<String, String> {
    [
        ("alice@example.com", "9659365"),
        ("carol@example.com", "37359195"),
        ("grace@example.com", "1034827"),
        ("ivan@example.com", "1"),
    ]
    .iter()
    .map(|(a, c)| (a.to_string(), c.to_string()))
    .collect()
}

fn sha1_hex(password: &str) -> String {
    encode_hex(&sha1(password.as_bytes()))
}

fn prefix(hash: &str) -> String {
    hash[..5].to_ascii_uppercase()
}

/// Every full hash of the SHA-1 export.
fn export_hashes() -> Vec<String> {
    let mut all: Vec<String> = PEOPLE.iter().map(|(_, p)| sha1_hex(p)).collect();
    all.push(MALLORY.into());
    all.push(PADDED.into());
    all
}

fn write_export(wd: &Workdir) {
    let mut csv = String::from("email,sha1\n");
    for (account, password) in PEOPLE {
        csv.push_str(&format!("{account},{}\n", sha1_hex(password)));
    }
    csv.push_str(&format!("mallory@example.com,{MALLORY}\n"));
    csv.push_str(&format!("padded@example.com,{PADDED}\n"));
    wd.write("users.csv", csv);
}

/// Distinct prefixes of the export: one request each.
fn export_prefixes() -> BTreeSet<String> {
    export_hashes().iter().map(|h| prefix(h)).collect()
}

/// Start the server with the fixture corpora and the padding-line plant.
fn server() -> Server {
    let s = Server::start();
    s.add(Mode::Sha1, PADDED, 0);
    s
}

fn audit(wd: &Workdir, server: &Server, extra: &[&str]) -> Run {
    wd.cmd(&[
        "audit",
        "users.csv",
        "--summary",
        "s.json",
        "--cache-dir",
        "cache",
    ])
    .arg(format!("--api={}", server.url))
    .args(extra)
    .run()
}

trait Args {
    fn args(self, a: &[&str]) -> Self;
}

impl Args for Cmd {
    fn args(mut self, a: &[&str]) -> Self {
        for x in a {
            self = self.arg(x);
        }
        self
    }
}

/// Rows whose reasons include `reason`: account -> max_count.
fn with_reason(run: &Run, reason: &str) -> BTreeMap<String, String> {
    run.rows()
        .into_iter()
        .filter(|r| r[2].split(';').any(|x| x == reason))
        .map(|r| (r[0].clone(), r[3].clone()))
        .collect()
}

fn summary(wd: &Workdir) -> serde_json::Value {
    serde_json::from_str(&wd.read("s.json")).unwrap()
}

/// The range API source's request counters from the summary.
fn stats(wd: &Workdir) -> serde_json::Value {
    let s = summary(wd);
    let api = s["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["kind"] == "range-api")
        .expect("range API in summary")
        .clone();
    api["lookups"][0]["requests"].clone()
}

/// Nothing but `/range/XXXXX` (5 upper-case hex), at most `mode=ntlm`, and
/// a short list of harmless headers ever reached the server; no full hash,
/// suffix or password in any of it.
fn assert_only_prefixes(log: &[Seen], secrets: &[String]) {
    const ALLOWED: [&str; 7] = [
        "host",
        "user-agent",
        "accept",
        "accept-encoding",
        "add-padding",
        "if-none-match",
        "if-modified-since",
    ];
    assert!(!log.is_empty());
    for seen in log {
        let p = seen.prefix();
        assert!(
            seen.path.starts_with("/range/")
                && p.len() == 5
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
            "path {:?}",
            seen.path
        );
        assert!(
            seen.query.is_none() || seen.query.as_deref() == Some("mode=ntlm"),
            "query {:?}",
            seen.query
        );
        assert_eq!(
            seen.header("user-agent"),
            Some(concat!("credaudit/", env!("CARGO_PKG_VERSION")))
        );
        let mut text = format!("{} {:?}", seen.path, seen.query);
        for (name, value) in &seen.headers {
            assert!(ALLOWED.contains(&name.as_str()), "header {name}");
            text.push_str(value);
        }
        let text = text.to_ascii_uppercase();
        for secret in secrets {
            let secret = secret.to_ascii_uppercase();
            assert!(!text.contains(&secret), "{secret} sent in {text}");
            if secret.len() > 30 {
                assert!(!text.contains(&secret[5..]), "suffix of {secret} sent");
            }
        }
    }
}

fn secrets() -> Vec<String> {
    let mut s = export_hashes();
    s.extend(PEOPLE.iter().map(|(_, p)| p.to_string()));
    s
}

/// Requests per prefix.
fn per_prefix(log: &[Seen]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for seen in log {
        *m.entry(seen.prefix().to_string()).or_default() += 1;
    }
    m
}

#[test]
fn flags_pwned_accounts_with_one_padded_request_per_prefix() {
    let wd = Workdir::new();
    write_export(&wd);
    let server = server();
    let run = audit(&wd, &server, &[]).code(1);
    assert_eq!(with_reason(&run, "pwned"), expected_pwned());
    // The count-0 padding line for padded@ is not a hit; mallory shares
    // alice's prefix and is clean.
    assert_eq!(run.accounts().len(), 4, "{}", run.stdout);
    let host = server.url.trim_start_matches("http://");
    assert!(run.rows().iter().all(|r| r[4] == host), "{}", run.stdout);
    let log = server.log();
    assert_eq!(
        per_prefix(&log).keys().cloned().collect::<BTreeSet<_>>(),
        export_prefixes()
    );
    assert_eq!(log.len(), export_prefixes().len(), "one request per prefix");
    assert!(log.iter().all(|s| s.header("add-padding") == Some("true")));
    assert!(log.iter().all(|s| s.gzip && s.status == 200), "gzip used");
    assert_only_prefixes(&log, &secrets());
    let st = stats(&wd);
    assert_eq!(st["prefixes"], export_prefixes().len());
    assert_eq!(st["requests"], export_prefixes().len());
    assert_eq!(st["retries"], 0);
    let s = summary(&wd);
    assert_eq!(s["accounts_unchecked"], 0);
    // Padding lines are not counted as corpus lines.
    let lines: u64 = export_prefixes()
        .iter()
        .map(|p| {
            let body = server.body(Mode::Sha1, u32::from_str_radix(p, 16).unwrap());
            body.split("\r\n").filter(|l| !l.ends_with(":0")).count() as u64
        })
        .sum();
    let api = s["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["kind"] == "range-api")
        .unwrap();
    assert_eq!(api["lookups"][0]["lines_read"], lines);
}

#[test]
fn ntlm_hashes_are_asked_in_ntlm_mode() {
    let wd = Workdir::new();
    let hash = |p: &str| encode_hex(&ntlm(p.as_bytes()).unwrap());
    wd.write(
        "users.txt",
        format!(
            "jdoe:{}\nasmith:{}\nroot:{}\n",
            hash("password"),
            hash("correct horse battery staple"),
            hash("qwerty")
        ),
    );
    let server = server();
    let run = wd
        .cmd(&["audit", "users.txt", "--no-cache", "--no-padding"])
        .arg(format!("--api={}", server.url))
        .run()
        .code(1);
    assert_eq!(
        with_reason(&run, "pwned"),
        [("jdoe", "9659365"), ("root", "10556095")]
            .iter()
            .map(|(a, c)| (a.to_string(), c.to_string()))
            .collect()
    );
    let log = server.log();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|s| s.query.as_deref() == Some("mode=ntlm")));
    assert!(log.iter().all(|s| s.header("add-padding").is_none()));
    let secrets: Vec<String> = ["password", "correct horse battery staple", "qwerty"]
        .iter()
        .flat_map(|p| [hash(p), p.to_string()])
        .collect();
    assert_only_prefixes(&log, &secrets);
}

#[test]
fn every_kind_of_fault_is_retried_until_the_answer_is_whole() {
    let wd = Workdir::new();
    write_export(&wd);
    let server = server();
    let p = |password: &str| prefix(&sha1_hex(password));
    server.fail_next(&p("password"), &[Fault::Status(500), Fault::Status(503)]);
    server.fail_next(&p("123456"), &[Fault::TooMany(1)]);
    server.fail_next(&p("letmein"), &[Fault::Truncated]);
    server.fail_next(&p("rarely-seen-pw"), &[Fault::Drop]);
    server.fail_next(
        &p("correct horse battery staple"),
        &[Fault::Delay(Duration::from_secs(6))],
    );
    server.fail_next(&p("Tr0ub4dor&3"), &[Fault::NotHex, Fault::WrongWidth]);
    let started = Instant::now();
    let run = audit(&wd, &server, &["--timeout", "2", "--retries", "4"]).code(1);
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(with_reason(&run, "pwned"), expected_pwned());
    assert!(with_reason(&run, "unchecked").is_empty());
    let log = server.log();
    let counts = per_prefix(&log);
    assert_eq!(counts[&p("password")], 3);
    assert_eq!(counts[&p("123456")], 2);
    assert_eq!(counts[&p("letmein")], 2);
    assert_eq!(counts[&p("rarely-seen-pw")], 2);
    assert_eq!(counts[&p("correct horse battery staple")], 2);
    assert_eq!(counts[&p("Tr0ub4dor&3")], 3);
    // Retry-After: 1 was honoured.
    let times: Vec<Instant> = log
        .iter()
        .filter(|s| s.prefix() == p("123456"))
        .map(|s| s.at)
        .collect();
    assert!(times[1] - times[0] >= Duration::from_millis(900));
    assert_eq!(stats(&wd)["retries"], 2 + 1 + 1 + 1 + 1 + 2);
    assert_only_prefixes(&log, &secrets());
}

#[test]
fn prefixes_that_keep_failing_leave_their_accounts_unchecked() {
    let wd = Workdir::new();
    write_export(&wd);
    let server = server();
    let p = |password: &str| prefix(&sha1_hex(password));
    server.fail_always(&p("password"), Fault::Status(500));
    server.fail_always(&p("123456"), Fault::WrongWidth);
    // A 400 is final: not retried.
    server.fail_always(&p("letmein"), Fault::Status(400));
    let run = audit(&wd, &server, &["--retries", "2"]).code(3);
    let unchecked: BTreeSet<String> = with_reason(&run, "unchecked").into_keys().collect();
    assert_eq!(
        unchecked,
        [
            "alice@example.com",
            "carol@example.com",
            "grace@example.com",
            "mallory@example.com",
            "padded@example.com"
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    );
    assert_eq!(
        with_reason(&run, "pwned").into_keys().collect::<Vec<_>>(),
        ["ivan@example.com"]
    );
    let counts = per_prefix(&server.log());
    assert_eq!(counts[&p("password")], 3);
    assert_eq!(counts[&p("123456")], 3);
    assert_eq!(counts[&p("letmein")], 1);
    let first = [p("password"), p("123456"), p("letmein")]
        .into_iter()
        .min()
        .unwrap();
    assert!(
        run.stderr
            .contains("3 prefix(es) failed after 3 attempt(s) (first: "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&first), "{}", run.stderr);
    assert!(run.stderr.contains("5 hash(es) could not be checked"));
    for secret in secrets() {
        assert!(!run
            .stderr
            .to_ascii_uppercase()
            .contains(&secret.to_ascii_uppercase()));
    }
    let s = summary(&wd);
    assert_eq!(s["accounts_unchecked"], 5);
    assert_eq!(stats(&wd)["failed_prefixes"], 3);
    // Failed prefixes are not cached: the next run asks again and succeeds.
    server.heal(&p("password"));
    server.heal(&p("123456"));
    server.heal(&p("letmein"));
    server.clear_log();
    let run = audit(&wd, &server, &[]).code(1);
    assert_eq!(with_reason(&run, "pwned"), expected_pwned());
    assert_eq!(server.log().len(), 3);
}

#[test]
fn slow_server_times_out_and_fails_closed() {
    let wd = Workdir::new();
    write_export(&wd);
    let server = server();
    let slow = prefix(&sha1_hex("123456"));
    server.fail_always(&slow, Fault::Delay(Duration::from_secs(10)));
    let started = Instant::now();
    let run = audit(&wd, &server, &["--timeout", "1.5", "--retries", "1"]).code(3);
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(
        with_reason(&run, "unchecked")
            .into_keys()
            .collect::<Vec<_>>(),
        ["carol@example.com"]
    );
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
}

#[test]
fn cache_answers_within_max_age_then_revalidates_with_304() {
    let wd = Workdir::new();
    write_export(&wd);
    let server = server();
    let n = export_prefixes().len();
    audit(&wd, &server, &[]).code(1);
    assert_eq!(server.log().len(), n);
    let cached: BTreeSet<String> = cache_files(&wd)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cached, export_prefixes());

    server.clear_log();
    let run = audit(&wd, &server, &[]).code(1);
    assert_eq!(with_reason(&run, "pwned"), expected_pwned());
    assert!(server.log().is_empty(), "fresh cache: no request");
    assert_eq!(stats(&wd)["cache_hits"], n);

    let run = audit(&wd, &server, &["--max-age", "0"]).code(1);
    assert_eq!(with_reason(&run, "pwned"), expected_pwned());
    let log = server.log();
    assert_eq!(log.len(), n);
    assert!(log
        .iter()
        .all(|s| s.status == 304 && s.header("if-none-match").is_some()));
    assert!(log
        .iter()
        .all(|s| s.header("if-modified-since") == Some(api_server::LAST_MODIFIED)));
    assert_eq!(stats(&wd)["not_modified"], n);
    assert_only_prefixes(&log, &secrets());

    // A changed prefix is replaced on revalidation.
    server.clear_log();
    server.add(Mode::Sha1, MALLORY, 5);
    let run = audit(&wd, &server, &["--max-age", "0"]).code(1);
    assert_eq!(with_reason(&run, "pwned")["mallory@example.com"], "5");
    assert_eq!(server.log().iter().filter(|s| s.status == 200).count(), 1);
}

/// Cache entry files under `wd/cache`.
fn cache_files(wd: &Workdir) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![wd.path("cache")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn corrupt_cache_files_are_refetched_not_trusted() {
    let wd = Workdir::new();
    write_export(&wd);
    let server = server();
    audit(&wd, &server, &[]).code(1);
    let files = cache_files(&wd);
    let find = |password: &str| {
        let p = prefix(&sha1_hex(password));
        files
            .iter()
            .find(|f| f.file_name().unwrap() == p.as_str())
            .unwrap()
            .clone()
    };
    // alice's entry claims nobody uses "password"; carol's is cut short.
    let alice = find("password");
    let text = std::fs::read_to_string(&alice).unwrap();
    let suffix = &sha1_hex("password")[5..];
    std::fs::write(&alice, text.replace(&format!("{suffix}:9659365"), "ZZZ:1")).unwrap();
    let carol = find("123456");
    let text = std::fs::read(&carol).unwrap();
    std::fs::write(&carol, &text[..text.len() - 7]).unwrap();
    server.clear_log();
    let run = audit(&wd, &server, &[]).code(1);
    assert_eq!(with_reason(&run, "pwned"), expected_pwned());
    let log = server.log();
    assert_eq!(
        per_prefix(&log).into_keys().collect::<BTreeSet<_>>(),
        [prefix(&sha1_hex("password")), prefix(&sha1_hex("123456"))]
            .into_iter()
            .collect()
    );
    assert!(log.iter().all(|s| s.header("if-none-match").is_none()));
    assert!(
        run.stderr.contains("2 corrupt cache file(s)"),
        "{}",
        run.stderr
    );
    // Rewritten whole: the next run is all cache hits again.
    server.clear_log();
    audit(&wd, &server, &[]).code(1);
    assert!(server.log().is_empty());
}

#[test]
fn no_cache_writes_nothing_and_asks_every_time() {
    let wd = Workdir::new();
    write_export(&wd);
    let server = server();
    for _ in 0..2 {
        wd.cmd(&["audit", "users.csv", "--no-cache"])
            .arg(format!("--api={}", server.url))
            .run()
            .code(1);
    }
    assert_eq!(server.log().len(), 2 * export_prefixes().len());
    assert!(!wd.path("cache").exists());
}

#[test]
fn bare_api_takes_the_url_from_the_environment_and_caches_under_xdg() {
    let wd = Workdir::new();
    write_export(&wd);
    let server = server();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_credaudit"))
        .current_dir(wd.path(""))
        .args(["audit", "users.csv", "--api"])
        .env("CREDAUDIT_API_URL", &server.url)
        .env("XDG_CACHE_HOME", wd.path("xdg"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        parse_csv(&String::from_utf8(out.stdout).unwrap()).len(),
        expected_pwned().len()
    );
    assert_eq!(server.log().len(), export_prefixes().len());
    assert!(wd.path("xdg/credaudit/range").is_dir());
}

#[test]
fn api_combines_with_a_corpus_and_a_wordlist() {
    let wd = Workdir::new();
    write_export(&wd);
    wd.write("banned.txt", "correct horse battery staple\n");
    let (heidi, alice) = (sha1_hex("Tr0ub4dor&3"), sha1_hex("password"));
    wd.write(
        "local.txt",
        hibp_file(&[(heidi.as_str(), 77), (alice.as_str(), 3)]),
    );
    let server = server();
    let run = audit(
        &wd,
        &server,
        &["--wordlist", "banned.txt", "--corpus", "local.txt"],
    )
    .code(1);
    let pwned = with_reason(&run, "pwned");
    assert_eq!(pwned.len(), 6, "{}", run.stdout);
    assert_eq!(pwned["heidi@example.com"], "77");
    assert_eq!(pwned["alice@example.com"], "9659365");
    let host = server.url.trim_start_matches("http://");
    let sources: BTreeMap<String, String> = run
        .rows()
        .into_iter()
        .map(|r| (r[0].clone(), r[4].clone()))
        .collect();
    assert_eq!(sources["bob@example.com"], "banned.txt");
    assert!(sources["alice@example.com"].contains(host));
    assert!(sources["alice@example.com"].contains("local.txt"));
}

#[test]
fn check_one_password_through_the_api() {
    let wd = Workdir::new();
    let server = server();
    let run = wd
        .cmd(&["check", "--no-cache"])
        .arg(format!("--api={}", server.url))
        .stdin("password\n")
        .run()
        .code(1);
    assert!(run.stdout.contains("seen 9659365 times"), "{}", run.stdout);
    assert_only_prefixes(&server.log(), &[SHA1_PASSWORD.into(), "password".into()]);
}

#[test]
fn api_option_rejects_what_is_not_a_url() {
    let wd = Workdir::new();
    write_export(&wd);
    let run = wd.cmd(&["audit", "--api", "users.csv"]).run().code(2);
    assert!(
        run.stderr.contains("not an http:// or https:// URL"),
        "{}",
        run.stderr
    );
}
