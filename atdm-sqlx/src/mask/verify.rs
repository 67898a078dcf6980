//! `--verify`: the written output checked against the source.
//!
//! - **No source value left.** Every text value of at least [`MIN_CHARS`] characters of every
//!   sensitive column of the source (all its rows, kept or not) is looked for in every cell of
//!   every output table, whole, as a word of longer text and, for a value of several words, as
//!   a run of those words inside longer text (words split at white space and `,;:<>()[]{}"'`,
//!   runs of up to 8 words). Values are compared by keyed digest, so the check keeps no value. A
//!   match in a column whose transform draws from a closed list (fake, generalize, constant)
//!   is counted apart as a coincidence of that list, not as a leak: such a value was drawn,
//!   not copied. Dates and numbers are left to their transforms (shift, generalize, noise).
//! - **Every foreign key resolves**: each non-NULL foreign key tuple of the output is a key of
//!   the referenced output table.
//! - **Unique columns are unique**: no two output rows share a primary key or unique tuple.
//!
//! Sensitive columns the rules allow unmasked are listed and not checked.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::time::Duration;

use atdm_core::Value;
use atdm_core::mask::{Class, MaskKey, Transform, text_digest, text_form, tuple_digest};
use atdm_core::schema::{ColumnType, Schema, Table};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;

use super::files::{file_name, file_specs};
use super::scan::{self, Rows};
use super::{MaskJob, MaskTarget, Prepared};
use crate::backend::Db;
use crate::baseline::objects::read_batch;
use crate::error::Error;
use crate::generate::FileFormat;

/// The fewest characters a source value has to be looked for.
pub const MIN_CHARS: usize = 4;

/// The proof for one sensitive column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnProof {
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
    /// Sensitive or dangerous.
    pub class: Class,
    /// Its transform.
    pub transform: String,
    /// Distinct source values looked for.
    pub source_values: u64,
    /// Output cells holding one of those values (whole, as a word or as a run of words):
    /// leaks.
    pub found: u64,
    /// Where they were found (`table.column`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub found_in: Vec<String>,
    /// Matches in columns whose transform draws from a closed list (not leaks).
    pub coincidences: u64,
    /// Why the column was not checked (allowed unmasked; not text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<String>,
}

/// The proof for one foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignKeyProof {
    /// The referencing table.
    pub table: String,
    /// Its columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub references: String,
    /// Output rows with a non-NULL key.
    pub rows: u64,
    /// Of those, keys that do not resolve.
    pub dangling: u64,
}

/// The proof for one primary key or unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UniqueProof {
    /// The table.
    pub table: String,
    /// The columns.
    pub columns: Vec<String>,
    /// Output rows with no NULL in them.
    pub rows: u64,
    /// Rows repeating a tuple of an earlier row.
    pub duplicates: u64,
}

/// What `--verify` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// No leak, no dangling key, no duplicate.
    pub passed: bool,
    /// Per sensitive column.
    pub columns: Vec<ColumnProof>,
    /// Per foreign key.
    pub foreign_keys: Vec<ForeignKeyProof>,
    /// Per primary key and unique constraint.
    pub uniques: Vec<UniqueProof>,
}

fn is_text(ty: &ColumnType) -> bool {
    matches!(ty, ColumnType::Text | ColumnType::Varchar(_))
}

fn drawn(t: &Transform) -> bool {
    matches!(
        t,
        Transform::Fake { .. } | Transform::Generalize { .. } | Transform::Constant { .. }
    )
}

/// The words of a text: split at white space and `,;:<>()[]{}"'`.
fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c.is_whitespace() || ",;:<>()[]{}\"'".contains(c))
        .filter(|w| !w.is_empty())
}

/// The words long enough to look for alone.
fn words(s: &str) -> impl Iterator<Item = &str> {
    tokens(s).filter(|w| w.chars().count() >= MIN_CHARS)
}

/// The most words of a source value looked for as a run of words inside longer text.
const MAX_RUN: usize = 8;

