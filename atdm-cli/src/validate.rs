//! `atdm validate`: checks scenario files against the schema without a database, and reports
//! every file's errors.
//!
//! The schema is the scenario directory's `schema.toml` (with its `reference.toml` and its
//! other scenario files, which given files may extend), or the healthcare pack's (with its
//! validators, generators and built-in scenarios). A file is checked in three steps: it is
//! read, it loads and compiles with the others (tables, columns, knobs, aliases, validators
//! and generators exist), and each of its scenarios plans and passes the validator gate
//! with its default knobs. A file that fails one step is reported with that error and left
//! out of the next round, so every bad file is named, not only the first.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use atdm_core::domains::healthcare;
use atdm_core::scenario::parse_scenarios;
use atdm_core::schema::Schema;
use atdm_core::{Constraints, ExistingRows, Pack, PackBuilder, RunContext, ScenarioError};
use chrono::NaiveDate;
use serde::Serialize;

use crate::output::CliError;

/// What `atdm validate` found.
#[derive(Debug, Serialize)]
pub(crate) struct ValidateReport {
    /// Whether every file is valid.
    pub(crate) valid: bool,
    /// The schema the files were checked against.
    pub(crate) schema: String,
    /// One entry per file, in the order given.
    pub(crate) files: Vec<FileReport>,
}

/// One file's result.
#[derive(Debug, Serialize)]
pub(crate) struct FileReport {
    /// The file, as given.
    pub(crate) file: String,
    /// Whether it has no error.
    pub(crate) valid: bool,
    /// The scenario ids it declares (when it loads).
    pub(crate) scenarios: Vec<String>,
    /// Every error found, in order.
    pub(crate) errors: Vec<Problem>,
}

/// One error.
#[derive(Debug, Serialize)]
pub(crate) struct Problem {
    /// The stable code (`INVALID_SCENARIO`, `VALIDATOR_REJECTED`, `IO_ERROR`, ...).
    pub(crate) code: String,
    /// What is wrong, naming the file and field.
    pub(crate) message: String,
}

/// The schema and context the files are checked against.
struct Base {
    /// A description of the schema, for the report.
    schema: String,
    /// The scenario directory's schema and reference rows (name and text); `None` for the
    /// healthcare pack.
    dir: Option<(Schema, Option<(String, String)>)>,
    /// Scenario files that are context, not under test: (name, text).
    context: Vec<(String, String)>,
    /// Scenario ids already in `builder`, with their text (the healthcare pack's).
    built_in: Vec<(String, String)>,
}

fn base(scenario_dir: Option<&Path>, given: &[PathBuf]) -> Result<Base, CliError> {
    let Some(dir) = scenario_dir else {
        let built_in = healthcare::SCENARIOS
            .iter()
            .map(|(f, t)| (f.to_string(), t.to_string()))
            .collect();
        return Ok(Base {
            schema: "healthcare (built in)".into(),
            dir: None,
            context: Vec::new(),
            built_in,
        });
    };
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .map_err(|e| CliError::failed("IO_ERROR", format!("cannot read {}: {e}", p.display())))
    };
    let schema_path = dir.join("schema.toml");
    let schema = Schema::from_toml(&read(&schema_path)?, &schema_path.display().to_string())
        .map_err(atdm_core::Error::from)?;
    let reference_path = dir.join("reference.toml");
    let reference = if reference_path.exists() {
        let text = read(&reference_path)?;
        // Checked once here, so that rebuilding the base cannot fail.
        Pack::builder("validate", schema.clone())
            .reference_rows_toml(&text, &reference_path.display().to_string())
            .map_err(atdm_core::Error::from)?;
        Some((reference_path.display().to_string(), text))
    } else {
        None
    };
    let given: BTreeSet<PathBuf> = given.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let mut context = Vec::new();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError::failed("IO_ERROR", format!("cannot read {}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n != "schema.toml" && n != "reference.toml")
        })
        .collect();
    paths.sort();
    for p in paths {
        if p.canonicalize().is_ok_and(|c| given.contains(&c)) {
            continue;
        }
        context.push((p.display().to_string(), read(&p)?));
    }
    Ok(Base {
        schema: schema_path.display().to_string(),
        dir: Some((schema, reference)),
        context,
        built_in: Vec::new(),
    })
}

/// The file an error of [`PackBuilder::build`] is about, if it names one.
fn file_of(e: &atdm_core::Error) -> Option<&str> {
    match e {
        atdm_core::Error::Scenario(ScenarioError::Parse { file, .. })
        | atdm_core::Error::Scenario(ScenarioError::Invalid { file, .. })
        | atdm_core::Error::Scenario(ScenarioError::Empty { file, .. }) => Some(file),
        atdm_core::Error::Scenario(ScenarioError::Duplicate { second, .. }) => Some(second),
        _ => None,
    }
}

