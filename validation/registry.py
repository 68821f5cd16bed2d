"""The registry of theory-vs-simulation checks.

A check is a function ``check(quick: bool, seed: int) -> Comparison | list[Comparison]``
registered under ``family.check`` (e.g. ``kernels.ntk_vs_ensemble``). ``quick=True`` runs
it at reduced size in seconds; the tolerance of every comparison is derived from the
method's error (Monte Carlo standard error, 1/width, grid spacing) and stated in the check's
docstring.

:func:`run` gives each check its own seed, :func:`check_seed` ``(seed, name)``, so its
numbers are the same serially, on local worker processes (``workers=N``) or on a Dask
cluster (``scheduler=...``), whatever else runs. The ``size`` tier multiplies the sample
counts a check draws (:func:`scaled`): ``size="large"`` runs every check with 4x the
samples, so its Monte Carlo standard errors and tolerances halve.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import math
import os
import pkgutil
import sys
import time
import traceback
import zlib
from typing import Callable

import numpy as np

from .. import checks as _checks
from ..errors import ArgumentTypeError, ParameterError
from ..results import Result
from ..stats import Estimate

__all__ = ["Comparison", "register", "checks", "run", "compare", "check_seed",
           "scaled", "size_factor", "SIZES"]

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

    A check that raised is one failed row whose ``error`` holds the exception (its type,
    message and the line that raised it); ``error`` is ``""`` otherwise.
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
    error: str = ""

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


#: The ``size`` tiers of :func:`run`: the factor multiplying every check's sample counts
#: (replicas, draws, Monte Carlo samples), read by the checks through :func:`scaled`.
#: ``large`` (4x: standard errors halve, and with them the tolerances ``sigmas*stderr``)
#: is meant for a Dask cluster.
SIZES = {"default": 1, "large": 4}

_size_factor = 1


def size_factor() -> int:
    """The sample-count factor of the run in progress (1 outside :func:`run`)."""
    return _size_factor


def scaled(n: int) -> int:
    """``n`` samples times the run's :func:`size_factor` (what a check draws)."""
    return _checks.integer("n", n, low=0) * _size_factor


def check_seed(seed: int, name: str) -> int:
    """The seed check ``name`` receives in a run with seed ``seed``: derived from both
    (``SeedSequence(seed, spawn_key=(crc32(name),))``), so a check sees the same draws
    whatever the backend, the worker count and the other checks selected."""
    seed = _checks.integer("seed", seed, low=0)
    if not isinstance(name, str):
        raise ArgumentTypeError(f"name: must be a check's name (a str), got "
                                f"{type(name).__name__}")
    key = zlib.crc32(name.encode())
    return int(np.random.SeedSequence(seed, spawn_key=(key,)).generate_state(1)[0])


def _run_one(name: str, quick: bool, seed: int, size: str, fn=None) -> tuple:
    """Run one check (in this process or a worker): its comparisons and CPU seconds.

    The CPU time (``time.process_time``: this process and its threads) does not grow
    when other jobs share the machine, unlike wall time."""
    global _size_factor
    fn = fn if fn is not None else checks()[name]
    previous, _size_factor = _size_factor, SIZES[size]
    start = time.process_time()
    try:
        out = fn(quick=quick, seed=check_seed(seed, name))
    except Exception as exc:     # one check's failure is its row; the run goes on
        out = [_raised(name, exc)]
    finally:
        _size_factor = previous
    out = out if isinstance(out, list) else [out]
    return out, time.process_time() - start


def _raised(name: str, exc: Exception) -> Comparison:
    """The failed row of a check that raised ``exc``: its type, message and where."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" (at {os.path.basename(frame.filename)}:{frame.lineno})" if frame else ""
    return Comparison(name=name, quantity="raised an exception",
                      error=f"{type(exc).__name__}: {exc}{where}")


def run(names=None, quick: bool = False, seed: int = 0, on_check=None, *,
        workers: int | None = 1, scheduler=None, size: str = "default",
        progress: bool = False) -> list[Comparison]:
    """Run the named checks (a family name selects all its checks); all if ``names`` is empty.

    Args:
        names: checks or families; all registered checks if empty.
        quick: reduced sizes (seconds per check).
        seed: the run's seed; each check gets :func:`check_seed` ``(seed, name)``.
        on_check: ``on_check(name, comparisons, seconds)`` is called in this process as
            each check finishes (the CLI prints its rows then); ``seconds`` is the check's
            CPU time.
        workers: local worker processes running checks in parallel (``None``: one per
            CPU; 1: in this process).
        scheduler: a Dask scheduler address (``tcp://host:port``) or
            ``distributed.Client``; the checks run on its workers (overrides ``workers``).
        size: a tier of :data:`SIZES` (``"default"`` or ``"large"``).
        progress: show a tqdm progress bar on stderr with the running pass/fail count.

    Returns:
        The comparisons of every check, in the order of ``names`` (the registry's order
        by default), whatever order the checks finished in.
    """
    _checks.one_of("size", size, tuple(SIZES))
    seed = _checks.integer("seed", seed, low=0)
    if workers is not None:
        workers = _checks.integer("workers", workers, low=1)
    available = checks()
    selected = []
    for name in names or list(available):
        matches = [n for n in available if n == name or n.startswith(name + ".")]
        if not matches:
            raise ParameterError(f"names: unknown check {name!r}; see `nnphys validate --list`")
        selected.extend(m for m in matches if m not in selected)
    from tqdm.auto import tqdm
    bar = tqdm(total=len(selected), disable=not progress, desc="validate", unit="check",
               file=sys.stderr)
    counts = {"pass": 0, "fail": 0}
    done: dict[str, list] = {}

    def finish(i, outcome):
        out, seconds = outcome
        name = selected[i]
        done[name] = out
        for c in out:
            counts["pass" if c.passed else "fail"] += 1
        if on_check is not None:
            on_check(name, out, seconds)
        bar.set_postfix(counts, refresh=False)
        bar.update()

    def call(i):
        return (selected[i], quick, seed, size)

    try:
        if scheduler is not None:
            from .. import sweep
            sweep._run_dask(_run_one, range(len(selected)), call, finish, _NoBar(),
                            scheduler, call=_call_check)
        elif (workers or os.cpu_count() or 1) > 1 and len(selected) > 1:
            from .. import sweep
            n = min(workers or os.cpu_count() or 1, len(selected))
            with _threads_per_worker(max(1, (os.cpu_count() or 1) // n)):
                sweep._run_processes(_run_one, range(len(selected)), call, finish,
                                     _NoBar(), n, call=_call_check)
        else:
            for i, name in enumerate(selected):
                finish(i, _run_one(*call(i), fn=available[name]))
    finally:
        bar.close()
    return [c for name in selected for c in done[name]]


def _call_check(fn, args):
    """Worker side: run one check; its exception is raised again in the driver."""
    return fn(*args)


#: The thread pools a worker process sizes from its environment when it starts.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "NUMBA_NUM_THREADS")


@contextlib.contextmanager
def _threads_per_worker(threads: int):
    """Spawn the workers with ``threads`` BLAS and numba threads each: the cores shared out
    among them. More threads than cores makes OpenBLAS spin: measured here, a
    ``(1000, 1000) @ (1000, 4)`` product costs 5-7x the CPU time with two threads per
    worker on a busy 2-core machine than with one."""
    saved = {k: os.environ.get(k) for k in _THREAD_VARIABLES}
    os.environ.update({k: str(threads) for k in _THREAD_VARIABLES})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _NoBar:
    """The progress of :func:`run` is kept by its own bar (with the pass/fail count)."""

    def update(self):
        pass
