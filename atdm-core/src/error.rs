//! Errors of the pure core, and the stable error codes every front end reuses.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validate::Rejection;

/// Stable, machine-readable error codes, shared by the library, the command-line tool,
/// Python and the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ErrorCode {
    /// No scenario has the requested id.
    ScenarioNotFound,
    /// A constraint key is unknown or its value is outside the knob's domain.
    InvalidConstraint,
    /// The validator gate refused the plan.
    ValidatorRejected,
    /// The database refused the plan; nothing was written.
    SeedFailed,
    /// No run has the given id.
    RunNotFound,
    /// The cleanup token does not belong to the run.
    TokenMismatch,
    /// A destructive action was asked for without its explicit confirmation.
    ConfirmRequired,
    /// No baseline exists at all.
    NoBaseline,
    /// No baseline has the given id.
    BaselineNotFound,
    /// A scenario file is malformed or refers to something unknown.
    InvalidScenario,
    /// A schema (file, declaration or introspected) is malformed.
    InvalidSchema,
    /// The planner could not build a plan (for example, no existing row to point at).
    PlanFailed,
    /// A database URL is malformed or names an unsupported database.
    InvalidUrl,
    /// The database could not be reached or failed outside a seed.
    DatabaseError,
    /// The audit store could not be written or read. When the events before an action cannot
    /// be written, the action does not happen.
    AuditStoreError,
    /// A file or directory could not be read or written (a scenario directory, a scenario
    /// file, an output file).
    IoError,
    /// A snapshot was asked for under a baseline id that exists; nothing was written.
    BaselineExists,
    /// A baseline object is missing, unreadable, or does not match its checksum.
    BaselineCorrupt,
    /// A baseline was taken of another schema (or by a newer format) than the engine has.
    BaselineMismatch,
    /// A baseline id is malformed.
    InvalidBaselineId,
    /// A command was pointed at a database other than the embedded default without a scenario
    /// directory (or an explicit built-in pack); nothing was created.
    NoScenarioDir,
    /// A built-in pack was asked for by a name that none has.
    UnknownPack,
    /// Writing a scenario directory would overwrite files that exist; nothing was written.
    FilesExist,
    /// A dataset cannot be generated as asked (an unknown table, a row count out of range, a
    /// foreign key to a table without rows, a unique key with too few combinations); nothing
    /// was written.
    InvalidDataset,
    /// A masking job cannot run as asked: a malformed rules file or key, a rule that does not
    /// fit its column, a target that is not empty; nothing was written.
    InvalidMask,
    /// A masking job found columns that hold personal data and have no rule; nothing was
    /// written. The message names them and suggests a rule for each.
    UnmaskedSensitive,
    /// The verification of a masked output failed: a source value of a sensitive column
    /// appears in it, a foreign key does not resolve, or a unique column has duplicates.
    VerifyFailed,
}

impl ErrorCode {
    /// The code as text (`TOKEN_MISMATCH`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ScenarioNotFound => "SCENARIO_NOT_FOUND",
            ErrorCode::InvalidConstraint => "INVALID_CONSTRAINT",
            ErrorCode::ValidatorRejected => "VALIDATOR_REJECTED",
            ErrorCode::SeedFailed => "SEED_FAILED",
            ErrorCode::RunNotFound => "RUN_NOT_FOUND",
            ErrorCode::TokenMismatch => "TOKEN_MISMATCH",
            ErrorCode::ConfirmRequired => "CONFIRM_REQUIRED",
            ErrorCode::NoBaseline => "NO_BASELINE",
            ErrorCode::BaselineNotFound => "BASELINE_NOT_FOUND",
            ErrorCode::InvalidScenario => "INVALID_SCENARIO",
            ErrorCode::InvalidSchema => "INVALID_SCHEMA",
            ErrorCode::PlanFailed => "PLAN_FAILED",
            ErrorCode::InvalidUrl => "INVALID_URL",
            ErrorCode::DatabaseError => "DATABASE_ERROR",
            ErrorCode::AuditStoreError => "AUDIT_STORE_ERROR",
            ErrorCode::IoError => "IO_ERROR",
            ErrorCode::BaselineExists => "BASELINE_EXISTS",
            ErrorCode::BaselineCorrupt => "BASELINE_CORRUPT",
            ErrorCode::BaselineMismatch => "BASELINE_MISMATCH",
            ErrorCode::InvalidBaselineId => "INVALID_BASELINE_ID",
            ErrorCode::NoScenarioDir => "NO_SCENARIO_DIR",
            ErrorCode::UnknownPack => "UNKNOWN_PACK",
            ErrorCode::FilesExist => "FILES_EXIST",
            ErrorCode::InvalidDataset => "INVALID_DATASET",
            ErrorCode::InvalidMask => "INVALID_MASK",
            ErrorCode::UnmaskedSensitive => "UNMASKED_SENSITIVE",
            ErrorCode::VerifyFailed => "VERIFY_FAILED",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A schema that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The schema text is not valid TOML or has an unknown or mistyped key.
    #[error("{origin}: {message}")]
    Parse {
        /// The file (or other source) name.
        origin: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A table refers to something that does not exist, or a literal does not fit.
    #[error("{}table {table:?}, {field}: {message}", origin_prefix(origin))]
    Invalid {
        /// The file (or other source) name; empty for a schema declared in Rust.
        origin: String,
        /// The table.
        table: String,
        /// The field within the table (`checks[1]`, `foreign_keys[0]`, ...).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Introspection found no table to read: the database is empty, or the schemas asked for
    /// hold none.
    #[error(
        "{database} has no table to read{}; {}",
        asked_text(asked),
        found_text(found)
    )]
    NoTables {
        /// The database, without its password.
        database: String,
        /// The schemas asked for (empty: every non-system schema).
        asked: Vec<String>,
        /// The schemas that have tables.
        found: Vec<String>,
    },
    /// Foreign keys form a cycle, so no insert order exists.
    #[error("foreign keys form a cycle between tables {}; break it with a nullable column that is filled later", tables.join(", "))]
    Cycle {
        /// The tables on or behind the cycle.
        tables: Vec<String>,
    },
}

