//! Benchmark of the range API client (`--api`) and of `credaudit download`
//! against the loopback range API of the tests, with a fixed delay per
//! request standing in for the network.
//!
//! Run with `cargo bench --bench api`. It:
//! 1. starts the server in-process on 127.0.0.1 (`tests/api_server`), with
//!    `CREDAUDIT_BENCH_DELAY_MS` (default 2) of delay per request and
//!    `CREDAUDIT_BENCH_FILLER` (default 16) lines per prefix;
//! 2. audits an export of 100,000 accounts whose SHA-1 hashes fall in
//!    100,000 distinct prefixes (every 100th one planted in the corpus),
//!    without a cache, then twice with one (cold, then warm), timing each as
//!    a child process (wall time, peak RSS from `wait4`) and checking the
//!    flagged accounts and request counts;
//! 3. mirrors all 1,048,576 prefixes with `credaudit download` into a
//!    temporary directory, checks it with `--verify`, and times both.
//!
//! `CREDAUDIT_BENCH_SCALE=N` divides the prefix counts by N for a smoke run;
//! `CREDAUDIT_BENCH_NO_DOWNLOAD=1` skips the mirror;
//! `CREDAUDIT_BENCH_CONCURRENCY` (default 64) is passed as `--concurrency`.
//! Figures are printed beside the targets (5,000 requests/s; the whole
//! download under 5 minutes).

#[path = "../tests/api_server/mod.rs"]
mod api_server;
mod common;

use api_server::{Mode, Options, Server};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const TARGET_RPS: f64 = 5000.0;
const TARGET_DOWNLOAD: Duration = Duration::from_secs(300);
/// Every `PLANT_EVERY`-th account's hash is in the corpus.
const PLANT_EVERY: u64 = 100;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Measured {
    wall: Duration,
    /// User plus system CPU time of the child.
    cpu: Duration,
    /// CPU time of the in-process server meanwhile.
    server_cpu: Duration,
    rss_mib: f64,
    code: i32,
}

/// Run the child, with this process's (the server's) CPU time meanwhile.
fn measure(cmd: &mut Command) -> Measured {
    let server_cpu = own_cpu();
    let run = common::measure(cmd.stdout(Stdio::null()).stderr(Stdio::inherit()))
        .expect("spawn credaudit");
    Measured {
        wall: run.wall,
        cpu: Duration::from_secs_f64(run.cpu),
        server_cpu: own_cpu() - server_cpu,
        rss_mib: run.rss as f64 / 1048576.0,
        code: match run.exit {
            common::Exit::Code(c) => c,
            common::Exit::Signal(_) => -1,
        },
    }
}

/// This process's own peak RSS: a floor under every child's figure (a child
/// starts in this address space until it execs).
fn own_peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU time this process (the server) has used so far.
fn own_cpu() -> Duration {
    // SAFETY: rusage is plain old data; zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000)
}

fn credaudit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_credaudit"))
}

/// An export of `n` accounts with SHA-1 hashes in `n` distinct prefixes,
/// spread over the whole range; every `PLANT_EVERY`-th is planted.
fn write_export(path: &Path, n: u64, server: &Server) -> u64 {
    let stride = (1u64 << 20) / n;
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "email,sha1").unwrap();
    let mut planted = 0;
    for i in 0..n {
        let hash = format!(
            "{:05X}{:016X}{:016X}{:03X}",
            i * stride,
            i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            i ^ 0xABCD,
            i & 0xFFF
        );
        writeln!(w, "user{i}@example.com,{hash}").unwrap();
        if i.is_multiple_of(PLANT_EVERY) {
            server.add(Mode::Sha1, &hash, 1000 + i);
            planted += 1;
        }
    }
    w.flush().unwrap();
    planted
}

fn summary_requests(path: &Path) -> serde_json::Value {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    s["sources"][0]["lookups"][0]["requests"].clone()
}

fn flagged(path: &Path) -> u64 {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    s["accounts_flagged"]["pwned"].as_u64().unwrap_or(0)
}

