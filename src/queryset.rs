//! The hashes to look up, per hash kind: sorted, de-duplicated, each pointing
//! back at the accounts that use it.
//!
//! Sorting once pays for everything after: a corpus is searched or merged in
//! one forward pass, each distinct hash is asked for once however many
//! accounts share it, and sources see only a flat array of hashes.

mod buckets;
mod radix;

use crate::accounts::AccountId;
use crate::hash::HashKind;
use crate::page_backing;
use buckets::{Bucket, Buckets};
use rayon::prelude::*;

/// A hash of `N` bytes and an account that uses it.
type Entry<const N: usize> = ([u8; N], AccountId);

/// Pairs a write head looks ahead: about six cache lines. Pairs are
/// written at 256 heads at once (a bucket per first byte while reading, a
/// part per second byte while sorting), more streams than the CPU's
/// prefetcher follows: without a prefetch nearly every head's next cache
/// line is a miss to memory, most of the cost of a push or a scatter.
const AHEAD: usize = 16;

/// Hashes gathered while reading, before sorting.
#[derive(Default)]
pub struct Pending<const N: usize> {
    buckets: Buckets<N>,
}

impl<const N: usize> Pending<N> {
    pub fn push(&mut self, hash: [u8; N], account: AccountId) {
        self.buckets.push((hash, account));
    }

    /// Sort (by hash, then account), de-duplicate and index, a first-byte
    /// bucket at a time on every core, in two passes: the first sorts each
    /// bucket back into its own memory and counts its pairs and distinct
    /// hashes; then every bucket knows where its part of the set begins,
    /// and the second writes it there and lets the bucket go. The pairs
    /// and the set are never both whole in memory.
    pub fn build(self, kind: HashKind) -> QuerySet {
        assert_eq!(kind.bytes(), N, "hash width matches kind");
        let total = self.buckets.len();
        assert!(
            u32::try_from(total).is_ok(),
            "fewer than 2^32 hashes of one kind"
        );
        let mut buckets = self.buckets.into_buckets();
        let sizes: Vec<(usize, usize)> = buckets
            .par_iter_mut()
            .map_init(
                || (Vec::new(), Vec::new()),
                |(out, scratch), bucket| sort_in_place(bucket, out, scratch),
            )
            .collect();
        let pairs: usize = sizes.iter().map(|s| s.0).sum();
        let distinct: usize = sizes.iter().map(|s| s.1).sum();
        let mut hashes = vec![0u8; distinct * N];
        let mut starts = vec![0u32; distinct + 1];
        starts[distinct] = pairs as u32;
        let mut accounts: Vec<AccountId> = vec![0; pairs];
        page_backing::advise(&mut hashes);
        page_backing::advise(&mut starts);
        page_backing::advise(&mut accounts);
        let mut parts = Vec::with_capacity(buckets.len());
        let (mut h, mut s, mut a) = (&mut hashes[..], &mut starts[..distinct], &mut accounts[..]);
        let mut base = 0;
        for (bucket, &(p, d)) in buckets.into_iter().zip(&sizes) {
            let (hashes_of, h_rest) = std::mem::take(&mut h).split_at_mut(d * N);
            let (starts_of, s_rest) = std::mem::take(&mut s).split_at_mut(d);
            let (accounts_of, a_rest) = std::mem::take(&mut a).split_at_mut(p);
            parts.push((bucket, base as u32, hashes_of, starts_of, accounts_of));
            (h, s, a) = (h_rest, s_rest, a_rest);
            base += p;
        }
        parts.into_par_iter().with_max_len(1).for_each(
            |(bucket, base, hashes_of, starts_of, accounts_of)| {
                index(bucket, base, hashes_of, starts_of, accounts_of)
            },
        );
        QuerySet {
            kind,
            hashes,
            starts,
            accounts,
        }
    }
}

