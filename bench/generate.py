#!/usr/bin/env python3
"""Generation speed of `atdm generate` beside mimesis and tpchgen-cli, in one run.

    cargo build --release -p atdm-cli
    cargo build --release -p atdm-examples --example generate_rows
    python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install mimesis tpchgen-cli
    /tmp/benchvenv/bin/python bench/generate.py [--repeat 5] [--callgrind]

Measures, each REPEAT times, and reports medians (the machine is shared: CPU seconds, not wall
time, are compared, and callgrind's instruction counts when asked):

- atdm, in memory: the 11-column user table (bench/users) into Arrow batches, one thread
  (examples/generate_rows), rows per CPU-second;
- mimesis, in memory: the same 11 columns as Python values, rows per CPU-second;
- atdm to CSV: `atdm generate --format csv --threads 1`, rows per CPU-second;
- tpchgen-cli to CSV: its lineitem table (16 columns), one thread, rows per CPU-second;
- scaling: the in-memory generation with 1 and 2 threads, wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "target" / "release" / "examples" / "generate_rows"
ATDM = ROOT / "target" / "release" / "atdm"
USERS = ROOT / "bench" / "users"


def child_cpu(cmd: list[str], **kw) -> tuple[float, float, subprocess.CompletedProcess]:
    """Runs `cmd`; returns its CPU seconds (user + system), wall seconds and result."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, check=True, **kw)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, r


def atdm_memory(rows: int, threads: int = 1) -> tuple[float, float]:
    cpu, wall, _ = child_cpu(
        [str(EXAMPLE), str(USERS), "app_user", str(rows), str(threads)],
        stdout=subprocess.DEVNULL,
    )
    return rows / cpu, wall


def atdm_csv(rows: int, out: Path) -> float:
    cpu, _, _ = child_cpu(
        [str(ATDM), "--scenario-dir", str(USERS), "--reference-date", "2026-06-01",
         "generate", "--rows", f"app_user={rows}", "--format", "csv", "--threads", "1",
         "--out", str(out), "--force", "-o", "json"],
        stdout=subprocess.DEVNULL,
    )
    return rows / cpu


def tpchgen_csv(scale: float, out: Path) -> float:
    tpchgen = shutil.which("tpchgen-cli", path=str(Path(sys.executable).parent))
    cpu, _, _ = child_cpu(
        [tpchgen, "csv", "-s", str(scale), "-T", "lineitem", "-n", "1", "--overwrite",
         "-o", str(out), "-q"],
    )
    path = out / "lineitem.csv"
    with path.open("rb") as f:
        rows = sum(1 for _ in f) - 1
    return rows / cpu


def mimesis_memory(rows: int) -> float:
    from mimesis import Address, Cryptographic, Datetime, Person
    from mimesis.locales import Locale

    person, address = Person(Locale.EN, seed=7), Address(Locale.EN, seed=7)
    dt, crypto = Datetime(seed=7), Cryptographic(seed=7)
    statuses = ["active", "suspended", "deleted", "invited"]
    import random

    rnd = random.Random(7)
    t0 = time.process_time()
    out = []
    for i in range(rows):
        out.append((
            crypto.uuid(),
            person.first_name(),
            person.last_name(),
            person.email(unique=False),
            person.telephone(),
            f"{address.street_number()} {address.street_name()}",
            address.city(),
            address.postal_code(),
            dt.date(start=1936, end=2008),
            dt.datetime(start=2020, end=2026),
            rnd.choice(statuses),
        ))
    cpu = time.process_time() - t0
    assert len(out) == rows
    return rows / cpu


def instructions(rows: int) -> int:
    r = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         str(EXAMPLE), str(USERS), "app_user", str(rows), "1"],
        capture_output=True, text=True, check=True,
    )
    m = re.search(r"Collected\s*:\s*(\d+)", r.stderr)
    assert m, r.stderr[-2000:]
    return int(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--mimesis-rows", type=int, default=50_000)
    ap.add_argument("--tpch-scale", type=float, default=0.1)
    ap.add_argument("--callgrind", action="store_true")
    a = ap.parse_args()
    for p in (EXAMPLE, ATDM):
        if not p.exists():
            sys.exit(f"{p} is missing: cargo build --release -p atdm-cli, then"
                     " cargo build --release -p atdm-examples --example generate_rows")
    samples: dict[str, list[float]] = {k: [] for k in
        ["atdm_memory", "mimesis_memory", "atdm_csv", "tpchgen_csv", "wall_1_thread", "wall_2_threads"]}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for _ in range(a.repeat):
            rate, wall1 = atdm_memory(a.rows, 1)
            samples["atdm_memory"].append(rate)
            samples["wall_1_thread"].append(wall1)
            _, wall2 = atdm_memory(a.rows, 2)
            samples["wall_2_threads"].append(wall2)
            samples["mimesis_memory"].append(mimesis_memory(a.mimesis_rows))
            samples["atdm_csv"].append(atdm_csv(a.rows, tmp / "atdm"))
            samples["tpchgen_csv"].append(tpchgen_csv(a.tpch_scale, tmp / "tpch"))
    med = {k: statistics.median(v) for k, v in samples.items()}
    report = {
        "rows": a.rows,
        "repeat": a.repeat,
        "median": med,
        "samples": samples,
        "atdm_over_mimesis": med["atdm_memory"] / med["mimesis_memory"],
        "atdm_csv_over_tpchgen_csv": med["atdm_csv"] / med["tpchgen_csv"],
        "scaling_2_threads": med["wall_1_thread"] / med["wall_2_threads"],
    }
    if a.callgrind:
        n = 100_000
        report["instructions_per_row"] = (instructions(n) - instructions(0)) / n
    print(f"{'measure':<28}{'median':>14}   samples")
    for k, v in samples.items():
        unit = "s" if k.startswith("wall") else "rows/CPU-s"
        print(f"{k:<28}{med[k]:>14,.0f}   {', '.join(f'{x:,.0f}' if unit != 's' else f'{x:.3f}' for x in v)} ({unit})")
    print(f"atdm / mimesis (in memory, per CPU-second): {report['atdm_over_mimesis']:.1f}x")
    print(f"atdm CSV / tpchgen-cli CSV lineitem (per CPU-second): {report['atdm_csv_over_tpchgen_csv']:.2f}x")
    print(f"2 threads / 1 thread (wall): {report['scaling_2_threads']:.2f}x")
    if "instructions_per_row" in report:
        print(f"instructions per row (callgrind, in memory): {report['instructions_per_row']:,.0f}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
