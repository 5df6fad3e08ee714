//! Which column holds the account and which the secret, and what kind of
//! secret it is.
//!
//! Exports name their columns differently (Chrome `username,password`,
//! Bitwarden `login_username,login_password`, a database dump `email,sha1`),
//! so the header is matched against known names in priority order, and the
//! content of the first rows confirms or decides the secret kind.

use crate::hash::{is_hex, HashKind};
use anyhow::{bail, Result};

/// A column chosen by the user: a header name or a 1-based index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnRef {
    Name(String),
    Index(usize),
}

impl std::str::FromStr for ColumnRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.parse::<usize>() {
            Ok(0) => Err("column indexes start at 1".into()),
            Ok(n) => Ok(ColumnRef::Index(n)),
            Err(_) if s.is_empty() => Err("empty column name".into()),
            Err(_) => Ok(ColumnRef::Name(s.to_string())),
        }
    }
}

/// What a secret column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretKind {
    Plain,
    Sha1,
    Ntlm,
    /// Stored password hashes (bcrypt, argon2, sha-crypt, ...), the scheme
    /// read per row; checked against leaked pairs (`--combolist`).
    Salted,
}

impl SecretKind {
    pub fn hash_kind(self) -> Option<HashKind> {
        match self {
            SecretKind::Plain | SecretKind::Salted => None,
            SecretKind::Sha1 => Some(HashKind::Sha1),
            SecretKind::Ntlm => Some(HashKind::Ntlm),
        }
    }

    pub fn from_hash_kind(kind: HashKind) -> SecretKind {
        match kind {
            HashKind::Sha1 => SecretKind::Sha1,
            HashKind::Ntlm => SecretKind::Ntlm,
        }
    }
}

/// Account column names, most specific first. `name` comes last because
/// browser exports use it for the site, not the person.
const ACCOUNT_NAMES: &[&str] = &[
    "email",
    "e_mail",
    "email_address",
    "mail",
    "username",
    "user_name",
    "login_username",
    "userprincipalname",
    "samaccountname",
    "user",
    "login",
    "account",
    "account_name",
    "uid",
    "name",
];

const PLAIN_NAMES: &[&str] = &[
    "password",
    "login_password",
    "passwd",
    "pass",
    "pwd",
    "plaintext",
    "plain_password",
    "cleartext",
];
const SHA1_NAMES: &[&str] = &[
    "sha1",
    "sha_1",
    "sha1_hash",
    "password_sha1",
    "sha1_password",
    "pwd_sha1",
];
const NTLM_NAMES: &[&str] = &[
    "ntlm",
    "nt_hash",
    "nthash",
    "ntlm_hash",
    "nt",
    "unicodepwd",
    "password_ntlm",
];
const GENERIC_HASH_NAMES: &[&str] = &[
    "hash",
    "password_hash",
    "passwordhash",
    "pwdhash",
    "pass_hash",
    "digest",
    "encrypted_password",
    "userpassword",
];

/// Lower-case, trimmed, spaces and dashes as underscores.
fn normalise(header: &[u8]) -> String {
    String::from_utf8_lossy(header)
        .trim()
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

fn find_named(headers: &[String], names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|name| headers.iter().position(|h| h == name))
}

fn resolve(headers: &[String], raw: &[Vec<u8>], column: &ColumnRef) -> Result<usize> {
    match column {
        ColumnRef::Index(n) if *n <= raw.len() => Ok(n - 1),
        ColumnRef::Index(n) => bail!(
            "column {n} does not exist: the header has {} columns",
            raw.len()
        ),
        ColumnRef::Name(name) => {
            let wanted = normalise(name.as_bytes());
            headers.iter().position(|h| *h == wanted).ok_or_else(|| {
                anyhow::anyhow!("no column named {name:?}; the header has {}", list(raw))
            })
        }
    }
}

