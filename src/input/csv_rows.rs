//! CSV and TSV exports with a header row: browser and password-manager
//! exports, `psql \copy ... csv header`, spreadsheets.
//!
//! The header and the first rows are read with the csv crate, to choose the
//! columns and the secret kind; the body is then cut into chunks of whole
//! records ([`super::csv_chunks`]) that any thread can parse. A chunk
//! without quotes is split at its delimiters directly (it reads the same as
//! the csv crate would, at a fraction of the cost); one with quotes goes
//! through the csv crate. Fields are bytes and never trimmed: a password is
//! whatever bytes the export holds.

use super::columns::{self, SecretKind};
use super::csv_chunks::{Chunk, ChunkReader};
use super::decompress::{describe_read_error, Compression};
use super::quoting::{field_is_quoted, RawTap};
use super::{
    decode_hash_field, stored_hash_field, AccountRow, AccountStatus, InputOptions, NullMarker,
    RejectCause, RowSink, SkipPolicy, MAX_ACCOUNT_BYTES, MAX_SECRET_BYTES,
};
use anyhow::{bail, Result};
use std::io::BufRead;
use zeroize::Zeroizing;

/// Rows read ahead to decide the secret kind from content.
const SAMPLE_ROWS: usize = 64;

/// Pick the delimiter from the header line: tab, comma or semicolon,
/// whichever appears most outside quotes.
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    let (mut in_quotes, mut tabs, mut commas, mut semis) = (false, 0, 0, 0);
    for &b in line {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\t' if !in_quotes => tabs += 1,
            b',' if !in_quotes => commas += 1,
            b';' if !in_quotes => semis += 1,
            _ => {}
        }
    }
    if tabs > 0 && tabs >= commas && tabs >= semis {
        b'\t'
    } else if semis > commas {
        b';'
    } else {
        b','
    }
}

/// Is a cell of `--admin-col` a "yes"?
fn truthy(cell: &[u8]) -> bool {
    let v = cell.trim_ascii().to_ascii_lowercase();
    matches!(
        v.as_slice(),
        b"1" | b"true" | b"yes" | b"y" | b"t" | b"x" | b"admin" | b"administrator"
    )
}

pub struct CsvRows {
    chunks: ChunkReader,
    shape: CsvShape,
    warnings: Vec<String>,
}

/// What it takes to turn a chunk of records into rows: the columns and
/// the secret kind decided from the header and the first rows. Shared by
/// the threads that parse chunks.
pub struct CsvShape {
    display: String,
    width: usize,
    account: usize,
    secret: usize,
    admin: Option<usize>,
    kind: SecretKind,
    delimiter: u8,
    null: Option<NullMarker>,
}

/// Blank records not yet known to be rows (see [`CsvShape::parse`]):
/// their lines and their fields, which are whitespace only.
type Held = Vec<(u64, csv::ByteRecord)>;

impl CsvRows {
    pub fn new(
        input: Box<dyn BufRead + Send>,
        delimiter: u8,
        options: &InputOptions,
        display: &str,
        compression: Compression,
    ) -> Result<CsvRows> {
        // Everything read while sampling is kept: the body is parsed again
        // from the end of the header, in chunks.
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(RawTap::new(input));
        let read_err = |e: csv::Error| match e.into_kind() {
            csv::ErrorKind::Io(io) => {
                anyhow::anyhow!("{display}: {}", describe_read_error(&io, compression))
            }
            other => anyhow::anyhow!("{display}: cannot parse CSV ({other:?})"),
        };
        let mut header = csv::ByteRecord::new();
        if !reader.read_byte_record(&mut header).map_err(read_err)? {
            bail!("{display}: empty input (no header, no rows)");
        }
        let header_end = reader.position().byte();
        let raw: Vec<Vec<u8>> = header.iter().map(|h| h.to_vec()).collect();
        let choice = columns::choose(
            &raw,
            options.account_col.as_ref(),
            options.secret_col.as_ref(),
        )
        .map_err(|e| anyhow::anyhow!("{display}:1: {e}"))?;
        let admin = match &options.admin_col {
            Some(col) => Some(
                columns::resolve_column(&raw, col)
                    .map_err(|e| anyhow::anyhow!("{display}:1: --admin-col: {e}"))?,
            ),
            None => None,
        };
        let mut sample = Vec::new();
        let mut record = csv::ByteRecord::new();
        while sample.len() < SAMPLE_ROWS {
            match next_record(
                &mut reader,
                &mut record,
                &options.null,
                choice.secret,
                delimiter,
            ) {
                Ok(Some(null)) => sample.push((record.clone(), null)),
                Ok(None) => break,
                Err(e) => return Err(read_err(e)),
            }
        }
        let at_end = sample.len() < SAMPLE_ROWS;
        if at_end && sample.iter().all(|(r, _)| is_blank(r, delimiter)) {
            bail!("{display}: the header has no rows under it");
        }
        let secret_header = columns::shown(&raw, choice.secret);
        let kind = match options.secret_kind {
            Some(kind) => kind,
            None => {
                let samples: Vec<&[u8]> = sample
                    .iter()
                    .filter(|(_, null)| !null)
                    .filter_map(|(r, _)| r.get(choice.secret))
                    .map(|f| f.trim_ascii())
                    .collect();
                columns::decide_kind(&choice, &secret_header, &samples)
                    .map_err(|e| anyhow::anyhow!("{display}: {e}"))?
            }
        };
        let (kept, inner) = reader.into_inner().into_parts();
        let mut body = usize::try_from(header_end).map_or(kept.len(), |n| n.min(kept.len()));
        // The header's line end (the csv crate may stop at a CRLF's `\r`).
        body += kept[body..]
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        let line = 1 + memchr::memchr_iter(b'\n', &kept[..body]).count() as u64;
        let head = Zeroizing::new(kept[body..].to_vec());
        Ok(CsvRows {
            chunks: ChunkReader::new(head, line, inner, delimiter, display, compression),
            shape: CsvShape {
                display: display.to_string(),
                width: raw.len(),
                account: choice.account,
                secret: choice.secret,
                admin,
                kind,
                delimiter,
                null: options.null.clone(),
            },
            warnings: choice
                .warnings
                .iter()
                .map(|w| format!("{display}:1: {w}"))
                .collect(),
        })
    }

