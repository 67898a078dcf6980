//! `atdm generate`: whole datasets into files, with a progress bar per table.

use std::collections::BTreeMap;

use atdm_core::schema::Dialect;
use atdm_sqlx::{Destination, FileFormat, GenerateOptions, GenerateReport};
use clap::{Args, ValueEnum};

use crate::args::Global;
use crate::config;
use crate::output::{CliError, Output, table};
use crate::progress::Bars;

/// The rows each table gets when no count is given (times `--scale`).
pub(crate) const DEFAULT_ROWS: u64 = 1000;

/// `atdm generate`'s arguments.
#[derive(Debug, Clone, Args)]
pub(crate) struct GenerateArgs {
    /// Row counts per table, TABLE=N (N as 1000, 10k, 2.5M or 1e6), comma-separated or repeated; only these tables are generated [default: every table of the pack, 1000 rows each]
    #[arg(long, value_delimiter = ',', value_name = "TABLE=N")]
    pub(crate) rows: Vec<String>,
    /// Multiplies every row count: --rows customer=1,orders=10 --scale 1M makes a million customers and ten million orders.
    #[arg(long, value_name = "FACTOR", value_parser = parse_scale)]
    pub(crate) scale: Option<f64>,
    /// The file format.
    #[arg(long, value_enum, default_value_t = Format::Parquet)]
    pub(crate) format: Format,
    /// For --format sql: the database the script is for [default: the database URL's]
    #[arg(long, value_enum)]
    pub(crate) dialect: Option<SqlDialect>,
    /// Where the files and the manifest go: a directory (created when missing) or an object store, s3://bucket/prefix (endpoint, region and credentials from the AWS_* variables).
    #[arg(
        long,
        value_name = "DIR|URL",
        required_unless_present = "into",
        conflicts_with = "into"
    )]
    pub(crate) out: Option<String>,
    /// Load the rows straight into the database (--database-url) as one run, through its bulk path; prints the run id and its cleanup token (`atdm reset RUN --token TOKEN` deletes exactly these rows).
    #[arg(long)]
    pub(crate) into: bool,
    /// With --into: the run's lease in seconds; when it passes, `atdm reap` (or any later start) resets the run [default: 3600]
    #[arg(long, value_name = "SECONDS", requires = "into")]
    pub(crate) lease: Option<u64>,
    /// The seed: the same seed, counts, pack and reference date give byte-identical files [default: 1 for files; derived from the run id with --into]
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Split every table into this many parts (for many processes or machines).
    #[arg(long, default_value_t = 1, value_name = "N", conflicts_with = "into")]
    pub(crate) parts: u64,
    /// Which part (from 0) this process writes; the parts' rows, concatenated in order, are the whole dataset.
    #[arg(long, default_value_t = 0, value_name = "K", conflicts_with = "into")]
    pub(crate) part: u64,
    /// Worker threads [default: one per core]; the files do not depend on it.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub(crate) threads: usize,
    /// Rows per batch, the unit of parallel work.
    #[arg(long, default_value_t = 16384, value_name = "N", hide = true)]
    pub(crate) batch_rows: u64,
    /// Overwrite files that exist.
    #[arg(long)]
    pub(crate) force: bool,
    /// End every table with a row per valid edge case of its columns (the longest text, the bounds of checks, a leap day, NULL...); with --out, also write the edge-case catalog (edge_cases.json) with the invalid cases as negative-test fixtures.
    #[arg(long)]
    pub(crate) edge_cases: bool,
    /// With --edge-cases: add rows of attack payloads too (SQL injection, markup, path traversal, format strings); audited.
    #[arg(long, requires = "edge_cases")]
    pub(crate) dangerous: bool,
}

impl GenerateArgs {
    fn edge_mode(&self) -> atdm_sqlx::EdgeCases {
        edge_mode(self.edge_cases, self.dangerous)
    }
}

