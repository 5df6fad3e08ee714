//! Sorting the query keys: a most-significant-digit radix sort.
//!
//! Ten million (hash, account) pairs went through a parallel comparison
//! sort: some 23 rounds of comparisons and moves over 240 MB, the largest
//! cost after reading on an export where a fifth of the accounts share a few
//! popular passwords. Hashes are uniformly distributed, so a byte at a time
//! splits them evenly: first a partition by the first byte in place
//! (American flag sort: no second copy of the pairs, which at 100M accounts
//! was the audit's peak of memory), then each bucket sorted on its own core
//! by the next bytes, through a scratch copy of the bucket (about a
//! megabyte at ten million pairs, so it stays in cache), down to runs of a
//! few pairs that an insertion sort finishes. A popular password's pairs
//! share their key: a run whose pairs all have the byte looked at moves on
//! to the next byte without moving anything, and when the key is exhausted
//! its pairs are sorted by account (skipped when they already are).
//!
//! The order is exactly a comparison sort's by (hash, account).

use crate::accounts::AccountId;
use rayon::prelude::*;

/// Runs of at most this many pairs are insertion-sorted.
const LEAF: usize = 24;
/// Below this many pairs, one thread sorts them all.
const SMALL: usize = 1 << 14;

type Entry<const N: usize> = ([u8; N], AccountId);

/// Sort `entries` by (hash, account).
pub fn sort<const N: usize>(mut entries: Vec<Entry<N>>) -> Vec<Entry<N>> {
    if entries.len() < SMALL {
        sort_from(&mut entries, 0, &mut Vec::new());
        return entries;
    }
    let lens = partition_first_byte(&mut entries);
    let mut buckets = Vec::with_capacity(256);
    let mut rest = entries.as_mut_slice();
    for len in lens {
        let (bucket, tail) = rest.split_at_mut(len);
        buckets.push(bucket);
        rest = tail;
    }
    buckets
        .into_par_iter()
        .for_each_init(Vec::new, |scratch, bucket| sort_from(bucket, 1, scratch));
    entries
}

/// Partition `entries` in place by their first byte (American flag sort:
/// each entry is swapped straight into its byte's bucket, following cycles)
/// and return each bucket's length. No second copy of the entries is made:
/// at 100M accounts that copy was 2.4 GB, the audit's peak of memory. The
/// order inside a bucket does not matter: the buckets are sorted next, by
/// (key, account).
fn partition_first_byte<const N: usize>(entries: &mut [Entry<N>]) -> [usize; 256] {
    let counts = entries
        .par_chunks(1 << 16)
        .map(|part| {
            let mut count = [0usize; 256];
            for e in part {
                count[usize::from(e.0[0])] += 1;
            }
            count
        })
        .reduce(
            || [0usize; 256],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        );
    let (mut next, mut ends) = ([0usize; 256], [0usize; 256]);
    let mut at = 0;
    for byte in 0..256 {
        next[byte] = at;
        at += counts[byte];
        ends[byte] = at;
    }
    for byte in 0..256 {
        while next[byte] < ends[byte] {
            let mut held = entries[next[byte]];
            let mut home = usize::from(held.0[0]);
            while home != byte {
                std::mem::swap(&mut held, &mut entries[next[home]]);
                next[home] += 1;
                prefetch_ahead(entries, next[home]);
                home = usize::from(held.0[0]);
            }
            entries[next[byte]] = held;
            next[byte] += 1;
        }
    }
    counts
}

/// Pairs a write head looks ahead: about six cache lines.
const AHEAD: usize = 16;

/// Start loading the pairs a little past bucket head `at`. The 256 heads
/// are 256 sequential streams, more than the CPU's prefetcher follows, so
/// without this nearly every head's next cache line is a miss to memory
/// (about 35 ns a pair at 10M pairs; the sort phase took a fifth less
/// with it).
#[inline]
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
fn prefetch_ahead<const N: usize>(entries: &[Entry<N>], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(pair) = entries.get(at + AHEAD) {
        // SAFETY: the address is that of a live element; prefetching has
        // no effect on program state and never faults.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>((pair as *const Entry<N>).cast::<i8>());
        }
    }
}

