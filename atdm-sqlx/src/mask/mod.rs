//! `atdm mask`: a referentially intact, anonymized copy (or subset) of a database.
//!
//! ```text
//! source --introspect--> schema --rules--> plan --sample--> detection gate
//!        --subset (keys followed to a fixed point)--> kept rows
//!        --stream, transform, write (parents first; cycle keys written last)--> target
//!        --verify (optional)--> proof
//! ```
//!
//! The source is read in one read transaction, table by table (or, from PostgreSQL into tables
//! the job creates, a few tables at once on one shared snapshot), and never written. The target
//! is a database (PostgreSQL, MySQL/MariaDB or SQLite; its tables created from the source's
//! schema with `create`, or existing and empty) or a directory of Parquet, CSV or JSON Lines
//! files. Rows stream: a job holds one chunk of rows per table at a time, plus a 16-byte digest
//! per kept row when it subsets, plus the keys of the rows in foreign-key cycles, whose
//! references are written after every table.
//!
//! Nothing is written when the rules do not fit the schema, when a column that detection
//! finds sensitive has no rule (unless the rules allow it unmasked), or when the target is
//! not empty. The key is never written anywhere: not in the target, not in the audit.

mod files;
mod raw;
mod rows;
mod scan;
mod subset;
mod target;
mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use atdm_core::mask::{Class, MaskKey, MaskPlan, PiiKind, Rules, Transform, classify};
use atdm_core::schema::Schema;
use serde::Serialize;

use crate::backend::Db;
use crate::error::Error;
use crate::generate::FileFormat;
use crate::introspect::{IntrospectOptions, introspect_with};

/// The most tables a job writes at once (each with a connection to the source and one to
/// the target, besides the job's own).
const MAX_LANES: u32 = 4;

pub use verify::{ColumnProof, ForeignKeyProof, MIN_CHARS, UniqueProof, Verification};

/// Rows of each table detection reads.
pub const DEFAULT_SAMPLE_ROWS: usize = 1000;

/// Whether `to` names a database (`sqlite:`, `postgres:`, `postgresql:`, `mysql:`,
/// `mariadb:`) rather than a directory for files.
pub fn is_database_url(to: &str) -> bool {
    ["sqlite:", "postgres:", "postgresql:", "mysql:", "mariadb:"]
        .iter()
        .any(|p| to.starts_with(p))
}

/// Where a masking job writes.
#[derive(Debug, Clone)]
pub enum MaskTarget {
    /// A database: its tables must exist and be empty, or be created from the source's schema
    /// with `create`.
    Database {
        /// The database URL.
        url: String,
        /// Create the tables (`CREATE TABLE IF NOT EXISTS`, in the target's dialect).
        create: bool,
    },
    /// A local directory, one file per table and a manifest.
    Files {
        /// The directory (created when missing).
        dir: PathBuf,
        /// Parquet, CSV or JSON Lines.
        format: FileFormat,
        /// Overwrite files that exist.
        force: bool,
    },
}

impl MaskTarget {
    /// The target as reports show it (URLs without passwords).
    pub fn display(&self) -> String {
        match self {
            MaskTarget::Database { url, .. } => crate::redact_url(url),
            MaskTarget::Files { dir, format, .. } => {
                format!("{} ({})", dir.display(), format.name())
            }
        }
    }
}

/// A masking job.
#[derive(Debug, Clone)]
pub struct MaskJob {
    /// The source database URL; read only.
    pub source: String,
    /// Where the masked rows go.
    pub target: MaskTarget,
    /// The rules.
    pub rules: Rules,
    /// The SHA-256 of the rules file's bytes, for the audit and the report.
    pub rules_sha256: String,
    /// The key every transform is keyed with.
    pub key: MaskKey,
    /// Check the written output against the source afterwards.
    pub verify: bool,
    /// Rows of each table detection samples.
    pub sample_rows: usize,
    /// The PostgreSQL schemas to read (default: the connection's).
    pub introspect: IntrospectOptions,
}

impl MaskJob {
    /// A job with the defaults: no verification, [`DEFAULT_SAMPLE_ROWS`].
    pub fn new(
        source: impl Into<String>,
        target: MaskTarget,
        rules: Rules,
        rules_sha256: impl Into<String>,
        key: MaskKey,
    ) -> MaskJob {
        MaskJob {
            source: source.into(),
            target,
            rules,
            rules_sha256: rules_sha256.into(),
            key,
            verify: false,
            sample_rows: DEFAULT_SAMPLE_ROWS,
            introspect: IntrospectOptions::default(),
        }
    }
}

