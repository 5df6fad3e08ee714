//! End-to-end benchmark of `credaudit audit` against the usual alternatives.
//!
//! Run with `cargo bench --bench audit`. The program:
//!
//! 1. generates its data (never committed) into `target/bench-data/`
//!    (`CREDAUDIT_BENCH_DIR` overrides): HIBP-format SHA-1 and NTLM corpora of
//!    random hashes merged with the hashes of a known set of leaked
//!    passwords, and exports in which every tenth account uses one of those
//!    leaked passwords, plus one shaped like real users (a fifth of the
//!    accounts on a few popular leaked passwords, see `popular_password`).
//!    Files already present are reused; each is written under a temporary
//!    name and renamed, so an interrupted generation is redone rather than
//!    trusted. Scenario e also compiles the 100M-line corpus into a store
//!    (`credaudit index build`, untimed, once) beside it;
//! 2. times each scenario as a child process (wall time, and peak RSS from
//!    `wait4`'s rusage), `CREDAUDIT_BENCH_REPS` times (default 3), and keeps
//!    the median wall time and the largest peak RSS;
//! 3. checks that every tool flagged exactly the accounts known to be leaked,
//!    and prints a table against the targets.
//!
//! All runs are warm-cache: each corpus and input is read once, untimed,
//! before any timing, and each command (but lil-pwny's minutes-long runs)
//! runs once untimed before its timed repetitions. `CREDAUDIT_BENCH_SCALE=N` divides every size by N for a
//! quick smoke run (file names follow the sizes, so data never mixes);
//! `CREDAUDIT_BENCH_ONLY=a,d` runs only some scenarios. Other work on the
//! machine skews the timings, so the load average is printed with each run.

mod common;

use common::corpus::*;
use common::*;
use credaudit::hash;
use rayon::prelude::*;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Target: peak RSS of the 10M-account audit, in MiB.
const RSS_TARGET_MIB: f64 = 1536.0;
/// Target: wall time of the 10M-account audit of the realistic export.
const WALL_TARGET_S: f64 = 5.0;
/// Peak RSS may grow by at most this factor from a 10M- to a 100M-line
/// corpus, or by `RSS_GROWTH_SLACK_MIB` (noise, at small scales).
const RSS_GROWTH_LIMIT: f64 = 1.10;
const RSS_GROWTH_SLACK_MIB: f64 = 64.0;

// ---------------------------------------------------------------------------
// Sizes and file names
// ---------------------------------------------------------------------------

/// Every size the benchmark uses, after `CREDAUDIT_BENCH_SCALE`.
struct Sizes {
    sha1_corpus: u64,
    sha1_small_corpus: u64,
    ntlm_corpus: u64,
    export_small: u64,
    export_large: u64,
    /// Distinct leaked passwords: one per leaked account of the large export,
    /// so the small export's leaked accounts are a prefix of the same set.
    leaked: u64,
    /// Popular passwords of the realistic export (of the same size as the
    /// large one): the first of the leaked set, so every corpus has them.
    popular: u64,
}

impl Sizes {
    fn from_env() -> Sizes {
        let scale = env_u64("CREDAUDIT_BENCH_SCALE", 1).max(1);
        let export_large = 10_000_000 / scale;
        Sizes {
            sha1_corpus: 100_000_000 / scale,
            sha1_small_corpus: 10_000_000 / scale,
            ntlm_corpus: 20_000_000 / scale,
            export_small: 1_000_000 / scale,
            export_large,
            leaked: leaked_accounts(export_large),
            popular: (POPULAR_PASSWORDS / scale).max(2),
        }
    }
}

/// How many of the first `n` accounts use a leaked password.
fn leaked_accounts(n: u64) -> u64 {
    n.div_ceil(LEAK_EVERY)
}

