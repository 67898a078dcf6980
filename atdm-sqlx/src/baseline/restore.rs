//! Restoring a baseline: every object read and verified first, then one transaction that
//! empties the tables (children first) and writes the baseline's rows (parents first).

use std::collections::{BTreeMap, HashMap, VecDeque};

use arrow_array::RecordBatch;
use atdm_core::Value;
use atdm_core::audit::{AuditAction, AuditStatus};
use atdm_core::schema::{ColumnType, Generated, Table};

use super::codec::{ColSpec, bind_form, specs};
use super::objects::read_batch;
use super::{BULK_THRESHOLD, Part, RestoreReport, object_key, part_file};
use crate::Engine;
use crate::backend::{BulkLoad, Stmt, Tx, ValueForms};
use crate::engine::strategy_run_id;
use crate::error::Error;

/// A table of a baseline, read and verified, ready to write.
pub(super) struct Loaded {
    pub(super) part: Part,
    pub(super) cols: Vec<ColSpec>,
    pub(super) batches: Vec<RecordBatch>,
    /// The table's content checksum in the baseline.
    pub(super) checksum: String,
}

impl Engine {
    /// Restores a baseline (the newest when `id` is `None`): in one transaction, deletes every
    /// row of every table (children first) and writes the baseline's rows (parents first),
    /// the run catalog and ledger included, so runs seeded since are gone and runs reset since
    /// own their rows again. Restoring twice gives the same state.
    ///
    /// Every table object is read and its checksum verified before anything is written.
    /// Fails with [`Error::NoBaseline`] when there is no baseline at all,
    /// [`Error::BaselineNotFound`] for an unknown id, [`Error::BaselineMismatch`] for a
    /// baseline of another schema, [`Error::BaselineCorrupt`] when an object is missing or does
    /// not match its checksum. Audited as a strategy action under
    /// [`RestoreReport::audit_run_id`].
    ///
    /// Sequences of identity columns are set past the largest restored key on PostgreSQL;
    /// SQLite and MySQL keep their counters, which only grow.
    pub async fn restore(&self, id: Option<&str>) -> Result<RestoreReport, Error> {
        let run_id = strategy_run_id("restore");
        let inputs = serde_json::json!({ "baseline_id": id, "database": self.database() });
        let mut audit = self.recorder(&run_id, self.invoker());
        audit.event(
            AuditAction::RestoreStarted,
            AuditStatus::Ok,
            inputs.clone(),
            serde_json::json!({}),
        );
        audit.write_before().await?;
        // The record of the restore commits with it (the audit outbox).
        let result = self
            .restore_now(id, &run_id, &mut |r| {
                audit.stage(
                    AuditAction::RestoreCompleted,
                    AuditStatus::Ok,
                    inputs.clone(),
                    serde_json::json!({
                        "baseline_id": r.baseline_id,
                        "rows": r.rows,
                        "deleted": r.deleted,
                    }),
                )
            })
            .await;
        match &result {
            Ok(_) => audit.committed(),
            Err(e) => audit.failure(AuditAction::RestoreFailed, AuditStatus::Failed, inputs, e),
        }
        let status = if result.is_ok() { "ok" } else { "failed" };
        self.inner.metrics.reset("restore", status);
        audit.write_after().await?;
        result
    }