    pub fn kind(&self) -> SecretKind {
        self.shape.kind
    }

    /// Lines of the header that the user should know about.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The body's chunks, and how to parse them (on any thread).
    pub fn into_parts(self) -> (ChunkReader, CsvShape) {
        (self.chunks, self.shape)
    }

    /// Every row into `sink`, on this thread.
    pub fn read(self, sink: &mut dyn RowSink) -> Result<()> {
        let (mut chunks, shape) = self.into_parts();
        while let Some(chunk) = chunks.next_chunk()? {
            shape.parse(&chunk, sink)?;
        }
        Ok(())
    }
}

/// The fields of a record: the csv crate's, or a quote-free line split at
/// its delimiters.
trait Fields {
    fn count(&self) -> usize;
    fn field(&self, i: usize) -> &[u8];

    fn to_record(&self) -> csv::ByteRecord {
        (0..self.count()).map(|i| self.field(i)).collect()
    }
}

impl Fields for csv::ByteRecord {
    fn count(&self) -> usize {
        self.len()
    }
    fn field(&self, i: usize) -> &[u8] {
        &self[i]
    }
}

/// A line without quotes; `ends[i]` is where field `i` ends.
struct Split<'a> {
    line: &'a [u8],
    ends: &'a [usize],
}

impl Fields for Split<'_> {
    fn count(&self) -> usize {
        self.ends.len()
    }
    fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] + 1 };
        &self.line[start..self.ends[i]]
    }
}

impl CsvShape {
    /// Hand every record of `chunk` to `sink`. Whitespace-only records are
    /// held until a row follows (then they are rows, and rejected like any
    /// bad row); at the end of the file they are skipped (`blank_line`).
    pub fn parse(&self, chunk: &Chunk, sink: &mut dyn RowSink) -> Result<()> {
        let bytes = &chunk.bytes[..];
        let mut held = Held::new();
        // Without quotes, and with `\r` only in line ends, a record is a
        // line split at its delimiters: no need for the csv crate's states.
        let plain = memchr::memchr(b'"', bytes).is_none()
            && memchr::memchr_iter(b'\r', bytes).all(|i| bytes.get(i + 1) == Some(&b'\n'));
        if plain {
            self.parse_plain(chunk, sink, &mut held)?;
        } else {
            self.parse_quoted(chunk, sink, &mut held)?;
        }
        let mut hash = [0u8; 20];
        for (line, blank) in held {
            if chunk.last {
                sink.skipped(line, SkipPolicy::BlankLine);
            } else {
                self.row(&blank, line, false, sink, &mut hash)?;
            }
        }
        Ok(())
    }

