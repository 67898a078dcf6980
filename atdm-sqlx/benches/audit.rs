//! Audit append latency on the file store.
//!
//! - `audit_append/file_store`: one append of the four events written before a seed
//!   (request_received, plan_resolved, validators_passed, seed_started) as one Parquet object,
//!   put-if-absent, into a local directory store; criterion's median is the p50.
//! - `audit_append/memory_store`: the same into a memory store, which leaves the cost of
//!   encoding the events as Parquet.
//! - After criterion, the bench times 2,000 single appends one by one and prints their p50,
//!   p99 and maximum, since criterion reports no tail percentiles.
//!
//! `cargo bench -p atdm-sqlx --bench audit`

use std::time::{Duration, Instant};

use atdm_core::audit::{AUDIT_SCHEMA_VERSION, AuditAction, AuditEvent, AuditStatus};
use atdm_sqlx::{AuditLog, Store};
use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

/// Four events like the ones a request writes before its seed, with realistic payloads.
fn events(run: &str) -> Vec<AuditEvent> {
    let e = |i: u64, action| AuditEvent {
        event_id: ulid::Ulid::new().to_string(),
        timestamp: Utc::now() + chrono::Duration::microseconds(i as i64),
        test_run_id: run.to_owned(),
        invoker: "bench".into(),
        action,
        inputs: serde_json::json!({"scenario": "claim_denial_active_member", "constraints": {"denial_reason": "not_covered"}}),
        tools_called: serde_json::json!([]),
        outputs: serde_json::json!({
            "rows": {"plan": 1, "provider": 1, "member": 1, "eligibility": 1, "claim": 1},
            "validators": ["schema.types", "schema.not_null", "schema.checks", "schema.unique", "schema.foreign_keys", "schema.synthetic_markers", "healthcare.r1"],
            "tables": [{"table": "member", "columns": ["member_id", "first_name", "last_name", "dob"], "rows": [["M-1", "FAKE_Ann", "ZZ_Lee", "1980-01-01"]], "total": 1}],
        }),
        status: AuditStatus::Ok,
        reviewer_decision: None,
        schema_version: AUDIT_SCHEMA_VERSION,
    };
    vec![
        e(0, AuditAction::RequestReceived),
        e(1, AuditAction::PlanResolved),
        e(2, AuditAction::ValidatorsPassed),
        e(3, AuditAction::SeedStarted),
    ]
}

fn append(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let dir = std::env::temp_dir().join(format!("atdm-bench-audit-{}", std::process::id()));
    let log = AuditLog::new(Store::from_url(&format!("file://{}", dir.display())).unwrap());
    let mut g = c.benchmark_group("audit_append");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("file_store", |b| {
        b.to_async(&rt).iter(|| async {
            let run = ulid::Ulid::new().to_string();
            log.append(&events(&run)).await.unwrap();
        })
    });
    // The same append into memory: what encoding the events as Parquet costs.
    let mem = AuditLog::new(Store::from_url("memory://").unwrap());
    g.bench_function("memory_store", |b| {
        b.to_async(&rt).iter(|| async {
            let run = ulid::Ulid::new().to_string();
            mem.append(&events(&run)).await.unwrap();
        })
    });
    g.finish();

    // Tail latency: criterion does not report percentiles.
    let quick =
        std::env::args().any(|a| a == "--bench") && !std::env::args().any(|a| a == "--test");
    let n = if quick { 2000 } else { 20 };
    let mut took: Vec<Duration> = (0..n)
        .map(|_| {
            let run = ulid::Ulid::new().to_string();
            let ev = events(&run);
            let t = Instant::now();
            rt.block_on(log.append(&ev)).unwrap();
            t.elapsed()
        })
        .collect();
    took.sort();
    let pct = |p: f64| took[((took.len() as f64 * p) as usize).min(took.len() - 1)];
    println!(
        "audit_append/file_store over {n} appends: p50 {:?}, p99 {:?}, max {:?}",
        pct(0.50),
        pct(0.99),
        took[took.len() - 1]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, append);
criterion_main!(benches);
