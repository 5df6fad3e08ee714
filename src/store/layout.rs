//! The store's bytes on disk, in one place: the fixed header, the sections
//! it points at, and the shape of a record.
//!
//! ```text
//! 0            header (4096 bytes, little-endian fields, own checksum)
//! 4096         records: one per hash, ascending; key bytes then a count byte
//!              (8 zero bytes of padding follow, so reads never end a map)
//! table        (2^bucket_bits + 1) u64: index of each bucket's first record
//! overflow     (record index u64, count u64) for counts above 254, ascending
//! uncovered    (first u64, last u64): stretches of hash space, as the top 64
//!              bits of a hash, that no source line covered (inclusive)
//! meta         JSON: the sources' identities, coverage, build facts
//! checksums    xxh3-64 of every block of `block_size` bytes from 4096 up to
//!              the checksums
//! ```
//!
//! A record keeps a hash's bits after its bucket: `key_bytes` of them, so
//! that bucket and key hold 64 bits (truncated keys) or the whole hash
//! (`--full-keys`). The header checksums itself, the table, coverage and
//! meta sections (checked at every open) and the block checksums (checked
//! by `index verify`, which reads everything; the overflow table is also
//! checked as it is read).

use crate::hash::HashKind;
use crate::sorted_key::Key;
use xxhash_rust::xxh3::xxh3_64;

pub const MAGIC: [u8; 8] = *b"CRDAUDST";
pub const VERSION: u32 = 1;
pub const HEADER_LEN: u64 = 4096;
/// Bytes per checksummed block.
pub const BLOCK: u64 = 1 << 20;
/// Zero bytes after the records.
pub const RECORD_PADDING: u64 = 8;
/// Counts up to this are kept in the record's count byte; the byte value
/// [`OVERFLOW`] sends the reader to the overflow table.
pub const INLINE_MAX: u64 = 254;
pub const OVERFLOW: u8 = 255;
/// Significant bits of a truncated key (bucket and key bytes together).
pub const TRUNCATED_BITS: u32 = 64;
/// Bytes of the header that hold fields (the header checksum follows).
const FIELDS: usize = 176;

/// A contiguous run of bytes in the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Section {
    pub offset: u64,
    pub len: u64,
}

impl Section {
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }
}

/// How a hash becomes a record: its first `bucket_bits` pick the bucket,
/// the next `key_bytes` bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Shape {
    pub kind: HashKind,
    pub full_keys: bool,
    pub bucket_bits: u32,
    pub key_bytes: usize,
}

impl Shape {
    /// The shape for about `entries` hashes: the bucket table grows with
    /// the corpus (one bucket per 8 to 64 hashes at scale) and every extra
    /// byte of bucket is a byte less in each record.
    pub fn for_entries(kind: HashKind, full_keys: bool, entries: u64) -> Shape {
        let bucket_bits = if entries >= 1 << 27 {
            24
        } else if entries >= 1 << 19 {
            16
        } else {
            8
        };
        Shape::new(kind, full_keys, bucket_bits)
    }

    pub fn new(kind: HashKind, full_keys: bool, bucket_bits: u32) -> Shape {
        let bucket_bytes = bucket_bits as usize / 8;
        let key_bytes = if full_keys {
            kind.bytes() - bucket_bytes
        } else {
            TRUNCATED_BITS as usize / 8 - bucket_bytes
        };
        Shape {
            kind,
            full_keys,
            bucket_bits,
            key_bytes,
        }
    }

    pub fn bucket_bytes(&self) -> usize {
        self.bucket_bits as usize / 8
    }

    pub fn record_bytes(&self) -> usize {
        self.key_bytes + 1
    }

    pub fn buckets(&self) -> usize {
        1 << self.bucket_bits
    }

    /// Significant bits of a hash the store keeps.
    pub fn key_bits(&self) -> u32 {
        self.bucket_bits + 8 * self.key_bytes as u32
    }

    /// The bucket of a hash.
    #[inline]
    pub fn bucket(&self, hash: &[u8]) -> usize {
        hash[..self.bucket_bytes()]
            .iter()
            .fold(0usize, |b, &byte| b << 8 | byte as usize)
    }

    /// Append the record of `key`: its key bytes, then `count`.
    #[inline(always)]
    pub(crate) fn push_record(&self, key: Key, count: u8, out: &mut Vec<u8>) {
        if self.full_keys {
            out.extend_from_slice(&key.bytes()[self.bucket_bytes()..self.kind.bytes()]);
        } else {
            // The 64-bit top without its bucket bits, as a fixed 8-byte
            // write cut back to the key bytes: no variable-length copy.
            let len = out.len();
            out.extend_from_slice(&(key.top() << self.bucket_bits).to_be_bytes());
            out.truncate(len + self.key_bytes);
        }
        out.push(count);
    }

