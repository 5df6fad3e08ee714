//! The command line (clap derive only). Doc comments here are the help text.
//! [`Cli::into_command`] turns the parsed options into the validated
//! configuration the library runs on; nothing past this file sees clap.

use clap::{Args, Parser, Subcommand, ValueEnum};
use credaudit::audit::{AuditConfig, SourceOptions};
use credaudit::combolist::CombolistOptions;
use credaudit::findings::Reason;
use credaudit::input::columns::{ColumnRef, SecretKind};
use credaudit::input::{FormatChoice, InputOptions, NullMarker, SkipRules};
use credaudit::outcome::FailOn;
use credaudit::policy::PolicyOptions;
use credaudit::shard::Shard;
use credaudit::source::corpus_stamp::StampDir;
use credaudit::source::{LookupMethod, VerifyOptions};
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
    /// Mirror the Pwned Passwords range API into a directory of per-prefix
    /// files (00000.txt..FFFFF.txt) that `--corpus DIR` reads. Resumable:
    /// a rerun fetches only what is missing (and, with --refresh, what
    /// changed).
    ///
    /// Exit codes: 0 the range is complete, 2 error, 3 prefixes missing or
    /// unparseable (named on stderr; run again to fetch them).
    Download(DownloadArgs),
    /// Compile a Pwned Passwords corpus into a store (`--corpus STORE`
    /// reads it): every line checked, about 6.6 bytes per hash, so the real
    /// corpus stays in the page cache; verify and describe stores.
    ///
    /// Exit codes: 0 done, 2 error (bad input, a corrupt store).
    #[command(subcommand)]
    Index(IndexCommand),
    /// Merge the reports of the shards of one `audit --shard K/N` run into
    /// the reset list and summary one unsharded run would have written.
    ///
    /// Fails (exit 2) on a missing shard, a shard of another run, a shard
    /// given twice, or a reset list that does not match its summary.
    /// Otherwise the exit code is the audit's: 2 from any shard, else 3 over
    /// 1 over 0.
    Merge(MergeArgs),
    /// Serve the Pwned Passwords range API (`GET /range/{prefix}`, the
    /// public protocol) from a store, for `--api URL` clients across an
    /// organisation.
    ///
    /// Runs until SIGTERM or Ctrl-C (in-flight requests finish; exit 0).
    /// Exit code 2: a bad source, certificate or listen address.
    Serve(ServeArgs),
    /// Print the shell completion script for SHELL on stdout.
    ///
    /// Install: bash `credaudit completions bash >
    /// ~/.local/share/bash-completion/completions/credaudit`; zsh into a
    /// directory of $fpath as `_credaudit`; fish `>
    /// ~/.config/fish/completions/credaudit.fish`.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout: every command, exit status,
    /// environment and examples.
    ///
    /// Install: `credaudit man > ~/.local/share/man/man1/credaudit.1`, or read
    /// it at once with `credaudit man | man -l -`.
    Man,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// What to serve: a store built with `index build --full-keys`, or a
    /// sorted corpus file or mirror directory (compiled into a temporary
    /// store at start). One SHA-1 and one NTLM source at most.
    #[arg(long, value_name = "SOURCE", required = true)]
    pub corpus: Vec<PathBuf>,
    /// Address and port to listen on (port 0: any free port; the address
    /// bound is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// TLS certificate chain (PEM); serves HTTPS with HTTP/2.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Connections served at once; more wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Seconds a connection may take to send a request head (and a TLS
    /// handshake), or stay idle between requests, before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Log one line per request to FILE (status, mode, coding, bytes, time;
    /// mode 0600). Off by default: prefixes say what passwords look like.
    #[arg(long, value_name = "FILE")]
    pub access_log: Option<PathBuf>,
    /// Put the requested path, with its prefix, in the access log.
    #[arg(long, requires = "access_log")]
    pub log_prefixes: bool,
    /// Only the listening line and errors on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

