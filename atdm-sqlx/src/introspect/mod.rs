#![doc = include_str!("reads.md")]

mod build;
mod hints;
mod partition;
mod sql_text;
mod trigger;

use std::collections::BTreeMap;
use std::time::Duration;

use atdm_core::schema::{ColumnType, Generated, Schema};

use crate::backend::Db;
use crate::error::Error;

pub(crate) use partition::RawPartitioning;
pub(crate) use sql_text::{
    Tok, check_body, find_top_level, is_cast_chain, is_number, leading_string_literal,
    literal_default, matching_paren, paren_args, skip_quoted, split_cast, split_top_level,
    strip_outer_parens, tokens,
};
pub(crate) use trigger::{RawTrigger, parse_sqlite_trigger, pg_trigger_type};

/// A schema read from a live database, and what could not be modelled.
#[derive(Debug, Clone)]
pub struct Introspection {
    /// The schema, ready for `Pack::builder(name, schema)`.
    pub schema: Schema,
    /// Things left out, simplified or worth knowing, one sentence each (for example "check
    /// ck_code of product (code ~ '^[A-Z]+$') cannot be modelled (...); it is left out, and
    /// the database still enforces it").
    pub notes: Vec<String>,
}

/// What [`introspect_with`] reads.
///
/// ```
/// let options = atdm_sqlx::IntrospectOptions::new().schema("sales").schema("person");
/// assert_eq!(options.schemas, ["sales", "person"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntrospectOptions {
    /// PostgreSQL: the schemas whose tables are read; empty (the default): every non-system
    /// schema. MySQL/MariaDB and SQLite have one schema (the URL's database, `main`), so a
    /// list there only gets a note.
    pub schemas: Vec<String>,
}

impl IntrospectOptions {
    /// Every non-system schema.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a schema to read (PostgreSQL); once one is named, only the named ones are read.
    pub fn schema(mut self, name: impl Into<String>) -> Self {
        self.schemas.push(name.into());
        self
    }
}

/// Connects to `database_url` (sqlite:, postgres:, mysql:), reads every user table (on
/// PostgreSQL, of every non-system schema), never the engine's own catalog tables, and closes
/// the connection.
///
/// The schema is named `schema_name`, has version `introspected`, and passes
/// [`Schema::check`]. Database failures are [`Error::Database`]; a schema the model cannot
/// hold at all (no table) is [`Error::Core`].
///
/// # What is read, and how
///
#[doc = include_str!("reads.md")]
pub async fn introspect(database_url: &str, schema_name: &str) -> Result<Introspection, Error> {
    introspect_with(database_url, schema_name, &IntrospectOptions::default()).await
}

/// [`introspect`], reading what `options` chooses (the PostgreSQL schemas).
pub async fn introspect_with(
    database_url: &str,
    schema_name: &str,
    options: &IntrospectOptions,
) -> Result<Introspection, Error> {
    let db = Db::connect(database_url, 2, Duration::from_secs(30)).await?;
    let raw = db.read_schema().await;
    db.close().await;
    build::build(raw?, schema_name, options, &crate::redact_url(database_url))
}

// ---------------------------------------------------------------------------------------
// The catalog as read, before it is checked against the model.

/// A table's database schema (empty where the database has one: SQLite, MySQL) and name.
pub(crate) type RawName = (String, String);

#[derive(Debug, Default)]
pub(crate) struct Raw {
    pub(crate) tables: BTreeMap<RawName, RawTable>,
    pub(crate) notes: Vec<String>,
    /// The connection's current schema (PostgreSQL's `current_schema()`; empty elsewhere):
    /// its tables need no schema in SQL.
    pub(crate) current_schema: Option<String>,
    /// Whether the database has several schemas to choose from (PostgreSQL).
    pub(crate) has_schemas: bool,
}

#[derive(Debug, Default)]
pub(crate) struct RawTable {
    pub(crate) columns: Vec<RawColumn>,
    pub(crate) primary_key: Vec<String>,
    pub(crate) unique: Vec<Vec<String>>,
    pub(crate) foreign_keys: Vec<RawForeignKey>,
    pub(crate) checks: Vec<RawCheck>,
    pub(crate) triggers: Vec<RawTrigger>,
    /// PostgreSQL: how the table is partitioned, and its partitions' bounds.
    pub(crate) partitioning: Option<RawPartitioning>,
}

