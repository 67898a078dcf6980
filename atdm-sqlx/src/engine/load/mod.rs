//! Volume loads: a whole generated dataset straight into the database, as one run
//! (`atdm generate --into`, [`Engine::load`]).
//!
//! The rows go through the backend's bulk path (PostgreSQL's `COPY ... FROM STDIN`; prepared
//! multi-row `INSERT` statements with bound values on MySQL and MariaDB; large multi-row
//! `INSERT` statements with literal values on SQLite) in one transaction, while a producer thread
//! generates and encodes the next batches on every core: generation and loading overlap, and
//! only a few batches exist at once. The run owns its rows by a claim per table, not a ledger
//! row per row ([`Owned`]): a key range (identity keys are computed from the row index, after
//! the largest key the table holds), the run-id column, or the run's text-key prefix. A reset
//! deletes by those claims, so it costs about a bulk delete.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use atdm_core::audit::{AuditAction, AuditStatus};
use atdm_core::generate::{Dataset, DatasetOptions, EdgeCases, GENERATOR_VERSION};
use atdm_core::schema::{Check, ColumnType, Generated, Operand, Table};
use atdm_core::token::CleanupToken;
use atdm_core::{Value, seed_from_run_id};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{Engine, micros, random_bytes};
use crate::backend::{Stmt, Tx};
use crate::error::{Error, db_message};
use crate::generate::Progress;

mod claims;
mod produce;
mod write;

pub use claims::{Owned, OwnedValues};

/// The scenario name a load's run has in the run catalog.
pub const LOAD_SCENARIO: &str = "atdm.generate";

/// The most existing rows of one table a load reads to point foreign keys at.
const MAX_EXISTING: usize = 1_000_000;

/// A volume load: which tables, how many rows, and how.
#[derive(Debug, Clone)]
pub struct Load {
    /// Rows per table; tables not named are not generated (foreign keys to them point at
    /// rows the database holds).
    pub rows: BTreeMap<String, u64>,
    /// A seed instead of the one derived from the run id.
    pub seed: Option<u64>,
    /// A reference date instead of the engine's.
    pub reference_date: Option<NaiveDate>,
    /// An invoker instead of the engine's.
    pub invoker: Option<String>,
    /// The run's lease instead of the engine's.
    pub lease: Option<Duration>,
    /// Worker threads; 0: one per core.
    pub threads: usize,
    /// Rows per batch (the unit of parallel work and of progress).
    pub batch_rows: u64,
    /// Adds a row per edge case of every column at the end of each table (see
    /// [`atdm_core::edge`]); they are the run's rows like the others.
    pub edge_cases: EdgeCases,
}

impl Load {
    /// A load of `rows`, with the engine's defaults for everything else.
    pub fn new(rows: BTreeMap<String, u64>) -> Self {
        Load {
            rows,
            seed: None,
            reference_date: None,
            invoker: None,
            lease: None,
            threads: 0,
            batch_rows: 16 * 1024,
            edge_cases: EdgeCases::None,
        }
    }
}

/// A loaded run.
#[derive(Debug, Clone, Serialize)]
pub struct Loaded {
    /// Always `ready`: the rows are committed.
    pub status: &'static str,
    /// The run id (a ULID).
    pub run_id: String,
    /// The cleanup token. This is the only time it is shown.
    #[serde(serialize_with = "expose_token")]
    pub token: CleanupToken,
    /// Rows written, per table.
    pub rows: BTreeMap<String, u64>,
    /// What the run owns, per table.
    pub owned: Vec<Owned>,
    /// The seed used.
    pub seed: u64,
    /// The reference date used.
    pub reference_date: NaiveDate,
    /// When the lease ends.
    pub lease_expires_at: DateTime<Utc>,
    /// The edge cases the rows hold, per table: `column class` (with `--edge-cases`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub edge_cases: BTreeMap<String, Vec<String>>,
    /// With `--edge-cases`: the invalid classes of the loaded tables' columns, as
    /// negative-test fixtures. Never loaded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub negative: Vec<atdm_core::edge::EdgeCase>,
    /// Wall time, in milliseconds.
    pub elapsed_ms: u64,
}

fn expose_token<S: serde::Serializer>(t: &CleanupToken, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.expose())
}

/// How a table's rows are claimed, before the keys are known.
enum ClaimKind {
    /// Its identity column's range.
    Range(String),
    /// Its run-id column.
    Equals(String),
    /// Its text key's prefix.
    Prefix(String),
    /// Its key's generated values, recomputed by the reset (UUID and other keys).
    Keys(String),
    /// A key column that references a table of the load claimed by range or by keys: the
    /// same values (order lines of the load's orders).
    Parent { column: String, parent: String },
}

