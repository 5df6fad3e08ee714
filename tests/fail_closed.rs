//! Fail closed: an account that a source could not answer for is
//! `unchecked`, never clean, even when it has other findings; a sorted
//! corpus that covers less hash space than it claims, or holds a bad line
//! off the search path, never passes as complete.
mod api_server;
mod common;

use api_server::{Fault, Server};
use common::*;
use credaudit::hash::{encode_hex, sha1};
use std::collections::BTreeSet;

/// Passwords of ordinary accounts: long, distinct, no policy finding.
fn password(i: usize) -> String {
    format!("Fail-Closed-{i:05}!")
}

/// An export of `n` ordinary accounts (`user{i}@example.com`) plus the
/// `extra` (account, password) rows.
fn export(n: usize, extra: &[(String, String)]) -> String {
    let mut csv = String::from("email,password\n");
    for i in 0..n {
        csv.push_str(&format!("user{i}@example.com,{}\n", password(i)));
    }
    for (account, pw) in extra {
        csv.push_str(&format!("{account},{pw}\n"));
    }
    csv
}

/// A sorted SHA-1 corpus: `random` random hashes plus the SHA-1 of every
/// `planted` password, as (hash, CRLF line) in hash order.
fn corpus(random: usize, planted: &[String]) -> Vec<([u8; 20], String)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut hashes: Vec<[u8; 20]> = (0..random).map(|_| rng.hash()).collect();
    hashes.extend(planted.iter().map(|p| sha1(p.as_bytes())));
    hashes.sort_unstable();
    hashes.dedup();
    hashes
        .into_iter()
        .enumerate()
        .map(|(i, h)| (h, format!("{}:{}\r\n", encode_hex(&h), i % 97 + 1)))
        .collect()
}

fn text(lines: &[([u8; 20], String)]) -> String {
    lines.iter().map(|(_, l)| l.as_str()).collect()
}

fn summary(wd: &Workdir) -> serde_json::Value {
    serde_json::from_str(&wd.read("s.json")).unwrap()
}

/// Accounts whose reasons include `reason`.
fn with_reason(run: &Run, reason: &str) -> BTreeSet<String> {
    run.rows()
        .into_iter()
        .filter(|r| r[2].split(';').any(|x| x == reason))
        .map(|r| r[0].clone())
        .collect()
}

/// A short password (a `short` finding) whose SHA-1 satisfies `wanted`.
fn short_password(wanted: impl Fn(&[u8; 20]) -> bool) -> String {
    (0..)
        .map(|j| format!("s{j}"))
        .find(|p| wanted(&sha1(p.as_bytes())))
        .unwrap()
}

fn assert_no_secret(run: &Run, secrets: &[String]) {
    for s in secrets {
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains(s.as_str()), "a password leaked");
            assert!(
                !text.contains(&encode_hex(&sha1(s.as_bytes()))),
                "a hash leaked"
            );
        }
    }
}

