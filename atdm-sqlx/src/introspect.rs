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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use atdm_core::schema::{
    Column, ColumnType, DEFAULT_RUN_ID_COLUMN, ForeignKey, Generated, Schema, Table, parse_checks,
};
use atdm_core::{SchemaError, Value};
use sqlx::Row;
use sqlx::mysql::MySqlPool;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

use crate::db::Db;
use crate::error::Error;

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
    let raw = match &db {
        Db::Sqlite(pool) => read_sqlite(pool).await,
        Db::Postgres(pool) => read_postgres(pool).await,
        Db::MySql(pool) => read_mysql(pool).await,
    };
    db.close().await;
    build(raw?, schema_name)
}

// ---------------------------------------------------------------------------------------
// The catalog as read, before it is checked against the model.

#[derive(Debug, Default)]
struct Raw {
    tables: BTreeMap<String, RawTable>,
    notes: Vec<String>,
}

#[derive(Debug, Default)]
struct RawTable {
    columns: Vec<RawColumn>,
    primary_key: Vec<String>,
    unique: Vec<Vec<String>>,
    foreign_keys: Vec<RawForeignKey>,
    checks: Vec<RawCheck>,
}

#[derive(Debug)]
struct RawColumn {
    name: String,
    /// The modelled type (and a note when it is a simplification), or the database's name
    /// of a type the model does not have.
    ty: Result<(ColumnType, Option<String>), String>,
    nullable: bool,
    default: RawDefault,
    generated: Option<Generated>,
}

