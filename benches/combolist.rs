//! Benchmark of leaked-pair checking (`--combolist`): a 10-million-line
//! combolist against a 1-million-account export of mixed stored-hash
//! schemes, where 1,000 lines match accounts whose hashes are bcrypt cost 10
//! (500 with the account's current password, 500 with another one).
//!
//! Prints join throughput (lines/s), slow verifications/s beside a
//! single-threaded baseline measured in this run, wall time and peak RSS,
//! and checks linearity (5M vs 10M lines) and that the number of slow
//! verifications equals the matched pairs. Baseline for the join: coreutils
//! `sort | join` on the identity field of the same files.
//!
//! Data is generated into target/bench-data/combolist (or
//! $CREDAUDIT_BENCH_DIR/combolist) and reused. Non-matching accounts carry
//! real hash strings of every scheme taken from fixtures/hashes/reference.csv
//! (reused across accounts: they are never verified, only joined against).
//!
//! Run: `cargo bench --bench combolist`.

mod common;

use common::{loadavg, measure, Run};
use rayon::prelude::*;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const ACCOUNTS: u64 = 1_000_000;
const LINES: u64 = 10_000_000;
const MATCHES: u64 = 1_000;
const BCRYPT_COST: u32 = 10;

fn data_dir() -> PathBuf {
    let base = std::env::var_os("CREDAUDIT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data"));
    base.join("combolist")
}

/// The account that the k-th matching line names.
fn matched_account(k: u64) -> u64 {
    k * (ACCOUNTS / MATCHES)
}

/// The password leaked for the k-th matching account; for odd k the
/// account's current password differs from it.
fn leaked_password(k: u64) -> String {
    format!("Leaked-Pass-{k:04}!")
}

fn current_password(k: u64) -> String {
    if k.is_multiple_of(2) {
        leaked_password(k)
    } else {
        format!("Changed-Since-{k:04}")
    }
}

/// One real hash string per scheme from the reference fixtures.
fn scheme_pool() -> Vec<String> {
    let mut reader = csv::Reader::from_path(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hashes/reference.csv"),
    )
    .expect("fixtures/hashes/reference.csv");
    let mut pool: Vec<(String, String)> = Vec::new();
    for r in reader.records() {
        let r = r.expect("reference row");
        if !pool.iter().any(|(s, _)| s == &r[0]) {
            pool.push((r[0].to_string(), r[2].to_string()));
        }
    }
    pool.into_iter().map(|(_, h)| h).collect()
}

