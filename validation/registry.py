"""The registry of theory-vs-simulation checks.

A check is a function ``check(quick: bool, seed: int) -> Comparison | list[Comparison]``
registered under ``family.check`` (e.g. ``kernels.ntk_vs_ensemble``). ``quick=True`` runs
it at reduced size in seconds; the tolerance of every comparison is derived from the
method's error (Monte Carlo standard error, 1/width, grid spacing) and stated in the check's
docstring.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import pkgutil
import time
from typing import Callable

__all__ = ["Comparison", "register", "checks", "run", "compare"]

_CHECKS: dict[str, Callable] = {}


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One theory number against one simulated number.

    ``passed`` is ``|theory - simulation| <= tolerance``; ``stderr`` is the simulation's
    standard error (0 for deterministic simulations).
    """

    name: str
    quantity: str
    theory: float
    simulation: float
    stderr: float
    tolerance: float
    passed: bool


def compare(name: str, quantity: str, theory: float, simulation: float, stderr: float,
            tolerance: float) -> Comparison:
    """Build a :class:`Comparison`, deciding ``passed`` (a NaN never passes)."""
    theory, simulation = float(theory), float(simulation)
    ok = math.isfinite(theory) and math.isfinite(simulation) and \
        abs(theory - simulation) <= tolerance
    return Comparison(name, quantity, theory, simulation, float(stderr), float(tolerance), ok)


def register(name: str):
    """Decorator registering a check under ``family.check``."""
    if name.count(".") != 1:
        raise ValueError(f"name: checks are named 'family.check', got {name!r}")

    def wrap(fn):
        if name in _CHECKS:
            raise ValueError(f"name: check {name!r} is already registered")
        _CHECKS[name] = fn
        return fn
    return wrap


def _family_modules() -> list[str]:
    """Every module of nnphys.validation except the registry itself: each one is a family
    of checks (``kernels``, ``hebbian``, ...) that registers on import."""
    package = importlib.import_module("nnphys.validation")
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                  if m.name != "registry" and not m.name.startswith("_"))


def checks() -> dict[str, Callable]:
    """All registered checks, by name (imports every family module)."""
    for family in _family_modules():
        importlib.import_module(f"nnphys.validation.{family}")
    return dict(sorted(_CHECKS.items()))


def run(names=None, quick: bool = False, seed: int = 0, on_check=None) -> list[Comparison]:
    """Run the named checks (a family name selects all its checks); all if ``names`` is empty.

    ``on_check(name, comparisons, seconds)`` is called as each check finishes (the CLI
    prints its rows then, so a long run shows progress).
    """
    available = checks()
    selected = []
    for name in names or list(available):
        matches = [n for n in available if n == name or n.startswith(name + ".")]
        if not matches:
            raise ValueError(f"names: unknown check {name!r}; see `nnphys validate --list`")
        selected.extend(m for m in matches if m not in selected)
    results: list[Comparison] = []
    for name in selected:
        start = time.perf_counter()
        out = available[name](quick=quick, seed=seed)
        out = out if isinstance(out, list) else [out]
        results.extend(out)
        if on_check is not None:
            on_check(name, out, time.perf_counter() - start)
    return results
