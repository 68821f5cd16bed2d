"""Ensembles of single-hidden-layer networks at one scalar input: the simulation side of
Antognini's finite-width output density (arXiv:1908.10030).

Each network (:class:`nnphys.models.shallow.ShallowNetwork`) draws, i.i.d. over its ``n``
hidden units, ``w_j, b_j`` from the ``first_layer`` law and ``v_j`` from the ``readout``
law (unit variance, symmetric, :data:`nnphys.models.shallow.LAWS`), and returns at the
input ``x = sqrt(q0)``::

    f = b_out_std B + (W_std / sqrt(n)) sum_j v_j phi(W_std sqrt(q0) w_j + b_std b_j).

Besides ``f``, every network reports the exact conditional moments of ``f`` given its
hidden layer (``a_j = W_std h_j / sqrt(n)``, readout moments ``m_4``)::

    E[f^2 | h] = b_out_std^2 + sum_j a_j^2
    E[f^4 | h] = 3 (sum_j a_j^2)^2 + (m_4 - 3) sum_j a_j^4
                 + 6 b_out_std^2 sum_j a_j^2 + m_4 b_out_std^4

whose ensemble means estimate ``E f^2`` and ``E f^4`` with far less variance than the
sampled ``f`` (Rao-Blackwell). Networks are processed in chunks; the random draws and
``phi`` are vectorised numpy, the per-network reductions a numba kernel.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, NumericalError
from ..models import network as arch
from ..models.shallow import LAWS, ShallowNetwork, law_moments
from ..results import Result
from ..stats import Estimate, sample_mean
from . import _shallow

__all__ = ["draw", "ShallowSample", "sample_outputs"]

_CHUNK_ENTRIES = 1 << 22        # hidden units per chunk (32 MB per float64 array)


def draw(seed, law: str, size) -> np.ndarray:
    """Unit-variance samples of ``law`` (uniform on [-sqrt 3, sqrt 3]; Rademacher +-1);
    ``seed`` is an int or a ``numpy.random.Generator`` (drawn from, in place)."""
    rng = arch.as_rng(seed)
    checks.one_of("law", law, tuple(LAWS))
    shape = (size,) if isinstance(size, numbers.Integral) else size
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise ArgumentTypeError(f"size: must be an integer or a shape, got "
                                f"{type(size).__name__}")
    shape = tuple(checks.integer(f"size[{i}]", n, low=0) for i, n in enumerate(shape))
    checks.work("size", float(np.prod(shape, dtype=float)), checks.MEMORY_LIMIT,
                what="samples")
    if law == "gaussian":
        return rng.standard_normal(size)
    if law == "uniform":
        return rng.uniform(-math.sqrt(3.0), math.sqrt(3.0), size)
    return rng.integers(0, 2, size).astype(np.float64) * 2.0 - 1.0       # rademacher


@dataclasses.dataclass(frozen=True)
class ShallowSample(Result):
    """Sampled outputs and their conditional moments given each network's hidden layer
    (the samples of a simulation: no solver health).

    Attributes:
        outputs: ``(M,)`` sampled ``f``.
        cond_m2, cond_m4: ``(M,)`` exact ``E[f^2 | h]`` and ``E[f^4 | h]``.
        width, readout, first_layer: what was sampled.
    """

    outputs: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    cond_m2: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    cond_m4: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    width: int = 0
    readout: str = "gaussian"
    first_layer: str = "gaussian"

    def excess_kurtosis(self, batches: int = 100) -> Estimate:
        """Rao-Blackwell estimate of ``kappa_4 / s^4``, its standard error over batches."""
        return _batched(lambda m2, m4: m4.mean() / m2.mean() ** 2 - 3,
                        (self.cond_m2, self.cond_m4), batches)

    def sample_excess_kurtosis(self, batches: int = 100) -> Estimate:
        """The same from the sampled outputs alone (noisier; a check of the sampler)."""
        return _batched(lambda f: np.mean(f ** 4) / np.mean(f ** 2) ** 2 - 3,
                        (self.outputs,), batches)


def _batched(stat, arrays, batches: int) -> Estimate:
    """The statistic on all samples; its standard error is that of the mean of the
    statistic over ``batches`` equal batches (independent networks in each)."""
    batches = checks.integer("batches", batches, low=2)
    full = stat(*arrays)
    parts = [stat(*chunk) for chunk in zip(*(np.array_split(a, batches) for a in arrays))]
    return Estimate(mean=float(full), stderr=float(sample_mean(parts).stderr),
                    n_eff=float(len(arrays[0])))


def sample_outputs(activation, width: int, n_replicas: int, *, W_std: float = 1.0,
                   b_std: float = 0.0, q0: float = 1.0, readout: str = "gaussian",
                   first_layer: str = "gaussian", b_out_std: float = 0.0,
                   seed=0) -> ShallowSample:
    """Sample the scalar output of ``n_replicas`` single-hidden-layer networks.

    Args:
        activation: an activation layer (``nk.Relu()``, ...) or a vectorised callable.
        width: hidden width ``n >= 1``.
        n_replicas: number of networks ``M >= 2``.
        W_std, b_std, q0, readout, first_layer, b_out_std: as in
            :func:`nnphys.theory.edgeworth.output_density`.
        seed: int or ``numpy.random.Generator``.
    """
    net = ShallowNetwork(activation, width, W_std, b_std, q0, readout, first_layer,
                         b_out_std)
    fn, n = net.fn, net.width
    total = checks.integer("n_replicas", n_replicas, low=2)
    checks.work("n_replicas * width", float(total) * n, what="weight draws")
    rng = arch.as_rng(seed)
    a = W_std * math.sqrt(q0)
    f, s2, s4 = (np.empty(total) for _ in range(3))
    chunk = max(1, _CHUNK_ENTRIES // n)
    for start in range(0, total, chunk):
        m = min(chunk, total - start)
        u = a * draw(rng, first_layer, (m, n))
        if b_std > 0:
            u += b_std * draw(rng, first_layer, (m, n))
        h = np.ascontiguousarray(fn(u), dtype=np.float64)
        v = draw(rng, readout, (m, n))
        rows = slice(start, start + m)
        _shallow.reduce_rows(v, h, W_std / math.sqrt(n), f[rows], s2[rows], s4[rows])
    m4 = law_moments(readout)[0]
    cond_m2 = s2
    cond_m4 = 3 * s2 * s2 + (m4 - 3) * s4
    if b_out_std > 0:
        f += b_out_std * draw(rng, readout, total)
        c2 = b_out_std ** 2
        cond_m4 = cond_m4 + 6 * c2 * s2 + m4 * c2 * c2
        cond_m2 = s2 + c2
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(cond_m4))):
        raise NumericalError("sample_outputs: non-finite outputs (phi overflowed?)")
    return ShallowSample(parameters={"W_std": W_std, "b_std": b_std, "q0": q0,
                                     "b_out_std": b_out_std},
                         outputs=f, cond_m2=cond_m2, cond_m4=cond_m4, width=n,
                         readout=readout, first_layer=first_layer)
