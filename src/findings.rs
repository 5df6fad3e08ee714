//! What the audit found per account: reasons, their severity, the highest
//! breach prevalence, the sources that matched and the shared-password group.
//! Only accounts with something to report get a [`Finding`]; a dense index
//! (four bytes per account read, see [`Findings::cover`]) points at it.
//! Millions of accounts can be flagged at once (a fifth of an export on a few
//! popular passwords, each also in a shared group), and a hash map paid a
//! hash and a probe per update, twice its size in empty slots, and a sort to
//! come out in input order; the index is read in input order as it stands.

use crate::accounts::AccountId;
use crate::page_backing;
use crate::policy::banned::Rule as BannedRule;
use crate::prefetch::prefetch;
use std::ops::Range;

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

    pub const fn severity(self) -> Severity {
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

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The reasons of each severity, as bits: [`Finding::severity`] runs for
/// every reported account, several times.
const SEVERITY_REASONS: [u16; 4] = {
    let mut masks = [0u16; 4];
    let mut i = 0;
    while i < Reason::ALL.len() {
        let r = Reason::ALL[i];
        masks[r.severity() as usize] |= r.bit();
        i += 1;
    }
    masks
};

/// Hits whose finding [`Findings::hit_each`] loads ahead.
const HITS_AHEAD: usize = 8;

/// Everything found about one account, in 24 bytes: a fifth of an export
/// can have findings, and each byte is 20 MB of memory touched at 100M
/// accounts.
#[derive(Clone, Debug, Default)]
pub struct Finding {
    reasons: u16,
    /// How the account matched a leaked identity (best tier), when it did.
    pub tier: Option<crate::match_tier::Tier>,
    /// The rules by which a banned word was found (bits of
    /// [`BannedRule`]).
    pub banned_rules: u8,
    /// The id of the account's shared-password group, or 0 (the sizes are
    /// in [`Findings`]).
    group: u32,
    /// Bit `i` set when source `i` matched.
    pub sources: u64,
    /// 1 + the highest prevalence count among the sources that count, or 0
    /// (an `Option<u64>` would take 16 bytes). Counts saturate at 2^64 - 2.
    count: u64,
}

impl Finding {
    /// Highest prevalence count among the sources that count.
    pub fn max_count(&self) -> Option<u64> {
        self.count.checked_sub(1)
    }

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
        Severity::ALL
            .into_iter()
            .rev()
            .find(|&s| self.reasons & SEVERITY_REASONS[s as usize] != 0)
    }
}

