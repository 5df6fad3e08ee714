//! `--banned FILE` as a source: the words' candidate expansion
//! ([`crate::policy::banned::expand`]) hashed and looked up without ever
//! being held as a list.
//!
//! Partial substitutions make the expansion millions of candidates for a
//! hundred words, too many to hash, sort and merge like a wordlist in the
//! time a dump of a hundred thousand accounts deserves. So the queries are
//! indexed instead (a directory on their leading bits: they are already
//! sorted), and every candidate is hashed on the fly, on all cores, and
//! looked up; NTLM candidates eight at a time on the AVX2 lanes.

use super::{file_facts, label, Answer, Lookup, Source, SourceInfo};
use crate::findings::Reason;
use crate::hash::{fits_one_block, hash_into, HashKind, NtlmLanes, LANES};
use crate::policy::banned::expand::Expansion;
use crate::queryset::Hashes;
use anyhow::Result;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

const KINDS: [HashKind; 2] = HashKind::ALL;
/// Longest candidate hashed, in bytes (longer bases are skipped).
const MAX_CANDIDATE: usize = 256;

pub struct BannedList {
    name: String,
    /// The `--banned` file (None for the organisation's own names).
    path: Option<PathBuf>,
    words: u64,
    expansion: Expansion,
}

impl BannedList {
    /// `--banned FILE`, whose `words` have been read.
    pub fn from_file(path: &Path, words: &[Vec<u8>], this_year: u32) -> BannedList {
        BannedList {
            name: label(path),
            path: Some(path.to_path_buf()),
            words: words.len() as u64,
            expansion: Expansion::new(words, this_year),
        }
    }

    /// The organisation's own names, from no file: `--org` (source
    /// `org-words`) or found in the export (`export-org-words`).
    pub fn org(name: &str, words: &[Vec<u8>], this_year: u32) -> BannedList {
        BannedList {
            name: name.to_string(),
            path: None,
            words: words.len() as u64,
            expansion: Expansion::new(words, this_year),
        }
    }

    /// Indexes into `hashes` of the candidates of one base.
    fn hits_of(&self, base: &[u8], kind: HashKind, index: &Directory<'_>) -> Vec<usize> {
        let mut hits = Vec::new();
        let longest = self.expansion.endings.iter().map(Vec::len).max();
        let mut candidate = [0u8; MAX_CANDIDATE];
        if base.len() + longest.unwrap_or(0) > MAX_CANDIDATE {
            return hits;
        }
        candidate[..base.len()].copy_from_slice(base);
        let lanes_fit = kind == HashKind::Ntlm
            && self
                .expansion
                .endings
                .iter()
                .all(|e| fits_one_block(&[base, e]));
        if lanes_fit {
            for chunk in self.expansion.endings.chunks(LANES) {
                let mut lanes = NtlmLanes::default();
                for ending in chunk {
                    let n = base.len() + ending.len();
                    candidate[base.len()..n].copy_from_slice(ending);
                    lanes.push(&candidate[..n]);
                }
                let digests = lanes.digests();
                hits.extend(digests[..chunk.len()].iter().filter_map(|d| index.find(d)));
            }
            return hits;
        }
        let mut digest = [0u8; 20];
        let width = kind.bytes();
        for ending in &self.expansion.endings {
            let n = base.len() + ending.len();
            candidate[base.len()..n].copy_from_slice(ending);
            if hash_into(kind, &candidate[..n], &mut digest[..width]).is_ok() {
                hits.extend(index.find(&digest[..width]));
            }
        }
        hits
    }
}

impl Source for BannedList {
    fn name(&self) -> &str {
        &self.name
    }

    fn kinds(&self) -> &[HashKind] {
        &KINDS
    }

    fn counts(&self) -> bool {
        false
    }

    fn reason(&self) -> Reason {
        Reason::Banned
    }

    fn lookup(&self, query: &Lookup<'_>) -> Result<Answer> {
        let index = Directory::new(query.hashes);
        let mut found: Vec<usize> = self
            .expansion
            .bases
            .par_iter()
            .flat_map_iter(|base| self.hits_of(base, query.kind, &index))
            .collect();
        found.sort_unstable();
        found.dedup();
        query.progress.inc(query.hashes.len() as u64);
        Ok(Answer {
            hits: found.into_iter().map(|q| (q, None)).collect(),
            method: "expansion",
            lines_read: Some(self.expansion.candidate_count()),
            ..Answer::default()
        })
    }

