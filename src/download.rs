//! `credaudit download`: mirror the Pwned Passwords range API into the
//! per-prefix directory that `--corpus DIR` reads, for teams that audit often
//! or audit more accounts than the API is kind to.
//!
//! The mirror is built to be trusted and to be resumed:
//! - every prefix file is parsed in full before it is written, and written
//!   atomically (temporary file, rename), so a killed run leaves whole files;
//! - a rerun first checks what is already there (present and parseable) and
//!   fetches only the rest; `--refresh` revalidates what is there with the
//!   ETags kept in `DIR/.credaudit-mirror`, so unchanged prefixes cost a 304;
//! - at the end every prefix of the range must be present and parseable, or
//!   the run says which are not and exits 3: a mirror with holes would make
//!   accounts look clean. `--verify` does only this check.
//!
//! Responses are requested without padding (the mirror fetches every prefix,
//! so there is nothing for padding to hide) and written as `SUFFIX:COUNT`
//! CRLF lines sorted by suffix.

use crate::hash::HashKind;
use crate::outcome::{EXIT_CLEAN, EXIT_INCOMPLETE};
use crate::progress::Progress;
use crate::range_client::{
    prefix_hex, replace_file, ClientOptions, Fetched, Range, RangeClient, Stats, Validators,
};
use crate::report::atomic;
use anyhow::{bail, Context, Result};
use futures_util::StreamExt;
use indicatif::ProgressStyle;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::time::{Duration, Instant};

/// The mirror's index of ETags, and of which hash kind it holds.
const INDEX_FILE: &str = ".credaudit-mirror";
const INDEX_MAGIC: &str = "credaudit mirror v1";
/// How often the ETag index is saved while downloading.
const INDEX_SAVE_EVERY: Duration = Duration::from_secs(30);

/// A validated `credaudit download` configuration.
#[derive(Clone, Debug)]
pub struct DownloadConfig {
    pub out: PathBuf,
    pub kind: HashKind,
    pub client: ClientOptions,
    /// First and last prefix of the range, inclusive.
    pub prefixes: (u32, u32),
    /// Only check the mirror; fetch nothing.
    pub verify_only: bool,
    /// Revalidate prefixes already present (If-None-Match with their ETag).
    pub refresh: bool,
    /// Also write one sorted `HASH:COUNT` file of the range.
    pub sorted_file: Option<PathBuf>,
    pub quiet: bool,
}

/// `00000-0FFFF`, or one prefix `5BAA6`.
pub fn parse_prefix_range(s: &str) -> Result<(u32, u32), String> {
    let one = |p: &str| {
        if p.len() == 5 && crate::hash::is_hex(p.as_bytes()) {
            Ok(u32::from_str_radix(p, 16).expect("5 hex digits"))
        } else {
            Err(format!(
                "{p:?} is not a 5-hex-digit prefix (00000 to FFFFF)"
            ))
        }
    };
    let (first, last) = match s.split_once('-') {
        Some((a, b)) => (one(a)?, one(b)?),
        None => (one(s)?, one(s)?),
    };
    if first > last {
        return Err(format!("prefix range {s:?} ends before it starts"));
    }
    Ok((first, last))
}

/// What is on disk for one prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
enum OnDisk {
    Good,
    Missing,
    Bad(String),
}

fn prefix_path(dir: &Path, prefix: u32) -> PathBuf {
    dir.join(format!("{}.txt", prefix_hex(prefix)))
}

