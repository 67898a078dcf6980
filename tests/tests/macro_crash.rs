//! Crash safety of `#[atdm_scenario]`: a test process killed with SIGKILL in the middle of a
//! test cannot reset its run; the run's lease expires and the next engine start removes its
//! rows.
//!
//! The test runs this binary again as a child process, limited to [`crash_child`], with a
//! two-second lease (`ATDM_LEASE_SECONDS`). The child seeds, prints its run id and sleeps; the
//! parent kills it, checks the rows are still there, waits past the lease, starts a fresh
//! engine on the same database and checks the run is cleaned and its rows are gone.

mod macro_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use atdm_core::domains::healthcare;
use atdm_sqlx::testing::Seeded;
use atdm_sqlx::{Engine, atdm_scenario};
use macro_support::{assert_cleaned, assert_live};

/// Set in the child's environment; without it [`crash_child`] does nothing.
const CHILD: &str = "ATDM_TEST_CRASH_CHILD";
const LEASE_SECONDS: u64 = 2;

#[atdm_scenario("claim_denial_active_member")]
fn seed_then_hang(data: Seeded) {
    println!("ATDM_RUN {} {}", data.run_id(), data.key("member_id"));
    std::thread::sleep(Duration::from_secs(120));
}

/// The child's test: seeds, reports, and hangs until it is killed.
#[test]
fn crash_child() {
    if std::env::var_os(CHILD).is_some() {
        seed_then_hang();
    }
}

#[tokio::test]
async fn killed_test_process_is_reaped_after_its_lease() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env(
            atdm_sqlx::testing::ENV_LEASE_SECONDS,
            LEASE_SECONDS.to_string(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the child test process");
    let stdout = child.stdout.take().unwrap();
    let (run, member, seeded_at) = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            // libtest prints "test crash_child ... " on the same line first.
            if let Some((_, rest)) = line.split_once("ATDM_RUN ") {
                let (run, member) = rest.split_once(' ').unwrap();
                return (run.to_owned(), member.to_owned(), Instant::now());
            }
        }
        panic!("the child test ended without seeding");
    })
    .await
    .unwrap();

    // SIGKILL: no unwinding, no drop guard, no reset.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed");
    assert_live(&run, &member);

    // Past the lease, the next engine start reaps the run.
    let past_lease = seeded_at + Duration::from_secs(LEASE_SECONDS) + Duration::from_millis(500);
    tokio::time::sleep_until(past_lease.into()).await;
    let engine = Engine::builder(healthcare::pack())
        .database_url(atdm_sqlx::testing::database_url())
        .connect()
        .await
        .unwrap();
    assert_cleaned(&run, &member);
    assert_eq!(engine.run(&run).await.unwrap().status, "cleaned");
    engine.close().await;
}