/// The edge cases `--edge-cases` and `--dangerous` ask for (`generate`, `request`, `plan`).
pub(crate) fn edge_mode(edge_cases: bool, dangerous: bool) -> atdm_sqlx::EdgeCases {
    match (edge_cases, dangerous) {
        (false, _) => atdm_sqlx::EdgeCases::None,
        (true, false) => atdm_sqlx::EdgeCases::Valid,
        (true, true) => atdm_sqlx::EdgeCases::Dangerous,
    }
}

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Apache Parquet (Snappy).
    Parquet,
    /// CSV with a header line.
    Csv,
    /// JSON Lines.
    Jsonl,
    /// A SQL script of INSERT statements in one transaction.
    Sql,
}

/// A database a SQL script is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SqlDialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
    Mysql,
}

/// A count as people write it: 1000, 10k, 2.5M, 1e6, 1_000_000.
fn parse_count(text: &str) -> Result<f64, String> {
    let t = text.trim().replace('_', "");
    let (num, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('m' | 'M') => (&t[..t.len() - 1], 1e6),
        Some('g' | 'G' | 'b' | 'B') => (&t[..t.len() - 1], 1e9),
        _ => (t.as_str(), 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v * mult),
        _ => Err(format!(
            "{text:?} is not a count; write 1000, 10k, 2.5M or 1e6"
        )),
    }
}

fn parse_scale(text: &str) -> Result<f64, String> {
    parse_count(text)
}

/// The row count per table: `--rows` (every table of the pack when empty) times `--scale`.
pub(crate) fn row_counts(
    args: &GenerateArgs,
    tables: &[String],
) -> Result<BTreeMap<String, u64>, CliError> {
    let scale = args.scale.unwrap_or(1.0);
    let mut out = BTreeMap::new();
    let bad = |m: String| CliError::usage("USAGE_ERROR", m);
    let pairs: Vec<(String, f64)> = if args.rows.is_empty() {
        tables
            .iter()
            .map(|t| (t.clone(), DEFAULT_ROWS as f64))
            .collect()
    } else {
        args.rows
            .iter()
            .map(|p| {
                let (t, n) = p.split_once('=').ok_or_else(|| {
                    bad(format!(
                        "--rows {p:?}: write TABLE=N, for example customer=1000"
                    ))
                })?;
                Ok((
                    t.trim().to_owned(),
                    parse_count(n).map_err(|e| bad(format!("--rows {p:?}: {e}")))?,
                ))
            })
            .collect::<Result<_, CliError>>()?
    };
    for (t, n) in pairs {
        let rows = (n * scale).round();
        if rows > atdm_sqlx::MAX_ROWS_PER_TABLE as f64 {
            return Err(bad(format!(
                "{rows:.0} rows of {t:?} is more than ATDM generates of one table ({}); ask for fewer",
                atdm_sqlx::MAX_ROWS_PER_TABLE
            )));
        }
        if out.insert(t.clone(), rows as u64).is_some() {
            return Err(bad(format!("--rows names {t:?} twice")));
        }
    }
    Ok(out)
}

fn dialect_of_url(url: &str) -> Dialect {
    if url.starts_with("postgres") {
        Dialect::Postgres
    } else if url.starts_with("mysql") || url.starts_with("mariadb") {
        Dialect::MySql
    } else {
        Dialect::Sqlite
    }
}

/// Runs `atdm generate --into`: the rows straight into the engine's database, as one run.
pub(crate) async fn into(
    engine: &atdm_sqlx::Engine,
    out: &Output,
    args: GenerateArgs,
) -> Result<(), CliError> {
    let names: Vec<String> = engine
        .pack()
        .schema()
        .tables
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let mut load = atdm_sqlx::Load::new(row_counts(&args, &names)?);
    load.seed = args.seed;
    load.lease = args.lease.map(std::time::Duration::from_secs);
    load.threads = args.threads;
    load.batch_rows = args.batch_rows;
    load.edge_cases = args.edge_mode();
    let bars = Bars::new(out);
    let loaded = engine
        .load(load, &|p| bars.update(p.table, p.done, Some(p.total)))
        .await?;
    bars.clear();
    out.emit(&loaded, || loaded_human(&loaded))
}

