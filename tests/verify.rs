//! Stored-hash verification against hashes made by reference
//! implementations (fixtures/hashes/, see fixtures/README.md): every row's
//! `right` answer, every scheme detected, every malformed value refused with
//! an error that never quotes it, and no panic on any cut or corrupted value.

use credaudit::verify::{detect, verify, HashError, Scheme};

const REFERENCE: &str = include_str!("../fixtures/hashes/reference.csv");
const MALFORMED: &str = include_str!("../fixtures/hashes/malformed.csv");

struct Row {
    scheme: String,
    password: String,
    hash: String,
    right: bool,
}

fn reference() -> Vec<Row> {
    let mut reader = csv::Reader::from_reader(REFERENCE.as_bytes());
    let rows: Vec<Row> = reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            Row {
                scheme: record[0].to_owned(),
                password: record[1].to_owned(),
                hash: record[2].to_owned(),
                right: match &record[3] {
                    "true" => true,
                    "false" => false,
                    other => panic!("right column: {other}"),
                },
            }
        })
        .collect();
    assert!(rows.len() > 90, "{} rows", rows.len());
    rows
}

fn malformed() -> Vec<(String, String, String)> {
    let mut reader = csv::Reader::from_reader(MALFORMED.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].to_owned(), r[2].to_owned())
        })
        .collect()
}

#[test]
fn every_reference_row_gives_its_known_answer() {
    let mut failures = Vec::new();
    for row in reference() {
        let got = verify(row.hash.as_bytes(), row.password.as_bytes());
        if got != Ok(row.right) {
            failures.push(format!(
                "{} {:?} vs {}: got {got:?}, want {}",
                row.scheme, row.password, row.hash, row.right
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_reference_hash_is_detected_as_its_scheme() {
    let rows = reference();
    for row in &rows {
        let scheme = detect(row.hash.as_bytes()).unwrap();
        assert_eq!(scheme.name(), row.scheme, "{}", row.hash);
    }
    // Every scheme has fixtures, each with a right and a wrong password.
    for scheme in Scheme::ALL {
        for right in [true, false] {
            assert!(
                rows.iter()
                    .any(|r| r.scheme == scheme.name() && r.right == right),
                "{scheme} has no right={right} row"
            );
        }
    }
}

#[test]
fn bcrypt_refuses_passwords_longer_than_72_bytes() {
    let rows = reference();
    let hashed = rows
        .iter()
        .find(|r| r.scheme == "bcrypt" && r.right && r.password.len() == 72)
        .expect("a 72-byte bcrypt row");
    let mut longer = hashed.password.clone().into_bytes();
    assert_eq!(verify(hashed.hash.as_bytes(), &longer), Ok(true));
    for extra in [&b"x"[..], b"\0", &[b'y'; 100]] {
        longer.truncate(72);
        longer.extend_from_slice(extra);
        assert_eq!(verify(hashed.hash.as_bytes(), &longer), Ok(false));
    }
    // The fixture file carries the same cases as reference answers.
    assert!(rows
        .iter()
        .any(|r| r.hash == hashed.hash && r.password.len() > 72 && !r.right));
}

#[test]
fn every_malformed_value_is_refused_without_quoting_it() {
    let rows = malformed();
    assert!(rows.len() > 50);
    for (scheme, hash, error) in rows {
        let detected = detect(hash.as_bytes());
        let verified = verify(hash.as_bytes(), b"hunter2");
        assert_eq!(detected.err(), verified.err(), "{hash}");
        let err = detected.expect_err(&hash);
        match (error.as_str(), err) {
            ("unknown", HashError::Unknown) => {}
            ("malformed", HashError::Malformed(name, why)) => {
                assert_eq!(name, scheme, "{hash}: {why}");
            }
            _ => panic!("{hash}: want {error} {scheme}, got {err:?}"),
        }
        assert_no_part_of(&hash, &err.to_string());
    }
}

/// The message shares no run of 12 or more characters with the value
/// (salts and digests are longer; the static words a message shares with
/// a value, like "$scrypt$" or "not base64", are shorter).
fn assert_no_part_of(value: &str, message: &str) {
    let value = value.as_bytes();
    for window in value.windows(12) {
        let window = String::from_utf8_lossy(window);
        assert!(
            !message.contains(window.as_ref()),
            "message {message:?} quotes {window:?}"
        );
    }
}

/// Every prefix of every fixture value, and every value with one byte
/// replaced by a troublesome one: detect and verify must return, never
/// panic, and agree with each other.
#[test]
fn cut_and_corrupted_values_never_panic() {
    let mut values: Vec<(String, bool)> = reference().into_iter().map(|r| (r.hash, true)).collect();
    values.dedup();
    // The malformed rows are only parsed once corrupted: one '0' turns the
    // refused cost 32 into a legal cost 30 (days of bcrypt).
    values.extend(malformed().into_iter().map(|(_, hash, _)| (hash, false)));
    let mut checked = 0usize;
    for (value, hash_corrupted) in &values {
        let bytes = value.as_bytes();
        for end in 0..bytes.len() {
            check_no_panic(&bytes[..end], true);
            checked += 1;
        }
        for at in 0..bytes.len() {
            for replacement in [b'$', b'0', b'=', b',', 0x00, 0xff, b'{'] {
                let mut corrupted = bytes.to_vec();
                corrupted[at] = replacement;
                // Hash only what stays cheap: one '0' in a `$7$` value can
                // turn p = 1 into p = 524,289 (legitimately minutes of
                // scrypt), and the realistic-cost bcrypt row takes 60 ms a
                // try. Parsing, the part that sees hostile input, is always
                // exercised.
                let cheap = *hash_corrupted
                    && !value.contains("$10$")
                    && detect(&corrupted) != Ok(Scheme::Scrypt);
                check_no_panic(&corrupted, cheap);
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000, "{checked}");
}

fn check_no_panic(value: &[u8], also_verify: bool) {
    let detected = detect(value);
    if let Err(err) = detected {
        assert_no_part_of(&String::from_utf8_lossy(value), &err.to_string());
    }
    if also_verify {
        let verified = verify(value, b"hunter2");
        assert_eq!(detected.err(), verified.err());
    }
}

#[test]
fn passwords_are_bytes_not_text() {
    // Not UTF-8: no NTLM, but every byte-oriented scheme still answers.
    let rows = reference();
    for row in rows.iter().filter(|r| r.right) {
        let mut bytes = row.password.clone().into_bytes();
        bytes.push(0xff);
        assert_eq!(
            verify(row.hash.as_bytes(), &bytes),
            Ok(false),
            "{}",
            row.hash
        );
    }
}
