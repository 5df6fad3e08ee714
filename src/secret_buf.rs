//! Growing buffers of plaintext without leaving copies behind.
//!
//! A `Zeroizing<Vec<u8>>` wipes its bytes when dropped, but when it grows,
//! `Vec` moves them to a larger allocation and frees the old one as it is:
//! the plaintext stays in freed memory. These helpers grow such a buffer by
//! hand instead (new allocation, copy, wipe the old one), so the buffers
//! that hold passwords (the audit's batches, combolist batches, the UTF-16
//! decoder's output, `credaudit check`'s password) never leave a copy.

use std::io::{self, BufRead};
use zeroize::Zeroizing;

/// Make room for `extra` more bytes in `buf`; its old allocation, if it has
/// to move, is wiped before it is freed.
pub fn reserve(buf: &mut Zeroizing<Vec<u8>>, extra: usize) {
    if buf.capacity() - buf.len() >= extra {
        return;
    }
    let wanted = (buf.len() + extra).max(buf.capacity() * 2);
    let mut bigger = Zeroizing::new(Vec::with_capacity(wanted));
    bigger.extend_from_slice(buf);
    // The old buffer is dropped here, which wipes its whole capacity.
    *buf = bigger;
}

/// `read_until(b'\n')` into a buffer of secrets, growing it with [`reserve`].
pub fn read_line(reader: &mut dyn BufRead, buf: &mut Zeroizing<Vec<u8>>) -> io::Result<usize> {
    let start = buf.len();
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(buf.len() - start);
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        reserve(buf, take);
        buf.extend_from_slice(&chunk[..take]);
        reader.consume(take);
        if done {
            return Ok(buf.len() - start);
        }
    }
}

/// Read all of `reader` into a wiped-on-drop buffer.
pub fn read_to_end(reader: &mut dyn BufRead) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    loop {
        let n = match reader.fill_buf() {
            Ok([]) => return Ok(buf),
            Ok(chunk) => {
                reserve(&mut buf, chunk.len());
                buf.extend_from_slice(chunk);
                chunk.len()
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        reader.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_never_reallocates_in_place() {
        let mut buf = Zeroizing::new(Vec::with_capacity(4));
        buf.extend_from_slice(b"abc");
        reserve(&mut buf, 1);
        assert_eq!(buf.capacity(), 4, "room enough: nothing moves");
        reserve(&mut buf, 10);
        assert!(buf.capacity() >= 13);
        assert_eq!(&buf[..], b"abc");
    }

    #[test]
    fn lines_and_whole_streams() {
        let text = b"first line\nsecond, longer than the reader's buffer\nlast";
        let mut reader = io::BufReader::with_capacity(4, &text[..]);
        let mut buf = Zeroizing::new(Vec::new());
        assert_eq!(read_line(&mut reader, &mut buf).unwrap(), 11);
        assert_eq!(read_line(&mut reader, &mut buf).unwrap(), 40);
        assert_eq!(read_line(&mut reader, &mut buf).unwrap(), 4);
        assert_eq!(read_line(&mut reader, &mut buf).unwrap(), 0);
        assert_eq!(&buf[..], &text[..]);
        let mut reader = io::BufReader::with_capacity(3, &text[..]);
        assert_eq!(&read_to_end(&mut reader).unwrap()[..], &text[..]);
    }
}
