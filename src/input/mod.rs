//! Reading credential exports: format and column detection, then a stream of
//! rows handed to a [`RowSink`] one at a time, so an export of any size is
//! read in constant memory.
//!
//! Every row ends in exactly one of three places: an account to check, a
//! rejection with a cause, or a skip by policy. Rows are never dropped
//! silently; that is what lets the summary promise
//! `rows read = checked + rejected + skipped`.

mod colon;
pub mod columns;
mod csv_chunks;
mod csv_rows;
pub mod decompress;
mod quoting;
pub mod utf16;

use crate::input::columns::{ColumnRef, SecretKind};
pub use crate::input::csv_chunks::{Chunk, ChunkReader};
pub use crate::input::csv_rows::CsvShape;
use crate::input::decompress::Compression;
use anyhow::{bail, Result};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Longest account name accepted, in bytes.
pub const MAX_ACCOUNT_BYTES: usize = 1024;
/// Longest plaintext password accepted, in bytes.
pub const MAX_SECRET_BYTES: usize = 1024;

/// Why a row was rejected. The names are the keys of the summary's
/// `rows_rejected` object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCause {
    WrongColumnCount,
    MissingField,
    FieldTooLong,
    BadHex,
    BadHashLength,
    InvalidUtf8,
    MalformedLine,
    /// A stored hash of no scheme credaudit knows.
    UnknownHashScheme,
    /// A stored hash whose scheme is known but whose structure is broken.
    MalformedHash,
}

impl RejectCause {
    pub fn name(self) -> &'static str {
        match self {
            RejectCause::WrongColumnCount => "wrong_column_count",
            RejectCause::MissingField => "missing_field",
            RejectCause::FieldTooLong => "field_too_long",
            RejectCause::BadHex => "bad_hex",
            RejectCause::BadHashLength => "bad_hash_length",
            RejectCause::InvalidUtf8 => "invalid_utf8",
            RejectCause::MalformedLine => "malformed_line",
            RejectCause::UnknownHashScheme => "unknown_hash_scheme",
            RejectCause::MalformedHash => "malformed_hash",
        }
    }
}

/// Why a well-formed row was deliberately not checked. The names are the keys
/// of the summary's `rows_skipped` object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipPolicy {
    /// secretsdump `user_historyN` lines: old passwords, not the current one
    /// (attached to their account with `--include-history`).
    History,
    /// Accounts ending in `$`: machine accounts with random 120-character passwords.
    MachineAccount,
    /// secretsdump `(status=Disabled)` accounts, when `--skip-disabled` is set.
    DisabledAccount,
    /// secretsdump progress lines such as `[*] Dumping Domain Credentials`.
    BannerLine,
    /// secretsdump Kerberos key lines (`user:aes256-cts-hmac-sha1-96:...`),
    /// attached to their account (`no-aes-keys`).
    KerberosKey,
    /// secretsdump `user:CLEARTEXT:...` lines (reversible encryption),
    /// attached to their account (`reversible`, and checked as plaintext).
    CleartextLine,
    /// Accounts with no hash stored (`Guest:`, pwdump `NO PASSWORD***`, an
    /// empty hash cell): there is no password to check.
    NoHash,
    /// CSV lines holding only whitespace at the end of a file (an editor's
    /// or a shell's leftovers): no row, but counted so that nothing vanishes.
    BlankLine,
}

/// Which kinds of rows are skipped by policy.
#[derive(Clone, Copy, Debug)]
pub struct SkipRules {
    pub history: bool,
    pub machine: bool,
    pub disabled: bool,
    /// Check a machine account anyway when its NT hash is the default
    /// password of a pre-created computer account (see
    /// [`crate::policy::computer`]), even when `machine` skips the others.
    pub default_machines: bool,
}

/// A dump line that belongs to an account instead of being one: counted as
/// skipped under [`Attachment::policy`], then attached by the audit to the
/// account of the same name in the same export.
pub enum Attachment {
    /// `user_historyN` with `--include-history`: an old password's hash
    /// (decoded bytes of `kind`); `account` is the name without the suffix.
    History {
        account: Vec<u8>,
        kind: SecretKind,
        hash: Vec<u8>,
    },
    /// A Kerberos key line; `aes` for the AES types.
    KerberosKey { account: Vec<u8>, aes: bool },
    /// `user:CLEARTEXT:password`: the password, stored reversibly. Wiped on
    /// drop.
    Cleartext {
        account: Vec<u8>,
        password: zeroize::Zeroizing<Vec<u8>>,
    },
}

impl Attachment {
    /// The `rows_skipped` cause the line is counted under.
    pub fn policy(&self) -> SkipPolicy {
        match self {
            Attachment::History { .. } => SkipPolicy::History,
            Attachment::KerberosKey { .. } => SkipPolicy::KerberosKey,
            Attachment::Cleartext { .. } => SkipPolicy::CleartextLine,
        }
    }
}