/// Checks the job's output; see the module docs.
pub(super) async fn verify(job: &MaskJob, p: &Prepared) -> Result<Verification, Error> {
    let key = &job.key;
    let schema = &p.schema;
    // The sensitive columns, and the digests of their source values.
    let mut columns = Vec::new();
    let mut wanted: HashMap<u128, usize> = HashMap::new();
    let mut longest_run = 0usize;
    let mut read =
        p.db.begin_snapshot()
            .await
            .map_err(Error::db("cannot open a read transaction on the source"))?;
    for f in p.findings.iter().filter(|f| f.class >= Class::Sensitive) {
        let table = schema.table(&f.table).expect("a source table");
        let ci = table
            .columns
            .iter()
            .position(|c| c.name == f.column)
            .expect("a source column");
        let not_checked = if f.allowed_unmasked {
            Some("allowed unmasked by the rules".to_owned())
        } else if !is_text(&table.columns[ci].ty) {
            Some(format!("not text: left to its transform ({})", f.transform))
        } else {
            None
        };
        let at = columns.len();
        let mut distinct = 0u64;
        if not_checked.is_none() {
            scan::stream(&mut read, &p.db, table, &[ci], |chunk| {
                for row in chunk {
                    if let Some(t) = text_form(&row[0]) {
                        let t = t.trim();
                        if t.chars().count() >= MIN_CHARS
                            && wanted.insert(text_digest(key, t), at).is_none()
                        {
                            distinct += 1;
                            // A value of several words is also looked for as a run of those
                            // words inside longer text ("12 Elm Street" in a note).
                            let run: Vec<&str> = tokens(t).collect();
                            if (2..=MAX_RUN).contains(&run.len()) {
                                wanted.insert(text_digest(key, &run.join(" ")), at);
                                longest_run = longest_run.max(run.len());
                            }
                        }
                    }
                }
                Ok(())
            })
            .await?;
        }
        columns.push(ColumnProof {
            table: f.table.clone(),
            column: f.column.clone(),
            class: f.class,
            transform: f.transform.clone(),
            source_values: distinct,
            found: 0,
            found_in: Vec::new(),
            coincidences: 0,
            not_checked,
        });
    }
    read.commit()
        .await
        .map_err(Error::db("cannot close the read transaction on the source"))?;

    let mut scan = Scan::new(schema);
    let mut found_in: Vec<BTreeSet<String>> = vec![BTreeSet::new(); columns.len()];
    let mut look = |t: &Table, row: &[Value], columns: &mut Vec<ColumnProof>| {
        let transforms = &p.plan.tables[&t.name];
        for (i, v) in row.iter().enumerate() {
            let Some(text) = text_form(v) else { continue };
            let text = text.trim();
            let mut hits: Vec<usize> = Vec::new();
            if text.chars().count() >= MIN_CHARS
                && let Some(&c) = wanted.get(&text_digest(key, text))
            {
                hits.push(c);
            }
            if matches!(v, Value::Text(_)) && text.contains(|c: char| !c.is_alphanumeric()) {
                for w in words(text) {
                    if w != text
                        && let Some(&c) = wanted.get(&text_digest(key, w))
                    {
                        hits.push(c);
                    }
                }
                let run: Vec<&str> = tokens(text).collect();
                for n in 2..=longest_run.min(run.len()) {
                    for window in run.windows(n) {
                        let joined = window.join(" ");
                        if joined.chars().count() >= MIN_CHARS
                            && let Some(&c) = wanted.get(&text_digest(key, &joined))
                        {
                            hits.push(c);
                        }
                    }
                }
            }
            // One hit per source column and cell.
            hits.sort_unstable();
            hits.dedup();
            for c in hits {
                if drawn(&transforms[i]) {
                    columns[c].coincidences += 1;
                } else {
                    columns[c].found += 1;
                    found_in[c].insert(format!("{}.{}", t.name, t.columns[i].name));
                }
            }
        }
    };
    match &job.target {
        MaskTarget::Database { url, .. } => {
            let db = Db::connect(url, 2, Duration::from_secs(30)).await?;
            let outcome: Result<(), Error> = async {
                let mut tx = db
                    .begin_snapshot()
                    .await
                    .map_err(Error::db("cannot open a read transaction on the target"))?;
                for t in &schema.tables {
                    let all: Vec<usize> = (0..t.columns.len()).collect();
                    let mut rows = Rows::open(&mut tx, &db, t, &all).await?;
                    while let Some(chunk) = rows.next_chunk().await? {
                        for row in chunk {
                            look(t, &row, &mut columns);
                            scan.row(key, schema, t, &row);
                        }
                    }
                }
                tx.commit()
                    .await
                    .map_err(Error::db("cannot close the read transaction on the target"))
            }
            .await;
            db.close().await;
            outcome?;
        }
        MaskTarget::Files { dir, format, .. } => {
            if *format != FileFormat::Parquet {
                return Err(Error::MaskTarget {
                    message: "--verify reads databases and Parquet files; write Parquet".into(),
                });
            }
            for t in &schema.tables {
                let path = dir.join(file_name(t, *format));
                let cols = file_specs(t);
                let bad = |m: String| Error::Io {
                    path: path.clone(),
                    message: m,
                };
                let file = File::open(&path).map_err(|e| bad(e.to_string()))?;
                let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                    .and_then(|b| b.build())
                    .map_err(|e| bad(e.to_string()))?;
                for batch in reader {
                    let batch = batch.map_err(|e| bad(e.to_string()))?;
                    for row in read_batch(&batch, &cols).map_err(bad)? {
                        let row: Vec<Value> = row
                            .into_iter()
                            .zip(&t.columns)
                            .map(|(v, c)| scan::model_value(v, &c.ty))
                            .collect();
                        look(t, &row, &mut columns);
                        scan.row(key, schema, t, &row);
                    }
                }
            }
        }
    }
    for (c, places) in columns.iter_mut().zip(found_in) {
        c.found_in = places.into_iter().take(10).collect();
    }
    let (foreign_keys, uniques) = scan.finish(schema);
    let passed = columns.iter().all(|c| c.found == 0)
        && foreign_keys.iter().all(|f| f.dangling == 0)
        && uniques.iter().all(|u| u.duplicates == 0);
    Ok(Verification {
        passed,
        columns,
        foreign_keys,
        uniques,
    })
}

