//! `credaudit index build`: compile sorted corpus files or mirror
//! directories into one store, checking every line on the way.
//!
//! Three kinds of thread: one reads the sources in order (and digests them),
//! workers on every core parse chunks into records ([`parse`]), and this
//! thread takes the parsed chunks back in order and appends them
//! ([`assemble`]). A bounded number of chunks is in flight, so memory stays
//! flat whatever the corpus size (the 24-bit bucket counts, 128 MiB, are the
//! largest part). The store is written to a temporary file beside `--out`
//! and renamed into place only when complete: an error leaves nothing.

mod assemble;
mod coverage;
mod input;
mod parse;

use super::layout::{Header, Shape};
use super::meta::{Meta, SourceIdentity};
use crate::atomic_file;
use anyhow::{bail, Context, Result};
use assemble::{Assembler, SourceName};
use indicatif::ProgressBar;
use input::{BufferPool, SourceReader};
use parse::{Job, Parsed, Settings};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Chunks waiting for a worker, and parsed chunks waiting for the assembler.
const IN_FLIGHT: usize = 4;

#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub out: PathBuf,
    pub sources: Vec<PathBuf>,
    /// Keep whole hashes (what `serve` needs) instead of 64 bits.
    pub full_keys: bool,
    /// Leave out hashes seen fewer times.
    pub min_count: u64,
    /// Build even though part of hash space has no data (recorded; lookups
    /// there are unchecked).
    pub allow_missing: bool,
}

/// What a build made.
pub struct Built {
    pub header: Header,
    pub meta: Meta,
}

pub fn build(options: &BuildOptions, progress: &ProgressBar) -> Result<Built> {
    build_shaped(options, progress, None)
}

