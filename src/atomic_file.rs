//! Replace a file atomically: write a temporary file in the same directory,
//! then rename it over the target, so a reader (or the next run) sees the
//! old file or the new one, never half of one. The one writer of every file
//! credaudit produces; what differs between them is who may read the file and
//! whether it must survive a crash, so those are its parameters:
//!
//! - reports and summaries name exposed accounts: private (0600) and synced
//!   to disk before the rename, so a killed run or a crash keeps the previous
//!   report;
//! - range API cache entries show which prefixes were asked: private, not
//!   synced (an entry torn by a crash fails to parse and is refetched);
//! - mirror files are public data that a cron user writes and auditors read:
//!   the ordinary mode (0666 less the umask, 0644 under umask 022), not
//!   synced (a million fsyncs would cost the mirror its speed, and every
//!   file is parsed in full before it is trusted);
//! - compiled stores are public data too, but synced: one large file whose
//!   header is written last.
//!
//! A durable file streamed through [`write`] is written around the page
//! cache (see [`direct`]); the fsync before the rename stays: it is what
//! makes the file durable, and it reports any write error.

mod direct;

use anyhow::{Context, Result};
use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tempfile::NamedTempFile;

/// Who may read a file, and whether it is synced to disk before the rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    /// 0600 when true; else 0666 less the umask.
    private: bool,
    /// fsync the file before the rename (and the directory after it).
    durable: bool,
}

/// Reset lists and summaries.
pub const REPORT: Kind = Kind {
    private: true,
    durable: true,
};
/// Range API cache entries.
pub const PRIVATE_CACHE: Kind = Kind {
    private: true,
    durable: false,
};
/// Mirror files, the mirror's ETag index and `--sorted-file`.
pub const PUBLIC_DATA: Kind = Kind {
    private: false,
    durable: false,
};

/// Compiled corpus stores (`credaudit index build`): public data like the
/// mirror, but one large file that a crash must not leave half-written
/// under its final name.
pub const STORE: Kind = Kind {
    private: false,
    durable: true,
};

/// Write `path` atomically with what `fill` writes. On any error the
/// temporary file is removed and `path` is left as it was.
pub fn write(
    path: &Path,
    kind: Kind,
    fill: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let tmp = temp_beside(path, kind)?;
    let cannot = || format!("cannot write {}", path.display());
    if kind.durable {
        let mut out = direct::DirectWriter::new(tmp.as_file()).with_context(cannot)?;
        fill(&mut out)?;
        out.finish().with_context(cannot)?;
    } else {
        let mut out = BufWriter::new(tmp.as_file());
        fill(&mut out)?;
        out.flush().with_context(cannot)?;
    }
    persist(tmp, path, kind)
}

/// The temporary file that will become `path`, in the same directory and
/// with `kind`'s mode, for a writer that needs more than a stream (seeks,
/// rewrites in place). Dropped without [`persist`], it is removed.
pub fn temp_beside(path: &Path, kind: Kind) -> Result<NamedTempFile> {
    let dir = parent(path);
    let mode = if kind.private { 0o600 } else { 0o666 };
    tempfile::Builder::new()
        .prefix(".credaudit-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))
}

/// Put a finished [`temp_beside`] file in place of `path` (synced first
/// when `kind` is durable).
pub fn persist(tmp: NamedTempFile, path: &Path, kind: Kind) -> Result<()> {
    if kind.durable {
        tmp.as_file()
            .sync_all()
            .with_context(|| format!("cannot flush {} to disk", path.display()))?;
    }
    tmp.persist(path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    if kind.durable {
        if let Ok(d) = std::fs::File::open(parent(path)) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn replaces_whole_file_private_and_keeps_old_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.csv");
        std::fs::write(&path, "old\n").unwrap();
        write(&path, REPORT, |w| Ok(w.write_all(b"new\n")?)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(mode(&path), 0o600);
        let failed = write(&path, REPORT, |w| {
            w.write_all(b"half")?;
            anyhow::bail!("interrupted")
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "temporary file removed");
        write(&path, PRIVATE_CACHE, |w| Ok(w.write_all(b"x")?)).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn public_data_gets_the_umask_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000.txt");
        write(&path, PUBLIC_DATA, |w| Ok(w.write_all(b"x")?)).unwrap();
        // The exact mode depends on the umask (tests/hibp_format.rs runs
        // with 022 and expects 0644); never executable, always owner-writable.
        assert_eq!(mode(&path) & 0o711, 0o600);
    }
}