/// Rows carry the account's status; the type lives with the accounts table,
/// which stores it.
pub use crate::accounts::AccountStatus;

/// One account row: the secret is plaintext bytes or decoded hash bytes.
pub struct AccountRow<'a> {
    pub account: &'a [u8],
    pub secret: &'a [u8],
    pub kind: SecretKind,
    pub line: u64,
    pub status: AccountStatus,
    /// Marked privileged by the export (`--admin-col`).
    pub privileged: bool,
    /// An LM hash is stored beside the NT hash (pwdump, secretsdump).
    pub lm_hash: bool,
}

/// Where the rows of an export go.
pub trait RowSink {
    fn account(&mut self, row: AccountRow<'_>) -> Result<()>;
    /// `detail` must never contain the secret or any part of it.
    fn rejected(&mut self, line: u64, cause: RejectCause, detail: &str) -> Result<()>;
    fn skipped(&mut self, line: u64, policy: SkipPolicy);
    /// A line that belongs to an account (see [`Attachment`]). A sink that
    /// does not attach lines counts it as skipped.
    fn attached(&mut self, line: u64, attachment: Attachment) -> Result<()> {
        self.skipped(line, attachment.policy());
        Ok(())
    }
}

/// The export formats understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatChoice {
    Auto,
    Csv,
    Tsv,
    Colon,
}

/// The format an export was read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Tsv,
    Colon,
}

/// How to read exports, from the command line.
#[derive(Clone, Debug)]
pub struct InputOptions {
    pub format: FormatChoice,
    pub delimiter: Option<u8>,
    pub account_col: Option<ColumnRef>,
    pub secret_col: Option<ColumnRef>,
    pub secret_kind: Option<SecretKind>,
    /// Column marking privileged accounts (truthy values: 1, true, yes...).
    pub admin_col: Option<ColumnRef>,
    pub skip: SkipRules,
    /// How a SQL `NULL` secret looks in a CSV/TSV export (`--null`); none:
    /// an empty field is an empty password.
    pub null: Option<NullMarker>,
}

/// How a SQL `NULL` secret is written (`--null`). A `NULL` secret is no
/// password (an SSO or disabled-login account): the row is skipped as
/// `no_hash`, never reported `empty`. No default: Python's csv module and
/// most other writers put `''` as an unquoted empty field too, so reading
/// every empty field as `NULL` would hide empty passwords.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NullMarker {
    /// psql's CSV convention: an unquoted empty field is `NULL`, a quoted
    /// `""` is the empty string.
    Psql,
    /// A field holding exactly these bytes is `NULL` (MySQL's `\N`).
    Literal(Vec<u8>),
}

impl std::str::FromStr for NullMarker {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "psql" => Ok(NullMarker::Psql),
            "" => Err(
                "an empty marker would read every empty field as NULL and hide \
                       empty passwords; psql's CSV marks NULL by leaving the field \
                       unquoted: --null psql"
                    .to_string(),
            ),
            _ => Ok(NullMarker::Literal(s.as_bytes().to_vec())),
        }
    }
}

/// An export, opened and sniffed, ready to stream.
pub struct Input {
    pub path: PathBuf,
    /// How the file is named in messages and origins (`stdin` for `-`).
    pub display: String,
    pub format: Format,
    pub kind: SecretKind,
    pub compression: Compression,
    /// Its stored size and bytes read so far, for the progress bar (none
    /// for a stream handed to [`open_reader`]).
    pub measure: decompress::Measure,
    /// What the user should know about how the file was read (an
    /// ambiguous header), one line each, ready for stderr.
    pub warnings: Vec<String>,
    /// Size and digest of the bytes as stored, fed as they are read (None
    /// from [`open_reader`], which is handed them already decoded).
    pub digest: Option<crate::digest::SharedTally>,
    body: Body,
}

enum Body {
    Csv(Box<csv_rows::CsvRows>),
    Colon(colon::ColonRows),
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How an export is named in messages and in the reset list's `origin`:
/// `stdin` for `-`, else the path as given.
pub fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "stdin".to_string()
    } else {
        path.display().to_string()
    }
}

/// Open an export, undo compression, detect its format, columns and secret kind.
pub fn open(path: &Path, options: &InputOptions) -> Result<Input> {
    let display = display_name(path);
    let (stored, size) = decompress::open_stored(path)?;
    let (counted, measure) = decompress::measured(stored, size);
    let (stored, digest) = crate::digest::Digesting::new(counted);
    let (reader, compression) = decompress::decode(Box::new(stored), path)?;
    let mut input = open_reader(path, display, reader, compression, options)?;
    input.digest = Some(digest);
    input.measure = measure;
    Ok(input)
}

