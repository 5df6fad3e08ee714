//! The hashes to look up, per hash kind: sorted, de-duplicated, each pointing
//! back at the accounts that use it.
//!
//! Sorting once pays for everything after: a corpus is searched or merged in
//! one forward pass, each distinct hash is asked for once however many
//! accounts share it, and sources see only a flat array of hashes.

mod radix;

use crate::accounts::AccountId;
use crate::hash::HashKind;
use rayon::prelude::*;
use std::ops::Range;

/// Hashes gathered while reading, before sorting.
pub struct Pending<const N: usize> {
    entries: Vec<([u8; N], AccountId)>,
}

impl<const N: usize> Default for Pending<N> {
    fn default() -> Self {
        Pending {
            entries: Vec::new(),
        }
    }
}

impl<const N: usize> Pending<N> {
    pub fn push(&mut self, hash: [u8; N], account: AccountId) {
        self.entries.push((hash, account));
    }

    /// Sort (by hash, then account), de-duplicate and index: the sorted
    /// pairs are cut into parts where the hash changes, and each part fills
    /// its own stretch of the account and start arrays on its own core.
    /// The distinct hashes are then moved to the front of the pairs' own
    /// memory ([`FlatHashes`]): a second array of them, beside the pairs,
    /// was the audit's peak of memory (20 bytes an account at 100M).
    pub fn build(self, kind: HashKind) -> QuerySet {
        assert_eq!(kind.bytes(), N, "hash width matches kind");
        let mut entries = radix::sort(self.entries);
        // An account's cleartext line hashes to its own NT hash again. Such
        // pairs are rare: looked for on every core, removed on one.
        if entries.par_windows(2).any(|w| w[0] == w[1]) {
            entries.dedup();
        }
        let new_hash = |i: usize| i == 0 || entries[i - 1].0 != entries[i].0;
        let parts = cut_where_hash_changes(&entries, rayon::current_num_threads() * 4);
        let distinct: Vec<usize> = parts
            .par_iter()
            .map(|part| part.clone().filter(|&i| new_hash(i)).count())
            .collect();
        let total = distinct.iter().sum();
        let mut starts = vec![0u32; total + 1];
        let mut accounts: Vec<AccountId> = vec![0; entries.len()];
        starts[total] = entries.len() as u32;
        let mut stretches = Vec::with_capacity(parts.len());
        let (mut s, mut a) = (&mut starts[..total], &mut accounts[..]);
        for (part, &d) in parts.iter().zip(&distinct) {
            let (starts_of, s_rest) = std::mem::take(&mut s).split_at_mut(d);
            let (accounts_of, a_rest) = std::mem::take(&mut a).split_at_mut(part.len());
            stretches.push((part.clone(), starts_of, accounts_of));
            (s, a) = (s_rest, a_rest);
        }
        stretches
            .into_par_iter()
            .for_each(|(part, starts_of, accounts_of)| {
                let mut k = 0;
                for (i, account) in part.zip(accounts_of) {
                    if new_hash(i) {
                        starts_of[k] = i as u32;
                        k += 1;
                    }
                    *account = entries[i].1;
                }
            });
        QuerySet {
            kind,
            hashes: FlatHashes::compact(entries, &starts[..total]),
            starts,
            accounts,
        }
    }
}

/// Distinct hashes, `N` bytes each, back to back, in the memory that held
/// the sorted (hash, account) pairs. The pairs are `N + 4` bytes with no
/// padding (`N` is 16 or 20), so their memory is also a `Vec<u32>`, whose
/// bytes the hashes are moved into, each to a lower address than it came
/// from.
struct FlatHashes {
    words: Vec<u32>,
    len: usize,
}

impl FlatHashes {
    /// The hashes of `entries` at the indexes `firsts`, ascending.
    fn compact<const N: usize>(entries: Vec<([u8; N], AccountId)>, firsts: &[u32]) -> FlatHashes {
        const { assert!(N.is_multiple_of(4), "pairs without padding") };
        let pair_words = std::mem::size_of::<([u8; N], AccountId)>() / 4;
        let mut entries = std::mem::ManuallyDrop::new(entries);
        let (ptr, len, cap) = (entries.as_mut_ptr(), entries.len(), entries.capacity());
        // SAFETY: the pairs are `N + 4` bytes, all initialised, aligned to
        // 4 and without padding (checked above), so the same allocation is
        // a valid `Vec<u32>` of `pair_words` words per pair, with the same
        // size and alignment as it was allocated with.
        let mut words =
            unsafe { Vec::from_raw_parts(ptr.cast::<u32>(), len * pair_words, cap * pair_words) };
        let bytes = words.as_mut_ptr().cast::<u8>();
        for (k, &first) in firsts.iter().enumerate() {
            // SAFETY: pair `first` starts at byte `first * (N + 4)`, at or
            // after `k * N` (firsts ascend, so `first >= k`); `copy` allows
            // the overlap, and both ranges are inside the allocation.
            unsafe {
                std::ptr::copy(bytes.add(first as usize * (N + 4)), bytes.add(k * N), N);
            }
        }
        let len = firsts.len() * N;
        words.truncate(len.div_ceil(4));
        words.shrink_to_fit();
        FlatHashes { words, len }
    }

    fn as_bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes of initialised `u32`s, viewed as bytes.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }
}

/// Hashes gathered while reading, one [`Pending`] per kind.
#[derive(Default)]
pub struct PendingSets {
    pub sha1: Pending<20>,
    pub ntlm: Pending<16>,
}

impl PendingSets {
    /// Add `hash`, the decoded bytes of a `kind` hash.
    pub fn push(&mut self, kind: HashKind, hash: &[u8], account: AccountId) {
        match kind {
            HashKind::Sha1 => hash.try_into().map(|h| self.sha1.push(h, account)),
            HashKind::Ntlm => hash.try_into().map(|h| self.ntlm.push(h, account)),
        }
        .expect("a hash has its kind's width");
    }

