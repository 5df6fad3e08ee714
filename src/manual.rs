//! `credaudit completions SHELL` and `credaudit man`: both generated from
//! the clap definition in `cli.rs`, so they list exactly the options the
//! binary accepts and cannot fall behind it.
//!
//! The man page is one page for every command (clap_mangen would write one
//! per subcommand, and `man credaudit` should be enough): the top-level
//! NAME, SYNOPSIS and DESCRIPTION, a COMMANDS list, then one section per
//! command (clap_mangen's sections for it, demoted to subsections), and the
//! EXIT STATUS, ENVIRONMENT, FILES and EXAMPLES that clap does not know.

use crate::cli::Cli;
use clap::CommandFactory;
use std::io::Write;

/// Write the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "credaudit", out);
    out.flush()
}

/// Write the man page (roff).
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    let mut root = Cli::command();
    root.build();
    let page = clap_mangen::Man::new(root.clone().long_about(DESCRIPTION)).title("CREDAUDIT");
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    let leaves = leaves(&root);
    writeln!(out, ".SH COMMANDS")?;
    for (path, cmd) in &leaves {
        writeln!(out, ".TP\n\\fB{}\\fR", escape(path))?;
        writeln!(out, "{}", escape(&first_line(cmd)))?;
    }
    for (path, cmd) in &leaves {
        writeln!(out, ".SH \"{}\"", escape(&path.to_uppercase()))?;
        let mut section = Vec::new();
        let sub = clap_mangen::Man::new(cmd.clone().bin_name(path.clone()));
        sub.render_synopsis_section(&mut section)?;
        sub.render_description_section(&mut section)?;
        sub.render_options_section(&mut section)?;
        let section = String::from_utf8_lossy(&section);
        for line in section.lines() {
            match line.strip_prefix(".SH ") {
                Some(heading) => writeln!(out, ".SS {heading}")?,
                None => writeln!(out, "{line}")?,
            }
        }
    }
    out.write_all(TAIL.as_bytes())?;
    page.render_version_section(out)?;
    out.flush()
}

/// Every command that runs something, with its full name
/// (`credaudit index build`), in the order of `--help`.
fn leaves(cmd: &clap::Command) -> Vec<(String, clap::Command)> {
    fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let path = format!("{path} {}", sub.get_name());
            if sub.has_subcommands() {
                walk(sub, &path, out);
            } else {
                out.push((path, sub.clone()));
            }
        }
    }
    let mut out = Vec::new();
    walk(cmd, cmd.get_name(), &mut out);
    out
}

fn first_line(cmd: &clap::Command) -> String {
    cmd.get_about().map(|a| a.to_string()).unwrap_or_default()
}

/// Text for a roff line: backslashes and hyphens escaped, and no control
/// character (`.`, `'`) at the start.
fn escape(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with(['.', '\'']) {
        format!("\\&{text}")
    } else {
        text
    }
}

/// The page's DESCRIPTION (the top-level `--help` keeps its one line).
const DESCRIPTION: &str = "credaudit reads credential exports (CSV/TSV with a header, \
user:hash dumps, pwdump, secretsdump; gzip and zstd undone; - for standard input) \
and checks every password against leaked-password corpora (Have I Been Pwned's \
Pwned Passwords as a file, a mirror, a compiled store or the range API), against \
leaked username+password pairs verified with each account's own stored hash, and \
against password policy (empty, short, username-based, shared, banned words). It \
writes the list of accounts that must reset their password, and why, and a JSON \
summary. No password or hash ever shows up in its output; with --api only 5-hex \
hash prefixes leave the machine.\n\n\
Without --corpus, --wordlist or --api, audit and check use a built-in list of the \
10,000 most common passwords. The project README explains every option at length.";

/// What clap does not know: exit codes, environment, files, examples.
const TAIL: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Nothing to reset (\fBaudit\fR: nothing listed in \fB\-\-fail\-on\fR happened; \fBcheck\fR: not found; \fBdownload\fR: the range is complete).
.TP
\fB1\fR
Accounts must be reset (\fBcheck\fR: the password was found).
.TP
\fB2\fR
Usage or input error: a bad option, a missing, unreadable, empty or truncated file, a malformed or unsorted corpus, a corrupt store; \fB\-\-strict\fR and a bad row.
.TP
\fB3\fR
Incomplete: accounts could not be checked (a corpus coverage gap, a missing prefix file, a failed range API prefix, an unverifiable stored hash), or rows were rejected.
An incomplete audit outranks findings: 3 beats 1. The reset list is written either way.
.SH ENVIRONMENT
.TP
\fBNO_COLOR\fR
When set (to anything), progress lines use no colours or other terminal styles.
Progress is drawn only when standard error is a terminal.
.TP
\fBCREDAUDIT_API_URL\fR
The range API server for \fB\-\-api\fR and \fBdownload\fR without a URL (default https://api.pwnedpasswords.com).
.TP
\fBXDG_CACHE_HOME\fR
Where the cache directory is (\fI$XDG_CACHE_HOME/credaudit\fR, else \fI~/.cache/credaudit\fR): range API responses and corpus verification stamps.
.SH FILES
.TP
\fI~/.cache/credaudit/\fR
Range API responses (they show which hash prefixes were asked: keep the cache private, never in a shared CI cache) and \fIverified\-corpora/\fR stamps.
.SH EXAMPLES
.TP
Audit an export against a compiled store, write the reset list and a summary:
.nf
credaudit audit users.csv \-\-corpus pwned\-sha1.cas \-o reset.csv \-\-summary summary.json
.fi
.TP
Audit straight from PostgreSQL (SSO accounts have a NULL password):
.nf
psql \-X \-c "\ecopy (select email, password from users) to stdout csv header" \e
  | credaudit audit \- \-\-null psql \-\-corpus pwned\-sha1.cas \-o reset.csv
.fi
.TP
Fail a CI job only on breached or empty passwords:
.nf
credaudit audit users.csv \-\-corpus pwned\-sha1.cas \-\-fail\-on pwned,empty \-\-quiet
.fi
.TP
Compile the downloaded corpus once, then check one password from a prompt:
.nf
credaudit index build \-\-out pwned\-sha1.cas pwnedpasswords\-sha1.txt
credaudit check \-\-corpus pwned\-sha1.cas
.fi
.TP
Install completions and this page:
.nf
credaudit completions bash > ~/.local/share/bash\-completion/completions/credaudit
credaudit man > ~/.local/share/man/man1/credaudit.1
.fi
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_escapes() {
        assert_eq!(escape("--null"), "\\-\\-null");
        assert_eq!(escape(".hidden"), "\\&.hidden");
        assert_eq!(escape("a\\b"), "a\\eb");
    }

    #[test]
    fn every_command_is_a_leaf_once() {
        let mut root = Cli::command();
        root.build();
        let names: Vec<String> = leaves(&root).into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            names,
            [
                "credaudit audit",
                "credaudit check",
                "credaudit download",
                "credaudit index build",
                "credaudit index verify",
                "credaudit index info",
                "credaudit merge",
                "credaudit serve",
                "credaudit completions",
                "credaudit man",
            ]
        );
    }
}
