//! Baselines: a snapshot of every table, kept as Parquet in the store, restored in one
//! transaction.
//!
//! ```text
//! baselines/<baseline id>/<table>.parquet    one object per table, several row groups
//! baselines/<baseline id>/manifest.json      written last: the baseline exists once it does
//! ```
//!
//! Every object is created with put-if-absent. The table objects go first and the manifest
//! last, so a baseline exists exactly when its manifest does, and an id is never written twice:
//! a snapshot under an id that exists fails with [`Error::BaselineExists`] before writing
//! anything.
//!
//! A snapshot holds every table of the pack's schema in foreign-key order, then the run
//! catalog and ledger (`atdm.runs`, `atdm.ledger` in the manifest), so that after a restore
//! the catalog says exactly which runs own which rows. All tables are read in one read
//! transaction (one consistent view on PostgreSQL and MySQL).
//!
//! # Column types in the Parquet objects
//!
//! | column type | Arrow type |
//! |---|---|
//! | integer | Int32 (Int64 on SQLite, whose INTEGER holds 64 bits) |
//! | bigint | Int64 |
//! | numeric(p, s) | Decimal128(p, s) |
//! | boolean | Boolean |
//! | date | Date32 |
//! | timestamp | Timestamp(microsecond) |
//! | timestamptz | Timestamp(microsecond, "UTC") |
//! | text, varchar, enumerations, uuid, json | Utf8 |
//! | bytes | Binary |
//!
//! A value that these types cannot hold exactly (a timestamp with nanoseconds, a number with
//! more digits than its column declares) fails the snapshot rather than being rounded. On
//! SQLite and MySQL, uuid and json columns are kept as the text the database holds.
//!
//! # Checksums
//!
//! Each table's checksum does not depend on row order: every row is encoded canonically (each
//! value as a type tag and its bytes, in column order) and hashed with SHA-256; the row
//! digests, read as 256-bit big-endian integers, are summed modulo 2^256; the checksum is the
//! SHA-256 of a domain tag, the row count and that sum, in lower-case hex. A restore and a
//! diff recompute it from the objects they read and refuse a baseline whose checksum does not
//! match ([`Error::BaselineCorrupt`]).

pub(crate) mod codec;
mod cycles;
mod diff;
pub(crate) mod objects;
mod reconcile;
mod restore;
mod snapshot;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use atdm_core::audit::{AuditAction, AuditStatus};
use atdm_core::schema::{Dialect, Table};
use chrono::{DateTime, Utc};
use object_store::path::{Path as ObjectPath, PathPart};
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use parquet::file::reader::ChunkReader;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Engine;
use crate::error::Error;
use codec::{ColSpec, catalog_tables, hex};
use objects::decode_part;

/// The manifest layout this version writes and reads.
pub const BASELINE_FORMAT_VERSION: u32 = 1;

/// Rows per Arrow record batch and per Parquet row group.
const CHUNK_ROWS: usize = 65_536;

/// Rows a snapshot decodes before handing them to its Parquet writer thread.
const SEND_ROWS: usize = 4096;

/// From this many rows on, a restore writes a table through the backend's bulk path.
const BULK_THRESHOLD: usize = 500;

/// Keys listed per table and kind of change in a [`BaselineDiff`].
pub const DIFF_KEY_LIMIT: usize = 100;

/// The manifest name of the run catalog table.
const RUNS: &str = "atdm.runs";
/// The manifest name of the run ledger table.
const LEDGER: &str = "atdm.ledger";

/// What to record with a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// The baseline id; without one, `bl_` and a fresh ULID (so ids sort by time). Letters,
    /// digits, `_`, `-` and `.`, at most 100 characters.
    pub id: Option<String>,
    /// Free-form labels kept in the manifest (`ticket = "QA-12"`).
    pub tags: BTreeMap<String, String>,
}

impl SnapshotOptions {
    /// No id (a fresh one is made), no tags.
    pub fn new() -> Self {
        SnapshotOptions::default()
    }

    /// Sets the baseline id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }
}

/// Which schema a baseline was taken of. A restore refuses a baseline whose `hash` differs
/// from the engine's ([`Error::BaselineMismatch`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaVersion {
    /// The pack's name.
    pub pack: String,
    /// The schema's name.
    pub schema: String,
    /// The schema's declared version.
    pub version: String,
    /// SHA-256 (hex) of the schema model (tables, columns, types, keys, checks) as JSON.
    pub hash: String,
}

/// One table of a baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineTable {
    /// The table (`atdm.runs` and `atdm.ledger` for the run catalog and ledger).
    pub name: String,
    /// Rows captured.
    pub rows: u64,
    /// The content checksum, independent of row order (see the module docs).
    pub checksum: String,
    /// The Parquet object's key in the store.
    pub object: String,
    /// True for the run catalog and ledger.
    pub catalog: bool,
}

