//! A Pwned Passwords mirror as one file per 5-hex prefix, `00000.txt` to
//! `FFFFF.txt`, each holding `SUFFIX:COUNT` lines: the layout the official
//! downloader and `credaudit download` write.
//!
//! Only the prefix files of the queried hashes are read, each in full and by
//! the one set of body rules ([`crate::hibp::body`]) that `download
//! --verify` and the range API apply too. A prefix file that is missing
//! makes its hashes unchecked (fail closed), with a warning that counts them
//! (a download that stopped early leaves exactly that); one that breaks a
//! rule is an error naming file and line.

use super::{file_facts, label, prefix_hits, Answer, Hits, Lookup, Source, SourceInfo};
use crate::hash::HashKind;
use crate::hibp::body::{split_line, suffix_width, SuffixList};
use crate::hibp::prefix;
use anyhow::{anyhow, bail, Context, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

pub struct PrefixDir {
    path: PathBuf,
    name: String,
    kind: [HashKind; 1],
}

impl PrefixDir {
    /// Open a mirror directory; the hash kind is read from the suffix
    /// width of the first line of a prefix file.
    pub fn open(path: &Path) -> Result<PrefixDir> {
        let sample = Self::sample_file(path)?;
        let text =
            std::fs::read(&sample).with_context(|| format!("cannot read {}", sample.display()))?;
        let first = text.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let Some(kind) = [HashKind::Sha1, HashKind::Ntlm]
            .into_iter()
            .find(|&k| split_line(first, suffix_width(k)).is_some())
        else {
            bail!(
                "{}: line 1: not a Pwned Passwords range line: expected a 35-hex (SHA-1) or 27-hex (NTLM) suffix, ':' and a count",
                sample.display()
            )
        };
        Ok(PrefixDir {
            path: path.to_path_buf(),
            name: label(path),
            kind: [kind],
        })
    }

    /// `00000.txt`, or failing that the first prefix file in the directory;
    /// empty files say nothing about the kind and are passed over.
    fn sample_file(dir: &Path) -> Result<PathBuf> {
        let nonempty = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0);
        let first = prefix::file_path(dir, 0);
        if nonempty(&first) {
            return Ok(first);
        }
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries.flatten() {
            let is_prefix = entry
                .file_name()
                .to_str()
                .and_then(prefix::from_file_name)
                .is_some();
            if is_prefix && nonempty(&entry.path()) {
                return Ok(entry.path());
            }
        }
        bail!(
            "corpus directory {} holds no prefix files (00000.txt ... FFFFF.txt)",
            dir.display()
        )
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
        let file = prefix::file_path(&self.path, prefix);
        let text = match std::fs::read(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow!("cannot read {}: {e}", file.display())),
        };
        let list = SuffixList::parse(&text, self.kind[0])
            .map_err(|e| anyhow!("{}: {e}", file.display()))?;
        let hits = prefix_hits(&list, prefix, query, start, end);
        Ok(Some((hits, list.entry_count() as u64)))
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
                prefix::file_path(&self.path, *first).display(),
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