#[derive(Debug)]
pub(crate) struct RawColumn {
    pub(crate) name: String,
    /// The type, and a note when it is a simplification.
    pub(crate) ty: (ColumnType, Option<String>),
    pub(crate) nullable: bool,
    pub(crate) default: RawDefault,
    pub(crate) generated: Option<Generated>,
    /// MySQL: the character set of a text column that cannot hold every character.
    pub(crate) charset: Option<String>,
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
    /// Groups the rows of one constraint (its name, or a catalog id).
    pub(crate) id: String,
    pub(crate) columns: Vec<String>,
    pub(crate) references: RawName,
    /// The referenced table lies outside the database read (MySQL: another database).
    pub(crate) outside: bool,
    /// Empty: the referenced table's primary key.
    pub(crate) ref_columns: Vec<String>,
    /// PostgreSQL: the partition the foreign key is declared on, when not on the table.
    pub(crate) partition: Option<String>,
}

#[derive(Debug)]
pub(crate) struct RawCheck {
    pub(crate) name: Option<String>,
    pub(crate) text: String,
    /// A PostgreSQL domain's check: the domain, and the column it applies to.
    pub(crate) domain: Option<(String, String)>,
}

impl RawCheck {
    /// A table's own check.
    pub(crate) fn new(name: Option<String>, text: String) -> RawCheck {
        RawCheck {
            name,
            text,
            domain: None,
        }
    }
}

impl Raw {
    /// A table of a database with one schema (SQLite, MySQL).
    pub(crate) fn table(&mut self, name: &str) -> Option<&mut RawTable> {
        self.tables.get_mut(&(String::new(), name.to_owned()))
    }

    /// A table of a schema.
    pub(crate) fn table_in(&mut self, schema: &str, name: &str) -> Option<&mut RawTable> {
        self.tables.get_mut(&(schema.to_owned(), name.to_owned()))
    }
}

/// The name of a table for messages: `schema.name`, or `name`.
pub(crate) fn display_name((schema, name): &RawName) -> String {
    if schema.is_empty() {
        name.clone()
    } else {
        format!("{schema}.{name}")
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

/// Adds one column pair of a foreign key (rows of one constraint share `id` and come
/// together, in key order).
pub(crate) fn push_fk_column(
    t: &mut RawTable,
    id: String,
    target: RawName,
    outside: bool,
    col: String,
    ref_col: String,
) {
    let same = t
        .foreign_keys
        .last()
        .is_some_and(|fk| fk.id == id && fk.references == target);
    if !same {
        t.foreign_keys.push(RawForeignKey {
            id,
            columns: Vec::new(),
            references: target,
            outside,
            ref_columns: Vec::new(),
            partition: None,
        });
    }
    let fk = t.foreign_keys.last_mut().expect("just pushed");
    fk.columns.push(col);
    fk.ref_columns.push(ref_col);
}

/// Unique indexes by table and index name: whether partial, and the key columns (`None` for
/// an expression or a column prefix).
pub(crate) type UniqueIndexes = BTreeMap<(RawName, String), (bool, Vec<Option<String>>)>;

/// Adds unique indexes (by table and index name: partial or not, and the key columns, `None`
/// for an expression) to their tables; partial and expression indexes become notes.
pub(crate) fn add_unique_indexes(raw: &mut Raw, unique: UniqueIndexes) {
    for ((table, index), (partial, cols)) in unique {
        let shown = display_name(&table);
        let Some(t) = raw.tables.get_mut(&table) else {
            continue;
        };
        if partial {
            raw.notes.push(format!(
                "unique index {index} of {shown} is partial; it is left out"
            ));
            continue;
        }
        match cols.into_iter().collect::<Option<Vec<String>>>() {
            Some(cols) if !cols.is_empty() => t.unique.push(cols),
            _ => raw.notes.push(format!(
                "unique index {index} of {shown} is on an expression or a column prefix; it is left out"
            )),
        }
    }
}