/// What detection and the rules say of one column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnFinding {
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
    /// Safe, sensitive or dangerous.
    pub class: Class,
    /// The kind of personal data found, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<PiiKind>,
    /// Why (never a value).
    pub reason: String,
    /// The transform the job applies (`keep` where no rule is).
    pub transform: String,
    /// The column whose transform a foreign key column takes (`table.column`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inherited_from: Option<String>,
    /// A sensitive column the rules allow to be copied unmasked.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allowed_unmasked: bool,
    /// The transform detection suggests.
    #[serde(skip)]
    pub suggested: Transform,
    /// The column a foreign key column references (`table.column`): its rule goes there.
    #[serde(skip)]
    pub references: Option<String>,
}

/// Rows of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaskedTable {
    /// The table.
    pub table: String,
    /// Rows in the source.
    pub source_rows: u64,
    /// Rows written to the target.
    pub rows: u64,
    /// The file written (file targets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The file's SHA-256 (file targets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// What a masking job did.
#[derive(Debug, Clone, Serialize)]
pub struct MaskReport {
    /// The source, without its password.
    pub source: String,
    /// The target, without its password.
    pub target: String,
    /// The SHA-256 of the rules file.
    pub rules_sha256: String,
    /// Whether the job kept a subset of the rows.
    pub subset: bool,
    /// Rows per table, in the order they were written.
    pub tables: Vec<MaskedTable>,
    /// Every column: its class and its transform.
    pub columns: Vec<ColumnFinding>,
    /// The verification, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// The job's run in the audit trail (jobs run through [`crate::Engine::mask`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_run_id: Option<String>,
}

impl MaskReport {
    /// Rows written in all.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// Progress of a job: `table` has `done` of its rows written (`total`: the source's rows
/// when known).
#[derive(Debug, Clone, Copy)]
pub struct MaskProgress<'a> {
    /// The table.
    pub table: &'a str,
    /// Rows written so far.
    pub done: u64,
}

/// The source's schema, its plan and what detection found: what every job starts from.
pub(crate) struct Prepared {
    pub(crate) db: Db,
    pub(crate) schema: Schema,
    pub(crate) plan: MaskPlan,
    pub(crate) findings: Vec<ColumnFinding>,
}

/// Introspects the source, resolves the rules and runs detection on a sample of each table.
pub(crate) async fn prepare(
    source: &str,
    rules: &Rules,
    introspect: &IntrospectOptions,
    sample_rows: usize,
) -> Result<Prepared, Error> {
    let schema = introspect_with(source, "source", introspect).await?.schema;
    let plan = rules.resolve(&schema)?;
    let db = Db::connect(source, MAX_LANES + 1, Duration::from_secs(30)).await?;
    let mut findings = Vec::new();
    let sampled = scan::sample(&db, &schema, sample_rows).await;
    let sampled = match sampled {
        Ok(s) => s,
        Err(e) => {
            db.close().await;
            return Err(e);
        }
    };
    for (table, rows) in schema.tables.iter().zip(sampled) {
        let transforms = &plan.tables[&table.name];
        for (i, c) in table.columns.iter().enumerate() {
            let column: Vec<atdm_core::Value> = rows.iter().map(|r| r[i].clone()).collect();
            let d = classify(table, c, &column);
            let key = (table.name.clone(), c.name.clone());
            let references = table.foreign_keys.iter().find_map(|fk| {
                let at = fk.columns.iter().position(|x| *x == c.name)?;
                let target = table.fk_target_columns(fk, &schema).get(at)?;
                Some(format!("{}.{target}", fk.references))
            });
            findings.push(ColumnFinding {
                table: table.name.clone(),
                column: c.name.clone(),
                class: d.class,
                kind: d.kind,
                reason: d.reason,
                transform: transforms[i].name().to_owned(),
                inherited_from: plan.inherited.get(&key).map(|(t, c)| format!("{t}.{c}")),
                allowed_unmasked: rules.allow_unmasked.contains(&key),
                suggested: d.suggested,
                references,
            });
        }
    }
    Ok(Prepared {
        db,
        schema,
        plan,
        findings,
    })
}

/// The sensitive columns the rules leave unmasked without allowing it: one line each, with
/// the suggested rule.
fn unmasked(findings: &[ColumnFinding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.class >= Class::Sensitive && f.transform == "keep" && !f.allowed_unmasked)
        .filter(|f| f.inherited_from.is_none())
        .map(|f| {
            let rule = atdm_core::mask::rules::rule_text(&f.suggested);
            let fix = match &f.references {
                // A foreign key takes the transform of the column it references.
                Some(r) => format!("give {r}, which it references, a rule (it takes it)"),
                None => format!("suggested [tables.{}] {} = {rule}", f.table, f.column),
            };
            format!(
                "  {}.{} ({}{}): {}; {fix}",
                f.table,
                f.column,
                f.class.as_str(),
                f.kind
                    .map(|k| format!(", {}", k.as_str()))
                    .unwrap_or_default(),
                f.reason,
            )
        })
        .collect()
}

