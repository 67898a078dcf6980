//! A pack from a directory of TOML files: what `ATDM_SCENARIO_DIR`, `#[atdm_scenario]` and
//! `atdm --scenario-dir` read.

use std::path::{Path, PathBuf};

use atdm_core::Pack;
use atdm_core::schema::Schema;

use crate::error::Error;

/// The schema file of a scenario directory.
pub(crate) const SCHEMA_FILE: &str = "schema.toml";

/// The optional reference-rows file of a scenario directory.
pub(crate) const REFERENCE_FILE: &str = "reference.toml";

/// Builds a pack from a directory: `schema.toml` (required), `reference.toml` (optional
/// reference rows, see [`atdm_core::PackBuilder::reference_rows_toml`]) and every other
/// `*.toml` file as a scenario file, in file-name order. The pack is named after the
/// directory.
///
/// An unreadable directory or file is [`Error::Io`] naming it; a malformed schema, reference
/// file or scenario file is [`Error::Core`] naming the file and field.
///
/// ```no_run
/// let pack = atdm_sqlx::pack_from_dir(std::path::Path::new("scenarios"))?;
/// println!("{} scenarios", pack.catalog().len());
/// # Ok::<(), atdm_sqlx::Error>(())
/// ```
pub fn pack_from_dir(dir: &Path) -> Result<Pack, Error> {
    let schema_path = dir.join(SCHEMA_FILE);
    let schema = Schema::from_toml(&read(&schema_path)?, &schema_path.display().to_string())
        .map_err(atdm_core::Error::from)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenarios".into());
    let mut builder = Pack::builder(name, schema);
    let reference = dir.join(REFERENCE_FILE);
    if reference.exists() {
        builder = builder
            .reference_rows_toml(&read(&reference)?, &reference.display().to_string())
            .map_err(atdm_core::Error::from)?;
    }
    for f in scenario_files(dir)? {
        let text = read(&f)?;
        let file = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        builder = builder.scenario(file, text);
    }
    Ok(builder.build()?)
}

/// The scenario files of a directory: every `*.toml` but the schema and reference files,
/// sorted by name.
pub(crate) fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, &e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| io_error(dir, &e))?.path();
        let is_toml = path.extension().is_some_and(|x| x == "toml");
        let special = path
            .file_name()
            .is_some_and(|n| n == SCHEMA_FILE || n == REFERENCE_FILE);
        if is_toml && !special && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| io_error(path, &e))
}

fn io_error(path: &Path, e: &std::io::Error) -> Error {
    Error::Io {
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
        let dir = std::env::temp_dir().join(format!("atdm_pack_dir_{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const SCHEMA: &str = r#"
name = "shop"

[[tables]]
name = "customer"
primary_key = ["customer_id"]
columns = [
  { name = "customer_id", type = "text" },
  { name = "status", type = "text" },
]
"#;

    const SCENARIO: &str = r#"
id = "one_customer"
description = "One customer."

[[rows]]
alias = "customer"
table = "customer"
set = { status = "active" }
"#;

    #[test]
    fn reads_schema_reference_and_scenarios() {
        let dir = temp_dir();
        std::fs::write(dir.join("schema.toml"), SCHEMA).unwrap();
        std::fs::write(
            dir.join("reference.toml"),
            "[[customer]]\ncustomer_id = \"ref-1\"\nstatus = \"active\"\n",
        )
        .unwrap();
        std::fs::write(dir.join("one.toml"), SCENARIO).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a scenario").unwrap();
        let pack = pack_from_dir(&dir).unwrap();
        assert_eq!(pack.catalog().len(), 1);
        assert!(pack.scenario("one_customer").is_ok());
        assert_eq!(pack.reference_rows()["customer"].len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_schema_is_an_io_error_naming_the_file() {
        let dir = temp_dir();
        let e = pack_from_dir(&dir).unwrap_err();
        assert_eq!(e.code(), atdm_core::ErrorCode::IoError);
        assert!(e.to_string().contains("schema.toml"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_an_io_error() {
        let parent = temp_dir();
        let e = pack_from_dir(&parent.join("absent")).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e}");
        std::fs::remove_dir_all(&parent).unwrap();
    }

    #[test]
    fn a_bad_scenario_is_a_core_error_naming_the_file() {
        let dir = temp_dir();
        std::fs::write(dir.join("schema.toml"), SCHEMA).unwrap();
        std::fs::write(
            dir.join("bad.toml"),
            SCENARIO.replace("customer\"\nset", "nope\"\nset"),
        )
        .unwrap();
        let e = pack_from_dir(&dir).unwrap_err();
        assert_eq!(e.code(), atdm_core::ErrorCode::InvalidScenario, "{e}");
        assert!(e.to_string().contains("bad.toml"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
