//! Colon-separated hash dumps from Windows domains:
//!
//! * `user:nthash` — DSInternals `Format-Custom -View HashcatNT`, hashcat input
//!   (a 40-hex SHA-1 works the same way);
//! * pwdump `user:rid:lmhash:nthash:::`;
//! * impacket secretsdump, which adds `DOMAIN\user` names, ` (pwdLastSet=...)`
//!   and ` (status=Disabled)` suffixes, `user_historyN` lines for old
//!   passwords, machine accounts ending in `$`, Kerberos key lines, cleartext
//!   lines and `[*] ...` progress banners.
//!
//! Each line is judged by its own shape, so a file mixing these works.
//! History, Kerberos key and cleartext lines are not accounts: they are
//! handed to the sink as [`Attachment`]s of the account they name.

use super::columns::SecretKind;
use super::decompress::{describe_read_error, Compression};
use super::{
    decode_hash_field, stored_hash_field, AccountRow, AccountStatus, Attachment, InputOptions,
    RejectCause, RowSink, SkipPolicy, SkipRules, MAX_ACCOUNT_BYTES, MAX_SECRET_BYTES,
};
use crate::hash::{is_hex, HashKind};
use anyhow::{bail, Result};
use std::io::BufRead;

/// The shape of one line. Its `Debug` shows the hash's length only.
#[derive(PartialEq, Eq)]
enum Line<'a> {
    /// `name:hash` or pwdump; `hash` is the hex NT (or SHA-1) field; `lm`
    /// when pwdump's LM field holds a real LM hash.
    Credential {
        name: &'a [u8],
        hash: &'a [u8],
        status: AccountStatus,
        lm: bool,
    },
    /// An `/etc/shadow` line; `hash` is a crypt string (`$6$...`).
    Shadow {
        name: &'a [u8],
        hash: &'a [u8],
        status: AccountStatus,
    },
    /// secretsdump's Kerberos key line; `aes` for the AES key types.
    KerberosKey {
        name: &'a [u8],
        aes: bool,
    },
    /// secretsdump's `name:CLEARTEXT:password` (the rest of the line).
    Cleartext {
        name: &'a [u8],
        password: &'a [u8],
    },
    Skip(SkipPolicy),
    Reject(RejectCause, &'static str),
}

impl std::fmt::Debug for Line<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Line::Credential {
                name, hash, status, ..
            }
            | Line::Shadow { name, hash, status } => f
                .debug_struct(match self {
                    Line::Shadow { .. } => "Shadow",
                    _ => "Credential",
                })
                .field("name", &String::from_utf8_lossy(name))
                .field("hash", &crate::redact::Redacted(hash))
                .field("status", status)
                .finish(),
            Line::KerberosKey { name, aes } => f
                .debug_struct("KerberosKey")
                .field("name", &String::from_utf8_lossy(name))
                .field("aes", aes)
                .finish(),
            Line::Cleartext { name, password } => f
                .debug_struct("Cleartext")
                .field("name", &String::from_utf8_lossy(name))
                .field("password", &crate::redact::Redacted(password))
                .finish(),
            Line::Skip(policy) => f.debug_tuple("Skip").field(policy).finish(),
            Line::Reject(cause, why) => f.debug_tuple("Reject").field(cause).field(why).finish(),
        }
    }
}

fn all_digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

fn digits_or_empty(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_digit)
}

/// Kerberos key types secretsdump prints by name.
fn is_kerberos_type(s: &[u8]) -> bool {
    const TYPES: &[&[u8]] = &[b"des-cbc-md5", b"des-cbc-crc", b"rc4_hmac"];
    is_aes_type(s) || TYPES.contains(&s)
}

/// The AES key types, by name or by the number secretsdump prints for an
/// encryption type it has no name for (17, 18).
fn is_aes_type(s: &[u8]) -> bool {
    matches!(
        s,
        b"aes256-cts-hmac-sha1-96" | b"aes128-cts-hmac-sha1-96" | b"17" | b"18"
    )
}

/// The LM hash of no password: what Windows stores when LM hashes are off.
const NO_LM_HASH: &[u8] = b"aad3b435b51404eeaad3b435b51404ee";

/// Does pwdump's LM field hold a real LM hash? Not when it is empty, the
/// no-password value (any case), all zeros or the `NO PASSWORD***`
/// placeholder (which is not hex).
fn stores_lm(field: &[u8]) -> bool {
    field.len() == NO_LM_HASH.len()
        && is_hex(field)
        && !field.eq_ignore_ascii_case(NO_LM_HASH)
        && !field.iter().all(|&b| b == b'0')
}