/// Checks `files`; the report says what is wrong with each.
pub(crate) fn validate(
    scenario_dir: Option<&Path>,
    files: &[PathBuf],
    reference_date: NaiveDate,
) -> Result<ValidateReport, CliError> {
    let base = base(scenario_dir, files)?;
    let mut reports: Vec<FileReport> = files
        .iter()
        .map(|f| FileReport {
            file: f.display().to_string(),
            valid: true,
            scenarios: Vec::new(),
            errors: Vec::new(),
        })
        .collect();
    // Step 1: read every file.
    let mut texts: Vec<Option<String>> = Vec::new();
    for (f, r) in files.iter().zip(reports.iter_mut()) {
        match std::fs::read_to_string(f) {
            Ok(t) => texts.push(Some(t)),
            Err(e) => {
                r.errors.push(Problem {
                    code: "IO_ERROR".into(),
                    message: format!("cannot read {}: {e}", f.display()),
                });
                texts.push(None);
            }
        }
    }
    // A file that is a built-in scenario file of the healthcare pack, unchanged, is that
    // file: it is checked as part of the pack, and its scenarios are listed.
    for (i, r) in reports.iter_mut().enumerate() {
        let Some(text) = &texts[i] else { continue };
        if let Some((name, _)) = base.built_in.iter().find(|(_, t)| t == text) {
            r.scenarios = base.built_in_ids(name);
            texts[i] = None;
        }
    }
    // Step 2: load and compile together; a file whose error is reported leaves the round.
    let mut live: Vec<usize> = (0..files.len())
        .filter(|&i| texts[i].is_some() && reports[i].errors.is_empty())
        .collect();
    // Files that left the round, whose scenarios the later ones cannot see.
    let mut removed: Vec<String> = Vec::new();
    let pack = loop {
        let mut b = clone_builder(&base);
        for &i in &live {
            b = b.scenario(
                reports[i].file.clone(),
                texts[i].clone().unwrap_or_default(),
            );
        }
        match b.build() {
            Ok(pack) => break Some(pack),
            Err(e) => {
                let owner =
                    file_of(&e).and_then(|f| live.iter().position(|&i| reports[i].file == f));
                match owner {
                    Some(pos) => {
                        let i = live.remove(pos);
                        let message = match &e {
                            atdm_core::Error::Scenario(ScenarioError::Duplicate {
                                id,
                                first,
                                ..
                            }) if base.built_in.iter().any(|(f, _)| f == first) => format!(
                                "{}: scenario id {id:?} is built into the healthcare pack ({first}); give a changed copy a new id, or check it with --scenario-dir against a directory with the schema",
                                reports[i].file
                            ),
                            atdm_core::Error::Scenario(ScenarioError::Invalid {
                                message, ..
                            }) if message.starts_with("unknown scenario")
                                && !removed.is_empty() =>
                            {
                                format!(
                                    "{e} (not loaded: {}, which has errors of its own; a scenario it defines is unknown here until it is fixed)",
                                    removed.join(", ")
                                )
                            }
                            _ => e.to_string(),
                        };
                        removed.push(reports[i].file.clone());
                        reports[i].errors.push(Problem {
                            code: e.code().as_str().into(),
                            message,
                        });
                    }
                    None => {
                        // The schema directory's own files are broken: nothing can load.
                        for &i in &live {
                            reports[i].errors.push(Problem {
                                code: e.code().as_str().into(),
                                message: format!("cannot check against {}: {e}", base.schema),
                            });
                        }
                        break None;
                    }
                }
            }
        }
    };
    // Step 3: plan each scenario with its defaults and run the gate.
    if let Some(pack) = pack {
        let ctx = RunContext::new(ulid::Ulid::nil().to_string(), reference_date);
        for &i in &live {
            let r = &mut reports[i];
            let ids: Vec<String> = pack
                .catalog()
                .list()
                .filter(|s| s.file == r.file)
                .map(|s| s.id.clone())
                .collect();
            for id in &ids {
                // Rows that point at existing rows need a database to plan.
                if pack.existing_tables(id).is_ok_and(|t| !t.is_empty()) {
                    continue;
                }
                if let Err(e) =
                    pack.plan_validated(id, &Constraints::new(), &ctx, &ExistingRows::new())
                {
                    r.errors.push(Problem {
                        code: e.code().as_str().into(),
                        message: format!("scenario {id:?} with its default knobs: {e}"),
                    });
                }
            }
            r.scenarios = ids;
        }
    }
    for r in &mut reports {
        r.valid = r.errors.is_empty();
    }
    Ok(ValidateReport {
        valid: reports.iter().all(|r| r.valid),
        schema: base.schema,
        files: reports,
    })
}

impl Base {
    /// The scenario ids a built-in file declares.
    fn built_in_ids(&self, file: &str) -> Vec<String> {
        parse_scenarios(self.built_in.iter().map(|(f, t)| (f.as_str(), t.as_str())))
            .map(|all| {
                all.into_iter()
                    .filter(|s| s.file == file && !s.template)
                    .map(|s| s.id)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A fresh builder of the base with its context files (builders are consumed by `build`).
fn clone_builder(base: &Base) -> PackBuilder {
    let b = match &base.dir {
        None => healthcare::builder(),
        Some((schema, reference)) => {
            let b = Pack::builder("validate", schema.clone());
            match reference {
                Some((origin, text)) => b
                    .reference_rows_toml(text, origin)
                    .expect("the reference rows were checked when the base was read"),
                None => b,
            }
        }
    };
    b.scenarios(base.context.iter().cloned())
}