/// The generated files, by role.
struct DataFiles {
    sha1_corpus: PathBuf,
    sha1_small_corpus: PathBuf,
    ntlm_corpus: PathBuf,
    export_small: PathBuf,
    export_large: PathBuf,
    ntlm_input: PathBuf,
    sha1_hashes: PathBuf,
    /// The realistic export: `export_large` accounts, `popular_password`.
    export_popular: PathBuf,
}

impl DataFiles {
    fn new(dir: &Path, s: &Sizes) -> DataFiles {
        let f = |name: String| dir.join(name);
        DataFiles {
            sha1_corpus: f(format!("sha1-{}.txt", count_label(s.sha1_corpus))),
            sha1_small_corpus: f(format!("sha1-{}.txt", count_label(s.sha1_small_corpus))),
            ntlm_corpus: f(format!("ntlm-{}.txt", count_label(s.ntlm_corpus))),
            export_small: f(format!("export-{}.csv", count_label(s.export_small))),
            export_large: f(format!("export-{}.csv", count_label(s.export_large))),
            ntlm_input: f(format!("ntlm-{}.txt", count_label(s.export_small))),
            sha1_hashes: f(format!("sha1-{}-hashes.txt", count_label(s.export_small))),
            export_popular: f(format!(
                "export-{}-popular{}.csv",
                count_label(s.export_large),
                count_label(s.popular)
            )),
        }
    }
}

/// Generate whatever is missing; returns the total generation time.
fn generate_all(files: &DataFiles, s: &Sizes) -> io::Result<Duration> {
    let mut total = Duration::ZERO;
    let mut add = |d: Option<Duration>| total += d.unwrap_or_default();
    let sha1_missing = !files.sha1_corpus.exists() || !files.sha1_small_corpus.exists();
    if sha1_missing {
        let leaked = leaked_digests(Kind::Sha1, s.leaked);
        add(generate_corpus(
            &files.sha1_corpus,
            Kind::Sha1,
            s.sha1_corpus,
            1,
            &leaked,
        )?);
        add(generate_corpus(
            &files.sha1_small_corpus,
            Kind::Sha1,
            s.sha1_small_corpus,
            2,
            &leaked,
        )?);
    } else {
        add(ensure_file(&files.sha1_corpus, |_| Ok(()))?);
        add(ensure_file(&files.sha1_small_corpus, |_| Ok(()))?);
    }
    if files.ntlm_corpus.exists() {
        add(ensure_file(&files.ntlm_corpus, |_| Ok(()))?);
    } else {
        let leaked = leaked_digests(Kind::Ntlm, s.leaked);
        add(generate_corpus(
            &files.ntlm_corpus,
            Kind::Ntlm,
            s.ntlm_corpus,
            3,
            &leaked,
        )?);
    }
    add(generate_export(
        &files.export_small,
        s.export_small,
        account_password,
    )?);
    add(generate_export(
        &files.export_large,
        s.export_large,
        account_password,
    )?);
    assert!(
        s.popular <= s.leaked,
        "popular passwords are in the corpora"
    );
    add(generate_export(
        &files.export_popular,
        s.export_large,
        |i, pw| popular_password(s.popular, i, pw),
    )?);
    add(generate_ntlm_input(&files.ntlm_input, s.export_small)?);
    add(generate_sha1_hashes(&files.sha1_hashes, s.export_small)?);
    Ok(total)
}

/// Read a file once so that every timed run sees a warm page cache.
fn warm(path: &Path) -> io::Result<()> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 8 << 20];
    while f.read(&mut buf)? > 0 {}
    Ok(())
}

// ---------------------------------------------------------------------------
// credaudit runs
// ---------------------------------------------------------------------------

/// Run one credaudit scenario `reps` times and check every repetition.
fn run_credaudit(
    ctx: &Ctx,
    tag: &str,
    input: &Path,
    corpus: &Path,
    lookup: &str,
    reps: usize,
    expected: u64,
) -> io::Result<AuditResult> {
    let cmd = credaudit_cmd(&ctx.exe, input, corpus, lookup, &ctx.out_dir, tag);
    run_audit_cmd(ctx, tag, cmd, reps, expected)
}

