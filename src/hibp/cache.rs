//! The range API's response cache: one file per server, hash kind and
//! prefix (`range/<server key>/sha1/5BAA6`), holding the validated suffix
//! list and the server's validators (ETag, Last-Modified).
//!
//! The cache is private, unlike a mirror: which prefixes it holds says
//! which prefixes were asked, and so something about the passwords checked.
//! Its directories are created 0700 and its files 0600; an existing cache
//! directory that group or others may read is warned about and, when it is
//! the user's own, set to 0700. `check` uses it only when `--cache-dir` is
//! given (the cache of one checked password would record its prefix).
//!
//! Entries are written atomically and not synced; they are parsed in full
//! (the body rules of [`crate::hibp::body`]) when read, so a corrupt or torn
//! one is refetched, never trusted, and counted in a warning.

use crate::atomic_file;
use crate::hash::HashKind;
use crate::hibp::body::SuffixList;
use crate::hibp::client::Validators;
use crate::hibp::prefix;
use anyhow::Result;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// First line of a cache file; bumped when the format changes.
const MAGIC: &str = "credaudit range cache v1";

/// Where the cache is and how long an entry is used without asking.
#[derive(Clone, Debug)]
pub struct CacheOptions {
    pub dir: PathBuf,
    /// How long a cached prefix is used without asking the server.
    pub max_age: Duration,
}

/// `$XDG_CACHE_HOME/credaudit`, else `~/.cache/credaudit`.
pub fn default_dir() -> Option<PathBuf> {
    let nonempty = |v: std::ffi::OsString| (!v.is_empty()).then(|| PathBuf::from(v));
    std::env::var_os("XDG_CACHE_HOME")
        .and_then(nonempty)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(nonempty)
                .map(|h| h.join(".cache"))
        })
        .map(|d| d.join("credaudit"))
}

/// Parse a cache file as a lookup does when it loads one: its entries, or
/// None for a corrupt file (which a lookup counts and refetches). For the
/// `cache_entry` fuzz target in `fuzz/`.
pub fn parse_entry(bytes: &[u8], kind: HashKind) -> Option<SuffixList> {
    Cache::parse(bytes, kind, Duration::ZERO).map(|entry| entry.list)
}

/// The cache of one server.
pub struct Cache {
    /// `--cache-dir`.
    root: PathBuf,
    /// `root/range/<server key>`.
    dir: PathBuf,
    max_age: Duration,
    corrupt: AtomicU64,
    /// What the user should know: loose permissions, a failed write.
    notes: Mutex<Vec<String>>,
}

/// A cache entry that parsed in full.
pub struct Entry {
    pub list: SuffixList,
    pub validators: Validators,
    /// Younger than `--max-age`: use it without asking.
    pub fresh: bool,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Cache entries live under a key of the server's URL, so a company mirror
/// and the public API never answer for each other.
fn server_key(url: &str) -> String {
    crate::hash::encode_hex(&crate::hash::sha1(url.trim_end_matches('/').as_bytes()))[..16]
        .to_ascii_lowercase()
}

impl Cache {
    pub fn new(options: &CacheOptions, server_url: &str) -> Cache {
        Cache {
            root: options.dir.clone(),
            dir: options.dir.join("range").join(server_key(server_url)),
            max_age: options.max_age,
            corrupt: AtomicU64::new(0),
            notes: Mutex::new(Vec::new()),
        }
    }

    fn path(&self, prefix: u32, kind: HashKind) -> PathBuf {
        self.dir.join(kind.name()).join(prefix::hex(prefix))
    }

    fn note(&self, message: String) {
        self.notes.lock().expect("not poisoned").push(message);
    }

    /// Make the directories of `kind`'s entries private: those that exist
    /// are checked (and tightened when they are the user's), the rest are
    /// created 0700.
    pub fn prepare(&self, kind: HashKind) {
        let kind_dir = self.dir.join(kind.name());
        let mut dir = self.root.clone();
        let below = kind_dir.strip_prefix(&self.root).expect("under the root");
        for part in std::iter::once(None).chain(below.components().map(Some)) {
            if let Some(part) = part {
                dir.push(part);
            }
            if let Some(note) = tighten(&dir) {
                self.note(note);
            }
        }
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&kind_dir)
        {
            self.note(format!(
                "response cache not updated: cannot create {}: {e}",
                kind_dir.display()
            ));
        }
    }

    /// The entry for a prefix, if there is one that parses in full. A corrupt
    /// one counts as absent (and is counted).
    pub fn load(&self, prefix: u32, kind: HashKind) -> Option<Entry> {
        let bytes = std::fs::read(self.path(prefix, kind)).ok()?;
        let entry = Self::parse(&bytes, kind, self.max_age);
        if entry.is_none() {
            self.corrupt.fetch_add(1, Ordering::Relaxed);
        }
        entry
    }

