//! A Pwned Passwords mirror as one file per 5-hex prefix, `00000.txt` to
//! `FFFFF.txt`, each holding `SUFFIX:COUNT` lines: the layout the official
//! downloader and `credaudit download` write.
//!
//! Only the prefix files of the queried hashes are read. A prefix file that
//! is missing makes its hashes unchecked (fail closed), with a warning that
//! counts them; a malformed one is an error naming file and line.

use super::{file_facts, hibp_line, label, Answer, Hits, Lookup, Source, SourceInfo};
use crate::hash::{decode_hex, HashKind};
use anyhow::{anyhow, bail, Context, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

pub struct PrefixDir {
    path: PathBuf,
    name: String,
    kind: [HashKind; 1],
}

impl PrefixDir {
    pub fn open(path: &Path) -> Result<PrefixDir> {
        let sample = Self::sample_file(path)?;
        let text =
            std::fs::read(&sample).with_context(|| format!("cannot read {}", sample.display()))?;
        let first = text.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let width = first.iter().position(|&b| b == b':').unwrap_or(0);
        let kind = match width {
            35 => HashKind::Sha1,
            27 => HashKind::Ntlm,
            _ => bail!(
                "{}:1: not a Pwned Passwords range line: expected a 35-hex (SHA-1) or 27-hex (NTLM) suffix, ':' and a count",
                sample.display()
            ),
        };
        Ok(PrefixDir {
            path: path.to_path_buf(),
            name: label(path),
            kind: [kind],
        })
    }

    /// `00000.txt`, or failing that the first prefix file in the directory.
    fn sample_file(dir: &Path) -> Result<PathBuf> {
        let first = dir.join("00000.txt");
        if first.is_file() {
            return Ok(first);
        }
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.len() == 9
                && name.ends_with(".txt")
                && crate::hash::is_hex(&name.as_bytes()[..5])
            {
                return Ok(entry.path());
            }
        }
        bail!(
            "corpus directory {} holds no prefix files (00000.txt ... FFFFF.txt)",
            dir.display()
        )
    }

    fn prefix_path(&self, prefix: u32) -> PathBuf {
        self.path.join(format!("{prefix:05X}.txt"))
    }

    /// Answer the queries `[start, end)`, which all share `prefix`.
    /// `Ok(None)` when the prefix file does not exist.
    fn answer_prefix(
        &self,
        prefix: u32,
        query: &Lookup<'_>,
        start: usize,
        end: usize,
    ) -> Result<Option<(Hits, u64)>> {
        let file = self.prefix_path(prefix);
        let text = match std::fs::read(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow!("cannot read {}: {e}", file.display())),
        };
        let kind = self.kind[0];
        let suffix_width = kind.hex_len() - 5;
        let mut full_hex = [0u8; 40];
        full_hex[..5].copy_from_slice(format!("{prefix:05X}").as_bytes());
        let mut key = [0u8; 20];
        let mut prev = [0u8; 20];
        let n = kind.bytes();
        let mut qi = start;
        let mut hits = Vec::new();
        let mut lines = 0u64;
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() || line == b"\r" {
                continue;
            }
            let bad = || {
                anyhow!(
                    "{}:{}: malformed line: expected {suffix_width}-hex suffix, ':' and a count",
                    file.display(),
                    i + 1
                )
            };
            let (suffix, count) = hibp_line::split(line, suffix_width).ok_or_else(bad)?;
            full_hex[5..5 + suffix_width].copy_from_slice(suffix);
            if !decode_hex(&full_hex[..kind.hex_len()], &mut key[..n]) {
                return Err(bad());
            }
            if lines > 0 && key[..n] < prev[..n] {
                bail!(
                    "{}:{}: prefix file is not sorted by hash",
                    file.display(),
                    i + 1
                );
            }
            while qi < end && query.hashes.get(qi) < &key[..n] {
                qi += 1;
            }
            if qi < end && query.hashes.get(qi) == &key[..n] && count > 0 {
                hits.push((qi, Some(count)));
            }
            prev = key;
            lines += 1;
        }
        Ok(Some((hits, lines)))
    }
}

impl Source for PrefixDir {
    fn name(&self) -> &str {
        &self.name
    }

    fn kinds(&self) -> &[HashKind] {
        &self.kind
    }

    fn counts(&self) -> bool {
        true
    }

    fn lookup(&self, query: &Lookup<'_>) -> Result<Answer> {
        if query.kind != self.kind[0] || query.hashes.is_empty() {
            return Ok(Answer::default());
        }
        let groups = query.hashes.prefix_groups();
        let results: Vec<_> = groups
            .par_iter()
            .map(|&(prefix, start, end)| {
                let r = self.answer_prefix(prefix, query, start, end);
                query.progress.inc((end - start) as u64);
                r.map(|found| (prefix, start, end, found))
            })
            .collect::<Result<_>>()?;
        let mut answer = Answer {
            method: "prefix-files",
            lines_read: Some(0),
            ..Answer::default()
        };
        let mut missing = Vec::new();
        for (prefix, start, end, found) in results {
            match found {
                Some((hits, lines)) => {
                    answer.hits.extend(hits);
                    answer.lines_read = answer.lines_read.map(|l| l + lines);
                }
                None => {
                    missing.push(prefix);
                    answer.unchecked.extend(start..end);
                }
            }
        }
        if let Some(first) = missing.first() {
            answer.warning = Some(format!(
                "corpus directory {}: {} prefix file(s) missing (first: {}); {} hash(es) could not be checked",
                self.path.display(),
                missing.len(),
                self.prefix_path(*first).display(),
                answer.unchecked.len()
            ));
        }
        Ok(answer)
    }

    fn info(&self) -> SourceInfo {
        let (_, modified) = file_facts(&self.path);
        SourceInfo {
            kind: "hibp-prefix-dir",
            name: self.name.clone(),
            path: Some(self.path.clone()),
            hash_kinds: self.kind.to_vec(),
            size_bytes: None,
            modified_unix: modified,
            entries: None,
            words_before_expansion: None,
        }
    }
}
