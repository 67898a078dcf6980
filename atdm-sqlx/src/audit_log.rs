//! The append-only audit trail: events written once, as Parquet objects, partitioned by date
//! and run.
//!
//! ```text
//! audit/dt=YYYY-MM-DD/run=<run id>/<seq>-<first event id>.parquet
//! ```
//!
//! Each write batch becomes one object, created with put-if-absent; nothing here updates or
//! deletes an object. `dt` is the date of the run's first event, so a run's trail is one prefix.
//! The objects use [`atdm_core::audit::arrow_schema`] and read back with any Parquet reader
//! (pyarrow, DuckDB, Polars).

use atdm_core::audit::{self, AuditEvent};
use chrono::NaiveDate;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::Error;
use crate::store::Store;

/// An audit trail on a [`Store`].
#[derive(Debug, Clone)]
pub struct AuditLog {
    store: Store,
}

fn audit_error(context: &str, e: impl std::fmt::Display) -> Error {
    Error::Database {
        context: format!("audit store: {context}"),
        message: e.to_string(),
    }
}

fn run_prefix(dt: NaiveDate, run_id: &str) -> ObjectPath {
    ObjectPath::from(format!("audit/dt={}/run={run_id}", dt.format("%Y-%m-%d")))
}

impl AuditLog {
    /// An audit trail on `store`.
    pub fn new(store: Store) -> Self {
        AuditLog { store }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Appends events of one run as one new object and returns its key. The sequence number
    /// follows the run's existing objects; a concurrent writer that took the same name makes
    /// this one take the next.
    pub async fn append(
        &self,
        dt: NaiveDate,
        run_id: &str,
        events: &[AuditEvent],
    ) -> Result<String, Error> {
        if events.is_empty() {
            return Ok(String::new());
        }
        let batch =
            audit::to_record_batch(events).map_err(|e| audit_error("cannot encode events", e))?;
        let mut bytes = Vec::new();
        {
            let mut w = ArrowWriter::try_new(&mut bytes, batch.schema(), None)
                .map_err(|e| audit_error("cannot write Parquet", e))?;
            w.write(&batch)
                .map_err(|e| audit_error("cannot write Parquet", e))?;
            w.close()
                .map_err(|e| audit_error("cannot write Parquet", e))?;
        }
        let prefix = run_prefix(dt, run_id);
        let existing: Vec<_> = self
            .store
            .inner
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| audit_error("cannot list a run's trail", e))?;
        let payload = PutPayload::from(bytes);
        for seq in existing.len()..existing.len() + 16 {
            let key = ObjectPath::from(format!("{prefix}/{seq:08}-{}.parquet", events[0].event_id));
            let opts = PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            };
            match self.store.inner.put_opts(&key, payload.clone(), opts).await {
                Ok(_) => return Ok(key.to_string()),
                Err(object_store::Error::AlreadyExists { .. }) => continue,
                Err(e) => return Err(audit_error("cannot write events", e)),
            }
        }
        Err(audit_error(
            "cannot write events",
            "16 concurrent writers took every name; try again",
        ))
    }

    /// Every event of a run, in the order they were written.
    pub async fn trail(&self, dt: NaiveDate, run_id: &str) -> Result<Vec<AuditEvent>, Error> {
        let prefix = run_prefix(dt, run_id);
        let mut objects: Vec<_> = self
            .store
            .inner
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| audit_error("cannot list a run's trail", e))?;
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        let mut out = Vec::new();
        for o in objects {
            let bytes = self
                .store
                .inner
                .get(&o.location)
                .await
                .map_err(|e| audit_error("cannot read events", e))?
                .bytes()
                .await
                .map_err(|e| audit_error("cannot read events", e))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
                .and_then(|b| b.build())
                .map_err(|e| audit_error("cannot read Parquet", e))?;
            for batch in reader {
                let batch = batch.map_err(|e| audit_error("cannot read Parquet", e))?;
                out.extend(
                    audit::from_record_batch(&batch)
                        .map_err(|e| audit_error("cannot decode events", e))?,
                );
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use atdm_core::audit::{AUDIT_SCHEMA_VERSION, AuditAction, AuditStatus};
    use chrono::{DateTime, Utc};

    use super::*;

    fn event(id: &str, action: AuditAction) -> AuditEvent {
        AuditEvent {
            event_id: id.into(),
            timestamp: DateTime::<Utc>::from_timestamp_micros(1_780_300_800_000_001).unwrap(),
            test_run_id: "R1".into(),
            invoker: "test".into(),
            action,
            inputs: serde_json::json!({"scenario": "s"}),
            tools_called: serde_json::json!([]),
            outputs: serde_json::json!({}),
            status: AuditStatus::Ok,
            reviewer_decision: None,
            schema_version: AUDIT_SCHEMA_VERSION,
        }
    }

    #[tokio::test]
    async fn a_trail_reads_back_in_order_and_objects_are_never_overwritten() {
        let dir = std::env::temp_dir().join(format!("atdm-audit-{}", std::process::id()));
        for url in ["memory://".to_owned(), format!("file://{}", dir.display())] {
            let log = AuditLog::new(Store::from_url(&url).unwrap());
            let d = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
            let first = [
                event("E1", AuditAction::RequestReceived),
                event("E2", AuditAction::PlanResolved),
            ];
            let k1 = log.append(d, "R1", &first).await.unwrap();
            let k2 = log
                .append(d, "R1", &[event("E3", AuditAction::SeedCompleted)])
                .await
                .unwrap();
            assert_eq!(k1, "audit/dt=2026-06-01/run=R1/00000000-E1.parquet");
            assert!(k2.ends_with("00000001-E3.parquet"), "{k2}");
            let trail = log.trail(d, "R1").await.unwrap();
            let actions: Vec<AuditAction> = trail.iter().map(|e| e.action).collect();
            assert_eq!(
                actions,
                [
                    AuditAction::RequestReceived,
                    AuditAction::PlanResolved,
                    AuditAction::SeedCompleted
                ],
                "{url}"
            );
            assert_eq!(trail[0], first[0]);
            // put-if-absent: the same name is never written twice.
            let again = log
                .store
                .inner
                .put_opts(
                    &ObjectPath::from(k1.as_str()),
                    PutPayload::from(vec![1u8]),
                    PutOptions {
                        mode: PutMode::Create,
                        ..Default::default()
                    },
                )
                .await;
            assert!(
                matches!(again, Err(object_store::Error::AlreadyExists { .. })),
                "{url}: {again:?}"
            );
            assert!(log.trail(d, "other").await.unwrap().is_empty());
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
