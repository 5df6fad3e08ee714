//! Benchmark of the banned-word check (`--banned`): 100 organisation words,
//! expanded with mutations, checked against a 100,000-account NTLM export,
//! beside lil-pwny's `--custom-enhance` on the same word list, export and
//! (small) HIBP file, measured in the same run.
//!
//! 1,000 accounts use planted mutations of the words (`Contoso2026!`,
//! `C0nt0$0`, `SUMMER1`, ...). Prints wall time (median of 3, or
//! $CREDAUDIT_BENCH_REPS), peak RSS, matches found by each tool, the
//! expansion size, and the ratio against the target (at least 10x faster).
//!
//! A second pair of exports shows what plaintext matching finds that the
//! expansion cannot: 1,000 planted passwords no candidate is
//! (`MyContoso`, `ContosoParis`, `Cntoso1!`, `!Contoso12`), once as
//! plaintext (normalised and scored: all found) and once as NTLM hashes
//! (expansion only: none found).
//! Data goes to target/bench-data/policy (or $CREDAUDIT_BENCH_DIR/policy).
//!
//! Run: `cargo bench --bench policy` (needs `pip install lil-pwny`; skipped
//! with a message when it is missing).

mod common;

use common::{loadavg, measure, Run};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ACCOUNTS: usize = 100_000;
const PLANTED: usize = 1_000;
const WORDS: [&str; 20] = [
    "contoso",
    "fabrikam",
    "northwind",
    "tailspin",
    "woodgrove",
    "litware",
    "adventure",
    "proseware",
    "summer",
    "winter",
    "spring",
    "autumn",
    "london",
    "paris",
    "berlin",
    "seattle",
    "welcome",
    "password",
    "company",
    "monday",
];

fn data_dir() -> PathBuf {
    std::env::var_os("CREDAUDIT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data"))
        .join("policy")
}

/// 100 words: the 20 bases, and each with a department suffix.
fn words() -> Vec<String> {
    let mut out: Vec<String> = WORDS.iter().map(|w| w.to_string()).collect();
    for suffix in ["it", "hr", "ops", "dev"] {
        out.extend(WORDS.iter().map(|w| format!("{w}{suffix}")));
    }
    out
}

/// A mutation people use, which both tools' rule sets are meant to cover.
fn planted(i: usize, words: &[String]) -> String {
    let w = &words[i % words.len()];
    let mut cap = w.clone();
    cap[..1].make_ascii_uppercase();
    match i % 4 {
        0 => format!("{cap}2025!"),
        1 => format!("{cap}123"),
        2 => format!("{w}2024"),
        _ => format!("{cap}1!"),
    }
}

/// A form of a word that no expansion candidate is, but that normalising
/// and scoring bans: a word after letters, two words, one letter dropped,
/// a leading symbol.
fn beyond_expansion(i: usize, words: &[String]) -> String {
    let w = &words[i % words.len()];
    let other = &words[(i + 7) % words.len()];
    let cap = |s: &str| {
        let mut c = s.to_string();
        c[..1].make_ascii_uppercase();
        c
    };
    match i % 4 {
        0 => format!("My{}", cap(w)),
        1 => format!("{}{}", cap(w), cap(other)),
        2 => format!("{}{}1!", &w[..1], &w[2..]),
        _ => format!("!{}12", cap(w)),
    }
}

fn nt(password: &str) -> String {
    credaudit::hash::encode_hex(&credaudit::hash::ntlm(password.as_bytes()).expect("ASCII"))
}

fn generate(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let words = words();
    fs::write(dir.join("words.txt"), words.join("\n") + "\n")?;
    let mut export = io::BufWriter::new(fs::File::create(dir.join("export.txt"))?);
    for i in 0..ACCOUNTS {
        let password = if i % (ACCOUNTS / PLANTED) == 0 {
            planted(i / (ACCOUNTS / PLANTED), &words)
        } else {
            format!("Unrelated-{i:06}-Xq")
        };
        writeln!(export, "user{i}:{}", nt(&password))?;
    }
    export.flush()?;
    let mut plain = io::BufWriter::new(fs::File::create(dir.join("plain.csv"))?);
    let mut hashed = io::BufWriter::new(fs::File::create(dir.join("plain-ntlm.txt"))?);
    writeln!(plain, "user,password")?;
    for i in 0..ACCOUNTS {
        let password = if i % (ACCOUNTS / PLANTED) == 0 {
            beyond_expansion(i / (ACCOUNTS / PLANTED), &words)
        } else {
            format!("Unrelated-{i:06}-Xq")
        };
        writeln!(plain, "user{i},{password}")?;
        writeln!(hashed, "user{i}:{}", nt(&password))?;
    }
    plain.flush()?;
    hashed.flush()?;
    // lil-pwny needs a HIBP file: a small sorted NTLM one, given to both.
    let mut hibp: Vec<String> = (0..1000)
        .map(|i| format!("{}:{}", nt(&format!("hibp-{i}")), i + 1))
        .collect();
    hibp.sort();
    fs::write(dir.join("hibp-ntlm-small.txt"), hibp.join("\r\n") + "\r\n")
}

fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by_key(|r| r.wall);
    let mid = runs.len() / 2;
    runs.swap_remove(mid)
}

fn main() -> io::Result<()> {
    let dir = data_dir();
    generate(&dir)?;
    let reps: usize = std::env::var("CREDAUDIT_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let bin = env!("CARGO_BIN_EXE_credaudit");
    let mut ours = Vec::new();
    let summary = dir.join("summary.json");
    for _ in 0..reps {
        let mut cmd = Command::new(bin);
        cmd.args(["audit", "--quiet", "--only", "banned", "--banned"])
            .arg(dir.join("words.txt"))
            .arg("--corpus")
            .arg(dir.join("hibp-ntlm-small.txt"))
            .arg("--summary")
            .arg(&summary)
            .arg(dir.join("export.txt"))
            .stdout(Stdio::null());
        println!("  $ {cmd:?}  [load {}]", loadavg());
        ours.push(measure(&mut cmd)?);
    }
    let s: serde_json::Value = serde_json::from_str(&fs::read_to_string(&summary)?)?;
    let our_hits = s["accounts_flagged"]["banned"].as_u64().unwrap_or(0);
    let banned = s["sources"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["kind"] == "banned-words"))
        .cloned();
    let expansion = banned
        .as_ref()
        .and_then(|b| b["entries"].as_u64())
        .unwrap_or(0);
    let ours = median(ours);
    let beyond = |export: &str| -> io::Result<(Run, u64)> {
        let mut runs = Vec::new();
        for _ in 0..reps {
            let mut cmd = Command::new(bin);
            cmd.args(["audit", "--quiet", "--only", "banned", "--banned"])
                .arg(dir.join("words.txt"))
                .arg("--summary")
                .arg(&summary)
                .arg(dir.join(export))
                .stdout(Stdio::null());
            println!("  $ {cmd:?}  [load {}]", loadavg());
            runs.push(measure(&mut cmd)?);
        }
        let s: serde_json::Value = serde_json::from_str(&fs::read_to_string(&summary)?)?;
        Ok((
            median(runs),
            s["accounts_flagged"]["banned"].as_u64().unwrap_or(0),
        ))
    };
    let (plain_run, plain_hits) = beyond("plain.csv")?;
    let (hashed_run, hashed_hits) = beyond("plain-ntlm.txt")?;

    let lil = Command::new("lil-pwny")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let theirs = if lil.is_ok() {
        let mut runs = Vec::new();
        let out = dir.join("lil-pwny.json");
        for _ in 0..reps {
            let mut cmd = Command::new("lil-pwny");
            cmd.arg("-hibp")
                .arg(dir.join("hibp-ntlm-small.txt"))
                .arg("-ad")
                .arg(dir.join("export.txt"))
                .arg("-c")
                .arg(dir.join("words.txt"))
                .args(["-custom-enhance", "6", "-output", "json"])
                .env("TMPDIR", &dir)
                .stdout(fs::File::create(&out)?)
                .stderr(Stdio::null());
            println!("  $ {cmd:?}  [load {}]", loadavg());
            runs.push(measure(&mut cmd)?);
        }
        let text = fs::read_to_string(&out)?;
        let hits = text
            .lines()
            .filter(|l| l.contains("\"match_type\": \"custom\""))
            .count();
        Some((median(runs), hits))
    } else {
        println!("  lil-pwny not found (pip install lil-pwny): baseline skipped");
        None
    };

    println!("\n| tool | wall s (median of {reps}) | peak RSS MiB | banned-word matches (planted {PLANTED}) |");
    println!("|---|---|---|---|");
    println!(
        "| credaudit --banned | {:.2} | {:.0} | {our_hits} (expansion: {} words to {expansion} candidates) |",
        ours.wall.as_secs_f64(),
        ours.rss as f64 / 1048576.0,
        words().len()
    );
    println!(
        "| credaudit --banned, plaintext (normalise and score + expansion), forms beyond the expansion | {:.2} | {:.0} | {plain_hits} |",
        plain_run.wall.as_secs_f64(),
        plain_run.rss as f64 / 1048576.0
    );
    println!(
        "| credaudit --banned, the same passwords as NTLM (expansion only) | {:.2} | {:.0} | {hashed_hits} |",
        hashed_run.wall.as_secs_f64(),
        hashed_run.rss as f64 / 1048576.0
    );
    if let Some((run, hits)) = &theirs {
        println!(
            "| lil-pwny -c -custom-enhance 6 | {:.2} | {:.0} | {hits} |",
            run.wall.as_secs_f64(),
            run.rss as f64 / 1048576.0
        );
        let ratio = run.wall.as_secs_f64() / ours.wall.as_secs_f64();
        println!(
            "\nratio {ratio:.1}x (target >= 10x): {}",
            if ratio >= 10.0 { "PASS" } else { "FAIL" }
        );
    }
    println!(
        "plaintext forms beyond the expansion found: {}",
        if plain_hits == PLANTED as u64 {
            "PASS"
        } else {
            "FAIL"
        }
    );
    println!(
        "all planted found by credaudit: {}",
        if our_hits == PLANTED as u64 {
            "PASS"
        } else {
            "FAIL"
        }
    );
    Ok(())
}
