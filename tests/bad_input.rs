//! Bad input: each malformed row is rejected with file and line and counted
//! by cause (or fails the run under --strict); whole-file problems are one
//! clear line and exit 2; nothing ever echoes a password or a hash.
mod common;
use common::*;

fn summary(wd: &Workdir) -> serde_json::Value {
    serde_json::from_str(&wd.read("s.json")).unwrap()
}

#[test]
fn malformed_rows_are_rejected_by_cause_and_counted() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&["audit", "--summary", "s.json"])
        .arg(fixture("exports/bad-rows.csv"))
        .run()
        .code(3);
    assert_eq!(run.accounts(), ["ok@example.com"]);
    for expected in [
        "bad-rows.csv:3: row rejected (wrong_column_count): 3 fields, the header has 2",
        "bad-rows.csv:4: row rejected (missing_field): account is empty",
        "bad-rows.csv:5: row rejected (field_too_long): secret is longer than 1024 bytes",
    ] {
        assert!(
            run.stderr.contains(expected),
            "missing {expected:?} in\n{}",
            run.stderr
        );
    }
    let s = summary(&wd);
    assert_eq!(s["rows_read"], 5);
    assert_eq!(s["accounts_checked"], 2);
    assert_eq!(s["rows_rejected"]["total"], 3);
    assert_eq!(s["rows_rejected"]["wrong_column_count"], 1);
    assert_eq!(s["rows_rejected"]["missing_field"], 1);
    assert_eq!(s["rows_rejected"]["field_too_long"], 1);
    assert_eq!(s["exit_code"], 3);
}

#[test]
fn hash_rows_bad_hex_bad_length_and_no_hash() {
    let wd = Workdir::new();
    wd.cmd(&["audit", "--summary", "s.json", "--corpus"])
        .arg(fixture("hibp/sha1-sample.txt"))
        .arg(fixture("exports/users-sha1.csv"))
        .run()
        .code(3);
    let s = summary(&wd);
    assert_eq!(s["rows_rejected"]["bad_hex"], 1);
    assert_eq!(s["rows_rejected"]["bad_hash_length"], 1);
    assert_eq!(s["rows_skipped"]["no_hash"], 1);
    assert_eq!(s["rows_read"], 6);
    assert_eq!(s["accounts_checked"], 3);
}