#[derive(Debug, Clone, PartialEq)]
enum RawDefault {
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
struct RawForeignKey {
    name: String,
    columns: Vec<String>,
    references: String,
    /// The referenced table lies outside the schema read (another schema or database).
    outside: bool,
    /// Empty: the referenced table's primary key.
    ref_columns: Vec<String>,
}

#[derive(Debug)]
struct RawCheck {
    name: Option<String>,
    text: String,
}

impl Raw {
    fn table(&mut self, name: &str) -> Option<&mut RawTable> {
        self.tables.get_mut(name)
    }
}

// ---------------------------------------------------------------------------------------
// SQLite

async fn read_sqlite(pool: &SqlitePool) -> Result<Raw, Error> {
    let ctx = "cannot read the SQLite schema";
    let mut raw = Raw::default();
    let rows = sqlx::query(
        "SELECT l.name, l.type, l.wr, m.sql FROM pragma_table_list AS l \
         LEFT JOIN sqlite_master AS m ON m.name = l.name AND m.type = 'table' \
         WHERE l.schema = 'main' AND l.type IN ('table', 'virtual') \
         AND substr(l.name, 1, 7) <> 'sqlite_' AND l.name NOT IN ('atdm_runs', 'atdm_ledger') \
         ORDER BY l.name",
    )
    .fetch_all(pool)
    .await
    .map_err(Error::db(ctx))?;
    let mut tables = Vec::new();
    for r in &rows {
        let name: String = r.try_get_unchecked(0).map_err(Error::db(ctx))?;
        let kind: String = r.try_get_unchecked(1).map_err(Error::db(ctx))?;
        let without_rowid: i64 = r.try_get_unchecked(2).map_err(Error::db(ctx))?;
        let sql: Option<String> = r.try_get_unchecked(3).map_err(Error::db(ctx))?;
        if kind == "virtual" {
            raw.notes
                .push(format!("table {name} is a virtual table; it is left out"));
            continue;
        }
        tables.push((name, without_rowid != 0, sql.unwrap_or_default()));
    }
    for (name, without_rowid, sql) in tables {
        let ddl = parse_sqlite_ddl(&sql);
        let mut t = RawTable::default();
        let cols = sqlx::query(
            "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid",
        )
        .bind(name.clone())
        .fetch_all(pool)
        .await
        .map_err(Error::db(format!("cannot read the columns of {name}")))?;
        let mut pk: Vec<(i64, String, String)> = Vec::new();
        for c in &cols {
            let e = || Error::db(format!("cannot read the columns of {name}"));
            let col: String = c.try_get_unchecked(0).map_err(e())?;
            let decl: Option<String> = c.try_get_unchecked(1).map_err(e())?;
            let notnull: i64 = c.try_get_unchecked(2).map_err(e())?;
            let dflt: Option<String> = c.try_get_unchecked(3).map_err(e())?;
            let pk_pos: i64 = c.try_get_unchecked(4).map_err(e())?;
            let hidden: i64 = c.try_get_unchecked(5).map_err(e())?;
            if hidden == 1 {
                continue;
            }
            let decl = decl.unwrap_or_default();
            if pk_pos > 0 {
                pk.push((pk_pos, col.clone(), decl.clone()));
            }
            let generated = if hidden == 2 || hidden == 3 {
                Some(Generated::Computed(
                    ddl.computed
                        .get(&col.to_ascii_lowercase())
                        .cloned()
                        .unwrap_or_default(),
                ))
            } else {
                None
            };
            t.columns.push(RawColumn {
                ty: Ok(sqlite_type(&decl)),
                nullable: notnull == 0 && pk_pos == 0,
                default: if generated.is_some() {
                    RawDefault::None
                } else {
                    literal_default(dflt.as_deref())
                },
                generated,
                name: col,
            });
        }
        pk.sort();
        // A rowid alias: the database assigns it when the insert leaves it out.
        if let [(_, col, decl)] = pk.as_slice()
            && !without_rowid
            && decl.trim().eq_ignore_ascii_case("integer")
            && let Some(c) = t.columns.iter_mut().find(|c| &c.name == col)
        {
            c.generated = Some(Generated::Identity);
            c.default = RawDefault::None;
        }
        t.primary_key = pk.into_iter().map(|(_, c, _)| c).collect();
        t.checks = ddl.checks;

        let ictx = format!("cannot read the indexes of {name}");
        let indexes = sqlx::query(
            "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1) ORDER BY name",
        )
        .bind(name.clone())
        .fetch_all(pool)
        .await
        .map_err(Error::db(ictx.clone()))?;
        for ix in &indexes {
            let ix_name: String = ix.try_get_unchecked(0).map_err(Error::db(ictx.clone()))?;
            let unique: i64 = ix.try_get_unchecked(1).map_err(Error::db(ictx.clone()))?;
            let origin: String = ix.try_get_unchecked(2).map_err(Error::db(ictx.clone()))?;
            let partial: i64 = ix.try_get_unchecked(3).map_err(Error::db(ictx.clone()))?;
            if unique == 0 || origin == "pk" {
                continue;
            }
            if partial != 0 {
                raw.notes.push(format!(
                    "unique index {ix_name} of {name} is partial; it is left out"
                ));
                continue;
            }
            let parts = sqlx::query("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                .bind(ix_name.clone())
                .fetch_all(pool)
                .await
                .map_err(Error::db(ictx.clone()))?;
            let mut cols = Vec::new();
            for p in &parts {
                let c: Option<String> = p.try_get_unchecked(0).map_err(Error::db(ictx.clone()))?;
                cols.push(c);
            }
            match cols.into_iter().collect::<Option<Vec<String>>>() {
                Some(cols) if !cols.is_empty() => t.unique.push(cols),
                _ => raw.notes.push(format!(
                    "unique index {ix_name} of {name} is on an expression; it is left out"
                )),
            }
        }

        let fctx = format!("cannot read the foreign keys of {name}");
        let fks = sqlx::query(
            "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
        )
        .bind(name.clone())
        .fetch_all(pool)
        .await
        .map_err(Error::db(fctx.clone()))?;
        let mut current: Option<i64> = None;
        for f in &fks {
            let id: i64 = f.try_get_unchecked(0).map_err(Error::db(fctx.clone()))?;
            let target: String = f.try_get_unchecked(1).map_err(Error::db(fctx.clone()))?;
            let from: String = f.try_get_unchecked(2).map_err(Error::db(fctx.clone()))?;
            let to: Option<String> = f.try_get_unchecked(3).map_err(Error::db(fctx.clone()))?;
            if current != Some(id) {
                current = Some(id);
                t.foreign_keys.push(RawForeignKey {
                    name: format!("#{id}"),
                    columns: Vec::new(),
                    references: target,
                    outside: false,
                    ref_columns: Vec::new(),
                });
            }
            let fk = t.foreign_keys.last_mut().expect("just pushed");
            fk.columns.push(from);
            if let Some(to) = to.filter(|s| !s.is_empty()) {
                fk.ref_columns.push(to);
            }
        }
        for fk in &mut t.foreign_keys {
            if !fk.ref_columns.is_empty() && fk.ref_columns.len() != fk.columns.len() {
                fk.ref_columns.clear();
            }
        }
        raw.tables.insert(name, t);
    }
    Ok(raw)
}

/// The model type of an SQLite declared type: as written where the model knows it, else by
/// SQLite's affinity rules.
fn sqlite_type(decl: &str) -> (ColumnType, Option<String>) {
    let d = decl.trim();
    if d.is_empty() {
        return (
            ColumnType::Text,
            Some("it has no declared type and is modelled as text".into()),
        );
    }
    if let Ok(t) = d.parse::<ColumnType>() {
        return (t, None);
    }
    let u = d.to_ascii_uppercase();
    let wide = ColumnType::Numeric {
        precision: 38,
        scale: 10,
    };
    if u.contains("INT") {
        (ColumnType::BigInt, None)
    } else if u.contains("CHAR") || u.contains("CLOB") || u.contains("TEXT") {
        (ColumnType::Text, None)
    } else if u.contains("BLOB") {
        (ColumnType::Bytes, None)
    } else if u.contains("REAL") || u.contains("FLOA") || u.contains("DOUB") {
        (
            wide,
            Some(format!(
                "its type {d} is a floating-point number and is modelled as numeric(38,10)"
            )),
        )
    } else {
        (
            wide,
            Some(format!(
                "its type {d} has numeric affinity and is modelled as numeric(38,10)"
            )),
        )
    }
}

/// What the CREATE TABLE text of an SQLite table says that the pragmas do not.
#[derive(Debug, Default)]
struct SqliteDdl {
    /// Column-level and table-level CHECK clauses, in order.
    checks: Vec<RawCheck>,
    /// Expressions of computed columns, by lower-case column name.
    computed: HashMap<String, String>,
}

fn parse_sqlite_ddl(sql: &str) -> SqliteDdl {
    let c: Vec<char> = sql.chars().collect();
    let mut out = SqliteDdl::default();
    let Some(open) = find_top_level(&c, 0, c.len(), '(') else {
        return out;
    };
    let Some(close) = matching_paren(&c, open, c.len()) else {
        return out;
    };
    for (a, b) in split_top_level(&c, open + 1, close) {
        let toks = tokens(&c, a, b);
        let column = match toks.first() {
            Some(Tok::Word(w))
                if ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                None
            }
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => Some(w.clone()),
            _ => None,
        };
        let mut name: Option<String> = None;
        let mut i = 0;
        while i < toks.len() {
            match (&toks[i], toks.get(i + 1)) {
                (Tok::Word(w), Some(Tok::Word(n) | Tok::Quoted(n)))
                    if w.eq_ignore_ascii_case("CONSTRAINT") =>
                {
                    name = Some(n.clone());
                    i += 2;
                    continue;
                }
                (Tok::Word(w), Some(Tok::Group(s, e))) if w.eq_ignore_ascii_case("CHECK") => {
                    out.checks.push(RawCheck {
                        name: name.take(),
                        text: c[*s..*e].iter().collect::<String>().trim().to_owned(),
                    });
                    i += 2;
                    continue;
                }
                (Tok::Word(w), Some(Tok::Group(s, e)))
                    if w.eq_ignore_ascii_case("AS") && i > 0 && column.is_some() =>
                {
                    if let Some(col) = &column {
                        out.computed.insert(
                            col.to_ascii_lowercase(),
                            c[*s..*e].iter().collect::<String>().trim().to_owned(),
                        );
                    }
                    i += 2;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

/// The tables of the current schema, never the engine's catalog schema.
const PG_TABLES: &str = "n.nspname = current_schema() AND n.nspname <> 'atdm' \
                         AND c.relkind IN ('r', 'p') AND NOT c.relispartition";

async fn read_postgres(pool: &PgPool) -> Result<Raw, Error> {
    let mut raw = Raw::default();
    let ctx = "cannot read the PostgreSQL catalog";
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {PG_TABLES} ORDER BY c.relname"
    )))
    .fetch_all(pool)
    .await
    .map_err(Error::db(ctx))?;
    for r in &rows {
        let name: String = r.try_get(0).map_err(Error::db(ctx))?;
        raw.tables.insert(name, RawTable::default());
    }

    // Enumeration labels, in sort order, by type.
    let rows = sqlx::query(
        "SELECT e.enumtypid::int8, e.enumlabel::text FROM pg_enum e ORDER BY e.enumtypid, e.enumsortorder",
    )
    .fetch_all(pool)
    .await
    .map_err(Error::db(ctx))?;
    let mut enums: HashMap<i64, Vec<String>> = HashMap::new();
    for r in &rows {
        let oid: i64 = r.try_get(0).map_err(Error::db(ctx))?;
        let label: String = r.try_get(1).map_err(Error::db(ctx))?;
        enums.entry(oid).or_default().push(label);
    }

    let cctx = "cannot read the columns";
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT c.relname::text, a.attname::text, a.attnotnull, a.attidentity::text, \
                a.attgenerated::text, pg_get_expr(d.adbin, d.adrelid), \
                bt.typname::text, bt.typtype::text, bt.typcategory::text, bt.oid::int8, \
                format_type(bt.oid, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END), \
                t.typtype = 'd', t.typname::text, \
                pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) IS NOT NULL \
         FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_type t ON t.oid = a.atttypid \
         JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE {PG_TABLES} AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY c.relname, a.attnum"
    )))
    .fetch_all(pool)
    .await
    .map_err(Error::db(cctx))?;
    for r in &rows {
        let e = || Error::db(cctx);
        let table: String = r.try_get(0).map_err(e())?;
        let col: String = r.try_get(1).map_err(e())?;
        let not_null: bool = r.try_get(2).map_err(e())?;
        let identity: String = r.try_get(3).map_err(e())?;
        let computed: String = r.try_get(4).map_err(e())?;
        let default: Option<String> = r.try_get(5).map_err(e())?;
        let typname: String = r.try_get(6).map_err(e())?;
        let typtype: String = r.try_get(7).map_err(e())?;
        let category: String = r.try_get(8).map_err(e())?;
        let type_oid: i64 = r.try_get(9).map_err(e())?;
        let formatted: Option<String> = r.try_get(10).map_err(e())?;
        let is_domain: bool = r.try_get(11).map_err(e())?;
        let declared: String = r.try_get(12).map_err(e())?;
        let owns_sequence: bool = r.try_get(13).map_err(e())?;
        let formatted = formatted.unwrap_or_else(|| typname.clone());
        let mut ty = pg_type(
            &typname,
            &typtype,
            &category,
            &formatted,
            enums.get(&type_oid),
        );
        if is_domain {
            ty = match ty {
                Ok((t, note)) => Ok((
                    t,
                    Some(
                        note.map(|n| format!("{n}; ")).unwrap_or_default()
                            + &format!(
                                "it uses domain {declared}, modelled as its base type {formatted} (the domain's own checks are not read)"
                            ),
                    ),
                )),
                Err(_) => Err(format!("{declared} (a domain over {formatted})")),
            };
        }
        let (generated, default) = if !computed.is_empty() {
            (
                Some(Generated::Computed(default.unwrap_or_default())),
                RawDefault::None,
            )
        } else if !identity.is_empty() {
            (Some(Generated::Identity), RawDefault::None)
        } else {
            match default {
                Some(d) if owns_sequence && d.trim_start().starts_with("nextval(") => {
                    (Some(Generated::Identity), RawDefault::None)
                }
                Some(d) => (None, pg_default(&d)),
                None => (None, RawDefault::None),
            }
        };
        if let Some(t) = raw.table(&table) {
            t.columns.push(RawColumn {
                name: col,
                ty,
                nullable: !not_null,
                default,
                generated,
            });
        }
    }

    let kctx = "cannot read the primary keys";
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT c.relname::text, a.attname::text \
         FROM pg_constraint con \
         JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
         WHERE con.contype = 'p' AND {PG_TABLES} \
         ORDER BY c.relname, k.ord"
    )))
    .fetch_all(pool)
    .await
    .map_err(Error::db(kctx))?;
    for r in &rows {
        let table: String = r.try_get(0).map_err(Error::db(kctx))?;
        let col: String = r.try_get(1).map_err(Error::db(kctx))?;
        if let Some(t) = raw.table(&table) {
            t.primary_key.push(col);
        }
    }

    // Unique constraints are backed by unique indexes, so the indexes give both.
    let uctx = "cannot read the unique indexes";
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT c.relname::text, ic.relname::text, i.indpred IS NOT NULL, a.attname::text \
         FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_class ic ON ic.oid = i.indexrelid \
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
         LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0 \
         WHERE i.indisunique AND NOT i.indisprimary AND k.ord <= i.indnkeyatts AND {PG_TABLES} \
         ORDER BY c.relname, ic.relname, k.ord"
    )))
    .fetch_all(pool)
    .await
    .map_err(Error::db(uctx))?;
    let mut unique: UniqueIndexes = BTreeMap::new();
    for r in &rows {
        let table: String = r.try_get(0).map_err(Error::db(uctx))?;
        let index: String = r.try_get(1).map_err(Error::db(uctx))?;
        let partial: bool = r.try_get(2).map_err(Error::db(uctx))?;
        let col: Option<String> = r.try_get(3).map_err(Error::db(uctx))?;
        let entry = unique
            .entry((table, index))
            .or_insert((partial, Vec::new()));
        entry.1.push(col);
    }
    add_unique_indexes(&mut raw, unique);

    let fctx = "cannot read the foreign keys";
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT c.relname::text, con.conname::text, rn.nspname = n.nspname, rc.relname::text, \
                a.attname::text, ra.attname::text \
         FROM pg_constraint con \
         JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_class rc ON rc.oid = con.confrelid \
         JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
         CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, refnum, ord) \
         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
         JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.refnum \
         WHERE con.contype = 'f' AND {PG_TABLES} \
         ORDER BY c.relname, con.conname, k.ord"
    )))
    .fetch_all(pool)
    .await
    .map_err(Error::db(fctx))?;
    for r in &rows {
        let e = || Error::db(fctx);
        let table: String = r.try_get(0).map_err(e())?;
        let name: String = r.try_get(1).map_err(e())?;
        let same_schema: bool = r.try_get(2).map_err(e())?;
        let target: String = r.try_get(3).map_err(e())?;
        let col: String = r.try_get(4).map_err(e())?;
        let ref_col: String = r.try_get(5).map_err(e())?;
        if let Some(t) = raw.table(&table) {
            push_fk_column(t, name, target, !same_schema, col, ref_col);
        }
    }

    let chctx = "cannot read the check constraints";
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT c.relname::text, con.conname::text, pg_get_constraintdef(con.oid) \
         FROM pg_constraint con \
         JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE con.contype = 'c' AND {PG_TABLES} \
         ORDER BY c.relname, con.conname"
    )))
    .fetch_all(pool)
    .await
    .map_err(Error::db(chctx))?;
    for r in &rows {
        let table: String = r.try_get(0).map_err(Error::db(chctx))?;
        let name: String = r.try_get(1).map_err(Error::db(chctx))?;
        let def: Option<String> = r.try_get(2).map_err(Error::db(chctx))?;
        let def = def.unwrap_or_default();
        let Some(t) = raw.tables.get_mut(&table) else {
            continue;
        };
        match check_body(&def) {
            Some(text) => t.checks.push(RawCheck {
                name: Some(name),
                text,
            }),
            None => raw.notes.push(format!(
                "check {name} of {table} ({def}) cannot be read; it is left out, and the database still enforces it"
            )),
        }
    }
    Ok(raw)
}

