//! The rules file of a masking job, and its check against the schema.
//!
//! ```toml
//! locale = "en"                    # fake values of this locale (default en)
//! transaction = "table"            # one transaction per target table, or "whole"
//! allow_unmasked = ["staff.notes"] # sensitive columns knowingly copied as they are
//!
//! [subset]                         # leave out to copy every row
//! children = false                 # also keep the rows that point at kept rows
//! roots = [
//!   { table = "customer", percent = 10, where = [{ column = "active", op = "=", value = true }] },
//! ]
//!
//! [tables.customer]
//! email = "email"                                  # a transform by name
//! first_name = { transform = "fake", kind = "first_name" }
//! birth_date = { transform = "generalize", to = "year" }
//! created_at = { transform = "shift", days = 30 }
//! ```
//!
//! A column without a rule is kept, unless detection says it is sensitive: then the job stops
//! before anything is written (see [`super::detect`]). A foreign key's columns take the
//! transform of the columns they reference, so keys stay joined; a rule of their own is an
//! error.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{FakeKind, Generalization, MaskError, MaskKey, Transform};
use crate::Value;
use crate::generate::Locale;
use crate::schema::{ColumnType, Schema, Table};

/// How the target is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionMode {
    /// One transaction per target table: a failure keeps the tables written before it.
    #[default]
    Table,
    /// One transaction for the whole target: all or nothing.
    Whole,
}

/// A comparison of a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum FilterOp {
    /// `=`
    #[serde(rename = "=")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// The value is one of a list.
    #[serde(rename = "in")]
    In,
    /// The value is NULL.
    #[serde(rename = "is_null")]
    IsNull,
    /// The value is not NULL.
    #[serde(rename = "is_not_null")]
    IsNotNull,
}

/// One condition on a root table's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The column compared.
    pub column: String,
    /// The comparison.
    pub op: FilterOp,
    /// The values compared with (one, or the list of `in`; none for the NULL tests), of the
    /// column's type.
    pub values: Vec<Value>,
}

impl Filter {
    /// Whether `value` (of the filter's column) passes. A NULL passes only `is_null`.
    pub fn matches(&self, value: &Value) -> bool {
        use std::cmp::Ordering::*;
        match self.op {
            FilterOp::IsNull => value.is_null(),
            FilterOp::IsNotNull => !value.is_null(),
            FilterOp::In => self.values.iter().any(|v| value.compare(v) == Some(Equal)),
            op => {
                let Some(o) = self.values.first().and_then(|v| value.compare(v)) else {
                    return false;
                };
                match op {
                    FilterOp::Eq => o == Equal,
                    FilterOp::Ne => o != Equal,
                    FilterOp::Lt => o == Less,
                    FilterOp::Le => o != Greater,
                    FilterOp::Gt => o == Greater,
                    FilterOp::Ge => o != Less,
                    _ => unreachable!("handled above"),
                }
            }
        }
    }
}

/// Where a subset starts: the rows of `table` that pass every filter, then a share of them.
#[derive(Debug, Clone, PartialEq)]
pub struct SubsetRoot {
    /// The table.
    pub table: String,
    /// Conditions every kept row meets.
    pub filters: Vec<Filter>,
    /// The share of the passing rows kept, in percent (chosen by the keyed hash of each row's
    /// primary key, so the same key keeps the same rows); `None`: all of them.
    pub percent: Option<f64>,
}

/// Which rows a job keeps: the roots' rows, every row they need through foreign keys
/// (transitively, cycles included), and with `children` the rows that point at kept rows.
/// Tables that are neither roots nor reached keep no rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subset {
    /// The roots.
    pub roots: Vec<SubsetRoot>,
    /// Whether rows that point at kept rows are kept too.
    pub children: bool,
}

