//! A CSV export cut into chunks of whole records, so that the chunks can be
//! parsed on every core while one thread reads (issue 14: one reader thread
//! parsed 1.3M rows/s, a third of what two cores hash).
//!
//! A cut must fall between records, never inside a quoted field, whose
//! newlines belong to the field. Quoting follows the csv crate's rules: a
//! quote opens a quoted field only as the field's first byte, `""` inside
//! is one quote, and bytes after the closing quote belong to the field. A
//! chunk without a quote byte (the common case, found with one `memchr`) is
//! cut at its last newline; only a chunk with quotes runs the byte-wise
//! state machine.
//!
//! A cut is never made right after a record that may be blank (only
//! whitespace and quotes): whether a blank line is a row (rejected) or
//! trailing whitespace (skipped, `blank_line`) depends on whether any row
//! follows it, so such lines go into the next chunk, and blank records that
//! end a chunk are known to end the file.
//!
//! Compressed exports are decompressed on the reading thread: gzip and
//! zstd are single streams, so only the parsing after them runs in parallel.

use super::decompress::{describe_read_error, Compression};
use anyhow::{bail, Result};
use std::io::{BufRead, ErrorKind};
use zeroize::Zeroizing;

/// Bytes read before a cut is looked for: about 25,000 typical rows.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Whole records of an export, in order.
pub struct Chunk {
    /// Plaintext: wiped when dropped.
    pub bytes: Zeroizing<Vec<u8>>,
    /// The line the chunk's first byte is on (1-based).
    pub first_line: u64,
    /// Nothing follows: blank records at its end are trailing whitespace.
    pub last: bool,
}

/// Reads an export's body and hands it out in [`Chunk`]s.
pub struct ChunkReader {
    inner: Box<dyn std::io::BufRead + Send>,
    /// Read and not yet handed out, starting on line `line`.
    pending: Zeroizing<Vec<u8>>,
    line: u64,
    delimiter: u8,
    eof: bool,
    display: String,
    compression: Compression,
}

impl ChunkReader {
    /// `head`: bytes of the body already read (from line `line` on);
    /// `inner`: the rest of it.
    pub fn new(
        head: Zeroizing<Vec<u8>>,
        line: u64,
        inner: Box<dyn BufRead + Send>,
        delimiter: u8,
        display: &str,
        compression: Compression,
    ) -> ChunkReader {
        ChunkReader {
            inner,
            pending: head,
            line,
            delimiter,
            eof: false,
            display: display.to_string(),
            compression,
        }
    }

    /// The next chunk, `None` at the end. A read error (a truncated gzip
    /// stream) names the last line handed out.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        let mut want = CHUNK_BYTES;
        loop {
            self.fill(want)?;
            if self.pending.is_empty() {
                return Ok(None);
            }
            let cut = if self.eof {
                Some(self.pending.len())
            } else {
                record_cut(&self.pending, self.delimiter)
            };
            let Some(cut) = cut else {
                // One record, or blank ones only, fills what was read.
                want = self.pending.len() * 2;
                continue;
            };
            let left = self.pending.len() - cut;
            let mut rest = Zeroizing::new(Vec::with_capacity(CHUNK_BYTES.max(left * 2)));
            rest.extend_from_slice(&self.pending[cut..]);
            let mut bytes = std::mem::replace(&mut self.pending, rest);
            bytes.truncate(cut);
            let first_line = self.line;
            self.line += memchr::memchr_iter(b'\n', &bytes).count() as u64;
            let last = self.eof && self.pending.is_empty();
            return Ok(Some(Chunk {
                bytes,
                first_line,
                last,
            }));
        }
    }

    /// Read until `want` bytes are pending or the input ends.
    fn fill(&mut self, want: usize) -> Result<()> {
        while !self.eof && self.pending.len() < want {
            let short = want - self.pending.len();
            crate::secret_buf::reserve(&mut self.pending, short);
            let old = self.pending.len();
            self.pending.resize(want, 0);
            let n = loop {
                match self.inner.read(&mut self.pending[old..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let why = describe_read_error(&e, self.compression);
                        let complete = self.line - 1
                            + memchr::memchr_iter(b'\n', &self.pending[..old]).count() as u64;
                        self.pending.truncate(old);
                        bail!("{}: after line {complete}: {why}", self.display);
                    }
                }
            };
            self.pending.truncate(old + n);
            self.eof = n == 0;
        }
        Ok(())
    }
}

