"""Typing stubs of the compiled module ``atdm._atdm`` (checked against it with mypy's stubtest)."""

import datetime
import decimal
import os
from typing import List, Mapping, Optional, Sequence, Union, final

from atdm._types import (
    AuditTrail,
    BaselineDiff,
    BaselineManifest,
    CoverageReport,
    Failure,
    MaskReport,
    PlanResult,
    ResetAllReport,
    ResetReport,
    RestoreReport,
    RunInfo,
    ScaffoldReport,
    ScenarioDescription,
    ScenarioMatch,
    Seeded,
)

_Date = Union[datetime.date, str]
_Constraint = Union[str, bool, int, float, decimal.Decimal, datetime.date, None]
_Path = Union[str, os.PathLike[str]]

__all__ = [
    "AtdmError",
    "AuditStoreError",
    "BaselineNotFound",
    "ConfirmRequired",
    "DatabaseError",
    "Engine",
    "FilesExist",
    "GENERATOR_VERSION",
    "InvalidDataset",
    "InvalidMask",
    "InvalidConstraint",
    "InvalidScenario",
    "InvalidUrl",
    "NoBaseline",
    "NoScenarioDir",
    "RunNotFound",
    "ScenarioNotFound",
    "SeedFailed",
    "TokenMismatch",
    "UnknownPack",
    "UnmaskedSensitive",
    "ValidatorRejected",
    "__version__",
    "IpcBatches",
    "generate_ipc",
    "generate_ipc_batches",
    "introspect",
    "part_range",
    "plan_json",
    "suggest_mask_rules",
]

GENERATOR_VERSION: int
__version__: str

class AtdmError(Exception):
    code: str
    run_id: Optional[str]
    failures: List[Failure]

class ScenarioNotFound(AtdmError): ...
class InvalidDataset(AtdmError): ...
class InvalidMask(AtdmError): ...
class UnmaskedSensitive(AtdmError): ...
class InvalidConstraint(AtdmError): ...
class ValidatorRejected(AtdmError): ...
class SeedFailed(AtdmError): ...
class RunNotFound(AtdmError): ...
class TokenMismatch(AtdmError): ...
class ConfirmRequired(AtdmError): ...
class NoBaseline(AtdmError): ...
class BaselineNotFound(AtdmError): ...
class InvalidScenario(AtdmError): ...
class InvalidUrl(AtdmError): ...
class DatabaseError(AtdmError): ...
class AuditStoreError(AtdmError): ...
class NoScenarioDir(AtdmError): ...
class UnknownPack(AtdmError): ...
class FilesExist(AtdmError): ...

@final
class Engine:
    def __new__(
        cls,
        database_url: Optional[str] = None,
        store_url: Optional[str] = None,
        fixture_dir: Optional[_Path] = None,
        reference_date: Optional[_Date] = None,
        invoker: Optional[str] = None,
        *,
        scenario_dir: Optional[_Path] = None,
        pack: Optional[str] = None,
        lease_seconds: Optional[float] = None,
    ) -> Engine: ...
    @property
    def database(self) -> str: ...
    @property
    def store(self) -> str: ...
    def request(
        self,
        scenario: str,
        constraints: Optional[Mapping[str, _Constraint]] = None,
        *,
        seed: Optional[int] = None,
        reference_date: Optional[_Date] = None,
        invoker: Optional[str] = None,
        playwright: bool = False,
        pytest: bool = False,
        edge_cases: str = "none",
    ) -> Seeded: ...
    def plan(
        self,
        scenario: str,
        constraints: Optional[Mapping[str, _Constraint]] = None,
        *,
        seed: Optional[int] = None,
        reference_date: Optional[_Date] = None,
        explain: bool = False,
        edge_cases: str = "none",
    ) -> PlanResult: ...
    def reset_run(self, run_id: str, token: str) -> ResetReport: ...
    def renew_lease(self, run_id: str, token: str) -> str: ...
    @property
    def lease_seconds(self) -> float: ...
    def reset_all(self, *, confirm: bool = False) -> ResetAllReport: ...
    def reap_expired(self) -> List[ResetReport]: ...
    def runs(self) -> List[RunInfo]: ...
    def snapshot(
        self, id: Optional[str] = None, *, tags: Optional[Mapping[str, str]] = None
    ) -> BaselineManifest: ...
    def restore(self, id: Optional[str] = None) -> RestoreReport: ...
    def list_baselines(self) -> List[BaselineManifest]: ...
    def diff_baselines(self, from_id: str, to_id: str) -> BaselineDiff: ...
    def audit(self, run_id: str) -> AuditTrail: ...
    def audit_html(self, run_id: str) -> str: ...
    def coverage(self, requirements: Optional[Sequence[str]] = None) -> CoverageReport: ...
    def mask(
        self,
        source: str,
        to: _Path,
        rules: _Path,
        *,
        key: Optional[str] = None,
        create: bool = False,
        verify: bool = False,
        format: str = "parquet",
        force: bool = False,
        sample_rows: int = 1000,
    ) -> MaskReport: ...
    def coverage_html(self, requirements: Optional[Sequence[str]] = None) -> str: ...
    def scenarios(self) -> List[ScenarioDescription]: ...
    def describe(self, scenario: str) -> ScenarioDescription: ...
    def find_scenarios(self, intent: str, limit: int = 5) -> List[ScenarioMatch]: ...
    def metrics_text(self) -> str: ...
    def flush_audit(self) -> None: ...
    def close(self) -> None: ...

def plan_json(
    scenario: str,
    run_id: str,
    reference_date: _Date,
    constraints: Optional[Mapping[str, _Constraint]] = None,
    *,
    seed: Optional[int] = None,
    scenario_dir: Optional[_Path] = None,
) -> str: ...

def introspect(
    database_url: str,
    out_dir: _Path,
    *,
    name: Optional[str] = None,
    force: bool = False,
    schemas: Optional[Sequence[str]] = None,
) -> ScaffoldReport: ...

def generate_ipc(
    rows: Mapping[str, int],
    table: str,
    start: int,
    stop: Optional[int],
    *,
    seed: int,
    reference_date: _Date,
    scenario_dir: Optional[_Path] = None,
    batch_rows: int = 65536,
    edge_cases: str = "none",
) -> bytes: ...
def generate_ipc_batches(
    rows: Mapping[str, int],
    table: str,
    start: int,
    stop: Optional[int],
    *,
    seed: int,
    reference_date: _Date,
    scenario_dir: Optional[_Path] = None,
    batch_rows: int = 65536,
    edge_cases: str = "none",
) -> IpcBatches: ...

@final
class IpcBatches:
    def __iter__(self) -> IpcBatches: ...
    def __next__(self) -> bytes: ...

def suggest_mask_rules(source: str, *, sample_rows: int = 1000) -> str: ...
def part_range(rows: int, parts: int, part: int) -> tuple[int, int]: ...
