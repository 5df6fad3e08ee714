//! Benchmark of `credaudit serve` (issue 11): how fast it answers
//! `credaudit download` beside nginx serving the same prefixes as
//! pre-compressed static files, and whether its memory stays flat over a
//! download of all 1,048,576 prefixes.
//!
//! Run with `cargo bench --bench serve` (1e8 lines: about 4.4 GB of text,
//! 2 GB of store, and a 1M-file mirror of about 5.5 GB written and deleted
//! by the memory run; about 12 minutes) or `CREDAUDIT_SERVE_BENCH_LINES=2000000 cargo bench
//! --bench serve` for a quick look. The program:
//!
//! 1. streams a sorted HIBP-format SHA-1 corpus of
//!    `CREDAUDIT_SERVE_BENCH_LINES` lines (default 1e8: about 95 lines per
//!    prefix, the real corpus's 1,900 scaled down; `common::corpus`, the
//!    generator of the store benchmark), and compiles it with `credaudit
//!    index build --full-keys` (timed once, untimed for the rest);
//! 2. writes nginx's document root from the corpus: `range/XXXXX` holding
//!    the `SUFFIX:COUNT\r\n` lines of each prefix of the range, and beside
//!    it `range/XXXXX.gz` (flate2, gzip's default level 6), for
//!    `gzip_static on`;
//! 3. starts `credaudit serve --corpus STORE --listen 127.0.0.1:0` (the URL
//!    read from its `listening on http://...` stderr line) and nginx (2
//!    workers, `access_log off`, keepalive, `default_type text/plain`, its
//!    own prefix and configuration under the output directory); checks a
//!    few prefixes of each by hand (status, `Content-Encoding: gzip`, the
//!    gunzipped body against the corpus);
//! 4. times `credaudit download --api URL --prefixes 00000-0FFFF --out DIR
//!    --quiet` against each server, one untimed warm-up each, then
//!    `CREDAUDIT_BENCH_REPS` (default 3) alternating pairs (serve first in
//!    odd pairs, nginx first in even ones), each into an emptied directory
//!    (on a tmpfs, /dev/shm, when it and the memory have room: on this
//!    machine's ext4, creating files just after deleting many is slow by a
//!    varying amount, which made the client's system time, and so the
//!    timings, swing up to 3x between identical runs; see `mirror_place`);
//!    every mirror is compared, file by file, with the corpus lines of its
//!    prefixes (what `download` writes is the canonical form, which the
//!    generated corpus is already in), and the two servers' last mirrors
//!    with each other; requests/s = prefixes / wall time of the download
//!    (median), and each server's CPU time meanwhile (from /proc);
//! 5. starts a fresh `serve` and downloads all 1,048,576 prefixes from it
//!    while sampling its VmRSS, RssAnon and RssFile every 0.5 s; RssAnon at
//!    start, peak and end (the target: peak - start at most 100 MB); the
//!    mirror is checked against the corpus and deleted;
//! 6. prints a table (medians, PASS/FAIL against the issue's targets) with
//!    the load average, and deletes everything it made
//!    (`target/bench-data/serve-bench/` or under `CREDAUDIT_BENCH_DIR`, and
//!    the outputs in `$TMPDIR/credaudit-serve-bench/`) unless
//!    `CREDAUDIT_BENCH_KEEP=1`; kept data is reused by the next run.
//!
//! Knobs: `CREDAUDIT_BENCH_CONCURRENCY` is passed as `--concurrency`
//! (default: the client's own, 32); `CREDAUDIT_SERVE_BENCH_FULL=0` skips
//! the memory run; `CREDAUDIT_NGINX=PATH` names nginx (default: `nginx` on
//! PATH, or /usr/sbin/nginx), `CREDAUDIT_NGINX=none` skips it (the nginx
//! half is skipped, with a note, when it is absent: the throughput is then
//! judged against the issue's quoted 9,200 requests/s);
//! `CREDAUDIT_SERVE_BENCH_MIRRORS=DIR` writes the mirrors under DIR
//! instead of /dev/shm; `CREDAUDIT_BENCH_QUIET_WAIT` (seconds, default
//! 600) is how long to wait for other `cargo`/`rustc` processes to finish
//! before timing (each rep line says how many were running, beside the
//! load average).
//!
//! Client and servers share the machine's cores, as the issue's figures
//! did: the throughput is that of the pair, and the servers' CPU seconds
//! say which side costs what.

mod common;

use common::corpus::*;
use common::*;
use rayon::prelude::*;
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Corpus lines unless `CREDAUDIT_SERVE_BENCH_LINES` says otherwise.
const DEFAULT_LINES: u64 = 100_000_000;
const SEED: u64 = 0x5E7E_5EED_0011;
/// The prefixes of the timed downloads: 65,536 of them.
const RANGE: (u32, u32) = (0x00000, 0x0FFFF);
const ALL_PREFIXES: u32 = 1 << 20;

// The targets of issue 11.
/// serve's requests/s over nginx's, at least.
const RPS_VS_NGINX: f64 = 0.8;
/// What the issue quotes for nginx with credaudit's client on this machine;
/// the yardstick when nginx is not installed.
const NGINX_QUOTED_RPS: f64 = 9200.0;
/// Growth of serve's anonymous memory over a full download, at most.
const ANON_GROWTH_MAX: u64 = 100_000_000;

/// Prefixes per batch when streaming the corpus by prefix (bounds memory:
/// about 4,096 x 95 lines x 41 bytes = 16 MB at 1e8 lines).
const BATCH: u32 = 4096;
/// Free disk left for everyone else on the machine.
const DISK_MARGIN: u64 = 3 << 30;
/// How often the memory run samples the server.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// Longest wait for a server to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------
// Files, cleanup
// ---------------------------------------------------------------------------

