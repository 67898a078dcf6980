//! A process killed (SIGKILL) after its seed, reset or restore committed and before the audit
//! store got the events that record it: the database's audit outbox holds them, `atdm audit` shows
//! them as pending, and the next command writes them to the store.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::Value as Json;

use crate::common::{Setup, backends};
use crate::support::Kind;

/// Runs `atdm <args>` with the test hook that pauses it after its commit, kills it there
/// with SIGKILL, and returns once it is gone.
fn kill_after_commit(s: &Setup, args: &[&str]) {
    let mut c = s.command(args);
    c.env("ATDM_TEST_FAULT", "pause-after-commit")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("the atdm binary runs");
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        if line.contains("test fault: paused after commit") {
            // SIGKILL: no destructor, no flush, nothing of the process runs again.
            child.kill().unwrap();
            let status = child.wait().unwrap();
            assert!(!status.success(), "{args:?} was killed: {status:?}");
            return;
        }
        said.push(line);
    }
    let status = child.wait().unwrap();
    panic!("{args:?} ended ({status:?}) without reaching its commit: {said:?}");
}

fn actions(events: &Json) -> Vec<String> {
    events
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["action"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn events_of_a_process_killed_after_its_commit_are_written_by_the_next_command() {
    for s in backends().await {
        // A reset killed after its deletes committed.
        let (run_id, token, _) = s.request("claim_denial_active_member", &[]);
        kill_after_commit(&s, &["reset", &run_id, "--token", &token]);
        assert_eq!(s.count("claim").await, 0, "the reset committed");
        let v = s.atdm(&["-o", "json", "audit", &run_id]).ok().json();
        assert_eq!(
            actions(&v["pending"]),
            ["reset_started", "reset_completed"],
            "{}",
            v["pending"]
        );
        assert!(!actions(&v["events"]).contains(&"reset_completed".to_owned()));
        assert_eq!(v["pending"][1]["outputs"]["deleted"]["claim"], 1);
        // That command wrote them as it finished: the trail is whole, nothing is pending.
        let v = s.atdm(&["-o", "json", "audit", &run_id]).ok().json();
        assert!(v.get("pending").is_none(), "{}", v["pending"]);
        let trail = actions(&v["events"]);
        assert_eq!(
            trail[trail.len() - 2..],
            ["reset_started", "reset_completed"],
            "{trail:?}"
        );

        // A request killed after its seed committed: the rows are there, and so will be the
        // record of them (the token died with the process; the lease reaps the run).
        kill_after_commit(&s, &["request", "claim_denial_active_member"]);
        assert_eq!(s.count("claim").await, 1, "the seed committed");
        // Read from the catalog directly: any engine command would write the outbox out.
        let catalog = match s.db.kind {
            Kind::Postgres => "atdm.runs",
            _ => "atdm_runs",
        };
        let run_id =
            s.db.text(&format!(
                "SELECT run_id FROM {catalog} WHERE status = 'ready'"
            ))
            .await
            .expect("the killed request's run");
        let human = s.atdm(&["audit", &run_id]).ok().stdout;
        assert!(
            human.contains("1 events are not in the audit store yet"),
            "{human}"
        );
        assert!(
            human
                .lines()
                .any(|l| l.contains("seed_completed") && l.contains("ok (pending)")),
            "{human}"
        );
        let v = s.atdm(&["-o", "json", "audit", &run_id]).ok().json();
        assert!(v.get("pending").is_none(), "{}", v["pending"]);
        let trail = actions(&v["events"]);
        assert!(trail.contains(&"seed_completed".to_owned()), "{trail:?}");

        // A baseline restore killed after its commit (the run's rows, seeded after the
        // snapshot, are gone); its strategy run id is only in the outbox by then.
        s.atdm(&["baseline", "snapshot", "--id", "before-kill"])
            .ok();
        s.request("claim_denial_active_member", &[]);
        kill_after_commit(&s, &["baseline", "restore", "before-kill"]);
        assert_eq!(s.count("claim").await, 1, "the restore committed");
        let outbox = match s.db.kind {
            Kind::Postgres => "atdm.outbox",
            _ => "atdm_outbox",
        };
        let strategy_run =
            s.db.text(&format!("SELECT run_id FROM {outbox}"))
                .await
                .expect("the restore's record waits in the outbox");
        assert!(
            strategy_run.starts_with("strategy-restore-"),
            "{strategy_run}"
        );
        let v = s.atdm(&["-o", "json", "audit", &strategy_run]).ok().json();
        assert_eq!(actions(&v["pending"]), ["restore_completed"]);
        assert_eq!(actions(&v["events"]), ["restore_started"]);
        let v = s.atdm(&["-o", "json", "audit", &strategy_run]).ok().json();
        assert_eq!(
            actions(&v["events"]),
            ["restore_started", "restore_completed"]
        );
        s.done().await;
    }
}
