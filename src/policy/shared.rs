//! Shared passwords: accounts whose secrets hash the same. The query sets
//! already group accounts by hash, so finding the groups is one pass over
//! them; a plaintext hashed both ways appears in both sets, so a group is
//! kept once, under its largest form.

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

/// Groups of at least `min_size` accounts, numbered 1.. in input order of
/// their first account.
pub fn groups(querysets: &[QuerySet], accounts: &Accounts, min_size: usize) -> Vec<Group> {
    let min_size = min_size.max(2);
    let mut candidates: Vec<&[AccountId]> = querysets
        .iter()
        .flat_map(|qs| (0..qs.len()).map(move |i| qs.accounts_of(i)))
        .filter(|members| members.len() >= min_size)
        .collect();
    candidates.sort_by_key(|m| std::cmp::Reverse(m.len()));
    let mut taken = vec![false; accounts.len()];
    let mut groups: Vec<Group> = Vec::new();
    for members in candidates {
        let fresh: Vec<AccountId> = members
            .iter()
            .copied()
            .filter(|&a| !taken[a as usize])
            .collect();
        if fresh.len() < min_size {
            continue;
        }
        for &a in &fresh {
            taken[a as usize] = true;
        }
        let mut members = fresh;
        members.sort_unstable();
        let privileged = members.iter().filter(|&&a| accounts.privileged(a)).count() as u32;
        groups.push(Group {
            id: 0,
            size: members.len() as u32,
            privileged,
            members,
        });
    }
    groups.sort_by_key(|g| g.members[0]);
    for (i, g) in groups.iter_mut().enumerate() {
        g.id = i as u32 + 1;
    }
    groups
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
        let g = groups(&sets, &accounts, 2);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].members, [0, 1, 3]);
        assert_eq!((g[0].id, g[0].size, g[0].privileged), (1, 3, 1));
        assert!(g[0].mixes_privileged());
        assert!(groups(&sets, &accounts, 4).is_empty());
    }
}