fn list(raw: &[Vec<u8>]) -> String {
    (0..raw.len())
        .map(|i| shown(raw, i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a header cell is named in a message: quoted if it is a column name
/// credaudit knows, else by its 1-based position (`#2`). The first line of
/// an export without a header is data, its password and hash among it, and
/// no message may show a secret (found by the `csv_export` fuzz target).
pub fn shown(raw: &[Vec<u8>], index: usize) -> String {
    let name = normalise(&raw[index]);
    let known = [
        ACCOUNT_NAMES,
        PLAIN_NAMES,
        SHA1_NAMES,
        NTLM_NAMES,
        GENERIC_HASH_NAMES,
    ]
    .iter()
    .any(|names| names.contains(&name.as_str()));
    if known {
        format!("{:?}", String::from_utf8_lossy(&raw[index]))
    } else {
        format!("#{}", index + 1)
    }
}

/// Find a column the user named (`--admin-col`) in a header row.
pub fn resolve_column(raw_headers: &[Vec<u8>], column: &ColumnRef) -> Result<usize> {
    let headers: Vec<String> = raw_headers.iter().map(|h| normalise(h)).collect();
    resolve(&headers, raw_headers, column)
}

/// How the secret kind was decided, before the content has been seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NameHint {
    Plain,
    Hash(HashKind),
    GenericHash,
}

/// The columns chosen for an export, before the content check.
#[derive(Debug)]
pub struct ColumnChoice {
    pub account: usize,
    pub secret: usize,
    hint: NameHint,
    /// One line per role whose column was picked among several candidates
    /// (`email,password,password`, or `password` beside `hash`).
    pub warnings: Vec<String>,
}

/// Is this (normalised) header a name the secret column is recognised by?
fn is_secret_name(header: &str) -> bool {
    [PLAIN_NAMES, SHA1_NAMES, NTLM_NAMES, GENERIC_HASH_NAMES]
        .iter()
        .any(|names| names.contains(&header))
}

/// "the secret is read from column 2 "password"; column 3 "hash" is ignored".
fn ignored_columns(
    role: &str,
    used: usize,
    ignored: &[usize],
    raw: &[Vec<u8>],
    option: &str,
) -> String {
    let name = |i: usize| format!("column {} {:?}", i + 1, String::from_utf8_lossy(&raw[i]));
    let others: Vec<String> = ignored.iter().map(|&i| name(i)).collect();
    let verb = if ignored.len() == 1 { "is" } else { "are" };
    format!(
        "ambiguous header: the {role} is read from {}; {} {verb} ignored (choose with {option})",
        name(used),
        others.join(", ")
    )
}

/// Pick the account and secret columns from a header row.
pub fn choose(
    raw_headers: &[Vec<u8>],
    account: Option<&ColumnRef>,
    secret: Option<&ColumnRef>,
) -> Result<ColumnChoice> {
    let headers: Vec<String> = raw_headers.iter().map(|h| normalise(h)).collect();
    let secret_hint = |idx: usize| {
        let h = &headers[idx];
        if SHA1_NAMES.contains(&h.as_str()) {
            NameHint::Hash(HashKind::Sha1)
        } else if NTLM_NAMES.contains(&h.as_str()) {
            NameHint::Hash(HashKind::Ntlm)
        } else if GENERIC_HASH_NAMES.contains(&h.as_str()) {
            NameHint::GenericHash
        } else {
            NameHint::Plain
        }
    };
    let secret_idx = match secret {
        Some(col) => resolve(&headers, raw_headers, col)?,
        None => [PLAIN_NAMES, SHA1_NAMES, NTLM_NAMES, GENERIC_HASH_NAMES]
            .iter()
            .find_map(|names| find_named(&headers, names))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no password or hash column found in the header ({}); name one with --secret-col",
                    list(raw_headers)
                )
            })?,
    };
    let account_idx = match account {
        Some(col) => resolve(&headers, raw_headers, col)?,
        None => ACCOUNT_NAMES
            .iter()
            .find_map(|name| {
                headers
                    .iter()
                    .enumerate()
                    .position(|(i, h)| h == name && i != secret_idx)
            })
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no account column found in the header ({}); name one with --account-col",
                    list(raw_headers)
                )
            })?,
    };
    if account_idx == secret_idx {
        bail!("the account and secret columns are the same column");
    }
    let mut warnings = Vec::new();
    let others = |used: usize, candidate: &dyn Fn(&str) -> bool| -> Vec<usize> {
        (0..headers.len())
            .filter(|&i| i != used && i != account_idx && i != secret_idx && candidate(&headers[i]))
            .collect()
    };
    if secret.is_none() {
        let ignored = others(secret_idx, &is_secret_name);
        if !ignored.is_empty() {
            warnings.push(ignored_columns(
                "secret",
                secret_idx,
                &ignored,
                raw_headers,
                "--secret-col",
            ));
        }
    }
    if account.is_none() {
        let ignored = others(account_idx, &|h: &str| h == headers[account_idx]);
        if !ignored.is_empty() {
            warnings.push(ignored_columns(
                "account",
                account_idx,
                &ignored,
                raw_headers,
                "--account-col",
            ));
        }
    }
    Ok(ColumnChoice {
        account: account_idx,
        secret: secret_idx,
        hint: secret_hint(secret_idx),
        warnings,
    })
}

