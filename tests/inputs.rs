//! Every input format: CSV exports of real exporters, psql, TSV, BOM/CRLF,
//! quoted fields, gzip/zstd by magic bytes, stdin, hash columns, and the
//! Windows colon dumps with their policy defaults.
mod common;
use common::*;

fn sha1_corpus() -> String {
    fixture("hibp/sha1-sample.txt").display().to_string()
}

fn ntlm_corpus() -> String {
    fixture("hibp/ntlm-sample.txt").display().to_string()
}

fn audit(files: &[&str], extra: &[&str]) -> Run {
    let wd = Workdir::new();
    let mut cmd = wd.cmd(&["audit"]);
    for f in files {
        cmd = cmd.arg(fixture(f));
    }
    for a in extra {
        cmd = cmd.arg(a);
    }
    cmd.run()
}

#[test]
fn plain_csv_flags_exactly_the_leaked_passwords() {
    let run = audit(&["exports/users.csv"], &["--corpus", &sha1_corpus()]).code(1);
    let rows = run.rows();
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[2].as_str(), r[3].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("alice@example.com", "pwned", "9659365"),
            ("carol@example.com", "pwned;short", "37359195"),
            ("grace@example.com", "pwned;short", "1034827"),
            (
                "'=HYPERLINK(\"http://x\")@example.com",
                "pwned;short",
                "10556095"
            ),
            ("ivan@example.com", "pwned", "1"),
        ]
    );
    // " letmein" (leading space) is not "letmein": passwords are never trimmed.
    assert!(!run.accounts().contains(&"frank@example.com".to_string()));
    assert!(
        rows[0][1].ends_with("users.csv:2"),
        "origin is file:line: {}",
        rows[0][1]
    );
    assert_eq!(rows[0][4], "sha1-sample.txt");
}

#[test]
fn bom_crlf_and_multiline_fields_keep_line_numbers() {
    let run = audit(
        &["exports/users-bom-crlf.csv"],
        &["--corpus", &sha1_corpus()],
    )
    .code(1);
    let origins: Vec<String> = run
        .rows()
        .iter()
        .map(|r| r[1].rsplit(':').next().unwrap().to_string())
        .collect();
    // The quoted two-line password of erin sits on lines 6-7, so grace is on 9.
    assert_eq!(origins, ["2", "4", "9", "10", "12"]);
}

#[test]
fn browser_and_password_manager_exports_work_unchanged() {
    let cases = [
        ("exports/chrome.csv", "alice@example.com"),
        ("exports/edge.csv", "carol"),
        ("exports/firefox.csv", "alice"),
        ("exports/bitwarden.csv", "alice@example.com"),
        ("exports/1password.csv", "alice@example.com"),
        ("exports/keepassxc.csv", "alice"),
        ("exports/psql.csv", "alice@example.com"),
        ("exports/users.tsv", "alice"),
    ];
    for (file, account) in cases {
        let run = audit(&[file], &["--corpus", &sha1_corpus(), "--quiet"]).code(1);
        assert_eq!(run.accounts()[0], account, "{file}");
        assert!(
            !run.accounts().iter().any(|a| a.starts_with("bob")),
            "{file}: bob's password is not leaked"
        );
    }
}

#[test]
fn gzip_and_zstd_are_detected_by_magic_bytes() {
    for file in [
        "exports/users.csv.gz",
        "exports/users.csv.zst",
        "exports/users-gzip-no-extension",
    ] {
        let run = audit(&[file], &["--corpus", &sha1_corpus()]).code(1);
        assert_eq!(run.accounts().len(), 5, "{file}");
    }
}

#[test]
fn stdin_is_read_with_dash() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&["audit", "-", "--corpus", &sha1_corpus()])
        .stdin("email,password\nalice@example.com,password\nbob@example.com,Zx81-spectrum-kept\n")
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["alice@example.com"]);
    assert_eq!(run.rows()[0][1], "stdin:2");
}

