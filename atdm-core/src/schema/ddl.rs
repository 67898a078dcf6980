//! DDL rendering for SQLite, PostgreSQL and MySQL/MariaDB.

use serde::{Deserialize, Serialize};

use super::check::sql_literal;
use super::{Column, ColumnType, Generated, Schema, Table};

/// A SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// SQLite 3.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL 8 and MariaDB.
    MySql,
}

impl Dialect {
    /// Quotes an identifier (`"name"`, or `` `name` `` on MySQL), doubling embedded quotes.
    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::MySql => format!("`{}`", ident.replace('`', "``")),
            _ => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    /// Quotes a possibly schema-qualified name (`sales.channel` as `"sales"."channel"`): each
    /// part separated by a dot is quoted on its own.
    pub fn quote_path(self, name: &str) -> String {
        name.split('.')
            .map(|p| self.quote(p))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Quotes a table's name for SQL, with its database schema where it has one
    /// (`"sales"."customer"`).
    pub fn quote_table(self, t: &Table) -> String {
        match &t.schema {
            Some(s) => format!("{}.{}", self.quote(s), self.quote(t.sql_name())),
            None => self.quote(&t.name),
        }
    }

    /// The largest number of bind parameters one statement may carry.
    pub fn bind_limit(self) -> usize {
        match self {
            Dialect::Sqlite => 32_766,
            Dialect::Postgres | Dialect::MySql => 65_535,
        }
    }

    /// The name used in URLs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::MySql => "mysql",
        }
    }
}

/// Whether a column takes part in a key or index (MySQL cannot index unbounded TEXT).
fn is_keyed(t: &Table, c: &str) -> bool {
    t.primary_key.iter().any(|k| k == c)
        || t.unique.iter().flatten().any(|k| k == c)
        || t.indexes.iter().flatten().any(|k| k == c)
        || t.foreign_keys
            .iter()
            .any(|fk| fk.columns.iter().any(|k| k == c))
}

fn is_referenced(s: &Schema, t: &Table, c: &str) -> bool {
    s.tables.iter().any(|other| {
        other
            .foreign_keys
            .iter()
            .any(|fk| fk.references == t.name && t.fk_target_columns(fk, s).iter().any(|k| k == c))
    })
}

/// The PostgreSQL enum type name of a column.
pub(crate) fn pg_enum_name(t: &Table, c: &Column) -> Option<String> {
    c.pg_enum_type(&t.name)
}