/// The keys of the output as it is read: foreign key tuples, referenced tuples, unique tuples.
struct Scan {
    /// Per (table, foreign key index): the digests of its non-NULL tuples.
    references: HashMap<(String, usize), Vec<u128>>,
    /// Per (table, columns): the digests of the tuples present.
    present: HashMap<(String, Vec<String>), HashSet<u128>>,
    /// Per (table, unique index): rows and duplicates.
    uniques: HashMap<(String, usize), (u64, u64)>,
    /// Per table: the referenced column sets that are not one of its unique sets.
    extra: HashMap<String, Vec<Vec<String>>>,
}

fn unique_sets(t: &Table) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    if !t.primary_key.is_empty() {
        out.push(t.primary_key.clone());
    }
    out.extend(t.unique.iter().cloned());
    out
}

impl Scan {
    fn new(schema: &Schema) -> Scan {
        let mut present = HashMap::new();
        for t in &schema.tables {
            for fk in &t.foreign_keys {
                present.insert(
                    (
                        fk.references.clone(),
                        t.fk_target_columns(fk, schema).to_vec(),
                    ),
                    HashSet::new(),
                );
            }
            for u in unique_sets(t) {
                present.insert((t.name.clone(), u), HashSet::new());
            }
        }
        let mut extra: HashMap<String, Vec<Vec<String>>> = HashMap::new();
        for (tn, cols) in present.keys() {
            let t = schema.table(tn).expect("a table");
            if !unique_sets(t).contains(cols) {
                extra.entry(tn.clone()).or_default().push(cols.clone());
            }
        }
        Scan {
            references: HashMap::new(),
            present,
            uniques: HashMap::new(),
            extra,
        }
    }

    fn tuple(key: &MaskKey, t: &Table, row: &[Value], cols: &[String]) -> Option<u128> {
        let vals: Vec<&Value> = cols
            .iter()
            .map(|c| {
                let i = t
                    .columns
                    .iter()
                    .position(|x| &x.name == c)
                    .expect("a column");
                &row[i]
            })
            .collect();
        (!vals.iter().any(|v| v.is_null())).then(|| tuple_digest(key, &vals))
    }

    fn row(&mut self, key: &MaskKey, schema: &Schema, t: &Table, row: &[Value]) {
        for (fi, fk) in t.foreign_keys.iter().enumerate() {
            if let Some(d) = Scan::tuple(key, t, row, &fk.columns) {
                self.references
                    .entry((t.name.clone(), fi))
                    .or_default()
                    .push(d);
            }
        }
        let _ = schema;
        for (ui, u) in unique_sets(t).into_iter().enumerate() {
            if let Some(d) = Scan::tuple(key, t, row, &u) {
                let fresh = self
                    .present
                    .get_mut(&(t.name.clone(), u))
                    .expect("registered")
                    .insert(d);
                let e = self.uniques.entry((t.name.clone(), ui)).or_default();
                e.0 += 1;
                if !fresh {
                    e.1 += 1;
                }
            }
        }
        // Referenced tuples that are not a unique set of their table.
        let name = t.name.clone();
        let extra = self.extra.get(&name).cloned().unwrap_or_default();
        for cols in extra {
            if let Some(d) = Scan::tuple(key, t, row, &cols) {
                self.present
                    .get_mut(&(name.clone(), cols))
                    .expect("registered")
                    .insert(d);
            }
        }
    }

    fn finish(self, schema: &Schema) -> (Vec<ForeignKeyProof>, Vec<UniqueProof>) {
        let mut fks = Vec::new();
        let mut uniques = Vec::new();
        for t in &schema.tables {
            for (fi, fk) in t.foreign_keys.iter().enumerate() {
                let targets = t.fk_target_columns(fk, schema).to_vec();
                let present = &self.present[&(fk.references.clone(), targets)];
                let list = self
                    .references
                    .get(&(t.name.clone(), fi))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                fks.push(ForeignKeyProof {
                    table: t.name.clone(),
                    columns: fk.columns.clone(),
                    references: fk.references.clone(),
                    rows: list.len() as u64,
                    dangling: list.iter().filter(|d| !present.contains(d)).count() as u64,
                });
            }
            for (ui, u) in unique_sets(t).into_iter().enumerate() {
                let (rows, duplicates) = self
                    .uniques
                    .get(&(t.name.clone(), ui))
                    .copied()
                    .unwrap_or_default();
                uniques.push(UniqueProof {
                    table: t.name.clone(),
                    columns: u,
                    rows,
                    duplicates,
                });
            }
        }
        (fks, uniques)
    }
}
