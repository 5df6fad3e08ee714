//! Measuring benchmark children: wall time, CPU time and peak RSS of one
//! process, reaped with `wait4`; repeated runs whose every answer is
//! checked; the results table. Shared by the benchmarks in `benches/`.
#![allow(dead_code)]

pub mod corpus;

use serde_json::Value;
use std::ffi::CString;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// How a child process ended, and what it cost.
pub struct Run {
    pub wall: Duration,
    /// Peak RSS in bytes: `ru_maxrss` of the child, which Linux takes as the
    /// maximum over the child and the descendants it reaped (a pipeline's
    /// largest process, not the sum of them).
    pub rss: u64,
    /// User + system CPU seconds of the child and its reaped descendants:
    /// less sensitive than wall time to other work on the machine.
    pub cpu: f64,
    pub exit: Exit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit {c}"),
            Exit::Signal(s) => write!(f, "signal {s}"),
        }
    }
}

/// Spawn `cmd` and reap it with `wait4`, which (unlike `Child::wait`) also
/// returns the child's resource usage.
pub fn measure(cmd: &mut Command) -> io::Result<Run> {
    release_own_memory();
    let started = Instant::now();
    let child = cmd.spawn()?;
    reap(child, started)
}

/// [`measure`] a child whose standard input `feed` writes, from another
/// thread of this process (so the child's CPU time and peak RSS are its
/// own). Also returns what `feed` returned: a child that stops reading
/// early makes it fail with a broken pipe.
pub fn measure_fed(cmd: &mut Command, feed: Feed) -> io::Result<(Run, io::Result<()>)> {
    release_own_memory();
    let started = Instant::now();
    let mut child = cmd.stdin(Stdio::piped()).spawn()?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    std::thread::scope(|scope| {
        // This process holds no read end of the pipe: if the child exits,
        // the writes fail instead of blocking.
        let feeder = scope.spawn(move || feed(&mut stdin));
        let run = reap(child, started);
        let fed = feeder.join().expect("the feeder does not panic");
        Ok((run?, fed))
    })
}

/// Wait for `child` (spawned at `started`) with `wait4`.
fn reap(child: Child, started: Instant) -> io::Result<Run> {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data; zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own unreaped child; the pointers are valid.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    let wall = started.elapsed();
    // The child is reaped: dropping the handle only closes its pipes.
    drop(child);
    let exit = if libc::WIFEXITED(status) {
        Exit::Code(libc::WEXITSTATUS(status))
    } else {
        Exit::Signal(libc::WTERMSIG(status))
    };
    Ok(Run {
        wall,
        rss: usage.ru_maxrss as u64 * 1024,
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        exit,
    })
}

fn seconds(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// Keep this process's memory out of its children's peak RSS.
///
/// A child runs in this process's address space (fork or vfork) until it
/// execs, and at exec Linux folds that address space's peak RSS into the
/// child's `ru_maxrss`: every child would report at least this process's own
/// peak. So give freed heap back to the kernel, then reset the peak mark
/// (`VmHWM`) to the current RSS (`clear_refs` 5). What remains is the floor
/// that `measure_floor` reports.
pub fn release_own_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
    let _ = fs::write("/proc/self/clear_refs", "5");
}

/// The 1-minute load average: other work on the machine skews timings.
pub fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

// ---------------------------------------------------------------------------
// Settings, paths and the binary measured
// ---------------------------------------------------------------------------

pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// `100000000` -> `100m`, `1000` -> `1k`: file names say their size.
pub fn count_label(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}m", n / 1_000_000)
    } else if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

/// Where generated data lives: `CREDAUDIT_BENCH_DIR`, else
/// `target/bench-data/`.
pub fn bench_dir() -> PathBuf {
    match std::env::var_os("CREDAUDIT_BENCH_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data"),
    }
}

/// The peak RSS a child that does nothing is reported with.
pub fn measure_floor() -> io::Result<u64> {
    let run = measure(Command::new("true").stdout(Stdio::null()))?;
    Ok(run.rss)
}