fn type_sql(d: Dialect, s: &Schema, t: &Table, c: &Column) -> String {
    let keyed = is_keyed(t, &c.name) || is_referenced(s, t, &c.name);
    match (d, &c.ty) {
        (Dialect::Sqlite, ColumnType::Text | ColumnType::Enum { .. }) => "TEXT".into(),
        (Dialect::Sqlite, ColumnType::Integer | ColumnType::BigInt) => "INTEGER".into(),
        (Dialect::Sqlite, ColumnType::TimestampTz) => "TIMESTAMPTZ".into(),
        (Dialect::Sqlite, ColumnType::Uuid) => "UUID".into(),
        (Dialect::Sqlite, ColumnType::Json) => "JSON".into(),
        (Dialect::Sqlite, ColumnType::Bytes) => "BLOB".into(),
        (Dialect::Postgres, ColumnType::Json) => "JSONB".into(),
        (Dialect::Postgres, ColumnType::Bytes) => "BYTEA".into(),
        (Dialect::Postgres, ColumnType::Enum { .. }) => {
            d.quote(&pg_enum_name(t, c).expect("an enum"))
        }
        (Dialect::MySql, ColumnType::Text) if keyed => "VARCHAR(255)".into(),
        (Dialect::MySql, ColumnType::Enum { .. }) => "VARCHAR(255)".into(),
        (Dialect::MySql, ColumnType::Integer) => "INT".into(),
        (Dialect::MySql, ColumnType::Numeric { precision, scale }) => {
            format!("DECIMAL({precision},{scale})")
        }
        (Dialect::MySql, ColumnType::Timestamp | ColumnType::TimestampTz) => "DATETIME(6)".into(),
        (Dialect::MySql, ColumnType::Uuid) => "CHAR(36)".into(),
        (Dialect::MySql, ColumnType::Bytes) if keyed => "VARBINARY(255)".into(),
        (Dialect::MySql, ColumnType::Bytes) => "LONGBLOB".into(),
        (Dialect::MySql, ColumnType::SizedInt { bits, unsigned }) => format!(
            "{}{}",
            match bits {
                8 => "TINYINT",
                16 => "SMALLINT",
                24 => "MEDIUMINT",
                32 => "INT",
                _ => "BIGINT",
            },
            if *unsigned { " UNSIGNED" } else { "" }
        ),
        (Dialect::Sqlite, ColumnType::SizedInt { .. }) => "INTEGER".into(),
        (_, ColumnType::SizedInt { bits, unsigned }) => match (bits, unsigned) {
            (0..=16, false) | (0..=8, true) => "SMALLINT".into(),
            (0..=32, false) | (0..=24, true) => "INTEGER".into(),
            _ => "BIGINT".into(),
        },
        (_, ColumnType::Native { dialect, name }) if *dialect == d => name.clone(),
        (_, ColumnType::Native { .. }) => "TEXT".into(),
        (_, ty) => match ty {
            ColumnType::Text => "TEXT".into(),
            ColumnType::Varchar(n) => format!("VARCHAR({n})"),
            ColumnType::Integer => "INTEGER".into(),
            ColumnType::BigInt => "BIGINT".into(),
            ColumnType::Numeric { precision, scale } => format!("NUMERIC({precision},{scale})"),
            ColumnType::Boolean => "BOOLEAN".into(),
            ColumnType::Date => "DATE".into(),
            ColumnType::Timestamp => "TIMESTAMP".into(),
            ColumnType::TimestampTz => "TIMESTAMPTZ".into(),
            ColumnType::Uuid => "UUID".into(),
            ColumnType::Json => "JSON".into(),
            ColumnType::Bytes => "BYTEA".into(),
            ColumnType::Enum { .. } | ColumnType::Native { .. } => "TEXT".into(),
            ColumnType::SizedInt { .. } => "BIGINT".into(),
        },
    }
}

