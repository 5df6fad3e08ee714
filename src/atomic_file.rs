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
//! A durable file streamed through [`write`] is handed to the disk as it
//! goes: every [`WRITEBACK_EVERY`] bytes, Linux's `sync_file_range` starts
//! writing the range just written, without waiting for it. Left to the
//! kernel, a reset list of a hundred million accounts (gigabytes) sat dirty
//! in memory until the fsync before the rename, which then wrote all of it
//! while the audit waited (1.7 s of a 7 s report); started early, the disk
//! works while later rows are formatted and the fsync finds little left.
//! The fsync stays: it is what makes the file durable, and it reports any
//! write error. Elsewhere the hint is skipped.

use anyhow::{Context, Result};
use std::fs::File;
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
    {
        let every = kind.durable.then_some(WRITEBACK_EVERY);
        let mut out = BufWriter::new(Writeback::new(tmp.as_file(), every));
        fill(&mut out)?;
        out.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    persist(tmp, path, kind)
}

/// Bytes written between two starts of writeback to the disk. Small
/// enough that the call hardly waits: the kernel throttles a large
/// writeback, and writing 2 GiB here, the calls took 0.3 s in all in
/// 64 MiB ranges against 0.1 s in 8 MiB ranges.
const WRITEBACK_EVERY: u64 = 8 << 20;

/// A new file being written from its start, whose data is handed to the
/// disk every `every` bytes (see the module doc).
struct Writeback<'f> {
    file: &'f File,
    every: Option<u64>,
    written: u64,
    /// Where the range not yet handed to the disk starts.
    started: u64,
}

impl<'f> Writeback<'f> {
    fn new(file: &'f File, every: Option<u64>) -> Writeback<'f> {
        Writeback {
            file,
            every,
            written: 0,
            started: 0,
        }
    }
}

impl Write for Writeback<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if let Some(every) = self.every {
            if self.written - self.started >= every {
                start_writeback(self.file, self.started, self.written - self.started);
                self.started = self.written;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Start writing `len` bytes of `file` from `offset` to the disk, without
/// waiting. A hint: where it fails (a file system without it), the fsync
/// before the rename still writes everything, and reports write errors.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a plain system call on an open descriptor; no memory is
    // passed.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File, _: u64, _: u64) {}

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

    #[test]
    fn writeback_writes_the_same_bytes_and_hands_them_on() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("out")).unwrap();
        let mut expected = Vec::new();
        let mut w = Writeback::new(&file, Some(1000));
        for i in 0..200u32 {
            let piece: Vec<u8> = (0..i * 7 % 1500).map(|j| (i + j) as u8).collect();
            w.write_all(&piece).unwrap();
            expected.extend_from_slice(&piece);
        }
        w.flush().unwrap();
        assert_eq!(w.written, expected.len() as u64);
        assert!(
            w.started > expected.len() as u64 - 1500,
            "hinted up to the end"
        );
        assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), expected);
    }

    #[test]
    fn writeback_passes_write_errors_on() {
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return;
        };
        let mut w = BufWriter::new(Writeback::new(&full, Some(1)));
        let failed = w.write_all(&[0; 100_000]).and_then(|()| w.flush());
        assert_eq!(failed.unwrap_err().raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(w.get_ref().written, 0);
    }
}
