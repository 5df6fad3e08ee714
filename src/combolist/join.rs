//! Joining leaked identities to the export's accounts.
//!
//! Normalisations, from strictest to loosest (the report's `match_tier`):
//! * `exact`: the identity is byte-for-byte the account name;
//! * `case-folded`: equal after Unicode lower-casing (emails and Windows
//!   account names are case-insensitive in practice);
//! * `local-part`: the export account is a bare username (no `@`; for
//!   `DOMAIN\user`, the part after `\`) equal, case-folded, to the local part
//!   of a leaked email (`jdoe` ↔ `JDoe@gmail.com`).
//!
//! Nothing else is normalised: no Gmail dot or `+tag` folding, no trimming
//! inside names. The index is two arrays of (hash of folded form, account)
//! sorted by hash, with a bucket table on the top bits of the hash so that a
//! lookup costs two memory accesses, not a binary search's twenty: about 16
//! bytes an account, so ten million accounts fit in ~200 MB.

use crate::accounts::{AccountId, Accounts};
use crate::match_tier::Tier;
use std::hash::{BuildHasher, Hasher};

/// Lower-case, Unicode-aware, with an ASCII fast path.
pub fn fold(s: &[u8]) -> Vec<u8> {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        String::from_utf8_lossy(s).to_lowercase().into_bytes()
    }
}

/// The username of a bare account name (after `DOMAIN\`), or `None` for an
/// email-style name.
fn username(name: &[u8]) -> Option<&[u8]> {
    if name.contains(&b'@') {
        return None;
    }
    Some(crate::policy::username::sam_part(name))
}

pub struct Index<'a> {
    accounts: &'a Accounts,
    hasher: std::collections::hash_map::RandomState,
    by_name: Table,
    by_username: Table,
}

/// (hash, account) pairs sorted by hash, and where each bucket of the top
/// `bits` of the hash starts.
struct Table {
    entries: Vec<(u64, AccountId)>,
    bits: u32,
    starts: Vec<u32>,
}

impl Table {
    fn new(mut entries: Vec<(u64, AccountId)>) -> Table {
        entries.sort_unstable();
        let bits = (entries.len().max(2).next_power_of_two().trailing_zeros()).clamp(1, 30);
        let mut starts = vec![0u32; (1 << bits) + 1];
        for &(hash, _) in &entries {
            starts[(hash >> (64 - bits)) as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        Table {
            entries,
            bits,
            starts,
        }
    }

    /// The entries whose hash is `key`.
    fn with_key(&self, key: u64) -> impl Iterator<Item = AccountId> + '_ {
        let bucket = (key >> (64 - self.bits)) as usize;
        self.entries[self.starts[bucket] as usize..self.starts[bucket + 1] as usize]
            .iter()
            .filter(move |(k, _)| *k == key)
            .map(|(_, id)| *id)
    }
}

impl<'a> Index<'a> {
    pub fn new(accounts: &'a Accounts) -> Index<'a> {
        let hasher = std::collections::hash_map::RandomState::new();
        let key = |s: &[u8]| {
            let mut h = hasher.build_hasher();
            h.write(s);
            h.finish()
        };
        let mut by_name = Vec::with_capacity(accounts.len());
        let mut by_username = Vec::new();
        for id in 0..accounts.len() as AccountId {
            let name = accounts.name(id);
            by_name.push((key(&fold(name)), id));
            if let Some(user) = username(name) {
                by_username.push((key(&fold(user)), id));
            }
        }
        Index {
            accounts,
            hasher,
            by_name: Table::new(by_name),
            by_username: Table::new(by_username),
        }
    }

    fn key(&self, s: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(s);
        h.finish()
    }

    /// The accounts a leaked identity matches, with how; the best tier wins.
    pub fn lookup(&self, identity: &[u8], out: &mut Vec<(AccountId, Tier)>) {
        out.clear();
        let folded = fold(identity);
        for id in self.by_name.with_key(self.key(&folded)) {
            let name = self.accounts.name(id);
            if name == identity {
                out.push((id, Tier::Exact));
            } else if fold(name) == folded {
                out.push((id, Tier::CaseFolded));
            }
        }
        if !out.is_empty() {
            return;
        }
        let Some(at) = folded.iter().position(|&b| b == b'@') else {
            return;
        };
        let local = &folded[..at];
        for id in self.by_username.with_key(self.key(local)) {
            if username(self.accounts.name(id)).is_some_and(|u| fold(u) == local) {
                out.push((id, Tier::LocalPart));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::AccountStatus;
    use crate::accounts::{Flags, Origin};

    #[test]
    fn tiers() {
        let mut accounts = Accounts::default();
        let flags = Flags {
            status: AccountStatus::Unknown,
            privileged: false,
        };
        for (i, name) in [
            "alice@example.com",
            "CONTOSO\\JDoe",
            "Bob@Example.com",
            "émile@x.fr",
        ]
        .iter()
        .enumerate()
        {
            accounts
                .push(
                    name.as_bytes(),
                    Origin {
                        file: 0,
                        line: i as u64,
                    },
                    flags,
                )
                .unwrap();
        }
        let index = Index::new(&accounts);
        let mut out = Vec::new();
        index.lookup(b"alice@example.com", &mut out);
        assert_eq!(out, [(0, Tier::Exact)]);
        index.lookup(b"ALICE@example.com", &mut out);
        assert_eq!(out, [(0, Tier::CaseFolded)]);
        index.lookup(b"jdoe@gmail.com", &mut out);
        assert_eq!(out, [(1, Tier::LocalPart)]);
        index.lookup(b"bob@example.com", &mut out);
        assert_eq!(out, [(2, Tier::CaseFolded)]);
        index.lookup("ÉMILE@x.fr".as_bytes(), &mut out);
        assert_eq!(out, [(3, Tier::CaseFolded)]);
        index.lookup(b"alice", &mut out);
        assert!(out.is_empty(), "email accounts do not match bare usernames");
        index.lookup(b"carol@example.com", &mut out);
        assert!(out.is_empty());
    }
}
