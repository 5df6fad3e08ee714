//! Plaintext password lists: `--wordlist FILE` (an organisation's banned
//! list, a cracking wordlist) and the built-in list of the most common leaked
//! passwords compiled into the binary.
//!
//! A list answers for any hash kind: its words are hashed, in parallel, into
//! the kind asked for, sorted, and merged against the queries. Lists are held
//! in memory, which suits lists of up to tens of millions of words; bigger
//! corpora belong in the sorted Pwned Passwords format.

use super::{file_facts, label, Answer, Lookup, Source, SourceInfo};
use crate::hash::{hash_into, HashKind};
use crate::input::decompress;
use anyhow::{Context, Result};
use rayon::prelude::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// The built-in list: the 10,000 most common passwords of the zxcvbn
/// frequency list (MIT licence; see fixtures/README.md).
const BUILTIN: &str = include_str!("../../fixtures/builtin-common-passwords.txt");

pub struct PlainList {
    name: String,
    path: Option<PathBuf>,
    words: Vec<Vec<u8>>,
}

const KINDS: [HashKind; 2] = HashKind::ALL;

impl PlainList {
    /// The built-in list of common leaked passwords.
    pub fn builtin() -> PlainList {
        PlainList {
            name: "builtin".to_string(),
            path: None,
            words: BUILTIN.lines().map(|w| w.as_bytes().to_vec()).collect(),
        }
    }

    /// A wordlist file, one password per line (LF or CRLF; gzip and zstd
    /// read transparently). Empty lines are ignored; nothing else is changed.
    pub fn from_file(path: &Path) -> Result<PlainList> {
        Ok(PlainList {
            name: label(path),
            path: Some(path.to_path_buf()),
            words: read_words(path)?,
        })
    }

    /// The words hashed into `kind`, sorted and de-duplicated (flat).
    fn hashed(&self, kind: HashKind) -> Vec<u8> {
        let width = kind.bytes();
        let mut digests: Vec<[u8; 20]> = self
            .words
            .par_iter()
            .filter_map(|w| {
                let mut out = [0u8; 20];
                hash_into(kind, w, &mut out[..width]).ok().map(|_| out)
            })
            .collect();
        digests.par_sort_unstable();
        digests.dedup();
        digests
            .iter()
            .flat_map(|d| d[..width].iter().copied())
            .collect()
    }
}

impl Source for PlainList {
    fn name(&self) -> &str {
        &self.name
    }

    fn kinds(&self) -> &[HashKind] {
        &KINDS
    }

    fn counts(&self) -> bool {
        false
    }

    fn lookup(&self, query: &Lookup<'_>) -> Result<Answer> {
        let width = query.kind.bytes();
        let known = self.hashed(query.kind);
        let known = crate::queryset::Hashes::new(width, &known);
        let mut answer = Answer {
            method: "memory",
            lines_read: Some(self.words.len() as u64),
            ..Answer::default()
        };
        let (mut k, mut q) = (0, 0);
        while k < known.len() && q < query.hashes.len() {
            match known.get(k).cmp(query.hashes.get(q)) {
                std::cmp::Ordering::Less => k += 1,
                std::cmp::Ordering::Greater => q += 1,
                std::cmp::Ordering::Equal => {
                    answer.hits.push((q, None));
                    k += 1;
                    q += 1;
                }
            }
        }
        query.progress.inc(query.hashes.len() as u64);
        Ok(answer)
    }

    fn info(&self) -> SourceInfo {
        let (size, modified) = match &self.path {
            Some(p) => file_facts(p),
            None => (Some(BUILTIN.len() as u64), None),
        };
        SourceInfo {
            kind: match &self.path {
                None => "builtin",
                Some(_) => "wordlist",
            },
            name: self.name.clone(),
            path: self.path.clone(),
            hash_kinds: KINDS.to_vec(),
            size_bytes: size,
            modified_unix: modified,
            entries: Some(self.words.len() as u64),
            words_before_expansion: None,
        }
    }
}

/// A word file, one word per line (LF or CRLF; gzip and zstd read
/// transparently). Empty lines are ignored; nothing else is changed.
pub fn read_words(path: &Path) -> Result<Vec<Vec<u8>>> {
    let (mut reader, compression) = decompress::open(path)
        .with_context(|| format!("cannot open wordlist {}", path.display()))?;
    let mut words = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(|e| {
            anyhow::anyhow!(
                "wordlist {}: after line {}: {}",
                path.display(),
                words.len(),
                decompress::describe_read_error(&e, compression)
            )
        })?;
        if n == 0 {
            break;
        }
        let word = line.strip_suffix(b"\n").unwrap_or(&line);
        let word = word.strip_suffix(b"\r").unwrap_or(word);
        if !word.is_empty() {
            words.push(word.to_vec());
        }
    }
    anyhow::ensure!(
        !words.is_empty(),
        "wordlist {} has no words",
        path.display()
    );
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_holds_the_most_common_passwords() {
        let list = PlainList::builtin();
        assert_eq!(list.words.len(), 10_000);
        assert_eq!(list.words[0], b"123456");
        assert!(list.words.iter().any(|w| w == b"password"));
        let sha = list.hashed(HashKind::Sha1);
        let hashes = crate::queryset::Hashes::new(20, &sha);
        let mut target = [0u8; 20];
        crate::hash::decode_hex(b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8", &mut target);
        assert_eq!(hashes.get(hashes.lower_bound(&target)), &target);
    }
}
