//! The schema model: tables, columns and types, keys, unique and check constraints.
//!
//! A schema is declared in Rust (with the builder methods below), read from a TOML file
//! ([`Schema::from_toml`]), or read from a live database by `atdm-sqlx`'s introspection. All
//! three produce the same [`Schema`], and [`Schema::new`] checks it: every key, check and
//! foreign key must name columns that exist, and literals must fit their column types.
//! Foreign keys may form cycles (a store has a manager who is a staff member of a store);
//! [`Schema::fk_cycles`] names them.
//!
//! A schema file looks like this:
//!
//! ```toml
//! name = "shop"
//! version = "1"
//!
//! [[tables]]
//! name = "customer"
//! primary_key = ["customer_id"]
//! unique = [["email"]]
//! checks = ["status in ('active', 'blocked')"]
//! columns = [
//!   { name = "customer_id", type = "text" },
//!   { name = "email", type = "varchar(120)" },
//!   { name = "status", type = "text", default = "active" },
//!   { name = "created_at", type = "timestamptz", default_sql = "CURRENT_TIMESTAMP" },
//! ]
//!
//! [[tables]]
//! name = "orders"
//! primary_key = ["order_id"]
//! columns = [
//!   { name = "order_id", type = "bigint", generated = "identity" },
//!   { name = "customer_id", type = "text" },
//!   { name = "note", type = "text", nullable = true },
//! ]
//! foreign_keys = [{ columns = ["customer_id"], references = "customer" }]
//! ```
//!
//! Columns are `NOT NULL` unless they say `nullable = true`. A foreign key without
//! `ref_columns` points at the referenced table's primary key.
//!
//! Two settings shape generated data. `fill_rate` (0 to 1) is how often a nullable column
//! left open gets a value; it can be set at the top of the file, on a table or on a column,
//! and the most specific one wins (default
//! [`DEFAULT_FILL_RATE`](crate::generate::DEFAULT_FILL_RATE), 0.8). `locale` (`en`, `de`,
//! `fr`, `pt_BR`, `ja`; default `en`) chooses whose names, addresses, phone numbers and
//! companies generated rows hold; it can be set at the top or on a table. A setting at the
//! top is a default copied onto every table that has none of its own:
//!
//! ```toml
//! name = "crm"
//! fill_rate = 0.9
//! locale = "de"
//!
//! [[tables]]
//! name = "contact"
//! fill_rate = 0.5
//! columns = [
//!   { name = "email", type = "text" },
//!   { name = "fax", type = "text", nullable = true, fill_rate = 0 },
//!   { name = "mobile", type = "text", nullable = true },
//! ]
//! ```

mod check;
mod ddl;
mod file;
mod order;
mod types;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

pub use check::{Check, CheckParseError, CmpOp, Operand, parse_checks};
pub use ddl::{DdlSections, Dialect};
pub use types::{ColumnType, TypeParseError};

use crate::error::SchemaError;
use crate::generate::Locale;
use crate::value::Value;

/// The name of the column that, where a table has it, is filled with the run id.
pub const DEFAULT_RUN_ID_COLUMN: &str = "test_run_id";

/// A database schema: its tables and their constraints.
///
/// A schema file may also set `fill_rate` and `locale` at the top; they are defaults copied
/// onto every table that does not set its own ([`Schema::fill_rate`], [`Schema::locale`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "file::SchemaFile")]
pub struct Schema {
    /// A name for messages and manifests (`healthcare`, `shop`).
    pub name: String,
    /// A version, recorded in plans and baselines.
    #[serde(default = "default_version")]
    pub version: String,
    /// The column that marks which run owns a row, where a table has it. Filled by the
    /// planner; reset never depends on it (the run ledger does).
    #[serde(default = "default_run_id_column")]
    pub run_id_column: String,
    /// The tables, in any order; [`Schema::fk_order`] gives the insert order.
    pub tables: Vec<Table>,
}

fn default_version() -> String {
    "1".into()
}

fn default_run_id_column() -> String {
    DEFAULT_RUN_ID_COLUMN.into()
}

