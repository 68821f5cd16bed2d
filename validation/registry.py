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

import numpy as np

from .. import checks as _checks
from ..errors import ArgumentTypeError, ParameterError
from ..results import Result
from ..stats import Estimate

__all__ = ["Comparison", "register", "checks", "run", "compare"]

_CHECKS: dict[str, Callable] = {}


@dataclasses.dataclass(frozen=True)
class Comparison(Result):
    """One theory number against one simulated (or independently computed) number.

    ``tolerance = sigmas * stderr + bias``: ``stderr`` is the simulation's standard error
    (from its :class:`~nnphys.stats.Estimate`; 0 for a deterministic method) and ``bias``
    the stated bound on the method's systematic error (1/n, grid spacing, truncation).
    ``passed`` is ``|theory - simulation| <= tolerance``; a NaN never passes.

    A check that sweeps a quantity (a width, a time, a load) records its value in ``x``
    and its name in ``x_name`` (``None`` and ``""`` otherwise); ``series`` labels the curve the
    row belongs to when a check sweeps several (``"test"``/``"train"``, one per
    activation). The validation report (:mod:`nnphys.validation.report`) plots theory
    and simulation against ``x``.
    """

    name: str = ""
    quantity: str = ""
    theory: float = math.nan
    simulation: float = math.nan
    stderr: float = 0.0
    tolerance: float = 0.0
    passed: bool = False
    sigmas: float = 0.0
    bias: float = 0.0
    x: float | None = None
    x_name: str = ""
    series: str = ""

    @property
    def pull(self) -> float:
        """``(simulation - theory) / stderr`` (NaN for a deterministic comparison)."""
        return (self.simulation - self.theory) / self.stderr if self.stderr > 0 else math.nan


def compare(name: str, quantity: str, theory, simulation, *, sigmas: float = 4.0,
            bias: float = 0.0, x=None, x_name: str = "", series: str = "") -> Comparison:
    """Compare a theory value with a measured one, deriving the tolerance from its error.

    Args:
        name, quantity: the check's name and what is compared (shown in the table).
        theory: the theory's value (a number).
        simulation: an :class:`~nnphys.stats.Estimate` (its ``stderr`` sets the
            tolerance), or a plain number for a deterministic second method.
        sigmas: how many standard errors are allowed (4 by default: a false failure rate
            of 6e-5 per Gaussian comparison).
        bias: the stated bound on the systematic error of the method (>= 0).
        x, x_name: the value and the name of the quantity the check sweeps (a finite
            number and its name, given together), if it sweeps one.
        series: the curve this row belongs to among the check's swept rows.
    """
    if isinstance(simulation, Estimate):
        if np.ndim(simulation.mean) != 0:
            raise ParameterError("simulation: a scalar Estimate (index an array estimate)")
        value, stderr = float(simulation.mean), float(simulation.stderr)
    else:
        value, stderr = float(simulation), 0.0
    sigmas = _checks.real("sigmas", sigmas, low=0.0)
    bias = _checks.real("bias", bias, low=0.0)
    theory = float(theory)
    if x is not None:
        x = _checks.real("x", x)
    for option, text in (("x_name", x_name), ("series", series)):
        if not isinstance(text, str):
            raise ArgumentTypeError(f"{option}: must be a string, got {type(text).__name__}")
    if (x is None) != (x_name == ""):
        raise ParameterError(f"x_name: the swept quantity's name and its value x are given "
                             f"together, got x_name={x_name!r}, x={x!r}")
    tolerance = sigmas * stderr + bias
    ok = math.isfinite(theory) and math.isfinite(value) and abs(theory - value) <= tolerance
    return Comparison(name=name, quantity=quantity, theory=theory, simulation=value,
                      stderr=stderr, tolerance=tolerance, passed=bool(ok), sigmas=sigmas,
                      bias=bias, x=x, x_name=x_name, series=series)


def register(name: str):
    """Decorator registering a check under ``family.check``."""
    if name.count(".") != 1:
        raise ParameterError(f"name: checks are named 'family.check', got {name!r}")

    def wrap(fn):
        if name in _CHECKS:
            raise ParameterError(f"name: check {name!r} is already registered")
        _CHECKS[name] = fn
        return fn
    return wrap


def _family_modules() -> list[str]:
    """Every module of nnphys.validation except the registry and the report: each one is a
    family of checks (``kernels``, ``hebbian``, ...) that registers on import."""
    package = importlib.import_module("nnphys.validation")
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                  if m.name not in ("registry", "report") and not m.name.startswith("_"))


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
            raise ParameterError(f"names: unknown check {name!r}; see `nnphys validate --list`")
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
