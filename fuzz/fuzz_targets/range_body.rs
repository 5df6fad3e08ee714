//! The range API's response body (and a mirror's prefix file), `SUFFIX:COUNT`
//! lines: `range_client::Range::parse`. The first byte picks SHA-1 or NTLM.
//! A body that parses must give canonical text that parses again to itself,
//! and whose entries can be listed; an error must not echo the canary.
#![no_main]

use credaudit::hash::HashKind;
use credaudit::range_client::Range;
use credaudit_fuzz::{assert_clean, splice};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let kind = if first & 1 == 0 {
        HashKind::Sha1
    } else {
        HashKind::Ntlm
    };
    let (body, check) = splice(body);
    match Range::parse(&body, kind) {
        Err(message) => assert_clean(check, "a range parse error", &message),
        Ok(range) => {
            let again = Range::parse(range.text(), kind).expect("canonical text parses");
            assert!(again.was_canonical() && again.was_sorted());
            assert_eq!(again.text(), range.text());
            assert_eq!(range.entries(0xABCDE, kind).count(), range.lines());
        }
    }
});
