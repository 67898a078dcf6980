//! A pack: a schema, its reference rows, its scenarios, and the validators, generators and
//! marker policy they use. The healthcare pack is built with this same public API.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::error::{Error, SchemaError};
use crate::generate::{GeneratorRegistry, Locale, MarkerPolicy, ReservedMarkers, ValueGenerator};
use crate::plan::{CompiledScenario, ExistingRows, Plan, RunContext, STREAM_BATCH, Streamer};
use crate::scenario::{Catalog, Count, Domain, Expr, Scenario, parse_scenarios};
use crate::schema::Schema;
use crate::validate::{ColumnSemantics, GateInputs, ValidatedPlan, Validator, ValidatorRegistry};
use crate::value::Value;

/// Caller constraints: knob name to value.
pub type Constraints = BTreeMap<String, Value>;

struct Inner {
    name: String,
    schema: Arc<Schema>,
    reference: ExistingRows,
    catalog: Catalog,
    compiled: BTreeMap<String, CompiledScenario>,
    validators: ValidatorRegistry,
    generators: GeneratorRegistry,
    markers: Arc<dyn MarkerPolicy>,
    semantics: ColumnSemantics,
}

/// A loaded, checked pack. Cheap to clone and safe to share between threads.
#[derive(Clone)]
pub struct Pack {
    inner: Arc<Inner>,
}

impl fmt::Debug for Pack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pack")
            .field("name", &self.inner.name)
            .field("scenarios", &self.inner.catalog.len())
            .finish()
    }
}

/// Builds a [`Pack`]: add scenario files, reference rows, validators and generators, then
/// [`PackBuilder::build`] checks everything together.
pub struct PackBuilder {
    name: String,
    schema: Schema,
    reference: ExistingRows,
    sources: Vec<(String, String)>,
    validators: ValidatorRegistry,
    generators: GeneratorRegistry,
    markers: Arc<dyn MarkerPolicy>,
}

impl PackBuilder {
    /// A pack of `schema` with the schema validators, no scenarios, and the default
    /// [`ReservedMarkers`] policy.
    pub fn new(name: impl Into<String>, schema: Schema) -> Self {
        PackBuilder {
            name: name.into(),
            schema,
            reference: ExistingRows::new(),
            sources: Vec::new(),
            validators: ValidatorRegistry::default(),
            generators: GeneratorRegistry::default(),
            markers: Arc::new(ReservedMarkers),
        }
    }

    /// Adds a scenario file (its name, for errors, and its TOML text).
    pub fn scenario(mut self, file: impl Into<String>, text: impl Into<String>) -> Self {
        self.sources.push((file.into(), text.into()));
        self
    }

    /// Adds scenario files.
    pub fn scenarios<F: Into<String>, T: Into<String>>(
        mut self,
        files: impl IntoIterator<Item = (F, T)>,
    ) -> Self {
        self.sources
            .extend(files.into_iter().map(|(f, t)| (f.into(), t.into())));
        self
    }

    /// Adds reference rows from TOML: one array of tables per table.
    ///
    /// ```toml
    /// [[procedure_code]]
    /// code = "99213"
    /// description = "Office visit, established patient"
    /// is_valid = true
    /// ```
    pub fn reference_rows_toml(mut self, text: &str, origin: &str) -> Result<Self, SchemaError> {
        let parsed: BTreeMap<String, Vec<toml::Table>> =
            toml::from_str(text).map_err(|e| SchemaError::Parse {
                origin: origin.into(),
                message: e.to_string(),
            })?;
        for (table_name, rows) in parsed {
            let invalid = |field: String, message: String| SchemaError::Invalid {
                origin: origin.into(),
                table: table_name.clone(),
                field,
                message,
            };
            let table = self
                .schema
                .table(&table_name)
                .ok_or_else(|| invalid("".into(), "no such table in the schema".into()))?;
            for (i, row) in rows.iter().enumerate() {
                let mut out = BTreeMap::new();
                for (col, v) in row {
                    let c = table
                        .get_column(col)
                        .ok_or_else(|| invalid(format!("[{i}].{col}"), "no such column".into()))?;
                    let e =
                        Expr::from_toml(v, col).map_err(|m| invalid(format!("[{i}].{col}"), m))?;
                    let Expr::Lit(v) = e else {
                        return Err(invalid(
                            format!("[{i}].{col}"),
                            "reference rows hold literal values only".into(),
                        ));
                    };
                    out.insert(
                        col.clone(),
                        v.coerce(&c.ty)
                            .map_err(|m| invalid(format!("[{i}].{col}"), m))?,
                    );
                }
                for c in &table.columns {
                    if !out.contains_key(&c.name) {
                        if let Some(d) = &c.default {
                            out.insert(c.name.clone(), d.clone());
                        } else if c.nullable || c.is_db_assigned() || c.default_sql.is_some() {
                            if c.nullable {
                                out.insert(c.name.clone(), Value::Null);
                            }
                        } else {
                            return Err(invalid(
                                format!("[{i}].{}", c.name),
                                "missing value for a NOT NULL column".into(),
                            ));
                        }
                    }
                }
                self.reference
                    .entry(table_name.clone())
                    .or_default()
                    .push(out);
            }
        }
        Ok(self)
    }

