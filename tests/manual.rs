//! `credaudit completions SHELL` and `credaudit man`: each completion script
//! parses in its own shell (bash always; zsh, fish and elvish where
//! installed, else "SKIPPED"), bash and fish complete a real option from
//! the script, and `man -l` renders the page with every command, EXIT
//! STATUS and EXAMPLES, and groff finds nothing to warn about.
mod common;
use common::*;
use std::process::{Command, Stdio};

fn generate(args: &[&str]) -> String {
    let run = Workdir::new().cmd(args).run().code(0);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    run.stdout
}

/// Write `script` and run `shell args... FILE`; `None` when the shell is
/// missing.
fn in_shell(shell: &str, args: &[&str], script: &str) -> Option<std::process::Output> {
    if !have(shell) {
        return None;
    }
    let wd = Workdir::new();
    let file = wd.write("script", script);
    Some(
        Command::new(shell)
            .args(args)
            .arg(&file)
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    )
}

#[test]
fn every_shell_gets_a_script_naming_the_options() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = generate(&["completions", shell]);
        // fish names long options without their dashes (`-l fail-on`).
        for word in [
            "credaudit",
            "audit",
            "null",
            "fail-on",
            "index",
            "completions",
        ] {
            assert!(script.contains(word), "{shell}: no {word:?}");
        }
    }
    Workdir::new()
        .cmd(&["completions", "tcsh"])
        .run()
        .code(2)
        .says("invalid value");
}

#[test]
fn scripts_parse_in_their_shells() {
    for (shell, check) in [
        ("bash", &["-n"][..]),
        ("zsh", &["-n"][..]),
        ("fish", &["--no-execute"][..]),
        ("elvish", &["-compileonly"][..]),
    ] {
        let mut script = generate(&["completions", shell]);
        if shell == "elvish" {
            // The `edit:` module exists only in an interactive elvish: the
            // one variable the script sets there becomes a local one.
            script = "var arg-completer = [&]\n".to_string()
                + &script.replace("edit:completion:arg-completer", "arg-completer");
        }
        match in_shell(shell, check, &script) {
            None if shell == "bash" => panic!("bash is not installed"),
            None => println!("SKIPPED {shell} completion syntax check: {shell} is not installed"),
            Some(out) => assert!(
                out.status.success(),
                "{shell} rejects its script:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    println!("SKIPPED powershell completion syntax check: no PowerShell on Linux CI");
}

/// The bash script, sourced, completes `credaudit audit --nu` to `--null`
/// and `credaudit completions ` to the shells.
#[test]
fn bash_completes_from_the_script() {
    let script = generate(&["completions", "bash"]);
    let probe = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source \"$1\"\n\
             COMP_WORDS=({})\n\
             COMP_CWORD={}\n\
             COMP_LINE='{line}'\n\
             COMP_POINT=${{#COMP_LINE}}\n\
             _credaudit credaudit '{}' '{}'\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let wd = Workdir::new();
        let file = wd.write("credaudit.bash", &script);
        let out = Command::new("bash")
            .args(["-c", &program, "probe"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(probe("credaudit audit --nu").trim(), "--null");
    let shells = probe("credaudit completions ");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        assert!(
            shells.lines().any(|l| l == shell),
            "{shell} not in {shells:?}"
        );
    }
}

#[test]
fn fish_completes_from_the_script() {
    let script = generate(&["completions", "fish"]);
    let Some(_) = in_shell("fish", &["--no-execute"], &script) else {
        println!("SKIPPED fish completion: fish is not installed");
        return;
    };
    let wd = Workdir::new();
    let file = wd.write("credaudit.fish", &script);
    let out = Command::new("fish")
        .arg("-c")
        .arg(format!(
            "source {}; complete -C 'credaudit audit --nu'",
            file.display()
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("--null\t")), "{text}");
}

#[test]
fn man_page_renders_with_every_command() {
    let page = generate(&["man"]);
    if !have("man") || !have("groff") {
        println!("SKIPPED man -l rendering: man or groff is not installed");
        return;
    }
    let wd = Workdir::new();
    let file = wd.write("credaudit.1", &page);
    let out = Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "COMMANDS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "EXAMPLES",
    ] {
        assert!(text.lines().any(|l| l == section), "no {section} section");
    }
    for command in [
        "audit",
        "check",
        "download",
        "index build",
        "index verify",
        "index info",
        "serve",
        "completions",
        "man",
    ] {
        let heading = format!("CREDAUDIT {}", command.to_uppercase());
        assert!(text.lines().any(|l| l == heading), "no {heading} section");
        assert!(
            text.lines().any(|l| {
                // Justified text: words may be spaced out.
                let words: Vec<&str> = l.split_whitespace().collect();
                words
                    .join(" ")
                    .starts_with(&format!("credaudit {command} ["))
            }),
            "no synopsis of {command}"
        );
    }
    // Options of several commands, rendered (hyphens escaped right), and
    // the exit codes.
    for word in [
        "--null <MARKER>",
        "--fail-on <LIST>",
        "--full-keys",
        "--listen <ADDR>",
        "NO_COLOR",
    ] {
        assert!(text.contains(word), "no {word:?}");
    }
    for code in ["0", "1", "2", "3"] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{code}      "))),
            "exit code {code}"
        );
    }
    // groff's own check of the page: no warnings at all.
    let lint = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(lint.status.success());
    assert!(
        lint.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&lint.stderr)
    );
}
