//! What every fuzz target shares: the canary secret and the check that no
//! message carries it.
//!
//! credaudit promises that no password or hash ever shows up in its output.
//! A target splices a known secret into the fuzzer's bytes wherever a marker
//! stands (`%P` the plaintext, `%S` its SHA-1 hex, `%N` its NTLM hex) and
//! then asserts that no error message, reject detail or Debug/Display of a
//! result contains the canary in any of those forms. The markers are in the
//! seed corpora (`fuzz/seeds.sh`) and the dictionary (`fuzz/canary.dict`),
//! so the fuzzer moves them into every field.

use std::sync::OnceLock;

/// The secret that must never leak.
pub const CANARY: &str = "Canary-Pa55word!";

/// The canary as it may show up: plaintext, SHA-1 hex, NTLM hex (hex in
/// lower case; [`assert_clean`] compares case-insensitively).
fn forms() -> &'static [String; 3] {
    static FORMS: OnceLock<[String; 3]> = OnceLock::new();
    FORMS.get_or_init(|| {
        let sha1 = credaudit::hash::encode_hex(&credaudit::hash::sha1(CANARY.as_bytes()));
        let ntlm = credaudit::hash::ntlm(CANARY.as_bytes()).expect("the canary is ASCII");
        [
            CANARY.to_ascii_lowercase(),
            sha1.to_ascii_lowercase(),
            credaudit::hash::encode_hex(&ntlm).to_ascii_lowercase(),
        ]
    })
}

/// The canary's SHA-1, upper-case hex.
pub fn canary_sha1_hex() -> String {
    forms()[1].to_ascii_uppercase()
}

/// The canary's NTLM hash, upper-case hex.
pub fn canary_ntlm_hex() -> String {
    forms()[2].to_ascii_uppercase()
}

/// Fuzzer bytes with the markers replaced by the canary, and whether the
/// canary check applies: it does not when the fuzzer's own bytes already
/// hold a form of the canary, which then is not known to be a secret (a
/// `--secret-col` name is echoed, for one).
pub fn splice(data: &[u8]) -> (Vec<u8>, bool) {
    let lower = data.to_ascii_lowercase();
    let check = !forms().iter().any(|form| contains(&lower, form.as_bytes()));
    let sha1 = canary_sha1_hex();
    let ntlm = canary_ntlm_hex();
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut i = 0;
    while i < data.len() {
        let replacement = match (data[i], data.get(i + 1)) {
            (b'%', Some(b'P')) => Some(CANARY.as_bytes()),
            (b'%', Some(b'S')) => Some(sha1.as_bytes()),
            (b'%', Some(b'N')) => Some(ntlm.as_bytes()),
            _ => None,
        };
        match replacement {
            Some(bytes) => {
                out.extend_from_slice(bytes);
                i += 2;
            }
            None => {
                out.push(data[i]);
                i += 1;
            }
        }
    }
    (out, check)
}

/// Panic (a crash for the fuzzer) if `text` holds the canary in any form.
/// The message names where, never the text itself.
pub fn assert_clean(check: bool, what: &str, text: &str) {
    if !check {
        return;
    }
    let lower = text.to_ascii_lowercase();
    for (form, name) in forms().iter().zip(["plaintext", "SHA-1", "NTLM"]) {
        assert!(
            !contains(lower.as_bytes(), form.as_bytes()),
            "the canary's {name} leaked into {what}"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A sink for an export's rows that checks each one: every reject detail is
/// clean, and every account row is within the limits the readers promise.
struct CheckingSink {
    check: bool,
    last_line: u64,
}

impl credaudit::input::RowSink for CheckingSink {
    fn account(&mut self, row: credaudit::input::AccountRow<'_>) -> anyhow::Result<()> {
        use credaudit::input::columns::SecretKind;
        assert!(
            !row.account.is_empty() && row.account.len() <= credaudit::input::MAX_ACCOUNT_BYTES
        );
        match row.kind.hash_kind() {
            Some(kind) => assert_eq!(row.secret.len(), kind.bytes()),
            None if row.kind == SecretKind::Plain => {
                assert!(row.secret.len() <= credaudit::input::MAX_SECRET_BYTES)
            }
            None => {}
        }
        self.seen(row.line);
        Ok(())
    }

    fn rejected(
        &mut self,
        line: u64,
        cause: credaudit::input::RejectCause,
        detail: &str,
    ) -> anyhow::Result<()> {
        assert_clean(self.check, "a reject detail", detail);
        assert_clean(self.check, "a reject cause", cause.name());
        self.seen(line);
        Ok(())
    }

    fn skipped(&mut self, line: u64, _policy: credaudit::input::SkipPolicy) {
        self.seen(line);
    }
}

impl CheckingSink {
    /// Line numbers never go back.
    fn seen(&mut self, line: u64) {
        assert!(
            line >= self.last_line,
            "line {line} after {}",
            self.last_line
        );
        self.last_line = line;
    }
}

/// Open `bytes` as an export with `options` (`input::open_reader`) and read
/// every row into a checking sink; errors, at open or while reading, must
/// be clean in both their Display chain and their Debug form.
pub fn read_export(bytes: Vec<u8>, options: &credaudit::input::InputOptions, check: bool) {
    let reader = Box::new(std::io::Cursor::new(bytes));
    let opened = credaudit::input::open_reader(
        std::path::Path::new("fuzz.csv"),
        "fuzz.csv".to_string(),
        reader,
        credaudit::input::decompress::Compression::None,
        options,
    );
    let result = opened.and_then(|input| {
        input.read(&mut CheckingSink {
            check,
            last_line: 0,
        })
    });
    if let Err(error) = result {
        assert_clean(check, "an export error", &format!("{error:#}"));
        assert_clean(check, "an export error's Debug", &format!("{error:?}"));
    }
}

/// Export-reading options from one fuzzer byte: the format among `formats`
/// (bits 0-1), the `--secret-kind` (bits 2-4; most values mean none), and
/// the three skip rules (bits 5-7).
pub fn input_options(
    byte: u8,
    formats: &[credaudit::input::FormatChoice],
) -> credaudit::input::InputOptions {
    use credaudit::input::columns::SecretKind;
    let secret_kind = match (byte >> 2) & 7 {
        1 => Some(SecretKind::Plain),
        2 => Some(SecretKind::Sha1),
        3 => Some(SecretKind::Ntlm),
        4 => Some(SecretKind::Salted),
        _ => None,
    };
    credaudit::input::InputOptions {
        format: formats[usize::from(byte & 3) % formats.len()],
        delimiter: None,
        account_col: None,
        secret_col: None,
        secret_kind,
        admin_col: None,
        skip: credaudit::input::SkipRules {
            history: byte & 0x20 != 0,
            machine: byte & 0x40 != 0,
            disabled: byte & 0x80 != 0,
            default_machines: byte & 0x10 != 0,
        },
        null: None,
    }
}