/// Time `cmd`, a credaudit audit writing the outputs of `tag`, `reps` times
/// after one untimed run, and check every run's answer.
fn run_audit_cmd(
    ctx: &Ctx,
    tag: &str,
    cmd: Command,
    reps: usize,
    expected: u64,
) -> io::Result<AuditResult> {
    run_audit(&ctx.out_dir, tag, cmd, &Repeat::warm(reps), expected)
}

// ---------------------------------------------------------------------------
// Baselines
// ---------------------------------------------------------------------------

/// Run a baseline `reps` times; `count` reads how many accounts it flagged
/// from its stdout file (None when its output cannot be parsed). Baselines
/// that run for minutes skip the warm-up (`warm: false`): a cold first read
/// is noise next to their run time, and the median of the reps absorbs it.
fn run_baseline(
    ctx: &Ctx,
    tag: &str,
    cmd: &mut Command,
    (reps, warm): (usize, bool),
    expected: u64,
    count: impl Fn(&Path) -> io::Result<Option<u64>>,
) -> io::Result<Timed> {
    let repeat = Repeat {
        warm_up: warm,
        ..Repeat::warm(reps)
    };
    run_timed(&ctx.out_dir, tag, cmd, &repeat, |run, stdout, stderr| {
        expect_exit(run, 0, stderr)?;
        match count(stdout).map_err(|e| format!("{tag} output: {e}"))? {
            Some(n) if n == expected => Ok(format!("{n} flagged, ok")),
            Some(n) => Err(format!("flagged {n}, expected {expected}")),
            None => Ok("flagged count not parseable".to_string()),
        }
    })
}

/// `LC_ALL=C sort hashes | LC_ALL=C join -t: - corpus`: the classic shell
/// answer. The corpus's CRLF stays in field 2; field 1 (the hash) joins.
fn sort_join_cmd(hashes: &Path, corpus: &Path) -> Command {
    let script = format!(
        "LC_ALL=C sort {} | LC_ALL=C join -t: - {}",
        quote(hashes.as_os_str()),
        quote(corpus.as_os_str())
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script);
    cmd
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// lil-pwny's path, installing it with pip when missing.
fn lil_pwny() -> Option<PathBuf> {
    if let Some(p) = find_on_path("lil-pwny") {
        return Some(p);
    }
    println!("  lil-pwny not on PATH: trying `python3 -m pip install lil-pwny`");
    let ok = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "lil-pwny"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        find_on_path("lil-pwny")
    } else {
        None
    }
}