/// The findings of an audit, and which reasons are being looked for.
pub struct Findings {
    /// Per account: 1 + the index of its finding in `found`, or 0 (none).
    /// Covers every account read so far and every account with a finding.
    slot: Vec<u32>,
    found: Vec<Finding>,
    /// The size of shared-password group `id` is `group_sizes[id - 1]`.
    group_sizes: Vec<u32>,
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
            slot: Vec::new(),
            found: Vec::new(),
            group_sizes: Vec::new(),
            enabled: enabled
                .iter()
                .fold(Reason::Unchecked.bit(), |b, r| b | r.bit()),
        }
    }

    pub fn is_enabled(&self, reason: Reason) -> bool {
        self.enabled & reason.bit() != 0
    }

    /// Make room for findings about `more` accounts among the first
    /// `accounts`, when that many are about to be recorded at once (shared
    /// groups of millions): one allocation instead of a doubling series,
    /// each doubling a copy of all before it, and its pages supplied on
    /// every core before one thread fills them.
    pub fn reserve(&mut self, accounts: usize, more: usize) {
        if self.slot.len() < accounts {
            self.slot.reserve_exact(accounts - self.slot.len());
            page_backing::populate(self.slot.spare_capacity_mut());
            self.slot.resize(accounts, 0);
        }
        self.found.reserve(more);
        page_backing::populate(self.found.spare_capacity_mut());
    }

    /// Index the first `accounts` accounts, found or not: the index grows
    /// with the accounts while they are read, so that its memory is not
    /// all new at once when millions of findings come after the sort.
    pub fn cover(&mut self, accounts: usize) {
        if self.slot.len() < accounts {
            self.slot.resize(accounts, 0);
        }
    }

    /// Record `reason` for `account`.
    pub fn add(&mut self, account: AccountId, reason: Reason) -> Option<&mut Finding> {
        if !self.is_enabled(reason) {
            return None;
        }
        let i = account as usize;
        if i >= self.slot.len() {
            self.slot.resize(i + 1, 0);
        }
        if self.slot[i] == 0 {
            self.found.push(Finding::default());
            // At most one finding per account, and accounts are u32.
            self.slot[i] = u32::try_from(self.found.len()).expect("fewer findings than accounts");
        }
        let f = &mut self.found[self.slot[i] as usize - 1];
        f.reasons |= reason.bit();
        Some(f)
    }

    /// Source `source` knows this account's hash (`reason` is the source's
    /// kind of finding), seen `count` times.
    pub fn hit(&mut self, account: AccountId, reason: Reason, source: usize, count: Option<u64>) {
        if let Some(f) = self.add(account, reason) {
            f.sources |= 1u64 << source.min(63);
            if let Some(c) = count {
                f.count = f.count.max(c.saturating_add(1));
            }
        }
    }

    /// Source `source` knows the hashes of many accounts, `(account,
    /// count)` in any order; `rule` is recorded too when the source is a
    /// banned-word list. A corpus answers by hash, so the accounts come in
    /// hash order, scattered: each one a miss to memory in the index and
    /// another in its finding, unless fetched ahead. So the index entry of
    /// the account `2 * HITS_AHEAD` on, and the finding of the one
    /// `HITS_AHEAD` on, are loaded while this one is recorded.
    pub fn hit_each(
        &mut self,
        hits: impl IntoIterator<Item = (AccountId, Option<u64>)>,
        reason: Reason,
        source: usize,
        rule: Option<BannedRule>,
    ) {
        let mut ahead = std::collections::VecDeque::with_capacity(2 * HITS_AHEAD + 1);
        let record = |findings: &mut Findings, (account, count)| {
            findings.hit(account, reason, source, count);
            if let Some(rule) = rule {
                findings.banned(account, rule);
            }
        };
        for hit in hits {
            if let Some(slot) = self.slot.get(hit.0 as usize) {
                prefetch(slot);
            }
            ahead.push_back(hit);
            if ahead.len() > HITS_AHEAD {
                let (account, _) = ahead[ahead.len() - 1 - HITS_AHEAD];
                match self.slot.get(account as usize) {
                    Some(&s) if s != 0 => {
                        prefetch(self.found.as_ptr().wrapping_add(s as usize - 1))
                    }
                    _ => {}
                }
            }
            if ahead.len() > 2 * HITS_AHEAD {
                let hit = ahead.pop_front().expect("not empty");
                record(self, hit);
            }
        }
        for hit in ahead {
            record(self, hit);
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

    /// The sizes of the shared-password groups, group 1 first: set once,
    /// before their members are recorded with [`Findings::shared`].
    pub fn set_group_sizes(&mut self, sizes: impl IntoIterator<Item = u32>) {
        self.group_sizes = sizes.into_iter().collect();
    }

    /// Put `account` in shared-password group `group` (numbered from 1; its
    /// size given to [`Findings::set_group_sizes`]).
    pub fn shared(&mut self, account: AccountId, group: u32, privileged_mix: bool) {
        assert!(
            (1..=self.group_sizes.len()).contains(&(group as usize)),
            "a known group"
        );
        if let Some(f) = self.add(account, Reason::Shared) {
            f.group = group;
        }
        if privileged_mix {
            self.add(account, Reason::PrivilegedShared);
        }
    }

    /// Lay the findings out in input order. They are recorded as they are
    /// found (by shared group, by hash), and the report walks them in input
    /// order: at millions of findings, a cache miss per row. Nothing moves
    /// when they are in order already.
    pub fn arrange_in_input_order(&mut self) {
        let mut used = self.slot.iter().filter(|&&s| s != 0);
        if used.by_ref().zip(1..).all(|(&s, k)| s == k) {
            return;
        }
        let mut found = Vec::with_capacity(self.found.len());
        for s in self.slot.iter_mut().filter(|s| **s != 0) {
            found.push(std::mem::take(&mut self.found[*s as usize - 1]));
            *s = found.len() as u32;
        }
        self.found = found;
    }

    /// The shared-password group (id, size) of `finding`, when in one.
    pub fn shared_group(&self, finding: &Finding) -> Option<(u32, u32)> {
        (finding.group != 0).then(|| (finding.group, self.group_sizes[finding.group as usize - 1]))
    }

    /// One past the highest account indexed: the accounts to walk.
    pub fn accounts_end(&self) -> AccountId {
        self.slot.len() as AccountId
    }

    /// The accounts of `range` with findings, in input order.
    pub fn in_range(
        &self,
        range: Range<AccountId>,
    ) -> impl Iterator<Item = (AccountId, &Finding)> + '_ {
        let end = (range.end as usize).min(self.slot.len());
        let start = (range.start as usize).min(end);
        self.slot[start..end]
            .iter()
            .zip(range.start..)
            .filter(|(&s, _)| s != 0)
            .map(|(&s, a)| (a, &self.found[s as usize - 1]))
    }

    /// Accounts with findings, in input order.
    pub fn sorted(&self) -> impl Iterator<Item = (AccountId, &Finding)> + '_ {
        self.in_range(0..self.accounts_end())
    }

    /// How many accounts have each reason, each severity and each banned
    /// rule, counted in one pass (millions of findings, and about forty
    /// counts asked).
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for f in &self.found {
            for (i, r) in Reason::ALL.into_iter().enumerate() {
                counts.reasons[i] += u64::from(f.has(r));
            }
            for rule in BannedRule::in_bits(f.banned_rules) {
                counts.banned_rules[rule as usize] += 1;
            }
            if let Some(s) = f.severity() {
                counts.severities[s as usize] += 1;
            }
            let checked = Finding {
                reasons: f.reasons & !Reason::Unchecked.bit(),
                ..Finding::default()
            };
            if let Some(s) = checked.severity() {
                counts.checked_severities[s as usize] += 1;
            }
        }
        counts
    }
}

