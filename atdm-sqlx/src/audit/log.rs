//! The append-only audit trail: events written once, as Parquet objects, partitioned by date
//! and run.
//!
//! ```text
//! audit/dt=YYYY-MM-DD/run=<run id>/<seq>-<first event id>.parquet
//! ```
//!
//! Each write batch becomes one object, created with put-if-absent; nothing here updates or
//! deletes an object. `seq` is the first event's timestamp in microseconds since the Unix
//! epoch, 16 digits, so the names of a run sort in the order its events happened; the event id
//! (a ULID) makes the name unique, so an append is a single put with no listing. `dt` is the
//! date of the run id (a ULID carries its creation time; a strategy run is
//! `strategy-<name>-<ULID>`), so every object of a run shares one prefix, whichever process
//! writes it and whenever. A run id that holds no ULID (a reset of a made-up id) is filed under
//! the date of its event, and found by looking through the dates.
//!
//! The objects use [`atdm_core::audit::arrow_schema`] and read back with any Parquet reader
//! (pyarrow, DuckDB, Polars).

use atdm_core::audit::{self, AuditEvent};
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use object_store::path::{Path as ObjectPath, PathPart};
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::error::Error;
use crate::store::Store;

/// An audit trail on a [`Store`].
#[derive(Debug, Clone)]
pub struct AuditLog {
    store: Store,
}

/// The date a run id carries: the time of its ULID (the whole id, or the last `-` part).
pub(crate) fn run_date(run_id: &str) -> Option<NaiveDate> {
    let ulid = run_id.rsplit('-').next().unwrap_or(run_id);
    let id = ulid::Ulid::from_string(ulid).ok()?;
    let ms = i64::try_from(id.timestamp_ms()).ok()?;
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.date_naive())
}

fn run_prefix(dt: NaiveDate, run_id: &str) -> ObjectPath {
    // PathPart percent-encodes what a path segment may not hold (`/`, `..`), so a run id
    // can never address another run's objects.
    ObjectPath::from_iter([
        PathPart::from("audit"),
        PathPart::from(format!("dt={}", dt.format("%Y-%m-%d"))),
        PathPart::from(format!("run={run_id}")),
    ])
}

/// How audit objects are written: a handful of rows each, so no dictionaries, statistics or
/// page indexes, and small page buffers (at this size they cost more than they save; the
/// `audit` benchmark measures it). Any Parquet reader reads them all the same.
fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None)
        .set_offset_index_disabled(true)
        .set_data_page_size_limit(16 * 1024)
        .set_write_batch_size(64)
        .build()
}

