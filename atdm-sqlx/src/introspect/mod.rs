//! Live-schema introspection: reads the user tables of a database into a [`Schema`].
//!
//! [`introspect`] connects, reads the catalog of the current database (PostgreSQL:
//! `current_schema()`; MySQL/MariaDB: `DATABASE()`; SQLite: `main`), and closes the
//! connection. The engine's own catalog (PostgreSQL schema `atdm`, tables `atdm_runs` and
//! `atdm_ledger` elsewhere) is never read.
//!
//! What is read, and how it maps to the model:
//!
//! | database | model |
//! |---|---|
//! | text, `varchar(n)`, `char(n)` | `text`, `varchar(n)` |
//! | `smallint`, `integer` (MySQL: also `tinyint`, `mediumint`) | `integer` (MySQL `int unsigned`: `bigint`) |
//! | `bigint` | `bigint` |
//! | `numeric(p,s)` / `decimal(p,s)` | `numeric(p,s)` (precision above 38 is narrowed, with a note) |
//! | `boolean` (MySQL `tinyint(1)`) | `boolean` |
//! | `date`, `timestamp`, `timestamptz` | `date`, `timestamp`, `timestamptz` |
//! | MySQL `datetime` | `timestamp`: a wall-clock time without zone |
//! | MySQL `timestamp` | `timestamptz`: MySQL stores it as an instant in UTC and converts it to the session time zone, which the engine sets to UTC |
//! | `uuid`, `json`/`jsonb` (MariaDB: `longtext` with a `json_valid(col)` check), `bytea`/`blob`/`binary` | `uuid`, `json`, `bytes` |
//! | PostgreSQL enum types | `enum name(...)` in the type's sort order |
//! | MySQL `enum('a','b')` | `enum(a, b)` |
//! | SQLite declared types | parsed as written, else by SQLite's affinity rules |
//!
//! Columns of any other type are left out of their table, with a note. Literal defaults
//! become [`Column::default`] values of the column type; other default expressions become
//! [`Column::default_sql`]. Identity, serial and auto-increment columns, and SQLite's
//! `INTEGER PRIMARY KEY`, are [`Generated::Identity`]; computed columns are
//! [`Generated::Computed`]. Primary keys, unique constraints and unique indexes, foreign keys
//! (in key order) and check constraints are read too; a check the model cannot express is
//! left out with a note (the database still enforces it).

mod sql_text;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use atdm_core::schema::{
    Column, ColumnType, DEFAULT_RUN_ID_COLUMN, ForeignKey, Generated, Schema, Table, parse_checks,
};
use atdm_core::{SchemaError, Value};

use crate::backend::Db;
use crate::error::Error;

pub(crate) use sql_text::{
    Tok, check_body, find_top_level, is_cast_chain, is_number, leading_string_literal,
    literal_default, matching_paren, paren_args, skip_quoted, split_cast, split_top_level,
    strip_outer_parens, tokens,
};

/// A schema read from a live database, and what could not be modelled.
#[derive(Debug, Clone)]
pub struct Introspection {
    /// The schema, ready for `Pack::builder(name, schema)`.
    pub schema: Schema,
    /// Things left out or simplified, one sentence each (for example "column places.geo of
    /// type point is not supported; it is left to the database (default or NULL)").
    pub notes: Vec<String>,
}

/// Connects to `database_url` (sqlite:, postgres:, mysql:), reads every user table of the
/// current database/schema (never the engine's own catalog tables: PostgreSQL schema `atdm`,
/// tables named `atdm_runs`/`atdm_ledger` elsewhere), and closes the connection.
///
/// The schema is named `schema_name`, has version `introspected`, and passes
/// [`Schema::check`]. Database failures are [`Error::Database`]; a schema the model cannot
/// hold at all (no table left, a cycle of NOT NULL foreign keys) is [`Error::Core`].
pub async fn introspect(database_url: &str, schema_name: &str) -> Result<Introspection, Error> {
    let db = Db::connect(database_url, 2, Duration::from_secs(30)).await?;
    let raw = db.read_schema().await;
    db.close().await;
    build(raw?, schema_name)
}

