//! The hashes to look up, per hash kind: sorted, de-duplicated, each pointing
//! back at the accounts that use it.
//!
//! Sorting once pays for everything after: a corpus is searched or merged in
//! one forward pass, each distinct hash is asked for once however many
//! accounts share it, and sources see only a flat array of hashes.

mod radix;

use crate::accounts::AccountId;
use crate::hash::HashKind;

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

    /// Sort (by hash, then account), de-duplicate and index. Each vector is
    /// allocated once, for as many hashes as there are pairs, and shrunk to
    /// the distinct ones: at ten million accounts they are hundreds of
    /// megabytes, which growing by doubling would copy over and over.
    pub fn build(self, kind: HashKind) -> QuerySet {
        assert_eq!(kind.bytes(), N, "hash width matches kind");
        let entries = radix::sort(self.entries);
        let mut hashes = Vec::with_capacity(entries.len() * N);
        let mut starts = Vec::with_capacity(entries.len() + 1);
        let mut accounts = Vec::with_capacity(entries.len());
        for &(hash, account) in &entries {
            if hashes.len() < N || hashes[hashes.len() - N..] != hash {
                hashes.extend_from_slice(&hash);
                starts.push(accounts.len() as u32);
            }
            accounts.push(account);
        }
        starts.push(accounts.len() as u32);
        hashes.shrink_to_fit();
        starts.shrink_to_fit();
        QuerySet {
            kind,
            hashes,
            starts,
            accounts,
        }
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
    fn groups_accounts_by_distinct_hash() {
        let mut p = Pending::<16>::default();
        p.push([2; 16], 0);
        p.push([1; 16], 1);
        p.push([2; 16], 2);
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
