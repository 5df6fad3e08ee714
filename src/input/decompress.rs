//! Transparent decompression, chosen by magic bytes rather than file names:
//! exports arrive as `users.csv.gz`, as `dump` with no extension, or on a pipe.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const BUFFER: usize = 256 * 1024;

/// The compression a stream was found to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Open `path` (`-` is standard input) and undo any gzip or zstd layer.
pub fn open(path: &Path) -> Result<(Box<dyn BufRead + Send>, Compression)> {
    decode(open_stored(path)?.0, path)
}

/// The bytes of `path` (`-` is standard input) as stored, for [`decode`],
/// with their size when they are a regular file (also standard input
/// redirected from one); `None` for pipes and terminals.
pub fn open_stored(path: &Path) -> Result<(Box<dyn Read + Send>, Option<u64>)> {
    if path.as_os_str() == "-" {
        let size = std::fs::metadata("/dev/stdin")
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        return Ok((Box::new(io::stdin()), size));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let meta = file.metadata().ok();
    if meta.as_ref().is_some_and(|m| m.is_dir()) {
        anyhow::bail!("{} is a directory, not an export file", path.display());
    }
    let size = meta.filter(|m| m.is_file()).map(|m| m.len());
    Ok((Box::new(file), size))
}

/// How far through its stored bytes a stream is: what a progress bar with
/// a total and an ETA needs. Compressed files count compressed bytes, so
/// `read` reaches `size` at the end either way.
#[derive(Clone, Debug, Default)]
pub struct Measure {
    /// The stored size, when known (see [`open_stored`]).
    pub size: Option<u64>,
    /// Stored bytes read so far.
    pub read: Arc<AtomicU64>,
}

/// `stored` (of `size` bytes, when known), counting what is read of it.
pub fn measured(
    stored: Box<dyn Read + Send>,
    size: Option<u64>,
) -> (Box<dyn Read + Send>, Measure) {
    let measure = Measure {
        size,
        read: Arc::new(AtomicU64::new(0)),
    };
    let counted = Counted {
        inner: stored,
        read: measure.read.clone(),
    };
    (Box::new(counted), measure)
}

/// A reader that adds what it reads to a shared count.
struct Counted {
    inner: Box<dyn Read + Send>,
    read: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Undo any gzip or zstd layer of `raw`, the bytes of `path` as stored (a
/// caller that digests the stored bytes wraps them before handing them in).
pub fn decode(
    raw: Box<dyn Read + Send>,
    path: &Path,
) -> Result<(Box<dyn BufRead + Send>, Compression)> {
    let mut reader = BufReader::with_capacity(BUFFER, raw);
    let head = reader
        .fill_buf()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if head.starts_with(GZIP_MAGIC) {
        let decoder = flate2::bufread::MultiGzDecoder::new(reader);
        Ok((
            Box::new(BufReader::with_capacity(BUFFER, decoder)),
            Compression::Gzip,
        ))
    } else if head.starts_with(ZSTD_MAGIC) {
        let decoder = zstd::stream::read::Decoder::with_buffer(reader)
            .with_context(|| format!("{}: cannot start zstd decoding", path.display()))?;
        Ok((
            Box::new(BufReader::with_capacity(BUFFER, decoder)),
            Compression::Zstd,
        ))
    } else {
        Ok((Box::new(reader), Compression::None))
    }
}

/// Turn a read error into one line that says which layer failed.
pub fn describe_read_error(err: &io::Error, compression: Compression) -> String {
    match (compression, err.kind()) {
        (Compression::Gzip, io::ErrorKind::UnexpectedEof) => {
            "gzip data is truncated (unexpected end of file)".to_string()
        }
        (Compression::Gzip, _) => format!("gzip data is corrupt ({err})"),
        (Compression::Zstd, io::ErrorKind::UnexpectedEof) => {
            "zstd data is truncated (unexpected end of file)".to_string()
        }
        (Compression::Zstd, _) => format!("zstd data is corrupt or truncated ({err})"),
        (Compression::None, _) => format!("read error ({err})"),
    }
}