/// The model type of a PostgreSQL column (`typname` and `typtype` of its base type).
fn pg_type(
    typname: &str,
    typtype: &str,
    category: &str,
    formatted: &str,
    enum_values: Option<&Vec<String>>,
) -> Result<(ColumnType, Option<String>), String> {
    let args = paren_args(formatted);
    let ty = match (typtype, typname) {
        ("e", _) => match enum_values {
            Some(values) if !values.is_empty() => ColumnType::Enum {
                name: Some(typname.to_owned()),
                values: values.clone(),
            },
            _ => return Err(format!("{formatted} (an enumeration without values)")),
        },
        _ if category == "A" => return Err(formatted.to_owned()),
        ("b", "text" | "citext") => ColumnType::Text,
        ("b", "varchar") => match args.first() {
            Some(n) => ColumnType::Varchar(*n),
            None => ColumnType::Text,
        },
        ("b", "bpchar") => ColumnType::Varchar(args.first().copied().unwrap_or(1)),
        ("b", "int2" | "int4") => ColumnType::Integer,
        ("b", "int8") => ColumnType::BigInt,
        ("b", "numeric") => return Ok(numeric(args.first().copied(), args.get(1).copied())),
        ("b", "bool") => ColumnType::Boolean,
        ("b", "date") => ColumnType::Date,
        ("b", "timestamp") => ColumnType::Timestamp,
        ("b", "timestamptz") => ColumnType::TimestampTz,
        ("b", "uuid") => ColumnType::Uuid,
        ("b", "json" | "jsonb") => ColumnType::Json,
        ("b", "bytea") => ColumnType::Bytes,
        _ => return Err(formatted.to_owned()),
    };
    Ok((ty, None))
}

