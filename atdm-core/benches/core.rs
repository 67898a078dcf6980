//! Core benchmarks: plan + validate of the headline scenario, and bulk generation of a
//! ten-column user-like table into Arrow columns.
//!
//! `cargo bench -p atdm-core --bench core`

use std::collections::BTreeMap;
use std::hint::black_box;

use atdm_core::domains::healthcare;
use atdm_core::generate::{GeneratorRegistry, ReservedMarkers, TableGenerator};
use atdm_core::schema::Schema;
use atdm_core::{Constraints, RunContext};
use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn plan_and_validate(c: &mut Criterion) {
    let pack = healthcare::pack();
    let ctx = RunContext::new(
        "01JD3QZ8X9K2M4N6P8R0S2T4V6",
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
    );
    let none = Constraints::new();
    let existing = BTreeMap::new();
    let mut g = c.benchmark_group("plan_validate");
    g.throughput(Throughput::Elements(1));
    g.bench_function("claim_denial_active_member", |b| {
        b.iter(|| {
            black_box(
                pack.plan_validated(
                    black_box("claim_denial_active_member"),
                    &none,
                    &ctx,
                    &existing,
                )
                .unwrap(),
            )
        })
    });
    g.finish();
}

const USERS: &str = r#"
name = "users"
[[tables]]
name = "app_user"
primary_key = ["user_id"]
unique = [["email"]]
checks = ["status in ('active', 'suspended', 'deleted', 'invited')"]
columns = [
  { name = "user_id", type = "uuid" },
  { name = "first_name", type = "text" },
  { name = "last_name", type = "text" },
  { name = "email", type = "text" },
  { name = "phone", type = "text" },
  { name = "street", type = "text" },
  { name = "city", type = "text" },
  { name = "date_of_birth", type = "date" },
  { name = "created_at", type = "timestamptz" },
  { name = "status", type = "text" },
]
"#;

fn generate_users(c: &mut Criterion) {
    let schema = Schema::from_toml(USERS, "users.toml").unwrap();
    let registry = GeneratorRegistry::default();
    let table = schema.table("app_user").unwrap();
    let generator = TableGenerator::new(table, &registry, &ReservedMarkers).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let rows = 100_000u64;
    let mut g = c.benchmark_group("generate");
    g.throughput(Throughput::Elements(rows));
    g.sample_size(20);
    g.bench_function("app_user_10_columns_arrow", |b| {
        b.iter(|| {
            black_box(
                generator
                    .batch(7, "01JD3QZ8X9K2M4N6P8R0S2T4V6", today, 0..rows)
                    .unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, plan_and_validate, generate_users);
criterion_main!(benches);
