"""Replica-symmetric Hebbian theory against Monte Carlo (``sim.montecarlo``).

Every check builds one spec of :mod:`nnphys.models.hebbian`, solves it with the RS theory
(:mod:`nnphys.theory.hebbian`) and simulates the same spec (:func:`nnphys.sim.montecarlo.network`)
at the load an integer pattern count realises at size ``N`` (``spec.at_size(N)``).

Errors. A simulated number is a mean over independent pattern sets (disorder samples,
``n_replicas`` of them). At finite T each sample's run reports an
:class:`~nnphys.stats.Estimate` (its chains' time averages, with their autocorrelation
times); the samples are combined by :func:`nnphys.stats.replica_mean` with the spread
between samples (``min_spread=2``), so the sample-to-sample (quenched) fluctuations of
order N^{-1/2} are in the standard error. A T = 0 descent gives one final value per sample
(:func:`nnphys.stats.sample_mean`). Each comparison is :func:`~nnphys.validation.compare`
with 4 standard errors plus the stated finite-size bias bound of its docstring.
"""

from __future__ import annotations

import math

import numpy as np

from .. import stats
from ..models.hebbian import DenseMemory, ExampleLearning, Hopfield, Multitask
from ..sim import montecarlo as mc
from ..theory.hebbian import dense, hopfield, learning, multitask
from .registry import compare, register, scaled

__all__ = ["hopfield_overlap", "zero_temperature_overlaps", "finite_size_capacity",
           "capacity_finite_size", "learning_overlap", "multitask_amplitudes_mc",
           "multitask_amplitudes", "dense_equilibrium"]

_SIGMA = 4.0
_RECORD_EVERY = 5


def _equilibrium_overlap(model, N, n_replicas, burn, measure, seed) -> stats.Estimate:
    """Mean |overlap with pattern 0| after ``burn`` sweeps: one run of two chains per
    disorder sample (from the pattern), combined over the samples by their spread."""
    per_sample = []
    for s in range(n_replicas):
        net = mc.network(model, N, seed=[seed, s])
        res = mc.run(net, model.T, burn + measure, n_replicas=2, init="pattern:0",
                     seed=[seed, s, 1], record_every=_RECORD_EVERY)
        per_sample.append(res.overlap(0, burn_in=burn + _RECORD_EVERY))
    return stats.replica_mean(per_sample, min_spread=2)


@register("hebbian.hopfield_overlap")
def hopfield_overlap(quick: bool = False, seed: int = 0):
    """Retrieval overlap m(alpha, T) of the AGS RS theory vs Glauber Monte Carlo from the
    pattern, at points away from the transitions (T <= 0.6 T_M(alpha)).

    Tolerance: 4 se plus a finite-size bias bound 1/N (the O(1/N) shift of m from the
    removed diagonal and from 1/N corrections to the cross-talk variance; measured
    deviations at N = 2000 are below 2e-3).
    """
    N, samples, burn, measure = (2000, 3, 50, 100) if quick else (8000, 4, 100, 300)
    samples = scaled(samples)
    out = []
    for alpha, T in ((0.05, 0.3), (0.1, 0.15), (0.02, 0.4)):
        model = Hopfield(alpha=alpha, T=T).at_size(N)
        theory = hopfield.solve(model).m
        sim = _equilibrium_overlap(model, N, samples, burn, measure, seed)
        out.append(compare(f"hebbian.hopfield_overlap[a={alpha},T={T}]", f"m (N={N})",
                           theory, sim, sigmas=_SIGMA, bias=1.0 / N))
    return out


def zero_temperature_overlaps(N, alphas, n_replicas, seed) -> np.ndarray:
    """Final overlap of T = 0 asynchronous dynamics started at pattern 0, one Hopfield
    network per disorder sample: a ``(len(alphas), n_replicas)`` array."""
    m = np.zeros((len(alphas), n_replicas))
    for i, alpha in enumerate(alphas):
        model = Hopfield(alpha=float(alpha), T=0.0)
        for s in range(n_replicas):
            net = mc.network(model, N, seed=[seed, N, i, s])
            res = mc.run(net, 0.0, 200, dynamics="zero", n_replicas=1, init="pattern:0",
                         seed=[seed, N, i, s])
            m[i, s] = res.overlaps[0, -1, 0]
    return m