    /// Registers a validator under a dotted name (`shop.order_total_matches_lines`).
    pub fn validator(mut self, name: impl Into<String>, v: impl Validator + 'static) -> Self {
        self.validators.register(name, v);
        self
    }

    /// Registers a generator under a dotted name, for `generator = "..."` in a schema or
    /// `{ generate = "..." }` in a scenario.
    pub fn generator(mut self, name: impl Into<String>, g: impl ValueGenerator + 'static) -> Self {
        self.generators.register(name, g);
        self
    }

    /// Sets the locale of the pack's generated rows, for every table of the schema that does
    /// not set its own (see [`Schema::locale`]).
    pub fn locale(mut self, locale: Locale) -> Self {
        self.schema = self.schema.locale(locale);
        self
    }

    /// Sets the synthetic-marker policy.
    pub fn markers(mut self, policy: impl MarkerPolicy + 'static) -> Self {
        self.markers = Arc::new(policy);
        self
    }

    /// Parses and compiles every scenario against the schema and registries. Any problem is a
    /// typed error naming the file and field.
    pub fn build(self) -> Result<Pack, Error> {
        for (ti, t) in self.schema.tables.iter().enumerate() {
            for c in &t.columns {
                if let Some(g) = &c.generator
                    && self.generators.get(g).is_none()
                {
                    return Err(SchemaError::Invalid {
                        origin: String::new(),
                        table: self.schema.tables[ti].name.clone(),
                        field: format!("columns.{}.generator", c.name),
                        message: format!(
                            "unknown generator {g:?}; registered: {}",
                            self.generators.names().collect::<Vec<_>>().join(", ")
                        ),
                    }
                    .into());
                }
            }
        }
        let scenarios =
            parse_scenarios(self.sources.iter().map(|(f, t)| (f.as_str(), t.as_str())))?;
        let names = self.validators.names();
        let mut compiled = BTreeMap::new();
        for s in &scenarios {
            if s.template {
                continue;
            }
            let c = CompiledScenario::compile(s.clone(), &self.schema, &self.generators, &names)?;
            compiled.insert(s.id.clone(), c);
        }
        let semantics = ColumnSemantics::of(&self.schema);
        Ok(Pack {
            inner: Arc::new(Inner {
                semantics,
                name: self.name,
                schema: Arc::new(self.schema),
                reference: self.reference,
                catalog: Catalog::new(scenarios),
                compiled,
                validators: self.validators,
                generators: self.generators,
                markers: self.markers,
            }),
        })
    }
}

/// A scenario described for people and programs.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioDescription {
    /// The id.
    pub id: String,
    /// The description.
    pub description: String,
    /// The tags.
    pub tags: Vec<String>,
    /// The linked requirement ids.
    pub requirements: Vec<String>,
    /// The validators, in order (after the schema validators).
    pub validators: Vec<String>,
    /// The knobs.
    pub knobs: Vec<KnobDescription>,
    /// The rows: alias, table and count.
    pub rows: Vec<RowDescription>,
}

