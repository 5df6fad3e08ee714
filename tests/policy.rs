//! Policy findings with known answers: empty, short, username, shared,
//! privileged-shared, banned; severities, --only/--exclude and --fail-on.
mod common;
use common::*;
use credaudit::hash::{encode_hex, ntlm, sha1};

fn nt(pw: &str) -> String {
    encode_hex(&ntlm(pw.as_bytes()).unwrap())
}

/// (account, reasons, severity) of every reported row.
fn verdicts(run: &Run) -> Vec<(String, String, String)> {
    run.rows()
        .into_iter()
        .map(|r| (r[0].clone(), r[2].clone(), r[6].clone()))
        .collect()
}

fn v(account: &str, reasons: &str, severity: &str) -> (String, String, String) {
    (account.into(), reasons.into(), severity.into())
}

#[test]
fn empty_passwords_as_plaintext_and_as_hashes() {
    let wd = Workdir::new();
    wd.write(
        "plain.csv",
        "email,password\nnone@x.com,\nsome@x.com,Vq8#long-enough-phrase\n",
    );
    wd.write(
        "sha.csv",
        "email,sha1\nnone@x.com,DA39A3EE5E6B4B0D3255BFEF95601890AFD80709\nsome@x.com,5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD9\n",
    );
    wd.write(
        "nt.txt",
        "guest:31d6cfe0d16ae931b73c59d7e0c089c0\nother:0123456789abcdef0123456789abcdef\n",
    );
    for file in ["plain.csv", "sha.csv", "nt.txt"] {
        let run = wd.cmd(&["audit", file, "--exclude", "pwned"]).run().code(1);
        let first = verdicts(&run)[0].clone();
        assert_eq!(first.1, "empty", "{file}");
        assert_eq!(first.2, "critical", "{file}");
        assert_eq!(run.rows().len(), 1, "{file}: {}", run.stdout);
    }
}

#[test]
fn short_follows_min_length_in_characters() {
    let wd = Workdir::new();
    wd.write(
        "u.csv",
        "email,password\na@x.com,Xq9!kfz\nb@x.com,Xq9!kfzP\nc@x.com,Zz8#ümlautPass1\nd@x.com,ääääääää\n",
    );
    let run = wd.cmd(&["audit", "u.csv"]).run().code(1);
    assert_eq!(verdicts(&run), [v("a@x.com", "short", "low")]);
    let run = wd
        .cmd(&["audit", "u.csv", "--min-length", "15"])
        .run()
        .code(1);
    // "Zz8#ümlautPass1" is 15 characters (16 bytes); "ääääääää" 8 characters.
    assert_eq!(run.accounts(), ["a@x.com", "b@x.com", "d@x.com"]);
    wd.cmd(&["audit", "u.csv", "--min-length", "0"])
        .run()
        .code(0);
}

#[test]
fn username_variants_in_plaintext_and_hashes() {
    let wd = Workdir::new();
    wd.write(
        "u.csv",
        "email,password\n\
         alice@example.com,Alice2026!\n\
         john.smith@example.com,johnsmith1\n\
         bob@example.com,bob-is-not-this-password\n\
         carol@example.com,lorac123\n",
    );
    let run = wd.cmd(&["audit", "u.csv"]).run().code(1);
    assert_eq!(
        verdicts(&run),
        [
            v("alice@example.com", "username", "high"),
            v("john.smith@example.com", "username", "high"),
            v("carol@example.com", "username", "high"),
        ]
    );
    wd.write(
        "dump.txt",
        format!(
            "CONTOSO\\jdoe:{}\nCONTOSO\\asmith:{}\nCONTOSO\\mlee:{}\n",
            nt(&format!(
                "Jdoe{}!",
                credaudit::policy::username::current_year()
            )),
            nt("ASMITH"),
            nt("Mlee-but-not-quite")
        ),
    );
    let run = wd.cmd(&["audit", "dump.txt"]).run().code(1);
    assert_eq!(run.accounts(), ["CONTOSO\\jdoe", "CONTOSO\\asmith"]);
    assert!(run.rows().iter().all(|r| r[2] == "username"));
}

