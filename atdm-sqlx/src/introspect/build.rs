//! From the catalog as read ([`Raw`]) to a checked [`Schema`], with notes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use atdm_core::schema::{
    Column, ColumnType, DEFAULT_RUN_ID_COLUMN, ForeignKey, Schema, Table, parse_checks,
};
use atdm_core::{SchemaError, Value};

use super::{
    IntrospectOptions, Introspection, Raw, RawDefault, RawName, RawTable, display_name, hints,
    partition,
};
use crate::error::Error;

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

/// SQL text on one line, for a note.
fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The tables `options` chooses, with notes for schemas that hold none.
fn choose(
    mut raw: Raw,
    options: &IntrospectOptions,
    notes: &mut Vec<String>,
) -> (BTreeMap<RawName, RawTable>, HashSet<RawName>) {
    let all: HashSet<RawName> = raw.tables.keys().cloned().collect();
    if options.schemas.is_empty() {
        return (std::mem::take(&mut raw.tables), all);
    }
    if !raw.has_schemas {
        notes.push(format!(
            "schemas {} were asked for, but this database has one schema (the URL's database); all of its tables are read",
            options.schemas.join(", ")
        ));
        return (std::mem::take(&mut raw.tables), all);
    }
    for s in &options.schemas {
        if !raw.tables.keys().any(|(schema, _)| schema == s) {
            notes.push(format!(
                "schema {s} has no table that can be read (it may not exist, or be a system schema)"
            ));
        }
    }
    let chosen = std::mem::take(&mut raw.tables)
        .into_iter()
        .filter(|((schema, _), _)| options.schemas.contains(schema))
        .collect();
    (chosen, all)
}

