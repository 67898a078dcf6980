//! Fixture files on disk: Playwright JSON and pytest modules, readable by their owner only
//! (they hold the cleanup token), removed when their run is reset.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use atdm_core::fixtures::Fixture;

use crate::error::Error;

/// The directory used when none is given: `.atdm/fixtures` in the working directory.
pub const DEFAULT_FIXTURE_DIR: &str = ".atdm/fixtures";

/// The environment variable read for the fixture directory when none is given in code.
pub const ENV_FIXTURE_DIR: &str = "ATDM_FIXTURE_DIR";

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Database {
        context: format!("cannot write fixture {}", path.display()),
        message: e.to_string(),
    }
}

/// Writes `bytes` to a new file readable and writable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| io_error(path, e))?;
    f.write_all(bytes).map_err(|e| io_error(path, e))?;
    f.sync_all().map_err(|e| io_error(path, e))
}

/// Writes the fixtures asked for into `dir` (created if missing) and returns their paths:
/// `<dir>/<scenario>_<run>.json` and `<dir>/<scenario>_<run>.py`.
pub(crate) fn write(
    dir: &Path,
    fixture: &Fixture,
    playwright: bool,
    pytest: bool,
) -> Result<Vec<PathBuf>, Error> {
    if !playwright && !pytest {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let mut out = Vec::new();
    if playwright {
        let p = dir.join(format!("{}.json", fixture.stem()));
        write_private(&p, &fixture.playwright_json())?;
        out.push(p);
    }
    if pytest {
        let p = dir.join(format!("{}.py", fixture.stem()));
        write_private(&p, &fixture.pytest_module())?;
        out.push(p);
    }
    Ok(out)
}

/// Removes the fixture files of a run (any scenario), if there are any.
pub(crate) fn remove(dir: &Path, run_id: &str) -> Result<Vec<PathBuf>, Error> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let suffixes = [format!("_{run_id}.json"), format!("_{run_id}.py")];
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if suffixes.iter().any(|s| name.ends_with(s.as_str())) {
            let p = entry.path();
            std::fs::remove_file(&p).map_err(|e| Error::Database {
                context: format!("cannot remove fixture {}", p.display()),
                message: e.to_string(),
            })?;
            removed.push(p);
        }
    }
    Ok(removed)
}
