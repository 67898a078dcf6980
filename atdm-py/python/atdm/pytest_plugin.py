"""The ATDM pytest plugin, registered under the ``pytest11`` entry point (no conftest needed).

Mark a test with the scenario it needs and ask for ``atdm_data``::

    @pytest.mark.atdm_scenario("claim_denial_active_member", constraints={"provider_network": "in_network"})
    def test_denied_claims_are_listed(atdm_data):
        member_id = atdm_data.key("member_id")

The run is seeded before the test and reset after it, also when the test fails or errors.
The marker takes ``constraints``, ``seed``, ``reference_date`` and ``edge_cases`` (``"valid"``
adds a row per edge case of every seeded table's columns) too. One marker per test: a
marker on the test wins over one on its class or module; two on the test itself are an error.

Fixtures:

- ``atdm_engine`` (session): the :class:`atdm.Engine` every test of the session (of the
  pytest-xdist worker) shares.
- ``atdm_data`` (function): the seeded run, an :class:`atdm.SeededRun`
  (``atdm_data.key("member_id")``, ``atdm_data.keys("book_ids")``, ``atdm_data.run_id``;
  ``atdm_data["data"]`` still works).

Configuration, each from a command-line option, else an environment variable, else a pytest ini
option (as pytest-postgresql and pytest-django do); the report header says which database and
scenarios a session uses:

==========================  =======================  ======================  =========================================
command line                environment              ini option              meaning
==========================  =======================  ======================  =========================================
``--atdm-database-url``     ``ATDM_DATABASE_URL``    ``atdm_database_url``   database (default ``sqlite://.atdm/atdm.sqlite``)
``--atdm-store-url``        ``ATDM_STORE_URL``       ``atdm_store_url``      audit trail and baselines (default ``.atdm/store``)
``--atdm-fixture-dir``      ``ATDM_FIXTURE_DIR``     ``atdm_fixture_dir``    fixture files (default ``.atdm/fixtures``)
``--atdm-scenario-dir``     ``ATDM_SCENARIO_DIR``    ``atdm_scenario_dir``   your schema and scenarios, as ``atdm introspect --out`` writes them
``--atdm-pack``             ``ATDM_PACK``            ``atdm_pack``           a built-in pack (``healthcare``) for any database
``--atdm-reference-date``   ``ATDM_REFERENCE_DATE``  ``atdm_reference_date`` "today" for the scenarios (default: today, UTC)
``--atdm-lease-seconds``    ``ATDM_LEASE_SECONDS``   ``atdm_lease_seconds``  a run's lease (default one hour), renewed while its test runs
==========================  =======================  ======================  =========================================

Errors (an unknown scenario, a refused plan, a misused marker) fail the test with ATDM's
message alone, without the plugin's frames.

Without a scenario directory or a pack, the healthcare demo scenarios are used on the
embedded default database only; on any other database the engine fixture raises
:class:`atdm.NoScenarioDir` and nothing is created there.

Every run's invoker is the test's node id, so the audit trail says which test asked.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Dict, Iterator, List, NoReturn, Optional
from urllib.parse import urlsplit, urlunsplit

import pytest

import atdm

_SETTINGS = (
    ("ATDM_DATABASE_URL", "atdm_database_url", "database URL"),
    ("ATDM_STORE_URL", "atdm_store_url", "store URL of the audit trail and baselines"),
    ("ATDM_FIXTURE_DIR", "atdm_fixture_dir", "directory for fixture files"),
    ("ATDM_SCENARIO_DIR", "atdm_scenario_dir", "directory with schema.toml and scenario files"),
    ("ATDM_PACK", "atdm_pack", "built-in pack (healthcare) to use on any database"),
    ("ATDM_REFERENCE_DATE", "atdm_reference_date", "reference date (YYYY-MM-DD) of the scenarios"),
    ("ATDM_LEASE_SECONDS", "atdm_lease_seconds", "lease of each test's run, in seconds (renewed while the test runs)"),
)

_MARKER = (
    "atdm_scenario(name, constraints=None, seed=None, reference_date=None, edge_cases='none'): "
    "seed the named ATDM scenario before the test (the atdm_data fixture) and reset it after"
)

_DEFAULT_DATABASE_URL = "sqlite://.atdm/atdm.sqlite"


def _option(ini: str) -> str:
    return "--" + ini.replace("_", "-")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("atdm", "ATDM test data")
    for env, ini, what in _SETTINGS:
        group.addoption(
            _option(ini),
            dest=ini,
            default=None,
            help=f"ATDM: {what} (else ${env}, else the ini option {ini})",
        )
        parser.addini(ini, f"ATDM: {what} (--{ini.replace('_', '-')} and ${env} win)", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)


def _setting(config: pytest.Config, env: str, ini: str) -> Optional[str]:
    value = config.getoption(ini, default=None) or os.environ.get(env) or config.getini(ini)
    return value or None


def _settings(config: pytest.Config) -> Dict[str, Optional[str]]:
    return {ini: _setting(config, env, ini) for env, ini, _ in _SETTINGS}


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def pytest_report_header(config: pytest.Config) -> List[str]:
    s = _settings(config)
    database = _without_password(s["atdm_database_url"] or _DEFAULT_DATABASE_URL)
    if s["atdm_scenario_dir"]:
        scenarios = f"scenario directory {s['atdm_scenario_dir']}"
    elif s["atdm_pack"]:
        scenarios = f"pack {s['atdm_pack']}"
    else:
        scenarios = "the healthcare demo pack (embedded default database only)"
    return [f"atdm {atdm.__version__}: database {database}, {scenarios}"]


def _fail(message: str) -> NoReturn:
    __tracebackhide__ = True
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def atdm_engine(pytestconfig: pytest.Config) -> Iterator[atdm.Engine]:
    """The session's engine, configured from the command line, the environment and the ini
    options."""
    __tracebackhide__ = True
    s = _settings(pytestconfig)
    lease = s["atdm_lease_seconds"]
    try:
        engine = atdm.Engine(
            database_url=s["atdm_database_url"],
            store_url=s["atdm_store_url"],
            fixture_dir=s["atdm_fixture_dir"],
            reference_date=s["atdm_reference_date"],
            scenario_dir=s["atdm_scenario_dir"],
            pack=s["atdm_pack"],
            lease_seconds=float(lease) if lease else None,
        )
    except ValueError as e:
        _fail(f"atdm: atdm_lease_seconds must be a positive number of seconds: {e}")
    except atdm.AtdmError as e:
        _fail(f"atdm: {type(e).__name__} [{e.code}]: {e}")
    try:
        yield engine
    finally:
        engine.close()


def _scenario_marker(request: pytest.FixtureRequest) -> pytest.Mark:
    __tracebackhide__ = True
    node = request.node
    own = [m for m in node.own_markers if m.name == "atdm_scenario"]
    if len(own) > 1:
        _fail(
            f"{node.nodeid} has {len(own)} atdm_scenario markers; a test gets one seeded run: "
            "keep one marker, or split the test (parametrize over scenarios with "
            "pytest.param(..., marks=pytest.mark.atdm_scenario(...)))"
        )
    marker = node.get_closest_marker("atdm_scenario")
    if marker is None:
        _fail(
            f"{node.nodeid} uses the atdm_data fixture but names no scenario: "
            'mark it with @pytest.mark.atdm_scenario("<scenario id>")'
        )
    return marker


@pytest.fixture
def atdm_data(request: pytest.FixtureRequest, atdm_engine: atdm.Engine) -> Iterator[atdm.SeededRun]:
    """The run seeded for this test's ``atdm_scenario`` marker; reset after the test."""
    __tracebackhide__ = True
    marker = _scenario_marker(request)
    kwargs: Dict[str, Any] = dict(marker.kwargs)
    if marker.args:
        if len(marker.args) > 1 or "name" in kwargs:
            _fail(
                f"{request.node.nodeid}: atdm_scenario takes one scenario name, "
                f"got {marker.args!r} {kwargs!r}"
            )
        name = marker.args[0]
    else:
        name = kwargs.pop("name", None)
    unknown = set(kwargs) - {"constraints", "seed", "reference_date", "edge_cases"}
    if not isinstance(name, str) or unknown:
        _fail(
            f"{request.node.nodeid}: use @pytest.mark.atdm_scenario(\"<scenario id>\", "
            "constraints={...}, seed=..., reference_date=..., edge_cases=...)"
            + (f"; unknown arguments: {sorted(unknown)}" if unknown else "")
        )
    try:
        seeded = atdm_engine.request(name, invoker=request.node.nodeid, **kwargs)
    except atdm.AtdmError as e:
        _fail(f"atdm: {type(e).__name__} [{e.code}]: {e}")
    # A test that runs longer than its lease keeps its run: the lease is renewed every third
    # of it until the test ends, then the run is reset.
    done = threading.Event()
    renewer = threading.Thread(
        target=_renew,
        args=(atdm_engine, seeded["run_id"], seeded["token"], done),
        name=f"atdm-lease-{seeded['run_id']}",
        daemon=True,
    )
    renewer.start()
    try:
        yield atdm.SeededRun(seeded)
    finally:
        done.set()
        renewer.join()
        atdm_engine.reset_run(seeded["run_id"], seeded["token"])


def _renew(engine: atdm.Engine, run_id: str, token: str, done: threading.Event) -> None:
    every = max(engine.lease_seconds / 3, 0.2)
    while not done.wait(every):
        try:
            engine.renew_lease(run_id, token)
        except atdm.AtdmError:
            return
