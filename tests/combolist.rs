//! Leaked credential pairs: every combolist line shape, the join tiers, the
//! verification against each account's own stored hash (every scheme, from
//! the reference fixtures), de-duplication, the per-account cap, and that a
//! leaked password is never printed.
mod common;
use common::*;

fn summary(wd: &Workdir) -> serde_json::Value {
    serde_json::from_str(&wd.read("s.json")).unwrap()
}

/// (account, reasons, severity, match_tier) of every reported row.
fn verdicts(run: &Run) -> Vec<[String; 4]> {
    run.rows()
        .into_iter()
        .map(|r| [r[0].clone(), r[2].clone(), r[6].clone(), r[9].clone()])
        .collect()
}

/// `audit export.csv --combolist FILE --summary s.json`, in `wd`.
fn audit_export(wd: &Workdir, combolist: &str) -> Cmd {
    wd.cmd(&[
        "audit",
        "export.csv",
        "--combolist",
        combolist,
        "--summary",
        "s.json",
    ])
}

fn row(account: &str, reasons: &str, severity: &str, tier: &str) -> [String; 4] {
    [account.into(), reasons.into(), severity.into(), tier.into()]
}

#[test]
fn every_line_shape_joins_and_verifies_against_a_plaintext_export() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&["audit", "--summary", "s.json", "--combolist"])
        .arg(fixture("combolists/leak.txt"))
        .arg(fixture("exports/users-for-combolist.csv"))
        .run()
        .code(1);
    assert_eq!(
        verdicts(&run),
        [
            row(
                "alice@example.com",
                "pair-leaked;account-in-leak",
                "critical",
                "exact"
            ),
            row("bob@example.com", "account-in-leak", "low", "exact"),
            row(
                "carol@example.com",
                "pair-leaked",
                "critical",
                "case-folded"
            ),
            row("CONTOSO\\jdoe", "pair-leaked", "critical", "local-part"),
            row("erin@example.com", "pair-leaked", "critical", "exact"),
            row("frank@example.com", "pair-leaked", "critical", "exact"),
        ]
    );
    let c = &summary(&wd)["combolist"];
    assert_eq!(c["lines_read"], 13);
    assert_eq!(c["lines_malformed"]["total"], 4);
    for cause in [
        "no_separator",
        "empty_identity",
        "empty_password",
        "bad_hex_encoding",
    ] {
        assert_eq!(c["lines_malformed"][cause], 1, "{cause}");
    }
    assert_eq!(c["lines_matched"], 8);
    assert_eq!(c["duplicate_pairs"], 1);
    assert_eq!(c["pairs_checked"], 7);
    assert_eq!(c["pairs_verified"], 5);
    assert_eq!(c["matches_by_tier"]["local-part"], 1);
    assert_eq!(c["slow_verifications"], 0, "plaintext is compared directly");
}

#[test]
fn gzip_and_stdin_combolists() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&["audit", "--only", "pair-leaked", "--combolist"])
        .arg(fixture("combolists/leak.txt.gz"))
        .arg(fixture("exports/users-for-combolist.csv"))
        .run()
        .code(1);
    assert_eq!(run.accounts().len(), 5);
    let run = wd
        .cmd(&["audit", "--only", "pair-leaked", "--combolist", "-"])
        .arg(fixture("exports/users-for-combolist.csv"))
        .stdin("ivan@example.com:Ivan-Not-Leaked-5\n")
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["ivan@example.com"]);
}

#[test]
fn unsalted_hash_exports_are_compared_by_hashing_the_leak() {
    let wd = Workdir::new();
    wd.write(
        "dump.txt",
        format!("CONTOSO\\jdoe:{NTLM_PASSWORD}\nCONTOSO\\asmith:{NTLM_PASSWORD}\n"),
    );
    wd.write(
        "combo.txt",
        "jdoe@corp.example:password\nasmith@corp.example:Password\n",
    );
    let run = wd
        .cmd(&[
            "audit",
            "dump.txt",
            "--combolist",
            "combo.txt",
            "--only",
            "pair-leaked,account-in-leak",
        ])
        .run()
        .code(1);
    assert_eq!(
        verdicts(&run),
        [
            row("CONTOSO\\jdoe", "pair-leaked", "critical", "local-part"),
            row("CONTOSO\\asmith", "account-in-leak", "low", "local-part"),
        ]
    );
    wd.write("sha.csv", format!("email,sha1\na@x.com,{SHA1_PASSWORD}\n"));
    wd.write("combo2.txt", "a@x.com:password\n");
    let run = wd
        .cmd(&[
            "audit",
            "sha.csv",
            "--combolist",
            "combo2.txt",
            "--only",
            "pair-leaked",
        ])
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["a@x.com"]);
}