/// lil-pwny's HIBP match count from its `-output json` log: the final
/// "Passwords matching HIBP: N" line.
fn lil_pwny_matches(stdout: &Path) -> io::Result<Option<u64>> {
    let text = fs::read_to_string(stdout)?;
    const NEEDLE: &str = "Passwords matching HIBP: ";
    Ok(text.lines().rev().find_map(|line| {
        let at = line.find(NEEDLE)? + NEEDLE.len();
        let digits: String = line[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }))
}

fn lil_pwny_cmd(exe: &Path, corpus: &Path, input: &Path, tmp: &Path) -> Command {
    let mut cmd = Command::new(exe);
    cmd.arg("-hibp")
        .arg(corpus)
        .arg("-ad")
        .arg(input)
        .arg("-output")
        .arg("json")
        // lil-pwny leaves a temporary file of username variants behind on
        // every run: keep those inside the bench directory.
        .env("TMPDIR", tmp);
    cmd
}

// ---------------------------------------------------------------------------
// Hashing throughput
// ---------------------------------------------------------------------------

struct HashResult {
    parallel: f64,
    single: f64,
    count: usize,
    agree: bool,
}

/// Time `hash` over every password, on all cores and on one; median of reps.
fn hash_throughput<const N: usize>(
    pw: &Passwords,
    reps: usize,
    hash: impl Fn(&[u8]) -> [u8; N] + Sync,
) -> HashResult {
    let mut par_out: Vec<[u8; N]> = Vec::with_capacity(pw.len());
    let mut seq_out: Vec<[u8; N]> = Vec::with_capacity(pw.len());
    let (mut par, mut seq) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let t = Instant::now();
        (0..pw.len())
            .into_par_iter()
            .map(|i| hash(pw.get(i)))
            .collect_into_vec(&mut par_out);
        par.push(t.elapsed().as_secs_f64());
        seq_out.clear();
        let t = Instant::now();
        seq_out.extend((0..pw.len()).map(|i| hash(pw.get(i))));
        seq.push(t.elapsed().as_secs_f64());
    }
    par.sort_by(f64::total_cmp);
    seq.sort_by(f64::total_cmp);
    HashResult {
        parallel: par[par.len() / 2],
        single: seq[seq.len() / 2],
        count: pw.len(),
        agree: par_out == seq_out,
    }
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

struct Ctx {
    /// The credaudit binary measured (a frozen copy).
    exe: PathBuf,
    files: DataFiles,
    sizes: Sizes,
    out_dir: PathBuf,
    tmp_dir: PathBuf,
    reps: usize,
}

/// a. 1M plaintext accounts vs the 100M SHA-1 corpus, against sort | join.
fn scenario_sort_join(ctx: &Ctx, rows: &mut Vec<Row>) -> io::Result<()> {
    let s = &ctx.sizes;
    let expected = leaked_accounts(s.export_small);
    let name = format!(
        "a. {} plain vs SHA-1 {}",
        count_label(s.export_small),
        count_label(s.sha1_corpus)
    );
    println!("\n[{name}] (expected flagged: {expected})");
    let ours = run_credaudit(
        ctx,
        "a-auto",
        &ctx.files.export_small,
        &ctx.files.sha1_corpus,
        "auto",
        ctx.reps,
        expected,
    )?;
    let base = run_baseline(
        ctx,
        "a-sort-join",
        &mut sort_join_cmd(&ctx.files.sha1_hashes, &ctx.files.sha1_corpus),
        (ctx.reps, true),
        expected,
        |out| count_lines(out).map(Some),
    )?;
    let ratio = base.stats.wall / ours.stats.wall;
    let ok = ours.problem.is_none() && base.problem.is_none();
    rows.push(Row {
        scenario: format!("{name} ({})", ours.method),
        ours: Some(ours.stats),
        base: Some(base.stats),
        ratio: Some(ratio),
        target: "sort|join >= 8x".into(),
        pass: Some(ok && ratio >= 8.0),
        note: problem_note(&[&ours.problem, &base.problem]),
    });
    println!("  durations_ms (last rep): {}", ours.durations);
    for method in ["search", "merge"] {
        let r = run_credaudit(
            ctx,
            &format!("a-{method}"),
            &ctx.files.export_small,
            &ctx.files.sha1_corpus,
            method,
            1,
            expected,
        )?;
        rows.push(Row {
            scenario: format!("   same, --lookup {method} (1 rep)"),
            ours: Some(r.stats),
            base: Some(base.stats),
            ratio: Some(base.stats.wall / r.stats.wall),
            target: "(tunes auto)".into(),
            pass: None,
            note: format!(
                "{}; last rep ms: {}",
                problem_note(&[&r.problem]),
                r.durations
            ),
        });
    }
    Ok(())
}

/// v. The first use of a corpus file: every line is checked once before the
/// search trusts the lines it does not read. The same audit as a., with
/// `--no-cache` (no stamp is read or kept, so every run pays the pass)
/// against the stamped run, beside coreutils checking the same file's order
/// and uniqueness (`sort -c -u`) and merely reading it (`wc -l`).
fn scenario_verification(ctx: &Ctx, rows: &mut Vec<Row>) -> io::Result<()> {
    let s = &ctx.sizes;
    let expected = leaked_accounts(s.export_small);
    let corpus = &ctx.files.sha1_corpus;
    let name = format!("v. first use of SHA-1 {}", count_label(s.sha1_corpus));
    println!("\n[{name}] (expected flagged: {expected})");
    let audit = |tag: &str, extra: &[&str]| -> io::Result<AuditResult> {
        let mut cmd = credaudit_cmd(
            &ctx.exe,
            &ctx.files.export_small,
            corpus,
            "auto",
            &ctx.out_dir,
            tag,
        );
        cmd.args(extra);
        run_audit_cmd(ctx, tag, cmd, ctx.reps, expected)
    };
    let stamped = audit("v-stamped", &[])?;
    let first_use = audit("v-first-use", &["--no-cache"])?;
    let shell = |script: String| {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script);
        cmd
    };
    let quoted = quote(corpus.as_os_str());
    // Both print nothing (sort -c -u) or one number (wc -l): no account
    // is flagged, so the expected count is 0 lines of findings.
    let sort_check = run_baseline(
        ctx,
        "v-sort-check",
        &mut shell(format!("LC_ALL=C sort -c -u {quoted}")),
        (ctx.reps, true),
        0,
        |out| count_lines(out).map(Some),
    )?;
    let wc = run_baseline(
        ctx,
        "v-wc",
        &mut shell(format!("wc -l < {quoted} > /dev/null")),
        (ctx.reps, true),
        0,
        |out| count_lines(out).map(Some),
    )?;
    let pass = first_use.stats.wall - stamped.stats.wall;
    println!(
        "  the verifying pass: {pass:.2} s ({:.0} MB/s); sort -c -u {:.2} s, wc -l {:.2} s",
        fs::metadata(corpus)?.len() as f64 / 1e6 / pass.max(1e-9),
        sort_check.stats.wall,
        wc.stats.wall
    );
    rows.push(Row {
        scenario: format!("{name}: audit with the pass (--no-cache)"),
        ours: Some(first_use.stats),
        base: Some(sort_check.stats),
        ratio: Some(sort_check.stats.wall / first_use.stats.wall),
        target: "vs sort -c -u".into(),
        pass: None,
        note: format!(
            "{}; last rep ms: {}",
            problem_note(&[&first_use.problem, &sort_check.problem]),
            first_use.durations
        ),
    });
    rows.push(Row {
        scenario: "   same audit, stamped (pass skipped)".into(),
        ours: Some(stamped.stats),
        base: Some(wc.stats),
        ratio: Some(wc.stats.wall / stamped.stats.wall),
        target: "vs wc -l".into(),
        pass: None,
        note: problem_note(&[&stamped.problem, &wc.problem]),
    });
    Ok(())
}

