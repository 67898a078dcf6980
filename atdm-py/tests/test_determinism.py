"""One definition, two languages: Python plans every healthcare scenario byte for byte as the
Rust planner does. The digest is the one pinned in atdm-core/tests/determinism.rs, read from
that file so there is one source of truth."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import atdm

RUN_ID = "01JD3QZ8X9K2M4N6P8R0S2T4V6"
REFERENCE_DATE = "2026-06-01"
RUST_TEST = Path(__file__).resolve().parents[2] / "atdm-core" / "tests" / "determinism.rs"


def pinned_digest() -> str:
    m = re.search(r'const PINNED: &str = "([0-9a-f]{64})";', RUST_TEST.read_text())
    assert m, f"no PINNED digest in {RUST_TEST}"
    return m.group(1)


def test_python_plans_are_the_rust_plans_byte_for_byte(engine: atdm.Engine) -> None:
    out = []
    for s in engine.scenarios():
        out.append(atdm.plan_json(s["id"], RUN_ID, REFERENCE_DATE) + "\n")
    out.append(
        atdm.plan_json(
            "claim_denial_active_member",
            RUN_ID,
            REFERENCE_DATE,
            {"procedure_code": "per_run"},
            seed=42,
        )
    )
    digest = hashlib.sha256("".join(out).encode()).hexdigest()
    assert digest == pinned_digest()
