//! The one serial step of a build: take parsed chunks in source order,
//! check that each continues the last (order across chunks and sources),
//! append their records, and count what the table, the overflow table and
//! the coverage rule need. Then lay out the rest of the store.

use super::super::layout::{Header, Section, Shape, BLOCK, HEADER_LEN, RECORD_PADDING};
use super::coverage::Coverage;
use super::parse::{Parsed, Problem, Run};
use crate::sorted_key::Key;
use anyhow::{anyhow, Result};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

/// Size of the store's write buffer.
const WRITE_BUFFER: usize = 8 << 20;
/// Records rewritten per step when the store is narrowed.
const NARROW_RECORDS: usize = 1 << 20;

/// Block checksums of the bytes written from [`HEADER_LEN`] on.
struct BlockSums {
    hasher: Xxh3,
    in_block: u64,
    sums: Vec<u64>,
}

impl BlockSums {
    fn new() -> BlockSums {
        BlockSums {
            hasher: Xxh3::new(),
            in_block: 0,
            sums: Vec::new(),
        }
    }

    fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let take = bytes.len().min((BLOCK - self.in_block) as usize);
            self.hasher.update(&bytes[..take]);
            self.in_block += take as u64;
            bytes = &bytes[take..];
            if self.in_block == BLOCK {
                self.sums.push(self.hasher.digest());
                self.hasher.reset();
                self.in_block = 0;
            }
        }
    }

    fn finish(mut self) -> Vec<u64> {
        if self.in_block > 0 {
            self.sums.push(self.hasher.digest());
        }
        self.sums
    }
}

/// The store file being written, with its position and block checksums.
struct Output {
    file: BufWriter<File>,
    pos: u64,
    sums: BlockSums,
}

impl Output {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.sums.update(bytes);
        self.pos += bytes.len() as u64;
        Ok(())
    }
}

/// Where a source's lines are, for messages.
pub(super) struct SourceName {
    pub path: PathBuf,
    /// Lines read so far.
    pub lines: u64,
}

pub(super) struct Assembler {
    out: Output,
    /// The shape records are written in (narrowed at the end if the store
    /// turned out large enough for bigger buckets).
    shape: Shape,
    /// Kept entries per 24-bit bucket.
    buckets: Vec<u64>,
    pub coverage: Coverage,
    /// (record index, count) pairs for counts above 254, in order, spilled
    /// to a temporary file: a corpus with many large counts would
    /// otherwise hold gigabytes of them in memory.
    overflow: BufWriter<File>,
    overflow_count: u64,
    pub kept: u64,
    pub lines: u64,
    pub dropped: u64,
    pub max_count: u64,
    pub collisions: u64,
    /// The prefix being counted, and its kept entries so far.
    prefix: Option<Run>,
    pub max_prefix_entries: u64,
    last: Option<Key>,
    last_kept: Option<u64>,
    last_source: Option<usize>,
    pub sources: Vec<SourceName>,
}

impl Assembler {
    /// `spill` is an empty temporary file for the overflow pairs.
    pub fn new(
        file: File,
        spill: File,
        shape: Shape,
        sources: Vec<SourceName>,
    ) -> Result<Assembler> {
        let mut file = file;
        file.seek(SeekFrom::Start(HEADER_LEN))?;
        Ok(Assembler {
            out: Output {
                file: BufWriter::with_capacity(WRITE_BUFFER, file),
                pos: HEADER_LEN,
                sums: BlockSums::new(),
            },
            shape,
            buckets: vec![0; 1 << 24],
            coverage: Coverage::default(),
            overflow: BufWriter::with_capacity(WRITE_BUFFER, spill),
            overflow_count: 0,
            kept: 0,
            lines: 0,
            dropped: 0,
            max_count: 0,
            collisions: 0,
            prefix: None,
            max_prefix_entries: 0,
            last: None,
            last_kept: None,
            last_source: None,
            sources,
        })
    }

    pub fn overflow_count(&self) -> u64 {
        self.overflow_count
    }