/// Deletes the data and output directories when the run ends, however it
/// ends, unless asked to keep them.
struct Cleanup {
    dirs: Vec<PathBuf>,
    keep: bool,
    /// Deleted even when keeping (the mirrors: outputs, perhaps in RAM).
    always: Vec<PathBuf>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for dir in &self.always {
            let _ = fs::remove_dir_all(dir);
        }
        for dir in &self.dirs {
            if self.keep {
                println!("kept {} (CREDAUDIT_BENCH_KEEP=1)", dir.display());
            } else {
                match fs::remove_dir_all(dir) {
                    Ok(()) => println!("deleted {}", dir.display()),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => println!("could not delete {}: {e}", dir.display()),
                }
            }
        }
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Where the downloads write their mirrors, and why there.
///
/// On this machine's root file system (ext4 without a journal) creating
/// files right after deleting many is slow and erratic: the inode allocator
/// skips inodes freed in the last 30 s, reading each (`recently_deleted`
/// in the kernel), which tripled the client's system time in some runs of
/// the same download and not in others. Deleting one mirror and writing
/// the next is what the repetitions do, so the mirrors go to a tmpfs
/// (/dev/shm) when it and the memory have room: the client's cost is then
/// the same in every run, and the servers are what differs.
/// `CREDAUDIT_SERVE_BENCH_MIRRORS=DIR` puts them under DIR instead.
fn mirror_place(out_dir: &Path, need: f64) -> (PathBuf, String) {
    const NAME: &str = "credaudit-serve-bench-mirrors";
    if let Some(dir) = std::env::var_os("CREDAUDIT_SERVE_BENCH_MIRRORS") {
        return (
            PathBuf::from(dir).join(NAME),
            "CREDAUDIT_SERVE_BENCH_MIRRORS".into(),
        );
    }
    let shm = Path::new("/dev/shm");
    let room = free_bytes(shm).unwrap_or(0);
    let avail = meminfo("MemAvailable");
    let spare = 4u64 << 30;
    if shm.is_dir() && room as f64 >= need * 1.2 && avail as f64 >= need + spare as f64 {
        (
            shm.join(NAME),
            format!(
                "tmpfs: even file creation in every run (ext4 here is slow and erratic creating files just after deleting many); up to {:.1} GB of RAM, {:.1} GB available",
                need / 1e9,
                gb(avail)
            ),
        )
    } else {
        (
            out_dir.join("mirrors"),
            format!(
                "on disk: /dev/shm lacks room ({:.1} GB free, {:.1} GB of memory available, {:.1} GB needed); client file creation may vary from run to run",
                gb(room),
                gb(avail),
                need / 1e9
            ),
        )
    }
}

fn remove_dir_if_present(dir: &Path) -> io::Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// `1234567` -> `1,234,567`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------
// /proc: CPU time, memory, other builds
// ---------------------------------------------------------------------------

/// The fields of /proc/PID/stat after the command name (field 3 onwards).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// User + system CPU seconds of one process (all its threads).
fn process_cpu(pid: u32) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    stat_fields(pid)
        .and_then(|f| {
            let user: f64 = f.get(11)?.parse().ok()?;
            let system: f64 = f.get(12)?.parse().ok()?;
            Some((user + system) / tick.max(1.0))
        })
        .unwrap_or(0.0)
}

fn pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The processes whose parent is `pid` (nginx's workers).
fn children_of(pid: u32) -> Vec<u32> {
    pids()
        .into_iter()
        .filter(|&p| parent_of(p) == Some(pid))
        .collect()
}

/// `cargo` and `rustc` processes other than this run's own ancestors: a
/// build or test run sharing the cores skews every timing.
fn other_builds() -> Vec<String> {
    let mut ancestors = HashSet::new();
    let mut p = std::process::id();
    while p > 1 && ancestors.insert(p) {
        match parent_of(p) {
            Some(parent) => p = parent,
            None => break,
        }
    }
    pids()
        .into_iter()
        .filter(|p| !ancestors.contains(p))
        .filter_map(|p| {
            let comm = fs::read_to_string(format!("/proc/{p}/comm")).ok()?;
            let comm = comm.trim();
            (comm == "cargo" || comm == "rustc").then(|| format!("{comm} {p}"))
        })
        .collect()
}

/// Wait up to `CREDAUDIT_BENCH_QUIET_WAIT` seconds for other builds to end.
fn wait_for_quiet() -> String {
    let limit = Duration::from_secs(env_u64("CREDAUDIT_BENCH_QUIET_WAIT", 600));
    let started = Instant::now();
    let mut said = false;
    loop {
        let others = other_builds();
        if others.is_empty() {
            let waited = started.elapsed().as_secs();
            return if waited > 0 {
                format!("no other cargo/rustc running (waited {waited} s)")
            } else {
                "no other cargo/rustc running".into()
            };
        }
        if started.elapsed() >= limit {
            return format!(
                "WARNING: timing while {} other cargo/rustc process(es) run: {}",
                others.len(),
                others.join(", ")
            );
        }
        if !said {
            println!(
                "  waiting up to {} s for other builds to finish: {}",
                limit.as_secs(),
                others.join(", ")
            );
            said = true;
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}

/// Load average and other builds, for each timed line.
fn conditions() -> String {
    let others = other_builds().len();
    if others == 0 {
        format!("load {}", loadavg())
    } else {
        format!("load {}, {others} other cargo/rustc", loadavg())
    }
}

/// Memory of one process from /proc/PID/status, bytes.
#[derive(Clone, Copy, Default, Debug)]
struct Mem {
    vm_rss: u64,
    rss_anon: u64,
    rss_file: u64,
    rss_shmem: u64,
}

fn memory_of(pid: u32) -> Option<Mem> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mut m = Mem::default();
    for line in status.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let kib = || {
            value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(0, |v| v * 1024)
        };
        match key {
            "VmRSS" => m.vm_rss = kib(),
            "RssAnon" => m.rss_anon = kib(),
            "RssFile" => m.rss_file = kib(),
            "RssShmem" => m.rss_shmem = kib(),
            _ => {}
        }
    }
    Some(m)
}

// ---------------------------------------------------------------------------
// The corpus, prefix by prefix
// ---------------------------------------------------------------------------

/// The prefix of a corpus line (its first 5 hex digits).
fn line_prefix(line: &[u8]) -> Option<u32> {
    let hex = line.get(..5)?;
    let s = std::str::from_utf8(hex).ok()?;
    u32::from_str_radix(s, 16).ok()
}

/// Stream the corpus lines of prefixes `first..=last` in batches of at
/// most [`BATCH`] prefixes: `each(batch_first, bytes, ends)` gets the
/// suffix lines (`SUFFIX:COUNT\r\n`, the line without its prefix) of prefix
/// `batch_first + i` as `bytes[ends[i]..ends[i + 1]]`, empty for a prefix
/// without lines. A corpus line out of order is an error.
fn prefix_batches(
    corpus: &Path,
    first: u32,
    last: u32,
    mut each: impl FnMut(u32, &[u8], &[usize]) -> io::Result<()>,
) -> io::Result<()> {
    let mut r = BufReader::with_capacity(8 << 20, File::open(corpus)?);
    let mut line = Vec::with_capacity(64);
    let mut bytes = Vec::with_capacity(BATCH as usize * 128);
    let mut ends = vec![0usize];
    // The prefix whose lines are being gathered.
    let mut cur = first;
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        line_no += 1;
        let prefix = if n == 0 {
            None
        } else {
            let p = line_prefix(&line).ok_or_else(|| {
                io::Error::other(format!("{}: line {line_no}: no prefix", corpus.display()))
            })?;
            if p < first {
                continue;
            }
            if p < cur {
                return Err(io::Error::other(format!(
                    "{}: line {line_no}: prefix {p:05X} after {cur:05X} (unsorted)",
                    corpus.display()
                )));
            }
            Some(p)
        };
        // Close every prefix below the one this line is in (all of them at
        // the end of the file or past the range).
        let upto = match prefix {
            Some(p) if p <= last => p,
            _ => last + 1,
        };
        while cur < upto {
            ends.push(bytes.len());
            cur += 1;
            if ends.len() - 1 == BATCH as usize || cur > last {
                each(cur - (ends.len() as u32 - 1), &bytes, &ends)?;
                bytes.clear();
                ends.clear();
                ends.push(0);
            }
        }
        match prefix {
            Some(p) if p <= last => bytes.extend_from_slice(&line[5..]),
            _ => return Ok(()),
        }
    }
}

