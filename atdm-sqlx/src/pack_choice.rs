//! Which pack a front end (the `atdm` tool, its MCP server, `#[atdm_scenario]`, Python) uses:
//! a scenario directory, or the healthcare demo pack only where that cannot touch a user's
//! database.

use std::path::Path;
use std::str::FromStr;

use atdm_core::Pack;
use atdm_core::domains::healthcare;

use crate::backend::invalid_url;
use crate::error::Error;
use crate::testing::ENV_SCENARIO_DIR;
use crate::{DEFAULT_DATABASE_URL, ENV_DATABASE_URL};

/// The environment variable that names a built-in pack (`ATDM_PACK=healthcare`).
pub const ENV_PACK: &str = "ATDM_PACK";

/// The built-in packs, by the name [`resolve_pack`] takes: the healthcare demo pack.
pub const BUILTIN_PACKS: &[&str] = &["healthcare"];

/// The pack a front end uses, given what its caller set (each `None` or empty falls back to
/// its environment variable):
///
/// 1. a scenario directory (`scenario_dir`, else `ATDM_SCENARIO_DIR`): the pack
///    [`pack_from_dir`](crate::pack_from_dir) builds from it;
/// 2. a built-in pack by name (`pack`, else `ATDM_PACK`; see [`BUILTIN_PACKS`]);
/// 3. on the embedded default database ([`DEFAULT_DATABASE_URL`], the SQLite file in
///    `./.atdm`): the healthcare demo pack;
/// 4. on any other database (`database_url`, else `ATDM_DATABASE_URL`):
///    [`Error::NoScenarioDir`], which says how to write a scenario directory with
///    `atdm introspect --out`.
///
/// So a command pointed at a user's database never creates the demo tables there. Nothing
/// here connects to a database: a malformed URL is [`Error::InvalidUrl`], an unknown pack
/// name [`Error::UnknownPack`]. The Rust API is explicit already: `Engine::builder` takes
/// the pack it is given (`healthcare::pack()` included) on any database.
///
/// ```
/// use atdm_sqlx::resolve_pack;
/// let pack = resolve_pack(Some("postgres://ci@db/app"), None, Some("healthcare"))?;
/// assert_eq!(pack.name(), "healthcare");
/// let err = resolve_pack(Some("postgres://ci@db/app"), None, None).unwrap_err();
/// assert_eq!(err.code().as_str(), "NO_SCENARIO_DIR");
/// # Ok::<(), atdm_sqlx::Error>(())
/// ```
pub fn resolve_pack(
    database_url: Option<&str>,
    scenario_dir: Option<&Path>,
    pack: Option<&str>,
) -> Result<Pack, Error> {
    let dir = scenario_dir
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os(ENV_SCENARIO_DIR)
                .filter(|d| !d.is_empty())
                .map(Into::into)
        });
    if let Some(dir) = dir {
        return crate::pack_from_dir(&dir);
    }
    let name = pack
        .filter(|p| !p.trim().is_empty())
        .map(str::to_owned)
        .or_else(|| {
            std::env::var(ENV_PACK)
                .ok()
                .filter(|p| !p.trim().is_empty())
        });
    if let Some(name) = name {
        return builtin(name.trim());
    }
    let url = effective_database_url(database_url);
    if is_embedded_default(&url) {
        return Ok(healthcare::pack());
    }
    check_url(&url)?;
    Err(Error::NoScenarioDir {
        database: crate::redact_url(&url),
    })
}

/// The database a front end connects to: `database_url`, else `ATDM_DATABASE_URL`, else
/// [`DEFAULT_DATABASE_URL`] (empty values count as unset).
pub(crate) fn effective_database_url(database_url: Option<&str>) -> String {
    database_url
        .filter(|u| !u.trim().is_empty())
        .map(str::to_owned)
        .or_else(|| {
            std::env::var(ENV_DATABASE_URL)
                .ok()
                .filter(|u| !u.trim().is_empty())
        })
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

/// Whether `url` is the embedded default database (exactly [`DEFAULT_DATABASE_URL`]).
fn is_embedded_default(url: &str) -> bool {
    url.trim() == DEFAULT_DATABASE_URL
}

fn builtin(name: &str) -> Result<Pack, Error> {
    match name {
        "healthcare" => Ok(healthcare::pack()),
        other => Err(Error::UnknownPack { name: other.into() }),
    }
}

/// Checks that a URL names a supported database and parses, without connecting.
fn check_url(url: &str) -> Result<(), Error> {
    let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
    let parsed = match scheme.as_str() {
        "sqlite" => sqlx::sqlite::SqliteConnectOptions::from_str(url).map(drop),
        "postgres" | "postgresql" => sqlx::postgres::PgConnectOptions::from_str(url).map(drop),
        "mysql" => sqlx::mysql::MySqlConnectOptions::from_str(url).map(drop),
        "mariadb" => {
            sqlx::mysql::MySqlConnectOptions::from_str(&format!("mysql:{}", &url[8..])).map(drop)
        }
        _ => {
            return Err(invalid_url(
                url,
                "the scheme must be sqlite:, postgres: or mysql: (for example sqlite://.atdm/atdm.sqlite, postgres://user@host/db, mysql://root@127.0.0.1/test)",
            ));
        }
    };
    parsed.map_err(|e| invalid_url(url, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_pack_only_on_the_embedded_default_or_by_name() {
        let on_default = resolve_pack(Some(DEFAULT_DATABASE_URL), None, None).unwrap();
        assert_eq!(on_default.name(), "healthcare");
        let named = resolve_pack(Some("mysql://root@db/app"), None, Some("healthcare")).unwrap();
        assert_eq!(named.name(), "healthcare");
        for url in [
            "postgres://ci:secret@db/app",
            "mysql://root@127.0.0.1/app",
            "mariadb://root@127.0.0.1/app",
            "sqlite://other/app.sqlite",
        ] {
            let e = resolve_pack(Some(url), None, None).unwrap_err();
            assert_eq!(e.code(), atdm_core::ErrorCode::NoScenarioDir, "{url}: {e}");
            let m = e.to_string();
            assert!(
                m.contains("atdm introspect --database-url") && m.contains("--out DIR"),
                "{m}"
            );
            assert!(
                m.contains("ATDM_SCENARIO_DIR") && !m.contains("secret"),
                "{m}"
            );
            if !url.contains("secret") {
                assert!(
                    m.contains(&format!("--database-url {url} --out DIR")),
                    "{m}"
                );
            }
        }
        let e = resolve_pack(Some("postgres://db/app"), None, Some("retail")).unwrap_err();
        assert_eq!(e.code(), atdm_core::ErrorCode::UnknownPack);
        assert!(e.to_string().contains("healthcare"), "{e}");
    }

    #[test]
    fn a_malformed_url_is_invalid_url_before_anything_else() {
        for url in ["postgres://user@:99999/x", "oracle://db/x"] {
            let e = resolve_pack(Some(url), None, None).unwrap_err();
            assert_eq!(e.code(), atdm_core::ErrorCode::InvalidUrl, "{url}: {e}");
        }
    }

    #[test]
    fn a_scenario_directory_wins() {
        let e = resolve_pack(
            Some("postgres://db/app"),
            Some(Path::new("/nonexistent/atdm-scenarios")),
            Some("healthcare"),
        )
        .unwrap_err();
        assert_eq!(e.code(), atdm_core::ErrorCode::IoError, "{e}");
    }
}