    fn parse(bytes: &[u8], kind: HashKind, max_age: Duration) -> Option<Entry> {
        let split = bytes.windows(2).position(|w| w == b"\n\n")?;
        let header = std::str::from_utf8(&bytes[..split]).ok()?;
        let mut lines = header.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let mut validators = Validators::default();
        let mut fetched = None;
        for line in lines {
            let (key, value) = line.split_once(' ')?;
            match key {
                "etag" => validators.etag = Some(value.to_string()),
                "last-modified" => validators.last_modified = Some(value.to_string()),
                "fetched" => fetched = Some(value.parse::<u64>().ok()?),
                _ => return None,
            }
        }
        let list = SuffixList::parse(&bytes[split + 2..], kind).ok()?;
        let age = now_unix().checked_sub(fetched?);
        Some(Entry {
            list,
            validators,
            fresh: age.is_some_and(|a| a < max_age.as_secs()),
        })
    }

    /// A cache file's path and content.
    pub fn entry_file(
        &self,
        prefix: u32,
        kind: HashKind,
        list: &SuffixList,
        validators: &Validators,
    ) -> (PathBuf, Vec<u8>) {
        let mut bytes = format!("{MAGIC}\n");
        if let Some(etag) = &validators.etag {
            bytes.push_str(&format!("etag {etag}\n"));
        }
        if let Some(date) = &validators.last_modified {
            bytes.push_str(&format!("last-modified {date}\n"));
        }
        bytes.push_str(&format!("fetched {}\n\n", now_unix()));
        let mut bytes = bytes.into_bytes();
        bytes.extend_from_slice(list.text());
        (self.path(prefix, kind), bytes)
    }

    /// Write one entry (atomically, private).
    pub fn write((path, bytes): (PathBuf, Vec<u8>)) -> Result<()> {
        atomic_file::write(&path, atomic_file::PRIVATE_CACHE, |w| {
            Ok(w.write_all(&bytes)?)
        })
    }

    /// What to tell the user after a lookup; `written` is the writer's
    /// outcome (a failure to write is reported, never fatal).
    pub fn warnings(&self, written: Result<u64>) -> Vec<String> {
        let mut out = std::mem::take(&mut *self.notes.lock().expect("not poisoned"));
        let corrupt = self.corrupt.swap(0, Ordering::Relaxed);
        if corrupt > 0 {
            out.push(format!(
                "{corrupt} corrupt cache file(s) in {} were ignored and refetched",
                self.dir.display()
            ));
        }
        if let Err(e) = written {
            out.push(format!("response cache not updated: {e:#}"));
        }
        out
    }
}

/// If `dir` exists and group or others have any access to it: set it to
/// 0700 when it is the user's own, and say so either way.
fn tighten(dir: &Path) -> Option<String> {
    let meta = std::fs::metadata(dir).ok()?;
    let mode = meta.permissions().mode() & 0o777;
    if !meta.is_dir() || mode & 0o077 == 0 {
        return None;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let mine = meta.uid() == unsafe { libc::geteuid() };
    let fixed =
        mine && std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).is_ok();
    Some(if fixed {
        format!(
            "cache directory {} was open to group or others (mode {mode:03o}), which lets them see which prefixes were asked: set to 0700",
            dir.display()
        )
    } else {
        format!(
            "cache directory {} is open to group or others (mode {mode:03o}) and could not be set to 0700: they can see which prefixes were asked",
            dir.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(dir: &Path) -> Cache {
        Cache::new(
            &CacheOptions {
                dir: dir.to_path_buf(),
                max_age: Duration::from_secs(3600),
            },
            "https://example.test",
        )
    }

    #[test]
    fn entries_round_trip_and_corruption_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path());
        cache.prepare(HashKind::Sha1);
        let list = SuffixList::parse(b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:3\r\n", HashKind::Sha1)
            .unwrap();
        let validators = Validators {
            etag: Some("\"abc\"".into()),
            last_modified: None,
        };
        Cache::write(cache.entry_file(0x5BAA6, HashKind::Sha1, &list, &validators)).unwrap();
        let entry = cache.load(0x5BAA6, HashKind::Sha1).unwrap();
        assert!(entry.fresh);
        assert_eq!(entry.list, list);
        assert_eq!(entry.validators, validators);
        let path = cache.path(0x5BAA6, HashKind::Sha1);
        let text = std::fs::read_to_string(&path).unwrap();
        for broken in [
            text.replace("FD8:3", "FD:3"),
            text.replace("v1", "v0"),
            text[..text.len() - 5].to_string(),
            "garbage".to_string(),
        ] {
            std::fs::write(&path, broken).unwrap();
            assert!(cache.load(0x5BAA6, HashKind::Sha1).is_none());
        }
        assert_eq!(cache.corrupt.load(Ordering::Relaxed), 4);
        assert!(
            Cache::parse(text.as_bytes(), HashKind::Sha1, Duration::ZERO).is_some_and(|e| !e.fresh)
        );
        assert!(Cache::parse(text.as_bytes(), HashKind::Ntlm, Duration::MAX).is_none());
    }

    #[test]
    fn directories_are_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("c");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cache = cache(&root);
        cache.prepare(HashKind::Ntlm);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&cache.dir.join("ntlm")), 0o700);
        let warnings = cache.warnings(Ok(0));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("(mode 755)"), "{warnings:?}");
        cache.prepare(HashKind::Ntlm);
        assert!(cache.warnings(Ok(0)).is_empty());
    }
}
