//! The planner: scenario + constraints + run context -> [`Plan`], every row of every table in
//! foreign-key order, every column valued.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ScenarioError};
use crate::generate::{
    CellRng, ColumnGen, GENERATOR_VERSION, GenContext, GeneratorRegistry, MarkerPolicy, name_hash,
};
use crate::scenario::{Count, Dep, Expr, Part, Scenario, Var, When, builtin, push_text};
use crate::schema::{Check, Generated, Operand, Schema, Table};
use crate::value::Value;

/// The seed of a run, derived from its run id: the first eight bytes of SHA-256 of the run
/// id's UTF-8 bytes, read as a big-endian unsigned integer. Stable across processes,
/// machines and front ends.
pub fn seed_from_run_id(run_id: &str) -> u64 {
    let digest = Sha256::digest(run_id.as_bytes());
    u64::from_be_bytes(
        digest[..8]
            .try_into()
            .expect("a SHA-256 digest has 32 bytes"),
    )
}

/// What a plan depends on besides the scenario and constraints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunContext {
    /// The run id (a ULID in the engine).
    pub run_id: String,
    /// The seed; [`RunContext::new`] derives it from the run id.
    pub seed: u64,
    /// "Today" for the run; never read from a clock in the core.
    pub reference_date: NaiveDate,
    /// The generator version to plan with; only [`GENERATOR_VERSION`] is supported.
    pub generator_version: u32,
}

impl RunContext {
    /// A context whose seed derives from the run id ([`seed_from_run_id`]).
    pub fn new(run_id: impl Into<String>, reference_date: NaiveDate) -> Self {
        let run_id = run_id.into();
        RunContext {
            seed: seed_from_run_id(&run_id),
            run_id,
            reference_date,
            generator_version: GENERATOR_VERSION,
        }
    }

    /// The same context with an explicit seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Rows that exist before a run, by table: a pack's reference rows, or candidate keys the
/// engine read from the database. Scenarios point at them with `{ existing = "table" }`, and
/// the foreign-key validator accepts references to them.
pub type ExistingRows = BTreeMap<String, Vec<BTreeMap<String, Value>>>;

/// One planned cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// A value.
    Value(Value),
    /// The database assigns the value (identity keys, database defaults, computed columns).
    Default,
    /// The value the database assigns to another planned cell (a foreign key to an identity
    /// key); the engine fills it in after inserting the referenced row.
    Ref(CellRef),
}

/// A planned cell, by table, row index within the table's plan, and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CellRef {
    /// The table.
    pub table: String,
    /// The row's index within the table's plan.
    pub row: usize,
    /// The column.
    pub column: String,
}

/// The planned rows of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TablePlan {
    /// The table.
    pub table: Arc<str>,
    /// The columns written, in table order (computed columns are left out).
    pub columns: Arc<[String]>,
    /// The alias of each row's `[[rows]]` entry.
    pub aliases: Vec<Arc<str>>,
    /// The rows, each a cell per column.
    pub rows: Vec<Vec<Cell>>,
}

/// The rows of one `[[rows]]` entry, for the result's entity keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// The alias.
    pub alias: Arc<str>,
    /// The name in the result.
    pub output: Arc<str>,
    /// The table.
    pub table: Arc<str>,
    /// Row indexes within the table's plan.
    pub rows: Vec<usize>,
    /// Whether the entry seeds exactly one row (its key is a value, not a list).
    pub single: bool,
}

/// A plan: every row to write, in foreign-key order.
///
/// Serialized as JSON it is byte-identical for identical inputs, in any process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The scenario id.
    pub scenario: String,
    /// The run id.
    pub run_id: String,
    /// The seed.
    pub seed: u64,
    /// The reference date.
    pub reference_date: NaiveDate,
    /// The generator version.
    pub generator_version: u32,
    /// The schema name.
    pub schema: String,
    /// The schema version.
    pub schema_version: String,
    /// Every knob's resolved value (caller constraints merged over defaults).
    pub constraints: BTreeMap<String, Value>,
    /// The tables with rows, in insert order.
    pub tables: Vec<TablePlan>,
    /// The rows of each `[[rows]]` entry.
    pub entities: Vec<Entity>,
}

/// A read-only view of one planned row.
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a> {
    table: &'a TablePlan,
    index: usize,
}

