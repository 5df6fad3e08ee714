//! The UTF-16LE decoder for PowerShell exports, `input::utf16::Utf16LeToUtf8`,
//! checked against the standard library: whatever the chunk size of the
//! reader underneath (first byte), its UTF-8 must equal
//! `String::from_utf16_lossy` of the 16-bit units plus one U+FFFD for an odd
//! last byte. Then the same bytes, behind a byte-order mark, go through
//! `input::open_reader` as an auto-detected export.
#![no_main]

use credaudit::input::utf16::{Utf16LeToUtf8, BOM};
use credaudit::input::FormatChoice;
use credaudit_fuzz::{input_options, read_export};
use libfuzzer_sys::fuzz_target;
use std::io::{BufReader, Read};

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 16) + 1;
    let mut decoded = Vec::new();
    Utf16LeToUtf8::new(BufReader::with_capacity(chunk, bytes))
        .read_to_end(&mut decoded)
        .expect("reading from memory cannot fail");
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    let mut expected = String::from_utf16_lossy(&units);
    if bytes.len() % 2 == 1 {
        expected.push(char::REPLACEMENT_CHARACTER);
    }
    assert!(
        decoded == expected.as_bytes(),
        "decoded text differs from the reference"
    );

    let mut file = BOM.to_vec();
    file.extend_from_slice(bytes);
    read_export(file, &input_options(first, &[FormatChoice::Auto]), false);
});
