//! Exit codes for cron and CI, and `--fail-on`, which chooses what fails a run.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | nothing listed in `--fail-on` happened |
//! | 1 | accounts must be reset (a `--fail-on` reason was found) |
//! | 2 | usage or input error: nothing trustworthy was produced |
//! | 3 | incomplete: accounts unchecked or rows rejected |
//!
//! Incomplete (3) outranks findings (1): a partial audit must not read as a
//! finished one. The report is written either way.

use crate::findings::Reason;

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;
pub const EXIT_INCOMPLETE: u8 = 3;

/// What makes a run fail: a set of reasons plus unchecked accounts and
/// rejected rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailOn {
    pub reasons: Vec<Reason>,
    pub rejected: bool,
}

impl Default for FailOn {
    fn default() -> Self {
        FailOn {
            reasons: Reason::ALL.to_vec(),
            rejected: true,
        }
    }
}

impl std::str::FromStr for FailOn {
    type Err = String;

    /// `none`, `any`, or a comma list of `pwned`, `unchecked`, `rejected`.
    fn from_str(s: &str) -> Result<FailOn, String> {
        let mut fail = FailOn {
            reasons: Vec::new(),
            rejected: false,
        };
        for word in s.split(',').map(str::trim) {
            match word {
                "none" => {}
                "any" => fail = FailOn::default(),
                "rejected" => fail.rejected = true,
                _ => match Reason::ALL.iter().find(|r| r.name() == word) {
                    Some(r) if !fail.reasons.contains(r) => fail.reasons.push(*r),
                    Some(_) => {}
                    None => {
                        return Err(format!(
                            "unknown --fail-on value {word:?}: use none, any, rejected or a reason ({})",
                            Reason::ALL.map(|r| r.name()).join(", ")
                        ))
                    }
                },
            }
        }
        Ok(fail)
    }
}

impl FailOn {
    /// The exit code for a finished audit.
    pub fn exit_code(&self, count: impl Fn(Reason) -> u64, rejected: u64) -> u8 {
        let incomplete = (self.reasons.contains(&Reason::Unchecked)
            && count(Reason::Unchecked) > 0)
            || (self.rejected && rejected > 0);
        let findings = self
            .reasons
            .iter()
            .any(|r| *r != Reason::Unchecked && count(*r) > 0);
        if incomplete {
            EXIT_INCOMPLETE
        } else if findings {
            EXIT_FINDINGS
        } else {
            EXIT_CLEAN
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_fail_on() {
        let default = FailOn::default();
        let pwned_only = |r| u64::from(r == Reason::Pwned);
        let both = |_| 1;
        assert_eq!(default.exit_code(|_| 0, 0), EXIT_CLEAN);
        assert_eq!(default.exit_code(pwned_only, 0), EXIT_FINDINGS);
        assert_eq!(default.exit_code(both, 0), EXIT_INCOMPLETE);
        assert_eq!(default.exit_code(|_| 0, 5), EXIT_INCOMPLETE);
        let pwned: FailOn = "pwned".parse().unwrap();
        assert_eq!(pwned.exit_code(both, 5), EXIT_FINDINGS);
        let none: FailOn = "none".parse().unwrap();
        assert_eq!(none.exit_code(both, 5), EXIT_CLEAN);
        assert!("pwnd".parse::<FailOn>().is_err());
    }
}
