//! The Pwned Passwords range format: `SUFFIX:COUNT` lines, and the body of
//! one prefix (a range API response, a mirror's prefix file, a cache entry).
//! Every reader of a prefix body goes through [`read`], so the API, the
//! per-prefix directory, `download --verify` and the cache accept and reject
//! exactly the same bodies. The rules (also in the README, "Pwned Passwords
//! format"):
//!
//! - a line is the suffix (35 hex digits for SHA-1, 27 for NTLM; upper or
//!   lower case), `:`, and a decimal count of 1 to 19 digits; nothing else,
//!   not even a space or a byte order mark;
//! - lines end in LF or CRLF; the last line's ending is optional; an empty
//!   body holds no entries;
//! - no blank line anywhere (a blank line is how a body spliced from two
//!   pieces or padded by a careless tool looks);
//! - a count of 0 is a padding line (what `Add-Padding: true` adds): it must
//!   be well formed, and is then dropped, never a hit;
//! - the other lines' suffixes are strictly ascending (as numbers: case does
//!   not matter), so neither unsorted nor duplicate lines pass.
//!
//! A body that breaks a rule is refused as a whole: a reader that skipped or
//! sorted its way past a damaged body could make a leaked hash look clean.

use crate::hash::{decode_hex, is_hex, HashKind};
use crate::hibp::prefix;
use std::cmp::Ordering;
use std::fmt;

/// Most digits a count may have (any 19-digit number fits in a `u64`).
const MAX_COUNT_DIGITS: usize = 19;

/// Split a line (without its `\n`; a final `\r` is dropped) into its hex
/// field and count. `None` unless it is exactly `hex_width` hex digits, a
/// colon and 1 to 19 decimal digits. Also the line of the single sorted
/// file (`HASH:COUNT`, the full hash as hex field).
#[inline]
pub fn split_line(line: &[u8], hex_width: usize) -> Option<(&[u8], u64)> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() < hex_width + 2 || line[hex_width] != b':' {
        return None;
    }
    let digits = &line[hex_width + 1..];
    if digits.len() > MAX_COUNT_DIGITS {
        return None;
    }
    let mut count = 0u64;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        count = count * 10 + u64::from(d - b'0');
    }
    let hex = &line[..hex_width];
    is_hex(hex).then_some((hex, count))
}

/// What is wrong with a body, and on which line (1-based). Never holds the
/// line itself: a body's content is hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyError {
    pub line: u64,
    pub problem: Problem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    Blank,
    /// Not a suffix of this width, `:` and a count.
    Malformed {
        width: usize,
    },
    /// Not above the previous suffix: unsorted, or a duplicate.
    NotAscending,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.line;
        match self.problem {
            Problem::Blank => write!(f, "line {line}: blank line"),
            Problem::Malformed { width } => write!(
                f,
                "line {line}: not a {width}-hex suffix, ':' and a count of 1 to {MAX_COUNT_DIGITS} digits"
            ),
            Problem::NotAscending => write!(
                f,
                "line {line}: suffix not above the one before (unsorted or duplicate)"
            ),
        }
    }
}

impl std::error::Error for BodyError {}

/// Suffix width in hex digits of a kind's prefix bodies.
pub fn suffix_width(kind: HashKind) -> usize {
    kind.hex_len() - prefix::DIGITS
}

/// Order hex digits as numbers, whatever their case.
fn cmp_hex(a: &[u8], b: &[u8]) -> Ordering {
    a.iter()
        .map(u8::to_ascii_uppercase)
        .cmp(b.iter().map(u8::to_ascii_uppercase))
}

/// Check a whole body against the rules of the module docs, calling `each`
/// with every entry that is not padding (suffix as written, count), in
/// order. The first broken rule is the error.
pub fn read<'a>(
    body: &'a [u8],
    kind: HashKind,
    mut each: impl FnMut(&'a [u8], u64),
) -> Result<(), BodyError> {
    let width = suffix_width(kind);
    if body.is_empty() {
        return Ok(());
    }
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    let mut prev: Option<&[u8]> = None;
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let fail = |problem| BodyError {
            line: i as u64 + 1,
            problem,
        };
        if line.is_empty() || line == b"\r" {
            return Err(fail(Problem::Blank));
        }
        let (suffix, count) =
            split_line(line, width).ok_or_else(|| fail(Problem::Malformed { width }))?;
        if count == 0 {
            continue;
        }
        if prev.is_some_and(|p| cmp_hex(p, suffix) != Ordering::Less) {
            return Err(fail(Problem::NotAscending));
        }
        prev = Some(suffix);
        each(suffix, count);
    }
    Ok(())
}

/// One prefix's entries, validated by [`read`] and kept in the canonical
/// form: upper-case `SUFFIX:COUNT` CRLF lines, ascending, without padding.
/// That form is also what a mirror's prefix file and a cache entry hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuffixList {
    text: Vec<u8>,
    entries: usize,
}

impl SuffixList {
    /// Parse a body of `kind` (see [`read`]).
    pub fn parse(body: &[u8], kind: HashKind) -> Result<SuffixList, BodyError> {
        let mut text = Vec::with_capacity(body.len() + body.len() / 32);
        let mut entries = 0;
        read(body, kind, |suffix, count| {
            text.extend(suffix.iter().map(u8::to_ascii_uppercase));
            text.push(b':');
            text.extend_from_slice(count.to_string().as_bytes());
            text.extend_from_slice(b"\r\n");
            entries += 1;
        })?;
        Ok(SuffixList { text, entries })
    }

