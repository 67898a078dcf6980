//! SQLite: a store/staff NOT NULL cycle (SQLite takes foreign keys to tables created later),
//! triggers that rewrite a stored row, and an undeclared reference.

use super::{create, cycles, fks, note};
use crate::support::{Kind, TestDb};
use crate::table;

const DDL: &[&str] = &[
    "CREATE TABLE store (
       store_id INTEGER PRIMARY KEY,
       manager_staff_id INTEGER NOT NULL REFERENCES staff (staff_id),
       last_update TEXT NULL
     )",
    "CREATE TABLE staff (
       staff_id INTEGER PRIMARY KEY,
       store_id INTEGER NOT NULL REFERENCES store (store_id),
       first_name VARCHAR(45) NOT NULL
     )",
    "CREATE TABLE kiosk (kiosk_id INTEGER PRIMARY KEY, manager_staff_id INTEGER)",
    "CREATE TABLE audit_log (entry TEXT NOT NULL)",
    "CREATE TRIGGER store_touched AFTER INSERT ON store BEGIN \
       UPDATE store SET last_update = datetime('now') WHERE store_id = NEW.store_id; \
       INSERT INTO audit_log (entry) VALUES ('store'); END",
    "CREATE TRIGGER staff_checked BEFORE DELETE ON staff BEGIN \
       SELECT RAISE(ABORT, 'staff is kept'); END",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_shapes_of_real_schemas_are_modelled() {
    let db = TestDb::fresh(Kind::Sqlite)
        .await
        .expect("SQLite always runs");
    let path = db.url.trim_start_matches("sqlite://").to_owned();
    std::fs::File::create(&path).unwrap_or_else(|e| panic!("cannot create {path}: {e}"));
    create(&db, DDL).await;
    let intro = atdm_sqlx::introspect(&db.url, "rental")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = &intro.schema;
    let notes = &intro.notes;
    eprintln!("{}\nnotes: {notes:#?}", s.to_toml());

    assert_eq!(
        fks(table(s, "store")),
        ["manager_staff_id -> staff(staff_id)"]
    );
    assert_eq!(fks(table(s, "staff")), ["store_id -> store(store_id)"]);
    assert_eq!(cycles(s), [vec!["staff", "store"]]);
    note(notes, &["foreign keys form a cycle between staff, store"]);

    let store = table(s, "store");
    assert_eq!(store.triggers.len(), 1);
    assert_eq!(store.triggers[0].timing, "after");
    assert_eq!(store.triggers[0].events, ["insert"]);
    assert_eq!(
        store.triggers[0].effect,
        "may change the row's values after they are stored (sets last_update); may write other tables (audit_log)"
    );
    let staff = table(s, "staff");
    assert_eq!(staff.triggers[0].timing, "before");
    assert_eq!(staff.triggers[0].events, ["delete"]);
    assert_eq!(
        staff.triggers[0].effect,
        "may refuse the statement or write other tables"
    );
    note(
        notes,
        &["table store has trigger: store_touched (after insert)"],
    );
    note(
        notes,
        &[
            "column kiosk.manager_staff_id has no foreign key, but its name looks like a reference to staff.staff_id",
        ],
    );
    db.drop_db().await;
}