fn parse_line(line: &[u8]) -> Line<'_> {
    if line.first() == Some(&b'[') || line.starts_with(b"Impacket v") {
        return Line::Skip(SkipPolicy::BannerLine);
    }
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Line::Reject(RejectCause::MalformedLine, "no ':' separator");
    };
    let (name, rest) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() {
        return Line::Reject(RejectCause::MissingField, "account is empty");
    }
    let fields: Vec<&[u8]> = rest.splitn(4, |&b| b == b':').collect();
    match fields.as_slice() {
        // user:hash
        [hash] => Line::Credential {
            name,
            hash: hash.trim_ascii(),
            status: AccountStatus::Unknown,
            lm: false,
        },
        [b"CLEARTEXT", ..] => Line::Cleartext {
            name,
            password: &rest[b"CLEARTEXT:".len().min(rest.len())..],
        },
        [kind, key] if (is_kerberos_type(kind) || all_digits(kind)) && is_hex(key) => {
            Line::KerberosKey {
                name,
                aes: is_aes_type(kind),
            }
        }
        [kind, _, ..] if is_kerberos_type(kind) => Line::KerberosKey {
            name,
            aes: is_aes_type(kind),
        },
        // pwdump: rid:lm:nt:::suffix
        [rid, lm, nt, tail] if all_digits(rid) => {
            let Some(suffix) = tail.strip_prefix(b"::") else {
                return Line::Reject(
                    RejectCause::MalformedLine,
                    "pwdump line does not end in ':::'",
                );
            };
            Line::Credential {
                name,
                hash: nt,
                status: status_of(suffix),
                lm: stores_lm(lm),
            }
        }
        [rid, ..] if all_digits(rid) => {
            Line::Reject(RejectCause::MalformedLine, "pwdump line has too few fields")
        }
        // shadow: password:lastchg:min:max:warn:inactive:expire:reserved;
        // a leading '!' locks the account without losing its hash.
        [password, lastchg, min, _] if digits_or_empty(lastchg) && digits_or_empty(min) => {
            match password.strip_prefix(b"!") {
                Some(hash) => Line::Shadow {
                    name,
                    hash,
                    status: AccountStatus::Disabled,
                },
                None => Line::Shadow {
                    name,
                    hash: password,
                    status: AccountStatus::Unknown,
                },
            }
        }
        _ => Line::Reject(RejectCause::MalformedLine, "neither user:hash nor pwdump"),
    }
}

/// secretsdump's ` (status=Enabled)` / ` (status=Disabled)` suffix.
fn status_of(suffix: &[u8]) -> AccountStatus {
    let has = |needle: &[u8]| suffix.windows(needle.len()).any(|w| w == needle);
    if has(b"(status=Disabled)") {
        AccountStatus::Disabled
    } else if has(b"(status=Enabled)") {
        AccountStatus::Enabled
    } else {
        AccountStatus::Unknown
    }
}

/// An account with no hash stored: DSInternals writes `Guest:`, pwdump
/// `NO PASSWORD*********************`, shadow `*`, `!` or `!!`.
fn has_no_hash(field: &[u8]) -> bool {
    field.is_empty() || field.starts_with(b"NO PASSWORD") || matches!(field, b"*" | b"!" | b"!*")
}

/// `name_historyN`, a password-history entry: the account's `name`.
fn history_of(name: &[u8]) -> Option<&[u8]> {
    let digits = name.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    name[..name.len() - digits]
        .strip_suffix(b"_history")
        .filter(|account| !account.is_empty())
}

/// Is the hex NT hash of machine account `name` the default password of a
/// pre-created computer account?
fn default_password_hex(name: &[u8], hex: &[u8]) -> bool {
    let mut nt = [0u8; 16];
    hex.len() == 32
        && crate::hash::decode_hex(hex, &mut nt)
        && crate::policy::computer::has_default_password(name, &nt)
}

/// Does the start of a stream look like a colon dump rather than a CSV header?
pub fn looks_like(head: &[u8]) -> bool {
    first_credential_kind(head).is_some()
        || head
            .split(|&b| b == b'\n')
            .next()
            .is_some_and(|l| l.starts_with(b"[*]"))
}