    /// Restores; `stage` makes of the report the statement that puts the restore's record
    /// into the audit outbox, in the restore's transaction.
    async fn restore_now(
        &self,
        id: Option<&str>,
        run_id: &str,
        stage: &mut (dyn FnMut(&RestoreReport) -> Stmt + Send),
    ) -> Result<RestoreReport, Error> {
        let manifest = match id {
            Some(id) => self.require_manifest(id).await?,
            None => self
                .list_baselines()
                .await?
                .into_iter()
                .next()
                .ok_or(Error::NoBaseline)?,
        };
        self.check_compatible(&manifest)?;
        let forms = self.db().value_forms();
        let parts = self.baseline_parts()?;
        for entry in &manifest.tables {
            if !parts.iter().any(|p| p.name == entry.name) {
                return Err(Error::BaselineMismatch {
                    id: manifest.id.clone(),
                    expected: "the tables of this engine's schema".into(),
                    found: format!("a table {:?} this engine does not have", entry.name),
                });
            }
        }
        // Read and verify everything before writing anything.
        let mut loaded: Vec<Loaded> = Vec::with_capacity(parts.len());
        for part in parts {
            let entry = manifest
                .table(&part.name)
                .ok_or_else(|| Error::BaselineMismatch {
                    id: manifest.id.clone(),
                    expected: format!("table {} in the baseline", part.name),
                    found: "a baseline without it".into(),
                })?;
            let cols = specs(&part.table, forms);
            let batches = self.load_part(&manifest, entry, &cols).await?;
            loaded.push(Loaded {
                part,
                cols,
                batches,
                checksum: entry.checksum.clone(),
            });
        }
        let ctx = format!(
            "restoring baseline {} failed and was rolled back; nothing changed",
            manifest.id
        );
        let corrupt = |part: &Part, message: String| Error::BaselineCorrupt {
            id: manifest.id.clone(),
            object: object_key(&manifest.id, &part_file(&part.name)).to_string(),
            message,
        };
        let mut tx = self.db().begin().await.map_err(Error::db(&ctx))?;
        let outcome = async {
            let (rows, deleted) = self
                .write_baseline(&mut tx, &loaded, &ctx, &corrupt)
                .await?;
            let report = RestoreReport {
                baseline_id: manifest.id.clone(),
                rows,
                deleted,
                audit_run_id: run_id.to_owned(),
            };
            tx.queue(stage(&report));
            tx.commit().await.map_err(Error::db(&ctx))?;
            Ok::<_, Error>(report)
        }
        .await;
        let report = tx.settle(outcome).await?;
        tracing::info!(baseline = %manifest.id, "baseline restored");
        Ok(report)
    }

    /// The body of the restore transaction, up to its commit: empty every table, write every
    /// table, move the identity counters.
    async fn write_baseline(
        &self,
        tx: &mut Tx,
        loaded: &[Loaded],
        ctx: &str,
        corrupt: &(dyn Fn(&Part, String) -> Error + Sync),
    ) -> Result<(BTreeMap<String, u64>, BTreeMap<String, u64>), Error> {
        let db = self.db();
        for sql in db.restore_prelude() {
            tx.queue(Stmt::new(*sql));
        }
        // Triggers must not change what is restored: switched off where the database can,
        // else the rows they change are put back afterwards (see `reconcile`).
        let triggered: Vec<&Loaded> = loaded
            .iter()
            .filter(|l| !l.part.table.triggers.is_empty())
            .collect();
        let switches: Vec<(String, String)> = triggered
            .iter()
            .filter_map(|l| {
                Some((
                    db.switch_triggers(&l.part.sql_name, false)?,
                    db.switch_triggers(&l.part.sql_name, true)?,
                ))
            })
            .collect();
        let reconciling = !triggered.is_empty() && switches.len() < triggered.len();
        for (off, _) in &switches {
            tx.execute(Stmt::new(off.clone())).await.map_err(|e| Error::Database {
                context: ctx.into(),
                message: format!(
                    "{} (switching the table's triggers off for the restore needs its owner's rights)",
                    crate::error::db_message(&e)
                ),
            })?;
        }
        let names: Vec<String> = loaded.iter().map(|l| l.part.sql_name.clone()).collect();
        // The tables of a foreign-key cycle are emptied and written together.
        let groups = self.restore_groups(loaded);
        let group_of = |i: usize| groups.iter().position(|g| g.contains(&i));
        let mut deleted: BTreeMap<String, u64> = BTreeMap::new();
        match db.empty_tables(tx, &names).await.map_err(Error::db(ctx))? {
            Some(counts) => {
                for (l, n) in loaded.iter().zip(counts) {
                    deleted.insert(l.part.name.clone(), n);
                }
            }
            None => {
                for (i, l) in loaded.iter().enumerate().rev() {
                    if deleted.contains_key(&l.part.name) {
                        continue;
                    }
                    if let Some(g) = group_of(i) {
                        let members: Vec<&Loaded> = groups[g].iter().map(|&j| &loaded[j]).collect();
                        let counts = self.empty_group(tx, &members, ctx).await?;
                        for (m, n) in members.iter().zip(counts) {
                            deleted.insert(m.part.name.clone(), n);
                        }
                        continue;
                    }
                    let n = db
                        .delete_all(tx, &l.part.sql_name, self_referencing(&l.part.table))
                        .await
                        .map_err(Error::db(ctx))?;
                    deleted.insert(l.part.name.clone(), n);
                }
            }
        }
        let mut rows: BTreeMap<String, u64> = BTreeMap::new();
        for (i, l) in loaded.iter().enumerate() {
            if rows.contains_key(&l.part.name) {
                continue;
            }
            if let Some(g) = group_of(i) {
                let members: Vec<&Loaded> = groups[g].iter().map(|&j| &loaded[j]).collect();
                let counts = self.write_group(tx, &members, ctx, corrupt).await?;
                for (m, n) in members.iter().zip(counts) {
                    rows.insert(m.part.name.clone(), n);
                }
                continue;
            }
            let n = self
                .write_table(tx, l, None, reconciling, ctx, corrupt)
                .await?;
            rows.insert(l.part.name.clone(), n);
        }
        if reconciling {
            self.reconcile(tx, loaded, ctx, corrupt).await?;
        }
        for (_, on) in switches {
            tx.queue(Stmt::new(on));
        }
        let identity: Vec<(String, Vec<String>)> = loaded
            .iter()
            .map(|l| {
                let cols = l
                    .part
                    .table
                    .columns
                    .iter()
                    .filter(|c| c.generated == Some(Generated::Identity))
                    .map(|c| c.name.clone())
                    .collect();
                (l.part.sql_name.clone(), cols)
            })
            .filter(|(_, cols): &(String, Vec<String>)| !cols.is_empty())
            .collect();
        db.after_restore(tx, &identity)
            .await
            .map_err(Error::db(ctx))?;
        Ok((rows, deleted))
    }

