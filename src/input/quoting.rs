//! Was an empty CSV field quoted? psql's CSV format (`\copy ... csv`)
//! writes SQL `NULL` as an unquoted empty field and the empty string `''`
//! as `""`, and that difference is the one between "no password" (an SSO
//! account) and "the password is empty". The csv crate hands back field
//! values with the quoting undone, so `--null psql` reads through a
//! [`RawTap`], which keeps the raw bytes of the records being parsed, and
//! [`field_is_quoted`] looks at them when a secret comes back empty.
//!
//! Only `--null psql` pays for the tap; without it the bytes pass straight
//! through. The bytes kept are plaintext, so they live in a buffer that is
//! wiped when it grows or is dropped (see [`crate::secret_buf`]).

use std::io::{self, BufRead, Read};
use zeroize::Zeroizing;

/// The export's bytes on their way into the CSV parser, with a copy of
/// those not yet [`released`](RawTap::release) when `keep` is on.
pub struct RawTap {
    inner: Box<dyn BufRead + Send>,
    kept: Option<Zeroizing<Vec<u8>>>,
    /// Stream offset of `kept[0]`.
    base: u64,
}

impl RawTap {
    pub fn new(inner: Box<dyn BufRead + Send>, keep: bool) -> RawTap {
        RawTap {
            inner,
            kept: keep.then(|| Zeroizing::new(Vec::new())),
            base: 0,
        }
    }

    /// The raw bytes from stream offset `start` to `end` (a record's span
    /// as the CSV reader reports it), if they are still kept.
    pub fn span(&self, start: u64, end: u64) -> Option<&[u8]> {
        let kept = self.kept.as_ref()?;
        let from = usize::try_from(start.checked_sub(self.base)?).ok()?;
        let to = usize::try_from(end.checked_sub(self.base)?).ok()?;
        kept.get(from..to)
    }

    /// Forget the bytes before stream offset `upto`: the records there are
    /// done with.
    pub fn release(&mut self, upto: u64) {
        let Some(kept) = self.kept.as_mut() else {
            return;
        };
        let n = usize::try_from(upto.saturating_sub(self.base))
            .unwrap_or(usize::MAX)
            .min(kept.len());
        kept.copy_within(n.., 0);
        let left = kept.len() - n;
        // The bytes past `left` are wiped as the buffer shrinks back.
        zeroize::Zeroize::zeroize(&mut kept[left..]);
        kept.truncate(left);
        self.base += n as u64;
    }
}

impl Read for RawTap {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(kept) = self.kept.as_mut() {
            crate::secret_buf::reserve(kept, n);
            kept.extend_from_slice(&buf[..n]);
        }
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
    fn tap_keeps_what_is_not_released() {
        let data: &[u8] = b"email,password\na,\"\"\n";
        let mut tap = RawTap::new(Box::new(data), true);
        let mut buf = [0u8; 64];
        let n = tap.read(&mut buf).unwrap();
        assert_eq!(n, data.len());
        assert_eq!(tap.span(15, 20), Some(&b"a,\"\"\n"[..]));
        tap.release(15);
        assert_eq!(tap.span(0, 4), None, "released");
        assert_eq!(tap.span(15, 20), Some(&b"a,\"\"\n"[..]));
        let mut off = RawTap::new(Box::new(data), false);
        assert_eq!(off.read(&mut buf).unwrap(), data.len());
        assert_eq!(off.span(0, 4), None, "nothing kept without --null psql");
    }
}
