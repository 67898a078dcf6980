//! The validator gate: the only way to get a [`ValidatedPlan`], which is the only thing the
//! engine writes.
//!
//! Schema validators always run first, in this order: `schema.not_null`, `schema.types`,
//! `schema.checks`, `schema.unique`, `schema.foreign_keys`, `schema.synthetic_markers`. Then
//! the scenario's validators run in the order it declares them. All run, and all failures
//! come back together, in that order; each names its validator, says what is wrong, and lists
//! the values involved. A name nobody registered is itself a failure.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::generate::{MarkerPolicy, Semantic};
use crate::plan::{Cell, ExistingRows, Plan, RowView};
use crate::schema::{ColumnType, Schema};
use crate::value::Value;

/// One failed expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The validator's dotted name.
    pub validator: String,
    /// What is wrong.
    pub message: String,
    /// The values involved, by name.
    pub values: BTreeMap<String, serde_json::Value>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.validator, self.message)?;
        if !self.values.is_empty() {
            let parts: Vec<String> = self
                .values
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

/// The gate refused a plan; nothing may be written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("scenario {scenario:?} (run {run_id}) was rejected by {} validator failure(s): {}", failures.len(), failures.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; "))]
pub struct Rejection {
    /// The scenario.
    pub scenario: String,
    /// The run id.
    pub run_id: String,
    /// Every failure, in validator order.
    pub failures: Vec<Failure>,
}

/// Where a validator reports failures.
#[derive(Debug, Default)]
pub struct Report {
    current: String,
    failures: Vec<Failure>,
}

impl Report {
    /// Records a failure of the running validator.
    pub fn fail<K: Into<String>>(
        &mut self,
        message: impl Into<String>,
        values: impl IntoIterator<Item = (K, serde_json::Value)>,
    ) {
        self.failures.push(Failure {
            validator: self.current.clone(),
            message: message.into(),
            values: values.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        });
    }
}

/// What a validator sees.
pub struct CheckContext<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// The schema.
    pub schema: &'a Schema,
    /// The pack's reference rows (shared, owned by no run).
    pub reference: &'a ExistingRows,
    /// Rows that existed before the run and that the plan may point at.
    pub existing: &'a ExistingRows,
    /// The synthetic-marker policy.
    pub markers: &'a dyn MarkerPolicy,
    semantics: &'a ColumnSemantics,
    /// Per plan table: the schema table index and each plan column's index in it.
    layout: Vec<Option<(usize, Vec<Option<usize>>)>>,
}

impl<'a> CheckContext<'a> {
    /// The planned rows of a table.
    pub fn rows(&self, table: &str) -> impl Iterator<Item = RowView<'a>> + 'a {
        self.plan.rows(table)
    }
}

