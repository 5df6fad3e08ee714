//! `audit --shard K/N` and `credaudit merge` (issue 14): N shards merged give
//! byte for byte the reset list of one unsharded run and the same summary
//! counts, with corpora, policy (banned words, admins, shared groups),
//! NTDS attachments, rejected rows and combolists (plaintext and salted
//! stored hashes) all in play; `--shard auto/N` reads the Kubernetes and
//! Slurm variables; and every way a merge can go wrong is exit 2 with a
//! message naming it.
mod common;
use common::*;
use serde_json::Value;
use std::path::PathBuf;

/// A salted export and a combolist for it, written from the known answers
/// of `fixtures/hashes/reference.csv`: every account's right password is
/// leaked (pair-leaked) and, for every other account, a wrong one too
/// (account-in-leak).
fn write_salted(wd: &Workdir) -> (PathBuf, PathBuf) {
    let mut reader = csv::Reader::from_path(fixture("hashes/reference.csv")).unwrap();
    let mut export = csv::Writer::from_writer(Vec::new());
    export.write_record(["email", "password_hash"]).unwrap();
    let mut leak = String::new();
    let mut n = 0;
    for row in reader.records() {
        let row = row.unwrap();
        let (scheme, password, hash, right) = (&row[0], &row[1], &row[2], &row[3]);
        let cheap = ["bcrypt", "argon2", "scrypt", "pbkdf2"].contains(&scheme);
        if right != "true" || !cheap || password.contains('\n') || n >= 16 {
            continue;
        }
        let account = format!("user{n}@salted.example");
        export.write_record([account.as_str(), hash]).unwrap();
        leak.push_str(&format!("{account}:{password}\n"));
        if n % 2 == 1 {
            leak.push_str(&format!("{account}:not-the-password-{n}\n"));
        }
        n += 1;
    }
    assert_eq!(n, 16, "reference.csv has enough cheap verified hashes");
    let export = wd.write("salted.csv", export.into_inner().unwrap());
    let leak = wd.write("salted-leak.txt", leak);
    (export, leak)
}

/// The shard of a plaintext under 4 shards when NTLM exports are in the
/// run, by the documented rule: the NTLM hash's first 8 bytes,
/// little-endian, modulo N.
fn shard_of(password: &str) -> u64 {
    let nt = credaudit::hash::ntlm(password.as_bytes()).unwrap();
    u64::from_le_bytes(nt[..8].try_into().unwrap()) % 4
}

/// An export naming `jdoe@gmail.com` exactly, in another shard than both
/// bare `jdoe` accounts (`CONTOSO\jdoe` of users-for-combolist.csv, and
/// `acme.local\jdoe` of the NTDS dump, whose NT hash starts 9b: shard 3).
/// One run joins the leaked `jdoe@gmail.com` to it alone (the best tier
/// wins), so the shards of the bare names must not join it by local part.
fn write_exact_jdoe(wd: &Workdir) -> PathBuf {
    let taken = [shard_of("Winter-Sky-71"), 3];
    let password = (0..)
        .map(|i| format!("Gmail-Side-{i}"))
        .find(|p| !taken.contains(&shard_of(p)))
        .unwrap();
    wd.write(
        "exact-jdoe.csv",
        format!("email,password\njdoe@gmail.com,{password}\n"),
    )
}

/// Arguments of an audit with everything on: plaintext, NTDS (history, keys,
/// cleartext), plaintext for the combolist, rejected rows, a salted export;
/// SHA-1 and NTLM corpora, banned words, admins, two combolists.
fn everything(wd: &Workdir) -> Vec<String> {
    let (salted, salted_leak) = write_salted(wd);
    let exact_jdoe = write_exact_jdoe(wd);
    wd.write("admins.txt", "administrator\nacme.local\\svc_backup\n");
    let f = |rel: &str| fixture(rel).display().to_string();
    vec![
        f("exports/users.csv"),
        f("exports/ntds-findings.secretsdump"),
        f("exports/users-for-combolist.csv"),
        f("exports/bad-rows.csv"),
        salted.display().to_string(),
        exact_jdoe.display().to_string(),
        "--corpus".into(),
        f("hibp/sha1-sample.txt"),
        "--corpus".into(),
        f("hibp/ntlm-sample.txt"),
        "--banned".into(),
        f("wordlists/banned.txt"),
        "--admins".into(),
        "admins.txt".into(),
        "--combolist".into(),
        f("combolists/leak.txt"),
        "--combolist".into(),
        salted_leak.display().to_string(),
        "--include-history".into(),
        "--quiet".into(),
    ]
}

