//! Requests: plan a scenario, run the validator gate, seed the plan in one transaction, write
//! the fixtures; and dry runs ([`Engine::plan`]). Each step is audited as it happens.

use std::collections::BTreeMap;

use atdm_core::audit::{AuditAction, AuditStatus};
use atdm_core::generate::EdgeCases;
use atdm_core::token::CleanupToken;
use atdm_core::{Cell, Constraints, ExistingRows, RunContext, ValidatedPlan, Value};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::seed::Written;
use super::{Engine, random_bytes};
use crate::audit::Recorder;
use crate::error::Error;

/// What a caller asks for besides the scenario.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Knob values; they win over the scenario's defaults, key by key.
    pub constraints: Constraints,
    /// A seed instead of the one derived from the run id.
    pub seed: Option<u64>,
    /// A reference date instead of the engine's.
    pub reference_date: Option<NaiveDate>,
    /// An invoker instead of the engine's.
    pub invoker: Option<String>,
    /// Write a Playwright fixture (`<scenario>_<run>.json`) into the engine's fixture directory.
    pub playwright: bool,
    /// Write a pytest fixture module (`<scenario>_<run>.py`) into the engine's fixture directory.
    pub pytest: bool,
    /// Add a row per edge case of the columns of each table the scenario seeds (see
    /// [`Pack::validate_with_edge_cases`](atdm_core::Pack::validate_with_edge_cases)); each
    /// is kept only when the plan still passes the gate with it.
    pub edge_cases: EdgeCases,
    /// The most rows the request may seed, streamed rows included: a request that would seed
    /// more is refused (`PLAN_FAILED`) before anything is written. `None`: only the engine's
    /// own limits. The MCP server sets it from `atdm mcp --max-rows`.
    pub max_rows: Option<u64>,
}

impl Request {
    /// Asks for a Playwright fixture file.
    pub fn playwright(mut self) -> Self {
        self.playwright = true;
        self
    }

    /// Asks for a pytest fixture module.
    pub fn pytest(mut self) -> Self {
        self.pytest = true;
        self
    }

    /// Asks for edge-case rows (`EdgeCases::Valid`, or `Dangerous` for attack payloads too).
    pub fn edge_cases(mut self, mode: EdgeCases) -> Self {
        self.edge_cases = mode;
        self
    }

    /// Refuses the request if it would seed more than `rows` rows.
    pub fn max_rows(mut self, rows: u64) -> Self {
        self.max_rows = Some(rows);
        self
    }

    /// An empty request: scenario defaults, seed from the run id, the engine's date.
    pub fn new() -> Self {
        Request::default()
    }

    /// Sets one constraint.
    pub fn constraint(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.constraints.insert(key.into(), value.into());
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sets the reference date.
    pub fn reference_date(mut self, d: NaiveDate) -> Self {
        self.reference_date = Some(d);
        self
    }

    /// Sets the invoker.
    pub fn invoker(mut self, invoker: impl Into<String>) -> Self {
        self.invoker = Some(invoker.into());
        self
    }
}

/// A seeded run.
#[derive(Debug, Clone, Serialize)]
pub struct Seeded {
    /// Always `ready`: the rows are committed.
    pub status: &'static str,
    /// The scenario.
    pub scenario: String,
    /// The run id (a ULID).
    pub run_id: String,
    /// The request id (`tdr_` and 12 hex digits).
    pub request_id: String,
    /// The keys of the seeded entities, by output name.
    pub data: serde_json::Map<String, serde_json::Value>,
    /// The cleanup token. This is the only time it is shown; the engine keeps its hash only.
    #[serde(serialize_with = "expose_token")]
    pub token: CleanupToken,
    /// Rows written, per table.
    pub rows: BTreeMap<String, u64>,
    /// The seed used.
    pub seed: u64,
    /// The reference date used.
    pub reference_date: NaiveDate,
    /// When the lease ends (then [`Engine::reap_expired`] removes the run).
    pub lease_expires_at: DateTime<Utc>,
    /// The fixture files written (readable by their owner only; removed by the reset).
    pub fixtures: Vec<std::path::PathBuf>,
    /// The edge cases the rows hold, per table, as `column class` (with edge cases asked for).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub edge_cases: BTreeMap<String, Vec<String>>,
    /// With edge cases asked for: the invalid classes of the seeded tables' columns, as
    /// negative-test fixtures (the value, why it should be rejected, which databases reject
    /// it themselves). Never seeded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub negative: Vec<atdm_core::edge::EdgeCase>,
}

fn expose_token<S: serde::Serializer>(t: &CleanupToken, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.expose())
}

impl Seeded {
    /// The key of an entity as text (`seeded.key("member_id")`).
    pub fn key(&self, name: &str) -> Option<&str> {
        self.data.get(name).and_then(|v| v.as_str())
    }
}

