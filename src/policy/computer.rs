//! `default-computer-password`: a computer account pre-created in Active
//! Directory ("Assign this computer account as a pre-Windows 2000 computer",
//! `net computer \\name /add`, `New-ADComputer` without a password) gets the
//! lower-cased computer name as its password, cut to 14 characters. Until
//! the machine joins and changes it, anyone who knows the name can log on as
//! the account. Machine accounts are otherwise skipped (their real passwords
//! are random), so this check runs on them anyway.

use crate::hash;
use crate::policy::username::sam_part;

/// Longest default password Windows gives a pre-created computer account.
const MAX_DEFAULT_CHARS: usize = 14;

/// The default password of machine account `name` (`DOMAIN\NAME$`), or None
/// when `name` is not a machine account.
fn default_password(name: &[u8]) -> Option<String> {
    let computer = sam_part(name).strip_suffix(b"$")?;
    let computer = std::str::from_utf8(computer).ok()?;
    Some(
        computer
            .to_lowercase()
            .chars()
            .take(MAX_DEFAULT_CHARS)
            .collect(),
    )
}

/// Is `nt` (16 bytes) the NT hash of machine account `name`'s default
/// password?
pub fn has_default_password(name: &[u8], nt: &[u8]) -> bool {
    default_password(name)
        .filter(|p| !p.is_empty())
        .and_then(|p| hash::ntlm(p.as_bytes()).ok())
        .is_some_and(|h| h[..] == *nt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cased_name_cut_to_14_characters() {
        assert_eq!(default_password(b"CONTOSO\\WS01$").as_deref(), Some("ws01"));
        assert_eq!(
            default_password(b"ACCOUNTING-LAPTOP7$").as_deref(),
            Some("accounting-lap")
        );
        assert_eq!(default_password(b"jdoe"), None);
        let nt = hash::ntlm(b"ws01").unwrap();
        assert!(has_default_password(b"WS01$", &nt));
        assert!(has_default_password(b"corp\\ws01$", &nt));
        assert!(!has_default_password(b"WS01", &nt), "not a machine account");
        assert!(!has_default_password(b"WS02$", &nt));
        assert!(!has_default_password(b"$", &hash::ntlm(b"").unwrap()));
    }
}
