//! Resets: delete exactly the rows a run owns (its ledger), children first, in one
//! transaction; `reset_all` for every run; reaping of runs whose lease has passed.

use std::collections::BTreeMap;

use atdm_core::Value;
use atdm_core::audit::{AuditAction, AuditStatus};
use atdm_core::schema::{ColumnType, Dialect, ForeignKey, Table};
use atdm_core::token::verify_token;
use chrono::Utc;
use serde::Serialize;

use super::cycle::check_deleted;
use super::load::{Owned as Claim, OwnedValues};
use super::{Engine, col_type, key_columns, micros, strategy_run_id};
use crate::audit::Recorder;
use crate::backend::{Backend, CycleWrites, DbResult, Stmt, Tx};
use crate::error::Error;

/// The outcome of a reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetStatus {
    /// The run's rows were deleted now.
    Cleaned,
    /// The run had been cleaned before; nothing changed.
    AlreadyCleaned,
}

/// What a reset deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResetReport {
    /// The run.
    pub run_id: String,
    /// Cleaned now, or already.
    pub status: ResetStatus,
    /// Rows deleted per table of the schema (zero where none).
    pub deleted: BTreeMap<String, u64>,
}

/// What [`Engine::reset_all`] deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResetAllReport {
    /// The runs cleaned.
    pub runs: Vec<String>,
    /// Rows deleted per table of the schema (zero where none).
    pub deleted: BTreeMap<String, u64>,
}

/// One owned row to delete: its table, its key, and its order (run, then seq).
struct Owned {
    table: String,
    key: Vec<Value>,
    order: (usize, i64),
}

fn reset_status(s: ResetStatus) -> &'static str {
    match s {
        ResetStatus::Cleaned => "cleaned",
        ResetStatus::AlreadyCleaned => "already_cleaned",
    }
}

/// Records how a reset ended; returns the metric status: cleaned (or already), refused
/// (wrong token, unknown run, no confirmation) or failed.
fn reset_outcome(
    audit: &mut Recorder<'_>,
    inputs: serde_json::Value,
    result: Result<&ResetReport, &Error>,
) -> &'static str {
    match result {
        // The record of a reset that happened was staged and committed with it.
        Ok(r) => reset_status(r.status),
        Err(e) => {
            let refused = matches!(
                e,
                Error::TokenMismatch { .. }
                    | Error::RunNotFound { .. }
                    | Error::ConfirmRequired { .. }
            );
            if refused {
                audit.failure(
                    AuditAction::ResetRejected,
                    AuditStatus::Forbidden,
                    inputs,
                    e,
                );
                "rejected"
            } else {
                audit.failure(AuditAction::ResetFailed, AuditStatus::Failed, inputs, e);
                "failed"
            }
        }
    }
}

/// Makes, of what a reset deleted (per run, and in all), the statements that put its record
/// into the audit outbox (see [`Recorder::stage`]).
type StageReset<'a> = dyn FnMut(&[ResetReport], &BTreeMap<String, u64>) -> Vec<Stmt> + Send + 'a;

/// Stages the record of a reset that happened (see [`Recorder::stage`]).
fn stage_completed(audit: &mut Recorder<'_>, inputs: serde_json::Value, r: &ResetReport) -> Stmt {
    audit.stage(
        AuditAction::ResetCompleted,
        AuditStatus::Cleaned,
        inputs,
        serde_json::json!({ "status": r.status, "deleted": r.deleted }),
    )
}

/// Whether the caller confirmed that every run's rows may go ([`Engine::reset_all`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// Delete every run-owned row.
    Confirmed,
    /// Delete nothing and fail with [`Error::ConfirmRequired`].
    NotConfirmed,
}

impl From<bool> for Confirmation {
    /// `true` (a `--confirm` flag given) is [`Confirmation::Confirmed`].
    fn from(confirmed: bool) -> Self {
        if confirmed {
            Confirmation::Confirmed
        } else {
            Confirmation::NotConfirmed
        }
    }
}

