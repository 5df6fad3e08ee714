//! Amazon-size exports on one box (issue 14): 100M plaintext accounts
//! against the store compiled from a billion-line SHA-1 corpus, on this
//! machine, with the time of each phase and the peak anonymous memory
//! (RssAnon: the process's own heap, the store's mapped pages excluded).
//!
//! Run with `cargo bench --bench onebox` (about 25 minutes the first time,
//! of which 10 build the store; `CREDAUDIT_BENCH_KEEP=1` keeps the store and
//! the export for the next run). The program:
//!
//! 1. builds the store by piping a generated sorted corpus of
//!    `CREDAUDIT_ONEBOX_LINES` lines (default 1e9, merged with the hashes of
//!    the 32,000 popular leaked passwords) into `index build -`: the text is
//!    never written (it would be 44 GB);
//! 2. streams the export of `CREDAUDIT_ONEBOX_ACCOUNTS` accounts (default
//!    100M, about 4 GB): `email,password`, a fifth of them on the popular
//!    leaked passwords (Zipf-like, so shared-password groups run from
//!    hundreds of thousands of members down to a few), the rest unique;
//! 3. runs `credaudit audit EXPORT --corpus STORE` `CREDAUDIT_BENCH_REPS`
//!    times (default 1), warm, sampling the child's RssAnon every 20 ms,
//!    and checks every answer: exit 1, every account checked, exactly the
//!    popular fifth flagged `pwned`;
//! 4. in the same run, times the floor of reading the export (`cat` to
//!    /dev/null) and, when `CREDAUDIT_ONEBOX_BASELINE` names another
//!    credaudit binary (an older build), the same audit with it;
//! 5. prints each phase beside the figures the issue measured before the
//!    work and its targets, and the bytes of memory per account;
//! 6. deletes what it made unless `CREDAUDIT_BENCH_KEEP=1`.

mod common;

use common::corpus::*;
use common::*;
use serde_json::Value;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEFAULT_ACCOUNTS: u64 = 100_000_000;
const DEFAULT_LINES: u64 = 1_000_000_000;
const SEED: u64 = 0x0B0C_5EED_0014;

/// The targets at 100M accounts.
const TOTAL_MAX_S: f64 = 60.0;
const ANON_MAX_BYTES: u64 = 8_000_000_000;
const READ_MIN_ROWS_PER_S: f64 = 4e6;
const SORT_MAX_S: f64 = 5.0;
const REPORT_MAX_S: f64 = 5.0;

/// What the issue measured before the work (100M accounts, 1e9 lines,
/// against the text corpus), phase by phase, in seconds.
const BEFORE: [(&str, f64); 5] = [
    ("read_and_hash", 76.7),
    ("sort", 32.3),
    ("lookup", 53.6),
    ("report", 27.2),
    ("total", 197.0),
];
const BEFORE_PEAK_GB: f64 = 10.7;

struct Files {
    dir: PathBuf,
    store: PathBuf,
    export: PathBuf,
    keep: bool,
}