    /// Writes one table's rows (into the table, or `into` another of its columns, a staging
    /// table): through the bulk path where the backend has one (a converter thread makes each
    /// batch's text while the database loads the previous one), else in multi-row INSERTs,
    /// one batch held at a time (a self-referencing table whole, parents first).
    pub(super) async fn write_table(
        &self,
        tx: &mut Tx,
        l: &Loaded,
        into: Option<&str>,
        ignore_existing: bool,
        ctx: &str,
        corrupt: &(dyn Fn(&Part, String) -> Error + Sync),
    ) -> Result<u64, Error> {
        let db = self.db();
        let d = db.dialect();
        let forms = db.value_forms();
        let (part, cols, batches) = (&l.part, &l.cols, &l.batches);
        let t = &part.table;
        let target = into.unwrap_or(&part.sql_name);
        let self_ref = self_referencing(t);
        let written: Vec<usize> = (0..cols.len()).filter(|&i| cols[i].written).collect();
        let names: Vec<String> = written.iter().map(|&i| d.quote(&cols[i].name)).collect();
        let count: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if written.is_empty() {
            return Ok(count as u64);
        }
        let bulk = db
            .bulk_load()
            .filter(|_| !self_ref && count >= BULK_THRESHOLD);
        if let Some(bulk) = bulk {
            let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
            let (work, wcols) = (batches.clone(), cols.clone());
            let producer = tokio::task::spawn_blocking(move || -> Result<(), String> {
                for batch in &work {
                    if sender
                        .blocking_send(bulk_text(bulk, batch, &wcols, forms)?)
                        .is_err()
                    {
                        break;
                    }
                }
                Ok(())
            });
            let copied = tx.copy_in((bulk.statement)(target, &names), receiver).await;
            producer
                .await
                .map_err(|e| Error::Database {
                    context: ctx.into(),
                    message: e.to_string(),
                })?
                .map_err(|m| corrupt(part, m))?;
            let n = copied.map_err(Error::db(ctx))?;
            if n != count as u64 {
                return Err(Error::Database {
                    context: ctx.into(),
                    message: format!(
                        "the bulk load into {} loaded {n} rows of {count}",
                        part.name
                    ),
                });
            }
            return Ok(n);
        }
        let types: Vec<ColumnType> = written.iter().map(|&i| cols[i].ty.clone()).collect();
        let overriding = if into.is_none()
            && written.iter().any(|&i| {
                t.get_column(&cols[i].name)
                    .is_some_and(|c| c.generated == Some(Generated::Identity))
            }) {
            db.identity_insert()
        } else {
            ""
        };
        let per_stmt = (d.bind_limit() / written.len()).clamp(1, 1000);
        let mut held: Vec<Vec<Value>> = Vec::new();
        for (bi, batch) in batches.iter().enumerate() {
            let stored = read_batch(batch, cols).map_err(|m| corrupt(part, m))?;
            let mut ready = Vec::with_capacity(stored.len());
            for row in stored {
                let mut out = Vec::with_capacity(written.len());
                for (i, v) in row.into_iter().enumerate() {
                    if cols[i].written {
                        out.push(bind_form(v, &cols[i], forms).map_err(|m| corrupt(part, m))?);
                    }
                }
                ready.push(out);
            }
            let chunk = if self_ref {
                held.extend(ready);
                if bi + 1 < batches.len() {
                    continue;
                }
                let wcols: Vec<ColSpec> = written.iter().map(|&i| cols[i].clone()).collect();
                parents_first(t, &wcols, std::mem::take(&mut held))
            } else {
                ready
            };
            // Write what is ready now, so at most one batch is held.
            if let Some(bulk) = db.bulk_load().filter(|_| chunk.len() >= BULK_THRESHOLD) {
                let mut data = String::with_capacity(chunk.len() * written.len() * 12);
                for row in &chunk {
                    bulk.row(&mut data, row);
                }
                tx.copy_text((bulk.statement)(target, &names), data.into_bytes())
                    .await
                    .map_err(Error::db(ctx))?;
                continue;
            }
            for these in chunk.chunks(per_stmt) {
                let mut n = 0;
                let values: Vec<String> = these
                    .iter()
                    .map(|_| {
                        let ps: Vec<String> = written
                            .iter()
                            .map(|&i| {
                                n += 1;
                                db.param(n, t, &cols[i].name)
                            })
                            .collect();
                        format!("({})", ps.join(", "))
                    })
                    .collect();
                let sql = format!(
                    "{} {} ({}){overriding} VALUES {}",
                    if ignore_existing {
                        db.insert_ignoring()
                    } else {
                        "INSERT INTO"
                    },
                    target,
                    names.join(", "),
                    values.join(", ")
                );
                let binds = these
                    .iter()
                    .flat_map(|row| row.iter().cloned().zip(types.iter().cloned()))
                    .collect();
                tx.execute(Stmt { sql, binds })
                    .await
                    .map_err(Error::db(ctx))?;
            }
        }
        Ok(count as u64)
    }
}

