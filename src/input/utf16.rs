//! UTF-16LE exports: Windows PowerShell 5.1's `Out-File` (and so many a
//! DSInternals `Format-Custom -View HashcatNT | Out-File` dump) writes UTF-16
//! with a byte-order mark. Such a stream is turned into UTF-8 on the fly, so
//! the parsers only ever see UTF-8.

use std::io::{self, BufRead, Read};
use zeroize::{Zeroize, Zeroizing};

pub const BOM: &[u8] = b"\xFF\xFE";

pub struct Utf16LeToUtf8<R> {
    inner: R,
    /// UTF-8 bytes decoded but not yet handed out (plaintext, in a
    /// plaintext export: wiped before each refill and when dropped).
    out: Zeroizing<Vec<u8>>,
    out_pos: usize,
    /// An odd byte left over from the previous read.
    carry: Option<u8>,
    /// A high surrogate waiting for its low half.
    high: Option<u16>,
}

impl<R: BufRead> Utf16LeToUtf8<R> {
    /// `inner` must be positioned after the byte-order mark.
    pub fn new(inner: R) -> Self {
        Utf16LeToUtf8 {
            inner,
            out: Zeroizing::new(Vec::new()),
            out_pos: 0,
            carry: None,
            high: None,
        }
    }

    fn push_char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.out
            .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }

    fn push_unit(&mut self, unit: u16) {
        match (self.high.take(), unit) {
            (None, 0xD800..=0xDBFF) => self.high = Some(unit),
            (Some(h), 0xDC00..=0xDFFF) => {
                let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                self.push_char(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            (Some(_), _) => {
                self.push_char(char::REPLACEMENT_CHARACTER);
                self.push_unit(unit);
            }
            (None, _) => self
                .push_char(char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER)),
        }
    }

    /// Decode the next chunk of input; false at end of input.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.zeroize();
        self.out_pos = 0;
        let chunk = self.inner.fill_buf()?;
        if chunk.is_empty() {
            if self.carry.take().is_some() || self.high.take().is_some() {
                self.push_char(char::REPLACEMENT_CHARACTER);
                return Ok(true);
            }
            return Ok(false);
        }
        let chunk = Zeroizing::new(chunk.to_vec());
        self.inner.consume(chunk.len());
        // At most 3 UTF-8 bytes per UTF-16 unit: reserved while the buffer
        // is empty (just wiped), so it never moves with plaintext inside.
        self.out.reserve(chunk.len() / 2 * 3 + 8);
        let mut bytes = chunk.as_slice();
        if let Some(lo) = self.carry.take() {
            self.push_unit(u16::from_le_bytes([lo, bytes[0]]));
            bytes = &bytes[1..];
        }
        let mut pairs = bytes.chunks_exact(2);
        for pair in &mut pairs {
            self.push_unit(u16::from_le_bytes([pair[0], pair[1]]));
        }
        self.carry = pairs.remainder().first().copied();
        Ok(true)
    }
}

impl<R: BufRead> Read for Utf16LeToUtf8<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.out.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], chunk: usize) -> String {
        let reader = io::BufReader::with_capacity(chunk, bytes);
        let mut out = String::new();
        Utf16LeToUtf8::new(reader).read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn decodes_across_odd_chunk_boundaries() {
        let text = "jdoe:8846f7ee\r\nünï😀\n";
        let bytes: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(decode(&bytes, chunk), text, "chunk {chunk}");
        }
        assert_eq!(decode(&[0x41, 0x00, 0x42], 8), "A\u{FFFD}");
    }
}
