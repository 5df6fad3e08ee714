//! What the audit found per account: reasons, the highest breach prevalence
//! and the sources that matched. Only accounts with something to report are
//! stored, so a clean export of ten million accounts costs nothing here.

use crate::accounts::AccountId;
use std::collections::HashMap;

/// Why an account is in the reset list. Ordered by how much they matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The password (or its hash) is in a breach corpus or password list.
    Pwned,
    /// A source could not answer for this account's hash: it was not checked.
    Unchecked,
}

impl Reason {
    pub const ALL: [Reason; 2] = [Reason::Pwned, Reason::Unchecked];

    pub fn name(self) -> &'static str {
        match self {
            Reason::Pwned => "pwned",
            Reason::Unchecked => "unchecked",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Everything found about one account.
#[derive(Clone, Debug, Default)]
pub struct Finding {
    reasons: u8,
    /// Highest prevalence count among the sources that count.
    pub max_count: Option<u64>,
    /// Bit `i` set when source `i` matched.
    pub sources: u64,
}

impl Finding {
    pub fn has(&self, reason: Reason) -> bool {
        self.reasons & reason.bit() != 0
    }

    /// The reasons to report. An account already pwned is not also reported
    /// as unchecked: it must be reset whatever the other sources say.
    pub fn reasons(&self) -> impl Iterator<Item = Reason> + '_ {
        Reason::ALL
            .into_iter()
            .filter(|r| self.has(*r))
            .filter(|r| !(*r == Reason::Unchecked && self.has(Reason::Pwned)))
    }
}

#[derive(Default)]
pub struct Findings {
    by_account: HashMap<AccountId, Finding>,
}

impl Findings {
    /// Source `source` knows this account's hash, seen `count` times.
    pub fn hit(&mut self, account: AccountId, source: usize, count: Option<u64>) {
        let f = self.by_account.entry(account).or_default();
        f.reasons |= Reason::Pwned.bit();
        f.sources |= 1u64 << source.min(63);
        if let Some(c) = count {
            f.max_count = Some(f.max_count.map_or(c, |m| m.max(c)));
        }
    }

    /// Source `source` could not answer for this account's hash.
    pub fn unchecked(&mut self, account: AccountId) {
        self.by_account.entry(account).or_default().reasons |= Reason::Unchecked.bit();
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pwned_outranks_unchecked_and_keeps_the_highest_count() {
        let mut f = Findings::default();
        f.hit(7, 0, Some(3));
        f.hit(7, 2, Some(10));
        f.hit(7, 1, None);
        f.unchecked(7);
        f.unchecked(1);
        let sorted = f.sorted();
        assert_eq!(sorted[0].0, 1);
        let (_, seven) = sorted[1];
        assert_eq!(seven.max_count, Some(10));
        assert_eq!(seven.sources, 0b111);
        assert_eq!(seven.reasons().collect::<Vec<_>>(), vec![Reason::Pwned]);
        assert_eq!(f.count(Reason::Unchecked), 1);
        assert_eq!(f.count(Reason::Pwned), 1);
    }
}