    fn parse_plain(&self, chunk: &Chunk, sink: &mut dyn RowSink, held: &mut Held) -> Result<()> {
        let bytes = &chunk.bytes[..];
        let mut hash = [0u8; 20];
        let mut ends = Vec::with_capacity(self.width);
        let (mut start, mut line) = (0, chunk.first_line);
        while start < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            let mut text = &bytes[start..end];
            if let [rest @ .., b'\r'] = text {
                text = rest;
            }
            // The csv crate skips empty lines: they are no record.
            if !text.is_empty() {
                ends.clear();
                ends.extend(memchr::memchr_iter(self.delimiter, text));
                ends.push(text.len());
                let fields = Split {
                    line: text,
                    ends: &ends,
                };
                let field = (fields.count() > self.secret).then(|| fields.field(self.secret));
                let null = is_null(
                    &self.null,
                    field,
                    || Some(text),
                    self.delimiter,
                    self.secret,
                );
                self.record(&fields, line, null, sink, &mut hash, held)?;
            }
            line += 1;
            start = end + 1;
        }
        Ok(())
    }

    fn parse_quoted(&self, chunk: &Chunk, sink: &mut dyn RowSink, held: &mut Held) -> Result<()> {
        let bytes = &chunk.bytes[..];
        let mut hash = [0u8; 20];
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut record = csv::ByteRecord::new();
        let (mut counted, mut line) = (0, chunk.first_line);
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => bail!("{}:{line}: cannot parse CSV ({:?})", self.display, e.kind()),
            }
            // A record's span starts with the line ends before it.
            let mut start = record.position().map_or(0, |p| p.byte()) as usize;
            start += bytes[start..]
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            line += memchr::memchr_iter(b'\n', &bytes[counted..start]).count() as u64;
            counted = start;
            let raw = || bytes.get(start..reader.position().byte() as usize);
            let null = is_null(
                &self.null,
                record.get(self.secret),
                raw,
                self.delimiter,
                self.secret,
            );
            self.record(&record, line, null, sink, &mut hash, held)?;
        }
    }

    /// One record: held when blank, else a row after the blanks held.
    fn record<F: Fields>(
        &self,
        fields: &F,
        line: u64,
        null: bool,
        sink: &mut dyn RowSink,
        hash: &mut [u8; 20],
        held: &mut Held,
    ) -> Result<()> {
        if is_blank(fields, self.delimiter) {
            held.push((line, fields.to_record()));
            return Ok(());
        }
        for (blank_line, blank) in held.drain(..) {
            self.row(&blank, blank_line, false, sink, hash)?;
        }
        self.row(fields, line, null, sink, hash)
    }

    /// Check one record and hand it to `sink` as an account, a rejection or
    /// a skip. `null`: its secret is SQL `NULL` (`--null`).
    fn row<F: Fields>(
        &self,
        record: &F,
        line: u64,
        null: bool,
        sink: &mut dyn RowSink,
        hash: &mut [u8; 20],
    ) -> Result<()> {
        if record.count() != self.width {
            let detail = format!("{} fields, the header has {}", record.count(), self.width);
            return sink.rejected(line, RejectCause::WrongColumnCount, &detail);
        }
        let account = record.field(self.account);
        let secret = record.field(self.secret);
        if account.is_empty() {
            return sink.rejected(line, RejectCause::MissingField, "account is empty");
        }
        if account.len() > MAX_ACCOUNT_BYTES {
            let detail = format!("account is longer than {MAX_ACCOUNT_BYTES} bytes");
            return sink.rejected(line, RejectCause::FieldTooLong, &detail);
        }
        if null {
            // No password at all (an SSO account): nothing to check.
            sink.skipped(line, SkipPolicy::NoHash);
            return Ok(());
        }
        if secret.len() > MAX_SECRET_BYTES {
            let detail = format!("secret is longer than {MAX_SECRET_BYTES} bytes");
            return sink.rejected(line, RejectCause::FieldTooLong, &detail);
        }
        let trimmed = secret.trim_ascii();
        let checked = match self.kind {
            SecretKind::Plain => Ok((SecretKind::Plain, secret)),
            _ if trimmed.is_empty() => {
                sink.skipped(line, SkipPolicy::NoHash);
                return Ok(());
            }
            SecretKind::Salted => stored_hash_field(trimmed, hash),
            kind => {
                let hash_kind = kind.hash_kind().expect("unsalted kinds have a HashKind");
                decode_hash_field(trimmed, hash_kind, hash).map(|n| (kind, &hash[..n]))
            }
        };
        let (kind, secret) = match checked {
            Ok(found) => found,
            Err((cause, detail)) => return sink.rejected(line, cause, &detail),
        };
        sink.account(AccountRow {
            account,
            secret,
            kind,
            line,
            status: AccountStatus::Unknown,
            privileged: self.admin.is_some_and(|i| truthy(record.field(i))),
            lm_hash: false,
        })
    }
}

/// Read the next sample record into `record`: `Some(null)` with whether its
/// secret (field `secret`) is `NULL` by the `--null` rule, `None` at the end.
fn next_record(
    reader: &mut csv::Reader<RawTap>,
    record: &mut csv::ByteRecord,
    rule: &Option<NullMarker>,
    secret: usize,
    delimiter: u8,
) -> csv::Result<Option<bool>> {
    if !reader.read_byte_record(record)? {
        return Ok(None);
    }
    let raw = || {
        let start = record.position().map_or(0, |p| p.byte());
        reader.get_ref().span(start, reader.position().byte())
    };
    Ok(Some(is_null(
        rule,
        record.get(secret),
        raw,
        delimiter,
        secret,
    )))
}

