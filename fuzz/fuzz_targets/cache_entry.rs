//! A response-cache file of `--api` (header lines, a blank line, a body):
//! `hibp::cache::parse_entry`, which must never panic on a corrupt or
//! hostile file. The first byte picks SHA-1 or NTLM.
#![no_main]

use credaudit::hash::HashKind;
use credaudit::hibp::cache::parse_entry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let kind = if first & 1 == 0 {
        HashKind::Sha1
    } else {
        HashKind::Ntlm
    };
    if let Some(list) = parse_entry(bytes, kind) {
        assert_eq!(list.entries(0, kind).count(), list.entry_count());
    }
});