/// `tdr_` and 12 lower-case hex digits.
fn new_request_id() -> String {
    let b: [u8; 6] = random_bytes();
    format!(
        "tdr_{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

impl Engine {
    /// Plans and validates a request without writing anything to the database: the rows
    /// `request` would seed (under a fresh run id), or the error it would fail with. The dry
    /// run is audited like a request (`request_received`, `plan_resolved`,
    /// `validators_passed` or `plan_rejected`, with `dry_run: true`).
    ///
    /// It takes the request by value, as [`Engine::request`] does; clone it to request the
    /// same afterwards.
    pub async fn plan(&self, scenario: &str, request: Request) -> Result<ValidatedPlan, Error> {
        self.dry_run(scenario, request, false).await
    }

    /// [`Engine::plan`], and where every value came from: each table of the plan holds a
    /// [`Source`](atdm_core::plan::Source) per cell (`TablePlan::sources`, and
    /// `RowView::source`). The rows are those [`Engine::plan`] gives. Audited as a dry run
    /// with `explain: true`.
    pub async fn explain(&self, scenario: &str, request: Request) -> Result<ValidatedPlan, Error> {
        self.dry_run(scenario, request, true).await
    }

    async fn dry_run(
        &self,
        scenario: &str,
        request: Request,
        explain: bool,
    ) -> Result<ValidatedPlan, Error> {
        let request = &request;
        let run_id = ulid::Ulid::new().to_string();
        let mut audit = self.recorder(&run_id, &self.invoker_of(request));
        let mut inputs = request_inputs(scenario, request);
        inputs["dry_run"] = true.into();
        if explain {
            inputs["explain"] = true.into();
        }
        audit.event(
            AuditAction::RequestReceived,
            AuditStatus::Ok,
            inputs,
            serde_json::json!({}),
        );
        let planned = self
            .plan_audited(scenario, request, &run_id, &mut audit, explain)
            .await;
        audit.write_after().await?;
        planned.map(|(validated, _)| validated)
    }

    fn invoker_of(&self, request: &Request) -> String {
        request
            .invoker
            .clone()
            .unwrap_or_else(|| self.invoker().to_owned())
    }

    /// Plans and validates, recording `plan_resolved` and then `validators_passed` or
    /// `plan_rejected`; also returns the existing rows it planned with. Entries with many
    /// rows are streamed ([`Pack::plan_streaming`](atdm_core::Pack::plan_streaming)), except
    /// when explaining or adding edge-case rows, which need every row planned.
    async fn plan_audited(
        &self,
        scenario: &str,
        request: &Request,
        run_id: &str,
        audit: &mut Recorder<'_>,
        explain: bool,
    ) -> Result<(ValidatedPlan, ExistingRows), Error> {
        let pack = self.pack();
        let planned = async {
            pack.scenario(scenario)?;
            let mut ctx = RunContext::new(run_id, self.reference_date(request.reference_date));
            if let Some(seed) = request.seed {
                ctx = ctx.with_seed(seed);
            }
            // The counts are known before any row is planned: a request over the limit is
            // refused before it is planned, however large.
            if let Some(max) = request.max_rows {
                let rows = pack.rows_asked(scenario, &request.constraints, &ctx)?;
                if rows > max {
                    return Err(too_many_rows(scenario, rows, max));
                }
            }
            let existing = self.existing_rows(scenario).await?;
            let plan = if explain {
                pack.explain(scenario, &request.constraints, &ctx, &existing)?
            } else if request.edge_cases == EdgeCases::None {
                pack.plan_streaming(scenario, &request.constraints, &ctx, &existing)?
            } else {
                pack.plan(scenario, &request.constraints, &ctx, &existing)?
            };
            let rows = plan.row_count() as u64 + plan.streamed_rows();
            if let Some(max) = request.max_rows.filter(|&max| rows > max) {
                return Err(too_many_rows(scenario, rows, max));
            }
            Ok::<_, Error>((plan, existing))
        }
        .await;
        let (plan, existing) = match planned {
            Ok(p) => p,
            Err(e) => {
                rejected(audit, &e);
                return Err(e);
            }
        };
        audit.event(
            AuditAction::PlanResolved,
            AuditStatus::Ok,
            serde_json::json!({ "scenario": scenario }),
            plan_summary(&plan),
        );
        match pack.validate_with_edge_cases(plan, &existing, request.edge_cases) {
            Ok(v) => {
                audit.event(
                    AuditAction::ValidatorsPassed,
                    AuditStatus::Ok,
                    serde_json::json!({}),
                    serde_json::json!({ "validators": v.validators() }),
                );
                Ok((v, existing))
            }
            Err(e) => {
                let e = Error::Core(e);
                rejected(audit, &e);
                Err(e)
            }
        }
    }

    /// Requests a scenario: plans it, runs the validator gate, and writes every row, the run's
    /// catalog entry and its ledger in one transaction. A rejected plan writes nothing; a plan
    /// the database refuses rolls back and fails with [`Error::SeedFailed`].
    ///
    /// Audited: `request_received`, `plan_resolved`, `validators_passed` and `seed_started`
    /// are written before the transaction begins (if the store cannot take them, nothing is
    /// seeded and the error is [`Error::Audit`]); `seed_completed` (or `seed_failed`) and
    /// `fixtures_emitted` after it.
    pub async fn request(&self, scenario: &str, request: Request) -> Result<Seeded, Error> {
        let run_id = ulid::Ulid::new().to_string();
        let request_id = new_request_id();
        let metrics = &self.inner.metrics;
        let mut audit = self.recorder(&run_id, &self.invoker_of(&request));
        audit.event(
            AuditAction::RequestReceived,
            AuditStatus::Ok,
            request_inputs(scenario, &request),
            serde_json::json!({ "request_id": request_id }),
        );
        let (validated, existing) = match self
            .plan_audited(scenario, &request, &run_id, &mut audit, false)
            .await
        {
            Ok(v) => v,
            Err(e) => {
                if let Error::Core(atdm_core::Error::Rejected(r)) = &e {
                    metrics.validator_rejections(r.failures.iter().map(|f| f.validator.as_str()));
                }
                let status = if matches!(e, Error::Core(_)) {
                    "rejected"
                } else {
                    "failed"
                };
                metrics.request(scenario, status);
                audit.write_after().await?;
                return Err(e);
            }
        };
        audit.event(
            AuditAction::SeedStarted,
            AuditStatus::Ok,
            serde_json::json!({}),
            serde_json::json!({ "database": self.database(), "dialect": self.db().name() }),
        );
        if let Err(e) = audit.write_before().await {
            metrics.request(scenario, "failed");
            return Err(e);
        }
        let token = CleanupToken::from_entropy(random_bytes());
        let now = Utc::now();
        let lease_expires_at = self.lease_from(now);
        let invoker = self.invoker_of(&request);
        let plan = validated.plan();
        // Keys the database assigned are known only after the inserts; otherwise the seed's
        // keys stand.
        let data_of = |w: &Written| {
            if w.assigned.is_empty() {
                w.keys.clone()
            } else {
                plan.entity_keys(self.schema(), &|r| w.assigned.get(r).cloned())
            }
        };
        let lease_text = lease_expires_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let edges = edge_summary(plan);
        let negative = if request.edge_cases == EdgeCases::None {
            Vec::new()
        } else {
            atdm_core::edge::negative_fixtures(
                self.schema(),
                plan.tables.iter().map(|t| &*t.table),
                plan.reference_date,
            )
        };
        let delivered: Vec<String> = negative.iter().map(atdm_core::edge::case_key).collect();
        // The record of the seed commits with it (the audit outbox).
        let mut stage = |w: &Written| {
            audit.stage(
                AuditAction::SeedCompleted,
                AuditStatus::Ok,
                serde_json::json!({}),
                serde_json::json!({
                    "request_id": request_id,
                    "rows": w.rows,
                    "data": data_of(w),
                    "edge_cases": edges,
                    "negative": delivered,
                    "lease_expires_at": lease_text,
                }),
            )
        };
        let seeded = self
            .seed(
                &validated,
                &existing,
                &token,
                &request_id,
                &invoker,
                now,
                lease_expires_at,
                &mut stage,
            )
            .await;
        let written = match seeded {
            Ok(s) => s,
            Err(e) => {
                metrics.request(scenario, "failed");
                audit.failure(
                    AuditAction::SeedFailed,
                    AuditStatus::RolledBack,
                    serde_json::json!({}),
                    &e,
                );
                audit.write_after().await?;
                return Err(e);
            }
        };
        audit.committed();
        metrics.request(scenario, "ok");
        metrics.seeded_rows(&written.rows);
        let data = data_of(&written);
        tracing::info!(
            run_id = %run_id,
            scenario,
            rows = plan.row_count() as u64 + plan.streamed_rows(),
            "seeded"
        );
        let fixture = atdm_core::fixtures::Fixture {
            scenario_id: scenario.to_owned(),
            test_run_id: run_id.clone(),
            data: serde_json::Value::Object(data.clone()),
            cleanup: serde_json::json!({ "run_id": run_id, "token": token.expose() }),
        };
        let fixtures = crate::fixture_files::write(
            &self.inner.fixture_dir,
            &fixture,
            request.playwright,
            request.pytest,
        );
        let asked =
            serde_json::json!({ "playwright": request.playwright, "pytest": request.pytest });
        match &fixtures {
            Ok(files) if !files.is_empty() => audit.event(
                AuditAction::FixturesEmitted,
                AuditStatus::Ok,
                asked,
                serde_json::json!({ "files": files }),
            ),
            Ok(_) => {}
            Err(e) => audit.failure(AuditAction::FixturesEmitted, AuditStatus::Failed, asked, e),
        }
        audit.write_after().await?;
        let fixtures = fixtures?;
        Ok(Seeded {
            fixtures,
            status: "ready",
            scenario: scenario.to_owned(),
            run_id,
            request_id,
            data,
            token,
            rows: written.rows,
            seed: plan.seed,
            reference_date: plan.reference_date,
            lease_expires_at,
            edge_cases: edges,
            negative,
        })
    }
}

/// The edge cases a plan's rows hold, per table, as `column class`.
fn edge_summary(plan: &atdm_core::Plan) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &plan.edge_rows {
        out.entry(e.table.clone())
            .or_default()
            .push(format!("{} {}", e.column, e.class));
    }
    out
}

/// Records `plan_rejected` for an error of planning or validation.
fn rejected(audit: &mut Recorder<'_>, e: &Error) {
    let failures = match e {
        Error::Core(atdm_core::Error::Rejected(r)) => {
            serde_json::to_value(&r.failures).unwrap_or_default()
        }
        _ => serde_json::Value::Array(Vec::new()),
    };
    let status = match e {
        Error::Core(_) => AuditStatus::Rejected,
        _ => AuditStatus::Failed,
    };
    audit.event(
        AuditAction::PlanRejected,
        status,
        serde_json::json!({}),
        serde_json::json!({ "error": crate::audit::error_json(e), "failures": failures }),
    );
}

/// The inputs of a request as audited (no token: a request has none yet).
fn request_inputs(scenario: &str, r: &Request) -> serde_json::Value {
    serde_json::json!({
        "scenario": scenario,
        "constraints": r.constraints.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<serde_json::Map<_, _>>(),
        "seed": r.seed.map(|s| s.to_string()),
        "reference_date": r.reference_date.map(|d| d.to_string()),
        "playwright": r.playwright,
        "pytest": r.pytest,
        "edge_cases": r.edge_cases,
    })
}

/// How many planned rows per table the audit shows in full.
const AUDITED_ROWS: usize = 20;

/// A plan as audited: its parameters, row counts, the first rows of each table, and the
/// streamed entries (alias, table, rows).
fn plan_summary(plan: &atdm_core::Plan) -> serde_json::Value {
    let mut summary = plan_tables(plan);
    if !plan.streams.is_empty() {
        summary["streamed"] = plan
            .streams
            .iter()
            .map(|s| {
                serde_json::json!({
                    "alias": &*plan.entities[s.entry].alias,
                    "table": &*s.table,
                    "held": s.held,
                    "rows": s.rows,
                })
            })
            .collect();
    }
    summary
}

/// The parameters, row counts and first rows of a plan's planned tables.
fn plan_tables(plan: &atdm_core::Plan) -> serde_json::Value {
    let cell = |c: &Cell| match c {
        Cell::Value(v) => v.to_json(),
        Cell::Default => serde_json::json!({ "default": true }),
        Cell::Ref(r) => {
            serde_json::json!({ "ref": format!("{}[{}].{}", r.table, r.row, r.column) })
        }
        Cell::Streamed(r) => serde_json::json!({
            "ref": format!("stream {}[{}].{}", r.stream, r.row, r.column)
        }),
    };
    let tables: Vec<serde_json::Value> = plan
        .tables
        .iter()
        .map(|tp| {
            serde_json::json!({
                "table": &*tp.table,
                "columns": &*tp.columns,
                "rows": tp.rows.iter().take(AUDITED_ROWS).map(|r| r.iter().map(cell).collect::<Vec<_>>()).collect::<Vec<_>>(),
                "total": tp.rows.len(),
            })
        })
        .collect();
    serde_json::json!({
        "scenario": plan.scenario,
        "seed": plan.seed.to_string(),
        "reference_date": plan.reference_date.to_string(),
        "generator_version": plan.generator_version,
        "schema_version": plan.schema_version,
        "constraints": plan.constraints.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<serde_json::Map<_, _>>(),
        "rows": plan.tables.iter().map(|tp| (tp.table.to_string(), serde_json::Value::from(tp.rows.len()))).collect::<serde_json::Map<_, _>>(),
        "tables": tables,
    })
}

/// The error for a request of `rows` rows where one request may seed at most `max`.
fn too_many_rows(scenario: &str, rows: u64, max: u64) -> Error {
    Error::Core(atdm_core::Error::Plan {
        scenario: scenario.to_owned(),
        message: format!(
            "the request would seed {rows} rows, more than the {max} one request may seed here (`atdm mcp --max-rows`, or `Request::max_rows`); ask for fewer rows with the scenario's count knobs"
        ),
    })
}
