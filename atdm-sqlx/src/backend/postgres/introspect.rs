//! Introspection of PostgreSQL: `pg_catalog` read into the raw model.
//!
//! Every table of every non-system schema is read (the caller's choice of schemas is applied
//! when the model is built). Partitions are read as their root table: their foreign keys,
//! triggers and bounds belong to it.

use std::collections::{BTreeMap, HashMap};

use atdm_core::schema::{ColumnType, Dialect, Generated};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use crate::error::Error;
use crate::introspect::*;

/// Each table and partition of a user schema (`oid`), with the schema and name of its root
/// table (`sch`, `tab`) and whether it is a partition (`part`). User schemas are all but the
/// system ones (`pg_*`, `information_schema`) and the engine's `atdm`; tables that belong to
/// an extension are left out.
const REL: &str = "rel AS ( \
    SELECT c.oid, rn.nspname::text AS sch, r.relname::text AS tab, c.relispartition AS part, \
           c.relname::text AS own \
    FROM pg_class c \
    JOIN pg_class r ON r.oid = CASE WHEN c.relispartition THEN pg_partition_root(c.oid) ELSE c.oid END \
    JOIN pg_namespace rn ON rn.oid = r.relnamespace \
    WHERE c.relkind IN ('r', 'p') \
      AND rn.nspname NOT LIKE 'pg\\_%' AND rn.nspname NOT IN ('information_schema', 'atdm') \
      AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = 'pg_class'::regclass \
                      AND dep.objid = r.oid AND dep.deptype = 'e'))";

/// Domains with the chain of types down to their base type: (`top`, `cur`) for each domain
/// `top` and each type `cur` on its way down, with the type modifier that applies.
const CHAIN: &str = "chain(top, cur, typmod) AS ( \
    SELECT t.oid, t.oid, t.typtypmod FROM pg_type t WHERE t.typtype = 'd' \
    UNION ALL \
    SELECT ch.top, t.typbasetype, CASE WHEN ch.typmod >= 0 THEN ch.typmod ELSE t.typtypmod END \
    FROM chain ch JOIN pg_type t ON t.oid = ch.cur WHERE t.typtype = 'd'), \
  dombase AS (SELECT ch.top, ch.cur AS base, ch.typmod FROM chain ch \
    JOIN pg_type t ON t.oid = ch.cur WHERE t.typtype <> 'd')";

async fn fetch(pool: &PgPool, sql: String, ctx: &str) -> Result<Vec<PgRow>, Error> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(Error::db(ctx))
}

pub(super) async fn read(pool: &PgPool) -> Result<Raw, Error> {
    let mut raw = Raw {
        has_schemas: true,
        ..Raw::default()
    };
    let ctx = "cannot read the PostgreSQL catalog";
    let row = sqlx::query("SELECT current_schema()::text")
        .fetch_one(pool)
        .await
        .map_err(Error::db(ctx))?;
    raw.current_schema = row.try_get(0).map_err(Error::db(ctx))?;

    let rows = fetch(
        pool,
        format!("WITH {REL} SELECT sch, tab FROM rel WHERE NOT part ORDER BY sch, tab"),
        ctx,
    )
    .await?;
    for r in &rows {
        let schema: String = r.try_get(0).map_err(Error::db(ctx))?;
        let name: String = r.try_get(1).map_err(Error::db(ctx))?;
        raw.tables.insert((schema, name), RawTable::default());
    }
    let rows = fetch(
        pool,
        "SELECT n.nspname::text || '.' || c.relname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_depend dep ON dep.classid = 'pg_class'::regclass AND dep.objid = c.oid AND dep.deptype = 'e' \
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT LIKE 'pg\\_%' \
           AND n.nspname <> 'information_schema' ORDER BY 1"
            .into(),
        ctx,
    )
    .await?;
    for r in &rows {
        let name: String = r.try_get(0).map_err(Error::db(ctx))?;
        raw.notes.push(format!(
            "table {name} belongs to an extension; it is left out"
        ));
    }

    // Enumeration labels, in sort order, by type.
    let rows = fetch(
        pool,
        "SELECT e.enumtypid::int8, e.enumlabel::text FROM pg_enum e ORDER BY e.enumtypid, e.enumsortorder"
            .into(),
        ctx,
    )
    .await?;
    let mut enums: HashMap<i64, Vec<String>> = HashMap::new();
    for r in &rows {
        let oid: i64 = r.try_get(0).map_err(Error::db(ctx))?;
        let label: String = r.try_get(1).map_err(Error::db(ctx))?;
        enums.entry(oid).or_default().push(label);
    }

    read_columns(pool, &mut raw, &enums).await?;
    read_keys(pool, &mut raw).await?;
    read_foreign_keys(pool, &mut raw).await?;
    read_checks(pool, &mut raw).await?;
    read_partitions(pool, &mut raw).await?;
    read_triggers(pool, &mut raw).await?;
    Ok(raw)
}

