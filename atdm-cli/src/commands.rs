//! The commands: each does its work through the engine (or the pack alone), builds its
//! result (an engine type or one of [`crate::views`]) and prints it: as JSON, or as the text
//! [`crate::render`] makes of it.

use std::path::PathBuf;
use std::time::Duration;

use atdm_core::Value;
use atdm_sqlx::{Engine, Request, SnapshotOptions};

use crate::args::{BaselineCommand, Cli, Command, Global, RequestArgs};
use crate::config::{self, EngineOptions};
use crate::output::{CliError, Output, USAGE_ERROR, write_stdout};
use crate::progress::Spinner;
use crate::views::{
    Baselines, Found, FoundMatch, Introspected, Metrics, Reaped, Runs, ScenarioList,
    ScenarioSummary, SetUp,
};
use crate::{render, validate};

/// Runs the command line's command.
pub(crate) async fn run(cli: Cli, out: &Output) -> Result<(), CliError> {
    let g = &cli.global;
    match cli.command {
        Command::Scenarios => scenarios(g, out),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "atdm", &mut script);
            write_stdout(&String::from_utf8_lossy(&script))
        }
        Command::Describe { scenario } => {
            let d = config::pack(g)?.describe(&scenario)?;
            out.emit(&d, || render::describe(&d))
        }
        Command::Find { intent, limit } => find(g, out, &intent.join(" "), limit),
        Command::EdgeCases { tables, dangerous } => edge_cases(g, out, &tables, dangerous),
        Command::Generate(args) if !args.into => crate::generate::files(g, out, args),
        Command::Validate { files } => {
            let date = g
                .reference_date
                .unwrap_or_else(|| chrono::Utc::now().date_naive());
            let report = validate::validate(g.scenario_dir.as_deref(), &files, date)?;
            out.emit(&report, || render::validate(&report))?;
            if report.valid {
                Ok(())
            } else {
                let bad = report.files.iter().filter(|f| !f.valid).count();
                Err(CliError::failed(
                    "INVALID_SCENARIO",
                    if report.files.len() == 1 {
                        "the scenario file has errors (listed on stdout)".to_owned()
                    } else {
                        format!(
                            "{bad} of {} scenario files have errors (listed on stdout)",
                            report.files.len()
                        )
                    },
                ))
            }
        }
        Command::Introspect {
            name,
            out: Some(dir),
            force,
            schemas,
        } => {
            let url = config::database_url(g);
            let options = schemas.into_iter().fold(
                atdm_sqlx::ScaffoldOptions::new().name(name).force(force),
                |o, s| o.schema(s),
            );
            let report = {
                let _spinner = Spinner::start(out, "reading the schema and checking every table");
                atdm_sqlx::scaffold(&url, &dir, &options).await?
            };
            out.emit(&report, || render::scaffolded(&report))
        }
        Command::Introspect { name, schemas, .. } => introspect(g, out, &name, schemas).await,
        Command::ResetAll { confirm } if !confirm => Err(CliError::usage(
            "CONFIRM_REQUIRED",
            "reset-all deletes every run-owned row in every table; add --confirm to do it",
        )),
        command => {
            let opts = EngineOptions {
                lease: match &command {
                    Command::Request { lease, .. } => lease.map(Duration::from_secs),
                    Command::Generate(a) => a.lease.map(Duration::from_secs),
                    Command::Mcp(m) => m.lease.map(Duration::from_secs),
                    _ => None,
                },
                // `atdm reap` reports what it reaps, so the start-up must not reap first.
                no_reap_on_start: matches!(command, Command::Reap | Command::Setup),
                full_setup: matches!(command, Command::Setup),
                concurrent: matches!(command, Command::Mcp(_)),
            };
            let engine = config::engine(g, opts).await?;
            let result = on_engine(&engine, *out, command).await;
            finish(&engine, out, result).await
        }
    }
}

/// After a command on the engine: writes any audit events kept for a retry and closes the
/// pool. The command's result is already printed; an audit failure still makes the exit
/// code 1.
async fn finish(
    engine: &Engine,
    out: &Output,
    result: Result<(), CliError>,
) -> Result<(), CliError> {
    let flushed = engine.flush_audit().await;
    engine.close().await;
    match (result, flushed) {
        (Err(e), Err(audit)) => {
            out.warn(audit.code().as_str(), &audit.to_string());
            Err(e)
        }
        (Err(e), Ok(())) => Err(e),
        (Ok(()), Err(audit)) => Err(audit.into()),
        (Ok(()), Ok(())) => Ok(()),
    }
}

