//! CSV and TSV exports: delimiter sniffing, the header's column detection
//! (`input::columns`), the secret-kind decision on the first rows and every
//! row after, read through `input::open_reader`. The first byte picks the
//! options (`fuzz/src/lib.rs`, `input_options`), the second a `--delimiter`
//! and `--account-col`/`--secret-col`/`--admin-col` indexes, the rest is the
//! file. Every row must land in the sink within limits, and no reject detail
//! or error may echo the canary, wherever it is (a header cell too: the
//! first line of an export without a header is data).
#![no_main]

use credaudit::input::columns::ColumnRef;
use credaudit::input::FormatChoice;
use credaudit_fuzz::{input_options, read_export, splice};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [first, second, file @ ..] = data else {
        return;
    };
    let mut options = input_options(
        *first,
        &[FormatChoice::Auto, FormatChoice::Csv, FormatChoice::Tsv],
    );
    options.delimiter = match second & 7 {
        1 => Some(b','),
        2 => Some(b';'),
        3 => Some(b'\t'),
        4 => Some(b'|'),
        _ => None,
    };
    let index = |bits: u8| (bits != 0).then(|| ColumnRef::Index(usize::from(bits)));
    options.account_col = index((second >> 3) & 1);
    options.secret_col = index((second >> 4) & 3);
    options.admin_col = index((second >> 6) & 3);
    let (file, check) = splice(file);
    read_export(file, &options, check);
});