/// A quick audit: plaintext and an NTDS dump against both corpora.
fn quick() -> Vec<String> {
    let f = |rel: &str| fixture(rel).display().to_string();
    vec![
        f("exports/users.csv"),
        f("exports/ntds-findings.secretsdump"),
        f("exports/bad-rows.csv"),
        "--corpus".into(),
        f("hibp/sha1-sample.txt"),
        "--corpus".into(),
        f("hibp/ntlm-sample.txt"),
        "--quiet".into(),
    ]
}

fn audit(wd: &Workdir, args: &[String], extra: &[&str]) -> Run {
    let mut all: Vec<&str> = vec!["audit"];
    all.extend(args.iter().map(String::as_str));
    all.extend(extra);
    wd.cmd(&all).run()
}

/// Run shards 0..n as `{prefix}{k}.csv` / `{prefix}{k}.json`; their exit
/// codes.
fn shards(wd: &Workdir, args: &[String], n: u32, prefix: &str) -> Vec<i32> {
    (0..n)
        .map(|k| {
            let (csv, json) = (format!("{prefix}{k}.csv"), format!("{prefix}{k}.json"));
            let shard = format!("{k}/{n}");
            let run = audit(
                wd,
                args,
                &["--shard", &shard, "-o", &csv, "--summary", &json],
            );
            assert!([0, 1, 3].contains(&run.code), "shard {k}: {}", run.stderr);
            run.code
        })
        .collect()
}

fn merge(wd: &Workdir, summaries: &[&str]) -> Run {
    let mut args = vec!["merge", "--out", "merged.csv", "--summary", "merged.json"];
    args.extend(summaries);
    wd.cmd(&args).run()
}

fn json(wd: &Workdir, rel: &str) -> Value {
    serde_json::from_str(&wd.read(rel)).unwrap()
}

fn summaries(n: u32, prefix: &str) -> Vec<String> {
    (0..n).map(|k| format!("{prefix}{k}.json")).collect()
}

/// Fields that differ between a merged and an unsharded summary, and why:
/// timings (other processes, other moments); the memory budget (free memory
/// then and there; the merge keeps the smallest); how a corpus was verified
/// (the first run of a file makes the full pass, later ones use its stamp);
/// per lookup the method (chosen by query density, which a shard thins),
/// lines read (every shard reads the corpus) and duration; `merged`, which
/// only a merge writes.
fn differs_by_design(path: &str) -> bool {
    let generic: String = path
        .split('.')
        .map(|p| if p.parse::<usize>().is_ok() { "*" } else { p })
        .collect::<Vec<_>>()
        .join(".");
    generic.starts_with("durations_ms")
        || [
            "combolist.join_ms",
            "combolist.verify_ms",
            "combolist.duration_ms",
            "combolist.verify_memory_budget",
            "sources.*.corpus.verification",
            "sources.*.lookups.*.method",
            "sources.*.lookups.*.lines_read",
            "sources.*.lookups.*.duration_ms",
            "merged",
        ]
        .contains(&generic.as_str())
}

