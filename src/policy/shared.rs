//! Shared passwords: accounts whose secrets hash the same. The query sets
//! already group accounts by hash, so finding the groups is one pass over
//! them; a plaintext hashed both ways appears in both sets, so a group is
//! kept once, under its largest form.
//!
//! A fifth of an export can share a few popular passwords, so the groups
//! can hold tens of millions of accounts. Which accounts are taken is a
//! bitset (12.5 MB at 100M accounts, in cache, where a table of group ids
//! per account would be 400 MB of fresh memory touched at random), and
//! the group of each member is kept by its rank among the members: the
//! findings are then recorded in input order (see [`crate::findings`])
//! rather than group after group.

use crate::accounts::{AccountId, Accounts};
use crate::queryset::QuerySet;
use rayon::prelude::*;

/// A group of accounts sharing one password.
#[derive(Debug, serde::Serialize)]
pub struct Group {
    pub id: u32,
    pub size: u32,
    /// How many of its accounts are privileged.
    pub privileged: u32,
    /// In input order.
    #[serde(skip)]
    pub members: Vec<AccountId>,
}

impl Group {
    /// Privileged and ordinary accounts share this password.
    pub fn mixes_privileged(&self) -> bool {
        self.privileged > 0 && self.privileged < self.size
    }
}

/// The groups, numbered 1.. in input order of their first account, and the
/// group of every member.
#[derive(Default)]
pub struct Groups {
    /// Group `id` is `list[id - 1]`.
    pub list: Vec<Group>,
    /// The accounts in a group.
    grouped: Bits,
    /// The group id of each account in a group, in input order.
    ids_in_order: Vec<u32>,
}

impl Groups {
    /// The accounts in groups, in input order, each with its group.
    pub fn members_in_order(&self) -> impl Iterator<Item = (AccountId, &Group)> + '_ {
        self.grouped
            .ones()
            .zip(&self.ids_in_order)
            .map(|(a, &g)| (a, &self.list[g as usize - 1]))
    }
}

/// Ranges of accounts per thread when the members' group ids are written:
/// enough to share the work, few enough that every range's pass over the
/// groups (millions of small ones in a large export) stays cheap.
const RANGES_PER_THREAD: usize = 4;

/// Groups of at least `min_size` accounts: the largest first, each keeping
/// the accounts that no larger group took.
pub fn groups(querysets: &[QuerySet], accounts: &Accounts, min_size: usize) -> Groups {
    let min_size = min_size.max(2);
    let mut candidates: Vec<&[AccountId]> = querysets
        .iter()
        .flat_map(|qs| {
            qs.shared_by_at_least(min_size)
                .into_iter()
                .map(move |i| qs.accounts_of(i))
        })
        .collect();
    // Stable: among groups of one size, the order of the sets and hashes.
    candidates.sort_by_key(|m| std::cmp::Reverse(m.len()));
    let mut grouped = Bits::new(accounts.len());
    let mut list: Vec<Group> = Vec::new();
    for members in candidates {
        let taken = members.iter().filter(|&&a| grouped.get(a)).count();
        if members.len() - taken < min_size {
            continue;
        }
        // A query set lists each hash's accounts in input order.
        let fresh: Vec<AccountId> = if taken == 0 {
            members.to_vec()
        } else {
            members
                .iter()
                .copied()
                .filter(|&a| !grouped.get(a))
                .collect()
        };
        for &a in &fresh {
            grouped.set(a);
        }
        list.push(Group {
            id: 0,
            size: fresh.len() as u32,
            privileged: if accounts.any_privileged() {
                fresh.iter().filter(|&&a| accounts.privileged(a)).count() as u32
            } else {
                0
            },
            members: fresh,
        });
    }
    // Number the groups by their first account.
    list.sort_unstable_by_key(|g| g.members[0]);
    for (g, id) in list.iter_mut().zip(1..) {
        g.id = id;
    }
    let ranges = RANGES_PER_THREAD * rayon::current_num_threads();
    let range = grouped.words.len().div_ceil(ranges).max(1) * 64;
    let ids_in_order = ids_in_order(&list, &grouped, range);
    Groups {
        list,
        grouped,
        ids_in_order,
    }
}

