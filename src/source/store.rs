//! A compiled store (`credaudit index build`) as a breach source: every
//! line was checked when it was built, so a lookup trusts it and goes
//! straight to the answer; stretches of hash space the store was built
//! without (`--allow-missing`) answer unchecked, never clean.

use super::{file_facts, label, Answer, CorpusCheck, Lookup, Source, SourceInfo};
use crate::hash::HashKind;
use crate::store::Store;
use anyhow::Result;
use std::path::Path;

pub struct StoreSource {
    store: Store,
    name: String,
    kind: [HashKind; 1],
}

impl StoreSource {
    pub fn open(path: &Path) -> Result<StoreSource> {
        let store = Store::open(path)?;
        let kind = [store.header().shape.kind];
        Ok(StoreSource {
            store,
            name: label(path),
            kind,
        })
    }
}

impl Source for StoreSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn kinds(&self) -> &[HashKind] {
        &self.kind
    }

    fn counts(&self) -> bool {
        true
    }

    fn min_count_kept(&self) -> u64 {
        self.store.header().min_count
    }

    fn lookup(&self, query: &Lookup<'_>) -> Result<Answer> {
        if query.kind != self.kind[0] || query.hashes.is_empty() {
            return Ok(Answer::default());
        }
        let found = self.store.lookup(query.hashes, query.progress)?;
        let warning = (!found.unchecked.is_empty()).then(|| {
            let missing = &self.store.meta().missing;
            format!(
                "store {} was built without data for {} stretch(es) of hash space (first {}; \
                 --allow-missing); {} hash(es) fall there and are unchecked",
                self.name,
                missing.len(),
                missing.first().map_or("?", String::as_str),
                found.unchecked.len()
            )
        });
        Ok(Answer {
            hits: found.hits.into_iter().map(|(i, c)| (i, Some(c))).collect(),
            unchecked: found.unchecked,
            lines_read: None,
            method: "store",
            warning,
            requests: None,
        })
    }

    fn info(&self) -> SourceInfo {
        let (size, modified) = file_facts(self.store.path());
        SourceInfo {
            kind: "store",
            name: self.name.clone(),
            path: Some(self.store.path().to_path_buf()),
            hash_kinds: self.kind.to_vec(),
            size_bytes: size,
            modified_unix: modified,
            entries: Some(self.store.header().entries),
            words_before_expansion: None,
        }
    }

    fn corpus_check(&self) -> Option<CorpusCheck> {
        Some(CorpusCheck {
            verification: Some("every line checked when the store was built"),
            coverage_gaps: self.store.meta().missing.clone(),
        })
    }
}