/// A validator: reads a plan, reports failures. It must be a pure function of its input.
pub trait Validator: Send + Sync {
    /// Checks the plan.
    fn check(&self, ctx: &CheckContext<'_>, report: &mut Report);
}

impl<F> Validator for F
where
    F: Fn(&CheckContext<'_>, &mut Report) + Send + Sync,
{
    fn check(&self, ctx: &CheckContext<'_>, report: &mut Report) {
        self(ctx, report)
    }
}

/// The schema validators, in the order they run.
pub const SCHEMA_VALIDATORS: [&str; 6] = [
    "schema.not_null",
    "schema.types",
    "schema.checks",
    "schema.unique",
    "schema.foreign_keys",
    "schema.synthetic_markers",
];

/// Validators by dotted name.
#[derive(Clone)]
pub struct ValidatorRegistry {
    map: BTreeMap<String, Arc<dyn Validator>>,
}

impl fmt::Debug for ValidatorRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

impl Default for ValidatorRegistry {
    fn default() -> Self {
        let mut r = ValidatorRegistry {
            map: BTreeMap::new(),
        };
        r.register("schema.not_null", not_null);
        r.register("schema.types", types);
        r.register("schema.checks", checks);
        r.register("schema.unique", unique);
        r.register("schema.foreign_keys", foreign_keys);
        r.register("schema.synthetic_markers", markers);
        r
    }
}

impl ValidatorRegistry {
    /// Registers (or replaces) a validator.
    pub fn register(&mut self, name: impl Into<String>, v: impl Validator + 'static) {
        self.map.insert(name.into(), Arc::new(v));
    }

    /// The registered names.
    pub fn names(&self) -> Vec<&str> {
        self.map.keys().map(String::as_str).collect()
    }

    /// Runs the schema validators and then `declared`, in order, and returns the plan as a
    /// [`ValidatedPlan`] if nothing failed.
    pub fn validate(
        &self,
        plan: Plan,
        declared: &[String],
        inputs: GateInputs<'_>,
    ) -> Result<ValidatedPlan, Rejection> {
        let names: Arc<[String]> = SCHEMA_VALIDATORS
            .iter()
            .map(|n| (*n).to_owned())
            .chain(declared.iter().cloned())
            .collect();
        self.validate_with(plan, &names, inputs)
    }

    /// Like [`ValidatorRegistry::validate`], with the full list of validator names to run
    /// (schema validators first) computed once by the caller.
    pub(crate) fn validate_with(
        &self,
        plan: Plan,
        names: &Arc<[String]>,
        inputs: GateInputs<'_>,
    ) -> Result<ValidatedPlan, Rejection> {
        self.check(&plan, names, inputs)?;
        Ok(ValidatedPlan {
            plan,
            validators: names.clone(),
        })
    }

    /// Runs the validators `names` on `plan` without taking it (the batches of streamed
    /// entries are checked this way, added to the planned rows).
    pub(crate) fn check(
        &self,
        plan: &Plan,
        names: &[String],
        inputs: GateInputs<'_>,
    ) -> Result<(), Rejection> {
        let layout = plan
            .tables
            .iter()
            .map(|tp| {
                let ti = inputs.schema.table_index(&tp.table)?;
                let t = &inputs.schema.tables[ti];
                Some((ti, tp.columns.iter().map(|c| t.column_index(c)).collect()))
            })
            .collect();
        let ctx = CheckContext {
            plan,
            schema: inputs.schema,
            reference: inputs.reference,
            existing: inputs.existing,
            markers: inputs.markers,
            semantics: inputs.semantics,
            layout,
        };
        let mut report = Report::default();
        for name in names.iter() {
            report.current.clear();
            report.current.push_str(name);
            match self.map.get(name.as_str()) {
                Some(v) => v.check(&ctx, &mut report),
                None => report.fail(
                    format!("unknown validator; registered: {}", self.names().join(", ")),
                    [("name", serde_json::Value::from(name.as_str()))],
                ),
            }
        }
        if report.failures.is_empty() {
            Ok(())
        } else {
            Err(Rejection {
                scenario: plan.scenario.clone(),
                run_id: plan.run_id.clone(),
                failures: report.failures,
            })
        }
    }
}

/// What the gate needs besides the plan.
#[derive(Clone, Copy)]
pub struct GateInputs<'a> {
    /// The schema.
    pub schema: &'a Schema,
    /// The pack's reference rows.
    pub reference: &'a ExistingRows,
    /// Rows that existed before the run.
    pub existing: &'a ExistingRows,
    /// The marker policy.
    pub markers: &'a dyn MarkerPolicy,
    /// The semantic kind of every column ([`ColumnSemantics::of`] the schema).
    pub semantics: &'a ColumnSemantics,
}

/// The [`Semantic`] kind inferred for every column of a schema, computed once.
#[derive(Debug, Clone, Default)]
pub struct ColumnSemantics(Vec<Vec<Option<Semantic>>>);

impl ColumnSemantics {
    /// Infers the kinds of every text column of `schema`.
    pub fn of(schema: &Schema) -> Self {
        ColumnSemantics(
            schema
                .tables
                .iter()
                .map(|t| {
                    t.columns
                        .iter()
                        .map(|c| {
                            if c.ty.is_textual() {
                                Semantic::infer(&t.name, &c.name)
                            } else {
                                None
                            }
                        })
                        .collect()
                })
                .collect(),
        )
    }

