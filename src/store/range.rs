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