async fn read_columns(
    pool: &PgPool,
    raw: &mut Raw,
    enums: &HashMap<i64, Vec<String>>,
) -> Result<(), Error> {
    let cctx = "cannot read the columns";
    let rows = fetch(
        pool,
        format!(
            "WITH RECURSIVE {REL}, {CHAIN} \
             SELECT rel.sch, rel.tab, a.attname::text, a.attnotnull, a.attidentity::text, \
                    a.attgenerated::text, pg_get_expr(d.adbin, d.adrelid), \
                    bt.typname::text, bt.typtype::text, bt.typcategory::text, bt.oid::int8, \
                    format_type(bt.oid, CASE WHEN db.top IS NULL THEN a.atttypmod ELSE db.typmod END), \
                    CASE WHEN pg_type_is_visible(bt.oid) THEN bt.typname::text \
                         ELSE bn.nspname::text || '.' || bt.typname::text END, \
                    EXISTS (SELECT 1 FROM chain ch JOIN pg_type dt ON dt.oid = ch.cur \
                            WHERE ch.top = a.atttypid AND dt.typnotnull), \
                    pg_get_expr(t.typdefaultbin, 0) \
             FROM rel \
             JOIN pg_attribute a ON a.attrelid = rel.oid \
             JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN dombase db ON db.top = a.atttypid \
             JOIN pg_type bt ON bt.oid = COALESCE(db.base, a.atttypid) \
             JOIN pg_namespace bn ON bn.oid = bt.typnamespace \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE NOT rel.part AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY rel.sch, rel.tab, a.attnum"
        ),
        cctx,
    )
    .await?;
    for r in &rows {
        let e = || Error::db(cctx);
        let schema: String = r.try_get(0).map_err(e())?;
        let table: String = r.try_get(1).map_err(e())?;
        let col: String = r.try_get(2).map_err(e())?;
        let not_null: bool = r.try_get(3).map_err(e())?;
        let identity: String = r.try_get(4).map_err(e())?;
        let computed: String = r.try_get(5).map_err(e())?;
        let default: Option<String> = r.try_get(6).map_err(e())?;
        let typname: String = r.try_get(7).map_err(e())?;
        let typtype: String = r.try_get(8).map_err(e())?;
        let category: String = r.try_get(9).map_err(e())?;
        let type_oid: i64 = r.try_get(10).map_err(e())?;
        let formatted: Option<String> = r.try_get(11).map_err(e())?;
        let enum_name: String = r.try_get(12).map_err(e())?;
        let domain_not_null: bool = r.try_get(13).map_err(e())?;
        let domain_default: Option<String> = r.try_get(14).map_err(e())?;
        let formatted = formatted.unwrap_or_else(|| typname.clone());
        let ty = match pg_type(&typname, &typtype, &category, &formatted) {
            Some(ty) => ty,
            None if typtype == "e" => match enums.get(&type_oid) {
                Some(values) if !values.is_empty() => (
                    ColumnType::Enum {
                        name: Some(enum_name),
                        values: values.clone(),
                    },
                    None,
                ),
                _ => native(&formatted),
            },
            None => native(&formatted),
        };
        let default = default.or(domain_default);
        let (generated, default) = if !computed.is_empty() {
            (
                Some(Generated::Computed(default.unwrap_or_default())),
                RawDefault::None,
            )
        } else if !identity.is_empty() {
            (Some(Generated::Identity), RawDefault::None)
        } else {
            match default {
                // A serial, or a key drawn from a sequence a dump does not mark as owned.
                Some(d) if d.trim_start().starts_with("nextval(") => {
                    (Some(Generated::Identity), RawDefault::None)
                }
                Some(d) => (None, pg_default(&d)),
                None => (None, RawDefault::None),
            }
        };
        if let Some(t) = raw.table_in(&schema, &table) {
            t.columns.push(RawColumn {
                name: col,
                ty,
                nullable: !not_null && !domain_not_null,
                default,
                generated,
                charset: None,
            });
        }
    }
    Ok(())
}

