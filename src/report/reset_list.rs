//! The reset list: one CSV row per account that must be reset (or could not
//! be checked), in input order.
//!
//! Columns (stable; new ones are only ever appended):
//! `account,origin,reasons,max_count,sources,account_status,severity,shared_group,shared_size,match_tier,banned_rule`.
//! Never a password, never a hash. Cells that a spreadsheet would run as a
//! formula (starting with `=`, `+`, `-`, `@`, tab or CR) get a leading `'`.
//!
//! Twenty million rows (at a hundred million accounts) must be written in a
//! few seconds on two cores, so: chunks of accounts are formatted on the
//! pool while the calling thread writes the chunks before them (the write
//! system calls, copying gigabytes into the page cache, no longer wait for
//! formatting, nor formatting for them); what rows repeat is formatted once,
//! not per row (an input's name in the origin cell, the cell of a set of
//! reasons, of sources, of banned-word rules); and no row allocates.

use super::csv_row::{push_cell, CellPrefix, Row};
use crate::accounts::{AccountId, Accounts};
use crate::findings::{Finding, Findings, Reason};
use crate::policy::banned::Rule as BannedRule;
use anyhow::{Context as _, Result};
use std::collections::VecDeque;
use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, TryRecvError};

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
/// Tasks formatting or waiting to be written at once: what bounds the
/// memory held, a few MiB per task.
const IN_FLIGHT: usize = 16;

/// One task's rows, and the cells that most rows repeat, formatted when
/// they change.
#[derive(Default)]
struct Chunk {
    rows: Vec<u8>,
    count: u64,
    reasons: Memo<u16>,
    sources: Memo<u64>,
    banned: Memo<u8>,
    /// Source names joined, before they are quoted as a cell.
    scratch: Vec<u8>,
}

/// The last cell formatted for a key (a set of reasons, of sources):
/// neighbouring rows mostly have the same.
struct Memo<K> {
    key: Option<K>,
    cell: Vec<u8>,
}

impl<K> Default for Memo<K> {
    fn default() -> Self {
        Memo {
            key: None,
            cell: Vec::new(),
        }
    }
}

impl<K: Copy + PartialEq> Memo<K> {
    /// The cell for `key`, formatted by `format` when the key is new.
    fn get(&mut self, key: K, format: impl FnOnce(&mut Vec<u8>)) -> &[u8] {
        if self.key != Some(key) {
            self.cell.clear();
            format(&mut self.cell);
            self.key = Some(key);
        }
        &self.cell
    }
}

/// What every row is formatted from.
struct Context<'a> {
    accounts: &'a Accounts,
    findings: &'a Findings,
    /// Per input file, its origin cells' `name:` part, formatted once.
    origins: Vec<CellPrefix>,
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
/// Rows are formatted a chunk of accounts at a time on every core while
/// the calling thread writes the chunks already formatted, in input order:
/// formatting and writing overlap, and at most [`IN_FLIGHT`] chunks are
/// held at once.
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
        origins: inputs
            .iter()
            .map(|name| CellPrefix::new(format!("{name}:").as_bytes()))
            .collect(),
        sources,
    };
    let mut header = Vec::new();
    push_header(&mut header);
    out.write_all(&header)?;
    let end = findings.accounts_end();
    let mut starts = (0..end).step_by(CHUNK_ACCOUNTS as usize);
    let mut rows = 0;
    rayon::in_place_scope_fifo(|scope| -> Result<()> {
        // Formats the next chunk of accounts into `chunk`'s buffers on the
        // pool; what it returns delivers them.
        let mut next_task = |mut chunk: Chunk| {
            let start = starts.next()?;
            let (done, ready) = sync_channel(1);
            let ctx = &ctx;
            scope.spawn_fifo(move |_| {
                ctx.format(
                    &mut chunk,
                    start..start.saturating_add(CHUNK_ACCOUNTS).min(end),
                );
                // Fails only when writing failed and nobody waits.
                let _ = done.send(chunk);
            });
            Some(ready)
        };
        let mut formatting: VecDeque<Receiver<Chunk>> = (0..IN_FLIGHT)
            .filter_map(|_| next_task(Chunk::default()))
            .collect();
        while let Some(ready) = formatting.pop_front() {
            let chunk = receive(&ready)?;
            out.write_all(&chunk.rows)?;
            rows += chunk.count;
            formatting.extend(next_task(chunk));
        }
        Ok(())
    })?;
    out.flush()?;
    Ok(rows)
}