/// The secret kind of the first credential line in `head`.
fn first_credential_kind(head: &[u8]) -> Option<SecretKind> {
    head.split(|&b| b == b'\n')
        .map(strip_cr)
        .filter(|l| !l.is_empty())
        .take(200)
        .find_map(|l| match parse_line(l) {
            Line::Credential { hash, .. } if is_hex(hash) => {
                HashKind::from_hex_len(hash.len()).map(SecretKind::from_hash_kind)
            }
            Line::Shadow { .. } => Some(SecretKind::Salted),
            _ => None,
        })
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

pub struct ColonRows {
    reader: Box<dyn BufRead + Send>,
    display: String,
    compression: Compression,
    kind: SecretKind,
    skip: SkipRules,
}

impl ColonRows {
    pub fn new(
        reader: Box<dyn BufRead + Send>,
        head: &[u8],
        options: &InputOptions,
        display: &str,
        compression: Compression,
    ) -> Result<ColonRows> {
        let kind = match options.secret_kind {
            Some(SecretKind::Plain) => {
                bail!("{display}: colon dumps hold hashes; --secret-kind must be sha1 or ntlm")
            }
            Some(kind) => kind,
            None => first_credential_kind(head).unwrap_or(SecretKind::Ntlm),
        };
        Ok(ColonRows {
            reader,
            display: display.to_string(),
            compression,
            kind,
            skip: options.skip,
        })
    }

    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    pub fn read(mut self, sink: &mut dyn RowSink) -> Result<()> {
        let mut buf = Vec::with_capacity(256);
        let mut line_no = 0u64;
        let mut hash = [0u8; 20];
        loop {
            buf.clear();
            match self.reader.read_until(b'\n', &mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => bail!(
                    "{}: after line {line_no}: {}",
                    self.display,
                    describe_read_error(&e, self.compression)
                ),
            }
            line_no += 1;
            let line = strip_cr(buf.strip_suffix(b"\n").unwrap_or(&buf));
            if line.trim_ascii().is_empty() {
                continue;
            }
            let parsed = parse_line(line);
            if let Line::Credential { name, .. }
            | Line::Shadow { name, .. }
            | Line::KerberosKey { name, .. }
            | Line::Cleartext { name, .. } = parsed
            {
                if name.len() > MAX_ACCOUNT_BYTES {
                    let detail = format!("account is longer than {MAX_ACCOUNT_BYTES} bytes");
                    sink.rejected(line_no, RejectCause::FieldTooLong, &detail)?;
                    continue;
                }
            }
            let (name, hex, status, shadow, lm) = match parsed {
                Line::Skip(policy) => {
                    sink.skipped(line_no, policy);
                    continue;
                }
                Line::Reject(cause, detail) => {
                    sink.rejected(line_no, cause, detail)?;
                    continue;
                }
                Line::KerberosKey { name, aes } => {
                    let account = name.to_vec();
                    sink.attached(line_no, Attachment::KerberosKey { account, aes })?;
                    continue;
                }
                Line::Cleartext { name, password } => {
                    if password.len() > MAX_SECRET_BYTES {
                        let detail = format!("password is longer than {MAX_SECRET_BYTES} bytes");
                        sink.rejected(line_no, RejectCause::FieldTooLong, &detail)?;
                    } else {
                        let account = name.to_vec();
                        let password = zeroize::Zeroizing::new(password.to_vec());
                        sink.attached(line_no, Attachment::Cleartext { account, password })?;
                    }
                    continue;
                }
                Line::Credential {
                    name,
                    hash,
                    status,
                    lm,
                } => (name, hash, status, false, lm),
                Line::Shadow { name, hash, status } => (name, hash, status, true, false),
            };
            let history = history_of(name);
            let policy = if history.is_some() {
                self.skip.history.then_some(SkipPolicy::History)
            } else if name.ends_with(b"$") {
                let keep = self.skip.default_machines
                    && self.kind == SecretKind::Ntlm
                    && default_password_hex(name, hex);
                (self.skip.machine && !keep).then_some(SkipPolicy::MachineAccount)
            } else if status == AccountStatus::Disabled {
                self.skip.disabled.then_some(SkipPolicy::DisabledAccount)
            } else {
                None
            };
            let policy = policy.or_else(|| has_no_hash(hex).then_some(SkipPolicy::NoHash));
            if let Some(policy) = policy {
                sink.skipped(line_no, policy);
                continue;
            }
            let checked = match self.kind.hash_kind() {
                Some(kind) if !shadow => {
                    decode_hash_field(hex, kind, &mut hash).map(|n| (self.kind, &hash[..n]))
                }
                _ => stored_hash_field(hex, &mut hash),
            };
            match (checked, history) {
                (Ok((kind, secret)), Some(account)) => sink.attached(
                    line_no,
                    Attachment::History {
                        account: account.to_vec(),
                        kind,
                        hash: secret.to_vec(),
                    },
                )?,
                (Ok((kind, secret)), None) => sink.account(AccountRow {
                    account: name,
                    secret,
                    kind,
                    line: line_no,
                    status,
                    privileged: false,
                    lm_hash: lm,
                })?,
                (Err((cause, detail)), _) => sink.rejected(line_no, cause, &detail)?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NT: &[u8] = b"8846f7eaee8fb117ad06bdd830b7586c";

    #[test]
    fn secretsdump_shapes() {
        let line = b"CONTOSO\\jdoe:1104:aad3b435b51404eeaad3b435b51404ee:8846f7eaee8fb117ad06bdd830b7586c::: (pwdLastSet=2023-01-01 10:00) (status=Disabled)";
        assert_eq!(
            parse_line(line),
            Line::Credential {
                name: b"CONTOSO\\jdoe",
                hash: NT,
                status: AccountStatus::Disabled,
                lm: false
            }
        );
        assert_eq!(
            parse_line(b"[*] Dumping Domain Credentials (domain\\uid:rid:lmhash:nthash)"),
            Line::Skip(SkipPolicy::BannerLine)
        );
        assert_eq!(
            parse_line(b"jdoe:aes256-cts-hmac-sha1-96:0011aabb"),
            Line::KerberosKey {
                name: b"jdoe",
                aes: true
            }
        );
        assert_eq!(
            parse_line(b"jdoe:des-cbc-md5:0011aabb"),
            Line::KerberosKey {
                name: b"jdoe",
                aes: false
            }
        );
        assert_eq!(
            parse_line(b"jdoe:CLEARTEXT:whatever:with:colons"),
            Line::Cleartext {
                name: b"jdoe",
                password: b"whatever:with:colons"
            }
        );
        assert_eq!(
            parse_line(b"jdoe:CLEARTEXT:"),
            Line::Cleartext {
                name: b"jdoe",
                password: b""
            }
        );
        assert_eq!(
            history_of(b"CONTOSO\\jdoe_history12"),
            Some(&b"CONTOSO\\jdoe"[..])
        );
        assert_eq!(history_of(b"history"), None);
        assert_eq!(history_of(b"jdoe_history"), None);
        assert_eq!(history_of(b"_history1"), None);
    }

    #[test]
    fn lm_field_holds_a_hash_unless_empty_placeholder_or_zeros() {
        let lm = |field: &str| {
            let line = format!("u:1000:{field}:8846f7eaee8fb117ad06bdd830b7586c:::");
            matches!(
                parse_line(line.as_bytes()),
                Line::Credential { lm: true, .. }
            )
        };
        // LM("password"), from the literature.
        assert!(lm("E52CAC67419A9A224A3B108F3FA6CB6D"));
        assert!(lm("e52cac67419a9a224a3b108f3fa6cb6d"));
        assert!(!lm("aad3b435b51404eeaad3b435b51404ee"));
        assert!(!lm("AAD3B435B51404EEAAD3B435B51404EE"));
        assert!(!lm("NO PASSWORD*********************"));
        assert!(!lm("00000000000000000000000000000000"));
        assert!(!lm(""));
    }

    #[test]
    fn hashcat_and_malformed() {
        assert_eq!(
            parse_line(b"jdoe:8846f7eaee8fb117ad06bdd830b7586c"),
            Line::Credential {
                name: b"jdoe",
                hash: NT,
                status: AccountStatus::Unknown,
                lm: false
            }
        );
        assert!(matches!(
            parse_line(b"no separator"),
            Line::Reject(RejectCause::MalformedLine, _)
        ));
        assert!(matches!(parse_line(b"u:500:zz:aa"), Line::Reject(..)));
        assert_eq!(
            parse_line(b"Impacket v0.12.0 - Copyright Fortra, LLC"),
            Line::Skip(SkipPolicy::BannerLine)
        );
        assert!(has_no_hash(b"NO PASSWORD*********************"));
        assert!(has_no_hash(b""));
        assert!(has_no_hash(b"*") && has_no_hash(b"!"));
    }

    #[test]
    fn shadow_lines() {
        assert_eq!(
            parse_line(b"root:$6$salt$hash:19700:0:99999:7:::"),
            Line::Shadow {
                name: b"root",
                hash: b"$6$salt$hash",
                status: AccountStatus::Unknown
            }
        );
        assert_eq!(
            parse_line(b"old:!$y$j9T$x$y:19700::::::"),
            Line::Shadow {
                name: b"old",
                hash: b"$y$j9T$x$y",
                status: AccountStatus::Disabled
            }
        );
        assert_eq!(
            first_credential_kind(b"daemon:*:19700:0:99999:7:::\n"),
            Some(SecretKind::Salted)
        );
        assert_eq!(first_credential_kind(b"[*] x\nu:1:aad3b435b51404eeaad3b435b51404ee:8846f7eaee8fb117ad06bdd830b7586c:::\n"), Some(SecretKind::Ntlm));
        assert_eq!(
            first_credential_kind(b"u:5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8\n"),
            Some(SecretKind::Sha1)
        );
        assert_eq!(first_credential_kind(b"email,password\n"), None);
    }
}