    /// Sort, de-duplicate and index each kind.
    pub fn build(self) -> Vec<QuerySet> {
        vec![
            self.sha1.build(HashKind::Sha1),
            self.ntlm.build(HashKind::Ntlm),
        ]
    }
}

/// About `parts` ranges covering `entries`, each starting where the hash
/// changes, so that no hash is split between two.
fn cut_where_hash_changes<const N: usize>(
    entries: &[([u8; N], AccountId)],
    parts: usize,
) -> Vec<Range<usize>> {
    let mut bounds = vec![0];
    for k in 1..parts {
        let mut cut = (entries.len() * k / parts).max(bounds[bounds.len() - 1]);
        while cut > 0 && cut < entries.len() && entries[cut].0 == entries[cut - 1].0 {
            cut += 1;
        }
        bounds.push(cut);
    }
    bounds.push(entries.len());
    bounds.dedup();
    bounds.windows(2).map(|w| w[0]..w[1]).collect()
}

/// Sorted distinct hashes of one kind, and the accounts behind each.
pub struct QuerySet {
    pub kind: HashKind,
    hashes: FlatHashes,
    starts: Vec<u32>,
    accounts: Vec<AccountId>,
}

impl QuerySet {
    /// Number of distinct hashes.
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of account rows behind all the hashes.
    pub fn account_rows(&self) -> usize {
        self.accounts.len()
    }

    /// The flat, sorted array of distinct hashes (`kind.bytes()` each).
    pub fn hashes(&self) -> Hashes<'_> {
        Hashes {
            width: self.kind.bytes(),
            flat: self.hashes.as_bytes(),
        }
    }

    /// The accounts that use distinct hash `i`.
    pub fn accounts_of(&self, i: usize) -> &[AccountId] {
        &self.accounts[self.starts[i] as usize..self.starts[i + 1] as usize]
    }
}

/// The 5-hex prefix of a hash as a number (its first 20 bits).
pub fn prefix_of(hash: &[u8]) -> u32 {
    (u32::from(hash[0]) << 12) | (u32::from(hash[1]) << 4) | (u32::from(hash[2]) >> 4)
}

/// A borrowed, sorted array of fixed-width hashes.
#[derive(Clone, Copy)]
pub struct Hashes<'a> {
    width: usize,
    flat: &'a [u8],
}

impl<'a> Hashes<'a> {
    pub fn new(width: usize, flat: &'a [u8]) -> Hashes<'a> {
        assert_eq!(flat.len() % width, 0);
        Hashes { width, flat }
    }

    pub fn len(&self) -> usize {
        self.flat.len() / self.width
    }

    pub fn is_empty(&self) -> bool {
        self.flat.is_empty()
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn get(&self, i: usize) -> &'a [u8] {
        &self.flat[i * self.width..(i + 1) * self.width]
    }

    /// The runs of hashes sharing a 5-hex prefix, as (prefix, start, end):
    /// what per-prefix sources (a mirror directory, the range API) ask for.
    pub fn prefix_groups(&self) -> Vec<(u32, usize, usize)> {
        let mut groups = Vec::new();
        let mut start = 0;
        for i in 1..=self.len() {
            if i == self.len() || prefix_of(self.get(i)) != prefix_of(self.get(start)) {
                groups.push((prefix_of(self.get(start)), start, i));
                start = i;
            }
        }
        groups
    }

    /// First index whose hash is not less than `key`.
    pub fn lower_bound(&self, key: &[u8]) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.get(mid) < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_start_where_the_hash_changes() {
        let entries: Vec<([u8; 16], AccountId)> = [1, 1, 1, 1, 2, 3, 3, 3]
            .iter()
            .zip(0..)
            .map(|(&h, a)| ([h; 16], a))
            .collect();
        assert_eq!(cut_where_hash_changes(&entries, 4), [0..4, 4..8]);
        assert_eq!(cut_where_hash_changes(&entries, 8), [0..4, 4..5, 5..8]);
        assert_eq!(cut_where_hash_changes(&entries, 1).len(), 1);
        assert_eq!(cut_where_hash_changes(&entries[..0], 4), []);
        let mut p = Pending::<16>::default();
        for &(h, a) in entries.iter().rev() {
            p.push(h, a);
        }
        let q = p.build(HashKind::Ntlm);
        assert_eq!(q.len(), 3);
        assert_eq!(q.accounts_of(0), [0, 1, 2, 3]);
        assert_eq!(q.accounts_of(2), [5, 6, 7]);
    }

    #[test]
    fn groups_accounts_by_distinct_hash() {
        let mut p = Pending::<16>::default();
        p.push([2; 16], 0);
        p.push([1; 16], 1);
        p.push([2; 16], 2);
        // The same account twice on one hash (its cleartext line hashing to
        // its own NT hash) is one row.
        p.push([2; 16], 0);
        let q = p.build(HashKind::Ntlm);
        assert_eq!(q.len(), 2);
        assert_eq!(q.account_rows(), 3);
        assert_eq!(q.hashes().get(0), &[1; 16]);
        assert_eq!(q.accounts_of(0), &[1]);
        assert_eq!(q.accounts_of(1), &[0, 2]);
        assert_eq!(q.hashes().lower_bound(&[2; 16]), 1);
        assert_eq!(q.hashes().lower_bound(&[3; 16]), 2);
        // [1;16] and [2;16] have prefixes 0x01010 and 0x02020.
        assert_eq!(
            q.hashes().prefix_groups(),
            [(0x01010, 0, 1), (0x02020, 1, 2)]
        );
    }
}