/// A baseline's manifest: `baselines/<id>/manifest.json` in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineManifest {
    /// The manifest layout ([`BASELINE_FORMAT_VERSION`]).
    pub format_version: u32,
    /// The baseline id.
    pub id: String,
    /// When the tables were read (UTC, RFC 3339).
    pub captured_at: DateTime<Utc>,
    /// The database the baseline was taken from.
    pub dialect: Dialect,
    /// The schema it was taken of.
    pub schema_version: SchemaVersion,
    /// The tables in foreign-key order (parents first), then the run catalog and ledger.
    pub tables: Vec<BaselineTable>,
    /// The caller's labels.
    pub tags: BTreeMap<String, String>,
    /// The audit run of the snapshot (`strategy-snapshot-<ULID>`).
    pub audit_run_id: String,
}

impl BaselineManifest {
    /// One table's entry.
    pub fn table(&self, name: &str) -> Option<&BaselineTable> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Rows in every table together.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreReport {
    /// The baseline restored.
    pub baseline_id: String,
    /// Rows written per table (the baseline's rows).
    pub rows: BTreeMap<String, u64>,
    /// Rows deleted per table (what was there before).
    pub deleted: BTreeMap<String, u64>,
    /// The audit run of the restore (`strategy-restore-<ULID>`).
    pub audit_run_id: String,
}

/// How one table differs between two baselines, by primary key (tables without one: by whole
/// row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDiff {
    /// The table.
    pub table: String,
    /// Rows only in the newer baseline.
    pub added: u64,
    /// Rows only in the older baseline.
    pub removed: u64,
    /// Rows in both whose values differ.
    pub changed: u64,
    /// Keys of added rows (`{"member_id": "m-..."}`), sorted, at most [`DIFF_KEY_LIMIT`].
    pub added_keys: Vec<serde_json::Value>,
    /// Keys of removed rows, sorted, at most [`DIFF_KEY_LIMIT`].
    pub removed_keys: Vec<serde_json::Value>,
    /// Keys of changed rows, sorted, at most [`DIFF_KEY_LIMIT`].
    pub changed_keys: Vec<serde_json::Value>,
    /// True when a key list was cut at [`DIFF_KEY_LIMIT`].
    pub truncated: bool,
}

impl TableDiff {
    /// True when the table is the same in both baselines.
    pub fn is_empty(&self) -> bool {
        self.added == 0 && self.removed == 0 && self.changed == 0
    }
}

/// How two baselines differ, table by table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineDiff {
    /// The older baseline.
    pub from: String,
    /// The newer baseline.
    pub to: String,
    /// Every table, in foreign-key order, then the run catalog and ledger.
    pub tables: Vec<TableDiff>,
}

impl BaselineDiff {
    /// True when no table differs.
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(TableDiff::is_empty)
    }

    /// One table's differences.
    pub fn table(&self, name: &str) -> Option<&TableDiff> {
        self.tables.iter().find(|t| t.table == name)
    }
}

/// One table as the baseline code reads and writes it.
#[derive(Debug, Clone)]
pub(super) struct Part {
    /// The name in the manifest and in the object key.
    name: String,
    /// The table as SQL names it (quoted, schema-qualified for the catalog on PostgreSQL).
    sql_name: String,
    /// Columns, keys, foreign keys.
    table: Table,
    /// Run catalog or ledger.
    catalog: bool,
}

// ---------------------------------------------------------------------------------------------
// Store keys and ids.
// ---------------------------------------------------------------------------------------------

pub(super) fn object_key(id: &str, file: &str) -> ObjectPath {
    ObjectPath::from_iter([
        PathPart::from("baselines"),
        PathPart::from(id),
        PathPart::from(file),
    ])
}

pub(super) fn part_file(table: &str) -> String {
    format!("{table}.parquet")
}

/// Checks a caller's baseline id: 1 to 100 of letters, digits, `_`, `-`, `.`; not `.` or
/// `..`.
pub(super) fn check_id(id: &str) -> Result<(), Error> {
    let ok_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    let message = if id.is_empty() {
        "it is empty"
    } else if id.len() > 100 {
        "it is longer than 100 characters"
    } else if !ok_chars {
        "it may hold only letters, digits, '_', '-' and '.'"
    } else if id.starts_with('.') {
        "it may not start with '.'"
    } else {
        return Ok(());
    };
    Err(Error::InvalidBaselineId {
        id: id.to_owned(),
        message: message.into(),
    })
}

/// `bl_` and a fresh ULID.
pub(super) fn new_id() -> String {
    format!("bl_{}", ulid::Ulid::new())
}