#[test]
fn sha1_hash_column_in_either_case() {
    let run = audit(
        &["exports/users-sha1.csv"],
        &["--corpus", &sha1_corpus(), "--fail-on", "pwned"],
    )
    .code(1);
    assert_eq!(run.accounts(), ["alice@example.com", "carol@example.com"]);
}

#[test]
fn ntlm_hash_column() {
    let run = audit(&["exports/users-ntlm.csv"], &["--corpus", &ntlm_corpus()]).code(1);
    assert_eq!(run.accounts(), ["alice"]);
}

#[test]
fn column_and_kind_overrides() {
    let wd = Workdir::new();
    wd.write(
        "odd.csv",
        format!("id,who,digest\n1,alice,{SHA1_PASSWORD}\n2,bob,0000000000000000000000000000000000000000\n"),
    );
    let run = wd
        .cmd(&[
            "audit",
            "odd.csv",
            "--account-col",
            "2",
            "--secret-col",
            "digest",
            "--secret-kind",
            "sha1",
        ])
        .arg("--corpus")
        .arg(fixture("hibp/sha1-sample.txt"))
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["alice"]);
    // Without --secret-kind, the "digest" column is recognised from content.
    let run = wd
        .cmd(&["audit", "odd.csv", "--account-col", "who"])
        .arg("--corpus")
        .arg(fixture("hibp/sha1-sample.txt"))
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["alice"]);
}

#[test]
fn semicolon_delimited_csv_is_sniffed() {
    let wd = Workdir::new();
    wd.write(
        "semi.csv",
        "login;password\nalice;password\nbob;a,b,c-not-leaked\n",
    );
    let run = wd.cmd(&["audit", "semi.csv"]).run().code(1);
    assert_eq!(run.accounts(), ["alice"]);
}

#[test]
fn secretsdump_defaults_skip_history_and_machines_but_check_disabled() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&["audit", "--summary", "s.json", "--corpus", &ntlm_corpus()])
        .arg(fixture("exports/ntds.secretsdump"))
        .run()
        .code(1);
    assert_eq!(
        run.accounts(),
        [
            "Administrator",
            "Guest",
            "contoso.local\\jdoe",
            // The dump has Kerberos keys, but none for asmith.
            "contoso.local\\asmith",
            "contoso.local\\old.user",
            "contoso.local\\unicode"
        ]
    );
    let statuses: Vec<String> = run.rows().iter().map(|r| r[5].clone()).collect();
    assert_eq!(
        statuses,
        ["enabled", "disabled", "enabled", "enabled", "disabled", "enabled"]
    );
    assert_eq!(run.rows()[3][2], "no-aes-keys");
    assert_eq!(
        run.rows()[1][2],
        "empty",
        "Guest has the empty password's NT hash"
    );
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(s["rows_skipped"]["history"], 2);
    assert_eq!(s["rows_skipped"]["machine_account"], 2);
    assert_eq!(s["rows_skipped"]["banner_line"], 9);
    assert_eq!(s["rows_skipped"]["kerberos_key"], 3);
    assert_eq!(s["rows_skipped"]["cleartext_line"], 1);
    assert!(
        s["rows_skipped"].get("no_hash").is_none(),
        "Guest has the empty-password hash"
    );
    assert_eq!(s["rows_rejected"]["total"], 0);
    assert_eq!(s["accounts_checked"], 7);
    assert_eq!(s["rows_read"], 7 + 2 + 2 + 9 + 3 + 1);
}

#[test]
fn secretsdump_policy_flags() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&[
            "audit",
            "--include-history",
            "--include-machine",
            "--skip-disabled",
            "--corpus",
            &ntlm_corpus(),
        ])
        .arg(fixture("exports/ntds.secretsdump"))
        .run()
        .code(1);
    assert_eq!(
        run.accounts(),
        [
            "Administrator",
            "contoso.local\\jdoe",
            "contoso.local\\asmith",
            "contoso.local\\unicode",
            "WS01$"
        ]
    );
    // The old password 123456 attaches to jdoe; it is no row of its own.
    assert_eq!(
        run.rows()[1][2],
        "pwned;shared;history-pwned",
        "WS01$ shares it"
    );
    assert_eq!(
        run.rows()[4][2],
        "pwned;shared",
        "machine accounts lack no AES keys"
    );
}

