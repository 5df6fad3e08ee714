//! `credaudit merge`: put the reports of the shards of one `--shard K/N`
//! audit back together, into the reset list and summary one unsharded run
//! would have written.
//!
//! It fails closed (an error, exit 2, naming what is wrong) rather than
//! write a report that looks complete and is not: a missing shard, a shard
//! of another run (its run identity differs), one shard given twice, a
//! reset list that is not the one its summary describes (SHA-256), shards
//! whose per-input counters differ (every shard reads every input, so they
//! must agree), or a summary that does not add up.
//!
//! * Reset list: the shards' lists are merged by input position (the
//!   `origin` column: input, line), which is the order one run writes, and
//!   the shared-password groups are numbered again in input order of their
//!   first account (each shard records where its groups start). Rows are
//!   copied cell for cell through the same CSV row writer
//!   ([`crate::report::csv_row`]), so the result is byte for byte the
//!   unsharded list.
//! * Summary: per-account counters add up; per-input ones (`rows_read`,
//!   `inputs`, combolist lines) are checked equal and taken once; timings
//!   are the slowest shard's; exit codes combine (2 from any shard, else 3
//!   over 1 over 0). A field this module does not know must be equal in
//!   every shard, so a new field is never silently summed or dropped.

use crate::atomic_file;
use crate::input::display_name;
use crate::outcome::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, EXIT_INCOMPLETE};
use crate::report::csv_row::Row;
use crate::report::reset_list;
use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `credaudit merge` was asked to do.
#[derive(Clone, Debug)]
pub struct MergeConfig {
    /// The shards' `--summary` files, in any order.
    pub summaries: Vec<PathBuf>,
    /// Where the merged reset list goes (stdout when None).
    pub output: Option<PathBuf>,
    pub summary: Option<PathBuf>,
}

/// Summary fields that count accounts: the shards' values add up.
const SUMMED: [&str; 10] = [
    "accounts_checked",
    "rows_rejected",
    "rows_skipped",
    "accounts_flagged",
    "accounts_by_severity",
    "banned_rules",
    "accounts_unchecked",
    "report_rows",
    "stored_hash_schemes",
    "distinct_hashes",
];
/// Combolist fields that count lines read: equal in every shard.
const COMBOLIST_PER_INPUT: [&str; 3] = ["files", "lines_read", "lines_malformed"];
/// Timings: the slowest shard's.
const TIMINGS: [&str; 3] = ["join_ms", "verify_ms", "duration_ms"];

/// The `shard` section of a shard's summary.
#[derive(serde::Deserialize)]
struct ShardFields {
    index: u32,
    count: u32,
    run: String,
    rows_other_shards: u64,
    reset_list: ResetListFields,
    group_first: Vec<(usize, u64)>,
}

#[derive(serde::Deserialize)]
struct ResetListFields {
    path: PathBuf,
    sha256: String,
}

/// One shard's summary and the reset list it describes.
struct ShardReport {
    summary_path: PathBuf,
    /// The summary without its `shard` section.
    json: Map<String, Value>,
    fields: ShardFields,
    /// Where its reset list was found.
    reset_list: PathBuf,
}

impl ShardReport {
    fn name(&self) -> String {
        format!(
            "shard {} ({})",
            self.fields.index,
            self.summary_path.display()
        )
    }

    fn exit_code(&self) -> Result<u8> {
        self.json
            .get("exit_code")
            .and_then(Value::as_u64)
            .and_then(|c| u8::try_from(c).ok())
            .with_context(|| format!("{}: no exit_code", self.summary_path.display()))
    }

    fn count(&self, field: &str) -> u64 {
        let v = self.json.get(field);
        v.and_then(Value::as_u64)
            .or_else(|| v.and_then(|t| t.get("total")).and_then(Value::as_u64))
            .unwrap_or(0)
    }
}