impl ServeArgs {
    pub fn into_config(self) -> credaudit::serve::ServeConfig {
        credaudit::serve::ServeConfig {
            corpora: self.corpus,
            listen: self.listen,
            tls: self.tls_cert.zip(self.tls_key),
            max_connections: self.max_connections as usize,
            header_timeout: std::time::Duration::from_secs(self.header_timeout),
            access_log: self.access_log,
            log_prefixes: self.log_prefixes,
            quiet: self.quiet,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum IndexCommand {
    /// Compile sorted corpus files (SHA-1 or NTLM; plain, gzip or zstd; -
    /// for standard input) or mirror directories into one store. Sources
    /// are read in the order given and must together ascend.
    Build(IndexBuildArgs),
    /// Read the whole store and check every block checksum (after copying
    /// it, or when in doubt).
    Verify(IndexStoreArgs),
    /// Print a store's header: kind, size, coverage, sources.
    Info(IndexInfoArgs),
}

#[derive(Args, Debug)]
pub struct IndexBuildArgs {
    /// The store to write (replaced atomically when complete).
    #[arg(long, value_name = "STORE")]
    pub out: PathBuf,
    /// Keep whole hashes instead of 64 bits (larger; what `serve` needs to
    /// give back suffixes).
    #[arg(long)]
    pub full_keys: bool,
    /// Leave out hashes seen fewer than N times; audits against the store
    /// cannot then ask for less.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min_count: u64,
    /// Build even if part of hash space has no data (a partial download):
    /// it is recorded, and lookups there are unchecked, never clean.
    #[arg(long)]
    pub allow_missing: bool,
    /// No progress and no summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Sorted corpus files, `-`, or mirror directories.
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct IndexStoreArgs {
    #[arg(value_name = "STORE")]
    pub store: PathBuf,
    /// No progress and no OK line.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct IndexInfoArgs {
    #[arg(value_name = "STORE")]
    pub store: PathBuf,
    /// As JSON.
    #[arg(long)]
    pub json: bool,
}

impl IndexBuildArgs {
    pub fn into_options(self) -> credaudit::store::build::BuildOptions {
        credaudit::store::build::BuildOptions {
            out: self.out,
            sources: self.sources,
            full_keys: self.full_keys,
            min_count: self.min_count,
            allow_missing: self.allow_missing,
        }
    }
}

#[derive(Args, Debug)]
pub struct SourceArgs {
    /// Pwned Passwords corpus: a store from `credaudit index build`, one
    /// sorted HASH:COUNT file (SHA-1 or NTLM) or a directory of per-prefix
    /// files 00000.txt..FFFFF.txt. Repeatable.
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
    /// The organisation's name, banned like a --banned word (and, in
    /// plaintext, also normalised and scored). One word; repeatable.
    #[arg(long, value_name = "NAME", value_parser = parse_org)]
    pub org: Vec<String>,
    /// Only a corpus prevalence of at least N counts as pwned [default: 1,
    /// or the --min-count a store was built with; asking for less than
    /// that is an error].
    #[arg(long, value_name = "N")]
    pub min_count: Option<u64>,
    /// How to search a corpus file: by interpolation search, by one full
    /// merge pass (validates every line), or chosen by query count.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub lookup: MethodArg,
    /// Skip the one-time check of every line of a sorted corpus file (the
    /// summary says so). Without it, a file's first use reads it all once
    /// and later runs trust the recorded verdict while the file is unchanged.
    #[arg(long)]
    pub trust_corpus: bool,
    /// Also check against the Pwned Passwords range API, at URL or else
    /// $CREDAUDIT_API_URL or https://api.pwnedpasswords.com. Only the first
    /// 5 hex characters of each hash are sent. Give it after the inputs, or
    /// as --api=URL.
    #[arg(long, value_name = "URL", num_args = 0..=1, value_parser = parse_url, help_heading = "Range API")]
    pub api: Option<Option<String>>,
    #[command(flatten)]
    pub http: HttpArgs,
    /// Do not ask the range API to pad its responses with count-0 lines.
    #[arg(long, help_heading = "Range API")]
    pub no_padding: bool,
    /// Cache directory, private (0700): range API responses, and the stamps
    /// of corpus files verified line by line [default:
    /// $XDG_CACHE_HOME/credaudit, else ~/.cache/credaudit; check keeps no
    /// range API responses unless given, as they would record the prefix
    /// of the password checked].
    #[arg(long, value_name = "DIR", help_heading = "Range API")]
    pub cache_dir: Option<PathBuf>,
    /// Seconds a cached response is used without asking the server; older
    /// ones are revalidated (ETag, 304).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 86400,
        help_heading = "Range API"
    )]
    pub max_age: u64,
    /// Neither read nor write the cache (range API responses, corpus
    /// verification stamps: every run then verifies a corpus file again).
    #[arg(long, conflicts_with = "cache_dir", help_heading = "Range API")]
    pub no_cache: bool,
}

/// How range API requests are made (`--api` and `download`).
#[derive(Args, Debug)]
pub struct HttpArgs {
    /// Range API requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024), help_heading = "Range API")]
    pub concurrency: u32,
    /// Connect and request timeout, in seconds.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_secs, help_heading = "Range API")]
    pub timeout: std::time::Duration,
    /// Retries of a failed request (connection error, timeout, 5xx, 429,
    /// malformed body), with exponential backoff.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        help_heading = "Range API"
    )]
    pub retries: u32,
    /// Also trust the CA certificates in this PEM file (a company mirror
    /// behind an internal CA). Repeatable.
    #[arg(long, value_name = "FILE", help_heading = "Range API")]
    pub ca_cert: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DownloadArgs {
    /// Mirror directory: one XXXXX.txt file per prefix (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Mirror the NTLM corpus instead of SHA-1.
    #[arg(long)]
    pub ntlm: bool,
    /// Server [default: $CREDAUDIT_API_URL, else https://api.pwnedpasswords.com].
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub api: Option<String>,
    /// Only these prefixes: FIRST-LAST (e.g. 00000-0FFFF) or one prefix.
    #[arg(long, value_name = "RANGE", default_value = "00000-FFFFF", value_parser = credaudit::hibp::prefix::parse_range)]
    pub prefixes: (u32, u32),
    /// Only check the mirror (every prefix present and parseable); fetch nothing.
    #[arg(long)]
    pub verify: bool,
    /// Revalidate prefixes already present (If-None-Match with their ETag)
    /// and replace those that changed.
    #[arg(long, conflicts_with = "verify")]
    pub refresh: bool,
    /// Also write the range as one sorted HASH:COUNT file (for --corpus FILE).
    #[arg(long, value_name = "FILE")]
    pub sorted_file: Option<PathBuf>,
    #[command(flatten)]
    pub http: HttpArgs,
    /// No progress and no summary on stderr; errors only.
    #[arg(short, long)]
    pub quiet: bool,
}

/// An http:// or https:// URL. Checked here so that `--api users.csv` (an
/// input taken for the optional URL) is a clear usage error.
fn parse_url(s: &str) -> Result<String, String> {
    if s.starts_with("http://") || s.starts_with("https://") {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not an http:// or https:// URL (give --api after the inputs, or as --api=URL)"
        ))
    }
}

