//! The reset list: one CSV row per account that must be reset (or could not
//! be checked), in input order.
//!
//! Columns (stable; new ones are only ever appended):
//! `account,origin,reasons,max_count,sources,account_status,severity,shared_group,shared_size,match_tier`.
//! Never a password, never a hash. Cells that a spreadsheet would run as a
//! formula (starting with `=`, `+`, `-`, `@`, tab or CR) get a leading `'`.

use crate::accounts::Accounts;
use crate::findings::Findings;
use anyhow::Result;
use std::io::Write;

pub const HEADER: [&str; 10] = [
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

/// Write the reset list. `inputs` names the input files by index,
/// `sources` the sources by index. Returns the number of rows written.
pub fn write(
    out: &mut dyn Write,
    accounts: &Accounts,
    findings: &Findings,
    inputs: &[String],
    sources: &[String],
) -> Result<u64> {
    let mut csv = csv::WriterBuilder::new().from_writer(out);
    csv.write_record(HEADER)?;
    let mut rows = 0;
    for (id, finding) in findings.sorted() {
        let origin = accounts.origin(id);
        let origin = format!("{}:{}", inputs[origin.file], origin.line);
        let reasons: Vec<&str> = finding.reasons().map(|r| r.name()).collect();
        let matched: Vec<&str> = (0..sources.len())
            .filter(|i| finding.sources & (1u64 << (*i).min(63)) != 0)
            .map(|i| sources[i].as_str())
            .collect();
        let count = finding.max_count.map(|c| c.to_string()).unwrap_or_default();
        let (reasons, matched) = (reasons.join(";"), matched.join(";"));
        let severity = finding.severity().map_or("", |s| s.name());
        let (group, size) = finding
            .shared
            .map(|(g, n)| (g.to_string(), n.to_string()))
            .unwrap_or_default();
        let tier = finding.tier.map_or("", |t| t.name());
        let cells: [&[u8]; 10] = [
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
        ];
        csv.write_record(cells.iter().map(|c| neutralise(c)))?;
        rows += 1;
    }
    csv.flush()?;
    Ok(rows)
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
