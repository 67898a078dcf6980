"""The ATDM pytest plugin, registered under the ``pytest11`` entry point (no conftest needed).

Mark a test with the scenario it needs and ask for ``atdm_data``::

    @pytest.mark.atdm_scenario("claim_denial_active_member", constraints={"provider_network": "in_network"})
    def test_denied_claims_are_listed(atdm_data):
        member_id = atdm_data["data"]["member_id"]

The run is seeded before the test and reset after it, also when the test fails or errors.
The marker takes ``constraints``, ``seed`` and ``reference_date`` too.

Fixtures:

- ``atdm_engine`` (session): the :class:`atdm.Engine` every test of the session (of the
  pytest-xdist worker) shares.
- ``atdm_data`` (function): the seeded run (``run_id``, ``data``, ``token``, ...).

Configuration, each from an environment variable or else a pytest ini option:

=====================  ==========================  =========================================
environment            ini option                  meaning
=====================  ==========================  =========================================
``ATDM_DATABASE_URL``  ``atdm_database_url``       database (default ``sqlite://.atdm/atdm.sqlite``)
``ATDM_STORE_URL``     ``atdm_store_url``          audit trail and baselines (default ``.atdm/store``)
``ATDM_FIXTURE_DIR``   ``atdm_fixture_dir``        fixture files (default ``.atdm/fixtures``)
``ATDM_SCENARIO_DIR``  ``atdm_scenario_dir``       your schema and scenarios, as ``atdm introspect --out`` writes them
``ATDM_PACK``          ``atdm_pack``               a built-in pack (``healthcare``) for any database
``ATDM_REFERENCE_DATE`` ``atdm_reference_date``    "today" for the scenarios (default: today, UTC)
=====================  ==========================  =========================================

Without a scenario directory or a pack, the healthcare demo scenarios are used on the
embedded default database only; on any other database the engine fixture raises
:class:`atdm.NoScenarioDir` and nothing is created there.

Every run's invoker is the test's node id, so the audit trail says which test asked.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterator, Optional

import pytest

import atdm

_SETTINGS = (
    ("ATDM_DATABASE_URL", "atdm_database_url", "database URL"),
    ("ATDM_STORE_URL", "atdm_store_url", "store URL of the audit trail and baselines"),
    ("ATDM_FIXTURE_DIR", "atdm_fixture_dir", "directory for fixture files"),
    ("ATDM_SCENARIO_DIR", "atdm_scenario_dir", "directory with schema.toml and scenario files"),
    ("ATDM_PACK", "atdm_pack", "built-in pack (healthcare) to use on any database"),
    ("ATDM_REFERENCE_DATE", "atdm_reference_date", "reference date (YYYY-MM-DD) of the scenarios"),
)

_MARKER = (
    "atdm_scenario(name, constraints=None, seed=None, reference_date=None): "
    "seed the named ATDM scenario before the test (the atdm_data fixture) and reset it after"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    for env, ini, what in _SETTINGS:
        parser.addini(ini, f"ATDM: {what} (the environment variable {env} wins)", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)


def _setting(config: pytest.Config, env: str, ini: str) -> Optional[str]:
    value = os.environ.get(env)
    if value:
        return value
    value = config.getini(ini)
    return value or None


@pytest.fixture(scope="session")
def atdm_engine(pytestconfig: pytest.Config) -> Iterator[atdm.Engine]:
    """The session's engine, configured from the environment and the ini options."""
    s = {ini: _setting(pytestconfig, env, ini) for env, ini, _ in _SETTINGS}
    engine = atdm.Engine(
        database_url=s["atdm_database_url"],
        store_url=s["atdm_store_url"],
        fixture_dir=s["atdm_fixture_dir"],
        reference_date=s["atdm_reference_date"],
        scenario_dir=s["atdm_scenario_dir"],
        pack=s["atdm_pack"],
    )
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def atdm_data(request: pytest.FixtureRequest, atdm_engine: atdm.Engine) -> Iterator[atdm.Seeded]:
    """The run seeded for this test's ``atdm_scenario`` marker; reset after the test."""
    marker = request.node.get_closest_marker("atdm_scenario")
    if marker is None:
        raise pytest.UsageError(
            f"{request.node.nodeid} uses the atdm_data fixture but names no scenario: "
            'mark it with @pytest.mark.atdm_scenario("<scenario id>")'
        )
    kwargs: Dict[str, Any] = dict(marker.kwargs)
    if marker.args:
        if len(marker.args) > 1 or "name" in kwargs:
            raise pytest.UsageError(
                f"{request.node.nodeid}: atdm_scenario takes one scenario name, "
                f"got {marker.args!r} {kwargs!r}"
            )
        name = marker.args[0]
    else:
        name = kwargs.pop("name", None)
    unknown = set(kwargs) - {"constraints", "seed", "reference_date"}
    if not isinstance(name, str) or unknown:
        raise pytest.UsageError(
            f"{request.node.nodeid}: use @pytest.mark.atdm_scenario(\"<scenario id>\", "
            "constraints={...}, seed=..., reference_date=...)"
            + (f"; unknown arguments: {sorted(unknown)}" if unknown else "")
        )
    seeded = atdm_engine.request(name, invoker=request.node.nodeid, **kwargs)
    try:
        yield seeded
    finally:
        atdm_engine.reset_run(seeded["run_id"], seeded["token"])
