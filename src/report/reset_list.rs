//! The reset list: one CSV row per account that must be reset (or could not
//! be checked), in input order.
//!
//! Columns (stable; new ones are only ever appended):
//! `account,origin,reasons,max_count,sources,account_status,severity,shared_group,shared_size,match_tier,banned_rule`.
//! Never a password, never a hash. Cells that a spreadsheet would run as a
//! formula (starting with `=`, `+`, `-`, `@`, tab or CR) get a leading `'`.

use crate::accounts::Accounts;
use crate::findings::Findings;
use crate::policy::banned::Rule as BannedRule;
use anyhow::Result;
use std::fmt::Write as _;
use std::io::Write;

pub const HEADER: [&str; 11] = [
    "account",
    "origin",
    "reasons",
    "max_count",
    "sources",
    "account_status",
    "severity",
    "shared_group",
    "shared_size",
    "match_tier",
    "banned_rule",
];

/// Neutralise spreadsheet formula injection (OWASP CSV injection).
pub fn neutralise(cell: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match cell.first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => {
            let mut v = Vec::with_capacity(cell.len() + 1);
            v.push(b'\'');
            v.extend_from_slice(cell);
            v.into()
        }
        _ => cell.into(),
    }
}

/// The CSV writer of every reset list (`credaudit merge` writes with it
/// too, so that a merged list is byte for byte what one run writes).
pub fn writer(out: &mut dyn Write) -> csv::Writer<&mut dyn Write> {
    csv::WriterBuilder::new().from_writer(out)
}

/// Write the reset list. `inputs` names the input files by index,
/// `sources` the sources by index. Returns the number of rows written.
pub fn write(
    out: &mut dyn Write,
    accounts: &Accounts,
    findings: &Findings,
    inputs: &[String],
    sources: &[String],
) -> Result<u64> {
    let mut csv = writer(out);
    csv.write_record(HEADER)?;
    let mut rows = 0;
    // The cells built from numbers and lists, reused row after row.
    let mut text: [String; 7] = Default::default();
    for (id, finding) in findings.sorted() {
        text.iter_mut().for_each(String::clear);
        let [origin, reasons, count, matched, group, size, rules] = &mut text;
        let from = accounts.origin(id);
        write!(origin, "{}:{}", inputs[from.file], from.line)?;
        join_into(reasons, finding.reasons().map(|r| r.name()));
        if let Some(c) = finding.max_count {
            write!(count, "{c}")?;
        }
        let matching = sources.iter().enumerate();
        join_into(
            matched,
            matching
                .filter(|(i, _)| finding.sources & (1u64 << (*i).min(63)) != 0)
                .map(|(_, name)| name.as_str()),
        );
        if let Some((g, n)) = finding.shared {
            write!(group, "{g}")?;
            write!(size, "{n}")?;
        }
        join_into(
            rules,
            BannedRule::in_bits(finding.banned_rules).map(BannedRule::name),
        );
        let severity = finding.severity().map_or("", |s| s.name());
        let tier = finding.tier.map_or("", |t| t.name());
        let cells: [&[u8]; 11] = [
            accounts.name(id),
            origin.as_bytes(),
            reasons.as_bytes(),
            count.as_bytes(),
            matched.as_bytes(),
            accounts.status(id).label().as_bytes(),
            severity.as_bytes(),
            group.as_bytes(),
            size.as_bytes(),
            tier.as_bytes(),
            rules.as_bytes(),
        ];
        csv.write_record(cells.iter().map(|c| neutralise(c)))?;
        rows += 1;
    }
    csv.flush()?;
    Ok(rows)
}

/// Append `items` to `out`, separated by `;`.
fn join_into<'a>(out: &mut String, items: impl Iterator<Item = &'a str>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(item);
    }
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_cells_are_quoted() {
        assert_eq!(&*neutralise(b"=HYPERLINK(\"x\")"), b"'=HYPERLINK(\"x\")");
        assert_eq!(&*neutralise(b"-1+2"), b"'-1+2");
        assert_eq!(&*neutralise(b"@SUM"), b"'@SUM");
        assert_eq!(&*neutralise(b"alice@example.com"), b"alice@example.com");
    }
}