    fn get(&self, table: usize, column: usize) -> Option<Semantic> {
        self.0
            .get(table)
            .and_then(|t| t.get(column))
            .copied()
            .flatten()
    }
}

/// A plan that passed every validator. Only the gate constructs it, so only validated plans
/// reach a database.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedPlan {
    plan: Plan,
    validators: Arc<[String]>,
}

impl ValidatedPlan {
    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The validators that passed, in the order they ran.
    pub fn validators(&self) -> &[String] {
        &self.validators
    }
}

fn j(v: &Value) -> serde_json::Value {
    v.to_json()
}

fn for_each_value(
    ctx: &CheckContext<'_>,
    mut f: impl FnMut(&crate::schema::Table, &crate::schema::Column, Option<Semantic>, usize, &Value),
) {
    for (tp, layout) in ctx.plan.tables.iter().zip(&ctx.layout) {
        let Some((ti, cols)) = layout else {
            continue;
        };
        let t = &ctx.schema.tables[*ti];
        for (ri, row) in tp.rows.iter().enumerate() {
            for (cell, ci) in row.iter().zip(cols) {
                if let (Cell::Value(v), Some(ci)) = (cell, ci) {
                    f(t, &t.columns[*ci], ctx.semantics.get(*ti, *ci), ri, v);
                }
            }
        }
    }
}

fn not_null(ctx: &CheckContext<'_>, report: &mut Report) {
    for_each_value(ctx, |t, c, _, row, v| {
        if v.is_null() && !c.nullable {
            report.fail(
                format!(
                    "{}.{} is NOT NULL but the plan leaves it NULL",
                    t.name, c.name
                ),
                [
                    ("table", t.name.as_str().into()),
                    ("column", c.name.as_str().into()),
                    ("row", row.into()),
                ],
            );
        }
    });
}

fn types(ctx: &CheckContext<'_>, report: &mut Report) {
    for_each_value(ctx, |t, c, _, row, v| {
        if v.is_null() {
            return;
        }
        let problem = match (&c.ty, v) {
            (ColumnType::Varchar(n), Value::Text(s)) if s.chars().count() > *n as usize => {
                Some(format!("is longer than varchar({n})"))
            }
            (ColumnType::Enum { values, .. }, Value::Text(s)) if !values.contains(s) => {
                Some(format!(
                    "is not one of the enumeration's values ({})",
                    values.join(", ")
                ))
            }
            (ty @ (ColumnType::Integer | ColumnType::SizedInt { .. }), Value::Int(i))
                if ty.int_range().is_some_and(|(lo, hi)| *i < lo || *i > hi) =>
            {
                let (lo, hi) = ty.int_range().expect("an integer type");
                Some(format!("is outside {ty} ({lo} to {hi})"))
            }
            (ColumnType::Numeric { precision, scale }, Value::Numeric(d)) => {
                let int_digits = d.trunc().abs().to_string().trim_start_matches('0').len() as u32;
                (d.scale() > u32::from(*scale) || int_digits > u32::from(precision - scale))
                    .then(|| format!("does not fit numeric({precision},{scale})"))
            }
            (ty, v) => (!fits(v, ty))
                .then(|| format!("a {} value does not fit the column type {ty}", v.kind())),
        };
        if let Some(p) = problem {
            report.fail(
                format!("{}.{} {p}", t.name, c.name),
                [
                    ("table", t.name.as_str().into()),
                    ("column", c.name.as_str().into()),
                    ("row", row.into()),
                    ("value", j(v)),
                ],
            );
        }
    });
}

