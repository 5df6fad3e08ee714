//! Reading the sources of a build as chunks of whole lines (a sorted file,
//! plain or compressed, or standard input) or of whole prefix files (a
//! mirror directory), while digesting the bytes as they are stored: the
//! store records what it was built from, computed in the same pass.

use super::parse::{Body, Lines, PrefixFile};
use crate::digest::{Digesting, SharedTally, Tally};
use crate::hash::HashKind;
use crate::hibp::{body, prefix};
use crate::input::decompress::{self, Compression};
use anyhow::{bail, Context, Result};
use std::fs::File;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Bytes per chunk of a sorted file: large enough that per-chunk costs
/// vanish, small enough that a few in flight stay well under the memory cap.
const CHUNK_BYTES: usize = 8 << 20;
/// How far past the chunk in hand the file is asked for.
const READ_AHEAD: u64 = 4 * CHUNK_BYTES as u64;

/// Chunk buffers handed back by the workers once parsed, for the reader
/// to fill again: every buffer is `CHUNK_BYTES` of initialised memory, so
/// a chunk costs one read into it and no allocation, zeroing or page
/// faults. At most the chunks in flight exist at once.
#[derive(Clone, Default)]
pub(super) struct BufferPool(Arc<Mutex<Vec<Vec<u8>>>>);

impl BufferPool {
    fn take(&self) -> Vec<u8> {
        let recycled = self.0.lock().expect("no panic holding the pool").pop();
        recycled.unwrap_or_else(|| vec![0; CHUNK_BYTES])
    }

    /// Hand a chunk's buffer back once it is parsed.
    pub fn put(&self, buf: Vec<u8>) {
        self.0.lock().expect("no panic holding the pool").push(buf);
    }
}

/// What the store records of a source once it is read.
pub(super) struct SourceFacts {
    pub layout: &'static str,
    pub compression: Compression,
    pub size_bytes: Option<u64>,
    pub modified_unix: Option<u64>,
    pub blake3: String,
}

/// One source, handing out chunks in order.
pub(super) enum SourceReader {
    Sorted {
        path: PathBuf,
        reader: Box<dyn BufRead + Send>,
        compression: Compression,
        /// The start of a line cut off at the end of the last chunk.
        carry: Vec<u8>,
        pool: BufferPool,
        /// The file again, to ask for the bytes after the chunk in hand
        /// (None for standard input).
        ahead: Option<File>,
        tally: SharedTally,
    },
    Mirror {
        files: Vec<(u32, PathBuf)>,
        next: usize,
        tally: Box<Tally>,
    },
}

impl SourceReader {
    pub fn open(path: &Path, pool: &BufferPool) -> Result<SourceReader> {
        if path.is_dir() {
            return Ok(SourceReader::Mirror {
                files: prefix_files(path)?,
                next: 0,
                tally: Box::default(),
            });
        }
        let (raw, ahead): (Box<dyn Read + Send>, _) = if path.as_os_str() == "-" {
            (Box::new(std::io::stdin()), None)
        } else {
            let file = File::open(path)
                .with_context(|| format!("cannot open corpus {}", path.display()))?;
            advise(&file, 0, 0, libc::POSIX_FADV_SEQUENTIAL);
            let ahead = file.try_clone().ok();
            (Box::new(file), ahead)
        };
        let (digesting, tally) = Digesting::new(raw);
        let (reader, compression) = decompress::decode(Box::new(digesting), path)?;
        Ok(SourceReader::Sorted {
            path: path.to_path_buf(),
            reader,
            compression,
            carry: Vec::new(),
            pool: pool.clone(),
            ahead,
            tally,
        })
    }

    pub fn is_mirror(&self) -> bool {
        matches!(self, SourceReader::Mirror { .. })
    }

    /// Whether the source's size says how many lines it holds (a plain
    /// file or a mirror, not a stream or compressed data).
    pub fn sized(&self, path: &Path) -> Option<u64> {
        match self {
            SourceReader::Sorted { compression, .. }
                if *compression == Compression::None && path.as_os_str() != "-" =>
            {
                std::fs::metadata(path).ok().map(|m| m.len())
            }
            SourceReader::Sorted { .. } => None,
            SourceReader::Mirror { files, .. } => Some(
                files
                    .iter()
                    .filter_map(|(_, p)| std::fs::metadata(p).ok())
                    .map(|m| m.len())
                    .sum(),
            ),
        }
    }