fn ident_list(d: Dialect, cols: &[String]) -> String {
    cols.iter()
        .map(|c| d.quote(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A constraint or index name, kept within MySQL's and PostgreSQL's 64/63-character limits.
fn object_name(prefix: &str, table: &str, cols: &[String]) -> String {
    let full = format!("{prefix}_{table}_{}", cols.join("_"));
    if full.len() <= 60 {
        return full;
    }
    // Stable short form: keep the start and add a hash of the whole name.
    let hash = full.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}_{:08x}", &full[..50], hash as u32)
}

pub(super) fn render(s: &Schema, d: Dialect) -> Vec<String> {
    let mut out = Vec::new();
    let order = s.fk_order().expect("a checked schema has an insert order");
    if d == Dialect::Postgres {
        for &ti in &order {
            let t = &s.tables[ti];
            for c in &t.columns {
                if let (Some(name), ColumnType::Enum { values, .. }) = (pg_enum_name(t, c), &c.ty) {
                    let list: Vec<String> = values
                        .iter()
                        .map(|v| sql_literal(&v.as_str().into()))
                        .collect();
                    out.push(format!(
                        "DO $$ BEGIN CREATE TYPE {} AS ENUM ({}); EXCEPTION WHEN duplicate_object THEN NULL; END $$",
                        d.quote_path(&name),
                        list.join(", ")
                    ));
                }
            }
        }
    }
    let mut deferred = Vec::new();
    for &ti in &order {
        let t = &s.tables[ti];
        let mut parts = Vec::new();
        let inline_pk = t.primary_key.len() == 1
            && t.get_column(&t.primary_key[0])
                .is_some_and(|c| c.generated == Some(Generated::Identity));
        for c in &t.columns {
            let mut col = format!("{} {}", d.quote(&c.name), type_sql(d, s, t, c));
            match &c.generated {
                Some(Generated::Identity) => match d {
                    Dialect::Sqlite if inline_pk => {
                        col = format!("{} INTEGER PRIMARY KEY AUTOINCREMENT", d.quote(&c.name))
                    }
                    Dialect::Sqlite => {}
                    Dialect::Postgres => {
                        col.push_str(" GENERATED BY DEFAULT AS IDENTITY");
                        if inline_pk {
                            col.push_str(" PRIMARY KEY");
                        }
                    }
                    Dialect::MySql => {
                        col.push_str(" AUTO_INCREMENT");
                        if inline_pk {
                            col.push_str(" PRIMARY KEY");
                        }
                    }
                },
                Some(Generated::Computed(expr)) => {
                    col.push_str(&format!(" GENERATED ALWAYS AS ({expr}) STORED"));
                }
                None => {}
            }
            // SQLite's rowid key is implicitly NOT NULL (and must be written bare).
            let rowid_key = inline_pk && d == Dialect::Sqlite && t.primary_key[0] == c.name;
            if !c.nullable && !rowid_key {
                col.push_str(" NOT NULL");
            }
            if let Some(v) = &c.default {
                col.push_str(&format!(" DEFAULT {}", default_literal(d, v)));
            } else if let Some(expr) = &c.default_sql {
                col.push_str(&format!(" DEFAULT {}", default_expr(expr)));
            }
            parts.push(col);
        }
        if !t.primary_key.is_empty() && !inline_pk {
            parts.push(format!("PRIMARY KEY ({})", ident_list(d, &t.primary_key)));
        }
        for u in &t.unique {
            parts.push(format!(
                "CONSTRAINT {} UNIQUE ({})",
                d.quote(&object_name("uq", &t.name, u)),
                ident_list(d, u)
            ));
        }
        for fk in &t.foreign_keys {
            let constraint = format!(
                "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
                d.quote(&object_name("fk", &t.name, &fk.columns)),
                ident_list(d, &fk.columns),
                s.table(&fk.references)
                    .map(|target| d.quote_table(target))
                    .unwrap_or_else(|| d.quote(&fk.references)),
                ident_list(d, t.fk_target_columns(fk, s))
            );
            // A foreign key to a table of its cycle that is created later: PostgreSQL adds it
            // once both exist (MySQL creates it unchecked, SQLite checks it only on use).
            let later = s.table_index(&fk.references).is_some_and(|r| {
                order.iter().position(|&o| o == r) > order.iter().position(|&o| o == ti)
            });
            if later && d == Dialect::Postgres {
                // Added only where the table has no foreign key to that table yet (whatever its
                // name), so an existing database is never given a second one.
                let literal = |q: String| q.replace('\'', "''");
                let target = s
                    .table(&fk.references)
                    .map(|x| d.quote_table(x))
                    .unwrap_or_else(|| d.quote(&fk.references));
                deferred.push(format!(
                    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND conrelid = '{}'::regclass AND confrelid = '{}'::regclass) THEN ALTER TABLE {} ADD {constraint}; END IF; END $$",
                    literal(d.quote_table(t)),
                    literal(target),
                    d.quote_table(t)
                ));
            } else {
                parts.push(constraint);
            }
        }
        for (i, ch) in t.checks.iter().enumerate() {
            let name = object_name("ck", &t.name, &[i.to_string()]);
            parts.push(format!(
                "CONSTRAINT {} CHECK ({})",
                d.quote(&name),
                ch.to_sql(&|c| d.quote(c))
            ));
        }
        for c in &t.columns {
            if let (Dialect::Sqlite | Dialect::MySql, ColumnType::Enum { values, .. }) = (d, &c.ty)
            {
                let list: Vec<String> = values
                    .iter()
                    .map(|v| sql_literal(&v.as_str().into()))
                    .collect();
                let name = object_name("ck", &t.name, std::slice::from_ref(&c.name));
                parts.push(format!(
                    "CONSTRAINT {} CHECK ({} IN ({}))",
                    d.quote(&name),
                    d.quote(&c.name),
                    list.join(", ")
                ));
            }
        }
        if d == Dialect::MySql {
            for ix in &t.indexes {
                parts.push(format!(
                    "INDEX {} ({})",
                    d.quote(&object_name("ix", &t.name, ix)),
                    ident_list(d, ix)
                ));
            }
        }
        // MySQL's text holds every character only in utf8mb4, whatever the server's default.
        let options = if d == Dialect::MySql {
            " DEFAULT CHARSET=utf8mb4"
        } else {
            ""
        };
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {} (\n  {}\n){options}",
            d.quote_table(t),
            parts.join(",\n  ")
        ));
        if d != Dialect::MySql {
            // Every foreign key gets an index (MySQL's InnoDB makes one itself): without it,
            // deleting a parent row scans the child table, and a reset slows down as the
            // tables fill up.
            for ix in t.indexes.iter().chain(unindexed_foreign_keys(t).iter()) {
                out.push(format!(
                    "CREATE INDEX IF NOT EXISTS {} ON {} ({})",
                    d.quote(&object_name("ix", &t.name, ix)),
                    d.quote_table(t),
                    ident_list(d, ix)
                ));
            }
        }
    }
    out.extend(deferred);
    if d == Dialect::MySql && !s.fk_cycles().is_empty() {
        // Tables of a cycle reference tables created after them.
        out.insert(0, "SET FOREIGN_KEY_CHECKS = 0".into());
        out.push("SET FOREIGN_KEY_CHECKS = 1".into());
    }
    out
}