fn self_referencing(t: &Table) -> bool {
    t.foreign_keys.iter().any(|fk| fk.references == t.name)
}

/// One record batch as bulk-load text of its written columns, values ready to bind.
fn bulk_text(
    bulk: BulkLoad,
    batch: &RecordBatch,
    cols: &[ColSpec],
    forms: ValueForms,
) -> Result<Vec<u8>, String> {
    let rows = read_batch(batch, cols)?;
    let mut out = String::with_capacity(rows.len() * cols.len() * 12);
    for row in rows {
        let mut values = Vec::with_capacity(cols.len());
        for (v, c) in row.into_iter().zip(cols) {
            if c.written {
                values.push(bind_form(v, c, forms)?);
            }
        }
        bulk.row(&mut out, &values);
    }
    Ok(out.into_bytes())
}

/// Rows of a table with self-references reordered so that every row comes after the row it
/// points at (rows in a reference cycle keep their order at the end).
pub(super) fn parents_first(t: &Table, cols: &[ColSpec], rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    let pos = |name: &str| cols.iter().position(|c| c.name == name);
    let self_fks: Vec<(Vec<usize>, Vec<usize>)> = t
        .foreign_keys
        .iter()
        .filter(|fk| fk.references == t.name)
        .filter_map(|fk| {
            let targets = if fk.ref_columns.is_empty() {
                t.primary_key.clone()
            } else {
                fk.ref_columns.clone()
            };
            let from: Option<Vec<usize>> = fk.columns.iter().map(|c| pos(c)).collect();
            let to: Option<Vec<usize>> = targets.iter().map(|c| pos(c)).collect();
            Some((from?, to?))
        })
        .collect();
    if self_fks.is_empty() {
        return rows;
    }
    let n = rows.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting = vec![0usize; n];
    for (from, to) in &self_fks {
        let index: HashMap<Vec<&Value>, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (to.iter().map(|&c| &r[c]).collect(), i))
            .collect();
        for (i, r) in rows.iter().enumerate() {
            let key: Vec<&Value> = from.iter().map(|&c| &r[c]).collect();
            if key.iter().any(|v| v.is_null()) {
                continue;
            }
            if let Some(&p) = index.get(&key)
                && p != i
            {
                children[p].push(i);
                waiting[i] += 1;
            }
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut ready: VecDeque<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut placed = vec![false; n];
    while let Some(i) = ready.pop_front() {
        placed[i] = true;
        order.push(i);
        for &c in &children[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push_back(c);
            }
        }
    }
    order.extend((0..n).filter(|&i| !placed[i]));
    let mut slots: Vec<Option<Vec<Value>>> = rows.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each row is placed once"))
        .collect()
}