    /// The next chunk, or None at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Body>> {
        match self {
            SourceReader::Sorted {
                path,
                reader,
                compression,
                carry,
                pool,
                ahead,
                tally,
            } => {
                let mut buf = pool.take();
                buf[..carry.len()].copy_from_slice(carry);
                let mut filled = carry.len();
                carry.clear();
                while filled < CHUNK_BYTES {
                    match reader.read(&mut buf[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => bail!(
                            "{}: {}",
                            path.display(),
                            decompress::describe_read_error(&e, *compression)
                        ),
                    }
                }
                if let Some(file) = ahead {
                    // Keep the disk busy while this chunk is digested and
                    // parsed: the kernel's own read-ahead stops at a few
                    // hundred KiB, and a cold build would wait on every read.
                    let at = tally.lock().expect("no panic while digesting").bytes();
                    advise(file, at, READ_AHEAD, libc::POSIX_FADV_WILLNEED);
                }
                let mut len = filled;
                if filled == CHUNK_BYTES {
                    // Hand out whole lines; the rest starts the next chunk.
                    if let Some(nl) = memchr::memrchr(b'\n', &buf) {
                        carry.extend_from_slice(&buf[nl + 1..]);
                        len = nl + 1;
                    }
                }
                if len == 0 {
                    pool.put(buf);
                    return Ok(None);
                }
                Ok(Some(Body::Lines(Lines { buf, len })))
            }
            SourceReader::Mirror { files, next, tally } => {
                if *next == files.len() {
                    return Ok(None);
                }
                let mut chunk = Vec::new();
                let mut bytes = 0;
                while *next < files.len() && bytes < CHUNK_BYTES {
                    let (prefix, path) = files[*next].clone();
                    let data = std::fs::read(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    tally.update(&data);
                    bytes += data.len();
                    chunk.push(PrefixFile {
                        prefix,
                        path,
                        bytes: data,
                    });
                    *next += 1;
                }
                Ok(Some(Body::PrefixFiles(chunk)))
            }
        }
    }

    /// What was read, once the source is exhausted.
    pub fn finish(self, path: &Path) -> SourceFacts {
        let (size, modified_unix) = if path.as_os_str() == "-" || path.is_dir() {
            (None, None)
        } else {
            crate::source::file_facts(path)
        };
        let (layout, compression, tally) = match self {
            SourceReader::Sorted {
                compression, tally, ..
            } => {
                let tally = std::mem::take(&mut *tally.lock().expect("no panic while digesting"));
                ("sorted-file", compression, tally)
            }
            SourceReader::Mirror { tally, .. } => ("prefix-directory", Compression::None, *tally),
        };
        SourceFacts {
            layout,
            compression,
            // Standard input and a mirror: the bytes read.
            size_bytes: size.or(Some(tally.bytes())),
            modified_unix,
            blake3: tally.hex(),
        }
    }
}

/// The hash kind of a first chunk: the width of its first line's hash.
pub(super) fn kind_of(body: &Body, source: &Path) -> Result<HashKind> {
    let (line, width_of) = match body {
        Body::Lines(lines) => (first_line(lines.text()), 0),
        Body::PrefixFiles(files) => {
            let nonempty = files.iter().find(|f| !f.bytes.is_empty());
            (
                nonempty.map_or(&[][..], |f| first_line(&f.bytes)),
                prefix::DIGITS,
            )
        }
    };
    let found = HashKind::ALL
        .into_iter()
        .find(|&k| body::split_line(line, k.hex_len() - width_of).is_some());
    match found {
        Some(kind) => Ok(kind),
        None => bail!(
            "{}:1: not a Pwned Passwords line: expected a 40-hex SHA-1 or 32-hex NTLM hash (35 or 27 hex in a prefix file), ':' and a count",
            source.display()
        ),
    }
}

fn first_line(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == b'\n').next().unwrap_or(&[])
}

/// Average bytes per line of a first chunk.
pub(super) fn line_bytes(body: &Body) -> f64 {
    let (bytes, lines) = match body {
        Body::Lines(lines) => {
            let text = lines.text();
            (text.len(), memchr::memchr_iter(b'\n', text).count())
        }
        Body::PrefixFiles(files) => files.iter().fold((0, 0), |(b, l), f| {
            (
                b + f.bytes.len(),
                l + memchr::memchr_iter(b'\n', &f.bytes).count(),
            )
        }),
    };
    bytes as f64 / lines.max(1) as f64
}

/// A mirror's prefix files, in prefix order (other files are not ours).
fn prefix_files(dir: &Path) -> Result<Vec<(u32, PathBuf)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = entry.file_name();
        if let Some(p) = name.to_str().and_then(prefix::from_file_name) {
            files.push((p, entry.path()));
        }
    }
    files.sort_unstable();
    if let Some(w) = files.windows(2).find(|w| w[0].0 == w[1].0) {
        bail!(
            "{}: two files for prefix {} (names differ only in case)",
            dir.display(),
            prefix::hex(w[0].0)
        );
    }
    if files.is_empty() {
        bail!(
            "corpus directory {} holds no prefix files (00000.txt ... FFFFF.txt)",
            dir.display()
        );
    }
    Ok(files)
}

/// Advice on how a source file will be read (best effort: a failure only
/// costs speed).
fn advise(file: &File, offset: u64, len: u64, advice: libc::c_int) {
    use std::os::fd::AsRawFd;
    // SAFETY: advice on an open descriptor; no memory is touched.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), offset as i64, len as i64, advice);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Chunks cut a file larger than several chunks at line ends only, and
    /// recycled buffers hand out exactly the bytes of the file, in order.
    #[test]
    fn chunks_are_whole_lines_and_rebuild_the_file() {
        let mut text = Vec::new();
        let mut i = 0u64;
        while text.len() < 3 * CHUNK_BYTES + 12_345 {
            // Lines of varying length, so chunk ends fall anywhere in one.
            writeln!(text, "{:040X}:{}", i * 0x9E37_79B9, i % 977).unwrap();
            i += 1;
        }
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&text).unwrap();
        let pool = BufferPool::default();
        let mut reader = SourceReader::open(file.path(), &pool).unwrap();
        let mut rebuilt = Vec::new();
        let mut chunks = 0;
        while let Some(body) = reader.next_chunk().unwrap() {
            let Body::Lines(lines) = body else {
                panic!("a file gives lines")
            };
            assert_eq!(lines.text().last(), Some(&b'\n'), "chunk {chunks}");
            rebuilt.extend_from_slice(lines.text());
            pool.put(lines.buf);
            chunks += 1;
        }
        assert_eq!(chunks, 4);
        assert!(rebuilt == text, "the chunks are the file");
        let facts = reader.finish(file.path());
        assert_eq!(facts.size_bytes, Some(text.len() as u64));
        assert_eq!(facts.blake3, blake3::hash(&text).to_hex().to_string());
    }
}
