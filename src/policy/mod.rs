//! Policy findings beyond breach corpora, in the same pass as the breach
//! checks: the findings DSInternals' Test-PasswordQuality, lil-pwny and
//! Specops Password Auditor report.
//!
//! * `empty`: the empty password, as plaintext or as its SHA-1/NTLM hash;
//! * `short`: plaintext shorter than `--min-length`;
//! * `username`: the password is the account name or an obvious variant;
//! * `shared` / `privileged-shared`: several accounts, one password;
//! * `banned`: the organisation's own words with the usual mutations (a
//!   source, see [`banned`] and `source::plain_list`);
//! * `default-computer-password`: a machine account whose password is still
//!   its own name (see [`computer`]).

pub mod banned;
pub mod computer;
pub mod shared;
pub mod username;

use crate::accounts::Accounts;
use crate::findings::{Findings, Reason};
use crate::hash;
use crate::queryset::QuerySet;
use std::collections::HashSet;

/// Policy settings from the command line.
#[derive(Clone, Debug)]
pub struct PolicyOptions {
    /// Plaintext shorter than this many characters is `short` (0: off).
    pub min_length: usize,
    /// Smallest group of accounts sharing a password that is reported.
    pub min_shared: usize,
    /// Privileged account names, lower-cased (`--admins FILE`).
    pub admins: HashSet<Vec<u8>>,
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            min_length: 8,
            min_shared: 2,
            admins: HashSet::new(),
        }
    }
}

impl PolicyOptions {
    /// Is `name` listed in `--admins`? Matches the whole name or the part
    /// after `DOMAIN\`, case-insensitively.
    pub fn is_admin(&self, name: &[u8]) -> bool {
        if self.admins.is_empty() {
            return false;
        }
        let lower = name.to_ascii_lowercase();
        let short = username::sam_part(&lower);
        self.admins.contains(&lower) || self.admins.contains(short)
    }

    /// Read `--admins FILE`: one account name per line.
    pub fn load_admins(path: &std::path::Path) -> anyhow::Result<HashSet<Vec<u8>>> {
        let text = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read --admins file {}: {e}", path.display()))?;
        Ok(text
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l).trim_ascii())
            .filter(|l| !l.is_empty())
            .map(|l| l.to_ascii_lowercase())
            .collect())
    }
}

/// What a plaintext alone tells: `empty`, `short`, `username`.
pub fn check_plaintext(name: &[u8], password: &[u8], options: &PolicyOptions) -> Vec<Reason> {
    let mut found = Vec::new();
    if password.is_empty() {
        found.push(Reason::Empty);
    } else if char_len(password) < options.min_length {
        found.push(Reason::Short);
    }
    if username::matches_plaintext(name, password) {
        found.push(Reason::Username);
    }
    found
}

/// The checks that need every account's hash at once, run on the sorted
/// query sets: the empty-password hashes and shared passwords. (Accounts
/// that came as hashes get their `username` check while being read, see
/// [`username::Candidates`].)
pub fn check_hashes(
    querysets: &[QuerySet],
    accounts: &Accounts,
    findings: &mut Findings,
    options: &PolicyOptions,
) -> Vec<shared::Group> {
    for qs in querysets {
        let mut empty = [0u8; 20];
        let width = qs.kind.bytes();
        hash::hash_into(qs.kind, b"", &mut empty[..width]).expect("the empty string is UTF-8");
        let hashes = qs.hashes();
        let i = hashes.lower_bound(&empty[..width]);
        if i < hashes.len() && hashes.get(i) == &empty[..width] {
            for &a in qs.accounts_of(i) {
                findings.add(a, Reason::Empty);
            }
        }
    }
    let groups =
        if findings.is_enabled(Reason::Shared) || findings.is_enabled(Reason::PrivilegedShared) {
            shared::groups(querysets, accounts, options.min_shared)
        } else {
            shared::Groups::default()
        };
    let members: usize = groups.list.iter().map(|g| g.size as usize).sum();
    if members > 0 {
        findings.reserve(accounts.len(), members);
    }
    findings.set_group_sizes(groups.list.iter().map(|g| g.size));
    for (a, g) in groups.members_in_order() {
        findings.shared(a, g.id, g.mixes_privileged() && accounts.privileged(a));
    }
    groups.list
}

/// Number of characters (Unicode scalar values, as NIST SP 800-63B counts
/// them) of a plaintext; bytes that are not UTF-8 count one each.
pub fn char_len(password: &[u8]) -> usize {
    if password.is_ascii() {
        return password.len();
    }
    match std::str::from_utf8(password) {
        Ok(s) => s.chars().count(),
        Err(_) => password.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters() {
        assert_eq!(char_len("pässwörd".as_bytes()), 8);
        assert_eq!(char_len(b"\xff\xfe"), 2);
    }

    #[test]
    fn admins_match_with_or_without_domain() {
        let mut p = PolicyOptions::default();
        p.admins.insert(b"administrator".to_vec());
        assert!(p.is_admin(b"CONTOSO\\Administrator"));
        assert!(p.is_admin(b"ADMINISTRATOR"));
        assert!(!p.is_admin(b"jdoe"));
    }
}
