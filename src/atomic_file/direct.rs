//! Durable files written around the page cache.
//!
//! A reset list of a hundred million accounts is gigabytes. Written through
//! the page cache, every byte is first copied into pages that the kernel
//! must find and clear, pushing out what was cached (the compiled store the
//! audit has just read), and then written again to the disk by the fsync
//! before the rename. On the machine of the README's figures, `dd` took
//! 2.6-7.8 s to write and sync 2.7 GB that way, against 1.1-1.4 s with
//! `oflag=direct`.
//!
//! So a durable file is written with `O_DIRECT` from an aligned buffer:
//! each full buffer goes straight to the disk. The tail, less than a block,
//! is written through the cache once `O_DIRECT` is turned off, and the
//! fsync that follows makes the whole file durable and reports any error.
//! Where the file system refuses `O_DIRECT` (tmpfs, some network file
//! systems), or a direct write is refused, the rest goes through the cache
//! as any file would.

use memmap2::MmapMut;
use std::fs::File;
use std::io::{self, Write};

/// Bytes handed to the disk per write.
const CHUNK: usize = 8 << 20;
/// What `O_DIRECT` needs offsets, lengths and addresses to be multiples of:
/// the largest logical block size in use.
const BLOCK: usize = 4096;

/// Writes a new file from its start, around the page cache where it can.
/// [`DirectWriter::finish`] writes the last bytes; `flush` cannot (a
/// partial block can only go through the cache, and only at the end).
pub struct DirectWriter<'f> {
    file: &'f File,
    /// Page-aligned, [`CHUNK`] bytes.
    buf: MmapMut,
    len: usize,
    direct: bool,
}

impl<'f> DirectWriter<'f> {
    pub fn new(file: &'f File) -> io::Result<DirectWriter<'f>> {
        Ok(DirectWriter {
            file,
            buf: MmapMut::map_anon(CHUNK)?,
            len: 0,
            direct: set_direct(file, true),
        })
    }

    /// Write everything still buffered.
    pub fn finish(mut self) -> io::Result<()> {
        self.write_out(self.len / BLOCK * BLOCK)?;
        if self.direct {
            self.direct = !set_direct(self.file, false);
        }
        self.write_out(self.len)
    }

    /// Write the first `n` buffered bytes, and keep the rest.
    fn write_out(&mut self, n: usize) -> io::Result<()> {
        let mut done = 0;
        while done < n {
            match (&*self.file).write(&self.buf[done..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => done += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A direct write refused (a short one before it left the
                // offset unaligned, or a device with larger blocks): the
                // rest goes through the cache.
                Err(e) if self.direct && e.raw_os_error() == Some(libc::EINVAL) => {
                    if !set_direct(self.file, false) {
                        return Err(e);
                    }
                    self.direct = false;
                }
                Err(e) => return Err(e),
            }
        }
        self.buf.copy_within(n..self.len, 0);
        self.len -= n;
        Ok(())
    }
}

impl Write for DirectWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        if self.len == CHUNK {
            self.write_out(CHUNK)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Turn `O_DIRECT` on or off for `file`; false when that failed.
#[cfg(target_os = "linux")]
fn set_direct(file: &File, on: bool) -> bool {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: plain system calls on an open descriptor; no memory passed.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return false;
        }
        let flags = if on {
            flags | libc::O_DIRECT
        } else {
            flags & !libc::O_DIRECT
        };
        libc::fcntl(fd, libc::F_SETFL, flags) == 0
    }
}

#[cfg(not(target_os = "linux"))]
fn set_direct(_: &File, on: bool) -> bool {
    !on
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pieces of every size, past several chunks, end on a partial block.
    fn write_pieces(file: &File) -> Vec<u8> {
        let mut expected = Vec::new();
        let mut w = DirectWriter::new(file).unwrap();
        let mut rng = crate::test_rng::SplitMix(8);
        while expected.len() < 2 * CHUNK + 12_345 {
            let piece: Vec<u8> = (0..rng.below(300_000)).map(|_| rng.next() as u8).collect();
            w.write_all(&piece).unwrap();
            expected.extend_from_slice(&piece);
        }
        w.finish().unwrap();
        expected
    }

    #[test]
    fn writes_the_same_bytes_directly_or_through_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let expected = write_pieces(&File::create(&path).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        // tmpfs refuses O_DIRECT: everything goes through the cache.
        if let Ok(dir) = tempfile::tempdir_in("/dev/shm") {
            let path = dir.path().join("out");
            let expected = write_pieces(&File::create(&path).unwrap());
            assert_eq!(std::fs::read(&path).unwrap(), expected);
        }
    }

    #[test]
    fn small_files_are_all_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let file = File::create(&path).unwrap();
        let mut w = DirectWriter::new(&file).unwrap();
        w.write_all(b"account,origin\n").unwrap();
        w.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"account,origin\n");
    }

    #[test]
    fn passes_write_errors_on() {
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return;
        };
        let mut w = DirectWriter::new(&full).unwrap();
        let failed = w.write_all(&[0; CHUNK + 100]).and_then(|()| w.finish());
        assert_eq!(failed.unwrap_err().raw_os_error(), Some(libc::ENOSPC));
    }
}
