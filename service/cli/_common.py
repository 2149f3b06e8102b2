"""What every ``skyground`` command shares: output for people or machines, and errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

import typer
from rich.console import Console

from models.errors import SkyGroundError
from models.i18n import t
from models.settings import Settings

__all__ = ["Output", "fail", "handle_errors", "output"]


@dataclass
class Output:
    """Where a command reports: rich text for people, one JSON document with ``--json``."""

    json_mode: bool = False
    lang: str = "zh-CN"
    settings: Settings = field(default_factory=Settings.from_env)
    console: Console = field(default_factory=lambda: Console(highlight=False, soft_wrap=True))
    errors: Console = field(
        default_factory=lambda: Console(stderr=True, highlight=False, soft_wrap=True)
    )

    def t(self, key: str, /, **params: object) -> str:
        """A catalogue message in this command's language."""
        return t(key, self.lang, **params)

    def say(self, key: str, /, **params: object) -> None:
        """A line for people (silent under ``--json``)."""
        if not self.json_mode:
            self.console.print(self.t(key, **params))

    def result(self, data: dict[str, Any], render: Callable[[], None] | None = None) -> None:
        """The command's result: JSON on stdout, or ``render`` for people."""
        if self.json_mode:
            sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str, indent=2) + "\n")
        elif render is not None:
            render()


def output(ctx: typer.Context) -> Output:
    """The :class:`Output` the root callback stored on the context."""
    root = ctx.find_root()
    if not isinstance(root.obj, Output):
        root.obj = Output()
    return root.obj


def fail(out: Output, error: SkyGroundError) -> NoReturn:
    """Report ``error`` in the caller's language and exit non-zero."""
    message = error.message(out.lang)
    if out.json_mode:
        payload = {"error": type(error).__name__, "message": message, "params": error.params}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    out.errors.print(f"[bold red]✗[/] {message}", markup=True)
    raise typer.Exit(code=1)


@contextmanager
def handle_errors(out: Output) -> Iterator[None]:
    """Turn SkyGround errors into a clear message and exit code 1."""
    try:
        yield
    except SkyGroundError as error:
        fail(out, error)