async fn read_keys(pool: &PgPool, raw: &mut Raw) -> Result<(), Error> {
    let kctx = "cannot read the primary keys";
    let rows = fetch(
        pool,
        format!(
            "WITH {REL} SELECT rel.sch, rel.tab, a.attname::text \
             FROM pg_constraint con \
             JOIN rel ON rel.oid = con.conrelid AND NOT rel.part \
             CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
             WHERE con.contype = 'p' \
             ORDER BY rel.sch, rel.tab, k.ord"
        ),
        kctx,
    )
    .await?;
    for r in &rows {
        let schema: String = r.try_get(0).map_err(Error::db(kctx))?;
        let table: String = r.try_get(1).map_err(Error::db(kctx))?;
        let col: String = r.try_get(2).map_err(Error::db(kctx))?;
        if let Some(t) = raw.table_in(&schema, &table) {
            t.primary_key.push(col);
        }
    }

    // Unique constraints are backed by unique indexes, so the indexes give both.
    let uctx = "cannot read the unique indexes";
    let rows = fetch(
        pool,
        format!(
            "WITH {REL} SELECT rel.sch, rel.tab, ic.relname::text, i.indpred IS NOT NULL, a.attname::text \
             FROM pg_index i \
             JOIN rel ON rel.oid = i.indrelid AND NOT rel.part \
             JOIN pg_class ic ON ic.oid = i.indexrelid \
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0 \
             WHERE i.indisunique AND NOT i.indisprimary AND k.ord <= i.indnkeyatts \
             ORDER BY rel.sch, rel.tab, ic.relname, k.ord"
        ),
        uctx,
    )
    .await?;
    let mut unique: UniqueIndexes = BTreeMap::new();
    for r in &rows {
        let schema: String = r.try_get(0).map_err(Error::db(uctx))?;
        let table: String = r.try_get(1).map_err(Error::db(uctx))?;
        let index: String = r.try_get(2).map_err(Error::db(uctx))?;
        let partial: bool = r.try_get(3).map_err(Error::db(uctx))?;
        let col: Option<String> = r.try_get(4).map_err(Error::db(uctx))?;
        let entry = unique
            .entry(((schema, table), index))
            .or_insert((partial, Vec::new()));
        entry.1.push(col);
    }
    add_unique_indexes(raw, unique);
    Ok(())
}

/// Foreign keys declared on tables and on partitions (not the copies PostgreSQL makes on
/// each partition of a table's own), each pointing at the root of the referenced table.
async fn read_foreign_keys(pool: &PgPool, raw: &mut Raw) -> Result<(), Error> {
    let fctx = "cannot read the foreign keys";
    let rows = fetch(
        pool,
        format!(
            "WITH {REL} SELECT rel.sch, rel.tab, con.oid::int8::text, rn.nspname::text, \
                    root.relname::text, a.attname::text, ra.attname::text, \
                    CASE WHEN rel.part THEN rel.own END \
             FROM pg_constraint con \
             JOIN rel ON rel.oid = con.conrelid \
             JOIN pg_class rc ON rc.oid = con.confrelid \
             JOIN pg_class root ON root.oid = CASE WHEN rc.relispartition \
                  THEN pg_partition_root(rc.oid) ELSE rc.oid END \
             JOIN pg_namespace rn ON rn.oid = root.relnamespace \
             CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, refnum, ord) \
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
             JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.refnum \
             WHERE con.contype = 'f' AND con.conparentid = 0 \
             ORDER BY rel.sch, rel.tab, rel.part, con.conname, con.oid, k.ord"
        ),
        fctx,
    )
    .await?;
    for r in &rows {
        let e = || Error::db(fctx);
        let schema: String = r.try_get(0).map_err(e())?;
        let table: String = r.try_get(1).map_err(e())?;
        let id: String = r.try_get(2).map_err(e())?;
        let target_schema: String = r.try_get(3).map_err(e())?;
        let target: String = r.try_get(4).map_err(e())?;
        let col: String = r.try_get(5).map_err(e())?;
        let ref_col: String = r.try_get(6).map_err(e())?;
        let partition: Option<String> = r.try_get(7).map_err(e())?;
        if let Some(t) = raw.table_in(&schema, &table) {
            push_fk_column(t, id, (target_schema, target), false, col, ref_col);
            if let Some(fk) = t.foreign_keys.last_mut() {
                fk.partition = partition;
            }
        }
    }
    Ok(())
}