fn asked_text(asked: &[String]) -> String {
    if asked.is_empty() {
        String::new()
    } else {
        format!(" in schema {}", asked.join(", "))
    }
}

fn found_text(found: &[String]) -> String {
    if found.is_empty() {
        "create the application's tables first (run its migrations), or point --database-url at the database that has them".into()
    } else {
        format!(
            "schemas with tables: {}; choose among them (--schema on the command line, schemas=[...] in Python), or leave the choice out to read them all",
            found.join(", ")
        )
    }
}

fn origin_prefix(origin: &str) -> String {
    if origin.is_empty() {
        String::new()
    } else {
        format!("{origin}: ")
    }
}

impl SchemaError {
    pub(crate) fn with_origin(self, o: &str) -> Self {
        match self {
            SchemaError::Invalid {
                table,
                field,
                message,
                ..
            } => SchemaError::Invalid {
                origin: o.into(),
                table,
                field,
                message,
            },
            other => other,
        }
    }
}

/// A scenario file (or set of files) that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// Not valid TOML, an unknown key, or a value of the wrong kind.
    #[error("{file}: {message}")]
    Parse {
        /// The file name.
        file: String,
        /// The parser's message, with line, column and key.
        message: String,
    },
    /// A field refers to an unknown table, column, knob, alias, validator or generator, or
    /// holds a value that does not fit.
    #[error("{file}: {field}: {message}")]
    Invalid {
        /// The file name.
        file: String,
        /// The field (`rows[1].set.plan_id`, `knobs.member_status.default`, ...).
        field: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// Two files declare the same scenario id.
    #[error("scenario id {id:?} is declared twice: in {first} and in {second}")]
    Duplicate {
        /// The id.
        id: String,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
    },
    /// The scenario seeds no row.
    #[error(
        "{file}: scenario {id:?} seeds no row; add at least one [[rows]] entry (or extend a scenario that has rows)"
    )]
    Empty {
        /// The file name.
        file: String,
        /// The scenario id.
        id: String,
    },
}

/// An error of the pure core.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A schema cannot be used.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A scenario file cannot be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// No scenario has the requested id.
    #[error("no scenario {}{}", quoted_cut(id), close_matches(close))]
    ScenarioNotFound {
        /// The requested id.
        id: String,
        /// Known ids that look alike, best first.
        close: Vec<String>,
    },
    /// A constraint key is unknown, or its value is outside the knob's domain.
    #[error("invalid constraint {key:?} for scenario {scenario:?}: {problem}; allowed: {allowed}")]
    InvalidConstraint {
        /// The scenario.
        scenario: String,
        /// The constraint key.
        key: String,
        /// What is wrong with it.
        problem: String,
        /// The allowed keys or values.
        allowed: String,
    },
    /// The planner could not build the plan.
    #[error("cannot plan scenario {scenario:?}: {message}")]
    Plan {
        /// The scenario.
        scenario: String,
        /// What is missing.
        message: String,
    },
    /// The validator gate refused the plan.
    #[error(transparent)]
    Rejected(#[from] Rejection),
}

/// `s` quoted, its first 120 characters only when it is longer (it comes from the caller).
fn quoted_cut(s: &str) -> String {
    if s.chars().count() <= 120 {
        format!("{s:?}")
    } else {
        let cut: String = s.chars().take(120).collect();
        format!("{cut:?}... ({} characters)", s.chars().count())
    }
}

fn close_matches(close: &[String]) -> String {
    if close.is_empty() {
        "; list the known scenarios with `atdm scenarios`".into()
    } else {
        format!(
            "; did you mean {}?",
            close
                .iter()
                .map(|c| format!("{c:?}"))
                .collect::<Vec<_>>()
                .join(" or ")
        )
    }
}

impl Error {
    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Schema(_) => ErrorCode::InvalidSchema,
            Error::Scenario(_) => ErrorCode::InvalidScenario,
            Error::ScenarioNotFound { .. } => ErrorCode::ScenarioNotFound,
            Error::InvalidConstraint { .. } => ErrorCode::InvalidConstraint,
            Error::Plan { .. } => ErrorCode::PlanFailed,
            Error::Rejected(_) => ErrorCode::ValidatorRejected,
        }
    }
}