/// A schema's DDL split as a restore runs it (`pg_dump`'s pre-data and post-data sections):
/// [`before`](Self::before) creates the types and tables, [`after`](Self::after) adds, once
/// the rows are loaded, what is cheaper to build over them in one pass than to keep up row by
/// row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DdlSections {
    /// Statements run before any row is written.
    pub before: Vec<String>,
    /// Statements run after every row is written, in order.
    pub after: Vec<String>,
}

/// See [`Schema::ddl_sections`].
pub(super) fn sections(s: &Schema, d: Dialect) -> DdlSections {
    if d == Dialect::Sqlite {
        return DdlSections {
            before: render(s, d),
            after: Vec::new(),
        };
    }
    let mut bare = s.clone();
    let mut keys = Vec::new();
    let mut foreign = Vec::new();
    for t in &mut bare.tables {
        let quoted = d.quote_table(t);
        for fk in std::mem::take(&mut t.foreign_keys) {
            let Some(target) = s.table(&fk.references) else {
                continue;
            };
            let original = s.table(&t.name).expect("the same tables");
            foreign.push(format!(
                "ALTER TABLE {quoted} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
                d.quote(&object_name("fk", &t.name, &fk.columns)),
                ident_list(d, &fk.columns),
                d.quote_table(target),
                ident_list(d, original.fk_target_columns(&fk, s))
            ));
            // MySQL's key columns keep the index the key would make (and the type a keyed
            // column takes).
            if d == Dialect::MySql && !t.indexes.contains(&fk.columns) {
                t.indexes.push(fk.columns.clone());
            }
        }
        if d == Dialect::Postgres {
            let pk = std::mem::take(&mut t.primary_key);
            if !pk.is_empty() {
                keys.push(format!(
                    "ALTER TABLE {quoted} ADD PRIMARY KEY ({})",
                    ident_list(d, &pk)
                ));
            }
            for u in std::mem::take(&mut t.unique) {
                keys.push(format!(
                    "ALTER TABLE {quoted} ADD CONSTRAINT {} UNIQUE ({})",
                    d.quote(&object_name("uq", &t.name, &u)),
                    ident_list(d, &u)
                ));
            }
            for ix in std::mem::take(&mut t.indexes) {
                keys.push(format!(
                    "CREATE INDEX {} ON {quoted} ({})",
                    d.quote(&object_name("ix", &t.name, &ix)),
                    ident_list(d, &ix)
                ));
            }
        }
    }
    keys.extend(foreign);
    DdlSections {
        before: render(&bare, d),
        after: keys,
    }
}

