"""Exponential-capacity memories: the random-energy thresholds of
:mod:`nnphys.theory.hebbian.exponential` and the modern-Hopfield fixed-point structure of
:mod:`nnphys.theory.hebbian.modern` against simulation (:mod:`nnphys.sim.exponential`).

Each comparison is :func:`~nnphys.validation.compare` with 4 standard errors plus the
finite-size bias bound stated in the check's docstring.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import special

from .. import stats
from ..models.hebbian import ExponentialMemory
from ..sim import exponential as se
from ..theory.hebbian import exponential as ex
from ..theory.hebbian import modern
from .registry import compare, register

__all__ = ["threshold_scan", "binary_threshold", "demircigil_bound", "softmax_threshold",
           "metastable_onset", "polynomial_capacity", "finite_temperature_overlap"]

_SIGMA = 4.0
_LAM_BINARY = 0.15      # alpha_1(0) = 0.2557: K = e^{alpha N} <= 10^6 up to N = 50
_LAM_SPHERE = 0.3       # alpha_1(T = 0) = 0.4429 (spherical)


_MAX_PATTERNS = 10 ** 7     # K = e^{alpha N} above this is left out of a scan


def threshold_scan(spec, sizes, alphas, n_replicas, seed, **kwargs):
    """Retrieval points on the ``alphas`` grid for each size (loads with more than 10^7
    patterns left out), and the 1/2-crossing thresholds
    (:func:`nnphys.sim.exponential.threshold`).

    A size's scan stops at the first load where no pattern set is retrieved: every
    bootstrap resample of that point has probability 0, so the crossing (and its error)
    never lies beyond it: the loads past it, the costliest (``K = e^{alpha N}``), change
    neither the threshold nor the distribution of its bootstrap error."""
    points, thresholds = {}, []
    for N in sizes:
        keep, last = [], -math.inf
        for a in alphas:
            if a * N > math.log(_MAX_PATTERNS):
                break
            p = se.retrieval_probability(dataclasses.replace(spec, alpha=float(a)), int(N),
                                         n_replicas, seed=[seed, int(N)], **kwargs)
            if p.alpha <= last:     # strictly increasing realised loads (K is rounded)
                continue
            keep.append(p)
            last = p.alpha
            if not np.any(p.final >= p.parameters["m_star"]):
                break
        points[int(N)] = keep
        thresholds.append(se.threshold(keep, seed=seed))
    return points, thresholds


def _sign_dynamics_shift(alpha_1: float, N: float) -> float:
    """Finite-N threshold shift of the T = 0 sign dynamics from the CLT of the module
    derivation: the pattern's N spins are all stable with probability 1/2 when ``N Phi(-z)
    = ln 2``, ``z = exp(((N-1) alpha_1 - N alpha)/2)``: ``alpha_N - alpha_1 = -(alpha_1 +
    2 ln z*)/N``."""
    z = -special.ndtri(math.log(2) / N)
    return -(alpha_1 + 2 * math.log(z)) / N


@register("exponential.binary_threshold")
def binary_threshold(quick: bool = False, seed: int = 0):
    """T = 0 retrieval threshold of the binary log-sum-exp memory (lam = 0.15) from the
    pattern, extrapolated linearly in 1/N from N = 20..40 (quick) or 30..60, against the
    random-energy alpha_1(0) = 2 lam - ln cosh 2 lam.

    Bias: the leading finite-size law is ``-(alpha_1 + 2 ln z*(N))/N`` with ``z*`` growing
    like ``sqrt(2 ln N)`` (:func:`_sign_dynamics_shift`); a straight line in 1/N through it
    over the same sizes misses its zero intercept by the amount used as the bias bound.
    """
    spec = ExponentialMemory(lam=_LAM_BINARY)
    sizes = np.array([20, 30, 40]) if quick else np.array([30, 40, 50, 60])
    samples = 16 if quick else 48
    alphas = np.arange(0.14, 0.33, 0.02) if quick else np.arange(0.14, 0.33, 0.01)
    # T = 0 descents from the pattern stop within a few sweeps; 20 bounds the work guard
    _, per_size = threshold_scan(spec, sizes, alphas, samples, seed, n_sweeps=20)
    limit = se.extrapolated_threshold(sizes, per_size)
    theory = ex.typical_capacity(_LAM_BINARY, 0.0).alpha
    shifts = [_sign_dynamics_shift(theory, n) for n in sizes]
    bias = abs(float(stats.extrapolate(sizes.astype(float), shifts, order=1).mean))
    return compare("exponential.binary_threshold", "alpha_1(T=0), 1/N fit", theory, limit,
                   sigmas=_SIGMA, bias=bias)


@register("exponential.demircigil_bound")
def demircigil_bound(quick: bool = False, seed: int = 0):
    """Demircigil et al. (2017) at lam = 1: from a cue at distance rho = 0.05 every pattern is
    retrieved for alpha < I(1 - 2 rho)/2. At alpha = 0.9 of that bound the measured retrieval
    probability must be 1; the theorem holds with probability 1 - o(1), and the bias 0.05
    allows that o(1) at N = 30 (quick) / 50."""
    rho = 0.05
    bound = ex.retrieval_threshold(rho).alpha
    N, samples = (30, 32) if quick else (50, 64)
    spec = ExponentialMemory(alpha=0.9 * bound, lam=1.0)
    p = se.retrieval_probability(spec, N, samples, seed=seed, flip_fraction=rho, m_star=0.999)
    return compare("exponential.demircigil_bound", f"P(retrieval), N={N}", 1.0, p.probability,
                   sigmas=_SIGMA, bias=0.05)


@register("exponential.softmax_threshold")
def softmax_threshold(quick: bool = False, seed: int = 0):
    """Softmax (T = 0) retrieval threshold of spherical patterns at lam = 0.3 from the
    pattern, extrapolated linearly in 1/N (N = 12..18 quick, 16..28), against the T = 0
    fluctuation threshold alpha_1 = 2 lam (1 - m) - ln(1 - m^2)/2 at m = m_{2 lam} (the
    energy criterion lam - Lambda(lam) = 0.257 is exceeded already at N = 24).

    The finite-size shift is large (about -4/N at these sizes) and its next order unknown:
    the bias bound is the change of the extrapolated intercept when the smallest size is
    dropped from the fit (the fit's own systematic error).
    """
    spec = ExponentialMemory(lam=_LAM_SPHERE, patterns="spherical")
    sizes = np.array([12, 15, 18]) if quick else np.array([16, 20, 24, 28])
    samples = 12 if quick else 32
    alphas = np.arange(0.1, 0.5, 0.04) if quick else np.arange(0.1, 0.6, 0.025)
    _, per_size = threshold_scan(spec, sizes, alphas, samples, seed, m_star=0.9,
                                 n_sweeps=100 if quick else 300)
    limit = se.extrapolated_threshold(sizes, per_size)
    trimmed = se.extrapolated_threshold(sizes[1:], per_size[1:])
    theory = ex.typical_capacity(_LAM_SPHERE, 0.0, "spherical").alpha
    return compare("exponential.softmax_threshold", "alpha_1 spherical, 1/N fit", theory,
                   limit, sigmas=_SIGMA, bias=abs(float(limit.mean - trimmed.mean)))


def _growth_onset(x, lam_lo, lam_hi, iterations=40):
    """lam where a small perturbation of the global-average fixed point stops decaying under
    the update itself (ratio of its norm over 200 steps), by bisection."""
    rng = np.random.default_rng(0)
    kick = 1e-6 * rng.standard_normal(x.shape[1])

    def grows(lam):
        fp = modern.fixed_point(x.mean(axis=0), x, lam, steps=200_000, tol=1e-14).state
        xi = fp + kick
        for _ in range(200):
            xi = modern.update(xi, x, lam)
        return np.linalg.norm(xi - fp) > np.linalg.norm(kick)
    for _ in range(iterations):
        mid = 0.5 * (lam_lo + lam_hi)
        lam_lo, lam_hi = (lam_lo, mid) if grows(mid) else (mid, lam_hi)
    return 0.5 * (lam_lo + lam_hi), lam_hi - lam_lo


@register("exponential.metastable_onset")
def metastable_onset(quick: bool = False, seed: int = 0):
    """The global-average fixed point loses stability at the theory's lam_c (Jacobian
    spectral radius 1) for centred random Gaussian patterns, where metastable subset
    averages take over; measured by iterating the update from
    a 1e-6 perturbation and bisecting on growth. Bias: the growth test over 200 steps
    resolves the radius to ``|ln(r)| ~ ln(1e2)/200`` around 1 (a slowly decaying
    perturbation may pass for growth within that), i.e. lam to 3 % of lam_c."""
    out = []
    for k, (K, N) in enumerate([(6, 3), (10, 4)] if quick else [(6, 3), (10, 4), (20, 6)]):
        x = np.random.default_rng([seed, k]).standard_normal((K, N))
        x -= x.mean(axis=0)             # centred: the global average is 0 at every lam
        theory = modern.global_average_onset(x)
        measured, width = _growth_onset(x, 0.2 * theory.lam_small, 8 * theory.lam_small)
        out.append(compare(f"exponential.metastable_onset[K={K},N={N}]", "lam_c",
                           theory.lam_c, measured, bias=0.03 * theory.lam_c + width))
    return out


def _stable_fraction(n, N, K, samples, rng):
    """Fraction of pattern sets whose pattern 0 is a fixed point of T = 0 dynamics with
    ``E = -sum_mu (xi^mu . sigma)^n`` (all N flips raise the energy)."""
    hits = np.zeros(samples)
    for s in range(samples):
        xi = rng.choice(np.array([-1.0, 1.0]), size=(K, N))
        x = xi @ xi[0]
        a = xi * xi[0]                                    # a_mu,i = xi^mu_i sigma_i
        delta = ((x[:, None] - 2 * a) ** n - x[:, None] ** n).sum(axis=0)
        hits[s] = float(np.all(delta < 0))
    return stats.sample_mean(hits)


def _edgeworth_bias(n, N, K):
    """Size of the first neglected (kurtosis) Edgeworth term of the product of N Gaussian
    tails in :func:`~nnphys.theory.hebbian.exponential.stable_probability`:
    ``N phi(z) |z^3 - 3z| kappa_4 / (24 (K - 1))`` with ``kappa_4`` the excess kurtosis of one
    pattern's change ``D(x) = (x+1)^n - (x-1)^n`` (exact binomial moments)."""
    k = np.arange(N)
    xv = 2.0 * k - (N - 1)
    pmf = np.exp(special.gammaln(N) - special.gammaln(k + 1) - special.gammaln(N - k)
                 - (N - 1) * math.log(2))
    d = (xv + 1) ** n - (xv - 1) ** n
    m2, m4 = pmf @ d ** 2, pmf @ d ** 4
    kappa = m4 / m2 ** 2 - 3
    z = (float(N) ** n - float(N - 2) ** n) / math.sqrt((K - 1) * m2)
    phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return N * phi * abs(z ** 3 - 3 * z) * abs(kappa) / (24 * (K - 1))


