"""The numba compilation flags of every compiled kernel, in one place (private).

A neutral module (like :mod:`nnphys.stats`), because the kernels live on both sides of the
``theory`` / ``sim`` divide (``theory.kernels._fused`` and the ``sim._*`` modules), which
may not import each other.

* :func:`jit` -- ``numba.njit(cache=True)``: compiled once, cached on disk next to the module.
* :func:`parallel_jit` -- the same with ``parallel=True``, for kernels whose outer loop is a
  ``numba.prange`` over independent chains / networks / seeds.
* :func:`inline_jit` -- small helpers (one random draw, one activation) inlined into the
  kernel that calls them, so the hot loop pays no call.
* :data:`REASSOCIATE` -- the one ``fastmath`` set used: ``reassoc`` (re-associate sums so
  that LLVM vectorises them), ``contract`` (fused multiply-add) and ``nsz`` (ignore the sign
  of zero). It never assumes away NaN or inf (no ``nnan``/``ninf``), so a NaN or an overflow
  still propagates to the caller, which checks for it; kernels pass it explicitly as
  ``fastmath=REASSOCIATE`` and say at the kernel why the re-association is harmless there.

With ``NUMBA_DISABLE_JIT=1`` (the coverage run of ``.ci/run``) ``numba.njit`` returns the
plain Python function, ``numba.prange`` is ``range`` and the kernels run as Python.
"""

from __future__ import annotations

import functools

import numba

__all__ = ["jit", "parallel_jit", "inline_jit", "REASSOCIATE"]

REASSOCIATE = frozenset({"reassoc", "contract", "nsz"})


def _njit(function=None, **flags):
    if "fastmath" in flags and isinstance(flags["fastmath"], frozenset):
        flags["fastmath"] = set(flags["fastmath"])
    decorator = numba.njit(cache=True, **flags)
    return decorator if function is None else decorator(function)


jit = _njit
parallel_jit = functools.partial(_njit, parallel=True)
inline_jit = functools.partial(_njit, inline="always")
