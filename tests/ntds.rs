//! What an NTDS dump shows beyond the NT hash (issue 12): `lm-hash`,
//! `reversible`, `default-computer-password`, `no-aes-keys` and
//! `history-pwned`, on `fixtures/exports/ntds-findings.secretsdump` (made
//! with the real LM and NTLM algorithms by `fixtures/generate.py`) and on
//! dumps written here with the real NTLM of `credaudit::hash::ntlm`.
mod common;
use common::*;

const EMPTY_LM: &str = "aad3b435b51404eeaad3b435b51404ee";

fn ntlm_corpus() -> String {
    fixture("hibp/ntlm-sample.txt").display().to_string()
}

fn findings_dump() -> std::path::PathBuf {
    fixture("exports/ntds-findings.secretsdump")
}

/// NTLM of `password`, lower-case hex, as secretsdump prints it.
fn nt(password: &str) -> String {
    credaudit::hash::ntlm(password.as_bytes())
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `(account, reasons, severity)` of each report row.
fn verdicts(run: &Run) -> Vec<(String, String, String)> {
    run.rows()
        .into_iter()
        .map(|r| (r[0].clone(), r[2].clone(), r[6].clone()))
        .collect()
}

fn owned(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|(a, r, s)| (a.to_string(), r.to_string(), s.to_string()))
        .collect()
}

fn summary(wd: &Workdir) -> serde_json::Value {
    serde_json::from_str(&wd.read("s.json")).unwrap()
}

#[test]
fn ntds_dump_reports_lm_reversible_default_computer_and_missing_aes_keys() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&["audit", "--summary", "s.json", "--corpus", &ntlm_corpus()])
        .arg(findings_dump())
        .run()
        .code(1);
    assert_eq!(
        verdicts(&run),
        owned(&[
            ("acme.local\\legacy.app", "lm-hash", "high"),
            // The cleartext is checked as plaintext: `short` comes from it.
            (
                "acme.local\\svc_backup",
                "reversible;pwned;short",
                "critical"
            ),
            ("acme.local\\asmith", "no-aes-keys", "low"),
            ("WS01$", "default-computer-password", "high"),
            ("ACCOUNTING-LAPTOP7$", "default-computer-password", "high"),
        ])
    );
    let all = format!("{}{}{}", run.stdout, run.stderr, wd.read("s.json"));
    assert!(!all.contains("letmein"), "the cleartext is never printed");
    let s = summary(&wd);
    // Administrator, krbtgt, legacy.app, svc_backup, jdoe, asmith, old.user
    // and the two machine accounts with their default password; DC01$ is
    // skipped like any other machine account.
    assert_eq!(s["accounts_checked"], 9);
    assert_eq!(s["rows_skipped"]["machine_account"], 1);
    assert_eq!(s["rows_skipped"]["history"], 2);
    assert_eq!(s["rows_skipped"]["kerberos_key"], 10);
    assert_eq!(s["rows_skipped"]["cleartext_line"], 1);
    assert_eq!(s["rows_skipped"]["banner_line"], 9);
    assert_eq!(s["rows_read"], 9 + 1 + 2 + 10 + 1 + 9);
    assert_eq!(s["accounts_flagged"]["reversible"], 1);
    assert_eq!(s["accounts_flagged"]["lm-hash"], 1);
    assert_eq!(s["accounts_flagged"]["default-computer-password"], 2);
    assert_eq!(s["accounts_flagged"]["no-aes-keys"], 1);
    assert_eq!(s["accounts_flagged"]["history-pwned"], 0);
}

#[test]
fn include_history_attaches_old_passwords_to_their_account() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&[
            "audit",
            "--include-history",
            "--only",
            "history-pwned",
            "--summary",
            "s.json",
            "--corpus",
            &ntlm_corpus(),
        ])
        .arg(findings_dump())
        .run()
        .code(1);
    // jdoe_history0 is P@ssw0rd: its account is flagged, no row of its own.
    assert_eq!(
        verdicts(&run),
        owned(&[("acme.local\\jdoe", "history-pwned", "low")])
    );
    let s = summary(&wd);
    assert_eq!(s["rows_skipped"]["history"], 2, "counted, not accounts");
    // Without default-computer-password looked for, machines are skipped.
    assert_eq!(s["accounts_checked"], 7);
    let lookups = &s["sources"][0]["lookups"];
    assert_eq!(lookups[1]["history"], true);
    assert_eq!(lookups[1]["queried"], 2);
    assert_eq!(lookups[1]["hits"], 1);
}