/// Accounts by reason and by severity: what the summary and the exit code
/// are made of.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    /// By reason, in [`Reason::ALL`] order.
    reasons: [u64; Reason::ALL.len()],
    /// By highest severity.
    severities: [u64; 4],
    /// By highest severity among the reasons other than `unchecked`.
    checked_severities: [u64; 4],
    /// By banned rule, in [`BannedRule::ALL`] order.
    banned_rules: [u64; BannedRule::ALL.len()],
}

impl Counts {
    /// Number of accounts reported with `reason`.
    pub fn reason(&self, reason: Reason) -> u64 {
        self.reasons[Reason::ALL
            .iter()
            .position(|&r| r == reason)
            .expect("every reason is in ALL")]
    }

    /// Number of accounts whose banned word `rule` found.
    pub fn banned(&self, rule: BannedRule) -> u64 {
        self.banned_rules[rule as usize]
    }

    /// Number of accounts whose highest severity is exactly `severity`.
    pub fn with_severity(&self, severity: Severity) -> u64 {
        self.severities[severity as usize]
    }

    /// Number of accounts with a finding (other than `unchecked`) of
    /// severity `min` or above.
    pub fn at_least(&self, min: Severity) -> u64 {
        self.checked_severities[min as usize..].iter().sum()
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
        let sorted: Vec<_> = f.sorted().collect();
        assert_eq!(sorted[0].0, 1);
        let (_, seven) = sorted[1];
        assert_eq!(seven.max_count(), Some(10));
        assert_eq!(seven.sources, 0b111);
        assert_eq!(
            seven.reasons().collect::<Vec<_>>(),
            vec![Reason::Pwned, Reason::Unchecked]
        );
        assert_eq!(seven.severity(), Some(Severity::High));
        assert_eq!(f.counts().reason(Reason::Unchecked), 2);
        assert_eq!(f.counts().reason(Reason::Pwned), 1);
        assert_eq!(sorted[0].1.max_count(), None);
    }

    #[test]
    fn hits_recorded_ahead_are_the_hits_recorded_one_by_one() {
        let mut rng = crate::test_rng::SplitMix(33);
        for n in [0, 1, 5, 16, 17, 40, 3000] {
            let mut each = Findings::default();
            for a in 0..200 {
                if rng.below(4) == 0 {
                    each.add(a * 3, Reason::Short);
                }
            }
            let mut one_by_one = Findings::default();
            one_by_one.slot.clone_from(&each.slot);
            one_by_one.found.clone_from(&each.found);
            let hits: Vec<(AccountId, Option<u64>)> = (0..n)
                .map(|_| {
                    (
                        rng.below(1000) as AccountId,
                        Some(rng.below(50)).filter(|&c| c > 3),
                    )
                })
                .collect();
            each.hit_each(
                hits.iter().copied(),
                Reason::Banned,
                2,
                Some(BannedRule::Expansion),
            );
            for &(a, c) in &hits {
                one_by_one.hit(a, Reason::Banned, 2, c);
                one_by_one.banned(a, BannedRule::Expansion);
            }
            let seen = |f: &Findings| -> Vec<_> {
                f.sorted()
                    .map(|(a, x)| (a, x.reasons, x.max_count(), x.sources, x.banned_rules))
                    .collect()
            };
            assert_eq!(seen(&each), seen(&one_by_one), "{n} hits");
            assert_eq!(
                each.counts().reason(Reason::Banned),
                one_by_one.counts().reason(Reason::Banned)
            );
        }
    }

