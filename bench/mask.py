#!/usr/bin/env python3
"""Masking a PostgreSQL database into another one: `atdm mask` beside `pg_dump | pg_restore`
of the same data without masking, in one run.

    cargo build --release -p atdm-cli
    python3 bench/mask.py [--customers 3000000] [--repeat 3]

The source is a production-like database made in PostgreSQL with generate_series (stores and
staff in a foreign-key cycle, customers with emails, phones, national ids and birth dates,
addresses, payments with card numbers and IBANs); its size is printed. Each run writes into a
fresh database, dropped afterwards. Reported: median wall seconds of

- `pg_dump -Fc | pg_restore` (schema, data, indexes; no masking);
- `atdm mask --create` with every personal column masked (pseudonymization, format-preserving
  emails, phones, ids, cards and IBANs, fakes, shifts, generalization, noise);
- `atdm mask --create` copying every column unchanged (all allowed unmasked), to price the
  transforms: the ratio of the two is what masking costs over a plain copy by the same path;
- `atdm mask --create` with only the keyed columns (`pseudonymize`, `email`, `national_id`)
  masked, beside the plain copy: what keyed pseudonymization costs;

and atdm's peak resident memory (GNU time). Servers: PostgreSQL at BENCH_POSTGRES_URL (default
postgres://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ATDM = ROOT / "target" / "release" / "atdm"
PG = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")

SCHEMA = """
CREATE TABLE store (store_id integer PRIMARY KEY, name varchar(60) NOT NULL, manager_id integer);
CREATE TABLE staff (staff_id integer PRIMARY KEY, store_id integer NOT NULL REFERENCES store,
  reports_to integer REFERENCES staff, first_name varchar(40) NOT NULL,
  last_name varchar(40) NOT NULL, email varchar(80) NOT NULL UNIQUE, password varchar(80));
ALTER TABLE store ADD FOREIGN KEY (manager_id) REFERENCES staff;
CREATE TABLE customer (customer_id integer PRIMARY KEY, first_name varchar(40) NOT NULL,
  last_name varchar(40) NOT NULL, email varchar(80) NOT NULL UNIQUE, phone varchar(30) NOT NULL,
  ssn varchar(11), birth_date date, created_at timestamp NOT NULL, active boolean NOT NULL,
  home_store_id integer NOT NULL REFERENCES store);
CREATE TABLE address (address_id integer PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customer, street varchar(80) NOT NULL,
  city varchar(40) NOT NULL, postal_code varchar(10) NOT NULL);
CREATE TABLE payment (payment_id integer PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customer, staff_id integer NOT NULL REFERENCES staff,
  amount numeric(10,2) NOT NULL, card_number varchar(19) NOT NULL, iban varchar(34),
  paid_at timestamp NOT NULL);
"""

FILL = """
INSERT INTO store SELECT i, 'Store ' || i, NULL FROM generate_series(1, 50) i;
INSERT INTO staff SELECT i, (i % 50) + 1, CASE WHEN i > 50 THEN (i % 50) + 1 END,
  (ARRAY['Olivia','Liam','Emma','Noah','Amelia','Oliver'])[i % 6 + 1],
  (ARRAY['Garcia','Okafor','Nguyen','Schmidt','Rossi'])[i % 5 + 1],
  'staff' || i || '@acme-retail.test', md5(i::text) FROM generate_series(1, 2000) i;
UPDATE store SET manager_id = store_id;
INSERT INTO customer SELECT i,
  (ARRAY['Olivia','Liam','Emma','Noah','Amelia','Oliver','Sophia','Elijah'])[i % 8 + 1],
  (ARRAY['Garcia','Okafor','Nguyen','Schmidt','Rossi','Tanaka','Silva'])[i % 7 + 1],
  'customer.' || i || '@mailbox.test', '+1 (617) 555-' || lpad((i % 10000)::text, 4, '0'),
  CASE WHEN i % 10 <> 0 THEN lpad((i % 899 + 100)::text, 3, '0') || '-' ||
    lpad((i % 89 + 10)::text, 2, '0') || '-' || lpad((i % 8999 + 1000)::text, 4, '0') END,
  CASE WHEN i % 7 <> 0 THEN date '1950-01-01' + (i % 18000) END,
  timestamp '2020-01-01' + (i % 2000) * interval '1 day' + (i % 86400) * interval '1 second',
  i % 3 <> 0, (i % 50) + 1
  FROM generate_series(1, {n}) i;
INSERT INTO address SELECT i, i, (10 + i % 990) || ' ' ||
  (ARRAY['Elm','Oak','Maple','Cedar','Pine'])[i % 5 + 1] || ' Street',
  (ARRAY['Cambridge','Springfield','Riverside','Fairview'])[i % 4 + 1],
  lpad((i % 99999)::text, 5, '0') FROM generate_series(1, {n}) i;
INSERT INTO payment SELECT i, (i % {n}) + 1, (i % 2000) + 1, (i % 50000) / 100.0,
  '4111111111111111', CASE WHEN i % 4 <> 0 THEN 'DE89370400440532013000' END,
  timestamp '2024-01-01' + (i % 700) * interval '1 day'
  FROM generate_series(1, {p}) i;