/// Encodes events as one Parquet file.
pub(crate) fn encode(events: &[AuditEvent]) -> Result<Vec<u8>, String> {
    let batch = audit::to_record_batch(events).map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(4096);
    let mut w = ArrowWriter::try_new(&mut bytes, batch.schema(), Some(writer_properties()))
        .map_err(|e| e.to_string())?;
    w.write(&batch).map_err(|e| e.to_string())?;
    w.close().map_err(|e| e.to_string())?;
    Ok(bytes)
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

    fn error(&self, context: &str, e: impl std::fmt::Display) -> Error {
        Error::Audit {
            store: self.store.url().to_owned(),
            context: context.to_owned(),
            message: e.to_string(),
        }
    }

    /// Where a run's objects live.
    pub fn location(&self, run_id: &str) -> String {
        let dt = run_date(run_id).unwrap_or_else(|| Utc::now().date_naive());
        format!(
            "{}/{}",
            self.store.url().trim_end_matches('/'),
            run_prefix(dt, run_id)
        )
    }

    /// Appends events of one run (`events[0].test_run_id`) as one new object, written once,
    /// and returns its key.
    pub async fn append(&self, events: &[AuditEvent]) -> Result<String, Error> {
        self.put(events, false).await
    }

    /// Appends a batch that may have been written before (by a writer that then could not
    /// say so): the object's key comes from its first event, so an object already there under
    /// that key holds these events, and counts as written.
    pub(crate) async fn append_once(&self, events: &[AuditEvent]) -> Result<String, Error> {
        self.put(events, true).await
    }

    async fn put(&self, events: &[AuditEvent], exists_ok: bool) -> Result<String, Error> {
        let Some(first) = events.first() else {
            return Ok(String::new());
        };
        let run_id = &first.test_run_id;
        if let Some(e) = events.iter().find(|e| &e.test_run_id != run_id) {
            return Err(self.error(
                "cannot write events",
                format!(
                    "one write holds one run's events, got {run_id} and {}",
                    e.test_run_id
                ),
            ));
        }
        let bytes = encode(events).map_err(|e| self.error("cannot encode events", e))?;
        let dt = run_date(run_id).unwrap_or_else(|| first.timestamp.date_naive());
        let key = run_prefix(dt, run_id).join(PathPart::from(format!(
            "{:016}-{}.parquet",
            first.timestamp.timestamp_micros(),
            first.event_id
        )));
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .inner
            .put_opts(&key, PutPayload::from(bytes), opts)
            .await
        {
            Ok(_) => Ok(key.to_string()),
            Err(object_store::Error::AlreadyExists { .. }) if exists_ok => Ok(key.to_string()),
            Err(e) => Err(self.error("cannot write events", e)),
        }
    }

    /// Every event of a run, in the order they happened; empty when the run has none.
    pub async fn trail(&self, run_id: &str) -> Result<Vec<AuditEvent>, Error> {
        let prefixes = match run_date(run_id) {
            Some(dt) => vec![run_prefix(dt, run_id)],
            None => {
                let dates = self
                    .store
                    .inner
                    .list_with_delimiter(Some(&ObjectPath::from("audit")))
                    .await
                    .map_err(|e| self.error("cannot list the audit dates", e))?;
                dates
                    .common_prefixes
                    .iter()
                    .filter_map(|p| {
                        let dt = p.filename()?.strip_prefix("dt=")?;
                        NaiveDate::parse_from_str(dt, "%Y-%m-%d").ok()
                    })
                    .map(|dt| run_prefix(dt, run_id))
                    .collect()
            }
        };
        let mut objects = Vec::new();
        for prefix in prefixes {
            let found: Vec<_> = self
                .store
                .inner
                .list(Some(&prefix))
                .try_collect()
                .await
                .map_err(|e| self.error("cannot list a run's trail", e))?;
            objects.extend(found);
        }
        objects.sort_by(|a, b| a.location.filename().cmp(&b.location.filename()));
        self.read(&objects).await
    }

    /// Every event the store holds, of every run, each run's in the order they happened:
    /// what coverage is computed from.
    pub async fn every_event(&self) -> Result<Vec<AuditEvent>, Error> {
        let mut objects: Vec<_> = self
            .store
            .inner
            .list(Some(&ObjectPath::from("audit")))
            .try_collect()
            .await
            .map_err(|e| self.error("cannot list the audit trail", e))?;
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        self.read(&objects).await
    }

    /// The events of `objects`, in their order.
    async fn read(&self, objects: &[object_store::ObjectMeta]) -> Result<Vec<AuditEvent>, Error> {
        let mut out = Vec::new();
        for o in objects {
            let bytes = self
                .store
                .inner
                .get(&o.location)
                .await
                .map_err(|e| self.error("cannot read events", e))?
                .bytes()
                .await
                .map_err(|e| self.error("cannot read events", e))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
                .and_then(|b| b.build())
                .map_err(|e| {
                    self.error(&format!("cannot read Parquet object {}", o.location), e)
                })?;
            for batch in reader {
                let batch = batch.map_err(|e| self.error("cannot read Parquet", e))?;
                out.extend(
                    audit::from_record_batch(&batch)
                        .map_err(|e| self.error("cannot decode events", e))?,
                );
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use atdm_core::audit::{AUDIT_SCHEMA_VERSION, AuditAction, AuditStatus};

    use super::*;

    const RUN: &str = "01KAJ0000000000000000000R1";

    fn event(run: &str, id: &str, micros: i64, action: AuditAction) -> AuditEvent {
        AuditEvent {
            event_id: id.into(),
            timestamp: DateTime::<Utc>::from_timestamp_micros(micros).unwrap(),
            test_run_id: run.into(),
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
        let dt = run_date(RUN).unwrap().format("%Y-%m-%d").to_string();
        for url in ["memory://".to_owned(), format!("file://{}", dir.display())] {
            let log = AuditLog::new(Store::from_url(&url).unwrap());
            let t = 1_780_300_800_000_001;
            let first = [
                event(RUN, "E1", t, AuditAction::RequestReceived),
                event(RUN, "E2", t + 5, AuditAction::PlanResolved),
            ];
            // Written out of order: the trail still reads back in the order of the events.
            let k2 = log
                .append(&[event(RUN, "E3", t + 10, AuditAction::SeedCompleted)])
                .await
                .unwrap();
            let k1 = log.append(&first).await.unwrap();
            assert_eq!(
                k1,
                format!("audit/dt={dt}/run={RUN}/{t:016}-E1.parquet"),
                "{url}"
            );
            assert!(k2.ends_with("-E3.parquet"), "{k2}");
            let trail = log.trail(RUN).await.unwrap();
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
            // put-if-absent: the same object is never written twice.
            let again = log.append(&first).await.unwrap_err();
            assert_eq!(
                again.code(),
                atdm_core::ErrorCode::AuditStoreError,
                "{again}"
            );
            assert_eq!(log.trail(RUN).await.unwrap().len(), 3);
            assert!(
                log.trail("01KAJ0000000000000000000R2")
                    .await
                    .unwrap()
                    .is_empty()
            );

            // A run id without a ULID is filed under its event's date and still found; a
            // slash in it cannot reach another run's objects.
            let odd = "../../x/y";
            log.append(&[event(odd, "E9", t, AuditAction::ResetRejected)])
                .await
                .unwrap();
            let odd_trail = log.trail(odd).await.unwrap();
            assert_eq!(odd_trail.len(), 1, "{url}");
            assert_eq!(odd_trail[0].test_run_id, odd);
            assert!(log.trail("x").await.unwrap().is_empty());
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn run_ids_carry_their_date() {
        let id = ulid::Ulid::from_parts(1_780_300_800_000, 7).to_string();
        let d = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        assert_eq!(run_date(&id), Some(d));
        assert_eq!(run_date(&format!("strategy-reset_all-{id}")), Some(d));
        assert_eq!(run_date("not-a-run"), None);
    }
}
