//! `atdm mask`: an anonymized copy or subset of a database, into a database or files.

use std::path::PathBuf;

use atdm_core::mask::{MaskKey, Rules};
use atdm_sqlx::Engine;
use atdm_sqlx::mask::{MaskJob, MaskReport, MaskTarget};
use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};

use crate::output::{CliError, Output, table};
use crate::progress::Bars;

/// `atdm mask`'s arguments.
#[derive(Debug, Clone, Args)]
pub(crate) struct MaskArgs {
    /// The source database URL (read only): postgres://, mysql://, sqlite://.
    #[arg(long, value_name = "URL")]
    pub(crate) from: String,
    /// Where the masked copy goes: a database URL (its tables empty, or created with --create) or a directory for files.
    #[arg(long, value_name = "URL|DIR", required_unless_present = "suggest")]
    pub(crate) to: Option<String>,
    /// The rules file (TOML): a transform per column, the subset, the transaction mode. With --suggest, where the suggested rules are written (else stdout).
    #[arg(long, value_name = "FILE", required_unless_present = "suggest")]
    pub(crate) rules: Option<PathBuf>,
    /// Read the masking key from this file instead of the ATDM_MASK_KEY environment variable (at least 16 characters; never written anywhere).
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// Create the target database's tables from the source's schema.
    #[arg(long)]
    pub(crate) create: bool,
    /// The file format when --to is a directory.
    #[arg(long, value_enum, default_value_t = MaskFormat::Parquet)]
    pub(crate) format: MaskFormat,
    /// Overwrite files that exist (directory targets; with --suggest, the rules file).
    #[arg(long)]
    pub(crate) force: bool,
    /// Check the copy afterwards: no source value of a sensitive column anywhere in it, every foreign key resolving, unique columns unique; exit 1 (VERIFY_FAILED) when not.
    #[arg(long)]
    pub(crate) verify: bool,
    /// Write a starting rules file from the source's columns and a sample of their values, instead of masking.
    #[arg(long, conflicts_with_all = ["to", "verify", "create"])]
    pub(crate) suggest: bool,
    /// Rows of each table detection samples.
    #[arg(long, default_value_t = atdm_sqlx::mask::DEFAULT_SAMPLE_ROWS, value_name = "N")]
    pub(crate) sample_rows: usize,
}

/// A file format of a masked copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MaskFormat {
    /// Apache Parquet (Snappy); the one `--verify` reads.
    Parquet,
    /// CSV with a header line.
    Csv,
    /// JSON Lines.
    Jsonl,
}

fn io(message: String) -> CliError {
    CliError::failed("IO_ERROR", message)
}

/// The key: from `--key-file`, else `ATDM_MASK_KEY`.
fn key(args: &MaskArgs) -> Result<MaskKey, CliError> {
    let secret = match &args.key_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| io(format!("cannot read the key file {}: {e}", path.display())))?,
        None => std::env::var("ATDM_MASK_KEY").map_err(|_| {
            CliError::failed(
                "INVALID_MASK",
                "no masking key: set ATDM_MASK_KEY or pass --key-file FILE (at least 16 \
                 characters, kept secret; the same key gives the same output)"
                    .to_owned(),
            )
        })?,
    };
    MaskKey::from_secret(&secret).map_err(|e| CliError::failed("INVALID_MASK", e.to_string()))
}

