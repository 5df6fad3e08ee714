//! Breach sources: the sorted SHA-1 and NTLM files, the per-prefix
//! directory, wordlists, the built-in default, --min-count, both lookup
//! methods, and corpora that are broken in the ways real downloads break.
mod common;
use common::*;

#[test]
fn known_answer_sha1_and_ntlm_of_password() {
    let wd = Workdir::new();
    wd.write(
        "sha1.txt",
        hibp_file(&[
            (SHA1_PASSWORD, 42),
            ("0000000000000000000000000000000000000001", 1),
        ]),
    );
    wd.write(
        "ntlm.txt",
        hibp_file(&[(NTLM_PASSWORD, 7), ("00000000000000000000000000000001", 1)]),
    );
    wd.write(
        "u.csv",
        "email,password\na@x.com,password\nb@x.com,passwort\n",
    );
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus", "sha1.txt"])
        .run()
        .code(1);
    assert_eq!(run.rows()[0][..4], ["a@x.com", "u.csv:2", "pwned", "42"]);
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus", "ntlm.txt"])
        .run()
        .code(1);
    assert_eq!(run.rows()[0][..4], ["a@x.com", "u.csv:2", "pwned", "7"]);
    assert_eq!(run.accounts().len(), 1);
}

#[test]
fn sha1_and_ntlm_corpora_in_one_run_hash_plaintext_both_ways() {
    let wd = Workdir::new();
    // "password" only in the NTLM corpus, "123456" only in the SHA-1 one.
    wd.write("sha1.txt", hibp_file(&[(SHA1_123456, 5)]));
    wd.write("ntlm.txt", hibp_file(&[(NTLM_PASSWORD, 9)]));
    wd.write(
        "u.csv",
        "email,password\na@x.com,password\nb@x.com,123456\nc@x.com,fine-and-unique-3\n",
    );
    let run = wd
        .cmd(&[
            "audit",
            "u.csv",
            "--corpus",
            "sha1.txt",
            "--corpus",
            "ntlm.txt",
            "--summary",
            "s.json",
        ])
        .run()
        .code(1);
    let rows = run.rows();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0][..5],
        ["a@x.com", "u.csv:2", "pwned", "9", "ntlm.txt"]
    );
    assert_eq!(
        rows[1][..5],
        ["b@x.com", "u.csv:3", "pwned;short", "5", "sha1.txt"]
    );
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(s["distinct_hashes"]["sha1"], 3);
    assert_eq!(s["distinct_hashes"]["ntlm"], 3);
}

#[test]
fn prefix_directory_corpus() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&["audit", "--corpus"])
        .arg(fixture("hibp/sha1-by-prefix"))
        .arg(fixture("exports/users.csv"))
        .run()
        .code(1);
    let counts: Vec<String> = run.rows().iter().map(|r| r[3].clone()).collect();
    assert_eq!(counts, ["9659365", "37359195", "1034827", "10556095", "1"]);
}

#[test]
fn missing_prefix_file_makes_accounts_unchecked_not_clean() {
    let wd = Workdir::new();
    let dir = wd.path("mirror");
    std::fs::create_dir(&dir).unwrap();
    for entry in std::fs::read_dir(fixture("hibp/sha1-by-prefix")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    // bob's password "correct horse battery staple" has prefix ABF7A.
    std::fs::remove_file(dir.join("ABF7A.txt")).unwrap();
    let run = wd
        .cmd(&["audit", "--corpus", "mirror", "--summary", "s.json"])
        .arg(fixture("exports/users.csv"))
        .run()
        .code(3);
    let bob = run
        .rows()
        .into_iter()
        .find(|r| r[0] == "bob@example.com")
        .expect("bob reported");
    assert_eq!(bob[2], "unchecked");
    assert!(
        run.stderr.contains("1 prefix file(s) missing"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("ABF7A.txt"), "{}", run.stderr);
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(s["accounts_unchecked"], 1);
    assert_eq!(s["accounts_flagged"]["pwned"], 5);
    // Only pwned accounts fail the run when asked so.
    wd.cmd(&["audit", "--corpus", "mirror", "--fail-on", "pwned"])
        .arg(fixture("exports/users.csv"))
        .run()
        .code(1);
}

#[test]
fn wordlist_source_for_plaintext_and_ntlm_dumps() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&["audit", "--only", "pwned", "--wordlist"])
        .arg(fixture("wordlists/banned.txt"))
        .arg(fixture("exports/users.csv"))
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["bob@example.com", "heidi@example.com"]);
    assert_eq!(run.rows()[0][4], "banned.txt");
    assert_eq!(run.rows()[0][3], "", "wordlists have no prevalence count");
    let run = wd
        .cmd(&["audit", "--wordlist"])
        .arg(fixture("wordlists/banned.txt"))
        .arg(fixture("exports/pwdump.txt"))
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["bob"]);
}

