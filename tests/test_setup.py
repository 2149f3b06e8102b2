"""Setup is complete: every system program and file we use comes from a package setup installs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from models.cluster import external_programs, find_pg_bindir

ROOT = Path(__file__).resolve().parent.parent


def setup_packages() -> set[str]:
    lines = (ROOT / "scripts" / "system-packages.txt").read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def owning_package(path: Path) -> str:
    """The Debian package that ships ``path`` (merged-/usr aware)."""
    resolved = path.resolve()
    candidates = {str(path), str(resolved)}
    for p in list(candidates):
        if p.startswith("/usr/"):
            candidates.add(p[4:])
        else:
            candidates.add("/usr" + p)
    for candidate in sorted(candidates):
        result = subprocess.run(
            ["dpkg-query", "-S", candidate], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            return result.stdout.split(":")[0].strip()
    raise AssertionError(f"{path} belongs to no Debian package")


def required_files() -> list[Path]:
    bindir = find_pg_bindir()
    version = bindir.parent.name
    return [
        *external_programs(),
        Path(f"/usr/lib/postgresql/{version}/lib/postgis-3.so"),
    ]


@pytest.mark.parametrize("path", required_files(), ids=lambda p: p.name)
def test_required_file_comes_from_a_setup_package(path: Path):
    assert path.exists(), f"{path} is missing: run make setup"
    assert owning_package(path) in setup_packages()


def test_pg_binaries_are_not_taken_from_path():
    assert find_pg_bindir().is_relative_to("/usr/lib/postgresql")


def test_setup_has_nothing_left_to_install():
    system = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup-system.sh"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert system.returncode == 0, system.stdout
    assert "all present" in system.stdout
    venv = subprocess.run(
        ["make", "-q", "-C", str(ROOT), ".venv/.installed"], capture_output=True, check=False
    )
    assert venv.returncode == 0, "the virtualenv would be reinstalled by the next make"