fn loaded_human(l: &atdm_sqlx::Loaded) -> String {
    use atdm_sqlx::OwnedValues;
    let rows: Vec<Vec<String>> = l
        .owned
        .iter()
        .map(|o| {
            let owns = match &o.values {
                OwnedValues::Range { from, to } => format!("{} {from}..={to}", o.column),
                OwnedValues::Equals { value } => format!("{} = {value}", o.column),
                OwnedValues::Prefix { prefix } => format!("{} {prefix}*", o.column),
                OwnedValues::Generated { key_table, key, .. } => {
                    format!("{} = {key_table}.{key} of rows 0..{}", o.column, o.rows)
                }
            };
            vec![o.table.clone(), o.rows.to_string(), owns]
        })
        .collect();
    let total: u64 = l.rows.values().sum();
    let secs = (l.elapsed_ms as f64 / 1000.0).max(0.001);
    format!(
        "{}\n{total} rows in {secs:.2} s ({:.0} rows/s), seed {}\nrun     {}\ntoken   {}\nreset   atdm reset {} --token {}\nlease   until {}\n",
        table(&["table", "rows", "owned"], &rows).trim_end(),
        total as f64 / secs,
        l.seed,
        l.run_id,
        l.token.expose(),
        l.run_id,
        l.token.expose(),
        l.lease_expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// Runs `atdm generate --out DIR`.
pub(crate) fn files(g: &Global, out: &Output, args: GenerateArgs) -> Result<(), CliError> {
    let pack = config::pack(g)?;
    let names: Vec<String> = pack
        .schema()
        .tables
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let rows = row_counts(&args, &names)?;
    let to = Destination::parse(
        args.out
            .as_deref()
            .expect("clap requires --out without --into"),
    )?;
    let format = match args.format {
        Format::Parquet => FileFormat::Parquet,
        Format::Csv => FileFormat::Csv,
        Format::Jsonl => FileFormat::Jsonl,
        Format::Sql => FileFormat::Sql(match args.dialect {
            Some(SqlDialect::Sqlite) => Dialect::Sqlite,
            Some(SqlDialect::Postgres) => Dialect::Postgres,
            Some(SqlDialect::Mysql) => Dialect::MySql,
            None => dialect_of_url(&config::database_url(g)),
        }),
    };
    let reference_date = g
        .reference_date
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let options = GenerateOptions {
        parts: args.parts,
        part: args.part,
        threads: args.threads,
        batch_rows: args.batch_rows,
        force: args.force,
        edge_cases: args.edge_mode(),
        ..GenerateOptions::new(rows, args.seed.unwrap_or(1), reference_date)
    };
    let bars = Bars::new(out);
    let report = atdm_sqlx::generate_files(&pack, &options, format, &to, &|p| {
        bars.update(p.table, p.done, Some(p.total))
    })?;
    bars.clear();
    out.emit(&report, || human(&report, &to))
}

fn human(r: &GenerateReport, to: &Destination) -> String {
    let rows: Vec<Vec<String>> = r
        .tables
        .iter()
        .map(|t| {
            vec![
                t.table.clone(),
                t.rows.to_string(),
                t.file.clone(),
                format!("{:.1} MB", t.bytes as f64 / 1e6),
            ]
        })
        .collect();
    let total: u64 = r.tables.iter().map(|t| t.rows).sum();
    let secs = (r.elapsed_ms as f64 / 1000.0).max(0.001);
    format!(
        "{}\n{total} rows in {secs:.2} s ({:.0} rows/s), seed {}, part {} of {}; manifest {}\n",
        table(&["table", "rows", "file", "size"], &rows).trim_end(),
        total as f64 / secs,
        r.seed,
        r.part + 1,
        r.parts,
        to.locate(&r.manifest).display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_people_write_them() {
        assert_eq!(parse_count("1000"), Ok(1000.0));
        assert_eq!(parse_count("10k"), Ok(10_000.0));
        assert_eq!(parse_count("2.5M"), Ok(2_500_000.0));
        assert_eq!(parse_count("1e6"), Ok(1_000_000.0));
        assert_eq!(parse_count("1_000"), Ok(1000.0));
        assert!(parse_count("ten").is_err());
        assert!(parse_count("-5").is_err());
        assert!(parse_count("inf").is_err());
    }
}
