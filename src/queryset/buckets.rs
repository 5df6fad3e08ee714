//! The (hash, account) pairs gathered while reading, kept apart by the
//! hash's first byte from the moment they are pushed.
//!
//! One array of pairs had to be partitioned by first byte before the
//! buckets could be sorted on every core: at 100M accounts a pass of 1.5 s
//! on one core that also lost the accounts' order, so that a popular
//! password's million pairs were sorted again by account. Pushed into 256
//! buckets instead, the pairs arrive partitioned and in push order.
//!
//! A bucket grows by blocks, each its own anonymous memory map, twice the
//! size of the one before up to [`MAX_BLOCK`] pairs: growing never copies,
//! the last block's untouched pages are never resident, and a block's
//! memory goes back to the system the moment the bucket is dropped (the
//! allocator may keep freed heap memory; the build frees each bucket while
//! it fills the query set, so the pairs and the set are never both whole).

use super::{Entry, AHEAD};
use crate::page_backing;
use crate::prefetch::prefetch;
use memmap2::MmapMut;

/// The first block of a bucket, in pairs.
const FIRST_BLOCK: usize = 1 << 10;
/// The largest block, in pairs (24 MiB of SHA-1 pairs).
const MAX_BLOCK: usize = 1 << 20;
/// Blocks of at least this many pairs are backed by huge pages: the last,
/// partly filled block of each bucket then holds at most 2 MiB that is
/// resident and unused, 512 MiB over all 256 at worst.
const HUGE_BLOCK: usize = 1 << 17;

/// Pairs by their hash's first byte.
#[derive(Default)]
pub struct Buckets<const N: usize> {
    /// Empty until the first push, then 256.
    buckets: Vec<Bucket<N>>,
    len: usize,
}

impl<const N: usize> Buckets<N> {
    pub fn push(&mut self, entry: Entry<N>) {
        if self.buckets.is_empty() {
            self.buckets = (0..256).map(|_| Bucket::default()).collect();
        }
        self.buckets[usize::from(entry.0[0])].push(entry);
        self.len += 1;
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The buckets in order of first byte (none when nothing was pushed).
    pub fn into_buckets(self) -> Vec<Bucket<N>> {
        self.buckets
    }
}

/// The pairs of one first byte, in blocks.
#[derive(Default)]
pub struct Bucket<const N: usize> {
    blocks: Vec<Block<N>>,
    len: usize,
}

impl<const N: usize> Bucket<N> {
    fn push(&mut self, entry: Entry<N>) {
        match self.blocks.last_mut() {
            Some(block) if block.len < block.cap => block.push(entry),
            last => {
                let cap = last.map_or(FIRST_BLOCK, |b| (b.cap * 2).min(MAX_BLOCK));
                let mut block = Block::new(cap);
                block.push(entry);
                self.blocks.push(block);
            }
        }
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The pairs in push order (or as last [`Bucket::replace`]d).
    pub fn iter(&self) -> impl Iterator<Item = &Entry<N>> + '_ {
        self.blocks.iter().flat_map(Block::entries)
    }

    /// Replace the pairs with `entries`, no more than there are.
    pub fn replace(&mut self, mut entries: &[Entry<N>]) {
        assert!(entries.len() <= self.len, "a bucket never grows back");
        self.len = entries.len();
        for block in &mut self.blocks {
            let n = entries.len().min(block.cap);
            block.entries_mut_to(n).copy_from_slice(&entries[..n]);
            entries = &entries[n..];
        }
        self.blocks.retain(|b| b.len > 0);
    }
}

/// Up to `cap` pairs in an anonymous memory map.
struct Block<const N: usize> {
    map: MmapMut,
    len: usize,
    cap: usize,
}

impl<const N: usize> Block<N> {
    fn new(cap: usize) -> Block<N> {
        let mut map = MmapMut::map_anon(cap * std::mem::size_of::<Entry<N>>())
            .unwrap_or_else(|e| panic!("cannot map memory for {cap} hashes: {e}"));
        if cap >= HUGE_BLOCK {
            page_backing::advise(&mut map);
        }
        Block { map, len: 0, cap }
    }

    fn push(&mut self, entry: Entry<N>) {
        let len = self.len;
        let entries = self.entries_mut_to(len + 1);
        entries[len] = entry;
        // The pair `AHEAD` places on, inside the block or one past its end.
        prefetch(
            entries
                .as_ptr()
                .wrapping_add(len + AHEAD.min(self.cap - len)),
        );
    }

    fn entries(&self) -> &[Entry<N>] {
        // SAFETY: the map holds `cap` pairs' bytes, page-aligned (more than
        // a pair's alignment of 4), zero-filled by the system and then
        // written only as pairs; a pair is bytes and a `u32`, for which
        // every bit pattern is a value. `len <= cap`.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().cast::<Entry<N>>(), self.len) }
    }

    /// The first `len` pairs (at most `cap`), which become the block's.
    fn entries_mut_to(&mut self, len: usize) -> &mut [Entry<N>] {
        assert!(len <= self.cap);
        self.len = len;
        // SAFETY: as in `entries`, and the map is borrowed mutably.
        unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().cast::<Entry<N>>(), len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_come_back_by_first_byte_in_push_order() {
        assert!(Buckets::<16>::default().into_buckets().is_empty());
        let mut b = Buckets::<16>::default();
        // Enough pairs in bucket 7 to need several blocks.
        let n = (FIRST_BLOCK * 5) as u32;
        for a in 0..n {
            let mut key = [0u8; 16];
            key[0] = if a % 3 == 0 { 7 } else { 200 };
            key[1..5].copy_from_slice(&a.to_be_bytes());
            b.push((key, a));
        }
        assert_eq!(b.len(), n as usize);
        let mut buckets = b.into_buckets();
        assert_eq!(buckets.len(), 256);
        let sevens: Vec<u32> = buckets[7].iter().map(|e| e.1).collect();
        assert_eq!(sevens, (0..n).filter(|a| a % 3 == 0).collect::<Vec<_>>());
        assert_eq!(buckets[200].len(), (n - n.div_ceil(3)) as usize);
        assert_eq!(buckets[0].len(), 0);
        assert!(buckets[7].blocks.len() > 1);

        // Replaced by fewer pairs: the rest of the blocks let go.
        let mut fewer: Vec<Entry<16>> = buckets[7].iter().take(10).copied().collect();
        fewer.reverse();
        buckets[7].replace(&fewer);
        assert_eq!(buckets[7].len(), 10);
        assert_eq!(buckets[7].iter().copied().collect::<Vec<_>>(), fewer);
        assert_eq!(buckets[7].blocks.len(), 1);
    }
}