#[test]
fn machine_accounts_never_lack_aes_keys_and_need_their_exact_default() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&["audit", "--include-machine", "--corpus", &ntlm_corpus()])
        .arg(findings_dump())
        .run()
        .code(1);
    let rows = verdicts(&run);
    assert!(rows.iter().all(|(a, _, _)| a != "DC01$"));
    assert!(rows.contains(&(
        "WS01$".into(),
        "default-computer-password".into(),
        "high".into()
    )));
    // The untruncated name, another machine's name, and a user named like a
    // computer are not the default password.
    wd.write(
        "dump.txt",
        [
            format!(
                "LAPTOP-ACCOUNTING7$:1:{EMPTY_LM}:{}:::",
                nt("laptop-accounting7")
            ),
            format!("WS02$:2:{EMPTY_LM}:{}:::", nt("ws01")),
            format!("ws03:3:{EMPTY_LM}:{}:::", nt("ws03")),
            format!("CORP\\WS04$:4:{EMPTY_LM}:{}:::", nt("ws04")),
        ]
        .join("\n"),
    );
    let run = wd
        .cmd(&["audit", "dump.txt", "--only", "default-computer-password"])
        .arg("--corpus")
        .arg(ntlm_corpus())
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["CORP\\WS04$"]);
}

#[test]
fn lm_hash_placeholders_mean_none() {
    let wd = Workdir::new();
    // LM("password") from the literature; the empty LM hash in either case,
    // pwdump's placeholder and all zeros mean no LM hash.
    let pw = nt("correct horse battery staple");
    wd.write(
        "pwdump.txt",
        [
            format!("real:1:E52CAC67419A9A224A3B108F3FA6CB6D:{pw}:::"),
            format!("lower:2:{EMPTY_LM}:{pw}:::"),
            format!("upper:3:{}:{pw}:::", EMPTY_LM.to_uppercase()),
            format!("placeholder:4:NO PASSWORD*********************:{pw}:::"),
            format!("zeros:5:00000000000000000000000000000000:{pw}:::"),
        ]
        .join("\r\n"),
    );
    let run = wd
        .cmd(&["audit", "pwdump.txt", "--only", "lm-hash", "--corpus"])
        .arg(ntlm_corpus())
        .run()
        .code(1);
    assert_eq!(verdicts(&run), owned(&[("real", "lm-hash", "high")]));
}

#[test]
fn cleartext_attaches_to_its_account_and_is_checked_like_plaintext() {
    let wd = Workdir::new();
    wd.write(
        "dump.txt",
        [
            format!(
                "CORP\\carol:1:{EMPTY_LM}:{}::: (status=Enabled)",
                nt("Xy7!q")
            ),
            format!("CORP\\dave:2:{EMPTY_LM}:{}::: (status=Enabled)", nt("dave")),
            "CORP\\carol:CLEARTEXT:Xy7!q".to_string(),
            "CORP\\dave:CLEARTEXT:dave".to_string(),
            // No account of that name: attached to nothing, never a row.
            "CORP\\ghost:CLEARTEXT:P@ssw0rd".to_string(),
        ]
        .join("\n"),
    );
    let run = wd
        .cmd(&["audit", "dump.txt", "--summary", "s.json", "--corpus"])
        .arg(ntlm_corpus())
        .run()
        .code(1);
    assert_eq!(
        verdicts(&run),
        owned(&[
            ("CORP\\carol", "reversible;short", "critical"),
            ("CORP\\dave", "reversible;username;short", "critical"),
        ])
    );
    assert!(!run.stdout.contains("Xy7!q") && !run.stderr.contains("Xy7!q"));
    let s = summary(&wd);
    assert_eq!(s["rows_skipped"]["cleartext_line"], 3);
    assert_eq!(s["accounts_checked"], 2);
    assert_eq!(s["rows_read"], 5);
    assert!(
        s["shared_groups"].as_array().unwrap().is_empty(),
        "an account's cleartext and NT hash are one password, not two accounts"
    );
}

#[test]
fn only_exclude_and_fail_on_know_the_new_reasons() {
    let wd = Workdir::new();
    let corpus = ntlm_corpus();
    let audit = |args: &[&str]| {
        args.iter()
            .fold(
                wd.cmd(&["audit", "--corpus", &corpus]).arg(findings_dump()),
                |cmd, a| cmd.arg(a),
            )
            .run()
    };
    let run = audit(&["--only", "lm-hash,reversible"]).code(1);
    assert_eq!(
        run.accounts(),
        ["acme.local\\legacy.app", "acme.local\\svc_backup"]
    );
    let run = audit(&[
        "--exclude",
        "no-aes-keys,default-computer-password,lm-hash,reversible",
    ])
    .code(1);
    assert_eq!(run.accounts(), ["acme.local\\svc_backup"]);
    audit(&["--fail-on", "history-pwned"]).code(0);
    audit(&["--fail-on", "history-pwned", "--include-history"]).code(1);
    audit(&["--fail-on", "no-aes-keys", "--only", "no-aes-keys"]).code(1);
    audit(&["--fail-on", "medium", "--only", "no-aes-keys"]).code(0);
    audit(&["--fail-on", "default-computer-password"]).code(1);
    audit(&["--only", "no-such-reason"]).code(2);
}
