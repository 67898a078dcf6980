"""The engine from Python: the lifecycle, every error as its own exception, threads, results
as plain values, baselines, the audit trail and the metrics."""

from __future__ import annotations

import datetime
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import atdm

from conftest import REFERENCE_DATE


def test_request_and_reset_give_plain_values_and_remove_exactly(engine: atdm.Engine) -> None:
    run = engine.request(
        "claim_denial_active_member",
        {"provider_network": "in_network"},
        playwright=True,
        pytest=True,
    )
    assert run["status"] == "ready"
    assert run["scenario"] == "claim_denial_active_member"
    assert run["reference_date"] == REFERENCE_DATE
    assert isinstance(run["seed"], int)
    assert set(run["data"]) >= {"member_id", "claim_id", "provider_id"}
    assert run["rows"]["claim"] == 1
    assert len(run["token"]) >= 40
    json.dumps(run)  # plain values only
    files = [Path(f) for f in run["fixtures"]]
    assert len(files) == 2 and all(f.exists() for f in files)
    assert all(f.stat().st_mode & 0o077 == 0 for f in files), "owner only"

    with pytest.raises(atdm.TokenMismatch) as wrong:
        engine.reset_run(run["run_id"], "not-the-token")
    assert wrong.value.code == "TOKEN_MISMATCH"
    assert wrong.value.run_id == run["run_id"]
    assert isinstance(wrong.value, atdm.AtdmError)

    report = engine.reset_run(run["run_id"], run["token"])
    assert report["run_id"] == run["run_id"] and report["status"] == "cleaned"
    assert {t: report["deleted"][t] for t in ("provider", "member", "eligibility", "claim")} == {
        "provider": 1,
        "member": 1,
        "eligibility": 1,
        "claim": 1,
    }
    assert report["deleted"]["procedure_code"] == 0, "reference rows stay"
    assert not any(f.exists() for f in files), "fixture files go with the run"
    assert engine.reset_run(run["run_id"], run["token"])["status"] == "already_cleaned"

    trail = engine.audit(run["run_id"])
    actions = [e["action"] for e in trail["events"]]
    assert actions[:5] == [
        "request_received",
        "plan_resolved",
        "validators_passed",
        "seed_started",
        "seed_completed",
    ]
    assert actions[-1] == "reset_completed"
    assert all(e["invoker"] == "pytest" for e in trail["events"])
    page = engine.audit_html(run["run_id"])
    assert run["run_id"] in page and "<html" in page.lower()
    assert run["token"] not in page


def test_every_engine_error_is_its_own_exception(engine: atdm.Engine, tmp_path: Path) -> None:
    with pytest.raises(atdm.ScenarioNotFound, match="claim_denial_active_member"):
        engine.request("claim_denial_active_membr")
    with pytest.raises(atdm.InvalidConstraint, match="'active', 'inactive'") as e:
        engine.request("active_member_clean", {"member_status": "zombie"})
    assert e.value.code == "INVALID_CONSTRAINT"
    with pytest.raises(atdm.ValidatorRejected) as rejected:
        engine.request("active_member_clean", {"member_status": "inactive"})
    assert rejected.value.code == "VALIDATOR_REJECTED"
    assert rejected.value.failures and all("validator" in f for f in rejected.value.failures)
    assert rejected.value.run_id, "a rejection names its run"
    trail = engine.audit(rejected.value.run_id)
    assert trail["events"][-1]["action"] == "plan_rejected"
    with pytest.raises(atdm.RunNotFound):
        engine.reset_run("01JNOSUCHRUN0000000000000", "x")
    with pytest.raises(atdm.ConfirmRequired):
        engine.reset_all()
    with pytest.raises(atdm.NoBaseline):
        engine.restore()
    with pytest.raises(atdm.InvalidUrl):
        atdm.Engine(database_url="oracle://nope", store_url=str(tmp_path / "s"))
    with pytest.raises(TypeError, match='constraint "member_status": a value of type object'):
        engine.request("active_member_clean", {"member_status": object()})
    with pytest.raises(ValueError, match="not a date"):
        engine.request("active_member_clean", reference_date="yesterday")
    assert engine.runs() == [], "nothing was written by any of it"


