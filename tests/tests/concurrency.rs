//! 32 concurrent requests on one database through a small pool: distinct runs, disjoint rows,
//! each reset deletes only its own, and nothing run-owned remains.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use atdm_core::domains::healthcare;
use atdm_sqlx::{Engine, Request, ResetStatus};
use support::{Kind, TestDb, d};

const MUTABLE: [&str; 5] = ["plan", "provider", "member", "eligibility", "claim"];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_runs_stay_isolated() {
    for db in TestDb::all().await {
        if db.kind == Kind::Sqlite {
            db.drop_db().await;
            continue; // one writer at a time by design; covered by the lifecycle tests
        }
        let kind = db.kind;
        let e = Engine::builder(healthcare::pack())
            .database_url(&db.url)
            .reference_date(d())
            .pool_size(4)
            .acquire_timeout(Duration::from_secs(60))
            .connect()
            .await
            .unwrap();
        let scenarios = [
            "active_member_clean",
            "claim_denial_active_member",
            "expired_eligibility",
            "inactive_member_with_history",
            "out_of_network_pending_claim",
        ];
        let mut tasks = Vec::new();
        for i in 0..32 {
            let e = e.clone();
            let s = scenarios[i % scenarios.len()];
            tasks.push(tokio::spawn(
                async move { e.request(s, Request::new()).await },
            ));
        }
        let mut seeded = Vec::new();
        for t in tasks {
            seeded.push(
                t.await
                    .unwrap()
                    .unwrap_or_else(|err| panic!("{kind:?}: {err}")),
            );
        }
        let ids: HashSet<&str> = seeded.iter().map(|s| s.run_id.as_str()).collect();
        assert_eq!(ids.len(), 32, "distinct runs");
        for s in &seeded {
            for t in MUTABLE {
                let n = db
                    .count(&format!(
                        "SELECT COUNT(*) FROM {t} WHERE test_run_id = '{}'",
                        s.run_id
                    ))
                    .await;
                assert_eq!(
                    n, 1,
                    "{kind:?}: run {} owns exactly its own {t} row",
                    s.run_id
                );
            }
        }
        assert_eq!(db.count("SELECT COUNT(*) FROM claim").await, 32);

        // Reset half of them concurrently: each deletes only its own rows.
        let (first, second) = seeded.split_at(16);
        let mut tasks = Vec::new();
        for s in first.iter().cloned() {
            let e = e.clone();
            tasks.push(tokio::spawn(async move {
                e.reset_run(&s.run_id, s.token.expose()).await
            }));
        }
        for t in tasks {
            let r = t.await.unwrap().unwrap();
            assert_eq!(r.status, ResetStatus::Cleaned);
            assert_eq!(r.deleted.values().sum::<u64>(), 5);
        }
        for s in second {
            assert_eq!(
                db.count(&format!(
                    "SELECT COUNT(*) FROM member WHERE member_id = 'm-{}'",
                    s.run_id
                ))
                .await,
                1,
                "{kind:?}: untouched"
            );
        }
        let mut tasks = Vec::new();
        for s in second.iter().cloned() {
            let e = e.clone();
            tasks.push(tokio::spawn(async move {
                e.reset_run(&s.run_id, s.token.expose()).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        for t in MUTABLE {
            assert_eq!(
                db.count(&format!("SELECT COUNT(*) FROM {t}")).await,
                0,
                "{kind:?}: no run-owned {t} row remains"
            );
        }
        let ledger = if kind == Kind::Postgres {
            "atdm.ledger"
        } else {
            "atdm_ledger"
        };
        assert_eq!(db.count(&format!("SELECT COUNT(*) FROM {ledger}")).await, 0);
        e.close().await;
        db.drop_db().await;
    }
}

/// Engines that start at the same moment on one new database (pytest-xdist workers, parallel
/// test binaries) all come up, and the reference rows are inserted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn engines_starting_together_on_a_new_database_all_come_up() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let starts = (0..6).map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move {
                Engine::builder(healthcare::pack())
                    .database_url(url)
                    .store_url("memory://")
                    .reference_date(d())
                    .pool_size(2)
                    .connect()
                    .await
            })
        });
        let engines: Vec<Engine> = join_all(starts)
            .await
            .into_iter()
            .map(|r| r.unwrap().unwrap_or_else(|e| panic!("{kind:?}: {e}")))
            .collect();
        assert_eq!(
            db.count("SELECT COUNT(*) FROM procedure_code").await,
            4,
            "{kind:?}: reference rows once"
        );
        for e in engines {
            e.close().await;
        }
        db.drop_db().await;
    }
}

/// Waits for every task, in order.
async fn join_all<T>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await);
    }
    out
}