/// b. 1M NTLM hashes vs the 20M NTLM corpus, against lil-pwny.
fn scenario_lil_pwny(ctx: &Ctx, rows: &mut Vec<Row>) -> io::Result<()> {
    let s = &ctx.sizes;
    let expected = leaked_accounts(s.export_small);
    let name = format!(
        "b. {} NTLM vs NTLM {}",
        count_label(s.export_small),
        count_label(s.ntlm_corpus)
    );
    println!("\n[{name}] (expected flagged: {expected})");
    let ours = run_credaudit(
        ctx,
        "b-auto",
        &ctx.files.ntlm_input,
        &ctx.files.ntlm_corpus,
        "auto",
        ctx.reps,
        expected,
    )?;
    println!("  durations_ms (last rep): {}", ours.durations);
    let Some(exe) = lil_pwny() else {
        println!("  SKIPPED: lil-pwny is not installed and `pip install lil-pwny` failed");
        rows.push(Row {
            scenario: format!("{name} ({})", ours.method),
            ours: Some(ours.stats),
            base: None,
            ratio: None,
            target: "lil-pwny >= 100x".into(),
            pass: None,
            note: format!(
                "baseline SKIPPED (lil-pwny unavailable); {}",
                problem_note(&[&ours.problem])
            ),
        });
        return Ok(());
    };
    fs::create_dir_all(&ctx.tmp_dir)?;
    let mut cmd = lil_pwny_cmd(
        &exe,
        &ctx.files.ntlm_corpus,
        &ctx.files.ntlm_input,
        &ctx.tmp_dir,
    );
    let base = run_baseline(
        ctx,
        "b-lil-pwny",
        &mut cmd,
        (ctx.reps, false),
        expected,
        lil_pwny_matches,
    )?;
    let _ = fs::remove_dir_all(&ctx.tmp_dir);
    let ratio = base.stats.wall / ours.stats.wall;
    let ok = ours.problem.is_none() && base.problem.is_none();
    rows.push(Row {
        scenario: format!("{name} ({})", ours.method),
        ours: Some(ours.stats),
        base: Some(base.stats),
        ratio: Some(ratio),
        target: "lil-pwny >= 100x".into(),
        pass: Some(ok && ratio >= 100.0),
        note: problem_note(&[&ours.problem, &base.problem]),
    });
    Ok(())
}

