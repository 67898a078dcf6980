"""Shared helpers of the atdm Python tests: a fresh engine per test on SQLite, and a fresh
PostgreSQL database when ATDM_TEST_POSTGRES_URL is set (required when ATDM_REQUIRE_DATABASES=1)."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path
from typing import Iterator, Optional

import pytest

import atdm

pytest_plugins = ["pytester"]

REFERENCE_DATE = "2026-06-01"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[atdm.Engine]:
    """An engine on a fresh SQLite file, with its own store and fixture directory, and the
    healthcare pack (named: the file is not the embedded default database)."""
    e = atdm.Engine(
        database_url=f"sqlite://{tmp_path}/atdm.sqlite",
        pack="healthcare",
        store_url=str(tmp_path / "store"),
        fixture_dir=tmp_path / "fixtures",
        reference_date=REFERENCE_DATE,
        invoker="pytest",
    )
    yield e
    e.close()


def postgres_admin_url() -> Optional[str]:
    url = os.environ.get("ATDM_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("ATDM_REQUIRE_DATABASES") == "1":
            pytest.fail("ATDM_TEST_POSTGRES_URL is not set but ATDM_REQUIRE_DATABASES=1")
        return None
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards (psql does the admin work)."""
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("set ATDM_TEST_POSTGRES_URL to run the PostgreSQL tests")
    name = "atdm_py_" + secrets.token_hex(6)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        subprocess.run(
            ["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True
        )