impl Engine {
    /// Deletes exactly the rows of `run_id`, children first, in one transaction, if `token`
    /// is its cleanup token (compared in constant time). A repeat returns
    /// [`ResetStatus::AlreadyCleaned`] and changes nothing; a wrong token fails with
    /// [`Error::TokenMismatch`] and changes nothing; an unknown run fails with
    /// [`Error::RunNotFound`].
    ///
    /// Audited in the run's trail: `reset_started` (stamped when the reset begins) and
    /// `reset_completed`, `reset_rejected` or `reset_failed`, written together once the reset
    /// is over; they commit with the deletes in the database's audit outbox first. A store
    /// that cannot take them does not stop the cleanup: the outbox keeps them for the next
    /// engine's write (see [`Engine::flush_audit`]), so test data never outlives its test
    /// because the audit store is down, and no event is lost if the process dies.
    pub async fn reset_run(&self, run_id: &str, token: &str) -> Result<ResetReport, Error> {
        self.reset_one("reset_run", run_id, Some(token)).await
    }

    /// Resets one run, audited in its own trail.
    async fn reset_one(
        &self,
        strategy: &'static str,
        run_id: &str,
        token: Option<&str>,
    ) -> Result<ResetReport, Error> {
        crate::catalog::check_run_id(run_id)?;
        let mut audit = self.recorder(run_id, self.invoker());
        audit.event(
            AuditAction::ResetStarted,
            AuditStatus::Ok,
            serde_json::json!({ "run_id": run_id, "strategy": strategy, "token_given": token.is_some() }),
            serde_json::json!({}),
        );
        let result = self
            .clean_runs(&[run_id.to_owned()], token, &mut |reports, _| {
                vec![stage_completed(
                    &mut audit,
                    serde_json::json!({}),
                    &reports[0],
                )]
            })
            .await
            .map(|(mut reports, _)| reports.remove(0));
        if result.is_ok() {
            audit.committed();
        }
        let status = reset_outcome(&mut audit, serde_json::json!({}), result.as_ref());
        self.inner.metrics.reset(strategy, status);
        // A run that does not exist has no trail: its id is the caller's, and writing under it
        // would make `audit` of any name return events.
        if !matches!(result, Err(Error::RunNotFound { .. })) {
            audit.write_after().await?;
        }
        result
    }

    /// Deletes every row owned by any run (reference rows stay) and marks every run cleaned,
    /// in one transaction. Without [`Confirmation::Confirmed`], deletes nothing and fails with
    /// [`Error::ConfirmRequired`] (front ends pass their `--confirm` flag through, with
    /// `Confirmation::from(bool)`).
    ///
    /// Audited as a strategy run (`strategy-reset_all-<ULID>`): `reset_started` and
    /// `reset_completed` (or `reset_rejected`, `reset_failed`), written when it is over, as
    /// for [`Engine::reset_run`]; each cleaned run's own trail also gets a `reset_completed`
    /// that names the strategy run.
    pub async fn reset_all(&self, confirmation: Confirmation) -> Result<ResetAllReport, Error> {
        let confirm = confirmation == Confirmation::Confirmed;
        let strategy_run = strategy_run_id("reset_all");
        let invoker = self.invoker().to_owned();
        let mut audit = self.recorder(&strategy_run, &invoker);
        audit.event(
            AuditAction::ResetStarted,
            AuditStatus::Ok,
            serde_json::json!({ "strategy": "reset_all", "confirm": confirm }),
            serde_json::json!({}),
        );
        let inputs = serde_json::json!({ "strategy": "reset_all", "strategy_run": strategy_run });
        // Each cleaned run's trail gets its own record, staged with the strategy's.
        let mut recorders: Vec<Recorder<'_>> = Vec::new();
        let result = if confirm {
            self.clean_all(&mut |reports, deleted| {
                let cleaned: Vec<&ResetReport> = reports
                    .iter()
                    .filter(|r| r.status == ResetStatus::Cleaned)
                    .collect();
                let runs: Vec<&str> = cleaned.iter().map(|r| r.run_id.as_str()).collect();
                let mut stmts = vec![audit.stage(
                    AuditAction::ResetCompleted,
                    AuditStatus::Cleaned,
                    serde_json::json!({ "strategy": "reset_all" }),
                    serde_json::json!({ "runs": runs, "deleted": deleted }),
                )];
                recorders.clear();
                for r in cleaned {
                    let mut run_audit = self.recorder(&r.run_id, &invoker);
                    stmts.push(stage_completed(&mut run_audit, inputs.clone(), r));
                    recorders.push(run_audit);
                }
                stmts
            })
            .await
        } else {
            Err(Error::ConfirmRequired {
                action: "reset_all".into(),
            })
        };
        let (reports, deleted) = match result {
            Ok(r) => r,
            Err(e) => {
                let status = reset_outcome(&mut audit, serde_json::json!({}), Err(&e));
                self.inner.metrics.reset("reset_all", status);
                audit.write_after().await?;
                return Err(e);
            }
        };
        self.inner.metrics.reset("reset_all", "cleaned");
        let report = ResetAllReport {
            runs: reports
                .iter()
                .filter(|r| r.status == ResetStatus::Cleaned)
                .map(|r| r.run_id.clone())
                .collect(),
            deleted,
        };
        audit.committed();
        audit.write_after().await?;
        // Sixteen writes at a time.
        for group in recorders.chunks_mut(16) {
            futures::future::try_join_all(group.iter_mut().map(|r| {
                r.committed();
                r.write_after()
            }))
            .await?;
        }
        Ok(report)
    }

