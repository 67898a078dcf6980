//! Taking a snapshot: every table read in one consistent read transaction, written to the
//! store table by table, the manifest last.

use std::collections::BTreeMap;

use atdm_core::Value;
use atdm_core::audit::AuditAction;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;

use super::codec::{ColSpec, specs};
use super::objects::PartWriter;
use super::{
    BASELINE_FORMAT_VERSION, BaselineManifest, BaselineTable, Part, SEND_ROWS, SnapshotOptions,
    check_id, new_id, object_key, part_file,
};
use crate::Engine;
use crate::backend::{Stmt, Tx};
use crate::engine::strategy_run_id;
use crate::error::Error;

impl Engine {
    /// Snapshots every table of the pack's schema, and the run catalog and ledger, to the
    /// store as Parquet with a manifest, reading all of them in one read transaction.
    ///
    /// An id that exists already fails with [`Error::BaselineExists`] and writes nothing new;
    /// a malformed id fails with [`Error::InvalidBaselineId`]. The snapshot is audited as a
    /// strategy action (`snapshot_started`, then `snapshot_completed` or `snapshot_failed`)
    /// under the run id in [`BaselineManifest::audit_run_id`].
    pub async fn snapshot(&self, options: SnapshotOptions) -> Result<BaselineManifest, Error> {
        let run_id = strategy_run_id("snapshot");
        let id = options.id.clone().unwrap_or_else(new_id);
        let inputs = serde_json::json!({
            "baseline_id": id,
            "tags": options.tags,
            "database": self.database(),
        });
        self.audited_strategy(
            &run_id,
            [
                AuditAction::SnapshotStarted,
                AuditAction::SnapshotCompleted,
                AuditAction::SnapshotFailed,
            ],
            inputs,
            self.take_snapshot(&id, options.tags, &run_id),
            |m: &BaselineManifest| {
                serde_json::json!({
                    "baseline_id": m.id,
                    "captured_at": m.captured_at,
                    "rows": m.tables.iter().map(|t| (t.name.clone(), t.rows)).collect::<BTreeMap<_, _>>(),
                    "checksums": m.tables.iter().map(|t| (t.name.clone(), t.checksum.clone())).collect::<BTreeMap<_, _>>(),
                })
            },
        )
        .await
    }

    async fn take_snapshot(
        &self,
        id: &str,
        tags: BTreeMap<String, String>,
        run_id: &str,
    ) -> Result<BaselineManifest, Error> {
        check_id(id)?;
        let manifest_key = object_key(id, "manifest.json");
        match self.store().inner.head(&manifest_key).await {
            Ok(_) => return Err(Error::BaselineExists { id: id.to_owned() }),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                return Err(self.store_error(format!("cannot look for {manifest_key}"), e));
            }
        }
        let parts = self.baseline_parts()?;
        let ctx = "cannot read the tables for a snapshot";
        let mut captured_at = Utc::now();
        captured_at = DateTime::<Utc>::from_timestamp_micros(captured_at.timestamp_micros())
            .unwrap_or(captured_at);
        let mut tx = self.db().begin_snapshot().await.map_err(Error::db(ctx))?;
        let outcome = self.read_tables(&mut tx, id, &parts).await;
        let tables = tx.settle(outcome).await?;
        let manifest = BaselineManifest {
            format_version: BASELINE_FORMAT_VERSION,
            id: id.to_owned(),
            captured_at,
            dialect: self.dialect(),
            schema_version: self.schema_version(),
            tables,
            tags,
            audit_run_id: run_id.to_owned(),
        };
        let bytes = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
        self.put_new(id, &manifest_key, bytes).await?;
        tracing::info!(baseline = %id, rows = manifest.total_rows(), "baseline taken");
        Ok(manifest)
    }

    /// The body of the read transaction: each table streamed into its object; commits at its
    /// end.
    async fn read_tables(
        &self,
        tx: &mut Tx,
        id: &str,
        parts: &[Part],
    ) -> Result<Vec<BaselineTable>, Error> {
        let db = self.db();
        let forms = db.value_forms();
        let mut tables = Vec::with_capacity(parts.len());
        for part in parts {
            let cols = specs(&part.table, forms);
            let list: Vec<String> = part
                .table
                .columns
                .iter()
                .map(|c| db.select_expr(c))
                .collect();
            let sql = format!("SELECT {} FROM {}", list.join(", "), part.sql_name);
            let table_ctx = format!("cannot read table {} for a snapshot", part.name);
            let (bytes, checksum) = read_table(tx, Stmt::new(sql), cols, &table_ctx).await?;
            let key = object_key(id, &part_file(&part.name));
            self.put_new(id, &key, bytes).await?;
            tables.push(BaselineTable {
                name: part.name.clone(),
                rows: checksum.rows,
                checksum: checksum.hex(),
                object: key.to_string(),
                catalog: part.catalog,
            });
        }
        tx.commit()
            .await
            .map_err(Error::db("cannot read the tables for a snapshot"))?;
        Ok(tables)
    }
}

/// One table's rows as Parquet bytes and their checksum. Rows are decoded here while a worker
/// thread hashes them and encodes Parquet, chunk by chunk.
async fn read_table(
    tx: &mut Tx,
    select: Stmt,
    cols: Vec<ColSpec>,
    ctx: &str,
) -> Result<(Vec<u8>, super::codec::Checksum), Error> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<Vec<Value>>>(4);
    let types = cols.iter().map(|c| c.read_ty.clone()).collect();
    let worker = tokio::task::spawn_blocking(move || {
        let mut writer = PartWriter::new(cols);
        while let Some(chunk) = receiver.blocking_recv() {
            for row in chunk {
                writer.push(row)?;
            }
        }
        writer.finish()
    });
    {
        let mut rows = tx.fetch(select, types).await.map_err(Error::db(ctx))?;
        let mut chunk = Vec::with_capacity(SEND_ROWS);
        while let Some(row) = rows.try_next().await.map_err(Error::db(ctx))? {
            chunk.push(row);
            if chunk.len() == SEND_ROWS
                && sender
                    .send(std::mem::replace(&mut chunk, Vec::with_capacity(SEND_ROWS)))
                    .await
                    .is_err()
            {
                // The worker stopped on an error; it is reported below.
                break;
            }
        }
        if !chunk.is_empty() {
            let _ = sender.send(chunk).await;
        }
    }
    drop(sender);
    worker
        .await
        .map_err(|e| Error::Database {
            context: ctx.to_owned(),
            message: e.to_string(),
        })?
        .map_err(|message| Error::Database {
            context: ctx.to_owned(),
            message,
        })
}
