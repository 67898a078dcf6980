//! The seed transaction: a validated plan's rows, the run's catalog entry and its ledger
//! (which rows it owns), in one transaction.

use std::collections::{BTreeMap, HashMap};

use atdm_core::plan::TablePlan;
use atdm_core::schema::{ColumnType, Generated, Table};
use atdm_core::token::CleanupToken;
use atdm_core::{Cell, CellRef, ExistingRows, ValidatedPlan, Value};
use chrono::{DateTime, Utc};

use super::cycle::{cell_ref, cycle_groups, known};
use super::{Engine, col_type, key_columns, micros};
use crate::backend::{DbResult, Returning, Stmt, Tx};
use crate::error::{Error, db_message};

/// From this many rows on, a table (and the ledger) goes through the backend's bulk path.
const BULK_THRESHOLD: usize = 500;

/// Why a seed transaction stopped.
enum Stopped {
    /// The database failed (run again when transient).
    Db(sqlx::Error),
    /// A batch of a streamed entry was refused by the gate, or could not be made.
    Refused(Error),
}

impl From<sqlx::Error> for Stopped {
    fn from(e: sqlx::Error) -> Self {
        Stopped::Db(e)
    }
}

/// What a seed wrote.
pub(crate) struct Written {
    /// Values the database assigned (identity keys, defaults), by cell.
    pub(crate) assigned: HashMap<CellRef, Value>,
    /// Rows written per table.
    pub(crate) rows: BTreeMap<String, u64>,
    /// The entity keys as planned.
    pub(crate) keys: serde_json::Map<String, serde_json::Value>,
}

