//! `atdm`: the ATDM command-line tool. Every engine capability from the shell, for CI steps,
//! people at a terminal and agents that call tools; `-o json` for programs.
//!
//! The commands, options, environment variables, exit codes and JSON shapes are documented
//! in `docs/cli.md`.

mod args;
mod commands;
mod config;
mod generate;
mod mask;
mod mcp;
mod output;
mod progress;
mod render;
mod validate;
mod views;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, OutputFormat};
use crate::output::{CliError, Output, USAGE_ERROR};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let out = Output::new(cli.global.output);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = CliError::failed("INTERNAL_ERROR", format!("cannot start a runtime: {e}"));
            return out.error(&e);
        }
    };
    match runtime.block_on(commands::run(cli, &out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => out.error(&e),
    }
}

/// Prints a command-line error (clap's, with its usage hint) and returns exit code 2; help
/// and version requests print to stdout and succeed. With `-o json` on the command line,
/// the error is a JSON object with code `USAGE_ERROR`.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    if json_requested(std::env::args().skip(1)) {
        let message = e.render().to_string();
        // The first paragraph: the usage hint after it is for people.
        let message = message.trim().trim_start_matches("error: ");
        let message = message.split("\n\n").next().unwrap_or(message);
        let out = Output::new(OutputFormat::Json);
        return out.error(&CliError::usage(USAGE_ERROR, message));
    }
    let _ = e.print();
    ExitCode::from(2)
}

/// Whether the raw arguments ask for JSON output (for errors found before they parse).
fn json_requested(args: impl Iterator<Item = String>) -> bool {
    let mut args = args.peekable();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--" => return false,
            "-o" | "--output" if args.peek().is_some_and(|v| v == "json") => return true,
            "-ojson" | "-o=json" | "--output=json" => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> impl Iterator<Item = String> {
        s.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn json_is_found_in_every_spelling() {
        assert!(json_requested(args("-o json request x -c y")));
        assert!(json_requested(args("request x --output json")));
        assert!(json_requested(args("request x --output=json")));
        assert!(json_requested(args("-ojson request")));
        assert!(!json_requested(args("request x -o human")));
        assert!(!json_requested(args("request x -- -o json")));
    }
}
