//! The command line: global options, subcommands and their arguments.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes: 0 success; 1 an engine error (code and message on stderr, a JSON error object \
with -o json); 2 a usage error.

JSON output (-o json) is stable and documented in docs/cli.md: fields may be added, none \
are renamed or removed.

A CI job in four lines:
  out=$(atdm -o json request claim_denial_active_member)
  run=$(echo \"$out\" | jq -r .run_id); token=$(echo \"$out\" | jq -r .token)
  ./run-my-tests --member \"$(echo \"$out\" | jq -r .data.member_id)\"
  atdm reset \"$run\" --token \"$token\" && atdm audit \"$run\" --html audit.html";

/// atdm: synthetic test data by intent. Request a scenario, run your tests, reset exactly
/// what was seeded, and read the audit trail.
#[derive(Debug, Parser)]
#[command(name = "atdm", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// Options every command accepts, before or after the subcommand.
    #[command(flatten)]
    pub(crate) global: Global,
    /// The command.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum OutputFormat {
    /// Short, aligned lines for people.
    #[default]
    Human,
    /// One JSON document on stdout (errors as a JSON object on stderr).
    Json,
}

/// Options every command accepts (listed under their own heading in every command's help).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct Global {
    /// Output format.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub(crate) output: OutputFormat,

    /// Database URL: sqlite://PATH, postgres://..., mysql://... [default: sqlite://.atdm/atdm.sqlite]
    #[arg(
        long,
        global = true,
        env = "ATDM_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub(crate) database_url: Option<String>,

    /// Store for the audit trail and baselines: file://DIR or a directory, memory://, s3://BUCKET/PREFIX [default: .atdm/store]
    #[arg(
        long,
        global = true,
        env = "ATDM_STORE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub(crate) store_url: Option<String>,

    /// A directory with schema.toml, optional reference.toml and scenario files, as `introspect --out DIR` writes [default: the healthcare demo pack, on the embedded default database only]
    #[arg(
        long,
        global = true,
        env = "ATDM_SCENARIO_DIR",
        hide_env_values = true,
        value_name = "DIR"
    )]
    pub(crate) scenario_dir: Option<PathBuf>,

    /// A built-in pack to use on any database when no --scenario-dir is given: healthcare (the demo pack)
    #[arg(
        long,
        global = true,
        env = "ATDM_PACK",
        hide_env_values = true,
        value_name = "NAME"
    )]
    pub(crate) pack: Option<String>,

    /// Where requested fixture files are written [default: .atdm/fixtures]
    #[arg(
        long,
        global = true,
        env = "ATDM_FIXTURE_DIR",
        hide_env_values = true,
        value_name = "DIR"
    )]
    pub(crate) fixture_dir: Option<PathBuf>,

    /// The reference date ("today") of requests, YYYY-MM-DD [default: the current UTC date]
    #[arg(long, global = true, env = "ATDM_REFERENCE_DATE", hide_env_values = true, value_name = "DATE", value_parser = parse_date)]
    pub(crate) reference_date: Option<NaiveDate>,

    /// Who is asking, for the run catalog and the audit trail [default: $USER, or atdm]
    #[arg(
        long,
        global = true,
        env = "ATDM_INVOKER",
        hide_env_values = true,
        value_name = "NAME"
    )]
    pub(crate) invoker: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the scenarios of the pack.
    Scenarios,
    /// Describe a scenario: its knobs (allowed values, defaults), rows and validators.
    Describe {
        /// The scenario id.
        scenario: String,
    },
    /// List the edge cases of the pack's columns: valid boundary values, and invalid ones as negative-test fixtures (value, class, why it should be rejected, which databases reject it themselves).
    EdgeCases {
        /// Only this table (repeatable) [default: every table].
        #[arg(long = "table", value_name = "TABLE")]
        tables: Vec<String>,
        /// Include the dangerous class: attack payloads (SQL injection, markup, path traversal, format strings, NUL bytes).
        #[arg(long)]
        dangerous: bool,
    },
    /// Find scenarios by intent ("denied claim out of network"), best match first.
    Find {
        /// Words saying what data you need.
        #[arg(required = true, num_args = 1..)]
        intent: Vec<String>,
        /// At most this many matches.
        #[arg(long, default_value_t = 5)]
        limit: usize,
    },
    /// Show what a request would seed (or why it would fail), without writing anything.
    Plan {
        /// What to plan.
        #[command(flatten)]
        request: RequestArgs,
        /// Show every value and where it came from: the scenario, a knob, a template, another row, a generator, the column's name or checks, the database.
        #[arg(long)]
        explain: bool,
    },
    /// Seed a scenario: prints the run id, the entity keys and the cleanup token (shown once).
    Request {
        /// What to request.
        #[command(flatten)]
        request: RequestArgs,
        /// Write a Playwright fixture (SCENARIO_RUN.json) into the fixture directory.
        #[arg(long)]
        playwright: bool,
        /// Write a pytest fixture module (SCENARIO_RUN.py) into the fixture directory.
        #[arg(long)]
        pytest: bool,
        /// The run's lease in seconds: when it passes, `atdm reap` (or any later start) resets the run [default: 3600]
        #[arg(long, env = "ATDM_LEASE_SECONDS", hide_env_values = true, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
        lease: Option<u64>,
    },
    /// Delete exactly the rows of one run, if the token is its cleanup token.
    Reset {
        /// The run id.
        run: String,
        /// The run's cleanup token (it may begin with `-`).
        #[arg(
            long,
            env = "ATDM_CLEANUP_TOKEN",
            hide_env_values = true,
            allow_hyphen_values = true
        )]
        token: String,
    },
    /// Delete every row owned by any run (reference rows stay). Needs --confirm.
    ResetAll {
        /// Confirms that every run-owned row is to be deleted.
        #[arg(long)]
        confirm: bool,
    },
    /// List the newest runs in the run catalog (oldest first among them).
    Runs {
        /// Only runs of this status: ready or cleaned.
        #[arg(long, value_parser = ["ready", "cleaned"])]
        status: Option<String>,
        /// Only runs of this scenario.
        #[arg(long, value_name = "ID")]
        scenario: Option<String>,
        /// At most this many, the newest.
        #[arg(long, default_value_t = 100, value_name = "N")]
        limit: usize,
        /// Every run that matches (no limit).
        #[arg(long, conflicts_with = "limit")]
        all: bool,
    },
    /// Print a run's audit trail; with --html, also write it as a self-contained page.
    Audit {
        /// The run id (or a strategy run id, strategy-NAME-ULID).
        run: String,
        /// Write the audit page to this file (`-` for stdout, instead of the trail).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// What the tests have exercised, from the scenarios and the audit trail: requirement ids, scenarios and knob values seeded, and what never was; one coverage figure.
    Coverage {
        /// Requirement ids the tests should cover, one per line (`#` comments; text after the id is ignored); ids that scenarios link are counted anyway.
        #[arg(long, value_name = "FILE")]
        requirements: Option<PathBuf>,
        /// Write the coverage page to this file (a self-contained HTML document; `-` for stdout, instead of the report).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Fail (exit 1, COVERAGE_BELOW) when the coverage figure is below this percentage, after printing the report.
        #[arg(long, value_name = "PERCENT")]
        fail_under: Option<f64>,
    },
    /// Snapshot, restore, list and compare baselines of every table.
    #[command(subcommand, alias = "baselines")]
    Baseline(BaselineCommand),
    /// Reset every run whose lease has passed.
    Reap,
    /// Create the run catalog and the pack's tables (once, as the database's owner); every
    /// other command then needs only SELECT, INSERT, UPDATE and DELETE.
    Setup,
    /// Print the schema of the live database as the engine reads it (TOML, plus notes); with --out, write a scenario directory for it.
    Introspect {
        /// The schema's name in the output.
        #[arg(long, default_value = "introspected")]
        name: String,
        /// Write a scenario directory here (created when missing): schema.toml, every_table.toml (one row in every table) and one_TABLE.toml per table.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Overwrite the files --out writes when they exist.
        #[arg(long, requires = "out")]
        force: bool,
        /// PostgreSQL: read only this schema (repeat for more) [default: every non-system schema].
        #[arg(long = "schema", value_name = "SCHEMA")]
        schemas: Vec<String>,
    },
    /// An anonymized copy (or subset) of a database, into another database or files: a transform per column from a rules file, keyed by ATDM_MASK_KEY; with --suggest, a starting rules file.
    Mask(crate::mask::MaskArgs),
    /// Generate a whole dataset into files: every table's rows, foreign keys, uniques and checks holding, on every core.
    Generate(crate::generate::GenerateArgs),
    /// Check scenario files against the schema without a database; reports every file's errors.
    Validate {
        /// The scenario files.
        #[arg(required = true, num_args = 1.., value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the engine's metrics (Prometheus text format).
    Metrics,
    /// Serve MCP over stdio for AI agents: find, request and reset scenarios by intent.
    Mcp(McpArgs),
    /// Print a shell completion script: `atdm completions bash > ~/.local/share/bash-completion/completions/atdm`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// What `atdm mcp` exposes beyond its default tools, and the lease of the runs it seeds.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct McpArgs {
    /// Also offer the reset_all tool (delete every run-owned row, with confirm = true).
    #[arg(long)]
    pub(crate) allow_reset_all: bool,
    /// Also offer the restore_baseline tool (put a baseline back in place of every table).
    #[arg(long)]
    pub(crate) allow_restore: bool,
    /// The lease of runs the server seeds, in seconds: when it passes, the run is reset by the next start or reap [default: 3600]
    #[arg(long, env = "ATDM_LEASE_SECONDS", hide_env_values = true, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) lease: Option<u64>,
    /// The most rows one request_scenario (or validate_request) may seed, streamed rows included; a larger request is refused with PLAN_FAILED before anything is written
    #[arg(long, value_name = "ROWS", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_rows: u64,
}

/// What a request (or a plan preview) asks for.
#[derive(Debug, Clone, Args)]
pub(crate) struct RequestArgs {
    /// The scenario id.
    pub(crate) scenario: String,
    /// A constraint, KEY=VALUE (repeatable; the value is everything after the first `=`).
    #[arg(short = 'c', long = "constraint", value_name = "KEY=VALUE", value_parser = parse_constraint)]
    pub(crate) constraints: Vec<(String, String)>,
    /// Sets a nullable knob to NULL (repeatable).
    #[arg(long = "null", value_name = "KEY")]
    pub(crate) nulls: Vec<String>,
    /// A seed instead of the one derived from the run id.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Add a row per edge case of the columns of each table the scenario seeds (the longest text, the bounds of checks, a leap day, NULL...), each kept only when the validators pass it.
    #[arg(long)]
    pub(crate) edge_cases: bool,
    /// With --edge-cases: rows of attack payloads too (SQL injection, markup, path traversal, format strings); audited.
    #[arg(long, requires = "edge_cases")]
    pub(crate) dangerous: bool,
}

/// The baseline subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum BaselineCommand {
    /// Snapshot every table of the schema into the store.
    Snapshot {
        /// The baseline id [default: a new ULID]; an existing id is never overwritten.
        #[arg(long)]
        id: Option<String>,
        /// A tag, KEY=VALUE (repeatable).
        #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_constraint)]
        tags: Vec<(String, String)>,
    },
    /// Restore a baseline (the newest when no id is given), in one transaction.
    Restore {
        /// The baseline id.
        id: Option<String>,
    },
    /// List the baselines, newest first.
    List,
    /// Compare two baselines table by table.
    Diff {
        /// The older baseline.
        from: String,
        /// The newer baseline.
        to: String,
    },
}