/// Runs a masking job: see the module docs. `progress` is called as rows are written.
pub async fn mask(
    job: &MaskJob,
    progress: &(dyn Fn(MaskProgress<'_>) + Sync),
) -> Result<MaskReport, Error> {
    let started = Instant::now();
    let prepared = prepare(
        &job.source,
        &job.rules,
        &job.introspect,
        job.sample_rows.max(1),
    )
    .await?;
    let outcome = run(job, &prepared, progress).await;
    prepared.db.close().await;
    let (tables, verification) = outcome?;
    Ok(MaskReport {
        source: crate::redact_url(&job.source),
        target: job.target.display(),
        rules_sha256: job.rules_sha256.clone(),
        subset: prepared.plan.subset.is_some(),
        tables,
        columns: prepared.findings,
        verification,
        elapsed_ms: started.elapsed().as_millis() as u64,
        audit_run_id: None,
    })
}

async fn run(
    job: &MaskJob,
    p: &Prepared,
    progress: &(dyn Fn(MaskProgress<'_>) + Sync),
) -> Result<(Vec<MaskedTable>, Option<Verification>), Error> {
    if let (true, MaskTarget::Files { format, .. }) = (job.verify, &job.target)
        && *format != FileFormat::Parquet
    {
        return Err(Error::MaskTarget {
            message: format!(
                "--verify reads databases and Parquet files, not {}; write Parquet to verify",
                format.name()
            ),
        });
    }
    let missing = unmasked(&p.findings);
    if !missing.is_empty() {
        return Err(Error::UnmaskedSensitive { columns: missing });
    }
    let masker = atdm_core::mask::Masker::new(job.key.clone(), job.rules.locale);
    let order = write_order(&p.schema);
    let tables = match &job.target {
        MaskTarget::Database { url, create } => {
            let out = target::Target::open(url, &p.schema, *create, job.rules.transaction, &order)
                .await?;
            let written = async {
                let kept = match &p.plan.subset {
                    Some(s) => Some(subset::kept(&p.db, &p.schema, s, &job.key).await?),
                    None => None,
                };
                out.write(
                    &p.db,
                    &p.schema,
                    &p.plan,
                    &masker,
                    &order,
                    kept.as_ref(),
                    progress,
                )
                .await
            };
            let written = match written.await {
                Err(e) => Err(out.undo(e).await),
                written => written,
            };
            out.close().await;
            written?
        }
        MaskTarget::Files { dir, format, force } => {
            files::check(dir, &p.schema, *format, *force)?;
            let kept = match &p.plan.subset {
                Some(s) => Some(subset::kept(&p.db, &p.schema, s, &job.key).await?),
                None => None,
            };
            files::write(
                &p.db,
                dir,
                *format,
                &p.schema,
                &p.plan,
                &masker,
                &order,
                kept.as_ref(),
                job,
                progress,
            )
            .await?
        }
    };
    let verification = if job.verify {
        Some(verify::verify(job, p).await?)
    } else {
        None
    };
    Ok((tables, verification))
}

/// The order tables are written in: parents first; inside a cycle of foreign keys, tables
/// after those their NOT NULL foreign keys reference (where the NOT NULL keys themselves form
/// a cycle, declared order: writing fails then, naming the key).
fn write_order(schema: &Schema) -> Vec<usize> {
    let order = schema
        .fk_order()
        .unwrap_or_else(|_| (0..schema.tables.len()).collect());
    let cycles = schema.fk_cycles();
    let mut out: Vec<usize> = Vec::with_capacity(order.len());
    let mut placed = vec![false; schema.tables.len()];
    for &i in &order {
        if placed[i] {
            continue;
        }
        let Some(group) = cycles.iter().find(|g| g.contains(&i)) else {
            placed[i] = true;
            out.push(i);
            continue;
        };
        // The group's tables, each once the tables its NOT NULL keys reference are placed.
        let mut left: Vec<usize> = order
            .iter()
            .copied()
            .filter(|t| group.contains(t))
            .collect();
        while !left.is_empty() {
            let ready = left.iter().position(|&t| {
                schema.tables[t].foreign_keys.iter().all(|fk| {
                    let required = fk
                        .columns
                        .iter()
                        .all(|c| schema.tables[t].get_column(c).is_some_and(|c| !c.nullable));
                    let to = schema.table_index(&fk.references);
                    !required
                        || to == Some(t)
                        || to.is_none_or(|r| placed[r] || !group.contains(&r))
                })
            });
            let t = left.remove(ready.unwrap_or(0));
            placed[t] = true;
            out.push(t);
        }
    }
    out
}

/// A starting rules file for the source: every column detection finds sensitive, with its
/// suggested transform and why; and the findings.
pub async fn suggest(
    source: &str,
    introspect: &IntrospectOptions,
    sample_rows: usize,
) -> Result<(String, Vec<ColumnFinding>), Error> {
    let rules = Rules::default();
    let p = prepare(source, &rules, introspect, sample_rows.max(1)).await?;
    p.db.close().await;
    let mut list = Vec::new();
    for f in &p.findings {
        if f.class >= Class::Sensitive {
            list.push((
                f.table.clone(),
                f.column.clone(),
                f.class,
                f.reason.clone(),
                f.suggested.clone(),
            ));
        }
    }
    // Foreign key columns take their rule from the columns they reference.
    let mut inherited = BTreeMap::new();
    for t in &p.schema.tables {
        for fk in &t.foreign_keys {
            for (c, r) in fk.columns.iter().zip(t.fk_target_columns(fk, &p.schema)) {
                inherited.insert(
                    (t.name.clone(), c.clone()),
                    (fk.references.clone(), r.clone()),
                );
            }
        }
    }
    let referenced: BTreeSet<(String, String)> = inherited.values().cloned().collect();
    // A referenced column detection did not flag, but whose referencing column it did: the
    // rule goes on the referenced column.
    for f in &p.findings {
        let key = (f.table.clone(), f.column.clone());
        if f.class >= Class::Sensitive
            && let Some(target) = inherited.get(&key)
            && !list.iter().any(|l| l.0 == target.0 && l.1 == target.1)
            && referenced.contains(target)
        {
            list.push((
                target.0.clone(),
                target.1.clone(),
                f.class,
                format!("referenced by {}.{}: {}", f.table, f.column, f.reason),
                Transform::Pseudonymize,
            ));
        }
    }
    Ok((
        atdm_core::mask::rules::suggest_file(&list, &inherited),
        p.findings,
    ))
}

impl crate::Engine {
    /// Runs a masking job (see [`mask`]) and records it in this engine's audit trail as a
    /// strategy run: `mask_started`, then `mask_completed` (rows per table, each column's
    /// class and transform, the verification's counts) or `mask_failed`. The record names
    /// the source and target without passwords and the rules file by its SHA-256; it never
    /// holds a value or the key.
    pub async fn mask(
        &self,
        job: &MaskJob,
        progress: &(dyn Fn(MaskProgress<'_>) + Sync),
    ) -> Result<MaskReport, Error> {
        use atdm_core::audit::AuditAction;
        let run_id = crate::engine::strategy_run_id("mask");
        let inputs = serde_json::json!({
            "source": crate::redact_url(&job.source),
            "target": job.target.display(),
            "rules_sha256": job.rules_sha256,
            "subset": job.rules.subset.is_some(),
            "transaction": job.rules.transaction,
            "verify": job.verify,
        });
        self.audited_strategy(
            &run_id,
            [
                AuditAction::MaskStarted,
                AuditAction::MaskCompleted,
                AuditAction::MaskFailed,
            ],
            inputs,
            async {
                let mut r = mask(job, progress).await?;
                r.audit_run_id = Some(run_id.clone());
                Ok(r)
            },
            |r: &MaskReport| {
                let rows: BTreeMap<&str, u64> =
                    r.tables.iter().map(|t| (t.table.as_str(), t.rows)).collect();
                let columns: BTreeMap<String, serde_json::Value> = r
                    .columns
                    .iter()
                    .filter(|c| c.class >= Class::Sensitive || c.transform != "keep")
                    .map(|c| {
                        (
                            format!("{}.{}", c.table, c.column),
                            serde_json::json!({
                                "class": c.class,
                                "kind": c.kind,
                                "transform": c.transform,
                                "allowed_unmasked": c.allowed_unmasked,
                            }),
                        )
                    })
                    .collect();
                let verification = r.verification.as_ref().map(|v| {
                    serde_json::json!({
                        "passed": v.passed,
                        "leaks": v.columns.iter().map(|c| c.found).sum::<u64>(),
                        "columns_checked": v.columns.iter().filter(|c| c.not_checked.is_none()).count(),
                        "dangling_keys": v.foreign_keys.iter().map(|f| f.dangling).sum::<u64>(),
                        "duplicates": v.uniques.iter().map(|u| u.duplicates).sum::<u64>(),
                    })
                });
                serde_json::json!({
                    "rows": rows,
                    "columns": columns,
                    "verification": verification,
                })
            },
        )
        .await
    }
}