/// The group id of every member, in input order. A range of `range`
/// accounts (a multiple of 64) at a time on every core: each takes its
/// part of every group's (sorted) members by binary search, and its ids
/// are a slice of their own.
fn ids_in_order(list: &[Group], grouped: &Bits, range: usize) -> Vec<u32> {
    let ranks = grouped.ranks();
    let count = grouped.count();
    let mut ids = vec![0u32; count];
    let mut parts = Vec::new();
    let mut rest = &mut ids[..];
    for word in (0..ranks.len()).step_by(range / 64) {
        let base = ranks[word] as usize;
        let end = ranks.get(word + range / 64).map_or(count, |&r| r as usize);
        let (mine, tail) = std::mem::take(&mut rest).split_at_mut(end - base);
        parts.push(((word * 64) as AccountId, base, mine));
        rest = tail;
    }
    parts.into_par_iter().for_each(|(lo, base, mine)| {
        let hi = lo.saturating_add(range as AccountId);
        // Sorted by first member: none from here on reaches this range.
        for g in list.iter().take_while(|g| g.members[0] < hi) {
            let from = g.members.partition_point(|&a| a < lo);
            let to = from + g.members[from..].partition_point(|&a| a < hi);
            for &a in &g.members[from..to] {
                mine[grouped.rank(&ranks, a) - base] = g.id;
            }
        }
    });
    ids
}

/// A set of accounts, a bit each.
#[derive(Default)]
struct Bits {
    words: Vec<u64>,
}

impl Bits {
    fn new(accounts: usize) -> Bits {
        Bits {
            words: vec![0; accounts.div_ceil(64)],
        }
    }

    fn get(&self, a: AccountId) -> bool {
        self.words[a as usize / 64] & (1 << (a % 64)) != 0
    }

    fn set(&mut self, a: AccountId) {
        self.words[a as usize / 64] |= 1 << (a % 64);
    }

    fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Per word: the accounts of the set in the words before it.
    fn ranks(&self) -> Vec<u32> {
        self.words
            .iter()
            .scan(0u32, |before, w| {
                let here = *before;
                *before += w.count_ones();
                Some(here)
            })
            .collect()
    }

    /// The accounts of the set before `a`, which is one of them.
    fn rank(&self, ranks: &[u32], a: AccountId) -> usize {
        let w = a as usize / 64;
        let below = self.words[w] & ((1u64 << (a % 64)) - 1);
        ranks[w] as usize + below.count_ones() as usize
    }

    /// The accounts of the set, in order.
    fn ones(&self) -> impl Iterator<Item = AccountId> + '_ {
        self.words.iter().zip(0u32..).flat_map(|(&w, i)| {
            std::iter::successors(Some(w).filter(|&w| w != 0), |&w| {
                Some(w & (w - 1)).filter(|&w| w != 0)
            })
            .map(move |w| i * 64 + w.trailing_zeros())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::AccountStatus;
    use crate::accounts::{Flags, Origin};
    use crate::hash::HashKind;
    use crate::queryset::Pending;

    #[test]
    fn groups_dedupe_across_kinds_and_mark_privileged_mixes() {
        let mut accounts = Accounts::default();
        for (i, admin) in [false, true, false, false].into_iter().enumerate() {
            let flags = Flags {
                status: AccountStatus::Unknown,
                privileged: admin,
            };
            accounts
                .push(
                    format!("u{i}").as_bytes(),
                    Origin {
                        file: 0,
                        line: i as u64,
                    },
                    flags,
                )
                .unwrap();
        }
        // Accounts 0, 1, 3 share a password; 2 is alone. Both kinds agree.
        let mut sha = Pending::<20>::default();
        let mut nt = Pending::<16>::default();
        for (a, h) in [(0u32, 1u8), (1, 1), (2, 2), (3, 1)] {
            sha.push([h; 20], a);
            nt.push([h; 16], a);
        }
        let sets = [sha.build(HashKind::Sha1), nt.build(HashKind::Ntlm)];
        let groups_found = groups(&sets, &accounts, 2);
        assert_eq!(
            groups_found
                .members_in_order()
                .map(|(a, g)| (a, g.id))
                .collect::<Vec<_>>(),
            [(0, 1), (1, 1), (3, 1)]
        );
        let g = groups_found.list;
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].members, [0, 1, 3]);
        assert_eq!((g[0].id, g[0].size, g[0].privileged), (1, 3, 1));
        assert!(g[0].mixes_privileged());
        assert!(groups(&sets, &accounts, 4).list.is_empty());
    }