/// An `--org` name: one word, lower-cased.
fn parse_org(s: &str) -> Result<String, String> {
    let word = s.trim().to_lowercase();
    if word.is_empty() || word.contains(char::is_whitespace) {
        return Err(format!(
            "{s:?} is not one word (repeat --org for each word of a name)"
        ));
    }
    Ok(word)
}

/// Seconds, fractions allowed, more than zero.
fn parse_secs(s: &str) -> Result<std::time::Duration, String> {
    match s.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 86400.0 => Ok(std::time::Duration::from_secs_f64(secs)),
        _ => Err(format!(
            "{s:?} is not a number of seconds between 0 and 86400"
        )),
    }
}

impl HttpArgs {
    fn options(self, url: String) -> credaudit::hibp::client::ClientOptions {
        credaudit::hibp::client::ClientOptions {
            url,
            concurrency: self.concurrency as usize,
            timeout: self.timeout,
            retries: self.retries,
            ca_certs: self.ca_cert,
        }
    }
}

impl DownloadArgs {
    pub fn into_config(self) -> credaudit::hibp::mirror::DownloadConfig {
        credaudit::hibp::mirror::DownloadConfig {
            client: self.http.options(
                self.api
                    .unwrap_or_else(credaudit::hibp::client::url_from_env),
            ),
            out: self.out,
            kind: if self.ntlm {
                credaudit::hash::HashKind::Ntlm
            } else {
                credaudit::hash::HashKind::Sha1
            },
            prefixes: self.prefixes,
            verify_only: self.verify,
            refresh: self.refresh,
            sorted_file: self.sorted_file,
            quiet: self.quiet,
        }
    }
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
    /// Write a self-contained HTML report here (atomically, mode 0600):
    /// counts, charts, the largest shared groups, privileged accounts.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
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
    /// How the export writes a SQL NULL secret (an SSO account with no
    /// password): `psql` for psql's CSV (an unquoted empty field is NULL, a
    /// quoted "" the empty string), or a literal marker such as '\N'
    /// (MySQL's INTO OUTFILE). NULL rows are skipped as no_hash; without
    /// --null an empty field is an empty password.
    #[arg(long, value_name = "MARKER")]
    pub null: Option<NullMarker>,
    /// Check secretsdump password-history lines (user_historyN); skipped by default.
    #[arg(long)]
    pub include_history: bool,
    /// Check machine accounts (names ending in `$`); skipped by default.
    #[arg(long)]
    pub include_machine: bool,
    /// Skip accounts secretsdump marks (status=Disabled); checked by default.
    #[arg(long)]
    pub skip_disabled: bool,
    /// Leaked username+password pairs (combolists, stealer logs; gzip/zstd,
    /// `-` for stdin): accounts found in them are checked against their own
    /// stored hash. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub combolist: Vec<PathBuf>,
    /// Leaked passwords verified per account at most (slow hashes cost up
    /// to ~100 ms each); the rest are counted in the summary.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub max_candidates: usize,
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
    /// Do not ban the organisation's names found in the account names (the
    /// domain of DOMAIN\user names; email domains of at least 1% of the
    /// accounts, public mail providers excepted).
    #[arg(long)]
    pub no_auto_banned: bool,
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
    /// (pair-leaked, reversible, pwned, empty, lm-hash, username, banned,
    /// default-computer-password, privileged-shared, shared, short,
    /// no-aes-keys, history-pwned, account-in-leak, unchecked), severities
    /// (low, medium, high, critical: that or worse) and `rejected`.
    #[arg(long, value_name = "LIST", default_value = "any")]
    pub fail_on: FailOn,
    /// No progress and no warnings on stderr; errors only.
    #[arg(short, long)]
    pub quiet: bool,
    /// Audit only the accounts whose secret falls in shard K of N (K from
    /// 0); `auto/N` takes K from JOB_COMPLETION_INDEX (Kubernetes) or
    /// SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN (Slurm). Needs -o and
    /// --summary; `credaudit merge` combines the shards' reports.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The shards' `--summary` files (each names its reset list).
    #[arg(value_name = "SHARD_SUMMARY", required = true)]
    pub summaries: Vec<PathBuf>,
    /// Write the merged reset list here (atomically, mode 0600) instead of
    /// stdout.
    #[arg(short, long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the merged JSON summary here (atomically, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
}

