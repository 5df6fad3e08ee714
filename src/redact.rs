//! `Debug` for values that hold secrets. A derived `Debug` prints every
//! field, so one stray `{:?}` (a log line, an `assert_eq!` message, a
//! panic) would print a password or a stored hash. Types that hold them
//! either have no `Debug`, or a manual one that shows only this.

/// Shows a secret as its length only.
pub struct Redacted<'a>(pub &'a [u8]);

impl std::fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes redacted>", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::combolist::{line, stored::Stored};

    #[test]
    fn debug_of_secret_holders_shows_no_secret() {
        let secret = b"Canary-7Q!pw-zebra";
        assert_eq!(format!("{:?}", Redacted(secret)), "<18 bytes redacted>");
        let hex_line = b"alice@example.com:$HEX[43616e6172792d3751217077]";
        for line in [&b"alice@example.com:Canary-7Q!pw-zebra"[..], hex_line] {
            let pair = line::split(line).unwrap();
            let shown = format!("{pair:?} {:?}", line::split(line));
            assert!(!shown.contains("Canary"), "{shown}");
            assert!(!shown.contains("alice"), "{shown}");
        }
        let bcrypt = b"$2b$04$c95AwdWMKEAwA9X70Mw95e7OKFkUkUFVw2Z06eUddyiRtrgAhl6mW";
        for stored in [
            Stored::Hashed(bcrypt),
            Stored::Sha1(&[0xAB; 20]),
            Stored::Ntlm(&[0xAB; 16]),
        ] {
            let shown = format!("{stored:?}");
            assert!(
                !shown.contains("c95Awd") && !shown.contains("171"),
                "{shown}"
            );
            assert!(shown.contains("bytes redacted"), "{shown}");
        }
    }
}
