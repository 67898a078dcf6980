//! Running the binary: its result, a clean environment, and a configured `atdm` per test
//! database.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{ATDM_VARS, Setup, TempDir};
use serde_json::Value as Json;

/// What a run of the binary did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn json(&self) -> Json {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    pub(crate) fn error_json(&self) -> Json {
        serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("stderr is not one JSON object ({e}):\n{}", self.stderr))
    }

    #[track_caller]
    pub(crate) fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts exit 1 with `code` on stderr, in the human form.
    #[track_caller]
    pub(crate) fn fails_with(self, code: &str) -> Run {
        assert_eq!(
            self.code, 1,
            "expected exit 1\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.starts_with(&format!("error[{code}]: ")),
            "stderr: {}",
            self.stderr
        );
        self
    }

    /// Asserts exit 1 with `code` as a JSON error object on stderr, and nothing on stdout.
    #[track_caller]
    pub(crate) fn fails_with_json(self, code: &str) -> Run {
        assert_eq!(
            self.code, 1,
            "expected exit 1\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        let e = self.error_json();
        assert_eq!(e["error"]["code"], code, "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{e}"
        );
        assert!(self.stdout.is_empty(), "stdout: {}", self.stdout);
        self
    }

    #[track_caller]
    pub(crate) fn usage_error(self) -> Run {
        assert_eq!(
            self.code, 2,
            "expected exit 2\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(self.stdout.is_empty(), "stdout: {}", self.stdout);
        assert!(!self.stderr.is_empty());
        self
    }
}

/// The binary with a clean environment, run in `dir`.
pub(crate) fn atdm_in(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_atdm"));
    for v in ATDM_VARS {
        c.env_remove(v);
    }
    // Plain error labels, whatever the caller's terminal settings.
    c.env_remove("CLICOLOR_FORCE");
    c.current_dir(dir);
    c
}

pub(crate) fn run(mut c: Command) -> Run {
    let out = c.output().expect("the atdm binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

impl Setup {
    pub(crate) fn fixtures(&self) -> PathBuf {
        self.tmp.0.join("fixtures")
    }

    /// `atdm <args>` configured by flags for this database, store and fixture directory, with
    /// the healthcare pack named (the test database is not the embedded default; a
    /// `--scenario-dir` in `args` wins over it).
    pub(crate) fn atdm(&self, args: &[&str]) -> Run {
        run(self.command(args))
    }

    /// The command [`Setup::atdm`] runs, to spawn.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut c = atdm_in(&self.tmp.0);
        c.arg("--database-url")
            .arg(&self.db.url)
            .arg("--pack")
            .arg("healthcare")
            .arg("--store-url")
            .arg(format!("file://{}", self.store().display()))
            .arg("--fixture-dir")
            .arg(self.fixtures())
            .arg("--reference-date")
            .arg("2026-06-01")
            .args(args);
        c
    }

    /// Requests a scenario with `-o json` and returns (run id, token, the whole result).
    pub(crate) fn request(&self, scenario: &str, extra: &[&str]) -> (String, String, Json) {
        let mut args = vec!["-o", "json", "request", scenario];
        args.extend_from_slice(extra);
        let r = self.atdm(&args).ok();
        let v = r.json();
        (
            v["run_id"].as_str().unwrap().to_owned(),
            v["token"].as_str().unwrap().to_owned(),
            v,
        )
    }

    pub(crate) async fn count(&self, table: &str) -> i64 {
        self.db
            .count(&format!("SELECT COUNT(*) FROM {table}"))
            .await
    }

    pub(crate) async fn done(self) {
        self.db.drop_db().await;
    }
}

/// `atdm` without a database (pack commands, usage errors).
pub(crate) fn atdm(args: &[&str]) -> Run {
    let tmp = TempDir::new();
    let mut c = atdm_in(&tmp.0);
    c.args(args);
    let r = run(c);
    // Nothing of the engine's appears in the working directory.
    assert!(
        !tmp.0.join(".atdm").exists(),
        "a command without a database wrote .atdm/"
    );
    r
}