    /// Cleans every run that is not cleaned yet.
    async fn clean_all(
        &self,
        stage: &mut StageReset<'_>,
    ) -> Result<(Vec<ResetReport>, BTreeMap<String, u64>), Error> {
        let runs = self
            .run_ids(Stmt::new(self.inner.catalog.ready_runs()))
            .await?;
        self.clean_runs(&runs, None, stage).await
    }

    /// Resets every run whose lease has passed; returns what each reset deleted. Each is
    /// audited in its run's trail with strategy `reap`.
    pub async fn reap_expired(&self) -> Result<Vec<ResetReport>, Error> {
        let now = micros(Utc::now());
        let runs = self
            .run_ids(Stmt::new(self.inner.catalog.expired_runs()).int(now))
            .await?;
        let mut out = Vec::new();
        for r in runs {
            out.push(self.reset_one("reap", &r, None).await?);
        }
        Ok(out)
    }

    /// Cleans runs in one transaction: checks each run (and its token, when given), claims
    /// it, reads its ledger, deletes its rows children first, drops its ledger. Where the
    /// transaction holds the write lock from its start (SQLite) the writes go in one batch
    /// (one round trip); elsewhere the claim is a conditional UPDATE, so two concurrent
    /// resets cannot both delete.
    ///
    /// `stage` makes, of what was deleted, the statements that put the reset's record into
    /// the audit outbox; they commit with the deletes.
    async fn clean_runs(
        &self,
        run_ids: &[String],
        token: Option<&str>,
        stage: &mut StageReset<'_>,
    ) -> Result<(Vec<ResetReport>, BTreeMap<String, u64>), Error> {
        let ctx = "reset failed and was rolled back; nothing was deleted";
        let mut tx = self.db().begin().await.map_err(Error::db(ctx))?;
        let outcome = async {
            let (reports, totals) = self.clean_in(&mut tx, run_ids, token).await?;
            for s in stage(&reports, &totals) {
                tx.queue(s);
            }
            tx.commit().await.map_err(Error::db(ctx))?;
            Ok::<_, Error>((reports, totals))
        }
        .await;
        // A wrong token, an unknown run or a failed delete undoes everything.
        let (reports, totals) = tx.settle(outcome).await?;
        // The run's fixture files hold its token: they go with its rows.
        for r in &reports {
            crate::fixture_files::remove(&self.inner.fixture_dir, &r.run_id)?;
        }
        Ok((reports, totals))
    }