/// The case: the first 30 % of a sorted corpus's lines, cut at a
/// line boundary. Every account past its last line is unchecked (a short
/// one too, beside its `short`), the run exits 3, and the full corpus has no
/// gap at all.
#[test]
fn corpus_cut_at_a_line_boundary_leaves_the_rest_unchecked() {
    let wd = Workdir::new();
    let n = 3000;
    let planted: Vec<String> = (0..n).step_by(10).map(password).collect();
    let full = corpus(20_000, &planted);
    let cut = &full[..full.len() * 3 / 10];
    let last = cut.last().unwrap().0;
    let short = short_password(|h| *h > last);
    wd.write("cut.txt", text(cut));
    wd.write("full.txt", text(&full));
    wd.write(
        "u.csv",
        export(n, &[("shorty@example.com".into(), short.clone())]),
    );
    let beyond: BTreeSet<String> = (0..n)
        .filter(|&i| sha1(password(i).as_bytes()) > last)
        .map(|i| format!("user{i}@example.com"))
        .chain(["shorty@example.com".to_string()])
        .collect();
    let pwned: BTreeSet<String> = (0..n)
        .step_by(10)
        .filter(|&i| sha1(password(i).as_bytes()) <= last)
        .map(|i| format!("user{i}@example.com"))
        .collect();
    assert!(beyond.len() > 1500 && pwned.len() > 50);

    let run = wd
        .cmd(&[
            "audit",
            "u.csv",
            "--corpus",
            "cut.txt",
            "--summary",
            "s.json",
        ])
        .run()
        .code(3);
    assert_eq!(with_reason(&run, "unchecked"), beyond);
    assert_eq!(with_reason(&run, "pwned"), pwned);
    let shorty = run
        .rows()
        .into_iter()
        .find(|r| r[0] == "shorty@example.com")
        .unwrap();
    assert_eq!(shorty[2], "short;unchecked");
    let s = summary(&wd);
    assert_eq!(s["accounts_unchecked"], beyond.len());
    assert_eq!(s["accounts_flagged"]["unchecked"], beyond.len());
    let prefix = encode_hex(&last)[..5].to_string();
    assert_eq!(
        s["sources"][0]["corpus"]["coverage_gaps"],
        serde_json::json!([format!("{prefix}-FFFFF")])
    );
    assert!(
        run.stderr
            .contains(&format!("to {prefix}, with no lines in {prefix}-FFFFF")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("({} accounts)", beyond.len())),
        "{}",
        run.stderr
    );
    let mut secrets: Vec<String> = (0..n).map(password).collect();
    secrets.push(short);
    assert_no_secret(&run, &secrets);
    wd.cmd(&[
        "audit",
        "u.csv",
        "--corpus",
        "cut.txt",
        "--fail-on",
        "high,unchecked",
    ])
    .run()
    .code(3);
    for method in ["search", "merge"] {
        wd.cmd(&["audit", "u.csv", "--corpus", "cut.txt", "--lookup", method])
            .run()
            .code(3);
    }

    let run = wd
        .cmd(&[
            "audit",
            "u.csv",
            "--corpus",
            "full.txt",
            "--summary",
            "s.json",
        ])
        .run()
        .code(1);
    assert!(with_reason(&run, "unchecked").is_empty());
    assert_eq!(with_reason(&run, "pwned").len(), planted.len());
    assert!(summary(&wd)["sources"][0]["corpus"]["coverage_gaps"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// The shipped 3,009-line sample starts at prefix 00283: its own density
/// says that is no gap.
#[test]
fn the_shipped_sample_corpus_has_no_coverage_gap() {
    let wd = Workdir::new();
    wd.write("u.csv", export(200, &[]));
    wd.cmd(&["audit", "u.csv", "--summary", "s.json", "--corpus"])
        .arg(fixture("hibp/sha1-sample.txt"))
        .run()
        .code(0);
    let s = summary(&wd);
    assert_eq!(s["accounts_unchecked"], 0);
    assert_eq!(
        s["sources"][0]["corpus"]["coverage_gaps"],
        serde_json::json!([])
    );
}

#[test]
fn corpus_cut_mid_line_is_an_error() {
    let wd = Workdir::new();
    let full = text(&corpus(5_000, &[]));
    wd.write("cut.txt", &full[..full.len() / 3 + 17]);
    wd.write("u.csv", export(10, &[]));
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus", "cut.txt"])
        .run()
        .code(2);
    assert!(run.stderr.contains("looks truncated"), "{}", run.stderr);
}

/// Prefixes 30000-3FFFF missing from the middle: found by the full pass,
/// and by the density samples alone under --trust-corpus.
#[test]
fn a_missing_stretch_in_the_middle_is_a_coverage_gap() {
    let wd = Workdir::new();
    let n = 2000;
    let planted: Vec<String> = (0..n).step_by(5).map(password).collect();
    let full = corpus(20_000, &planted);
    let prefix =
        |h: &[u8; 20]| (u32::from(h[0]) << 12) | (u32::from(h[1]) << 4) | (u32::from(h[2]) >> 4);
    let holed: Vec<_> = full
        .iter()
        .filter(|(h, _)| !(0x30000..=0x3FFFF).contains(&prefix(h)))
        .cloned()
        .collect();
    wd.write("holed.txt", text(&holed));
    wd.write("u.csv", export(n, &[]));
    let before = holed
        .iter()
        .rev()
        .find(|(h, _)| prefix(h) < 0x30000)
        .unwrap()
        .0;
    let after = holed.iter().find(|(h, _)| prefix(h) > 0x3FFFF).unwrap().0;
    let inside: BTreeSet<String> = (0..n)
        .filter(|&i| {
            let h = sha1(password(i).as_bytes());
            h > before && h < after
        })
        .map(|i| format!("user{i}@example.com"))
        .collect();
    assert!(inside.len() > 50);
    let gap = format!("{}-{}", &encode_hex(&before)[..5], &encode_hex(&after)[..5]);
    for extra in [None, Some("--trust-corpus")] {
        let mut cmd = wd.cmd(&[
            "audit",
            "u.csv",
            "--corpus",
            "holed.txt",
            "--summary",
            "s.json",
        ]);
        if let Some(e) = extra {
            cmd = cmd.arg(e);
        }
        let run = cmd.run().code(3);
        assert_eq!(with_reason(&run, "unchecked"), inside, "{extra:?}");
        assert_eq!(
            summary(&wd)["sources"][0]["corpus"]["coverage_gaps"],
            serde_json::json!([gap]),
            "{extra:?}"
        );
    }
}

/// A 45,000-line corpus whose line 301 is bad. The search would never read
/// it; the first use checks every line and names it.
#[test]
fn a_bad_line_off_the_search_path_is_found_before_the_first_search() {
    let planted: Vec<String> = (0..40).map(password).collect();
    let good = corpus(45_000, &planted);
    for (bad, expected) in [
        (
            format!("{}:5\r\n", "Z".repeat(40)),
            "bad.txt:301: malformed corpus line",
        ),
        (
            format!("{}:5\r\n", encode_hex(&[0u8; 20])),
            "bad.txt:301: corpus is not sorted",
        ),
        (good[299].1.clone(), "bad.txt:301: duplicate corpus line"),
    ] {
        let wd = Workdir::new();
        let mut lines = good.clone();
        lines[300].1 = bad;
        wd.write("bad.txt", text(&lines));
        wd.write("u.csv", export(40, &[]));
        let run = wd
            .cmd(&["audit", "u.csv", "--corpus", "bad.txt"])
            .run()
            .code(2);
        assert!(run.stderr.contains(expected), "{}", run.stderr);
        // It is found again on the next run: a failed pass leaves no stamp.
        wd.cmd(&["audit", "u.csv", "--corpus", "bad.txt"])
            .run()
            .code(2);
        // --trust-corpus skips the pass, and the summary says so.
        wd.cmd(&[
            "audit",
            "u.csv",
            "--corpus",
            "bad.txt",
            "--trust-corpus",
            "--summary",
            "s.json",
        ])
        .run()
        .code(1);
        let how = summary(&wd)["sources"][0]["corpus"]["verification"].clone();
        assert!(how
            .as_str()
            .unwrap()
            .starts_with("trusted (--trust-corpus)"));
    }
}

fn verification(wd: &Workdir, extra: &[&str]) -> String {
    let mut cmd = wd.cmd(&["audit", "u.csv", "--corpus", "c.txt", "--summary", "s.json"]);
    for e in extra {
        cmd = cmd.arg(e);
    }
    cmd.run().code(1);
    summary(wd)["sources"][0]["corpus"]["verification"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Verify once, trust after: the next run uses the stamp; a changed file is
/// verified again; `--lookup merge` is a verifying pass and stamps too;
/// `--no-cache` keeps no stamp.
#[test]
fn the_verdict_is_stamped_and_redone_when_the_file_changes() {
    let wd = Workdir::new();
    let planted: Vec<String> = (0..30).map(password).collect();
    let lines = corpus(10_000, &planted);
    wd.write("c.txt", text(&lines));
    wd.write("u.csv", export(30, &[]));
    assert_eq!(verification(&wd, &[]), "full pass");
    assert_eq!(
        summary(&wd)["sources"][0]["lookups"][0]["lines_read"],
        lines.len()
    );
    assert_eq!(verification(&wd, &[]), "stamp of an earlier full pass");
    let stamps = std::fs::read_dir(wd.path(".cache/credaudit/verified-corpora"))
        .unwrap()
        .count();
    assert_eq!(stamps, 1);
    // Same size, other bytes: one count changed.
    let mut changed = lines.clone();
    changed[5].1 = changed[5].1.replace(":6\r\n", ":9\r\n");
    assert_ne!(changed[5].1, lines[5].1);
    wd.write("c.txt", text(&changed));
    assert_eq!(verification(&wd, &[]), "full pass");
    // A bad line written over a verified file is not hidden by the stamp.
    let mut bad = changed.clone();
    bad[300].1 = format!("{}:5\r\n", "Z".repeat(40));
    wd.write("c.txt", text(&bad));
    wd.cmd(&["audit", "u.csv", "--corpus", "c.txt"])
        .run()
        .code(2);

    let wd = Workdir::new();
    wd.write("c.txt", text(&lines));
    wd.write("u.csv", export(30, &[]));
    assert_eq!(verification(&wd, &["--no-cache"]), "full pass");
    assert_eq!(verification(&wd, &["--no-cache"]), "full pass");
    assert_eq!(verification(&wd, &["--lookup", "merge"]), "full pass");
    assert_eq!(verification(&wd, &[]), "stamp of an earlier full pass");
}

/// The range API: a prefix that keeps failing leaves its accounts
/// unchecked, also those with a `short` or `shared` finding, and the run is
/// incomplete under every `--fail-on` that asks for unchecked.
#[test]
fn failed_api_prefix_is_unchecked_beside_policy_findings() {
    let wd = Workdir::new();
    let server = Server::start();
    let short = short_password(|_| true);
    let shared = "Shared-But-Long-9!".to_string();
    wd.write(
        "u.csv",
        export(
            20,
            &[
                ("shorty@example.com".into(), short.clone()),
                ("twin1@example.com".into(), shared.clone()),
                ("twin2@example.com".into(), shared.clone()),
            ],
        ),
    );
    for pw in [&short, &shared] {
        server.fail_always(&encode_hex(&sha1(pw.as_bytes()))[..5], Fault::Status(500));
    }
    let audit = |extra: &[&str]| {
        let mut cmd = wd
            .cmd(&[
                "audit",
                "u.csv",
                "--no-cache",
                "--retries",
                "1",
                "--summary",
                "s.json",
            ])
            .arg(format!("--api={}", server.url));
        for e in extra {
            cmd = cmd.arg(e);
        }
        cmd.run()
    };
    let run = audit(&[]).code(3);
    let rows: Vec<(String, String)> = run
        .rows()
        .into_iter()
        .map(|r| (r[0].clone(), r[2].clone()))
        .collect();
    assert_eq!(
        rows,
        [
            ("shorty@example.com", "short;unchecked"),
            ("twin1@example.com", "shared;unchecked"),
            ("twin2@example.com", "shared;unchecked"),
        ]
        .map(|(a, r)| (a.to_string(), r.to_string()))
    );
    let s = summary(&wd);
    assert_eq!(s["accounts_unchecked"], 3);
    assert_eq!(s["accounts_flagged"]["unchecked"], 3);
    assert_no_secret(&run, &[short.clone(), shared.clone()]);
    audit(&["--fail-on", "high,unchecked"]).code(3);
    audit(&["--fail-on", "unchecked"]).code(3);
}

/// A mirror directory without the prefix file of a short password: that
/// account is `short;unchecked`; and a mirror holding only the first 30 %
/// of the prefixes (a download that stopped early) leaves every account
/// past it unchecked.
#[test]
fn missing_prefix_file_is_unchecked_beside_policy_findings() {
    let wd = Workdir::new();
    let n = 400;
    let short = short_password(|h| h[0] >= 0x80);
    wd.write(
        "u.csv",
        export(n, &[("shorty@example.com".into(), short.clone())]),
    );
    let planted: Vec<String> = (0..n).step_by(4).map(password).collect();
    let lines = corpus(0, &planted);
    let short_prefix = encode_hex(&sha1(short.as_bytes()))[..5].to_string();
    let mut wrote = BTreeSet::new();
    let mut all: Vec<[u8; 20]> = (0..n).map(|i| sha1(password(i).as_bytes())).collect();
    all.push(sha1(short.as_bytes()));
    // Every queried prefix has its file (the planted lines and one filler
    // line last), except the short password's.
    for h in &all {
        let p = encode_hex(h)[..5].to_string();
        if p != short_prefix && wrote.insert(p.clone()) {
            let mut body: String = lines
                .iter()
                .filter(|(l, _)| encode_hex(l).starts_with(&p))
                .map(|(l, _)| format!("{}:3\r\n", &encode_hex(l)[5..]))
                .collect();
            body.push_str(&format!("{}:1\r\n", "F".repeat(35)));
            wd.write(&format!("mirror/{p}.txt"), body);
        }
    }
    let run = wd
        .cmd(&[
            "audit",
            "u.csv",
            "--corpus",
            "mirror",
            "--summary",
            "s.json",
        ])
        .run()
        .code(3);
    assert_eq!(
        with_reason(&run, "unchecked"),
        ["shorty@example.com".to_string()].into()
    );
    assert_eq!(with_reason(&run, "pwned").len(), planted.len());
    assert_eq!(summary(&wd)["accounts_unchecked"], 1);

    // The held-out shape: prefixes past 4C910 never downloaded.
    for p in &wrote {
        if p.as_str() > "4C910" {
            std::fs::remove_file(wd.path(&format!("mirror/{p}.txt"))).unwrap();
        }
    }
    let past: BTreeSet<String> = (0..n)
        .filter(|&i| encode_hex(&sha1(password(i).as_bytes()))[..5] > *"4C910")
        .map(|i| format!("user{i}@example.com"))
        .chain(["shorty@example.com".to_string()])
        .collect();
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus", "mirror"])
        .run()
        .code(3);
    assert_eq!(with_reason(&run, "unchecked"), past);
}

/// One source finds a password, another cannot answer for it: the
/// accounts are `pwned` (with the corpus's count) and `unchecked` at once,
/// and the run is incomplete. The hits of a corpus are recorded in bulk
/// (`Findings::hit_each`) before the unanswered hashes: neither may hide
/// the other.
#[test]
fn a_hit_in_one_source_does_not_hide_another_sources_failure() {
    let wd = Workdir::new();
    let server = Server::start();
    let shared = "Pwned-And-Shared-7!".to_string();
    let extra = [
        ("twin1@example.com".to_string(), shared.clone()),
        ("twin2@example.com".to_string(), shared.clone()),
    ];
    wd.write("u.csv", export(30, &extra));
    let lines = corpus(200, &[shared.clone(), password(3)]);
    wd.write("corpus.txt", text(&lines));
    let count = lines
        .iter()
        .find(|(h, _)| *h == sha1(shared.as_bytes()))
        .map(|(_, l)| l.trim_end().rsplit(':').next().unwrap().to_string())
        .unwrap();
    server.fail_always(
        &encode_hex(&sha1(shared.as_bytes()))[..5],
        Fault::Status(500),
    );
    let run = wd
        .cmd(&[
            "audit",
            "u.csv",
            "--corpus",
            "corpus.txt",
            "--no-cache",
            "--retries",
            "1",
            "--summary",
            "s.json",
        ])
        .arg(format!("--api={}", server.url))
        .run()
        .code(3);
    let rows: Vec<(String, String, String)> = run
        .rows()
        .into_iter()
        .filter(|r| r[0].starts_with("twin"))
        .map(|r| (r[0].clone(), r[2].clone(), r[3].clone()))
        .collect();
    assert_eq!(
        rows,
        ["twin1@example.com", "twin2@example.com"].map(|a| (
            a.to_string(),
            "pwned;shared;unchecked".to_string(),
            count.clone()
        ))
    );
    assert_eq!(
        with_reason(&run, "pwned"),
        [
            "user3@example.com",
            "twin1@example.com",
            "twin2@example.com"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(summary(&wd)["accounts_unchecked"], 2);
    assert_no_secret(&run, &[shared]);
}
