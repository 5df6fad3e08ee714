//! Lines of an NTDS dump that belong to an account instead of being one:
//! Kerberos keys (`no-aes-keys`), reversibly stored cleartext (`reversible`,
//! and the password checked like any plaintext) and, with
//! `--include-history`, old passwords (`history-pwned`).
//!
//! secretsdump prints the keys and cleartext after all the hashes, so these
//! lines are gathered while reading and attached by name, within their own
//! export, once every account is known. A line whose account is not checked
//! (skipped by policy, or absent) attaches to nothing; it stays counted
//! under `rows_skipped` like every such line.

use super::{digest_plain, record_digests, Digests, ReadContext};
use crate::accounts::{AccountId, AccountStatus, Accounts};
use crate::findings::{Findings, Reason};
use crate::hash::HashKind;
use crate::input::Attachment;
use crate::queryset::PendingSets;
use std::collections::{BTreeSet, HashMap};

/// What the lines naming one account told.
#[derive(Default)]
struct Extra {
    /// It has an AES Kerberos key.
    aes: bool,
    /// Its cleartext passwords, digested (the plaintext is not kept).
    cleartexts: Vec<Digests>,
    /// Its old passwords' hashes.
    history: Vec<(HashKind, Vec<u8>)>,
}

/// Attached lines per export and account name.
#[derive(Default)]
pub(super) struct Attached {
    by_file: HashMap<usize, HashMap<Vec<u8>, Extra>>,
    /// Exports with Kerberos key lines: only there does a missing AES key
    /// say anything.
    keyed: BTreeSet<usize>,
}

impl Attached {
    /// Take in one line of export `file`; a cleartext is digested here.
    pub(super) fn take(&mut self, file: usize, attachment: Attachment, ctx: &ReadContext<'_>) {
        match attachment {
            Attachment::KerberosKey { account, aes } => {
                self.keyed.insert(file);
                self.extra(file, account).aes |= aes;
            }
            Attachment::Cleartext { account, password } => {
                let digests = digest_plain(&account, &password, ctx);
                self.extra(file, account).cleartexts.push(digests);
            }
            Attachment::History {
                account,
                kind,
                hash,
            } => {
                if let Some(kind) = kind.hash_kind() {
                    self.extra(file, account).history.push((kind, hash));
                }
            }
        }
    }

    fn extra(&mut self, file: usize, account: Vec<u8>) -> &mut Extra {
        self.by_file
            .entry(file)
            .or_default()
            .entry(account)
            .or_default()
    }

    /// Attach everything to the accounts: record `reversible` and
    /// `no-aes-keys`, add the cleartexts' hashes to `current` (so every
    /// source checks them for the account) and old passwords to `history`.
    pub(super) fn apply(
        self,
        accounts: &Accounts,
        findings: &mut Findings,
        current: &mut PendingSets,
        history: &mut PendingSets,
    ) {
        if self.by_file.is_empty() {
            return;
        }
        for id in 0..accounts.len() as AccountId {
            let file = accounts.origin(id).file;
            let name = accounts.name(id);
            let extra = self.by_file.get(&file).and_then(|m| m.get(name));
            if self.keyed.contains(&file)
                && !extra.is_some_and(|e| e.aes)
                && !name.ends_with(b"$")
                && accounts.status(id) != AccountStatus::Disabled
            {
                findings.add(id, Reason::NoAesKeys);
            }
            let Some(extra) = extra else { continue };
            for d in &extra.cleartexts {
                findings.add(id, Reason::Reversible);
                record_digests(d, id, current, findings);
            }
            for (kind, hash) in &extra.history {
                history.push(*kind, hash, id);
            }
        }
    }
}