#[test]
fn strict_fails_on_the_first_rejected_row() {
    let wd = Workdir::new();
    std::fs::write(wd.path("reset.csv"), "previous report\n").unwrap();
    let run = wd
        .cmd(&["audit", "--strict", "-o", "reset.csv"])
        .arg(fixture("exports/bad-rows.csv"))
        .run()
        .code(2);
    assert!(
        run.stderr
            .contains("bad-rows.csv:3: row rejected (wrong_column_count)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        wd.read("reset.csv"),
        "previous report\n",
        "old report intact"
    );
}

/// Run `--strict` with an NTLM corpus over `file`: a header, a password
/// that is not UTF-8 (so has no NTLM hash) on line 2, `good` fine rows and
/// `tail`. Whatever follows, the error must be line 2's, and come promptly.
fn strict_over_bad_line_2(file: &str, good: usize, tail: &[u8]) {
    let wd = Workdir::new();
    let mut csv = b"email,password\na@x.com,\xff\xfebad\n".to_vec();
    for i in 0..good {
        csv.extend_from_slice(format!("u{i}@x.com,pw{i}\n").as_bytes());
    }
    csv.extend_from_slice(tail);
    wd.write(file, csv);
    wd.write("corpus-ntlm.txt", hibp_file(&[(NTLM_PASSWORD, 3)]));
    let run = wd
        .cmd(&["audit", file, "--corpus", "corpus-ntlm.txt", "--strict"])
        .run_within(std::time::Duration::from_secs(60))
        .code(2);
    assert!(
        run.stderr
            .contains(&format!("{file}:2: row rejected (invalid_utf8)")),
        "{}",
        run.stderr
    );
}

#[test]
fn strict_stops_a_long_input_at_its_first_bad_row() {
    // Many batches behind the bad row: the run must end with the error,
    // not wait on a reader blocked behind a full queue.
    strict_over_bad_line_2("big.csv", 300_000, b"");
}

#[test]
fn strict_reports_the_first_bad_row_when_a_later_batch_fails_too() {
    // Row 40,003 fails in the reader (a column too many), one batch after
    // row 2 failed in the main thread: row 2 is the error.
    strict_over_bad_line_2("two-bad.csv", 40_000, b"bad@x.com,pw,extra\n");
}

#[test]
fn whole_file_problems_are_one_clear_line_and_exit_2() {
    let cases = [
        ("exports/empty.csv", "empty.csv: empty input (no header, no rows)"),
        ("exports/header-only.csv", "header-only.csv: the header has no rows under it"),
        ("exports/no-secret-column.csv", "no-secret-column.csv:1: no password or hash column found in the header (\"email\", #2)"),
        ("exports/truncated.csv.gz", "truncated.csv.gz: after line"),
        ("exports/truncated.csv.zst", "truncated.csv.zst: after line"),
        ("exports/does-not-exist.csv", "cannot open"),
    ];
    for (file, expected) in cases {
        let wd = Workdir::new();
        let run = wd.cmd(&["audit"]).arg(fixture(file)).run().code(2);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{file}: one line, got {:?}", run.stderr);
        assert!(lines[0].starts_with("credaudit: error: "), "{}", lines[0]);
        assert!(lines[0].contains(expected), "{file}: {}", lines[0]);
    }
    let wd = Workdir::new();
    let run = wd
        .cmd(&["audit"])
        .arg(fixture("exports/truncated.csv.gz"))
        .run()
        .code(2);
    assert!(
        run.stderr.contains("gzip data is truncated"),
        "{}",
        run.stderr
    );
    let run = wd
        .cmd(&["audit"])
        .arg(fixture("exports/truncated.csv.zst"))
        .run()
        .code(2);
    assert!(run.stderr.contains("zstd data is"), "{}", run.stderr);
}

#[test]
fn usage_errors_exit_2() {
    let wd = Workdir::new();
    wd.cmd(&["audit"]).run().code(2);
    wd.cmd(&["audit", "x.csv", "--fail-on", "sometimes"])
        .run()
        .code(2);
    let run = wd.cmd(&["audit", "-", "-"]).stdin("").run().code(2);
    assert!(run
        .stderr
        .contains("standard input (-) can be read only once"));
}

const CANARY: &str = "Canary-7Q!pw-zebra";

/// Every spelling of the canary that must never appear anywhere.
fn canary_forms() -> Vec<String> {
    use credaudit::hash::{encode_hex, ntlm, sha1};
    let sha = encode_hex(&sha1(CANARY.as_bytes()));
    let nt = encode_hex(&ntlm(CANARY.as_bytes()).unwrap());
    vec![
        CANARY.to_string(),
        sha.clone(),
        sha.to_lowercase(),
        nt.clone(),
        nt.to_lowercase(),
        sha[5..].to_string(),
        nt[5..].to_string(),
    ]
}

fn assert_no_canary(what: &str, text: &str) {
    for form in canary_forms() {
        assert!(!text.contains(&form), "{what} leaks {form:?}:\n{text}");
    }
}

#[test]
fn no_password_or_hash_in_any_output_or_error_path() {
    use credaudit::hash::{encode_hex, ntlm, sha1};
    let sha = encode_hex(&sha1(CANARY.as_bytes()));
    let nt = encode_hex(&ntlm(CANARY.as_bytes()).unwrap());
    let wd = Workdir::new();
    wd.write("corpus-sha1.txt", hibp_file(&[(&sha, 3)]));
    wd.write("corpus-ntlm.txt", hibp_file(&[(&nt, 3)]));
    let long = CANARY.repeat(80);
    wd.write(
        "plain.csv",
        format!(
            "email,password\nhit@x.com,{CANARY}\ncols@x.com,{CANARY},extra\n,{CANARY}\ntoolong@x.com,{long}\n"
        ),
    );
    let mut latin = b"email,password\nlatin@x.com,".to_vec();
    latin.extend_from_slice(CANARY.as_bytes());
    latin.extend_from_slice(b"\xe9\n");
    wd.write("latin.csv", latin);
    wd.write(
        "hashes.csv",
        format!(
            "email,sha1\nhit@x.com,{sha}\nshort@x.com,{}\nbadhex@x.com,{}Z\n",
            &sha[..39],
            &sha[..39]
        ),
    );
    wd.write(
        "dump.txt",
        format!(
            "u1:1001:aad3b435b51404eeaad3b435b51404ee:{nt}:::\nu2:{}\nu3:1:2:{nt}\n",
            &nt[..31]
        ),
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(
        &mut gz,
        format!("email,password\nx@x.com,{CANARY}\n")
            .repeat(500)
            .as_bytes(),
    )
    .unwrap();
    let gz = gz.finish().unwrap();
    wd.write("cut.csv.gz", &gz[..gz.len() / 2]);
    wd.write("bad-corpus.txt", format!("{sha}:1\r\n{}:2\r\n", &sha[..39]));
    wd.write(
        "unsorted-corpus.txt",
        format!("{sha}:1\r\n{}:2\r\n{sha}:1\r\n", "0".repeat(40)),
    );

    let runs = [
        vec![
            "audit",
            "plain.csv",
            "--corpus",
            "corpus-sha1.txt",
            "-o",
            "r1.csv",
            "--summary",
            "s1.json",
        ],
        vec![
            "audit",
            "plain.csv",
            "--corpus",
            "corpus-ntlm.txt",
            "--strict",
        ],
        vec!["audit", "latin.csv", "--corpus", "corpus-ntlm.txt"],
        vec![
            "audit",
            "latin.csv",
            "--corpus",
            "corpus-ntlm.txt",
            "--strict",
        ],
        vec![
            "audit",
            "hashes.csv",
            "--corpus",
            "corpus-sha1.txt",
            "--summary",
            "s2.json",
        ],
        vec![
            "audit",
            "hashes.csv",
            "--corpus",
            "corpus-sha1.txt",
            "--strict",
        ],
        vec![
            "audit",
            "dump.txt",
            "--corpus",
            "corpus-ntlm.txt",
            "-o",
            "r2.csv",
        ],
        vec![
            "audit",
            "dump.txt",
            "--corpus",
            "corpus-ntlm.txt",
            "--strict",
        ],
        vec!["audit", "cut.csv.gz", "--corpus", "corpus-sha1.txt"],
        vec!["audit", "plain.csv", "--corpus", "bad-corpus.txt"],
        vec![
            "audit",
            "plain.csv",
            "--corpus",
            "bad-corpus.txt",
            "--lookup",
            "merge",
        ],
        vec![
            "audit",
            "plain.csv",
            "--corpus",
            "unsorted-corpus.txt",
            "--lookup",
            "merge",
        ],
        vec!["audit", "plain.csv", "--secret-col", "nope"],
        vec!["audit", "hashes.csv", "--secret-kind", "ntlm"],
    ];
    let mut codes = Vec::new();
    for args in runs {
        let run = wd.cmd(&args).run();
        assert_no_canary(&format!("{args:?} stdout"), &run.stdout);
        assert_no_canary(&format!("{args:?} stderr"), &run.stderr);
        codes.push(run.code);
    }
    // The paths above really were taken: findings, rejections and errors.
    assert_eq!(codes, [3, 2, 3, 2, 3, 2, 3, 2, 2, 2, 2, 2, 2, 3]);
    for file in ["r1.csv", "r2.csv", "s1.json", "s2.json"] {
        assert_no_canary(file, &wd.read(file));
    }
    assert!(
        wd.read("r1.csv").contains("hit@x.com"),
        "the canary account was found"
    );
    let check = wd
        .cmd(&["check", "--corpus", "corpus-sha1.txt"])
        .stdin(format!("{CANARY}\n"))
        .run()
        .code(1);
    assert_no_canary("check stdout", &check.stdout);
    assert_no_canary("check stderr", &check.stderr);
}

#[test]
fn standard_input_is_read_by_one_reader_only() {
    let wd = Workdir::new();
    let export = "email,password\nalice@example.com,password\n";
    for args in [
        &["audit", "-", "--combolist", "-"][..],
        &["audit", "-", "--wordlist", "-"],
        &["audit", "x.csv", "--combolist", "-", "--banned", "-"],
    ] {
        let run = wd.cmd(args).stdin(export).run().code(2);
        assert!(
            run.stderr
                .contains("standard input (-) can be read only once"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn whitespace_lines_at_the_end_of_a_csv_are_skipped_as_blank_lines() {
    let wd = Workdir::new();
    wd.write(
        "users.csv",
        "email,password\nalice@example.com,password\nbob@example.com,Tr0ub4dor&3-horse\n  \n\t\r\n \n",
    );
    let run = wd
        .cmd(&["audit", "users.csv", "--summary", "s.json", "--strict"])
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["alice@example.com"]);
    let s = summary(&wd);
    assert_eq!(s["rows_read"], 5);
    assert_eq!(s["accounts_checked"], 2);
    assert_eq!(s["rows_rejected"]["total"], 0);
    assert_eq!(s["rows_skipped"]["blank_line"], 3);
    assert_eq!(s["rows_skipped"]["total"], 3);

    // Between rows a whitespace line is still a bad row (with its line);
    // TSV lines of tabs and spaces count as blank at the end too.
    wd.write(
        "middle.csv",
        "email,password\nalice@example.com,password\n   \nbob@example.com,Tr0ub4dor&3-horse\n",
    );
    let run = wd
        .cmd(&["audit", "middle.csv", "--summary", "s.json"])
        .run()
        .code(3);
    assert!(
        run.stderr
            .contains("middle.csv:3: row rejected (wrong_column_count)"),
        "{}",
        run.stderr
    );
    wd.write(
        "users.tsv",
        "email\tpassword\nalice@example.com\tpassword\n\t\n \t \n",
    );
    wd.cmd(&["audit", "users.tsv", "--summary", "s.json"])
        .run()
        .code(1);
    assert_eq!(summary(&wd)["rows_skipped"]["blank_line"], 2);

    // A header followed by nothing but blank lines has no rows.
    wd.write("empty.csv", "email,password\n  \n\n \n");
    let run = wd.cmd(&["audit", "empty.csv"]).run().code(2);
    assert!(run.stderr.contains("no rows under it"), "{}", run.stderr);
}

/// Regression (fuzz targets `csv_export` and `colon_dump`): an export
/// without a header, say `psql \copy` without `header`, has its first row
/// taken for the header; the column errors must not show the password or
/// hash in it, nor the `--secret-col` chosen by index.
#[test]
fn a_headerless_export_does_not_echo_its_first_row() {
    use credaudit::hash::{encode_hex, ntlm, sha1};
    let wd = Workdir::new();
    let sha = encode_hex(&sha1(CANARY.as_bytes()));
    let nt = encode_hex(&ntlm(CANARY.as_bytes()).unwrap());
    wd.write("plain.csv", format!("alice@x.com,{CANARY}\nbob@x.com,pw\n"));
    wd.write("sha.csv", format!("alice@x.com,{sha}\n"));
    wd.write(
        "ntlm.csv",
        format!("alice,{nt}\nbob,{nt}\ncarol,{nt}\nd,{nt}\n"),
    );
    let runs: [&[&str]; 4] = [
        &["audit", "plain.csv"],
        &["audit", "sha.csv"],
        &["audit", "sha.csv", "--account-col", "1"],
        &[
            "audit",
            "ntlm.csv",
            "--account-col",
            "1",
            "--secret-col",
            "2",
        ],
    ];
    for args in runs {
        let run = wd.cmd(args).run().code(2);
        assert_no_canary(&format!("{args:?} stderr"), &run.stderr);
        assert!(run.stderr.contains("#2"), "{args:?}: {}", run.stderr);
    }
}