#[test]
fn pwdump_and_hashcat_nt() {
    let run = audit(&["exports/pwdump.txt"], &["--corpus", &ntlm_corpus()]).code(1);
    assert_eq!(run.accounts(), ["Administrator", "alice"]);
    let run = audit(&["exports/hashcat-nt.txt"], &["--corpus", &ntlm_corpus()]).code(1);
    assert_eq!(run.accounts(), ["Administrator", "jdoe"]);
    assert!(run.rows()[1][1].ends_with("hashcat-nt.txt:3"));
}

#[test]
fn utf16le_powershell_output_is_transcoded() {
    let run = audit(
        &["exports/hashcat-nt-utf16.txt"],
        &["--corpus", &ntlm_corpus()],
    )
    .code(1);
    assert_eq!(run.accounts(), ["Administrator", "jdoe"]);
    assert!(run.rows()[1][1].ends_with("hashcat-nt-utf16.txt:3"));
}

#[test]
fn non_utf8_plaintext_has_no_ntlm_hash() {
    // Bytes that are not UTF-8 have SHA-1 hashes but no NTLM hash.
    let wd = Workdir::new();
    let data =
        b"email,password\nlatin1@example.com,p\xe4ssw\xf6rd\nalice@example.com,password\n".to_vec();
    wd.write("latin1.csv", &data);
    let run = wd
        .cmd(&[
            "audit",
            "latin1.csv",
            "--summary",
            "s.json",
            "--corpus",
            &ntlm_corpus(),
        ])
        .run()
        .code(3);
    assert_eq!(run.accounts(), ["alice@example.com"]);
    assert!(
        run.stderr
            .contains("latin1.csv:2: row rejected (invalid_utf8)"),
        "{}",
        run.stderr
    );
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(s["rows_rejected"]["invalid_utf8"], 1);
    // The same bytes are fine for SHA-1.
    let run = wd
        .cmd(&["audit", "latin1.csv", "--corpus", &sha1_corpus()])
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["alice@example.com"]);
}

#[test]
fn ntlm_of_non_ascii_plaintext_uses_utf16() {
    let wd = Workdir::new();
    wd.write("u.csv", "email,password\nuni@example.com,pässwörd\n");
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus", &ntlm_corpus()])
        .run()
        .code(1);
    assert_eq!(run.rows()[0][3], "312");
}

#[test]
fn duplicate_and_ambiguous_secret_columns_give_one_warning_naming_both() {
    let wd = Workdir::new();
    // The first `password` column is read: alice's is leaked, bob's is not.
    wd.write(
        "dup.csv",
        "email,password,password\nalice@example.com,password,Tr0ub4dor&3-horse\nbob@example.com,Tr0ub4dor&3-horse,password\n",
    );
    let run = wd.cmd(&["audit", "dup.csv"]).run().code(1);
    assert_eq!(run.accounts(), ["alice@example.com"]);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("header"))
        .collect();
    assert_eq!(
        warnings,
        ["credaudit: warning: dup.csv:1: ambiguous header: the secret is read from column 2 \"password\"; \
          column 3 \"password\" is ignored (choose with --secret-col)"],
        "{}",
        run.stderr
    );

    // `password` beside `hash`: plaintext wins, and the hash column is named.
    wd.write(
        "both.csv",
        format!("email,hash,password\nalice@example.com,{SHA1_123456},password\n"),
    );
    let run = wd.cmd(&["audit", "both.csv"]).run().code(1);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("header"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains("read from column 3 \"password\"; column 2 \"hash\" is ignored"),
        "{}",
        warnings[0]
    );
    // Naming the column settles it: no warning.
    let run = wd
        .cmd(&["audit", "both.csv", "--secret-col", "password"])
        .run()
        .code(1);
    assert!(!run.stderr.contains("header"), "{}", run.stderr);
}