/// Merge the shards; the reset list goes to `cfg.output` or `stdout`.
/// Returns the combined exit code.
pub fn run(cfg: &MergeConfig, stdout: &mut dyn Write) -> Result<u8> {
    let shards = load(&cfg.summaries)?;
    let summary = merged_summary(&shards)?;
    for s in &shards {
        let parts = s.count("accounts_checked")
            + s.count("rows_rejected")
            + s.count("rows_skipped")
            + s.fields.rows_other_shards;
        if parts != s.count("rows_read") {
            bail!(
                "{}: does not add up: rows_read {} but accounts_checked + rows_rejected + rows_skipped \
                 + rows_other_shards = {parts}",
                s.name(),
                s.count("rows_read")
            );
        }
    }
    let groups = renumber_groups(&shards);
    let rows = match &cfg.output {
        Some(path) => {
            let mut rows = 0;
            atomic_file::write(path, atomic_file::REPORT, |w| {
                rows = merge_rows(&shards, &groups, w)?;
                Ok(())
            })?;
            rows
        }
        None => merge_rows(&shards, &groups, stdout)?,
    };
    debug_assert_eq!(
        Some(rows),
        summary.get("report_rows").and_then(Value::as_u64)
    );
    if let Some(path) = &cfg.summary {
        crate::report::summary::write(path, &summary)?;
    }
    combined_exit_code(&shards)
}

/// Read every summary and find its reset list; refuse a set of shards that
/// is not exactly shards 0..N of one run, or a reset list that changed.
fn load(paths: &[PathBuf]) -> Result<Vec<ShardReport>> {
    if paths.is_empty() {
        bail!("no shard summaries given");
    }
    let mut shards = Vec::new();
    for path in paths {
        let text = std::fs::read(path)
            .with_context(|| format!("cannot read shard summary {}", path.display()))?;
        let mut json: Map<String, Value> = serde_json::from_slice(&text)
            .with_context(|| format!("{}: not a credaudit summary", path.display()))?;
        let section = json.remove("shard").with_context(|| {
            format!(
                "{}: not the summary of a --shard run (no `shard` section)",
                path.display()
            )
        })?;
        let fields: ShardFields = serde_json::from_value(section)
            .with_context(|| format!("{}: malformed `shard` section", path.display()))?;
        shards.push(ShardReport {
            summary_path: path.clone(),
            json,
            reset_list: PathBuf::new(),
            fields,
        });
    }
    let first = &shards[0];
    let (count, run) = (first.fields.count, first.fields.run.clone());
    for s in &shards[1..] {
        if s.fields.count != count {
            bail!(
                "{} is one of {} shards, {} one of {count}: not shards of one run",
                s.name(),
                s.fields.count,
                first.name()
            );
        }
        if s.fields.run != run {
            bail!(
                "{} is from another run than {}: their run identities differ (different inputs, \
                 sources, options or credaudit version)",
                s.name(),
                first.name()
            );
        }
    }
    shards.sort_by_key(|s| s.fields.index);
    for pair in shards.windows(2) {
        if pair[0].fields.index == pair[1].fields.index {
            bail!(
                "shard {} given twice: {} and {}",
                pair[0].fields.index,
                pair[0].summary_path.display(),
                pair[1].summary_path.display()
            );
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|k| shards.binary_search_by_key(k, |s| s.fields.index).is_err())
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "missing shard{} {} of {count}: a merge without every shard would report only part of the accounts",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        );
    }
    for s in &mut shards {
        s.reset_list = find_reset_list(s)?;
        let digest = crate::shard::file_sha256(&s.reset_list)
            .with_context(|| format!("cannot read {}", s.reset_list.display()))?;
        if digest != s.fields.reset_list.sha256 {
            bail!(
                "{}: reset list {} does not match its summary (SHA-256 differs): it changed after the \
                 shard wrote it, or is another run's",
                s.name(),
                s.reset_list.display()
            );
        }
    }
    Ok(shards)
}

/// The shard's reset list where it was written, or else beside its summary
/// (reports collected from the nodes into one directory).
fn find_reset_list(s: &ShardReport) -> Result<PathBuf> {
    let recorded = &s.fields.reset_list.path;
    if recorded.is_file() {
        return Ok(recorded.clone());
    }
    let beside = recorded
        .file_name()
        .map(|name| s.summary_path.parent().unwrap_or(Path::new("")).join(name));
    match beside {
        Some(p) if p.is_file() => Ok(p),
        _ => bail!(
            "{}: its reset list is missing: not at {} nor beside the summary",
            s.name(),
            recorded.display()
        ),
    }
}

