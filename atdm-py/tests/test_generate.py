"""Whole datasets from Python: any row range of any table as pyarrow batches, the parts
concatenating to the whole, the bytes the Rust front end pins, and a real distributed engine
(PySpark in local mode) making a table in parts whose union is the single-process table."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

import pyarrow as pa
import pytest

import atdm

REFERENCE_DATE = "2026-06-01"
RUST_TEST = Path(__file__).resolve().parents[2] / "atdm-sqlx" / "src" / "generate" / "tests.rs"
ROWS = {"plan": 5, "member": 1000, "provider": 50, "claim": 3000}


@pytest.mark.parametrize("edge_cases,pin", [("none", "PINNED_DATASET"), ("valid", "PINNED_EDGE_DATASET")])
def test_python_makes_the_bytes_rust_pins(edge_cases: str, pin: str) -> None:
    m = re.search(rf'const {pin}: &str =\s*"([0-9a-f]{{64}})";', RUST_TEST.read_text())
    assert m, f"no {pin} in {RUST_TEST}"
    digest = hashlib.sha256()
    for table in ["member", "claim"]:
        digest.update(
            atdm._atdm.generate_ipc(
                ROWS, table, 0, None, seed=7, reference_date=REFERENCE_DATE, batch_rows=256,
                edge_cases=edge_cases,
            )
        )
    assert digest.hexdigest() == m.group(1)


def test_edge_cases_end_the_table() -> None:
    plain = atdm.generate_table(ROWS, "member", seed=2, reference_date=REFERENCE_DATE)
    edged = atdm.generate_table(ROWS, "member", seed=2, reference_date=REFERENCE_DATE, edge_cases="valid")
    assert plain.num_rows == 1000 and edged.num_rows > 1000
    assert edged.slice(0, 1000).equals(plain)
    zips = edged.slice(1000).column("address_zip").to_pylist()
    assert "" in zips, "the empty text is one of the edge rows"
    with pytest.raises(ValueError, match="edge_cases must be"):
        atdm.generate_table(ROWS, "member", reference_date=REFERENCE_DATE, edge_cases="all")


def test_parts_concatenate_to_the_whole_and_keys_resolve() -> None:
    whole = atdm.generate_table(ROWS, "claim", seed=3, reference_date=REFERENCE_DATE)
    assert whole.num_rows == 3000
    parts = [
        atdm.generate_table(ROWS, "claim", *atdm.part_range(3000, 7, k), seed=3, reference_date=REFERENCE_DATE)
        for k in range(7)
    ]
    assert pa.concat_tables(parts).equals(whole)
    batches = list(atdm.generate_batches(ROWS, "claim", 100, 2100, seed=3, reference_date=REFERENCE_DATE, batch_rows=500))
    assert [b.num_rows for b in batches] == [500, 500, 500, 500]
    assert pa.Table.from_batches(batches).equals(whole.slice(100, 2000))
    members = set(atdm.generate_table(ROWS, "member", seed=3, reference_date=REFERENCE_DATE).column("member_id").to_pylist())
    assert set(whole.column("member_id").to_pylist()) <= members


def test_a_dataset_that_cannot_be_made_raises_invalid_dataset() -> None:
    with pytest.raises(atdm.InvalidDataset, match="not within the 1000 rows"):
        atdm.generate_table(ROWS, "member", 0, 1001, reference_date=REFERENCE_DATE)
    with pytest.raises(atdm.InvalidDataset, match="give \"member\" a row count"):
        atdm.generate_table({"claim": 10}, "claim", reference_date=REFERENCE_DATE)
    with pytest.raises(ValueError, match="not one of the 3 parts"):
        atdm.part_range(10, 3, 3)


def test_pyspark_makes_a_table_in_parts_whose_union_is_the_whole() -> None:
    from pyspark.sql import SparkSession
    from pyspark.sql.pandas.types import from_arrow_schema

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    rows = {"plan": 5, "member": 20_000, "provider": 200}
    parts = 8
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("atdm-generate-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    try:
        ranges = spark.createDataFrame(
            [(k, *atdm.part_range(rows["member"], parts, k)) for k in range(parts)],
            "part int, start long, stop long",
        ).repartition(parts)
        whole = atdm.generate_table(rows, "member", seed=11, reference_date=REFERENCE_DATE)

        def make(batches):  # runs in Spark's Python workers
            import atdm as worker_atdm

            for b in batches:
                for start, stop in zip(b.column("start").to_pylist(), b.column("stop").to_pylist()):
                    yield from worker_atdm.generate_batches(
                        rows, "member", start, stop, seed=11, reference_date=REFERENCE_DATE
                    )

        df = ranges.mapInArrow(make, from_arrow_schema(whole.schema))
        assert df.rdd.getNumPartitions() == parts
        got = df.toArrow()
        assert got.num_rows == whole.num_rows
        assert got.sort_by("member_id").to_pylist() == whole.sort_by("member_id").to_pylist()
    finally:
        spark.stop()


def test_batches_are_made_when_asked_for() -> None:
    """A billion members: only the batches taken are made, and they are the table's rows."""
    rows = {"plan": 5, "member": 10**9}
    it = atdm.generate_batches(rows, "member", seed=3, reference_date=REFERENCE_DATE, batch_rows=1000)
    first, second = next(it), next(it)
    expected = atdm.generate_table(rows, "member", 0, 2000, seed=3, reference_date=REFERENCE_DATE)
    assert pa.Table.from_batches([first, second]).equals(expected)
    # The range is checked at the call, before any batch.
    with pytest.raises(atdm.InvalidDataset, match="not within the 1000 rows"):
        atdm.generate_batches(ROWS, "member", 0, 1001, reference_date=REFERENCE_DATE)
