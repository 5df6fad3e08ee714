//! CSV and TSV exports with a header row: browser and password-manager
//! exports, `psql \copy ... csv header`, spreadsheets.
//!
//! One `csv::ByteRecord` is reused for the whole file (the xsv way), fields
//! are bytes and never trimmed: a password is whatever bytes the export holds.

use super::columns::{self, SecretKind};
use super::decompress::{describe_read_error, Compression};
use super::quoting::{field_is_quoted, RawTap};
use super::{
    decode_hash_field, stored_hash_field, AccountRow, AccountStatus, InputOptions, NullMarker,
    RejectCause, RowSink, SkipPolicy, MAX_ACCOUNT_BYTES, MAX_SECRET_BYTES,
};
use anyhow::{bail, Result};
use std::collections::VecDeque;
use std::io::BufRead;

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
    reader: csv::Reader<RawTap>,
    display: String,
    compression: Compression,
    width: usize,
    account: usize,
    secret: usize,
    admin: Option<usize>,
    kind: SecretKind,
    delimiter: u8,
    null: Option<NullMarker>,
    warnings: Vec<String>,
    /// Rows read ahead, each with whether its secret is `NULL`.
    ahead: VecDeque<(csv::ByteRecord, bool)>,
    /// The csv crate stops a record at the `\r` of a CRLF and counts the
    /// `\n` into the next record, whose line then reads one too low.
    crlf_shift: u64,
}

impl CsvRows {
    pub fn new(
        mut input: Box<dyn BufRead + Send>,
        delimiter: u8,
        options: &InputOptions,
        display: &str,
        compression: Compression,
    ) -> Result<CsvRows> {
        let head = input.fill_buf().unwrap_or(&[]);
        let header_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let crlf_shift = u64::from(header_line.ends_with(b"\r") && header_line.len() < head.len());
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(RawTap::new(input, options.null == Some(NullMarker::Psql)));
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
        let mut ahead = VecDeque::new();
        let mut record = csv::ByteRecord::new();
        while ahead.len() < SAMPLE_ROWS {
            match next_record(
                &mut reader,
                &mut record,
                &options.null,
                choice.secret,
                delimiter,
            ) {
                Ok(Some(null)) => ahead.push_back((record.clone(), null)),
                Ok(None) => break,
                Err(e) => return Err(read_err(e)),
            }
        }
        let at_end = ahead.len() < SAMPLE_ROWS;
        if at_end && ahead.iter().all(|(r, _)| is_blank(r, delimiter)) {
            bail!("{display}: the header has no rows under it");
        }
        let secret_header = columns::shown(&raw, choice.secret);
        let kind = match options.secret_kind {
            Some(kind) => kind,
            None => {
                let samples: Vec<&[u8]> = ahead
                    .iter()
                    .filter(|(_, null)| !null)
                    .filter_map(|(r, _)| r.get(choice.secret))
                    .map(|f| f.trim_ascii())
                    .collect();
                columns::decide_kind(&choice, &secret_header, &samples)
                    .map_err(|e| anyhow::anyhow!("{display}: {e}"))?
            }
        };
        Ok(CsvRows {
            reader,
            display: display.to_string(),
            compression,
            width: raw.len(),
            account: choice.account,
            secret: choice.secret,
            admin,
            kind,
            delimiter,
            null: options.null.clone(),
            warnings: choice
                .warnings
                .iter()
                .map(|w| format!("{display}:1: {w}"))
                .collect(),
            ahead,
            crlf_shift,
        })
    }

    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    /// Lines of the header that the user should know about.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn read(mut self, sink: &mut dyn RowSink) -> Result<()> {
        let mut record = csv::ByteRecord::new();
        let mut hash = [0u8; 20];
        // Whitespace-only lines, held until it is known whether rows follow:
        // at the end of the file they are skipped (`blank_line`); between
        // rows they are rows, rejected like any other bad row.
        let mut blanks: Vec<csv::ByteRecord> = Vec::new();
        let mut last_line = 1;
        loop {
            let null;
            if let Some(buffered) = self.ahead.pop_front() {
                (record, null) = buffered;
            } else {
                let next = next_record(
                    &mut self.reader,
                    &mut record,
                    &self.null,
                    self.secret,
                    self.delimiter,
                );
                match next {
                    Ok(Some(is_null)) => null = is_null,
                    Ok(None) => {
                        for blank in &blanks {
                            sink.skipped(self.line(blank), SkipPolicy::BlankLine);
                        }
                        return Ok(());
                    }
                    Err(e) => {
                        let why = match e.into_kind() {
                            csv::ErrorKind::Io(io) => describe_read_error(&io, self.compression),
                            other => format!("cannot parse CSV ({other:?})"),
                        };
                        bail!("{}: after line {last_line}: {why}", self.display);
                    }
                }
            }
            last_line = self.line(&record);
            if is_blank(&record, self.delimiter) {
                blanks.push(record.clone());
                continue;
            }
            for blank in std::mem::take(&mut blanks) {
                self.row(&blank, false, sink, &mut hash)?;
            }
            self.row(&record, null, sink, &mut hash)?;
        }
    }

    /// The line a record starts on.
    fn line(&self, record: &csv::ByteRecord) -> u64 {
        record.position().map_or(0, |p| p.line()) + self.crlf_shift
    }

    /// Check one record and hand it to `sink` as an account, a rejection or
    /// a skip. `null`: its secret is SQL `NULL` (`--null`).
    fn row(
        &self,
        record: &csv::ByteRecord,
        null: bool,
        sink: &mut dyn RowSink,
        hash: &mut [u8; 20],
    ) -> Result<()> {
        let line = self.line(record);
        if record.len() != self.width {
            let detail = format!("{} fields, the header has {}", record.len(), self.width);
            return sink.rejected(line, RejectCause::WrongColumnCount, &detail);
        }
        let account = &record[self.account];
        let secret = &record[self.secret];
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
            privileged: self.admin.is_some_and(|i| truthy(&record[i])),
            lm_hash: false,
        })
    }
}

/// Read the next record into `record`: `Some(null)` with whether its secret
/// (field `secret`) is `NULL` by the `--null` rule, `None` at the end.
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
    let field = record.get(secret);
    let null = match rule {
        None => false,
        Some(NullMarker::Literal(marker)) => field == Some(marker.as_slice()),
        Some(NullMarker::Psql) if field == Some(b"") => {
            let start = record.position().map_or(0, |p| p.byte());
            let end = reader.position().byte();
            let raw = reader.get_ref().span(start, end);
            // The tap keeps every byte not yet released, so the span is
            // there; were it not, the field stays an empty password.
            raw.and_then(|raw| field_is_quoted(raw, delimiter, secret)) == Some(false)
        }
        Some(NullMarker::Psql) => false,
    };
    if *rule == Some(NullMarker::Psql) {
        let end = reader.position().byte();
        reader.get_mut().release(end);
    }
    Ok(Some(null))
}

/// A line that holds only whitespace (which, for a whitespace delimiter
/// such as tab, may have split it into several empty fields).
fn is_blank(record: &csv::ByteRecord, delimiter: u8) -> bool {
    (record.len() == 1 || delimiter.is_ascii_whitespace())
        && record.iter().all(|field| field.trim_ascii().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_cells() {
        assert!(truthy(b" Yes") && truthy(b"x") && !truthy(b"no") && !truthy(b""));
    }
}
