//! `credaudit index info`: a store's header and meta, as text for people or
//! JSON for scripts.

use super::layout::TRUNCATED_BITS;
use super::Store;
use serde_json::json;

/// Chance that a query absent from the store matches a truncated key.
fn false_positive_rate(store: &Store) -> f64 {
    let h = store.header();
    if h.shape.full_keys {
        0.0
    } else {
        h.entries as f64 / 2f64.powi(TRUNCATED_BITS as i32)
    }
}

pub fn json(store: &Store) -> serde_json::Value {
    let h = store.header();
    json!({
        "path": store.path(),
        "format_version": super::layout::VERSION,
        "hash_kind": h.shape.kind,
        "full_keys": h.shape.full_keys,
        "key_bits": h.shape.key_bits(),
        "bucket_bits": h.shape.bucket_bits,
        "key_bytes": h.shape.key_bytes,
        "entries": h.entries,
        "min_count": h.min_count,
        "max_count": h.max_count,
        "size_bytes": h.file_len,
        "bytes_per_hash": h.bytes_per_hash(),
        "false_positive_rate_per_query": false_positive_rate(store),
        "meta": store.meta(),
    })
}

pub fn text(store: &Store) -> String {
    let h = store.header();
    let m = store.meta();
    let keys = if h.shape.full_keys {
        format!("whole hashes ({} bits)", h.shape.key_bits())
    } else {
        format!(
            "{} bits ({}-bit buckets + {}-byte keys); false-positive rate per query {:.1e}",
            h.shape.key_bits(),
            h.shape.bucket_bits,
            h.shape.key_bytes,
            false_positive_rate(store)
        )
    };
    let coverage = if m.missing.is_empty() {
        format!("complete (rule: {})", m.coverage_rule)
    } else {
        format!(
            "INCOMPLETE, built with --allow-missing: no data in {} stretch(es): {}{} (rule: {}); lookups there are unchecked",
            m.missing.len(),
            m.missing.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
            if m.missing.len() > 5 { ", ..." } else { "" },
            m.coverage_rule
        )
    };
    let mut out = format!(
        "store:            {}\n\
         format:           credaudit store v{}\n\
         hash kind:        {}\n\
         keys:             {keys}\n\
         entries:          {}\n\
         min count kept:   {}\n\
         max count:        {}\n\
         counts > 254:     {}\n\
         size:             {} bytes ({:.2} bytes per hash)\n\
         coverage:         {coverage}\n\
         empty prefixes:   {} of 1048576\n\
         lines read:       {} ({} below --min-count left out)\n\
         largest prefix:   {} entries\n\
         built:            {} by credaudit {} in {:.1} s\n",
        store.path().display(),
        super::layout::VERSION,
        h.shape.kind,
        h.entries,
        h.min_count,
        h.max_count,
        m.overflow_counts,
        h.file_len,
        h.bytes_per_hash(),
        m.empty_prefixes,
        m.lines,
        m.dropped_below_min_count,
        m.max_prefix_entries,
        utc(m.built_unix),
        m.credaudit_version,
        m.build_seconds,
    );
    for s in &m.sources {
        out.push_str(&format!(
            "source:           {} ({}, compression {}, {} lines, {} bytes, blake3 {})\n",
            s.path,
            s.layout,
            s.compression,
            s.lines,
            s.size_bytes.map_or("?".to_string(), |b| b.to_string()),
            s.blake3
        ));
    }
    out
}

/// `2026-12-02 20:31:05 UTC` from Unix seconds (proleptic Gregorian).
fn utc(unix: u64) -> String {
    let (days, secs) = ((unix / 86_400) as i64, unix % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(super::utc(1_796_239_865), "2026-12-02 19:31:05 UTC");
    }
}