    /// The error for line `line` of the chunk `p` (or of its prefix file).
    fn error_at(
        &self,
        p: &Parsed,
        line: u64,
        file: Option<PathBuf>,
        problem: &Problem,
    ) -> anyhow::Error {
        let (path, line) = match file {
            Some(f) => (f, line),
            None => {
                let s = &self.sources[p.source];
                (s.path.clone(), s.lines + line)
            }
        };
        anyhow!("{}:{line}: {}", path.display(), problem.describe())
    }

    /// Take the next chunk in order.
    pub fn accept(&mut self, p: Parsed) -> Result<()> {
        if let Some(e) = &p.error {
            return Err(self.error_at(&p, e.line, e.file.clone(), &e.problem));
        }
        if let (Some(prev), Some(first)) = (self.last, p.first) {
            if first <= prev {
                let problem = if first == prev {
                    Problem::Duplicate
                } else {
                    Problem::Unsorted
                };
                let mut error = self.error_at(&p, 1, p.first_file.clone(), &problem);
                if self.last_source != Some(p.source) {
                    error =
                        error.context(format!(
                        "{} does not continue {}: give the sources in hash order, without overlap",
                        self.sources[p.source].path.display(),
                        self.sources[self.last_source.expect("a previous chunk")].path.display()
                    ));
                }
                return Err(error);
            }
            self.coverage.note_gap(prev.top(), first.top());
        }
        if let (Some(prev), Some(first)) = (self.last_kept, p.first_kept) {
            self.collisions += u64::from(!self.shape.full_keys && prev == first);
        }
        self.out.write(&p.records)?;
        for run in &p.buckets {
            self.buckets[run.at as usize] += run.kept;
        }
        for run in &p.prefixes {
            match &mut self.prefix {
                Some(cur) if cur.at == run.at => cur.kept += run.kept,
                cur => {
                    *cur = Some(*run);
                }
            }
            let kept = self.prefix.map_or(0, |r| r.kept);
            self.max_prefix_entries = self.max_prefix_entries.max(kept);
            self.coverage.line_in(run.at);
        }
        for &prefix in &p.files {
            self.coverage.file_for(prefix);
        }
        for &(a, b) in &p.gaps {
            self.coverage.note_gap(a, b);
        }
        for &(i, count) in &p.overflow {
            self.overflow.write_all(&(self.kept + i).to_le_bytes())?;
            self.overflow.write_all(&count.to_le_bytes())?;
        }
        self.overflow_count += p.overflow.len() as u64;
        self.coverage.bounds(p.first, p.last);
        self.lines += p.lines;
        self.kept += p.kept;
        self.dropped += p.dropped;
        self.max_count = self.max_count.max(p.max_count);
        self.collisions += p.collisions;
        self.sources[p.source].lines += p.lines;
        self.last = p.last.or(self.last);
        self.last_kept = p.last_kept.or(self.last_kept);
        if p.last.is_some() {
            self.last_source = Some(p.source);
        }
        Ok(())
    }

