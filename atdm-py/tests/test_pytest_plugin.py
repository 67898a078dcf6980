"""The pytest plugin, run in real pytest subprocesses (pytester): it loads from its entry point
with no conftest, seeds before and resets after (also when the test fails or errors), passes
--strict-markers, explains a missing marker, and keeps pytest-xdist workers apart."""

from __future__ import annotations

from pathlib import Path

import pytest

import atdm

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _configure(pytester: pytest.Pytester, tmp_path: Path) -> str:
    db = f"sqlite://{tmp_path}/plugin.sqlite"
    pytester.makeini(
        f"""
        [pytest]
        atdm_database_url = {db}
        atdm_pack = healthcare
        atdm_store_url = {tmp_path}/store
        atdm_reference_date = 2026-06-01
        """
    )
    return db


def _runs(db: str, tmp_path: Path) -> list:
    e = atdm.Engine(database_url=db, store_url=str(tmp_path / "store"), pack="healthcare")
    try:
        return e.runs()
    finally:
        e.close()


def test_marker_and_fixture_seed_and_reset_even_when_the_test_fails(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    db = _configure(pytester, tmp_path)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.atdm_scenario("claim_denial_active_member", constraints={"provider_network": "in_network"})
        def test_passes(atdm_data):
            assert atdm_data["data"]["member_id"]
            assert atdm_data.key("member_id") == atdm_data.data["member_id"]
            assert atdm_data.keys("member_id") == [atdm_data.key("member_id")]
            assert atdm_data.scenario == atdm_data["scenario"] == "claim_denial_active_member"
            assert atdm_data.edge_cases == {}

        @pytest.mark.atdm_scenario("claim_denial_active_member", edge_cases="valid")
        def test_edges(atdm_data):
            assert sum(len(v) for v in atdm_data.edge_cases.values()) > 20
            assert atdm_data.rows["member"] > 1

        @pytest.mark.atdm_scenario("active_member_clean")
        def test_fails(atdm_data):
            assert False, "the test's own failure"

        @pytest.fixture
        def broken():
            raise RuntimeError("setup error after seeding")

        @pytest.mark.atdm_scenario("active_member_clean")
        def test_errors(atdm_data, broken):
            pass
        """
    )
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1, errors=1)
    runs = _runs(db, tmp_path)
    assert len(runs) == 4
    assert all(r["status"] == "cleaned" for r in runs), runs
    assert {r["invoker"].split("::")[-1] for r in runs} == {"test_passes", "test_edges", "test_fails", "test_errors"}


def test_the_fixture_without_the_marker_is_a_usage_error(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    _configure(pytester, tmp_path)
    pytester.makepyfile(
        """
        def test_forgot_the_marker(atdm_data):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*atdm_scenario*"])


def test_misuse_and_engine_errors_fail_with_the_message_alone(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    _configure(pytester, tmp_path)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.atdm_scenario("claim_denial_active_member")
        @pytest.mark.atdm_scenario("active_member_clean")
        def test_two_markers(atdm_data):
            pass

        @pytest.mark.atdm_scenario("claim_denial_active_membr")
        def test_misspelt(atdm_data):
            pass

        @pytest.mark.atdm_scenario("active_member_clean")
        class TestClass:
            @pytest.mark.atdm_scenario("claim_denial_active_member")
            def test_own_marker_wins(self, atdm_data):
                assert atdm_data.scenario == "claim_denial_active_member"

        @pytest.mark.atdm_scenario("active_member_clean")
        def test_unknown_entity(atdm_data):
            atdm_data.key("no_such_key")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, errors=2)
    out = result.stdout.str()
    assert "has 2 atdm_scenario markers" in out
    assert "ScenarioNotFound [SCENARIO_NOT_FOUND]" in out and "claim_denial_active_member" in out
    assert "no entity 'no_such_key'; its keys are: " in out
    # The plugin's own source is not shown: only ATDM's message.
    assert "def atdm_data" not in out and "_scenario_marker" not in out, out


def test_command_line_options_win_and_the_header_says_what_is_used(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    _configure(pytester, tmp_path)
    other = tmp_path / "other.sqlite"
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.atdm_scenario("active_member_clean")
        def test_seeds(atdm_data):
            assert atdm_data.run_id
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--atdm-database-url=sqlite://{other}"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"atdm *: database sqlite://{other}, pack healthcare"])
    assert len(_runs(f"sqlite://{other}", tmp_path)) == 1


def test_a_test_longer_than_its_lease_keeps_its_run(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    db = _configure(pytester, tmp_path)
    pytester.makepyfile(
        """
        import time
        import pytest

        @pytest.mark.atdm_scenario("active_member_clean")
        def test_long(atdm_data, atdm_engine):
            assert atdm_engine.lease_seconds == 1.0
            time.sleep(2.5)
            # Past its first lease, the run is renewed: another reaper leaves it alone.
            reaped = [r["run_id"] for r in atdm_engine.reap_expired()]
            assert atdm_data.run_id not in reaped
            mine = [r for r in atdm_engine.runs() if r["run_id"] == atdm_data.run_id]
            assert mine[0]["status"] == "ready"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--atdm-lease-seconds=1")
    result.assert_outcomes(passed=1)
    runs = _runs(db, tmp_path)
    assert len(runs) == 1 and runs[0]["status"] == "cleaned", runs


def test_the_marker_is_registered(pytester: pytest.Pytester, tmp_path: Path) -> None:
    _configure(pytester, tmp_path)
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.atdm_scenario(name, constraints=None*"])


def test_xdist_workers_stay_apart(pytester: pytest.Pytester, tmp_path: Path) -> None:
    db = _configure(pytester, tmp_path)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("i", range(8))
        @pytest.mark.atdm_scenario("claim_denial_active_member")
        def test_own_rows(atdm_data, atdm_engine, i):
            mine = [r for r in atdm_engine.runs() if r["run_id"] == atdm_data["run_id"]]
            assert len(mine) == 1 and mine[0]["status"] == "ready"
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)
    runs = _runs(db, tmp_path)
    assert len(runs) == 8 and len({r["run_id"] for r in runs}) == 8
    assert all(r["status"] == "cleaned" for r in runs)
    workers = {r["invoker"] for r in runs}
    assert len(workers) == 8