    /// The body of the reset transaction, up to its commit.
    async fn clean_in(
        &self,
        tx: &mut Tx,
        run_ids: &[String],
        token: Option<&str>,
    ) -> Result<(Vec<ResetReport>, BTreeMap<String, u64>), Error> {
        let ctx = "reset failed and was rolled back; nothing was deleted";
        let db = self.db();
        let d = db.dialect();
        let schema = self.schema();
        let cat = &self.inner.catalog;
        let now = micros(Utc::now());
        let zero: BTreeMap<String, u64> =
            schema.tables.iter().map(|t| (t.name.clone(), 0)).collect();
        let order = schema.fk_order().map_err(|e| Error::Core(e.into()))?;
        // The run and its ledger in one query (no ledger rows: one row of NULLs).
        let select_run = format!(
            "SELECT r.token_hash, r.status, l.table_name, l.row_key, l.seq FROM {} r LEFT JOIN {} l ON l.run_id = r.run_id WHERE r.run_id = {} ORDER BY l.seq",
            cat.runs,
            cat.ledger,
            cat.p(1)
        );
        let types = [
            ColumnType::Text,
            ColumnType::Text,
            ColumnType::Text,
            ColumnType::Text,
            ColumnType::BigInt,
        ];
        let mut reports = Vec::new();
        let mut owned: Vec<Owned> = Vec::new();
        let mut claims: Vec<(String, Claim)> = Vec::new();
        for (ri, run_id) in run_ids.iter().enumerate() {
            let found = tx
                .fetch_all(Stmt::new(select_run.clone()).text(run_id.clone()), &types)
                .await
                .map_err(Error::db(ctx))?;
            let Some(first) = found.first() else {
                return Err(Error::RunNotFound {
                    run_id: run_id.clone(),
                });
            };
            let (hash, status) = (text(&first[0]), text(&first[1]));
            if let Some(t) = token
                && !verify_token(t, hash)
            {
                return Err(Error::TokenMismatch {
                    run_id: run_id.clone(),
                });
            }
            let claim = Stmt::new(cat.mark_cleaned()).int(now).text(run_id.clone());
            let claimed = if status != "ready" {
                false
            } else if tx.holds_write_lock() {
                // The status read above stands until commit.
                tx.queue(claim);
                true
            } else {
                tx.execute(claim).await.map_err(Error::db(ctx))? == 1
            };
            if !claimed {
                reports.push(ResetReport {
                    run_id: run_id.clone(),
                    status: ResetStatus::AlreadyCleaned,
                    deleted: zero.clone(),
                });
                continue;
            }
            let mut mine = zero.clone();
            for r in &found {
                let Value::Text(table) = &r[2] else { continue };
                let key_json = text(&r[3]);
                if key_json.starts_with('{') {
                    // A volume load's claim on many rows at once.
                    let claim: Claim =
                        serde_json::from_str(key_json).map_err(|e| Error::Database {
                            context: ctx.into(),
                            message: format!("unreadable ledger claim {key_json}: {e}"),
                        })?;
                    *mine.entry(table.clone()).or_insert(0) += claim.rows;
                    claims.push((run_id.clone(), claim));
                    continue;
                }
                let seq = match r[4] {
                    Value::Int(s) => s,
                    _ => 0,
                };
                let key: Vec<Value> =
                    serde_json::from_str(key_json).map_err(|e| Error::Database {
                        context: ctx.into(),
                        message: format!("unreadable ledger key {key_json}: {e}"),
                    })?;
                *mine.entry(table.clone()).or_insert(0) += 1;
                owned.push(Owned {
                    table: table.clone(),
                    key,
                    order: (ri, seq),
                });
            }
            tx.queue(Stmt::new(cat.delete_ledger_of_run()).text(run_id.clone()));
            reports.push(ResetReport {
                run_id: run_id.clone(),
                status: ResetStatus::Cleaned,
                deleted: mine,
            });
        }
        // Children first: tables in reverse insert order; within a table, rows in reverse
        // insert order (self-references), one statement per row there. The rows of a
        // foreign-key cycle are deleted together (see `cycle`).
        let mut cycle_of: Vec<Option<usize>> = vec![None; schema.tables.len()];
        for (ci, members) in schema.fk_cycles().iter().enumerate() {
            for &m in members {
                cycle_of[m] = Some(ci);
            }
        }
        let mut units: Vec<Unit> = Vec::new();
        let mut n = 0;
        for &ti in order.iter().rev() {
            let t = &schema.tables[ti];
            for (run_id, claim) in claims.iter().filter(|(_, c)| c.table == t.name) {
                let keys = self.claim_keys(run_id, claim)?;
                units.extend(claim_deletes(tx, &**db, t, claim, keys));
            }
            let mut rows: Vec<&Owned> = owned.iter().filter(|o| o.table == t.name).collect();
            if rows.is_empty() {
                continue;
            }
            rows.sort_by_key(|o| std::cmp::Reverse(o.order));
            let kc = key_columns(t);
            let types: Vec<ColumnType> = kc.iter().map(|c| col_type(t, c)).collect();
            let self_ref = t.foreign_keys.iter().any(|fk| fk.references == t.name);
            let cycle = cycle_of[ti];
            // One statement per row on self-referencing tables; `IN (...)` lists for
            // single-column keys; short OR chains for composite keys (SQLite limits
            // expression depth to 1,000). A cycle's statements number their placeholders on
            // from one to the next (they may go out as one).
            let per_stmt = if self_ref {
                1
            } else if kc.len() == 1 {
                (d.bind_limit() - 1).min(5000)
            } else {
                200
            };
            let continuing = matches!(
                (cycle, units.last()),
                (Some(c), Some(Unit::Together { cycle, .. })) if *cycle == c
            );
            if !continuing {
                n = 0;
            }
            let mut stmts = Vec::new();
            for chunk in rows.chunks(per_stmt) {
                if cycle.is_none() {
                    n = 0;
                }
                let mut next = |c: &String| {
                    n += 1;
                    db.param(n, t, c)
                };
                let cond = if kc.len() == 1 {
                    let ps: Vec<String> = chunk.iter().map(|_| next(&kc[0])).collect();
                    format!("{} IN ({})", d.quote(&kc[0]), ps.join(", "))
                } else {
                    let conds: Vec<String> = chunk
                        .iter()
                        .map(|_| {
                            let parts: Vec<String> = kc
                                .iter()
                                .map(|c| format!("{} = {}", d.quote(c), next(c)))
                                .collect();
                            format!("({})", parts.join(" AND "))
                        })
                        .collect();
                    conds.join(" OR ")
                };
                let binds = chunk
                    .iter()
                    .flat_map(|o| o.key.iter().cloned().zip(types.iter().cloned()))
                    .collect();
                stmts.push((
                    t.name.clone(),
                    Stmt {
                        sql: format!("DELETE FROM {} WHERE {}", d.quote_table(t), cond),
                        binds,
                    },
                ));
            }
            match (cycle, units.last_mut()) {
                (
                    Some(c),
                    Some(Unit::Together {
                        cycle,
                        stmts: group,
                        keys,
                    }),
                ) if *cycle == c => {
                    group.extend(stmts);
                    keys.push((ti, rows.iter().map(|o| o.key[0].clone()).collect()));
                }
                (Some(c), _) => {
                    units.push(Unit::Together {
                        cycle: c,
                        stmts,
                        keys: vec![(ti, rows.iter().map(|o| o.key[0].clone()).collect())],
                    });
                }
                (None, _) => units.extend(stmts.into_iter().map(|(t, s)| Unit::One(t, s))),
            }
        }
        let counts = self.delete_units(tx, units).await.map_err(Error::db(ctx))?;
        let mut totals = zero;
        for (table, n) in counts {
            *totals.get_mut(&table).expect("every table is counted") += n;
        }
        if let [only] = reports.as_mut_slice()
            && only.status == ResetStatus::Cleaned
        {
            only.deleted = totals.clone();
        }
        Ok((reports, totals))
    }
}

