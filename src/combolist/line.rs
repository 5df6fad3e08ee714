//! One line of a combolist or stealer log, split into identity and password.
//!
//! Shapes understood:
//! * `email:password`, `user;password`, `user|password`, `user<TAB>password`:
//!   the identity ends at the first separator, so a password may contain any
//!   separator (`bob@x.com:pa:ss;w|rd` leaks `pa:ss;w|rd`);
//! * stealer logs `URL:login:password` and `URL login password`, where the
//!   URL itself holds `:` (`https://host:8443/login`);
//! * hashcat's `$HEX[70617373]` for passwords with awkward bytes.
//!
//! The identity is trimmed of surrounding whitespace; the password is kept
//! byte for byte (only the line ending is removed).

use crate::redact::Redacted;
use zeroize::Zeroizing;

/// Why a line was skipped. Names are keys of the summary's counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Malformed {
    NoSeparator,
    EmptyIdentity,
    EmptyPassword,
    BadHexEncoding,
}

impl Malformed {
    pub fn name(self) -> &'static str {
        match self {
            Malformed::NoSeparator => "no_separator",
            Malformed::EmptyIdentity => "empty_identity",
            Malformed::EmptyPassword => "empty_password",
            Malformed::BadHexEncoding => "bad_hex_encoding",
        }
    }
}

/// A leaked pair. The password is decoded from `$HEX[...]` when needed.
/// Its `Debug` shows lengths only.
#[derive(PartialEq, Eq)]
pub struct Pair<'a> {
    pub identity: &'a [u8],
    pub password: Password<'a>,
}

impl std::fmt::Debug for Pair<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("identity", &Redacted(self.identity))
            .field("password", &Redacted(&self.password))
            .finish()
    }
}

/// A leaked password: the bytes of the line, or decoded from `$HEX[...]`
/// into a buffer that is wiped when dropped.
#[derive(PartialEq, Eq)]
pub enum Password<'a> {
    Raw(&'a [u8]),
    Decoded(Zeroizing<Vec<u8>>),
}

impl std::ops::Deref for Password<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Password::Raw(bytes) => bytes,
            Password::Decoded(bytes) => bytes,
        }
    }
}

const SEPARATORS: &[u8] = b":;|\t";

/// Split a line (without its `\n`).
pub fn split(line: &[u8]) -> Result<Pair<'_>, Malformed> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let (identity, password) = match url_end(line)? {
        Some(end) => stealer_fields(&line[end..])?,
        None => {
            let at = line
                .iter()
                .position(|b| SEPARATORS.contains(b))
                .ok_or(Malformed::NoSeparator)?;
            (&line[..at], &line[at + 1..])
        }
    };
    let identity = identity.trim_ascii();
    if identity.is_empty() {
        return Err(Malformed::EmptyIdentity);
    }
    let password = decode_hex_password(password)?;
    if password.is_empty() {
        return Err(Malformed::EmptyPassword);
    }
    Ok(Pair { identity, password })
}

/// Where the URL at the start of a stealer-log line ends (the index of the
/// separator after it): `Ok(None)` if the line does not start with a URL.
fn url_end(line: &[u8]) -> Result<Option<usize>, Malformed> {
    let Some(scheme_end) = line.windows(3).position(|w| w == b"://") else {
        return Ok(None);
    };
    let scheme = &line[..scheme_end];
    if scheme.is_empty()
        || !scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
    {
        return Ok(None);
    }
    let mut i = scheme_end + 3;
    while i < line.len() {
        match line[i] {
            b' ' | b'\t' => return Ok(Some(i)),
            b':' => {
                // A port (digits up to '/', ':', space or the end) stays in the URL.
                let digits = line[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let after = line.get(i + 1 + digits);
                let is_port =
                    digits > 0 && matches!(after, None | Some(b'/') | Some(b':') | Some(b' '));
                let in_path = line[scheme_end + 3..i].contains(&b'/');
                if is_port && !in_path {
                    i += 1 + digits;
                    continue;
                }
                return Ok(Some(i));
            }
            _ => i += 1,
        }
    }
    Err(Malformed::NoSeparator)
}

/// `:login:password` or ` login password` after the URL.
fn stealer_fields(rest: &[u8]) -> Result<(&[u8], &[u8]), Malformed> {
    let separator = rest[0];
    let rest = &rest[1..];
    let at = rest
        .iter()
        .position(|&b| b == separator)
        .ok_or(Malformed::NoSeparator)?;
    Ok((&rest[..at], &rest[at + 1..]))
}

/// hashcat's `$HEX[...]` encoding of a password.
fn decode_hex_password(password: &[u8]) -> Result<Password<'_>, Malformed> {
    let Some(hex) = password
        .strip_prefix(b"$HEX[")
        .and_then(|p| p.strip_suffix(b"]"))
    else {
        return Ok(Password::Raw(password));
    };
    if !hex.len().is_multiple_of(2) {
        return Err(Malformed::BadHexEncoding);
    }
    let mut out = Zeroizing::new(vec![0u8; hex.len() / 2]);
    if !crate::hash::decode_hex(hex, &mut out) {
        return Err(Malformed::BadHexEncoding);
    }
    Ok(Password::Decoded(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(line: &str) -> (String, String) {
        let p = split(line.as_bytes()).unwrap();
        (
            String::from_utf8_lossy(p.identity).into_owned(),
            String::from_utf8_lossy(&p.password).into_owned(),
        )
    }

    fn p(a: &str, b: &str) -> (String, String) {
        (a.into(), b.into())
    }

    #[test]
    fn separators_and_passwords_containing_them() {
        assert_eq!(pair("bob@x.com:hunter2"), p("bob@x.com", "hunter2"));
        assert_eq!(pair("bob@x.com:pa:ss;w|rd\r"), p("bob@x.com", "pa:ss;w|rd"));
        assert_eq!(pair("bob;pa:ss"), p("bob", "pa:ss"));
        assert_eq!(pair("bob|pa ss "), p("bob", "pa ss "));
        assert_eq!(pair(" bob\t:x"), p("bob", ":x"));
    }

    #[test]
    fn stealer_logs() {
        assert_eq!(
            pair("https://example.com/login:bob@x.com:pw:1"),
            p("bob@x.com", "pw:1")
        );
        assert_eq!(
            pair("https://example.com:8443/login:bob:pw"),
            p("bob", "pw")
        );
        assert_eq!(pair("https://example.com:8443:bob:pw"), p("bob", "pw"));
        assert_eq!(pair("android://x@com.app/:bob:pw"), p("bob", "pw"));
        assert_eq!(
            pair("https://example.com/login bob@x.com my pass"),
            p("bob@x.com", "my pass")
        );
    }

    #[test]
    fn hex_and_malformed() {
        assert_eq!(pair("bob:$HEX[703a7373]"), p("bob", "p:ss"));
        assert_eq!(split(b"no separator here"), Err(Malformed::NoSeparator));
        assert_eq!(split(b":pw"), Err(Malformed::EmptyIdentity));
        assert_eq!(split(b"bob:"), Err(Malformed::EmptyPassword));
        assert_eq!(split(b"bob:$HEX[7g]"), Err(Malformed::BadHexEncoding));
        assert_eq!(split(b"https://example.com/x"), Err(Malformed::NoSeparator));
    }
}