/// Is a secret `field` (`None`: the record has no such field) `NULL` by the
/// `--null` rule? `raw` gives the record's raw bytes, looked at only for
/// psql's rule that an empty field is `NULL` when it is not quoted.
fn is_null<'a>(
    rule: &Option<NullMarker>,
    field: Option<&[u8]>,
    raw: impl FnOnce() -> Option<&'a [u8]>,
    delimiter: u8,
    secret: usize,
) -> bool {
    match rule {
        None => false,
        Some(NullMarker::Literal(marker)) => field == Some(marker.as_slice()),
        Some(NullMarker::Psql) if field == Some(b"") => {
            // Were the bytes not there, the field stays an empty password.
            raw().and_then(|raw| field_is_quoted(raw, delimiter, secret)) == Some(false)
        }
        Some(NullMarker::Psql) => false,
    }
}

/// A line that holds only whitespace (which, for a whitespace delimiter
/// such as tab, may have split it into several empty fields).
fn is_blank<F: Fields>(record: &F, delimiter: u8) -> bool {
    (record.count() == 1 || delimiter.is_ascii_whitespace())
        && (0..record.count()).all(|i| record.field(i).trim_ascii().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_cells() {
        assert!(truthy(b" Yes") && truthy(b"x") && !truthy(b"no") && !truthy(b""));
    }

    /// Every row as the sink saw it.
    #[derive(Default)]
    struct Seen(Vec<String>);

    impl RowSink for Seen {
        fn account(&mut self, row: AccountRow<'_>) -> Result<()> {
            self.0.push(format!(
                "{} account {:?} {:?} {}",
                row.line, row.account, row.secret, row.privileged
            ));
            Ok(())
        }
        fn rejected(&mut self, line: u64, cause: RejectCause, detail: &str) -> Result<()> {
            self.0.push(format!("{line} rejected {cause:?} {detail}"));
            Ok(())
        }
        fn skipped(&mut self, line: u64, policy: SkipPolicy) {
            self.0.push(format!("{line} skipped {policy:?}"));
        }
    }

    fn shape(null: Option<NullMarker>) -> CsvShape {
        CsvShape {
            display: "t.csv".into(),
            width: 3,
            account: 0,
            secret: 1,
            admin: Some(2),
            kind: SecretKind::Plain,
            delimiter: b',',
            null,
        }
    }

    #[test]
    fn quote_free_chunks_read_as_the_csv_crate_reads_them() {
        // Bytes without quotes (so both readers apply): fields, delimiters,
        // blanks, LF and CRLF line ends, empty lines, a missing last line end.
        let pieces: [&[u8]; 8] = [b"a", b"bc", b"x", b",", b" ", b"\n", b"\r\n", b"\\N"];
        let mut rng = crate::test_rng::SplitMix(14);
        for round in 0..3000 {
            let mut bytes = Vec::new();
            for _ in 0..rng.below(40) {
                bytes.extend_from_slice(pieces[rng.below(8) as usize]);
            }
            let null = match round % 3 {
                0 => None,
                1 => Some(NullMarker::Psql),
                _ => Some(NullMarker::Literal(b"\\N".to_vec())),
            };
            let shape = shape(null);
            for last in [true, false] {
                let chunk = Chunk {
                    bytes: Zeroizing::new(bytes.clone()),
                    first_line: 7,
                    last,
                };
                let (mut plain, mut quoted) = (Seen::default(), Seen::default());
                let (mut held_plain, mut held_quoted) = (Held::new(), Held::new());
                shape
                    .parse_plain(&chunk, &mut plain, &mut held_plain)
                    .unwrap();
                shape
                    .parse_quoted(&chunk, &mut quoted, &mut held_quoted)
                    .unwrap();
                let text = String::from_utf8_lossy(&bytes);
                assert_eq!(plain.0, quoted.0, "{text:?}");
                assert_eq!(held_plain, held_quoted, "{text:?}");
            }
        }
    }

    #[test]
    fn line_numbers_count_quoted_newlines_and_crlf() {
        let chunk = Chunk {
            bytes: Zeroizing::new(b"a,\"p\nq\",1\r\n\r\nb,\"\",0\r\nc,,0\n  \n".to_vec()),
            first_line: 2,
            last: true,
        };
        let mut seen = Seen::default();
        shape(Some(NullMarker::Psql))
            .parse(&chunk, &mut seen)
            .unwrap();
        assert_eq!(
            seen.0,
            [
                "2 account [97] [112, 10, 113] true",
                "5 account [98] [] false",
                "6 skipped NoHash",
                "7 skipped BlankLine",
            ]
        );
    }
}
