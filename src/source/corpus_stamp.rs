//! Verify once, trust after: the record that a sorted corpus file was
//! checked line by line.
//!
//! A lookup by interpolation search reads only the few lines it probes, so a
//! corrupt or out-of-order line elsewhere would go unseen and the hashes
//! around it would be mis-searched. The first time a file is used, every
//! line is checked in one parallel streaming pass; the verdict (line count
//! and coverage gaps) is kept here, in a small JSON file under the cache
//! directory, keyed by device and inode and bound to the file's size,
//! modification time and a digest of sampled blocks. Later runs on the same,
//! unchanged file skip the pass. A file that changed in any of those ways is
//! verified again. Only good verdicts are stored: a failed pass is an error
//! every time until the file is fixed.

use crate::coverage::Gap;
use crate::hash::{decode_hex, encode_hex, HashKind};
use crate::sorted_key::Key;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Bump when the meaning of a stamp changes: older stamps are then ignored.
const STAMP_FORMAT: u32 = 1;
/// Blocks read for the digest, spread evenly over the file (plus its end).
const DIGEST_BLOCKS: u64 = 64;
const DIGEST_BLOCK: u64 = 4096;

/// What identifies one version of a corpus file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    sampled_sha256: String,
}

impl Identity {
    /// The identity of the open file `meta` whose bytes are `data`.
    pub fn of(meta: &std::fs::Metadata, data: &[u8]) -> Identity {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            sampled_sha256: sampled_sha256(data),
        }
    }
}

/// SHA-256 (upper-case hex) of 65 blocks of `data`: 64 spread evenly over
/// it and its last. Cheap on any size; the whole of a file under 260 KiB.
/// Also what identifies the files of a sharded run (`shard::identity`).
pub(crate) fn sampled_sha256(data: &[u8]) -> String {
    let mut digest = Sha256::new();
    let len = data.len() as u64;
    let block = |at: u64| &data[at as usize..(at + DIGEST_BLOCK).min(len) as usize];
    for i in 0..DIGEST_BLOCKS {
        digest.update(block(len * i / DIGEST_BLOCKS));
    }
    digest.update(block(len.saturating_sub(DIGEST_BLOCK)));
    encode_hex(&digest.finalize())
}

/// What the verifying pass found: every line good, this many of them, and
/// these coverage gaps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Verdict {
    pub lines: u64,
    pub gaps: Vec<Gap>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stamp {
    format: u32,
    /// For people reading the cache; the identity is what counts.
    path: PathBuf,
    identity: Identity,
    kind: HashKind,
    lines: u64,
    /// Coverage gaps as (after, before) hashes in hex, null for an open end.
    gaps: Vec<(Option<String>, Option<String>)>,
    verified_unix: u64,
    credaudit_version: String,
}

/// Where stamps are kept: one file per corpus (device and inode).
#[derive(Clone, Debug)]
pub struct StampDir {
    dir: PathBuf,
}

impl StampDir {
    pub fn new(dir: PathBuf) -> StampDir {
        StampDir { dir }
    }

    fn file(&self, id: &Identity) -> PathBuf {
        self.dir.join(format!("{:x}-{:x}.json", id.dev, id.ino))
    }

    /// The stored verdict for this exact version of the file, if any. A
    /// missing, unreadable, stale or corrupt stamp is no stamp.
    pub(super) fn load(&self, id: &Identity, kind: HashKind) -> Option<Verdict> {
        let text = std::fs::read(self.file(id)).ok()?;
        let stamp: Stamp = serde_json::from_slice(&text).ok()?;
        if stamp.format != STAMP_FORMAT || stamp.identity != *id || stamp.kind != kind {
            return None;
        }
        let key = |hex: &Option<String>| -> Option<Option<Key>> {
            match hex {
                None => Some(None),
                Some(h) if h.len() == kind.hex_len() => {
                    let mut bytes = [0u8; 20];
                    decode_hex(h.as_bytes(), &mut bytes[..kind.bytes()])
                        .then(|| Some(Key::new(&bytes[..kind.bytes()])))
                }
                Some(_) => None,
            }
        };
        let gaps = stamp
            .gaps
            .iter()
            .map(|(after, before)| {
                Some(Gap {
                    after: key(after)?,
                    before: key(before)?,
                })
            })
            .collect::<Option<Vec<Gap>>>()?;
        Some(Verdict {
            lines: stamp.lines,
            gaps,
        })
    }

    /// Record a good verdict (atomically; the directory is private).
    pub(super) fn save(
        &self,
        path: &Path,
        id: &Identity,
        kind: HashKind,
        verdict: &Verdict,
    ) -> Result<()> {
        create_private_dir(&self.dir)?;
        let hex = |k: Option<Key>| k.map(|k| encode_hex(&k.bytes()[..kind.bytes()]));
        let stamp = Stamp {
            format: STAMP_FORMAT,
            path: path.to_path_buf(),
            identity: id.clone(),
            kind,
            lines: verdict.lines,
            gaps: verdict
                .gaps
                .iter()
                .map(|g| (hex(g.after), hex(g.before)))
                .collect(),
            verified_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            credaudit_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        crate::atomic_file::write(&self.file(id), crate::atomic_file::PRIVATE_CACHE, |w| {
            serde_json::to_writer_pretty(&mut *w, &stamp)?;
            Ok(())
        })
        .with_context(|| format!("cannot record the verification of {}", path.display()))
    }
}

/// Create `dir` and its parents, the last one with mode 0700.
fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_is_found_only_for_the_same_file_version_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("c.txt");
        std::fs::write(&corpus, b"0000000000000000000000000000000000000001:1\n").unwrap();
        let meta = std::fs::metadata(&corpus).unwrap();
        let data = std::fs::read(&corpus).unwrap();
        let id = Identity::of(&meta, &data);
        let stamps = StampDir::new(dir.path().join("stamps"));
        assert_eq!(stamps.load(&id, HashKind::Sha1), None);
        let mut after = [0u8; 20];
        after[19] = 1;
        let verdict = Verdict {
            lines: 1,
            gaps: vec![Gap {
                after: Some(Key::new(&after)),
                before: None,
            }],
        };
        stamps.save(&corpus, &id, HashKind::Sha1, &verdict).unwrap();
        assert_eq!(stamps.load(&id, HashKind::Sha1), Some(verdict));
        assert_eq!(stamps.load(&id, HashKind::Ntlm), None, "other kind");
        let mut changed = data.clone();
        changed[10] = b'1';
        assert_eq!(
            stamps.load(&Identity::of(&meta, &changed), HashKind::Sha1),
            None,
            "same size and mtime, other bytes"
        );
    }
}
