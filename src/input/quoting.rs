//! Was an empty CSV field quoted? psql's CSV format (`\copy ... csv`)
//! writes SQL `NULL` as an unquoted empty field and the empty string `''`
//! as `""`, and that difference is the one between "no password" (an SSO
//! account) and "the password is empty". The csv crate hands back field
//! values with the quoting undone, so `--null psql` reads through a
//! [`RawTap`] or a chunk's bytes, which keep the records' raw bytes, and
//! [`field_is_quoted`] looks at them when a secret comes back empty.
//!
//! The tap keeps only what the header and the sample of first rows take
//! (the body is parsed in chunks, which hold their own raw bytes). The
//! bytes kept are plaintext, so they live in a buffer that is wiped when it
//! grows or is dropped (see [`crate::secret_buf`]).

use std::io::{self, BufRead, Read};
use zeroize::Zeroizing;

/// The export's bytes on their way into the CSV parser that reads the
/// header and the first rows, with a copy of them all: the body is parsed
/// again from the header's end, and `--null psql` looks at the sampled
/// rows' raw bytes.
pub struct RawTap {
    inner: Box<dyn BufRead + Send>,
    kept: Zeroizing<Vec<u8>>,
}

impl RawTap {
    pub fn new(inner: Box<dyn BufRead + Send>) -> RawTap {
        RawTap {
            inner,
            kept: Zeroizing::new(Vec::new()),
        }
    }

    /// The raw bytes from stream offset `start` to `end` (a record's span
    /// as the CSV reader reports it), if they were read.
    pub fn span(&self, start: u64, end: u64) -> Option<&[u8]> {
        let from = usize::try_from(start).ok()?;
        let to = usize::try_from(end).ok()?;
        self.kept.get(from..to)
    }

    /// Everything read so far, and the rest of the stream.
    pub fn into_parts(self) -> (Zeroizing<Vec<u8>>, Box<dyn BufRead + Send>) {
        (self.kept, self.inner)
    }
}

impl Read for RawTap {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        crate::secret_buf::reserve(&mut self.kept, n);
        self.kept.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Does field `index` of the raw CSV record `raw` start with a quote? `raw`
/// is a record's span as the csv crate reports it: it may begin with the
/// line ends of blank lines (or the `\n` of the CRLF before it), which the
/// parser skips, as this does. Quoting follows the csv crate's rules: a
/// quote opens a quoted field only as the field's first byte, `""` inside
/// is one quote, and bytes after the closing quote belong to the field.
/// `None` when the record has fewer fields.
pub fn field_is_quoted(raw: &[u8], delimiter: u8, index: usize) -> Option<bool> {
    let mut i = raw
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(raw.len());
    for _ in 0..index {
        // Skip one field and its delimiter.
        let mut in_quotes = raw.get(i) == Some(&b'"');
        if in_quotes {
            i += 1;
        }
        loop {
            let &b = raw.get(i)?;
            i += 1;
            if in_quotes {
                if b == b'"' {
                    if raw.get(i) == Some(&b'"') {
                        i += 1;
                    } else {
                        in_quotes = false;
                    }
                }
            } else if b == delimiter {
                break;
            } else if b == b'\r' || b == b'\n' {
                return None;
            }
        }
    }
    Some(raw.get(i) == Some(&b'"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_or_not_by_field() {
        let raw = b"a@x,\"\",,\"x\"\"y,\nz\",\"\"\"\"\n";
        assert_eq!(field_is_quoted(raw, b',', 0), Some(false));
        assert_eq!(field_is_quoted(raw, b',', 1), Some(true));
        assert_eq!(field_is_quoted(raw, b',', 2), Some(false));
        assert_eq!(field_is_quoted(raw, b',', 3), Some(true));
        assert_eq!(field_is_quoted(raw, b',', 4), Some(true));
        assert_eq!(field_is_quoted(raw, b',', 5), None);
    }

    #[test]
    fn leading_line_ends_and_other_delimiters() {
        assert_eq!(
            field_is_quoted(b"\n\r\nbob\t\"\"\r\n", b'\t', 1),
            Some(true)
        );
        assert_eq!(field_is_quoted(b"\nbob\t\r\n", b'\t', 1), Some(false));
        // The last field, at the end of the input without a line end.
        assert_eq!(field_is_quoted(b"bob;", b';', 1), Some(false));
        // A quote inside an unquoted field is a plain byte.
        assert_eq!(field_is_quoted(b"b\"o,\"\"", b',', 1), Some(true));
    }

    #[test]
    fn tap_keeps_what_was_read() {
        let data: &[u8] = b"email,password\na,\"\"\n";
        let mut tap = RawTap::new(Box::new(data));
        let mut buf = [0u8; 64];
        let n = tap.read(&mut buf).unwrap();
        assert_eq!(n, data.len());
        assert_eq!(tap.span(15, 20), Some(&b"a,\"\"\n"[..]));
        assert_eq!(tap.span(15, 21), None, "not read");
        let (kept, mut rest) = tap.into_parts();
        assert_eq!(&kept[..], data);
        assert!(rest.fill_buf().unwrap().is_empty());
    }
}
