//! Coverage from the audit trail, on every backend: a seeded request covers its scenario,
//! the knob values it used and the requirement ids it links; a dry run, a refused request and
//! a volume load cover nothing; requirement ids no scenario links and values never used are
//! listed; the figure follows; the page opens in a real browser and names what is missing.

mod support;

use atdm_core::coverage::{Outcome, render_html};
use atdm_core::domains::healthcare;
use atdm_sqlx::{Engine, Load, Request};
use support::browser::{browser, open_page, temp_dir};
use support::{TestDb, d};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_runs_cover_and_the_rest_is_reported() {
    let mut pages = Vec::new();
    for db in TestDb::all().await {
        let kind = db.kind;
        let store = temp_dir("coverage-store");
        let e = Engine::builder(healthcare::pack())
            .database_url(&db.url)
            .store_url(format!("file://{}", store.display()))
            .reference_date(d())
            .connect()
            .await
            .unwrap();
        let wanted = ["FR-001".to_owned(), "FR-404".to_owned()];
        let before = e.coverage(&wanted).await.unwrap();
        assert_eq!((before.runs.total, before.covered), (0, 0), "{kind:?}");

        let seeded = e
            .request(
                "claim_denial_active_member",
                Request::new().constraint("provider_network", "in_network"),
            )
            .await
            .unwrap();
        e.plan("expired_eligibility", Request::new()).await.unwrap();
        e.request(
            "active_member_clean",
            Request::new().constraint("member_status", "bogus"),
        )
        .await
        .unwrap_err();
        let loaded = e
            .load(
                Load::new([("plan".to_owned(), 3)].into_iter().collect()),
                &|_| {},
            )
            .await
            .unwrap();

        let r = e.coverage(&wanted).await.unwrap();
        assert_eq!(
            (
                r.runs.total,
                r.runs.seeded,
                r.runs.dry_runs,
                r.runs.rejected
            ),
            (3, 1, 1, 1),
            "{kind:?}: the load is not a scenario run"
        );
        let s = |id: &str| r.scenarios.iter().find(|s| s.id == id).unwrap();
        let denial = s("claim_denial_active_member");
        assert_eq!(denial.runs.seeded, 1);
        let last = denial.last_run.as_ref().unwrap();
        assert_eq!(
            (last.run_id.as_str(), last.outcome),
            (seeded.run_id.as_str(), Outcome::Seeded)
        );
        let network = denial
            .knobs
            .iter()
            .find(|k| k.knob == "provider_network")
            .unwrap();
        let used = |v: &str| {
            network
                .values
                .iter()
                .find(|x| x.value == v)
                .unwrap()
                .seeded_runs
        };
        assert_eq!(
            (used("in_network"), used("out_of_network")),
            (1, 0),
            "{kind:?}"
        );
        assert!(
            r.gaps
                .knob_values_never_requested
                .iter()
                .any(|n| n.scenario == "claim_denial_active_member"
                    && n.knob == "provider_network"
                    && n.value == "out_of_network")
        );
        assert_eq!(s("expired_eligibility").runs.dry_runs, 1);
        assert_eq!(s("active_member_clean").runs.rejected, 1);
        for never in ["expired_eligibility", "active_member_clean"] {
            assert!(
                r.gaps.scenarios_never_seeded.iter().any(|x| x == never),
                "{never}"
            );
        }
        let q = |id: &str| r.requirements.iter().find(|q| q.id == id).unwrap();
        assert!(q("FR-001").covered && q("FR-005").covered);
        assert!(!q("FR-404").covered);
        assert_eq!(r.gaps.requirements_without_scenario, ["FR-404"]);
        assert!(r.covered > before.covered && r.covered < r.items);
        assert!(r.coverage > 0.0 && r.coverage < 100.0);

        // Resetting a run does not undo what it exercised.
        e.reset_run(&seeded.run_id, seeded.token.expose())
            .await
            .unwrap();
        e.reset_run(&loaded.run_id, loaded.token.expose())
            .await
            .unwrap();
        assert_eq!(e.coverage(&wanted).await.unwrap().covered, r.covered);
        pages.push((kind, render_html(&r)));
        e.close().await;
        db.drop_db().await;
        let _ = std::fs::remove_dir_all(store);
    }

    let (_, html) = &pages[0];
    assert!(html.contains("FR-404") && html.contains("out_of_network"));
    if let Some(b) = browser() {
        let dom = open_page(&b, html, "coverage-page");
        for id in ["coverage", "requirements", "scenarios", "gaps"] {
            assert!(dom.contains(&format!("id=\"{id}\"")), "no {id} in the DOM");
        }
        for needle in [
            "FR-404",
            "no scenario",
            "claim_denial_active_member",
            "Knob values never requested",
        ] {
            assert!(dom.contains(needle), "the page does not say {needle:?}");
        }
    }
}