/// A table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// The table's name in the model, unique in the schema: the database's name for it, or
    /// `<schema>.<name>` where tables of two database schemas share a name.
    pub name: String,
    /// The database schema (namespace) the table lives in, where the database has several
    /// (PostgreSQL); `None`: the connection's default (`search_path`). See
    /// [`Table::sql_name`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The columns, in table order.
    pub columns: Vec<Column>,
    /// The primary key columns (composite keys have several).
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// Foreign keys (composite and self-referencing ones too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// Unique constraints, each a list of columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique: Vec<Vec<String>>,
    /// Check constraints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// Plain indexes, each a list of columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Vec<String>>,
    /// Triggers the database runs on the table's rows: they may change what a seed writes
    /// (the engine reads such rows back) and what a restore writes (it checks the result).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
    /// How often the table's nullable columns left open get a value (0 to 1), unless a
    /// column sets its own; `None`: [`DEFAULT_FILL_RATE`](crate::generate::DEFAULT_FILL_RATE).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "file::opt_rate"
    )]
    pub fill_rate: Option<f64>,
    /// Whose names, addresses, phone numbers and companies the table's rows hold; `None`:
    /// English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
}

/// A column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// The column name.
    pub name: String,
    /// The column type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// Whether NULL is allowed (default: no).
    #[serde(default)]
    pub nullable: bool,
    /// A literal default, used by the planner when a scenario leaves the column open.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "file::opt_toml_value"
    )]
    pub default: Option<Value>,
    /// A database-side default expression (`CURRENT_TIMESTAMP`); the database fills the
    /// column when a scenario leaves it open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_sql: Option<String>,
    /// Whether the database generates the value (identity/serial keys, computed columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<Generated>,
    /// A registered generator that fills the column when a scenario leaves it open
    /// (see [`crate::generate::GeneratorRegistry`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    /// For a nullable column: how often it gets a value when a scenario leaves it open, from
    /// 0 (always NULL) to 1 (always a value); `None`: the table's, the schema's or the default
    /// (see [`crate::generate::fill_rate`]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "file::opt_rate"
    )]
    pub fill_rate: Option<f64>,
    /// The character set of a text column that cannot hold every Unicode character (a
    /// MySQL/MariaDB `utf8mb3` or `latin1` column, as introspection reads it); absent: any
    /// text. Edge cases with characters it cannot hold are invalid there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
}

/// A trigger on a table, as introspection finds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// The trigger's name.
    pub name: String,
    /// `before`, `after` or `instead of`.
    pub timing: String,
    /// The statements it fires on: `insert`, `update`, `delete`, `truncate`.
    pub events: Vec<String>,
    /// What it may change, in a sentence (for example "may change the row's columns before
    /// it is stored", "may write other tables").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub effect: String,
    /// The other tables it writes, where its body says (a film's insert trigger copying the
    /// film into `film_text`): their rows are written after this table's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<String>,
}

/// How the database generates a column's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Generated {
    /// An identity or serial key: the database assigns it on insert.
    Identity,
    /// A computed column with its SQL expression, never written.
    Computed(String),
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignKey {
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table (may be the same table).
    pub references: String,
    /// The referenced columns; empty means the referenced table's primary key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ref_columns: Vec<String>,
}

impl Column {
    /// A NOT NULL column of the given type.
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Self {
        Column {
            name: name.into(),
            ty,
            nullable: false,
            default: None,
            default_sql: None,
            generated: None,
            generator: None,
            fill_rate: None,
            charset: None,
        }
    }

    /// Allows NULL.
    pub fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    /// Sets a literal default.
    pub fn default_value(mut self, v: impl Into<Value>) -> Self {
        self.default = Some(v.into());
        self
    }

    /// Marks the column as an identity key the database assigns.
    pub fn identity(mut self) -> Self {
        self.generated = Some(Generated::Identity);
        self
    }

    /// Fills the column with a registered generator.
    pub fn generator(mut self, name: impl Into<String>) -> Self {
        self.generator = Some(name.into());
        self
    }