/// Whether a value has the kind a column type stores.
fn fits(v: &Value, ty: &ColumnType) -> bool {
    matches!(
        (ty, v),
        (
            ColumnType::Text | ColumnType::Varchar(_) | ColumnType::Enum { .. },
            Value::Text(_)
        ) | (
            ColumnType::Integer | ColumnType::BigInt | ColumnType::SizedInt { .. },
            Value::Int(_)
        ) | (ColumnType::Native { .. }, Value::Text(_))
            | (ColumnType::Numeric { .. }, Value::Numeric(_))
            | (ColumnType::Boolean, Value::Bool(_))
            | (ColumnType::Date, Value::Date(_))
            | (ColumnType::Timestamp, Value::Timestamp(_))
            | (ColumnType::TimestampTz, Value::TimestampTz(_))
            | (ColumnType::Uuid, Value::Uuid(_))
            | (ColumnType::Json, Value::Json(_))
            | (ColumnType::Bytes, Value::Bytes(_))
    )
}

fn checks(ctx: &CheckContext<'_>, report: &mut Report) {
    for tp in &ctx.plan.tables {
        let Some(t) = ctx.schema.table(&tp.table) else {
            continue;
        };
        for (ri, row) in tp.rows.iter().enumerate() {
            let get = |c: &str| {
                let i = tp.columns.iter().position(|x| x == c)?;
                match &row[i] {
                    Cell::Value(v) => Some(v),
                    _ => None,
                }
            };
            for check in &t.checks {
                if check.eval(&get) == Some(false) {
                    let mut values: Vec<(String, serde_json::Value)> = vec![
                        ("table".into(), t.name.as_str().into()),
                        ("row".into(), ri.into()),
                    ];
                    for c in check.columns() {
                        values.push((c.to_owned(), get(c).map(j).unwrap_or_default()));
                    }
                    report.fail(
                        format!("{} row {ri} violates check `{check}`", t.name),
                        values,
                    );
                }
            }
        }
    }
}

fn key_of<'a>(row: &'a [Cell], idx: &[usize]) -> Option<Vec<&'a Value>> {
    idx.iter()
        .map(|&i| match &row[i] {
            Cell::Value(v) if !v.is_null() => Some(v),
            _ => None,
        })
        .collect()
}

fn same(a: &Value, b: &Value) -> bool {
    a == b || a.compare(b) == Some(std::cmp::Ordering::Equal)
}

/// Whether an existing row (reference or database) has `key` in `cols`.
fn exists(rows: &ExistingRows, table: &str, cols: &[String], key: &[&Value]) -> bool {
    rows.get(table).into_iter().flatten().any(|r| {
        cols.iter()
            .zip(key)
            .all(|(c, v)| r.get(c).is_some_and(|x| same(x, v)))
    })
}

/// Plans are usually a handful of rows: below this size a scan beats building a hash set.
const SCAN_LIMIT: usize = 32;

fn unique(ctx: &CheckContext<'_>, report: &mut Report) {
    for tp in &ctx.plan.tables {
        let Some(t) = ctx.schema.table(&tp.table) else {
            continue;
        };
        let keys = std::iter::once(&t.primary_key)
            .filter(|k| !k.is_empty())
            .chain(t.unique.iter());
        for key in keys {
            let Some(idx) = key
                .iter()
                .map(|c| tp.columns.iter().position(|x| x == c))
                .collect::<Option<Vec<usize>>>()
            else {
                continue;
            };
            let mut seen: HashMap<Vec<&Value>, usize> = HashMap::new();
            let mut seen_one: HashMap<&Value, usize> = HashMap::new();
            let small = tp.rows.len() <= SCAN_LIMIT;
            for (ri, row) in tp.rows.iter().enumerate() {
                let Some(k) = key_of(row, &idx) else {
                    continue;
                };
                let shown = || serde_json::Value::Array(k.iter().map(|v| j(v)).collect());
                let first = if small {
                    tp.rows[..ri]
                        .iter()
                        .position(|other| key_of(other, &idx).as_deref() == Some(&k[..]))
                } else if let [one] = k.as_slice() {
                    // Single-column keys (the common case): no key vector per row.
                    match seen_one.entry(one) {
                        std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(ri);
                            None
                        }
                    }
                } else {
                    seen.get(&k).copied()
                };
                if let Some(first) = first {
                    report.fail(
                        format!(
                            "{} rows {first} and {ri} share ({})",
                            t.name,
                            key.join(", ")
                        ),
                        [("table", t.name.as_str().into()), ("key", shown())],
                    );
                    continue;
                }
                if exists(ctx.reference, &t.name, key, &k) || exists(ctx.existing, &t.name, key, &k)
                {
                    report.fail(
                        format!(
                            "{} row {ri} repeats the ({}) of a row that already exists",
                            t.name,
                            key.join(", ")
                        ),
                        [("table", t.name.as_str().into()), ("key", shown())],
                    );
                }
                if !small && k.len() > 1 {
                    seen.insert(k, ri);
                }
            }
        }
    }
}

