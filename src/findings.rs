//! What the audit found per account: reasons, their severity, the highest
//! breach prevalence, the sources that matched and the shared-password group.
//! Only accounts with something to report are stored, so a clean export of
//! ten million accounts costs nothing here.

use crate::accounts::AccountId;
use crate::policy::banned::Rule as BannedRule;
use std::collections::HashMap;

/// How urgent a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Why an account is in the reset list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The account's current password appears in a leak next to its name
    /// (verified against the account's own stored hash).
    PairLeaked,
    /// The password is stored with reversible encryption (secretsdump
    /// printed a `CLEARTEXT` line for it).
    Reversible,
    /// The password (or its hash) is in a breach corpus or password list.
    Pwned,
    /// The password is empty (including the empty-string SHA-1 and NTLM).
    Empty,
    /// An LM hash is stored: it cracks in minutes, whatever the NT password.
    LmHash,
    /// The password is the account name or an obvious variant of it.
    Username,
    /// The password is one of the organisation's banned words, mutated.
    Banned,
    /// A machine account still has the password Windows gives pre-created
    /// computer accounts (its own name, lower-cased, at most 14 characters).
    DefaultComputerPassword,
    /// A privileged account shares its password with an ordinary one.
    PrivilegedShared,
    /// Several accounts use the same password.
    Shared,
    /// The plaintext is shorter than `--min-length`.
    Short,
    /// The dump has Kerberos keys, but none of AES for this user: the
    /// password predates the domain's move to AES (advisory).
    NoAesKeys,
    /// An old password of the account (`--include-history`) is pwned
    /// (advisory).
    HistoryPwned,
    /// The account appears in a leak, with a password that is not its
    /// current one (advisory).
    AccountInLeak,
    /// A source could not answer for this account's hash: it was not checked.
    Unchecked,
}

