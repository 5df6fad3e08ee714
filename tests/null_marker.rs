//! `--null`: a SQL NULL secret (an SSO account) is no password, skipped as
//! `no_hash`; an empty string is still `empty`. psql's convention (unquoted
//! empty = NULL, `""` = empty string) across quoting, CRLF, TSV, BOMs,
//! gzip, the rows read ahead to detect the secret kind and the parser's
//! buffer boundaries; literal markers; and the unchanged default.
mod common;
use common::*;

/// Audit `csv` from stdin with `args`; the summary alongside.
fn audit(csv: &[u8], args: &[&str]) -> (Run, serde_json::Value) {
    let wd = Workdir::new();
    let mut cmd = wd.cmd(&["audit", "-", "--summary", "s.json"]).stdin(csv);
    for a in args {
        cmd = cmd.arg(a);
    }
    let run = cmd.run();
    let summary = serde_json::from_str(&wd.read("s.json")).unwrap();
    (run, summary)
}

fn no_hash(summary: &serde_json::Value) -> u64 {
    summary["rows_skipped"]["no_hash"].as_u64().unwrap_or(0)
}

const PSQL: &[u8] = b"email,password\n\
    sso@example.com,\n\
    empty@example.com,\"\"\n\
    \"odd, \"\"name\"\"\",\"a,\"\"b\nc-not-null\"\n\
    sso2@example.com,\n";

#[test]
fn psql_null_is_skipped_and_quoted_empty_is_empty() {
    let (run, summary) = audit(PSQL, &["--null", "psql"]);
    let run = run.code(1);
    let rows = run.rows();
    assert_eq!(run.accounts(), ["empty@example.com"]);
    assert_eq!(
        (rows[0][2].as_str(), rows[0][6].as_str()),
        ("empty", "critical")
    );
    assert_eq!(rows[0][1], "stdin:3");
    assert_eq!(summary["rows_read"], 4);
    assert_eq!(summary["accounts_checked"], 2);
    assert_eq!(no_hash(&summary), 2);
    assert_eq!(summary["rows_skipped"]["total"], 2);
}

#[test]
fn without_null_an_empty_field_stays_an_empty_password() {
    let (run, summary) = audit(PSQL, &[]);
    let run = run.code(1);
    let mut flagged = run.accounts();
    flagged.sort();
    assert_eq!(
        flagged,
        ["empty@example.com", "sso2@example.com", "sso@example.com"]
    );
    assert!(run.rows().iter().all(|r| r[2].starts_with("empty")));
    assert_eq!(summary["accounts_checked"], 4);
    assert_eq!(no_hash(&summary), 0);
}

#[test]
fn psql_convention_with_crlf_bom_tsv_and_gzip() {
    let crlf: Vec<u8> = [b"\xEF\xBB\xBF".as_slice(), PSQL]
        .concat()
        .iter()
        .flat_map(|&b| {
            if b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![b]
            }
        })
        .collect();
    let tsv = b"email\tpassword\r\n\r\nsso@example.com\t\r\nempty@example.com\t\"\"\r\n";
    let gz = {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(PSQL).unwrap();
        enc.finish().unwrap()
    };
    for (what, data, checked, nulls) in [
        ("bom+crlf", crlf, 2, 2),
        ("tsv", tsv.to_vec(), 1, 1),
        ("gzip", gz, 2, 2),
    ] {
        let (run, summary) = audit(&data, &["--null", "psql"]);
        assert_eq!(run.code, 1, "{what}: {}", run.stderr);
        assert_eq!(run.accounts(), ["empty@example.com"], "{what}");
        assert_eq!(summary["accounts_checked"], checked, "{what}");
        assert_eq!(no_hash(&summary), nulls, "{what}");
    }
}

/// Thousands of rows: past the 64 rows read ahead to detect the secret
/// kind, across many of the parser's buffer refills, with quoted newlines
/// in between: every NULL and every empty string is told apart.
#[test]
fn psql_convention_holds_over_a_long_export() {
    let mut csv = b"email,password\n".to_vec();
    let (mut nulls, mut empties) = (0, 0);
    for i in 0..6000 {
        match i % 4 {
            0 => {
                csv.extend(format!("null{i}@example.com,\n").as_bytes());
                nulls += 1;
            }
            1 => {
                csv.extend(format!("empty{i}@example.com,\"\"\n").as_bytes());
                empties += 1;
            }
            2 => csv.extend(
                format!("\"multi{i}\n@example.com\",\"x\ny,\"\"z{i}-long-enough\"\n").as_bytes(),
            ),
            _ => csv.extend(format!("q{i}@example.com,\"\"\"\"\n").as_bytes()),
        }
    }
    let (run, summary) = audit(&csv, &["--null", "psql", "--exclude", "shared"]);
    let run = run.code(1);
    let rows = run.rows();
    let empty = rows.iter().filter(|r| r[2] == "empty").count();
    assert_eq!(empty, empties);
    assert!(rows.iter().all(|r| !r[0].starts_with("null")));
    assert!(rows
        .iter()
        .filter(|r| r[0].starts_with('q'))
        .all(|r| r[2] == "short"));
    assert_eq!(no_hash(&summary), nulls);
    assert_eq!(summary["rows_read"], 6000);
    assert_eq!(summary["accounts_checked"], 6000 - nulls);
}

#[test]
fn a_literal_marker_such_as_mysqls() {
    let csv =
        b"email,password\nsso@example.com,\\N\nempty@example.com,\nquoted@example.com,\"\\N\"\n";
    let (run, summary) = audit(csv, &["--null", "\\N"]);
    let run = run.code(1);
    assert_eq!(run.accounts(), ["empty@example.com"]);
    assert_eq!(
        no_hash(&summary),
        2,
        "a literal marker matches the value, quoted or not"
    );
    assert_eq!(summary["accounts_checked"], 1);
}

#[test]
fn a_null_hash_is_no_hash_and_the_marker_is_not_taken_for_a_hash() {
    let csv = format!(
        "email,sha1\nsso@example.com,\\N\nalice@example.com,{SHA1_PASSWORD}\nsso2@example.com,\\N\nbob@example.com,{}\n",
        "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"
    );
    let corpus = fixture("hibp/sha1-sample.txt");
    let (run, summary) = audit(
        csv.as_bytes(),
        &["--null", "\\N", "--corpus", corpus.to_str().unwrap()],
    );
    let run = run.code(1);
    let rows = run.rows();
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[2].as_str()))
        .collect();
    assert_eq!(
        got,
        [("alice@example.com", "pwned"), ("bob@example.com", "empty")]
    );
    assert_eq!(
        summary["rows_rejected"]["total"], 0,
        "\\N is not a bad hash"
    );
    assert_eq!(no_hash(&summary), 2);
}

#[test]
fn an_empty_marker_is_refused() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&["audit", "-", "--null", ""])
        .stdin(PSQL)
        .run()
        .code(2);
    run.says("--null psql");
}
