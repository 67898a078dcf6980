"""ATDM: realistic synthetic test data by intent.

Name a scenario, optionally override its knobs, and get entity ids, a one-time cleanup token
and an audit trail. Every row is seeded in one transaction and removed again exactly::

    import atdm

    engine = atdm.Engine()  # ./.atdm/atdm.sqlite unless ATDM_DATABASE_URL says otherwise
    run = engine.request("claim_denial_active_member", {"provider_network": "in_network"})
    member_id = run["data"]["member_id"]
    engine.reset_run(run["run_id"], run["token"])

Your own database: write a scenario directory for it once, then request its scenarios::

    atdm.introspect("postgres://ci@db/app", "atdm-scenarios")
    engine = atdm.Engine("postgres://ci@db/app", scenario_dir="atdm-scenarios")
    run = engine.request("every_table")  # one valid row in every table

The healthcare demo scenarios are used only on the embedded default database, or when asked
for with ``pack="healthcare"``; elsewhere, without ``scenario_dir``, :class:`NoScenarioDir` is
raised and nothing is created.

Every error is an :class:`AtdmError` with a stable ``code``; each code has its own subclass
(:class:`TokenMismatch`, :class:`ValidatorRejected`, ...). The pytest plugin
(``atdm.pytest_plugin``) loads by itself: mark a test with
``@pytest.mark.atdm_scenario("...")`` and ask for the ``atdm_data`` fixture.

Whole datasets: :func:`generate_batches` gives any row range of any table as pyarrow record
batches, the same rows ``atdm generate`` writes, so Spark, Ray or Dask can make a huge
dataset in parts (see ``docs/generate.md``).
"""

from atdm._atdm import (
    GENERATOR_VERSION,
    AtdmError,
    AuditStoreError,
    BaselineNotFound,
    ConfirmRequired,
    DatabaseError,
    Engine,
    FilesExist,
    InvalidConstraint,
    InvalidDataset,
    InvalidMask,
    InvalidScenario,
    InvalidUrl,
    NoBaseline,
    NoScenarioDir,
    RunNotFound,
    ScenarioNotFound,
    SeedFailed,
    TokenMismatch,
    UnknownPack,
    UnmaskedSensitive,
    ValidatorRejected,
    __version__,
    introspect,
    plan_json,
    suggest_mask_rules,
)
from atdm._types import (
    AuditEvent,
    AuditTrail,
    BaselineDiff,
    BaselineManifest,
    CoverageReport,
    Failure,
    MaskReport,
    LeftOut,
    ResetAllReport,
    ResetReport,
    RestoreReport,
    RunInfo,
    ScaffoldReport,
    ScenarioDescription,
    ScenarioMatch,
    Seeded,
)
from atdm._generate import generate_batches, generate_table, part_range
from atdm._run import SeededRun

__all__ = [
    "GENERATOR_VERSION",
    "AtdmError",
    "AuditEvent",
    "AuditStoreError",
    "AuditTrail",
    "BaselineDiff",
    "BaselineManifest",
    "BaselineNotFound",
    "ConfirmRequired",
    "CoverageReport",
    "DatabaseError",
    "Engine",
    "Failure",
    "FilesExist",
    "InvalidConstraint",
    "InvalidDataset",
    "InvalidMask",
    "InvalidScenario",
    "InvalidUrl",
    "LeftOut",
    "MaskReport",
    "NoBaseline",
    "NoScenarioDir",
    "ResetAllReport",
    "ResetReport",
    "RestoreReport",
    "RunInfo",
    "RunNotFound",
    "ScaffoldReport",
    "ScenarioDescription",
    "ScenarioMatch",
    "ScenarioNotFound",
    "SeedFailed",
    "Seeded",
    "SeededRun",
    "TokenMismatch",
    "UnknownPack",
    "UnmaskedSensitive",
    "ValidatorRejected",
    "__version__",
    "generate_batches",
    "generate_table",
    "introspect",
    "part_range",
    "plan_json",
    "suggest_mask_rules",
]