/// The chunk a formatting task sends. A caller that is itself one of the
/// pool's threads (perhaps its only one) formats other chunks meanwhile.
fn receive(ready: &Receiver<Chunk>) -> Result<Chunk> {
    let chunk = loop {
        match ready.try_recv() {
            Err(TryRecvError::Empty) if rayon::yield_now() == Some(rayon::Yield::Executed) => {}
            // Every task left is running on another thread.
            Err(TryRecvError::Empty) => break ready.recv().ok(),
            // Disconnected: the task panicked, and the scope passes its
            // panic on.
            got => break got.ok(),
        }
    };
    chunk.context("formatting the reset list failed")
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
        let Chunk {
            rows,
            reasons,
            sources,
            banned,
            scratch,
            ..
        } = chunk;
        let from = self.accounts.origin(id);
        let shared = self.findings.shared_group(finding);
        let reason_bits = Reason::ALL
            .into_iter()
            .enumerate()
            .fold(0u16, |bits, (i, r)| bits | u16::from(finding.has(r)) << i);
        Row::new(rows)
            .cell(self.accounts.name(id))
            .prefixed_number(&self.origins[from.file], from.line)
            .formatted(reasons.get(reason_bits, |cell| {
                join_into(cell, finding.reasons().map(Reason::name))
            }))
            .number(finding.max_count())
            .formatted(sources.get(finding.sources, |cell| {
                scratch.clear();
                join_into(scratch, self.sources_of(finding.sources));
                push_cell(cell, scratch);
            }))
            .word(self.accounts.status(id).label().as_bytes())
            .word(finding.severity().map_or("", |s| s.name()).as_bytes())
            .number(shared.map(|(g, _)| u64::from(g)))
            .number(shared.map(|(_, n)| u64::from(n)))
            .word(finding.tier.map_or("", |t| t.name()).as_bytes())
            .formatted(banned.get(finding.banned_rules, |cell| {
                join_into(
                    cell,
                    BannedRule::in_bits(finding.banned_rules).map(BannedRule::name),
                )
            }))
            .end();
    }

    /// The names of the sources of the bits of `mask` (bit 63 stands for
    /// every source from the 64th on).
    fn sources_of(&self, mask: u64) -> impl Iterator<Item = &str> {
        self.sources
            .iter()
            .enumerate()
            .filter(move |(i, _)| mask & (1u64 << (*i).min(63)) != 0)
            .map(|(_, name)| name.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{AccountStatus, Flags, Origin};

    const SOURCES: [&str; 3] = ["hibp", "a,b.txt", "=list"];

    /// Accounts over a few chunks, every seventh with findings, from two
    /// inputs; names and sources with cells to quote and neutralise.
    fn audit() -> (Accounts, Findings) {
        let mut accounts = Accounts::default();
        let mut findings = Findings::default();
        let n = 3 * CHUNK_ACCOUNTS + 5;
        for i in 0..n {
            let name = match i % 5 {
                0 => format!("user{i}@example.com"),
                1 => format!("=cmd|{i}"),
                2 => format!("last, first {i}"),
                3 => format!("say \"{i}\""),
                _ => format!("CORP\\u{i}"),
            };
            let origin = Origin {
                file: (i % 2) as usize,
                line: u64::from(i) + 2,
            };
            let flags = Flags {
                status: AccountStatus::Enabled,
                privileged: false,
            };
            let id = accounts.push(name.as_bytes(), origin, flags).unwrap();
            if i % 7 == 0 {
                let source = (i as usize / 7) % SOURCES.len();
                findings.hit(id, Reason::Pwned, source, Some(u64::from(i)));
                if i % 3 == 0 {
                    findings.hit(id, Reason::Pwned, (source + 1) % SOURCES.len(), None);
                }
                if i % 4 == 0 {
                    findings.add(id, Reason::Short);
                }
                if i % 5 == 0 {
                    findings.banned(id, BannedRule::Exact);
                    findings.banned(id, BannedRule::Fuzzy);
                }
            }
        }
        (accounts, findings)
    }

    fn write_to(out: &mut dyn Write, accounts: &Accounts, findings: &Findings) -> Result<u64> {
        let inputs = ["in,1.csv".to_string(), "in2.csv".to_string()];
        let sources: Vec<String> = SOURCES.iter().map(|s| s.to_string()).collect();
        write(out, accounts, findings, &inputs, &sources)
    }

    fn list(accounts: &Accounts, findings: &Findings) -> (Vec<u8>, u64) {
        let mut out = Vec::new();
        let rows = write_to(&mut out, accounts, findings).unwrap();
        (out, rows)
    }

    #[test]
    fn rows_in_input_order_across_chunks() {
        let (accounts, findings) = audit();
        let (out, rows) = list(&accounts, &findings);
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len() as u64, rows);
        let flagged: Vec<AccountId> = (0..accounts.len() as AccountId)
            .filter(|i| i % 7 == 0)
            .collect();
        assert_eq!(records.len(), flagged.len());
        for (record, &i) in records.iter().zip(&flagged) {
            let name = String::from_utf8(accounts.name(i).to_vec()).unwrap();
            let name = if i % 5 == 1 { format!("'{name}") } else { name };
            assert_eq!(&record[0], name);
            let input = ["in,1.csv", "in2.csv"][(i % 2) as usize];
            assert_eq!(&record[1], format!("{input}:{}", i + 2));
            let reasons = match (i % 5 == 0, i % 4 == 0) {
                (false, false) => "pwned",
                (false, true) => "pwned;short",
                (true, false) => "pwned;banned",
                (true, true) => "pwned;banned;short",
            };
            assert_eq!(&record[2], reasons);
            assert_eq!(&record[3], i.to_string());
            let source = (i as usize / 7) % SOURCES.len();
            let mut named = vec![source];
            if i % 3 == 0 {
                named.push((source + 1) % SOURCES.len());
            }
            named.sort();
            let named: Vec<&str> = named.iter().map(|&s| SOURCES[s]).collect();
            let named = named.join(";");
            let named = if named.starts_with('=') {
                format!("'{named}")
            } else {
                named
            };
            assert_eq!(&record[4], named);
            assert_eq!(&record[5], "enabled");
            let banned = if i % 5 == 0 { "exact;fuzzy" } else { "" };
            assert_eq!(&record[10], banned);
        }
    }

    #[test]
    #[should_panic(expected = "index out of bounds")]
    fn a_formatting_panic_is_passed_on() {
        // Accounts of an input that `inputs` does not name: the task
        // formatting them panics, and the writer must not wait for it.
        let (accounts, findings) = audit();
        let _ = write(
            &mut Vec::new(),
            &accounts,
            &findings,
            &["in.csv".into()],
            &[],
        );
    }

    #[test]
    fn written_the_same_from_inside_a_one_thread_pool() {
        let (accounts, findings) = audit();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        assert_eq!(
            pool.install(|| list(&accounts, &findings)),
            list(&accounts, &findings)
        );
    }

    /// Takes `left` bytes, then fails.
    struct FailsAfter {
        left: usize,
    }

    impl Write for FailsAfter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if buf.len() > self.left {
                return Err(std::io::Error::other("disk full"));
            }
            self.left -= buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_stops_the_list() {
        let (accounts, findings) = audit();
        for left in [0, 200, 100_000] {
            let err = write_to(&mut FailsAfter { left }, &accounts, &findings).unwrap_err();
            assert!(format!("{err:#}").contains("disk full"), "{err:#}");
        }
    }
}
