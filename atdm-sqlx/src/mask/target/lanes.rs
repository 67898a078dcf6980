//! Tables written in parallel. Where no table waits on another (tables the job creates get
//! their keys after the data; a schema without foreign keys) and the source can share one
//! snapshot between connections (PostgreSQL, as `pg_dump --jobs` reads), a few lanes each
//! take the next table: its own read connection on the shared snapshot, its own target
//! transaction (`transaction = "table"`). The output does not depend on the number of lanes.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use atdm_core::Value;
use atdm_core::mask::{MaskPlan, Masker, TransactionMode};
use atdm_core::schema::{ColumnType, Dialect, Schema};

use super::super::rows::TableMask;
use super::super::subset::Kept;
use super::super::{MAX_LANES, MaskProgress, MaskedTable};
use super::Target;
use crate::backend::{Db, Stmt};
use crate::error::Error;

impl Target {
    /// How many tables may be written at once: up to one per core (at most [`MAX_LANES`]) where
    /// tables do not wait on each other, each commits alone and the source shares snapshots;
    /// else 1.
    pub(super) fn lanes(&self, source: &Db, schema: &Schema, tables: usize) -> usize {
        let unordered =
            !self.after.is_empty() || schema.tables.iter().all(|t| t.foreign_keys.is_empty());
        if self.mode != TransactionMode::Table
            || source.snapshot_export().is_none()
            || self.db.dialect() == Dialect::Sqlite
            || !unordered
        {
            return 1;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cores.min(MAX_LANES as usize).min(tables).max(1)
    }

    /// Writes every table in `order`, `lanes` at a time; the report lists them in `order`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write_lanes(
        &self,
        lanes: usize,
        source: &Db,
        schema: &Schema,
        plan: &MaskPlan,
        masker: &Masker,
        order: &[usize],
        kept: Option<&Kept>,
        progress: &(dyn Fn(MaskProgress<'_>) + Sync),
    ) -> Result<Vec<MaskedTable>, Error> {
        let export = source.snapshot_export().expect("checked by lanes()");
        let opening = || Error::db("cannot open a read transaction on the source");
        // Held open until every lane has read: the lanes read its snapshot.
        let mut main = source.begin_snapshot().await.map_err(opening())?;
        let named = main
            .fetch_all(Stmt::new(export.export), &[ColumnType::Text])
            .await
            .map_err(opening())?;
        let import = match named.first().and_then(|r| r.first()) {
            Some(Value::Text(name)) => (export.import)(name),
            _ => None,
        }
        .ok_or_else(|| Error::MaskFailed {
            message: "the source did not name its snapshot".into(),
        })?;
        // Children first: the tables that point at others are usually the largest, and a
        // large table started last would run alone.
        let queue = Mutex::new(order.iter().rev().copied().collect::<VecDeque<usize>>());
        let done = Mutex::new(Vec::new());
        // After a failure no lane takes another table; the tables in flight finish, so the
        // error names exactly the tables that stay written.
        let stop = AtomicBool::new(false);
        let lane = || async {
            let mut read = source.session().await.map_err(|e| (opening()(e), None))?;
            read.queue(Stmt::new(source.begin_snapshot_sql()));
            read.queue(Stmt::new(import.clone()));
            if let Some(copy) = self.text_copy(source) {
                read.execute_script(copy.setup.to_owned())
                    .await
                    .map_err(|e| {
                        let setup = Error::db("cannot set up a read transaction on the source");
                        (setup(e), None)
                    })?;
            }
            while !stop.load(Ordering::Relaxed) {
                let Some(ti) = queue.lock().expect("not poisoned").pop_front() else {
                    break;
                };
                let t = &schema.tables[ti];
                let mask = TableMask::new(
                    t,
                    &plan.tables[&t.name],
                    masker,
                    kept.and_then(|k| k.get(&t.name)),
                );
                let copied = async {
                    let mut w = self.begin().await?;
                    let (source_rows, rows, _) = self
                        .write_table(&mut w, &mut read, source, t, mask, &[], progress)
                        .await?;
                    w.commit().await.map_err(Error::db("cannot commit"))?;
                    Ok::<_, Error>((source_rows, rows))
                };
                match copied.await {
                    Ok((source_rows, rows)) => {
                        done.lock().expect("not poisoned").push(MaskedTable {
                            table: t.name.clone(),
                            source_rows,
                            rows,
                            file: None,
                            sha256: None,
                        })
                    }
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        return Err((e, Some(ti)));
                    }
                }
            }
            read.commit().await.map_err(|e| {
                let closing = Error::db("cannot close a read transaction on the source");
                (closing(e), None)
            })
        };
        let outcomes = futures::future::join_all((0..lanes).map(|_| lane())).await;
        let closed = main
            .commit()
            .await
            .map_err(Error::db("cannot close the read transaction on the source"));
        let mut done = done.into_inner().expect("not poisoned");
        done.sort_by_key(|d: &MaskedTable| {
            order
                .iter()
                .position(|&ti| schema.tables[ti].name == d.table)
        });
        if let Some((e, table)) = outcomes.into_iter().find_map(Result::err) {
            return Err(match table {
                Some(ti) => self.failed(e, &schema.tables[ti], &done),
                None => e,
            });
        }
        closed?;
        let tx = self.begin().await?;
        self.complete(tx, schema, order).await?;
        Ok(done)
    }
}
