//! Windows colon dumps (`user:nthash`, pwdump, impacket secretsdump,
//! hashcat), read through `input::open_reader` as `--format colon` or
//! auto-detected: the first byte picks the options (`fuzz/src/lib.rs`,
//! `input_options`), the rest is the file. Every row must land in the sink
//! within limits, and no reject detail or error may echo the canary.
#![no_main]

use credaudit::input::FormatChoice;
use credaudit_fuzz::{input_options, read_export, splice};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, file)) = data.split_first() else {
        return;
    };
    let options = input_options(first, &[FormatChoice::Colon, FormatChoice::Auto]);
    let (file, check) = splice(file);
    read_export(file, &options, check);
});
