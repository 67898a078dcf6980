#!/usr/bin/env python3
"""A scenario with a large count, requested: `atdm request many_users -c users=N` (the
11-column user table of bench/users_keyed), beside the same request by a baseline build
(`--baseline PATH`, for example an `atdm` built from an earlier commit) and beside the
database's native loader of the same rows from a file, in one run.

    cargo build --release -p atdm-cli
    python3 bench/request.py [--rows 1000000] [--repeat 3] [--backends sqlite,postgres,mysql] \\
        [--baseline /path/to/old/atdm]

Servers and native loaders as in bench/load.py. Each request goes into an emptied table and
is reset again (the reset is timed too). Reported per build: median wall seconds of the
request and of its reset, rows per second, peak resident memory (GNU time) and the native
loader's speed over the request's.

With `--referred`, the request is `users_with_sessions` of bench/users_referred instead: N
users and N sessions, each pointing at its user, so the users are referred to in full (a
build before 1fd5867 plans them whole). Rows per second count both tables; there is no
native loader to compare with.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402  (the backends and helpers of bench/load.py)


REFERRED = load.ROOT / "bench" / "users_referred"


def request(b: load.Backend, atdm: Path, rows: int) -> tuple[float, int, dict]:
    """Runs the request under GNU time: wall seconds, peak RSS in kB, the JSON result."""
    scenario = "users_with_sessions" if b.pack == REFERRED else "many_users"
    cmd = b.atdm("request", scenario, "-c", f"users={rows}", "--seed", "7", "-o", "json")
    cmd[0] = str(atdm)
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    return wall, int(m.group(1)) if m else -1, json.loads(r.stdout)


def reset(b: load.Backend, atdm: Path, seeded: dict) -> float:
    cmd = b.atdm("reset", seeded["run_id"], "--token", seeded["token"])
    cmd[0] = str(atdm)
    return load.timed(cmd)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,postgres,mysql")
    ap.add_argument("--baseline", type=Path, help="another atdm binary to measure beside")
    ap.add_argument("--referred", action="store_true",
                    help="users each with a session (bench/users_referred), no native loader")
    a = ap.parse_args()
    tables = ["app_user", "user_session"] if a.referred else ["app_user"]

    def seeded(b: load.Backend) -> list[int]:
        return [int(b.sql(f"SELECT COUNT(*) FROM {t}")) for t in tables]
    if not load.ATDM.exists():
        sys.exit(f"{load.ATDM} is missing: cargo build --release -p atdm-cli")
    builds = {"atdm": load.ATDM}
    if a.baseline:
        builds["baseline"] = a.baseline
    kinds = {"postgres": load.Postgres, "mysql": load.MySql, "sqlite": load.Sqlite}
    report = {"rows": a.rows, "repeat": a.repeat, "backends": {}}
    for name in a.backends.split(","):
        pack = REFERRED if a.referred else load.USERS
        with tempfile.TemporaryDirectory() as tmp, kinds[name](Path(tmp), pack) as b:
            tmp = Path(tmp)
            load.run(b.atdm("setup"))
            data = tmp / "rows.txt"
            times = {k: [] for k in builds}
            resets = {k: [] for k in builds}
            rss = {k: [] for k in builds}
            native = []
            for i in range(a.repeat):
                # Interleaved, so a busy moment of the machine hits both builds alike.
                for k, binary in builds.items():
                    wall, kb, run = request(b, binary, a.rows)
                    assert seeded(b) == [a.rows] * len(tables), k
                    if i == 0 and k == "atdm" and not a.referred:
                        b.export(data)
                    times[k].append(wall)
                    rss[k].append(kb / 1024)
                    resets[k].append(reset(b, binary, run))
                    assert seeded(b) == [0] * len(tables), k
                if not a.referred:
                    native.append(b.native(data))
                    assert seeded(b) == [a.rows]
                    b.empty()
            m_native = statistics.median(native) if native else float("nan")
            out = {"native_seconds": native}
            for k in builds:
                m = statistics.median(times[k])
                out[k] = {
                    "request_seconds": times[k],
                    "reset_seconds": resets[k],
                    "peak_rss_mb": rss[k],
                    "rows_per_s": a.rows * len(tables) / m,
                    "native_speed_over_request": m_native / m if native else None,
                }
                native_text = (f"  native {m_native:6.2f} s  request/native speed {m_native / m:.2f}x"
                               if native else "")
                print(f"{name:<9} {k:<9} request {m:7.2f} s ({a.rows * len(tables) / m:>9,.0f} rows/s, peak {max(rss[k]):6.0f} MB)"
                      f"  reset {statistics.median(resets[k]):6.2f} s{native_text}", flush=True)
            if "baseline" in builds:
                ratio = statistics.median(times["baseline"]) / statistics.median(times["atdm"])
                out["speed_over_baseline"] = ratio
                print(f"{name:<9} atdm over baseline: {ratio:.2f}x faster, peak memory "
                      f"{max(rss['baseline']):.0f} MB -> {max(rss['atdm']):.0f} MB", flush=True)
            report["backends"][name] = out
    print(json.dumps(report))


if __name__ == "__main__":
    main()