/// A numeric type of the given precision and scale (unconstrained: `numeric(38,10)`).
fn numeric(precision: Option<u32>, scale: Option<u32>) -> (ColumnType, Option<String>) {
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

/// A PostgreSQL default expression (as `pg_get_expr` prints it).
fn pg_default(expr: &str) -> RawDefault {
    let e = expr.trim();
    let inner = strip_outer_parens(e);
    if let Some((text, rest)) = leading_string_literal(inner) {
        if is_cast_chain(rest) {
            return RawDefault::Literal {
                text,
                sql: e.to_owned(),
            };
        }
        return RawDefault::Expr(e.to_owned());
    }
    let (head, rest) = split_cast(inner);
    let head = strip_outer_parens(head.trim());
    if is_cast_chain(rest) {
        if head.eq_ignore_ascii_case("null") {
            return RawDefault::None;
        }
        if is_number(head)
            || head.eq_ignore_ascii_case("true")
            || head.eq_ignore_ascii_case("false")
        {
            return RawDefault::Literal {
                text: head.to_ascii_lowercase(),
                sql: e.to_owned(),
            };
        }
    }
    RawDefault::Expr(e.to_owned())
}

// ---------------------------------------------------------------------------------------
// MySQL and MariaDB

async fn read_mysql(pool: &MySqlPool) -> Result<Raw, Error> {
    let mut raw = Raw::default();
    let ctx = "cannot read the MySQL catalog";
    let row = sqlx::query("SELECT VERSION(), DATABASE()")
        .fetch_one(pool)
        .await
        .map_err(Error::db(ctx))?;
    let version: Option<String> = row.try_get_unchecked(0).map_err(Error::db(ctx))?;
    let database: Option<String> = row.try_get_unchecked(1).map_err(Error::db(ctx))?;
    let mariadb = version
        .unwrap_or_default()
        .to_ascii_lowercase()
        .contains("mariadb");
    let Some(database) = database else {
        return Err(Error::Database {
            context: ctx.into(),
            message: "the URL names no database (add one: mysql://user@host/database)".into(),
        });
    };

    let rows = sqlx::query(
        "SELECT TABLE_NAME FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') \
         AND TABLE_NAME NOT IN ('atdm_runs', 'atdm_ledger') ORDER BY TABLE_NAME",
    )
    .fetch_all(pool)
    .await
    .map_err(Error::db(ctx))?;
    for r in &rows {
        let name: Option<String> = r.try_get_unchecked(0).map_err(Error::db(ctx))?;
        if let Some(name) = name {
            raw.tables.insert(name, RawTable::default());
        }
    }

    let cctx = "cannot read the columns";
    let rows = sqlx::query(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, COLUMN_TYPE, \
                CAST(CHARACTER_MAXIMUM_LENGTH AS SIGNED), CAST(NUMERIC_PRECISION AS SIGNED), \
                CAST(NUMERIC_SCALE AS SIGNED), EXTRA, GENERATION_EXPRESSION \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
         ORDER BY TABLE_NAME, ORDINAL_POSITION",
    )
    .fetch_all(pool)
    .await
    .map_err(Error::db(cctx))?;
    for r in &rows {
        let e = || Error::db(cctx);
        let table: Option<String> = r.try_get_unchecked(0).map_err(e())?;
        let col: Option<String> = r.try_get_unchecked(1).map_err(e())?;
        let default: Option<String> = r.try_get_unchecked(2).map_err(e())?;
        let nullable: Option<String> = r.try_get_unchecked(3).map_err(e())?;
        let data_type: Option<String> = r.try_get_unchecked(4).map_err(e())?;
        let column_type: Option<String> = r.try_get_unchecked(5).map_err(e())?;
        let length: Option<i64> = r.try_get_unchecked(6).map_err(e())?;
        let precision: Option<i64> = r.try_get_unchecked(7).map_err(e())?;
        let scale: Option<i64> = r.try_get_unchecked(8).map_err(e())?;
        let extra: Option<String> = r.try_get_unchecked(9).map_err(e())?;
        let generation: Option<String> = r.try_get_unchecked(10).map_err(e())?;
        let (Some(table), Some(col)) = (table, col) else {
            continue;
        };
        let Some(t) = raw.tables.get_mut(&table) else {
            continue;
        };
        let extra = extra.unwrap_or_default().to_ascii_lowercase();
        let ty = mysql_type(
            &data_type.unwrap_or_default(),
            &column_type.unwrap_or_default(),
            length,
            precision,
            scale,
        );
        let (generated, default) = match generation.filter(|g| !g.trim().is_empty()) {
            Some(expr) => (Some(Generated::Computed(expr)), RawDefault::None),
            None if extra.contains("auto_increment") => {
                (Some(Generated::Identity), RawDefault::None)
            }
            None => (None, mysql_default(default.as_deref(), &extra, mariadb)),
        };
        t.columns.push(RawColumn {
            name: col,
            ty,
            nullable: nullable.as_deref() == Some("YES"),
            default,
            generated,
        });
    }

    // Primary keys and unique indexes (unique constraints are unique indexes).
    let kctx = "cannot read the keys";
    let rows = sqlx::query(
        "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, CAST(SUB_PART AS SIGNED) \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND NON_UNIQUE = 0 \
         ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
    )
    .fetch_all(pool)
    .await
    .map_err(Error::db(kctx))?;
    let mut unique: UniqueIndexes = BTreeMap::new();
    for r in &rows {
        let e = || Error::db(kctx);
        let table: Option<String> = r.try_get_unchecked(0).map_err(e())?;
        let index: Option<String> = r.try_get_unchecked(1).map_err(e())?;
        let col: Option<String> = r.try_get_unchecked(2).map_err(e())?;
        let sub_part: Option<i64> = r.try_get_unchecked(3).map_err(e())?;
        let (Some(table), Some(index)) = (table, index) else {
            continue;
        };
        if index == "PRIMARY" {
            if let (Some(t), Some(col)) = (raw.tables.get_mut(&table), col) {
                t.primary_key.push(col);
            }
            continue;
        }
        let entry = unique.entry((table, index)).or_insert((false, Vec::new()));
        // A prefix index is unique on the prefix only: not a unique constraint of the column.
        entry.1.push(if sub_part.is_some() { None } else { col });
    }
    add_unique_indexes(&mut raw, unique);

    let fctx = "cannot read the foreign keys";
    let rows = sqlx::query(
        "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, \
                REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME \
         FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
    )
    .fetch_all(pool)
    .await
    .map_err(Error::db(fctx))?;
    for r in &rows {
        let e = || Error::db(fctx);
        let table: Option<String> = r.try_get_unchecked(0).map_err(e())?;
        let name: Option<String> = r.try_get_unchecked(1).map_err(e())?;
        let col: Option<String> = r.try_get_unchecked(2).map_err(e())?;
        let ref_schema: Option<String> = r.try_get_unchecked(3).map_err(e())?;
        let target: Option<String> = r.try_get_unchecked(4).map_err(e())?;
        let ref_col: Option<String> = r.try_get_unchecked(5).map_err(e())?;
        let (Some(table), Some(name), Some(col), Some(target), Some(ref_col)) =
            (table, name, col, target, ref_col)
        else {
            continue;
        };
        let outside = ref_schema.is_some_and(|s| s != database);
        if let Some(t) = raw.tables.get_mut(&table) {
            push_fk_column(t, name, target, outside, col, ref_col);
        }
    }

    // MySQL names check constraints per schema (CHECK_CONSTRAINTS has no table column);
    // MariaDB names them per table and has the table column.
    let sql = if mariadb {
        "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME"
    } else {
        "SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE \
         FROM information_schema.CHECK_CONSTRAINTS cc \
         JOIN information_schema.TABLE_CONSTRAINTS tc ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA \
              AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK' \
         WHERE cc.CONSTRAINT_SCHEMA = DATABASE() ORDER BY tc.TABLE_NAME, cc.CONSTRAINT_NAME"
    };
    match sqlx::query(sql).fetch_all(pool).await {
        Err(e) => raw.notes.push(format!(
            "check constraints could not be read ({}); none is modelled, and the database still enforces them",
            crate::error::db_message(&e)
        )),
        Ok(rows) => {
            let chctx = "cannot read the check constraints";
            for r in &rows {
                let table: Option<String> = r.try_get_unchecked(0).map_err(Error::db(chctx))?;
                let name: Option<String> = r.try_get_unchecked(1).map_err(Error::db(chctx))?;
                let clause: Option<String> = r.try_get_unchecked(2).map_err(Error::db(chctx))?;
                let (Some(table), Some(clause)) = (table, clause) else {
                    continue;
                };
                let Some(t) = raw.tables.get_mut(&table) else {
                    continue;
                };
                // MariaDB's JSON is LONGTEXT with a json_valid(col) check.
                if let Some(c) = json_valid_column(&clause)
                    .and_then(|c| t.columns.iter_mut().find(|x| x.name.eq_ignore_ascii_case(&c)))
                    && matches!(c.ty, Ok((ColumnType::Text, _)))
                {
                    c.ty = Ok((ColumnType::Json, None));
                    continue;
                }
                t.checks.push(RawCheck {
                    name,
                    text: strip_charset_introducers(&clause),
                });
            }
        }
    }
    Ok(raw)
}

/// The model type of a MySQL/MariaDB column.
fn mysql_type(
    data_type: &str,
    column_type: &str,
    length: Option<i64>,
    precision: Option<i64>,
    scale: Option<i64>,
) -> Result<(ColumnType, Option<String>), String> {
    let dt = data_type.to_ascii_lowercase();
    let ct = column_type.to_ascii_lowercase();
    let unsigned = ct.contains("unsigned");
    let ty = match dt.as_str() {
        "char" | "varchar" => match length.and_then(|n| u32::try_from(n).ok()) {
            Some(n) => ColumnType::Varchar(n),
            None => ColumnType::Text,
        },
        "tinytext" | "text" | "mediumtext" | "longtext" => ColumnType::Text,
        "tinyint" if ct.starts_with("tinyint(1)") => ColumnType::Boolean,
        "bool" | "boolean" => ColumnType::Boolean,
        "tinyint" | "smallint" | "mediumint" => ColumnType::Integer,
        "int" | "integer" if unsigned => ColumnType::BigInt,
        "int" | "integer" => ColumnType::Integer,
        "bigint" => ColumnType::BigInt,
        "decimal" | "numeric" => {
            return Ok(numeric(
                precision.and_then(|p| u32::try_from(p).ok()),
                scale.and_then(|s| u32::try_from(s).ok()),
            ));
        }
        "date" => ColumnType::Date,
        "datetime" => ColumnType::Timestamp,
        "timestamp" => ColumnType::TimestampTz,
        "json" => ColumnType::Json,
        "uuid" => ColumnType::Uuid,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
            ColumnType::Bytes
        }
        "enum" => match mysql_enum_values(column_type) {
            Some(values) if !values.is_empty() => ColumnType::Enum { name: None, values },
            _ => return Err(column_type.to_owned()),
        },
        _ => {
            return Err(if column_type.is_empty() {
                data_type.to_owned()
            } else {
                column_type.to_owned()
            });
        }
    };
    Ok((ty, None))
}