/// Global shared-group numbers, by shard and local number - 1: groups
/// numbered in input order of their first account, as one run numbers them.
fn renumber_groups(shards: &[ShardReport]) -> Vec<Vec<u32>> {
    let mut all: Vec<((usize, u64), usize, usize)> = shards
        .iter()
        .enumerate()
        .flat_map(|(k, s)| {
            s.fields
                .group_first
                .iter()
                .enumerate()
                .map(move |(g, &first)| (first, k, g))
        })
        .collect();
    all.sort_unstable();
    let mut global: Vec<Vec<u32>> = shards
        .iter()
        .map(|s| vec![0; s.fields.group_first.len()])
        .collect();
    for (n, &(_, k, g)) in all.iter().enumerate() {
        global[k][g] = n as u32 + 1;
    }
    global
}

/// Column of `shared_group` in the reset list.
const SHARED_GROUP: usize = 7;
/// Bytes of rows gathered before they are written out.
const OUT_BUFFER: usize = 1 << 16;

/// One shard's reset list, read row by row.
struct Cursor {
    reader: csv::Reader<std::fs::File>,
    record: csv::ByteRecord,
    /// Input position of `record`; None when the list is done.
    at: Option<(usize, u64)>,
    /// Rows read so far.
    rows: u64,
}

/// Merge the shards' reset lists in input order into `out`; the number of
/// rows written.
fn merge_rows(shards: &[ShardReport], groups: &[Vec<u32>], out: &mut dyn Write) -> Result<u64> {
    let inputs: HashMap<Vec<u8>, usize> = shards[0]
        .json
        .get("inputs")
        .and_then(Value::as_array)
        .context("shard summary without inputs")?
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let path = input.get("path").and_then(Value::as_str).unwrap_or("");
            (display_name(Path::new(path)).into_bytes(), i)
        })
        .collect();
    let mut cursors = Vec::new();
    let mut heap = BinaryHeap::new();
    for (k, s) in shards.iter().enumerate() {
        let mut reader = csv::ReaderBuilder::new()
            .from_path(&s.reset_list)
            .with_context(|| format!("cannot read {}", s.reset_list.display()))?;
        if reader.byte_headers()? != &csv::ByteRecord::from(reset_list::HEADER.to_vec()) {
            bail!(
                "{}: not a reset list (unexpected header)",
                s.reset_list.display()
            );
        }
        let mut cursor = Cursor {
            reader,
            record: csv::ByteRecord::new(),
            at: None,
            rows: 0,
        };
        advance(&mut cursor, &inputs, s)?;
        if let Some(at) = cursor.at {
            heap.push(Reverse((at, k)));
        }
        cursors.push(cursor);
    }
    let mut buf = Vec::with_capacity(2 * OUT_BUFFER);
    reset_list::push_header(&mut buf);
    let mut rows = 0;
    let mut last = None;
    while let Some(Reverse((at, k))) = heap.pop() {
        if last == Some(at) {
            bail!(
                "{}: row {} is in two shards' reset lists",
                shards[k].name(),
                String::from_utf8_lossy(&cursors[k].record[1])
            );
        }
        last = Some(at);
        let record = &cursors[k].record;
        let group = &record[SHARED_GROUP];
        let global = if group.is_empty() {
            None
        } else {
            let global = std::str::from_utf8(group)
                .ok()
                .and_then(|g| g.parse::<usize>().ok())
                .and_then(|g| groups[k].get(g.checked_sub(1)?))
                .with_context(|| {
                    format!(
                        "{}: a row names a shared group its summary does not list",
                        shards[k].name()
                    )
                })?;
            Some(u64::from(*global))
        };
        let mut row = Row::new(&mut buf);
        for (i, cell) in record.iter().enumerate() {
            if i == SHARED_GROUP {
                row.number(global);
            } else {
                row.cell(cell);
            }
        }
        row.end();
        if buf.len() >= OUT_BUFFER {
            out.write_all(&buf)?;
            buf.clear();
        }
        rows += 1;
        advance(&mut cursors[k], &inputs, &shards[k])?;
        if let Some(next) = cursors[k].at {
            heap.push(Reverse((next, k)));
        }
    }
    out.write_all(&buf)?;
    out.flush()?;
    for (k, s) in shards.iter().enumerate() {
        let listed = cursors[k].rows;
        if listed != s.count("report_rows") {
            bail!(
                "{}: its reset list has {listed} rows, its summary says {}",
                s.name(),
                s.count("report_rows")
            );
        }
    }
    Ok(rows)
}

