//! Errors of the engine, each with a stable [`ErrorCode`].

use atdm_core::ErrorCode;

/// An engine error. Every variant has a stable code ([`Error::code`]) and a message that says
/// what was wrong and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the pure core: unknown scenario, invalid constraint, rejected plan, bad
    /// scenario file or schema.
    #[error(transparent)]
    Core(#[from] atdm_core::Error),
    /// A database or store URL is malformed, names an unsupported database or store, or a
    /// path that cannot be used; the message says which and why.
    #[error("invalid URL {url}: {message}")]
    InvalidUrl {
        /// The URL, with any password removed.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// The database refused the plan; the transaction rolled back and nothing was written.
    #[error(
        "seeding run {run_id} of scenario {scenario:?} failed and was rolled back, nothing was written: {message}"
    )]
    SeedFailed {
        /// The run.
        run_id: String,
        /// The scenario.
        scenario: String,
        /// The database's own message.
        message: String,
    },
    /// No run has this id.
    #[error("no run {run_id:?} in the run catalog; list runs with `atdm runs`")]
    RunNotFound {
        /// The run id.
        run_id: String,
    },
    /// The cleanup token does not belong to the run; nothing was changed.
    #[error("the cleanup token does not match run {run_id}; nothing was deleted")]
    TokenMismatch {
        /// The run id.
        run_id: String,
    },
    /// A destructive action needs explicit confirmation.
    #[error(
        "{action} deletes every run-owned row; confirm it explicitly (confirm = true, or --confirm)"
    )]
    ConfirmRequired {
        /// The action.
        action: String,
    },
    /// The audit store failed. When this comes from a request or a reset, the action did not
    /// happen (its first events could not be written).
    #[error("audit store {store}: {context}: {message}")]
    Audit {
        /// The store URL.
        store: String,
        /// What the engine was doing.
        context: String,
        /// The store's message.
        message: String,
    },
    /// A file or directory could not be read (a scenario directory or one of its files).
    #[error("cannot read {}: {message}", path.display())]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// No baseline exists at all (restore without an id).
    #[error("no baseline exists yet; take one with snapshot (`atdm baseline snapshot`)")]
    NoBaseline,
    /// No baseline has this id.
    #[error("no baseline {id:?}; {}", baseline_list(available))]
    BaselineNotFound {
        /// The id asked for.
        id: String,
        /// Ids that exist: those that look like `id` first, then the newest; ten at most.
        available: Vec<String>,
    },
    /// A snapshot was asked for under an id that exists. Baselines are never overwritten;
    /// nothing was written.
    #[error(
        "baseline {id:?} already exists and is never overwritten; nothing was written; choose another id, or leave it out for a fresh one"
    )]
    BaselineExists {
        /// The id.
        id: String,
    },
    /// A baseline's object is missing, unreadable, or does not match the checksum its
    /// manifest records. Nothing was restored.
    #[error(
        "baseline {id:?} cannot be used, nothing was changed: {object}: {message}; take a new baseline"
    )]
    BaselineCorrupt {
        /// The baseline id.
        id: String,
        /// The object's key in the store.
        object: String,
        /// What is wrong with it.
        message: String,
    },
    /// A baseline was taken of another schema (or written by a newer format) than this
    /// engine's; nothing was restored.
    #[error(
        "baseline {id:?} was taken of {found}, but this engine has {expected}; nothing was changed; restore it with an engine of that schema"
    )]
    BaselineMismatch {
        /// The baseline id.
        id: String,
        /// What this engine has.
        expected: String,
        /// What the baseline holds.
        found: String,
    },
    /// A baseline id that cannot be used.
    #[error("invalid baseline id {id:?}: {message}")]
    InvalidBaselineId {
        /// The id.
        id: String,
        /// What is wrong, and what is allowed.
        message: String,
    },
    /// A command was pointed at a database other than the embedded default
    /// ([`DEFAULT_DATABASE_URL`](crate::DEFAULT_DATABASE_URL)) without a scenario directory.
    /// The healthcare demo pack is only used there, or when asked for by name (see
    /// [`resolve_pack`](crate::resolve_pack)), so that no demo table is ever created in a
    /// user's database. Raised before connecting: nothing was created.
    #[error(
        "no scenario directory for {database}: ATDM seeds only your own schema's scenarios there, and creates no demo tables; write a scenario directory with `atdm introspect --database-url {database} --out DIR`, then pass --scenario-dir DIR (scenario_dir=DIR in Python) or set ATDM_SCENARIO_DIR=DIR; for the healthcare demo pack in that database, pass --pack healthcare or set ATDM_PACK=healthcare; nothing was created"
    )]
    NoScenarioDir {
        /// The database URL, with any password removed.
        database: String,
    },
    /// A built-in pack was asked for by a name that none has.
    #[error("no built-in pack {name:?}; built-in packs: {}", crate::BUILTIN_PACKS.join(", "))]
    UnknownPack {
        /// The name asked for.
        name: String,
    },
    /// Writing a scenario directory would overwrite files; nothing was written.
    #[error(
        "{} already holds {}; nothing was written; choose another directory, or overwrite them with --force (force=True)",
        dir.display(),
        files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    FilesExist {
        /// The directory.
        dir: std::path::PathBuf,
        /// The files that exist, by name.
        files: Vec<std::path::PathBuf>,
    },
    /// A file or directory could not be written.
    #[error("cannot write {}: {message}", path.display())]
    Write {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// A dataset cannot be made as asked: see [`atdm_core::generate::DatasetError`]. Nothing
    /// was written.
    #[error("{0}; nothing was written")]
    Dataset(#[from] atdm_core::generate::DatasetError),
    /// Options of `atdm generate` that cannot be used (a part out of range, no table, a row
    /// count too large); nothing was written.
    #[error("{message}; nothing was written")]
    InvalidDataset {
        /// What is wrong, and what is allowed.
        message: String,
    },
    /// A masking job cannot run as asked (its rules, its key, its target); nothing was
    /// written.
    #[error("{0}; nothing was written")]
    Mask(#[from] atdm_core::mask::MaskError),
    /// A masking job's target cannot be written as asked (a table missing or not empty);
    /// nothing was written.
    #[error("{message}; nothing was written")]
    MaskTarget {
        /// What is wrong and what to do.
        message: String,
    },
    /// A masking job failed while writing: a value its transform cannot take, a row the
    /// target refused. With one transaction for the whole target nothing was written; with one
    /// per table, the tables the message names as written stay.
    #[error("masking failed: {message}")]
    MaskFailed {
        /// What failed, and what was written.
        message: String,
    },
    /// Columns that hold personal data have no masking rule; nothing was written.
    #[error(
        "{} column(s) hold personal data and have no rule; nothing was written. Add a rule for \
         each (or list it in allow_unmasked to copy it as it is):\n{}",
        .columns.len(),
        .columns.join("\n")
    )]
    UnmaskedSensitive {
        /// One line per column: `table.column (class, kind): suggested rule`.
        columns: Vec<String>,
    },
    /// A database operation failed outside a seed.
    #[error("{context}: {message}")]
    Database {
        /// What the engine was doing.
        context: String,
        /// The database's message.
        message: String,
    },
}