impl<'a> RowView<'a> {
    /// The table name.
    pub fn table(&self) -> &'a str {
        &self.table.table
    }

    /// The row's index within its table's plan.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The alias of the row's `[[rows]]` entry.
    pub fn alias(&self) -> &'a str {
        &self.table.aliases[self.index]
    }

    /// The cell of a column.
    pub fn cell(&self, column: &str) -> Option<&'a Cell> {
        let i = self.table.columns.iter().position(|c| c == column)?;
        Some(&self.table.rows[self.index][i])
    }

    /// The value of a column; `None` for an unknown column or a cell the database assigns.
    pub fn get(&self, column: &str) -> Option<&'a Value> {
        match self.cell(column)? {
            Cell::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The value of a text column.
    pub fn text(&self, column: &str) -> Option<&'a str> {
        self.get(column).and_then(Value::as_str)
    }
}

impl Plan {
    /// The plan as JSON (stable: same plan, same bytes).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a plan always serializes")
    }

    /// The plan of a table, if it has rows.
    pub fn table(&self, name: &str) -> Option<&TablePlan> {
        self.tables.iter().find(|t| &*t.table == name)
    }

    /// The planned rows of a table.
    pub fn rows<'a>(&'a self, table: &str) -> impl Iterator<Item = RowView<'a>> + 'a {
        let t = self.table(table);
        t.into_iter()
            .flat_map(|t| (0..t.rows.len()).map(move |index| RowView { table: t, index }))
    }

    /// The first row of a `[[rows]]` alias.
    pub fn row(&self, alias: &str) -> Option<RowView<'_>> {
        let e = self.entities.iter().find(|e| &*e.alias == alias)?;
        let t = self.table(&e.table)?;
        e.rows.first().map(|&index| RowView { table: t, index })
    }

    /// The number of planned rows.
    pub fn row_count(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }

    /// The keys of the seeded entities, by output name: a row's primary key value (an object
    /// for composite keys; a list for entries with several rows). `assigned` supplies values
    /// the database assigned (identity keys) once they are known.
    pub fn entity_keys(
        &self,
        schema: &Schema,
        assigned: &dyn Fn(&CellRef) -> Option<Value>,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut out = serde_json::Map::new();
        for e in &self.entities {
            let (Some(tp), Some(t)) = (self.table(&e.table), schema.table(&e.table)) else {
                continue;
            };
            let key_of = |row: usize| -> serde_json::Value {
                let value = |col: &str| -> serde_json::Value {
                    let i = tp.columns.iter().position(|c| c == col);
                    match i.map(|i| &tp.rows[row][i]) {
                        Some(Cell::Value(v)) => v.to_json(),
                        Some(Cell::Ref(r)) => assigned(r).map(|v| v.to_json()).unwrap_or_default(),
                        _ => assigned(&CellRef {
                            table: e.table.to_string(),
                            row,
                            column: col.into(),
                        })
                        .map(|v| v.to_json())
                        .unwrap_or_default(),
                    }
                };
                match t.primary_key.as_slice() {
                    [one] => value(one),
                    many => serde_json::Value::Object(
                        many.iter().map(|c| (c.clone(), value(c))).collect(),
                    ),
                }
            };
            if e.single && e.rows.is_empty() {
                continue; // a conditional row that was not seeded
            }
            let v = if e.single && e.rows.len() == 1 {
                key_of(e.rows[0])
            } else {
                serde_json::Value::Array(e.rows.iter().map(|&r| key_of(r)).collect())
            };
            out.insert(e.output.to_string(), v);
        }
        out
    }
}

#[derive(Debug, Clone)]
enum ColPlan {
    Expr(Expr),
    RunId,
    Lit(Value),
    DbAssigned,
    Null,
    Gen(ColumnGen),
    /// A nullable column that stays NULL unless an implication requires a value.
    GenIfRequired(ColumnGen),
    /// An implicit link to an earlier `[[rows]]` entry: (entry, referenced column).
    Link(usize, String),
    /// An implicit link to an existing row: (table, referenced column, key column for the choice).
    Existing(String, String, String),
}

#[derive(Debug, Clone)]
struct CompiledRow {
    alias: Arc<str>,
    output: Arc<str>,
    table_name: Arc<str>,
    table: usize,
    count: Count,
    when: Option<When>,
    cols: Vec<ColPlan>,
    /// Per column: whether the generator (not the scenario) chose the value.
    generated: Vec<bool>,
}