/// Paths where `a` and `b` differ, other than [`differs_by_design`].
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    if differs_by_design(path) {
        return;
    }
    let at = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let null = Value::Null;
                let (u, v) = (x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null));
                differences(u, v, &at(k), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                differences(u, v, &at(&i.to_string()), out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

#[test]
fn four_shards_merge_into_the_unsharded_reports() {
    let wd = Workdir::new();
    let args = everything(&wd);
    let whole = audit(&wd, &args, &["-o", "whole.csv", "--summary", "whole.json"]);
    // Rows of bad-rows.csv are rejected: incomplete, whatever else is found.
    assert_eq!(whole.code, 3, "{}", whole.stderr);
    let codes = shards(&wd, &args, 4, "s");
    let names = summaries(4, "s");
    let run = merge(&wd, &names.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.code, 3, "{}", run.stderr);
    // Shard 0 counts the rejected rows, so it alone is incomplete.
    assert_eq!(codes[0], 3);
    assert!(codes[1..].iter().all(|&c| c == 1), "{codes:?}");

    let merged = wd.read("merged.csv");
    assert_eq!(
        merged,
        wd.read("whole.csv"),
        "byte for byte the unsharded list"
    );
    let rows = parse_csv(&merged);
    assert!(rows.len() > 30, "a real report: {} rows", rows.len());
    let jdoes: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r[0].contains("jdoe"))
        .map(|r| (r[0].as_str(), r[9].as_str()))
        .collect();
    assert_eq!(
        jdoes,
        [("acme.local\\jdoe", ""), ("jdoe@gmail.com", "exact")],
        "jdoe@gmail.com is leaked by name: the bare jdoes are no match"
    );
    for reason in [
        "pair-leaked",
        "pwned",
        "shared",
        "privileged-shared",
        "banned",
        "reversible",
        "history-pwned",
        "no-aes-keys",
    ] {
        assert!(
            rows.iter().any(|r| r[2].split(';').any(|x| x == reason)),
            "the fixture exercises {reason}"
        );
    }
    // The rows really were spread: several shards listed some.
    let listed: Vec<usize> = (0..4)
        .map(|k| parse_csv(&wd.read(&format!("s{k}.csv"))).len())
        .collect();
    assert!(listed.iter().filter(|&&n| n > 0).count() >= 3, "{listed:?}");
    assert_eq!(listed.iter().sum::<usize>(), rows.len());

    let (whole, merged) = (json(&wd, "whole.json"), json(&wd, "merged.json"));
    let mut diff = Vec::new();
    differences(&whole, &merged, "", &mut diff);
    assert!(diff.is_empty(), "merged summary differs: {diff:#?}");
    assert_eq!(merged["merged"]["shards"], 4);
    assert_eq!(merged["exit_code"], 3);
    assert!(merged["shared_groups"].as_array().unwrap().len() >= 2);

    // Each shard read every row and says where the others went.
    for k in 0..4 {
        let s = json(&wd, &format!("s{k}.json"));
        assert_eq!(s["rows_read"], whole["rows_read"]);
        let n = |v: &Value| v.as_u64().or(v["total"].as_u64()).unwrap();
        let parts = n(&s["accounts_checked"])
            + n(&s["rows_rejected"])
            + n(&s["rows_skipped"])
            + n(&s["shard"]["rows_other_shards"]);
        assert_eq!(parts, n(&s["rows_read"]), "shard {k} adds up");
        assert_eq!(s["shard"]["index"], k);
        if k > 0 {
            assert_eq!(
                n(&s["rows_rejected"]),
                0,
                "only shard 0 counts rejected rows"
            );
        }
    }
    use std::os::unix::fs::PermissionsExt;
    for out in ["merged.csv", "merged.json"] {
        let mode = std::fs::metadata(wd.path(out))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{out}");
    }
}

#[test]
fn exit_codes_combine_like_one_run() {
    // Plaintext only, pwned findings only: some shards find nothing (0),
    // others something (1); the merge says 1, as one run does.
    let wd = Workdir::new();
    let args: Vec<String> = vec![
        fixture("exports/users.csv").display().to_string(),
        "--corpus".into(),
        fixture("hibp/sha1-sample.txt").display().to_string(),
        "--only".into(),
        "pwned".into(),
        "-q".into(),
    ];
    audit(&wd, &args, &["-o", "whole.csv"]).code(1);
    let codes = shards(&wd, &args, 8, "s");
    assert!(codes.contains(&0) && codes.contains(&1), "{codes:?}");
    let names = summaries(8, "s");
    merge(&wd, &names.iter().map(String::as_str).collect::<Vec<_>>()).code(1);
    assert_eq!(wd.read("merged.csv"), wd.read("whole.csv"));
}

#[test]
fn shard_auto_reads_kubernetes_and_slurm() {
    let wd = Workdir::new();
    let args = quick();
    shards(&wd, &args, 4, "s");
    let auto = |k8s: Option<&str>, slurm: Option<(&str, &str)>, out: &str| {
        let mut all: Vec<String> = vec!["audit".into()];
        all.extend(args.iter().cloned());
        for a in [
            "--shard",
            "auto/4",
            "-o",
            &format!("{out}.csv"),
            "--summary",
            &format!("{out}.json"),
        ] {
            all.push(a.into());
        }
        let mut cmd = wd
            .cmd(&all.iter().map(String::as_str).collect::<Vec<_>>())
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("SLURM_ARRAY_TASK_MIN");
        if let Some(k) = k8s {
            cmd = cmd.env("JOB_COMPLETION_INDEX", k);
        }
        if let Some((id, min)) = slurm {
            cmd = cmd
                .env("SLURM_ARRAY_TASK_ID", id)
                .env("SLURM_ARRAY_TASK_MIN", min);
        }
        cmd.run()
    };
    assert_ne!(auto(Some("2"), None, "k8s").code, 2);
    assert_eq!(json(&wd, "k8s.json")["shard"]["index"], 2);
    assert_eq!(wd.read("k8s.csv"), wd.read("s2.csv"));
    // An array --array=5-8: task 7 is the third, shard 2.
    assert_ne!(auto(None, Some(("7", "5")), "slurm").code, 2);
    assert_eq!(json(&wd, "slurm.json")["shard"]["index"], 2);
    assert_eq!(wd.read("slurm.csv"), wd.read("s2.csv"));
    // The auto shard is the same run as the explicit ones.
    merge(&wd, &["s0.json", "s1.json", "slurm.json", "s3.json"]).code(3);

    auto(None, None, "none")
        .code(2)
        .says("JOB_COMPLETION_INDEX");
    auto(None, Some(("9", "5")), "beyond")
        .code(2)
        .says("below N");
    assert!(!wd.path("none.csv").exists());
}

#[test]
fn shard_needs_both_reports_and_a_sane_k_of_n() {
    let wd = Workdir::new();
    let args = quick();
    audit(&wd, &args, &["--shard", "0/2", "--summary", "s.json"])
        .code(2)
        .says("--shard needs -o FILE and --summary FILE");
    audit(
        &wd,
        &args,
        &["--shard", "2/2", "-o", "r.csv", "--summary", "s.json"],
    )
    .code(2)
    .says("must be below N");
}

/// Four shards of the quick audit, as `s0.json`..`s3.json`.
fn four_shards() -> Workdir {
    let wd = Workdir::new();
    shards(&wd, &quick(), 4, "s");
    merge(&wd, &["s0.json", "s1.json", "s2.json", "s3.json"]).code(3);
    std::fs::remove_file(wd.path("merged.csv")).unwrap();
    wd
}

/// A failed merge: exit 2, the message, and no report left behind.
fn refused(wd: &Workdir, summaries: &[&str], message: &str) {
    merge(wd, summaries).code(2).says(message);
    assert!(!wd.path("merged.csv").exists());
}

#[test]
fn merge_refuses_a_missing_shard() {
    let wd = four_shards();
    refused(
        &wd,
        &["s0.json", "s1.json", "s3.json"],
        "missing shard 2 of 4",
    );
    refused(&wd, &["s3.json"], "missing shards 0, 1, 2 of 4");
}

#[test]
fn merge_refuses_a_shard_of_another_run() {
    let wd = four_shards();
    let mut other = quick();
    other.extend(["--min-length".to_string(), "12".to_string()]);
    audit(
        &wd,
        &other,
        &["--shard", "1/4", "-o", "o1.csv", "--summary", "o1.json"],
    );
    refused(
        &wd,
        &["s0.json", "o1.json", "s2.json", "s3.json"],
        "from another run",
    );
    // So is a shard of an audit of changed inputs.
    let export = wd.write(
        "users.csv",
        std::fs::read(fixture("exports/users.csv")).unwrap(),
    );
    let mut args = quick();
    args[0] = export.display().to_string();
    shards(&wd, &args, 2, "a");
    wd.write("users.csv", "email,password\nalice@example.com,password\n");
    audit(
        &wd,
        &args,
        &["--shard", "1/2", "-o", "b1.csv", "--summary", "b1.json"],
    );
    refused(&wd, &["a0.json", "b1.json"], "from another run");
    // And one cut into another number of shards.
    refused(&wd, &["s0.json", "a1.json"], "not shards of one run");
}

#[test]
fn merge_refuses_a_shard_given_twice() {
    let wd = four_shards();
    std::fs::copy(wd.path("s1.json"), wd.path("copy-of-s1.json")).unwrap();
    refused(
        &wd,
        &[
            "s0.json",
            "s1.json",
            "copy-of-s1.json",
            "s2.json",
            "s3.json",
        ],
        "shard 1 given twice",
    );
}

#[test]
fn merge_refuses_a_reset_list_that_changed() {
    let wd = four_shards();
    let listed = (0..4)
        .find(|k| !parse_csv(&wd.read(&format!("s{k}.csv"))).is_empty())
        .unwrap();
    let path = format!("s{listed}.csv");
    let text = wd.read(&path);
    let cut: Vec<&str> = text.lines().collect();
    wd.write(&path, cut[..cut.len() - 1].join("\n") + "\n");
    refused(
        &wd,
        &["s0.json", "s1.json", "s2.json", "s3.json"],
        &format!("{path} does not match its summary"),
    );
    std::fs::remove_file(wd.path(&path)).unwrap();
    refused(
        &wd,
        &["s0.json", "s1.json", "s2.json", "s3.json"],
        "its reset list is missing",
    );
}

#[test]
fn merge_finds_reset_lists_collected_beside_their_summaries() {
    let wd = four_shards();
    std::fs::create_dir(wd.path("collected")).unwrap();
    for k in 0..4 {
        for ext in ["csv", "json"] {
            let name = format!("s{k}.{ext}");
            std::fs::rename(wd.path(&name), wd.path(&format!("collected/{name}"))).unwrap();
        }
    }
    merge(
        &wd,
        &[
            "collected/s0.json",
            "collected/s1.json",
            "collected/s2.json",
            "collected/s3.json",
        ],
    )
    .code(3);
}

#[test]
fn merge_refuses_shards_whose_per_input_counters_differ() {
    let wd = four_shards();
    let mut s2 = json(&wd, "s2.json");
    let read = s2["rows_read"].as_u64().unwrap();
    s2["rows_read"] = (read + 1).into();
    s2["shard"]["rows_other_shards"] =
        (s2["shard"]["rows_other_shards"].as_u64().unwrap() + 1).into();
    wd.write("s2.json", serde_json::to_vec(&s2).unwrap());
    refused(
        &wd,
        &["s0.json", "s1.json", "s2.json", "s3.json"],
        &format!("differ in rows_read ({} vs {read})", read + 1),
    );
}

#[test]
fn merge_refuses_a_summary_that_is_no_shards() {
    let wd = four_shards();
    audit(
        &wd,
        &quick(),
        &["-o", "whole.csv", "--summary", "whole.json"],
    )
    .code(3);
    refused(
        &wd,
        &["whole.json", "s1.json"],
        "not the summary of a --shard run",
    );
}