/// c. Hashing throughput of credaudit::hash, all cores vs one.
fn scenario_hashing(ctx: &Ctx, rows: &mut Vec<Row>) {
    let n = ctx.sizes.export_large;
    println!(
        "\n[c. hashing {} passwords in memory: rayon par_iter on {} threads vs single thread]",
        count_label(n),
        rayon::current_num_threads()
    );
    let pw = Passwords::generate(n);
    let results = [
        ("SHA-1", hash_throughput(&pw, ctx.reps, hash::sha1)),
        (
            "NTLM",
            hash_throughput(&pw, ctx.reps, |p| hash::ntlm(p).expect("ASCII")),
        ),
    ];
    for (kind, r) in results {
        let mps = |secs: f64| r.count as f64 / secs / 1e6;
        println!(
            "  {kind}: parallel {:.2} s = {:.1} M/s, single {:.2} s = {:.1} M/s, speedup {:.2}x, results agree: {}",
            r.parallel,
            mps(r.parallel),
            r.single,
            mps(r.single),
            r.single / r.parallel,
            r.agree
        );
        rows.push(Row {
            scenario: format!("c. {kind} hash {} (par vs 1 thread)", count_label(n)),
            ours: Some(Stats {
                wall: r.parallel,
                rss: 0,
                cpu: 0.0,
            }),
            base: Some(Stats {
                wall: r.single,
                rss: 0,
                cpu: 0.0,
            }),
            ratio: Some(r.single / r.parallel),
            target: ">= 10 M/s parallel".into(),
            pass: Some(r.agree && mps(r.parallel) >= 10.0),
            note: format!(
                "{:.1} M/s par, {:.1} M/s single{}",
                mps(r.parallel),
                mps(r.single),
                if r.agree { "" } else { "; RESULTS DIFFER" }
            ),
        });
    }
}