@register("exponential.polynomial_capacity")
def polynomial_capacity(quick: bool = False, seed: int = 0):
    """Krotov-Hopfield F(x) = x^n at n = 3, 4: the measured probability that a stored pattern
    is a fixed point at K = K_max(n, N) against the Gaussian signal-to-noise estimate behind
    K_max = N^{n-1}/(2 (2n-3)!! ln N), for several N. Bias: the first neglected Edgeworth
    (kurtosis) term of that estimate (:func:`_edgeworth_bias`)."""
    rng = np.random.default_rng(seed)
    out = []
    sizes = (16, 24) if quick else (16, 24, 32, 40)
    samples = 300 if quick else 1000
    for n in (3, 4):
        for N in sizes:
            K = max(2, round(ex.polynomial_capacity(n, N).K_max))
            theory = ex.stable_probability(n, N, K)
            sim = _stable_fraction(n, N, K, samples, rng)
            out.append(compare(f"exponential.polynomial_capacity[n={n},N={N}]",
                               f"P(stable) at K_max={K}", theory, sim, sigmas=_SIGMA,
                               bias=_edgeworth_bias(n, N, K)))
    return out


@register("exponential.finite_temperature_overlap")
def finite_temperature_overlap(quick: bool = False, seed: int = 0):
    """Glauber retrieval at T > 0 (lam = 1, T = 0.5, alpha = 0.2, inside the retrieval phase
    of the (alpha, T) diagram: alpha_1(T) = lam m_T - ln cosh lam = 0.530): the equilibrium
    overlap with the cued pattern against ``m_T = tanh(1/T) = 0.9640``
    (:func:`~nnphys.theory.hebbian.exponential.retrieval_overlap`), at N = 40 (quick) / 50.

    Finite-N bias, two parts, both from the module's random-energy estimates. (i) The
    pattern's own term ``e^{lam x_1}`` alone gives independent spins in the field 1/T,
    ``<m> = tanh(1/T)`` at every N; the ``e^{alpha N}`` other patterns weigh
    ``e^{-N (alpha_1 - alpha)}`` relative to it. (ii) The retrieval state is metastable at
    finite N: the background wins below ``m' = m_T - (alpha_1 - alpha)/lam``, and the
    free-energy barrier ``N [f(m') - f(m_T)]/T``, ``f(m) = -m + T I(m)`` (``I`` the Cramer
    rate), is crossed at most ``sweeps N e^{-barrier}`` times (prefactor 1 assumed), each
    costing at most ``m_T`` of overlap. (At alpha = 0.3, N = 30 the barrier is 4.7 and
    escapes are seen.) Each independent pattern set contributes its final overlap after
    40 sweeps from the pattern (relaxation takes a few sweeps); the error is their
    standard error.
    """
    lam, T, alpha, sweeps = 1.0, 0.5, 0.2, 40
    alpha_1 = ex.typical_capacity(lam, T).alpha
    m_t = ex.retrieval_overlap(T)
    if not alpha < alpha_1:
        raise AssertionError(f"alpha = {alpha} is not in the retrieval phase (alpha_1 = "
                             f"{alpha_1})")
    N, samples = (40, 48) if quick else (50, 128)
    spec = ExponentialMemory(alpha=alpha, lam=lam, T=T)
    point = se.retrieval_probability(spec, N, samples, seed=seed, n_sweeps=sweeps)

    def free(m):
        return -m + T * float(ex.cramer_rate(m))
    barrier = N * (free(m_t - (alpha_1 - alpha) / lam) - free(m_t)) / T
    bias = math.exp(-N * (alpha_1 - alpha)) + m_t * min(1.0, sweeps * N * math.exp(-barrier))
    return compare("exponential.finite_temperature_overlap", f"m at T={T}, N={N}", m_t,
                   point.overlap, sigmas=_SIGMA, bias=bias)
