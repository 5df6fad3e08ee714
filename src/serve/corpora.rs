//! The data `serve` answers from: at most one SHA-1 and one NTLM store,
//! each with the validators its responses carry.
//!
//! Everything is served from a `--full-keys` store, whose every line was
//! checked when it was built and whose coverage is recorded. A sorted text
//! corpus or a mirror directory is compiled into a temporary one at start
//! (one stderr line says so; build it once with `index build --full-keys`
//! to start at once). Holes in such a source are accepted
//! (`--allow-missing`): those prefixes answer 503, never an empty 200. A
//! store with truncated keys cannot give back suffixes and is refused.

use crate::hash::HashKind;
use crate::store::build::{self, BuildOptions};
use crate::store::{is_store, PrefixLines, Store};
use anyhow::{bail, Context, Result};
use indicatif::ProgressBar;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One store being served.
pub struct Corpus {
    store: Store,
    /// Weak ETag of every response: the store's identity (its checksummed
    /// table, coverage and meta, and its block checksums).
    pub etag: String,
    /// The newest source file's modification time (whole seconds), else the
    /// build time.
    pub modified: SystemTime,
    pub last_modified: String,
    /// The most lines any prefix has: what padding fills every response to.
    pub max_prefix_entries: u64,
}

impl Corpus {
    fn new(store: Store) -> Corpus {
        let header = store.header();
        let meta = store.meta();
        let identity = xxhash_rust::xxh3::xxh3_64(
            &[
                header.tail_digest.to_le_bytes(),
                header.checksums_digest.to_le_bytes(),
            ]
            .concat(),
        );
        let newest = meta
            .sources
            .iter()
            .filter_map(|s| s.modified_unix)
            .max()
            .unwrap_or(meta.built_unix);
        let modified = UNIX_EPOCH + Duration::from_secs(newest);
        Corpus {
            etag: format!("W/\"{identity:016x}\""),
            last_modified: httpdate::fmt_http_date(modified),
            modified,
            max_prefix_entries: meta.max_prefix_entries,
            store,
        }
    }

    pub fn kind(&self) -> HashKind {
        self.store.header().shape.kind
    }

    pub fn entries(&self) -> u64 {
        self.store.header().entries
    }

    /// The range body of `prefix`, appended to `out`.
    pub fn prefix_lines(&self, prefix: u32, out: &mut Vec<u8>) -> Result<PrefixLines> {
        self.store.prefix_lines(prefix, out)
    }
}

/// The SHA-1 and NTLM corpora.
#[derive(Default)]
pub struct Corpora {
    pub sha1: Option<Corpus>,
    pub ntlm: Option<Corpus>,
}

impl Corpora {
    /// Open (or compile) every source; `note` receives the lines that say
    /// what was compiled and what is missing.
    pub fn open(paths: &[PathBuf], note: &mut dyn FnMut(String)) -> Result<Corpora> {
        let mut corpora = Corpora::default();
        for path in paths {
            let corpus = Corpus::new(open_store(path, note)?);
            let missing = &corpus.store.meta().missing;
            if !missing.is_empty() {
                note(format!(
                    "{} has no data for {} stretch(es) of hash space (first {}): those prefixes answer 503",
                    path.display(),
                    missing.len(),
                    missing[0]
                ));
            }
            let slot = match corpus.kind() {
                HashKind::Sha1 => &mut corpora.sha1,
                HashKind::Ntlm => &mut corpora.ntlm,
            };
            if slot.is_some() {
                bail!(
                    "{}: a second {} corpus; serve takes one SHA-1 and one NTLM source",
                    path.display(),
                    corpus.kind()
                );
            }
            *slot = Some(corpus);
        }
        Ok(corpora)
    }

    pub fn get(&self, kind: HashKind) -> Option<&Corpus> {
        match kind {
            HashKind::Sha1 => self.sha1.as_ref(),
            HashKind::Ntlm => self.ntlm.as_ref(),
        }
    }
}

/// A `--full-keys` store: `path` itself, or compiled from it into a
/// temporary file that is unlinked once mapped.
fn open_store(path: &Path, note: &mut dyn FnMut(String)) -> Result<Store> {
    if !path.exists() {
        bail!("{}: no such file or directory", path.display());
    }
    if is_store(path) {
        let store = Store::open(path)?;
        if !store.header().shape.full_keys {
            bail!(
                "store {} keeps {}-bit keys, which cannot give back the 35-hex suffixes the range API returns; rebuild it with `credaudit index build --full-keys`",
                path.display(),
                store.header().shape.key_bits()
            );
        }
        return Ok(store);
    }
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("credaudit-serve-")
        .tempdir()
        .context("cannot create a temporary directory for the compiled store ($TMPDIR)")?;
    let out = dir.path().join("corpus.store");
    let options = BuildOptions {
        out: out.clone(),
        sources: vec![path.to_path_buf()],
        full_keys: true,
        min_count: 1,
        allow_missing: true,
    };
    build::build(&options, &ProgressBar::hidden())?;
    let store = Store::open(&out)?;
    note(format!(
        "compiled {} into a temporary store in {:.1} s (build one with `credaudit index build --full-keys` to start at once)",
        path.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(store)
}