/// d. Memory: 10M accounts vs the 100M and the 10M SHA-1 corpus.
fn scenario_memory(ctx: &Ctx, rows: &mut Vec<Row>) -> io::Result<()> {
    let s = &ctx.sizes;
    let expected = leaked_accounts(s.export_large);
    let corpora = [
        (&ctx.files.sha1_corpus, s.sha1_corpus),
        (&ctx.files.sha1_small_corpus, s.sha1_small_corpus),
    ];
    let mut peaks = Vec::new();
    for (i, (corpus, lines)) in corpora.into_iter().enumerate() {
        let name = format!(
            "d. {} plain vs SHA-1 {}",
            count_label(s.export_large),
            count_label(lines)
        );
        println!("\n[{name}] (expected flagged: {expected})");
        let tag = format!("d-{}", count_label(lines));
        let r = run_credaudit(
            ctx,
            &format!("{tag}-auto"),
            &ctx.files.export_large,
            corpus,
            "auto",
            ctx.reps,
            expected,
        )?;
        println!("  durations_ms (last rep): {}", r.durations);
        peaks.push(r.stats.rss);
        let (target, pass) = if i == 0 {
            (
                format!("RSS < {RSS_TARGET_MIB:.0} MiB"),
                r.problem.is_none() && mib(r.stats.rss) < RSS_TARGET_MIB,
            )
        } else {
            let (big, small) = (mib(peaks[0]), mib(r.stats.rss));
            let flat = big <= small * RSS_GROWTH_LIMIT || big - small <= RSS_GROWTH_SLACK_MIB;
            (
                format!(
                    "RSS({}) <= {RSS_GROWTH_LIMIT:.2}x this",
                    count_label(s.sha1_corpus)
                ),
                r.problem.is_none() && flat,
            )
        };
        rows.push(Row {
            scenario: format!("{name} ({})", r.method),
            ours: Some(r.stats),
            base: None,
            ratio: None,
            target,
            pass: Some(pass),
            note: format!(
                "{}; last rep ms: {}",
                problem_note(&[&r.problem]),
                r.durations
            ),
        });
        for method in ["search", "merge"] {
            let m = run_credaudit(
                ctx,
                &format!("{tag}-{method}"),
                &ctx.files.export_large,
                corpus,
                method,
                1,
                expected,
            )?;
            rows.push(Row {
                scenario: format!("   same, --lookup {method} (1 rep)"),
                ours: Some(m.stats),
                base: None,
                ratio: None,
                target: "(tunes auto)".into(),
                pass: None,
                note: format!(
                    "{}; last rep ms: {}",
                    problem_note(&[&m.problem]),
                    m.durations
                ),
            });
        }
    }
    Ok(())
}

/// e. The realistic shape: 10M accounts, a fifth of them on a few popular
/// leaked passwords (shared-password groups of thousands), vs the 100M SHA-1
/// corpus as text and as a store compiled from it.
fn scenario_popular(ctx: &Ctx, rows: &mut Vec<Row>) -> io::Result<()> {
    let s = &ctx.sizes;
    let expected = s.export_large.div_ceil(POPULAR_EVERY);
    // The store beside the corpus it is compiled from: `sha1-100m.cas`.
    let store = ctx.files.sha1_corpus.with_extension("cas");
    ensure_store(&ctx.exe, &store, &ctx.files.sha1_corpus)?;
    warm(&store)?;
    let corpora = [("text", &ctx.files.sha1_corpus), ("store", &store)];
    for (i, (form, corpus)) in corpora.into_iter().enumerate() {
        let name = format!(
            "e. {} realistic vs SHA-1 {} {form}",
            count_label(s.export_large),
            count_label(s.sha1_corpus)
        );
        println!(
            "\n[{name}] ({} popular passwords; expected flagged: {expected})",
            count_label(s.popular)
        );
        let r = run_credaudit(
            ctx,
            &format!("e-{form}"),
            &ctx.files.export_popular,
            corpus,
            "auto",
            ctx.reps,
            expected,
        )?;
        println!("  durations_ms (last rep): {}", r.durations);
        let pass = r.problem.is_none()
            && r.stats.wall <= WALL_TARGET_S
            && mib(r.stats.rss) <= RSS_TARGET_MIB;
        rows.push(Row {
            scenario: if i == 0 {
                format!("{name} ({})", r.method)
            } else {
                format!("   same vs the store ({})", r.method)
            },
            ours: Some(r.stats),
            base: None,
            ratio: None,
            target: format!("<= {WALL_TARGET_S:.0} s, <= {RSS_TARGET_MIB:.0} MiB"),
            pass: Some(pass),
            note: format!(
                "{}; last rep ms: {}",
                problem_note(&[&r.problem]),
                r.durations
            ),
        });
    }
    Ok(())
}