"""

MASKED = """
transaction = "table"
[tables.customer]
first_name = { transform = "fake", kind = "first_name" }
last_name = { transform = "fake", kind = "last_name" }
email = "email"
phone = "phone"
ssn = "national_id"
birth_date = { transform = "generalize", to = "year" }
created_at = { transform = "shift", days = 30 }
[tables.address]
street = { transform = "fake", kind = "street" }
city = { transform = "fake", kind = "city" }
postal_code = { transform = "generalize", to = "prefix", keep = 3 }
[tables.payment]
card_number = "card"
iban = "iban"
amount = { transform = "noise", percent = 5 }
[tables.staff]
first_name = { transform = "fake", kind = "first_name" }
last_name = { transform = "fake", kind = "last_name" }
email = "email"
password = "null"
"""

SENSITIVE = [
    "customer.first_name", "customer.last_name", "customer.email", "customer.phone",
    "customer.ssn", "customer.birth_date", "address.street", "address.city",
    "address.postal_code", "payment.card_number", "payment.iban", "staff.first_name",
    "staff.last_name", "staff.email", "staff.password",
]

KEYED = """
transaction = "table"
allow_unmasked = [{allowed}]
[tables.customer]
email = "email"
ssn = "national_id"
phone = "pseudonymize"
[tables.staff]
email = "email"
"""


def url(name: str) -> str:
    return re.sub(r"/[^/]*$", "/" + name, PG)


def psql(db: str, sql: str) -> str:
    return subprocess.run(["psql", "-qAt", "-v", "ON_ERROR_STOP=1", url(db), "-c", sql],
                          check=True, capture_output=True, text=True).stdout


def timed(cmd: str, env: dict | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True,
                       env=env)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{r.stderr}")
    return dt, r.stderr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=3_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    tag = secrets.token_hex(4)
    src = f"atdm_bench_src_{tag}"
    psql("test", f"CREATE DATABASE {src}")
    made: list[str] = [src]
    tmp = Path(tempfile.mkdtemp(prefix="atdm_mask_bench_"))
    try:
        psql(src, SCHEMA)
        psql(src, FILL.format(n=a.customers, p=a.customers * 2))
        psql(src, "ANALYZE")
        size = psql(src, "SELECT pg_size_pretty(pg_database_size(current_database()))").strip()
        rows = psql(src, "SELECT (SELECT count(*) FROM customer) + (SELECT count(*) FROM address)"
                         " + (SELECT count(*) FROM payment) + (SELECT count(*) FROM staff)").strip()
        print(f"source: {size}, {rows} rows")
        (tmp / "masked.toml").write_text(MASKED)
        allowed = ", ".join(f'"{c}"' for c in SENSITIVE)
        (tmp / "copy.toml").write_text(f"transaction = \"table\"\nallow_unmasked = [{allowed}]\n")
        keyed_allowed = ", ".join(f'"{c}"' for c in SENSITIVE
                                  if c not in ("customer.email", "customer.ssn", "customer.phone",
                                               "staff.email"))
        (tmp / "keyed.toml").write_text(KEYED.format(allowed=keyed_allowed))
        env = dict(os.environ, ATDM_MASK_KEY="benchmark key, thirty-two chars")
        results: dict[str, list[float]] = {}
        peaks: dict[str, int] = {}
        for i in range(a.repeat):
            for name in ["pg_dump|pg_restore", "atdm mask (masked)", "atdm mask (copy)",
                         "atdm mask (keyed)"]:
                dst = f"atdm_bench_dst_{tag}_{len(made)}"
                psql("test", f"CREATE DATABASE {dst}")
                made.append(dst)
                if name == "pg_dump|pg_restore":
                    cmd = f"pg_dump -Fc '{url(src)}' | pg_restore --no-owner -d '{url(dst)}'"
                else:
                    rules = {"atdm mask (masked)": "masked", "atdm mask (copy)": "copy",
                             "atdm mask (keyed)": "keyed"}[name]
                    # The audit goes to the embedded default database in the work directory.
                    cmd = (f"cd {tmp} && /usr/bin/time -f 'PEAK %M' {ATDM} "
                           f"--store-url file://{tmp}/store mask --from '{url(src)}' "
                           f"--to '{url(dst)}' --rules {tmp}/{rules}.toml --create")
                dt, err = timed(cmd, env)
                m = re.search(r"PEAK (\d+)", err)
                if m:
                    peaks[name] = max(peaks.get(name, 0), int(m.group(1)))
                results.setdefault(name, []).append(dt)
                print(f"  run {i + 1}: {name}: {dt:.1f} s", flush=True)
                psql("test", f"DROP DATABASE {dst}")
                made.remove(dst)
        med = {k: statistics.median(v) for k, v in results.items()}
        base = med["pg_dump|pg_restore"]
        print(f"\nsource {size}, {rows} rows; medians of {a.repeat}:")
        for k, v in med.items():
            peak = f", peak {peaks[k] // 1024} MB" if k in peaks else ""
            print(f"  {k:24} {v:7.1f} s  ({int(rows) / v:,.0f} rows/s; "
                  f"{base / v:.2f}x the speed of pg_dump|pg_restore{peak})")
        print(f"  masking over a plain copy: {med['atdm mask (masked)'] / med['atdm mask (copy)']:.2f}x")
        print(f"  keyed pseudonymization over a plain copy: "
              f"{med['atdm mask (keyed)'] / med['atdm mask (copy)']:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for db in made:
            subprocess.run(["psql", "-q", url("test"), "-c", f"DROP DATABASE IF EXISTS {db}"],
                           capture_output=True)


if __name__ == "__main__":
    main()