/// The binary `cargo bench` built, copied once into the output directory so
/// that a rebuild of `target/release` during the run (another `cargo test
/// --release`, say) cannot change what is measured halfway.
pub fn frozen_binary(out_dir: &Path) -> io::Result<PathBuf> {
    let frozen = out_dir.join("credaudit");
    fs::copy(env!("CARGO_BIN_EXE_credaudit"), &frozen)?;
    Ok(frozen)
}

/// Which credaudit is measured: the commit, and the source files changed
/// since (the binary is built from the working tree).
pub fn source_version() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = git(&["log", "-1", "--format=%h %s"]).unwrap_or_else(|| "unknown commit".into());
    match git(&["status", "--porcelain", "--", "src", "Cargo.toml"]) {
        Some(dirty) if !dirty.is_empty() => {
            format!(
                "{head} + uncommitted: {}",
                dirty.lines().map(str::trim).collect::<Vec<_>>().join(", ")
            )
        }
        _ => head,
    }
}

/// A command line as a copy-pastable string.
pub fn show(cmd: &Command) -> String {
    let mut parts = vec![quote(cmd.get_program())];
    parts.extend(cmd.get_args().map(quote));
    let env: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| v.map(|v| format!("{}={}", k.to_string_lossy(), quote(v))))
        .collect();
    if env.is_empty() {
        parts.join(" ")
    } else {
        format!("{} {}", env.join(" "), parts.join(" "))
    }
}

pub fn quote(s: &std::ffi::OsStr) -> String {
    let s = s.to_string_lossy();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

// ---------------------------------------------------------------------------
// Repeated, checked runs
// ---------------------------------------------------------------------------

/// Median of the wall times and the largest peak RSS of some runs.
#[derive(Clone, Copy)]
pub struct Stats {
    pub wall: f64,
    pub rss: u64,
    /// Median CPU seconds (0 when not measured).
    pub cpu: f64,
}

pub fn stats(runs: &[Run]) -> Stats {
    let mut walls: Vec<f64> = runs.iter().map(|r| r.wall.as_secs_f64()).collect();
    walls.sort_by(f64::total_cmp);
    let mut cpus: Vec<f64> = runs.iter().map(|r| r.cpu).collect();
    cpus.sort_by(f64::total_cmp);
    Stats {
        wall: walls[walls.len() / 2],
        rss: runs.iter().map(|r| r.rss).max().unwrap_or(0),
        cpu: cpus[cpus.len() / 2],
    }
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub fn count_lines(path: &Path) -> io::Result<u64> {
    let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut n = 0;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(n);
        }
        n += memchr::memchr_iter(b'\n', buf).count() as u64;
        let len = buf.len();
        r.consume(len);
    }
}

/// The last lines of a child's stderr, for error reports.
pub fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

/// One untimed run before the timed ones (hyperfine's `--warmup 1`): the
/// pages a command reads may have been reclaimed since the data was warmed
/// (this machine pages out memory left untouched for a minute), and the
/// first timed run would pay for reading them back.
pub fn warm_up(cmd: &mut Command) -> io::Result<()> {
    let started = Instant::now();
    cmd.status()?;
    println!(
        "    warm-up: {:.2} s (untimed)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// How a command is repeated: `reps` timed runs, after one untimed run if
/// `warm_up`, each timed run after `prepare` (a cold run evicts its files
/// from the page cache there) and with its standard input written by
/// `feed` if given (see [`measure_fed`]; no warm-up then).
#[derive(Clone, Copy)]
pub struct Repeat<'a> {
    pub reps: usize,
    pub warm_up: bool,
    pub prepare: Option<Prepare<'a>>,
    pub feed: Option<Feed<'a>>,
    /// Send the child's stdout to /dev/null (`cat` of a 44 GB file must
    /// not be written to disk).
    pub discard_stdout: bool,
}

/// What runs before each timed run of a [`Repeat`].
pub type Prepare<'a> = &'a dyn Fn() -> io::Result<()>;
/// What writes a child's standard input (see [`measure_fed`]).
pub type Feed<'a> = &'a (dyn Fn(&mut ChildStdin) -> io::Result<()> + Sync);

impl Repeat<'_> {
    /// `reps` warm runs after one untimed run.
    pub fn warm(reps: usize) -> Repeat<'static> {
        Repeat {
            reps,
            warm_up: true,
            prepare: None,
            feed: None,
            discard_stdout: false,
        }
    }

    /// `reps` runs, each after `prepare`, without a warm-up.
    pub fn each_after(reps: usize, prepare: Prepare<'_>) -> Repeat<'_> {
        Repeat {
            reps,
            warm_up: false,
            prepare: Some(prepare),
            feed: None,
            discard_stdout: false,
        }
    }

    /// The same, with the child's stdout discarded.
    pub fn discarding_stdout(self) -> Self {
        Repeat {
            discard_stdout: true,
            ..self
        }
    }
}