    /// Lay out the rest of the store after the records: narrow them if the
    /// store is large enough for bigger buckets, write the table, overflow,
    /// uncovered stretches and `meta`, the checksums, then the header.
    pub fn finish(
        mut self,
        min_count: u64,
        uncovered: &[(u64, u64)],
        meta: &[u8],
    ) -> Result<(File, Header)> {
        let best = Shape::for_entries(self.shape.kind, self.shape.full_keys, self.kept);
        if best.bucket_bits > self.shape.bucket_bits {
            self.narrow(best)?;
        }
        let shape = self.shape;
        let records = Section {
            offset: HEADER_LEN,
            len: self.out.pos - HEADER_LEN,
        };
        let pad = RECORD_PADDING + (8 - (self.out.pos + RECORD_PADDING) % 8) % 8;
        self.out.write(&vec![0; pad as usize])?;
        let mut tail = Xxh3::new();
        let table_offset = self.out.pos;
        let mut write_tail = |out: &mut Output, bytes: &[u8]| -> std::io::Result<()> {
            tail.update(bytes);
            out.write(bytes)
        };
        // The table: index of each bucket's first record, at this shape.
        let per = 1usize << (24 - shape.bucket_bits);
        let mut table = Vec::with_capacity((shape.buckets() + 1) * 8);
        let mut total = 0u64;
        for bucket in self.buckets.chunks(per) {
            table.extend_from_slice(&total.to_le_bytes());
            total += bucket.iter().sum::<u64>();
        }
        table.extend_from_slice(&total.to_le_bytes());
        debug_assert_eq!(total, self.kept);
        write_tail(&mut self.out, &table)?;
        let table_section = Section {
            offset: table_offset,
            len: table.len() as u64,
        };
        drop(table);
        let overflow = {
            let offset = self.out.pos;
            let mut spill = self.overflow.into_inner().map_err(|e| e.into_error())?;
            spill.seek(SeekFrom::Start(0))?;
            let mut piece = vec![0u8; WRITE_BUFFER];
            loop {
                let n = spill.read(&mut piece)?;
                if n == 0 {
                    break;
                }
                self.out.write(&piece[..n])?;
            }
            Section {
                offset,
                len: self.out.pos - offset,
            }
        };
        let pairs: Vec<u8> = uncovered
            .iter()
            .flat_map(|&(a, b)| a.to_le_bytes().into_iter().chain(b.to_le_bytes()))
            .collect();
        let uncovered_section = Section {
            offset: self.out.pos,
            len: pairs.len() as u64,
        };
        write_tail(&mut self.out, &pairs)?;
        let meta_section = Section {
            offset: self.out.pos,
            len: meta.len() as u64,
        };
        write_tail(&mut self.out, meta)?;
        let sums: Vec<u8> = std::mem::replace(&mut self.out.sums, BlockSums::new())
            .finish()
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let checksums = Section {
            offset: self.out.pos,
            len: sums.len() as u64,
        };
        self.out.write(&sums)?;
        let header = Header {
            shape,
            entries: self.kept,
            min_count,
            max_count: self.max_count,
            file_len: self.out.pos,
            records,
            table: table_section,
            overflow,
            uncovered: uncovered_section,
            meta: meta_section,
            checksums,
            block_size: BLOCK,
            tail_digest: tail.digest(),
            checksums_digest: xxh3_64(&sums),
        };
        let file = self.out.file.into_inner().map_err(|e| e.into_error())?;
        file.set_len(header.file_len)?;
        file.write_all_at(&header.encode(), 0)?;
        Ok((file, header))
    }

    /// Rewrite the records in place with `shape`'s bigger buckets: each
    /// record loses its leading key bytes (now part of the bucket). Only a
    /// build whose size was not known ahead (a stream, compressed input)
    /// comes here.
    fn narrow(&mut self, shape: Shape) -> Result<()> {
        self.out.file.flush()?;
        let file = self.out.file.get_ref();
        let (old, new) = (self.shape.record_bytes(), shape.record_bytes());
        let drop_bytes = old - new;
        let mut sums = BlockSums::new();
        let mut buf = vec![0u8; NARROW_RECORDS * old];
        let mut narrowed = Vec::with_capacity(NARROW_RECORDS * new);
        let mut done = 0u64;
        while done < self.kept {
            let n = (self.kept - done).min(NARROW_RECORDS as u64) as usize;
            let from = HEADER_LEN + done * old as u64;
            file.read_exact_at(&mut buf[..n * old], from)?;
            narrowed.clear();
            for record in buf[..n * old].chunks_exact(old) {
                narrowed.extend_from_slice(&record[drop_bytes..]);
            }
            // Written behind what is still to be read: new <= old.
            file.write_all_at(&narrowed, HEADER_LEN + done * new as u64)?;
            sums.update(&narrowed);
            done += n as u64;
        }
        self.out.pos = HEADER_LEN + self.kept * new as u64;
        self.out.file.seek(SeekFrom::Start(self.out.pos))?;
        self.out.sums = sums;
        self.shape = shape;
        Ok(())
    }
}
