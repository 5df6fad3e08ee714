//! The Pwned Passwords line, `HEX:COUNT` (LF or CRLF), shared by the single
//! sorted file and the per-prefix directory layout.

/// Split a line (without its `\n`) into the hex field and the count.
/// `None` if it is not exactly `hex_width` hex digits, a colon and a decimal
/// count.
#[inline]
pub fn split(line: &[u8], hex_width: usize) -> Option<(&[u8], u64)> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() < hex_width + 2 || line[hex_width] != b':' {
        return None;
    }
    let digits = &line[hex_width + 1..];
    if digits.len() > 19 {
        return None;
    }
    let mut count = 0u64;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        count = count * 10 + u64::from(d - b'0');
    }
    Some((&line[..hex_width], count))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn accepts_lf_and_crlf_rejects_the_rest() {
        let hex = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8";
        assert_eq!(
            split(format!("{hex}:52256179").as_bytes(), 40).unwrap().1,
            52256179
        );
        assert_eq!(split(format!("{hex}:3\r").as_bytes(), 40).unwrap().1, 3);
        assert!(split(format!("{hex}:").as_bytes(), 40).is_none());
        assert!(split(format!("{hex}:1x").as_bytes(), 40).is_none());
        assert!(split(format!("{hex}1:2").as_bytes(), 40).is_none());
        assert!(split(&format!("{hex}:3").as_bytes()[1..], 40).is_none());
    }
}
