//! Breach sources: anything that can say which of a sorted set of hashes it
//! knows, how often each was seen, and which it could not answer.
//!
//! The audit asks every source the same question through [`Source`], so a
//! new kind of source (a range API, a compiled index, a combolist) is one
//! more file here and no change to the pipeline. A source that cannot answer
//! for a hash must say so in [`Answer::unchecked`]: the audit then reports
//! those accounts as unchecked, never as clean.

pub mod banned_list;
pub mod corpus_stamp;
pub mod hibp_dir;
pub mod hibp_file;
pub mod plain_list;
pub mod range_api;
pub mod store;

use crate::findings::Reason;
use crate::hash::HashKind;
use crate::hibp::body::SuffixList;
use crate::queryset::Hashes;
use anyhow::Result;
use indicatif::ProgressBar;
use std::path::{Path, PathBuf};

/// One question for a source: these sorted distinct hashes of one kind.
pub struct Lookup<'a> {
    pub kind: HashKind,
    pub hashes: Hashes<'a>,
    /// Advanced by the number of hashes answered.
    pub progress: &'a ProgressBar,
}

/// Hashes found, by index into the lookup, with their prevalence where the
/// source counts it.
pub type Hits = Vec<(usize, Option<u64>)>;

/// What a source knows of a [`Lookup`]'s hashes, by index into it.
#[derive(Default, Debug)]
pub struct Answer {
    /// Hashes found, with their prevalence where the source counts it.
    pub hits: Hits,
    /// Hashes the source could not answer for.
    pub unchecked: Vec<usize>,
    /// Corpus lines read (and validated) while answering, where known.
    pub lines_read: Option<u64>,
    /// How the answer was found (`search`, `merge`, `prefix-files`, `memory`).
    pub method: &'static str,
    /// Something the user should know, e.g. missing prefix files.
    pub warning: Option<String>,
    /// What a source that asks a server did to answer.
    pub requests: Option<RequestStats>,
}

/// Request counters of a source that asks a server (the range API).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RequestStats {
    /// Distinct 5-hex prefixes the hashes fell into.
    pub prefixes: u64,
    /// HTTP requests made, retries included.
    pub requests: u64,
    pub retries: u64,
    /// Prefixes answered from the cache without a request.
    pub cache_hits: u64,
    /// Revalidations the server answered with 304.
    pub not_modified: u64,
    /// Prefixes still failing after their retries (their hashes are unchecked).
    pub failed_prefixes: u64,
}

/// What the summary says about a source.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SourceInfo {
    pub kind: &'static str,
    pub name: String,
    pub path: Option<PathBuf>,
    pub hash_kinds: Vec<HashKind>,
    pub size_bytes: Option<u64>,
    pub modified_unix: Option<u64>,
    pub entries: Option<u64>,
    /// Banned-word lists: the words given, before mutation (`entries` is the
    /// expansion).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words_before_expansion: Option<u64>,
}

/// What the summary says about a sorted corpus file's integrity.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CorpusCheck {
    /// How every line came to be trusted (a full pass, the stamp of an
    /// earlier one, or `--trust-corpus`); None before any lookup.
    pub verification: Option<&'static str>,
    /// Stretches of hash space (5-hex prefixes) that hold no line although
    /// the file's density says they should.
    pub coverage_gaps: Vec<String>,
}

/// How a corpus file is to be searched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupMethod {
    /// Pick by the ratio of queries to corpus size.
    Auto,
    /// Interpolation search per query.
    Search,
    /// One forward pass over the whole corpus, validating every line.
    Merge,
}

pub trait Source: Send + Sync {
    /// Short label used in the report's `sources` column.
    fn name(&self) -> &str;
    /// The hash kinds this source can answer.
    fn kinds(&self) -> &[HashKind];
    /// Whether prevalence counts come with hits (`--min-count` applies).
    fn counts(&self) -> bool;
    /// What a hit from this source means for the account.
    fn reason(&self) -> Reason {
        Reason::Pwned
    }
    fn lookup(&self, query: &Lookup<'_>) -> Result<Answer>;
    fn info(&self) -> SourceInfo;
    /// The candidates this source hashes and looks up, when it enumerates
    /// them (`--banned`): plaintext is checked against them directly, at
    /// read time, and needs no lookup.
    fn expansion(&self) -> Option<&crate::policy::banned::expand::Expansion> {
        None
    }
    /// Hashes seen fewer times than this were left out of the source (a
    /// store built with `--min-count`): an audit cannot ask for less.
    fn min_count_kept(&self) -> u64 {
        1
    }
    /// Sorted corpus files: how they were verified and what they cover.
    fn corpus_check(&self) -> Option<CorpusCheck> {
        None
    }
}

/// Size and modification time of a path, for the summary.
pub(crate) fn file_facts(path: &Path) -> (Option<u64>, Option<u64>) {
    match std::fs::metadata(path) {
        Ok(m) => (
            Some(m.len()),
            m.modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs()),
        ),
        Err(_) => (None, None),
    }
}

/// How sorted corpus files come to be trusted: every line is checked by one
/// pass the first time a file is used, and the verdict stamped under
/// `stamps`; `--trust-corpus` skips the pass.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    pub trust: bool,
    /// Where verdicts are kept (None: every run verifies again).
    pub stamps: Option<corpus_stamp::StampDir>,
}

/// Open `--corpus PATH`: a compiled store (by its magic bytes), a directory
/// of per-prefix files, or one sorted file.
pub fn open_corpus(
    path: &Path,
    method: LookupMethod,
    verify: &VerifyOptions,
) -> Result<Box<dyn Source>> {
    if path.is_dir() {
        Ok(Box::new(hibp_dir::PrefixDir::open(path)?))
    } else if crate::store::is_store(path) {
        Ok(Box::new(store::StoreSource::open(path)?))
    } else {
        Ok(Box::new(hibp_file::SortedFile::open(path, method, verify)?))
    }
}

/// Hits among the queries `[start, end)`, which all share `prefix`, in a
/// prefix's suffix list (from a mirror file or the range API).
pub(crate) fn prefix_hits(
    list: &SuffixList,
    prefix: u32,
    query: &Lookup<'_>,
    start: usize,
    end: usize,
) -> Hits {
    let n = query.kind.bytes();
    let mut hits = Vec::new();
    let mut qi = start;
    for (hash, count) in list.entries(prefix, query.kind) {
        while qi < end && query.hashes.get(qi) < &hash[..n] {
            qi += 1;
        }
        if qi == end {
            break;
        }
        if query.hashes.get(qi) == &hash[..n] {
            hits.push((qi, Some(count)));
        }
    }
    hits
}

/// Label for a path in the report: its file name.
pub(crate) fn label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