/// Rows of fixtures/hashes/reference.csv: (scheme, password, hash, right),
/// without the empty passwords and line breaks, which a combolist line
/// cannot carry.
fn reference_rows() -> Vec<(String, String, String, bool)> {
    let mut reader = csv::Reader::from_path(fixture("hashes/reference.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_string(),
                r[1].to_string(),
                r[2].to_string(),
                &r[3] == "true",
            )
        })
        .filter(|r| !r.1.is_empty() && !r.1.contains(['\n', '\r']))
        .collect()
}

#[test]
fn salted_exports_of_every_scheme_are_verified_with_their_own_algorithm() {
    let wd = Workdir::new();
    let rows = reference_rows();
    let mut hashes: Vec<String> = rows.iter().map(|r| r.2.clone()).collect();
    hashes.dedup();
    let account = |hash: &str| {
        format!(
            "user{}@x.com",
            hashes.iter().position(|h| h == hash).unwrap()
        )
    };
    let mut export = csv::Writer::from_writer(Vec::new());
    export.write_record(["email", "password_hash"]).unwrap();
    for h in &hashes {
        export
            .write_record([account(h).as_str(), h.as_str()])
            .unwrap();
    }
    wd.write("export.csv", export.into_inner().unwrap());
    let combo: String = rows
        .iter()
        .map(|(_, pw, h, _)| format!("{}:{pw}\n", account(h)))
        .collect();
    wd.write("combo.txt", combo);
    let run = audit_export(&wd, "combo.txt").run();
    assert!(run.code == 1, "{}", run.stderr);
    let reported = run.rows();
    for (scheme, _, h, right) in &rows {
        let reasons = reported
            .iter()
            .find(|r| r[0] == account(h))
            .map(|r| r[2].clone())
            .unwrap_or_default();
        if *right {
            assert!(
                reasons.contains("pair-leaked"),
                "{scheme}: right password must verify ({reasons})"
            );
        } else {
            assert!(
                reasons.contains("account-in-leak"),
                "{scheme}: wrong password is only an advisory ({reasons})"
            );
        }
    }
    for (_, _, h, _) in rows.iter().filter(|r| !r.3) {
        let right_exists = rows.iter().any(|r| r.2 == *h && r.3);
        let reasons = &reported.iter().find(|r| r[0] == account(h)).unwrap()[2];
        assert_eq!(
            reasons.contains("pair-leaked"),
            right_exists,
            "{h}: no false verification"
        );
    }
    let s = summary(&wd);
    assert_eq!(s["combolist"]["verify_errors"], 0);
    assert!(s["stored_hash_schemes"]["bcrypt"].as_u64().unwrap() >= 1);
    assert!(s["combolist"]["slow_verifications"].as_u64().unwrap() >= 1);
}

#[test]
fn slow_verifications_are_deduplicated_and_capped() {
    let wd = Workdir::new();
    let rows = reference_rows();
    let (_, pw, bcrypt, _) = rows
        .iter()
        .find(|r| r.0 == "bcrypt" && r.3)
        .expect("a bcrypt row with its password")
        .clone();
    wd.write(
        "export.csv",
        format!("email,password_hash\nalice@x.com,{bcrypt}\n"),
    );
    let mut combo = String::new();
    for _ in 0..5 {
        combo.push_str(&format!("alice@x.com:{pw}\n"));
    }
    for i in 0..30 {
        combo.push_str(&format!("alice@x.com:wrong-guess-{i}\n"));
    }
    wd.write("combo.txt", combo);
    let run = wd
        .cmd(&[
            "audit",
            "export.csv",
            "--combolist",
            "combo.txt",
            "--max-candidates",
            "10",
            "--summary",
            "s.json",
        ])
        .run()
        .code(1);
    assert_eq!(run.rows()[0][2], "pair-leaked;account-in-leak");
    let c = &summary(&wd)["combolist"];
    assert_eq!(c["duplicate_pairs"], 4);
    assert_eq!(c["pairs_checked"], 10);
    assert_eq!(c["slow_verifications"], 10, "one per distinct pair, capped");
    assert_eq!(c["pairs_over_cap"], 21);
    assert_eq!(c["accounts_over_cap"], 1);
}