    /// The canonical text.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// Number of entries (padding is not kept).
    pub fn entry_count(&self) -> usize {
        self.entries
    }

    /// Each entry as its full hash (prefix and suffix, `kind.bytes()` long)
    /// and count, in ascending order.
    pub fn entries(
        &self,
        prefix: u32,
        kind: HashKind,
    ) -> impl Iterator<Item = ([u8; 20], u64)> + '_ {
        let width = suffix_width(kind);
        let mut full_hex = [0u8; 40];
        full_hex[..prefix::DIGITS].copy_from_slice(prefix::hex(prefix).as_bytes());
        self.text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(move |line| {
                let (suffix, count) = split_line(line, width).expect("canonical line");
                full_hex[prefix::DIGITS..prefix::DIGITS + width].copy_from_slice(suffix);
                let mut hash = [0u8; 20];
                let ok = decode_hex(&full_hex[..kind.hex_len()], &mut hash[..kind.bytes()]);
                debug_assert!(ok, "canonical lines are hex");
                (hash, count)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "003D68EB55068C33ACE09247EE4C639306B";
    const B: &str = "1E4C9B93F3F0682250B6CF8331B7EE68FD8";

    fn verdict(body: &str) -> Result<usize, Problem> {
        SuffixList::parse(body.as_bytes(), HashKind::Sha1)
            .map(|l| l.entry_count())
            .map_err(|e| e.problem)
    }

    #[test]
    fn split_line_accepts_lf_and_crlf_rejects_the_rest() {
        let hex = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8";
        let split = |s: String| split_line(s.as_bytes(), 40).map(|(_, c)| c);
        assert_eq!(split(format!("{hex}:52256179")), Some(52256179));
        assert_eq!(split(format!("{hex}:3\r")), Some(3));
        assert_eq!(
            split(format!("{hex}:9999999999999999999")),
            Some(9_999_999_999_999_999_999)
        );
        for bad in [
            format!("{hex}:"),
            format!("{hex}:1x"),
            format!("{hex}1:2"),
            format!("{}:3", &hex[1..]),
            format!("{}G:3", &hex[1..]),
            format!("{hex}:3 "),
            format!("{hex}: 3"),
            format!("{hex}:+3"),
            format!("{hex}:10000000000000000000"),
        ] {
            assert_eq!(split(bad.clone()), None, "{bad}");
        }
    }

    #[test]
    fn one_rule_set_for_bodies() {
        let a_lower = A.to_ascii_lowercase();
        assert_eq!(verdict(""), Ok(0));
        assert_eq!(verdict(&format!("{A}:12\r\n{B}:3\r\n")), Ok(2));
        assert_eq!(verdict(&format!("{A}:12\n{B}:3")), Ok(2));
        assert_eq!(verdict(&format!("{a_lower}:12\r\n{B}:3")), Ok(2));
        // Padding is dropped wherever it sits, and does not count for order.
        assert_eq!(verdict(&format!("{B}:0\r\n{A}:12\r\n{B}:3")), Ok(2));
        assert_eq!(verdict("\n"), Err(Problem::Blank));
        assert_eq!(
            verdict(&format!("{A}:12\r\n\r\n{B}:3")),
            Err(Problem::Blank)
        );
        assert_eq!(verdict(&format!("{A}:12\n\n")), Err(Problem::Blank));
        assert_eq!(
            verdict(&format!("{B}:3\r\n{A}:12")),
            Err(Problem::NotAscending)
        );
        assert_eq!(
            verdict(&format!("{A}:3\r\n{a_lower}:12")),
            Err(Problem::NotAscending)
        );
        let malformed = Err(Problem::Malformed { width: 35 });
        assert_eq!(verdict(&format!("\u{feff}{A}:12")), malformed);
        assert_eq!(verdict(&format!("{A}:12 \r\n")), malformed);
        assert_eq!(verdict(&format!("{A}:12\r\n{}", &B[..20])), malformed);
        assert!(SuffixList::parse(A.as_bytes(), HashKind::Ntlm).is_err());
        let e = SuffixList::parse(format!("{A}:1\n{A}:1").as_bytes(), HashKind::Sha1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: suffix not above the one before (unsorted or duplicate)"
        );
    }

    #[test]
    fn canonical_form_and_full_hashes() {
        let body = format!("{}:3\n{B}:0\n{B}:12", A.to_ascii_lowercase());
        let list = SuffixList::parse(body.as_bytes(), HashKind::Sha1).unwrap();
        assert_eq!(list.text(), format!("{A}:3\r\n{B}:12\r\n").as_bytes());
        assert_eq!(
            SuffixList::parse(list.text(), HashKind::Sha1).unwrap(),
            list
        );
        let full: Vec<_> = list.entries(0x5BAA6, HashKind::Sha1).collect();
        assert_eq!(
            crate::hash::encode_hex(&full[1].0),
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
        );
        assert_eq!(full[1].1, 12);
        let ntlm = SuffixList::parse(b"7EAEE8FB117AD06BDD830B7586C:9", HashKind::Ntlm).unwrap();
        let (hash, _) = ntlm.entries(0x8846F, HashKind::Ntlm).next().unwrap();
        assert_eq!(
            crate::hash::encode_hex(&hash[..16]),
            "8846F7EAEE8FB117AD06BDD830B7586C"
        );
    }
}