/// The column lists of `t`'s foreign keys that no primary key, unique constraint or index
/// starts with.
fn unindexed_foreign_keys(t: &Table) -> Vec<Vec<String>> {
    let covered = |cols: &[String]| {
        std::iter::once(&t.primary_key)
            .chain(&t.unique)
            .chain(&t.indexes)
            .any(|k| k.len() >= cols.len() && k[..cols.len()] == *cols)
    };
    let mut out: Vec<Vec<String>> = Vec::new();
    for fk in &t.foreign_keys {
        if !covered(&fk.columns) && !out.contains(&fk.columns) {
            out.push(fk.columns.clone());
        }
    }
    out
}

fn default_literal(d: Dialect, v: &crate::value::Value) -> String {
    match (d, v) {
        (Dialect::Sqlite, crate::value::Value::Bool(b)) => if *b { "1" } else { "0" }.into(),
        _ => sql_literal(v),
    }
}

/// A default expression as a column definition takes it: a function call in parentheses
/// (SQLite and MySQL accept `DEFAULT (uuid())` but not `DEFAULT uuid()`), a keyword such as
/// `CURRENT_TIMESTAMP` or a literal bare (MySQL's timestamp columns want it so).
fn default_expr(expr: &str) -> String {
    let wrapped = expr.starts_with('(') && {
        let mut depth = 0i32;
        let mut closes_at_end = false;
        for (i, ch) in expr.char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        closes_at_end = i == expr.len() - 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        closes_at_end
    };
    if expr.contains('(') && !wrapped {
        format!("({expr})")
    } else {
        expr.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, Table};

    #[test]
    fn default_expressions_are_parenthesized_where_dialects_need_it() {
        assert_eq!(default_expr("uuid()"), "(uuid())");
        assert_eq!(
            default_expr("lower(hex(randomblob(16)))"),
            "(lower(hex(randomblob(16))))"
        );
        assert_eq!(default_expr("(now())"), "(now())");
        assert_eq!(default_expr("(a) + (b)"), "((a) + (b))");
        assert_eq!(default_expr("CURRENT_TIMESTAMP"), "CURRENT_TIMESTAMP");
        assert_eq!(default_expr("'G'"), "'G'");
    }

    fn schema() -> Schema {
        let parent = Table::new("plan")
            .column(Column::new("plan_id", ColumnType::Text))
            .column(Column::new("kind", "enum(hmo, ppo)".parse().unwrap()))
            .column(Column::new("active", ColumnType::Boolean).default_value(true))
            .primary_key(["plan_id"]);
        let child = Table::new("member")
            .column(Column::new("member_id", ColumnType::BigInt).identity())
            .column(Column::new("plan_id", ColumnType::Text))
            .column(Column::new("first_name", ColumnType::Text))
            .primary_key(["member_id"])
            .foreign_key(["plan_id"], "plan", Vec::<String>::new())
            .check("first_name starts with 'FAKE_'")
            .index(["plan_id"]);
        Schema::new("t", vec![child, parent]).unwrap()
    }

    #[test]
    fn postgres_ddl_creates_enum_types_and_identity_keys() {
        let ddl = schema().ddl(Dialect::Postgres).join(";\n");
        assert!(
            ddl.contains("CREATE TYPE \"plan_kind_enum\" AS ENUM ('hmo', 'ppo')"),
            "{ddl}"
        );
        assert!(
            ddl.contains(
                "\"member_id\" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY NOT NULL"
            ),
            "{ddl}"
        );
        assert!(
            ddl.find("CREATE TABLE IF NOT EXISTS \"plan\"")
                < ddl.find("CREATE TABLE IF NOT EXISTS \"member\"")
        );
        assert!(
            ddl.contains("CHECK (substr(\"first_name\", 1, 5) = 'FAKE_')"),
            "{ddl}"
        );
    }

    #[test]
    fn mysql_ddl_bounds_keyed_text_and_inlines_indexes() {
        let ddl = schema().ddl(Dialect::MySql).join(";\n");
        assert!(ddl.contains("`plan_id` VARCHAR(255) NOT NULL"), "{ddl}");
        assert!(ddl.contains(") DEFAULT CHARSET=utf8mb4"), "{ddl}");
        assert!(
            ddl.contains("`member_id` BIGINT AUTO_INCREMENT PRIMARY KEY NOT NULL"),
            "{ddl}"
        );
        assert!(
            ddl.contains("INDEX `ix_member_plan_id` (`plan_id`)"),
            "{ddl}"
        );
        assert!(!ddl.contains("CREATE INDEX"), "{ddl}");
    }

    #[test]
    fn every_foreign_key_gets_an_index_once() {
        let parent = Table::new("plan")
            .column(Column::new("plan_id", ColumnType::Text))
            .primary_key(["plan_id"]);
        let child = Table::new("claim")
            .column(Column::new("claim_id", ColumnType::Text))
            .column(Column::new("plan_id", ColumnType::Text))
            .column(Column::new("other_plan_id", ColumnType::Text))
            .primary_key(["claim_id"])
            .foreign_key(["plan_id"], "plan", Vec::<String>::new())
            .foreign_key(["other_plan_id"], "plan", Vec::<String>::new())
            .index(["other_plan_id", "claim_id"]);
        let ddl = Schema::new("t", vec![parent, child])
            .unwrap()
            .ddl(Dialect::Postgres)
            .join(";\n");
        assert_eq!(
            ddl.matches(
                "CREATE INDEX IF NOT EXISTS \"ix_claim_plan_id\" ON \"claim\" (\"plan_id\")"
            )
            .count(),
            1,
            "{ddl}"
        );
        // Covered by the index that starts with it: no second one.
        assert_eq!(
            ddl.matches("ON \"claim\" (\"other_plan_id\")").count(),
            0,
            "{ddl}"
        );
        assert_eq!(ddl.matches("CREATE INDEX").count(), 2, "{ddl}");
    }

    #[test]
    fn sqlite_ddl_uses_rowid_keys() {
        let ddl = schema().ddl(Dialect::Sqlite).join(";\n");
        assert!(
            ddl.contains("\"member_id\" INTEGER PRIMARY KEY AUTOINCREMENT,"),
            "{ddl}"
        );
        assert!(
            ddl.contains("\"active\" BOOLEAN NOT NULL DEFAULT 1"),
            "{ddl}"
        );
    }

    #[test]
    fn a_copy_adds_keys_and_indexes_after_the_rows() {
        let s = schema();
        let pg = s.ddl_sections(Dialect::Postgres);
        let before = pg.before.join(";\n");
        for absent in ["PRIMARY KEY", "UNIQUE", "FOREIGN KEY", "CREATE INDEX"] {
            assert!(!before.contains(absent), "{absent}: {before}");
        }
        assert!(
            before.contains("GENERATED BY DEFAULT AS IDENTITY NOT NULL"),
            "{before}"
        );
        assert!(before.contains("CHECK (substr("), "{before}");
        assert_eq!(
            pg.after,
            [
                "ALTER TABLE \"member\" ADD PRIMARY KEY (\"member_id\")",
                "CREATE INDEX \"ix_member_plan_id\" ON \"member\" (\"plan_id\")",
                "ALTER TABLE \"plan\" ADD PRIMARY KEY (\"plan_id\")",
                "ALTER TABLE \"member\" ADD CONSTRAINT \"fk_member_plan_id\" FOREIGN KEY \
                 (\"plan_id\") REFERENCES \"plan\" (\"plan_id\")",
            ]
        );
        // MySQL keeps keys and indexes in the table (and so the types keyed columns take).
        let my = s.ddl_sections(Dialect::MySql);
        let before = my.before.join(";\n");
        assert!(
            before.contains("`plan_id` VARCHAR(255) NOT NULL"),
            "{before}"
        );
        assert!(before.contains("AUTO_INCREMENT PRIMARY KEY"), "{before}");
        assert!(!before.contains("FOREIGN KEY"), "{before}");
        assert_eq!(my.after.len(), 1);
        assert!(
            my.after[0].contains("FOREIGN KEY (`plan_id`)"),
            "{:?}",
            my.after
        );
        // SQLite cannot add them later.
        let lite = s.ddl_sections(Dialect::Sqlite);
        assert_eq!((lite.before, lite.after.len()), (s.ddl(Dialect::Sqlite), 0));
    }
}