/// Compile `corpus` into `store` with `credaudit index build`, unless it is
/// there (the build writes a temporary file and renames it when complete).
fn ensure_store(exe: &Path, store: &Path, corpus: &Path) -> io::Result<()> {
    if store.exists() {
        println!("  reusing   {}", store.display());
        return Ok(());
    }
    let started = Instant::now();
    let status = Command::new(exe)
        .args(["index", "build", "--out"])
        .arg(store)
        .arg(corpus)
        .status()?;
    if !status.success() {
        return Err(io::Error::other(format!(
            "credaudit index build {}: {status}",
            corpus.display()
        )));
    }
    println!(
        "  built     {} in {:.1} s (untimed)",
        store.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Whether scenario `name` (a, v, b, c, d or e) is to run: all of them, unless
/// `CREDAUDIT_BENCH_ONLY` lists some (e.g. `a,d`).
fn selected(name: &str) -> bool {
    match std::env::var("CREDAUDIT_BENCH_ONLY") {
        Ok(only) => only.split(',').any(|s| s.trim().eq_ignore_ascii_case(name)),
        Err(_) => true,
    }
}

fn main() -> io::Result<()> {
    // `cargo bench` passes `--bench`; this program takes no arguments.
    let sizes = Sizes::from_env();
    let dir = bench_dir();
    fs::create_dir_all(&dir)?;
    let out_dir = std::env::temp_dir().join("credaudit-bench");
    fs::create_dir_all(&out_dir)?;
    let reps = env_u64("CREDAUDIT_BENCH_REPS", 3).max(1) as usize;
    println!(
        "credaudit benchmark: data in {}, outputs in {}, {reps} reps (median wall, max RSS)",
        dir.display(),
        out_dir.display()
    );
    let exe = frozen_binary(&out_dir)?;
    println!(
        "credaudit binary: {} (copy of {})",
        exe.display(),
        env!("CARGO_BIN_EXE_credaudit")
    );
    println!("built from: {}", source_version());

    let files = DataFiles::new(&dir, &sizes);
    println!("\n[generating data]");
    let generation = generate_all(&files, &sizes)?;
    println!(
        "  generation time this run: {:.1} s",
        generation.as_secs_f64()
    );

    println!("\n[warm-up: one untimed read of every corpus and input; all timings are warm-cache]");
    for path in [
        &files.sha1_corpus,
        &files.sha1_small_corpus,
        &files.ntlm_corpus,
        &files.export_small,
        &files.export_large,
        &files.ntlm_input,
        &files.sha1_hashes,
        &files.export_popular,
    ] {
        let t = Instant::now();
        warm(path)?;
        println!(
            "  read {} in {:.1} s",
            path.display(),
            t.elapsed().as_secs_f64()
        );
    }

    let ctx = Ctx {
        exe,
        files,
        sizes,
        tmp_dir: dir.join("lil-pwny-tmp"),
        out_dir,
        reps,
    };
    let floor = measure_floor()?;
    println!(
        "\npeak-RSS floor of the measurement (`true` as the child): {:.1} MiB",
        mib(floor)
    );
    let mut rows = Vec::new();
    if selected("a") {
        scenario_sort_join(&ctx, &mut rows)?;
    }
    if selected("v") {
        scenario_verification(&ctx, &mut rows)?;
    }
    if selected("b") {
        scenario_lil_pwny(&ctx, &mut rows)?;
    }
    if selected("d") {
        scenario_memory(&ctx, &mut rows)?;
    }
    if selected("e") {
        scenario_popular(&ctx, &mut rows)?;
    }
    // Last: its 10M-password arena would otherwise sit in this process
    // while the child processes run.
    if selected("c") {
        scenario_hashing(&ctx, &mut rows);
    }

    println!("\n[results] wall = median of {reps} reps unless marked; cpu = median user+sys CPU s (child + reaped descendants); MiB = largest peak RSS (ru_maxrss; for a pipeline or a multiprocess baseline, its largest single process); warm page cache; {} cores; RSS floor {:.1} MiB", rayon::current_num_threads(), mib(floor));
    print_table(&rows);
    Ok(())
}
