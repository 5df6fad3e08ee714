//! How a leaked identity matched an export account (the report's
//! `match_tier`). Its own small module, below both the combolist join that
//! decides it and the findings and report that carry it, so that neither
//! has to reach up into the combolist pass for it.

/// How a leaked identity matched an account, strictest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    Exact,
    CaseFolded,
    LocalPart,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Exact => "exact",
            Tier::CaseFolded => "case-folded",
            Tier::LocalPart => "local-part",
        }
    }
}