def test_baselines_snapshot_restore_list(engine: atdm.Engine) -> None:
    first = engine.request("active_member_clean")
    manifest = engine.snapshot("before", tags={"ticket": "QA-1"})
    assert manifest["id"] == "before" and manifest["tags"] == {"ticket": "QA-1"}
    engine.request("claim_denial_active_member")
    with pytest.raises(atdm.BaselineNotFound, match="before"):
        engine.restore("befor")
    report = engine.restore()
    assert report["baseline_id"] == "before"
    assert [r["run_id"] for r in engine.runs()] == [first["run_id"]]
    assert [b["id"] for b in engine.list_baselines()] == ["before"]
    engine.snapshot("after")
    diff = engine.diff_baselines("before", "after")
    assert diff["from"] == "before" and all(t["added"] == 0 for t in diff["tables"])


def test_one_engine_serves_many_threads(engine: atdm.Engine) -> None:
    def lifecycle(i: int) -> str:
        run = engine.request("claim_denial_active_member", seed=i)
        engine.reset_run(run["run_id"], run["token"])
        return run["run_id"]

    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = list(pool.map(lifecycle, range(32)))
    finally:
        stop.set()
        spinner.join()
    assert len(set(ids)) == 32
    assert all(r["status"] == "cleaned" for r in engine.runs())
    assert ticks > 0


def test_scenarios_are_described_and_found_by_intent(engine: atdm.Engine) -> None:
    ids = [s["id"] for s in engine.scenarios()]
    assert "claim_denial_active_member" in ids
    d = engine.describe("claim_denial_active_member")
    assert any(k["name"] == "provider_network" for k in d["knobs"])
    found = engine.find_scenarios("a member whose claim was denied because coverage ended")
    assert found[0]["id"] == "expired_eligibility"
    assert engine.find_scenarios("") == []


def test_plan_is_a_dry_run(engine: atdm.Engine) -> None:
    result = engine.plan("claim_denial_active_member", seed=7, reference_date=datetime.date(2026, 6, 1))
    assert result["plan"]["seed"] == 7
    assert "schema.foreign_keys" in result["validators"]
    assert engine.runs() == []


def test_plan_explains_where_every_value_came_from(engine: atdm.Engine) -> None:
    result = engine.plan(
        "claim_denial_active_member",
        {"denial_reason": "not covered"},
        seed=7,
        reference_date=datetime.date(2026, 6, 1),
        explain=True,
    )
    tables = {t["table"]: t for t in result["plan"]["tables"]}
    claim = tables["claim"]
    assert len(claim["sources"]) == len(claim["rows"])
    for table in tables.values():
        for row, sources in zip(table["rows"], table["sources"]):
            assert len(sources) == len(row) and all("from" in s for s in sources)
    source = dict(zip(claim["columns"], claim["sources"][0]))
    assert source["denial_reason"] == {"from": "knob", "knob": "denial_reason", "caller": True}
    assert source["member_id"] == {
        "from": "reference", "alias": "member", "table": "member", "row": 0, "column": "member_id"
    }
    # Without explain, no sources, and the same rows.
    plain = engine.plan(
        "claim_denial_active_member",
        {"denial_reason": "not covered"},
        seed=7,
        reference_date=datetime.date(2026, 6, 1),
    )
    assert all("sources" not in t for t in plain["plan"]["tables"])
    assert engine.runs() == []


