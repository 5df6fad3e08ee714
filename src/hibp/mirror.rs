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
//! so there is nothing for padding to hide) and written in the canonical
//! form of [`crate::hibp::body`]: `SUFFIX:COUNT` CRLF lines sorted by
//! suffix. "Present and parseable" means exactly what `--corpus DIR`
//! accepts: both read prefix files with the same body rules.
//!
//! Unlike the range API cache, the mirror is public data: every prefix is
//! in it, so it says nothing about what was asked. Its files get the
//! ordinary mode (0644 under umask 022), so a mirror kept by a cron user can
//! be read by the auditors.

use crate::atomic_file;
use crate::hash::HashKind;
use crate::hibp::body::SuffixList;
use crate::hibp::client::{ClientOptions, Fetched, Validators};
use crate::hibp::fetch::{with_writer, Fetcher};
use crate::hibp::prefix;
use crate::outcome::{EXIT_CLEAN, EXIT_INCOMPLETE};
use crate::progress::Progress;
use anyhow::{bail, Context, Result};
use indicatif::ProgressStyle;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
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

/// What is on disk for one prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
enum OnDisk {
    Good,
    Missing,
    Bad(String),
}

/// Check one prefix file: present and passing the body rules.
fn check_file(dir: &Path, prefix: u32, kind: HashKind) -> OnDisk {
    match std::fs::read(prefix::file_path(dir, prefix)) {
        Ok(bytes) => match SuffixList::parse(&bytes, kind) {
            Ok(_) => OnDisk::Good,
            Err(e) => OnDisk::Bad(e.to_string()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => OnDisk::Missing,
        Err(e) => OnDisk::Bad(e.to_string()),
    }
}

/// The ETags of a mirror's prefixes.
struct EtagIndex {
    path: PathBuf,
    kind: HashKind,
    etags: BTreeMap<u32, String>,
}

impl EtagIndex {
    /// Load `DIR/.credaudit-mirror`. A mirror of the other hash kind is an
    /// error; an unreadable index only costs ETags (full refetch on refresh).
    fn load(dir: &Path, kind: HashKind) -> Result<EtagIndex> {
        let path = dir.join(INDEX_FILE);
        let mut index = EtagIndex {
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
                if let Ok((prefix, _)) = prefix::parse_range(p) {
                    index.etags.insert(prefix, etag.to_string());
                }
            }
        }
        Ok(index)
    }

    fn save(&self) -> Result<()> {
        atomic_file::write(&self.path, atomic_file::PUBLIC_DATA, |w| {
            writeln!(w, "{INDEX_MAGIC} {}", self.kind)?;
            for (prefix, etag) in &self.etags {
                writeln!(w, "{} {etag}", prefix::hex(*prefix))?;
            }
            Ok(())
        })
    }
}

/// Writes prefix files as they arrive (on the fetch loop's writer
/// thread), keeping their ETags in the index, saved every
/// [`INDEX_SAVE_EVERY`]. A failure to write (a full disk, a read-only
/// directory) is an error, not a gap to retry.
struct PrefixWriter<'a> {
    dir: &'a Path,
    index: &'a mut EtagIndex,
    last_save: Instant,
}

impl PrefixWriter<'_> {
    fn write(&mut self, (prefix, list, etag): (u32, SuffixList, Option<String>)) -> Result<()> {
        let path = prefix::file_path(self.dir, prefix);
        atomic_file::write(&path, atomic_file::PUBLIC_DATA, |w| {
            Ok(w.write_all(list.text())?)
        })
        .with_context(|| format!("cannot write {}", path.display()))?;
        match etag {
            Some(etag) => self.index.etags.insert(prefix, etag),
            None => self.index.etags.remove(&prefix),
        };
        if self.last_save.elapsed() >= INDEX_SAVE_EVERY {
            self.last_save = Instant::now();
            self.index.save()?;
        }
        Ok(())
    }
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
        cfg.client.load_ca_certs()?;
        if let Some(w) = cfg.client.cleartext_warning() {
            progress.warn(&w);
        }
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut index = EtagIndex::load(dir, cfg.kind)?;
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
                prefix::hex(first),
                prefix::hex(last)
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

    let fetcher = Fetcher::new(&cfg.client)?;
    let client = &fetcher.client;
    let bar = progress.bar(todo.len() as u64, "downloading");
    bar.set_style(prefix_style());
    let mut not_modified = 0u64;
    let mut failed: Vec<(u32, String)> = Vec::new();
    let stopped = AtomicBool::new(false);
    let mut writer = PrefixWriter {
        dir,
        index: &mut index,
        last_save: Instant::now(),
    };
    let ((), written) = with_writer(
        |file| writer.write(file),
        |files| {
            fetcher.run(
                &todo,
                |(prefix, validators)| {
                    let stopped = &stopped;
                    async move {
                        if stopped.load(Ordering::Relaxed) {
                            return (*prefix, Err("not fetched: writing failed".into()));
                        }
                        let r = client
                            .fetch(*prefix, cfg.kind, false, validators.as_ref())
                            .await;
                        (*prefix, r)
                    }
                },
                |(prefix, fetched)| {
                    match fetched {
                        Ok(Fetched::Fresh { list, validators }) => {
                            // Fails only if the writer stopped on an error
                            // (reported below): then fetch no more.
                            if files.send((prefix, list, validators.etag)).is_err() {
                                stopped.store(true, Ordering::Relaxed);
                            }
                        }
                        Ok(Fetched::NotModified) => not_modified += 1,
                        Err(reason) => failed.push((prefix, reason)),
                    }
                    bar.inc(1);
                    if let Some(rates) = fetcher.progress_due() {
                        bar.set_message(format!("downloading: {rates}"));
                    }
                },
            )
        },
    );
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
        eprintln!(
            "credaudit: mirror {}: {} of {total} prefixes present; {written} fetched, {not_modified} not modified, {} kept; {} in {secs:.1} s",
            dir.display(),
            total - holes.len() as u64,
            total - todo.len() as u64,
            fetcher.rates(),
        );
    }
    if let Some((prefix, reason)) = stale.first() {
        eprintln!(
            "credaudit: warning: {} prefix(es) could not be refreshed and keep their previous file (first: {}: {reason})",
            stale.len(),
            prefix::hex(*prefix)
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
            prefix::file_path(dir, *p).display()
        ));
    }
    if let Some((p, reason)) = bad.first() {
        parts.push(format!(
            "{} failed or unparseable (first: {}: {reason})",
            bad.len(),
            prefix::file_path(dir, *p).display()
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
    atomic_file::write(path, atomic_file::PUBLIC_DATA, |w| {
        for prefix in first..=last {
            let file = prefix::file_path(&cfg.out, prefix);
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let list = SuffixList::parse(&bytes, cfg.kind)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let hex = prefix::hex(prefix);
            for line in list.text().split_inclusive(|&b| b == b'\n') {
                w.write_all(hex.as_bytes())?;
                w.write_all(line)?;
            }
        }
        Ok(())
    })
    .with_context(|| format!("cannot write {}", path.display()))
}
