//! Fixture files: written when asked, readable by their owner only, the same data in both
//! forms (the pytest module is imported by a real Python), removed by the reset.

mod support;

use std::process::Command;

use atdm_core::domains::healthcare;
use atdm_sqlx::{Engine, Request};
use support::{Kind, TestDb, d};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_are_private_equal_and_removed_by_the_reset() {
    let Some(db) = TestDb::fresh(Kind::Sqlite).await else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("atdm-fixtures-{}", std::process::id()));
    let e = Engine::builder(healthcare::pack())
        .database_url(&db.url)
        .reference_date(d())
        .fixture_dir(&dir)
        .connect()
        .await
        .unwrap();

    let plain = e
        .request("active_member_clean", Request::new())
        .await
        .unwrap();
    assert!(plain.fixtures.is_empty(), "no files unless asked");

    let s = e
        .request(
            "claim_denial_active_member",
            Request::new().playwright().pytest(),
        )
        .await
        .unwrap();
    let json_path = dir.join(format!("claim_denial_active_member_{}.json", s.run_id));
    let py_path = dir.join(format!("claim_denial_active_member_{}.py", s.run_id));
    assert_eq!(s.fixtures, vec![json_path.clone(), py_path.clone()]);
    #[cfg(unix)]
    for p in &s.fixtures {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            p.display()
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["cleanup", "data", "scenario_id", "test_run_id"]);
    assert_eq!(json["cleanup"]["token"], s.token.expose());
    assert_eq!(json["data"]["member_id"], format!("m-{}", s.run_id));

    // The pytest module imports and returns the same four keys.
    let script = format!(
        "import importlib.util, json, sys\n\
         spec = importlib.util.spec_from_file_location('fx', {py:?})\n\
         m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n\
         assert m.SCENARIO_ID == 'claim_denial_active_member' and m.TEST_RUN_ID == {run:?}\n\
         print(json.dumps(m.scenario_data(), sort_keys=True))",
        py = py_path.display().to_string(),
        run = s.run_id,
    );
    match Command::new("python3").arg("-c").arg(&script).output() {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let from_py: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(from_py, json, "both fixture forms hold the same data");
        }
        Err(err) => panic!("python3 is needed to check the pytest fixture: {err}"),
    }

    e.reset_run(&s.run_id, s.token.expose()).await.unwrap();
    assert!(
        !json_path.exists() && !py_path.exists(),
        "the reset removes the run's fixtures"
    );
    e.reset_run(&plain.run_id, plain.token.expose())
        .await
        .unwrap();
    e.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    db.drop_db().await;
}