impl Engine {
    /// Writes a validated plan: catalog entry, rows, ledger and the statement `stage` makes of
    /// what was written (the audit outbox's record of the seed); one transaction.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn seed(
        &self,
        validated: &ValidatedPlan,
        existing: &ExistingRows,
        token: &CleanupToken,
        request_id: &str,
        invoker: &str,
        now: DateTime<Utc>,
        lease_expires_at: DateTime<Utc>,
        stage: &mut (dyn FnMut(&Written) -> Stmt + Send),
    ) -> Result<Written, Error> {
        let plan = validated.plan();
        let keys = plan.entity_keys(self.schema(), &|_| None);
        let data_json = serde_json::to_string(&keys).expect("JSON");
        let constraints_json = serde_json::to_string(
            &plan
                .constraints
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect::<BTreeMap<_, _>>(),
        )
        .expect("JSON");
        let run = Stmt::new(self.inner.catalog.insert_run())
            .text(plan.run_id.as_str())
            .text(plan.scenario.as_str())
            .text(request_id)
            .text(token.hash())
            .text("ready")
            .int(micros(now))
            .int(micros(lease_expires_at))
            .text(invoker)
            .text(plan.reference_date.to_string())
            .text(plan.seed.to_string())
            .bind(
                Value::Int(i64::from(plan.generator_version)),
                ColumnType::Integer,
            )
            .text(constraints_json)
            .text(data_json);
        let failed = |e: sqlx::Error| Error::SeedFailed {
            run_id: plan.run_id.clone(),
            scenario: plan.scenario.clone(),
            message: db_message(&e),
        };
        // A deadlock or serialization failure rolls the whole transaction back: it is run
        // again (the plan is the same), a few times, before the seed fails.
        let mut attempt = 0;
        loop {
            let mut tx = self.db().begin().await.map_err(failed)?;
            let outcome = async {
                let (assigned, mut rows) = self.write_plan(&mut tx, validated, run.clone()).await?;
                let first_seq = plan.row_count() as u64;
                self.write_streams(
                    &mut tx, validated, existing, &assigned, first_seq, &mut rows,
                )
                .await
                .map_err(Stopped::Db)?
                .map_err(Stopped::Refused)?;
                let written = Written {
                    assigned,
                    rows,
                    keys: keys.clone(),
                };
                tx.queue(stage(&written));
                tx.commit().await?;
                Ok(written)
            }
            .await;
            match tx.settle(outcome).await {
                Ok(written) => return Ok(written),
                Err(Stopped::Refused(e)) => return Err(e),
                Err(Stopped::Db(e)) if attempt < 5 && self.db().is_transient(&e) => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "seed rolled back; running it again");
                    let jitter = u64::from(crate::engine::random_bytes::<1>()[0]);
                    tokio::time::sleep(std::time::Duration::from_millis(10 * attempt + jitter / 4))
                        .await;
                }
                Err(Stopped::Db(e)) => return Err(failed(e)),
            }
        }
    }

    /// The body of the seed transaction, up to its commit.
    async fn write_plan(
        &self,
        tx: &mut Tx,
        validated: &ValidatedPlan,
        run: Stmt,
    ) -> DbResult<(HashMap<CellRef, Value>, BTreeMap<String, u64>)> {
        let plan = validated.plan();
        let schema = self.schema();
        tx.queue(run);
        let mut assigned: HashMap<CellRef, Value> = HashMap::new();
        let mut ledger: Vec<(String, String)> = Vec::with_capacity(plan.row_count());
        let mut rows_written = BTreeMap::new();
        let groups = cycle_groups(schema, plan);
        for (ti, tp) in plan.tables.iter().enumerate() {
            if let Some(g) = groups.iter().find(|g| g.contains(&ti)) {
                // The rows of a foreign-key cycle go out together, with the group's first table.
                if g.start == ti {
                    self.write_cycle(tx, plan, g.clone(), &mut assigned).await?;
                }
                continue;
            }
            let t = schema
                .table(&tp.table)
                .expect("plans use the pack's schema");
            // Integer keys the database does not assign continue the table's own.
            self.draw_keys(tx, t, tp, &mut assigned, false).await?;
            self.write_planned(tx, t, tp, &mut assigned).await?;
        }
        for tp in &plan.tables {
            let t = schema
                .table(&tp.table)
                .expect("plans use the pack's schema");
            ledger.extend(ledger_keys(t, tp, &assigned));
            rows_written.insert(tp.table.to_string(), tp.rows.len() as u64);
        }
        self.write_ledger(tx, &plan.run_id, ledger, 0).await?;
        Ok((assigned, rows_written))
    }

    /// Writes the rows of one table's plan: one `INSERT` per row where the database assigns
    /// a value that must be read back (recorded in `assigned`), else the backend's bulk path
    /// or multi-row `INSERT`s.
    pub(super) async fn write_planned(
        &self,
        tx: &mut Tx,
        t: &Table,
        tp: &TablePlan,
        assigned: &mut HashMap<CellRef, Value>,
    ) -> DbResult<()> {
        let db = self.db();
        let d = db.dialect();
        let types: Vec<ColumnType> = tp.columns.iter().map(|c| col_type(t, c)).collect();
        let table = d.quote_table(t);
        let cols: Vec<String> = tp.columns.iter().map(|c| d.quote(c)).collect();
        let row_by_row = tp.rows.iter().enumerate().any(|(ri, r)| {
            r.iter()
                .enumerate()
                .any(|(ci, c)| known(tp, ri, ci, c, assigned).is_none())
        });
        let bulk = db.bulk_load().filter(|_| tp.rows.len() >= BULK_THRESHOLD);
        if row_by_row {
            // Values the database assigns, or references to them: one INSERT per row,
            // reading back what the database assigned.
            for (ri, row) in tp.rows.iter().enumerate() {
                let written: Vec<usize> = (0..row.len())
                    .filter(|&i| {
                        !matches!(row[i], Cell::Default)
                            || known(tp, ri, i, &row[i], assigned).is_some()
                    })
                    .collect();
                let returning: Vec<(String, ColumnType)> = (0..row.len())
                    .filter(|i| !written.contains(i))
                    .map(|i| (tp.columns[i].clone(), types[i].clone()))
                    .collect();
                let sql = if written.is_empty() {
                    db.insert_default_values(&table)
                } else {
                    let names: Vec<&str> = written.iter().map(|&i| cols[i].as_str()).collect();
                    let ps: Vec<String> = written
                        .iter()
                        .enumerate()
                        .map(|(n, &i)| db.param(n + 1, t, &tp.columns[i]))
                        .collect();
                    format!(
                        "INSERT INTO {table} ({}) VALUES ({})",
                        names.join(", "),
                        ps.join(", ")
                    )
                };
                let binds = written
                    .iter()
                    .map(|&i| {
                        let v = known(tp, ri, i, &row[i], assigned).cloned();
                        (v.unwrap_or(Value::Null), types[i].clone())
                    })
                    .collect();
                let identity = t
                    .columns
                    .iter()
                    .find(|c| c.generated == Some(atdm_core::schema::Generated::Identity))
                    .map(|c| c.name.as_str());
                let returning = Returning {
                    table: &table,
                    columns: &returning,
                    identity,
                };
                let got = tx.insert_returning(Stmt { sql, binds }, &returning).await?;
                for ((col, _), v) in returning.columns.iter().zip(got) {
                    assigned.insert(cell_ref(&tp.table, ri, col), v);
                }
            }
        } else if let Some(bulk) = bulk {
            let mut data = String::with_capacity(tp.rows.len() * tp.columns.len() * 12);
            for (ri, row) in tp.rows.iter().enumerate() {
                bulk.row(
                    &mut data,
                    row.iter().enumerate().map(|(ci, c)| {
                        known(tp, ri, ci, c, assigned).expect("every value is known")
                    }),
                );
            }
            tx.copy_text((bulk.statement)(&table, &cols), data.into_bytes())
                .await?;
        } else {
            // Identity values written by the engine (drawn for a streamed entry, or set by
            // the scenario) need the database's leave where it has such a rule
            // (PostgreSQL's `OVERRIDING SYSTEM VALUE`, for `GENERATED ALWAYS` columns).
            let overriding = if tp.columns.iter().any(|c| {
                t.get_column(c)
                    .is_some_and(|c| c.generated == Some(Generated::Identity))
            }) {
                db.identity_insert()
            } else {
                ""
            };
            let per_stmt = (d.bind_limit() / tp.columns.len().max(1)).clamp(1, 1000);
            for (ci0, chunk) in tp.rows.chunks(per_stmt).enumerate() {
                let mut values = Vec::with_capacity(chunk.len());
                let mut n = 0;
                for _ in chunk {
                    let ps: Vec<String> = tp
                        .columns
                        .iter()
                        .map(|c| {
                            n += 1;
                            db.param(n, t, c)
                        })
                        .collect();
                    values.push(format!("({})", ps.join(", ")));
                }
                let sql = format!(
                    "INSERT INTO {table} ({}){overriding} VALUES {}",
                    cols.join(", "),
                    values.join(", ")
                );
                let mut binds = Vec::with_capacity(chunk.len() * types.len());
                for (k, row) in chunk.iter().enumerate() {
                    let ri = ci0 * per_stmt + k;
                    for (ci, (cell, ty)) in row.iter().zip(&types).enumerate() {
                        let v = known(tp, ri, ci, cell, assigned).expect("every value is known");
                        binds.push((v.clone(), ty.clone()));
                    }
                }
                tx.queue(Stmt { sql, binds });
            }
        }
        Ok(())
    }

    /// Queues (or bulk-loads) the run's ledger: one row per seeded row, numbered from
    /// `first_seq`.
    pub(super) async fn write_ledger(
        &self,
        tx: &mut Tx,
        run_id: &str,
        ledger: Vec<(String, String)>,
        first_seq: u64,
    ) -> DbResult<()> {
        let cat = &self.inner.catalog;
        let db = self.db();
        if let Some(bulk) = db.bulk_load().filter(|_| ledger.len() >= BULK_THRESHOLD) {
            let mut data = String::with_capacity(ledger.len() * 64);
            let run = Value::Text(run_id.to_owned());
            for (seq, (table, key)) in ledger.into_iter().enumerate() {
                let seq = first_seq as i64 + seq as i64;
                let row = [Value::Int(seq), Value::Text(table), Value::Text(key)];
                bulk.row(&mut data, std::iter::once(&run).chain(&row));
            }
            let cols = ["run_id", "seq", "table_name", "row_key"].map(String::from);
            tx.copy_text((bulk.statement)(&cat.ledger, &cols), data.into_bytes())
                .await?;
            return Ok(());
        }
        let per_stmt = (db.dialect().bind_limit() / 4).min(1000);
        for (ci, chunk) in ledger.chunks(per_stmt).enumerate() {
            let mut binds = Vec::with_capacity(chunk.len() * 4);
            for (k, (table, key)) in chunk.iter().enumerate() {
                let seq = first_seq as i64 + (ci * per_stmt + k) as i64;
                binds.push((Value::Text(run_id.to_owned()), ColumnType::Text));
                binds.push((Value::Int(seq), ColumnType::BigInt));
                binds.push((Value::Text(table.clone()), ColumnType::Text));
                binds.push((Value::Text(key.clone()), ColumnType::Text));
            }
            tx.queue(Stmt {
                sql: cat.insert_ledger(chunk.len()),
                binds,
            });
        }
        Ok(())
    }
}

/// The ledger rows of a table's written rows: the table and each row's key as JSON.
pub(super) fn ledger_keys(
    t: &Table,
    tp: &TablePlan,
    assigned: &HashMap<CellRef, Value>,
) -> Vec<(String, String)> {
    let kc = key_columns(t);
    (0..tp.rows.len())
        .map(|ri| {
            let key: Vec<Value> = kc
                .iter()
                .map(|c| {
                    let i = tp.columns.iter().position(|x| x == c);
                    match i.map(|i| &tp.rows[ri][i]) {
                        Some(Cell::Value(v)) => v.clone(),
                        Some(Cell::Ref(r)) => assigned.get(r).cloned().unwrap_or(Value::Null),
                        _ => assigned
                            .get(&cell_ref(&tp.table, ri, c))
                            .cloned()
                            .unwrap_or(Value::Null),
                    }
                })
                .collect();
            (
                tp.table.to_string(),
                serde_json::to_string(&key).expect("values serialize"),
            )
        })
        .collect()
}
