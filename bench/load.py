#!/usr/bin/env python3
"""Loading generated rows into PostgreSQL, MariaDB and SQLite: `atdm generate --into`
(generation included) beside each database's native loader of the same rows from a file, in
one run.

    cargo build --release -p atdm-cli
    python3 bench/load.py [--rows 1000000] [--repeat 3] [--backends sqlite,postgres,mysql]
        [--baseline /path/to/old/atdm]

Servers: PostgreSQL at BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test),
MariaDB at 127.0.0.1:3306 as root; a database with a random name is made on each and dropped
at the end. The native loaders: `psql \\copy ... FROM` (CSV), the mariadb client's
`LOAD DATA LOCAL INFILE` (tab-separated), the sqlite3 shell's `.import --csv`. Their input is
exported from the rows `atdm generate --into` wrote, so both sides load the same rows. Each
load goes into the emptied table (`TRUNCATE` on PostgreSQL and MariaDB: after a `DELETE`, MariaDB's
background purge of a million deleted rows ran during the next load and made its time vary by
a third); reported: median wall seconds, rows per second, the ratio
(native time / atdm time: above 1 means atdm is faster), and atdm's peak resident memory
(GNU time, around the timed runs themselves: a 10M-row load into MariaDB takes 20 minutes, too
long to run again only for its memory). With `--baseline`, another atdm binary (for example one built from an earlier
commit) loads the same rows in the same run, interleaved, and its speed and memory are
reported beside.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ATDM = ROOT / "target" / "release" / "atdm"
USERS = ROOT / "bench" / "users_keyed"
PG = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def timed(cmd: list[str], **kw) -> float:
    t0 = time.perf_counter()
    run(cmd, **kw)
    return time.perf_counter() - t0


class Backend:
    name: str
    url: str

    def __init__(self, tmp: Path, pack: Path = USERS):
        self.tmp = tmp
        self.pack = pack

    def atdm(self, *args: str, binary: Path = ATDM) -> list[str]:
        return [str(binary), "--database-url", self.url, "--scenario-dir", str(self.pack),
                "--store-url", str(self.tmp / "store"), "--reference-date", "2026-06-01", *args]


class Postgres(Backend):
    name = "postgres"

    def __enter__(self):
        self.db = "atdm_bench_" + secrets.token_hex(4)
        run(["psql", PG, "-c", f"CREATE DATABASE {self.db}"])
        self.url = re.sub(r"/[^/?]*(\?|$)", f"/{self.db}\\1", PG, count=1)
        return self

    def __exit__(self, *_):
        run(["psql", PG, "-c", f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)"])

    def sql(self, q: str) -> str:
        return run(["psql", self.url, "-At", "-c", q]).stdout.strip()

    def empty(self):
        self.sql("TRUNCATE app_user")

    def export(self, path: Path):
        self.sql(f"\\copy app_user TO '{path}' CSV")

    def native(self, path: Path) -> float:
        return timed(["psql", self.url, "-c", f"\\copy app_user FROM '{path}' CSV"])


class MySql(Backend):
    name = "mysql"
    base = ["mariadb", "-uroot", "-h127.0.0.1", "-P3306"]

    def __enter__(self):
        self.db = "atdm_bench_" + secrets.token_hex(4)
        run([*self.base, "-e", f"CREATE DATABASE {self.db}"])
        self.url = f"mysql://root@127.0.0.1:3306/{self.db}"
        return self

    def __exit__(self, *_):
        run([*self.base, "-e", f"DROP DATABASE IF EXISTS {self.db}"])

    def sql(self, q: str) -> str:
        return run([*self.base, "-N", "-B", self.db, "-e", q]).stdout.strip()

    def empty(self):
        self.sql("TRUNCATE TABLE app_user")

    def export(self, path: Path):
        with path.open("w") as f:
            subprocess.run([*self.base, "-N", "-B", "--quick", self.db, "-e", "SELECT * FROM app_user"],
                           check=True, stdout=f)

    def native(self, path: Path) -> float:
        return timed([*self.base, "--local-infile=1", self.db, "-e",
                      f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE app_user"])


class Sqlite(Backend):
    name = "sqlite"

    def __enter__(self):
        self.path = self.tmp / "bench.sqlite"
        self.url = f"sqlite://{self.path}"
        return self

    def __exit__(self, *_):
        pass

    def sql(self, q: str) -> str:
        return run(["sqlite3", str(self.path), q]).stdout.strip()

    def empty(self):
        self.sql("DELETE FROM app_user")

    def export(self, path: Path):
        run(["sqlite3", str(self.path), ".mode csv", f".output {path}", "SELECT * FROM app_user"])

    def native(self, path: Path) -> float:
        return timed(["sqlite3", str(self.path), f".import --csv {path} app_user"])


def measured(cmd: list[str]) -> tuple[float, int]:
    """Runs `cmd` under GNU time: its wall seconds and its peak resident memory in KiB."""
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    return seconds, int(m.group(1)) if m else -1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,postgres,mysql")
    ap.add_argument("--baseline", type=Path, help="another atdm binary to measure beside")
    a = ap.parse_args()
    if not ATDM.exists():
        sys.exit(f"{ATDM} is missing: cargo build --release -p atdm-cli")
    kinds = {"postgres": Postgres, "mysql": MySql, "sqlite": Sqlite}
    report = {"rows": a.rows, "repeat": a.repeat, "backends": {}}
    for name in a.backends.split(","):
        with tempfile.TemporaryDirectory() as tmp, kinds[name](Path(tmp)) as b:
            tmp = Path(tmp)
            run(b.atdm("setup"))
            args = ("generate", "--rows", f"app_user={a.rows}", "--into", "--seed", "7", "-o", "json")
            load = b.atdm(*args)
            base = b.atdm(*args, binary=a.baseline) if a.baseline else None
            ours, native, baseline = [], [], []
            data = tmp / "rows.txt"
            rss = base_rss = 0
            for i in range(a.repeat):
                b.empty()
                t, kb = measured(load)
                ours.append(t)
                rss = max(rss, kb)
                assert int(b.sql("SELECT COUNT(*) FROM app_user")) == a.rows
                if i == 0:
                    b.export(data)
                b.empty()
                native.append(b.native(data))
                assert int(b.sql("SELECT COUNT(*) FROM app_user")) == a.rows
                if base:
                    b.empty()
                    t, kb = measured(base)
                    baseline.append(t)
                    base_rss = max(base_rss, kb)
                    assert int(b.sql("SELECT COUNT(*) FROM app_user")) == a.rows
            m_ours, m_native = statistics.median(ours), statistics.median(native)
            report["backends"][name] = {
                "atdm_seconds": ours,
                "native_seconds": native,
                "atdm_rows_per_s": a.rows / m_ours,
                "native_rows_per_s": a.rows / m_native,
                "atdm_speed_over_native": m_native / m_ours,
                "atdm_peak_rss_mb": rss / 1024,
                "file_mb": data.stat().st_size / 1e6,
            }
            r = report["backends"][name]
            if base:
                r["baseline_seconds"] = baseline
                r["baseline_peak_rss_mb"] = base_rss / 1024
                r["atdm_speed_over_baseline"] = statistics.median(baseline) / m_ours
                r["baseline_speed_over_native"] = m_native / statistics.median(baseline)
                print(f"{name:<9} baseline {statistics.median(baseline):7.2f} s (peak {base_rss / 1024:.0f} MB,"
                      f" speed over native {r['baseline_speed_over_native']:.2f}x); atdm over baseline"
                      f" {r['atdm_speed_over_baseline']:.2f}x", flush=True)
            print(f"{name:<9} atdm {m_ours:7.2f} s ({r['atdm_rows_per_s']:>10,.0f} rows/s, peak {r['atdm_peak_rss_mb']:.0f} MB)"
                  f"  native {m_native:7.2f} s ({r['native_rows_per_s']:>10,.0f} rows/s)  atdm/native speed {r['atdm_speed_over_native']:.2f}x",
                  flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
