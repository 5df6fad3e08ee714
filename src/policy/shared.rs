//! Shared passwords: accounts whose secrets hash the same. The query sets
//! already group accounts by hash, so finding the groups is one pass over
//! them; a plaintext hashed both ways appears in both sets, so a group is
//! kept once, under its largest form.
//!
//! A fifth of an export can share a few popular passwords, so the groups
//! can hold millions of accounts: [`Groups`] also records each account's
//! group, for the findings to be recorded in input order (see
//! [`crate::findings`]) rather than group after group.

use crate::accounts::{AccountId, Accounts};
use crate::queryset::QuerySet;

/// A group of accounts sharing one password.
#[derive(Debug, serde::Serialize)]
pub struct Group {
    pub id: u32,
    pub size: u32,
    /// How many of its accounts are privileged.
    pub privileged: u32,
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
/// group of every account.
#[derive(Default)]
pub struct Groups {
    /// Group `id` is `list[id - 1]`.
    pub list: Vec<Group>,
    /// Per account: the id of its group, or 0.
    group_of: Vec<u32>,
}

impl Groups {
    /// The accounts in groups, in input order, each with its group.
    pub fn members_in_order(&self) -> impl Iterator<Item = (AccountId, &Group)> + '_ {
        self.group_of
            .iter()
            .zip(0..)
            .filter(|(&g, _)| g != 0)
            .map(|(&g, a)| (a, &self.list[g as usize - 1]))
    }
}

/// Groups of at least `min_size` accounts.
pub fn groups(querysets: &[QuerySet], accounts: &Accounts, min_size: usize) -> Groups {
    let min_size = min_size.max(2);
    let mut candidates: Vec<&[AccountId]> = querysets
        .iter()
        .flat_map(|qs| (0..qs.len()).map(move |i| qs.accounts_of(i)))
        .filter(|members| members.len() >= min_size)
        .collect();
    candidates.sort_by_key(|m| std::cmp::Reverse(m.len()));
    // Per account: 1 + the index in `list` of its group, while `list` is
    // in the order the groups were found.
    let mut group_of = vec![0u32; accounts.len()];
    let mut list: Vec<Group> = Vec::new();
    for members in candidates {
        let fresh: Vec<AccountId> = members
            .iter()
            .copied()
            .filter(|&a| group_of[a as usize] == 0)
            .collect();
        if fresh.len() < min_size {
            continue;
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
        let index = list.len() as u32;
        let group = &mut list[index as usize - 1];
        group.members.sort_unstable();
        for &a in &group.members {
            group_of[a as usize] = index;
        }
    }
    // Number the groups by their first account, and the accounts to match.
    list.sort_by_key(|g| g.members[0]);
    let mut id_of_index = vec![0u32; list.len() + 1];
    for (i, g) in list.iter_mut().enumerate() {
        g.id = i as u32 + 1;
        id_of_index[group_of[g.members[0] as usize] as usize] = g.id;
    }
    for g in &mut group_of {
        *g = id_of_index[*g as usize];
    }
    Groups { list, group_of }
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
}