/// Read the cursor's next row and where it stands in the input.
fn advance(cursor: &mut Cursor, inputs: &HashMap<Vec<u8>, usize>, s: &ShardReport) -> Result<()> {
    let before = cursor.at;
    cursor.at = None;
    if !cursor
        .reader
        .read_byte_record(&mut cursor.record)
        .with_context(|| format!("cannot read {}", s.reset_list.display()))?
    {
        return Ok(());
    }
    cursor.rows += 1;
    let origin = cursor.record.get(1).unwrap_or(b"");
    let at = position(origin, inputs).with_context(|| {
        format!(
            "{}: a row's origin {:?} names no input of the run",
            s.reset_list.display(),
            String::from_utf8_lossy(origin)
        )
    })?;
    if before.is_some_and(|b| b >= at) {
        bail!("{}: rows are not in input order", s.reset_list.display());
    }
    cursor.at = Some(at);
    Ok(())
}

/// (input index, line) of an `origin` cell `FILE:LINE`, which may carry
/// the `'` that keeps spreadsheets from running it.
fn position(origin: &[u8], inputs: &HashMap<Vec<u8>, usize>) -> Option<(usize, u64)> {
    let colon = origin.iter().rposition(|&b| b == b':')?;
    let line = std::str::from_utf8(&origin[colon + 1..])
        .ok()?
        .parse()
        .ok()?;
    let file = &origin[..colon];
    let input = inputs
        .get(file)
        .or_else(|| inputs.get(file.strip_prefix(b"'")?))?;
    Some((*input, line))
}

/// The exit code of the whole audit (see [`combine`]).
fn combined_exit_code(shards: &[ShardReport]) -> Result<u8> {
    let mut codes = Vec::new();
    for s in shards {
        codes.push(s.exit_code()?);
    }
    Ok(combine(&codes))
}

/// 2 from any shard, else 3 over 1 over 0 (an unknown code counts as 2).
fn combine(codes: &[u8]) -> u8 {
    if codes.iter().any(|&c| c > EXIT_INCOMPLETE) {
        return EXIT_ERROR;
    }
    [EXIT_ERROR, EXIT_INCOMPLETE, EXIT_FINDINGS]
        .into_iter()
        .find(|c| codes.contains(c))
        .unwrap_or(EXIT_CLEAN)
}

/// The summary one unsharded run would have written (see the module docs).
fn merged_summary(shards: &[ShardReport]) -> Result<Value> {
    let mut keys: Vec<&String> = shards.iter().flat_map(|s| s.json.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Map::new();
    for key in keys {
        let values: Vec<&Value> = shards
            .iter()
            .map(|s| s.json.get(key).unwrap_or(&Value::Null))
            .collect();
        let merged = match key.as_str() {
            k if SUMMED.contains(&k) => sum(&values, k)?,
            "shared_groups" => shared_groups(shards)?,
            "combolist" => combolist(shards, &values)?,
            "sources" => sources(shards, &values)?,
            "durations_ms" => extreme(&values, Extreme::Max),
            "exit_code" => Value::from(combined_exit_code(shards)?),
            k => same(shards, &values, k)?,
        };
        out.insert(key.clone(), merged);
    }
    out.insert(
        "merged".to_string(),
        serde_json::json!({ "shards": shards.len(), "run": shards[0].fields.run }),
    );
    Ok(Value::Object(out))
}

/// A field every shard must agree on (what was read, how): its one value.
fn same(shards: &[ShardReport], values: &[&Value], field: &str) -> Result<Value> {
    for (k, v) in values.iter().enumerate().skip(1) {
        if *v != values[0] {
            bail!(
                "{} and {} differ in {field} ({} vs {}): every shard reads every input with the same \
                 options, so it must be equal",
                shards[k].name(),
                shards[0].name(),
                short(v),
                short(values[0])
            );
        }
    }
    Ok(values[0].clone())
}

/// A value for a message: JSON, cut short.
fn short(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

/// Counters added up: numbers add, objects add key by key, null is none.
fn sum(values: &[&Value], field: &str) -> Result<Value> {
    let mut total = Value::Null;
    for v in values {
        total = add(&total, v, field)?;
    }
    Ok(total)
}

fn add(a: &Value, b: &Value, field: &str) -> Result<Value> {
    Ok(match (a, b) {
        (Value::Null, v) | (v, Value::Null) => v.clone(),
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_u64(), y.as_u64());
            Value::from(
                x.zip(y)
                    .and_then(|(x, y)| x.checked_add(y))
                    .with_context(|| format!("{field}: not a count"))?,
            )
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut out = x.clone();
            for (k, v) in y {
                let sum = add(x.get(k).unwrap_or(&Value::Null), v, field)?;
                out.insert(k.clone(), sum);
            }
            Value::Object(out)
        }
        (x, y) if x == y => x.clone(),
        _ => bail!("{field}: the shards' values cannot be added"),
    })
}