    /// The groups as the plain rule gives them: candidates largest first,
    /// each keeping the accounts no larger group took, then numbered by
    /// first account.
    fn plain_groups(sets: &[QuerySet], min: usize) -> Vec<Vec<AccountId>> {
        let mut candidates: Vec<Vec<AccountId>> = sets
            .iter()
            .flat_map(|q| (0..q.len()).map(move |i| q.accounts_of(i).to_vec()))
            .filter(|m| m.len() >= min)
            .collect();
        candidates.sort_by_key(|m| std::cmp::Reverse(m.len()));
        let mut taken = std::collections::BTreeSet::new();
        let mut found = Vec::new();
        for m in candidates {
            let fresh: Vec<AccountId> = m.into_iter().filter(|a| !taken.contains(a)).collect();
            if fresh.len() >= min {
                taken.extend(fresh.iter().copied());
                found.push(fresh);
            }
        }
        found.sort();
        found
    }

    #[test]
    fn groups_match_the_plain_rule() {
        let mut rng = crate::test_rng::SplitMix(14);
        for round in 0..40 {
            let n = 1 + rng.below(700) as u32;
            let mut accounts = Accounts::default();
            for a in 0..n {
                let flags = Flags {
                    status: AccountStatus::Unknown,
                    privileged: rng.below(9) == 0,
                };
                let origin = Origin {
                    file: 0,
                    line: u64::from(a),
                };
                accounts.push(b"u", origin, flags).unwrap();
            }
            // Few distinct passwords, so that groups are many and large;
            // some accounts have a second hash of a kind, and the NTLM set
            // only covers some accounts, so that kinds disagree.
            let distinct = 1 + rng.below(40) as u8;
            let mut sha = Pending::<20>::default();
            let mut nt = Pending::<16>::default();
            for a in 0..n {
                let p = rng.below(u64::from(distinct)) as u8;
                sha.push([p; 20], a);
                if rng.below(3) == 0 {
                    nt.push([p; 16], a);
                }
                if rng.below(10) == 0 {
                    nt.push([rng.below(u64::from(distinct)) as u8; 16], a);
                }
            }
            let sets = [sha.build(HashKind::Sha1), nt.build(HashKind::Ntlm)];
            let min = 2 + round % 4;
            let got = groups(&sets, &accounts, min);
            let want = plain_groups(&sets, min);
            let members: Vec<&Vec<AccountId>> = got.list.iter().map(|g| &g.members).collect();
            assert_eq!(members, want.iter().collect::<Vec<_>>(), "round {round}");
            for (g, id) in got.list.iter().zip(1..) {
                assert_eq!((g.id, g.size as usize), (id, g.members.len()));
                let privileged = g.members.iter().filter(|&&a| accounts.privileged(a));
                assert_eq!(g.privileged as usize, privileged.count());
            }
            let mut in_order: Vec<(AccountId, u32)> = want
                .iter()
                .zip(1..)
                .flat_map(|(m, id)| m.iter().map(move |&a| (a, id)))
                .collect();
            in_order.sort();
            let got_in_order: Vec<(AccountId, u32)> =
                got.members_in_order().map(|(a, g)| (a, g.id)).collect();
            assert_eq!(got_in_order, in_order, "round {round}");
            for range in [64, 128, 640] {
                let ids = ids_in_order(&got.list, &got.grouped, range);
                assert_eq!(ids, got.ids_in_order, "round {round}, ranges of {range}");
            }
        }
    }
}
