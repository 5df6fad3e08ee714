//! The organisation's own names, found in the export itself and added to
//! the banned words by default (`--no-auto-banned` turns it off): Entra
//! bans the tenant's name, Lithnet the tokens of account and full names.
//!
//! * the domain of `DOMAIN\user` names: a NetBIOS name as given
//!   (`ACMECORP\` → `acmecorp`), or for a DNS name the label left of its
//!   public suffix (`corp.acme.com\` → `acme`);
//! * the same label of email domains that at least 1% of the accounts use
//!   (`@mail.acme.co.uk` → `acme`): a company's own domain, never a
//!   retailer's millions of customer domains;
//! * never a public mail provider's name ([`PUBLIC_MAIL`]).
//!
//! Public suffixes come from the Public Suffix List (the `psl` crate);
//! `.local`, `.lan`, `.corp`, `.internal` and `.ad`, common for Active
//! Directory but not public, count as suffixes too.

use std::collections::{BTreeSet, HashMap};

/// Suffixes of internal DNS names that the Public Suffix List lacks.
const INTERNAL_SUFFIXES: [&str; 5] = ["local", "lan", "corp", "internal", "ad"];
/// Labels of public mail providers: their users' addresses say nothing of
/// the organisation.
pub const PUBLIC_MAIL: [&str; 28] = [
    "aol",
    "comcast",
    "fastmail",
    "free",
    "gmail",
    "gmx",
    "googlemail",
    "hey",
    "hotmail",
    "icloud",
    "laposte",
    "libero",
    "live",
    "mac",
    "mail",
    "me",
    "msn",
    "orange",
    "outlook",
    "pm",
    "proton",
    "protonmail",
    "qq",
    "t-online",
    "tutanota",
    "web",
    "yahoo",
    "yandex",
];
/// Share of the accounts, in percent, an email domain needs.
const MIN_EMAIL_SHARE_PERCENT: u64 = 1;
/// Shorter labels are not banned: too many false alarms.
const MIN_WORD: usize = 3;

/// Domains seen in the account names of an export.
#[derive(Default, Debug)]
pub struct OrgNames {
    accounts: u64,
    /// Domains of `DOMAIN\user` names, lower-cased.
    windows: BTreeSet<Vec<u8>>,
    /// Email domains, lower-cased, with their number of accounts. One probe
    /// per account: foldhash (randomly seeded, like SipHash, so customers
    /// cannot pick colliding domains) at a third of SipHash's cost.
    email: HashMap<Vec<u8>, u64, foldhash::fast::RandomState>,
}

impl OrgNames {
    /// Take in one account name.
    pub fn see(&mut self, name: &[u8]) {
        self.accounts += 1;
        if let Some(at) = memchr::memchr(b'\\', name) {
            let domain = &name[..at];
            if !self.windows.contains(domain) {
                self.windows.insert(domain.to_ascii_lowercase());
            }
        }
        if let Some(at) = memchr::memrchr(b'@', name) {
            let domain = &name[at + 1..];
            match self.email.get_mut(domain) {
                Some(n) => *n += 1,
                None => *self.email.entry(domain.to_ascii_lowercase()).or_default() += 1,
            }
        }
    }

    /// The organisation's words, sorted.
    pub fn words(&self) -> Vec<String> {
        let mut labels: HashMap<String, u64> = HashMap::new();
        for (domain, n) in &self.email {
            if let Some(label) = registrable_label(&String::from_utf8_lossy(domain)) {
                *labels.entry(label).or_default() += n;
            }
        }
        let threshold = (self.accounts * MIN_EMAIL_SHARE_PERCENT)
            .div_ceil(100)
            .max(1);
        let mut words: BTreeSet<String> = labels
            .into_iter()
            .filter(|(_, n)| *n >= threshold)
            .map(|(label, _)| label)
            .collect();
        for domain in &self.windows {
            let domain = String::from_utf8_lossy(domain);
            if domain.contains('.') {
                words.extend(registrable_label(&domain));
            } else {
                words.insert(domain.into_owned());
            }
        }
        words
            .into_iter()
            .filter(|w| w.chars().count() >= MIN_WORD && !PUBLIC_MAIL.contains(&w.as_str()))
            .collect()
    }
}

/// The label left of a DNS name's public suffix: `acme` for
/// `corp.acme.com`, `mail.acme.co.uk` and `acme.local`.
pub fn registrable_label(domain: &str) -> Option<String> {
    let domain = domain.trim_end_matches('.').to_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    if let [.., label, last] = labels[..] {
        if INTERNAL_SUFFIXES.contains(&last) {
            return Some(label.to_string()).filter(|l| !l.is_empty());
        }
    }
    let registrable = psl::domain_str(&domain)?;
    registrable
        .split('.')
        .next()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_left_of_the_public_suffix() {
        for (domain, label) in [
            ("acme.com", "acme"),
            ("corp.acme.com", "acme"),
            ("mail.acme.co.uk", "acme"),
            ("acme.local", "acme"),
            ("eu.acme.corp", "acme"),
            ("ACME.AD", "acme"),
            ("acme.internal.", "acme"),
        ] {
            assert_eq!(
                registrable_label(domain).as_deref(),
                Some(label),
                "{domain}"
            );
        }
        assert_eq!(registrable_label("co.uk"), None);
        assert_eq!(registrable_label("local"), None);
    }

    #[test]
    fn windows_domains_and_frequent_email_domains() {
        let mut org = OrgNames::default();
        org.see(b"ACMECORP\\alice");
        org.see(b"corp.contoso.com\\bob");
        org.see(b"acme.local\\carol");
        for i in 0..97 {
            org.see(format!("user{i}@mail.fabrikam.co.uk").as_bytes());
        }
        // 4 accounts of 200: 2% each for gmail (a public provider) and
        // northwind; 0.5% for the retailer's one-off customer domain.
        for i in 0..96 {
            org.see(format!("c{i}@customer{i}.example").as_bytes());
        }
        org.see(b"a@gmail.com");
        org.see(b"b@gmail.com");
        org.see(b"a@northwind.com");
        org.see(b"b@NorthWind.com");
        assert_eq!(org.accounts, 200);
        assert_eq!(
            org.words(),
            ["acme", "acmecorp", "contoso", "fabrikam", "northwind"]
        );
    }
}