#[derive(Clone, Copy)]
enum Extreme {
    Max,
    Min,
}

/// The largest (or smallest) of numbers, key by key in objects; null is
/// none.
fn extreme(values: &[&Value], which: Extreme) -> Value {
    let mut best = Value::Null;
    for v in values {
        best = match (&best, *v) {
            (Value::Null, v) | (v, Value::Null) => v.clone(),
            (Value::Number(a), Value::Number(b)) => {
                let (a, b) = (a.as_u64().unwrap_or(0), b.as_u64().unwrap_or(0));
                Value::from(match which {
                    Extreme::Max => a.max(b),
                    Extreme::Min => a.min(b),
                })
            }
            (Value::Object(a), Value::Object(b)) => {
                let mut out = a.clone();
                for (k, v) in b {
                    let pair = [a.get(k).unwrap_or(&Value::Null), v];
                    out.insert(k.clone(), extreme(&pair, which));
                }
                Value::Object(out)
            }
            (a, _) => a.clone(),
        };
    }
    best
}

/// Every shard's groups, with their numbers in the merged list.
fn shared_groups(shards: &[ShardReport]) -> Result<Value> {
    let global = renumber_groups(shards);
    let mut all = Vec::new();
    for (k, s) in shards.iter().enumerate() {
        let groups = s.json.get("shared_groups").and_then(Value::as_array);
        for g in groups.into_iter().flatten() {
            let local = g.get("group").and_then(Value::as_u64).unwrap_or(0) as usize;
            let number = local
                .checked_sub(1)
                .and_then(|i| global[k].get(i))
                .with_context(|| format!("{}: a shared group without its start", s.name()))?;
            let mut g = g.clone();
            g["group"] = Value::from(*number);
            all.push((*number, g));
        }
    }
    all.sort_by_key(|(n, _)| *n);
    Ok(Value::Array(all.into_iter().map(|(_, g)| g).collect()))
}

