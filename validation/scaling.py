"""Power-law random features (Paquette, Paquette, Xiao & Pennington 2024, arXiv:2405.15074):
deterministic loss curves and compute-optimal exponents (theory.scaling.plrf) against
simulated one-pass SGD (sim.regression.plrf) and against the asymptotic exponents.

Tolerances.
* **Loss curves.** The deterministic curve is the ``d -> infinity`` limit of the risk
  averaged over the data and the embedding ``W``. Simulation: one-pass SGD with a fresh ``W``
  per seed; the seed-to-seed standard error covers both sources, and the equivalent's own
  finite-``d`` bias is ``O(1/d)`` relative (our numerics: below 4% at ``d = 200``, see
  tests). Tolerance: ``4 SE + P / d``. The exact curve for one drawn ``W`` is compared with
  SGD at that ``W`` (data noise only) within ``4 SE``. ``SE`` is the standard error of the
  simulation's :class:`~nnphys.stats.Estimate` (the spread over replicas).
* **Frontier exponents.** ``P*(f) = min_d P(f/d, d)`` from deterministic curves over
  several decades of compute. Corrections to scaling decay slowly, so the slopes on the three
  thirds of the range are Aitken-extrapolated; the error is the size of that extrapolation
  (or the last drift if the slopes do not converge geometrically) plus the effect of the
  ``d`` grid (the frontier recomputed on a grid shifted by half a step). Both curves are
  deterministic, so this error is the comparison's whole tolerance (``bias``).
* **Time exponent.** The exponent of the SGD curve fitted with a bootstrap over replicas
  (:func:`nnphys.stats.fit_power_law`) against the same fit of the exact expected risk:
  ``4`` bootstrap standard errors.
"""

from __future__ import annotations

import numpy as np

from ..sim.regression import plrf as sim_plrf
from ..stats import Estimate, fit_power_law
from ..theory.scaling import plrf
from .registry import compare, register, scaled

#: one (alpha, beta) in each phase with a power-law frontier (2 (alpha + beta) > 1)
PHASE_POINTS = {"Ia": (1.0, 0.3), "Ib": (0.4, 0.3), "Ic": (0.2, 0.8), "II": (1.5, 1.0),
                "III": (1.0, 1.5), "IVa": (0.4, 0.6), "IVb": (0.27, 0.8)}


@register("scaling.plrf_frontier_exponent")
def frontier_exponent(quick: bool = False, seed: int = 0):
    """Slope of the compute-optimal loss ``P*(f)`` measured on deterministic curves
    (``plrf.frontier_exponents``: Aitken-extrapolated, error = extrapolation + d-grid shift)
    vs the exponent derived from the dominant loss terms, phases Ia, Ib, II, III, IVa, IVb."""
    out = []
    names = ("Ia", "III") if quick else ("Ia", "Ib", "II", "III", "IVa", "IVb")
    d_range, n_d = ((32, 2048), 14) if quick else ((32, 8192), 24)
    for name in names:
        alpha, beta = PHASE_POINTS[name]
        meas = plrf.frontier_exponents(alpha, beta, d_range=d_range, n_d=n_d)
        out.append(compare(f"plrf {name} (alpha={alpha}, beta={beta})",
                           f"eta of P* ~ f^-eta, {meas.budgets} bracketed budgets",
                           plrf.exponents(alpha, beta).loss, meas.loss, bias=meas.loss_error))
    return out


def _sgd(alpha, beta, d, steps, n_replicas, seed, record, fresh_w=True, method="spectral",
         W_seed=0):
    problem = sim_plrf.PLRFProblem(alpha, beta, 4 * d, d, seed=W_seed)
    return problem, sim_plrf.sgd(problem, steps, n_replicas=n_replicas, seed=seed,
                                 record=record, method=method, fresh_w=fresh_w)