/// Decide the secret kind from the column's name and the first values.
///
/// A column named like a hash must hold hex of that width. A column named
/// `password` holding nothing but 40-hex values is a SHA-1 column under a
/// plaintext name (common in legacy databases); 32-hex values are ambiguous
/// (NTLM or MD5) and need `--secret-kind`. `header` names the column in
/// errors, as [`shown`] gives it.
pub fn decide_kind(choice: &ColumnChoice, header: &str, samples: &[&[u8]]) -> Result<SecretKind> {
    let non_empty: Vec<&[u8]> = samples.iter().copied().filter(|s| !s.is_empty()).collect();
    let all_stored_hashes =
        || !non_empty.is_empty() && non_empty.iter().all(|s| crate::verify::detect(s).is_ok());
    // A hash-named column is salted if its values are mostly recognised
    // stored hashes; the odd unknown one is rejected per row, with its line.
    let mostly_stored_hashes = || {
        let known = non_empty
            .iter()
            .filter(|s| {
                !matches!(
                    crate::verify::detect(s),
                    Err(crate::verify::HashError::Unknown)
                )
            })
            .count();
        known > 0 && known * 2 >= non_empty.len()
    };
    let all_hex_of =
        |len: usize| !non_empty.is_empty() && non_empty.iter().all(|s| s.len() == len && is_hex(s));
    match choice.hint {
        NameHint::Hash(kind) => Ok(SecretKind::from_hash_kind(kind)),
        NameHint::GenericHash => {
            if all_hex_of(40) {
                Ok(SecretKind::Sha1)
            } else if all_hex_of(32) {
                Ok(SecretKind::Ntlm)
            } else if mostly_stored_hashes() {
                Ok(SecretKind::Salted)
            } else {
                bail!(
                    "column {header} holds no recognised hashes in its first rows (SHA-1, NTLM, bcrypt, \
                     argon2, scrypt, PBKDF2, sha-crypt, phpass, LDAP); set --secret-kind if it does"
                )
            }
        }
        NameHint::Plain => {
            if non_empty.len() >= 3 && all_hex_of(40) {
                Ok(SecretKind::Sha1)
            } else if non_empty.len() >= 3
                && all_stored_hashes()
                && non_empty.iter().all(|s| !is_hex(s))
            {
                Ok(SecretKind::Salted)
            } else if non_empty.len() >= 3 && all_hex_of(32) {
                bail!(
                    "column {header} holds 32-hex values: NTLM hashes or something else? \
                     Set --secret-kind ntlm or --secret-kind plain"
                )
            } else {
                Ok(SecretKind::Plain)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (fuzz target `csv_export`): an export without a header has
    /// its first row read as one, and the errors listing that "header" must
    /// not show the password or hash in it.
    #[test]
    fn header_errors_do_not_echo_a_data_row() {
        let sha1 = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8";
        let row: Vec<Vec<u8>> = vec![b"hunter2".to_vec(), sha1.as_bytes().to_vec()];
        let error = choose(&row, None, None).unwrap_err().to_string();
        assert!(error.contains("(#1, #2)"), "{error}");
        let error = choose(&row, None, Some(&ColumnRef::Name("x".into())))
            .unwrap_err()
            .to_string();
        assert!(
            !error.contains("hunter2") && !error.contains(sha1),
            "{error}"
        );
        let named: Vec<Vec<u8>> = vec![b"Email".to_vec(), b"phone".to_vec()];
        assert_eq!(shown(&named, 0), "\"Email\"");
        assert_eq!(shown(&named, 1), "#2");
        let choice = choose(&row, Some(&ColumnRef::Index(1)), Some(&ColumnRef::Index(2))).unwrap();
        let ntlm: &[u8] = b"8846F7EAEE8FB117AD06BDD830B7586C";
        let error = decide_kind(&choice, &shown(&row, 1), &[ntlm, ntlm, ntlm])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("column #2 holds 32-hex values"),
            "{error}"
        );
    }

    fn headers(s: &str) -> Vec<Vec<u8>> {
        s.split(',').map(|h| h.as_bytes().to_vec()).collect()
    }

    #[test]
    fn browser_export_uses_username_not_site_name() {
        let c = choose(&headers("name,url,username,password,note"), None, None).unwrap();
        assert_eq!((c.account, c.secret), (2, 3));
    }

    #[test]
    fn bitwarden_login_columns() {
        let h = headers("folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,login_totp");
        let c = choose(&h, None, None).unwrap();
        assert_eq!((c.account, c.secret), (8, 9));
    }

    #[test]
    fn override_by_index_and_name() {
        let h = headers("a,b,c");
        let c = choose(
            &h,
            Some(&ColumnRef::Index(3)),
            Some(&ColumnRef::Name("A".into())),
        )
        .unwrap();
        assert_eq!((c.account, c.secret), (2, 0));
        assert!(choose(&h, Some(&ColumnRef::Index(4)), None).is_err());
    }

    fn p_of(header: &str) -> ColumnChoice {
        choose(&headers(header), None, None).unwrap()
    }

    #[test]
    fn kind_from_name_and_content() {
        let h = headers("email,hash");
        let c = choose(&h, None, None).unwrap();
        let sha = b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8".as_slice();
        assert_eq!(decide_kind(&c, "hash", &[sha]).unwrap(), SecretKind::Sha1);
        let bcrypt = b"$2b$04$c95AwdWMKEAwA9X70Mw95e7OKFkUkUFVw2Z06eUddyiRtrgAhl6mW".as_slice();
        assert_eq!(
            decide_kind(&c, "hash", &[bcrypt]).unwrap(),
            SecretKind::Salted
        );
        assert!(decide_kind(&c, "hash", &[b"hunter2".as_slice()]).is_err());
        assert_eq!(
            decide_kind(
                &p_of("email,password"),
                "password",
                &[bcrypt, bcrypt, bcrypt]
            )
            .unwrap(),
            SecretKind::Salted
        );
        let p = choose(&headers("email,password"), None, None).unwrap();
        assert_eq!(
            decide_kind(&p, "password", &[sha, sha, sha]).unwrap(),
            SecretKind::Sha1
        );
        assert_eq!(
            decide_kind(&p, "password", &[b"hunter2".as_slice()]).unwrap(),
            SecretKind::Plain
        );
    }

    #[test]
    fn duplicate_and_ambiguous_columns_warn_once_per_role() {
        let c = choose(&headers("email,password,password"), None, None).unwrap();
        assert_eq!(c.secret, 1);
        assert_eq!(
            c.warnings,
            [
                "ambiguous header: the secret is read from column 2 \"password\"; \
              column 3 \"password\" is ignored (choose with --secret-col)"
            ]
        );
        let c = choose(&headers("Email,hash,Password,email"), None, None).unwrap();
        assert_eq!((c.account, c.secret), (0, 2));
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("column 3 \"Password\"; column 2 \"hash\" is ignored"));
        assert!(c.warnings[1].contains("column 1 \"Email\"; column 4 \"email\" is ignored"));
        let named = ColumnRef::Name("hash".into());
        let c = choose(&headers("email,password,hash"), None, Some(&named)).unwrap();
        assert!(
            c.warnings.is_empty(),
            "a column named by the user is not ambiguous"
        );
        let c = choose(&headers("name,url,username,password,note"), None, None).unwrap();
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn missing_secret_column_names_the_known_headers() {
        let err = choose(&headers("email,phone"), None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("(\"email\", #2)"), "{err}");
    }
}
