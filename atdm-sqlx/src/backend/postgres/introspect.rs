//! Introspection of PostgreSQL: `pg_catalog` read into the raw model.

use std::collections::{BTreeMap, HashMap};

use atdm_core::schema::{ColumnType, Generated};
use sqlx::Row;
use sqlx::postgres::PgPool;

use crate::error::Error;
use crate::introspect::*;

/// The tables of the current schema, never the engine's catalog schema.
const PG_TABLES: &str = "n.nspname = current_schema() AND n.nspname <> 'atdm' \
                         AND c.relkind IN ('r', 'p') AND NOT c.relispartition";

pub(super) async fn read(pool: &PgPool) -> Result<Raw, Error> {
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
        ("b", "int2") => ColumnType::int(16, false),
        ("b", "int4") => ColumnType::Integer,
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
}
