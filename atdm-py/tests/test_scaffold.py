"""Your own database from Python: atdm.introspect writes a scenario directory that
Engine(scenario_dir=...) loads as it is; without one, a database other than the embedded
default gets nothing (NoScenarioDir, raised before connecting)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import atdm

SHOP = """
CREATE TABLE team (team_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE player (
  player_id TEXT PRIMARY KEY,
  team_id TEXT NOT NULL REFERENCES team (team_id),
  shirt INTEGER NOT NULL CHECK (shirt BETWEEN 1 AND 99),
  mentor_id TEXT REFERENCES player (player_id)
);
INSERT INTO team VALUES ('t1', 'Existing Team');
"""


def _shop(tmp_path: Path) -> str:
    con = sqlite3.connect(tmp_path / "shop.sqlite")
    con.executescript(SHOP)
    con.close()
    return f"sqlite://{tmp_path}/shop.sqlite"


def _rows(tmp_path: Path) -> dict[str, list[list[object]]]:
    """Every row of the shop, read in another process: two copies of SQLite in one process (the
    sqlite3 module's and the engine's) must not open one database file together."""
    script = (
        "import json, sqlite3, sys\n"
        "con = sqlite3.connect(sys.argv[1])\n"
        "print(json.dumps({t: sorted(map(list, con.execute(f'SELECT * FROM {t}')), key=str)"
        " for t in ('team', 'player')}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "shop.sqlite")],
        check=True,
        capture_output=True,
        text=True,
    )
    rows: dict[str, list[list[object]]] = json.loads(out.stdout)
    return rows


def test_introspect_writes_a_directory_the_engine_loads(tmp_path: Path) -> None:
    db = _shop(tmp_path)
    out = tmp_path / "scenarios"
    report = atdm.introspect(db, out)
    assert report["files"] == ["schema.toml", "every_table.toml", "one_team.toml", "one_player.toml"]
    assert report["scenarios"] == ["every_table", "one_team", "one_player"]
    assert report["tables"] == 2 and report["left_out"] == [] and report["other_files"] == []
    assert report["dir"] == str(out)
    assert (out / "every_table.toml").read_text().startswith("# every_table: one row in every table")

    with pytest.raises(atdm.FilesExist, match="schema.toml") as exists:
        atdm.introspect(db, out)
    assert exists.value.code == "FILES_EXIST"
    assert atdm.introspect(db, out, name="shop", force=True)["files"][0] == "schema.toml"
    assert 'name = "shop"' in (out / "schema.toml").read_text()
    # SQLite has one schema: a choice of schemas reads it anyway, and says so.
    chosen = atdm.introspect(db, out, name="shop", force=True, schemas=["sales"])
    assert chosen["tables"] == 2 and any("sales were asked for" in n for n in chosen["notes"])

    before = _rows(tmp_path)
    e = atdm.Engine(db, str(tmp_path / "store"), scenario_dir=out, reference_date="2026-06-01")
    try:
        for _ in range(3):
            run = e.request("every_table")
            assert run["rows"] == {"player": 1, "team": 1}
            assert len(_rows(tmp_path)["player"]) == 1
            assert e.reset_run(run["run_id"], run["token"])["status"] == "cleaned"
            assert _rows(tmp_path) == before
    finally:
        e.close()


def test_without_a_scenario_directory_another_database_gets_nothing(tmp_path: Path) -> None:
    db = f"sqlite://{tmp_path}/app/app.sqlite"
    with pytest.raises(atdm.NoScenarioDir, match="atdm introspect --database-url") as e:
        atdm.Engine(db, str(tmp_path / "store"))
    assert e.value.code == "NO_SCENARIO_DIR"
    assert "scenario_dir=" in str(e.value)
    assert not (tmp_path / "app").exists(), "no database file was made"
    assert not (tmp_path / "store").exists(), "no store was made"
    with pytest.raises(atdm.UnknownPack, match="healthcare"):
        atdm.Engine(db, str(tmp_path / "store"), pack="retail")
    # Asked for by name, the demo pack is used there.
    named = atdm.Engine(db, str(tmp_path / "store"), pack="healthcare")
    assert "healthcare" in repr(named)
    named.close()


def test_without_a_scenario_directory_postgresql_gets_nothing(postgres_url: str, tmp_path: Path) -> None:
    with pytest.raises(atdm.NoScenarioDir):
        atdm.Engine(database_url=postgres_url, store_url=str(tmp_path / "store"))
    tables = subprocess.run(
        [
            "psql",
            postgres_url,
            "-tAc",
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert tables.stdout.strip() == "0"
    assert not (tmp_path / "store").exists()


def test_the_plugin_asks_for_a_scenario_directory_on_another_database(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makeini(
        f"""
        [pytest]
        atdm_database_url = sqlite://{tmp_path}/other.sqlite
        atdm_store_url = {tmp_path}/store
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.atdm_scenario("active_member_clean")
        def test_needs_data(atdm_data):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*NoScenarioDir*"])
    assert not (tmp_path / "other.sqlite").exists()
