//! `banned`: the organisation's own words (company and product names,
//! seasons, cities), in the forms people make of them to satisfy
//! complexity rules.
//!
//! Two ways to find them, because exports come two ways:
//! * hashes cannot be normalised, so each word is expanded into candidate
//!   passwords that are hashed and looked up ([`expand`], checked by
//!   `source::banned_list`);
//! * plaintext is checked by that expansion too, and also normalised and
//!   scored the way Microsoft Entra and Lithnet Password Protection do
//!   ([`normalise`]), which finds forms no enumeration reaches.

pub mod expand;
pub mod normalise;
pub mod org;

/// Which rule found a banned word, strongest first (the report's
/// `banned_rule` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// A hash or plaintext is one of the expansion's candidates.
    Expansion,
    /// Plaintext: the match form is the word.
    Exact,
    /// Plaintext: the match form is one edit from the word.
    Fuzzy,
    /// Plaintext: the word is in the score form, and the score is low.
    SubstringScore,
}

impl Rule {
    pub const ALL: [Rule; 4] = [
        Rule::Expansion,
        Rule::Exact,
        Rule::Fuzzy,
        Rule::SubstringScore,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::Expansion => "expansion",
            Rule::Exact => "exact",
            Rule::Fuzzy => "fuzzy",
            Rule::SubstringScore => "substring-score",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The rules whose bits are set in `bits`.
    pub fn in_bits(bits: u8) -> impl Iterator<Item = Rule> {
        Rule::ALL.into_iter().filter(move |r| bits & r.bit() != 0)
    }

    /// `bits` with this rule's added.
    pub fn add_to(self, bits: u8) -> u8 {
        bits | self.bit()
    }
}
