//! Whole datasets: many tables at once, every foreign key followed, every row a pure function
//! of `(seed, table, row)`.
//!
//! A [`Dataset`] is a set of tables with a row count each. Row `i` of every table is computed
//! alone, so any range of rows of any table can be made in any order, in parallel, in
//! separate processes or on separate machines, and the parts concatenate to the same data
//! ([`part_range`] splits a table for `--parts N --part K`).
//!
//! - A key the database would assign (an identity or serial column) is `key_base + i + 1`
//!   (`key_base` is 0 unless a load into a database that holds rows asks for another).
//! - A foreign key points at row `j` of its parent: a random row (a pure function of the seed,
//!   the table, the key and `i`); in a self-reference, an earlier row (row 0 has none: NULL,
//!   or itself where the key is NOT NULL). The value is the parent's referenced columns at
//!   row `j`, computed from the parent's generator, never read back. A nullable foreign key
//!   is filled at its column's fill rate. A key to a table the dataset does not generate
//!   points at one of that table's existing rows ([`DatasetOptions::existing`]: reference
//!   rows, or what a database holds), or is NULL where there are none.
//! - Uniques hold over the whole table. A column unique alone gets a value per row already. A
//!   unique set of several columns (or a one-to-one foreign key) made only of foreign keys
//!   enumerates its parents' combinations: row `i` takes combination `(a * i + b) mod N`, a
//!   permutation of the `N` combinations, so no two rows share one (more rows than
//!   combinations is an error that says so). Otherwise one of its other columns is made
//!   unique by itself.
//! - The schema's run-id column (`test_run_id`), where a table has it, holds the dataset's run
//!   id, as the rows of a run do.
//! - Checks hold as in a plan: bounds narrow the generators, comparisons between columns and
//!   implications are made to hold row by row.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::Schema as ArrowSchema;
use chrono::NaiveDate;

use super::columnar::BatchCx;
use super::{
    CellRng, GeneratorRegistry, MarkerPolicy, TableGenerator, fill_rate, fills, millionths, mix,
    name_hash,
};
pub use edges::{EdgeCases, EdgeCatalog, EdgeRow, EdgeSkipped, TableEdges};

use crate::plan::ExistingRows;
use crate::schema::{ColumnType, Generated, Schema, Table};
use crate::value::Value;

/// Why a dataset cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// A table the caller named is not in the schema.
    #[error("no table {table:?} in schema {schema:?}; its tables are: {known}")]
    UnknownTable {
        /// The name asked for.
        table: String,
        /// The schema's name.
        schema: String,
        /// The schema's tables, comma-separated.
        known: String,
    },
    /// A NOT NULL foreign key references a table that has no rows in the dataset.
    #[error(
        "table {table:?} has a NOT NULL foreign key ({columns}) to {parent:?}, which has no rows \
         in this dataset; give {parent:?} a row count too (for example --rows {parent}=1000)"
    )]
    MissingParent {
        /// The referencing table.
        table: String,
        /// The foreign key's columns, comma-separated.
        columns: String,
        /// The referenced table.
        parent: String,
    },
    /// A unique set made of foreign keys has fewer combinations than the table has rows.
    #[error(
        "table {table:?} asks for {rows} rows, but ({columns}) is unique and its referenced \
         tables allow only {max} distinct combinations; ask for at most {max} rows of {table:?} \
         or more rows of {parents}"
    )]
    TooManyRows {
        /// The table.
        table: String,
        /// The unique columns, comma-separated.
        columns: String,
        /// The rows asked for.
        rows: u64,
        /// The most rows the unique set allows.
        max: u128,
        /// The referenced tables, comma-separated.
        parents: String,
    },
    /// A unique set has no column that can be made unique and no foreign key to enumerate.
    #[error(
        "table {table:?}: cannot generate distinct values for unique ({columns}); make one of \
         its columns text or an integer, or give it a registered generator"
    )]
    NoDistinctValues {
        /// The table.
        table: String,
        /// The unique columns, comma-separated.
        columns: String,
    },
    /// Foreign keys whose referenced columns are themselves foreign keys form a loop.
    #[error(
        "table {table:?}: the foreign key on ({columns}) references columns that are themselves \
         foreign keys leading back to it; no row can be computed"
    )]
    KeyLoop {
        /// The table.
        table: String,
        /// The foreign key's columns, comma-separated.
        columns: String,
    },
    /// A column's generator cannot be compiled.
    #[error("table {table:?}: {message}")]
    Generator {
        /// The table.
        table: String,
        /// What is wrong.
        message: String,
    },
}