/// [`build`] with `bucket_bits` buckets instead of what the size asks for:
/// for tests of the layouts of corpora too large to build in one.
pub(crate) fn build_shaped(
    options: &BuildOptions,
    progress: &ProgressBar,
    bucket_bits: Option<u32>,
) -> Result<Built> {
    let started = Instant::now();
    let stdin_uses = options
        .sources
        .iter()
        .filter(|p| p.as_os_str() == "-")
        .count();
    if stdin_uses > 1 {
        bail!("standard input (-) can be given once");
    }
    let pool = BufferPool::default();
    let mut readers = options
        .sources
        .iter()
        .map(|p| SourceReader::open(p, &pool))
        .collect::<Result<Vec<_>>>()?;
    let mirrors = readers.iter().filter(|r| r.is_mirror()).count();
    if mirrors != 0 && mirrors != readers.len() {
        bail!("give either sorted corpus files or mirror directories, not both in one store");
    }
    let Some(first) = readers[0].next_chunk()? else {
        bail!("{}: empty corpus", options.sources[0].display());
    };
    let kind = input::kind_of(&first, &options.sources[0])?;
    // The record shape follows the entry count; estimate it from the sizes
    // where they say it, else start narrow-bucketed and narrow at the end.
    let sizes: Option<u64> = readers
        .iter()
        .zip(&options.sources)
        .map(|(r, p)| r.sized(p))
        .sum();
    let estimate = sizes.map_or(0, |bytes| (bytes as f64 / input::line_bytes(&first)) as u64);
    let shape = bucket_bits.map_or_else(
        || Shape::for_entries(kind, options.full_keys, estimate),
        |bits| Shape::new(kind, options.full_keys, bits),
    );
    let settings = Settings {
        shape,
        min_count: options.min_count,
    };
    if let Some(bytes) = sizes {
        progress.set_length(bytes);
    }

    let tmp = atomic_file::temp_beside(&options.out, atomic_file::STORE)?;
    let names = options
        .sources
        .iter()
        .map(|p| SourceName {
            path: p.clone(),
            lines: 0,
        })
        .collect();
    let dir = match options.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let spill = tempfile::tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let mut assembler = Assembler::new(tmp.as_file().try_clone()?, spill, shape, names)?;

    let (job_tx, job_rx) = sync_channel::<Job>(IN_FLIGHT);
    let (done_tx, done_rx) = sync_channel::<Parsed>(IN_FLIGHT);
    // Workers share the queue; when the last one stops (the assembler
    // failed), the queue closes and the reader stops too.
    let job_rx = Arc::new(Mutex::new(job_rx));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (assembled, facts) = std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> Result<Vec<input::SourceFacts>> {
            let mut facts = Vec::new();
            let mut seq = 0;
            let mut pending = Some(first);
            for (source, (mut reader, path)) in readers.drain(..).zip(&options.sources).enumerate()
            {
                loop {
                    let body = match pending.take() {
                        Some(body) => body,
                        None => match reader.next_chunk()? {
                            Some(body) => body,
                            None => break,
                        },
                    };
                    progress.inc(body_len(&body));
                    if job_tx.send(Job { seq, source, body }).is_err() {
                        return Ok(facts); // the assembler stopped: its error says why
                    }
                    seq += 1;
                }
                facts.push(reader.finish(path));
            }
            Ok(facts)
        });
        for _ in 0..workers {
            let (job_rx, done_tx, settings) = (Arc::clone(&job_rx), done_tx.clone(), &settings);
            let pool = pool.clone();
            scope.spawn(move || loop {
                let job = job_rx.lock().expect("no panic holding the queue").recv();
                let Ok(job) = job else { return };
                let parsed = parse::parse(&job, settings);
                if let parse::Body::Lines(lines) = job.body {
                    pool.put(lines.buf);
                }
                if done_tx.send(parsed).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        drop(job_rx);
        let assembled = assemble_in_order(&mut assembler, done_rx);
        let facts = reader.join().expect("the reader does not panic");
        (assembled, facts)
    });
    // A read error ends the stream early: report it before anything else.
    let facts = facts?;
    assembled?;

    if assembler.lines == 0 {
        bail!("no corpus lines in {}", describe_sources(&options.sources));
    }
    let judged = assembler.coverage.judge(assembler.lines, mirrors > 0);
    if !judged.uncovered.is_empty() && !options.allow_missing {
        bail!(
            "the corpus does not cover all of hash space: {} stretch(es) have no data, first {} \
             (rule: {}; {} of 1048576 prefixes empty); a download cut short? Fetch what is missing \
             (`credaudit download` resumes), or pass --allow-missing to build anyway: lookups \
             there will be unchecked",
            judged.missing.len(),
            judged.missing[0],
            judged.rule,
            judged.empty_prefixes
        );
    }
    let meta = Meta {
        credaudit_version: env!("CARGO_PKG_VERSION").to_string(),
        built_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        build_seconds: started.elapsed().as_secs_f64(),
        sources: facts
            .into_iter()
            .zip(&assembler.sources)
            .map(|(f, s)| SourceIdentity {
                path: s.path.display().to_string(),
                layout: f.layout.to_string(),
                compression: format!("{:?}", f.compression).to_lowercase(),
                size_bytes: f.size_bytes,
                modified_unix: f.modified_unix,
                lines: s.lines,
                blake3: f.blake3,
            })
            .collect(),
        lines: assembler.lines,
        dropped_below_min_count: assembler.dropped,
        empty_prefixes: judged.empty_prefixes,
        coverage_rule: judged.rule.to_string(),
        missing: judged.missing,
        max_prefix_entries: assembler.max_prefix_entries,
        overflow_counts: assembler.overflow_count(),
        truncated_key_collisions: assembler.collisions,
    };
    let json = serde_json::to_vec(&meta)?;
    let (_, header) = assembler
        .finish(options.min_count, &judged.uncovered, &json)
        .with_context(|| format!("cannot write {}", options.out.display()))?;
    atomic_file::persist(tmp, &options.out, atomic_file::STORE)?;
    Ok(Built { header, meta })
}

/// Hand parsed chunks to the assembler in sequence order, whatever order
/// the workers finish them in.
fn assemble_in_order(assembler: &mut Assembler, done: Receiver<Parsed>) -> Result<()> {
    let mut waiting: BTreeMap<u64, Parsed> = BTreeMap::new();
    let mut next = 0;
    for parsed in done {
        waiting.insert(parsed.seq, parsed);
        while let Some(p) = waiting.remove(&next) {
            assembler.accept(p)?;
            next += 1;
        }
    }
    Ok(())
}

fn body_len(body: &parse::Body) -> u64 {
    match body {
        parse::Body::Lines(lines) => lines.len as u64,
        parse::Body::PrefixFiles(files) => files.iter().map(|f| f.bytes.len() as u64).sum(),
    }
}

fn describe_sources(sources: &[PathBuf]) -> String {
    sources
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