fn main() {
    let scale = env_u64("CREDAUDIT_BENCH_SCALE", 1).max(1);
    let delay = Duration::from_millis(env_u64("CREDAUDIT_BENCH_DELAY_MS", 2));
    let filler = env_u64("CREDAUDIT_BENCH_FILLER", 16) as usize;
    let concurrency = env_u64("CREDAUDIT_BENCH_CONCURRENCY", 64).to_string();
    let accounts = 100_000 / scale;
    let prefixes = (1u64 << 20) / scale;
    let server = Server::with(Options {
        filler,
        delay,
        record: false,
        workers: 1,
        // Compressing every response would be the server's cost, not the
        // client's; the real API's CDN serves stored compressed bodies.
        gzip: false,
        tls: None,
    });
    let work = tempfile::Builder::new()
        .prefix("credaudit-api-bench-")
        .tempdir_in(std::env::temp_dir())
        .unwrap();
    let export = work.path().join("export.csv");
    let planted = write_export(&export, accounts, &server);
    println!(
        "range API benchmark: loopback server, {} ms per request, {filler} lines per prefix, no compression, --concurrency {concurrency}, {} cores",
        delay.as_millis(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "bench process peak RSS (floor under child figures): {:.0} MiB",
        own_peak_mib()
    );
    println!();
    println!(
        "{:<40} {:>8} {:>8} {:>8} {:>8} {:>8} {:>14}",
        "scenario", "wall s", "CPU s", "srv CPU", "req/s", "RSS MiB", "target"
    );
    let summary = work.path().join("s.json");
    let cache = work.path().join("cache");
    let audit = |cache_args: &[&str]| {
        let before = server.requests();
        let m = measure(
            credaudit()
                .args(["audit", "--quiet", "--concurrency", &concurrency])
                .arg(&export)
                .arg(format!("--api={}", server.url))
                .arg("--summary")
                .arg(&summary)
                .args(cache_args),
        );
        assert_eq!(m.code, 1, "audit exits 1 (accounts flagged)");
        assert_eq!(
            flagged(&summary),
            planted,
            "exactly the planted accounts flagged"
        );
        let requests = summary_requests(&summary);
        assert_eq!(requests["prefixes"], accounts);
        assert_eq!(requests["failed_prefixes"], 0);
        (m, server.requests() - before)
    };
    let cache_dir = cache.to_str().unwrap();
    for (name, args) in [
        ("audit, 100k prefixes, --no-cache", vec!["--no-cache"]),
        (
            "audit, 100k prefixes, cold cache",
            vec!["--cache-dir", cache_dir],
        ),
        (
            "audit, 100k prefixes, warm cache",
            vec!["--cache-dir", cache_dir],
        ),
    ] {
        let (m, served) = audit(&args);
        let rps = served as f64 / m.wall.as_secs_f64();
        let target = if served > 0 {
            format!(">= {TARGET_RPS:.0} req/s")
        } else {
            "(no requests)".to_string()
        };
        println!(
            "{name:<40} {:>8.2} {:>8.2} {:>8.2} {:>8.0} {:>8.0} {target:>14}",
            m.wall.as_secs_f64(),
            m.cpu.as_secs_f64(),
            m.server_cpu.as_secs_f64(),
            rps,
            m.rss_mib
        );
        if served > 0 {
            assert_eq!(served, accounts, "one request per prefix");
        }
    }

    if std::env::var_os("CREDAUDIT_BENCH_NO_DOWNLOAD").is_some() {
        return;
    }
    let mirror = work.path().join("mirror");
    let last = format!("{:05X}", prefixes - 1);
    let before = server.requests();
    let m = measure(
        credaudit()
            .args([
                "download",
                "--quiet",
                "--concurrency",
                &concurrency,
                "--prefixes",
            ])
            .arg(format!("00000-{last}"))
            .arg("--out")
            .arg(&mirror)
            .arg(format!("--api={}", server.url)),
    );
    assert_eq!(m.code, 0, "download complete");
    let served = server.requests() - before;
    assert_eq!(served, prefixes);
    println!(
        "{:<40} {:>8.2} {:>8.2} {:>8.2} {:>8.0} {:>8.0} {:>14}",
        format!("download, {prefixes} prefixes"),
        m.wall.as_secs_f64(),
        m.cpu.as_secs_f64(),
        m.server_cpu.as_secs_f64(),
        served as f64 / m.wall.as_secs_f64(),
        m.rss_mib,
        format!("< {} s", TARGET_DOWNLOAD.as_secs() / scale)
    );
    let m = measure(
        credaudit()
            .args(["download", "--verify", "--quiet", "--prefixes"])
            .arg(format!("00000-{last}"))
            .arg("--out")
            .arg(&mirror),
    );
    assert_eq!(m.code, 0, "mirror verifies");
    println!(
        "{:<40} {:>8.2} {:>8.2} {:>8} {:>8} {:>8.0} {:>14}",
        "download --verify of the mirror",
        m.wall.as_secs_f64(),
        m.cpu.as_secs_f64(),
        "-",
        "-",
        m.rss_mib,
        ""
    );
}
