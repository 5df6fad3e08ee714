//! The `credaudit index` subcommands over the library: build, verify, info.
//! Each returns the exit code (0, or an error that the binary turns into 2).

use super::build::{self, BuildOptions};
use super::{info, Store};
use crate::progress::Progress;
use anyhow::Result;
use std::io::Write;
use std::path::Path;

/// `index build`: one line on stderr when done (unless quiet).
pub fn build(options: &BuildOptions, quiet: bool) -> Result<u8> {
    let progress = Progress::new(quiet);
    let bar = progress.bytes("compiling");
    let built = build::build(options, &bar)?;
    bar.finish_and_clear();
    let (h, m) = (&built.header, &built.meta);
    if !quiet {
        eprintln!(
            "credaudit: built {}: {} {} hashes from {} lines in {:.1} s; {} bytes ({:.2} bytes per hash, {}-bit keys){}",
            options.out.display(),
            h.entries,
            h.shape.kind,
            m.lines,
            m.build_seconds,
            h.file_len,
            h.bytes_per_hash(),
            h.shape.key_bits(),
            if m.missing.is_empty() {
                String::new()
            } else {
                format!(
                    "; no data in {} stretch(es) (--allow-missing): lookups there are unchecked",
                    m.missing.len()
                )
            }
        );
    }
    Ok(0)
}

/// `index verify`: every block against its checksum.
pub fn verify(path: &Path, quiet: bool, out: &mut dyn Write) -> Result<u8> {
    let store = Store::open(path)?;
    let progress = Progress::new(quiet);
    let bar = progress.bytes("verifying");
    bar.set_length(store.header().file_len);
    let v = store.verify_blocks(&bar)?;
    bar.finish_and_clear();
    if !quiet {
        writeln!(
            out,
            "{}: OK, {} blocks, {} bytes in {:.1} s ({:.0} MB/s)",
            path.display(),
            v.blocks,
            v.bytes,
            v.seconds,
            v.bytes as f64 / 1e6 / v.seconds.max(1e-9)
        )?;
    }
    Ok(0)
}

/// `index info`: the header and meta.
pub fn info(path: &Path, json: bool, out: &mut dyn Write) -> Result<u8> {
    let store = Store::open(path)?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &info::json(&store))?;
        writeln!(out)?;
    } else {
        write!(out, "{}", info::text(&store))?;
    }
    Ok(0)
}