/// The values of `enum('a','b''c')`.
fn mysql_enum_values(column_type: &str) -> Option<Vec<String>> {
    let open = column_type.find('(')?;
    let close = column_type.rfind(')')?;
    let mut rest = column_type.get(open + 1..close)?.trim();
    let mut values = Vec::new();
    while !rest.is_empty() {
        let (v, after) = leading_string_literal(rest)?;
        values.push(v);
        rest = after.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        if !rest.is_empty() && !rest.starts_with('\'') {
            return None;
        }
    }
    Some(values)
}

/// A MySQL/MariaDB `COLUMN_DEFAULT`. MariaDB quotes literal strings, prints `NULL` for no
/// default and expressions as written; MySQL prints literals unquoted and marks expressions
/// with `DEFAULT_GENERATED` in `EXTRA`.
fn mysql_default(raw: Option<&str>, extra: &str, mariadb: bool) -> RawDefault {
    let Some(d) = raw else {
        return RawDefault::None;
    };
    if mariadb {
        return literal_default(Some(d));
    }
    let t = d.trim();
    let lower = t.to_ascii_lowercase();
    if extra.contains("default_generated") || lower.starts_with("current_timestamp") {
        return if lower.starts_with("current_timestamp") || t.starts_with('(') {
            RawDefault::Expr(t.to_owned())
        } else {
            RawDefault::Expr(format!("({t})"))
        };
    }
    RawDefault::Literal {
        text: d.to_owned(),
        sql: format!("'{}'", d.replace('\'', "''")),
    }
}

