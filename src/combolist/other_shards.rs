//! `--shard` and leaked pairs: a shard verifies pairs for its own accounts
//! only, but joins each leaked identity against every account of the run,
//! so that it answers as one unsharded run would:
//!
//! * the best tier wins across shards: an identity that names an account
//!   exactly (or case-folded) in another shard is no `local-part` match for
//!   a bare username here, just as [`Index::lookup`] decides in one run;
//! * a line whose identity names accounts in several shards is counted in
//!   `lines_matched` by the lowest of them only, so the shards' counts add
//!   up to the unsharded one.
//!
//! The other shards' accounts are kept by name only (about 60 bytes an
//! account, like the run's own), and only when `--combolist` is given.

use super::join::Index;
use crate::accounts::{AccountId, AccountStatus, Accounts, Flags, Origin};
use crate::match_tier::Tier;
use anyhow::Result;

/// The accounts that other shards audit, with the shard of each.
pub struct OtherShards {
    /// This run's shard.
    this: u32,
    accounts: Accounts,
    owners: Vec<u32>,
}

impl OtherShards {
    pub fn new(this: u32) -> OtherShards {
        OtherShards {
            this,
            accounts: Accounts::default(),
            owners: Vec::new(),
        }
    }

    /// An account of shard `owner`, read at `origin`.
    pub fn push(&mut self, name: &[u8], origin: Origin, owner: u32) -> Result<()> {
        let flags = Flags {
            status: AccountStatus::Unknown,
            privileged: false,
        };
        self.accounts.push(name, origin, flags)?;
        self.owners.push(owner);
        Ok(())
    }
}

/// The join of a sharded run: its own accounts and the others'.
pub(super) struct ShardedIndex<'a> {
    own: Index<'a>,
    others: Option<(Index<'a>, &'a OtherShards)>,
}

impl<'a> ShardedIndex<'a> {
    pub fn new(own: &'a Accounts, others: Option<&'a OtherShards>) -> ShardedIndex<'a> {
        ShardedIndex {
            own: Index::new(own),
            others: others.map(|o| (Index::new(&o.accounts), o)),
        }
    }

    /// This run's accounts the identity matches (in `out`), and whether
    /// this run counts the line as matched.
    pub fn lookup(&self, identity: &[u8], out: &mut Vec<(AccountId, Tier)>) -> bool {
        self.own.lookup(identity, out);
        let Some((index, others)) = &self.others else {
            return !out.is_empty();
        };
        let mut elsewhere = Vec::new();
        index.lookup(identity, &mut elsewhere);
        let by_name = |m: &[(AccountId, Tier)]| m.iter().any(|&(_, t)| t != Tier::LocalPart);
        if by_name(&elsewhere) && !by_name(out) {
            out.clear();
        }
        if by_name(out) {
            elsewhere.retain(|&(_, t)| t != Tier::LocalPart);
        }
        !out.is_empty()
            && elsewhere
                .iter()
                .all(|&(id, _)| others.owners[id as usize] > others.this)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts(names: &[&str]) -> Accounts {
        let mut a = Accounts::default();
        for (i, n) in names.iter().enumerate() {
            let flags = Flags {
                status: AccountStatus::Unknown,
                privileged: false,
            };
            let origin = Origin {
                file: 0,
                line: i as u64,
            };
            a.push(n.as_bytes(), origin, flags).unwrap();
        }
        a
    }

    #[test]
    fn the_best_tier_wins_across_shards_and_the_lowest_shard_counts() {
        let own = accounts(&["jdoe", "alice@example.com"]);
        let mut others = OtherShards::new(1);
        let origin = Origin { file: 0, line: 9 };
        others.push(b"jdoe@gmail.com", origin, 2).unwrap();
        others.push(b"Alice@Example.com", origin, 0).unwrap();
        let index = ShardedIndex::new(&own, Some(&others));
        let mut out = Vec::new();
        // Named exactly in shard 2: no local-part match for jdoe here.
        assert!(!index.lookup(b"jdoe@gmail.com", &mut out));
        assert!(out.is_empty());
        // A local-part match everywhere else would be jdoe's.
        assert!(index.lookup(b"jdoe@yahoo.com", &mut out));
        assert_eq!(out, [(0, Tier::LocalPart)]);
        // Matched here and in shard 0: shard 0 counts the line.
        assert!(!index.lookup(b"alice@example.com", &mut out));
        assert_eq!(out, [(1, Tier::Exact)]);
    }
}