/// A knob, described.
#[derive(Debug, Clone, Serialize)]
pub struct KnobDescription {
    /// The name.
    pub name: String,
    /// What it changes.
    pub description: String,
    /// The allowed values, as text.
    pub allowed: String,
    /// The allowed values, when the domain is closed.
    pub values: Option<Vec<serde_json::Value>>,
    /// The default, as JSON when it is a literal, or a description of how it is derived.
    pub default: serde_json::Value,
}

/// A `[[rows]]` entry, described.
#[derive(Debug, Clone, Serialize)]
pub struct RowDescription {
    /// The alias.
    pub alias: String,
    /// The table.
    pub table: String,
    /// The count (a number or a knob name).
    pub count: serde_json::Value,
}

impl Pack {
    /// Starts a pack.
    pub fn builder(name: impl Into<String>, schema: Schema) -> PackBuilder {
        PackBuilder::new(name, schema)
    }

    /// The pack's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The schema.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.inner.schema
    }

    /// The reference rows, by table (shared rows no run owns).
    pub fn reference_rows(&self) -> &ExistingRows {
        &self.inner.reference
    }

    /// The scenario catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// A scenario by id.
    pub fn scenario(&self, id: &str) -> Result<&Arc<Scenario>, Error> {
        self.inner.catalog.get(id)
    }

    /// The marker policy.
    pub fn markers(&self) -> &dyn MarkerPolicy {
        self.inner.markers.as_ref()
    }

    /// The registered generators.
    pub fn generators(&self) -> &GeneratorRegistry {
        &self.inner.generators
    }

    /// Describes a scenario: knobs with their allowed values and defaults, rows, validators.
    pub fn describe(&self, id: &str) -> Result<ScenarioDescription, Error> {
        let s = self.scenario(id)?;
        Ok(ScenarioDescription {
            id: s.id.clone(),
            description: s.description.clone(),
            tags: s.tags.clone(),
            requirements: s.requirements.clone(),
            validators: s.validators.clone(),
            knobs: s
                .knobs
                .iter()
                .map(|(name, k)| KnobDescription {
                    name: name.clone(),
                    description: k.description.clone(),
                    allowed: k.allowed(),
                    values: match &k.domain {
                        Domain::Values(v) => Some(v.iter().map(Value::to_json).collect()),
                        Domain::Any(_) => None,
                    },
                    default: match &k.default {
                        Expr::Lit(v) => v.to_json(),
                        Expr::Null => serde_json::Value::Null,
                        Expr::Map { knob, .. } => format!("depends on {knob}").into(),
                        _ => "derived".into(),
                    },
                })
                .collect(),
            rows: s
                .rows
                .iter()
                .map(|r| RowDescription {
                    alias: r.alias.clone(),
                    table: r.table.clone(),
                    count: match &r.count {
                        Count::Fixed(n) => (*n).into(),
                        Count::Knob(k) => format!("{{{k}}}").into(),
                    },
                })
                .collect(),
        })
    }

    /// Plans a scenario: caller constraints over the scenario's defaults, rows in
    /// foreign-key order. `existing` holds rows read from the database that the scenario may
    /// point at (empty for scenarios that do not use `{ existing = ... }`).
    pub fn plan(
        &self,
        scenario: &str,
        constraints: &Constraints,
        ctx: &RunContext,
        existing: &ExistingRows,
    ) -> Result<Plan, Error> {
        self.plan_with(scenario, constraints, ctx, existing, false, false)
    }

    /// How many rows a plan of `scenario` under `constraints` holds and streams together
    /// (the sum of its entries' counts, after the knobs are resolved), found without planning
    /// any: so a caller with a limit can refuse a request before it is planned. Edge-case
    /// rows ([`Pack::validate_with_edge_cases`]) come on top.
    pub fn rows_asked(
        &self,
        scenario: &str,
        constraints: &Constraints,
        ctx: &RunContext,
    ) -> Result<u64, Error> {
        self.compiled(scenario)?.rows_asked(constraints, ctx)
    }

    /// Plans a scenario as [`Pack::plan`] does, except that entries of
    /// [`STREAM_ROWS`](crate::plan::STREAM_ROWS) rows or more that no other entry refers to are not planned row by
    /// row: [`Plan::streams`] lists them, and a [`Streamer`] makes their rows, the same rows
    /// [`Pack::plan`] holds, a validated batch at a time. The engine seeds this way, so a
    /// request for a million rows does not hold them all.
    pub fn plan_streaming(
        &self,
        scenario: &str,
        constraints: &Constraints,
        ctx: &RunContext,
        existing: &ExistingRows,
    ) -> Result<Plan, Error> {
        self.plan_with(scenario, constraints, ctx, existing, false, true)
    }

    /// Plans a scenario as [`Pack::plan`] does, and says where every value came from: each
    /// [`TablePlan`](crate::plan::TablePlan) holds a [`Source`](crate::plan::Source) per
    /// cell in `sources`. The rows are the same as [`Pack::plan`]'s.
    pub fn explain(
        &self,
        scenario: &str,
        constraints: &Constraints,
        ctx: &RunContext,
        existing: &ExistingRows,
    ) -> Result<Plan, Error> {
        self.plan_with(scenario, constraints, ctx, existing, true, false)
    }

    pub(crate) fn compiled(&self, scenario: &str) -> Result<&CompiledScenario, Error> {
        self.inner
            .compiled
            .get(scenario)
            .ok_or_else(|| Error::ScenarioNotFound {
                id: scenario.into(),
                close: self.inner.catalog.close_to(scenario),
            })
    }

    fn plan_with(
        &self,
        scenario: &str,
        constraints: &Constraints,
        ctx: &RunContext,
        existing: &ExistingRows,
        explain: bool,
        stream: bool,
    ) -> Result<Plan, Error> {
        self.compiled(scenario)?.plan(
            &self.inner.schema,
            constraints,
            ctx,
            existing,
            &self.inner.reference,
            self.inner.markers.as_ref(),
            explain,
            stream,
        )
    }

    /// The tables whose existing rows a scenario may point at: the engine reads candidate
    /// keys of these tables and passes them to [`Pack::plan`] as `existing`.
    pub fn existing_tables(&self, scenario: &str) -> Result<Vec<String>, Error> {
        Ok(self.compiled(scenario)?.existing_tables())
    }

    fn gate_inputs<'a>(&'a self, existing: &'a ExistingRows) -> GateInputs<'a> {
        GateInputs {
            schema: &self.inner.schema,
            reference: &self.inner.reference,
            existing,
            markers: self.inner.markers.as_ref(),
            semantics: &self.inner.semantics,
        }
    }

    /// Runs the gate on a plan: schema validators, then the scenario's validators. A plan
    /// with streamed entries ([`Pack::plan_streaming`]) is checked with the first batch of
    /// each of them added to its rows, so what a request would refuse is refused here.
    pub fn validate(&self, plan: Plan, existing: &ExistingRows) -> Result<ValidatedPlan, Error> {
        let inputs = self.gate_inputs(existing);
        let v = &self.inner.validators;
        let validated = match self.inner.compiled.get(&plan.scenario) {
            Some(c) => v.validate_with(plan, &c.gate, inputs)?,
            None => v.validate(plan, &[], inputs)?,
        };
        if !validated.plan().streams.is_empty() {
            let mut streamer = Streamer::new(self, &validated, existing);
            for s in 0..validated.plan().streams.len() {
                streamer.batch(s, 0..STREAM_BATCH)?;
            }
        }
        Ok(validated)
    }

    /// Runs the gate on `plan` without taking it.
    pub(crate) fn check(&self, plan: &Plan, existing: &ExistingRows) -> Result<(), Error> {
        let inputs = self.gate_inputs(existing);
        let v = &self.inner.validators;
        match self.inner.compiled.get(&plan.scenario) {
            Some(c) => v.check(plan, &c.gate, inputs)?,
            None => {
                let names = crate::validate::SCHEMA_VALIDATORS.map(String::from);
                v.check(plan, &names, inputs)?
            }
        }
        Ok(())
    }

    /// [`Pack::plan`] then [`Pack::validate`].
    pub fn plan_validated(
        &self,
        scenario: &str,
        constraints: &Constraints,
        ctx: &RunContext,
        existing: &ExistingRows,
    ) -> Result<ValidatedPlan, Error> {
        let plan = self.plan(scenario, constraints, ctx, existing)?;
        self.validate(plan, existing)
    }
}
