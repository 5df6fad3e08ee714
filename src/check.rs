//! `credaudit check`: is this one password in a breach? The password is read
//! from a no-echo prompt or standard input, never from the command line
//! (where `ps` and shell history would keep it), and is never printed.

use crate::audit::{open_sources, plaintext_kinds, Opened, SourceOptions};
use crate::hash::{self, HashKind};
use crate::outcome::{EXIT_CLEAN, EXIT_FINDINGS, EXIT_INCOMPLETE};
use crate::queryset::Hashes;
use crate::source::Lookup;
use anyhow::Result;
use std::io::Write;

/// Check one password; writes a human-readable verdict to `out` and
/// returns the exit code (0 not found, 1 found, 3 could not be checked).
pub fn run(sources_options: &SourceOptions, password: &[u8], out: &mut dyn Write) -> Result<u8> {
    let Opened {
        sources,
        builtin_only,
        min_count,
        ..
    } = open_sources(sources_options)?;
    let mut kinds = plaintext_kinds(&sources);
    if hash::ntlm(password).is_err() {
        kinds.retain(|k| *k != HashKind::Ntlm);
    }
    let hidden = indicatif::ProgressBar::hidden();
    let mut found = false;
    let mut unchecked = false;
    for src in &sources {
        for &kind in kinds.iter().filter(|k| src.kinds().contains(k)) {
            let mut digest = [0u8; 20];
            if hash::hash_into(kind, password, &mut digest[..kind.bytes()]).is_err() {
                continue;
            }
            let answer = src.lookup(&Lookup {
                kind,
                hashes: Hashes::new(kind.bytes(), &digest[..kind.bytes()]),
                progress: &hidden,
            })?;
            if let Some(w) = &answer.warning {
                eprintln!("credaudit: warning: {w}");
            }
            let reason = src.reason().name();
            if let Some(&(_, count)) = answer.hits.first() {
                match count {
                    Some(n) if n < min_count => writeln!(
                        out,
                        "below --min-count: seen {n} times in {} ({kind})",
                        src.name()
                    )?,
                    Some(n) => {
                        found = true;
                        writeln!(out, "{reason}: seen {n} times in {} ({kind})", src.name())?
                    }
                    None => {
                        found = true;
                        writeln!(out, "{reason}: listed in {}", src.name())?
                    }
                }
            } else if !answer.unchecked.is_empty() {
                unchecked = true;
                writeln!(out, "unchecked: {} could not answer ({kind})", src.name())?;
            } else {
                writeln!(out, "not found in {} ({kind})", src.name())?;
            }
        }
    }
    if builtin_only {
        writeln!(
            out,
            "note: only the built-in list of common passwords was checked; pass --corpus for a full breach corpus"
        )?;
    }
    Ok(if found {
        EXIT_FINDINGS
    } else if unchecked {
        EXIT_INCOMPLETE
    } else {
        EXIT_CLEAN
    })
}
