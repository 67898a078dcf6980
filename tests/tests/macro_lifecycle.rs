//! `#[atdm_scenario]`: rows exist during the body and are gone after it returns, panics or is
//! cancelled; plain, current-thread and multi-thread tests; options take effect (a crate's own
//! `scenario_dir` too); parallel tests keep to their own rows.
//!
//! The tests use the engine the macro builds from the environment (by default the embedded
//! SQLite file `tests/.atdm/atdm.sqlite`, shared with the other `macro_*` binaries, which is
//! itself a check that test binaries do not see each other's rows). Set `ATDM_DATABASE_URL` to
//! run them on PostgreSQL or MySQL, with `ATDM_PACK=healthcare` (the healthcare scenarios are
//! used on another database only when asked for). Checks look at one run's rows by key, never
//! at totals.
//!
//! To observe what happens *after* a test body, most tests call a function carrying the
//! attribute (without a test attribute of its own) and check the database when it is done.

mod macro_support;

use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use atdm_sqlx::atdm_scenario;
use atdm_sqlx::testing::Seeded;
use macro_support::{assert_cleaned, assert_live, text};

/// A run's id and its member's key.
type Ids = (String, String);

fn ids(data: &Seeded) -> Ids {
    (data.run_id().to_owned(), data.key("member_id").to_owned())
}

// ---- the attribute on real tests, above each kind of test attribute ----

#[atdm_scenario("claim_denial_active_member")]
#[test]
fn plain_test(data: Seeded) {
    assert_eq!(data.scenario(), "claim_denial_active_member");
    assert_live(data.run_id(), data.key("member_id"));
}

#[atdm_scenario("claim_denial_active_member")]
#[tokio::test]
async fn current_thread_test(data: Seeded) {
    tokio::task::yield_now().await;
    assert_live(data.run_id(), data.key("member_id"));
}

#[atdm_scenario("claim_denial_active_member")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_test(data: Seeded) {
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_live(data.run_id(), data.key("member_id"));
}

#[atdm_scenario("claim_denial_active_member")]
#[test]
#[should_panic(expected = "the body failed")]
fn should_panic_test(data: Seeded) {
    assert_live(data.run_id(), data.key("member_id"));
    panic!("the body failed");
}

#[atdm_scenario("active_member_clean")]
#[test]
fn without_an_argument() {}

#[atdm_scenario("claim_denial_active_member", edge_cases)]
#[test]
fn with_edge_cases(data: Seeded) {
    assert_live(data.run_id(), data.key("member_id"));
    let held: usize = data.edge_cases().values().map(Vec::len).sum();
    assert!(held > 20, "{:?}", data.edge_cases());
    assert!(
        data.rows()["member"] > 1,
        "the member's edge rows are seeded too"
    );
}

#[atdm_scenario("claim_denial_active_member")]
#[test]
fn returning_a_result(data: Seeded) -> Result<(), String> {
    if data.key("claim_id").is_empty() {
        return Err("no claim".into());
    }
    Ok(())
}

#[atdm_scenario("claim_denial_active")]
#[test]
#[should_panic(expected = "claim_denial_active_member")]
fn unknown_scenario_names_close_matches(_data: Seeded) {
    unreachable!("an unknown scenario never reaches the body");
}

#[atdm_scenario("claim_denial_active_member")]
#[test]
#[should_panic(expected = "its keys are: ")]
fn unknown_key_lists_known_keys(data: Seeded) {
    let _ = data.key("no_such_key");
}

// ---- a crate's own scenario directory, integer keys, a list output ----

/// The title of a `lib_book` row, if it exists.
fn book(id: i64) -> Option<String> {
    text(
        "SELECT title FROM lib_book WHERE CAST(book_id AS CHAR(20)) = ?",
        &id.to_string(),
    )
}

#[atdm_scenario("author_with_books", scenario_dir = "tests/scenarios/library")]
fn library(data: Seeded) -> Vec<i64> {
    let author: i64 = data.get("author_id");
    assert_eq!(data.key("author_id"), author.to_string());
    let books: Vec<i64> = data.get("book_ids");
    assert_eq!(data.keys("book_ids").len(), 3);
    assert_eq!(data.keys("author_id"), [author.to_string()]);
    assert!(books.iter().all(|&b| book(b).is_some()), "{books:?}");
    books
}

#[test]
fn a_scenario_directory_of_the_crate_seeds_and_resets() {
    let books = library();
    assert!(books.iter().all(|&b| book(b).is_none()), "{books:?}");
}

#[atdm_scenario("author_with_books", scenario_dir = "tests/scenarios/library")]
#[test]
#[should_panic(expected = "entity \"book_ids\" of scenario \"author_with_books\" is [")]
fn a_list_read_as_one_key_says_how_to_read_it(data: Seeded) {
    let _ = data.key("book_ids");
}

// ---- after the body: returned, panicked, cancelled ----