/// Sort `run`, whose keys agree before byte `byte`, by (key, account);
/// `scratch` is reused across calls.
fn sort_from<const N: usize>(run: &mut [Entry<N>], mut byte: usize, scratch: &mut Vec<Entry<N>>) {
    loop {
        if run.len() <= LEAF {
            return insertion_sort(run);
        }
        if byte == N {
            // One key throughout: the order is the accounts'.
            if !run.is_sorted_by_key(|e| e.1) {
                run.sort_unstable_by_key(|e| e.1);
            }
            return;
        }
        let mut counts = [0usize; 256];
        for e in run.iter() {
            counts[usize::from(e.0[byte])] += 1;
        }
        if counts[usize::from(run[0].0[byte])] == run.len() {
            byte += 1;
            continue;
        }
        let mut starts = [0usize; 256];
        let mut at = 0;
        for (start, count) in starts.iter_mut().zip(counts) {
            *start = at;
            at += count;
        }
        // Stable: pairs of one digit keep their order.
        scratch.clear();
        scratch.extend_from_slice(run);
        let mut fill = starts;
        for e in scratch.iter() {
            let digit = usize::from(e.0[byte]);
            run[fill[digit]] = *e;
            fill[digit] += 1;
        }
        for (start, count) in starts.into_iter().zip(counts) {
            if count > 1 {
                sort_from(&mut run[start..start + count], byte + 1, scratch);
            }
        }
        return;
    }
}

fn insertion_sort<const N: usize>(run: &mut [Entry<N>]) {
    for i in 1..run.len() {
        let e = run[i];
        let mut j = i;
        while j > 0 && run[j - 1] > e {
            run[j] = run[j - 1];
            j -= 1;
        }
        run[j] = e;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_rng::SplitMix;

    fn random_key<const N: usize>(rng: &mut SplitMix) -> [u8; N] {
        let mut k = [0u8; N];
        for chunk in k.chunks_mut(8) {
            let n = chunk.len();
            chunk.copy_from_slice(&rng.next().to_be_bytes()[..n]);
        }
        k
    }

    /// The radix sort against the standard library's sort.
    fn check<const N: usize>(entries: Vec<Entry<N>>) {
        let mut want = entries.clone();
        want.sort();
        assert_eq!(sort(entries), want);
    }

    /// `n` pairs, a third of them on one of `popular` keys (none if 0);
    /// accounts ascending (as the audit pushes them) or at random.
    fn random<const N: usize>(
        rng: &mut SplitMix,
        n: u32,
        popular: u64,
        ascending: bool,
    ) -> Vec<Entry<N>> {
        let shared: Vec<[u8; N]> = (0..popular).map(|_| random_key(rng)).collect();
        (0..n)
            .map(|a| {
                let r = rng.next();
                let key = if popular > 0 && r.is_multiple_of(3) {
                    shared[(r / 3 % popular) as usize]
                } else {
                    random_key(rng)
                };
                (
                    key,
                    if ascending {
                        a
                    } else {
                        rng.next() as AccountId
                    },
                )
            })
            .collect()
    }

    #[test]
    fn matches_the_standard_sort_on_random_data() {
        let mut rng = SplitMix(7);
        for (n, popular) in [
            (1000, 0),
            (SMALL as u32, 0),
            (200_000, 0),
            (200_000, 3),
            (200_000, 1000),
        ] {
            for ascending in [true, false] {
                check::<20>(random(&mut rng, n, popular, ascending));
                check::<16>(random(&mut rng, n, popular, ascending));
            }
        }
    }

    #[test]
    fn edge_cases() {
        check::<20>(Vec::new());
        check::<16>(vec![([9; 16], 1)]);
        // Exactly a leaf, and one more.
        let mut rng = SplitMix(1);
        check::<20>(random(&mut rng, LEAF as u32, 0, false));
        check::<20>(random(&mut rng, LEAF as u32 + 1, 0, false));
        // One key for everything, accounts descending, then ascending.
        check::<20>((0..100_000).rev().map(|a| ([0xAB; 20], a)).collect());
        check::<20>((0..100_000).map(|a| ([0xAB; 20], a)).collect());
        // Keys that differ only in their last byte.
        check::<16>(
            (0..100_000)
                .map(|_| {
                    let mut k = [0u8; 16];
                    k[15] = rng.next() as u8;
                    (k, rng.next() as AccountId)
                })
                .collect(),
        );
        // The extremes of the key space, and keys equal but for byte 9.
        check::<20>(
            (0..100_000u32)
                .map(|a| {
                    let mut k = [0xFF; 20];
                    k[9] = (a % 7) as u8;
                    (
                        if a.is_multiple_of(11) { [0; 20] } else { k },
                        a.rotate_left(7),
                    )
                })
                .collect(),
        );
        // Already sorted, and reversed.
        let sorted: Vec<Entry<20>> = (0..100_000u32)
            .map(|a| {
                let mut k = [0u8; 20];
                k[..4].copy_from_slice(&a.to_be_bytes());
                (k, a)
            })
            .collect();
        check(sorted.clone());
        check(sorted.into_iter().rev().collect());
    }
}