/// A scenario compiled against a schema and registries: ready to plan many times.
#[derive(Debug, Clone)]
pub(crate) struct CompiledScenario {
    pub(crate) scenario: Arc<Scenario>,
    /// The validators the gate runs for this scenario: schema validators, then declared.
    pub(crate) gate: Arc<[String]>,
    rows: Vec<CompiledRow>,
    /// Column names per table (in table order, computed columns left out).
    columns: Vec<Arc<[String]>>,
}

fn invalid(file: &str, field: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        file: file.into(),
        field: field.into(),
        message: message.into(),
    }
}

/// Which column of `target` a reference from `table.column` pairs with.
fn ref_target_column(
    schema: &Schema,
    table: &Table,
    column: &str,
    target: &Table,
    explicit: Option<&str>,
) -> Result<String, String> {
    if let Some(c) = explicit {
        return target
            .get_column(c)
            .map(|_| c.to_owned())
            .ok_or_else(|| format!("table {:?} has no column {c:?}", target.name));
    }
    for fk in &table.foreign_keys {
        if fk.references == target.name
            && let Some(i) = fk.columns.iter().position(|c| c == column)
        {
            return Ok(table.fk_target_columns(fk, schema)[i].clone());
        }
    }
    match target.primary_key.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "table {:?} has no primary key; name the column: \"@alias.column\"",
            target.name
        )),
        _ => Err(format!(
            "table {:?} has a composite key; name the column: \"@alias.column\"",
            target.name
        )),
    }
}

impl CompiledScenario {
    /// The tables whose existing rows the scenario may point at (`{ existing = ... }` and
    /// foreign keys left open with no earlier row to follow).
    pub(crate) fn existing_tables(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |t: &str| {
            if !out.iter().any(|x| x == t) {
                out.push(t.to_owned());
            }
        };
        for r in &self.rows {
            for c in &r.cols {
                match c {
                    ColPlan::Existing(t, _, _) => add(t),
                    ColPlan::Expr(e) => e.visit(&mut |d| {
                        if let Dep::Table(t) = d {
                            add(t)
                        }
                    }),
                    _ => {}
                }
            }
        }
        out
    }