/// The suffix lines of one prefix.
fn expected_body(corpus: &Path, prefix: u32) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    prefix_batches(corpus, prefix, prefix, |_, bytes, ends| {
        body = bytes[ends[0]..ends[1]].to_vec();
        Ok(())
    })?;
    Ok(body)
}

fn mirror_file(dir: &Path, prefix: u32) -> PathBuf {
    dir.join(format!("{prefix:05X}.txt"))
}

/// What a mirror check found.
struct MirrorCheck {
    files: u64,
    bytes: u64,
    lines: u64,
}

/// Compare every prefix file of `mirror` in `first..=last` with the corpus
/// lines of its prefix, byte for byte; also that the directory holds no
/// other prefix files. The first difference is the error.
fn check_mirror(
    corpus: &Path,
    mirror: &Path,
    first: u32,
    last: u32,
) -> Result<MirrorCheck, String> {
    let mut check = MirrorCheck {
        files: 0,
        bytes: 0,
        lines: 0,
    };
    let mut problem: Option<String> = None;
    let mut bad = 0u64;
    prefix_batches(corpus, first, last, |start, bytes, ends| {
        let n = ends.len() - 1;
        let verdicts: Vec<Result<(u64, u64), String>> = (0..n)
            .into_par_iter()
            .map(|i| -> Result<(u64, u64), String> {
                let prefix = start + i as u32;
                let want = &bytes[ends[i]..ends[i + 1]];
                let path = mirror_file(mirror, prefix);
                let got = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                if got != want {
                    let at = got.iter().zip(want).position(|(a, b)| a != b);
                    return Err(format!(
                        "{}: {} bytes, the corpus has {} for prefix {prefix:05X} (first difference at byte {})",
                        path.display(),
                        got.len(),
                        want.len(),
                        at.map_or("end".into(), |a| a.to_string())
                    ));
                }
                Ok((
                    want.len() as u64,
                    memchr::memchr_iter(b'\n', want).count() as u64,
                ))
            })
            .collect();
        for v in verdicts {
            match v {
                Ok((b, l)) => {
                    check.files += 1;
                    check.bytes += b;
                    check.lines += l;
                }
                Err(e) => {
                    bad += 1;
                    problem.get_or_insert(e);
                }
            }
        }
        Ok(())
    })
    .map_err(|e| format!("reading the corpus: {e}"))?;
    if let Some(p) = problem {
        return Err(format!(
            "{bad} prefix file(s) differ from the corpus; first: {p}"
        ));
    }
    let expected = u64::from(last - first + 1);
    if check.files != expected {
        return Err(format!(
            "{} prefix files checked, expected {expected}",
            check.files
        ));
    }
    let present = fs::read_dir(mirror)
        .map_err(|e| format!("{}: {e}", mirror.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".txt"))
        .count() as u64;
    if present != expected {
        return Err(format!(
            "{} holds {present} .txt files, expected {expected}",
            mirror.display()
        ));
    }
    Ok(check)
}

/// Whether two mirrors hold the same prefix files, byte for byte.
fn same_mirrors(a: &Path, b: &Path, first: u32, last: u32) -> Result<(), String> {
    let differ: Vec<u32> = (first..=last)
        .into_par_iter()
        .filter(|&p| {
            let (x, y) = (fs::read(mirror_file(a, p)), fs::read(mirror_file(b, p)));
            !matches!((x, y), (Ok(x), Ok(y)) if x == y)
        })
        .collect();
    match differ.first() {
        None => Ok(()),
        Some(p) => Err(format!(
            "{} prefix files differ between the mirrors (first: {p:05X})",
            differ.len()
        )),
    }
}

// ---------------------------------------------------------------------------
// nginx's document root
// ---------------------------------------------------------------------------

/// `root/range/XXXXX` and `root/range/XXXXX.gz` for every prefix of the
/// range, written batch by batch on every core; a `.complete` file marks a
/// finished root, which a kept run reuses.
fn write_docroot(corpus: &Path, root: &Path, first: u32, last: u32) -> io::Result<(u64, u64)> {
    let range = root.join("range");
    let done = root.join(format!(".complete-{first:05X}-{last:05X}"));
    let sizes = |range: &Path| -> io::Result<(u64, u64)> {
        let (mut plain, mut gz) = (0, 0);
        for p in first..=last {
            plain += file_len(&range.join(format!("{p:05X}")));
            gz += file_len(&range.join(format!("{p:05X}.gz")));
        }
        Ok((plain, gz))
    };
    if done.exists() {
        println!("  reusing   {}", range.display());
        return sizes(&range);
    }
    let started = Instant::now();
    remove_dir_if_present(root)?;
    fs::create_dir_all(&range)?;
    prefix_batches(corpus, first, last, |start, bytes, ends| {
        (0..ends.len() - 1).into_par_iter().try_for_each(|i| {
            let body = &bytes[ends[i]..ends[i + 1]];
            let name = format!("{:05X}", start + i as u32);
            fs::write(range.join(&name), body)?;
            let mut gz = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 2 + 64),
                flate2::Compression::default(),
            );
            gz.write_all(body)?;
            fs::write(range.join(format!("{name}.gz")), gz.finish()?)
        })
    })?;
    File::create(&done)?;
    let (plain, gz) = sizes(&range)?;
    println!(
        "  generated {} in {:.1} s: {} prefixes, {:.1} MB plain, {:.1} MB gzip ({:.0} %)",
        range.display(),
        started.elapsed().as_secs_f64(),
        last - first + 1,
        mb(plain),
        mb(gz),
        gz as f64 * 100.0 / plain.max(1) as f64
    );
    Ok((plain, gz))
}

// ---------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------

/// A server process of this run, stopped (SIGTERM, then SIGKILL after
/// 30 s) when dropped.
struct Server {
    name: &'static str,
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    url: String,
    /// `127.0.0.1:PORT`.
    addr: String,
    stderr: PathBuf,
    /// Every process that serves (nginx: the master and its workers).
    pids: Vec<u32>,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    /// CPU seconds of all its processes so far.
    fn cpu(&self) -> f64 {
        self.pids.iter().map(|&p| process_cpu(p)).sum()
    }

    /// Stop it: SIGTERM (nginx: SIGQUIT, its graceful stop), and wait.
    /// Returns how it ended.
    fn stop(&mut self) -> String {
        let Some(mut child) = self.child.take() else {
            return "not running".into();
        };
        let signal = if self.name == "nginx" {
            libc::SIGQUIT
        } else {
            libc::SIGTERM
        };
        // SAFETY: signalling our own unreaped child.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let started = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    return format!("{status} after {:.1} s", started.elapsed().as_secs_f64())
                }
                Ok(None) if started.elapsed() < Duration::from_secs(30) => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return "did not stop within 30 s: killed".into();
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.is_some() {
            let how = self.stop();
            println!("  stopping {}: {how}", self.name);
        }
    }
}

