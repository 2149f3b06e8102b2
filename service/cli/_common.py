"""What every ``skyground`` command shares: help texts, output for people or machines, errors."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer import rich_utils

from models.errors import SkyGroundError
from models.i18n import negotiate, t
from models.settings import Settings

__all__ = ["Output", "cli_actor", "fail", "handle_errors", "help_text", "output"]


def help_text(key: str) -> str:
    """Catalogue text ``key`` for ``--help``, in the language ``SKYGROUND_LANG`` names.

    Typer builds help when the CLI modules are imported, before ``--lang`` is parsed, so help
    follows the environment alone: ``SKYGROUND_LANG=en skyground --help`` gives English help,
    zh-CN is the default. ``--lang`` chooses the language of messages and output, not of help.
    Reads the variable directly rather than building :class:`Settings` at import time.
    """
    return t(key, negotiate(os.environ.get("SKYGROUND_LANG")))


def _fold_help_text() -> None:
    """Make typer fold help lines it cannot break at a space instead of cropping them with "…".

    Rich breaks lines only at whitespace and Chinese has none between words, so a long
    Chinese help text lost its end in typer's option tables; rich 15 also crops a line of
    double-width characters that exactly fills its column (``Text.rstrip_end`` counts
    characters, not cells). Folding keeps every character and changes nothing for text
    that fits. Typer has no setting for this, so wrap its private text factory (spelled
    ``_make_rich_rext`` in older releases); should a release drop it, help still works but
    crops again, which ``tests/service/test_cli_help.py`` catches.
    """
    for name in ("_make_rich_text", "_make_rich_rext"):
        make = getattr(rich_utils, name, None)
        if make is None or getattr(make, "_skyground_folds", False):
            continue

        def folding(*, _make: Callable[..., Any] = make, **kwargs: Any) -> Any:
            rendered = _make(**kwargs)
            if isinstance(rendered, Text):
                rendered.overflow = "fold"
            return rendered

        folding._skyground_folds = True  # type: ignore[attr-defined]
        setattr(rich_utils, name, folding)


_fold_help_text()


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


def cli_actor() -> str:
    """How the audit log names a change made from this command line (``cli:<os user>``)."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return f"cli:{who}"


@contextmanager
def handle_errors(out: Output) -> Iterator[None]:
    """Turn SkyGround errors into a clear message and exit code 1."""
    try:
        yield
    except SkyGroundError as error:
        fail(out, error)