#[atdm_scenario("claim_denial_active_member")]
fn returns(data: Seeded) -> Ids {
    assert_live(data.run_id(), data.key("member_id"));
    ids(&data)
}

#[test]
fn plain_body_return_resets() {
    let (run, member) = returns();
    assert_cleaned(&run, &member);
}

#[atdm_scenario("claim_denial_active_member")]
async fn returns_async(data: Seeded) -> Ids {
    tokio::task::yield_now().await;
    assert_live(data.run_id(), data.key("member_id"));
    ids(&data)
}

#[tokio::test]
async fn current_thread_return_resets() {
    let (run, member) = returns_async().await;
    assert_cleaned(&run, &member);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_return_resets() {
    let (run, member) = returns_async().await;
    assert_cleaned(&run, &member);
}

static PANICKED: Mutex<Option<Ids>> = Mutex::new(None);

#[atdm_scenario("claim_denial_active_member")]
fn panics(data: Seeded) {
    *PANICKED.lock().unwrap() = Some(ids(&data));
    assert_live(data.run_id(), data.key("member_id"));
    panic!("the test body panics");
}

#[test]
fn panic_resets() {
    let outcome = std::panic::catch_unwind(panics);
    assert!(outcome.is_err(), "the body's panic is the test's outcome");
    let (run, member) = PANICKED.lock().unwrap().take().unwrap();
    assert_cleaned(&run, &member);
}

static PANICKED_ASYNC: Mutex<Option<Ids>> = Mutex::new(None);

#[atdm_scenario("claim_denial_active_member")]
async fn panics_async(data: Seeded) {
    *PANICKED_ASYNC.lock().unwrap() = Some(ids(&data));
    tokio::task::yield_now().await;
    panic!("the async test body panics");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_panic_resets() {
    let outcome = tokio::spawn(panics_async()).await;
    assert!(outcome.unwrap_err().is_panic());
    let (run, member) = PANICKED_ASYNC.lock().unwrap().take().unwrap();
    assert_cleaned(&run, &member);
}

#[atdm_scenario("claim_denial_active_member")]
async fn never_ends(data: Seeded, started: tokio::sync::oneshot::Sender<Ids>) {
    started.send(ids(&data)).unwrap();
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn cancelled_async_test_resets() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut body = Box::pin(never_ends(tx));
    let (run, member) = tokio::select! {
        _ = &mut body => unreachable!("the body never ends"),
        ids = rx => ids.unwrap(),
    };
    // Still running: the rows are there.
    assert_live(&run, &member);
    // Give up on it, as a timeout or a cancelled select would.
    tokio::select! {
        _ = &mut body => unreachable!("the body never ends"),
        _ = tokio::time::sleep(Duration::from_millis(50)) => {}
    }
    drop(body);
    assert_cleaned(&run, &member);
}

// ---- options ----

#[atdm_scenario(
    "claim_denial_active_member",
    constraints(provider_network = "in_network", member_status = "active"),
    seed = 42,
    reference_date = "2026-06-01"
)]
#[test]
fn options_take_effect(data: Seeded) {
    assert_eq!(data.seed(), 42);
    assert_eq!(data.reference_date().to_string(), "2026-06-01");
    let network = text(
        "SELECT network_status FROM provider WHERE provider_id = ?",
        data.key("provider_id"),
    );
    assert_eq!(network.as_deref(), Some("in_network"));
}

#[atdm_scenario("claim_denial_active_member")]
#[test]
fn defaults_apply_without_options(data: Seeded) {
    let network = text(
        "SELECT network_status FROM provider WHERE provider_id = ?",
        data.key("provider_id"),
    );
    assert_eq!(network.as_deref(), Some("out_of_network"));
}

// ---- isolation ----

#[atdm_scenario("claim_denial_active_member")]
fn in_parallel(data: Seeded, barrier: Arc<Barrier>, seen: Arc<Mutex<Vec<Ids>>>) -> Ids {
    seen.lock().unwrap().push(ids(&data));
    // Everyone is seeded now.
    barrier.wait();
    let all = seen.lock().unwrap().clone();
    for (run, member) in &all {
        if run != data.run_id() {
            assert_ne!(member, data.key("member_id"), "runs share no keys");
        }
    }
    // Wait until every other body has seen its rows, then let the first ones finish while the
    // others still check theirs.
    barrier.wait();
    std::thread::sleep(Duration::from_millis(
        20 * (all.iter().position(|(r, _)| r == data.run_id()).unwrap() as u64),
    ));
    assert_live(data.run_id(), data.key("member_id"));
    ids(&data)
}

#[test]
fn parallel_tests_keep_to_their_own_rows() {
    const N: usize = 6;
    let barrier = Arc::new(Barrier::new(N));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..N)
        .map(|_| {
            let (b, s) = (barrier.clone(), seen.clone());
            std::thread::spawn(move || in_parallel(b, s))
        })
        .collect();
    for t in threads {
        let (run, member) = t.join().unwrap();
        assert_cleaned(&run, &member);
    }
}