/// Table checks, and the checks of the domains columns use (`VALUE` read as the column).
async fn read_checks(pool: &PgPool, raw: &mut Raw) -> Result<(), Error> {
    let chctx = "cannot read the check constraints";
    let rows = fetch(
        pool,
        format!(
            "WITH {REL} SELECT rel.sch, rel.tab, con.conname::text, pg_get_constraintdef(con.oid) \
             FROM pg_constraint con \
             JOIN rel ON rel.oid = con.conrelid AND NOT rel.part \
             WHERE con.contype = 'c' \
             ORDER BY rel.sch, rel.tab, con.conname"
        ),
        chctx,
    )
    .await?;
    for r in &rows {
        let schema: String = r.try_get(0).map_err(Error::db(chctx))?;
        let table: String = r.try_get(1).map_err(Error::db(chctx))?;
        let name: String = r.try_get(2).map_err(Error::db(chctx))?;
        let def: Option<String> = r.try_get(3).map_err(Error::db(chctx))?;
        let def = def.unwrap_or_default();
        let shown = display_name(&(schema.clone(), table.clone()));
        let Some(t) = raw.table_in(&schema, &table) else {
            continue;
        };
        match check_body(&def) {
            Some(text) => t.checks.push(RawCheck::new(Some(name), text)),
            None => raw.notes.push(format!(
                "check {name} of {shown} ({def}) cannot be read; it is left out, and the database still enforces it"
            )),
        }
    }

    let dctx = "cannot read the checks of domains";
    let rows = fetch(
        pool,
        format!(
            "WITH RECURSIVE {REL}, {CHAIN} \
             SELECT rel.sch, rel.tab, a.attname::text, format_type(dt.oid, NULL), con.conname::text, \
                    pg_get_constraintdef(con.oid) \
             FROM rel \
             JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped \
             JOIN chain ch ON ch.top = a.atttypid \
             JOIN pg_constraint con ON con.contypid = ch.cur AND con.contype = 'c' \
             JOIN pg_type dt ON dt.oid = ch.cur \
             WHERE NOT rel.part \
             ORDER BY rel.sch, rel.tab, a.attnum, con.conname"
        ),
        dctx,
    )
    .await?;
    for r in &rows {
        let e = || Error::db(dctx);
        let schema: String = r.try_get(0).map_err(e())?;
        let table: String = r.try_get(1).map_err(e())?;
        let col: String = r.try_get(2).map_err(e())?;
        let domain: String = r.try_get(3).map_err(e())?;
        let name: String = r.try_get(4).map_err(e())?;
        let def: Option<String> = r.try_get(5).map_err(e())?;
        let def = def.unwrap_or_default();
        let shown = display_name(&(schema.clone(), table.clone()));
        let Some(t) = raw.table_in(&schema, &table) else {
            continue;
        };
        match check_body(&def) {
            Some(text) => t.checks.push(RawCheck {
                name: Some(name),
                text: replace_value(&text, &col),
                domain: Some((domain, col)),
            }),
            None => raw.notes.push(format!(
                "check {name} of domain {domain} (column {shown}.{col}) ({def}) cannot be read; it is left out, and the database still enforces it"
            )),
        }
    }
    Ok(())
}

