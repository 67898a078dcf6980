"""Whole datasets as Arrow record batches, for pipelines and distributed engines.

Row ``i`` of every table is a pure function of the seed, the table and ``i``, so any range of
rows can be made alone, in any process, on any machine, and the ranges concatenate to exactly
what one process (or ``atdm generate``) makes::

    import atdm

    rows = {"plan": 20, "member": 1_000_000, "provider": 5_000}
    for batch in atdm.generate_batches(rows, "member", 0, 250_000, seed=7, reference_date="2026-06-01"):
        ...  # a pyarrow.RecordBatch

See ``docs/generate.md`` for Spark (``mapInArrow``), Ray and Dask recipes.
"""

import datetime
import os
from typing import TYPE_CHECKING, Iterator, Mapping, Optional, Union

from atdm._atdm import generate_ipc, generate_ipc_batches, part_range

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow

_Date = Union[datetime.date, str]
_Path = Union[str, "os.PathLike[str]"]


def _ipc(
    rows: Mapping[str, int],
    table: str,
    start: int,
    stop: Optional[int],
    seed: int,
    reference_date: Optional[_Date],
    scenario_dir: Optional[_Path],
    batch_rows: int,
    edge_cases: str,
) -> bytes:
    """The rows as an Arrow IPC stream, with the defaults filled in."""
    if reference_date is None:
        reference_date = datetime.datetime.now(datetime.timezone.utc).date()
    return generate_ipc(
        dict(rows),
        table,
        start,
        stop,
        seed=seed,
        reference_date=reference_date,
        scenario_dir=scenario_dir,
        batch_rows=batch_rows,
        edge_cases=edge_cases,
    )


def generate_batches(
    rows: Mapping[str, int],
    table: str,
    start: int = 0,
    stop: Optional[int] = None,
    *,
    seed: int = 1,
    reference_date: Optional[_Date] = None,
    scenario_dir: Optional[_Path] = None,
    batch_rows: int = 65536,
    edge_cases: str = "none",
) -> Iterator["pyarrow.RecordBatch"]:
    """Rows ``start`` to ``stop`` (excluded; default: the table's end) of ``table`` in the
    dataset ``rows`` (table name to row count), as pyarrow record batches of at most
    ``batch_rows`` rows. Each batch is made when it is asked for, so memory holds one batch
    whatever the range; the range is checked at the call (an error is raised then, not at
    the first batch).

    ``reference_date`` (default: today, UTC) and ``seed`` decide the data: pass both
    explicitly when several processes make parts of one dataset. ``scenario_dir`` is a pack
    directory (as ``atdm introspect --out`` writes it); without it, the healthcare demo pack.
    ``edge_cases="valid"`` (or ``"dangerous"``, with attack payloads) ends every table with a
    row per edge case of its columns, as ``atdm generate --edge-cases`` does; the table's
    end is then after its edge rows.
    Raises :class:`atdm.InvalidDataset` for an unknown table, a range outside the table, or a
    dataset that cannot be made.
    """
    import pyarrow.ipc

    if reference_date is None:
        reference_date = datetime.datetime.now(datetime.timezone.utc).date()
    # One batch at a time: the range is checked now, each batch made when it is asked for.
    chunks = generate_ipc_batches(
        dict(rows),
        table,
        start,
        stop,
        seed=seed,
        reference_date=reference_date,
        scenario_dir=scenario_dir,
        batch_rows=batch_rows,
        edge_cases=edge_cases,
    )

    def batches() -> Iterator["pyarrow.RecordBatch"]:
        for data in chunks:
            yield from pyarrow.ipc.open_stream(data)

    return batches()


def generate_table(
    rows: Mapping[str, int],
    table: str,
    start: int = 0,
    stop: Optional[int] = None,
    *,
    seed: int = 1,
    reference_date: Optional[_Date] = None,
    scenario_dir: Optional[_Path] = None,
    edge_cases: str = "none",
) -> "pyarrow.Table":
    """The rows of :func:`generate_batches` as one pyarrow table."""
    import pyarrow.ipc

    data = _ipc(rows, table, start, stop, seed, reference_date, scenario_dir, 65536, edge_cases)
    return pyarrow.ipc.open_stream(data).read_all()


__all__ = ["generate_batches", "generate_table", "part_range"]