_M_STAR = 0.75      # overlap separating retrieval (m ~ 0.97) from collapse (m ~ 0.3)


def finite_size_capacity(sizes, alphas, n_replicas, seed) -> list[stats.Estimate]:
    """alpha_c(N) for each size: the load where the mean final T = 0 overlap crosses
    ``_M_STAR`` (linear interpolation), its standard error by a 200-resample bootstrap over
    the disorder samples."""
    rng = np.random.default_rng(seed)
    out = []
    for N in sizes:
        m = zero_temperature_overlaps(int(N), alphas, n_replicas, seed)

        def crossing(mean):
            below = np.flatnonzero(mean < _M_STAR)
            if below.size == 0 or below[0] == 0:
                return np.nan
            j = below[0]
            return alphas[j - 1] + (alphas[j] - alphas[j - 1]) * \
                (mean[j - 1] - _M_STAR) / (mean[j - 1] - mean[j])
        boots = [crossing(m[:, rng.integers(0, n_replicas, n_replicas)].mean(axis=1))
                 for _ in range(200)]
        out.append(stats.Estimate(mean=crossing(m.mean(axis=1)), stderr=np.nanstd(boots),
                                  n_eff=float(n_replicas)))
    return out


@register("hebbian.capacity_finite_size")
def capacity_finite_size(quick: bool = False, seed: int = 0):
    """alpha_c(T = 0) = 0.1379 (AGS RS) vs zero-temperature dynamics from the pattern, for
    N = 1000..8000 (quick: 500..2000), extrapolated linearly in 1/sqrt(N)
    (:func:`nnphys.stats.extrapolate` with ``power=0.5``, weights from the bootstrap errors
    floored at 1e-3).

    Why 1/sqrt(N): near alpha_c the retrieval basin's stability is decided by the
    cross-talk noise, whose sample-to-sample fluctuations are O(N^{-1/2}); finite-size
    studies of the Hopfield capacity find alpha_c(N) - alpha_c ~ N^{-1/2} (not 1/N, which
    fits our data with a larger residual). Tolerance: 4 standard errors of the intercept
    (weighted least squares) plus 0.003 for the RS/RSB difference and the dynamical
    criterion (T = 0 dynamics measures the basin, not the saddle point; Steffan-Kuhn 1RSB
    0.138186).
    """
    if quick:
        sizes, samples = np.array([500, 1000, 2000]), 4
    else:
        sizes, samples = np.array([1000, 2000, 4000, 8000]), 5
    samples = scaled(samples)
    alphas = np.arange(0.125, 0.1951, 0.005)
    per_size = finite_size_capacity(sizes, alphas, samples, seed)
    limit = stats.extrapolate(sizes, [e.mean for e in per_size],
                              stderr=np.maximum([e.stderr for e in per_size], 1e-3),
                              power=0.5)
    theory = hopfield.critical_capacity(0.0).alpha_c
    return compare("hebbian.capacity_finite_size", "alpha_c(N -> inf), 1/sqrt(N) fit",
                   theory, limit, sigmas=_SIGMA, bias=0.003)


