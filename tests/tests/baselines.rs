//! Baselines on every configured backend: a snapshot, some requests and resets, and a restore
//! give back every table (the run catalog and ledger too) byte for byte; every column type
//! round-trips exactly; the errors, the listing, the diff and the audit trail follow the
//! contract.

mod support;

use std::path::{Path, PathBuf};

use atdm_core::audit::{AuditAction, AuditEvent, AuditStatus};
use atdm_core::domains::healthcare;
use atdm_core::schema::Schema;
use atdm_core::{ErrorCode, Pack};
use atdm_sqlx::{AuditLog, BaselineManifest, Engine, Request, SnapshotOptions, Store};
use support::{Kind, TestDb, d, dump_all, quoted};

const HEALTHCARE: [&str; 7] = [
    "procedure_code",
    "diagnosis_code",
    "plan",
    "provider",
    "member",
    "eligibility",
    "claim",
];

fn catalog(kind: Kind) -> [&'static str; 2] {
    match kind {
        Kind::Postgres => ["atdm.runs", "atdm.ledger"],
        _ => ["atdm_runs", "atdm_ledger"],
    }
}

async fn engine(db: &TestDb, pack: Pack, store: Store) -> Engine {
    Engine::builder(pack)
        .database_url(&db.url)
        .store(store)
        .reference_date(d())
        .invoker("baseline-test")
        .connect()
        .await
        .unwrap()
}

fn healthcare_tables(kind: Kind) -> Vec<&'static str> {
    let mut v = HEALTHCARE.to_vec();
    v.extend(catalog(kind));
    v
}