fn invalid(message: String) -> Error {
    Error::InvalidDataset { message }
}

impl Engine {
    /// Generates `load.rows` straight into the database as one run: every foreign key
    /// resolves (to generated rows, or to rows the database holds), uniques and checks hold,
    /// and [`Engine::reset_run`] with the returned token deletes exactly these rows.
    ///
    /// Audited like a request: `request_received` (with `action: generate`) and
    /// `seed_started` before the transaction, `seed_completed` committed with the rows (the
    /// audit outbox), or `seed_failed`. Calls `progress` after every batch written. A table
    /// the run cannot claim without a ledger row per row (no identity key, no run-id
    /// column, no generated text key) is refused before anything is written.
    pub async fn load(
        &self,
        load: Load,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Result<Loaded, Error> {
        let started = Instant::now();
        let run_id = ulid::Ulid::new().to_string();
        let seed = load.seed.unwrap_or_else(|| seed_from_run_id(&run_id));
        let reference_date = self.reference_date(load.reference_date);
        let invoker = load
            .invoker
            .clone()
            .unwrap_or_else(|| self.invoker().to_owned());
        let mut audit = self.recorder(&run_id, &invoker);
        audit.event(
            AuditAction::RequestReceived,
            AuditStatus::Ok,
            serde_json::json!({
                "action": "generate",
                "rows": load.rows,
                "edge_cases": load.edge_cases,
                "seed": load.seed.map(|s| s.to_string()),
                "reference_date": load.reference_date.map(|d| d.to_string()),
            }),
            serde_json::json!({}),
        );
        let prepared = self
            .prepare_load(&load, &run_id, seed, reference_date)
            .await;
        let (mut options, kinds) = match prepared {
            Ok(p) => p,
            Err(e) => {
                audit.failure(
                    AuditAction::PlanRejected,
                    AuditStatus::Rejected,
                    serde_json::json!({}),
                    &e,
                );
                audit.write_after().await?;
                return Err(e);
            }
        };
        audit.event(
            AuditAction::SeedStarted,
            AuditStatus::Ok,
            serde_json::json!({}),
            serde_json::json!({ "database": self.database(), "dialect": self.db().name() }),
        );
        audit.write_before().await?;
        let token = CleanupToken::from_entropy(random_bytes());
        let now = Utc::now();
        let lease_expires_at = match load.lease {
            Some(l) => now + chrono::Duration::from_std(l).unwrap_or(chrono::Duration::hours(1)),
            None => self.lease_from(now),
        };
        let failed = |e: sqlx::Error| Error::SeedFailed {
            run_id: run_id.clone(),
            scenario: LOAD_SCENARIO.into(),
            message: db_message(&e),
        };
        let mut tx = match self.db().begin().await {
            Ok(tx) => tx,
            Err(e) => {
                let e = failed(e);
                audit.failure(
                    AuditAction::SeedFailed,
                    AuditStatus::RolledBack,
                    serde_json::json!({}),
                    &e,
                );
                audit.write_after().await?;
                return Err(e);
            }
        };
        let outcome = async {
            let run = Stmt::new(self.inner.catalog.insert_run())
                .text(run_id.as_str())
                .text(LOAD_SCENARIO)
                .text(format!("tdl_{}", &run_id[run_id.len() - 12..].to_lowercase()))
                .text(token.hash())
                .text("ready")
                .int(micros(now))
                .int(micros(lease_expires_at))
                .text(invoker.as_str())
                .text(reference_date.to_string())
                .text(seed.to_string())
                .bind(Value::Int(i64::from(GENERATOR_VERSION)), ColumnType::Integer)
                .text(serde_json::to_string(&load.rows).expect("JSON"))
                .text("{}");
            tx.queue(run);
            let owned = self
                .claim(&mut tx, &load.rows, &kinds, &mut options, &run_id)
                .await
                .map_err(failed)??;
            let edges = self.edge_summary(&load.rows, &options);
            let negative = if load.edge_cases == EdgeCases::None {
                Vec::new()
            } else {
                atdm_core::edge::negative_fixtures(
                    self.schema(),
                    load.rows.keys().map(String::as_str),
                    reference_date,
                )
            };
            let delivered: Vec<String> =
                negative.iter().map(atdm_core::edge::case_key).collect();
            self.write_rows(&mut tx, &load, &options, progress)
                .await
                .map_err(failed)??;
            // Identity counters continue after the keys the load wrote itself.
            let identity: Vec<(String, Vec<String>)> = owned
                .iter()
                .filter_map(|o| self.schema().table(&o.table))
                .filter_map(|t| {
                    identity_column(t).map(|c| (self.dialect().quote_table(t), vec![c]))
                })
                .collect();
            self.db().after_restore(&mut tx, &identity).await.map_err(failed)?;
            let ledger: Vec<(String, String)> = owned
                .iter()
                .map(|o| (o.table.clone(), serde_json::to_string(o).expect("JSON")))
                .collect();
            let mut binds = Vec::new();
            for (seq, (table, key)) in ledger.iter().enumerate() {
                binds.push((Value::Text(run_id.clone()), ColumnType::Text));
                binds.push((Value::Int(seq as i64), ColumnType::BigInt));
                binds.push((Value::Text(table.clone()), ColumnType::Text));
                binds.push((Value::Text(key.clone()), ColumnType::Text));
            }
            if !ledger.is_empty() {
                tx.queue(Stmt {
                    sql: self.inner.catalog.insert_ledger(ledger.len()),
                    binds,
                });
            }
            let rows: BTreeMap<String, u64> =
                owned.iter().map(|o| (o.table.clone(), o.rows)).collect();
            tx.queue(audit.stage(
                AuditAction::SeedCompleted,
                AuditStatus::Ok,
                serde_json::json!({}),
                serde_json::json!({
                    "rows": rows,
                    "owned": owned,
                    "edge_cases": edges,
                    "negative": delivered,
                    "seed": seed.to_string(),
                    "lease_expires_at": lease_expires_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                }),
            ));
            tx.commit().await.map_err(failed)?;
            Ok::<_, Error>((owned, rows, edges, negative))
        }
        .await;
        let (owned, rows, edge_cases, negative) = match tx.settle(outcome).await {
            Ok(x) => x,
            Err(e) => {
                audit.failure(
                    AuditAction::SeedFailed,
                    AuditStatus::RolledBack,
                    serde_json::json!({}),
                    &e,
                );
                audit.write_after().await?;
                return Err(e);
            }
        };
        audit.committed();
        self.inner.metrics.seeded_rows(&rows);
        audit.write_after().await?;
        tracing::info!(run_id = %run_id, rows = rows.values().sum::<u64>(), "loaded");
        Ok(Loaded {
            status: "ready",
            run_id,
            token,
            rows,
            owned,
            seed,
            reference_date,
            lease_expires_at,
            edge_cases,
            negative,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// The edge cases the dataset's rows hold, per table, as `column class`.
    fn edge_summary(
        &self,
        rows: &BTreeMap<String, u64>,
        options: &DatasetOptions,
    ) -> BTreeMap<String, Vec<String>> {
        let pack = self.pack();
        let Ok(d) = Dataset::new(
            self.schema(),
            rows,
            pack.generators(),
            pack.markers(),
            options,
        ) else {
            return BTreeMap::new();
        };
        d.tables()
            .filter_map(|(t, _)| {
                let (held, _) = d.edge_cases(t)?;
                let classes: Vec<String> = held
                    .iter()
                    .map(|e| format!("{} {}", e.case.column, e.case.class))
                    .collect();
                (!classes.is_empty()).then(|| (t.to_owned(), classes))
            })
            .collect()
    }

    /// Checks a load before anything is written: the options, how each table will be
    /// claimed, and that the dataset can be made (reading the rows foreign keys to tables
    /// not generated can point at).
    async fn prepare_load(
        &self,
        load: &Load,
        run_id: &str,
        seed: u64,
        reference_date: NaiveDate,
    ) -> Result<(DatasetOptions, Vec<ClaimKind>), Error> {
        crate::generate::check_counts(&load.rows, load.batch_rows)?;
        let schema = self.schema();
        let mut options = DatasetOptions::new(seed, reference_date);
        options.run_id = run_id.to_owned();
        options.edge_cases = load.edge_cases;
        // Rows that exist, for keys to tables not generated.
        for t in schema
            .tables
            .iter()
            .filter(|t| load.rows.contains_key(&t.name))
        {
            for fk in &t.foreign_keys {
                if load.rows.contains_key(&fk.references)
                    || options.existing.contains_key(&fk.references)
                {
                    continue;
                }
                let Some(parent) = schema.table(&fk.references) else {
                    continue;
                };
                let targets = parent.fk_target_columns(fk, schema).to_vec();
                let rows = self.read_existing(parent, &targets).await?;
                options.existing.insert(fk.references.clone(), rows);
            }
        }
        // Fails here for unknown tables, missing parents and impossible uniques.
        let dataset = Dataset::new(
            schema,
            &load.rows,
            self.pack().generators(),
            self.pack().markers(),
            &options,
        )?;
        let loaded: Vec<&str> = dataset.tables().map(|(t, _)| t).collect();
        for cycle in schema.fk_cycles() {
            let inside: Vec<&str> = cycle
                .iter()
                .map(|&i| schema.tables[i].name.as_str())
                .filter(|t| loaded.contains(t))
                .collect();
            if inside.len() > 1 {
                return Err(invalid(format!(
                    "tables {} reference each other in a cycle; a load writes them one after \
                     another, so generate them into files (--out) or load all but one",
                    inside.join(", ")
                )));
            }
        }
        let mut kinds: Vec<ClaimKind> = Vec::new();
        for name in &loaded {
            let t = schema.table(name).expect("a schema table");
            let by_range = |parent: &str| {
                loaded
                    .iter()
                    .position(|l| *l == parent)
                    .and_then(|i| kinds.get(i))
                    .is_some_and(|k| {
                        matches!(
                            k,
                            ClaimKind::Range(_) | ClaimKind::Keys(_) | ClaimKind::Prefix(_)
                        )
                    })
            };
            let parent = t
                .foreign_keys
                .iter()
                .find(|fk| {
                    matches!(fk.columns.as_slice(), [c] if t.primary_key.contains(c))
                        && fk.references != t.name
                        && by_range(&fk.references)
                })
                .map(|fk| ClaimKind::Parent {
                    column: fk.columns[0].clone(),
                    parent: fk.references.clone(),
                });
            kinds.push(
                claim_kind(t, &schema.run_id_column)
                    .or(parent)
                    .ok_or_else(|| {
                        invalid(format!(
                            "table {name:?} cannot be loaded as a run: its rows cannot be claimed \
                     without a ledger row each (it has no identity key, no {:?} column, no \
                     single text key and no key column that references a loaded table with an \
                     identity key); generate it into files (--out) instead",
                            schema.run_id_column
                        ))
                    })?,
            );
        }
        Ok((options, kinds))
    }

    /// The referenced columns of `table`'s rows (the first [`MAX_EXISTING`], in key order).
    async fn read_existing(
        &self,
        table: &Table,
        columns: &[String],
    ) -> Result<Vec<BTreeMap<String, Value>>, Error> {
        let d = self.dialect();
        let cols: Vec<String> = columns.iter().map(|c| d.quote(c)).collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {} LIMIT {MAX_EXISTING}",
            cols.join(", "),
            d.quote_table(table),
            cols.join(", ")
        );
        let types: Vec<ColumnType> = columns.iter().map(|c| super::col_type(table, c)).collect();
        let mut conn = self
            .db()
            .acquire()
            .await
            .map_err(Error::db("reading rows to point foreign keys at"))?;
        let rows = conn
            .fetch_all(Vec::new(), Stmt::new(sql), &types)
            .await
            .map_err(Error::db("reading rows to point foreign keys at"))?;
        Ok(rows
            .into_iter()
            .map(|r| columns.iter().cloned().zip(r).collect())
            .collect())
    }

    /// Reserves identity keys and turns each table's claim kind into its claim.
    async fn claim(
        &self,
        tx: &mut Tx,
        rows: &BTreeMap<String, u64>,
        kinds: &[ClaimKind],
        options: &mut DatasetOptions,
        run_id: &str,
    ) -> Result<Result<Vec<Owned>, Error>, sqlx::Error> {
        let schema = self.schema();
        let pack = self.pack();
        // The tables with their rows, edge-case rows included.
        let totals: Vec<(String, u64)> = {
            let d = Dataset::new(schema, rows, pack.generators(), pack.markers(), options)
                .expect("checked before");
            d.tables().map(|(t, n)| (t.to_owned(), n)).collect()
        };
        let names: Vec<String> = totals.iter().map(|(t, _)| t.clone()).collect();
        // Every identity column's keys go after the table's (and its sequence's) largest,
        // whatever the claim is on.
        for name in &names {
            let t = schema.table(name).expect("a schema table");
            if let Some(c) = identity_column(t) {
                let base = self.db().reserve_keys(tx, t, &c).await?;
                options.key_bases.insert(name.clone(), base);
            }
        }
        let mut owned = Vec::new();
        for ((name, n), kind) in totals.iter().zip(kinds) {
            let n = *n;
            let (column, values) = match kind {
                ClaimKind::Range(c) => {
                    let base = options.key_bases.get(name).copied().unwrap_or(0);
                    (
                        c.clone(),
                        OwnedValues::Range {
                            from: base + 1,
                            to: base + n as i64,
                        },
                    )
                }
                ClaimKind::Equals(c) => (
                    c.clone(),
                    OwnedValues::Equals {
                        value: run_id.to_owned(),
                    },
                ),
                ClaimKind::Prefix(c) => (
                    c.clone(),
                    OwnedValues::Prefix {
                        prefix: String::new(),
                    },
                ),
                ClaimKind::Keys(c) => (
                    c.clone(),
                    OwnedValues::Generated {
                        key_table: name.clone(),
                        key: c.clone(),
                        seed: options.seed.to_string(),
                        reference_date: options.reference_date,
                    },
                ),
                ClaimKind::Parent { column, parent } => {
                    let of_parent = owned
                        .iter()
                        .find(|o: &&Owned| &o.table == parent)
                        .expect("parents are claimed first");
                    let values = match &of_parent.values {
                        // The parent's text keys, recomputed (its prefix is not the child's).
                        OwnedValues::Prefix { .. } => OwnedValues::Generated {
                            key_table: parent.clone(),
                            key: of_parent.column.clone(),
                            seed: options.seed.to_string(),
                            reference_date: options.reference_date,
                        },
                        other => other.clone(),
                    };
                    (column.clone(), values)
                }
            };
            owned.push(Owned {
                table: name.clone(),
                column,
                values,
                rows: n,
            });
        }
        // Text keys: the prefix every row's key starts with, checked on the first row.
        let dataset = Dataset::new(schema, rows, pack.generators(), pack.markers(), options)
            .expect("checked before");
        for o in owned.iter_mut() {
            if let OwnedValues::Prefix { prefix } = &mut o.values {
                let batch = dataset.batch(&o.table, 0..1).expect("a dataset table");
                let col = batch.schema().index_of(&o.column).ok();
                let first = col.map(|i| crate::generate::cell_value(batch.column(i).as_ref(), 0));
                let short: String = o
                    .table
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .take(4)
                    .collect();
                let expected = format!("{short}-{run_id}-");
                match first {
                    Some(Value::Text(k)) if k.starts_with(&expected) => *prefix = expected,
                    // A text key of another shape (a code, a name): its values are recomputed.
                    _ => {
                        o.values = OwnedValues::Generated {
                            key_table: o.table.clone(),
                            key: o.column.clone(),
                            seed: options.seed.to_string(),
                            reference_date: options.reference_date,
                        }
                    }
                }
            }
        }
        Ok(Ok(owned))
    }
}

/// The identity column of a table, if it has one.
fn identity_column(t: &Table) -> Option<String> {
    t.columns
        .iter()
        .find(|c| matches!(c.generated, Some(Generated::Identity)))
        .map(|c| c.name.clone())
}

/// How a table's rows can be claimed: by its identity key, its run-id column, or its single
/// key's generated values (a prefix for text keys that hold the run id).
fn claim_kind(t: &Table, run_id_column: &str) -> Option<ClaimKind> {
    if let [pk] = t.primary_key.as_slice()
        && t.get_column(pk)
            .is_some_and(|c| matches!(c.generated, Some(Generated::Identity)))
    {
        return Some(ClaimKind::Range(pk.clone()));
    }
    if t.get_column(run_id_column).is_some() {
        return Some(ClaimKind::Equals(run_id_column.to_owned()));
    }
    if let Some(c) = identity_column(t) {
        return Some(ClaimKind::Range(c));
    }
    if let [pk] = t.primary_key.as_slice()
        && !t.foreign_keys.iter().any(|fk| fk.columns.contains(pk))
        && !changed_by_row_rules(t, pk)
        && let Some(c) = t.get_column(pk)
    {
        return Some(
            if matches!(c.ty, ColumnType::Text | ColumnType::Varchar(_)) && c.generator.is_none() {
                ClaimKind::Prefix(pk.clone())
            } else {
                ClaimKind::Keys(pk.clone())
            },
        );
    }
    None
}

/// Whether a check between columns (a comparison with another column, an implication) may
/// change `column`'s generated value in a row, so that the value cannot be recomputed alone.
fn changed_by_row_rules(t: &Table, column: &str) -> bool {
    t.checks.iter().any(|c| match c {
        Check::Compare {
            column: left,
            right: Operand::Column(right),
            ..
        } => left == column || right == column,
        Check::Implies { .. } => c.columns().contains(&column),
        _ => false,
    })
}