fn foreign_keys(ctx: &CheckContext<'_>, report: &mut Report) {
    for tp in &ctx.plan.tables {
        let Some(t) = ctx.schema.table(&tp.table) else {
            continue;
        };
        for fk in &t.foreign_keys {
            let Some(idx) = fk
                .columns
                .iter()
                .map(|c| tp.columns.iter().position(|x| x == c))
                .collect::<Option<Vec<usize>>>()
            else {
                continue;
            };
            let target_cols = t.fk_target_columns(fk, ctx.schema);
            let target = ctx.plan.table(&fk.references);
            let tidx: Option<Vec<usize>> = target.and_then(|target| {
                target_cols
                    .iter()
                    .map(|c| target.columns.iter().position(|x| x == c))
                    .collect()
            });
            let planned_keys: Vec<Vec<&Value>> = match (target, &tidx) {
                (Some(target), Some(tidx)) => {
                    target.rows.iter().filter_map(|r| key_of(r, tidx)).collect()
                }
                _ => Vec::new(),
            };
            let planned: HashSet<&Vec<&Value>> = if planned_keys.len() > SCAN_LIMIT {
                planned_keys.iter().collect()
            } else {
                HashSet::new()
            };
            for (ri, row) in tp.rows.iter().enumerate() {
                if idx
                    .iter()
                    .any(|&i| matches!(row[i], Cell::Ref(_) | Cell::Streamed(_) | Cell::Default))
                {
                    continue; // points at a key the database assigns to a planned row
                }
                let Some(k) = key_of(row, &idx) else {
                    continue; // a NULL in the key: not enforced
                };
                let in_plan = if planned_keys.len() > SCAN_LIMIT {
                    planned.contains(&k)
                } else {
                    planned_keys
                        .iter()
                        .any(|p| p.iter().zip(&k).all(|(a, b)| same(a, b)))
                };
                if in_plan
                    || exists(ctx.reference, &fk.references, target_cols, &k)
                    || exists(ctx.existing, &fk.references, target_cols, &k)
                {
                    continue;
                }
                let mut values: Vec<(String, serde_json::Value)> = vec![
                    ("table".into(), t.name.as_str().into()),
                    ("row".into(), ri.into()),
                    ("references".into(), fk.references.as_str().into()),
                ];
                for (c, v) in fk.columns.iter().zip(&k) {
                    values.push((c.clone(), j(v)));
                }
                report.fail(
                    format!(
                        "{} row {ri}: ({}) points at no {} row in the plan, the reference rows or the database",
                        t.name,
                        fk.columns.join(", "),
                        fk.references
                    ),
                    values,
                );
            }
        }
    }
}

fn markers(ctx: &CheckContext<'_>, report: &mut Report) {
    for_each_value(ctx, |t, c, kind, row, v| {
        if v.is_null() {
            return;
        }
        if let Some(m) = ctx.markers.check(t, c, kind, v) {
            report.fail(
                format!("{}.{}: {m}", t.name, c.name),
                [
                    ("table", t.name.as_str().into()),
                    ("column", c.name.as_str().into()),
                    ("row", row.into()),
                    ("value", j(v)),
                ],
            );
        }
    });
}