/// How each partitioned table is partitioned, and its direct partitions' bounds.
async fn read_partitions(pool: &PgPool, raw: &mut Raw) -> Result<(), Error> {
    let pctx = "cannot read the partitioning";
    let rows = fetch(
        pool,
        format!(
            "WITH {REL} SELECT rel.sch, rel.tab, pt.partstrat::text, pt.partnatts::int4, \
                    a.attname::text, pg_get_partkeydef(pt.partrelid) \
             FROM pg_partitioned_table pt \
             JOIN rel ON rel.oid = pt.partrelid AND NOT rel.part \
             LEFT JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0] \
             ORDER BY rel.sch, rel.tab"
        ),
        pctx,
    )
    .await?;
    for r in &rows {
        let e = || Error::db(pctx);
        let schema: String = r.try_get(0).map_err(e())?;
        let table: String = r.try_get(1).map_err(e())?;
        let strategy: String = r.try_get(2).map_err(e())?;
        let columns: i32 = r.try_get(3).map_err(e())?;
        let key: Option<String> = r.try_get(4).map_err(e())?;
        let key_def: Option<String> = r.try_get(5).map_err(e())?;
        if let Some(t) = raw.table_in(&schema, &table) {
            t.partitioning = Some(RawPartitioning {
                strategy,
                key: key.filter(|_| columns == 1),
                key_def: key_def.unwrap_or_default().to_lowercase(),
                partitions: Vec::new(),
            });
        }
    }
    let rows = fetch(
        pool,
        format!(
            "WITH {REL} SELECT rel.sch, rel.tab, pc.relname::text, \
                    pg_get_expr(pc.relpartbound, pc.oid), pc.relkind = 'p' \
             FROM pg_inherits i \
             JOIN rel ON rel.oid = i.inhparent AND NOT rel.part \
             JOIN pg_class pc ON pc.oid = i.inhrelid AND pc.relispartition \
             ORDER BY rel.sch, rel.tab, pc.relname"
        ),
        pctx,
    )
    .await?;
    for r in &rows {
        let e = || Error::db(pctx);
        let schema: String = r.try_get(0).map_err(e())?;
        let table: String = r.try_get(1).map_err(e())?;
        let name: String = r.try_get(2).map_err(e())?;
        let bound: Option<String> = r.try_get(3).map_err(e())?;
        let nested: bool = r.try_get(4).map_err(e())?;
        if let Some(p) = raw
            .table_in(&schema, &table)
            .and_then(|t| t.partitioning.as_mut())
        {
            p.partitions.push((name, bound.unwrap_or_default(), nested));
        }
    }
    Ok(())
}

/// Enabled triggers of tables and partitions (a table's own are copied onto its partitions
/// under the same name; they are read once).
async fn read_triggers(pool: &PgPool, raw: &mut Raw) -> Result<(), Error> {
    let tctx = "cannot read the triggers";
    let rows = fetch(
        pool,
        format!(
            "WITH {REL} SELECT rel.sch, rel.tab, t.tgname::text, t.tgtype::int4, \
                    CASE WHEN l.lanname = 'plpgsql' THEN p.prosrc END \
             FROM pg_trigger t \
             JOIN rel ON rel.oid = t.tgrelid \
             JOIN pg_proc p ON p.oid = t.tgfoid \
             JOIN pg_language l ON l.oid = p.prolang \
             WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' \
             ORDER BY rel.sch, rel.tab, rel.part, t.tgname"
        ),
        tctx,
    )
    .await?;
    for r in &rows {
        let e = || Error::db(tctx);
        let schema: String = r.try_get(0).map_err(e())?;
        let table: String = r.try_get(1).map_err(e())?;
        let name: String = r.try_get(2).map_err(e())?;
        let tgtype: i32 = r.try_get(3).map_err(e())?;
        let body: Option<String> = r.try_get(4).map_err(e())?;
        let (timing, events, row_level) = pg_trigger_type(tgtype);
        if let Some(t) = raw.table_in(&schema, &table) {
            t.triggers.push(RawTrigger {
                name,
                timing,
                events,
                row_level,
                body,
                table: table.clone(),
            });
        }
    }
    Ok(())
}

