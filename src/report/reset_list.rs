//! The reset list: one CSV row per account that must be reset (or could not
//! be checked), in input order.
//!
//! Columns (stable; new ones are only ever appended):
//! `account,origin,reasons,max_count,sources,account_status,severity,shared_group,shared_size,match_tier,banned_rule`.
//! Never a password, never a hash. Cells that a spreadsheet would run as a
//! formula (starting with `=`, `+`, `-`, `@`, tab or CR) get a leading `'`.

use super::csv_row::{push_decimal, Row};
use crate::accounts::{AccountId, Accounts};
use crate::findings::{Finding, Findings};
use crate::policy::banned::Rule as BannedRule;
use anyhow::Result;
use rayon::prelude::*;
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

/// Accounts whose rows one task formats.
const CHUNK_ACCOUNTS: AccountId = 1 << 15;
/// Tasks formatted (on every core) before their rows are written in order:
/// what bounds the memory held, a few MiB per task.
const CHUNKS_AT_ONCE: usize = 16;

/// One task's rows and its scratch space for cells built from parts.
#[derive(Default)]
struct Chunk {
    rows: Vec<u8>,
    count: u64,
    cell: Vec<u8>,
}

/// What every row is formatted from.
struct Context<'a> {
    accounts: &'a Accounts,
    findings: &'a Findings,
    inputs: &'a [String],
    sources: &'a [String],
}

/// Append the header row. `credaudit merge` starts its list with it and
/// writes its rows with [`Row`] too, so that a merged list is byte for byte
/// what one run writes.
pub fn push_header(out: &mut Vec<u8>) {
    let mut row = Row::new(out);
    for name in HEADER {
        row.cell(name.as_bytes());
    }
    row.end();
}

/// Write the reset list. `inputs` names the input files by index,
/// `sources` the sources by index. Returns the number of rows written.
///
/// Rows are formatted a chunk of accounts at a time on every core, then
/// written in input order.
pub fn write(
    out: &mut dyn Write,
    accounts: &Accounts,
    findings: &Findings,
    inputs: &[String],
    sources: &[String],
) -> Result<u64> {
    let ctx = Context {
        accounts,
        findings,
        inputs,
        sources,
    };
    let mut header = Vec::new();
    push_header(&mut header);
    out.write_all(&header)?;
    let end = findings.accounts_end();
    let starts: Vec<AccountId> = (0..end).step_by(CHUNK_ACCOUNTS as usize).collect();
    let mut chunks: Vec<Chunk> = (0..CHUNKS_AT_ONCE).map(|_| Chunk::default()).collect();
    let mut rows = 0;
    for wave in starts.chunks(CHUNKS_AT_ONCE) {
        chunks.par_iter_mut().zip(wave).for_each(|(chunk, &start)| {
            ctx.format(chunk, start..start.saturating_add(CHUNK_ACCOUNTS).min(end))
        });
        for chunk in &chunks[..wave.len()] {
            out.write_all(&chunk.rows)?;
            rows += chunk.count;
        }
    }
    out.flush()?;
    Ok(rows)
}

impl Context<'_> {
    /// The rows of the accounts of `range` that have findings.
    fn format(&self, chunk: &mut Chunk, range: std::ops::Range<AccountId>) {
        chunk.rows.clear();
        chunk.count = 0;
        for (id, finding) in self.findings.in_range(range) {
            self.row(chunk, id, finding);
            chunk.count += 1;
        }
    }

    fn row(&self, chunk: &mut Chunk, id: AccountId, finding: &Finding) {
        let Chunk { rows, cell, .. } = chunk;
        let mut row = Row::new(rows);
        row.cell(self.accounts.name(id));
        let from = self.accounts.origin(id);
        cell.clear();
        cell.extend_from_slice(self.inputs[from.file].as_bytes());
        cell.push(b':');
        push_decimal(cell, from.line);
        row.cell(cell);
        cell.clear();
        join_into(cell, finding.reasons().map(|r| r.name()));
        row.word(cell).number(finding.max_count);
        cell.clear();
        join_into(
            cell,
            self.sources
                .iter()
                .enumerate()
                .filter(|(i, _)| finding.sources & (1u64 << (*i).min(63)) != 0)
                .map(|(_, name)| name.as_str()),
        );
        row.cell(cell)
            .word(self.accounts.status(id).label().as_bytes())
            .word(finding.severity().map_or("", |s| s.name()).as_bytes())
            .number(finding.shared.map(|(g, _)| u64::from(g)))
            .number(finding.shared.map(|(_, n)| u64::from(n)))
            .word(finding.tier.map_or("", |t| t.name()).as_bytes());
        cell.clear();
        join_into(
            cell,
            BannedRule::in_bits(finding.banned_rules).map(BannedRule::name),
        );
        row.word(cell).end();
    }
}

/// Append `items` to `out`, separated by `;`.
fn join_into<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a str>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b';');
        }
        out.extend_from_slice(item.as_bytes());
    }
}