/// Check one prefix file: present, parseable and sorted.
fn check_file(dir: &Path, prefix: u32, kind: HashKind) -> OnDisk {
    match std::fs::read(prefix_path(dir, prefix)) {
        Ok(bytes) => match Range::parse(&bytes, kind) {
            Ok(r) if r.was_sorted() => OnDisk::Good,
            Ok(_) => OnDisk::Bad("not sorted by suffix".into()),
            Err(e) => OnDisk::Bad(e),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => OnDisk::Missing,
        Err(e) => OnDisk::Bad(e.to_string()),
    }
}

/// The ETags of a mirror's prefixes.
struct Index {
    path: PathBuf,
    kind: HashKind,
    etags: BTreeMap<u32, String>,
}

impl Index {
    /// Load `DIR/.credaudit-mirror`. A mirror of the other hash kind is an
    /// error; an unreadable index only costs ETags (full refetch on refresh).
    fn load(dir: &Path, kind: HashKind) -> Result<Index> {
        let path = dir.join(INDEX_FILE);
        let mut index = Index {
            path,
            kind,
            etags: BTreeMap::new(),
        };
        let Ok(text) = std::fs::read_to_string(&index.path) else {
            return Ok(index);
        };
        let mut lines = text.lines();
        match lines.next().and_then(|l| l.strip_prefix(INDEX_MAGIC)) {
            Some(k) if k.trim() == kind.name() => {}
            Some(k) => bail!(
                "{} is a mirror of {} hashes, not {kind}: use another --out directory",
                dir.display(),
                k.trim()
            ),
            None => return Ok(index),
        }
        for line in lines {
            if let Some((p, etag)) = line.split_once(' ') {
                if let Ok((prefix, _)) = parse_prefix_range(p) {
                    index.etags.insert(prefix, etag.to_string());
                }
            }
        }
        Ok(index)
    }

    fn save(&self) -> Result<()> {
        atomic::write(&self.path, |w| {
            writeln!(w, "{INDEX_MAGIC} {}", self.kind)?;
            for (prefix, etag) in &self.etags {
                writeln!(w, "{} {etag}", prefix_hex(*prefix))?;
            }
            Ok(())
        })
    }
}

/// Write prefix files as they arrive, each atomically, keeping their ETags
/// in the index (saved every [`INDEX_SAVE_EVERY`]); returns how many were
/// written. Stops at the first failure to write (a full disk, a read-only
/// directory): that is an error, not a gap to retry.
fn write_prefixes(
    dir: &Path,
    index: &mut Index,
    files: Receiver<(u32, Range, Option<String>)>,
) -> Result<u64> {
    let mut written = 0;
    let mut last_save = Instant::now();
    for (prefix, range, etag) in files {
        let path = prefix_path(dir, prefix);
        replace_file(&path, |w| w.write_all(range.text()))
            .with_context(|| format!("cannot write {}", path.display()))?;
        written += 1;
        match etag {
            Some(etag) => index.etags.insert(prefix, etag),
            None => index.etags.remove(&prefix),
        };
        if last_save.elapsed() >= INDEX_SAVE_EVERY {
            last_save = Instant::now();
            index.save()?;
        }
    }
    Ok(written)
}

/// Run `credaudit download`; returns the exit code (0 complete, 3 not).
pub fn run(cfg: &DownloadConfig) -> Result<u8> {
    let started = Instant::now();
    let progress = Progress::new(cfg.quiet);
    let dir = &cfg.out;
    if cfg.verify_only {
        if !dir.is_dir() {
            bail!("{} is not a directory", dir.display());
        }
    } else {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut index = Index::load(dir, cfg.kind)?;
    let (first, last) = cfg.prefixes;
    let total = u64::from(last - first + 1);

    let scan = progress.bar(total, "checking mirror");
    scan.set_style(prefix_style());
    let states: Vec<OnDisk> = (first..=last)
        .into_par_iter()
        .map(|p| {
            let s = check_file(dir, p, cfg.kind);
            scan.inc(1);
            s
        })
        .collect();
    scan.finish_and_clear();
    let state = |p: u32| &states[(p - first) as usize];

    if cfg.verify_only {
        let holes: Vec<(u32, &OnDisk)> = (first..=last)
            .map(|p| (p, state(p)))
            .filter(|(_, s)| **s != OnDisk::Good)
            .collect();
        if !holes.is_empty() {
            report_holes(dir, &holes, total);
            return Ok(EXIT_INCOMPLETE);
        }
        if !cfg.quiet {
            eprintln!(
                "credaudit: mirror {}: all {total} prefixes {}-{} present and parseable",
                dir.display(),
                prefix_hex(first),
                prefix_hex(last)
            );
        }
        write_sorted(cfg)?;
        return Ok(EXIT_CLEAN);
    }

    let todo: Vec<(u32, Option<Validators>)> = (first..=last)
        .filter_map(|p| match state(p) {
            OnDisk::Good if !cfg.refresh => None,
            OnDisk::Good => Some((
                p,
                index.etags.get(&p).map(|etag| Validators {
                    etag: Some(etag.clone()),
                    last_modified: None,
                }),
            )),
            OnDisk::Missing | OnDisk::Bad(_) => Some((p, None)),
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let _entered = runtime.enter();
    let client = RangeClient::new(&cfg.client)?;
    let bar = progress.bar(todo.len() as u64, "downloading");
    bar.set_style(prefix_style());
    let fetch_started = Instant::now();
    let mut shown = Instant::now();
    let mut not_modified = 0u64;
    let mut failed: Vec<(u32, String)> = Vec::new();
    // Files are written on their own thread: creating a million files is
    // slow on some filesystems and must not stall the requests in flight.
    let (files, to_write) = sync_channel::<(u32, Range, Option<String>)>(1024);
    let stopped = AtomicBool::new(false);
    let written = std::thread::scope(|scope| {
        let index = &mut index;
        let writer = scope.spawn(move || write_prefixes(dir, index, to_write));
        let files = files;
        runtime.block_on(
            futures_util::stream::iter(&todo)
                .map(|(prefix, validators)| {
                    let (client, stopped) = (&client, &stopped);
                    async move {
                        if stopped.load(Ordering::Relaxed) {
                            return (*prefix, Err("not fetched: writing failed".into()));
                        }
                        let r = client
                            .fetch(*prefix, cfg.kind, false, validators.as_ref())
                            .await;
                        (*prefix, r)
                    }
                })
                .buffer_unordered(cfg.client.concurrency.max(1))
                .for_each(|(prefix, fetched)| {
                    match fetched {
                        Ok(Fetched::Fresh { range, validators }) => {
                            // Fails only if the writer stopped on an error
                            // (reported below): then fetch no more.
                            if files.send((prefix, range, validators.etag)).is_err() {
                                stopped.store(true, Ordering::Relaxed);
                            }
                        }
                        Ok(Fetched::NotModified) => not_modified += 1,
                        Err(reason) => failed.push((prefix, reason)),
                    }
                    bar.inc(1);
                    if shown.elapsed() >= Duration::from_millis(200) {
                        shown = Instant::now();
                        bar.set_message(fetch_message(&client.stats, fetch_started));
                    }
                    std::future::ready(())
                }),
        );
        drop(files);
        writer.join().expect("the writer does not panic")
    });
    bar.finish_and_clear();
    let written = written?;
    index.save()?;

    failed.sort();
    let stale: Vec<&(u32, String)> = failed
        .iter()
        .filter(|(p, _)| *state(*p) == OnDisk::Good)
        .collect();
    let holes: Vec<(u32, OnDisk)> = failed
        .iter()
        .filter(|(p, _)| *state(*p) != OnDisk::Good)
        .map(|(p, reason)| (*p, OnDisk::Bad(reason.clone())))
        .collect();
    if !cfg.quiet {
        let secs = started.elapsed().as_secs_f64();
        let requests = Stats::get(&client.stats.requests);
        eprintln!(
            "credaudit: mirror {}: {} of {total} prefixes present; {written} fetched, {not_modified} not modified, {} kept; {requests} requests ({:.0}/s), {} retries, {:.1} MB in {secs:.1} s",
            dir.display(),
            total - holes.len() as u64,
            total - todo.len() as u64,
            requests as f64 / fetch_started.elapsed().as_secs_f64().max(1e-3),
            Stats::get(&client.stats.retries),
            Stats::get(&client.stats.bytes) as f64 / 1e6,
        );
    }
    if let Some((prefix, reason)) = stale.first() {
        eprintln!(
            "credaudit: warning: {} prefix(es) could not be refreshed and keep their previous file (first: {}: {reason})",
            stale.len(),
            prefix_hex(*prefix)
        );
    }
    if !holes.is_empty() {
        let holes: Vec<(u32, &OnDisk)> = holes.iter().map(|(p, s)| (*p, s)).collect();
        report_holes(dir, &holes, total);
        return Ok(EXIT_INCOMPLETE);
    }
    write_sorted(cfg)?;
    Ok(if stale.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_INCOMPLETE
    })
}

fn prefix_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg} [{bar:30}] {human_pos}/{human_len} prefixes [eta {eta}]")
        .expect("valid template")
        .progress_chars("=> ")
}

fn fetch_message(stats: &Stats, since: Instant) -> String {
    let requests = Stats::get(&stats.requests);
    format!(
        "downloading: {:.0} req/s, {:.1} MB, {} retries",
        requests as f64 / since.elapsed().as_secs_f64().max(1e-3),
        Stats::get(&stats.bytes) as f64 / 1e6,
        Stats::get(&stats.retries)
    )
}

/// Say which prefixes are missing or unparseable (an error: the mirror is
/// not complete).
fn report_holes(dir: &Path, holes: &[(u32, &OnDisk)], total: u64) {
    let missing: Vec<u32> = holes
        .iter()
        .filter(|(_, s)| **s == OnDisk::Missing)
        .map(|(p, _)| *p)
        .collect();
    let bad: Vec<(u32, &str)> = holes
        .iter()
        .filter_map(|(p, s)| match s {
            OnDisk::Bad(reason) => Some((*p, reason.as_str())),
            _ => None,
        })
        .collect();
    let mut parts = Vec::new();
    if let Some(p) = missing.first() {
        parts.push(format!(
            "{} missing (first: {})",
            missing.len(),
            prefix_path(dir, *p).display()
        ));
    }
    if let Some((p, reason)) = bad.first() {
        parts.push(format!(
            "{} failed or unparseable (first: {}: {reason})",
            bad.len(),
            prefix_path(dir, *p).display()
        ));
    }
    eprintln!(
        "credaudit: error: mirror {} incomplete: {} of {total} prefixes not usable: {}; run `credaudit download` again to fetch them",
        dir.display(),
        holes.len(),
        parts.join(", ")
    );
}

/// `--sorted-file`: the range's prefix files concatenated in order as full
/// `HASH:COUNT` lines, one file `--corpus FILE` can read. Only called on a
/// complete range.
fn write_sorted(cfg: &DownloadConfig) -> Result<()> {
    let Some(path) = &cfg.sorted_file else {
        return Ok(());
    };
    let (first, last) = cfg.prefixes;
    atomic::write(path, |w| {
        for prefix in first..=last {
            let file = prefix_path(&cfg.out, prefix);
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let range = Range::parse(&bytes, cfg.kind)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let hex = prefix_hex(prefix);
            for line in range.text().split_inclusive(|&b| b == b'\n') {
                w.write_all(hex.as_bytes())?;
                w.write_all(line)?;
            }
        }
        Ok(())
    })
    .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ranges() {
        assert_eq!(parse_prefix_range("00000-0FFFF"), Ok((0, 0xFFFF)));
        assert_eq!(parse_prefix_range("5baa6"), Ok((0x5BAA6, 0x5BAA6)));
        let all = crate::range_client::PREFIXES - 1;
        assert_eq!(parse_prefix_range("00000-FFFFF"), Ok((0, all)));
        assert!(parse_prefix_range("0FFFF-00000").is_err());
        assert!(parse_prefix_range("0FFF-10000").is_err());
        assert!(parse_prefix_range("0FFFG").is_err());
    }
}