    fn info(&self) -> SourceInfo {
        let (size, modified) = self.path.as_deref().map_or((None, None), file_facts);
        SourceInfo {
            kind: "banned-words",
            name: self.name.clone(),
            path: self.path.clone(),
            hash_kinds: KINDS.to_vec(),
            size_bytes: size,
            modified_unix: modified,
            entries: Some(self.expansion.candidate_count()),
            words_before_expansion: Some(self.words),
        }
    }
}

/// Sorted hashes indexed by their leading bits: a candidate is compared
/// with the one or two queries sharing its bucket, not searched for.
struct Directory<'a> {
    hashes: Hashes<'a>,
    bits: u32,
    /// Bucket `p` holds queries `starts[p]..starts[p + 1]`.
    starts: Vec<u32>,
}

impl<'a> Directory<'a> {
    fn new(hashes: Hashes<'a>) -> Directory<'a> {
        let bits = (hashes.len().max(2).ilog2() + 1).min(26);
        let mut starts = vec![0u32; (1 << bits) + 1];
        for i in 0..hashes.len() {
            starts[Self::bucket(bits, hashes.get(i)) + 1] += 1;
        }
        for p in 1..starts.len() {
            starts[p] += starts[p - 1];
        }
        Directory {
            hashes,
            bits,
            starts,
        }
    }

    fn bucket(bits: u32, hash: &[u8]) -> usize {
        let top = u32::from_be_bytes(hash[..4].try_into().expect("hashes are 16 or 20 bytes"));
        (top >> (32 - bits)) as usize
    }

    /// The index of `hash` among the queries, if it is one.
    fn find(&self, hash: &[u8]) -> Option<usize> {
        let p = Self::bucket(self.bits, hash);
        (self.starts[p] as usize..self.starts[p + 1] as usize).find(|&i| self.hashes.get(i) == hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{ntlm, sha1};

    /// Looks `passwords` up (as `kind` hashes) in the expansion of `words`.
    fn found(words: &[&str], kind: HashKind, passwords: &[&str]) -> Vec<bool> {
        let words: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        let list = BannedList::org("test", &words, 2026);
        let mut hashes: Vec<Vec<u8>> = passwords
            .iter()
            .map(|p| match kind {
                HashKind::Ntlm => ntlm(p.as_bytes()).unwrap().to_vec(),
                HashKind::Sha1 => sha1(p.as_bytes()).to_vec(),
            })
            .collect();
        let order: Vec<Vec<u8>> = hashes.clone();
        hashes.sort();
        let flat = hashes.concat();
        let bar = indicatif::ProgressBar::hidden();
        let answer = list
            .lookup(&Lookup {
                kind,
                hashes: Hashes::new(kind.bytes(), &flat),
                progress: &bar,
            })
            .unwrap();
        order
            .iter()
            .map(|h| {
                let q = hashes.binary_search(h).unwrap();
                answer.hits.iter().any(|&(i, _)| i == q)
            })
            .collect()
    }

    #[test]
    fn partial_substitutions_are_found_in_hashes() {
        let passwords = [
            "P@ssword",
            "Passw0rd",
            "P@ssw0rd!",
            "@cme2024",
            "@cme",
            "Acme2026!",
            "P@$$word",
            "unrelated",
        ];
        let expected = [true, true, true, true, true, true, false, false];
        for kind in HashKind::ALL {
            assert_eq!(
                found(&["password", "acme"], kind, &passwords),
                expected,
                "{kind}"
            );
        }
    }

    #[test]
    fn long_and_non_ascii_words_are_hashed_one_at_a_time() {
        let long = "averyveryverylongcompanyname";
        assert_eq!(
            found(
                &[long, "münchen"],
                HashKind::Ntlm,
                &[&format!("{long}1!"), "München2026", "m\u{fc}nch3n"]
            ),
            [true, true, true]
        );
    }
}
