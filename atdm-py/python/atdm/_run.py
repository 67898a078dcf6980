"""``SeededRun``: a seeded run that reads as well as the Rust ``data.key("member_id")``."""

from __future__ import annotations

from typing import Any, Dict, List

from atdm._types import Seeded


class SeededRun:
    """A seeded run, as the pytest plugin's ``atdm_data`` fixture gives it.

    ``run.key("member_id")`` is one key as text (an integer key as its digits),
    ``run.keys("book_ids")`` the keys of a row with ``count``, ``run.run_id``, ``run.token``,
    ``run.data`` (the keys by output name) and the other fields of :class:`atdm.Seeded` are
    attributes, and ``run["data"]["member_id"]`` still works. A name the scenario does not
    have raises ``KeyError`` naming the ones it has.
    """

    __slots__ = ("_seeded",)

    def __init__(self, seeded: Seeded) -> None:
        self._seeded = seeded

    # The fields of the seeded run, typed.
    @property
    def run_id(self) -> str:
        return self._seeded["run_id"]

    @property
    def token(self) -> str:
        return self._seeded["token"]

    @property
    def scenario(self) -> str:
        return self._seeded["scenario"]

    @property
    def request_id(self) -> str:
        return self._seeded["request_id"]

    @property
    def data(self) -> Dict[str, Any]:
        return self._seeded["data"]

    @property
    def rows(self) -> Dict[str, int]:
        return self._seeded["rows"]

    @property
    def seed(self) -> int:
        return self._seeded["seed"]

    @property
    def reference_date(self) -> str:
        return self._seeded["reference_date"]

    @property
    def lease_expires_at(self) -> str:
        return self._seeded["lease_expires_at"]

    @property
    def fixtures(self) -> List[str]:
        return self._seeded["fixtures"]

    @property
    def edge_cases(self) -> Dict[str, List[str]]:
        """The edge cases the rows hold, per table, as ``"column class"`` (empty without
        ``edge_cases``)."""
        return self._seeded.get("edge_cases", {})

    def key(self, name: str) -> str:
        """One entity's key as text; ``TypeError`` for a list (use :meth:`keys`) or a
        composite key (read ``run.data[name]``)."""
        value = self._entry(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
        raise TypeError(
            f"entity {name!r} of scenario {self.scenario!r} is {value!r}, not one key; "
            "a list is read with keys(), a composite key with data[name]" + _streamed(value)
        )

    def keys(self, name: str) -> List[str]:
        """The keys of an entity of several rows, in row order (a single row: a list of one)."""
        value = self._entry(name)
        items = value if isinstance(value, list) else [value]
        if all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in items):
            return [str(v) for v in items]
        raise TypeError(
            f"entity {name!r} of scenario {self.scenario!r} is {value!r}, not a list of keys"
            + _streamed(value)
        )

    def as_dict(self) -> Seeded:
        """The seeded run as :meth:`atdm.Engine.request` returns it."""
        return self._seeded

    def __getitem__(self, field: str) -> Any:
        return self._seeded[field]  # type: ignore[literal-required]

    def _entry(self, name: str) -> Any:
        data = self._seeded["data"]
        if name not in data:
            raise KeyError(
                f"scenario {self.scenario!r} has no entity {name!r}; its keys are: "
                + ", ".join(sorted(data))
            )
        return data[name]

    def __repr__(self) -> str:
        return f"SeededRun(scenario={self.scenario!r}, run_id={self.run_id!r}, data={self.data!r})"


def _streamed(value: Any) -> str:
    """A hint for an entity that was streamed: the result gives its table and count only."""
    if isinstance(value, dict) and "table" in value and "rows" in value:
        return (
            "; it is a streamed entry (10,000 rows or more), whose keys are not listed: "
            'query its table, or lower its count (docs/scenarios.md, "Large counts")'
        )
    return ""
