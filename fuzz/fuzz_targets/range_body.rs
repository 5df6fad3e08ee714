//! The range API's response body (and a mirror's prefix file, and the
//! body of a cache entry), `SUFFIX:COUNT` lines: `hibp::body::SuffixList::parse`,
//! the one reader of the format. The first byte picks SHA-1 or NTLM. A body
//! that parses must give canonical text that parses again to itself, and
//! whose entries can be listed; an error must not echo the canary.
#![no_main]

use credaudit::hash::HashKind;
use credaudit::hibp::body::SuffixList;
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
    match SuffixList::parse(&body, kind) {
        Err(error) => assert_clean(check, "a body parse error", &error.to_string()),
        Ok(list) => {
            let again = SuffixList::parse(list.text(), kind).expect("canonical text parses");
            assert_eq!(again, list);
            assert_eq!(list.entries(0xABCDE, kind).count(), list.entry_count());
        }
    }
});