async fn on_engine(engine: &Engine, out: Output, command: Command) -> Result<(), CliError> {
    match command {
        Command::Generate(args) => crate::generate::into(engine, &out, args).await,
        Command::Mask(args) => crate::mask::run(engine, &out, args).await,
        Command::Plan { request, explain } => {
            let r = request_of(&request)?;
            let validated = if explain {
                engine.explain(&request.scenario, r).await?
            } else {
                engine.plan(&request.scenario, r).await?
            };
            let plan = validated.plan();
            out.emit(plan, || render::plan(plan, validated.validators()))
        }
        Command::Request {
            request,
            playwright,
            pytest,
            ..
        } => {
            let mut r = request_of(&request)?;
            r.playwright = playwright;
            r.pytest = pytest;
            let seeded = {
                let _spinner = Spinner::start(&out, &format!("seeding {}", request.scenario));
                engine.request(&request.scenario, r).await?
            };
            out.emit(&seeded, || render::seeded(&seeded))
        }
        // Connecting ran the setup: say what is in place.
        Command::Setup => {
            let done = SetUp {
                database: atdm_sqlx::redact_url(engine.database_url()),
                pack: engine.pack().name().to_owned(),
                tables: engine
                    .pack()
                    .schema()
                    .tables
                    .iter()
                    .map(|t| t.name.clone())
                    .collect(),
            };
            out.emit(&done, || render::set_up(&done))
        }
        Command::Reap => {
            let reaped = Reaped {
                reaped: engine.reap_expired().await?,
            };
            out.emit(&reaped, || render::reaped(&reaped.reaped))
        }
        Command::Reset { run, token } => {
            let report = {
                let _spinner = Spinner::start(&out, &format!("deleting the rows of run {run}"));
                engine.reset_run(&run, &token).await?
            };
            out.emit(&report, || render::reset(&report))
        }
        Command::ResetAll { .. } => {
            let report = {
                let _spinner = Spinner::start(&out, "deleting every run-owned row");
                engine.reset_all(atdm_sqlx::Confirmation::Confirmed).await?
            };
            out.emit(&report, || render::reset_all(&report))
        }
        Command::Runs {
            status,
            scenario,
            limit,
            all,
        } => {
            let mut filter = atdm_sqlx::RunFilter::new();
            if let Some(s) = status {
                filter = filter.status(s);
            }
            if let Some(s) = scenario {
                filter = filter.scenario(s);
            }
            if !all {
                filter = filter.limit(limit);
            }
            let page = engine.runs_matching(&filter).await?;
            out.emit(
                &Runs {
                    runs: &page.runs,
                    total: page.total,
                },
                || render::runs(&page.runs, page.total),
            )
        }
        Command::Audit { run, html } => {
            let trail = engine.audit(&run).await?;
            match html {
                Some(path) if path.as_os_str() == "-" => {
                    write_stdout(&atdm_core::audit::render_html(&trail))
                }
                Some(path) => {
                    let page = atdm_core::audit::render_html(&trail);
                    std::fs::write(&path, page).map_err(|e| {
                        CliError::failed(
                            "IO_ERROR",
                            format!("cannot write the audit page to {}: {e}", path.display()),
                        )
                    })?;
                    out.emit(&trail, || render::audit(&trail, Some(&path)))
                }
                None => out.emit(&trail, || render::audit(&trail, None)),
            }
        }
        Command::Coverage {
            requirements,
            html,
            fail_under,
        } => coverage(engine, out, requirements, html, fail_under).await,
        Command::Metrics => {
            let text = engine.metrics_text();
            let metrics = Metrics::parse(&text);
            out.emit(&metrics, || text.clone())
        }
        Command::Baseline(b) => baseline(engine, out, b).await,
        // Serves until the client closes stdin; stdout is the protocol, so nothing else is
        // printed there.
        Command::Mcp(args) => crate::mcp::serve(engine, args).await,
        // Handled before an engine is connected.
        Command::Scenarios
        | Command::Describe { .. }
        | Command::EdgeCases { .. }
        | Command::Find { .. }
        | Command::Validate { .. }
        | Command::Completions { .. }
        | Command::Introspect { .. } => Err(CliError::failed(
            "INTERNAL_ERROR",
            "this command does not run on a connected engine",
        )),
    }
}

async fn baseline(engine: &Engine, out: Output, command: BaselineCommand) -> Result<(), CliError> {
    match command {
        BaselineCommand::Snapshot { id, tags } => {
            let mut options = SnapshotOptions::new();
            if let Some(id) = id {
                options = options.id(id);
            }
            for (k, v) in tags {
                options = options.tag(k, v);
            }
            let manifest = {
                let _spinner = Spinner::start(&out, "taking a snapshot of every table");
                engine.snapshot(options).await?
            };
            out.emit(&manifest, || render::snapshot(&manifest))
        }
        BaselineCommand::Restore { id } => {
            let report = {
                let _spinner = Spinner::start(&out, "restoring the baseline");
                engine.restore(id.as_deref()).await?
            };
            out.emit(&report, || render::restored(&report))
        }
        BaselineCommand::List => {
            let baselines = engine.list_baselines().await?;
            out.emit(
                &Baselines {
                    baselines: &baselines,
                },
                || render::baselines(&baselines),
            )
        }
        BaselineCommand::Diff { from, to } => {
            let diff = engine.diff_baselines(&from, &to).await?;
            out.emit(&diff, || render::diff(&diff))
        }
    }
}