impl Drop for Files {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// One audit run: wall and CPU seconds, peak RssAnon, the summary.
struct Audit {
    wall: f64,
    cpu: f64,
    peak_anon: u64,
    summary: Value,
}

fn main() -> io::Result<()> {
    let accounts = env_u64("CREDAUDIT_ONEBOX_ACCOUNTS", DEFAULT_ACCOUNTS);
    let lines = env_u64("CREDAUDIT_ONEBOX_LINES", DEFAULT_LINES);
    let reps = env_u64("CREDAUDIT_BENCH_REPS", 1).max(1) as usize;
    let keep = std::env::var("CREDAUDIT_BENCH_KEEP").as_deref() == Ok("1");
    let dir = bench_dir().join("onebox");
    fs::create_dir_all(&dir)?;
    let files = Files {
        store: dir.join(format!("sha1-{}.cas", count_label(lines))),
        export: dir.join(format!("export-{}.csv", count_label(accounts))),
        dir: dir.clone(),
        keep,
    };
    let exe = frozen_binary(&dir)?;
    println!(
        "onebox: {} accounts vs a store of {} lines; credaudit {}; {reps} rep(s)",
        count_label(accounts),
        count_label(lines),
        source_version()
    );

    let leaked = leaked_digests(Kind::Sha1, POPULAR_PASSWORDS);
    ensure_store(&exe, &files.store, lines, &leaked)?;
    generate_export(&files.export, accounts, |i, pw| {
        popular_password(POPULAR_PASSWORDS, i, pw)
    })?;
    let expected = accounts.div_ceil(POPULAR_EVERY);

    // Gigabytes just generated may still be on their way to the disk:
    // flushed first, their writeback does not run during the audits.
    Command::new("sync").status()?;
    println!("\n[warm the page cache: cat the store and the export]");
    let store_cat = cat(&files.store)?;
    let export_cat = cat(&files.export)?;
    println!(
        "  store {:.1} s, export {:.1} s (the export's read floor)",
        store_cat, export_cat
    );

    let ours = audit_runs(&exe, &files, &dir, "ours", reps, accounts, expected)?;
    let base = match std::env::var_os("CREDAUDIT_ONEBOX_BASELINE") {
        Some(path) => Some(audit_runs(
            Path::new(&path),
            &files,
            &dir,
            "baseline",
            reps,
            accounts,
            expected,
        )?),
        None => None,
    };
    report(&ours, base.as_ref(), accounts, export_cat);
    Ok(())
}

/// Build the store from a generated corpus piped into `index build -`,
/// unless it is there.
fn ensure_store(exe: &Path, store: &Path, lines: u64, leaked: &[[u8; 20]]) -> io::Result<()> {
    if store.exists() {
        println!("  reusing   {}", store.display());
        return Ok(());
    }
    let plan = CorpusPlan {
        kind: Kind::Sha1,
        random: lines - leaked.len() as u64,
        seed: SEED,
        leaked,
    };
    let started = Instant::now();
    let mut child = Command::new(exe)
        .args(["index", "build", "-q", "--out"])
        .arg(store)
        .arg("-")
        .stdin(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped");
    let fed = plan.write(&mut stdin);
    drop(stdin);
    let status = child.wait()?;
    fed?;
    if !status.success() {
        return Err(io::Error::other(format!("index build: {status}")));
    }
    println!(
        "  built     {} from the generator in {:.1} s (untimed)",
        store.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Seconds to read `path` to /dev/null.
fn cat(path: &Path) -> io::Result<f64> {
    let started = Instant::now();
    let status = Command::new("cat")
        .arg(path)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(io::Error::other(format!(
            "cat {}: {status}",
            path.display()
        )));
    }
    Ok(started.elapsed().as_secs_f64())
}

/// `reps` audits with `exe`, each checked; the median run (by wall time).
fn audit_runs(
    exe: &Path,
    files: &Files,
    dir: &Path,
    tag: &str,
    reps: usize,
    accounts: u64,
    expected: u64,
) -> io::Result<Audit> {
    println!("\n[{tag}: {}]", exe.display());
    let mut runs = Vec::new();
    for rep in 0..reps {
        let summary = dir.join(format!("{tag}-summary.json"));
        let out = dir.join(format!("{tag}-reset.csv"));
        let mut cmd = Command::new(exe);
        cmd.arg("audit")
            .arg(&files.export)
            .arg("--corpus")
            .arg(&files.store)
            .arg("-o")
            .arg(&out)
            .arg("--summary")
            .arg(&summary)
            .arg("--quiet")
            .stderr(File::create(dir.join(format!("{tag}-stderr.txt")))?);
        let (code, wall, cpu, peak_anon) = run_sampled(&mut cmd)?;
        let summary: Value = serde_json::from_slice(&fs::read(&summary)?)?;
        let pwned = summary["accounts_flagged"]["pwned"].as_u64();
        let checked = summary["accounts_checked"].as_u64();
        if code != 1 || checked != Some(accounts) || pwned != Some(expected) {
            return Err(io::Error::other(format!(
                "{tag}: wrong answer: exit {code}, checked {checked:?} (want {accounts}), \
                 pwned {pwned:?} (want {expected})"
            )));
        }
        println!(
            "  rep {}: {wall:.1} s, cpu {cpu:.1} s, peak RssAnon {:.2} GB, durations_ms {}  [load {}]",
            rep + 1,
            peak_anon as f64 / 1e9,
            summary["durations_ms"],
            loadavg()
        );
        fs::remove_file(&out)?;
        runs.push(Audit {
            wall,
            cpu,
            peak_anon,
            summary,
        });
    }
    runs.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    Ok(runs.swap_remove(runs.len() / 2))
}

/// Run `cmd` to its end, sampling its RssAnon every 20 ms: its exit code,
/// wall and CPU seconds (`wait4`) and the peak RssAnon in bytes.
fn run_sampled(cmd: &mut Command) -> io::Result<(i32, f64, f64, u64)> {
    release_own_memory();
    let started = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let status_path = format!("/proc/{pid}/status");
    let mut peak = 0u64;
    loop {
        if let Ok(text) = fs::read_to_string(&status_path) {
            if let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("RssAnon:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb * 1024);
            }
        }
        let mut status = 0;
        // SAFETY: plain libc call on our own child; rusage is written.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            let wall = started.elapsed().as_secs_f64();
            let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            let cpu = secs(usage.ru_utime) + secs(usage.ru_stime);
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -1
            };
            return Ok((code, wall, cpu, peak));
        }
        if reaped < 0 {
            return Err(io::Error::last_os_error());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Seconds of phase `name` in a summary.
fn phase(summary: &Value, name: &str) -> f64 {
    summary["durations_ms"][name].as_f64().unwrap_or(f64::NAN) / 1e3
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "met"
    } else {
        "NOT MET"
    }
}

fn report(ours: &Audit, base: Option<&Audit>, accounts: u64, export_cat: f64) {
    let n = accounts as f64;
    println!(
        "\n{:<15} {:>9} {:>12} {:>14}  target",
        "phase", "ours s", "baseline s", "issue before s"
    );
    for (name, before) in BEFORE {
        let ours_s = phase(&ours.summary, name);
        let base_s = base.map_or("-".to_string(), |b| {
            format!("{:.1}", phase(&b.summary, name))
        });
        let target = match name {
            "read_and_hash" => format!(
                ">= {:.0}M rows/s: {:.2}M rows/s, {}",
                READ_MIN_ROWS_PER_S / 1e6,
                n / ours_s / 1e6,
                verdict(n / ours_s >= READ_MIN_ROWS_PER_S)
            ),
            "sort" => format!("<= {SORT_MAX_S} s: {}", verdict(ours_s <= SORT_MAX_S)),
            "report" => format!("<= {REPORT_MAX_S} s: {}", verdict(ours_s <= REPORT_MAX_S)),
            "total" => format!(
                "<= {TOTAL_MAX_S} s (process wall {:.1} s): {}",
                ours.wall,
                verdict(ours.wall <= TOTAL_MAX_S)
            ),
            _ => "(report)".to_string(),
        };
        println!("{name:<15} {ours_s:>9.1} {base_s:>12} {before:>14.1}  {target}");
    }
    println!(
        "{:<15} {:>9.2} {:>12} {:>14.1}  <= {:.1} GB: {}",
        "RssAnon GB",
        ours.peak_anon as f64 / 1e9,
        base.map_or("-".to_string(), |b| format!(
            "{:.2}",
            b.peak_anon as f64 / 1e9
        )),
        BEFORE_PEAK_GB,
        ANON_MAX_BYTES as f64 / 1e9,
        verdict(ours.peak_anon <= ANON_MAX_BYTES)
    );
    println!(
        "{:<15} {:>9.1} {:>12} {:>14.1}  <= {:.0}",
        "bytes/account",
        ours.peak_anon as f64 / n,
        base.map_or("-".to_string(), |b| format!(
            "{:.1}",
            b.peak_anon as f64 / n
        )),
        BEFORE_PEAK_GB * 1e9 / 1e8,
        ANON_MAX_BYTES as f64 / n
    );
    println!(
        "{:<15} {:>9.1} {:>12}  (the export's read floor: cat to /dev/null {export_cat:.1} s)",
        "cpu s",
        ours.cpu,
        base.map_or("-".to_string(), |b| format!("{:.1}", b.cpu)),
    );
    if let Some(b) = base {
        println!(
            "ratios baseline/ours: wall {:.2}x, cpu {:.2}x, RssAnon {:.2}x",
            b.wall / ours.wall,
            b.cpu / ours.cpu,
            b.peak_anon as f64 / ours.peak_anon as f64
        );
    }
}
