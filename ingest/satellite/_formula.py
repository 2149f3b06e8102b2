"""Band maths from a formula string, checked against an AST allow-list and never ``eval``-ed.

A formula such as spyndex's ``g*(N-R)/(N+C1*R-C2*B+L)`` is parsed with :mod:`ast`; only
numbers, the allowed names, ``+ - * / **`` and unary ``+ -`` pass. The tree becomes nested
closures that apply Python's operators, so numpy arrays and Python floats combine exactly as
they would in the text (float32 stays float32), except that division by zero gives NaN
instead of ±inf.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.errors import FormulaNotAllowed, MissingBands

__all__ = ["MAX_FORMULA_CHARS", "Formula", "compile_formula", "safe_divide"]

#: Longest formula text accepted (spyndex's longest is well under this).
MAX_FORMULA_CHARS = 500
_MAX_DEPTH = 40

_Eval = Callable[[Mapping[str, Any]], Any]


def safe_divide(a: Any, b: Any) -> Any:
    """``a / b`` with NaN wherever ``b`` is 0 (arrays or Python numbers)."""
    if not isinstance(a, np.ndarray) and not isinstance(b, np.ndarray):
        return a / b if b != 0 else math.nan
    dtype = np.result_type(a, b)
    if dtype.kind != "f":
        dtype = np.dtype(np.float32)
    out = np.full(np.broadcast_shapes(np.shape(a), np.shape(b)), np.nan, dtype=dtype)
    np.divide(a, b, out=out, where=np.asarray(b) != 0)
    return out


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: safe_divide,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


@dataclass(frozen=True)
class Formula:
    """A compiled formula.

    Attributes:
        text: the formula as given.
        names: the names it reads (bands and constants).
    """

    text: str
    names: frozenset[str]
    _evaluate: _Eval

    def __call__(self, values: Mapping[str, Any]) -> Any:
        """Evaluate with ``values`` (name → array or number); NaN where a divisor is 0.

        Raises:
            MissingBands: a name of the formula has no value.
        """
        missing = sorted(self.names - set(values))
        if missing:
            raise MissingBands(index=self.text, missing=", ".join(missing))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._evaluate(values)


def compile_formula(text: str, allowed_names: frozenset[str]) -> Formula:
    """Check ``text`` against the allow-list and compile it.

    Args:
        text: the formula, e.g. ``(N - R)/(N + R)``.
        allowed_names: names the formula may read.

    Raises:
        FormulaNotAllowed: anything but numbers, allowed names and ``+ - * / **``.
    """
    if len(text) > MAX_FORMULA_CHARS:
        raise FormulaNotAllowed(formula=text[:60] + "…", reason=f"> {MAX_FORMULA_CHARS} chars")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise FormulaNotAllowed(formula=text, reason=f"syntax: {exc.msg}") from exc
    names: set[str] = set()
    evaluate = _build(tree.body, text, allowed_names, names, 0)
    return Formula(text=text, names=frozenset(names), _evaluate=evaluate)


def _build(node: ast.AST, text: str, allowed: frozenset[str], names: set[str], depth: int) -> _Eval:
    if depth > _MAX_DEPTH:
        raise FormulaNotAllowed(formula=text, reason="nested too deeply")
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FormulaNotAllowed(formula=text, reason=f"constant {value!r}")
        number = float(value)
        return lambda _values: number
    if isinstance(node, ast.Name):
        name = node.id
        if name not in allowed:
            raise FormulaNotAllowed(formula=text, reason=f"name {name}")
        names.add(name)
        return lambda values: values[name]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op = _BINARY[type(node.op)]
        left = _build(node.left, text, allowed, names, depth + 1)
        right = _build(node.right, text, allowed, names, depth + 1)
        return lambda values: op(left(values), right(values))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        unary = _UNARY[type(node.op)]
        operand = _build(node.operand, text, allowed, names, depth + 1)
        return lambda values: unary(operand(values))
    raise FormulaNotAllowed(formula=text, reason=type(node).__name__)
