"""The docstring examples run: every ``>>>`` example of every module of the package.

Each module is a test case (doctest's own finder and runner, ``ELLIPSIS`` and
``NORMALIZE_WHITESPACE`` on, ``np`` predefined); reprs are numpy 2's (``np.float64(0.5)``),
so an example shows a plain number through ``float(...)``. An example that would need
minutes is marked ``# doctest: +SKIP`` in its docstring with the reason next to it.
"""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import nnphys

# Modules whose import does something else than define names.
NOT_IMPORTED = {"nnphys.__main__",      # runs the command line
                "nnphys.setup"}         # the build script at the root of the source tree


def _modules() -> list[str]:
    names = ["nnphys"] + [m.name for m in pkgutil.walk_packages(nnphys.__path__, "nnphys.")]
    return sorted(n for n in names if n not in NOT_IMPORTED)


def _with_examples(name: str) -> bool:
    module = importlib.import_module(name)
    return any(t.examples for t in doctest.DocTestFinder().find(module, name))


MODULES = [n for n in _modules() if _with_examples(n)]


def test_examples_are_found():
    assert "nnphys.sweep" in MODULES and "nnphys.cli" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                 # examples that write files write them here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in finder.find(module, name, extraglobs={"np": np}):
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)