/// Where `bytes` (starting at a record's start) may be cut: after the last
/// newline that ends a record which is not blank. `None`: no such place.
pub fn record_cut(bytes: &[u8], delimiter: u8) -> Option<usize> {
    if memchr::memchr(b'"', bytes).is_none() {
        let mut end = bytes.len();
        while let Some(nl) = memchr::memrchr(b'\n', &bytes[..end]) {
            let start = memchr::memrchr(b'\n', &bytes[..nl]).map_or(0, |i| i + 1);
            if !maybe_blank(&bytes[start..nl]) {
                return Some(nl + 1);
            }
            end = start;
        }
        return None;
    }
    quoted_record_cut(bytes, delimiter)
}

/// [`record_cut`] through the csv crate's states, byte by byte.
fn quoted_record_cut(bytes: &[u8], delimiter: u8) -> Option<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        /// A quote inside a quoted field: it closes the field, or is the
        /// first of `""`.
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let (mut record_start, mut cut) = (0, None);
    for (i, &b) in bytes.iter().enumerate() {
        state = match (state, b) {
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::FieldStart, b'"') | (State::QuoteInQuoted, b'"') => State::Quoted,
            (_, b'\n') => {
                if !maybe_blank(&bytes[record_start..i]) {
                    cut = Some(i + 1);
                }
                record_start = i + 1;
                State::FieldStart
            }
            (_, b'\r') => State::FieldStart,
            (_, d) if d == delimiter => State::FieldStart,
            _ => State::Unquoted,
        };
    }
    cut
}

/// Could these bytes be a blank record (whitespace, perhaps quoted)?
fn maybe_blank(record: &[u8]) -> bool {
    record.iter().all(|&b| b.is_ascii_whitespace() || b == b'"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_after_the_last_record_outside_quotes() {
        assert_eq!(record_cut(b"a,b\nc,d\ne,f", b','), Some(8));
        // The newline inside the quoted field is no record's end.
        assert_eq!(record_cut(b"a,b\nc,\"d\ne,f", b','), Some(4));
        assert_eq!(record_cut(b"a,b\nc,\"d\"\"\ne\",f\ng", b','), Some(16));
        // A quote inside an unquoted field is a plain byte.
        assert_eq!(record_cut(b"a,b\"c\nd,e\nf", b','), Some(10));
        // A quote after a tab opens a field only when tab delimits.
        assert_eq!(record_cut(b"a\t\"b\nc\n", b'\t'), None);
        assert_eq!(record_cut(b"a\t\"b\nc\n", b','), Some(7));
    }

    #[test]
    fn never_cuts_after_a_blank_record() {
        assert_eq!(record_cut(b"a,b\n  \r\n\n", b','), Some(4));
        assert_eq!(record_cut(b"a,b\n\"\"\n", b','), Some(4));
        assert_eq!(record_cut(b" \n\n", b','), None);
        assert_eq!(record_cut(b"a,b", b','), None);
    }

    #[test]
    fn chunks_rebuild_the_input_with_their_lines() {
        let mut text = Vec::new();
        for i in 0..200_000u32 {
            text.extend_from_slice(format!("user{i},\"pw\n{i}\"\r\n").as_bytes());
        }
        text.extend_from_slice(b"  \n\n");
        let mut reader = ChunkReader::new(
            Zeroizing::new(text[..10].to_vec()),
            2,
            Box::new(std::io::Cursor::new(text[10..].to_vec())),
            b',',
            "t.csv",
            Compression::None,
        );
        let (mut back, mut line, mut chunks) = (Vec::new(), 2, 0);
        while let Some(chunk) = reader.next_chunk().unwrap() {
            assert_eq!(chunk.first_line, line);
            assert!(chunk.bytes.starts_with(b"user"), "starts at a record");
            assert!(
                chunk.bytes.len() <= CHUNK_BYTES,
                "{} bytes",
                chunk.bytes.len()
            );
            line += chunk.bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            back.extend_from_slice(&chunk.bytes);
            chunks += 1;
            assert_eq!(chunk.last, back.len() == text.len());
        }
        assert_eq!(back, text);
        assert!(chunks > 3, "{chunks} chunks");
    }
}
