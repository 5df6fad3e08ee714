//! Exit codes for cron and CI, and `--fail-on`, which chooses what fails a run.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | nothing listed in `--fail-on` happened |
//! | 1 | accounts must be reset (a `--fail-on` reason or severity was found) |
//! | 2 | usage or input error: nothing trustworthy was produced |
//! | 3 | incomplete: accounts unchecked or rows rejected |
//!
//! Incomplete (3) outranks findings (1): a partial audit must not read as a
//! finished one. The report is written either way.

use crate::findings::{Counts, Reason, Severity};

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;
pub const EXIT_INCOMPLETE: u8 = 3;

/// What makes a run fail: reasons, a minimum severity, unchecked accounts
/// (a reason too) and rejected rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailOn {
    pub reasons: Vec<Reason>,
    pub min_severity: Option<Severity>,
    pub rejected: bool,
}

impl Default for FailOn {
    fn default() -> Self {
        FailOn {
            reasons: Reason::ALL.to_vec(),
            min_severity: None,
            rejected: true,
        }
    }
}

impl std::str::FromStr for FailOn {
    type Err = String;

    /// `none`, `any`, or a comma list of reasons (`pwned`, `shared`, ...,
    /// `unchecked`), severities (`high`: that severity or above) and
    /// `rejected`.
    fn from_str(s: &str) -> Result<FailOn, String> {
        let mut fail = FailOn {
            reasons: Vec::new(),
            min_severity: None,
            rejected: false,
        };
        for word in s.split(',').map(str::trim) {
            if let Some(reason) = Reason::from_name(word) {
                if !fail.reasons.contains(&reason) {
                    fail.reasons.push(reason);
                }
            } else if let Some(sev) = Severity::ALL.into_iter().find(|s| s.name() == word) {
                fail.min_severity = Some(fail.min_severity.map_or(sev, |m| m.min(sev)));
            } else {
                match word {
                    "none" => {}
                    "any" => fail = FailOn::default(),
                    "rejected" => fail.rejected = true,
                    _ => {
                        return Err(format!(
                            "unknown --fail-on value {word:?}: use none, any, rejected, a reason ({}) or a severity ({})",
                            Reason::ALL.map(|r| r.name()).join(", "),
                            Severity::ALL.map(|s| s.name()).join(", ")
                        ))
                    }
                }
            }
        }
        Ok(fail)
    }
}

impl FailOn {
    /// The exit code for a finished audit.
    pub fn exit_code(&self, counts: &Counts, rejected: u64) -> u8 {
        let incomplete = (self.reasons.contains(&Reason::Unchecked)
            && counts.reason(Reason::Unchecked) > 0)
            || (self.rejected && rejected > 0);
        let by_reason = self
            .reasons
            .iter()
            .any(|r| *r != Reason::Unchecked && counts.reason(*r) > 0);
        let by_severity = self.min_severity.is_some_and(|s| counts.at_least(s) > 0);
        if incomplete {
            EXIT_INCOMPLETE
        } else if by_reason || by_severity {
            EXIT_FINDINGS
        } else {
            EXIT_CLEAN
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Findings;

    #[test]
    fn exit_codes_follow_fail_on() {
        let default = FailOn::default();
        let clean = Findings::default();
        let mut pwned = Findings::default();
        pwned.add(0, Reason::Pwned);
        let mut both = Findings::default();
        both.add(0, Reason::Pwned);
        both.add(1, Reason::Unchecked);
        let mut short = Findings::default();
        short.add(0, Reason::Short);
        assert_eq!(default.exit_code(&clean.counts(), 0), EXIT_CLEAN);
        assert_eq!(default.exit_code(&pwned.counts(), 0), EXIT_FINDINGS);
        assert_eq!(default.exit_code(&both.counts(), 0), EXIT_INCOMPLETE);
        assert_eq!(default.exit_code(&clean.counts(), 5), EXIT_INCOMPLETE);
        let only_pwned: FailOn = "pwned".parse().unwrap();
        assert_eq!(only_pwned.exit_code(&both.counts(), 5), EXIT_FINDINGS);
        assert_eq!(only_pwned.exit_code(&short.counts(), 0), EXIT_CLEAN);
        let none: FailOn = "none".parse().unwrap();
        assert_eq!(none.exit_code(&both.counts(), 5), EXIT_CLEAN);
        let high: FailOn = "high".parse().unwrap();
        assert_eq!(high.exit_code(&short.counts(), 0), EXIT_CLEAN);
        assert_eq!(high.exit_code(&pwned.counts(), 0), EXIT_FINDINGS);
        let low: FailOn = "low".parse().unwrap();
        assert_eq!(low.exit_code(&short.counts(), 0), EXIT_FINDINGS);
        assert!("pwnd".parse::<FailOn>().is_err());
    }

    /// Every unchecked account also has a policy finding: the audit is still
    /// incomplete, whatever else it found.
    #[test]
    fn unchecked_behind_other_findings_still_means_incomplete() {
        let mut f = Findings::default();
        f.add(0, Reason::Short);
        f.add(0, Reason::Unchecked);
        f.add(1, Reason::Shared);
        f.add(1, Reason::Unchecked);
        assert_eq!(f.counts().reason(Reason::Unchecked), 2);
        assert_eq!(FailOn::default().exit_code(&f.counts(), 0), EXIT_INCOMPLETE);
        let high: FailOn = "high,unchecked".parse().unwrap();
        assert_eq!(high.exit_code(&f.counts(), 0), EXIT_INCOMPLETE);
    }
}
