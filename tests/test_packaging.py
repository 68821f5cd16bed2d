"""A plain (not editable) install works: build a wheel, install it into a fresh virtual
environment, and import every module of the package from another directory.

The source tree is copied first, so the build leaves nothing in the checkout. The wheel is
built by pip in its usual isolated build environment (setuptools and wheel from the
machine's configured index). The fresh environment has no pip and no site packages of its
own; the dependencies (numpy, numba, ...) are those of the running interpreter, made
visible by a ``.pth`` line naming its site-packages directory, so the test needs no network.
A ``.pth`` path line does not run that directory's own ``.pth`` files, so an editable
install of nnphys in the running environment stays invisible to the fresh one.
"""

import json
import os
import pathlib
import shutil
import site
import subprocess
import sys
import sysconfig

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "build", "dist", "*.egg-info",
                                ".pytest_cache", ".hypothesis", "figures-out")

pytestmark = pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(),
                                reason="needs the source tree (pyproject.toml at the root)")

# Run inside the fresh environment: import every module, find the package data.
IMPORT_ALL = r"""
import importlib, json, pathlib, pkgutil, sys
import nnphys
root = pathlib.Path(nnphys.__file__).parent
assert root.is_relative_to(pathlib.Path(sys.prefix)), (nnphys.__file__, sys.prefix)
names = ["nnphys"] + [m.name for m in pkgutil.walk_packages(nnphys.__path__, "nnphys.")]
for name in names:
    if name != "nnphys.__main__":          # runs the command line on import
        importlib.import_module(name)
for data in ("docs/glossary.md", "tests/data/README.md", "tests/data/nt_reference.npz",
             "tests/data/nt_conv_reference.npz"):
    assert (root / data).is_file(), data
print(json.dumps(names))
"""


def _run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_wheel_installs_and_imports_every_module(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=IGNORE)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir",
          str(tmp_path / "wheel"), str(src)])
    (wheel,) = (tmp_path / "wheel").glob("nnphys-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    venv_site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    deps = [sysconfig.get_path("purelib")] + site.getsitepackages()
    pathlib.Path(venv_site.strip(), "_nnphys_test_deps.pth").write_text(
        "\n".join(dict.fromkeys(deps)) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--quiet", str(wheel)])

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")
    installed = set(json.loads(_run([str(python), "-c", IMPORT_ALL], cwd=elsewhere, env=env)))
    assert installed == _source_modules()


def _source_modules() -> set[str]:
    """Dotted names of the modules of the source tree (files under a chain of packages)."""
    names = set()
    for path in src_files(ROOT):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts == ("setup",):
            continue
        if all((ROOT.joinpath(*parts[:i]) / "__init__.py").exists() for i in range(len(parts))):
            names.add(".".join(("nnphys",) + parts).removesuffix(".__init__"))
    return names


def src_files(root: pathlib.Path):
    for path in root.rglob("*.py"):
        if not any(IGNORE(str(p.parent), [p.name]) for p in path.relative_to(root).parents
                   if p.name) and not IGNORE(str(path.parent), [path.name]):
            yield path
