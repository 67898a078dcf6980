//! Schemas shaped like well-known sample databases (a film rental shop on each backend, an
//! application with several PostgreSQL schemas), written for these tests, and what
//! introspection makes of them: every column kept, cycles kept, partitions as one table whose
//! bounds are checks, foreign keys across schemas, domains with their checks, triggers, and
//! notes that say what to do.

mod mysql;
mod postgres;
mod sqlite;

use atdm_core::schema::{Check, ForeignKey, Schema, Table};

use crate::support::TestDb;

/// Creates the fixture, statement by statement.
async fn create(db: &TestDb, ddl: &[&str]) {
    for statement in ddl {
        db.exec(statement).await;
    }
}

/// The one note that contains every part of `parts`.
fn note<'a>(notes: &'a [String], parts: &[&str]) -> &'a str {
    let found: Vec<&String> = notes
        .iter()
        .filter(|n| parts.iter().all(|p| n.contains(p)))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one note should contain {parts:?}; notes: {notes:#?}"
    );
    found[0]
}

/// No note contains `part`.
fn no_note(notes: &[String], part: &str) {
    assert!(
        !notes.iter().any(|n| n.contains(part)),
        "no note should contain {part:?}; notes: {notes:#?}"
    );
}

/// The foreign keys of a table as `cols -> table(ref_cols)` texts, sorted.
fn fks(t: &Table) -> Vec<String> {
    let mut v: Vec<String> = t.foreign_keys.iter().map(fk_text).collect();
    v.sort();
    v
}

fn fk_text(fk: &ForeignKey) -> String {
    format!(
        "{} -> {}({})",
        fk.columns.join(", "),
        fk.references,
        fk.ref_columns.join(", ")
    )
}

/// The checks of a table as texts, sorted.
fn checks(t: &Table) -> Vec<String> {
    let mut v: Vec<String> = t.checks.iter().map(Check::to_string).collect();
    v.sort();
    v
}

/// The type of a column, as text.
fn ty(s: &Schema, table: &str, column: &str) -> String {
    crate::col(crate::table(s, table), column).ty.to_string()
}

/// The cycle groups of a schema, by table name.
fn cycles(s: &Schema) -> Vec<Vec<&str>> {
    s.fk_cycles()
        .into_iter()
        .map(|g| g.into_iter().map(|i| s.tables[i].name.as_str()).collect())
        .collect()
}
