//! A scenario directory written from a live database: [`scaffold`], what
//! `atdm introspect --out DIR` and Python's `atdm.introspect` call.

use std::path::{Path, PathBuf};

use atdm_core::scaffold::{EVERY_TABLE, LeftOut, SCHEMA_FILE};
use serde::Serialize;

use crate::error::Error;
use crate::introspect::{IntrospectOptions, introspect_with};
use crate::pack_dir::scenario_files;

/// How [`scaffold`] writes: the schema's name and whether existing files may be overwritten.
#[derive(Debug, Clone)]
pub struct ScaffoldOptions {
    name: String,
    force: bool,
    introspect: IntrospectOptions,
}

impl Default for ScaffoldOptions {
    fn default() -> Self {
        ScaffoldOptions::new()
    }
}

impl ScaffoldOptions {
    /// The defaults: schema name `introspected`, existing files are not overwritten.
    pub fn new() -> Self {
        ScaffoldOptions {
            name: "introspected".into(),
            force: false,
            introspect: IntrospectOptions::new(),
        }
    }

    /// The schema's name in `schema.toml`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Overwrites files of the directory that the scaffold writes (others are kept).
    pub fn force(mut self, yes: bool) -> Self {
        self.force = yes;
        self
    }

    /// Reads only this PostgreSQL schema (call again for more); by default every non-system
    /// schema is read. See [`IntrospectOptions::schema`].
    pub fn schema(mut self, name: impl Into<String>) -> Self {
        self.introspect = self.introspect.schema(name);
        self
    }
}

/// What [`scaffold`] wrote. Serialized, it is the JSON of `atdm introspect --out DIR -o json`.
#[derive(Debug, Clone, Serialize)]
pub struct ScaffoldReport {
    /// The database read, without its password.
    pub database: String,
    /// The directory written.
    pub dir: PathBuf,
    /// The files written, by name: `schema.toml`, `every_table.toml`, `one_<table>.toml`.
    pub files: Vec<String>,
    /// The scenario ids written: `every_table`, then `one_<table>` in foreign-key order.
    pub scenarios: Vec<String>,
    /// How many tables the schema has.
    pub tables: usize,
    /// The tables `every_table` leaves out, with why and what to do (also in its comments).
    pub left_out: Vec<LeftOut>,
    /// What introspection left out or simplified (also at the top of `schema.toml`).
    pub notes: Vec<String>,
    /// Other `*.toml` files in the directory, which were not written and load as scenario
    /// files too.
    pub other_files: Vec<String>,
}

/// Reads the schema of the database at `database_url` ([`introspect_with`]) and writes a scenario
/// directory for it into `out_dir` (created when missing) that
/// [`pack_from_dir`](crate::pack_from_dir) and `--scenario-dir` load as it is: `schema.toml`,
/// the scenario `every_table` (one valid row in every table that can hold one) and a scenario
/// `one_<table>` per table (its row and the rows it needs). See [`atdm_core::scaffold`] for
/// what the files hold.
///
/// Nothing is written to the database. Files that exist are not overwritten
/// ([`Error::FilesExist`], naming them, before anything is written) unless
/// [`ScaffoldOptions::force`]; other files of the directory are kept. Database failures are
/// [`Error::Database`], files that cannot be written [`Error::Write`].
///
/// ```no_run
/// use atdm_sqlx::{Engine, Request, ScaffoldOptions, pack_from_dir, scaffold};
///
/// # async fn run() -> Result<(), atdm_sqlx::Error> {
/// let url = "postgres://postgres@127.0.0.1:5432/app";
/// let dir = std::path::Path::new("atdm-scenarios");
/// let report = scaffold(url, dir, &ScaffoldOptions::new()).await?;
/// println!("wrote {:?}; left out: {:?}", report.files, report.left_out);
/// let engine = Engine::builder(pack_from_dir(dir)?).database_url(url).connect().await?;
/// let seeded = engine.request("every_table", Request::new()).await?;
/// engine.reset_run(&seeded.run_id, seeded.token.expose()).await?;
/// # Ok(()) }
/// ```
pub async fn scaffold(
    database_url: &str,
    out_dir: &Path,
    options: &ScaffoldOptions,
) -> Result<ScaffoldReport, Error> {
    // The files every scaffold writes are checked before the database is read.
    let fixed = [SCHEMA_FILE.to_owned(), format!("{EVERY_TABLE}.toml")];
    refuse_overwrite(out_dir, fixed.iter(), options.force)?;
    let found = introspect_with(database_url, &options.name, &options.introspect).await?;
    let written = atdm_core::scaffold::scaffold(&found.schema, &found.notes)?;
    refuse_overwrite(
        out_dir,
        written.files.iter().map(|f| &f.name),
        options.force,
    )?;
    std::fs::create_dir_all(out_dir).map_err(|e| write_error(out_dir, &e))?;
    for f in &written.files {
        let path = out_dir.join(&f.name);
        std::fs::write(&path, &f.text).map_err(|e| write_error(&path, &e))?;
    }
    let files: Vec<String> = written.files.iter().map(|f| f.name.clone()).collect();
    let other_files = scenario_files(out_dir)?
        .into_iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !files.contains(n))
        .collect();
    Ok(ScaffoldReport {
        database: crate::redact_url(database_url),
        dir: out_dir.to_path_buf(),
        files,
        scenarios: written.scenarios,
        tables: written.tables,
        left_out: written.left_out,
        notes: found.notes,
        other_files,
    })
}