    /// Sets how often the (nullable) column gets a value: 0 keeps it NULL, 1 always fills it.
    pub fn fill_rate(mut self, rate: f64) -> Self {
        self.fill_rate = Some(rate);
        self
    }

    /// The PostgreSQL type name of an enumeration column of `table` (its declared name, or
    /// `<table>_<column>_enum`); `None` for other types.
    pub fn pg_enum_type(&self, table: &str) -> Option<String> {
        match &self.ty {
            ColumnType::Enum { name, .. } => Some(
                name.clone()
                    .unwrap_or_else(|| format!("{table}_{}_enum", self.name)),
            ),
            _ => None,
        }
    }

    /// Whether the database, not the planner, provides the value.
    pub fn is_db_assigned(&self) -> bool {
        self.generated.is_some()
    }
}

impl Table {
    /// An empty table.
    pub fn new(name: impl Into<String>) -> Self {
        Table {
            name: name.into(),
            schema: None,
            columns: Vec::new(),
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
            unique: Vec::new(),
            checks: Vec::new(),
            indexes: Vec::new(),
            triggers: Vec::new(),
            fill_rate: None,
            locale: None,
        }
    }

    /// Places the table in a database schema (see [`Table::schema`]).
    pub fn in_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The table's own name in the database: [`Table::name`] without its `<schema>.` prefix.
    pub fn sql_name(&self) -> &str {
        match &self.schema {
            Some(s) => self
                .name
                .strip_prefix(s.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .unwrap_or(&self.name),
            None => &self.name,
        }
    }

    /// Sets how often the table's nullable columns get a value, unless a column sets its own.
    pub fn fill_rate(mut self, rate: f64) -> Self {
        self.fill_rate = Some(rate);
        self
    }

    /// Sets the locale of the table's generated rows.
    pub fn locale(mut self, locale: Locale) -> Self {
        self.locale = Some(locale);
        self
    }

    /// Adds a column.
    pub fn column(mut self, c: Column) -> Self {
        self.columns.push(c);
        self
    }

    /// Sets the primary key.
    pub fn primary_key<S: Into<String>>(mut self, cols: impl IntoIterator<Item = S>) -> Self {
        self.primary_key = cols.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a foreign key to `references`' primary key (or to `ref_columns`).
    pub fn foreign_key<S: Into<String>, R: Into<String>>(
        mut self,
        cols: impl IntoIterator<Item = S>,
        references: impl Into<String>,
        ref_columns: impl IntoIterator<Item = R>,
    ) -> Self {
        self.foreign_keys.push(ForeignKey {
            columns: cols.into_iter().map(Into::into).collect(),
            references: references.into(),
            ref_columns: ref_columns.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Adds a unique constraint.
    pub fn unique<S: Into<String>>(mut self, cols: impl IntoIterator<Item = S>) -> Self {
        self.unique.push(cols.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a check, in the text form of [`Check`]. Panics on a malformed check text,
    /// which is a programming error in a Rust declaration; files get a typed error instead.
    pub fn check(mut self, text: &str) -> Self {
        self.checks
            .extend(parse_checks(text).unwrap_or_else(|e| panic!("{e}")));
        self
    }

    /// Adds a plain index.
    pub fn index<S: Into<String>>(mut self, cols: impl IntoIterator<Item = S>) -> Self {
        self.indexes
            .push(cols.into_iter().map(Into::into).collect());
        self
    }

    /// The position of a column.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// A column by name.
    pub fn get_column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The checks that read `column`.
    pub fn checks_on<'a>(&'a self, column: &'a str) -> impl Iterator<Item = &'a Check> + 'a {
        self.checks
            .iter()
            .filter(move |c| c.columns().contains(&column))
    }

    /// Whether `column` is, alone, a primary key or unique constraint.
    pub fn is_unique_column(&self, column: &str) -> bool {
        (self.primary_key.len() == 1 && self.primary_key[0] == column)
            || self.unique.iter().any(|u| u.len() == 1 && u[0] == column)
    }

    /// The referenced columns of a foreign key (its `ref_columns`, or the referenced
    /// table's primary key).
    pub fn fk_target_columns<'a>(&self, fk: &'a ForeignKey, schema: &'a Schema) -> &'a [String] {
        if fk.ref_columns.is_empty() {
            schema
                .table(&fk.references)
                .map(|t| t.primary_key.as_slice())
                .unwrap_or(&[])
        } else {
            &fk.ref_columns
        }
    }
}

impl Schema {
    /// Builds and checks a schema (see [`Schema::check`]).
    pub fn new(name: impl Into<String>, tables: Vec<Table>) -> Result<Schema, SchemaError> {
        let mut s = Schema {
            name: name.into(),
            version: default_version(),
            run_id_column: default_run_id_column(),
            tables,
        };
        s.check()?;
        Ok(s)
    }

    /// Sets the fill rate of nullable columns for every table that does not set its own
    /// (columns that set their own keep it). Checked by [`Schema::check`].
    pub fn fill_rate(mut self, rate: f64) -> Self {
        for t in &mut self.tables {
            t.fill_rate.get_or_insert(rate);
        }
        self
    }

    /// Sets the locale of every table that does not set its own.
    pub fn locale(mut self, locale: Locale) -> Self {
        for t in &mut self.tables {
            t.locale.get_or_insert(locale);
        }
        self
    }

    /// Reads a schema from TOML text; `origin` (a file name) is used in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Schema, SchemaError> {
        let mut s: Schema = toml::from_str(text).map_err(|e| SchemaError::Parse {
            origin: origin.into(),
            message: e.to_string(),
        })?;
        s.check().map_err(|e| e.with_origin(origin))?;
        Ok(s)
    }

    /// The schema as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a schema always serializes")
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The position of a table in [`Schema::tables`].
    pub fn table_index(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.name == name)
    }

    /// Checks the schema and normalizes check literals to their column types.
    pub fn check(&mut self) -> Result<(), SchemaError> {
        let invalid = |table: &str, field: &str, message: String| SchemaError::Invalid {
            origin: String::new(),
            table: table.into(),
            field: field.into(),
            message,
        };
        if self.tables.is_empty() {
            return Err(invalid("", "tables", "the schema declares no table".into()));
        }
        let mut names = HashSet::new();
        for t in &self.tables {
            if !names.insert(t.name.as_str()) {
                return Err(invalid(
                    &t.name,
                    "name",
                    "the table is declared twice".into(),
                ));
            }
        }
        let snapshot = self.clone();
        for t in &mut self.tables {
            if t.columns.is_empty() {
                return Err(invalid(
                    &t.name,
                    "columns",
                    "the table has no column".into(),
                ));
            }
            let bad_rate = |r: Option<f64>| r.is_some_and(|r| !(0.0..=1.0).contains(&r));
            if bad_rate(t.fill_rate) {
                return Err(invalid(
                    &t.name,
                    "fill_rate",
                    format!(
                        "{} is not a rate; use a number from 0 (always NULL) to 1 (always filled)",
                        t.fill_rate.unwrap_or_default()
                    ),
                ));
            }
            let mut cols = HashSet::new();
            for c in &mut t.columns {
                if bad_rate(c.fill_rate) || (c.fill_rate.is_some() && !c.nullable) {
                    return Err(invalid(
                        &t.name,
                        &format!("columns.{}.fill_rate", c.name),
                        if c.nullable {
                            format!(
                                "{} is not a rate; use a number from 0 (always NULL) to 1 (always filled)",
                                c.fill_rate.unwrap_or_default()
                            )
                        } else {
                            "the column is NOT NULL, so it is always filled; fill_rate applies to nullable columns".into()
                        },
                    ));
                }
                if !cols.insert(c.name.clone()) {
                    return Err(invalid(
                        &t.name,
                        &format!("columns.{}", c.name),
                        "the column is declared twice".into(),
                    ));
                }
                if let Some(d) = c.default.take() {
                    c.default = Some(d.coerce(&c.ty).map_err(|e| {
                        invalid(&t.name, &format!("columns.{}.default", c.name), e)
                    })?);
                }
            }
            let has = |c: &str| t.columns.iter().any(|x| x.name == c);
            let missing = |list: &[String]| list.iter().find(|c| !has(c)).cloned();
            if let Some(c) = missing(&t.primary_key) {
                return Err(invalid(
                    &t.name,
                    "primary_key",
                    format!("unknown column {c:?}"),
                ));
            }
            for (i, u) in t.unique.iter().enumerate() {
                if let Some(c) = missing(u) {
                    return Err(invalid(
                        &t.name,
                        &format!("unique[{i}]"),
                        format!("unknown column {c:?}"),
                    ));
                }
            }
            for (i, u) in t.indexes.iter().enumerate() {
                if let Some(c) = missing(u) {
                    return Err(invalid(
                        &t.name,
                        &format!("indexes[{i}]"),
                        format!("unknown column {c:?}"),
                    ));
                }
            }
            for (i, fk) in t.foreign_keys.iter().enumerate() {
                let field = format!("foreign_keys[{i}]");
                if let Some(c) = missing(&fk.columns) {
                    return Err(invalid(&t.name, &field, format!("unknown column {c:?}")));
                }
                let target = if fk.references == t.name {
                    None
                } else {
                    Some(snapshot.table(&fk.references).ok_or_else(|| {
                        invalid(
                            &t.name,
                            &field,
                            format!("references unknown table {:?}", fk.references),
                        )
                    })?)
                };
                let target_cols: Vec<String> = if fk.ref_columns.is_empty() {
                    match target {
                        Some(tt) => tt.primary_key.clone(),
                        None => t.primary_key.clone(),
                    }
                } else {
                    fk.ref_columns.clone()
                };
                if target_cols.len() != fk.columns.len() {
                    return Err(invalid(
                        &t.name,
                        &field,
                        format!(
                            "{} referencing column(s) but {} referenced column(s) in {:?}",
                            fk.columns.len(),
                            target_cols.len(),
                            fk.references
                        ),
                    ));
                }
                let target_has = |c: &str| match target {
                    Some(tt) => tt.get_column(c).is_some(),
                    None => has(c),
                };
                if let Some(c) = target_cols.iter().find(|c| !target_has(c)) {
                    return Err(invalid(
                        &t.name,
                        &field,
                        format!("{:?} has no column {c:?}", fk.references),
                    ));
                }
            }
            let types: Vec<(String, ColumnType)> = t
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.ty.clone()))
                .collect();
            let ty_of = |c: &str| types.iter().find(|(n, _)| n == c).map(|(_, t)| t.clone());
            for (i, ch) in t.checks.iter_mut().enumerate() {
                let field = format!("checks[{i}]");
                if let Some(c) = ch.columns().into_iter().find(|c| !has(c)) {
                    return Err(invalid(
                        &t.name,
                        &field,
                        format!("`{ch}` names unknown column {c:?}"),
                    ));
                }
                ch.coerce_literals(&ty_of)
                    .map_err(|e| invalid(&t.name, &field, e))?;
            }
        }
        Ok(())
    }

    /// The DDL that creates the schema on `dialect`, as separate statements. Every
    /// statement is idempotent (`IF NOT EXISTS`), so applying it twice is harmless.
    pub fn ddl(&self, dialect: Dialect) -> Vec<String> {
        ddl::render(self, dialect)
    }

    /// The DDL that creates the schema on `dialect` for a bulk copy, split as `pg_dump` splits
    /// a restore: tables first, then, once the rows are written, their keys and indexes
    /// (PostgreSQL) and foreign keys (PostgreSQL, MySQL), so no row waits on a key check and
    /// each index is built in one pass. MySQL keeps its primary keys and indexes in the tables
    /// (InnoDB stores rows in primary-key order); SQLite cannot add constraints to a table, so
    /// everything is in [`DdlSections::before`] there. Only the schema's own indexes are made,
    /// not the foreign-key indexes [`Schema::ddl`] adds. The statements are not idempotent:
    /// they are for tables that do not exist yet.
    pub fn ddl_sections(&self, dialect: Dialect) -> DdlSections {
        ddl::sections(self, dialect)
    }
}

#[cfg(test)]
mod tests;
