"""Argument checks at the API edge, shared by every module.

Each check returns the normalised value or raises :class:`~nnphys.errors.ParameterError`
(a ``ValueError``) or :class:`~nnphys.errors.ArgumentTypeError` (a ``TypeError``) whose
message starts with the argument's name and states the allowed range::

    >>> real("T", -1.0, low=0.0)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    nnphys.errors.ParameterError: T: must be a finite real number >= 0.0, got -1.0
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

import numpy as np

from .errors import ArgumentTypeError, ParameterError

__all__ = ["real", "positive", "integer", "probability", "one_of", "finite_array", "work",
           "seed", "WORK_LIMIT", "MEMORY_LIMIT"]

#: The most elementary operations (multiply-adds, random draws, spin updates) one call may
#: ask for: 1e12, a quarter of an hour to hours of compiled work on one core.
WORK_LIMIT = 10 ** 12
#: The most array entries one call may allocate at once: 1e9 float64 entries are 8 GB.
MEMORY_LIMIT = 10 ** 9


def _range_text(low, high, low_open, high_open) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high}")
    return " and ".join(parts)


def real(name: str, value: Any, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False, allow_inf: bool = False) -> float:
    """A real number in ``[low, high]`` (ends open where asked); NaN is never allowed."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name}: must be a real number, got {type(value).__name__}")
    v = float(value)
    bad = math.isnan(v) or (math.isinf(v) and not allow_inf)
    if low is not None:
        bad = bad or (v <= low if low_open else v < low)
    if high is not None:
        bad = bad or (v >= high if high_open else v > high)
    if bad:
        what = "a real number" if allow_inf else "a finite real number"
        bounds = _range_text(low, high, low_open, high_open)
        raise ParameterError(f"{name}: must be {what}{' ' + bounds if bounds else ''}, "
                             f"got {value!r}")
    return v


def positive(name: str, value: Any, *, allow_zero: bool = False, **kwargs) -> float:
    """A finite real ``> 0`` (``>= 0`` with ``allow_zero``)."""
    return real(name, value, low=0.0, low_open=not allow_zero, **kwargs)


def integer(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """An integer (not a bool, not a float) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name}: must be an integer, got {type(value).__name__}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ParameterError(f"{name}: must be an integer {_range_text(low, high, 0, 0)}, "
                             f"got {v}")
    return v


def probability(name: str, value: Any, *, open_low: bool = False,
                open_high: bool = False) -> float:
    """A number in ``[0, 1]`` (ends open where asked)."""
    return real(name, value, low=0.0, high=1.0, low_open=open_low, high_open=open_high)


def one_of(name: str, value: Any, allowed: Iterable) -> Any:
    """One of a fixed set of choices."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ParameterError(f"{name}: must be one of {', '.join(map(repr, allowed))}, "
                             f"got {value!r}")
    return value


def finite_array(name: str, value: Any, *, ndim: int | None = None,
                 low: float | None = None, low_open: bool = False,
                 high: float | None = None, nonempty: bool = False) -> np.ndarray:
    """A float64 array of finite entries (of ``ndim`` dimensions, entries ``>= low`` and
    ``<= high``, at least one entry if ``nonempty``); a complex array is refused, not
    silently cast to its real part.

    ``value`` may be any array-like, including an object of another framework with an
    ``__array__`` method (a JAX array, a PyTorch CPU tensor; also the older
    ``__array__(self)`` without numpy 2's ``dtype``/``copy`` keywords). Lower precisions
    (float32, float16, integers) are upcast to float64: the result is exact in the input's
    values, but carries no more digits than they had. A GPU array has to be copied to the
    host first (CuPy ``.get()``, PyTorch ``.cpu()``); its ``__array__`` failure is reported
    with that advice."""
    a = _as_array(name, value)
    if np.iscomplexobj(a):
        raise ArgumentTypeError(f"{name}: must be an array of real numbers, got complex")
    try:
        a = a.astype(float, copy=False)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name}: must be an array of real numbers") from None
    if ndim is not None and a.ndim != ndim:
        raise ParameterError(f"{name}: must be {ndim}-dimensional, got shape {a.shape}")
    if nonempty and a.size == 0:
        raise ParameterError(f"{name}: must not be empty, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ParameterError(f"{name}: entries must be finite")
    if low is not None and np.any(a <= low if low_open else a < low):
        raise ParameterError(f"{name}: entries must be {'>' if low_open else '>='} {low}")
    if high is not None and np.any(a > high):
        raise ParameterError(f"{name}: entries must be <= {high}")
    return a


def _as_array(name: str, value: Any) -> np.ndarray:
    """``numpy.asarray(value)``, falling back on a bare ``value.__array__()``; an object
    whose ``__array__`` fails (a GPU array, a tensor that requires grad) gets a named
    error with the way out."""
    try:
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as exc:
        if not hasattr(value, "__array__"):
            raise ArgumentTypeError(f"{name}: must be an array of real numbers") from None
        try:
            return np.asarray(value.__array__())
        except Exception:            # the first failure is the informative one
            pass
        raise ArgumentTypeError(
            f"{name}: {type(value).__name__}.__array__ failed ({exc}); pass a host array "
            "(CuPy: x.get(), PyTorch: x.detach().cpu())") from None


def work(name: str, amount: Any, limit: float = WORK_LIMIT, *,
         what: str = "operations") -> int:
    """Refuse a call whose work or memory, proportional to the argument ``name``, exceeds
    ``limit``: ``amount`` is the number of elementary steps (or array entries) it asks
    for. Call it before any allocation or loop sized by a user argument: a compiled loop
    cannot be interrupted, so an unbounded request must be refused up front."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise ArgumentTypeError(f"{name}: the work asked for must be a real number, got "
                                f"{type(amount).__name__}")
    amount = float(amount)
    if not amount <= limit:                    # also refuses a NaN amount
        raise ParameterError(f"{name}: asks for {amount:.3g} {what}, more than the limit "
                             f"of {limit:.3g} (reduce {name})")
    return int(amount)


def seed(value: Any, name: str = "seed") -> Any:
    """A seed for numpy: ``None``, an integer ``>= 0`` or a sequence of them (``SeedSequence``
    entropy), a ``SeedSequence`` or a ``Generator`` (returned unchanged)."""
    if value is None or isinstance(value, (np.random.SeedSequence, np.random.Generator)):
        return value
    if isinstance(value, (list, tuple)) and value:
        return [integer(f"{name}[{i}]", v, low=0) for i, v in enumerate(value)]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name}: must be None, an integer >= 0, a SeedSequence or a "
                                f"Generator, got {type(value).__name__}")
    return integer(name, value, low=0)