/// A parsed rules file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rules {
    /// The file's name, for messages.
    pub file: String,
    /// The locale of fake values.
    pub locale: Locale,
    /// How the target is written.
    pub transaction: TransactionMode,
    /// `(table, column)` pairs that may be copied unmasked although detection finds them
    /// sensitive.
    pub allow_unmasked: BTreeSet<(String, String)>,
    /// The subset; `None`: every row.
    pub subset: Option<Subset>,
    /// The transforms written in the file: table, then column.
    pub columns: BTreeMap<String, BTreeMap<String, Transform>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    locale: Option<Locale>,
    #[serde(default)]
    transaction: TransactionMode,
    #[serde(default)]
    allow_unmasked: Vec<String>,
    #[serde(default)]
    subset: Option<RawSubset>,
    #[serde(default)]
    tables: BTreeMap<String, BTreeMap<String, RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubset {
    #[serde(default)]
    children: bool,
    roots: Vec<RawRoot>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoot {
    table: String,
    #[serde(default, rename = "where")]
    filters: Vec<RawFilter>,
    #[serde(default)]
    percent: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilter {
    column: String,
    op: FilterOp,
    #[serde(default)]
    value: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRule {
    Name(String),
    Full(RawParams),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawParams {
    transform: String,
    kind: Option<FakeKind>,
    value: Option<toml::Value>,
    keep_digits: Option<u32>,
    luhn: Option<bool>,
    days: Option<u32>,
    by: Option<String>,
    to: Option<String>,
    keep: Option<u32>,
    width: Option<u64>,
    bound: Option<f64>,
    percent: Option<f64>,
}

/// Every transform name a rules file may use.
pub const TRANSFORM_NAMES: [&str; 13] = [
    "keep",
    "null",
    "constant",
    "pseudonymize",
    "fake",
    "email",
    "phone",
    "national_id",
    "card",
    "iban",
    "shift",
    "generalize",
    "noise",
];

impl Rules {
    /// Reads a rules file's text (`file` names it in messages). Checks its form only; see
    /// [`Rules::resolve`] for the check against a schema.
    pub fn from_toml(text: &str, file: &str) -> Result<Rules, MaskError> {
        let fail = |message: String| MaskError::Rules {
            file: file.to_owned(),
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| fail(e.to_string()))?;
        let mut allow = BTreeSet::new();
        for a in raw.allow_unmasked {
            let Some((t, c)) = a.rsplit_once('.') else {
                return Err(fail(format!(
                    "allow_unmasked entry {a:?} is not `table.column`"
                )));
            };
            allow.insert((t.to_owned(), c.to_owned()));
        }
        let mut columns = BTreeMap::new();
        for (table, rules) in raw.tables {
            let mut cols = BTreeMap::new();
            for (column, rule) in rules {
                let params = match rule {
                    RawRule::Name(n) => RawParams {
                        transform: n,
                        ..RawParams::default()
                    },
                    RawRule::Full(p) => p,
                };
                let t = transform_of(params)
                    .map_err(|m| fail(format!("tables.{table}.{column}: {m}")))?;
                cols.insert(column, t);
            }
            columns.insert(table, cols);
        }
        let subset = match raw.subset {
            None => None,
            Some(s) => {
                if s.roots.is_empty() {
                    return Err(fail(
                        "subset has no roots; name at least one table to start from".into(),
                    ));
                }
                let mut roots = Vec::new();
                for r in s.roots {
                    if let Some(p) = r.percent
                        && !(p > 0.0 && p <= 100.0)
                    {
                        return Err(fail(format!(
                            "subset root {}: percent {p} is not in (0, 100]",
                            r.table
                        )));
                    }
                    let mut filters = Vec::new();
                    for f in r.filters {
                        let values = match (f.op, f.value) {
                            (FilterOp::IsNull | FilterOp::IsNotNull, None) => Vec::new(),
                            (FilterOp::IsNull | FilterOp::IsNotNull, Some(_)) => {
                                return Err(fail(format!(
                                    "subset root {}: {} takes no value",
                                    r.table, f.column
                                )));
                            }
                            (FilterOp::In, Some(toml::Value::Array(a))) => {
                                a.into_iter().map(literal).collect()
                            }
                            (FilterOp::In, _) => {
                                return Err(fail(format!(
                                    "subset root {}: `in` on {} needs a list of values",
                                    r.table, f.column
                                )));
                            }
                            (_, Some(v)) => vec![literal(v)],
                            (_, None) => {
                                return Err(fail(format!(
                                    "subset root {}: the filter on {} needs a value",
                                    r.table, f.column
                                )));
                            }
                        };
                        filters.push(Filter {
                            column: f.column,
                            op: f.op,
                            values,
                        });
                    }
                    roots.push(SubsetRoot {
                        table: r.table,
                        filters,
                        percent: r.percent,
                    });
                }
                Some(Subset {
                    roots,
                    children: s.children,
                })
            }
        };
        Ok(Rules {
            file: file.to_owned(),
            locale: raw.locale.unwrap_or_default(),
            transaction: raw.transaction,
            allow_unmasked: allow,
            subset,
            columns,
        })
    }

    /// Checks the rules against `schema` and gives every column its transform: the file's,
    /// the one a foreign key inherits from the columns it references, or
    /// [`Transform::Keep`]. Fails, naming the table and column and what to write instead,
    /// for an unknown table or column, a transform that does not fit the column's type or
    /// nullability, a transform that may make two values equal on a key or unique column, a
    /// rule on a foreign key column that differs from the referenced column's, and subset
    /// roots or filters that do not fit.
    pub fn resolve(&self, schema: &Schema) -> Result<MaskPlan, MaskError> {
        let fail = |message: String| MaskError::Rules {
            file: self.file.clone(),
            message,
        };
        let names = |list: Vec<&str>| list.join(", ");
        for (t, cols) in &self.columns {
            let Some(table) = schema.table(t) else {
                return Err(fail(format!(
                    "table {t:?} is not in the source database (its tables: {})",
                    names(schema.tables.iter().map(|t| t.name.as_str()).collect())
                )));
            };
            for c in cols.keys() {
                if table.get_column(c).is_none() {
                    return Err(fail(format!(
                        "column {t}.{c} does not exist (its columns: {})",
                        names(table.columns.iter().map(|c| c.name.as_str()).collect())
                    )));
                }
            }
        }
        for (t, c) in &self.allow_unmasked {
            if schema.table(t).and_then(|x| x.get_column(c)).is_none() {
                return Err(fail(format!(
                    "allow_unmasked names {t}.{c}, which does not exist"
                )));
            }
        }
        // Every column's transform: its own, or the referenced column's through foreign keys
        // (followed to the end of the chain).
        let mut tables = BTreeMap::new();
        let mut inherited = BTreeMap::new();
        for table in &schema.tables {
            let mut list = Vec::with_capacity(table.columns.len());
            for c in &table.columns {
                let own = self.columns.get(&table.name).and_then(|m| m.get(&c.name));
                let from = referenced(schema, table, &c.name, &self.columns);
                let t = match (own, from) {
                    (Some(own), Some((rt, rc, theirs))) if *own != theirs => {
                        return Err(fail(format!(
                            "{}.{} references {rt}.{rc}, so it takes {rt}.{rc}'s transform \
                             ({}) and the two stay joined; remove its own rule ({})",
                            table.name,
                            c.name,
                            theirs.name(),
                            own.name()
                        )));
                    }
                    (_, Some((rt, rc, theirs))) => {
                        if theirs != Transform::Keep {
                            inherited.insert(
                                (table.name.clone(), c.name.clone()),
                                (rt.clone(), rc.clone()),
                            );
                        }
                        theirs
                    }
                    (Some(own), None) => own.clone(),
                    (None, None) => Transform::Keep,
                };
                check_fit(schema, table, &c.name, &t)
                    .map_err(|m| fail(format!("{}.{}: {m}", table.name, c.name)))?;
                list.push(t);
            }
            tables.insert(table.name.clone(), list);
        }
        if let Some(subset) = &self.subset {
            for r in &subset.roots {
                let Some(table) = schema.table(&r.table) else {
                    return Err(fail(format!(
                        "subset root {:?} is not in the source database",
                        r.table
                    )));
                };
                if r.percent.is_some() && table.primary_key.is_empty() {
                    return Err(fail(format!(
                        "subset root {}: percent needs a primary key to choose rows by",
                        r.table
                    )));
                }
                for f in &r.filters {
                    let Some(col) = table.get_column(&f.column) else {
                        return Err(fail(format!(
                            "subset root {}: column {} does not exist",
                            r.table, f.column
                        )));
                    };
                    for v in &f.values {
                        v.clone().coerce(&col.ty).map_err(|m| {
                            fail(format!(
                                "subset root {}: the filter on {}: {m}",
                                r.table, f.column
                            ))
                        })?;
                    }
                }
            }
        }
        Ok(MaskPlan {
            tables,
            inherited,
            subset: self.subset.clone().map(|mut s| {
                for r in &mut s.roots {
                    let table = schema.table(&r.table).expect("checked above");
                    for f in &mut r.filters {
                        let ty = &table.get_column(&f.column).expect("checked above").ty;
                        for v in &mut f.values {
                            *v = v.clone().coerce(ty).expect("checked above");
                        }
                    }
                }
                s
            }),
        })
    }
}

/// The rules resolved against a schema: every column's transform.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskPlan {
    /// Per table, each column's transform in column order.
    pub tables: BTreeMap<String, Vec<Transform>>,
    /// Columns whose transform comes from the columns their foreign key references: `(table,
    /// column)` to `(referenced table, column)`.
    pub inherited: BTreeMap<(String, String), (String, String)>,
    /// The subset, its filter values of their columns' types.
    pub subset: Option<Subset>,
}

impl MaskPlan {
    /// The transform of `table`.`column`.
    pub fn transform(&self, schema: &Schema, table: &str, column: &str) -> Option<&Transform> {
        let t = schema.table(table)?;
        let i = t.columns.iter().position(|c| c.name == column)?;
        self.tables.get(table)?.get(i)
    }
}

/// Whether a subset root keeps a row by its share: the keyed hash of the table and the row's
/// primary key values, below `percent` of the range.
pub fn sampled(key: &MaskKey, table: &str, primary_key: &[Value], percent: f64) -> bool {
    let mut text = String::from(table);
    for v in primary_key {
        text.push('\u{1f}');
        text.push_str(&super::text_form(v).unwrap_or_default());
    }
    let d = super::transform::digest_text(key, &text).unwrap_or(0);
    let unit = (d >> 75) as f64 / (1u64 << 53) as f64;
    unit * 100.0 < percent
}

/// The transform a foreign key column inherits: the first foreign key it belongs to, followed
/// to the column at the end of the chain; with that column's own rule.
fn referenced(
    schema: &Schema,
    table: &Table,
    column: &str,
    rules: &BTreeMap<String, BTreeMap<String, Transform>>,
) -> Option<(String, String, Transform)> {
    let mut at = (table.name.clone(), column.to_owned());
    let mut seen = BTreeSet::new();
    let mut found = None;
    while seen.insert(at.clone()) {
        let t = schema.table(&at.0)?;
        let Some((fk, pos)) = t
            .foreign_keys
            .iter()
            .find_map(|fk| fk.columns.iter().position(|c| *c == at.1).map(|p| (fk, p)))
        else {
            break;
        };
        let targets = t.fk_target_columns(fk, schema);
        let next = (fk.references.clone(), targets.get(pos)?.clone());
        found = Some(next.clone());
        at = next;
    }
    let (rt, rc) = found?;
    let t = rules
        .get(&rt)
        .and_then(|m| m.get(&rc))
        .cloned()
        .unwrap_or(Transform::Keep);
    Some((rt, rc, t))
}

/// Whether `t` fits the column: its type, its nullability, and on keys and unique columns
/// that it keeps values distinct.
fn check_fit(schema: &Schema, table: &Table, column: &str, t: &Transform) -> Result<(), String> {
    let c = table.get_column(column).expect("a column of the table");
    let ty = &c.ty;
    let text = matches!(ty, ColumnType::Text | ColumnType::Varchar(_));
    let dated = matches!(
        ty,
        ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz
    );
    let numeric = matches!(
        ty,
        ColumnType::Integer
            | ColumnType::BigInt
            | ColumnType::SizedInt { .. }
            | ColumnType::Numeric { .. }
    );
    let keyed = table.primary_key.iter().any(|k| k == column)
        || table.unique.iter().any(|u| u.iter().any(|k| k == column))
        || schema.tables.iter().any(|o| {
            o.foreign_keys.iter().any(|fk| {
                fk.references == table.name
                    && o.fk_target_columns(fk, schema).iter().any(|k| k == column)
            })
        });
    if keyed && !t.is_bijective() && !(matches!(t, Transform::Null) && c.nullable) {
        return Err(format!(
            "it is a key or unique, and {} could make two values equal; use pseudonymize \
             (or email, phone, national_id, card, iban for such values)",
            t.name()
        ));
    }
    let fits = match t {
        Transform::Keep => true,
        Transform::Null => {
            if !c.nullable {
                return Err("null needs a nullable column; use constant or fake".into());
            }
            true
        }
        Transform::Constant { value } => {
            value
                .clone()
                .coerce(ty)
                .map_err(|m| format!("constant: {m}"))?;
            true
        }
        Transform::Pseudonymize => !matches!(
            ty,
            ColumnType::Boolean
                | ColumnType::Date
                | ColumnType::Timestamp
                | ColumnType::TimestampTz
                | ColumnType::Json
                | ColumnType::Bytes
                | ColumnType::Enum { .. }
        ),
        Transform::Fake { .. }
        | Transform::Email
        | Transform::Phone { .. }
        | Transform::NationalId
        | Transform::Card { .. }
        | Transform::Iban => text,
        Transform::Shift { days, by } => {
            if *days == 0 {
                return Err("shift needs days of at least 1".into());
            }
            if let Some(by) = by
                && table.get_column(by).is_none()
            {
                return Err(format!("shift by {by:?}: no such column in {}", table.name));
            }
            if by.is_none() && table.primary_key.is_empty() {
                return Err(
                    "shift needs `by = \"column\"` naming the entity, as the table has no primary key"
                        .into(),
                );
            }
            dated
        }
        Transform::Generalize { to } => match to {
            Generalization::Month | Generalization::Year => dated,
            Generalization::Prefix(_) => text,
            Generalization::Band(w) => {
                if *w == 0 {
                    return Err("generalize to band needs a width of at least 1".into());
                }
                numeric
            }
        },
        Transform::Noise { .. } => {
            if table.primary_key.is_empty() {
                return Err("noise needs a primary key to key each row's change by".into());
            }
            numeric
        }
    };
    if fits {
        Ok(())
    } else {
        Err(format!(
            "{} does not apply to a {} column",
            t.name(),
            ty_name(ty)
        ))
    }
}

fn ty_name(ty: &ColumnType) -> String {
    ty.to_string()
}

/// A TOML literal as a value (typed later against its column).
fn literal(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::Text(s),
        toml::Value::Integer(i) => Value::Int(i),
        toml::Value::Float(f) => Value::Text(f.to_string()),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::Text(d.to_string()),
        other => Value::Text(other.to_string()),
    }
}

fn transform_of(p: RawParams) -> Result<Transform, String> {
    let name = p.transform.as_str();
    // Which parameters each transform takes; any other is an error.
    let allowed: &[&str] = match name {
        "keep" | "null" | "pseudonymize" | "email" | "national_id" | "iban" => &[],
        "constant" => &["value"],
        "fake" => &["kind"],
        "phone" => &["keep_digits"],
        "card" => &["keep_digits", "luhn"],
        "shift" => &["days", "by"],
        "generalize" => &["to", "keep", "width"],
        "noise" => &["bound", "percent"],
        other => {
            return Err(format!(
                "unknown transform {other:?}; use one of {}",
                TRANSFORM_NAMES.join(", ")
            ));
        }
    };
    let given = [
        ("kind", p.kind.is_some()),
        ("value", p.value.is_some()),
        ("keep_digits", p.keep_digits.is_some()),
        ("luhn", p.luhn.is_some()),
        ("days", p.days.is_some()),
        ("by", p.by.is_some()),
        ("to", p.to.is_some()),
        ("keep", p.keep.is_some()),
        ("width", p.width.is_some()),
        ("bound", p.bound.is_some()),
        ("percent", p.percent.is_some()),
    ];
    for (k, set) in given {
        if set && !allowed.contains(&k) {
            return Err(format!("{name} takes no `{k}`"));
        }
    }
    Ok(match name {
        "keep" => Transform::Keep,
        "null" => Transform::Null,
        "pseudonymize" => Transform::Pseudonymize,
        "email" => Transform::Email,
        "national_id" => Transform::NationalId,
        "iban" => Transform::Iban,
        "constant" => Transform::Constant {
            value: literal(p.value.ok_or("constant needs `value`")?),
        },
        "fake" => Transform::Fake {
            kind: p.kind.ok_or_else(|| {
                format!(
                    "fake needs `kind`: one of {}",
                    FakeKind::ALL.map(FakeKind::as_str).join(", ")
                )
            })?,
        },
        "phone" => Transform::Phone {
            keep_digits: p.keep_digits.unwrap_or(0),
        },
        "card" => Transform::Card {
            keep_digits: p.keep_digits.unwrap_or(6),
            luhn: p.luhn.unwrap_or(true),
        },
        "shift" => Transform::Shift {
            days: p.days.ok_or("shift needs `days`, the largest shift")?,
            by: p.by,
        },
        "generalize" => {
            let to = match (p.to.as_deref(), p.keep, p.width) {
                (Some("month"), None, None) => Generalization::Month,
                (Some("year"), None, None) => Generalization::Year,
                (Some("prefix"), Some(k), None) => Generalization::Prefix(k),
                (Some("band"), None, Some(w)) => Generalization::Band(w),
                (Some("prefix"), None, _) => return Err("generalize to prefix needs `keep`".into()),
                (Some("band"), _, None) => return Err("generalize to band needs `width`".into()),
                _ => {
                    return Err(
                        "generalize needs `to`: month, year, prefix (with keep = N) or band \
                         (with width = N)"
                            .into(),
                    );
                }
            };
            Transform::Generalize { to }
        }
        "noise" => match (p.bound, p.percent) {
            (Some(b), None) if b > 0.0 && b.is_finite() => Transform::Noise {
                bound: Some(b),
                percent: None,
            },
            (None, Some(q)) if q > 0.0 && q <= 100.0 => Transform::Noise {
                bound: None,
                percent: Some(q),
            },
            _ => {
                return Err(
                    "noise needs one of `bound` (> 0) or `percent` (0 to 100], not both".into(),
                );
            }
        },
        _ => unreachable!("checked above"),
    })
}

mod text;

pub use text::{rule_text, suggest_file};

#[cfg(test)]
mod tests;