/// Wait until `addr` accepts connections, or the child exits.
fn wait_for_port(child: &mut Child, addr: &str, stderr: &Path) -> io::Result<()> {
    let started = Instant::now();
    loop {
        if TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            return Err(io::Error::other(format!(
                "exited at start ({status}): {}",
                tail(stderr)
            )));
        }
        if started.elapsed() > START_TIMEOUT {
            return Err(io::Error::other(format!(
                "not answering on {addr} after {} s",
                START_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `credaudit serve --corpus STORE --listen 127.0.0.1:0`, once its
/// `listening on http://...` line is out.
fn start_serve(exe: &Path, store: &Path, out_dir: &Path, tag: &str) -> io::Result<Server> {
    let stderr = out_dir.join(format!("{tag}-stderr.txt"));
    let mut cmd = Command::new(exe);
    cmd.arg("serve")
        .arg("--corpus")
        .arg(store)
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&stderr)?);
    println!("  $ {}", show(&cmd));
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let url = loop {
        let text = fs::read_to_string(&stderr).unwrap_or_default();
        if let Some(at) = text.find("listening on http://") {
            let rest = &text[at + "listening on ".len()..];
            let url: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect::<String>()
                .trim_end_matches(|c: char| ",;)./".contains(c))
                .to_string();
            break url;
        }
        if let Some(status) = child.try_wait()? {
            return Err(io::Error::other(format!(
                "credaudit serve exited at start ({status}): {}",
                tail(&stderr)
            )));
        }
        if started.elapsed() > START_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(format!(
                "credaudit serve printed no `listening on http://` line in {} s: {}",
                START_TIMEOUT.as_secs(),
                tail(&stderr)
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let addr = url.trim_start_matches("http://").to_string();
    wait_for_port(&mut child, &addr, &stderr)?;
    let pid = child.id();
    println!(
        "  serve (pid {pid}) listening on {url} after {:.2} s; stderr: {}",
        started.elapsed().as_secs_f64(),
        text_lines(&stderr)
    );
    Ok(Server {
        name: "serve",
        child: Some(child),
        url,
        addr,
        stderr,
        pids: vec![pid],
    })
}

/// A file's lines joined with ` | ` (a server's few stderr lines).
fn text_lines(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .collect::<Vec<_>>()
        .join(" | ")
}

/// nginx: `CREDAUDIT_NGINX`, else on PATH, else /usr/sbin/nginx.
fn find_nginx() -> Option<PathBuf> {
    match std::env::var("CREDAUDIT_NGINX") {
        Ok(v) if v == "none" => return None,
        Ok(v) if !v.is_empty() => return Some(PathBuf::from(v)),
        _ => {}
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nginx"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let p = PathBuf::from("/usr/sbin/nginx");
        p.is_file().then_some(p)
    })
}

fn nginx_version(nginx: &Path) -> String {
    Command::new(nginx)
        .arg("-v")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .unwrap_or_else(|| "?".into())
}

/// A free loopback port (bound, read, released: nginx binds it next).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// nginx serving `root` with gzip_static, from a prefix directory of its own.
fn start_nginx(nginx: &Path, root: &Path, out_dir: &Path) -> io::Result<Server> {
    let prefix = out_dir.join("nginx");
    remove_dir_if_present(&prefix)?;
    let temp = prefix.join("temp");
    fs::create_dir_all(&temp)?;
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let error_log = prefix.join("error.log");
    // SAFETY: geteuid has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 {
        // Workers of a root master run as nobody otherwise, who may not
        // read the document root.
        "user root;\n"
    } else {
        ""
    };
    let conf = format!(
        "{user}worker_processes 2;
error_log {log} warn;
pid {pid};
events {{ worker_connections 4096; }}
http {{
    access_log off;
    default_type text/plain;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    gzip_static on;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    server {{
        listen {addr};
        root {root};
        location /range/ {{ }}
    }}
}}
",
        log = error_log.display(),
        pid = prefix.join("nginx.pid").display(),
        temp = temp.display(),
        root = root.display(),
    );
    let conf_path = prefix.join("nginx.conf");
    fs::write(&conf_path, conf)?;
    let stderr = prefix.join("stderr.txt");
    let mut cmd = Command::new(nginx);
    cmd.arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(&error_log)
        .args(["-g", "daemon off;"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&stderr)?);
    println!("  $ {}", show(&cmd));
    let mut child = cmd.spawn()?;
    if let Err(e) = wait_for_port(&mut child, &addr, &error_log) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(io::Error::other(format!("nginx: {e}; {}", tail(&stderr))));
    }
    let master = child.id();
    // The workers are up once the port answers; give a late one a moment.
    let mut workers = children_of(master);
    for _ in 0..20 {
        if workers.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        workers = children_of(master);
    }
    println!(
        "  nginx (master {master}, workers {workers:?}) on http://{addr}, config {}",
        conf_path.display()
    );
    let mut pids = vec![master];
    pids.extend(workers);
    Ok(Server {
        name: "nginx",
        child: Some(child),
        url: format!("http://{addr}"),
        addr,
        stderr: error_log,
        pids,
    })
}

// ---------------------------------------------------------------------------
// A few requests by hand
// ---------------------------------------------------------------------------

struct Response {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The body after content decoding (gzip only).
    fn decoded(&self) -> io::Result<Vec<u8>> {
        match self.header("content-encoding") {
            None => Ok(self.body.clone()),
            Some(e) if e.eq_ignore_ascii_case("gzip") => {
                let mut out = Vec::new();
                flate2::read::MultiGzDecoder::new(&self.body[..]).read_to_end(&mut out)?;
                Ok(out)
            }
            Some(e) => Err(io::Error::other(format!("content encoding {e}"))),
        }
    }
}

/// `GET path` over HTTP/1.1 with `Connection: close` (nginx's gzip_static,
/// like its gzip, answers HTTP/1.0 uncompressed).
fn http_get(addr: &str, path: &str, headers: &[(&str, &str)]) -> io::Result<Response> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = memchr::memmem::find(&raw, b"\r\n\r\n")
        .ok_or_else(|| io::Error::other("no end of the response head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other("no status"))?;
    let mut r = Response {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    };
    if r.header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        r.body = dechunk(&r.body).ok_or_else(|| io::Error::other("bad chunked body"))?;
    }
    Ok(r)
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = memchr::memmem::find(b, b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// A few prefixes asked of a server as the client asks (gzip, br), one
/// without compression: statuses, encodings and bodies against the
/// corpus. Returns the note, with the compressed bytes per prefix.
fn spot_check(server: &Server, prefixes: &[(u32, Vec<u8>)]) -> Result<String, String> {
    let mut compressed = 0usize;
    let mut encodings = Vec::new();
    for (p, want) in prefixes {
        let path = format!("/range/{p:05X}");
        let r = http_get(&server.addr, &path, &[("Accept-Encoding", "gzip, br")])
            .map_err(|e| format!("{} {path}: {e}", server.name))?;
        if r.status != 200 {
            return Err(format!("{} {path}: HTTP {}", server.name, r.status));
        }
        let enc = r
            .header("content-encoding")
            .unwrap_or("identity")
            .to_string();
        let got = r
            .decoded()
            .map_err(|e| format!("{} {path}: {e}", server.name))?;
        if got != *want {
            return Err(format!(
                "{} {path} ({enc}): {} bytes decoded, the corpus has {}",
                server.name,
                got.len(),
                want.len()
            ));
        }
        compressed += r.body.len();
        encodings.push(enc);
    }
    let (p, want) = &prefixes[0];
    let plain = http_get(&server.addr, &format!("/range/{p:05X}"), &[])
        .map_err(|e| format!("{}: {e}", server.name))?;
    if plain.status != 200 || plain.header("content-encoding").is_some() || plain.body != *want {
        return Err(format!(
            "{} /range/{p:05X} without Accept-Encoding: HTTP {}, encoding {:?}, {} bytes (corpus {})",
            server.name,
            plain.status,
            plain.header("content-encoding"),
            plain.body.len(),
            want.len()
        ));
    }
    encodings.dedup();
    Ok(format!(
        "{} prefixes match the corpus; Content-Encoding {}; {} compressed bytes per prefix",
        prefixes.len(),
        encodings.join("/"),
        compressed / prefixes.len()
    ))
}

/// serve's `credaudit_serve_requests_total` by labels, and the sum.
fn serve_requests(server: &Server) -> Result<(u64, String), String> {
    let r = http_get(&server.addr, "/metrics", &[]).map_err(|e| format!("/metrics: {e}"))?;
    if r.status != 200 {
        return Err(format!("/metrics: HTTP {}", r.status));
    }
    let text = String::from_utf8_lossy(&r.decoded().map_err(|e| e.to_string())?).into_owned();
    let mut total = 0u64;
    let mut parts = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("credaudit_serve_requests_total") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once(' ') else {
            continue;
        };
        let n = value.trim().parse::<f64>().unwrap_or(0.0) as u64;
        total += n;
        parts.push(format!("{} {}", labels.trim(), thousands(n)));
    }
    Ok((total, parts.join(", ")))
}

// ---------------------------------------------------------------------------
// Downloads
// ---------------------------------------------------------------------------

struct Bench {
    exe: PathBuf,
    corpus: PathBuf,
    out_dir: PathBuf,
    /// Where the mirrors are written (see [`mirror_place`]).
    mirrors: PathBuf,
    reps: usize,
    concurrency: Option<u64>,
    rows: Vec<Row>,
}

/// One timed download and what it cost each side.
struct Download {
    run: Run,
    server_cpu: f64,
    problem: Option<String>,
}

impl Bench {
    fn download_cmd(&self, url: &str, first: u32, last: u32, mirror: &Path) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("download")
            .arg("--api")
            .arg(url)
            .arg("--prefixes")
            .arg(format!("{first:05X}-{last:05X}"))
            .arg("--out")
            .arg(mirror)
            .arg("--quiet");
        if let Some(c) = self.concurrency {
            cmd.arg("--concurrency").arg(c.to_string());
        }
        cmd
    }

    /// One download from `server` into an emptied `mirror` (emptied and
    /// synced untimed first), checked against the corpus.
    fn download(
        &self,
        server: &Server,
        tag: &str,
        first: u32,
        last: u32,
        mirror: &Path,
    ) -> io::Result<Download> {
        remove_dir_if_present(mirror)?;
        // SAFETY: sync has no preconditions; the last mirror's writes must
        // not land in the next run's time.
        unsafe { libc::sync() };
        let stderr = self.out_dir.join(format!("{tag}-stderr.txt"));
        let mut cmd = self.download_cmd(&server.url, first, last, mirror);
        cmd.stdout(Stdio::null()).stderr(File::create(&stderr)?);
        let cpu_before = server.cpu();
        let run = measure(&mut cmd)?;
        let server_cpu = server.cpu() - cpu_before;
        let problem = expect_exit(&run, 0, &stderr)
            .and_then(|()| check_mirror(&self.corpus, mirror, first, last).map(|_| ()))
            .err();
        let said = text_lines(&stderr);
        if !said.is_empty() && problem.is_none() {
            println!("    (download stderr: {said})");
        }
        Ok(Download {
            run,
            server_cpu,
            problem,
        })
    }
}

fn rps(prefixes: u64, secs: f64) -> f64 {
    prefixes as f64 / secs.max(1e-9)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

/// What the A/B section measured of one side.
struct Side {
    runs: Vec<Run>,
    server_cpu: Vec<f64>,
    problem: Option<String>,
}

impl Side {
    fn new() -> Side {
        Side {
            runs: Vec::new(),
            server_cpu: Vec::new(),
            problem: None,
        }
    }
}

impl Bench {
    /// The timed downloads of the range, alternating between the servers.
    fn throughput(
        &mut self,
        serve: &Server,
        nginx: Option<&Server>,
        spot: &[u32],
    ) -> io::Result<()> {
        let (first, last) = RANGE;
        let prefixes = u64::from(last - first + 1);
        println!(
            "\n[spot checks: {} prefixes asked by hand of each server]",
            spot.len()
        );
        let mut spot_problems = Vec::new();
        let mut servers = vec![serve];
        servers.extend(nginx);
        let spot: Vec<(u32, Vec<u8>)> = spot
            .iter()
            .map(|&p| Ok((p, expected_body(&self.corpus, p)?)))
            .collect::<io::Result<_>>()?;
        for &s in &servers {
            match spot_check(s, &spot) {
                Ok(note) => println!("  {}: {note}", s.name),
                Err(e) => {
                    println!("  {}: PROBLEM: {e}", s.name);
                    spot_problems.push(e);
                }
            }
        }

        println!(
            "\n[download {first:05X}-{last:05X} ({} prefixes), gzip, alternating; 1 untimed warm-up each, then {} timed pairs]",
            thousands(prefixes),
            self.reps
        );
        println!(
            "  $ {}",
            show(&self.download_cmd("URL", first, last, &self.mirrors.join("mirror-SIDE")))
        );
        let mirrors = self.mirrors.clone();
        let mirror = move |s: &Server| mirrors.join(format!("mirror-{}", s.name));
        for &s in &servers {
            let d = self.download(s, &format!("warmup-{}", s.name), first, last, &mirror(s))?;
            println!(
                "    warm-up {}: {:.2} s, {:.0} req/s (untimed){}",
                s.name,
                d.run.wall.as_secs_f64(),
                rps(prefixes, d.run.wall.as_secs_f64()),
                d.problem
                    .map_or(String::new(), |p| format!(", PROBLEM: {p}"))
            );
        }
        let mut sides: Vec<Side> = servers.iter().map(|_| Side::new()).collect();
        for rep in 0..self.reps {
            let mut order: Vec<usize> = (0..servers.len()).collect();
            if rep % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let s = servers[i];
                let d = self.download(
                    s,
                    &format!("{}-{}", s.name, rep + 1),
                    first,
                    last,
                    &mirror(s),
                )?;
                let wall = d.run.wall.as_secs_f64();
                println!(
                    "    rep {} {:<5}: {wall:.2} s, {:>6.0} req/s, client cpu {:.2} s, {:.0} MiB; server cpu {:.2} s ({:.0} us/request); {}  [{}]",
                    rep + 1,
                    s.name,
                    rps(prefixes, wall),
                    d.run.cpu,
                    mib(d.run.rss),
                    d.server_cpu,
                    d.server_cpu * 1e6 / prefixes as f64,
                    match &d.problem {
                        None => "mirror = corpus".to_string(),
                        Some(p) => format!("PROBLEM: {p}"),
                    },
                    conditions()
                );
                let side = &mut sides[i];
                if let Some(p) = d.problem {
                    side.problem.get_or_insert(p);
                }
                side.runs.push(d.run);
                side.server_cpu.push(d.server_cpu);
            }
        }
        let same = nginx.map(|n| same_mirrors(&mirror(serve), &mirror(n), first, last));
        match &same {
            Some(Ok(())) => println!("  the last serve and nginx mirrors are byte-identical"),
            Some(Err(e)) => println!("  PROBLEM: {e}"),
            None => {}
        }
        match serve_requests(serve) {
            Ok((total, by)) => println!("  serve's /metrics: {} requests: {by}", thousands(total)),
            Err(e) => println!("  serve's /metrics: PROBLEM: {e}"),
        }
        if let Some(m) = memory_of(serve.pid()) {
            println!(
                "  serve's memory now: VmRSS {:.1} MB, RssAnon {:.1} MB, RssFile {:.1} MB",
                mb(m.vm_rss),
                mb(m.rss_anon),
                mb(m.rss_file)
            );
        }

        // The row.
        let serve_side = &sides[0];
        let ours = stats(&serve_side.runs);
        let ours_rps = rps(prefixes, ours.wall);
        let serve_us = median(serve_side.server_cpu.clone()) * 1e6 / prefixes as f64;
        let spot_problem = spot_problems.first().cloned();
        let same_problem = same.and_then(|r| r.err());
        match sides.get(1) {
            Some(nginx_side) => {
                let base = stats(&nginx_side.runs);
                let base_rps = rps(prefixes, base.wall);
                let ratio = ours_rps / base_rps;
                let problems = [
                    &serve_side.problem,
                    &nginx_side.problem,
                    &spot_problem,
                    &same_problem,
                ];
                self.rows.push(Row {
                    scenario: format!(
                        "download {first:05X}-{last:05X}: serve vs nginx gzip_static"
                    ),
                    ours: Some(ours),
                    base: Some(base),
                    ratio: Some(ratio),
                    target: format!(">= {RPS_VS_NGINX}x nginx req/s"),
                    pass: Some(unfailed(&problems) && ratio >= RPS_VS_NGINX),
                    note: note(
                        &problems,
                        format!(
                            "serve {ours_rps:.0} req/s, nginx {base_rps:.0} req/s (medians); server CPU per request: serve {serve_us:.0} us, nginx {:.0} us; s/cpu/MiB columns are the client's",
                            median(nginx_side.server_cpu.clone()) * 1e6 / prefixes as f64
                        ),
                    ),
                });
            }
            None => {
                let ratio = ours_rps / NGINX_QUOTED_RPS;
                let problems = [&serve_side.problem, &spot_problem];
                self.rows.push(Row {
                    scenario: format!("download {first:05X}-{last:05X}: serve (no nginx)"),
                    ours: Some(ours),
                    base: None,
                    ratio: Some(ratio),
                    target: format!(">= {RPS_VS_NGINX}x quoted {NGINX_QUOTED_RPS:.0} req/s"),
                    pass: Some(unfailed(&problems) && ratio >= RPS_VS_NGINX),
                    note: note(
                        &problems,
                        format!(
                            "nginx not measured (absent): against the issue's quoted figure; serve {ours_rps:.0} req/s; server CPU {serve_us:.0} us per request"
                        ),
                    ),
                });
            }
        }
        for &s in &servers {
            remove_dir_if_present(&mirror(s))?;
        }
        Ok(())
    }

    /// A fresh serve, a download of every prefix from it, its memory
    /// sampled meanwhile.
    fn memory(&mut self, store: &Path) -> io::Result<()> {
        let (first, last) = (0, ALL_PREFIXES - 1);
        let prefixes = u64::from(ALL_PREFIXES);
        println!(
            "\n[memory: a fresh serve, download of all {} prefixes, VmRSS/RssAnon/RssFile sampled every {} ms]",
            thousands(prefixes),
            SAMPLE_EVERY.as_millis()
        );
        let mut server = start_serve(&self.exe, store, &self.out_dir, "serve-full")?;
        let pid = server.pid();
        let mirror = self.mirrors.join("mirror-full");
        remove_dir_if_present(&mirror)?;
        // SAFETY: sync has no preconditions.
        unsafe { libc::sync() };
        let stderr = self.out_dir.join("download-full-stderr.txt");
        let mut cmd = self.download_cmd(&server.url, first, last, &mirror);
        println!("  $ {}    [{}]", show(&cmd), conditions());
        cmd.stdout(Stdio::null()).stderr(File::create(&stderr)?);
        std::thread::sleep(Duration::from_secs(1));
        let start = memory_of(pid).unwrap_or_default();
        let cpu_before = server.cpu();
        let stop = AtomicBool::new(false);
        let t0 = Instant::now();
        let (run, samples) = std::thread::scope(|scope| {
            let sampler = scope.spawn(|| {
                let mut samples: Vec<(f64, Mem)> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    if let Some(m) = memory_of(pid) {
                        samples.push((t0.elapsed().as_secs_f64(), m));
                    }
                    std::thread::sleep(SAMPLE_EVERY);
                }
                samples
            });
            let run = measure(&mut cmd);
            stop.store(true, Ordering::Relaxed);
            (run, sampler.join().expect("the sampler does not panic"))
        });
        let run = run?;
        let server_cpu = server.cpu() - cpu_before;
        let end = memory_of(pid).unwrap_or_default();
        std::thread::sleep(Duration::from_secs(2));
        let settled = memory_of(pid).unwrap_or_default();
        let wall = run.wall.as_secs_f64();
        // A few samples along the way, for the log.
        let step = (samples.len() / 10).max(1);
        for (t, m) in samples.iter().step_by(step) {
            println!(
                "    t={t:>6.1} s: VmRSS {:>7.1} MB, RssAnon {:>6.1} MB, RssFile {:>7.1} MB",
                mb(m.vm_rss),
                mb(m.rss_anon),
                mb(m.rss_file)
            );
        }
        // The peaks over the samples and the end.
        let peak = |f: fn(&Mem) -> u64| {
            samples
                .iter()
                .map(|(_, m)| f(m))
                .chain([f(&end)])
                .max()
                .unwrap_or(0)
        };
        let (peak_anon, peak_file, peak_vm) = (
            peak(|m| m.rss_anon),
            peak(|m| m.rss_file),
            peak(|m| m.vm_rss),
        );
        let growth = peak_anon.saturating_sub(start.rss_anon);
        let checked = expect_exit(&run, 0, &stderr)
            .and_then(|()| check_mirror(&self.corpus, &mirror, first, last));
        let metrics = serve_requests(&server);
        let stopped = server.stop();
        let said = text_lines(&server.stderr);
        println!(
            "  download: {wall:.1} s, {:.0} req/s, client cpu {:.1} s, {:.0} MiB; server cpu {server_cpu:.1} s ({:.0} us/request)  [{}]",
            rps(prefixes, wall),
            run.cpu,
            mib(run.rss),
            server_cpu * 1e6 / prefixes as f64,
            conditions()
        );
        match &checked {
            Ok(c) => println!(
                "  mirror = corpus: {} files, {} lines, {:.2} GB",
                thousands(c.files),
                thousands(c.lines),
                gb(c.bytes)
            ),
            Err(e) => println!("  PROBLEM: {e}"),
        }
        match &metrics {
            Ok((total, by)) => println!("  serve's /metrics: {} requests: {by}", thousands(*total)),
            Err(e) => println!("  serve's /metrics: PROBLEM: {e}"),
        }
        println!("  serve stopped: {stopped}; its stderr: {said}");
        let store_bytes = file_len(store);
        println!(
            "  RssAnon: start {:.1} MB, peak {:.1} MB, end {:.1} MB, 2 s later {:.1} MB; peak - start {:.1} MB (target <= {:.0} MB)",
            mb(start.rss_anon),
            mb(peak_anon),
            mb(end.rss_anon),
            mb(settled.rss_anon),
            mb(growth),
            mb(ANON_GROWTH_MAX)
        );
        println!(
            "  VmRSS: start {:.1} MB, peak {:.1} MB, end {:.1} MB; RssFile peak {:.1} MB (the store is {:.1} MB); {} samples",
            mb(start.vm_rss),
            mb(peak_vm),
            mb(end.vm_rss),
            mb(peak_file),
            mb(store_bytes),
            samples.len()
        );
        let check_problem = checked.as_ref().err().cloned();
        let stop_problem =
            (!stopped.contains("exit status: 0")).then(|| format!("serve on SIGTERM: {stopped}"));
        let metrics_problem = metrics.as_ref().err().cloned();
        let problems = [&check_problem, &stop_problem, &metrics_problem];
        self.rows.push(Row {
            scenario: format!("serve memory, download of all {} prefixes", thousands(prefixes)),
            ours: Some(Stats {
                wall,
                rss: run.rss,
                cpu: run.cpu,
            }),
            base: None,
            ratio: None,
            target: format!("RssAnon peak-start <= {:.0} MB", mb(ANON_GROWTH_MAX)),
            pass: Some(unfailed(&problems) && growth <= ANON_GROWTH_MAX),
            note: note(
                &problems,
                format!(
                    "RssAnon start {:.1} / peak {:.1} / end {:.1} MB: +{:.1} MB; VmRSS peak {:.1} MB, RssFile peak {:.1} MB (store {:.1} MB); {:.0} req/s, server CPU {:.0} us/request; s/cpu/MiB columns are the client's",
                    mb(start.rss_anon),
                    mb(peak_anon),
                    mb(end.rss_anon),
                    mb(growth),
                    mb(peak_vm),
                    mb(peak_file),
                    mb(store_bytes),
                    rps(prefixes, wall),
                    server_cpu * 1e6 / prefixes as f64
                ),
            ),
        });
        remove_dir_if_present(&mirror)?;
        Ok(())
    }

    /// `index build --full-keys`, once, timed; reused when present. Checks
    /// the store holds every line and is complete.
    fn build_store(&mut self, store: &Path, lines: u64) -> io::Result<()> {
        println!("\n[index build --full-keys]");
        let mut problem = None;
        let mut timing = None;
        if store.exists() {
            println!("  reusing   {}", store.display());
        } else {
            let stderr = self.out_dir.join("build-stderr.txt");
            let mut cmd = Command::new(&self.exe);
            cmd.args(["index", "build", "-q", "--full-keys", "--out"])
                .arg(store)
                .arg(&self.corpus)
                .stdout(Stdio::null())
                .stderr(File::create(&stderr)?);
            println!("  $ {}    [{}]", show(&cmd), conditions());
            let run = measure(&mut cmd)?;
            if let Err(e) = expect_exit(&run, 0, &stderr) {
                return Err(io::Error::other(format!("index build: {e}")));
            }
            println!(
                "  built in {:.1} s, cpu {:.1} s, {:.0} MiB peak",
                run.wall.as_secs_f64(),
                run.cpu,
                mib(run.rss)
            );
            timing = Some(Stats {
                wall: run.wall.as_secs_f64(),
                rss: run.rss,
                cpu: run.cpu,
            });
        }
        let out = Command::new(&self.exe)
            .args(["index", "info", "--json"])
            .arg(store)
            .output()?;
        let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let entries = info["entries"].as_u64().unwrap_or(0);
        let full = info["full_keys"].as_bool().unwrap_or(false);
        let missing = info["meta"]["missing"].as_array().map_or(0, Vec::len);
        let max_prefix = info["meta"]["max_prefix_entries"].as_u64().unwrap_or(0);
        if !out.status.success() || entries != lines || !full || missing != 0 {
            problem = Some(format!(
                "index info: exit {:?}, {entries} entries (expected {lines}), full_keys {full}, {missing} missing stretches",
                out.status.code()
            ));
        }
        let bytes = file_len(store);
        let facts = format!(
            "{} entries, {:.2} GB ({:.1} bytes/hash), largest prefix {max_prefix} entries",
            thousands(entries),
            gb(bytes),
            bytes as f64 / entries.max(1) as f64
        );
        println!("  {facts}");
        self.rows.push(Row {
            scenario: format!("index build --full-keys {}", count_label(lines)),
            ours: timing,
            base: None,
            ratio: None,
            target: "(report)".into(),
            pass: (problem.is_some()).then_some(false),
            note: note(&[&problem], facts),
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

fn main() -> io::Result<()> {
    // `cargo bench` passes `--bench`; this program takes no arguments.
    let lines = env_u64("CREDAUDIT_SERVE_BENCH_LINES", DEFAULT_LINES).max(1000);
    let reps = env_u64("CREDAUDIT_BENCH_REPS", 3).max(1) as usize;
    let keep = env_flag("CREDAUDIT_BENCH_KEEP");
    let full = std::env::var("CREDAUDIT_SERVE_BENCH_FULL").map_or(true, |v| v != "0");
    let concurrency = std::env::var("CREDAUDIT_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let dir = bench_dir().join("serve-bench");
    fs::create_dir_all(&dir)?;
    let out_dir = std::env::temp_dir().join("credaudit-serve-bench");
    fs::create_dir_all(&out_dir)?;
    let exe = frozen_binary(&out_dir)?;
    let corpus = dir.join(format!("sha1-{}.txt", count_label(lines)));
    let store = dir.join(format!("sha1-{}-full.cas", count_label(lines)));
    // Named by the corpus size: a kept root is only reused with its corpus.
    let docroot = dir.join(format!("nginx-root-{}", count_label(lines)));
    let nginx = find_nginx();

    // Space at the fullest: the corpus, the store (20 bytes a hash, and its
    // build's spill) and the document root (plain and gzip, a block of
    // slack a file) on disk; the mirrors (two of the range, then the full
    // one; a page of slack a file) wherever `mirror_place` puts them.
    let line_bytes = 44.3;
    let suffix_bytes = line_bytes - 5.0;
    let range_prefixes = f64::from(RANGE.1 - RANGE.0 + 1);
    let range_share = range_prefixes / f64::from(ALL_PREFIXES);
    let missing = |p: &Path, bytes: f64| if p.exists() { 0.0 } else { bytes };
    let mirrors_need = 2.0 * (lines as f64 * suffix_bytes * range_share + range_prefixes * 4096.0)
        + if full {
            lines as f64 * suffix_bytes + f64::from(ALL_PREFIXES) * 4096.0
        } else {
            0.0
        };
    let (mirrors, mirrors_why) = mirror_place(&out_dir, mirrors_need);
    let _cleanup = Cleanup {
        dirs: vec![dir.clone(), out_dir.clone()],
        keep,
        always: vec![mirrors.clone()],
    };
    // The same file system as the data: count them in the disk needed.
    let mirrors_parent = mirrors.parent().unwrap_or(&out_dir);
    fs::create_dir_all(mirrors_parent)?;
    let mirrors_on_disk = fs::metadata(mirrors_parent)?.dev() == fs::metadata(&dir)?.dev();
    let need = missing(&corpus, lines as f64 * line_bytes)
        + missing(&store, lines as f64 * 40.0)
        + lines as f64 * suffix_bytes * range_share * 2.0
        + range_prefixes * 4096.0 * 2.0
        + if mirrors_on_disk { mirrors_need } else { 0.0 }
        + DISK_MARGIN as f64;
    let free = free_bytes(&dir)?;
    if (free as f64) < need {
        return Err(io::Error::other(format!(
            "not enough free disk in {}: {:.1} GB free, about {:.1} GB needed ({:.1} left over for others)",
            dir.display(),
            gb(free),
            need / 1e9,
            gb(DISK_MARGIN)
        )));
    }

    println!(
        "credaudit serve benchmark, {}: {} corpus lines ({:.1} per prefix), {reps} reps (median wall, max RSS), {} cores, {:.1} GiB RAM",
        today(),
        count_label(lines),
        lines as f64 / f64::from(ALL_PREFIXES),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mem_total() as f64 / (1u64 << 30) as f64
    );
    println!(
        "disk: {:.1} GB free, about {:.1} GB needed at the fullest",
        gb(free),
        need / 1e9
    );
    println!(
        "data in {} ({}), outputs in {}",
        dir.display(),
        if keep {
            "kept"
        } else {
            "deleted at the end; CREDAUDIT_BENCH_KEEP=1 keeps it"
        },
        out_dir.display()
    );
    println!("mirrors in {} ({mirrors_why})", mirrors.display());
    println!(
        "credaudit binary: {} (copy of {})",
        exe.display(),
        env!("CARGO_BIN_EXE_credaudit")
    );
    println!("built from: {}", source_version());
    match &nginx {
        Some(n) => println!("nginx: {} ({})", n.display(), nginx_version(n)),
        None => println!(
            "nginx: not found (or CREDAUDIT_NGINX=none): the nginx half is skipped; `apt-get install nginx` to run it"
        ),
    }
    println!(
        "client: credaudit download, --concurrency {}",
        concurrency.map_or("32 (its default)".to_string(), |c| c.to_string())
    );

    println!("\n[generating data]");
    let started = Instant::now();
    generate_corpus(&corpus, Kind::Sha1, lines, SEED, &[])?;
    println!(
        "  corpus {:.2} GB; generation time this run: {:.1} s",
        gb(file_len(&corpus)),
        started.elapsed().as_secs_f64()
    );
    let mut bench = Bench {
        exe,
        corpus: corpus.clone(),
        out_dir: out_dir.clone(),
        mirrors: mirrors.clone(),
        reps,
        concurrency,
        rows: Vec::new(),
    };
    bench.build_store(&store, lines)?;
    if nginx.is_some() {
        println!(
            "\n[nginx document root: {:05X}-{:05X}, plain and .gz]",
            RANGE.0, RANGE.1
        );
        write_docroot(&corpus, &docroot, RANGE.0, RANGE.1)?;
    }

    println!("\n[quiet machine?]");
    let quiet = wait_for_quiet();
    println!("  {quiet}; load {}", loadavg());

    println!("\n[servers]");
    let mut serve = start_serve(&bench.exe, &store, &out_dir, "serve")?;
    let mut nginx_server = match &nginx {
        Some(n) => match start_nginx(n, &docroot, &out_dir) {
            Ok(s) => Some(s),
            Err(e) => {
                println!("  nginx did not start, its half is skipped: {e}");
                None
            }
        },
        None => None,
    };
    let spot = [RANGE.0, RANGE.0 + 1, (RANGE.0 + RANGE.1) / 2, RANGE.1];
    bench.throughput(&serve, nginx_server.as_ref(), &spot)?;
    if let Some(n) = nginx_server.as_mut() {
        let stopped = n.stop();
        let errors = text_lines(&n.stderr);
        println!(
            "  nginx stopped: {stopped}; its error log: {}",
            if errors.is_empty() { "empty" } else { &errors }
        );
    }
    let stopped = serve.stop();
    println!(
        "  serve stopped: {stopped}; its stderr: {}",
        text_lines(&serve.stderr)
    );
    if !stopped.contains("exit status: 0") {
        bench.rows.push(Row {
            scenario: "serve stops on SIGTERM".into(),
            ours: None,
            base: None,
            ratio: None,
            target: "exit 0".into(),
            pass: Some(false),
            note: stopped,
        });
    }
    drop(nginx_server);
    drop(serve);

    if full {
        bench.memory(&store)?;
    } else {
        println!("\n[memory run skipped: CREDAUDIT_SERVE_BENCH_FULL=0]");
    }

    println!(
        "\n[results] {} lines; when timing began: {quiet}; download walls are medians of {reps} reps, requests/s = prefixes / wall; ratio = serve req/s over nginx's; MiB = the client's peak RSS (floor now, `true` as the child: {:.1} MiB); load now {}",
        count_label(lines),
        mib(measure_floor()?),
        loadavg()
    );
    print_table(&bench.rows);
    Ok(())
}