#[test]
fn builtin_default_when_no_source_is_given() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&["audit", "--summary", "s.json"])
        .arg(fixture("exports/users.csv"))
        .run()
        .code(1);
    // password, 123456, letmein, qwerty are among the most common passwords.
    assert_eq!(
        run.accounts(),
        [
            "alice@example.com",
            "carol@example.com",
            "grace@example.com",
            "'=HYPERLINK(\"http://x\")@example.com"
        ]
    );
    assert!(run.rows().iter().all(|r| r[4] == "builtin"));
    assert!(
        run.stderr.contains("only the built-in list"),
        "{}",
        run.stderr
    );
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(s["builtin_only"], true);
    assert!(s["notes"][0]
        .as_str()
        .unwrap()
        .contains("10000 most common"));
    // The built-in list also answers NTLM dumps.
    let run = wd
        .cmd(&["audit"])
        .arg(fixture("exports/hashcat-nt.txt"))
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["jdoe"]);
}

#[test]
fn min_count_filters_rare_hits() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&[
            "audit",
            "--min-count",
            "2",
            "--summary",
            "s.json",
            "--corpus",
        ])
        .arg(fixture("hibp/sha1-sample.txt"))
        .arg(fixture("exports/users.csv"))
        .run()
        .code(1);
    assert!(
        !run.accounts().contains(&"ivan@example.com".to_string()),
        "count 1 < 2"
    );
    assert_eq!(run.accounts().len(), 4);
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(s["sources"][0]["lookups"][0]["hits_below_min_count"], 1);
}

/// A sorted corpus of `n` pseudo-random SHA-1 lines plus `planted` hashes.
fn generated_corpus(n: usize, planted: &[&str]) -> String {
    let mut state = 0x9E3779B97F4A7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut lines: Vec<String> = (0..n)
        .map(|_| format!("{:016X}{:016X}{:08X}", next(), next(), next() as u32))
        .collect();
    lines.extend(planted.iter().map(|s| s.to_string()));
    lines.sort();
    lines
        .iter()
        .enumerate()
        .map(|(i, h)| format!("{h}:{}\r\n", i % 97 + 1))
        .collect()
}

#[test]
fn search_and_merge_agree_on_a_larger_corpus() {
    let wd = Workdir::new();
    let planted = [SHA1_PASSWORD, SHA1_123456];
    wd.write("big.txt", generated_corpus(200_000, &planted));
    let mut csv = String::from("email,password\n");
    for i in 0..3000 {
        let pw = match i % 1000 {
            0 => "password".to_string(),
            1 => "123456".to_string(),
            _ => format!("unique-{i}"),
        };
        csv.push_str(&format!("user{i}@x.com,{pw}\n"));
    }
    wd.write("u.csv", csv);
    let mut outputs = Vec::new();
    for method in ["search", "merge", "auto"] {
        let run = wd
            .cmd(&[
                "audit",
                "u.csv",
                "--corpus",
                "big.txt",
                "--lookup",
                method,
                "--summary",
                &format!("{method}.json"),
            ])
            .run()
            .code(1);
        assert_eq!(run.accounts().len(), 6, "{method}");
        outputs.push(run.stdout);
        let s: serde_json::Value =
            serde_json::from_str(&wd.read(&format!("{method}.json"))).unwrap();
        let used = s["sources"][0]["lookups"][0]["method"]
            .as_str()
            .unwrap()
            .to_string();
        if method != "auto" {
            assert_eq!(used, method);
        }
        if used == "merge" {
            assert_eq!(s["sources"][0]["lookups"][0]["lines_read"], 200_002);
        }
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[1], outputs[2]);
}

