"""Setup is complete: every system program and file we use comes from a package setup installs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from models.cluster import external_programs, find_pg_bindir
from tests.service.test_ogc import OGRINFO
from tests.web.conftest import CHROMIUM, NOTO_CJK_DIR

ROOT = Path(__file__).resolve().parent.parent
FC_MATCH = Path("/usr/bin/fc-match")
#: The CJK face the web map, charts and reports name explicitly.
CJK_FAMILY = "Noto Sans CJK SC"


def _package_lines() -> list[list[str]]:
    lines = (ROOT / "scripts" / "system-packages.txt").read_text(encoding="utf-8").splitlines()
    return [line.split() for line in lines if line.strip() and not line.startswith("#")]


def setup_packages() -> set[str]:
    return {parts[0] for parts in _package_lines()}


def provided_paths() -> set[str]:
    """Paths a list line accepts from whichever package ships them."""
    return {parts[1] for parts in _package_lines() if len(parts) > 1}


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


def cjk_font() -> tuple[list[str], Path]:
    """Families and file fontconfig gives for :data:`CJK_FAMILY`."""
    found = subprocess.run(
        [str(FC_MATCH), "-f", "%{family}\n%{file}", CJK_FAMILY],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return found[0].split(","), Path(found[1])


def required_files() -> list[Path]:
    bindir = find_pg_bindir()
    version = bindir.parent.name
    files = [
        *external_programs(),
        Path(f"/usr/lib/postgresql/{version}/lib/postgis-3.so"),
        Path("/usr/bin/npm"),
        CHROMIUM,
        FC_MATCH,
        OGRINFO,
    ]
    if FC_MATCH.exists():
        files.append(cjk_font()[1])
    return files


@pytest.mark.parametrize("path", required_files(), ids=lambda p: p.name)
def test_required_file_comes_from_a_setup_package(path: Path):
    assert path.exists(), f"{path} is missing: run make setup"
    package = owning_package(path)
    assert package in setup_packages() or str(path) in provided_paths(), package


def test_cjk_font_is_noto_sans_cjk_sc_from_fonts_noto_cjk():
    # fontconfig falls back to any font (WenQuanYi, DejaVu) when the family is missing.
    assert FC_MATCH.exists(), f"{FC_MATCH} is missing: run make setup"
    families, path = cjk_font()
    assert CJK_FAMILY in families, (families, path)
    assert owning_package(path) == "fonts-noto-cjk", path
    # The browser test's fontconfig holds only this folder.
    assert path.parent == NOTO_CJK_DIR


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


def test_web_assets_are_the_pinned_ones():
    lines = (ROOT / "web" / "assets.txt").read_text(encoding="utf-8").splitlines()
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        name, version, integrity, *files = line.split()
        folder = ROOT / "service" / "static" / "vendor" / name
        assert (folder / ".version").read_text().split() == [f"{name}@{version}", integrity]
        for file in files:
            assert (folder / Path(file).name).stat().st_size > 0, file
