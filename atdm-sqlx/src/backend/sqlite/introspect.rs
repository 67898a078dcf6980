//! Introspection of SQLite: `pragma_table_list`, `pragma_table_xinfo`, indexes, foreign keys and
//! the CREATE TABLE text (checks, computed columns) read into the raw model.

use std::collections::HashMap;

use atdm_core::schema::{ColumnType, Generated};
use sqlx::Row;
use sqlx::sqlite::SqlitePool;

use crate::error::Error;
use crate::introspect::*;

pub(super) async fn read(pool: &SqlitePool) -> Result<Raw, Error> {
    let ctx = "cannot read the SQLite schema";
    let mut raw = Raw::default();
    let rows = sqlx::query(
        "SELECT l.name, l.type, l.wr, m.sql FROM pragma_table_list AS l \
         LEFT JOIN sqlite_master AS m ON m.name = l.name AND m.type = 'table' \
         WHERE l.schema = 'main' AND l.type IN ('table', 'virtual') \
         AND substr(l.name, 1, 7) <> 'sqlite_' AND l.name NOT IN ('atdm_runs', 'atdm_ledger', 'atdm_outbox', 'atdm_setup') \
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
                ty: sqlite_type(&decl),
                nullable: notnull == 0 && pk_pos == 0,
                default: if generated.is_some() {
                    RawDefault::None
                } else {
                    literal_default(dflt.as_deref())
                },
                generated,
                name: col,
                charset: None,
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
                    id: format!("#{id}"),
                    columns: Vec::new(),
                    references: (String::new(), target),
                    outside: false,
                    ref_columns: Vec::new(),
                    partition: None,
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
        raw.tables.insert((String::new(), name), t);
    }

    let tctx = "cannot read the triggers";
    let rows = sqlx::query(
        "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY tbl_name, name",
    )
    .fetch_all(pool)
    .await
    .map_err(Error::db(tctx))?;
    for r in &rows {
        let table: String = r.try_get_unchecked(0).map_err(Error::db(tctx))?;
        let name: String = r.try_get_unchecked(1).map_err(Error::db(tctx))?;
        let sql: Option<String> = r.try_get_unchecked(2).map_err(Error::db(tctx))?;
        let Some((timing, events, body)) = sql.as_deref().and_then(parse_sqlite_trigger) else {
            raw.notes.push(format!(
                "trigger {name} of {table} cannot be read; it still runs on every write"
            ));
            continue;
        };
        if let Some(t) = raw.table(&table) {
            t.triggers.push(RawTrigger {
                name,
                timing,
                events,
                row_level: true,
                body: Some(body),
                table,
            });
        }
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
                    out.checks.push(RawCheck::new(
                        name.take(),
                        c[*s..*e].iter().collect::<String>().trim().to_owned(),
                    ));
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