@register("scaling.plrf_sgd_vs_theory")
def sgd_vs_theory(quick: bool = False, seed: int = 0):
    """Mean risk of one-pass SGD (fresh data and embedding per seed, spectral sampler) vs the
    deterministic-equivalent curve, one point in every phase, at t = 10, 100, 1e3, (1e4)."""
    d = 100 if quick else 300
    steps = 1000 if quick else 10_000
    n_replicas = scaled(24 if quick else 64)
    times = np.array([10, 100, 1000] + ([] if quick else [10_000]))
    out = []
    for k, (name, (alpha, beta)) in enumerate(PHASE_POINTS.items()):
        _, run = _sgd(alpha, beta, d, steps, n_replicas, seed * 100 + k, times)
        theory = plrf.loss_curve(alpha, beta, d, t=run.t).loss
        sim = run.loss
        for j, (t, th) in enumerate(zip(run.t, theory)):
            if t == 0:
                continue
            out.append(compare(f"plrf {plrf.phase(alpha, beta)} ({alpha}, {beta}) d={d}",
                               f"risk at t={int(t)}", th, sim[j], sigmas=4.0, bias=th / d,
                               x=t, x_name="t", series=f"{name} ({alpha}, {beta})"))
    return out


@register("scaling.plrf_exact_vs_sgd")
def exact_vs_sgd(quick: bool = False, seed: int = 0):
    """For one drawn embedding W: the exact expected risk (Volterra equation of the drawn
    spectrum) vs raw SGD with x in R^v at that W (data noise only), phases Ia and III."""
    d = 60 if quick else 200
    steps = 2000 if quick else 20_000
    n_replicas = scaled(64 if quick else 128)
    times = np.array([1, 10, 100, 1000] + ([] if quick else [10_000]))
    out = []
    for k, name in enumerate(("Ia", "III")):
        alpha, beta = PHASE_POINTS[name]
        problem, run = _sgd(alpha, beta, d, steps, n_replicas, seed * 100 + k, times,
                            fresh_w=False, method="raw", W_seed=seed + 7)
        exact = plrf.loss_curve(alpha, beta, d, 4 * d, t=run.t, embedding=problem.W).loss
        sim = run.loss
        for j, (t, th) in enumerate(zip(run.t, exact)):
            if t == 0:
                continue
            out.append(compare(f"plrf {name} fixed W, d={d}", f"risk at t={int(t)}", th,
                               sim[j], sigmas=4.0, x=t, x_name="t", series=name))
    return out


@register("scaling.plrf_time_exponent")
def time_exponent(quick: bool = False, seed: int = 0):
    """Exponent of the SGD loss curve P ~ t^-e fitted on t in [30, 3000] (spectral sampler,
    one drawn W, bootstrap over data seeds) vs the same fit of the exact expected risk at
    that W, phases Ia and II; the asymptotic e = (2 alpha + 2 beta - 1)/(2 alpha) (d, t ->
    infinity) is printed in the quantity. Tolerance: 4 bootstrap standard errors."""
    d = 300 if quick else 1000
    n_replicas = scaled(16 if quick else 48)
    times = np.unique(np.round(np.geomspace(30, 3000, 12))).astype(np.int64)
    out = []
    for k, name in enumerate(("Ia", "II")):
        alpha, beta = PHASE_POINTS[name]
        problem, run = _sgd(alpha, beta, d, int(times[-1]), n_replicas, seed * 100 + k, times,
                            fresh_w=False, W_seed=seed + 11)
        pick = run.t > 0
        fit = fit_power_law(run.t[pick], per_replica=run.per_replica[:, pick])
        exact = plrf.loss_curve(alpha, beta, d, 4 * d, t=run.t[pick], embedding=problem.W)
        th_fit = fit_power_law(run.t[pick], exact.loss)
        asym = plrf.exponents(alpha, beta).time
        measured = Estimate(mean=fit.exponent, stderr=fit.stderr, n_eff=float(n_replicas))
        out.append(compare(f"plrf {name} ({alpha}, {beta}) d={d}",
                           f"exponent of P(t) on [30, 3000] (asymptotic {asym:.3f})",
                           th_fit.exponent, measured, sigmas=4.0))
    return out
