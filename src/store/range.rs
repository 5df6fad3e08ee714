//! A store's answer for one 5-hex prefix, as the range API gives it: every
//! hash under the prefix as `SUFFIX:COUNT` lines, sorted, CRLF.
//!
//! Only a `--full-keys` store can do this (a truncated key does not hold
//! the 35 hex digits of a suffix); the caller checks that once at open. The
//! prefix's records are contiguous: with 2^24 buckets a prefix is 16 whole
//! buckets, with fewer it is a stretch of one bucket found by binary search
//! on the key's leading bits. A prefix that touches hash space the store was
//! built without (`--allow-missing`) has no answer, never an empty one.

use super::layout::OVERFLOW;
use super::reader::{partition, OverflowCursor, Store};
use crate::hash::{hex_digit, push_hex};
use anyhow::Result;

/// Bits of a 5-hex prefix.
const PREFIX_BITS: u32 = 20;

/// What a store holds for a prefix.
#[derive(Debug, PartialEq, Eq)]
pub enum PrefixLines {
    /// This many lines were appended.
    Lines(u64),
    /// Part of the prefix's hash space has no data.
    Missing,
}

impl Store {
    /// Append the range API body of `prefix` (below 2^20) to `out`. An
    /// error only for a damaged overflow table.
    pub fn prefix_lines(&self, prefix: u32, out: &mut Vec<u8>) -> Result<PrefixLines> {
        debug_assert!(self.header.shape.full_keys, "checked when serving starts");
        let first_top = u64::from(prefix) << (64 - PREFIX_BITS);
        let last_top = first_top | (u64::MAX >> PREFIX_BITS);
        if self
            .uncovered
            .iter()
            .any(|&(from, to)| from <= last_top && to >= first_top)
        {
            return Ok(PrefixLines::Missing);
        }
        let shape = self.header.shape;
        let bucket_bits = shape.bucket_bits;
        // The buckets the prefix spans, and its records within them.
        let (first_bucket, last_bucket, lo, hi) = if bucket_bits >= PREFIX_BITS {
            let shift = bucket_bits - PREFIX_BITS;
            let first = (prefix as usize) << shift;
            let end = (prefix as usize + 1) << shift;
            (first, end - 1, self.table_at(first), self.table_at(end))
        } else {
            // The prefix's remaining bits lead the key (at most 12 of them:
            // the first two key bytes hold them).
            let rest = PREFIX_BITS - bucket_bits;
            let bucket = (prefix >> rest) as usize;
            let want = prefix & ((1 << rest) - 1);
            let lead = |i: u64| {
                let at = self.record_at(i);
                u32::from(u16::from_be_bytes([self.map[at], self.map[at + 1]])) >> (16 - rest)
            };
            let (from, to) = (self.table_at(bucket), self.table_at(bucket + 1));
            let lo = partition(from, to, |i| lead(i) < want);
            let hi = partition(lo, to, |i| lead(i) <= want);
            (bucket, bucket, lo, hi)
        };
        let bytes = shape.kind.bytes();
        let bucket_bytes = shape.bucket_bytes();
        let key_bytes = shape.key_bytes;
        let mut overflow = OverflowCursor::new(self);
        let mut hash = [0u8; 20];
        let mut digits = itoa::Buffer::new();
        for bucket in first_bucket..=last_bucket {
            let from = self.table_at(bucket).max(lo);
            let to = self.table_at(bucket + 1).min(hi);
            hash[..bucket_bytes].copy_from_slice(&bucket.to_be_bytes()[8 - bucket_bytes..]);
            for i in from..to {
                let at = self.record_at(i);
                hash[bucket_bytes..bytes].copy_from_slice(&self.map[at..at + key_bytes]);
                // The suffix starts at the hash's sixth hex digit: the low
                // half of byte 2.
                out.push(hex_digit(hash[2]));
                push_hex(out, &hash[3..bytes]);
                out.push(b':');
                let byte = self.map[at + key_bytes];
                let count = if byte == OVERFLOW {
                    overflow.count(i)?
                } else {
                    u64::from(byte)
                };
                out.extend_from_slice(digits.format(count).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        Ok(PrefixLines::Lines(hi - lo))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{encode_hex, HashKind};
    use crate::store::build::{build_shaped, BuildOptions};
    use indicatif::ProgressBar;
    use std::collections::BTreeMap;

    /// Sorted, distinct random hashes of `bytes` bytes with counts (some
    /// above 254, for the overflow table), from a fixed seed.
    fn corpus(n: usize, bytes: usize, keep: impl Fn(&[u8]) -> bool) -> BTreeMap<Vec<u8>, u64> {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut out = BTreeMap::new();
        while out.len() < n {
            let hash: Vec<u8> = (0..bytes).map(|_| next() as u8).collect();
            if keep(&hash) {
                let count = if next() % 10 == 0 {
                    255 + next() % 100_000
                } else {
                    1 + next() % 254
                };
                out.insert(hash, count);
            }
        }
        out
    }

    fn store_of(
        dir: &std::path::Path,
        entries: &BTreeMap<Vec<u8>, u64>,
        bucket_bits: u32,
        allow_missing: bool,
    ) -> Store {
        let text: String = entries
            .iter()
            .map(|(h, c)| format!("{}:{c}\n", encode_hex(h)))
            .collect();
        let source = dir.join(format!("corpus-{bucket_bits}.txt"));
        std::fs::write(&source, text).unwrap();
        let out = dir.join(format!("s-{bucket_bits}.store"));
        let options = BuildOptions {
            out: out.clone(),
            sources: vec![source],
            full_keys: true,
            min_count: 1,
            allow_missing,
        };
        build_shaped(&options, &ProgressBar::hidden(), Some(bucket_bits)).unwrap();
        let store = Store::open(&out).unwrap();
        assert_eq!(store.header().shape.bucket_bits, bucket_bits);
        store
    }

    /// What the range API must say for `prefix`: the entries under it.
    fn expected(entries: &BTreeMap<Vec<u8>, u64>, prefix: u32) -> String {
        entries
            .iter()
            .map(|(h, c)| (encode_hex(h), c))
            .filter(|(hex, _)| u32::from_str_radix(&hex[..5], 16).unwrap() == prefix)
            .map(|(hex, c)| format!("{}:{c}\r\n", &hex[5..]))
            .collect()
    }

    #[test]
    fn every_layout_gives_back_each_prefix_exactly() {
        let dir = tempfile::tempdir().unwrap();
        for (kind, bytes) in [(HashKind::Sha1, 20), (HashKind::Ntlm, 16)] {
            let entries = corpus(3000, bytes, |_| true);
            // Prefixes with entries, and neighbours and strays without.
            let mut prefixes: Vec<u32> = entries
                .keys()
                .step_by(7)
                .map(|h| u32::from_be_bytes([0, h[0], h[1], h[2]]) >> 4)
                .collect();
            prefixes.extend([0, 1, 0xFFFFF, 0x5BAA6, 0x80000, 0x7FFFF]);
            for bucket_bits in [8, 16, 24] {
                let store = store_of(dir.path(), &entries, bucket_bits, false);
                assert_eq!(store.header().shape.kind, kind);
                let mut total = 0;
                for &prefix in &prefixes {
                    let mut out = Vec::new();
                    let got = store.prefix_lines(prefix, &mut out).unwrap();
                    let want = expected(&entries, prefix);
                    assert_eq!(
                        String::from_utf8(out).unwrap(),
                        want,
                        "{kind} {bucket_bits} {prefix:05X}"
                    );
                    assert_eq!(got, PrefixLines::Lines(want.lines().count() as u64));
                    total += want.lines().count();
                }
                assert!(total > 400, "the prefixes asked hold entries: {total}");
            }
        }
    }

    #[test]
    fn a_prefix_without_data_is_missing_never_empty() {
        let dir = tempfile::tempdir().unwrap();
        // Nothing from A0000 up: the build records it as uncovered.
        let entries = corpus(3000, 20, |h| h[0] < 0xA0);
        let store = store_of(dir.path(), &entries, 8, true);
        let mut out = Vec::new();
        assert_eq!(
            store.prefix_lines(0xB1234, &mut out).unwrap(),
            PrefixLines::Missing
        );
        assert_eq!(
            store.prefix_lines(0xFFFFF, &mut out).unwrap(),
            PrefixLines::Missing
        );
        assert!(out.is_empty());
        let first = entries.keys().next().unwrap();
        let prefix = u32::from_be_bytes([0, first[0], first[1], first[2]]) >> 4;
        assert!(matches!(
            store.prefix_lines(prefix, &mut out).unwrap(),
            PrefixLines::Lines(n) if n >= 1
        ));
    }
}