/// [`Error::FilesExist`] when any of `names` exists in `dir` and `force` is off.
fn refuse_overwrite<'a>(
    dir: &Path,
    names: impl Iterator<Item = &'a String>,
    force: bool,
) -> Result<(), Error> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Write {
            path: dir.to_path_buf(),
            message: "it exists and is not a directory".into(),
        });
    }
    if force {
        return Ok(());
    }
    let files: Vec<PathBuf> = names
        .filter(|n| dir.join(n).exists())
        .map(PathBuf::from)
        .collect();
    if files.is_empty() {
        Ok(())
    } else {
        Err(Error::FilesExist {
            dir: dir.to_path_buf(),
            files,
        })
    }
}

fn write_error(path: &Path, e: &std::io::Error) -> Error {
    Error::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        let b: [u8; 6] = crate::engine::random_bytes();
        let name: String = b.iter().map(|x| format!("{x:02x}")).collect();
        std::env::temp_dir().join(format!("atdm_scaffold_{name}"))
    }

    async fn sqlite_with_tables(dir: &Path) -> String {
        use sqlx::Connection;
        std::fs::create_dir_all(dir).unwrap();
        let url = format!("sqlite://{}/app.sqlite?mode=rwc", dir.display());
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        for sql in [
            "CREATE TABLE team (team_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
            "CREATE TABLE player (player_id TEXT PRIMARY KEY, team_id TEXT NOT NULL REFERENCES team(team_id), \
             shirt INTEGER NOT NULL CHECK (shirt BETWEEN 1 AND 99))",
        ] {
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        c.close().await.unwrap();
        url
    }

    #[tokio::test]
    async fn writes_a_directory_that_loads_and_refuses_to_overwrite() {
        let tmp = temp_dir();
        let url = sqlite_with_tables(&tmp).await;
        let out = tmp.join("scenarios");
        let report = scaffold(&url, &out, &ScaffoldOptions::new()).await.unwrap();
        assert_eq!(
            report.files,
            [
                "schema.toml",
                "every_table.toml",
                "one_team.toml",
                "one_player.toml"
            ]
        );
        assert_eq!(report.scenarios, ["every_table", "one_team", "one_player"]);
        assert_eq!(report.tables, 2);
        assert!(report.left_out.is_empty() && report.other_files.is_empty());
        let pack = crate::pack_from_dir(&out).unwrap();
        assert_eq!(pack.catalog().len(), 3);

        // A second run names the files it would overwrite, and writes nothing.
        std::fs::write(out.join("mine.toml"), "# kept").unwrap();
        let before = std::fs::read_to_string(out.join("one_team.toml")).unwrap();
        let e = scaffold(&url, &out, &ScaffoldOptions::new())
            .await
            .unwrap_err();
        assert_eq!(e.code(), atdm_core::ErrorCode::FilesExist, "{e}");
        let m = e.to_string();
        assert!(m.contains("schema.toml") && m.contains("--force"), "{m}");
        std::fs::write(out.join("one_team.toml"), "changed").unwrap();
        let again = scaffold(&url, &out, &ScaffoldOptions::new().force(true))
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("one_team.toml")).unwrap(),
            before
        );
        assert_eq!(again.other_files, ["mine.toml"]);
        assert_eq!(
            std::fs::read_to_string(out.join("mine.toml")).unwrap(),
            "# kept"
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