/// Runs `atdm mask`.
pub(crate) async fn run(engine: &Engine, out: &Output, args: MaskArgs) -> Result<(), CliError> {
    if args.suggest {
        return suggest(out, &args).await;
    }
    let rules_path = args.rules.clone().expect("required by clap");
    let bytes = std::fs::read(&rules_path).map_err(|e| {
        io(format!(
            "cannot read the rules file {}: {e}",
            rules_path.display()
        ))
    })?;
    let text = String::from_utf8(bytes.clone()).map_err(|_| {
        io(format!(
            "the rules file {} is not UTF-8",
            rules_path.display()
        ))
    })?;
    let rules = Rules::from_toml(&text, &rules_path.display().to_string())
        .map_err(|e| CliError::failed("INVALID_MASK", format!("{e}; nothing was written")))?;
    let key = key(&args)?;
    let to = args.to.clone().expect("required by clap");
    let target = if atdm_sqlx::mask::is_database_url(&to) {
        MaskTarget::Database {
            url: to,
            create: args.create,
        }
    } else {
        if args.create {
            return Err(CliError::usage(
                "USAGE_ERROR",
                "--create creates a database's tables; --to is a directory".to_owned(),
            ));
        }
        MaskTarget::Files {
            dir: PathBuf::from(to),
            format: match args.format {
                MaskFormat::Parquet => atdm_sqlx::FileFormat::Parquet,
                MaskFormat::Csv => atdm_sqlx::FileFormat::Csv,
                MaskFormat::Jsonl => atdm_sqlx::FileFormat::Jsonl,
            },
            force: args.force,
        }
    };
    let sha = Sha256::digest(&bytes);
    let mut job = MaskJob::new(
        args.from.clone(),
        target,
        rules,
        sha.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        key,
    );
    job.verify = args.verify;
    job.sample_rows = args.sample_rows;
    let bars = Bars::new(out);
    let report = engine
        .mask(&job, &|p| bars.update(p.table, p.done, None))
        .await;
    bars.clear();
    let report = report?;
    out.emit(&report, || human(&report))?;
    match &report.verification {
        Some(v) if !v.passed => Err(CliError::failed(
            "VERIFY_FAILED",
            "the masked copy failed verification: see the report above (leaks, dangling keys, \
             duplicates)"
                .to_owned(),
        )),
        _ => Ok(()),
    }
}

async fn suggest(out: &Output, args: &MaskArgs) -> Result<(), CliError> {
    let (text, findings) = atdm_sqlx::mask::suggest(
        &args.from,
        &atdm_sqlx::IntrospectOptions::default(),
        args.sample_rows,
    )
    .await?;
    match &args.rules {
        Some(path) => {
            if path.exists() && !args.force {
                return Err(CliError::failed(
                    "FILES_EXIST",
                    format!(
                        "{} exists; pass --force to overwrite it, or choose another file",
                        path.display()
                    ),
                ));
            }
            std::fs::write(path, &text)
                .map_err(|e| io(format!("cannot write {}: {e}", path.display())))?;
            out.emit(&findings, || {
                let sensitive = findings
                    .iter()
                    .filter(|f| f.class >= atdm_core::mask::Class::Sensitive)
                    .count();
                format!(
                    "wrote {} ({sensitive} sensitive column(s) of {}); read every rule before using it\n",
                    path.display(),
                    findings.len()
                )
            })
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn human(r: &MaskReport) -> String {
    let mut s = format!(
        "masked {} into {} in {} ms\n\n",
        r.source, r.target, r.elapsed_ms
    );
    let rows: Vec<Vec<String>> = r
        .tables
        .iter()
        .map(|t| {
            vec![
                t.table.clone(),
                t.source_rows.to_string(),
                t.rows.to_string(),
            ]
        })
        .collect();
    s.push_str(&table(&["table", "source rows", "rows written"], &rows));
    let cols: Vec<Vec<String>> = r
        .columns
        .iter()
        .filter(|c| c.transform != "keep" || c.class >= atdm_core::mask::Class::Sensitive)
        .map(|c| {
            vec![
                format!("{}.{}", c.table, c.column),
                c.class.as_str().to_owned(),
                match &c.inherited_from {
                    Some(f) => format!("{} (from {f})", c.transform),
                    None if c.allowed_unmasked => "keep (allowed unmasked)".to_owned(),
                    None => c.transform.clone(),
                },
            ]
        })
        .collect();
    s.push('\n');
    s.push_str(&table(&["column", "class", "transform"], &cols));
    if let Some(v) = &r.verification {
        let leaks: u64 = v.columns.iter().map(|c| c.found).sum();
        let dangling: u64 = v.foreign_keys.iter().map(|f| f.dangling).sum();
        let dups: u64 = v.uniques.iter().map(|u| u.duplicates).sum();
        s.push_str(&format!(
            "\nverification: {}: {} sensitive column(s) checked, {leaks} source value(s) found, \
             {} foreign key(s) with {dangling} dangling, {} unique set(s) with {dups} duplicate(s)\n",
            if v.passed { "passed" } else { "FAILED" },
            v.columns.iter().filter(|c| c.not_checked.is_none()).count(),
            v.foreign_keys.len(),
            v.uniques.len()
        ));
        for c in v.columns.iter().filter(|c| c.found > 0) {
            s.push_str(&format!(
                "  {}.{}: {} found in {}\n",
                c.table,
                c.column,
                c.found,
                c.found_in.join(", ")
            ));
        }
    }
    s
}
