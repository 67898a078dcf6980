"""Masking from Python: a suggested rules file, a refusal that writes nothing, and a
verified copy whose bytes depend only on the source, the rules and the key."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import atdm


def _source(path: Path) -> str:
    c = sqlite3.connect(path)
    c.executescript(
        "CREATE TABLE patient (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL,"
        " email TEXT NOT NULL UNIQUE, ssn TEXT, visit DATE NOT NULL);"
    )
    c.executemany(
        "INSERT INTO patient VALUES (?, ?, ?, ?, ?)",
        [
            (i, f"Aiko Tanaka{i}", f"aiko.tanaka{i}@clinic.example", f"{100 + i:03d}-45-{6000 + i}",
             f"2025-0{1 + i % 9}-1{i % 9}")
            for i in range(1, 41)
        ],
    )
    c.commit()
    c.close()
    return f"sqlite://{path}"


def test_mask_suggests_refuses_and_writes_the_same_bytes_for_the_same_key(
    engine: atdm.Engine, tmp_path: Path
) -> None:
    source = _source(tmp_path / "src.sqlite")
    suggested = atdm.suggest_mask_rules(source)
    assert "[tables.patient]" in suggested and 'email = "email"' in suggested
    assert "aiko" not in suggested.lower()
    rules = tmp_path / "rules.toml"
    rules.write_text(suggested)

    partial = tmp_path / "partial.toml"
    partial.write_text('[tables.patient]\nemail = "email"\n')
    with pytest.raises(atdm.UnmaskedSensitive, match="patient.ssn"):
        engine.mask(source, str(tmp_path / "never"), partial, key="sixteen chars or more")
    assert not (tmp_path / "never").exists()
    with pytest.raises(atdm.InvalidMask, match="at least 16"):
        engine.mask(source, str(tmp_path / "never"), rules, key="short")

    key = "a key of more than sixteen characters"
    one = engine.mask(source, str(tmp_path / "one"), rules, key=key, verify=True)
    assert one["verification"]["passed"], one["verification"]
    assert one["tables"][0]["rows"] == 40
    two = engine.mask(source, str(tmp_path / "two"), rules, key=key)
    assert [t["sha256"] for t in one["tables"]] == [t["sha256"] for t in two["tables"]]
    other = engine.mask(source, str(tmp_path / "other"), rules, key=key + "!")
    assert [t["sha256"] for t in one["tables"]] != [t["sha256"] for t in other["tables"]]

    emails = pq.read_table(tmp_path / "one" / "patient.parquet").column("email").to_pylist()
    assert len(set(emails)) == 40
    assert not any("aiko.tanaka" in e for e in emails)
    trail = engine.audit(one["audit_run_id"])
    assert any(e["action"] == "mask_completed" for e in trail["events"])
    assert "aiko" not in str(trail).lower() and key not in str(trail)
