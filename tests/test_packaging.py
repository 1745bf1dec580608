"""rtstyle as users get it: a wheel or an sdist (not `pip install -e .`), which must carry every built-in style, the
bundled media and their credits and nothing else of the checkout, and must run from outside the checkout without
writing into its own (possibly read-only) package folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# What a checkout holds beside the sources (.gitignore's list): not copied, as a fresh clone would not have it.
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", ".venv-floors", ".gpu", ".whl", "build", "dist", "*.egg-info",
                                     "__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache", "runs", "out",
                                     "rtstyle-demo")
BUILD_REQUIREMENT = (77,)  # pyproject.toml's build-system: setuptools>=77 (license = "MIT", license-files)


def setuptools_version() -> tuple[int, ...] | None:
    try:
        import setuptools
    except ImportError:
        return None
    return tuple(int(part) for part in re.findall(r"\d+", setuptools.__version__)[:2])


def package_files(root: Path) -> set[str]:
    """Every file of the rtstyle package in a source tree, as archive names ("rtstyle/assets/cutBunny.mp4")."""
    return {p.relative_to(root).as_posix() for p in (root / "rtstyle").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(source copy, wheel, sdist), built from a copy of the checkout so that the checkout gets no build/ folder."""
    found = setuptools_version()
    if found is None or found < BUILD_REQUIREMENT:
        pytest.skip(f"building needs setuptools>=77 importable (found {found})")
    tmp = tmp_path_factory.mktemp("packaging")
    source, dist = tmp / "src", tmp / "dist"
    shutil.copytree(REPO, source, ignore=NOT_SOURCES)
    # setuptools' own PEP 517 hooks, as `pip wheel --no-build-isolation` and `python -m build -n` call them.
    # (The folder is read first: the hooks leave sys.argv changed.)
    subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; out = sys.argv[1]; "
                    "b.build_wheel(out); b.build_sdist(out)", str(dist)],
                   cwd=source, check=True, capture_output=True, timeout=120)
    wheel, = dist.glob("rtstyle-*.whl")
    sdist, = dist.glob("rtstyle-*.tar.gz")
    return source, wheel, sdist


def test_the_wheel_holds_the_package_with_its_styles_media_and_credits(built):
    source, wheel, _ = built
    names = set(zipfile.ZipFile(wheel).namelist())
    in_package = {n for n in names if n.startswith("rtstyle/")}
    metadata = {n for n in names if re.match(r"rtstyle-[^/]+\.dist-info/", n)}
    assert names == in_package | metadata, f"outside the package: {sorted(names - in_package - metadata)}"
    expected = package_files(source)
    assert {n for n in expected if n.startswith("rtstyle/styles/builtin/")} >= {
        "rtstyle/styles/builtin/mosaic.safetensors", "rtstyle/styles/builtin/mosaic-fast.safetensors"}
    assert in_package == expected, (f"missing: {sorted(expected - in_package)}; "
                                    f"extra: {sorted(in_package - expected)}")
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in metadata)
    # The CC-BY clip's credit travels with it: every bundled medium is named in the installed credits file.
    credits = zipfile.ZipFile(wheel).read("rtstyle/assets/CREDITS.md").decode()
    media = [n.rsplit("/", 1)[1] for n in in_package if n.startswith("rtstyle/assets/") and not n.endswith(".md")]
    assert media and all(f"`{name}`" in credits for name in media), media
    assert "CC-BY" in credits


def test_the_sdist_builds_the_same_package_and_carries_the_credits(built):
    source, _, sdist = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert package_files(source) <= names
    assert {"CREDITS.md", "LICENSE", "README.md", "pyproject.toml"} <= names
    # Not a part of the tests (they need conftest.py, tests/data, scripts/ and bench/), nor docs or tools.
    assert not {n for n in names if n.split("/")[0] in ("tests", "docs", "bench", "scripts", ".gpu", ".ci")}


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if "__pycache__" not in p.parts}


def test_the_installed_wheel_runs_outside_the_checkout_and_writes_nothing_into_itself(built, tmp_path):
    _, wheel, _ = built
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # a pure-Python wheel installs as its files, unpacked
    before = snapshot(site / "rtstyle")
    home, run = tmp_path / "home", tmp_path / "run"
    run.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(home),
           "XDG_CACHE_HOME": str(home / ".cache")}
    if sys.platform != "win32":  # the platform's user cache (platformdirs), not the package, keeps built models
        env.pop("RTSTYLE_CACHE_DIR", None)
    where = subprocess.run([sys.executable, "-c", "import rtstyle; print(rtstyle.__file__)"], cwd=run, env=env,
                           capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout
    demo = subprocess.run([sys.executable, "-m", "rtstyle", "demo", "--styles", "mosaic-fast", "--seconds", "0.5",
                           "--max-size", "96", "--precision", "int8"],
                          cwd=run, env=env, capture_output=True, text=True, timeout=240)
    assert demo.returncode == 0, demo.stderr
    assert (run / "rtstyle-demo" / "contact_sheet.jpg").stat().st_size > 1000
    assert "CC-BY" in demo.stdout and "CREDITS.md" in demo.stdout
    assert snapshot(site / "rtstyle") == before
    if sys.platform != "win32":
        assert list(home.rglob("mosaic-fast-*int8*.onnx")), sorted(home.rglob("*"))
