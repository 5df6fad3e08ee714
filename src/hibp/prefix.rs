//! 5-hex hash prefixes: how they are written (in URLs, in messages, in file
//! names) and parsed. The prefix is the only part of a hash that may leave
//! the machine or appear in output, so it has one spelling: 5 upper-case
//! hex digits. A mirror holds one file per prefix, `00000.txt` to
//! `FFFFF.txt`; the official downloader and `credaudit download` agree.

use std::path::{Path, PathBuf};

/// Hex digits in a prefix.
pub const DIGITS: usize = 5;

/// A prefix as the 5 upper-case hex digits the protocol uses.
pub fn hex(prefix: u32) -> String {
    format!("{prefix:05X}")
}

/// The prefix file of `prefix` in a mirror directory.
pub fn file_path(dir: &Path, prefix: u32) -> PathBuf {
    dir.join(format!("{}.txt", hex(prefix)))
}

/// The prefix a mirror file name stands for (`5BAA6.txt`, either case).
pub fn from_file_name(name: &str) -> Option<u32> {
    parse(name.strip_suffix(".txt")?)
}

/// 5 hex digits, either case.
fn parse(s: &str) -> Option<u32> {
    (s.len() == DIGITS && crate::hash::is_hex(s.as_bytes()))
        .then(|| u32::from_str_radix(s, 16).expect("5 hex digits"))
}

/// `00000-0FFFF`, or one prefix `5BAA6`: first and last, inclusive.
pub fn parse_range(s: &str) -> Result<(u32, u32), String> {
    let one = |p: &str| {
        parse(p).ok_or_else(|| format!("{p:?} is not a 5-hex-digit prefix (00000 to FFFFF)"))
    };
    let (first, last) = match s.split_once('-') {
        Some((a, b)) => (one(a)?, one(b)?),
        None => (one(s)?, one(s)?),
    };
    if first > last {
        return Err(format!("prefix range {s:?} ends before it starts"));
    }
    Ok((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_names() {
        assert_eq!(parse_range("00000-0FFFF"), Ok((0, 0xFFFF)));
        assert_eq!(parse_range("5baa6"), Ok((0x5BAA6, 0x5BAA6)));
        assert_eq!(parse_range("00000-FFFFF"), Ok((0, 0xFFFFF)));
        assert!(parse_range("0FFFF-00000").is_err());
        assert!(parse_range("0FFF-10000").is_err());
        assert!(parse_range("0FFFG").is_err());
        assert_eq!(hex(0xA), "0000A");
        assert_eq!(file_path(Path::new("m"), 0x5BAA6), Path::new("m/5BAA6.txt"));
        assert_eq!(from_file_name("5baa6.txt"), Some(0x5BAA6));
        assert_eq!(from_file_name("5BAA6.txt.tmp"), None);
        assert_eq!(from_file_name("+BAA6.txt"), None);
    }
}