/// Deletes of a reset, in order.
enum Unit {
    /// One statement, of one table.
    One(String, Stmt),
    /// The statements of a foreign-key cycle's tables, deleted together; `keys` are the
    /// deleted rows' first key columns, per table.
    Together {
        cycle: usize,
        stmts: Vec<(String, Stmt)>,
        keys: Vec<(usize, Vec<Value>)>,
    },
}

impl Engine {
    /// Runs the deletes of a reset: in one round trip where the backend can (the claims and
    /// ledger deletes queued before them included); returns the rows each table lost.
    async fn delete_units(&self, tx: &mut Tx, units: Vec<Unit>) -> DbResult<Vec<(String, u64)>> {
        let db = self.db();
        let together = units.iter().any(|u| matches!(u, Unit::Together { .. }));
        let mode = db.cycle_writes();
        if !together || matches!(mode, CycleWrites::Deferred { .. }) {
            if let (true, CycleWrites::Deferred { defer }) = (together, mode) {
                tx.queue(Stmt::new(defer));
            }
            let (tables, stmts): (Vec<String>, Vec<Stmt>) = units
                .into_iter()
                .flat_map(|u| match u {
                    Unit::One(t, s) => vec![(t, s)],
                    Unit::Together { stmts, .. } => stmts,
                })
                .unzip();
            let counts = tx.execute_counted(stmts).await?;
            return Ok(tables.into_iter().zip(counts).collect());
        }
        let mut out = Vec::new();
        for unit in units {
            match unit {
                Unit::One(t, s) => out.push((t, tx.execute(s).await?)),
                Unit::Together { stmts, keys, .. } => match mode {
                    CycleWrites::OneStatement { combine } => {
                        let (tables, stmts): (Vec<String>, Vec<Stmt>) = stmts.into_iter().unzip();
                        let types = vec![ColumnType::BigInt; stmts.len()];
                        let row = tx.fetch_all(combine(stmts), &types).await?;
                        let counts = row.into_iter().next().unwrap_or_default();
                        for (t, c) in tables.into_iter().zip(counts) {
                            let n = match c {
                                Value::Int(n) => u64::try_from(n).unwrap_or_default(),
                                _ => 0,
                            };
                            out.push((t, n));
                        }
                    }
                    CycleWrites::Unchecked { off, on } => {
                        tx.queue(Stmt::new(off));
                        let mut result = Ok(());
                        for (t, s) in stmts {
                            match tx.execute(s).await {
                                Ok(n) => out.push((t, n)),
                                Err(e) => {
                                    result = Err(e);
                                    break;
                                }
                            }
                        }
                        let back_on = tx.execute(Stmt::new(on)).await;
                        result?;
                        back_on?;
                        let schema = self.schema();
                        for (ti, deleted) in keys {
                            check_deleted(tx, &**db, schema, &schema.tables[ti], &deleted).await?;
                        }
                    }
                    CycleWrites::Deferred { .. } => unreachable!("handled above"),
                },
            }
        }
        Ok(out)
    }
}