#[test]
fn unsorted_corpus_is_an_error_with_file_and_line() {
    let wd = Workdir::new();
    let text = generated_corpus(5_000, &[SHA1_PASSWORD]);
    // Move a line from the end to the middle: the file is no longer sorted.
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut shuffled: Vec<&str> = lines.clone();
    let last = shuffled.remove(4_000);
    shuffled.insert(10, last);
    wd.write("unsorted.txt", shuffled.concat());
    wd.write("u.csv", "email,password\na@x.com,password\n");
    for method in ["merge", "search"] {
        let run = wd
            .cmd(&[
                "audit",
                "u.csv",
                "--corpus",
                "unsorted.txt",
                "--lookup",
                method,
            ])
            .run();
        if method == "merge" {
            let run = run.code(2);
            assert!(run.stderr.contains("unsorted.txt:"), "{}", run.stderr);
            assert!(run.stderr.contains("not sorted by hash"), "{}", run.stderr);
        } else {
            // A search reads only a few lines; it must either find the
            // disorder or give the right answer, never a wrong one.
            assert!(
                run.code == 2 || run.accounts() == ["a@x.com"],
                "{}",
                run.stderr
            );
        }
    }
    // A prevalence-ordered file is caught at open by sampled lines.
    let mut by_count: Vec<&str> = lines.clone();
    by_count.reverse();
    wd.write("by-count.txt", by_count.concat());
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus", "by-count.txt"])
        .run()
        .code(2);
    assert!(run.stderr.contains("by-count.txt:"), "{}", run.stderr);
    assert!(run.stderr.contains("not sorted by hash"), "{}", run.stderr);
}

#[test]
fn truncated_and_malformed_corpora_are_errors() {
    let wd = Workdir::new();
    wd.write("u.csv", "email,password\na@x.com,password\n");
    let good = hibp_file(&[
        (SHA1_PASSWORD, 3),
        (SHA1_123456, 4),
        ("A000000000000000000000000000000000000000", 5),
    ]);
    // Cut mid-line, as an interrupted download would.
    wd.write("cut.txt", &good[..good.len() - 20]);
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus", "cut.txt"])
        .run()
        .code(2);
    assert!(
        run.stderr.contains("cut.txt:3: last line is incomplete"),
        "{}",
        run.stderr
    );
    // A bad line in the middle: found by the merge that reads every line.
    let bad = good.replace(
        &format!("{SHA1_123456}:4"),
        "7C4A8D09CA3762AF61E59520943DC26494F8941G:4",
    );
    wd.write("bad.txt", bad);
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus", "bad.txt", "--lookup", "merge"])
        .run()
        .code(2);
    assert!(
        run.stderr.contains("bad.txt:2: malformed corpus line"),
        "{}",
        run.stderr
    );
    // Not a corpus at all, empty, compressed, missing.
    wd.write("notes.txt", "hello world\n");
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus", "notes.txt"])
        .run()
        .code(2);
    assert!(
        run.stderr
            .contains("notes.txt:1: not a Pwned Passwords line"),
        "{}",
        run.stderr
    );
    wd.write("empty.txt", "");
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus", "empty.txt"])
        .run()
        .code(2);
    assert!(
        run.stderr.contains("corpus empty.txt is empty"),
        "{}",
        run.stderr
    );
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus"])
        .arg(fixture("exports/users.csv.gz"))
        .run()
        .code(2);
    assert!(run.stderr.contains("is compressed"), "{}", run.stderr);
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus", "nope.txt"])
        .run()
        .code(2);
    assert!(
        run.stderr.contains("cannot open corpus nope.txt"),
        "{}",
        run.stderr
    );
}

#[test]
fn hash_kind_without_a_source_is_a_usage_error() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&["audit", "--corpus"])
        .arg(fixture("hibp/sha1-sample.txt"))
        .arg(fixture("exports/pwdump.txt"))
        .run()
        .code(2);
    assert!(
        run.stderr
            .contains("holds ntlm hashes but no source can check ntlm"),
        "{}",
        run.stderr
    );
}
