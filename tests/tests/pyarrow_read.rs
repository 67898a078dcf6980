//! The Parquet the engine writes is read by pyarrow, a reader nobody here wrote: the audit
//! objects of a whole lifecycle read back, field by field, as the engine's own JSON view says.
//!
//! The Python comes from `ATDM_TEST_PYTHON` (`make test` points it at `./.venv`, which has
//! pyarrow), else `python3`. Without pyarrow the test is skipped with a note, or fails when
//! `ATDM_REQUIRE_PYTHON=1` (as `make test` sets it).

mod support;

use std::path::PathBuf;
use std::process::Command;

use atdm_core::domains::healthcare;
use atdm_sqlx::{Engine, Request};
use support::{Kind, TestDb, d};

/// A Python with pyarrow, or `None` (after a note) when there is none and none is required.
fn python() -> Option<String> {
    let py = std::env::var("ATDM_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import pyarrow"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(py);
    }
    if std::env::var("ATDM_REQUIRE_PYTHON").as_deref() == Ok("1") {
        panic!("{py} cannot import pyarrow; run `make venv` or set ATDM_TEST_PYTHON");
    }
    eprintln!("skipped: {py} has no pyarrow (run `make venv`, or set ATDM_TEST_PYTHON)");
    None
}

const READ_AUDIT: &str = r#"
import json, pathlib, sys
import pyarrow as pa
import pyarrow.parquet as pq

store, expected = pathlib.Path(sys.argv[1]), json.load(open(sys.argv[2]))
files = sorted(store.glob("audit/dt=*/run=" + expected["run_id"] + "/*.parquet"), key=lambda p: p.name)
assert files, "no audit objects"
rows = []
for f in files:
    t = pq.read_table(f)
    ts = t.schema.field("timestamp").type
    assert ts == pa.timestamp("us", tz="UTC"), ts
    assert t.schema.field("schema_version").type == pa.uint32()
    rows.extend(t.to_pylist())
events = expected["events"]
assert len(rows) == len(events), (len(rows), len(events))
for got, want in zip(rows, events):
    for k in ("event_id", "test_run_id", "invoker", "action", "status", "reviewer_decision", "schema_version"):
        assert got[k] == want[k], (k, got[k], want[k])
    for k in ("inputs", "outputs", "tools_called"):
        assert json.loads(got[k]) == want[k], (k, got[k], want[k])
    iso = got["timestamp"].isoformat(timespec="microseconds").replace("+00:00", "Z")
    assert iso == want["timestamp"], (iso, want["timestamp"])
print(len(rows), "events from", len(files), "objects")
"#;

const READ_BASELINE: &str = r#"
import json, pathlib, sys
import pyarrow.parquet as pq

store, manifest = pathlib.Path(sys.argv[1]), json.load(open(sys.argv[2]))
out = {}
for t in manifest["tables"]:
    table = pq.read_table(store / t["object"])
    assert table.num_rows == t["rows"], (t["name"], table.num_rows, t["rows"])
    if t["name"] == "member":
        out["member_ids"] = sorted(table.column("member_id").to_pylist())
        out["member_dob_type"] = str(table.schema.field("date_of_birth").type)
    if t["name"] == "claim":
        out["claim_submitted_type"] = str(table.schema.field("submitted_at").type)
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyarrow_reads_the_audit_trail_exactly() {
    let Some(py) = python() else { return };
    let db = TestDb::fresh(Kind::Sqlite).await.unwrap();
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "atdm-pyarrow-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ));
    let e = Engine::builder(healthcare::pack())
        .database_url(&db.url)
        .store_url(dir.display().to_string())
        .fixture_dir(dir.join("fixtures"))
        .reference_date(d())
        .invoker("pyarrow \"test\" \\ ok")
        .connect()
        .await
        .unwrap();
    let s = e
        .request(
            "claim_denial_active_member",
            Request::new()
                .pytest()
                .constraint("denial_reason", "C:\\Users\\fake \"quoted\""),
        )
        .await
        .unwrap();
    e.reset_run(&s.run_id, "wrong").await.unwrap_err();
    e.reset_run(&s.run_id, s.token.expose()).await.unwrap();
    let trail = e.audit(&s.run_id).await.unwrap();
    assert_eq!(trail.events.len(), 10);
    let expected = dir.join("expected.json");
    std::fs::write(&expected, serde_json::to_vec(&trail).unwrap()).unwrap();
    let out = Command::new(&py)
        .args(["-c", READ_AUDIT])
        .arg(&dir)
        .arg(&expected)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyarrow disagrees:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Objects: request to seed start (written before the seed), the seed's record (from the
    // outbox), its fixtures, the refused reset, the reset.
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("10 events from 5 objects"));

    // A baseline: every table's Parquet object reads back with pyarrow, with the manifest's
    // row counts, column types that say what the values are, and the seeded rows in it.
    let kept = e
        .request("claim_denial_active_member", Request::new())
        .await
        .unwrap();
    let manifest = e
        .snapshot(atdm_sqlx::SnapshotOptions::new().id("for-pyarrow"))
        .await
        .unwrap();
    let manifest_path = dir.join("manifest.json");
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let out = Command::new(&py)
        .args(["-c", READ_BASELINE])
        .arg(&dir)
        .arg(&manifest_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyarrow disagrees about the baseline:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        seen["member_ids"],
        serde_json::json!([kept.key("member_id").unwrap()])
    );
    assert_eq!(seen["claim_submitted_type"], "timestamp[us, tz=UTC]");
    assert_eq!(seen["member_dob_type"], "date32[day]");
    e.close().await;
    db.drop_db().await;
    let _ = std::fs::remove_dir_all(dir);
}
