//! The `credaudit` binary: parse the command line, run, map the result to an
//! exit code. Errors print as one line (`{:#}`) and exit 2; a closed stdout
//! (`credaudit audit ... | head`) is success.

mod cli;
mod manual;

use clap::Parser;
use cli::{Cli, Command, IndexCommand};
use credaudit::outcome::EXIT_ERROR;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use zeroize::Zeroizing;

fn main() -> ExitCode {
    if let Err(e) = credaudit::core_dumps::disable() {
        eprintln!("credaudit: error: cannot turn off core dumps, which could write passwords to disk: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("credaudit: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Audit(args) => {
            let config = args.into_config()?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let outcome = credaudit::audit::run(&config, &mut out)?;
            out.flush()?;
            Ok(outcome.exit_code)
        }
        Command::Check(args) => {
            let password = read_password()?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            credaudit::check::run(&args.sources.into_options(false), &password, &mut out)
        }
        Command::Merge(args) => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let code = credaudit::report::merge::run(&args.into_config(), &mut out)?;
            out.flush()?;
            Ok(code)
        }
        Command::Download(args) => credaudit::hibp::mirror::run(&args.into_config()),
        Command::Index(IndexCommand::Build(args)) => {
            let quiet = args.quiet;
            credaudit::store::command::build(&args.into_options(), quiet)
        }
        Command::Index(IndexCommand::Verify(args)) => {
            credaudit::store::command::verify(&args.store, args.quiet, &mut std::io::stdout())
        }
        Command::Index(IndexCommand::Info(args)) => {
            credaudit::store::command::info(&args.store, args.json, &mut std::io::stdout())
        }
        Command::Serve(args) => credaudit::serve::run(&args.into_config()),
        Command::Completions(args) => {
            manual::completions(args.shell, &mut std::io::stdout().lock())?;
            Ok(0)
        }
        Command::Man => {
            manual::man(&mut std::io::stdout().lock())?;
            Ok(0)
        }
    }
}

/// One password from a no-echo prompt (terminal) or standard input (pipe),
/// without its line ending; wiped from memory when dropped.
fn read_password() -> anyhow::Result<Zeroizing<Vec<u8>>> {
    if std::io::stdin().is_terminal() {
        let typed = Zeroizing::new(rpassword::prompt_password(
            "Password to check (not echoed): ",
        )?);
        return Ok(Zeroizing::new(typed.as_bytes().to_vec()));
    }
    let mut buf = credaudit::secret_buf::read_to_end(&mut std::io::stdin().lock())?;
    if buf.ends_with(b"\n") {
        buf.pop();
        if buf.ends_with(b"\r") {
            buf.pop();
        }
    }
    Ok(buf)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<csv::Error>().is_some_and(|ce| {
                matches!(ce.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
            })
    })
}