@register("hebbian.learning_overlap")
def learning_overlap(quick: bool = False, seed: int = 0):
    """Archetype overlap vs number of examples M at fixed quality r = 0.3 (supervised,
    P = 3, low load K = 1, T = 0 dynamics from the archetype): Monte Carlo vs the exact
    binomial value and vs the RS theory m = erf(1/sqrt(2 rho)).

    Tolerances: against the exact value 4 se (the fixed point sigma = sign(eta_bar) is
    exact at low load); against RS 4 se plus |exact - RS|, the known error of the Gaussian
    approximation of eta_bar (O(1/M)).
    """
    N, samples = (4000, 3) if quick else (20000, 4)
    r = 0.3
    out = []
    for M in (5, 21, 81):          # odd M: no ties eta_bar = 0 (a tied spin keeps its start)
        model = ExampleLearning(alpha=0.0, T=0.0, P=3, r=r, M=M, supervised=True)
        vals = []
        for s in range(samples):
            net = mc.network(model, N, seed=[seed, M, s])
            res = mc.run(net, 0.0, 100, dynamics="zero", n_replicas=1, init="archetype:0",
                         seed=[seed, M, s])
            vals.append(res.archetype_overlaps[0, -1, 0])
        sim = stats.sample_mean(vals)
        exact = learning.exact_low_load_overlap(r, M)
        rs = learning.solve(model).m
        out.append(compare(f"hebbian.learning_overlap[M={M}]", "m vs exact binomial", exact,
                           sim, sigmas=_SIGMA, bias=1e-12, x=M, x_name="M",
                           series="exact binomial"))
        out.append(compare(f"hebbian.learning_overlap[M={M}]", "m vs RS (Gaussian)", rs, sim,
                           sigmas=_SIGMA, bias=abs(exact - rs), x=M, x_name="M",
                           series="RS (Gaussian)"))
    return out


def multitask_amplitudes_mc(model: Multitask, N: int, n_replicas: int, seed) -> np.ndarray:
    """Sorted |m_k| of T = 0 dynamics from the pure start (sigma = xi^1 where non-zero,
    random elsewhere), one network per disorder sample: a ``(n_replicas, K)`` array."""
    out = []
    for s in range(n_replicas):
        net = mc.network(model, N, seed=[seed, int(model.d * 1000), model.K, s])
        res = mc.run(net, 0.0, 200, dynamics="zero", n_replicas=1, init="pattern:0",
                     seed=[seed, s])
        out.append(np.sort(np.abs(res.overlaps[0, -1]))[::-1])
    return np.array(out)


@register("hebbian.multitask_amplitudes")
def multitask_amplitudes(quick: bool = False, seed: int = 0):
    """Multitasking network, K = 3, T = 0: simultaneously retrieved amplitudes vs the
    hierarchical law m_k = (1 - d) d^{k-1} (d = 0.2, 0.4 < d_3 = 0.618).

    Tolerance: 4 se plus 2/sqrt(N) for the O(N^{-1/2}) initial overlaps that seed the
    lower levels of the hierarchy from a random background.
    """
    N, samples = (20000, 3) if quick else (100000, 3)
    out = []
    for d in (0.2, 0.4):
        model = Multitask(d=d, T=0.0, K=3)
        sim = stats.sample_mean(multitask_amplitudes_mc(model, N, samples, seed))
        theory = multitask.hierarchical_amplitudes(model.d, model.K)
        for k in range(model.K):
            out.append(compare(f"hebbian.multitask_amplitudes[d={d}]", f"m_{k + 1} (N={N})",
                               theory[k], sim[k], sigmas=_SIGMA, bias=2 / math.sqrt(N),
                               x=k + 1, x_name="level k", series=f"d={d}"))
    return out


@register("hebbian.dense_equilibrium")
def dense_equilibrium(quick: bool = False, seed: int = 0):
    """P = 3 dense network (distinct-index Hamiltonian, K = alpha N^2): RS retrieval overlap
    vs equilibrium Glauber Monte Carlo at finite T (not T = 0 quenches, which get trapped
    in the metastable states of the p-spin-like landscape).

    Tolerance: 4 se plus 1/sqrt(N): for P = 3 the finite-size corrections of the cross-talk
    statistics are relative O(N^{(2-P)/2}) = O(N^{-1/2}) (coefficient 1 is an estimate, the
    sampled noise std at N = 400 is within 2 % of its limit).
    """
    N, samples, burn, measure = (150, 3, 40, 60) if quick else (300, 4, 100, 200)
    alpha, T = 0.05, 0.2
    model = DenseMemory(alpha=alpha, T=T, P=3).at_size(N)
    theory = dense.solve(model).m
    sim = _equilibrium_overlap(model, N, samples, burn, measure, seed)
    return compare(f"hebbian.dense_equilibrium[P=3,a={alpha},T={T}]", f"m (N={N})", theory,
                   sim, sigmas=_SIGMA, bias=1 / math.sqrt(N))