/// `col` when a check clause is exactly `json_valid(col)`.
fn json_valid_column(clause: &str) -> Option<String> {
    let squeezed: String = clause
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '`' && *c != '"')
        .collect();
    let mut s = squeezed.as_str();
    while let Some(inner) = s.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        s = inner;
    }
    let lower = s.to_ascii_lowercase();
    let inner = lower.strip_prefix("json_valid(")?.strip_suffix(')')?;
    (!inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$'))
    .then(|| s["json_valid(".len()..s.len() - 1].to_owned())
}

/// Removes MySQL's character-set introducers (`_utf8mb4'x'` becomes `'x'`) outside literals.
fn strip_charset_introducers(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '\'' | '`' | '"' => {
                let end = skip_quoted(&c, i, c.len());
                out.extend(&c[i..end]);
                i = end;
            }
            '_' if i == 0 || !(c[i - 1].is_alphanumeric() || c[i - 1] == '_') => {
                let mut j = i + 1;
                while j < c.len() && c[j].is_ascii_alphanumeric() {
                    j += 1;
                }
                if j > i + 1 && c.get(j) == Some(&'\'') {
                    i = j;
                } else {
                    out.push('_');
                    i += 1;
                }
            }
            ch => {
                out.push(ch);
                i += 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Shared by the readers

fn push_fk_column(
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
type UniqueIndexes = BTreeMap<(String, String), (bool, Vec<Option<String>>)>;

/// Adds unique indexes (by table and index name: partial or not, and the key columns, `None`
/// for an expression) to their tables; partial and expression indexes become notes.
fn add_unique_indexes(raw: &mut Raw, unique: UniqueIndexes) {
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

/// A default as SQLite and MariaDB print it: a quoted string, a number, a boolean, `NULL`, or
/// an expression.
fn literal_default(d: Option<&str>) -> RawDefault {
    let Some(d) = d else {
        return RawDefault::None;
    };
    let e = d.trim();
    let inner = strip_outer_parens(e);
    if inner.is_empty() || inner.eq_ignore_ascii_case("null") {
        return RawDefault::None;
    }
    if let Some((text, rest)) = leading_string_literal(inner) {
        if rest.trim().is_empty() {
            return RawDefault::Literal {
                text,
                sql: e.to_owned(),
            };
        }
        return RawDefault::Expr(e.to_owned());
    }
    if is_number(inner) || inner.eq_ignore_ascii_case("true") || inner.eq_ignore_ascii_case("false")
    {
        return RawDefault::Literal {
            text: inner.to_ascii_lowercase(),
            sql: e.to_owned(),
        };
    }
    RawDefault::Expr(e.to_owned())
}

/// `(x)` becomes `x`, as often as the parentheses wrap the whole text.
fn strip_outer_parens(s: &str) -> &str {
    let mut s = s.trim();
    loop {
        let c: Vec<char> = s.chars().collect();
        if c.first() == Some(&'(') && matching_paren(&c, 0, c.len()) == Some(c.len() - 1) {
            s = s[1..s.len() - 1].trim();
        } else {
            return s;
        }
    }
}

/// A leading `'...'` literal (with `''` for a quote) and the text after it.
fn leading_string_literal(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    if chars.next()?.1 != '\'' {
        return None;
    }
    let mut out = String::new();
    let mut pending_quote: Option<usize> = None;
    for (i, ch) in chars {
        if let Some(q) = pending_quote.take() {
            if ch == '\'' {
                out.push('\'');
                continue;
            }
            return Some((out, &s[q + 1..]));
        }
        if ch == '\'' {
            pending_quote = Some(i);
        } else {
            out.push(ch);
        }
    }
    pending_quote.map(|q| (out, &s[q + 1..]))
}

/// Splits `x::type...` at its first top-level `::` (outside literals).
fn split_cast(s: &str) -> (&str, &str) {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut depth = 0usize;
    while i < c.len() {
        if let Some(j) = skip_non_code(&c, i, c.len()) {
            i = j;
            continue;
        }
        match c[i] {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ':' if depth == 0 && c.get(i + 1) == Some(&':') => {
                let byte = c[..i].iter().map(|ch| ch.len_utf8()).sum::<usize>();
                return (&s[..byte], &s[byte..]);
            }
            _ => {}
        }
        i += 1;
    }
    (s, "")
}

/// Whether `s` is empty or only casts (`::text`, `::character varying`, `::"my type"`).
fn is_cast_chain(s: &str) -> bool {
    let s = s.trim();
    if s.is_empty() {
        return true;
    }
    let Some(rest) = s.strip_prefix("::") else {
        return false;
    };
    rest.split("::").all(|part| {
        let p = part.trim();
        !p.is_empty()
            && p.chars().all(|c| {
                c.is_alphanumeric()
                    || matches!(c, '_' | ' ' | '.' | '"' | '(' | ')' | '[' | ']' | ',')
            })
    })
}

fn is_number(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_prefix(['-', '+']).unwrap_or(s).trim_start();
    let mut digits = 0;
    let mut dots = 0;
    for c in s.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' => dots += 1,
            _ => return false,
        }
    }
    digits > 0 && dots <= 1
}

/// The numbers in the parentheses of a formatted type (`numeric(8,2)` gives 8 and 2).
fn paren_args(formatted: &str) -> Vec<u32> {
    let (Some(open), Some(close)) = (formatted.find('('), formatted.find(')')) else {
        return Vec::new();
    };
    if close < open {
        return Vec::new();
    }
    formatted[open + 1..close]
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

/// The expression of `CHECK (expr) [NOT VALID]`.
fn check_body(def: &str) -> Option<String> {
    let c: Vec<char> = def.chars().collect();
    let toks = tokens(&c, 0, c.len());
    match toks.as_slice() {
        [Tok::Word(w), Tok::Group(s, e), ..] if w.eq_ignore_ascii_case("CHECK") => {
            Some(c[*s..*e].iter().collect::<String>().trim().to_owned())
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// A small SQL scanner: literals, quoted identifiers, comments and balanced parentheses.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A bare word.
    Word(String),
    /// A quoted identifier, unquoted.
    Quoted(String),
    /// A parenthesised group: the char range of its content.
    Group(usize, usize),
    /// A string literal.
    Str,
    /// Anything else.
    Other,
}

/// The end (exclusive) of a quoted run starting at `i` (`'...'`, `"..."`, `` `...` ``,
/// `[...]`), doubled quotes included; `limit` when unterminated.
fn skip_quoted(c: &[char], i: usize, limit: usize) -> usize {
    let close = match c[i] {
        '[' => ']',
        q => q,
    };
    let mut j = i + 1;
    while j < limit {
        if c[j] == close {
            if close != ']' && j + 1 < limit && c[j + 1] == close {
                j += 2;
                continue;
            }
            return j + 1;
        }
        if c[j] == '\\' && close == '\'' && j + 1 < limit {
            j += 2;
            continue;
        }
        j += 1;
    }
    limit
}

/// If a literal, quoted identifier or comment starts at `i`, the index after it.
fn skip_non_code(c: &[char], i: usize, limit: usize) -> Option<usize> {
    match c[i] {
        '\'' | '"' | '`' | '[' => Some(skip_quoted(c, i, limit)),
        '-' if i + 1 < limit && c[i + 1] == '-' => {
            let mut j = i + 2;
            while j < limit && c[j] != '\n' {
                j += 1;
            }
            Some(j)
        }
        '/' if i + 1 < limit && c[i + 1] == '*' => {
            let mut j = i + 2;
            while j + 1 < limit && !(c[j] == '*' && c[j + 1] == '/') {
                j += 1;
            }
            Some((j + 2).min(limit))
        }
        _ => None,
    }
}

/// The index of the `)` closing the `(` at `open`.
fn matching_paren(c: &[char], open: usize, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < limit {
        if let Some(j) = skip_non_code(c, i, limit) {
            i = j;
            continue;
        }
        match c[i] {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The first `ch` outside literals, quoted identifiers and comments.
fn find_top_level(c: &[char], from: usize, limit: usize, ch: char) -> Option<usize> {
    let mut i = from;
    while i < limit {
        if let Some(j) = skip_non_code(c, i, limit) {
            i = j;
            continue;
        }
        if c[i] == ch {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The comma-separated parts of `c[a..b]`, commas inside parentheses aside.
fn split_top_level(c: &[char], a: usize, b: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = a;
    let mut i = a;
    while i < b {
        if let Some(j) = skip_non_code(c, i, b) {
            i = j;
            continue;
        }
        match c[i] {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push((start, b));
    out
}

/// The top-level tokens of `c[a..b]`.
fn tokens(c: &[char], a: usize, b: usize) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = a;
    while i < b {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        match ch {
            '\'' => {
                i = skip_quoted(c, i, b);
                out.push(Tok::Str);
            }
            '"' | '`' | '[' => {
                let end = skip_quoted(c, i, b);
                let close = if ch == '[' { ']' } else { ch };
                let inner_end = if end > i + 1 && c[end - 1] == close {
                    end - 1
                } else {
                    end
                };
                let text: String = c[i + 1..inner_end].iter().collect();
                let doubled: String = [close, close].iter().collect();
                out.push(Tok::Quoted(if ch == '[' {
                    text
                } else {
                    text.replace(&doubled, &close.to_string())
                }));
                i = end;
            }
            '-' if i + 1 < b && c[i + 1] == '-' => {
                i = skip_non_code(c, i, b).unwrap_or(b);
            }
            '/' if i + 1 < b && c[i + 1] == '*' => {
                i = skip_non_code(c, i, b).unwrap_or(b);
            }
            '(' => {
                let close = matching_paren(c, i, b).unwrap_or(b);
                out.push(Tok::Group(i + 1, close));
                i = close + 1;
            }
            _ if ch.is_alphanumeric() || ch == '_' || ch == '$' => {
                let start = i;
                while i < b && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '$') {
                    i += 1;
                }
                out.push(Tok::Word(c[start..i].iter().collect()));
            }
            _ => {
                out.push(Tok::Other);
                i += 1;
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_read_as_literals_or_expressions() {
        let lit = |t: &str| RawDefault::Literal {
            text: t.into(),
            sql: String::new(),
        };
        let strip = |d: RawDefault| match d {
            RawDefault::Literal { text, .. } => lit(&text),
            other => other,
        };
        assert_eq!(strip(pg_default("'active'::text")), lit("active"));
        assert_eq!(strip(pg_default("'it''s'::character varying")), lit("it's"));
        assert_eq!(strip(pg_default("0")), lit("0"));
        assert_eq!(strip(pg_default("'-1'::integer")), lit("-1"));
        assert_eq!(strip(pg_default("(-1)")), lit("-1"));
        assert_eq!(strip(pg_default("true")), lit("true"));
        assert_eq!(pg_default("NULL::text"), RawDefault::None);
        assert_eq!(pg_default("now()"), RawDefault::Expr("now()".into()));
        assert_eq!(
            pg_default("('now'::text)::date"),
            RawDefault::Expr("('now'::text)::date".into())
        );
        assert_eq!(
            pg_default("'a'::text || 'b'::text"),
            RawDefault::Expr("'a'::text || 'b'::text".into())
        );
        assert_eq!(strip(literal_default(Some("'basic'"))), lit("basic"));
        assert_eq!(literal_default(Some("NULL")), RawDefault::None);
        assert_eq!(
            literal_default(Some("current_timestamp(6)")),
            RawDefault::Expr("current_timestamp(6)".into())
        );
        assert_eq!(strip(literal_default(Some("TRUE"))), lit("true"));
        assert_eq!(
            strip(mysql_default(Some("active"), "", false)),
            lit("active")
        );
        assert_eq!(
            mysql_default(Some("rand()"), "default_generated", false),
            RawDefault::Expr("(rand())".into())
        );
    }

    #[test]
    fn sqlite_ddl_gives_checks_and_computed_columns() {
        let ddl = parse_sqlite_ddl(
            "CREATE TABLE \"t(x)\" (\n  a TEXT DEFAULT 'CHECK (no)' CHECK (a IN ('x', 'y)')), -- CHECK (c)\n  \
             b INTEGER CONSTRAINT ck_b CHECK ((b > 0)),\n  check_me INTEGER,\n  \
             c INTEGER GENERATED ALWAYS AS (b * 2) STORED,\n  CHECK (b < 10), CONSTRAINT \"ck two\" CHECK (a <> 'z')\n)",
        );
        let checks: Vec<(Option<&str>, &str)> = ddl
            .checks
            .iter()
            .map(|c| (c.name.as_deref(), c.text.as_str()))
            .collect();
        assert_eq!(
            checks,
            [
                (None, "a IN ('x', 'y)')"),
                (Some("ck_b"), "(b > 0)"),
                (None, "b < 10"),
                (Some("ck two"), "a <> 'z'"),
            ]
        );
        assert_eq!(ddl.computed.get("c").map(String::as_str), Some("b * 2"));
    }

    #[test]
    fn mysql_details() {
        assert_eq!(
            strip_charset_introducers("(`tier` in (_utf8mb4'basic',_utf8mb4'go''ld'))"),
            "(`tier` in ('basic','go''ld'))"
        );
        assert_eq!(
            strip_charset_introducers("`my_col` = '_x'"),
            "`my_col` = '_x'"
        );
        assert_eq!(
            json_valid_column("json_valid(`meta`)").as_deref(),
            Some("meta")
        );
        assert_eq!(json_valid_column("json_valid(`meta`) and 1"), None);
        assert_eq!(
            mysql_enum_values("enum('low','it''s','a,b')"),
            Some(vec!["low".to_owned(), "it's".to_owned(), "a,b".to_owned()])
        );
        assert_eq!(
            mysql_type("tinyint", "tinyint(1)", None, Some(3), Some(0)),
            Ok((ColumnType::Boolean, None))
        );
        assert_eq!(
            mysql_type("timestamp", "timestamp(6)", None, None, None),
            Ok((ColumnType::TimestampTz, None))
        );
        assert!(mysql_type("geometry", "geometry", None, None, None).is_err());
        assert_eq!(
            check_body("CHECK ((a > 0)) NOT VALID").as_deref(),
            Some("(a > 0)")
        );
    }
}