#[test]
fn unknown_and_malformed_stored_hashes_are_rejected_not_clean() {
    let wd = Workdir::new();
    let rows = reference_rows();
    let bcrypt = &rows.iter().find(|r| r.0 == "bcrypt").unwrap().2;
    wd.write(
        "export.csv",
        format!(
            "email,password_hash\na@x.com,{bcrypt}\nb@x.com,$9$nothing-known$here\nc@x.com,{}\n",
            &bcrypt[..bcrypt.len() - 10]
        ),
    );
    wd.write("combo.txt", "a@x.com:whatever\n");
    let run = wd
        .cmd(&[
            "audit",
            "export.csv",
            "--combolist",
            "combo.txt",
            "--summary",
            "s.json",
        ])
        .run()
        .code(3);
    assert!(
        run.stderr
            .contains("export.csv:3: row rejected (unknown_hash_scheme)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("export.csv:4: row rejected (malformed_hash)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(&bcrypt[7..]), "no hash in messages");
    let s = summary(&wd);
    assert_eq!(s["rows_rejected"]["unknown_hash_scheme"], 1);
    assert_eq!(s["rows_rejected"]["malformed_hash"], 1);
}

#[test]
fn secret_kind_salted_forces_stored_hashes_in_a_password_column() {
    let wd = Workdir::new();
    let rows = reference_rows();
    let (_, pw, bcrypt, _) = rows
        .iter()
        .find(|r| r.0 == "bcrypt" && r.3)
        .unwrap()
        .clone();
    wd.write("export.csv", format!("email,password\na@x.com,{bcrypt}\n"));
    wd.write("combo.txt", format!("a@x.com:{pw}\n"));
    let run = wd
        .cmd(&[
            "audit",
            "export.csv",
            "--combolist",
            "combo.txt",
            "--secret-kind",
            "salted",
        ])
        .run()
        .code(1);
    assert_eq!(run.rows()[0][2], "pair-leaked");
}

#[test]
fn salted_export_without_combolist_is_a_usage_error() {
    let wd = Workdir::new();
    let rows = reference_rows();
    let bcrypt = &rows.iter().find(|r| r.0 == "bcrypt").unwrap().2;
    wd.write(
        "export.csv",
        format!("email,password_hash\na@x.com,{bcrypt}\n"),
    );
    let run = wd.cmd(&["audit", "export.csv"]).run().code(2);
    assert!(
        run.stderr
            .contains("give leaked credential pairs with --combolist"),
        "{}",
        run.stderr
    );
}

#[test]
fn shadow_files_are_an_input_format() {
    let wd = Workdir::new();
    let rows = reference_rows();
    let (_, pw, sha512, _) = rows
        .iter()
        .find(|r| r.0 == "sha-crypt" && r.2.starts_with("$6$") && r.3)
        .expect("a $6$ row")
        .clone();
    wd.write(
        "shadow",
        format!("root:{sha512}:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\nlocked:!{sha512}:19700::::::\n"),
    );
    wd.write(
        "combo.txt",
        format!("root@host.example:{pw}\nlocked@host.example:{pw}\n"),
    );
    let run = wd
        .cmd(&[
            "audit",
            "shadow",
            "--combolist",
            "combo.txt",
            "--summary",
            "s.json",
        ])
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["root", "locked"]);
    assert_eq!(run.rows()[1][5], "disabled");
    assert!(run.rows().iter().all(|r| r[2].starts_with("pair-leaked")));
    assert_eq!(summary(&wd)["rows_skipped"]["no_hash"], 1);
}

#[test]
fn leaked_passwords_never_appear_in_output() {
    let wd = Workdir::new();
    let canary = "Canary-Leaked-Pw-9931";
    wd.write("u.csv", "email,password\na@x.com,Current-Password-1\n");
    wd.write(
        "combo.txt",
        format!("a@x.com:{canary}\nbroken-line-{canary}\n"),
    );
    let run = wd
        .cmd(&[
            "audit",
            "u.csv",
            "--combolist",
            "combo.txt",
            "--summary",
            "s.json",
            "-o",
            "r.csv",
        ])
        .run()
        .code(1);
    for text in [run.stdout, run.stderr, wd.read("s.json"), wd.read("r.csv")] {
        assert!(!text.contains(canary), "{text}");
    }
    assert!(wd.read("r.csv").contains("account-in-leak"));
}

