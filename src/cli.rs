//! The command line (clap derive only). Doc comments here are the help text.
//! [`Cli::into_command`] turns the parsed options into the validated
//! configuration the library runs on; nothing past this file sees clap.

use clap::{Args, Parser, Subcommand, ValueEnum};
use credaudit::audit::{AuditConfig, SourceOptions};
use credaudit::findings::Reason;
use credaudit::input::columns::{ColumnRef, SecretKind};
use credaudit::input::{FormatChoice, InputOptions, SkipRules};
use credaudit::outcome::FailOn;
use credaudit::policy::PolicyOptions;
use credaudit::source::LookupMethod;
use std::path::PathBuf;

/// Find the accounts whose passwords appear in breach corpora, and list the
/// ones that must be reset.
#[derive(Parser, Debug)]
#[command(name = "credaudit", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Audit credential exports and write the reset list.
    ///
    /// Exit codes: 0 nothing to reset, 1 accounts must be reset, 2 usage or
    /// input error, 3 incomplete (accounts unchecked or rows rejected).
    Audit(Box<AuditArgs>),
    /// Check one password, read from a no-echo prompt or standard input.
    ///
    /// Exit codes: 0 not found, 1 found, 2 error, 3 could not be checked.
    Check(CheckArgs),
}

#[derive(Args, Debug)]
pub struct SourceArgs {
    /// Pwned Passwords corpus: one sorted HASH:COUNT file (SHA-1 or NTLM) or
    /// a directory of per-prefix files 00000.txt..FFFFF.txt. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub corpus: Vec<PathBuf>,
    /// Plaintext password list, one per line (gzip/zstd allowed). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub wordlist: Vec<PathBuf>,
    /// The organisation's own banned words (company, products, seasons,
    /// cities), one per line, checked with the usual mutations (case,
    /// leetspeak, appended digits, years and symbols). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub banned: Vec<PathBuf>,
    /// Only a corpus prevalence of at least N counts as pwned.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min_count: u64,
    /// How to search a corpus file: by interpolation search, by one full
    /// merge pass (validates every line), or chosen by query count.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub lookup: MethodArg,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Credential exports (CSV/TSV with a header, user:hash, pwdump,
    /// secretsdump; gzip/zstd read transparently). `-` reads standard input.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Write the reset list here (atomically, mode 0600) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write a JSON summary here (atomically, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Input format.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// CSV delimiter (default: sniffed from the header: comma, tab or semicolon).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<char>,
    /// Account column: header name or 1-based index.
    #[arg(long, value_name = "NAME|N")]
    pub account_col: Option<ColumnRef>,
    /// Secret column: header name or 1-based index.
    #[arg(long, value_name = "NAME|N")]
    pub secret_col: Option<ColumnRef>,
    /// What the secret column holds (default: from its name and content).
    #[arg(long, value_enum)]
    pub secret_kind: Option<KindArg>,
    /// Check secretsdump password-history lines (user_historyN); skipped by default.
    #[arg(long)]
    pub include_history: bool,
    /// Check machine accounts (names ending in `$`); skipped by default.
    #[arg(long)]
    pub include_machine: bool,
    /// Skip accounts secretsdump marks (status=Disabled); checked by default.
    #[arg(long)]
    pub skip_disabled: bool,
    /// Plaintext shorter than N characters is reported as `short` (NIST SP
    /// 800-63B-4: 15 when the password is the only factor, 8 with MFA); 0 turns
    /// the check off.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub min_length: usize,
    /// Report groups of at least N accounts that share one password.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(2..))]
    pub min_shared: u32,
    /// Column marking privileged accounts (values 1/true/yes/y/x/admin).
    #[arg(long, value_name = "NAME|N")]
    pub admin_col: Option<ColumnRef>,
    /// File of privileged account names, one per line (`DOMAIN\` optional).
    #[arg(long, value_name = "FILE")]
    pub admins: Option<PathBuf>,
    /// Look only for these reasons (comma list; unchecked is always reported).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub only: Vec<ReasonArg>,
    /// Do not look for these reasons (comma list).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub exclude: Vec<ReasonArg>,
    /// Fail on the first rejected row instead of counting it.
    #[arg(long)]
    pub strict: bool,
    /// What makes the run fail: `none`, `any`, or a comma list of reasons
    /// (pwned, empty, username, banned, privileged-shared, shared, short,
    /// unchecked), severities (low, medium, high, critical: that or worse)
    /// and `rejected`.
    #[arg(long, value_name = "LIST", default_value = "any")]
    pub fail_on: FailOn,
    /// No progress and no warnings on stderr; errors only.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    Auto,
    Csv,
    Tsv,
    Colon,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum KindArg {
    Plain,
    Sha1,
    Ntlm,
}

/// A finding reason, for `--only` and `--exclude`.
#[derive(Clone, Copy, Debug)]
pub struct ReasonArg(Reason);

impl std::str::FromStr for ReasonArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Reason::from_name(s.trim()).map(ReasonArg).ok_or_else(|| {
            format!(
                "unknown reason {s:?}: use {}",
                Reason::ALL.map(|r| r.name()).join(", ")
            )
        })
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum MethodArg {
    Auto,
    Search,
    Merge,
}

impl SourceArgs {
    pub fn into_options(self) -> SourceOptions {
        SourceOptions {
            corpora: self.corpus,
            wordlists: self.wordlist,
            banned: self.banned,
            method: match self.lookup {
                MethodArg::Auto => LookupMethod::Auto,
                MethodArg::Search => LookupMethod::Search,
                MethodArg::Merge => LookupMethod::Merge,
            },
            min_count: self.min_count,
        }
    }
}

impl AuditArgs {
    pub fn into_config(self) -> anyhow::Result<AuditConfig> {
        let delimiter = match self.delimiter {
            None => None,
            Some(c) if c.is_ascii() && c != '"' && c != '\n' => Some(c as u8),
            Some(c) => anyhow::bail!(
                "--delimiter must be one ASCII character other than a quote or newline, not {c:?}"
            ),
        };
        let mut reasons: Vec<Reason> = if self.only.is_empty() {
            Reason::ALL.to_vec()
        } else {
            self.only.iter().map(|r| r.0).collect()
        };
        reasons.retain(|r| !self.exclude.iter().any(|e| e.0 == *r));
        let admins = match &self.admins {
            Some(path) => PolicyOptions::load_admins(path)?,
            None => Default::default(),
        };
        Ok(AuditConfig {
            inputs: self.inputs,
            input: InputOptions {
                format: match self.format {
                    FormatArg::Auto => FormatChoice::Auto,
                    FormatArg::Csv => FormatChoice::Csv,
                    FormatArg::Tsv => FormatChoice::Tsv,
                    FormatArg::Colon => FormatChoice::Colon,
                },
                delimiter,
                account_col: self.account_col,
                secret_col: self.secret_col,
                secret_kind: self.secret_kind.map(|k| match k {
                    KindArg::Plain => SecretKind::Plain,
                    KindArg::Sha1 => SecretKind::Sha1,
                    KindArg::Ntlm => SecretKind::Ntlm,
                }),
                admin_col: self.admin_col,
                skip: SkipRules {
                    history: !self.include_history,
                    machine: !self.include_machine,
                    disabled: self.skip_disabled,
                },
            },
            sources: self.sources.into_options(),
            output: self.output,
            summary: self.summary,
            strict: self.strict,
            fail_on: self.fail_on,
            quiet: self.quiet,
            policy: PolicyOptions {
                min_length: self.min_length,
                min_shared: self.min_shared as usize,
                admins,
            },
            reasons,
        })
    }
}
