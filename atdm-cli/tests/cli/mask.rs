//! `atdm mask` as a user runs it, on SQLite files: a suggested rules file, the refusals that
//! write nothing (no key, a short key, a sensitive column without a rule, a malformed rules
//! file, a format `--verify` cannot read, files that exist), and verified copies into a
//! database and into Parquet files, recorded in the audit trail.

use std::path::Path;

use sqlx::{Connection, Executor};

use crate::common::TempDir;
use crate::harness::{Run, atdm_in, run};

async fn source(path: &Path) {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    c.execute(
        "CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
         email TEXT NOT NULL UNIQUE, phone TEXT, notes TEXT);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, \
         customer_id INTEGER NOT NULL REFERENCES customer(id), total NUMERIC(10,2) NOT NULL);",
    )
    .await
    .unwrap();
    for i in 1..=60 {
        let notes = match i % 4 {
            0 => format!("'called back, wrote to ines.moreau{i}@post.example'"),
            1 => format!("'asked for Ines Moreau{i} (her, not the office)'"),
            _ => "NULL".to_owned(),
        };
        c.execute(sqlx::AssertSqlSafe(format!(
            "INSERT INTO customer VALUES ({i}, 'Ines Moreau{i}', 'ines.moreau{i}@post.example', \
             '+33 1 42 68 {:02} {:02}', {notes}); INSERT INTO orders VALUES ({i}, {}, {}.50);",
            i % 100,
            (i * 7) % 100,
            i,
            i * 3
        )))
        .await
        .unwrap();
    }
}

fn mask(dir: &Path, key: Option<&str>, args: &[&str]) -> Run {
    let mut c = atdm_in(dir);
    if let Some(k) = key {
        c.env("ATDM_MASK_KEY", k);
    }
    c.arg("mask").args(args);
    run(c)
}

const KEY: &str = "a key of more than sixteen characters";

#[tokio::test]
async fn mask_suggests_refuses_and_writes_verified_copies() {
    let tmp = TempDir::new();
    let dir = tmp.0.as_path();
    source(&dir.join("src.sqlite")).await;
    let from = format!("sqlite://{}", dir.join("src.sqlite").display());

    // A starting rules file: the sensitive columns, with why, and no value.
    mask(
        dir,
        None,
        &["--from", &from, "--suggest", "--rules", "rules.toml"],
    )
    .ok();
    let rules = std::fs::read_to_string(dir.join("rules.toml")).unwrap();
    for expected in [
        "[tables.customer]",
        "email = \"email\"",
        "notes = \"null\"",
        "name = ",
    ] {
        assert!(rules.contains(expected), "{expected}: {rules}");
    }
    assert!(!rules.contains("ines.moreau"), "{rules}");
    mask(
        dir,
        None,
        &["--from", &from, "--suggest", "--rules", "rules.toml"],
    )
    .fails_with("FILES_EXIST");

    // Refusals: nothing is written.
    let to_db = format!("sqlite://{}", dir.join("copy.sqlite").display());
    let r = mask(
        dir,
        None,
        &[
            "--from",
            &from,
            "--to",
            &to_db,
            "--rules",
            "rules.toml",
            "--create",
        ],
    )
    .fails_with("INVALID_MASK");
    assert!(r.stderr.contains("ATDM_MASK_KEY"), "{}", r.stderr);
    mask(
        dir,
        Some("short"),
        &["--from", &from, "--to", "out", "--rules", "rules.toml"],
    )
    .fails_with("INVALID_MASK");
    std::fs::write(
        dir.join("partial.toml"),
        "[tables.customer]\nemail = \"email\"\n",
    )
    .unwrap();
    let r = mask(
        dir,
        Some(KEY),
        &[
            "--from",
            &from,
            "--to",
            &to_db,
            "--rules",
            "partial.toml",
            "--create",
        ],
    )
    .fails_with("UNMASKED_SENSITIVE");
    assert!(
        r.stderr.contains("customer.notes (dangerous"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("ines.moreau"), "{}", r.stderr);
    std::fs::write(
        dir.join("bad.toml"),
        "[tables.customer]\nemail = \"scramble\"\n",
    )
    .unwrap();
    let r = mask(
        dir,
        Some(KEY),
        &["--from", &from, "--to", "out", "--rules", "bad.toml"],
    )
    .fails_with("INVALID_MASK");
    assert!(
        r.stderr.contains("bad.toml") && r.stderr.contains("unknown transform"),
        "{}",
        r.stderr
    );
    mask(
        dir,
        Some(KEY),
        &[
            "--from",
            &from,
            "--to",
            "csv",
            "--rules",
            "rules.toml",
            "--format",
            "csv",
            "--verify",
        ],
    )
    .fails_with("INVALID_MASK");
    for never in ["copy.sqlite", "out", "csv"] {
        assert!(!dir.join(never).exists(), "{never} was written");
    }

    // A verified copy into a database, in JSON.
    let r = mask(
        dir,
        Some(KEY),
        &[
            "-o",
            "json",
            "--from",
            &from,
            "--to",
            &to_db,
            "--rules",
            "rules.toml",
            "--create",
            "--verify",
        ],
    )
    .ok();
    let v = r.json();
    assert_eq!(v["verification"]["passed"], true, "{v}");
    assert_eq!(v["tables"][0]["rows"], 60, "{v}");
    let run_id = v["audit_run_id"].as_str().unwrap().to_owned();
    // Human output of a verified copy into Parquet files, then the same files refused.
    let r = mask(
        dir,
        Some(KEY),
        &[
            "--from",
            &from,
            "--to",
            "out",
            "--rules",
            "rules.toml",
            "--verify",
        ],
    )
    .ok();
    assert!(r.stdout.contains("verification: passed"), "{}", r.stdout);
    assert!(dir.join("out/customer.parquet").exists() && dir.join("out/manifest.json").exists());
    mask(
        dir,
        Some(KEY),
        &["--from", &from, "--to", "out", "--rules", "rules.toml"],
    )
    .fails_with("FILES_EXIST");

    // Notes allowed unmasked keep the customers' emails and names: --verify finds both, the
    // name (two words) inside longer text too, and the job fails.
    std::fs::write(
        dir.join("leaky.toml"),
        "allow_unmasked = [\"customer.notes\"]\n[tables.customer]\n\
         name = { transform = \"fake\", kind = \"full_name\" }\nemail = \"email\"\n\
         phone = \"phone\"\n",
    )
    .unwrap();
    let leaky = format!("sqlite://{}", dir.join("leaky.sqlite").display());
    let r = mask(
        dir,
        Some(KEY),
        &[
            "--from",
            &from,
            "--to",
            &leaky,
            "--rules",
            "leaky.toml",
            "--create",
            "--verify",
        ],
    )
    .fails_with("VERIFY_FAILED");
    for leak in [
        "customer.email: 15 found in customer.notes",
        "customer.name: 15 found in customer.notes",
    ] {
        assert!(r.stdout.contains(leak), "{leak}: {}", r.stdout);
    }
    assert!(!r.stdout.contains("ines.moreau") && !r.stdout.contains("Moreau"));

    // The audit trail holds the job, and neither values nor the key.
    let mut c = atdm_in(dir);
    c.args(["-o", "json", "audit", &run_id]);
    let trail = run(c).ok().stdout;
    assert!(trail.contains("mask_completed"), "{trail}");
    assert!(
        !trail.contains("ines.moreau") && !trail.contains(KEY),
        "{trail}"
    );
}
