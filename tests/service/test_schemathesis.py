"""schemathesis over the whole OpenAPI document, as an admin and as a township officer.

Per operation, Hypothesis generates up to :data:`EXAMPLES` requests from the schema (bounded
by :data:`BUDGET_S` of wall clock per caller). Each operation also gets the role matrix's
known-good request, so every operation is seen succeeding at least once; the counts of
generated and known-good answers are kept apart. No answer may be a 5xx.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from tests.service.auth_world import Caller
from tests.service.test_role_matrix import (  # noqa: F401
    RULES,
    allowed,
    app,
    matrix_world,
    send,
)

EXAMPLES = 12
#: Operations the role allows that a scoped caller is still refused (403), for now.
SCOPED_REFUSED = {"township": ("POST /api/plots/import",)}
BUDGET_S = 90.0


def status_class(code: int) -> str:
    return f"{code // 100}xx"


def fuzz(target: FastAPI, caller: Caller) -> dict[str, Counter[str]]:
    """Status classes per operation ("GET /api/plots") of the generated requests."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", target)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    deadline = time.monotonic() + BUDGET_S
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        try:
            _runner(operation, caller, counts[label], deadline)()
        except Unsatisfiable:
            counts[label]["unsatisfiable"] += 1
    return counts


def _runner(operation: Any, caller: Caller, seen: Counter[str], deadline: float) -> Any:
    """A Hypothesis test that sends generated requests of ``operation`` and counts answers."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        if time.monotonic() > deadline:
            return
        response = case.call(headers={**(case.headers or {}), **caller.headers})
        seen[status_class(response.status_code)] += 1

    return run


@pytest.mark.parametrize("who", ["admin", "township"])
def test_no_operation_errors_and_every_one_succeeds(app, matrix_world, who, record_property):  # noqa: F811
    callers, _ = matrix_world
    caller = callers[who]
    generated = fuzz(app, caller)
    known_good: dict[str, int] = {}
    with TestClient(app) as client:
        for (method, path), (_, example) in RULES.items():
            if method == "MOUNT":
                continue
            known_good[f"{method} {path}"] = send(client, example, caller.headers)
            client.cookies.clear()
        assert client.get("/healthz").status_code == 200
    table = {
        label: {**generated.get(label, Counter()), "example": known_good.get(label)}
        for label in sorted(set(generated) | set(known_good))
    }
    record_property(f"schemathesis_{who}", table)
    lines = [f"{label}: {dict(counts)}" for label, counts in table.items()]
    print(f"schemathesis as {who}:\n  " + "\n  ".join(lines))  # noqa: T201
    assert all(counts.get("5xx", 0) == 0 for counts in generated.values()), generated
    # Every operation in the schema was exercised and answered 2xx at least once.
    in_schema = set(generated)
    assert in_schema, "no operation generated"
    rules = {f"{method} {path}": rule for (method, path), (rule, _) in RULES.items()}
    for label in in_schema:
        if not allowed(rules[label], caller) or label in SCOPED_REFUSED.get(who, ()):
            assert generated[label].get("2xx", 0) == 0, (label, table[label])
            continue
        succeeded = generated[label].get("2xx", 0) > 0 or 200 <= (known_good.get(label) or 0) < 300
        assert succeeded, (label, table[label])
