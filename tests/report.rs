//! The reset list and the summary: atomic 0600 files, stable columns,
//! formula neutralisation, counts that add up, exit codes and --fail-on.
mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn output_file_is_atomic_and_mode_0600() {
    let wd = Workdir::new();
    let old = wd.write("reset.csv", "previous report\n");
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = wd
        .cmd(&[
            "audit",
            "-o",
            "reset.csv",
            "--summary",
            "s.json",
            "--corpus",
        ])
        .arg(fixture("hibp/sha1-sample.txt"))
        .arg(fixture("exports/users.csv"))
        .run()
        .code(1);
    assert_eq!(run.stdout, "", "the report went to the file, not stdout");
    let rows = parse_csv(&wd.read("reset.csv"));
    assert_eq!(rows.len(), 5);
    for file in ["reset.csv", "s.json"] {
        let mode = std::fs::metadata(wd.path(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    // A run that fails leaves the previous report as it was, and no
    // temporary files behind.
    let before = wd.read("reset.csv");
    wd.cmd(&["audit", "-o", "reset.csv"])
        .arg(fixture("exports/truncated.csv.gz"))
        .run()
        .code(2);
    assert_eq!(wd.read("reset.csv"), before);
    let names: Vec<String> = std::fs::read_dir(wd.path("."))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".credaudit-")),
        "{names:?}"
    );
}

#[test]
fn clean_audit_writes_a_header_only_report_and_exits_0() {
    let wd = Workdir::new();
    wd.write("u.csv", "email,password\na@x.com,unlisted-Passphrase-91\n");
    let run = wd.cmd(&["audit", "u.csv", "-o", "r.csv"]).run().code(0);
    assert!(run.stderr.contains("only the built-in list"));
    assert_eq!(
        wd.read("r.csv"),
        "account,origin,reasons,max_count,sources,account_status,severity,shared_group,shared_size,match_tier,banned_rule\n"
    );
    let run = wd.cmd(&["audit", "u.csv", "--quiet"]).run().code(0);
    assert_eq!(run.stderr, "", "--quiet prints nothing but errors");
}

#[test]
fn formula_injection_is_neutralised_in_every_cell() {
    let wd = Workdir::new();
    wd.write(
        "u.csv",
        "email,password\n=cmd|' /C calc'!A0,password\n+1+1,123456\n-2,qwerty\n@SUM(A1),letmein\nplain@x.com,password\n",
    );
    let run = wd.cmd(&["audit", "u.csv"]).run().code(1);
    assert_eq!(
        run.accounts(),
        [
            "'=cmd|' /C calc'!A0",
            "'+1+1",
            "'-2",
            "'@SUM(A1)",
            "plain@x.com"
        ]
    );
}

#[test]
fn summary_counts_add_up_and_describe_sources() {
    let wd = Workdir::new();
    wd.cmd(&["audit", "--summary", "s.json", "--corpus"])
        .arg(fixture("hibp/ntlm-sample.txt"))
        .arg(fixture("exports/ntds.secretsdump"))
        .arg(fixture("exports/hashcat-nt.txt"))
        .arg(fixture("exports/pwdump.txt"))
        .run()
        .code(1);
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    let read = s["rows_read"].as_u64().unwrap();
    let checked = s["accounts_checked"].as_u64().unwrap();
    let rejected = s["rows_rejected"]["total"].as_u64().unwrap();
    let skipped = s["rows_skipped"]["total"].as_u64().unwrap();
    assert_eq!(read, checked + rejected + skipped);
    assert_eq!(checked, 7 + 3 + 3);
    assert_eq!(s["rows_skipped"]["no_hash"], 2, "Guest: and NO PASSWORD");
    assert_eq!(s["accounts_flagged"]["pwned"], 4 + 2 + 2);
    assert_eq!(s["accounts_flagged"]["empty"], 1, "Guest");
    assert_eq!(s["report_rows"], 10, "with asmith's no-aes-keys");
    assert_eq!(s["inputs"][0]["format"], "colon");
    assert_eq!(s["inputs"][0]["secret_kind"], "ntlm");
    let src = &s["sources"][0];
    assert_eq!(src["kind"], "hibp-file");
    assert_eq!(src["name"], "ntlm-sample.txt");
    assert!(src["size_bytes"].as_u64().unwrap() > 1000);
    assert!(src["modified_unix"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(src["lookups"][0]["hash_kind"], "ntlm");
    assert!(s["durations_ms"]["total"].is_u64());
    assert_eq!(s["builtin_only"], false);
    assert_eq!(s["exit_code"], 1);
}

#[test]
fn fail_on_chooses_what_fails_the_run() {
    let wd = Workdir::new();
    let bad = fixture("exports/bad-rows.csv");
    // Default: rejected rows make the run incomplete (3), outranking findings.
    wd.cmd(&["audit"]).arg(&bad).run().code(3);
    wd.cmd(&["audit", "--fail-on", "pwned"])
        .arg(&bad)
        .run()
        .code(1);
    wd.cmd(&["audit", "--fail-on", "rejected"])
        .arg(&bad)
        .run()
        .code(3);
    wd.cmd(&["audit", "--fail-on", "none"])
        .arg(&bad)
        .run()
        .code(0);
    wd.cmd(&["audit", "--fail-on", "unchecked"])
        .arg(&bad)
        .run()
        .code(0);
}

#[test]
fn broken_pipe_on_stdout_is_not_an_error() {
    let wd = Workdir::new();
    let mut csv = String::from("email,password\n");
    for i in 0..50_000 {
        csv.push_str(&format!("user{i}@example.com,password\n"));
    }
    wd.write("many.csv", csv);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_credaudit"))
        .current_dir(wd.path("."))
        .args(["audit", "many.csv"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(&first, b"account,origin,r");
}
