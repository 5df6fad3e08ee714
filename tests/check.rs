//! `credaudit check`: one password from standard input (or a no-echo
//! prompt), never from argv, never printed.
mod common;
use common::*;

#[test]
fn pwned_password_from_stdin() {
    let wd = Workdir::new();
    let run = wd.cmd(&["check"]).stdin("password\n").run().code(1);
    assert!(
        run.stdout.contains("pwned: listed in builtin"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("only the built-in list"));
    assert!(!run.stdout.contains("password\n") && !run.stderr.contains("password\n"));
}

#[test]
fn counts_from_a_corpus_and_crlf_stripped() {
    let wd = Workdir::new();
    let run = wd
        .cmd(&["check", "--corpus"])
        .arg(fixture("hibp/sha1-sample.txt"))
        .arg("--corpus")
        .arg(fixture("hibp/ntlm-sample.txt"))
        .stdin("Summer2024!\r\n")
        .run()
        .code(1);
    assert!(
        run.stdout
            .contains("pwned: seen 1204 times in sha1-sample.txt (sha1)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("pwned: seen 1204 times in ntlm-sample.txt (ntlm)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("Summer2024!"));
}

#[test]
fn unknown_password_exits_0_and_spaces_matter() {
    let wd = Workdir::new();
    let corpus = fixture("hibp/sha1-sample.txt");
    let run = wd
        .cmd(&["check", "--corpus"])
        .arg(&corpus)
        .stdin("a-Fresh-passphrase-8812")
        .run()
        .code(0);
    assert!(
        run.stdout.contains("not found in sha1-sample.txt (sha1)"),
        "{}",
        run.stdout
    );
    // Not trimmed: " letmein" is not "letmein".
    wd.cmd(&["check", "--corpus"])
        .arg(&corpus)
        .stdin(" letmein\n")
        .run()
        .code(0);
    wd.cmd(&["check", "--corpus"])
        .arg(&corpus)
        .stdin("letmein\n")
        .run()
        .code(1);
}

#[test]
fn password_is_not_accepted_on_the_command_line() {
    let wd = Workdir::new();
    let run = wd.cmd(&["check", "password"]).run().code(2);
    assert!(run.stderr.contains("unexpected argument"), "{}", run.stderr);
}
