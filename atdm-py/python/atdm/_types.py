"""The shapes of the values the engine returns: plain dicts, described as TypedDicts.

These are for type checkers and readers; at run time every result is an ordinary ``dict`` (or
``list``) of ``str``, ``int``, ``float``, ``bool`` and ``None``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict

__all__ = [
    "AuditEvent",
    "AuditTrail",
    "BaselineDiff",
    "BaselineManifest",
    "BaselineTable",
    "CoverageReport",
    "MaskReport",
    "Failure",
    "KnobDescription",
    "LeftOut",
    "PlanResult",
    "ResetAllReport",
    "ResetReport",
    "RestoreReport",
    "RowDescription",
    "RunInfo",
    "ScaffoldReport",
    "ScenarioDescription",
    "ScenarioMatch",
    "SchemaVersion",
    "Seeded",
    "TableDiff",
]


class _SeededEdges(TypedDict, total=False):
    edge_cases: Dict[str, List[str]]


class Seeded(_SeededEdges):
    """A seeded run. ``token`` is shown only here; the engine keeps its hash. ``edge_cases``
    (with ``edge_cases="valid"``): the edge cases the rows hold, per table."""

    status: Literal["ready"]
    scenario: str
    run_id: str
    request_id: str
    data: Dict[str, Any]
    token: str
    rows: Dict[str, int]
    seed: int
    reference_date: str
    lease_expires_at: str
    fixtures: List[str]


class ResetReport(TypedDict):
    """What a reset deleted, per table."""

    run_id: str
    status: Literal["cleaned", "already_cleaned"]
    deleted: Dict[str, int]


class ResetAllReport(TypedDict):
    """What ``reset_all`` deleted: the runs cleaned and rows per table."""

    runs: List[str]
    deleted: Dict[str, int]


class RunInfo(TypedDict):
    """A run in the catalog."""

    run_id: str
    scenario: str
    request_id: str
    status: str
    created_at: str
    lease_expires_at: str
    invoker: str
    reference_date: str
    seed: str
    generator_version: int
    constraints: Dict[str, Any]
    data: Dict[str, Any]
    cleaned_at: Optional[str]


class Failure(TypedDict):
    """One validator finding of a rejected plan."""

    validator: str
    message: str
    values: Dict[str, Any]


class PlanResult(TypedDict):
    """A dry run: the plan that would be seeded and the validators it passed. With
    ``explain=True``, each of ``plan["tables"]`` has ``sources``: per row, per column, where the
    value came from (``{"from": "knob", "knob": "claim_status", "caller": True}``)."""

    plan: Dict[str, Any]
    validators: List[str]


class CoverageReport(TypedDict):
    """What the tests have exercised (``Engine.coverage``): ``coverage`` is the share of items
    covered, in percent; ``requirements``, ``scenarios`` and ``gaps`` say which."""

    pack: str
    coverage: float
    covered: int
    items: int
    runs: Dict[str, int]
    requirements: List[Dict[str, Any]]
    scenarios: List[Dict[str, Any]]
    gaps: Dict[str, List[Any]]


class MaskReport(TypedDict, total=False):
    """What a masking job did (``Engine.mask``): rows per table (``tables``), each column's
    class and transform (``columns``), and with ``verify=True`` the proof
    (``verification["passed"]``, per column, foreign key and unique set)."""

    source: str
    target: str
    rules_sha256: str
    subset: bool
    tables: List[Dict[str, Any]]
    columns: List[Dict[str, Any]]
    verification: Dict[str, Any]
    elapsed_ms: int
    audit_run_id: str


class AuditEvent(TypedDict):
    """One audit event; ``timestamp`` is RFC 3339, UTC, with microseconds."""

    event_id: str
    timestamp: str
    test_run_id: str
    invoker: str
    action: str
    inputs: Dict[str, Any]
    tools_called: Any
    outputs: Dict[str, Any]
    status: str
    reviewer_decision: Optional[str]
    schema_version: int


class _AuditTrailFields(TypedDict):
    run_id: str
    location: str
    events: List[AuditEvent]


class AuditTrail(_AuditTrailFields, total=False):
    """A run's audit trail, oldest event first. ``pending`` (only when there are some): events
    that happened but are not in the audit store yet; the database's audit outbox holds them
    until the next engine writes them."""

    pending: List[AuditEvent]


class SchemaVersion(TypedDict):
    """Which schema a baseline was taken of."""

    pack: str
    schema: str
    version: str
    hash: str


class BaselineTable(TypedDict):
    """One table of a baseline."""

    name: str
    rows: int
    checksum: str
    object: str
    catalog: bool


class BaselineManifest(TypedDict):
    """A baseline's manifest."""

    format_version: int
    id: str
    captured_at: str
    dialect: str
    schema_version: SchemaVersion
    tables: List[BaselineTable]
    tags: Dict[str, str]
    audit_run_id: str


class RestoreReport(TypedDict):
    """What a restore wrote and deleted, per table."""

    baseline_id: str
    rows: Dict[str, int]
    deleted: Dict[str, int]
    audit_run_id: str


class TableDiff(TypedDict):
    """How one table differs between two baselines, by primary key."""

    table: str
    added: int
    removed: int
    changed: int
    added_keys: List[Dict[str, Any]]
    removed_keys: List[Dict[str, Any]]
    changed_keys: List[Dict[str, Any]]
    truncated: bool


# "from" is a keyword, so this one is declared the functional way.
BaselineDiff = TypedDict(
    "BaselineDiff", {"from": str, "to": str, "tables": List[TableDiff]}
)
"""How two baselines differ, table by table (``from`` is the older baseline)."""


class KnobDescription(TypedDict):
    """A scenario knob: what it changes and the values it allows."""

    name: str
    description: str
    allowed: str
    values: Optional[List[Any]]
    default: Any


class RowDescription(TypedDict):
    """A row entry of a scenario."""

    alias: str
    table: str
    count: Any


class ScenarioDescription(TypedDict):
    """A scenario, described."""

    id: str
    description: str
    tags: List[str]
    requirements: List[str]
    validators: List[str]
    knobs: List[KnobDescription]
    rows: List[RowDescription]


class ScenarioMatch(TypedDict):
    """A scenario found by intent; only the order of ``score`` is meaningful."""

    id: str
    score: float
    matched: List[str]


class LeftOut(TypedDict):
    """A table ``every_table`` leaves out: why, and what to do."""

    table: str
    reason: str


class ScaffoldReport(TypedDict):
    """What :func:`atdm.introspect` wrote into the scenario directory ``dir``."""

    database: str
    dir: str
    files: List[str]
    scenarios: List[str]
    tables: int
    left_out: List[LeftOut]
    notes: List[str]
    other_files: List[str]