/// What the timed runs of one command observed.
pub struct Timed {
    pub stats: Stats,
    pub runs: Vec<Run>,
    /// `None` when every run's answer was right, else the first problem.
    pub problem: Option<String>,
}

/// Time `cmd` as `repeat` says, with its stdout and stderr in
/// `out_dir/<tag>-stdout.txt` and `-stderr.txt`. `check` judges each timed
/// run from its `Run`, stdout file and stderr file: `Ok(note)` for the rep
/// line, or `Err(problem)`, which the result keeps, so that a wrong answer
/// is never reported as a plain timing.
pub fn run_timed(
    out_dir: &Path,
    tag: &str,
    cmd: &mut Command,
    repeat: &Repeat,
    mut check: impl FnMut(&Run, &Path, &Path) -> Result<String, String>,
) -> io::Result<Timed> {
    println!("  $ {}    [load {}]", show(cmd), loadavg());
    let stdout = if repeat.discard_stdout {
        PathBuf::from("/dev/null")
    } else {
        out_dir.join(format!("{tag}-stdout.txt"))
    };
    let stderr = out_dir.join(format!("{tag}-stderr.txt"));
    if repeat.warm_up && repeat.feed.is_none() {
        cmd.stdout(File::create(&stdout)?)
            .stderr(File::create(&stderr)?);
        warm_up(cmd)?;
    }
    let mut runs = Vec::new();
    let mut problem = None;
    for rep in 0..repeat.reps {
        if let Some(prepare) = repeat.prepare {
            prepare()?;
        }
        cmd.stdout(File::create(&stdout)?)
            .stderr(File::create(&stderr)?);
        let (run, fed) = match repeat.feed {
            Some(feed) => measure_fed(cmd, feed)?,
            None => (measure(cmd)?, Ok(())),
        };
        let checked = check(&run, &stdout, &stderr);
        let verdict = match fed
            .map_err(|e| format!("writing its input: {e}"))
            .and(checked)
        {
            Ok(note) => note,
            Err(e) => {
                problem.get_or_insert(e.clone());
                format!("PROBLEM: {e}")
            }
        };
        println!(
            "    rep {}: {:.2} s, cpu {:.2} s, {:.0} MiB, {verdict}  [load {}]",
            rep + 1,
            run.wall.as_secs_f64(),
            run.cpu,
            mib(run.rss),
            loadavg()
        );
        runs.push(run);
    }
    Ok(Timed {
        stats: stats(&runs),
        runs,
        problem,
    })
}

/// The exit code a run had to end with, else the problem (with the tail of
/// its stderr).
pub fn expect_exit(run: &Run, code: i32, stderr: &Path) -> Result<(), String> {
    if run.exit == Exit::Code(code) {
        Ok(())
    } else {
        Err(format!(
            "{} (expected exit {code}): {}",
            run.exit,
            tail(stderr)
        ))
    }
}

// ---------------------------------------------------------------------------
// credaudit audit runs
// ---------------------------------------------------------------------------