impl Engine {
    /// The key values a [`OwnedValues::Generated`] claim stands for, recomputed (chunks of
    /// [`KEYS_PER_DELETE`]); one empty chunk for other claims.
    fn claim_keys(&self, run_id: &str, claim: &Claim) -> Result<Vec<Vec<Value>>, Error> {
        let OwnedValues::Generated {
            key_table: table,
            key,
            seed,
            reference_date,
        } = &claim.values
        else {
            return Ok(vec![Vec::new()]);
        };
        let unreadable = |m: String| Error::Database {
            context: "reset failed and was rolled back; nothing was deleted".into(),
            message: format!(
                "the load's claim on {:?} cannot be recomputed: {m}",
                claim.table
            ),
        };
        let t = self
            .schema()
            .table(table)
            .ok_or_else(|| unreadable(format!("no table {table:?} in the schema")))?;
        let seed: u64 = seed
            .parse()
            .map_err(|_| unreadable(format!("seed {seed:?}")))?;
        let mut options = atdm_core::generate::DatasetOptions::new(seed, *reference_date);
        options.run_id = run_id.to_owned();
        let pack = self.pack();
        let values = atdm_core::generate::generated_values(
            t,
            key,
            pack.generators(),
            pack.markers(),
            &options,
            0..claim.rows,
        )
        .map_err(|e| unreadable(e.to_string()))?;
        Ok(values
            .chunks(KEYS_PER_DELETE)
            .map(<[Value]>::to_vec)
            .collect())
    }
}

/// Keys per statement when a reset deletes a load's recomputed keys.
const KEYS_PER_DELETE: usize = 5000;

/// The deletes of a volume load's claim on `t` (one per chunk of recomputed keys, else one).
/// A nullable self-reference among the rows is cleared first (queued on `tx`), so the rows go
/// in one statement; where each row's foreign keys are checked as it goes (MySQL), a key range
/// is deleted from its end, children (later rows) first.
fn claim_deletes(
    tx: &mut Tx,
    db: &dyn Backend,
    t: &Table,
    claim: &Claim,
    keys: Vec<Vec<Value>>,
) -> Vec<Unit> {
    let d = db.dialect();
    let placeholder = |n: usize| db.placeholder(n);
    let ty = col_type(t, &claim.column);
    let self_keys: Vec<&ForeignKey> = t
        .foreign_keys
        .iter()
        .filter(|fk| fk.references == t.name)
        .collect();
    let mut units = Vec::new();
    // Children (later rows) first.
    for chunk in keys.iter().rev() {
        let (cond, binds) = claim.condition(&d.quote(&claim.column), (chunk, &ty), &placeholder, 1);
        let mut order = String::new();
        for fk in &self_keys {
            let nullable = fk
                .columns
                .iter()
                .all(|c| t.get_column(c).is_some_and(|c| c.nullable));
            if nullable {
                let set: Vec<String> = fk
                    .columns
                    .iter()
                    .map(|c| format!("{} = NULL", d.quote(c)))
                    .collect();
                tx.queue(Stmt {
                    sql: format!(
                        "UPDATE {} SET {} WHERE {cond}",
                        d.quote_table(t),
                        set.join(", ")
                    ),
                    binds: binds.clone(),
                });
            } else if d == Dialect::MySql && matches!(claim.values, OwnedValues::Range { .. }) {
                order = format!(" ORDER BY {} DESC", d.quote(&claim.column));
            }
        }
        units.push(Unit::One(
            t.name.clone(),
            Stmt {
                sql: format!("DELETE FROM {} WHERE {cond}{order}", d.quote_table(t)),
                binds,
            },
        ));
    }
    units
}

fn text(v: &Value) -> &str {
    match v {
        Value::Text(s) => s,
        _ => "",
    }
}