/// What a dataset is generated for.
#[derive(Debug, Clone)]
pub struct DatasetOptions {
    /// The seed: the same seed gives the same data.
    pub seed: u64,
    /// The date relative dates are computed from (birth dates, "last year").
    pub reference_date: NaiveDate,
    /// The text the generated text keys carry (`<table>-<run id>-<row>`).
    pub run_id: String,
    /// Per table, the value an identity key starts after (its first row gets `base + 1`).
    pub key_bases: BTreeMap<String, i64>,
    /// Rows that exist already (reference rows, or rows a database holds) of tables the
    /// dataset does not generate: a foreign key to such a table points at one of them.
    pub existing: ExistingRows,
    /// Whether each table ends with a row per edge case of its columns (see
    /// [`crate::edge`]).
    pub edge_cases: EdgeCases,
}

impl DatasetOptions {
    /// Options with `seed` and `reference_date`, run id `d<seed>` and keys from 1.
    pub fn new(seed: u64, reference_date: NaiveDate) -> Self {
        DatasetOptions {
            seed,
            reference_date,
            run_id: format!("d{seed}"),
            key_bases: BTreeMap::new(),
            existing: ExistingRows::new(),
            edge_cases: EdgeCases::None,
        }
    }
}

/// How one foreign key of a table is filled.
#[derive(Debug, Clone)]
struct FkFill {
    /// The parent's member index; `None`: an existing row, or NULL when there is none.
    parent: Option<usize>,
    /// The existing rows it points at (their referenced columns, in the key's order), where
    /// the parent is not generated.
    existing: Option<Arc<Vec<Vec<Value>>>>,
    /// The parent's output columns the key's columns take, in the key's order.
    parent_cols: Vec<usize>,
    /// The fill rate in millionths (1,000,000 for NOT NULL).
    rate: u32,
    /// The stream the choice of parent row comes from.
    salt: u64,
    /// Whether it references its own table.
    self_ref: bool,
    /// The enumerated unique set it belongs to: (group index, position in the group).
    group: Option<(usize, usize)>,
}

/// A unique set of foreign keys whose rows take distinct combinations of parent rows.
#[derive(Debug, Clone)]
struct Group {
    /// The parents' row counts, in the group's order.
    radix: Vec<u64>,
    /// The permutation `k = (a * i + b) mod m`.
    a: u128,
    b: u128,
    m: u128,
}

impl Group {
    fn parent_row(&self, row: u64, position: usize) -> u64 {
        let mut k = (self.a * u128::from(row) + self.b) % self.m;
        for &n in &self.radix[..position] {
            k /= u128::from(n);
        }
        (k % u128::from(self.radix[position])) as u64
    }
}

/// One table of a dataset.
struct Member<'a> {
    name: String,
    rows: u64,
    generator: TableGenerator<'a>,
    fks: Vec<FkFill>,
    groups: Vec<Group>,
    /// For each output column, the foreign key (index into `fks`) and position it takes.
    external: Vec<Option<(usize, usize)>>,
    /// The output column that marks the run owning a row, where the table has one.
    run_column: Option<usize>,
    table_hash: u64,
    /// The edge-case rows after the `rows` generated ones, whole, in column order.
    edges: Vec<Vec<Value>>,
    /// What each of them holds.
    edge_rows: Vec<EdgeRow>,
    /// The edge cases no row could hold.
    edge_skipped: Vec<EdgeSkipped>,
}

/// Many tables with their row counts: see the module docs.
pub struct Dataset<'a> {
    members: Vec<Member<'a>>,
    seed: u64,
    run_id: String,
    reference_date: NaiveDate,
}

/// The rows of part `part` (from 0) of `parts` of a table of `rows` rows: contiguous ranges,
/// as equal as they can be, that cover the table in order.
pub fn part_range(rows: u64, parts: u64, part: u64) -> Range<u64> {
    let at = |k: u64| (u128::from(rows) * u128::from(k) / u128::from(parts.max(1))) as u64;
    at(part.min(parts))..at((part + 1).min(parts))
}