/// `credaudit audit INPUT --corpus CORPUS`, writing the reset list and the
/// summary of `tag` into `out_dir`; `lookup` other than `auto` is passed.
pub fn credaudit_cmd(
    exe: &Path,
    input: &Path,
    corpus: &Path,
    lookup: &str,
    out_dir: &Path,
    tag: &str,
) -> Command {
    let mut cmd = Command::new(exe);
    cmd.arg("audit")
        .arg(input)
        .arg("--corpus")
        .arg(corpus)
        .arg("-o")
        .arg(out_dir.join(format!("{tag}-reset.csv")))
        .arg("--summary")
        .arg(out_dir.join(format!("{tag}-summary.json")))
        .arg("--quiet");
    if lookup != "auto" {
        cmd.arg("--lookup").arg(lookup);
    }
    cmd
}

/// Check one audit's exit code, summary and reset list against `expected`
/// flagged accounts.
pub fn check_audit(
    run: &Run,
    out_dir: &Path,
    tag: &str,
    stderr: &Path,
    expected: u64,
) -> Result<Value, String> {
    expect_exit(run, 1, stderr)?;
    let text = fs::read_to_string(out_dir.join(format!("{tag}-summary.json")))
        .map_err(|e| format!("summary: {e}"))?;
    let summary: Value = serde_json::from_str(&text).map_err(|e| format!("summary JSON: {e}"))?;
    let pwned = summary["accounts_flagged"]["pwned"].as_u64();
    if pwned != Some(expected) {
        return Err(format!(
            "accounts_flagged.pwned = {pwned:?}, expected {expected}"
        ));
    }
    let rows = count_lines(&out_dir.join(format!("{tag}-reset.csv")))
        .map_err(|e| format!("reset list: {e}"))?;
    if rows != expected + 1 {
        return Err(format!(
            "reset list has {} rows, expected {expected}",
            rows.saturating_sub(1)
        ));
    }
    Ok(summary)
}

pub fn lookup_methods(summary: &Value) -> String {
    let mut methods = Vec::new();
    for source in summary["sources"].as_array().into_iter().flatten() {
        for lookup in source["lookups"].as_array().into_iter().flatten() {
            methods.push(lookup["method"].as_str().unwrap_or("?").to_string());
        }
    }
    methods.join("+")
}

pub fn durations(summary: &Value) -> String {
    let d = &summary["durations_ms"];
    [
        "open_sources",
        "read_and_hash",
        "sort",
        "lookup",
        "report",
        "total",
    ]
    .iter()
    .map(|k| {
        format!(
            "{k}={}",
            d[k].as_u64().map_or("?".into(), |v| v.to_string())
        )
    })
    .collect::<Vec<_>>()
    .join(" ")
}

/// What one credaudit audit scenario observed.
pub struct AuditResult {
    pub stats: Stats,
    /// From the last repetition's summary.
    pub method: String,
    pub durations: String,
    /// `None` when the flagged counts were right, else what was wrong.
    pub problem: Option<String>,
}

/// Time `cmd`, a credaudit audit writing the outputs of `tag` into
/// `out_dir` (see [`credaudit_cmd`]), as `repeat` says, and check that
/// every run flagged exactly `expected` accounts.
pub fn run_audit(
    out_dir: &Path,
    tag: &str,
    mut cmd: Command,
    repeat: &Repeat,
    expected: u64,
) -> io::Result<AuditResult> {
    let mut last_summary = None;
    let timed = run_timed(out_dir, tag, &mut cmd, repeat, |run, _, stderr| {
        let summary = check_audit(run, out_dir, tag, stderr, expected)?;
        let note = format!(
            "method {}, {}",
            lookup_methods(&summary),
            durations(&summary)
        );
        last_summary = Some(summary);
        Ok(note)
    })?;
    Ok(AuditResult {
        stats: timed.stats,
        method: last_summary.as_ref().map_or("?".into(), lookup_methods),
        durations: last_summary.as_ref().map_or("?".into(), durations),
        problem: timed.problem,
    })
}