    /// Checks every reference of the scenario against the schema and registries, and
    /// prepares the per-column plan.
    pub(crate) fn compile(
        scenario: Scenario,
        schema: &Schema,
        generators: &GeneratorRegistry,
        validators: &[&str],
    ) -> Result<CompiledScenario, ScenarioError> {
        let file = scenario.file.clone();
        for (i, v) in scenario.validators.iter().enumerate() {
            if !validators.contains(&v.as_str()) {
                return Err(invalid(
                    &file,
                    format!("validators[{i}]"),
                    format!(
                        "unknown validator {v:?}; registered: {}",
                        validators.join(", ")
                    ),
                ));
            }
        }
        let known_knob = |k: &str, field: &str| -> Result<(), ScenarioError> {
            if scenario.knobs.contains_key(k) {
                Ok(())
            } else {
                Err(invalid(
                    &file,
                    field,
                    format!(
                        "unknown knob {k:?}; declared knobs: {}",
                        if scenario.knobs.is_empty() {
                            "none".into()
                        } else {
                            scenario
                                .knobs
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                ))
            }
        };
        // Knob defaults: only knob-level expressions; references resolve; no cycles.
        for (name, knob) in &scenario.knobs {
            let field = format!("knobs.{name}.default");
            let mut err = None;
            knob.default.visit(&mut |d| {
                if err.is_some() {
                    return;
                }
                err = match d {
                    Dep::Knob(k) => known_knob(k, &field).err(),
                    _ => Some(invalid(
                        &file,
                        &field,
                        "a knob default may use literals, templates and other knobs only",
                    )),
                };
            });
            if let Some(e) = err {
                return Err(e);
            }
            if let Expr::Lit(v) = &knob.default {
                knob.accept(v).map_err(|m| {
                    invalid(&file, &field, format!("{m}; allowed: {}", knob.allowed()))
                })?;
            }
        }
        let today = NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date");
        if let Err(Error::Plan { message, .. }) =
            scenario.resolve_knobs(&BTreeMap::new(), "R", today)
            && message.contains("cycle")
        {
            return Err(invalid(&file, "knobs", message));
        }
        // Row entries in plan order: tables in foreign-key order, entries in file order.
        let order = schema
            .fk_order()
            .map_err(|e| invalid(&file, "rows", e.to_string()))?;
        let mut entries: Vec<(usize, usize)> = Vec::new(); // (position in fk order, entry index)
        for (i, r) in scenario.rows.iter().enumerate() {
            let ti = schema.table_index(&r.table).ok_or_else(|| {
                invalid(
                    &file,
                    format!("rows[{i}].table"),
                    format!(
                        "unknown table {:?}; tables: {}",
                        r.table,
                        schema
                            .tables
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
            if scenario.rows[..i].iter().any(|o| o.alias == r.alias) {
                return Err(invalid(
                    &file,
                    format!("rows[{i}].alias"),
                    format!("alias {:?} is used twice", r.alias),
                ));
            }
            entries.push((
                order
                    .iter()
                    .position(|&o| o == ti)
                    .expect("every table is ordered"),
                i,
            ));
        }
        entries.sort();
        let position_of = |alias: &str| {
            entries
                .iter()
                .position(|&(_, e)| scenario.rows[e].alias == alias)
        };
        let columns: Vec<Arc<[String]>> = schema
            .tables
            .iter()
            .map(|t| {
                t.columns
                    .iter()
                    .filter(|c| !matches!(c.generated, Some(Generated::Computed(_))))
                    .map(|c| c.name.clone())
                    .collect()
            })
            .collect();
        let mut rows = Vec::new();
        for (pos, &(_, ei)) in entries.iter().enumerate() {
            let spec = &scenario.rows[ei];
            let table = &schema.tables[schema.table_index(&spec.table).expect("checked above")];
            let field = format!("rows[{ei}]");
            match &spec.count {
                Count::Knob(k) => known_knob(k, &format!("{field}.count"))?,
                Count::Fixed(_) => {}
            }
            if let Some(w) = &spec.when {
                let k = match w {
                    When::Knob(k) | When::In { knob: k, .. } | When::IsSet { knob: k } => k,
                };
                known_knob(k, &format!("{field}.when"))?;
            }
            for col in spec.set.keys() {
                if table.get_column(col).is_none() {
                    return Err(invalid(
                        &file,
                        format!("{field}.set.{col}"),
                        format!(
                            "table {:?} has no column {col:?}; columns: {}",
                            table.name,
                            table
                                .columns
                                .iter()
                                .map(|c| c.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
            let mut cols = Vec::new();
            let mut generated = Vec::new();
            for c in table
                .columns
                .iter()
                .filter(|c| !matches!(c.generated, Some(Generated::Computed(_))))
            {
                let cf = format!("{field}.set.{}", c.name);
                let (plan, is_gen) = if let Some(e) = spec.set.get(&c.name) {
                    let mut err = None;
                    e.visit(&mut |d| {
                        if err.is_some() {
                            return;
                        }
                        err = match d {
                            Dep::Knob(k) => known_knob(k, &cf).err(),
                            Dep::Alias(a, col) => match position_of(a) {
                                None => Some(invalid(&file, &cf, format!(
                                    "unknown alias \"@{a}\"; aliases: {}",
                                    scenario.rows.iter().map(|r| format!("@{}", r.alias)).collect::<Vec<_>>().join(", ")
                                ))),
                                Some(p) if p >= pos => Some(invalid(&file, &cf, format!(
                                    "\"@{a}\" is planned after this row (tables go in foreign-key order, entries of one table in file order); reference an earlier row"
                                ))),
                                Some(p) => {
                                    let target = schema.table(&scenario.rows[entries[p].1].table).expect("checked");
                                    ref_target_column(schema, table, &c.name, target, col).err().map(|m| invalid(&file, &cf, m))
                                }
                            },
                            Dep::Generator(g) => generators.get(g).is_none().then(|| invalid(&file, &cf, format!(
                                "unknown generator {g:?}; registered: {}", generators.names().collect::<Vec<_>>().join(", ")
                            ))),
                            Dep::Table(t) => match schema.table(t) {
                                None => Some(invalid(&file, &cf, format!("unknown table {t:?}"))),
                                Some(target) => ref_target_column(schema, table, &c.name, target, None).err().map(|m| invalid(&file, &cf, m)),
                            },
                        };
                    });
                    if let Some(e) = err {
                        return Err(e);
                    }
                    match e {
                        Expr::Lit(v) => {
                            let v = v
                                .clone()
                                .coerce(&c.ty)
                                .map_err(|m| invalid(&file, &cf, m))?;
                            (ColPlan::Lit(v), false)
                        }
                        Expr::Null => (ColPlan::Lit(Value::Null), false),
                        Expr::Generate(g) => (
                            ColPlan::Gen(
                                ColumnGen::new(table, c, generators, Some(g))
                                    .map_err(|m| invalid(&file, &cf, m))?,
                            ),
                            true,
                        ),
                        other => (ColPlan::Expr(other.clone()), false),
                    }
                } else if c.name == schema.run_id_column {
                    (ColPlan::RunId, false)
                } else if c.is_db_assigned() || (c.default.is_none() && c.default_sql.is_some()) {
                    (ColPlan::DbAssigned, false)
                } else if let Some(fk) = table
                    .foreign_keys
                    .iter()
                    .find(|fk| fk.columns.contains(&c.name))
                {
                    let cols_nullable = fk
                        .columns
                        .iter()
                        .all(|fc| table.get_column(fc).is_some_and(|x| x.nullable));
                    let target = fk.references.as_str();
                    let candidates: Vec<usize> = (0..pos)
                        .filter(|&p| scenario.rows[entries[p].1].table == target)
                        .collect();
                    let set_elsewhere = fk.columns.iter().any(|fc| spec.set.contains_key(fc));
                    let i = fk
                        .columns
                        .iter()
                        .position(|x| x == &c.name)
                        .expect("column of the key");
                    let target_col = table.fk_target_columns(fk, schema)[i].clone();
                    if set_elsewhere {
                        // Another column of this key is set: follow the same row when it is a reference.
                        let alias = fk.columns.iter().find_map(|fc| match spec.set.get(fc) {
                            Some(Expr::Ref { alias, .. }) => Some(alias.clone()),
                            _ => None,
                        });
                        match alias.and_then(|a| position_of(&a)) {
                            Some(p) => (ColPlan::Link(p, target_col), false),
                            None if c.nullable => (ColPlan::Null, false),
                            None => {
                                return Err(invalid(
                                    &file,
                                    &cf,
                                    "set every column of this foreign key, or point one of them at a row with \"@alias\"",
                                ));
                            }
                        }
                    } else if cols_nullable {
                        (ColPlan::Null, false)
                    } else {
                        match candidates.as_slice() {
                            [one] => (ColPlan::Link(*one, target_col), false),
                            [] => (
                                ColPlan::Existing(target.into(), target_col, fk.columns[0].clone()),
                                false,
                            ),
                            many => {
                                return Err(invalid(
                                    &file,
                                    &cf,
                                    format!(
                                        "the foreign key to {target:?} could point at several rows ({}); set it to one of them",
                                        many.iter()
                                            .map(|&p| format!(
                                                "\"@{}\"",
                                                scenario.rows[entries[p].1].alias
                                            ))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ),
                                ));
                            }
                        }
                    }
                } else if let Some(d) = &c.default {
                    (ColPlan::Lit(d.clone()), false)
                } else if c.nullable && requires_value(table, &c.name) {
                    (
                        ColPlan::GenIfRequired(
                            ColumnGen::new(table, c, generators, None)
                                .map_err(|m| invalid(&file, &cf, m))?,
                        ),
                        true,
                    )
                } else if c.nullable {
                    (ColPlan::Null, false)
                } else {
                    (
                        ColPlan::Gen(
                            ColumnGen::new(table, c, generators, None)
                                .map_err(|m| invalid(&file, &cf, m))?,
                        ),
                        true,
                    )
                };
                cols.push(plan);
                generated.push(is_gen);
            }
            rows.push(CompiledRow {
                alias: spec.alias.as_str().into(),
                output: spec.output.as_deref().unwrap_or(&spec.alias).into(),
                table_name: table.name.as_str().into(),
                table: schema.table_index(&spec.table).expect("checked"),
                count: spec.count.clone(),
                when: spec.when.clone(),
                cols,
                generated,
            });
        }
        let gate = crate::validate::SCHEMA_VALIDATORS
            .iter()
            .map(|n| (*n).to_owned())
            .chain(scenario.validators.iter().cloned())
            .collect();
        Ok(CompiledScenario {
            gate,
            scenario: Arc::new(scenario),
            rows,
            columns,
        })
    }

    /// Plans the scenario.
    pub(crate) fn plan(
        &self,
        schema: &Schema,
        constraints: &BTreeMap<String, Value>,
        ctx: &RunContext,
        existing: &ExistingRows,
        reference: &ExistingRows,
        policy: &dyn MarkerPolicy,
    ) -> Result<Plan, Error> {
        let s = &self.scenario;
        if ctx.generator_version != GENERATOR_VERSION {
            return Err(Error::Plan {
                scenario: s.id.clone(),
                message: format!(
                    "generator version {} is not supported; this build plans with version {GENERATOR_VERSION}",
                    ctx.generator_version
                ),
            });
        }
        let knobs = s.resolve_knobs(constraints, &ctx.run_id, ctx.reference_date)?;
        let plan_err = |message: String| Error::Plan {
            scenario: s.id.clone(),
            message,
        };
        let mut tables: Vec<TablePlan> = Vec::new();
        let mut table_slot: Vec<Option<usize>> = vec![None; schema.tables.len()];
        let mut entities: Vec<Entity> = Vec::with_capacity(self.rows.len());
        let mut buf = String::new();
        for r in &self.rows {
            let count = match (&r.when, &r.count) {
                (Some(w), _) if !w.holds(&knobs) => 0,
                (_, Count::Fixed(n)) => *n as usize,
                (_, Count::Knob(k)) => match knobs.get(k) {
                    Some(Value::Int(n)) if *n >= 0 => *n as usize,
                    other => {
                        return Err(plan_err(format!(
                            "count knob {k:?} must be a non-negative integer, not {}",
                            other.cloned().unwrap_or(Value::Null)
                        )));
                    }
                },
            };
            let table = &schema.tables[r.table];
            let mut entity = Entity {
                alias: r.alias.clone(),
                output: r.output.clone(),
                table: r.table_name.clone(),
                rows: Vec::with_capacity(count),
                single: matches!(r.count, Count::Fixed(1)),
            };
            if count == 0 {
                entities.push(entity);
                continue;
            }
            let slot = match table_slot[r.table] {
                Some(i) => i,
                None => {
                    tables.push(TablePlan {
                        table: r.table_name.clone(),
                        columns: self.columns[r.table].clone(),
                        aliases: Vec::new(),
                        rows: Vec::new(),
                    });
                    table_slot[r.table] = Some(tables.len() - 1);
                    tables.len() - 1
                }
            };
            for i in 0..count {
                let row_index = tables[slot].rows.len();
                let gctx = GenContext {
                    seed: ctx.seed,
                    run_id: &ctx.run_id,
                    reference_date: ctx.reference_date,
                    table: &table.name,
                    column: "",
                    row: row_index as u64,
                };
                let mut cells = Vec::with_capacity(r.cols.len());
                for (ci, cp) in r.cols.iter().enumerate() {
                    let cell = match cp {
                        ColPlan::Lit(v) => Cell::Value(v.clone()),
                        ColPlan::RunId => Cell::Value(Value::Text(ctx.run_id.clone())),
                        ColPlan::DbAssigned => Cell::Default,
                        ColPlan::Null | ColPlan::GenIfRequired(_) => Cell::Value(Value::Null),
                        ColPlan::Gen(g) => Cell::Value(g.value(&gctx, policy)),
                        ColPlan::Link(p, col) => link(&entities[*p], &tables, col, i),
                        ColPlan::Existing(t, col, key) => {
                            let mut rng = CellRng::new(
                                ctx.seed,
                                name_hash(&table.name),
                                row_index as u64,
                                name_hash(key),
                            );
                            pick_existing(t, col, &mut rng, existing, reference).ok_or_else(|| plan_err(format!(
                                "{}.{} must point at an existing {t:?} row, and none exists; seed one in the scenario or create it first",
                                table.name, self.columns[r.table][ci]
                            )))?
                        }
                        ColPlan::Expr(e) => {
                            let col_name = &self.columns[r.table][ci];
                            let column =
                                table.get_column(col_name).expect("compiled from the table");
                            let env = Env {
                                scenario: &s.id,
                                schema,
                                table,
                                column: col_name,
                                knobs: &knobs,
                                ctx,
                                row: i as u32,
                                row_index,
                                entities: &entities,
                                tables: &tables,
                                existing,
                                reference,
                            };
                            match env.eval(e, &mut buf)? {
                                Cell::Value(v) => {
                                    Cell::Value(v.coerce(&column.ty).map_err(|m| {
                                        plan_err(format!("{}.{col_name}: {m}", table.name))
                                    })?)
                                }
                                other => other,
                            }
                        }
                    };
                    cells.push(cell);
                }
                fix_row(
                    table,
                    &self.columns[r.table],
                    &r.generated,
                    &mut cells,
                    &r.cols,
                    &gctx,
                    policy,
                );
                let tp = &mut tables[slot];
                tp.rows.push(cells);
                tp.aliases.push(r.alias.clone());
                entity.rows.push(row_index);
            }
            entities.push(entity);
        }
        Ok(Plan {
            scenario: s.id.clone(),
            run_id: ctx.run_id.clone(),
            seed: ctx.seed,
            reference_date: ctx.reference_date,
            generator_version: ctx.generator_version,
            schema: schema.name.clone(),
            schema_version: schema.version.clone(),
            constraints: knobs,
            tables,
            entities,
        })
    }
}

/// Whether a nullable column must still get a value (an implication requires it).
fn requires_value(table: &Table, column: &str) -> bool {
    table.checks.iter().any(|c| matches!(c, Check::Implies { then, .. } if matches!(then.as_ref(), Check::Null { column: c, negated: true } if c == column)))
}

fn link(e: &Entity, tables: &[TablePlan], column: &str, i: usize) -> Cell {
    if e.rows.is_empty() {
        return Cell::Value(Value::Null);
    }
    let row = e.rows[i % e.rows.len()];
    let tp = tables
        .iter()
        .find(|t| t.table == e.table)
        .expect("entity tables are planned");
    let ci = tp
        .columns
        .iter()
        .position(|c| c == column)
        .expect("referenced column exists");
    match &tp.rows[row][ci] {
        Cell::Value(v) => Cell::Value(v.clone()),
        Cell::Ref(r) => Cell::Ref(r.clone()),
        Cell::Default => Cell::Ref(CellRef {
            table: e.table.to_string(),
            row,
            column: column.into(),
        }),
    }
}

fn pick_existing(
    table: &str,
    column: &str,
    rng: &mut CellRng,
    existing: &ExistingRows,
    reference: &ExistingRows,
) -> Option<Cell> {
    let a = reference.get(table).map(Vec::as_slice).unwrap_or(&[]);
    let b = existing.get(table).map(Vec::as_slice).unwrap_or(&[]);
    let n = a.len() + b.len();
    if n == 0 {
        return None;
    }
    let k = rng.below(n as u64) as usize;
    let row = if k < a.len() { &a[k] } else { &b[k - a.len()] };
    row.get(column).cloned().map(Cell::Value)
}

struct Env<'a> {
    scenario: &'a str,
    schema: &'a Schema,
    table: &'a Table,
    column: &'a str,
    knobs: &'a BTreeMap<String, Value>,
    ctx: &'a RunContext,
    row: u32,
    row_index: usize,
    entities: &'a [Entity],
    tables: &'a [TablePlan],
    existing: &'a ExistingRows,
    reference: &'a ExistingRows,
}

impl Env<'_> {
    fn var(&self, v: &Var) -> Value {
        match v {
            Var::Knob(k) => self.knobs.get(k).cloned().unwrap_or(Value::Null),
            other => builtin(other, &self.ctx.run_id, self.row, self.ctx.reference_date)
                .expect("a built-in variable"),
        }
    }

    fn eval(&self, e: &Expr, buf: &mut String) -> Result<Cell, Error> {
        Ok(match e {
            Expr::Lit(v) => Cell::Value(v.clone()),
            Expr::Null => Cell::Value(Value::Null),
            Expr::Var(v) => Cell::Value(self.var(v)),
            Expr::Template(parts) => {
                buf.clear();
                for p in parts {
                    match p {
                        Part::Text(t) => buf.push_str(t),
                        Part::Var(v) => push_text(buf, &self.var(v)),
                    }
                }
                Cell::Value(Value::Text(buf.clone()))
            }
            Expr::Ref { alias, column } => {
                let e = self
                    .entities
                    .iter()
                    .find(|e| &*e.alias == alias.as_str())
                    .expect("references are checked when compiled");
                let target = self.schema.table(&e.table).expect("checked");
                let col = ref_target_column(
                    self.schema,
                    self.table,
                    self.column,
                    target,
                    column.as_deref(),
                )
                .expect("checked");
                link(e, self.tables, &col, self.row as usize)
            }
            Expr::Map {
                knob,
                cases,
                otherwise,
            } => {
                let mut key = String::new();
                push_text(&mut key, self.knobs.get(knob).unwrap_or(&Value::Null));
                match cases.get(&key).or(otherwise.as_deref()) {
                    Some(inner) => self.eval(inner, buf)?,
                    None => Cell::Value(Value::Null),
                }
            }
            Expr::Pick(values) => {
                let mut rng = CellRng::new(
                    self.ctx.seed,
                    name_hash(&self.table.name),
                    self.row_index as u64,
                    name_hash(self.column),
                );
                Cell::Value(rng.pick(values).clone())
            }
            Expr::Existing { table } => {
                let target = self.schema.table(table).expect("checked");
                let col = ref_target_column(self.schema, self.table, self.column, target, None)
                    .expect("checked");
                let mut rng = CellRng::new(
                    self.ctx.seed,
                    name_hash(&self.table.name),
                    self.row_index as u64,
                    name_hash(table),
                );
                pick_existing(table, &col, &mut rng, self.existing, self.reference).ok_or_else(
                    || Error::Plan {
                        scenario: self.scenario.to_owned(),
                        message: format!(
                            "{}.{} must point at an existing {table:?} row, and none exists",
                            self.table.name, self.column
                        ),
                    },
                )?
            }
            Expr::Generate(_) => unreachable!("compiled into a generator"),
        })
    }
}

/// Makes generated cells satisfy the row's cross-column checks: comparisons between columns
/// (`effective_to >= effective_from`) and implications (`status = 'denied' implies reason is
/// not null`). Values the scenario set are never changed; the validators judge those.
fn fix_row(
    table: &Table,
    columns: &[String],
    generated: &[bool],
    cells: &mut [Cell],
    plans: &[ColPlan],
    gctx: &GenContext<'_>,
    policy: &dyn MarkerPolicy,
) {
    let idx = |c: &str| columns.iter().position(|x| x == c);
    let implications = table
        .checks
        .iter()
        .filter(|c| matches!(c, Check::Implies { .. }));
    let others = table
        .checks
        .iter()
        .filter(|c| !matches!(c, Check::Implies { .. }));
    for check in implications.chain(others) {
        match check {
            Check::Compare {
                column,
                op,
                right: Operand::Column(other),
            } => {
                let (Some(l), Some(r)) = (idx(column), idx(other)) else {
                    continue;
                };
                let (Cell::Value(lv), Cell::Value(rv)) = (&cells[l], &cells[r]) else {
                    continue;
                };
                match crate::generate::hold_comparison(
                    &table.name,
                    gctx.seed,
                    gctx.row,
                    column,
                    *op,
                    other,
                    lv,
                    rv,
                    generated[l],
                    generated[r],
                ) {
                    Some((true, v)) => cells[l] = Cell::Value(v),
                    Some((false, v)) => cells[r] = Cell::Value(v),
                    None => {}
                }
            }
            Check::Implies { when, then } => {
                let get = |c: &str| {
                    idx(c).and_then(|i| match &cells[i] {
                        Cell::Value(v) => Some(v),
                        _ => None,
                    })
                };
                if check.eval(&get) != Some(false) {
                    continue;
                }
                let _ = when;
                if let Check::Null {
                    column,
                    negated: true,
                } = then.as_ref()
                    && let Some(i) = idx(column)
                    && let ColPlan::Gen(g) | ColPlan::GenIfRequired(g) = &plans[i]
                {
                    cells[i] = Cell::Value(g.value(gctx, policy));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_is_a_documented_stable_hash() {
        // SHA-256("01J0000000000000000000000A")[..8], big-endian.
        let expected = {
            let d = Sha256::digest(b"01J0000000000000000000000A");
            u64::from_be_bytes(d[..8].try_into().unwrap())
        };
        assert_eq!(seed_from_run_id("01J0000000000000000000000A"), expected);
        assert_eq!(seed_from_run_id("abc"), 0xba78_16bf_8f01_cfea);
    }
}
