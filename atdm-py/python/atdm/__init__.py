"""ATDM: realistic synthetic test data by intent.

Name a scenario, optionally override its knobs, and get entity ids, a one-time cleanup token
and an audit trail. Every row is seeded in one transaction and removed again exactly::

    import atdm

    engine = atdm.Engine()  # ./.atdm/atdm.sqlite unless ATDM_DATABASE_URL says otherwise
    run = engine.request("claim_denial_active_member", {"provider_network": "in_network"})
    member_id = run["data"]["member_id"]
    engine.reset_run(run["run_id"], run["token"])

Every error is an :class:`AtdmError` with a stable ``code``; each code has its own subclass
(:class:`TokenMismatch`, :class:`ValidatorRejected`, ...). The pytest plugin
(``atdm.pytest_plugin``) loads by itself: mark a test with
``@pytest.mark.atdm_scenario("...")`` and ask for the ``atdm_data`` fixture.
"""

from atdm._atdm import (
    GENERATOR_VERSION,
    AtdmError,
    AuditStoreError,
    BaselineNotFound,
    ConfirmRequired,
    DatabaseError,
    Engine,
    InvalidConstraint,
    InvalidScenario,
    InvalidUrl,
    NoBaseline,
    RunNotFound,
    ScenarioNotFound,
    SeedFailed,
    TokenMismatch,
    ValidatorRejected,
    __version__,
    plan_json,
)
from atdm._types import (
    AuditEvent,
    AuditTrail,
    BaselineDiff,
    BaselineManifest,
    Failure,
    ResetAllReport,
    ResetReport,
    RestoreReport,
    RunInfo,
    ScenarioDescription,
    ScenarioMatch,
    Seeded,
)

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
    "DatabaseError",
    "Engine",
    "Failure",
    "InvalidConstraint",
    "InvalidScenario",
    "InvalidUrl",
    "NoBaseline",
    "ResetAllReport",
    "ResetReport",
    "RestoreReport",
    "RunInfo",
    "RunNotFound",
    "ScenarioDescription",
    "ScenarioMatch",
    "ScenarioNotFound",
    "SeedFailed",
    "Seeded",
    "TokenMismatch",
    "ValidatorRejected",
    "__version__",
    "plan_json",
]