impl Reason {
    pub const ALL: [Reason; 15] = [
        Reason::PairLeaked,
        Reason::Reversible,
        Reason::Pwned,
        Reason::Empty,
        Reason::LmHash,
        Reason::Username,
        Reason::Banned,
        Reason::DefaultComputerPassword,
        Reason::PrivilegedShared,
        Reason::Shared,
        Reason::Short,
        Reason::NoAesKeys,
        Reason::HistoryPwned,
        Reason::AccountInLeak,
        Reason::Unchecked,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Reason::PairLeaked => "pair-leaked",
            Reason::Reversible => "reversible",
            Reason::Pwned => "pwned",
            Reason::Empty => "empty",
            Reason::LmHash => "lm-hash",
            Reason::Username => "username",
            Reason::Banned => "banned",
            Reason::DefaultComputerPassword => "default-computer-password",
            Reason::PrivilegedShared => "privileged-shared",
            Reason::Shared => "shared",
            Reason::Short => "short",
            Reason::NoAesKeys => "no-aes-keys",
            Reason::HistoryPwned => "history-pwned",
            Reason::AccountInLeak => "account-in-leak",
            Reason::Unchecked => "unchecked",
        }
    }

    pub fn from_name(name: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn severity(self) -> Severity {
        match self {
            Reason::PairLeaked | Reason::Reversible | Reason::Empty | Reason::PrivilegedShared => {
                Severity::Critical
            }
            Reason::Pwned
            | Reason::LmHash
            | Reason::Username
            | Reason::Banned
            | Reason::DefaultComputerPassword => Severity::High,
            Reason::Shared | Reason::Unchecked => Severity::Medium,
            Reason::Short | Reason::NoAesKeys | Reason::HistoryPwned | Reason::AccountInLeak => {
                Severity::Low
            }
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// Everything found about one account.
#[derive(Clone, Debug, Default)]
pub struct Finding {
    reasons: u16,
    /// Highest prevalence count among the sources that count.
    pub max_count: Option<u64>,
    /// Bit `i` set when source `i` matched.
    pub sources: u64,
    /// The shared-password group (id, size), when in one.
    pub shared: Option<(u32, u32)>,
    /// How the account matched a leaked identity (best tier), when it did.
    pub tier: Option<crate::match_tier::Tier>,
    /// The rules by which a banned word was found (bits of
    /// [`BannedRule`]).
    pub banned_rules: u8,
}

impl Finding {
    pub fn has(&self, reason: Reason) -> bool {
        self.reasons & reason.bit() != 0
    }

    /// The reasons to report, in [`Reason::ALL`] order. `unchecked` is one of
    /// them like any other: an account that must be reset for a policy
    /// reason still has to say that a breach source never answered for it,
    /// or the audit would read as complete when it is not.
    pub fn reasons(&self) -> impl Iterator<Item = Reason> + '_ {
        Reason::ALL.into_iter().filter(|r| self.has(*r))
    }

    /// The highest severity among the reported reasons.
    pub fn severity(&self) -> Option<Severity> {
        self.reasons().map(Reason::severity).max()
    }
}

/// The findings of an audit, and which reasons are being looked for.
pub struct Findings {
    by_account: HashMap<AccountId, Finding>,
    /// Reasons recorded; others are ignored (`--only`, `--exclude`).
    enabled: u16,
}

impl Default for Findings {
    fn default() -> Self {
        Findings::new(&Reason::ALL)
    }
}

impl Findings {
    /// Findings that record only `enabled` reasons (unchecked is always on:
    /// an account that was not checked is never silently clean).
    pub fn new(enabled: &[Reason]) -> Findings {
        Findings {
            by_account: HashMap::new(),
            enabled: enabled
                .iter()
                .fold(Reason::Unchecked.bit(), |b, r| b | r.bit()),
        }
    }

    pub fn is_enabled(&self, reason: Reason) -> bool {
        self.enabled & reason.bit() != 0
    }

    /// Record `reason` for `account`.
    pub fn add(&mut self, account: AccountId, reason: Reason) -> Option<&mut Finding> {
        if !self.is_enabled(reason) {
            return None;
        }
        let f = self.by_account.entry(account).or_default();
        f.reasons |= reason.bit();
        Some(f)
    }

    /// Source `source` knows this account's hash (`reason` is the source's
    /// kind of finding), seen `count` times.
    pub fn hit(&mut self, account: AccountId, reason: Reason, source: usize, count: Option<u64>) {
        if let Some(f) = self.add(account, reason) {
            f.sources |= 1u64 << source.min(63);
            if let Some(c) = count {
                f.max_count = Some(f.max_count.map_or(c, |m| m.max(c)));
            }
        }
    }

    /// `account` matched a leaked identity at `tier`; `reason` says whether
    /// the leaked password is its current one.
    pub fn leak(&mut self, account: AccountId, reason: Reason, tier: crate::match_tier::Tier) {
        if let Some(f) = self.add(account, reason) {
            f.tier = Some(f.tier.map_or(tier, |t| t.min(tier)));
        }
    }

    /// A banned word was found in `account`'s password by `rule`.
    pub fn banned(&mut self, account: AccountId, rule: BannedRule) {
        if let Some(f) = self.add(account, Reason::Banned) {
            f.banned_rules = rule.add_to(f.banned_rules);
        }
    }

    /// Number of accounts whose banned word `rule` found.
    pub fn count_banned(&self, rule: BannedRule) -> u64 {
        self.by_account
            .values()
            .filter(|f| BannedRule::in_bits(f.banned_rules).any(|r| r == rule))
            .count() as u64
    }

    /// Put `account` in shared-password group `group` of `size` accounts.
    pub fn shared(&mut self, account: AccountId, group: u32, size: u32, privileged_mix: bool) {
        if let Some(f) = self.add(account, Reason::Shared) {
            f.shared = Some((group, size));
        }
        if privileged_mix {
            self.add(account, Reason::PrivilegedShared);
        }
    }

    /// Accounts with findings, in input order.
    pub fn sorted(&self) -> Vec<(AccountId, &Finding)> {
        let mut all: Vec<_> = self.by_account.iter().map(|(a, f)| (*a, f)).collect();
        all.sort_unstable_by_key(|(a, _)| *a);
        all
    }

    /// Number of accounts reported with `reason`.
    pub fn count(&self, reason: Reason) -> u64 {
        self.by_account
            .values()
            .filter(|f| f.reasons().any(|r| r == reason))
            .count() as u64
    }

    /// Number of accounts whose highest severity is exactly `severity`.
    pub fn count_with_severity(&self, severity: Severity) -> u64 {
        self.by_account
            .values()
            .filter(|f| f.severity() == Some(severity))
            .count() as u64
    }

    /// Number of accounts with a finding of severity `min` or above.
    pub fn count_at_least(&self, min: Severity) -> u64 {
        self.by_account
            .values()
            .filter(|f| {
                f.reasons()
                    .any(|r| r != Reason::Unchecked && r.severity() >= min)
            })
            .count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchecked_stays_beside_other_findings_and_highest_count_is_kept() {
        let mut f = Findings::default();
        f.hit(7, Reason::Pwned, 0, Some(3));
        f.hit(7, Reason::Pwned, 2, Some(10));
        f.hit(7, Reason::Pwned, 1, None);
        f.add(7, Reason::Unchecked);
        f.add(1, Reason::Unchecked);
        let sorted = f.sorted();
        assert_eq!(sorted[0].0, 1);
        let (_, seven) = sorted[1];
        assert_eq!(seven.max_count, Some(10));
        assert_eq!(seven.sources, 0b111);
        assert_eq!(
            seven.reasons().collect::<Vec<_>>(),
            vec![Reason::Pwned, Reason::Unchecked]
        );
        assert_eq!(seven.severity(), Some(Severity::High));
        assert_eq!(f.count(Reason::Unchecked), 2);
        assert_eq!(f.count(Reason::Pwned), 1);
    }

    #[test]
    fn severity_and_filters() {
        let mut f = Findings::new(&[Reason::Shared, Reason::Short]);
        f.add(1, Reason::Pwned);
        f.add(2, Reason::Short);
        f.shared(3, 0, 2, true);
        assert_eq!(f.count(Reason::Pwned), 0, "pwned not enabled");
        let sorted = f.sorted();
        assert_eq!(sorted[0].1.severity(), Some(Severity::Low));
        assert_eq!(
            sorted[1].1.severity(),
            Some(Severity::Medium),
            "privileged-shared disabled"
        );
        assert_eq!(sorted[1].1.shared, Some((0, 2)));
        assert_eq!(f.count_at_least(Severity::Medium), 1);
        assert_eq!(f.count_at_least(Severity::Low), 2);
        let mut all = Findings::default();
        all.shared(4, 1, 3, true);
        assert_eq!(all.sorted()[0].1.severity(), Some(Severity::Critical));
    }
}