impl MergeArgs {
    pub fn into_config(self) -> credaudit::report::merge::MergeConfig {
        credaudit::report::merge::MergeConfig {
            summaries: self.summaries,
            output: self.out,
            summary: self.summary,
        }
    }
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
    /// Stored password hashes (bcrypt, argon2, ...), scheme read per row.
    Salted,
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
    /// `cache_by_default`: whether `--api` uses the default cache directory
    /// when `--cache-dir` is not given (audit yes, check no).
    pub fn into_options(self, cache_by_default: bool) -> SourceOptions {
        SourceOptions {
            corpora: self.corpus,
            wordlists: self.wordlist,
            banned: self.banned,
            org: self.org,
            method: match self.lookup {
                MethodArg::Auto => LookupMethod::Auto,
                MethodArg::Search => LookupMethod::Search,
                MethodArg::Merge => LookupMethod::Merge,
            },
            verify: VerifyOptions {
                trust: self.trust_corpus,
                stamps: self
                    .cache_dir
                    .clone()
                    .or_else(credaudit::hibp::cache::default_dir)
                    .filter(|_| !self.no_cache)
                    .map(|dir| StampDir::new(dir.join("verified-corpora"))),
            },
            min_count: self.min_count,
            api: self
                .api
                .map(|url| credaudit::source::range_api::ApiOptions {
                    client: self
                        .http
                        .options(url.unwrap_or_else(credaudit::hibp::client::url_from_env)),
                    padding: !self.no_padding,
                    cache: self
                        .cache_dir
                        .or_else(|| {
                            cache_by_default
                                .then(credaudit::hibp::cache::default_dir)
                                .flatten()
                        })
                        .filter(|_| !self.no_cache)
                        .map(|dir| credaudit::hibp::cache::CacheOptions {
                            dir,
                            max_age: std::time::Duration::from_secs(self.max_age),
                        }),
                }),
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
        let shard = self
            .shard
            .as_deref()
            .map(|s| Shard::parse(s, |name| std::env::var(name).ok()))
            .transpose()?;
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
                    KindArg::Salted => SecretKind::Salted,
                }),
                admin_col: self.admin_col,
                skip: SkipRules {
                    history: !self.include_history,
                    machine: !self.include_machine,
                    disabled: self.skip_disabled,
                    default_machines: reasons.contains(&Reason::DefaultComputerPassword),
                },
                null: self.null,
            },
            sources: self.sources.into_options(true),
            output: self.output,
            summary: self.summary,
            html: self.html,
            strict: self.strict,
            fail_on: self.fail_on,
            quiet: self.quiet,
            policy: PolicyOptions {
                min_length: self.min_length,
                min_shared: self.min_shared as usize,
                admins,
            },
            reasons,
            combolist: (!self.combolist.is_empty()).then(|| CombolistOptions {
                paths: self.combolist.clone(),
                max_candidates: self.max_candidates,
                strict: self.strict,
            }),
            auto_banned: !self.no_auto_banned,
            shard,
        })
    }
}