/// [`open`] on a stream already undone of its compression: what `open` does
/// after [`decompress::open`], for a caller holding the bytes itself (the
/// fuzz targets in `fuzz/`). `display` names the export in messages.
pub fn open_reader(
    path: &Path,
    display: String,
    mut reader: Box<dyn BufRead + Send>,
    compression: Compression,
    options: &InputOptions,
) -> Result<Input> {
    let head = match reader.fill_buf() {
        Ok(head) => head,
        Err(e) => bail!(
            "{display}: {}",
            decompress::describe_read_error(&e, compression)
        ),
    };
    if head.is_empty() {
        bail!("{display}: empty input (no header, no rows)");
    }
    if head.starts_with(UTF8_BOM) {
        reader.consume(UTF8_BOM.len());
    } else if head.starts_with(utf16::BOM) {
        reader.consume(utf16::BOM.len());
        reader = Box::new(std::io::BufReader::with_capacity(
            256 * 1024,
            utf16::Utf16LeToUtf8::new(reader),
        ));
    }
    let head = reader
        .fill_buf()
        .map_err(|e| {
            anyhow::anyhow!(
                "{display}: {}",
                decompress::describe_read_error(&e, compression)
            )
        })?
        .to_vec();
    let head = &head[..];
    let format = match options.format {
        FormatChoice::Csv => Format::Csv,
        FormatChoice::Tsv => Format::Tsv,
        FormatChoice::Colon => Format::Colon,
        FormatChoice::Auto if colon::looks_like(head) => Format::Colon,
        FormatChoice::Auto if csv_rows::sniff_delimiter(head) == b'\t' => Format::Tsv,
        FormatChoice::Auto => Format::Csv,
    };
    let (body, kind, warnings) = match format {
        Format::Colon => {
            let rows = colon::ColonRows::new(reader, head, options, &display, compression)?;
            let kind = rows.kind();
            (Body::Colon(rows), kind, Vec::new())
        }
        Format::Csv | Format::Tsv => {
            let delimiter = options.delimiter.unwrap_or(match format {
                Format::Tsv => b'\t',
                _ => csv_rows::sniff_delimiter(head),
            });
            let rows = csv_rows::CsvRows::new(reader, delimiter, options, &display, compression)?;
            let kind = rows.kind();
            let warnings = rows.warnings().to_vec();
            (Body::Csv(Box::new(rows)), kind, warnings)
        }
    };
    Ok(Input {
        path: path.to_path_buf(),
        display,
        format,
        kind,
        compression,
        measure: decompress::Measure::default(),
        warnings,
        digest: None,
        body,
    })
}

/// A CSV or TSV body in chunks of whole records, and how to parse them:
/// what lets the audit parse an export on every core.
pub type Chunked = (ChunkReader, CsvShape);

impl Input {
    /// The body in chunks, when the export is CSV or TSV (`Err(self)` for
    /// a colon dump, read on one thread with [`Input::read`]).
    pub fn into_chunks(self) -> Result<Chunked, Box<Input>> {
        match self.body {
            Body::Csv(rows) => Ok(rows.into_parts()),
            body => Err(Box::new(Input { body, ..self })),
        }
    }

    /// Stream every row into `sink`.
    pub fn read(self, sink: &mut dyn RowSink) -> Result<()> {
        match self.body {
            Body::Csv(rows) => rows.read(sink),
            Body::Colon(rows) => rows.read(sink),
        }
    }
}

/// Check a stored-hash field (bcrypt, argon2, ...). A bare SHA-1 hex comes
/// back as a SHA-1 row (a corpus can check it too); anything else as a
/// salted row. Unknown and broken values are rejected, never "not leaked".
pub(crate) fn stored_hash_field<'a>(
    field: &'a [u8],
    hash: &'a mut [u8; 20],
) -> Result<(SecretKind, &'a [u8]), (RejectCause, String)> {
    use crate::verify::{detect, HashError, Scheme};
    match detect(field) {
        Ok(Scheme::Sha1) => {
            let n = decode_hash_field(field, crate::hash::HashKind::Sha1, hash)?;
            Ok((SecretKind::Sha1, &hash[..n]))
        }
        Ok(_) => Ok((SecretKind::Salted, field)),
        Err(e @ HashError::Unknown) => Err((RejectCause::UnknownHashScheme, e.to_string())),
        Err(e @ HashError::Malformed(..)) => Err((RejectCause::MalformedHash, e.to_string())),
    }
}

/// Check a hex hash field and decode it into `out`, or say why not.
pub(crate) fn decode_hash_field(
    field: &[u8],
    kind: crate::hash::HashKind,
    out: &mut [u8; 20],
) -> Result<usize, (RejectCause, String)> {
    let width = kind.hex_len();
    if field.is_empty() {
        return Err((RejectCause::MissingField, format!("{kind} hash is empty")));
    }
    if field.len() != width {
        return Err((
            RejectCause::BadHashLength,
            format!(
                "{kind} hash has {} characters, expected {width}",
                field.len()
            ),
        ));
    }
    if !crate::hash::decode_hex(field, &mut out[..kind.bytes()]) {
        return Err((
            RejectCause::BadHex,
            format!("{kind} hash is not hexadecimal"),
        ));
    }
    Ok(kind.bytes())
}