#[test]
fn shared_groups_in_report_and_summary() {
    let wd = Workdir::new();
    wd.write(
        "u.csv",
        "email,password\n\
         a@x.com,Tr0ub4dor&3-shared\n\
         b@x.com,unique-Passphrase-1\n\
         c@x.com,Tr0ub4dor&3-shared\n\
         d@x.com,Another-Shared-9!\n\
         e@x.com,Tr0ub4dor&3-shared\n\
         f@x.com,Another-Shared-9!\n",
    );
    let run = wd
        .cmd(&["audit", "u.csv", "--summary", "s.json"])
        .run()
        .code(1);
    let groups: Vec<(String, String, String)> = run
        .rows()
        .into_iter()
        .map(|r| (r[0].clone(), r[7].clone(), r[8].clone()))
        .collect();
    let g = |a: &str, id: &str, n: &str| (a.to_string(), id.to_string(), n.to_string());
    assert_eq!(
        groups,
        [
            g("a@x.com", "1", "3"),
            g("c@x.com", "1", "3"),
            g("d@x.com", "2", "2"),
            g("e@x.com", "1", "3"),
            g("f@x.com", "2", "2")
        ]
    );
    assert!(run
        .rows()
        .iter()
        .all(|r| r[2] == "shared" && r[6] == "medium"));
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(s["shared_groups"][0]["size"], 3);
    assert_eq!(s["shared_groups"][0]["accounts"][1], "c@x.com (u.csv:4)");
    assert_eq!(s["accounts_flagged"]["shared"], 5);
    let run = wd
        .cmd(&["audit", "u.csv", "--min-shared", "3"])
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["a@x.com", "c@x.com", "e@x.com"]);
}

#[test]
fn privileged_accounts_sharing_with_ordinary_ones_are_critical() {
    let wd = Workdir::new();
    wd.write(
        "u.csv",
        "email,password,is_admin\n\
         root@x.com,Same-Long-Secret-7,yes\n\
         user@x.com,Same-Long-Secret-7,no\n\
         ops1@x.com,Ops-Long-Secret-8,true\n\
         ops2@x.com,Ops-Long-Secret-8,1\n",
    );
    let run = wd
        .cmd(&["audit", "u.csv", "--admin-col", "is_admin"])
        .run()
        .code(1);
    assert_eq!(
        verdicts(&run),
        [
            v("root@x.com", "privileged-shared;shared", "critical"),
            v("user@x.com", "shared", "medium"),
            v("ops1@x.com", "shared", "medium"),
            v("ops2@x.com", "shared", "medium"),
        ]
    );
    let pw = nt("Sh4red-Domain-Secret");
    wd.write(
        "dump.txt",
        format!("CONTOSO\\Administrator:{pw}\nCONTOSO\\jdoe:{pw}\n"),
    );
    wd.write("admins.txt", "administrator\r\n");
    let run = wd
        .cmd(&["audit", "dump.txt", "--admins", "admins.txt"])
        .run()
        .code(1);
    assert_eq!(run.rows()[0][2], "privileged-shared;shared");
    assert_eq!(run.rows()[1][2], "shared");
}

#[test]
fn banned_words_with_mutations() {
    let wd = Workdir::new();
    wd.write("banned.txt", "Contoso\nsummer\n");
    wd.write(
        "u.csv",
        "email,password\n\
         a@x.com,C0nt0$0!\n\
         b@x.com,Summer2026!\n\
         c@x.com,CONTOSO1\n\
         d@x.com,contoso-is-great\n\
         e@x.com,5umm3r99\n",
    );
    let run = wd
        .cmd(&[
            "audit",
            "u.csv",
            "--banned",
            "banned.txt",
            "--exclude",
            "pwned",
            "--summary",
            "s.json",
        ])
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["a@x.com", "b@x.com", "c@x.com", "e@x.com"]);
    assert!(run
        .rows()
        .iter()
        .all(|r| r[2] == "banned" && r[4] == "banned.txt" && r[6] == "high"));
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    let src = &s["sources"][1];
    assert_eq!(src["kind"], "banned-words");
    assert_eq!(src["words_before_expansion"], 2);
    assert!(src["entries"].as_u64().unwrap() > 20_000);
    assert!(s["notes"][1]
        .as_str()
        .unwrap()
        .starts_with("banned words banned.txt: 2 words expanded to"));
    // Banned words also catch NTLM hashes.
    wd.write("dump.txt", format!("jdoe:{}\n", nt("Contoso2024")));
    let run = wd
        .cmd(&["audit", "dump.txt", "--banned", "banned.txt"])
        .run()
        .code(1);
    assert_eq!(run.rows()[0][2], "banned");
}

/// (account, reasons, banned_rule) of every reported row.
fn banned_rules(run: &Run) -> Vec<(String, String, String)> {
    run.rows()
        .into_iter()
        .map(|r| (r[0].clone(), r[2].clone(), r[10].clone()))
        .collect()
}

