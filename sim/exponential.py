r"""Retrieval dynamics of exponential-capacity memories with ``K = e^{alpha N}`` patterns.

Binary patterns (spec :class:`~nnphys.models.hebbian.ExponentialMemory` with
``patterns="binary"``): the log-sum-exp energy ``E = -(1/lam) ln sum_mu e^{lam xi^mu.sigma}``
under asynchronous zero-temperature dynamics (a spin flips iff the sum grows; stops after a
sweep without flips) or Glauber dynamics at ``T``, sequential scan. The pattern table is
never a float array: it is drawn directly as bit planes (``N`` rows of ``ceil(K/64)``
``uint64`` words, :func:`random_planes`), so ``K = 10^7`` patterns at ``N = 60`` take 75 MB;
the kernel keeps the ``K`` overlaps ``x_mu`` as int8 and streams one plane row per attempt.

Continuous patterns (``"spherical"``, ``"gaussian"``): the softmax update ``sigma <-
sqrt(N) v/|v|``, ``v = X^T softmax(lam X sigma)`` (Ramsauer et al.'s update with the state
kept on the sphere, Lucibello & Mezard's setting), one pass over the table per step
(online softmax).

:func:`retrieval_probability` runs ``n_replicas`` independent pattern sets at one ``(N,
alpha)`` from a cue (pattern 0 with a fraction ``flip_fraction`` of flipped spins) and
reports the probability that the final overlap with pattern 0 is at least ``m_star`` and
the mean final overlap, as :class:`~nnphys.stats.Estimate` s (binomial / sample errors);
:func:`threshold` gives the load where the probability crosses 1/2 at each size (linear
interpolation on the alpha grid, a bootstrap over the samples for its error; an error if
the grid does not bracket it), and
:func:`extrapolated_threshold` extrapolates it linearly in ``1/N``
(:func:`nnphys.stats.extrapolate`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks, stats
from ..errors import ArgumentTypeError, ParameterError
from ..models.hebbian import ExponentialMemory
from ..results import Result
from . import _exponential as _k
from . import _xoshiro
from ._montecarlo import GLAUBER, ZERO_T

__all__ = ["RetrievalPoint", "random_planes", "pack", "pattern_spins", "run_binary",
           "run_softmax", "retrieval_probability", "threshold", "extrapolated_threshold",
           "MAX_N"]

MAX_N = 127             # int8 overlaps


@dataclasses.dataclass(frozen=True)
class RetrievalPoint(Result):
    """Retrieval at one ``(N, alpha)``: ``probability`` (final overlap with the cued pattern
    >= ``m_star``) and ``overlap`` (its mean), over ``n_replicas`` pattern sets; ``K`` the
    pattern count realised. ``converged``: every T = 0 / softmax run reached a fixed point;
    ``iterations``: the most sweeps (steps) any run used."""

    N: int = 0
    K: int = 0
    alpha: float = 0.0
    probability: stats.Estimate | None = None
    overlap: stats.Estimate | None = None
    final: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


def _seed_list(seed) -> list:
    seed = checks.seed(seed)
    if seed is None or isinstance(seed, np.random.Generator):
        raise ArgumentTypeError(f"seed: an int or a sequence of ints, got {seed!r}")
    out = np.atleast_1d(seed).tolist()
    if not all(isinstance(v, int) and v >= 0 for v in out):
        raise ArgumentTypeError(f"seed: non-negative ints, got {seed!r}")
    return out


def _stream(seed):
    seed = _seed_list(seed)
    try:
        word = np.random.SeedSequence(seed).generate_state(1, np.uint64)[0]
    except (TypeError, ValueError) as err:
        raise ArgumentTypeError(f"seed: an int or a sequence of non-negative ints ({err})")
    return _xoshiro.seed_state(int(word >> np.uint64(1)), 0)


def random_planes(N: int, K: int, seed=0) -> np.ndarray:
    """``(N, ceil(K/64))`` uint64 bit planes of ``K`` uniformly random +-1 patterns."""
    N = checks.integer("N", N, low=2, high=MAX_N)
    K = checks.integer("K", K, low=1)
    checks.work("K", float(K) * N / 8, checks.MEMORY_LIMIT, what="bytes of bit planes")
    return _k.random_planes(_stream(seed), N, K)


def pack(patterns) -> np.ndarray:
    """Bit planes of explicit +-1 patterns ``(K, N)`` (bit 1 for +1)."""
    x = checks.finite_array("patterns", patterns, ndim=2, nonempty=True)
    if not np.all(np.abs(x) == 1):
        raise ParameterError("patterns: entries must be +-1")
    K, n = x.shape
    if n > MAX_N:
        raise ParameterError(f"patterns: N <= {MAX_N} columns (int8 overlaps), got {n}")
    words = (K + 63) // 64
    bits = np.zeros((n, words * 64), np.uint64)
    bits[:, :K] = (x.T > 0)
    shifts = np.arange(64, dtype=np.uint64)
    return np.bitwise_or.reduce(bits.reshape(n, words, 64) << shifts, axis=2)


def _planes(planes) -> np.ndarray:
    if not isinstance(planes, np.ndarray) or planes.dtype != np.uint64 or planes.ndim != 2 \
            or planes.size == 0:
        raise ArgumentTypeError("planes: a 2-D uint64 array of bit planes (random_planes, "
                                "pack)")
    if planes.shape[0] > MAX_N:
        raise ParameterError(f"planes: at most {MAX_N} rows (spins), got {planes.shape[0]}")
    return np.ascontiguousarray(planes)


def pattern_spins(planes, index: int) -> np.ndarray:
    """The +-1 spins of pattern ``index`` read from the bit planes."""
    planes = _planes(planes)
    index = checks.integer("index", index, low=0, high=planes.shape[1] * 64 - 1)
    bit = (planes[:, index // 64] >> np.uint64(index % 64)) & np.uint64(1)
    return np.where(bit == 1, 1.0, -1.0)


def _weights(N: int, lam: float) -> np.ndarray:
    if lam * N > 600:
        raise ParameterError(f"lam: lam N = {lam * N:g} > 600 leaves float64 in e^(lam x)")
    return np.exp(lam * (np.arange(-N, N + 1) - N))


def run_binary(planes, K: int, lam: float, T: float, spins, *, n_sweeps: int = 100,
               seed=0) -> tuple[np.ndarray, int, int]:
    """Run the binary log-sum-exp memory from ``spins``: zero-temperature descent if
    ``T = 0``, else ``n_sweeps`` Glauber sweeps. Returns ``(final spins, sweeps, flips)``."""
    planes = _planes(planes)
    N = planes.shape[0]
    K = checks.integer("K", K, low=1, high=planes.shape[1] * 64)
    lam = checks.real("lam", lam, low=0.0, low_open=True)
    T = checks.real("T", T, low=0.0)
    n_sweeps = checks.integer("n_sweeps", n_sweeps, low=1)
    sp = np.array(checks.finite_array("spins", spins), dtype=np.float64)
    if sp.shape != (N,) or not np.all(np.abs(sp) == 1):
        raise ParameterError(f"spins: +-1 array of shape ({N},)")
    x = _k.overlaps_from_planes(planes, sp, K)
    code, beta = (ZERO_T, 0.0) if T == 0 else (GLAUBER, 1.0 / T)
    done, flips = _k.binary_sweeps(planes, x, sp, _weights(N, lam), lam, beta, code, n_sweeps,
                                   _stream(seed))
    return sp, int(done), int(flips)


def run_softmax(patterns, lam: float, state, *, steps: int = 200,
                tol: float = 1e-10) -> tuple[np.ndarray, int, bool]:
    """Iterate ``sigma <- sqrt(N) v/|v|``, ``v = X^T softmax(lam X sigma)`` from ``state``
    until the step is below ``tol sqrt(N)``. Returns ``(state, steps, converged)``."""
    x = np.ascontiguousarray(checks.finite_array("patterns", patterns, ndim=2,
                                                 nonempty=True))
    n = x.shape[1]
    lam = checks.real("lam", lam, low=0.0, low_open=True)
    steps = checks.integer("steps", steps, low=1)
    tol = checks.positive("tol", tol)
    s = np.array(checks.finite_array("state", state), dtype=np.float64)
    if s.shape != (n,):
        raise ParameterError(f"state: shape ({n},) expected, got {s.shape}")
    norm = float(np.linalg.norm(s))
    if not 0 < norm < math.inf:
        raise ParameterError("state: needs a finite non-zero norm")
    s *= math.sqrt(n) / norm
    out = np.empty(n)
    for it in range(1, steps + 1):
        _k.softmax_step(x, s, lam, out)
        new = out * (math.sqrt(n) / np.linalg.norm(out))
        step = float(np.linalg.norm(new - s))
        s = new
        if step <= tol * math.sqrt(n):
            return s, it, True
    return s, steps, False


def retrieval_probability(spec: ExponentialMemory, N: int, n_replicas: int = 32, seed=0, *,
                          flip_fraction: float = 0.0, m_star: float = 0.9,
                          n_sweeps: int = 100) -> RetrievalPoint:
    """Probability that the dynamics from a cue ends near the cued pattern.

    Parameters
    ----------
    spec : ExponentialMemory
        ``alpha`` (``K = round(e^{alpha N})``), ``lam``, ``T``, ``patterns``.
    N : int
        Spins (binary: ``2 <= N <= 127``).
    n_replicas : int
        Independent pattern sets (>= 2).
    seed : int
        Seed of the pattern sets, cues and Glauber streams.
    flip_fraction : float
        Fraction of the cue's spins flipped (binary), or the relative size of a Gaussian
        perturbation of the cue (continuous).
    m_star : float
        Overlap (normalised) at or above which the run counts as a retrieval.
    n_sweeps : int
        Most sweeps (binary) or softmax steps.

    Returns
    -------
    RetrievalPoint
    """
    if not isinstance(spec, ExponentialMemory) or spec.interaction != "exp":
        raise ParameterError("spec: an ExponentialMemory with interaction='exp'")
    N = checks.integer("N", N, low=2, high=MAX_N if spec.patterns == "binary" else None)
    n_replicas = checks.integer("n_replicas", n_replicas, low=2)
    flip_fraction = checks.probability("flip_fraction", flip_fraction)
    m_star = checks.real("m_star", m_star, low=-1.0, high=1.0)
    n_sweeps = checks.integer("n_sweeps", n_sweeps, low=1)
    base = _seed_list(seed)
    K = spec.n_patterns(N)
    # each replica is one compiled call (Ctrl-C is honoured between replicas): bound its work
    checks.work("n_sweeps", float(K) * N * n_sweeps, what="pattern entries x sweeps per replica")
    checks.work("n_replicas", 8.0 * n_replicas, checks.MEMORY_LIMIT, what="bytes of overlaps")
    final = np.zeros(n_replicas)
    most, ok = 0, True
    for r in range(n_replicas):
        rng = np.random.default_rng([*base, N, r])
        if spec.patterns == "binary":
            planes = random_planes(N, K, seed=[*base, N, r, 1])
            target = pattern_spins(planes, 0)
            cue = target * np.where(rng.random(N) < flip_fraction, -1.0, 1.0)
            sp, done, _ = run_binary(planes, K, spec.lam, spec.T, cue, n_sweeps=n_sweeps,
                                     seed=[*base, N, r, 2])
            final[r] = sp @ target / N
            ok = ok and (spec.T > 0 or done < n_sweeps)
        else:
            x = spec.patterns_at(N, seed=rng)
            cue = x[0] + flip_fraction * np.linalg.norm(x[0]) / math.sqrt(N) * \
                rng.standard_normal(N)
            s, done, conv = run_softmax(x, spec.lam, cue, steps=n_sweeps)
            final[r] = s @ x[0] / (np.linalg.norm(s) * np.linalg.norm(x[0]))
            ok = ok and conv
        most = max(most, done)
    hit = (final >= m_star).astype(float)
    return RetrievalPoint(converged=bool(ok), iterations=most,
                          parameters={"N": N, "alpha": spec.alpha, "lam": spec.lam,
                                      "T": spec.T, "patterns": spec.patterns,
                                      "n_replicas": n_replicas, "m_star": m_star,
                                      "flip_fraction": flip_fraction},
                          N=N, K=K, alpha=math.log(K) / N, probability=stats.sample_mean(hit),
                          overlap=stats.sample_mean(final), final=final)


def _crossing(alpha, prob):
    below = np.flatnonzero(prob < 0.5)
    if below.size == 0 or below[0] == 0:
        return math.nan
    j = below[0]
    return alpha[j - 1] + (alpha[j] - alpha[j - 1]) * (prob[j - 1] - 0.5) / (prob[j - 1] - prob[j])


def threshold(points: list[RetrievalPoint], seed=0, n_boot: int = 200) -> stats.Estimate:
    """Load where the retrieval probability crosses 1/2 along ``points`` (one size, loads
    increasing): linear interpolation, standard error from ``n_boot`` bootstrap resamples of
    the pattern sets at each load (resamples that lose the crossing are dropped).
    :class:`ParameterError` if the grid does not bracket it."""
    if not isinstance(points, (list, tuple)) or not all(isinstance(p, RetrievalPoint)
                                                         for p in points):
        raise ArgumentTypeError("points: a list of RetrievalPoint records")
    if len(points) < 2:
        raise ParameterError("points: at least two retrieval points")
    alpha = np.array([p.alpha for p in points])
    if np.any(np.diff(alpha) <= 0):
        raise ParameterError("points: loads must increase")
    n_boot = checks.integer("n_boot", n_boot, low=10, high=100_000)
    hits = [(p.final >= p.parameters["m_star"]).astype(float) for p in points]
    rng = np.random.default_rng(_seed_list(seed))
    boots = np.array([_crossing(alpha, np.array([h[rng.integers(0, h.size, h.size)].mean()
                                                  for h in hits])) for _ in range(n_boot)])
    mean = _crossing(alpha, np.array([h.mean() for h in hits]))
    if not math.isfinite(mean) or np.all(np.isnan(boots)):
        raise ParameterError("points: their loads do not bracket the probability 1/2")
    return stats.Estimate(mean=mean, stderr=float(np.nanstd(boots)),
                          n_eff=float(min(h.size for h in hits)))


def extrapolated_threshold(sizes, thresholds: list[stats.Estimate]) -> stats.Estimate:
    """``alpha_N = alpha_inf + b/N`` fitted by weighted least squares
    (:func:`nnphys.stats.extrapolate`): the intercept with its error."""
    sizes = checks.finite_array("sizes", sizes, ndim=1, low=1.0)
    if not isinstance(thresholds, (list, tuple)) or not all(
            isinstance(t, stats.Estimate) for t in thresholds):
        raise ArgumentTypeError("thresholds: a list of Estimates (from threshold)")
    if len(thresholds) != sizes.size:
        raise ParameterError(f"thresholds: {len(thresholds)} of them for {sizes.size} sizes")
    values = np.array([t.mean for t in thresholds], float)
    errs = np.maximum(np.array([t.stderr for t in thresholds], float), 1e-4)
    if not np.all(np.isfinite(values)):
        raise ParameterError("thresholds: a size's threshold is NaN (the alpha grid does not "
                             "bracket its crossing)")
    return stats.extrapolate(sizes, values, errs, order=1, power=1.0)