pub(super) fn build(
    mut raw: Raw,
    schema_name: &str,
    options: &IntrospectOptions,
    database: &str,
) -> Result<Introspection, Error> {
    let mut notes = std::mem::take(&mut raw.notes);
    let current = raw.current_schema.clone();
    let found: BTreeSet<String> = raw.tables.keys().map(|(s, _)| s.clone()).collect();
    let (chosen, all) = choose(raw, options, &mut notes);
    if chosen.is_empty() {
        return Err(Error::Core(
            SchemaError::NoTables {
                database: database.to_owned(),
                asked: options.schemas.clone(),
                found: found.into_iter().filter(|s| !s.is_empty()).collect(),
            }
            .into(),
        ));
    }

    // Model names: the table's own name, or `<schema>.<name>` where two schemas share it.
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (_, name) in chosen.keys() {
        *count.entry(name.as_str()).or_default() += 1;
    }
    let model_name: HashMap<RawName, String> = chosen
        .keys()
        .map(|k| {
            let qualified = count[k.1.as_str()] > 1 && !k.0.is_empty();
            let name = if qualified {
                format!("{}.{}", k.0, k.1)
            } else {
                k.1.clone()
            };
            (k.clone(), name)
        })
        .collect();

    // Tables of the current schema first, then the other schemas' in order.
    let mut order: Vec<&RawName> = chosen.keys().collect();
    order.sort_by_key(|k| {
        (
            current.as_deref() != Some(k.0.as_str()) && !k.0.is_empty(),
            *k,
        )
    });

    // Columns first: which exist in the model decides what keys and checks can keep.
    let mut tables: Vec<Table> = Vec::new();
    for key in order {
        let rt = &chosen[key];
        let tname = model_name[key].clone();
        let mut t = Table::new(tname.as_str());
        let qualified = tname != key.1;
        if !key.0.is_empty() && (qualified || current.as_deref() != Some(key.0.as_str())) {
            t.schema = Some(key.0.clone());
        }
        for rc in &rt.columns {
            let (ty, ty_note) = rc.ty.clone();
            if let Some(n) = ty_note {
                notes.push(format!("column {tname}.{}: {n}", rc.name));
            }
            let mut c = Column::new(rc.name.as_str(), ty.clone());
            c.nullable = rc.nullable;
            c.generated = rc.generated.clone();
            c.charset = rc.charset.clone().filter(|_| ty.is_textual());
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
            notes.push(format!("table {tname} has no column; it is left out"));
            continue;
        }
        for tr in &rt.triggers {
            // PostgreSQL clones a table's triggers onto its partitions, under the same name.
            if !t.triggers.iter().any(|x| x.name == tr.name) {
                t.triggers.push(tr.to_model());
            }
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
    let raw_of: HashMap<String, &RawName> =
        model_name.iter().map(|(k, v)| (v.clone(), k)).collect();
    let map_cols = |table: &str, cols: &[String]| -> Result<Vec<String>, String> {
        let have = &kept[table];
        cols.iter()
            .map(|c| resolve(have.iter().map(String::as_str), c).ok_or_else(|| c.clone()))
            .collect()
    };
    // The model name of a referenced table: exact, else by case within its schema.
    let target_of = |r: &RawName| -> Option<String> {
        if let Some(n) = model_name.get(r) {
            return Some(n.clone());
        }
        let same_schema = model_name
            .iter()
            .filter(|(k, _)| k.0 == r.0)
            .map(|(k, _)| k.1.as_str());
        let found = resolve(same_schema, &r.1)?;
        model_name.get(&(r.0.clone(), found)).cloned()
    };
    for t in &mut tables {
        let key = raw_of[&t.name];
        let rt = &chosen[key];
        let tname = t.name.clone();
        if !rt.primary_key.is_empty() {
            match map_cols(&tname, &rt.primary_key) {
                Ok(pk) => t.primary_key = pk,
                Err(c) => notes.push(format!(
                    "the primary key of {tname} ({}) uses column {c}, which is not a column of the table; the table is modelled without a primary key",
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
                    "the unique constraint of {tname} on ({}) uses column {c}, which is not a column of the table; it is left out",
                    u.join(", ")
                )),
            }
        }
        // Foreign keys found only on partitions, with those partitions.
        let mut from_partitions: Vec<(ForeignKey, Vec<String>)> = Vec::new();
        let mut on_table: Vec<ForeignKey> = Vec::new();
        for fk in &rt.foreign_keys {
            let shown_target = display_name(&fk.references);
            let label = format!(
                "the foreign key {tname}({}) -> {shown_target}",
                fk.columns.join(", "),
            );
            if fk.outside {
                notes.push(format!(
                    "{label} points outside the database read; it is left out"
                ));
                continue;
            }
            let Some(target) = target_of(&fk.references) else {
                notes.push(if all.contains(&fk.references) {
                    format!("{label} points at a table outside the schemas read; it is left out")
                } else {
                    format!("{label} points at a table that is not read; it is left out")
                });
                continue;
            };
            let ref_raw = if fk.ref_columns.is_empty() {
                raw_of
                    .get(&target)
                    .map(|k| chosen[*k].primary_key.clone())
                    .unwrap_or_default()
            } else {
                fk.ref_columns.clone()
            };
            let cols = map_cols(&tname, &fk.columns);
            let refs = map_cols(&target, &ref_raw);
            match (cols, refs) {
                (Ok(cols), Ok(refs)) if !refs.is_empty() && refs.len() == cols.len() => {
                    let model = ForeignKey {
                        columns: cols,
                        references: target,
                        ref_columns: refs,
                    };
                    match &fk.partition {
                        None => on_table.push(model.clone()),
                        Some(p) => match from_partitions.iter_mut().find(|(f, _)| *f == model) {
                            Some((_, parts)) => parts.push(p.clone()),
                            None => from_partitions.push((model.clone(), vec![p.clone()])),
                        },
                    }
                    if !t.foreign_keys.contains(&model) {
                        t.foreign_keys.push(model);
                    }
                }
                (Err(c), _) | (_, Err(c)) => notes.push(format!(
                    "{label} uses column {c}, which is not a column of its table; it is left out"
                )),
                _ => notes.push(format!(
                    "{label} does not pair its columns with the referenced key; it is left out"
                )),
            }
        }
        for (fk, parts) in from_partitions {
            if on_table.contains(&fk) {
                continue;
            }
            notes.push(format!(
                "the foreign key {tname}({}) -> {} is declared on partition{} {} of {tname}; it is modelled on {tname}, so every generated row satisfies it",
                fk.columns.join(", "),
                fk.references,
                if parts.len() > 1 { "s" } else { "" },
                parts.join(", ")
            ));
        }
        for ch in &rt.checks {
            let label = match (&ch.name, &ch.domain) {
                (Some(n), Some((d, c))) => {
                    format!("check {n} of domain {d} (column {tname}.{c})")
                }
                (None, Some((d, c))) => format!("a check of domain {d} (column {tname}.{c})"),
                (Some(n), None) => format!("check {n} of {tname}"),
                (None, None) => format!("a check of {tname}"),
            };
            match parse_checks(&ch.text) {
                Err(e) => {
                    let (nulled, open) = guard_unmodelled(t, &ch.text);
                    let mut note = format!(
                        "{label} ({}) cannot be modelled ({}); it is left out, and the database still enforces it",
                        one_line(&ch.text),
                        e.message
                    );
                    if !nulled.is_empty() {
                        note.push_str(&format!(
                            "; generated rows leave {} NULL (fill_rate = 0) so they cannot break it",
                            nulled.join(", ")
                        ));
                    }
                    if !open.is_empty() {
                        note.push_str(&format!(
                            "; generated values of {} may break it: set them in a scenario to values it accepts",
                            open.join(", ")
                        ));
                    }
                    notes.push(note);
                }
                Ok(parsed) => {
                    for c in parsed {
                        match c.columns().into_iter().find(|x| !kept[&tname].contains(*x)) {
                            Some(missing) => notes.push(format!(
                                "{label} ({}) reads column {missing}, which is not a column of the table; it is left out, and the database still enforces it",
                                one_line(&ch.text)
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
        if let Some(p) = &rt.partitioning {
            let (checks, more) = partition::bound_checks(&tname, p, t);
            notes.extend(more);
            for c in checks {
                if !t.checks.contains(&c) {
                    t.checks.push(c);
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
    let mut checked = false;
    for _ in 0..budget {
        match schema.check() {
            Ok(()) => {
                checked = true;
                break;
            }
            Err(e) => {
                if !repair(&mut schema, &e, &mut notes) {
                    return Err(Error::Core(e.into()));
                }
            }
        }
    }
    if !checked {
        schema.check().map_err(|e| Error::Core(e.into()))?;
    }
    notes.extend(hints::native_notes(&schema));
    notes.extend(hints::cycle_notes(&schema));
    notes.extend(hints::trigger_notes(&schema));
    notes.extend(hints::reference_hints(&schema));
    Ok(Introspection { schema, notes })
}

/// The columns a check the model cannot hold reads (found by name in its text): nullable ones
/// without a fill rate of their own are kept NULL in generated rows (returned first), the
/// NOT NULL ones are returned second (their generated values may break the check).
fn guard_unmodelled(t: &mut Table, text: &str) -> (Vec<String>, Vec<String>) {
    let words: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let (mut nulled, mut open) = (Vec::new(), Vec::new());
    for c in &mut t.columns {
        if !words.contains(&c.name.to_ascii_lowercase()) || c.generated.is_some() {
            continue;
        }
        if c.nullable {
            if c.fill_rate.is_none() {
                c.fill_rate = Some(0.0);
                nulled.push(c.name.clone());
            }
        } else if c.default.is_none() && c.default_sql.is_none() {
            open.push(c.name.clone());
        }
    }
    (nulled, open)
}

/// Leaves out what a schema check refused, with a note; false when nothing can be left out.
fn repair(schema: &mut Schema, e: &SchemaError, notes: &mut Vec<String>) -> bool {
    let SchemaError::Invalid {
        table,
        field,
        message,
        ..
    } = e
    else {
        return false;
    };
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

#[cfg(test)]
mod tests {
    use super::super::{RawColumn, RawForeignKey};
    use super::*;

    fn table(columns: &[&str], fks: &[(&str, (&str, &str))]) -> RawTable {
        RawTable {
            columns: columns
                .iter()
                .map(|c| RawColumn {
                    name: (*c).into(),
                    ty: (ColumnType::Integer, None),
                    nullable: false,
                    default: RawDefault::None,
                    generated: None,
                    charset: None,
                })
                .collect(),
            primary_key: vec![columns[0].into()],
            foreign_keys: fks
                .iter()
                .map(|(c, (s, t))| RawForeignKey {
                    id: (*c).into(),
                    columns: vec![(*c).into()],
                    references: ((*s).into(), (*t).into()),
                    outside: false,
                    ref_columns: Vec::new(),
                    partition: None,
                })
                .collect(),
            ..RawTable::default()
        }
    }

    fn raw() -> Raw {
        let key = |s: &str, t: &str| (s.to_owned(), t.to_owned());
        let mut raw = Raw {
            current_schema: Some("public".into()),
            has_schemas: true,
            ..Raw::default()
        };
        raw.tables
            .insert(key("public", "customer"), table(&["id"], &[]));
        raw.tables.insert(
            key("sales", "customer"),
            table(&["id", "person"], &[("person", ("public", "customer"))]),
        );
        raw.tables.insert(
            key("sales", "invoice"),
            table(
                &["id", "customer", "lost"],
                &[("customer", ("sales", "customer")), ("lost", ("gone", "x"))],
            ),
        );
        raw
    }

    #[test]
    fn shared_names_are_qualified_and_schemas_chosen() {
        let i = build(raw(), "s", &IntrospectOptions::new(), "db").unwrap();
        let names: Vec<(&str, Option<&str>)> = i
            .schema
            .tables
            .iter()
            .map(|t| (t.name.as_str(), t.schema.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("public.customer", Some("public")),
                ("sales.customer", Some("sales")),
                ("invoice", Some("sales")),
            ]
        );
        let invoice = i.schema.table("invoice").unwrap();
        assert_eq!(invoice.foreign_keys.len(), 1);
        assert_eq!(invoice.foreign_keys[0].references, "sales.customer");
        assert!(
            i.notes
                .iter()
                .any(|n| n.contains("invoice(lost) -> gone.x points at a table that is not read")),
            "{:?}",
            i.notes
        );

        let only_sales = IntrospectOptions::new().schema("sales");
        let i = build(raw(), "s", &only_sales, "db").unwrap();
        let customer = i.schema.table("customer").unwrap();
        assert_eq!(customer.schema.as_deref(), Some("sales"));
        assert!(customer.foreign_keys.is_empty());
        assert!(
            i.notes.iter().any(|n| n.contains(
                "customer(person) -> public.customer points at a table outside the schemas read"
            )),
            "{:?}",
            i.notes
        );
    }

    #[test]
    fn no_table_to_read_says_which_schemas_have_tables() {
        let nope = IntrospectOptions::new().schema("nope");
        let e = build(raw(), "s", &nope, "postgres://db/app").unwrap_err();
        let text = e.to_string();
        assert_eq!(e.code(), atdm_core::ErrorCode::InvalidSchema);
        assert!(
            text.contains("postgres://db/app has no table to read in schema nope")
                && text.contains("schemas with tables: public, sales")
                && text.contains("--schema"),
            "{text}"
        );
        let empty = Raw {
            has_schemas: true,
            ..Raw::default()
        };
        let text = build(empty, "s", &IntrospectOptions::new(), "postgres://db/app")
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("create the application's tables first"),
            "{text}"
        );
    }
}