/// Write `path` via a temporary name, so an interrupted run regenerates it.
fn ensure(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    let started = Instant::now();
    let tmp = path.with_extension("tmp");
    let mut out = BufWriter::with_capacity(8 << 20, File::create(&tmp)?);
    write(&mut out)?;
    out.flush()?;
    drop(out);
    fs::rename(&tmp, path)?;
    println!(
        "  generated {} in {:.1} s",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn generate_export(path: &Path) -> io::Result<()> {
    ensure(path, |out| {
        let pool = scheme_pool();
        let bcrypts: Vec<String> = (0..MATCHES)
            .into_par_iter()
            .map(|k| bcrypt::hash(current_password(k), BCRYPT_COST).expect("bcrypt hash"))
            .collect();
        writeln!(out, "email,password_hash")?;
        for i in 0..ACCOUNTS {
            let hash = if i % (ACCOUNTS / MATCHES) == 0 {
                &bcrypts[(i / (ACCOUNTS / MATCHES)) as usize]
            } else {
                &pool[(i % pool.len() as u64) as usize]
            };
            writeln!(out, "user{i}@corp.example,{}", csv_cell(hash))?;
        }
        Ok(())
    })
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `lines` combolist lines; every (lines / MATCHES)-th names an account.
fn generate_combolist(path: &Path, lines: u64) -> io::Result<()> {
    ensure(path, |out| {
        let every = lines / MATCHES;
        for j in 0..lines {
            if j % every == every / 2 && j / every < MATCHES {
                let k = j / every;
                writeln!(
                    out,
                    "user{}@corp.example:{}",
                    matched_account(k),
                    leaked_password(k)
                )?;
            } else {
                match j % 5 {
                    0 => writeln!(out, "leaker{j}@mail.example:pw-{j}")?,
                    1 => writeln!(out, "leaker{j}@mail.example;pw;{j}")?,
                    2 => writeln!(out, "leaker{j}|pw|{j}")?,
                    3 => writeln!(out, "https://site{}.example/login:leaker{j}:pw{j}", j % 97)?,
                    _ => writeln!(out, "leaker{j}@mail.example\tpw {j}")?,
                }
            }
        }
        Ok(())
    })
}

struct Measured {
    run: Run,
    summary: serde_json::Value,
}

fn run_credaudit(
    bin: &Path,
    dir: &Path,
    export: &Path,
    combo: &Path,
    tag: &str,
) -> io::Result<Measured> {
    let summary = dir.join(format!("{tag}-summary.json"));
    let mut cmd = Command::new(bin);
    cmd.args([
        "audit",
        "--quiet",
        "--only",
        "pair-leaked,account-in-leak",
        "--combolist",
    ])
    .arg(combo)
    .arg(export)
    .arg("-o")
    .arg(dir.join(format!("{tag}-reset.csv")))
    .arg("--summary")
    .arg(&summary)
    .stdout(Stdio::null());
    println!("  $ {cmd:?}  [load {}]", loadavg());
    let run = measure(&mut cmd)?;
    let summary: serde_json::Value = serde_json::from_str(&fs::read_to_string(&summary)?)?;
    Ok(Measured { run, summary })
}

fn main() -> io::Result<()> {
    let dir = data_dir();
    fs::create_dir_all(&dir)?;
    println!("combolist benchmark: {ACCOUNTS} accounts, {MATCHES} matching lines, bcrypt cost {BCRYPT_COST}");
    let export = dir.join("export-1m.csv");
    let combo10 = dir.join("combo-10m.txt");
    let combo5 = dir.join("combo-5m.txt");
    generate_export(&export)?;
    generate_combolist(&combo10, LINES)?;
    generate_combolist(&combo5, LINES / 2)?;
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_credaudit"));

    println!("\n[credaudit, 10M lines]");
    let ten = run_credaudit(&bin, &dir, &export, &combo10, "ten")?;
    println!("[credaudit, 5M lines]");
    let five = run_credaudit(&bin, &dir, &export, &combo5, "five")?;

    println!("[baseline: sort | join on the identity, 10M lines]");
    let mut join = Command::new("bash");
    join.arg("-c")
        .arg(format!(
            "LC_ALL=C sort -t: -k1,1 {c} | LC_ALL=C join -t: - <(tail -n +2 {e} | tr , : | LC_ALL=C sort -t: -k1,1) | wc -l",
            c = combo10.display(),
            e = export.display()
        ))
        .stdout(Stdio::null());
    println!("  $ {join:?}");
    let baseline = measure(&mut join)?;

    println!("[baseline: one bcrypt cost {BCRYPT_COST} verification at a time, in-process]");
    let sample = bcrypt::hash("baseline-password", BCRYPT_COST).expect("bcrypt");
    let started = Instant::now();
    let single = 20;
    for _ in 0..single {
        assert!(credaudit::verify::verify(sample.as_bytes(), b"baseline-password") == Ok(true));
    }
    let single_rate = single as f64 / started.elapsed().as_secs_f64();

    let c = &ten.summary["combolist"];
    let c5 = &five.summary["combolist"];
    let num = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let join_rate = num(&c["lines_read"]) as f64 / (num(&c["join_ms"]).max(1) as f64 / 1000.0);
    let verify_rate =
        num(&c["slow_verifications"]) as f64 / (num(&c["verify_ms"]).max(1) as f64 / 1000.0);
    let linearity = num(&c["join_ms"]) as f64 / num(&c5["join_ms"]).max(1) as f64;
    println!("\n| measure | value |");
    println!("|---|---|");
    println!(
        "| combolist lines read (10M run) | {} |",
        num(&c["lines_read"])
    );
    println!(
        "| matched pairs / slow verifications | {} / {} |",
        num(&c["pairs_checked"]),
        num(&c["slow_verifications"])
    );
    println!("| verified (pair-leaked) | {} |", num(&c["pairs_verified"]));
    println!(
        "| join throughput | {:.2} M lines/s ({} ms) |",
        join_rate / 1e6,
        num(&c["join_ms"])
    );
    println!("| join time 10M / 5M lines | {linearity:.2} (linear = 2.0) |");
    println!("| slow verifications/s, parallel | {verify_rate:.1} |");
    println!(
        "| slow verifications/s, one at a time (baseline) | {single_rate:.1} (ratio {:.2}x) |",
        verify_rate / single_rate
    );
    println!(
        "| credaudit wall / peak RSS (10M) | {:.2} s / {:.0} MiB |",
        ten.run.wall.as_secs_f64(),
        ten.run.rss as f64 / 1048576.0
    );
    println!(
        "| credaudit wall / peak RSS (5M) | {:.2} s / {:.0} MiB |",
        five.run.wall.as_secs_f64(),
        five.run.rss as f64 / 1048576.0
    );
    println!(
        "| baseline sort|join wall / peak RSS (10M, join only) | {:.2} s / {:.0} MiB |",
        baseline.wall.as_secs_f64(),
        baseline.rss as f64 / 1048576.0
    );
    let ok = num(&c["slow_verifications"]) == MATCHES && num(&c["pairs_verified"]) == MATCHES / 2;
    println!(
        "\nslow verifications equal the matched pairs and half verify: {}",
        if ok { "PASS" } else { "FAIL" }
    );
    Ok(())
}