#[test]
fn banned_plaintext_is_normalised_and_scored() {
    let wd = Workdir::new();
    wd.write("banned.txt", "contoso\nblank\npassword\nacme\nalice\n");
    wd.write(
        "u.csv",
        "email,password\n\
         a@x.com,C0ntos0Blank12\n\
         b@x.com,ContoS0Bl@nkf9!\n\
         c@x.com,Contoso2025!\n\
         d@x.com,P@ssword\n\
         e@x.com,@cme-Acme\n\
         f@x.com,Contozo!\n\
         alice@x.com,Alice7!#\n\
         g@x.com,HotContosoNights\n",
    );
    let run = wd
        .cmd(&[
            "audit",
            "u.csv",
            "--banned",
            "banned.txt",
            "--only",
            "banned,username",
            "--summary",
            "s.json",
        ])
        .run()
        .code(1);
    let row = |a: &str, r: &str, rule: &str| (a.to_string(), r.to_string(), rule.to_string());
    assert_eq!(
        banned_rules(&run),
        [
            // contoso + blank + "l" + "z": 4 points, banned.
            row("a@x.com", "banned", "substring-score"),
            // ContoS0Bl@nkf9!: 5 points, not banned. Contoso2025!: 6 points,
            // but a candidate of the expansion.
            row("c@x.com", "banned", "expansion"),
            row("d@x.com", "banned", "expansion;exact"),
            // acme twice in the score form "acme-acme": 2 points + "-".
            row("e@x.com", "banned", "substring-score"),
            row("f@x.com", "banned", "fuzzy"),
            // The account's own name is the username check's business.
            row("alice@x.com", "username", ""),
        ]
    );
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    let rules = &s["banned_rules"];
    assert_eq!(rules["expansion"], 2);
    assert_eq!(rules["exact"], 1);
    assert_eq!(rules["fuzzy"], 1);
    assert_eq!(rules["substring-score"], 2);
}

#[test]
fn banned_partial_substitutions_in_hashed_exports() {
    let wd = Workdir::new();
    wd.write("banned.txt", "password\nacme\n");
    let passwords = ["P@ssword", "Passw0rd", "P@ssw0rd!", "@cme2024", "P@$$word"];
    let dump: String = passwords
        .iter()
        .enumerate()
        .map(|(i, p)| format!("u{i}:{}\n", nt(p)))
        .collect();
    wd.write("dump.txt", dump);
    let sha: String = passwords
        .iter()
        .enumerate()
        .map(|(i, p)| format!("u{i},{}\n", encode_hex(&sha1(p.as_bytes()))))
        .collect();
    wd.write("sha.csv", format!("user,sha1\n{sha}"));
    for file in ["dump.txt", "sha.csv"] {
        let run = wd
            .cmd(&["audit", file, "--banned", "banned.txt", "--only", "banned"])
            .run()
            .code(1);
        // P@$$word substitutes three letters of password, but not all of
        // them: no candidate is it.
        assert_eq!(run.accounts(), ["u0", "u1", "u2", "u3"], "{file}");
        assert!(run.rows().iter().all(|r| r[10] == "expansion"), "{file}");
    }
}

/// The reset list's `sources` column of every reported row.
fn sources_of(run: &Run) -> Vec<(String, String)> {
    run.rows()
        .into_iter()
        .map(|r| (r[0].clone(), r[4].clone()))
        .collect()
}

#[test]
fn organisation_names_of_a_dump_are_banned_by_default() {
    let wd = Workdir::new();
    // secretsdump lines: DOMAIN\user:RID:LM:NT:::
    let lm = "aad3b435b51404eeaad3b435b51404ee";
    let rows = [
        ("acme.local\\alice", "@cme2024"),
        ("acme.local\\bob", "Summer-Holidays-88"),
        ("ACMECORP\\carol", "Acmecorp2024"),
        ("corp.fabrikam.co.uk\\dave", "Fabrikam!"),
    ];
    let dump: String = rows
        .iter()
        .enumerate()
        .map(|(i, (name, pw))| format!("{name}:{}:{lm}:{}:::\n", 1100 + i, nt(pw)))
        .collect();
    wd.write("ntds.secretsdump", dump);
    let run = wd
        .cmd(&[
            "audit",
            "ntds.secretsdump",
            "--only",
            "banned",
            "--summary",
            "s.json",
        ])
        .run()
        .code(1);
    assert_eq!(
        sources_of(&run),
        [
            (
                "acme.local\\alice".to_string(),
                "export-org-words".to_string()
            ),
            (
                "ACMECORP\\carol".to_string(),
                "export-org-words".to_string()
            ),
            (
                "corp.fabrikam.co.uk\\dave".to_string(),
                "export-org-words".to_string()
            ),
        ]
    );
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(
        s["banned_org_words"]["found"],
        serde_json::json!(["acme", "acmecorp", "fabrikam"])
    );
    assert!(s["notes"].to_string().contains("acme, acmecorp, fabrikam"));

    let off = wd
        .cmd(&[
            "audit",
            "ntds.secretsdump",
            "--only",
            "banned",
            "--no-auto-banned",
            "--summary",
            "off.json",
        ])
        .run()
        .code(0);
    assert!(off.rows().is_empty());
    let s: serde_json::Value = serde_json::from_str(&wd.read("off.json")).unwrap();
    assert_eq!(s["banned_org_words"]["found"], serde_json::json!([]));
}

