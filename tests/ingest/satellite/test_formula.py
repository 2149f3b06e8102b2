"""The AST allow-list that compiles formulas: arithmetic on allowed names only."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ingest.errors import FormulaNotAllowed, MissingBands
from ingest.satellite._formula import MAX_FORMULA_CHARS, compile_formula

NAMES = frozenset({"N", "R", "L"})


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "N.real",
        "N[0]",
        "X + N",
        "(lambda: 1)()",
        "N > R",
        "'text'",
        "True + N",
        "N if R else L",
        "abs(N)",
        "N +",
        "N + " * (MAX_FORMULA_CHARS // 4) + "N",
    ],
)
def test_anything_but_arithmetic_on_allowed_names_is_refused(text):
    with pytest.raises(FormulaNotAllowed):
        compile_formula(text, NAMES)


def test_arithmetic_evaluates_like_python_with_nan_for_zero_division():
    formula = compile_formula("(1.0 + L) * (N - R) / (N + R + L) - -N ** 2", NAMES)
    assert formula.names == {"N", "R", "L"}
    n = np.float32([0.5, 0.0])
    r = np.float32([0.1, 0.0])
    result = formula({"N": n, "R": r, "L": 0.0})
    assert result.dtype == np.float32
    assert result[0] == pytest.approx(0.4 / 0.6 + 0.25)
    assert math.isnan(result[1])
    assert math.isnan(compile_formula("N / R", NAMES)({"N": 1.0, "R": 0.0}))


def test_a_missing_value_is_named():
    with pytest.raises(MissingBands) as err:
        compile_formula("N - R", NAMES)({"N": 1.0})
    assert "R" in err.value.message("en")