fn joined(cols: &[String]) -> String {
    cols.join(", ")
}

/// Whether a column's generator gives a distinct value per row when made unique.
fn can_be_distinct(ty: &ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::Text
            | ColumnType::Varchar(_)
            | ColumnType::Integer
            | ColumnType::BigInt
            | ColumnType::Uuid
    )
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl<'a> Dataset<'a> {
    /// A dataset of `rows` (table name to row count) of `schema`. Tables not named are not
    /// generated; a nullable foreign key to one is NULL, a NOT NULL one is
    /// [`DatasetError::MissingParent`].
    pub fn new(
        schema: &Schema,
        rows: &BTreeMap<String, u64>,
        registry: &GeneratorRegistry,
        policy: &'a dyn MarkerPolicy,
        options: &DatasetOptions,
    ) -> Result<Self, DatasetError> {
        for name in rows.keys() {
            if schema.table(name).is_none() {
                return Err(DatasetError::UnknownTable {
                    table: name.clone(),
                    schema: schema.name.clone(),
                    known: schema
                        .tables
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        let order: Vec<&Table> = schema
            .fk_order()
            .unwrap_or_else(|_| (0..schema.tables.len()).collect())
            .into_iter()
            .map(|i| &schema.tables[i])
            .filter(|t| rows.contains_key(&t.name))
            .collect();
        let position = |name: &str| order.iter().position(|t| t.name == name);
        let count = |name: &str| rows.get(name).copied().unwrap_or(0);
        let mut members = Vec::new();
        for (index, t) in order.iter().enumerate() {
            let mut table = (*t).clone();
            let mut fks = Vec::new();
            for fk in &t.foreign_keys {
                let nullable = fk
                    .columns
                    .iter()
                    .all(|c| t.get_column(c).is_none_or(|c| c.nullable));
                let parent = position(&fk.references).filter(|_| count(&fk.references) > 0);
                let existing = match parent {
                    Some(_) => None,
                    None => existing_parent(schema, fk, &options.existing),
                };
                if parent.is_none() && existing.is_none() && !nullable {
                    return Err(DatasetError::MissingParent {
                        table: t.name.clone(),
                        columns: joined(&fk.columns),
                        parent: fk.references.clone(),
                    });
                }
                let rate = fk
                    .columns
                    .first()
                    .and_then(|c| t.get_column(c))
                    .and_then(|c| fill_rate(t, c))
                    .map_or(1_000_000, millionths);
                fks.push(FkFill {
                    parent,
                    existing,
                    parent_cols: Vec::new(),
                    rate: if nullable { rate } else { 1_000_000 },
                    salt: name_hash(&format!(
                        "atdm.fk:{}>{}",
                        joined(&fk.columns),
                        fk.references
                    )),
                    self_ref: fk.references == t.name,
                    group: None,
                });
            }
            let groups = unique_groups(&mut table, &mut fks, &order, rows, options.seed)?;
            let mut followed: Vec<String> = t
                .foreign_keys
                .iter()
                .flat_map(|fk| fk.columns.iter().cloned())
                .collect();
            followed.push(schema.run_id_column.clone());
            let base = options.key_bases.get(&t.name).copied().unwrap_or(0);
            let generator = TableGenerator::with_external(
                &table, registry, policy, base, &followed,
            )
            .map_err(|message| DatasetError::Generator {
                table: t.name.clone(),
                message,
            })?;
            let mut external = vec![None; generator.schema().fields().len()];
            for (f, fk) in t.foreign_keys.iter().enumerate() {
                for (p, c) in fk.columns.iter().enumerate() {
                    if let Some(i) = generator.position(c)
                        && external[i].is_none()
                    {
                        external[i] = Some((f, p));
                    }
                }
            }
            let run_column = generator
                .position(&schema.run_id_column)
                .filter(|&i| external[i].is_none());
            members.push(Member {
                run_column,
                name: t.name.clone(),
                rows: count(&t.name),
                generator,
                fks,
                groups,
                external,
                table_hash: name_hash(&t.name),
                edges: Vec::new(),
                edge_rows: Vec::new(),
                edge_skipped: Vec::new(),
            });
            debug_assert_eq!(members.len(), index + 1);
        }
        // The parents' columns each key takes, now that every parent is compiled.
        for m in 0..members.len() {
            let t = order[m];
            for (f, fk) in t.foreign_keys.iter().enumerate() {
                let Some(p) = members[m].fks[f].parent else {
                    continue;
                };
                let parent = order[p];
                let targets = parent.fk_target_columns(fk, schema);
                let cols: Option<Vec<usize>> = targets
                    .iter()
                    .map(|c| members[p].generator.position(c))
                    .collect();
                match cols {
                    Some(cols) if cols.len() == fk.columns.len() => {
                        members[m].fks[f].parent_cols = cols
                    }
                    _ => members[m].fks[f].parent = None,
                }
            }
        }
        let mut dataset = Dataset {
            members,
            seed: options.seed,
            run_id: options.run_id.clone(),
            reference_date: options.reference_date,
        };
        dataset.check_key_loops()?;
        if options.edge_cases != EdgeCases::None {
            for (m, t) in order.iter().enumerate() {
                dataset.add_edge_rows(schema, t, m, options.edge_cases);
            }
        }
        Ok(dataset)
    }

    /// The tables with their row counts (edge-case rows included), parents before children.
    pub fn tables(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.members
            .iter()
            .map(|m| (m.name.as_str(), m.rows + m.edges.len() as u64))
    }

    /// The edge cases a table's rows hold, and those no row could.
    pub fn edge_cases(&self, table: &str) -> Option<(&[EdgeRow], &[EdgeSkipped])> {
        let m = &self.members[self.member(table)?];
        Some((&m.edge_rows, &m.edge_skipped))
    }

    /// Row `row` of `table` as values, by column (`None` for a table not in the dataset):
    /// what [`Dataset::batch`] holds at that row, for rows written one at a time.
    pub fn row(&self, table: &str, row: u64) -> Option<Vec<(String, Value)>> {
        let m = self.member(table)?;
        let member = &self.members[m];
        let names = member.generator.schema();
        let values: Vec<Value> = match row.checked_sub(member.rows) {
            Some(k) if (k as usize) < member.edges.len() => member.edges[k as usize].clone(),
            _ => {
                let cx = self.cx();
                let external = |c: usize, r: u64| self.external(m, c, r);
                (0..names.fields().len())
                    .map(|i| member.generator.cell(&cx, i, row, &external))
                    .collect()
            }
        };
        Some(
            names
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .zip(values)
                .collect(),
        )
    }

    fn member(&self, table: &str) -> Option<usize> {
        self.members.iter().position(|m| m.name == table)
    }

    /// The Arrow schema of a table's batches: every column but computed ones, identity keys
    /// included.
    pub fn arrow_schema(&self, table: &str) -> Option<Arc<ArrowSchema>> {
        self.member(table)
            .map(|m| self.members[m].generator.schema())
    }

    /// Rows `rows` of `table` (`None` for a table not in the dataset); rows past the
    /// generated ones are its edge-case rows.
    pub fn batch(&self, table: &str, rows: Range<u64>) -> Option<RecordBatch> {
        let m = self.member(table)?;
        let member = &self.members[m];
        let cx = self.cx();
        let external = |col: usize, row: u64| self.external(m, col, row);
        let n = member.rows;
        let generated = rows.start.min(n)..rows.end.min(n);
        let edges = (rows.start.max(n) - n) as usize..(rows.end.max(n) - n) as usize;
        let tail = member.edges.get(edges).unwrap_or(&[]);
        Some(
            member
                .generator
                .batch_with(&cx, generated, &external, tail)
                .expect("the builders match the schema"),
        )
    }

    fn cx(&self) -> BatchCx<'_> {
        BatchCx {
            seed: self.seed,
            run_id: &self.run_id,
            reference_date: self.reference_date,
        }
    }

    /// The value of external column `col` of member `m` at `row`.
    fn external(&self, m: usize, col: usize, row: u64) -> Value {
        let member = &self.members[m];
        let Some((f, position)) = member.external[col] else {
            return if member.run_column == Some(col) {
                Value::Text(self.run_id.clone())
            } else {
                Value::Null
            };
        };
        let fk = &member.fks[f];
        if let Some(rows) = &fk.existing {
            return match self.parent_row(m, f, row) {
                Some((_, j)) => rows[j as usize][position].clone(),
                None => Value::Null,
            };
        }
        match self.parent_row(m, f, row) {
            Some((p, j)) => {
                let pcol = member.fks[f].parent_cols[position];
                let cx = self.cx();
                let external = |c: usize, r: u64| self.external(p, c, r);
                self.members[p].generator.cell(&cx, pcol, j, &external)
            }
            None => Value::Null,
        }
    }

    /// The parent row foreign key `f` of member `m` points at in `row`: (parent member, row),
    /// or (`usize::MAX`, index) of an existing row.
    fn parent_row(&self, m: usize, f: usize, row: u64) -> Option<(usize, u64)> {
        let member = &self.members[m];
        let fk = &member.fks[f];
        let (p, n) = match (&fk.existing, fk.parent) {
            (Some(rows), _) => (usize::MAX, rows.len() as u64),
            (None, Some(p)) => (p, self.members[p].rows),
            (None, None) => return None,
        };
        if !fills(self.seed, member.table_hash, row, fk.salt, fk.rate) {
            return None;
        }
        let j = if let Some((g, position)) = fk.group {
            member.groups[g].parent_row(row, position)
        } else if fk.self_ref {
            if row == 0 {
                if fk.rate < 1_000_000 {
                    return None;
                }
                0
            } else {
                CellRng::new(self.seed, member.table_hash, row, fk.salt).below(row.min(n))
            }
        } else {
            CellRng::new(self.seed, member.table_hash, row, fk.salt).below(n)
        };
        Some((p, j))
    }

    /// Fails when following a key's referenced columns through other keys comes back to a
    /// column already passed (no row of it could be computed).
    fn check_key_loops(&self) -> Result<(), DatasetError> {
        let next = |m: usize, c: usize| {
            let (f, position) = self.members[m].external[c]?;
            let fk = &self.members[m].fks[f];
            fk.parent.map(|p| (p, fk.parent_cols[position]))
        };
        for (m, member) in self.members.iter().enumerate() {
            for (c, ext) in member.external.iter().enumerate() {
                let Some((f, _)) = *ext else { continue };
                let mut seen = vec![(m, c)];
                let mut at = next(m, c);
                while let Some(step) = at {
                    if seen.contains(&step) {
                        return Err(DatasetError::KeyLoop {
                            table: member.name.clone(),
                            columns: joined(&self.fk_columns(m, f)),
                        });
                    }
                    seen.push(step);
                    at = next(step.0, step.1);
                }
            }
        }
        Ok(())
    }

    fn fk_columns(&self, m: usize, f: usize) -> Vec<String> {
        let member = &self.members[m];
        let schema = member.generator.schema();
        member
            .external
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_some_and(|(g, _)| g == f))
            .map(|(i, _)| schema.field(i).name().clone())
            .collect()
    }
}

/// The values `column` of `table` takes in rows `rows` of any dataset with `options`, where
/// the column has its own generator (not a foreign key, not an identity key) that no row rule
/// changes: a volume load's reset recomputes its keys so instead of storing them.
pub fn generated_values(
    table: &Table,
    column: &str,
    registry: &GeneratorRegistry,
    policy: &dyn MarkerPolicy,
    options: &DatasetOptions,
    rows: Range<u64>,
) -> Result<Vec<Value>, DatasetError> {
    let fk_columns: Vec<String> = table
        .foreign_keys
        .iter()
        .flat_map(|fk| fk.columns.iter().cloned())
        .collect();
    let failed = |message: String| DatasetError::Generator {
        table: table.name.clone(),
        message,
    };
    let g =
        TableGenerator::with_external(table, registry, policy, 0, &fk_columns).map_err(failed)?;
    let i = g
        .position(column)
        .ok_or_else(|| failed(format!("no generated column {column:?}")))?;
    let cx = BatchCx {
        seed: options.seed,
        run_id: &options.run_id,
        reference_date: options.reference_date,
    };
    let none = |_: usize, _: u64| Value::Null;
    Ok(rows.map(|r| g.cell(&cx, i, r, &none)).collect())
}

/// The existing rows of `fk`'s table, projected on its referenced columns, where there are
/// some and they hold every referenced column.
fn existing_parent(
    schema: &Schema,
    fk: &crate::schema::ForeignKey,
    existing: &ExistingRows,
) -> Option<Arc<Vec<Vec<Value>>>> {
    let parent = schema.table(&fk.references)?;
    let targets = parent.fk_target_columns(fk, schema);
    if targets.len() != fk.columns.len() || targets.is_empty() {
        return None;
    }
    let rows: Option<Vec<Vec<Value>>> = existing
        .get(&fk.references)?
        .iter()
        .map(|r| targets.iter().map(|c| r.get(c).cloned()).collect())
        .collect();
    rows.filter(|r| !r.is_empty()).map(Arc::new)
}

/// Decides how each unique set of `table` holds over the whole table: see the module docs.
/// Promotes columns to unique on `table` and marks the foreign keys it enumerates.
fn unique_groups(
    table: &mut Table,
    fks: &mut [FkFill],
    order: &[&Table],
    rows: &BTreeMap<String, u64>,
    seed: u64,
) -> Result<Vec<Group>, DatasetError> {
    let original = table.clone();
    let count = rows.get(&table.name).copied().unwrap_or(0);
    let mut sets: Vec<Vec<String>> = Vec::new();
    if !original.primary_key.is_empty() {
        sets.push(original.primary_key.clone());
    }
    sets.extend(original.unique.iter().cloned());
    let fk_columns = |c: &str| {
        original
            .foreign_keys
            .iter()
            .any(|fk| fk.columns.iter().any(|x| x == c))
    };
    let mut groups = Vec::new();
    for set in sets {
        let distinct_alone = set.iter().any(|c| {
            original.get_column(c).is_some_and(|col| {
                matches!(col.generated, Some(Generated::Identity))
                    || (!fk_columns(c) && original.is_unique_column(c))
            })
        });
        if distinct_alone {
            continue;
        }
        let members: Vec<usize> = original
            .foreign_keys
            .iter()
            .enumerate()
            .filter(|(f, fk)| {
                (fks[*f].parent.is_some() || fks[*f].existing.is_some())
                    && fk.columns.iter().all(|c| set.contains(c))
            })
            .map(|(f, _)| f)
            .collect();
        let covered = |c: &String| {
            members
                .iter()
                .any(|&f| original.foreign_keys[f].columns.contains(c))
        };
        let others: Vec<&String> = set.iter().filter(|c| !covered(c)).collect();
        let promotable = others.iter().find(|c| {
            !fk_columns(c)
                && original
                    .get_column(c)
                    .is_some_and(|col| col.generator.is_some() || can_be_distinct(&col.ty))
        });
        let enumerate = !members.is_empty()
            && (others.is_empty() || promotable.is_none())
            && members.iter().all(|&f| fks[f].group.is_none());
        if !enumerate {
            match promotable {
                Some(c) => {
                    table.unique.push(vec![(*c).clone()]);
                    continue;
                }
                None => {
                    return Err(DatasetError::NoDistinctValues {
                        table: original.name.clone(),
                        columns: joined(&set),
                    });
                }
            }
        }
        let radix: Vec<u64> = members
            .iter()
            .map(|&f| match (&fks[f].existing, fks[f].parent) {
                (Some(e), _) => e.len() as u64,
                (None, Some(p)) => rows.get(&order[p].name).copied().unwrap_or(0),
                (None, None) => 0,
            })
            .collect();
        let full = radix
            .iter()
            .try_fold(1u128, |acc, &n| acc.checked_mul(u128::from(n)));
        let max = full.unwrap_or(u128::MAX);
        if u128::from(count) > max {
            return Err(DatasetError::TooManyRows {
                table: original.name.clone(),
                columns: joined(&set),
                rows: count,
                max,
                parents: members
                    .iter()
                    .map(|&f| original.foreign_keys[f].references.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let m = max.clamp(1, 1 << 62);
        let salt = name_hash(&format!("atdm.unique:{}", joined(&set)));
        let mut a = (u128::from(mix(seed ^ salt)) % m) | 1;
        while gcd(a, m) != 1 {
            a += 2;
        }
        let b = u128::from(mix(seed ^ salt ^ 1)) % m;
        for (position, &f) in members.iter().enumerate() {
            fks[f].group = Some((groups.len(), position));
        }
        groups.push(Group { radix, a, b, m });
    }
    Ok(groups)
}

mod edges;
#[cfg(test)]
mod tests;