/// The combolist pass: lines read are per input, pairs and verifications
/// per account, the memory budget the tightest any shard had.
fn combolist(shards: &[ShardReport], values: &[&Value]) -> Result<Value> {
    if values.iter().all(|v| v.is_null()) {
        return Ok(Value::Null);
    }
    let objects: Vec<&Map<String, Value>> = values
        .iter()
        .map(|v| v.as_object().context("combolist: not in every shard"))
        .collect::<Result<_>>()?;
    let mut keys: Vec<&String> = objects.iter().flat_map(|o| o.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Map::new();
    for key in keys {
        let field = format!("combolist.{key}");
        let vs: Vec<&Value> = objects
            .iter()
            .map(|o| o.get(key).unwrap_or(&Value::Null))
            .collect();
        let merged = match key.as_str() {
            k if COMBOLIST_PER_INPUT.contains(&k) => same(shards, &vs, &field)?,
            k if TIMINGS.contains(&k) => extreme(&vs, Extreme::Max),
            "verify_memory_budget" => extreme(&vs, Extreme::Min),
            _ => sum(&vs, &field)?,
        };
        out.insert(key.clone(), merged);
    }
    Ok(Value::Object(out))
}

/// The sources: described as shard 0 found them; their lookups (hashes
/// queried, hits, lines read...) added up per hash kind.
fn sources(shards: &[ShardReport], values: &[&Value]) -> Result<Value> {
    let lists: Vec<&Vec<Value>> = values
        .iter()
        .map(|v| v.as_array().context("sources: not a list"))
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for (i, source) in lists[0].iter().enumerate() {
        let mut merged = source.clone();
        let mut lookups: Vec<((Value, Value), Vec<&Value>)> = Vec::new();
        for (k, list) in lists.iter().enumerate() {
            let s = list.get(i).with_context(|| {
                format!(
                    "{} lists fewer sources than {}",
                    shards[k].name(),
                    shards[0].name()
                )
            })?;
            for field in ["kind", "name"] {
                same(
                    shards,
                    &[&source[field], &s[field]],
                    &format!("sources[{i}].{field}"),
                )?;
            }
            let mut previous: Option<usize> = None;
            for l in s["lookups"].as_array().into_iter().flatten() {
                let key = (l["hash_kind"].clone(), l["history"].clone());
                let at = match lookups.iter().position(|(k, _)| *k == key) {
                    Some(at) => at,
                    None => {
                        // Each shard lists its lookups in the run's order:
                        // one only some shards made goes after the lookup
                        // that came before it there.
                        let at = previous.map_or(0, |p| p + 1);
                        lookups.insert(at, (key, Vec::new()));
                        at
                    }
                };
                lookups[at].1.push(l);
                previous = Some(at);
            }
        }
        let mut merged_lookups = Vec::new();
        for (_, ls) in lookups {
            let mut methods: Vec<&str> = Vec::new();
            for m in ls.iter().filter_map(|l| l["method"].as_str()) {
                if !methods.contains(&m) {
                    methods.push(m);
                }
            }
            let mut counts: Vec<Value> = Vec::new();
            for l in &ls {
                let mut l = (*l).clone();
                if let Some(o) = l.as_object_mut() {
                    o.remove("method");
                    o.remove("duration_ms");
                    o.remove("hash_kind");
                    o.remove("history");
                }
                counts.push(l);
            }
            let field = format!("sources[{i}].lookups");
            let mut l = sum(&counts.iter().collect::<Vec<_>>(), &field)?;
            let durations: Vec<&Value> = ls.iter().map(|l| &l["duration_ms"]).collect();
            l["hash_kind"] = ls[0]["hash_kind"].clone();
            if !ls[0]["history"].is_null() {
                l["history"] = ls[0]["history"].clone();
            }
            l["method"] = Value::from(methods.join("+"));
            l["duration_ms"] = extreme(&durations, Extreme::Max);
            merged_lookups.push(l);
        }
        merged["lookups"] = Value::Array(merged_lookups);
        out.push(merged);
    }
    if let Some((k, _)) = lists
        .iter()
        .enumerate()
        .find(|(_, l)| l.len() != lists[0].len())
    {
        bail!(
            "{} lists more sources than {}",
            shards[k].name(),
            shards[0].name()
        );
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_key_by_key() {
        let a = serde_json::json!({"total": 2, "bad_hex": 2});
        let b = serde_json::json!({"total": 1, "no_hash": 1});
        assert_eq!(
            sum(&[&a, &b], "rows_rejected").unwrap(),
            serde_json::json!({"total": 3, "bad_hex": 2, "no_hash": 1})
        );
        assert!(sum(&[&a, &Value::from("x")], "f").is_err());
    }

    #[test]
    fn exit_codes_combine_2_then_3_then_1_then_0() {
        assert_eq!(combine(&[0, 1, 3, 2]), 2);
        assert_eq!(combine(&[0, 1, 3, 1]), 3);
        assert_eq!(combine(&[1, 0, 0]), 1);
        assert_eq!(combine(&[0, 0]), 0);
        assert_eq!(combine(&[0, 7]), 2);
    }

    #[test]
    fn origins_give_input_positions() {
        let inputs: HashMap<Vec<u8>, usize> =
            [(b"a:b.csv".to_vec(), 0), (b"-x.csv".to_vec(), 1)].into();
        assert_eq!(position(b"a:b.csv:12", &inputs), Some((0, 12)));
        assert_eq!(position(b"'-x.csv:3", &inputs), Some((1, 3)));
        assert_eq!(position(b"c.csv:3", &inputs), None);
        assert_eq!(position(b"a:b.csv:x", &inputs), None);
    }
}
