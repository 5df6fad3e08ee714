//! The run identity: one digest that is equal in every shard of one audit
//! and differs as soon as anything that changes the answers differs, so
//! that `credaudit merge` refuses a shard of another run.
//!
//! It digests, with SHA-256:
//! * the credaudit version;
//! * the options, normalised: the validated configuration with what is
//!   per shard or per host taken out (`--shard`, `-o`, `--summary`,
//!   `--html`, `--quiet`, the cache directories) and the `--admins` names sorted. New
//!   options are part of it without anyone having to remember them;
//! * every file the answers depend on (exports, corpora, wordlists, banned
//!   words, combolists), by the path as given, its size and a SHA-256 of
//!   65 sampled 4 KiB blocks (the whole file below 260 KiB; the same
//!   sampling that identifies a verified corpus, [`crate::source::corpus_stamp`]).
//!   Sampling, not a full digest, because combolists and corpora run to tens
//!   of GB and each shard would read them once more just for this; not the
//!   modification time, because each node of a cluster may hold its own
//!   copy. A directory (a per-prefix mirror) is known by its path, standard
//!   input by `-`: neither can be sampled without reading it.

use crate::audit::AuditConfig;
use crate::source::corpus_stamp::sampled_sha256;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The identity of the run `cfg` describes, in lower-case hex.
pub fn run_id(cfg: &AuditConfig) -> Result<String> {
    let mut digest = Sha256::new();
    digest.update(concat!("credaudit ", env!("CARGO_PKG_VERSION"), "\n"));
    let mut normal = cfg.clone();
    normal.shard = None;
    normal.output = None;
    normal.summary = None;
    normal.html = None;
    normal.quiet = false;
    normal.sources.verify.stamps = None;
    if let Some(api) = &mut normal.sources.api {
        api.cache = None;
    }
    let mut admins: Vec<Vec<u8>> = std::mem::take(&mut normal.policy.admins)
        .into_iter()
        .collect();
    admins.sort();
    digest.update(format!("{normal:?}\nadmins {admins:?}\n"));
    let files = cfg
        .inputs
        .iter()
        .chain(&cfg.sources.corpora)
        .chain(&cfg.sources.wordlists)
        .chain(&cfg.sources.banned)
        .chain(cfg.combolist.iter().flat_map(|c| &c.paths));
    for path in files {
        digest.update(file_identity(path)?);
    }
    Ok(crate::hash::encode_hex(&digest.finalize()).to_ascii_lowercase())
}

/// One line naming `path` and its sampled content.
fn file_identity(path: &Path) -> Result<String> {
    if path.as_os_str() == "-" {
        return Ok("stdin -\n".to_string());
    }
    let cannot = || format!("cannot read {}", path.display());
    let meta = std::fs::metadata(path).with_context(cannot)?;
    if !meta.is_file() {
        return Ok(format!("dir {path:?}\n"));
    }
    let sampled = if meta.len() == 0 {
        sampled_sha256(&[])
    } else {
        let file = std::fs::File::open(path).with_context(cannot)?;
        // SAFETY: read-only and only sampled; a file changed underneath
        // gives another digest, which is what a changed file should give.
        let map = unsafe { memmap2::Mmap::map(&file) }.with_context(cannot)?;
        sampled_sha256(&map)
    };
    Ok(format!("file {path:?} {} {sampled}\n", meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_known_by_its_content_not_its_times() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        std::fs::write(&p, "email,password\na,b\n").unwrap();
        let first = file_identity(&p).unwrap();
        std::fs::write(&p, "email,password\na,b\n").unwrap();
        assert_eq!(file_identity(&p).unwrap(), first);
        std::fs::write(&p, "email,password\na,c\n").unwrap();
        assert_ne!(file_identity(&p).unwrap(), first);
        assert_eq!(file_identity(Path::new("-")).unwrap(), "stdin -\n");
    }
}