fn scenarios(g: &Global, out: &Output) -> Result<(), CliError> {
    let pack = config::pack(g)?;
    let list = ScenarioList {
        scenarios: pack
            .catalog()
            .list()
            .map(|s| ScenarioSummary {
                id: s.id.clone(),
                description: s.description.clone(),
                tags: s.tags.clone(),
                requirements: s.requirements.clone(),
                knobs: s.knobs.keys().cloned().collect(),
            })
            .collect(),
    };
    out.emit(&list, || render::scenarios(&list))
}

fn find(g: &Global, out: &Output, intent: &str, limit: usize) -> Result<(), CliError> {
    let pack = config::pack(g)?;
    let matches = pack
        .catalog()
        .find(intent, limit)
        .into_iter()
        .map(|m| FoundMatch {
            description: pack
                .scenario(&m.id)
                .map(|s| s.description.clone())
                .unwrap_or_default(),
            found: m,
        })
        .collect();
    let found = Found {
        intent: intent.to_owned(),
        matches,
    };
    out.emit(&found, || render::found(&found))
}

async fn introspect(
    g: &Global,
    out: &Output,
    name: &str,
    schemas: Vec<String>,
) -> Result<(), CliError> {
    let url = config::database_url(g);
    let options = schemas
        .into_iter()
        .fold(atdm_sqlx::IntrospectOptions::new(), |o, s| o.schema(s));
    let found = atdm_sqlx::introspect_with(&url, name, &options).await?;
    let result = Introspected {
        database: atdm_sqlx::redact_url(&url),
        toml: found.schema.to_toml(),
        schema: found.schema,
        notes: found.notes,
    };
    out.emit(&result, || render::introspected(&result))
}

/// The engine request of `-c`, `--null` and `--seed`.
fn request_of(r: &RequestArgs) -> Result<Request, CliError> {
    let mut req = Request::new();
    for (k, v) in &r.constraints {
        req = req.constraint(k.clone(), Value::Text(v.clone()));
    }
    for k in &r.nulls {
        if r.constraints.iter().any(|(c, _)| c == k) {
            return Err(CliError::usage(
                USAGE_ERROR,
                format!("knob {k:?} is given both with -c and with --null; give it once"),
            ));
        }
        req = req.constraint(k.clone(), Value::Null);
    }
    if let Some(seed) = r.seed {
        req = req.seed(seed);
    }
    req.edge_cases = crate::generate::edge_mode(r.edge_cases, r.dangerous);
    Ok(req)
}

async fn coverage(
    engine: &Engine,
    out: Output,
    requirements: Option<PathBuf>,
    html: Option<PathBuf>,
    fail_under: Option<f64>,
) -> Result<(), CliError> {
    if let Some(f) = fail_under
        && !(0.0..=100.0).contains(&f)
    {
        return Err(CliError::usage(
            "USAGE_ERROR",
            format!("--fail-under takes a percentage from 0 to 100, not {f}"),
        ));
    }
    let ids = match &requirements {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::failed(
                    "IO_ERROR",
                    format!("cannot read the requirements list {}: {e}", path.display()),
                )
            })?;
            atdm_core::coverage::parse_requirements(&text)
        }
        None => Vec::new(),
    };
    let report = engine.coverage(&ids).await?;
    match &html {
        Some(path) if path.as_os_str() == "-" => {
            write_stdout(&atdm_core::coverage::render_html(&report))?
        }
        Some(path) => {
            std::fs::write(path, atdm_core::coverage::render_html(&report)).map_err(|e| {
                CliError::failed(
                    "IO_ERROR",
                    format!("cannot write the coverage page to {}: {e}", path.display()),
                )
            })?;
            out.emit(&report, || render::coverage(&report, Some(path)))?
        }
        None => out.emit(&report, || render::coverage(&report, None))?,
    }
    match fail_under {
        Some(f) if report.coverage < f => Err(CliError::failed(
            "COVERAGE_BELOW",
            format!(
                "coverage is {:.1}%, below --fail-under {f}%: {} of {} items are covered; the report lists what is not",
                report.coverage, report.covered, report.items
            ),
        )),
        _ => Ok(()),
    }
}

/// `atdm edge-cases`: the pack's edge cases, valid and invalid (and dangerous when asked).
fn edge_cases(
    g: &Global,
    out: &Output,
    tables: &[String],
    dangerous: bool,
) -> Result<(), CliError> {
    let pack = config::pack(g)?;
    let schema = pack.schema();
    let date = g
        .reference_date
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    for t in tables {
        if schema.table(t).is_none() {
            let known: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
            return Err(CliError::usage(
                USAGE_ERROR,
                format!(
                    "--table {t:?}: the pack has no such table; tables: {}",
                    known.join(", ")
                ),
            ));
        }
    }
    let cases: Vec<atdm_core::edge::EdgeCase> = schema
        .tables
        .iter()
        .filter(|t| tables.is_empty() || tables.contains(&t.name))
        .flat_map(|t| atdm_core::edge::edge_cases(schema, t, date))
        .filter(|c| dangerous || c.validity != atdm_core::edge::Validity::Dangerous)
        .collect();
    out.emit(&cases, || render::edge_cases(&cases))
}