    #[test]
    fn counts_of_zero_and_the_largest_are_kept() {
        let mut f = Findings::default();
        f.hit(0, Reason::Pwned, 0, Some(0));
        f.hit(1, Reason::Pwned, 0, Some(u64::MAX - 1));
        f.hit(1, Reason::Pwned, 0, Some(5));
        let counts: Vec<_> = f.sorted().map(|(_, x)| x.max_count()).collect();
        assert_eq!(counts, [Some(0), Some(u64::MAX - 1)]);
        assert_eq!(std::mem::size_of::<Finding>(), 24);
    }

    #[test]
    fn severity_and_filters() {
        let mut f = Findings::new(&[Reason::Shared, Reason::Short]);
        f.add(1, Reason::Pwned);
        f.add(2, Reason::Short);
        f.set_group_sizes([2]);
        f.shared(3, 1, true);
        assert_eq!(f.counts().reason(Reason::Pwned), 0, "pwned not enabled");
        let sorted: Vec<_> = f.sorted().collect();
        assert_eq!(sorted[0].1.severity(), Some(Severity::Low));
        assert_eq!(
            sorted[1].1.severity(),
            Some(Severity::Medium),
            "privileged-shared disabled"
        );
        assert_eq!(f.shared_group(sorted[1].1), Some((1, 2)));
        assert_eq!(f.shared_group(sorted[0].1), None);
        let counts = f.counts();
        assert_eq!(counts.at_least(Severity::Medium), 1);
        assert_eq!(counts.at_least(Severity::Low), 2);
        assert_eq!(counts.with_severity(Severity::Low), 1);
        assert_eq!(counts.with_severity(Severity::Medium), 1);
        assert_eq!(counts.with_severity(Severity::High), 0);
        let mut all = Findings::default();
        all.set_group_sizes([3]);
        all.shared(4, 1, true);
        assert_eq!(
            all.sorted().next().map(|(_, f)| f.severity()),
            Some(Some(Severity::Critical))
        );
    }

    #[test]
    fn ranges_walk_accounts_in_input_order() {
        let mut f = Findings::default();
        for a in [9, 2, 5, 2] {
            f.add(a, Reason::Pwned);
        }
        f.add(5, Reason::Short);
        assert_eq!(f.accounts_end(), 10);
        let ids =
            |f: &Findings, r: Range<AccountId>| f.in_range(r).map(|(a, _)| a).collect::<Vec<_>>();
        assert_eq!(ids(&f, 0..10), [2, 5, 9]);
        assert_eq!(ids(&f, 3..9), [5]);
        assert_eq!(ids(&f, 9..20), [9], "past the end is empty, not a panic");
        assert_eq!(ids(&f, 20..30), Vec::<AccountId>::new());
        assert!(f.in_range(5..6).all(|(_, x)| x.has(Reason::Short)));
        assert_eq!(f.counts().reason(Reason::Pwned), 3);
        let before: Vec<(AccountId, Finding)> = f.sorted().map(|(a, x)| (a, x.clone())).collect();
        f.arrange_in_input_order();
        let after: Vec<(AccountId, Finding)> = f.sorted().map(|(a, x)| (a, x.clone())).collect();
        assert_eq!(format!("{before:?}"), format!("{after:?}"));
        assert_eq!(f.slot, [0, 0, 1, 0, 0, 2, 0, 0, 0, 3]);
        assert!(f.found[1].has(Reason::Short));
        f.reserve(100, 5);
        assert_eq!(f.accounts_end(), 100);
        assert_eq!(ids(&f, 0..100), [2, 5, 9], "room is not a finding");
    }

    #[test]
    fn banned_rules_are_counted_per_account() {
        let mut f = Findings::default();
        f.banned(3, BannedRule::Expansion);
        f.banned(3, BannedRule::Fuzzy);
        f.banned(3, BannedRule::Fuzzy);
        f.banned(8, BannedRule::Fuzzy);
        let counts = f.counts();
        assert_eq!(counts.reason(Reason::Banned), 2);
        assert_eq!(counts.banned(BannedRule::Expansion), 1);
        assert_eq!(counts.banned(BannedRule::Exact), 0);
        assert_eq!(counts.banned(BannedRule::Fuzzy), 2);
        assert_eq!(counts.banned(BannedRule::SubstringScore), 0);
        let mut off = Findings::new(&[Reason::Pwned]);
        off.banned(1, BannedRule::Fuzzy);
        assert_eq!(
            off.counts().banned(BannedRule::Fuzzy),
            0,
            "banned not enabled"
        );
    }

    #[test]
    fn severity_is_the_highest_reason() {
        for mask in 0..1u16 << Reason::ALL.len() {
            let f = Finding {
                reasons: mask,
                ..Finding::default()
            };
            assert_eq!(f.severity(), f.reasons().map(Reason::severity).max());
        }
    }
}