// ---------------------------------------------------------------------------------------
// The catalog as read, before it is checked against the model.

#[derive(Debug, Default)]
pub(crate) struct Raw {
    pub(crate) tables: BTreeMap<String, RawTable>,
    pub(crate) notes: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct RawTable {
    pub(crate) columns: Vec<RawColumn>,
    pub(crate) primary_key: Vec<String>,
    pub(crate) unique: Vec<Vec<String>>,
    pub(crate) foreign_keys: Vec<RawForeignKey>,
    pub(crate) checks: Vec<RawCheck>,
}

#[derive(Debug)]
pub(crate) struct RawColumn {
    pub(crate) name: String,
    /// The modelled type (and a note when it is a simplification), or the database's name
    /// of a type the model does not have.
    pub(crate) ty: Result<(ColumnType, Option<String>), String>,
    pub(crate) nullable: bool,
    pub(crate) default: RawDefault,
    pub(crate) generated: Option<Generated>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawDefault {
    None,
    /// A literal: its value as text, and the SQL the database prints for it.
    Literal {
        text: String,
        sql: String,
    },
    /// Any other expression.
    Expr(String),
}

#[derive(Debug)]
pub(crate) struct RawForeignKey {
    pub(crate) name: String,
    pub(crate) columns: Vec<String>,
    pub(crate) references: String,
    /// The referenced table lies outside the schema read (another schema or database).
    pub(crate) outside: bool,
    /// Empty: the referenced table's primary key.
    pub(crate) ref_columns: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct RawCheck {
    pub(crate) name: Option<String>,
    pub(crate) text: String,
}

impl Raw {
    pub(crate) fn table(&mut self, name: &str) -> Option<&mut RawTable> {
        self.tables.get_mut(name)
    }
}

// ---------------------------------------------------------------------------------------
// Shared by the readers

/// A numeric type of the given precision and scale (unconstrained: `numeric(38,10)`).
pub(crate) fn numeric(precision: Option<u32>, scale: Option<u32>) -> (ColumnType, Option<String>) {
    match precision {
        None => (
            ColumnType::Numeric {
                precision: 38,
                scale: 10,
            },
            Some("it is an unconstrained numeric and is modelled as numeric(38,10)".into()),
        ),
        Some(p) => {
            let s = scale.unwrap_or(0).min(p);
            if (1..=38).contains(&p) {
                (
                    ColumnType::Numeric {
                        precision: p as u8,
                        scale: s as u8,
                    },
                    None,
                )
            } else {
                let s2 = s.min(38);
                (
                    ColumnType::Numeric {
                        precision: 38,
                        scale: s2 as u8,
                    },
                    Some(format!(
                        "its type numeric({p},{s}) is narrowed to numeric(38,{s2}), the largest the model holds"
                    )),
                )
            }
        }
    }
}

pub(crate) fn push_fk_column(
    t: &mut RawTable,
    name: String,
    target: String,
    outside: bool,
    col: String,
    ref_col: String,
) {
    let same = t
        .foreign_keys
        .last()
        .is_some_and(|fk| fk.name == name && fk.references == target);
    if !same {
        t.foreign_keys.push(RawForeignKey {
            name,
            columns: Vec::new(),
            references: target,
            outside,
            ref_columns: Vec::new(),
        });
    }
    let fk = t.foreign_keys.last_mut().expect("just pushed");
    fk.columns.push(col);
    fk.ref_columns.push(ref_col);
}

/// Unique indexes by table and index name: whether partial, and the key columns (`None` for
/// an expression or a column prefix).
pub(crate) type UniqueIndexes = BTreeMap<(String, String), (bool, Vec<Option<String>>)>;

/// Adds unique indexes (by table and index name: partial or not, and the key columns, `None`
/// for an expression) to their tables; partial and expression indexes become notes.
pub(crate) fn add_unique_indexes(raw: &mut Raw, unique: UniqueIndexes) {
    for ((table, index), (partial, cols)) in unique {
        let Some(t) = raw.tables.get_mut(&table) else {
            continue;
        };
        if partial {
            raw.notes.push(format!(
                "unique index {index} of {table} is partial; it is left out"
            ));
            continue;
        }
        match cols.into_iter().collect::<Option<Vec<String>>>() {
            Some(cols) if !cols.is_empty() => t.unique.push(cols),
            _ => raw.notes.push(format!(
                "unique index {index} of {table} is on an expression or a column prefix; it is left out"
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------
// From the catalog to a checked schema

/// The actual name of `name` among `names`: exact, else the one case-insensitive match.
fn resolve<'a>(names: impl Iterator<Item = &'a str> + Clone, name: &str) -> Option<String> {
    if let Some(n) = names.clone().find(|n| *n == name) {
        return Some(n.to_owned());
    }
    let mut found = names.filter(|n| n.eq_ignore_ascii_case(name));
    match (found.next(), found.next()) {
        (Some(n), None) => Some(n.to_owned()),
        _ => None,
    }
}

fn build(raw: Raw, schema_name: &str) -> Result<Introspection, Error> {
    let mut notes = raw.notes;

    // Columns first: which exist in the model decides what keys and checks can keep.
    let mut tables: Vec<Table> = Vec::new();
    for (tname, rt) in &raw.tables {
        let mut t = Table::new(tname.as_str());
        for rc in &rt.columns {
            let (ty, ty_note) = match &rc.ty {
                Ok(x) => x.clone(),
                Err(db_type) => {
                    let required =
                        !rc.nullable && rc.default == RawDefault::None && rc.generated.is_none();
                    notes.push(if required {
                        format!(
                            "column {tname}.{} of type {db_type} is not supported and is NOT NULL without a default; it is left out, so seeding {tname} will fail until the column gets a default or allows NULL",
                            rc.name
                        )
                    } else {
                        format!(
                            "column {tname}.{} of type {db_type} is not supported; it is left to the database (default or NULL)",
                            rc.name
                        )
                    });
                    continue;
                }
            };
            if let Some(n) = ty_note {
                notes.push(format!("column {tname}.{}: {n}", rc.name));
            }
            let mut c = Column::new(rc.name.as_str(), ty.clone());
            c.nullable = rc.nullable;
            c.generated = rc.generated.clone();
            match &rc.default {
                RawDefault::None => {}
                RawDefault::Expr(e) => c.default_sql = Some(e.clone()),
                RawDefault::Literal { sql, .. } if ty == ColumnType::Bytes => {
                    c.default_sql = Some(sql.clone())
                }
                RawDefault::Literal { text, sql } => match Value::Text(text.clone()).coerce(&ty) {
                    Ok(v) => c.default = Some(v),
                    Err(e) => {
                        notes.push(format!(
                                "the default {sql} of column {tname}.{} does not read as a {ty} value ({e}); it is kept as a database-side default",
                                rc.name
                            ));
                        c.default_sql = Some(sql.clone());
                    }
                },
            }
            t.columns.push(c);
        }
        if t.columns.is_empty() {
            notes.push(format!(
                "table {tname} has no column of a supported type; it is left out"
            ));
            continue;
        }
        tables.push(t);
    }

    // Keys and checks, against the columns and tables that were kept.
    let kept: HashMap<String, HashSet<String>> = tables
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                t.columns.iter().map(|c| c.name.clone()).collect(),
            )
        })
        .collect();
    let table_names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let map_cols = |table: &str, cols: &[String]| -> Result<Vec<String>, String> {
        let have = &kept[table];
        cols.iter()
            .map(|c| resolve(have.iter().map(String::as_str), c).ok_or_else(|| c.clone()))
            .collect()
    };
    let pk_of = |table: &str| -> Vec<String> {
        raw.tables
            .get(table)
            .map(|t| t.primary_key.clone())
            .unwrap_or_default()
    };
    for t in &mut tables {
        let rt = &raw.tables[&t.name];
        let tname = t.name.clone();
        if !rt.primary_key.is_empty() {
            match map_cols(&tname, &rt.primary_key) {
                Ok(pk) => t.primary_key = pk,
                Err(c) => notes.push(format!(
                    "the primary key of {tname} ({}) uses column {c}, which is left out; the table is modelled without a primary key",
                    rt.primary_key.join(", ")
                )),
            }
        }
        for pkc in &t.primary_key {
            if let Some(c) = t.columns.iter_mut().find(|c| &c.name == pkc) {
                c.nullable = false;
            }
        }
        for u in &rt.unique {
            match map_cols(&tname, u) {
                Ok(cols) => {
                    let as_set = |v: &[String]| v.iter().cloned().collect::<HashSet<String>>();
                    let same_as_pk = as_set(&cols) == as_set(&t.primary_key);
                    let seen = t.unique.iter().any(|x| as_set(x) == as_set(&cols));
                    if !same_as_pk && !seen {
                        t.unique.push(cols);
                    }
                }
                Err(c) => notes.push(format!(
                    "the unique constraint of {tname} on ({}) uses column {c}, which is left out; it is left out too",
                    u.join(", ")
                )),
            }
        }
        for fk in &rt.foreign_keys {
            let label = format!(
                "the foreign key {tname}({}) -> {}",
                fk.columns.join(", "),
                fk.references
            );
            if fk.outside {
                notes.push(format!(
                    "{label} points outside the schema read; it is left out"
                ));
                continue;
            }
            let Some(target) = resolve(table_names.iter().map(String::as_str), &fk.references)
            else {
                notes.push(format!(
                    "{label} points at a table that is not modelled; it is left out"
                ));
                continue;
            };
            let ref_raw = if fk.ref_columns.is_empty() {
                pk_of(&target)
            } else {
                fk.ref_columns.clone()
            };
            let cols = map_cols(&tname, &fk.columns);
            let refs = map_cols(&target, &ref_raw);
            match (cols, refs) {
                (Ok(cols), Ok(refs)) if !refs.is_empty() && refs.len() == cols.len() => {
                    t.foreign_keys.push(ForeignKey {
                        columns: cols,
                        references: target,
                        ref_columns: refs,
                    });
                }
                (Err(c), _) | (_, Err(c)) => notes.push(format!(
                    "{label} uses column {c}, which is left out; it is left out too"
                )),
                _ => notes.push(format!(
                    "{label} does not pair its columns with the referenced key; it is left out"
                )),
            }
        }
        for ch in &rt.checks {
            let label = match &ch.name {
                Some(n) => format!("check {n} of {tname}"),
                None => format!("a check of {tname}"),
            };
            match parse_checks(&ch.text) {
                Err(e) => notes.push(format!(
                    "{label} ({}) cannot be modelled ({}); it is left out, and the database still enforces it",
                    ch.text, e.message
                )),
                Ok(parsed) => {
                    for c in parsed {
                        match c.columns().into_iter().find(|x| !kept[&tname].contains(*x)) {
                            Some(missing) => notes.push(format!(
                                "{label} ({}) reads column {missing}, which is not modelled; it is left out, and the database still enforces it",
                                ch.text
                            )),
                            None => {
                                if !t.checks.contains(&c) {
                                    t.checks.push(c);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    let mut schema = Schema {
        name: schema_name.to_owned(),
        version: "introspected".into(),
        run_id_column: DEFAULT_RUN_ID_COLUMN.into(),
        tables,
    };
    // Whatever the checks of the model still refuse is left out, one thing at a time.
    let budget = schema
        .tables
        .iter()
        .map(|t| t.checks.len() + t.foreign_keys.len() + t.unique.len() + t.columns.len() + 1)
        .sum::<usize>()
        + 1;
    for _ in 0..budget {
        match schema.check() {
            Ok(()) => return Ok(Introspection { schema, notes }),
            Err(e) => {
                if !repair(&mut schema, &e, &mut notes) {
                    return Err(Error::Core(e.into()));
                }
            }
        }
    }
    schema
        .check()
        .map_err(|e| Error::Core(e.into()))
        .map(|()| Introspection { schema, notes })
}

/// Leaves out what a schema check refused, with a note; false when nothing can be left out.
fn repair(schema: &mut Schema, e: &SchemaError, notes: &mut Vec<String>) -> bool {
    match e {
        SchemaError::Invalid {
            table,
            field,
            message,
            ..
        } => {
            let Some(t) = schema.tables.iter_mut().find(|t| &t.name == table) else {
                return false;
            };
            let index = |prefix: &str| -> Option<usize> {
                field.strip_prefix(prefix)?.strip_suffix(']')?.parse().ok()
            };
            if let Some(i) = index("checks[").filter(|&i| i < t.checks.len()) {
                let c = t.checks.remove(i);
                notes.push(format!(
                    "check `{c}` of {table} cannot be modelled ({message}); it is left out, and the database still enforces it"
                ));
                return true;
            }
            if let Some(i) = index("foreign_keys[").filter(|&i| i < t.foreign_keys.len()) {
                let fk = t.foreign_keys.remove(i);
                notes.push(format!(
                    "the foreign key {table}({}) -> {} cannot be modelled ({message}); it is left out",
                    fk.columns.join(", "),
                    fk.references
                ));
                return true;
            }
            if let Some(i) = index("unique[").filter(|&i| i < t.unique.len()) {
                let u = t.unique.remove(i);
                notes.push(format!(
                    "the unique constraint of {table} on ({}) cannot be modelled ({message}); it is left out",
                    u.join(", ")
                ));
                return true;
            }
            if let Some(col) = field
                .strip_prefix("columns.")
                .and_then(|f| f.strip_suffix(".default"))
                && let Some(c) = t.columns.iter_mut().find(|c| c.name == col)
                && c.default.take().is_some()
            {
                notes.push(format!(
                    "the default of column {table}.{col} cannot be modelled ({message}); it is left to the database"
                ));
                return true;
            }
            false
        }
        SchemaError::Cycle { tables } => break_cycle(schema, tables, notes),
        _ => false,
    }
}

/// Leaves out one foreign key on a cycle whose columns all allow NULL, so an insert order
/// exists (the planner then leaves those columns NULL).
fn break_cycle(schema: &mut Schema, tables: &[String], notes: &mut Vec<String>) -> bool {
    let set: HashSet<&str> = tables.iter().map(String::as_str).collect();
    let edges: HashMap<&str, Vec<&str>> = schema
        .tables
        .iter()
        .filter(|t| set.contains(t.name.as_str()))
        .map(|t| {
            (
                t.name.as_str(),
                t.foreign_keys
                    .iter()
                    .filter(|fk| fk.references != t.name && set.contains(fk.references.as_str()))
                    .map(|fk| fk.references.as_str())
                    .collect(),
            )
        })
        .collect();
    let reaches = |from: &str, to: &str| -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![from];
        while let Some(n) = stack.pop() {
            if n == to {
                return true;
            }
            if seen.insert(n) {
                stack.extend(edges.get(n).into_iter().flatten().copied());
            }
        }
        false
    };
    let mut victim: Option<(usize, usize)> = None;
    'outer: for (ti, t) in schema.tables.iter().enumerate() {
        if !set.contains(t.name.as_str()) {
            continue;
        }
        for (fi, fk) in t.foreign_keys.iter().enumerate() {
            let nullable = fk
                .columns
                .iter()
                .all(|c| t.get_column(c).is_some_and(|c| c.nullable));
            if fk.references != t.name
                && set.contains(fk.references.as_str())
                && nullable
                && reaches(&fk.references, &t.name)
            {
                victim = Some((ti, fi));
                break 'outer;
            }
        }
    }
    let Some((ti, fi)) = victim else {
        return false;
    };
    let t = &mut schema.tables[ti];
    let fk = t.foreign_keys.remove(fi);
    notes.push(format!(
        "foreign keys between {} form a cycle; the foreign key {}({}) -> {} is left out so that rows can be inserted in order (its columns stay NULL)",
        tables.join(", "),
        t.name,
        fk.columns.join(", "),
        fk.references
    ));
    true
}