    /// The key bytes of a hash.
    #[inline]
    pub fn key<'a>(&self, hash: &'a [u8]) -> &'a [u8] {
        &hash[self.bucket_bytes()..self.bucket_bytes() + self.key_bytes]
    }
}

/// The fixed header.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    pub shape: Shape,
    pub entries: u64,
    /// Hashes seen fewer times than this were left out at build time.
    pub min_count: u64,
    pub max_count: u64,
    pub file_len: u64,
    pub records: Section,
    pub table: Section,
    pub overflow: Section,
    pub uncovered: Section,
    pub meta: Section,
    pub checksums: Section,
    pub block_size: u64,
    /// xxh3-64 of the table, then the uncovered and meta sections.
    pub tail_digest: u64,
    /// xxh3-64 of the checksums section.
    pub checksums_digest: u64,
}

fn kind_code(kind: HashKind) -> u8 {
    match kind {
        HashKind::Sha1 => 1,
        HashKind::Ntlm => 2,
    }
}

impl Header {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN as usize);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        out.push(kind_code(self.shape.kind));
        out.push(self.shape.bucket_bits as u8);
        out.push(self.shape.key_bytes as u8);
        out.push(u8::from(self.shape.full_keys));
        out.extend_from_slice(&[0; 4]);
        for v in [self.entries, self.min_count, self.max_count, self.file_len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for s in self.sections() {
            out.extend_from_slice(&s.offset.to_le_bytes());
            out.extend_from_slice(&s.len.to_le_bytes());
        }
        for v in [self.block_size, self.tail_digest, self.checksums_digest] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        debug_assert_eq!(out.len(), FIELDS);
        let digest = xxh3_64(&out);
        out.extend_from_slice(&digest.to_le_bytes());
        out.resize(HEADER_LEN as usize, 0);
        out
    }

    fn sections(&self) -> [Section; 6] {
        [
            self.records,
            self.table,
            self.overflow,
            self.uncovered,
            self.meta,
            self.checksums,
        ]
    }

    /// Read a header and check that it is whole and self-consistent (not
    /// yet that it fits the file: see [`Header::check_against`]). The error
    /// says what is wrong, for a message that names the file.
    pub fn decode(bytes: &[u8]) -> Result<Header, String> {
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            return Err("not a credaudit store (wrong magic bytes)".into());
        }
        if bytes.len() < HEADER_LEN as usize {
            return Err("truncated inside its header".into());
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4"));
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8"));
        let version = u32_at(8);
        if version != VERSION {
            return Err(format!(
                "store format version {version}, but this credaudit reads version {VERSION}: rebuild the store with this credaudit"
            ));
        }
        if xxh3_64(&bytes[..FIELDS]) != u64_at(FIELDS) || u32_at(12) as u64 != HEADER_LEN {
            return Err("corrupt header (checksum mismatch)".into());
        }
        let kind = match bytes[16] {
            1 => HashKind::Sha1,
            2 => HashKind::Ntlm,
            _ => return Err("corrupt header (unknown hash kind)".into()),
        };
        let (bucket_bits, full_keys) = (u32::from(bytes[17]), bytes[19] == 1);
        if ![8, 16, 24].contains(&bucket_bits) || bytes[19] > 1 {
            return Err("corrupt header (key shape)".into());
        }
        let shape = Shape::new(kind, full_keys, bucket_bits);
        if usize::from(bytes[18]) != shape.key_bytes {
            return Err("corrupt header (key shape)".into());
        }
        let section = |i: usize| Section {
            offset: u64_at(56 + 16 * i),
            len: u64_at(64 + 16 * i),
        };
        let header = Header {
            shape,
            entries: u64_at(24),
            min_count: u64_at(32),
            max_count: u64_at(40),
            file_len: u64_at(48),
            records: section(0),
            table: section(1),
            overflow: section(2),
            uncovered: section(3),
            meta: section(4),
            checksums: section(5),
            block_size: u64_at(152),
            tail_digest: u64_at(160),
            checksums_digest: u64_at(168),
        };
        header.check_sections()?;
        Ok(header)
    }

    /// The sections follow each other in order, each of the size the
    /// counts say, the last one ending at `file_len`.
    fn check_sections(&self) -> Result<(), String> {
        let corrupt = |what: &str| Err(format!("corrupt header ({what})"));
        let rb = self.shape.record_bytes() as u64;
        let Some(records_len) = self.entries.checked_mul(rb) else {
            return corrupt("entry count");
        };
        if self.records.offset != HEADER_LEN || self.records.len != records_len {
            return corrupt("records section");
        }
        if self.table.offset < self.records.end() + RECORD_PADDING
            || self.table.len != (self.shape.buckets() as u64 + 1) * 8
        {
            return corrupt("table section");
        }
        if !self.overflow.len.is_multiple_of(16) || !self.uncovered.len.is_multiple_of(16) {
            return corrupt("overflow or coverage section");
        }
        let ordered = [
            self.table,
            self.overflow,
            self.uncovered,
            self.meta,
            self.checksums,
        ];
        if ordered.windows(2).any(|w| w[1].offset != w[0].end()) {
            return corrupt("sections out of order");
        }
        if self.block_size == 0 || !self.block_size.is_multiple_of(4096) {
            return corrupt("block size");
        }
        let blocks = (self.checksums.offset - HEADER_LEN).div_ceil(self.block_size);
        if self.checksums.len != blocks * 8 || self.checksums.end() != self.file_len {
            return corrupt("checksums section");
        }
        Ok(())
    }

    /// Bytes per hash in all.
    pub fn bytes_per_hash(&self) -> f64 {
        self.file_len as f64 / self.entries.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        let shape = Shape::new(HashKind::Sha1, false, 8);
        let records = Section {
            offset: HEADER_LEN,
            len: 3 * 8,
        };
        let table = Section {
            offset: records.end() + RECORD_PADDING,
            len: 257 * 8,
        };
        let overflow = Section {
            offset: table.end(),
            len: 16,
        };
        let uncovered = Section {
            offset: overflow.end(),
            len: 0,
        };
        let meta = Section {
            offset: uncovered.end(),
            len: 10,
        };
        let checksums = Section {
            offset: meta.end(),
            len: 8,
        };
        Header {
            shape,
            entries: 3,
            min_count: 1,
            max_count: 3_861_493,
            file_len: checksums.end(),
            records,
            table,
            overflow,
            uncovered,
            meta,
            checksums,
            block_size: BLOCK,
            tail_digest: 7,
            checksums_digest: 9,
        }
    }

    #[test]
    fn shapes_keep_64_bits_or_the_whole_hash() {
        for (entries, bits, key) in [(1_000, 8, 7), (1 << 19, 16, 6), (2_000_000_000, 24, 5)] {
            let s = Shape::for_entries(HashKind::Sha1, false, entries);
            assert_eq!((s.bucket_bits, s.key_bytes, s.key_bits()), (bits, key, 64));
        }
        let full = Shape::for_entries(HashKind::Sha1, true, 2_000_000_000);
        assert_eq!((full.key_bytes, full.key_bits()), (17, 160));
        let ntlm = Shape::for_entries(HashKind::Ntlm, true, 1_000);
        assert_eq!(ntlm.key_bits(), 128);
        let hash = [0x5B, 0xAA, 0x61, 0xE4, 0xC9, 0xB9, 0x3F, 0x3F, 0x06];
        let s = Shape::new(HashKind::Sha1, false, 24);
        assert_eq!(s.bucket(&hash), 0x5BAA61);
        assert_eq!(s.key(&hash), &hash[3..8]);
    }

    #[test]
    fn header_round_trips_and_every_damage_is_named() {
        let h = sample();
        let bytes = h.encode();
        assert_eq!(bytes.len() as u64, HEADER_LEN);
        assert_eq!(Header::decode(&bytes).unwrap(), h);
        let mut flipped = bytes.clone();
        flipped[30] ^= 1;
        assert!(Header::decode(&flipped).unwrap_err().contains("checksum"));
        let mut other = bytes.clone();
        other[..8].copy_from_slice(b"PK\x03\x04zip!");
        assert!(Header::decode(&other).unwrap_err().contains("magic"));
        let mut newer = bytes.clone();
        newer[8] = 2;
        assert!(Header::decode(&newer).unwrap_err().contains("version 2"));
        assert!(Header::decode(&bytes[..100])
            .unwrap_err()
            .contains("truncated"));
        let mut bad = h.clone();
        bad.table.len -= 8;
        assert!(Header::decode(&bad.encode()).unwrap_err().contains("table"));
    }
}