/// A PostgreSQL type the model interprets (`typname`, `typtype` and category of the base
/// type); `None` for the others.
fn pg_type(
    typname: &str,
    typtype: &str,
    category: &str,
    formatted: &str,
) -> Option<(ColumnType, Option<String>)> {
    let args = paren_args(formatted);
    if category == "A" || typtype != "b" {
        return None;
    }
    let ty = match typname {
        "text" | "citext" => ColumnType::Text,
        "varchar" => match args.first() {
            Some(n) => ColumnType::Varchar(*n),
            None => ColumnType::Text,
        },
        "bpchar" => ColumnType::Varchar(args.first().copied().unwrap_or(1)),
        "int2" => ColumnType::int(16, false),
        "int4" => ColumnType::Integer,
        "int8" => ColumnType::BigInt,
        "numeric" => return Some(numeric(args.first().copied(), args.get(1).copied())),
        "bool" => ColumnType::Boolean,
        "date" => ColumnType::Date,
        "timestamp" => ColumnType::Timestamp,
        "timestamptz" => ColumnType::TimestampTz,
        "uuid" => ColumnType::Uuid,
        "json" | "jsonb" => ColumnType::Json,
        "bytea" => ColumnType::Bytes,
        _ => return None,
    };
    Some((ty, None))
}

/// A type the model does not interpret, under the name `format_type` gives it (qualified
/// where it is not on the search path, quoted where needed, so safe in a cast). A name with
/// characters a schema file does not accept for a PostgreSQL type is kept too, with a note.
fn native(formatted: &str) -> (ColumnType, Option<String>) {
    match format!("postgres:{formatted}").parse::<ColumnType>() {
        Ok(ty) => (ty, None),
        Err(_) => (
            ColumnType::Native {
                dialect: Dialect::Postgres,
                name: formatted.to_owned(),
            },
            Some(format!(
                "its type {formatted} has characters a schema file does not accept in a type name; a schema.toml written from this schema needs the column's type changed (for example to postgres:text with a cast in the database) before it loads"
            )),
        ),
    }
}

/// A domain check with `VALUE` (outside literals and quoted names) read as `column`.
fn replace_value(check: &str, column: &str) -> String {
    let c: Vec<char> = check.chars().collect();
    let simple = column
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        && !column.starts_with(|ch: char| ch.is_ascii_digit());
    let name = if simple {
        column.to_owned()
    } else {
        Dialect::Postgres.quote(column)
    };
    let mut out = String::with_capacity(check.len());
    let mut i = 0;
    while i < c.len() {
        if matches!(c[i], '\'' | '"') {
            let end = skip_quoted(&c, i, c.len());
            out.extend(&c[i..end]);
            i = end;
            continue;
        }
        if c[i].is_alphanumeric() || c[i] == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '$') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            if word.eq_ignore_ascii_case("value") {
                out.push_str(&name);
            } else {
                out.push_str(&word);
            }
            continue;
        }
        out.push(c[i]);
        i += 1;
    }
    out
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
    }

    #[test]
    fn domain_checks_read_value_as_the_column() {
        assert_eq!(
            replace_value("((VALUE >= 1901) AND (VALUE <= 2155))", "release_year"),
            "((release_year >= 1901) AND (release_year <= 2155))"
        );
        assert_eq!(
            replace_value("(VALUE <> 'VALUE'::text)", "Code"),
            "(\"Code\" <> 'VALUE'::text)"
        );
    }

    #[test]
    fn types_the_model_does_not_interpret_keep_their_name() {
        assert_eq!(pg_type("_text", "b", "A", "text[]"), None);
        assert_eq!(
            native("text[]").0,
            "postgres:text[]".parse::<ColumnType>().unwrap()
        );
        assert_eq!(native("vector(3)").0.to_string(), "postgres:vector(3)");
        assert_eq!(
            pg_type("int2", "b", "N", "smallint"),
            Some((ColumnType::int(16, false), None))
        );
        let (ty, note) = native("\"odd-type\"");
        assert_eq!(ty.to_string(), "postgres:\"odd-type\"");
        assert!(note.is_some());
    }
}