/// Ids that look like `id` (same start, or one contains the other), best first, then the
/// newest others, ten at most.
pub(super) fn available_ids(id: &str, listed: &[BaselineManifest]) -> Vec<String> {
    let lower = id.to_ascii_lowercase();
    let mut close: Vec<String> = Vec::new();
    let mut rest: Vec<String> = Vec::new();
    for m in listed {
        let other = m.id.to_ascii_lowercase();
        let common = lower
            .chars()
            .zip(other.chars())
            .take_while(|(a, b)| a == b)
            .count();
        if (!lower.is_empty() && (other.contains(&lower) || lower.contains(&other)))
            || common >= 4.min(lower.len().max(1))
        {
            close.push(m.id.clone());
        } else {
            rest.push(m.id.clone());
        }
    }
    close.extend(rest);
    close.truncate(10);
    close
}

impl Engine {
    /// The tables a baseline holds, in insert order: the pack's tables in foreign-key order,
    /// then the run catalog and ledger.
    pub(in crate::baseline) fn baseline_parts(&self) -> Result<Vec<Part>, Error> {
        let d = self.dialect();
        let schema = self.pack().schema();
        let order = schema.fk_order().map_err(|e| Error::Core(e.into()))?;
        let mut parts: Vec<Part> = order
            .into_iter()
            .map(|i| {
                let t = schema.tables[i].clone();
                Part {
                    name: t.name.clone(),
                    sql_name: d.quote_table(&t),
                    table: t,
                    catalog: false,
                }
            })
            .collect();
        let [runs, ledger] = catalog_tables();
        let cat = &self.inner.catalog;
        parts.push(Part {
            name: RUNS.into(),
            sql_name: cat.runs.clone(),
            table: runs,
            catalog: true,
        });
        parts.push(Part {
            name: LEDGER.into(),
            sql_name: cat.ledger.clone(),
            table: ledger,
            catalog: true,
        });
        Ok(parts)
    }

    /// The pack and schema a baseline of this engine records.
    pub(in crate::baseline) fn schema_version(&self) -> SchemaVersion {
        let schema = self.pack().schema();
        let model = serde_json::to_vec(schema.as_ref()).expect("a schema serializes");
        SchemaVersion {
            pack: self.pack().name().to_owned(),
            schema: schema.name.clone(),
            version: schema.version.clone(),
            hash: hex(&Sha256::digest(&model)),
        }
    }

    pub(in crate::baseline) fn store_error(
        &self,
        context: String,
        e: impl std::fmt::Display,
    ) -> Error {
        Error::Audit {
            store: self.store().url().to_owned(),
            context,
            message: e.to_string(),
        }
    }