// ---------------------------------------------------------------------------
// The report table
// ---------------------------------------------------------------------------

/// One line of the results: ours against a baseline measured in the same
/// run, with the target it is judged by.
pub struct Row {
    pub scenario: String,
    pub ours: Option<Stats>,
    pub base: Option<Stats>,
    pub ratio: Option<f64>,
    pub target: String,
    /// `None`: information, no target.
    pub pass: Option<bool>,
    pub note: String,
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// Baseline CPU seconds over ours, where both were measured.
fn cpu_ratio(r: &Row) -> Option<f64> {
    match (r.ours, r.base) {
        (Some(o), Some(b)) if o.cpu > 0.0 && b.cpu > 0.0 => Some(b.cpu / o.cpu),
        _ => None,
    }
}

pub fn print_table(rows: &[Row]) {
    let width = |f: fn(&Row) -> usize, min: usize| rows.iter().map(f).fold(min, usize::max);
    let sw = width(|r| r.scenario.chars().count(), 44);
    let tw = width(|r| r.target.chars().count(), 22);
    println!(
        "{:<sw$} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:<tw$} {:<6} note",
        "scenario",
        "ours s",
        "ours cpu",
        "ours MiB",
        "base s",
        "base cpu",
        "base MiB",
        "ratio",
        "cpu rat",
        "target",
        "result"
    );
    println!("{}", "-".repeat(sw + tw + 94));
    for r in rows {
        println!(
            "{:<sw$} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:<tw$} {:<6} {}",
            r.scenario,
            fmt_opt(r.ours.map(|s| s.wall), 2),
            fmt_opt(r.ours.filter(|s| s.cpu > 0.0).map(|s| s.cpu), 2),
            fmt_opt(r.ours.filter(|s| s.rss > 0).map(|s| mib(s.rss)), 0),
            fmt_opt(r.base.map(|s| s.wall), 2),
            fmt_opt(r.base.filter(|s| s.cpu > 0.0).map(|s| s.cpu), 2),
            fmt_opt(r.base.filter(|s| s.rss > 0).map(|s| mib(s.rss)), 0),
            fmt_opt(r.ratio, 1),
            fmt_opt(cpu_ratio(r), 1),
            r.target,
            match r.pass {
                Some(true) => "PASS",
                Some(false) => "FAIL",
                None => "info",
            },
            r.note
        );
    }
}

/// "counts ok", or the problems found.
pub fn problem_note(problems: &[&Option<String>]) -> String {
    let found: Vec<&str> = problems.iter().filter_map(|p| p.as_deref()).collect();
    if found.is_empty() {
        "counts ok".into()
    } else {
        format!("MISMATCH/ERROR: {}", found.join("; "))
    }
}

pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

pub fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |m| m.len())
}

/// Bytes available to this user on the file system holding `dir`.
pub fn free_bytes(dir: &Path) -> io::Result<u64> {
    let path = CString::new(dir.as_os_str().as_bytes())?;
    // SAFETY: statvfs is plain old data; zero is a valid value.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a valid out pointer.
    if unsafe { libc::statvfs(path.as_ptr(), &mut s) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(s.f_bavail as u64 * s.f_frsize as u64)
}

pub fn gb(bytes: u64) -> f64 {
    bytes as f64 / 1e9
}

pub fn mem_total() -> u64 {
    meminfo("MemTotal")
}

/// A `/proc/meminfo` field in bytes (0 where unknown).
pub fn meminfo(field: &str) -> u64 {
    fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.split(':').next() == Some(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

pub fn note(problems: &[&Option<String>], extra: String) -> String {
    format!("{}; {extra}", problem_note(problems))
}

pub fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "?".into())
}

/// Whether no run of a row had a wrong answer.
pub fn unfailed(problems: &[&Option<String>]) -> bool {
    problems.iter().all(|p| p.is_none())
}
