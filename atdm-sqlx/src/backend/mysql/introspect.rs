//! Introspection of MySQL and MariaDB: `information_schema` read into the raw model.

use std::collections::BTreeMap;

use atdm_core::schema::{ColumnType, Dialect, Generated};
use sqlx::Row;
use sqlx::mysql::MySqlPool;

use crate::error::Error;
use crate::introspect::*;

pub(super) async fn read(pool: &MySqlPool) -> Result<Raw, Error> {
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
         AND TABLE_NAME NOT IN ('atdm_runs', 'atdm_ledger', 'atdm_outbox', 'atdm_setup') ORDER BY TABLE_NAME",
    )
    .fetch_all(pool)
    .await
    .map_err(Error::db(ctx))?;
    for r in &rows {
        let name: Option<String> = r.try_get_unchecked(0).map_err(Error::db(ctx))?;
        if let Some(name) = name {
            raw.tables
                .insert((String::new(), name), RawTable::default());
        }
    }

    let cctx = "cannot read the columns";
    let rows = sqlx::query(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, COLUMN_TYPE, \
                CAST(CHARACTER_MAXIMUM_LENGTH AS SIGNED), CAST(NUMERIC_PRECISION AS SIGNED), \
                CAST(NUMERIC_SCALE AS SIGNED), EXTRA, GENERATION_EXPRESSION, CHARACTER_SET_NAME \
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
        let charset: Option<String> = r.try_get_unchecked(11).map_err(e())?;
        // Only a character set that cannot hold every character is worth recording.
        let charset = charset
            .filter(|c| !c.eq_ignore_ascii_case("utf8mb4") && !c.eq_ignore_ascii_case("binary"));
        let (Some(table), Some(col)) = (table, col) else {
            continue;
        };
        let Some(t) = raw.table(&table) else {
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
            charset,
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
            if let (Some(t), Some(col)) = (raw.table(&table), col) {
                t.primary_key.push(col);
            }
            continue;
        }
        let entry = unique
            .entry(((String::new(), table), index))
            .or_insert((false, Vec::new()));
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
        if let Some(t) = raw.table(&table) {
            push_fk_column(t, name, (String::new(), target), outside, col, ref_col);
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
                let Some(t) = raw.table(&table) else {
                    continue;
                };
                // MariaDB's JSON is LONGTEXT with a json_valid(col) check.
                if let Some(c) = json_valid_column(&clause)
                    .and_then(|c| t.columns.iter_mut().find(|x| x.name.eq_ignore_ascii_case(&c)))
                    && matches!(c.ty, (ColumnType::Text, _))
                {
                    c.ty = (ColumnType::Json, None);
                    continue;
                }
                t.checks
                    .push(RawCheck::new(name, strip_charset_introducers(&clause)));
            }
        }
    }
    read_triggers(pool, &mut raw).await?;
    Ok(raw)
}

/// The triggers of the database's tables (MySQL triggers fire for each row).
async fn read_triggers(pool: &MySqlPool, raw: &mut Raw) -> Result<(), Error> {
    let tctx = "cannot read the triggers";
    let rows = sqlx::query(
        "SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT \
         FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() \
         ORDER BY EVENT_OBJECT_TABLE, TRIGGER_NAME, EVENT_MANIPULATION",
    )
    .fetch_all(pool)
    .await
    .map_err(Error::db(tctx))?;
    for r in &rows {
        let e = || Error::db(tctx);
        let table: Option<String> = r.try_get_unchecked(0).map_err(e())?;
        let name: Option<String> = r.try_get_unchecked(1).map_err(e())?;
        let timing: Option<String> = r.try_get_unchecked(2).map_err(e())?;
        let event: Option<String> = r.try_get_unchecked(3).map_err(e())?;
        let body: Option<String> = r.try_get_unchecked(4).map_err(e())?;
        let (Some(table), Some(name)) = (table, name) else {
            continue;
        };
        let Some(t) = raw.table(&table) else {
            continue;
        };
        let event = event.unwrap_or_default().to_ascii_lowercase();
        if let Some(existing) = t.triggers.iter_mut().find(|x| x.name == name) {
            if !existing.events.contains(&event) {
                existing.events.push(event);
            }
            continue;
        }
        t.triggers.push(RawTrigger {
            name,
            timing: timing.unwrap_or_default().to_ascii_lowercase(),
            events: vec![event],
            row_level: true,
            body,
            table: table.clone(),
        });
    }
    Ok(())
}

/// The model type of a MySQL/MariaDB column: a type of the model where it has one, else
/// the database's own type under its `COLUMN_TYPE` (`set('a','b')`, `year`, `bit(1)`).
fn mysql_type(
    data_type: &str,
    column_type: &str,
    length: Option<i64>,
    precision: Option<i64>,
    scale: Option<i64>,
) -> (ColumnType, Option<String>) {
    let dt = data_type.to_ascii_lowercase();
    let ct = column_type.to_ascii_lowercase();
    let unsigned = ct.contains("unsigned");
    let native = || {
        let name = if column_type.trim().is_empty() {
            data_type
        } else {
            column_type
        };
        (
            ColumnType::Native {
                dialect: Dialect::MySql,
                name: name.trim().to_owned(),
            },
            None,
        )
    };
    let ty = match dt.as_str() {
        "char" | "varchar" => match length.and_then(|n| u32::try_from(n).ok()) {
            Some(n) => ColumnType::Varchar(n),
            None => ColumnType::Text,
        },
        "tinytext" | "text" | "mediumtext" | "longtext" => ColumnType::Text,
        "tinyint" if ct.starts_with("tinyint(1)") => ColumnType::Boolean,
        "bool" | "boolean" => ColumnType::Boolean,
        "tinyint" => ColumnType::int(8, unsigned),
        "smallint" => ColumnType::int(16, unsigned),
        "mediumint" => ColumnType::int(24, unsigned),
        "int" | "integer" => ColumnType::int(32, unsigned),
        "bigint" => ColumnType::int(64, unsigned),
        "decimal" | "numeric" => {
            return numeric(
                precision.and_then(|p| u32::try_from(p).ok()),
                scale.and_then(|s| u32::try_from(s).ok()),
            );
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
            _ => return native(),
        },
        _ => return native(),
    };
    (ty, None)
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
            (ColumnType::Boolean, None)
        );
        assert_eq!(
            mysql_type("timestamp", "timestamp(6)", None, None, None),
            (ColumnType::TimestampTz, None)
        );
        assert_eq!(
            mysql_type("mediumint", "mediumint(8) unsigned", None, Some(7), Some(0)).0,
            ColumnType::int(24, true)
        );
        for (dt, ct) in [
            ("geometry", "geometry"),
            ("set", "set('a','b')"),
            ("year", "year(4)"),
            ("bit", "bit(1)"),
            ("time", "time"),
            ("double", "double"),
        ] {
            assert_eq!(
                mysql_type(dt, ct, None, None, None).0.to_string(),
                format!("mysql:{ct}")
            );
        }
    }
}