/// A store in a fresh temporary directory (so a test can reach its objects as files).
fn file_store(name: &str) -> (Store, PathBuf) {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    let dir = std::env::temp_dir().join(format!(
        "atdm-bl-{name}-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ));
    let store = Store::from_url(&format!("file://{}", dir.display())).unwrap();
    (store, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_gives_back_every_table_byte_for_byte() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let e = engine(
            &db,
            healthcare::pack(),
            Store::from_url("memory://").unwrap(),
        )
        .await;
        let tables = healthcare_tables(kind);
        let a = e
            .request("claim_denial_active_member", Request::new())
            .await
            .unwrap();
        let b = e
            .request("active_member_clean", Request::new())
            .await
            .unwrap();
        let cleaned = e
            .request("expired_eligibility", Request::new())
            .await
            .unwrap();
        e.reset_run(&cleaned.run_id, cleaned.token.expose())
            .await
            .unwrap();

        let m = e
            .snapshot(SnapshotOptions::new().tag("stage", "two runs"))
            .await
            .unwrap();
        let names: Vec<&str> = m.tables.iter().map(|t| t.name.as_str()).collect();
        let mut expected = HEALTHCARE.to_vec();
        expected.extend(["atdm.runs", "atdm.ledger"]);
        assert_eq!(names, expected, "{kind:?}: FK order, then the catalog");
        assert_eq!(m.table("claim").unwrap().rows, 2, "{kind:?}");
        assert_eq!(m.table("procedure_code").unwrap().rows, 4, "{kind:?}");
        assert_eq!(m.table("atdm.runs").unwrap().rows, 3, "{kind:?}");
        assert!(m.table("atdm.runs").unwrap().catalog);
        assert_eq!(m.tags["stage"], "two runs");
        let before = dump_all(&db, &tables).await;
        assert_eq!(before["claim"].len(), 2, "{kind:?}");

        // Changes after the snapshot: a new run, a reset of a run that existed, a direct edit
        // of a reference row and of a seeded row.
        let later = e
            .request("out_of_network_pending_claim", Request::new())
            .await
            .unwrap();
        e.reset_run(&a.run_id, a.token.expose()).await.unwrap();
        db.exec("UPDATE procedure_code SET description = 'edited' WHERE code = '99213'")
            .await;
        db.exec(&format!(
            "UPDATE member SET first_name = 'FAKE_Edited' WHERE member_id = '{}'",
            b.key("member_id").unwrap()
        ))
        .await;
        let changed = dump_all(&db, &tables).await;
        assert_ne!(changed, before, "{kind:?}: the changes show");

        let r = e.restore(Some(&m.id)).await.unwrap();
        assert_eq!(r.baseline_id, m.id);
        for t in &m.tables {
            assert_eq!(r.rows[&t.name], t.rows, "{kind:?}: {}", t.name);
        }
        assert_eq!(
            r.deleted["claim"], 2,
            "{kind:?}: b's and the later run's claim"
        );
        assert_eq!(
            dump_all(&db, &tables).await,
            before,
            "{kind:?}: byte for byte"
        );

        // The catalog is the snapshot's: the later run is gone, a's rows are a's again.
        let gone = e
            .reset_run(&later.run_id, later.token.expose())
            .await
            .unwrap_err();
        assert_eq!(gone.code(), ErrorCode::RunNotFound, "{kind:?}: {gone}");
        let again = e.reset_run(&a.run_id, a.token.expose()).await.unwrap();
        assert_eq!(again.deleted["claim"], 1, "{kind:?}");
        assert_eq!(again.deleted["member"], 1, "{kind:?}");

        // Restoring the newest (no id) twice gives the same state both times.
        let r1 = e.restore(None).await.unwrap();
        assert_eq!(r1.baseline_id, m.id);
        assert_eq!(dump_all(&db, &tables).await, before, "{kind:?}: first");
        let r2 = e.restore(None).await.unwrap();
        assert_eq!(
            r2.deleted, r2.rows,
            "{kind:?}: it deleted what it wrote back"
        );
        assert_eq!(dump_all(&db, &tables).await, before, "{kind:?}: idempotent");

        // The engine goes on working on the restored state.
        let next = e
            .request("claim_denial_active_member", Request::new())
            .await
            .unwrap();
        e.reset_run(&next.run_id, next.token.expose())
            .await
            .unwrap();
        assert_eq!(
            dump_all(&db, &tables).await.get("claim"),
            before.get("claim")
        );
        e.close().await;
        db.drop_db().await;
    }
}

const TYPES: &str = r#"
name = "types"
version = "1"

[[tables]]
name = "node"
primary_key = ["id"]
columns = [
  { name = "id", type = "bigint" },
  { name = "parent_id", type = "bigint", nullable = true },
  { name = "label", type = "text" },
]
foreign_keys = [{ columns = ["parent_id"], references = "node" }]

[[tables]]
name = "sample"
primary_key = ["id"]
columns = [
  { name = "id", type = "integer" },
  { name = "node_id", type = "bigint", nullable = true },
  { name = "day", type = "date", nullable = true },
  { name = "at", type = "timestamp", nullable = true },
  { name = "at_tz", type = "timestamptz", nullable = true },
  { name = "flag", type = "boolean", nullable = true },
  { name = "amount", type = "numeric(12,2)", nullable = true },
  { name = "big", type = "bigint", nullable = true },
  { name = "note", type = "text", nullable = true },
  { name = "code", type = "varchar(40)", nullable = true },
  { name = "kind", type = "enum(alpha, beta)", nullable = true },
  { name = "uid", type = "uuid", nullable = true },
  { name = "doc", type = "json", nullable = true },
  { name = "raw", type = "bytes", nullable = true },
]
foreign_keys = [{ columns = ["node_id"], references = "node" }]

[[tables]]
name = "counter"
primary_key = ["id"]
columns = [
  { name = "id", type = "bigint", generated = "identity" },
  { name = "label", type = "text" },
]
"#;

/// Rows of every type, written with each backend's own literals (SQLite's in the text forms
/// the engine writes, so a restore can give back the same bytes).
fn type_rows(kind: Kind) -> Vec<String> {
    let cols = "\"id\", \"node_id\", \"day\", \"at\", \"at_tz\", \"flag\", \"amount\", \"big\", \"note\", \"code\", \"kind\", \"uid\", \"doc\", \"raw\"";
    let cols = if kind == Kind::MySql {
        cols.replace('"', "`")
    } else {
        cols.to_owned()
    };
    // Quotes, a backslash path, accents, CJK, a tab and a newline.
    let note = match kind {
        Kind::MySql => "'O''Brien \"q\" C:\\\\Users\\\\fake caf\u{e9} \u{65e5}\u{672c}\tnew\nline'",
        _ => "'O''Brien \"q\" C:\\Users\\fake caf\u{e9} \u{65e5}\u{672c}\tnew\nline'",
    };
    let (ts1, tz1, ts2, tz2) = match kind {
        Kind::Postgres => (
            "'1999-12-31 23:59:59.999999'",
            "'2026-06-01 12:34:56.123456+00'",
            "'2026-06-01 00:00:00'",
            "'1970-01-01 00:00:00.000001+00'",
        ),
        Kind::MySql => (
            "'1999-12-31 23:59:59.999999'",
            "'2026-06-01 12:34:56.123456'",
            "'2026-06-01 00:00:00'",
            "'1970-01-01 00:00:00.000001'",
        ),
        Kind::Sqlite => (
            "'1999-12-31 23:59:59.999999'",
            "'2026-06-01T12:34:56.123456+00:00'",
            "'2026-06-01 00:00:00'",
            "'1970-01-01T00:00:00.000001+00:00'",
        ),
    };
    let (t, f) = match kind {
        Kind::Sqlite => ("1", "0"),
        _ => ("TRUE", "FALSE"),
    };
    let (bytes1, bytes2) = match kind {
        Kind::Postgres => ("'\\x00ff0a0d5c'::bytea", "''::bytea"),
        _ => ("X'00FF0A0D5C'", "X''"),
    };
    // Upper-case UUIDs: SQLite and MySQL keep the text as written.
    let uid = "'0B7C2F6E-9D4A-4F0E-8A57-3C1D2E4F5A6B'";
    let doc = "'{\"b\": [true, null, 2.5], \"a\": \"x\"}'";
    vec![
        format!(
            "INSERT INTO sample ({cols}) VALUES (1, 1, '2024-02-29', {ts1}, {tz1}, {t}, -0.01, -9223372036854775808, {note}, 'code-1', 'beta', {uid}, {doc}, {bytes1})"
        ),
        format!(
            "INSERT INTO sample ({cols}) VALUES (2, NULL, '1970-01-01', {ts2}, {tz2}, {f}, 9999999999.99, 9223372036854775807, '', '', 'alpha', '00000000-0000-0000-0000-000000000000', '[]', {bytes2})"
        ),
        format!(
            "INSERT INTO sample ({cols}) VALUES (-2147483648, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
        ),
        format!(
            "INSERT INTO sample ({cols}) VALUES (2147483647, 3, '9999-12-31', NULL, NULL, NULL, 0.10, 0, 'plain', NULL, NULL, NULL, '\"text\"', NULL)"
        ),
    ]
}

/// `n` more rows of every type in one INSERT: enough for PostgreSQL's COPY path and for
/// several INSERT statements elsewhere.
fn bulk_rows(kind: Kind, n: i64) -> String {
    use chrono::{Duration, NaiveDate, SecondsFormat};
    let cols = "id, node_id, day, at, at_tz, flag, amount, big, note, code, kind, uid, doc, raw";
    let cols: Vec<String> = cols.split(", ").map(|c| quoted(kind, c)).collect();
    let base = NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let mut values = Vec::new();
    for i in 0..n {
        let day = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + Duration::days(i);
        let t = base + Duration::microseconds(i * 1_234_567);
        let (at, at_tz) = match kind {
            Kind::Sqlite => (
                t.format("%F %T%.f").to_string(),
                t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, false),
            ),
            Kind::Postgres => (
                t.format("%F %T%.f").to_string(),
                format!("{}+00", t.format("%F %T%.f")),
            ),
            Kind::MySql => (
                t.format("%F %T%.f").to_string(),
                t.format("%F %T%.f").to_string(),
            ),
        };
        let cents = i * 137 - 50_000;
        let amount = format!(
            "{}{}.{:02}",
            if cents < 0 { "-" } else { "" },
            cents.abs() / 100,
            cents.abs() % 100
        );
        let backslash = if kind == Kind::MySql { "\\\\" } else { "\\" };
        let note = format!("'row {i}\twith tab, quote '' and backslash {backslash}'");
        let hex: String = (0..(i % 5))
            .map(|b| format!("{:02X}", (i + b) % 256))
            .collect();
        let raw = match kind {
            Kind::Postgres => format!("'\\x{hex}'::bytea"),
            _ => format!("X'{hex}'"),
        };
        let (t_, f_) = if kind == Kind::Sqlite {
            ("1", "0")
        } else {
            ("TRUE", "FALSE")
        };
        values.push(format!(
            "({}, 2, '{day}', '{at}', '{at_tz}', {}, {amount}, {}, {note}, 'c{i}', '{}', '{:08X}-0000-4000-8000-{:012X}', '{{\"i\": {i}}}', {raw})",
            1000 + i,
            if i % 2 == 0 { t_ } else { f_ },
            i * 1_000_000_007,
            if i % 3 == 0 { "alpha" } else { "beta" },
            i,
            i
        ));
    }
    format!(
        "INSERT INTO sample ({}) VALUES {}",
        cols.join(", "),
        values.join(", ")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_round_trips_exactly() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let schema = Schema::from_toml(TYPES, "types.toml").unwrap();
        let pack = Pack::builder("types", schema).build().unwrap();
        let e = engine(&db, pack, Store::from_url("memory://").unwrap()).await;
        // A self-reference whose child comes first in key order: 1 -> 2, 3 -> 2, 2 -> none.
        db.exec("INSERT INTO node (id, parent_id, label) VALUES (2, NULL, 'root')")
            .await;
        db.exec("INSERT INTO node (id, parent_id, label) VALUES (1, 2, 'child')")
            .await;
        db.exec("INSERT INTO node (id, parent_id, label) VALUES (3, 2, 'other child')")
            .await;
        for sql in type_rows(kind) {
            db.exec(&sql).await;
        }
        db.exec(&bulk_rows(kind, 1_200)).await;
        for label in ["one", "two"] {
            db.exec(&format!("INSERT INTO counter (label) VALUES ('{label}')"))
                .await;
        }
        let tables = ["node", "sample", "counter"];
        let before = dump_all(&db, &tables).await;
        assert_eq!(before["sample"].len(), 1_204, "{kind:?}");

        let m = e.snapshot(SnapshotOptions::new()).await.unwrap();
        assert_eq!(m.table("sample").unwrap().rows, 1_204);
        assert_eq!(m.table("node").unwrap().rows, 3);

        db.exec("DELETE FROM sample WHERE id = 1").await;
        db.exec("UPDATE sample SET note = 'changed', amount = 1.00 WHERE id = 2")
            .await;
        db.exec("INSERT INTO node (id, parent_id, label) VALUES (4, 3, 'new')")
            .await;
        db.exec("INSERT INTO sample (id, node_id) VALUES (9, 4)")
            .await;
        db.exec("INSERT INTO counter (label) VALUES ('three')")
            .await;
        db.exec("INSERT INTO counter (label) VALUES ('four')").await;
        assert_ne!(dump_all(&db, &tables).await, before, "{kind:?}");

        e.restore(None).await.unwrap();
        let after = dump_all(&db, &tables).await;
        assert_eq!(after, before, "{kind:?}: every value exactly as it was");
        e.restore(None).await.unwrap();
        assert_eq!(dump_all(&db, &tables).await, before, "{kind:?}: again");

        // Keys the database assigns go on past the restored ones: on PostgreSQL the sequence
        // is set to follow the largest restored key; SQLite and MySQL keep their counters.
        db.exec("INSERT INTO counter (label) VALUES ('after')")
            .await;
        let id = db
            .count("SELECT MAX(id) FROM counter WHERE label = 'after'")
            .await;
        match kind {
            Kind::Postgres => assert_eq!(id, 3, "{kind:?}"),
            _ => assert!(id > 2, "{kind:?}: {id}"),
        }
        db.exec("DELETE FROM counter WHERE label = 'after'").await;

        // The restored content has the snapshot's checksums.
        let again = e.snapshot(SnapshotOptions::new()).await.unwrap();
        for (x, y) in m.tables.iter().zip(&again.tables) {
            assert_eq!(
                (&x.name, x.rows, &x.checksum),
                (&y.name, y.rows, &y.checksum)
            );
        }
        e.close().await;
        db.drop_db().await;
    }
}

fn manifest_file(dir: &Path, id: &str) -> PathBuf {
    dir.join("baselines").join(id).join("manifest.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_listing_and_diff_follow_the_contract() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let (store, dir) = file_store("errors");
        let e = engine(&db, healthcare::pack(), store.clone()).await;

        let none = e.restore(None).await.unwrap_err();
        assert_eq!(none.code(), ErrorCode::NoBaseline, "{kind:?}: {none}");
        assert!(none.to_string().contains("snapshot"), "{none}");
        assert!(e.list_baselines().await.unwrap().is_empty());

        let first = e
            .snapshot(
                SnapshotOptions::new()
                    .id("before-release")
                    .tag("by", "test"),
            )
            .await
            .unwrap();
        let on_disk = std::fs::read(manifest_file(&dir, "before-release")).unwrap();
        let parsed: BaselineManifest = serde_json::from_slice(&on_disk).unwrap();
        assert_eq!(
            parsed, first,
            "{kind:?}: the manifest in the store is what came back"
        );

        let unknown = e.restore(Some("before-relaese")).await.unwrap_err();
        assert_eq!(unknown.code(), ErrorCode::BaselineNotFound, "{kind:?}");
        assert!(
            unknown.to_string().contains("before-release"),
            "names the available ids: {unknown}"
        );

        // The same id again: refused, nothing written, the original untouched.
        let exists = e
            .snapshot(SnapshotOptions::new().id("before-release"))
            .await
            .unwrap_err();
        assert_eq!(
            exists.code(),
            ErrorCode::BaselineExists,
            "{kind:?}: {exists}"
        );
        assert_eq!(
            std::fs::read(manifest_file(&dir, "before-release")).unwrap(),
            on_disk
        );
        let bad = e
            .snapshot(SnapshotOptions::new().id("../escape"))
            .await
            .unwrap_err();
        assert_eq!(bad.code(), ErrorCode::InvalidBaselineId, "{bad}");

        let s = e
            .request("claim_denial_active_member", Request::new())
            .await
            .unwrap();
        let second = e.snapshot(SnapshotOptions::new()).await.unwrap();
        assert!(second.id.starts_with("bl_"), "{}", second.id);
        let listed: Vec<String> = e
            .list_baselines()
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(
            listed,
            [second.id.clone(), first.id.clone()],
            "newest first"
        );

        let diff = e.diff_baselines(&first.id, &second.id).await.unwrap();
        let claim = diff.table("claim").unwrap();
        assert_eq!((claim.added, claim.removed, claim.changed), (1, 0, 0));
        assert_eq!(
            claim.added_keys,
            [serde_json::json!({ "claim_id": s.key("claim_id").unwrap() })]
        );
        for t in ["plan", "provider", "member", "eligibility", "atdm.runs"] {
            let td = diff.table(t).unwrap();
            assert_eq!(
                (td.added, td.removed, td.changed),
                (1, 0, 0),
                "{kind:?}: {t}"
            );
        }
        assert!(diff.table("procedure_code").unwrap().is_empty());
        assert!(diff.tables.iter().all(|t| t.removed == 0 && !t.truncated));
        let back = e.diff_baselines(&second.id, &first.id).await.unwrap();
        assert_eq!(back.table("claim").unwrap().removed, 1);
        assert!(
            e.diff_baselines(&first.id, &first.id)
                .await
                .unwrap()
                .is_empty()
        );

        // A reference row edited between two snapshots is a change, by key.
        db.exec("UPDATE diagnosis_code SET description = 'edited' WHERE code = 'R51'")
            .await;
        let third = e.snapshot(SnapshotOptions::new()).await.unwrap();
        let edit = e.diff_baselines(&second.id, &third.id).await.unwrap();
        let dc = edit.table("diagnosis_code").unwrap();
        assert_eq!((dc.added, dc.removed, dc.changed), (0, 0, 1));
        assert_eq!(dc.changed_keys, [serde_json::json!({ "code": "R51" })]);

        // A baseline object that does not match its checksum is refused before any write.
        let tables = healthcare_tables(kind);
        let state = dump_all(&db, &tables).await;
        let part = |id: &str| dir.join("baselines").join(id).join("plan.parquet");
        std::fs::copy(part(&second.id), part(&first.id)).unwrap();
        let corrupt = e.restore(Some(&first.id)).await.unwrap_err();
        assert_eq!(
            corrupt.code(),
            ErrorCode::BaselineCorrupt,
            "{kind:?}: {corrupt}"
        );
        assert!(corrupt.to_string().contains("plan.parquet"), "{corrupt}");
        assert_eq!(
            dump_all(&db, &tables).await,
            state,
            "{kind:?}: nothing changed"
        );

        // A baseline of another schema is refused.
        let other = Pack::builder("types", Schema::from_toml(TYPES, "types.toml").unwrap())
            .build()
            .unwrap();
        let te = engine(&db, other, store.clone()).await;
        let mismatch = te.restore(Some(&second.id)).await.unwrap_err();
        assert_eq!(mismatch.code(), ErrorCode::BaselineMismatch, "{mismatch}");
        te.close().await;

        e.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        db.drop_db().await;
    }
}

/// The trails of every strategy run of `name` in a file store, oldest run first.
async fn strategy_trails(store: &Store, dir: &Path, name: &str) -> Vec<Vec<AuditEvent>> {
    let mut runs = Vec::new();
    for dt in std::fs::read_dir(dir.join("audit")).unwrap() {
        for run in std::fs::read_dir(dt.unwrap().path()).unwrap() {
            let file = run.unwrap().file_name().into_string().unwrap();
            if let Some(id) = file.strip_prefix(&format!("run=strategy-{name}-")) {
                runs.push(format!("strategy-{name}-{id}"));
            }
        }
    }
    runs.sort();
    let log = AuditLog::new(store.clone());
    let mut out = Vec::new();
    for r in runs {
        out.push(log.trail(&r).await.unwrap());
    }
    out
}

fn actions(trail: &[AuditEvent]) -> Vec<(AuditAction, AuditStatus)> {
    trail.iter().map(|e| (e.action, e.status)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_and_restores_are_audited() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let (store, dir) = file_store("audit");
        let e = engine(&db, healthcare::pack(), store.clone()).await;
        let none = e.restore(None).await.unwrap_err();
        assert_eq!(none.code(), ErrorCode::NoBaseline);

        let m = e
            .snapshot(SnapshotOptions::new().id("audited"))
            .await
            .unwrap();
        assert!(
            m.audit_run_id.starts_with("strategy-snapshot-"),
            "{}",
            m.audit_run_id
        );
        let log = AuditLog::new(store.clone());
        let trail = log.trail(&m.audit_run_id).await.unwrap();
        assert_eq!(
            actions(&trail),
            [
                (AuditAction::SnapshotStarted, AuditStatus::Ok),
                (AuditAction::SnapshotCompleted, AuditStatus::Ok)
            ],
            "{kind:?}"
        );
        assert_eq!(trail[0].invoker, "baseline-test");
        assert_eq!(trail[1].outputs["baseline_id"], "audited");
        assert_eq!(trail[1].outputs["rows"]["procedure_code"], 4);

        let r = e.restore(None).await.unwrap();
        let trail = log.trail(&r.audit_run_id).await.unwrap();
        assert_eq!(
            actions(&trail),
            [
                (AuditAction::RestoreStarted, AuditStatus::Ok),
                (AuditAction::RestoreCompleted, AuditStatus::Ok)
            ],
            "{kind:?}"
        );
        assert_eq!(trail[0].inputs["baseline_id"], serde_json::Value::Null);
        assert_eq!(trail[1].outputs["baseline_id"], "audited");
        assert_eq!(trail[1].outputs["rows"]["diagnosis_code"], 4);
        let metrics = e.metrics_text();
        assert!(
            metrics.contains("atdm_resets_total{strategy=\"restore\",status=\"ok\"}"),
            "{metrics}"
        );

        // Failures are audited too, with their code.
        let exists = e
            .snapshot(SnapshotOptions::new().id("audited"))
            .await
            .unwrap_err();
        assert_eq!(exists.code(), ErrorCode::BaselineExists);
        let snapshots = strategy_trails(&store, &dir, "snapshot").await;
        assert_eq!(snapshots.len(), 2, "{kind:?}");
        let failed = &snapshots[1];
        assert_eq!(
            actions(failed),
            [
                (AuditAction::SnapshotStarted, AuditStatus::Ok),
                (AuditAction::SnapshotFailed, AuditStatus::Failed)
            ]
        );
        assert_eq!(failed[1].outputs["error"]["code"], "BASELINE_EXISTS");
        let restores = strategy_trails(&store, &dir, "restore").await;
        assert_eq!(restores.len(), 2, "{kind:?}");
        assert_eq!(restores[0][1].action, AuditAction::RestoreFailed);
        assert_eq!(restores[0][1].outputs["error"]["code"], "NO_BASELINE");

        e.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        db.drop_db().await;
    }
}