/// `KEY=VALUE`: the key before the first `=`, the value (which may hold `=`) after it.
pub(crate) fn parse_constraint(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        Some(_) => Err(format!("{s:?} has no key before `=`; write KEY=VALUE")),
        None => Err(format!("{s:?} has no `=`; write KEY=VALUE")),
    }
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| format!("{s:?} is not a date in the form YYYY-MM-DD: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_constraint_splits_at_the_first_equals_sign() {
        assert_eq!(
            parse_constraint("k=v=w").unwrap(),
            ("k".to_owned(), "v=w".to_owned())
        );
        assert_eq!(
            parse_constraint("k=").unwrap(),
            ("k".to_owned(), String::new())
        );
        assert!(parse_constraint("kv").is_err());
        assert!(parse_constraint("=v").is_err());
    }

    #[test]
    fn a_token_may_begin_with_a_hyphen() {
        let cli =
            Cli::try_parse_from(["atdm", "reset", "R", "--token", "-zQ_x", "-o", "json"]).unwrap();
        match cli.command {
            Command::Reset { token, .. } => assert_eq!(token, "-zQ_x"),
            other => panic!("{other:?}"),
        }
        assert_eq!(cli.global.output, OutputFormat::Json);
    }

    #[test]
    fn mcp_exposes_reset_all_and_restore_only_when_asked() {
        let plain = Cli::try_parse_from(["atdm", "mcp"]).unwrap();
        let both = Cli::try_parse_from([
            "atdm",
            "--database-url",
            "sqlite://x.sqlite",
            "mcp",
            "--allow-reset-all",
            "--allow-restore",
            "--lease",
            "60",
        ])
        .unwrap();
        match (plain.command, both.command) {
            (Command::Mcp(plain), Command::Mcp(both)) => {
                assert!(!plain.allow_reset_all && !plain.allow_restore);
                assert!(both.allow_reset_all && both.allow_restore);
                assert_eq!(both.lease, Some(60));
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["atdm", "mcp", "--lease", "0"]).is_err());
    }

    #[test]
    fn introspect_force_needs_out() {
        assert!(Cli::try_parse_from(["atdm", "introspect", "--force"]).is_err());
        let cli = Cli::try_parse_from(["atdm", "introspect", "--out", "d", "--force"]).unwrap();
        match cli.command {
            Command::Introspect { out, force, .. } => {
                assert_eq!(out.as_deref(), Some(std::path::Path::new("d")));
                assert!(force);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn output_is_accepted_before_and_after_the_subcommand() {
        let before = Cli::try_parse_from(["atdm", "-o", "json", "scenarios"]).unwrap();
        let after = Cli::try_parse_from(["atdm", "scenarios", "--output", "json"]).unwrap();
        assert_eq!(before.global.output, OutputFormat::Json);
        assert_eq!(after.global.output, OutputFormat::Json);
    }
}