def test_requests_take_edge_cases(engine: atdm.Engine) -> None:
    run = engine.request("claim_denial_active_member", edge_cases="valid")
    assert sum(len(v) for v in run["edge_cases"].values()) > 20
    assert run["rows"]["member"] > 1
    assert run["negative"] and all(c["validity"] == "invalid" for c in run["negative"])
    plan = engine.plan("claim_denial_active_member", edge_cases="valid", explain=True)["plan"]
    assert plan["edge_rows"] and any(
        s.get("from") == "edge" for t in plan["tables"] for row in t["sources"] for s in row
    )
    with pytest.raises(ValueError, match="edge_cases must be"):
        engine.request("claim_denial_active_member", edge_cases="yes")
    engine.reset_run(run["run_id"], run["token"])
    assert engine.coverage()["edge_coverage"] > 0


def test_coverage_counts_seeded_runs(engine: atdm.Engine) -> None:
    before = engine.coverage(["FR-404"])
    assert before["covered"] == 0 and before["gaps"]["requirements_without_scenario"] == ["FR-404"]
    run = engine.request("active_member_clean")
    report = engine.coverage(["FR-404"])
    assert report["runs"]["seeded"] == 1
    assert 0 < report["coverage"] < 100 and report["covered"] > 0
    assert "active_member_clean" not in report["gaps"]["scenarios_never_seeded"]
    page = engine.coverage_html()
    assert page.startswith("<!DOCTYPE html>") and 'id="coverage"' in page
    engine.reset_run(run["run_id"], run["token"])


def test_metrics_are_prometheus_text(engine: atdm.Engine) -> None:
    run = engine.request("active_member_clean")
    engine.reset_run(run["run_id"], run["token"])
    text = engine.metrics_text()
    assert 'atdm_requests_total{scenario="active_member_clean",status="ok"} 1' in text
    assert "atdm_audit_events_dropped_total 0" in text


def test_the_lifecycle_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    e = atdm.Engine(
        database_url=postgres_url,
        store_url=str(tmp_path / "store"),
        reference_date=REFERENCE_DATE,
        pack="healthcare",
    )
    try:
        run = e.request("claim_denial_active_member")
        assert e.reset_run(run["run_id"], run["token"])["deleted"]["claim"] == 1
        with pytest.raises(atdm.TokenMismatch):
            e.reset_run(run["run_id"], "wrong")
    finally:
        e.close()


def test_a_large_count_is_streamed_and_reset_exactly(tmp_path: Path) -> None:
    """An entry of 10,000 rows or more that nothing refers to is made a batch at a time: the
    result gives its table and count, not its keys, and the reset removes every row."""
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "schema.toml").write_text(
        'name = "users"\n'
        "[[tables]]\n"
        'name = "app_user"\n'
        'primary_key = ["user_id"]\n'
        'unique = [["email"]]\n'
        "columns = [\n"
        '  { name = "user_id", type = "bigint", generated = "identity" },\n'
        '  { name = "email", type = "varchar(80)" },\n'
        '  { name = "city", type = "varchar(40)" },\n'
        "]\n"
    )
    (pack / "many.toml").write_text(
        'id = "many_users"\n'
        'description = "Many users."\n'
        "[knobs.users]\n"
        'type = "integer"\n'
        "default = 12000\n"
        "[[rows]]\n"
        'alias = "user"\n'
        'table = "app_user"\n'
        'count = "{users}"\n'
    )
    e = atdm.Engine(
        database_url=f"sqlite://{tmp_path}/atdm.sqlite",
        scenario_dir=pack,
        store_url=str(tmp_path / "store"),
        reference_date=REFERENCE_DATE,
    )
    try:
        run = e.request("many_users")
        assert run["data"]["user"] == {"table": "app_user", "rows": 12000}
        assert run["rows"] == {"app_user": 12000}
        with pytest.raises(TypeError, match="streamed entry"):
            atdm.SeededRun(run).keys("user")
        report = e.reset_run(run["run_id"], run["token"])
        assert report["deleted"] == {"app_user": 12000}
    finally:
        e.close()