    /// Writes one object with put-if-absent; an existing object means the id is taken.
    pub(in crate::baseline) async fn put_new(
        &self,
        id: &str,
        key: &ObjectPath,
        bytes: Vec<u8>,
    ) -> Result<(), Error> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store()
            .inner
            .put_opts(key, PutPayload::from(bytes), opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => {
                Err(Error::BaselineExists { id: id.to_owned() })
            }
            Err(e) => Err(self.store_error(format!("cannot write baseline object {key}"), e)),
        }
    }

    /// The bytes of an object, or `None` when there is none.
    pub(in crate::baseline) async fn get_object(
        &self,
        key: &ObjectPath,
    ) -> Result<Option<impl ChunkReader + AsRef<[u8]> + 'static>, Error> {
        let got = match self.store().inner.get(key).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.store_error(format!("cannot read {key}"), e)),
        };
        got.bytes()
            .await
            .map(Some)
            .map_err(|e| self.store_error(format!("cannot read {key}"), e))
    }

    /// The manifest of `id`, or `None` when no baseline has that id.
    pub(in crate::baseline) async fn manifest(
        &self,
        id: &str,
    ) -> Result<Option<BaselineManifest>, Error> {
        if check_id(id).is_err() {
            return Ok(None);
        }
        let key = object_key(id, "manifest.json");
        let Some(bytes) = self.get_object(&key).await? else {
            return Ok(None);
        };
        let m: BaselineManifest =
            serde_json::from_slice(bytes.as_ref()).map_err(|e| Error::BaselineCorrupt {
                id: id.to_owned(),
                object: key.to_string(),
                message: format!("the manifest is not readable: {e}"),
            })?;
        if m.id != id {
            return Err(Error::BaselineCorrupt {
                id: id.to_owned(),
                object: key.to_string(),
                message: format!("the manifest names baseline {:?}", m.id),
            });
        }
        Ok(Some(m))
    }

    /// The manifest of `id`, or [`Error::BaselineNotFound`] naming the ids that exist.
    pub(in crate::baseline) async fn require_manifest(
        &self,
        id: &str,
    ) -> Result<BaselineManifest, Error> {
        match self.manifest(id).await? {
            Some(m) => Ok(m),
            None => {
                let listed = self.list_baselines().await?;
                Err(Error::BaselineNotFound {
                    id: id.to_owned(),
                    available: available_ids(id, &listed),
                })
            }
        }
    }

    /// Refuses a baseline of another layout or schema.
    pub(in crate::baseline) fn check_compatible(&self, m: &BaselineManifest) -> Result<(), Error> {
        if m.format_version > BASELINE_FORMAT_VERSION {
            return Err(Error::BaselineMismatch {
                id: m.id.clone(),
                expected: format!("baseline format {BASELINE_FORMAT_VERSION}"),
                found: format!(
                    "baseline format {} (written by a newer ATDM)",
                    m.format_version
                ),
            });
        }
        let mine = self.schema_version();
        if m.schema_version.hash != mine.hash {
            let show = |v: &SchemaVersion| {
                format!(
                    "pack {} schema {} version {} (hash {})",
                    v.pack,
                    v.schema,
                    v.version,
                    &v.hash[..v.hash.len().min(12)]
                )
            };
            return Err(Error::BaselineMismatch {
                id: m.id.clone(),
                expected: show(&mine),
                found: show(&m.schema_version),
            });
        }
        Ok(())
    }

    /// Reads one table of a baseline and checks its row count and checksum.
    pub(in crate::baseline) async fn load_part(
        &self,
        m: &BaselineManifest,
        entry: &BaselineTable,
        cols: &[ColSpec],
    ) -> Result<Vec<RecordBatch>, Error> {
        let corrupt = |message: String| Error::BaselineCorrupt {
            id: m.id.clone(),
            object: entry.object.clone(),
            message,
        };
        let key = object_key(&m.id, &part_file(&entry.name));
        if key.as_ref() != entry.object {
            return Err(corrupt(format!(
                "the manifest points outside the baseline (expected {key})"
            )));
        }
        let bytes = self
            .get_object(&key)
            .await?
            .ok_or_else(|| corrupt("the object is missing".into()))?;
        let (batches, checksum) =
            decode_part(bytes, cols).map_err(|e| corrupt(format!("unreadable: {e}")))?;
        if checksum.rows != entry.rows {
            return Err(corrupt(format!(
                "it holds {} rows, the manifest says {}",
                checksum.rows, entry.rows
            )));
        }
        let sum = checksum.hex();
        if sum != entry.checksum {
            return Err(corrupt(format!(
                "its content checksum is {sum}, the manifest says {}",
                entry.checksum
            )));
        }
        Ok(batches)
    }

    /// Every baseline in the store, newest first (by capture time, then id). Objects of a
    /// snapshot that never finished (no manifest) are not a baseline and are left out.
    pub async fn list_baselines(&self) -> Result<Vec<BaselineManifest>, Error> {
        let root = ObjectPath::from("baselines");
        let listed = match self.store().inner.list_with_delimiter(Some(&root)).await {
            Ok(l) => l,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(self.store_error("cannot list the baselines".into(), e)),
        };
        let mut out = Vec::new();
        for prefix in listed.common_prefixes {
            let key = prefix.clone().join("manifest.json");
            let Some(bytes) = self.get_object(&key).await? else {
                continue;
            };
            match serde_json::from_slice::<BaselineManifest>(bytes.as_ref()) {
                Ok(m) => out.push(m),
                Err(e) => {
                    tracing::warn!(object = %key, error = %e, "unreadable baseline manifest left out of the list")
                }
            }
        }
        out.sort_by(|a, b| {
            b.captured_at
                .cmp(&a.captured_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(out)
    }

    /// Runs a strategy action audited under its own run id: `actions[0]` (started) is written
    /// before it runs, and a store that cannot take it stops it; then `actions[1]`
    /// (completed) with `outputs` of the result, or `actions[2]` (failed) with the error.
    pub(crate) async fn audited_strategy<T>(
        &self,
        run_id: &str,
        actions: [AuditAction; 3],
        inputs: serde_json::Value,
        work: impl Future<Output = Result<T, Error>>,
        outputs: impl FnOnce(&T) -> serde_json::Value,
    ) -> Result<T, Error> {
        let [started, completed, failed] = actions;
        let mut audit = self.recorder(run_id, self.invoker());
        audit.event(
            started,
            AuditStatus::Ok,
            inputs.clone(),
            serde_json::json!({}),
        );
        audit.write_before().await?;
        let result = work.await;
        match &result {
            Ok(t) => audit.event(completed, AuditStatus::Ok, inputs, outputs(t)),
            Err(e) => audit.failure(failed, AuditStatus::Failed, inputs, e),
        }
        audit.write_after().await?;
        result
    }
}