#[test]
fn a_combolist_without_usable_lines_is_a_warning_and_an_error_under_strict() {
    let wd = Workdir::new();
    wd.write(
        "export.csv",
        "email,password\nalice@example.com,Tr0ub4dor&3-horse\n",
    );
    wd.write(
        "junk.txt",
        "no separator here\n:no-identity\nalice@example.com:\n",
    );
    wd.write("empty.txt", "");
    for combolist in ["junk.txt", "empty.txt"] {
        let run = wd
            .cmd(&["audit", "export.csv", "--combolist", combolist])
            .run()
            .code(0);
        assert!(
            run.stderr.contains(&format!(
                "credaudit: warning: combolist {combolist}: no usable lines"
            )),
            "{}",
            run.stderr
        );
        let run = wd
            .cmd(&["audit", "export.csv", "--strict", "--combolist", combolist])
            .run()
            .code(2);
        assert!(
            run.stderr.contains("no usable lines") && run.stderr.contains("(--strict)"),
            "{}",
            run.stderr
        );
    }
    let run = wd
        .cmd(&["audit", "export.csv", "--combolist", "junk.txt"])
        .run();
    assert!(
        run.stderr.contains("(3 read, 3 malformed)"),
        "{}",
        run.stderr
    );
}

/// The scrypt row of fixtures/hashes/memory-hard.csv: (password, hash), 1 GiB
/// per check.
fn scrypt_1gib() -> (String, String) {
    let text = std::fs::read_to_string(fixture("hashes/memory-hard.csv")).unwrap();
    let row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    // The hash holds commas (`ln=20,r=8,p=1`): it is everything but the
    // first two fields and the last.
    (row[1].to_string(), row[2..row.len() - 1].join(","))
}

#[test]
fn memory_hard_hashes_run_one_at_a_time_or_are_refused_under_an_address_space_limit() {
    let wd = Workdir::new();
    let (password, hash_1gib) = scrypt_1gib();
    // 2 GiB per check, well-formed (refused before any hashing, so the
    // digest need not match anything).
    let hash_2gib = "$scrypt$ln=21,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$\
                     aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
    let mut export = String::from("email,password_hash\n");
    let mut leak = String::new();
    for i in 0..6 {
        export += &format!("big{i}@example.com,\"{hash_2gib}\"\n");
        leak += &format!("big{i}@example.com:{password}\n");
    }
    // Quoted: the parameters hold commas.
    export += &format!("alice@example.com,\"{hash_1gib}\"\nbob@example.com,\"{hash_1gib}\"\n");
    leak += &format!("alice@example.com:{password}\nbob@example.com:not-{password}\n");
    wd.write("export.csv", export);
    wd.write("leak.txt", leak);
    // 2 GiB of address space: one 1 GiB check fits beside the process, two
    // at once do not (before the bound, both ran at once and the run died
    // on "memory allocation of 1073744640 bytes failed", exit 134); a
    // 2 GiB check never fits.
    let run = audit_export(&wd, "leak.txt")
        .address_space_limit(2 << 30)
        .run_within(std::time::Duration::from_secs(120))
        .code(3);
    assert!(!run.stderr.contains("memory allocation"), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "credaudit: warning: 6 leaked pairs not verified: their stored hashes need more memory"
        ),
        "{}",
        run.stderr
    );
    let mut expected = vec![];
    for i in 0..6 {
        expected.push(row(
            &format!("big{i}@example.com"),
            "unchecked",
            "medium",
            "",
        ));
    }
    expected.push(row("alice@example.com", "pair-leaked", "critical", "exact"));
    expected.push(row("bob@example.com", "account-in-leak", "low", "exact"));
    assert_eq!(verdicts(&run), expected);
    let s = summary(&wd);
    let c = &s["combolist"];
    assert_eq!(c["slow_verifications"], 8);
    assert_eq!(c["pairs_refused"]["memory_limit"], 6);
    assert_eq!(c["pairs_refused"]["total"], 6);
    assert_eq!(c["pairs_verified"], 1);
    let budget = c["verify_memory_budget"].as_u64().unwrap();
    assert!((1 << 30..2 << 30).contains(&budget), "{budget}");
    assert_eq!(s["accounts_unchecked"], 6);
}