/// Sort `bucket` by (hash, account) through `out` and back, without
/// repeated pairs (an account's cleartext line hashes to its own NT hash
/// again); return its number of pairs and of distinct hashes.
fn sort_in_place<const N: usize>(
    bucket: &mut Bucket<N>,
    out: &mut Vec<Entry<N>>,
    scratch: &mut Vec<Entry<N>>,
) -> (usize, usize) {
    radix::sort_bucket(bucket, out, scratch);
    let mut distinct = usize::from(!out.is_empty());
    let mut repeated = false;
    for w in out.windows(2) {
        distinct += usize::from(w[0].0 != w[1].0);
        repeated |= w[0] == w[1];
    }
    if repeated {
        out.dedup();
    }
    bucket.replace(out);
    (out.len(), distinct)
}

/// Write the sorted `bucket`'s part of the query set: its distinct hashes,
/// where each one's accounts start (the bucket's first pair is pair
/// `base`), and the accounts.
fn index<const N: usize>(
    bucket: Bucket<N>,
    base: u32,
    hashes: &mut [u8],
    starts: &mut [u32],
    accounts: &mut [AccountId],
) {
    let mut k = 0;
    let mut last = None;
    for (i, (e, account)) in bucket.iter().zip(accounts).enumerate() {
        *account = e.1;
        if last != Some(&e.0) {
            starts[k] = base + i as u32;
            hashes[k * N..(k + 1) * N].copy_from_slice(&e.0);
            k += 1;
            last = Some(&e.0);
        }
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

/// Sorted distinct hashes of one kind, and the accounts behind each.
pub struct QuerySet {
    pub kind: HashKind,
    hashes: Vec<u8>,
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
            flat: &self.hashes,
        }
    }

    /// The accounts that use distinct hash `i`, in input order.
    pub fn accounts_of(&self, i: usize) -> &[AccountId] {
        &self.accounts[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    /// The distinct hashes that at least `min` accounts use, in order:
    /// one pass over the set's offsets, on every core.
    pub fn shared_by_at_least(&self, min: usize) -> Vec<usize> {
        self.starts
            .par_windows(2)
            .enumerate()
            .filter(|(_, w)| (w[1] - w[0]) as usize >= min)
            .map(|(i, _)| i)
            .collect()
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

    /// The query set against a model (a sorted map from hash to its sorted
    /// accounts) on random pairs: popular hashes, accounts out of order,
    /// repeated pairs, hashes in every first-byte bucket and in one.
    #[test]
    fn matches_a_sorted_map() {
        use crate::test_rng::SplitMix;
        use std::collections::{BTreeMap, BTreeSet};
        let mut rng = SplitMix(0xB0C);
        for (n, popular, one_bucket) in [
            (0, 0, false),
            (5, 1, false),
            (50_000, 7, false),
            (50_000, 300, true),
        ] {
            let keys: Vec<[u8; 20]> = (0..popular.max(1))
                .map(|_| {
                    let mut k = [0u8; 20];
                    k.iter_mut().for_each(|b| *b = rng.below(256) as u8);
                    k
                })
                .collect();
            let mut model: BTreeMap<[u8; 20], BTreeSet<AccountId>> = BTreeMap::new();
            let mut p = Pending::<20>::default();
            for a in 0..n {
                let mut key = if rng.below(3) == 0 {
                    keys[rng.below(keys.len() as u64) as usize]
                } else {
                    let mut k = [0u8; 20];
                    k.iter_mut().for_each(|b| *b = rng.below(256) as u8);
                    k
                };
                if one_bucket {
                    key[0] = 0x5A;
                }
                // Now and then out of order, or the same pair twice.
                let account = if rng.below(10) == 0 {
                    rng.below(n as u64) as AccountId
                } else {
                    a
                };
                for _ in 0..1 + usize::from(rng.below(20) == 0) {
                    p.push(key, account);
                }
                model.entry(key).or_default().insert(account);
            }
            let q = p.build(HashKind::Sha1);
            assert_eq!(q.len(), model.len());
            assert_eq!(
                q.account_rows(),
                model.values().map(BTreeSet::len).sum::<usize>()
            );
            for (i, (key, accounts)) in model.iter().enumerate() {
                assert_eq!(q.hashes().get(i), key);
                assert_eq!(
                    q.accounts_of(i),
                    accounts.iter().copied().collect::<Vec<_>>()
                );
            }
        }
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