#[test]
fn frequent_email_domains_are_banned_but_not_mail_providers() {
    let wd = Workdir::new();
    // 200 accounts, so a domain needs 2 (1%): 3 at the company's own
    // domains, 2 at gmail (a public provider), and 195 customers at a
    // domain of their own (0.5% each).
    let mut csv = String::from("email,password\n");
    csv.push_str("ann@acme.com,Acme2024!\n");
    csv.push_str("ben@mail.acme.co.uk,@cme\n");
    csv.push_str("cat@acme.com,correct-horse-battery\n");
    csv.push_str("dan@gmail.com,Gmail2024!\n");
    csv.push_str("eve@gmail.com,another-long-secret\n");
    for i in 0..195 {
        csv.push_str(&format!("c{i}@shop{i}.example,Shop{i}2024!\n"));
    }
    wd.write("u.csv", csv);
    let run = wd
        .cmd(&["audit", "u.csv", "--only", "banned", "--summary", "s.json"])
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["ann@acme.com", "ben@mail.acme.co.uk"]);
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(s["banned_org_words"]["found"], serde_json::json!(["acme"]));
}

#[test]
fn org_names_given_are_normalised_in_plaintext() {
    let wd = Workdir::new();
    // Cantoso is one edit from contoso: no candidate of the expansion, but
    // the plaintext match finds it. Contoso2025! is a candidate.
    wd.write(
        "u.csv",
        "user,password\nann,Cantoso\nben,Contoso2025!\ncat,correct-horse-battery\n",
    );
    let run = wd
        .cmd(&[
            "audit",
            "u.csv",
            "--org",
            "Contoso",
            "--only",
            "banned",
            "--summary",
            "s.json",
        ])
        .run()
        .code(1);
    let row = |a: &str, rule: &str| (a.to_string(), "banned".to_string(), rule.to_string());
    assert_eq!(
        banned_rules(&run),
        [row("ann", "fuzzy"), row("ben", "expansion")]
    );
    assert_eq!(sources_of(&run)[1].1, "org-words");
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(
        s["banned_org_words"]["given"],
        serde_json::json!(["contoso"])
    );
    wd.cmd(&["audit", "u.csv", "--org", "Acme Corp"])
        .run()
        .code(2)
        .says("not one word");
}

#[test]
fn only_exclude_and_fail_on_severity() {
    let wd = Workdir::new();
    wd.write(
        "u.csv",
        "email,password\na@x.com,Xq9!kfz\nb@x.com,password\n",
    );
    let run = wd.cmd(&["audit", "u.csv"]).run().code(1);
    assert_eq!(
        verdicts(&run),
        [v("a@x.com", "short", "low"), v("b@x.com", "pwned", "high")]
    );
    let run = wd.cmd(&["audit", "u.csv", "--only", "short"]).run().code(1);
    assert_eq!(run.accounts(), ["a@x.com"]);
    let run = wd
        .cmd(&["audit", "u.csv", "--exclude", "pwned,short"])
        .run()
        .code(0);
    assert!(run.accounts().is_empty());
    wd.write("short.csv", "email,password\na@x.com,Xq9!kfz\n");
    wd.cmd(&["audit", "short.csv", "--fail-on", "high"])
        .run()
        .code(0);
    wd.cmd(&["audit", "short.csv", "--fail-on", "low"])
        .run()
        .code(1);
    wd.cmd(&["audit", "short.csv", "--fail-on", "short"])
        .run()
        .code(1);
    wd.cmd(&["audit", "short.csv", "--only", "nonsense"])
        .run()
        .code(2);
}

#[test]
fn policy_findings_never_echo_the_password() {
    let wd = Workdir::new();
    let secret = "Canary-Shared-Pw-4417";
    wd.write(
        "u.csv",
        format!("email,password\na@x.com,{secret}\nb@x.com,{secret}\n"),
    );
    let run = wd
        .cmd(&["audit", "u.csv", "--summary", "s.json", "-o", "r.csv"])
        .run()
        .code(1);
    let sha = encode_hex(&sha1(secret.as_bytes()));
    for text in [run.stdout, run.stderr, wd.read("s.json"), wd.read("r.csv")] {
        assert!(
            !text.contains(secret) && !text.contains(&sha) && !text.contains(&sha.to_lowercase())
        );
    }
}