impl Error {
    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Core(e) => e.code(),
            Error::InvalidUrl { .. } => ErrorCode::InvalidUrl,
            Error::SeedFailed { .. } => ErrorCode::SeedFailed,
            Error::RunNotFound { .. } => ErrorCode::RunNotFound,
            Error::TokenMismatch { .. } => ErrorCode::TokenMismatch,
            Error::ConfirmRequired { .. } => ErrorCode::ConfirmRequired,
            Error::Database { .. } => ErrorCode::DatabaseError,
            Error::Audit { .. } => ErrorCode::AuditStoreError,
            Error::Io { .. } | Error::Write { .. } => ErrorCode::IoError,
            Error::NoScenarioDir { .. } => ErrorCode::NoScenarioDir,
            Error::UnknownPack { .. } => ErrorCode::UnknownPack,
            Error::FilesExist { .. } => ErrorCode::FilesExist,
            Error::Dataset(_) | Error::InvalidDataset { .. } => ErrorCode::InvalidDataset,
            Error::Mask(_) | Error::MaskTarget { .. } | Error::MaskFailed { .. } => {
                ErrorCode::InvalidMask
            }
            Error::UnmaskedSensitive { .. } => ErrorCode::UnmaskedSensitive,
            Error::NoBaseline => ErrorCode::NoBaseline,
            Error::BaselineNotFound { .. } => ErrorCode::BaselineNotFound,
            Error::BaselineExists { .. } => ErrorCode::BaselineExists,
            Error::BaselineCorrupt { .. } => ErrorCode::BaselineCorrupt,
            Error::BaselineMismatch { .. } => ErrorCode::BaselineMismatch,
            Error::InvalidBaselineId { .. } => ErrorCode::InvalidBaselineId,
        }
    }

    /// The run the error is about, where it names one: a rejected plan (whose audit trail
    /// holds the validators' findings), a failed seed, an unknown run, a wrong token.
    pub fn run_id(&self) -> Option<&str> {
        match self {
            Error::Core(atdm_core::Error::Rejected(r)) => Some(&r.run_id),
            Error::SeedFailed { run_id, .. }
            | Error::RunNotFound { run_id }
            | Error::TokenMismatch { run_id } => Some(run_id),
            _ => None,
        }
    }

    pub(crate) fn db(context: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Error {
        let context = context.into();
        move |e| Error::Database {
            context,
            message: db_message(&e),
        }
    }
}

fn baseline_list(available: &[String]) -> String {
    if available.is_empty() {
        "no baseline exists yet; take one with snapshot".into()
    } else {
        format!(
            "available: {}; list them all with `atdm baseline list`",
            available.join(", ")
        )
    }
}

/// The database's own message for an error.
pub(crate) fn db_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_owned(),
        other if dropped(other) => format!(
            "{other} (the server closed the connection: it restarted, or an idle timeout or a proxy dropped it; run the command again)"
        ),
        other => other.to_string(),
    }
}

/// Whether `e` says the server went away mid-conversation (sqlx reports it as an I/O error
/// or as a protocol error such as "expected to read 5 bytes, got 0 bytes at EOF").
fn dropped(e: &sqlx::Error) -> bool {
    use std::io::ErrorKind as K;
    match e {
        sqlx::Error::Io(io) => matches!(
            io.kind(),
            K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
        ),
        sqlx::Error::Protocol(m) => m.contains("at EOF"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_connection_says_so() {
        let eof = sqlx::Error::Protocol("expected to read 5 bytes, got 0 bytes at EOF".into());
        assert!(db_message(&eof).contains("the server closed the connection"));
        let reset = sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        assert!(db_message(&reset).contains("run the command again"));
        let other = sqlx::Error::Protocol("unknown message type".into());
        assert!(!db_message(&other).contains("closed the connection"));
    }
}
