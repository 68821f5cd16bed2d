"""``ntk-fluctuations``: normalized variance of the NTK diagonal of deep ReLU networks
against ``beta = (d - 1)/n``, several widths: the exact finite-width moments of
:mod:`nnphys.theory.ntk_fluctuations` (lines), explicit networks of
:mod:`nnphys.sim.ntk_ensemble` (points with delta-method standard errors), and Hanin & Nica's
scaling law ``exp(5 beta) - 1`` (arXiv:1909.05989, Theorem 1; valid up to a bounded factor)
and the small-beta slope ``11 beta / 3`` (dashed).
"""

from __future__ import annotations

import numpy as np

from ..sim import ntk_ensemble as ne
from ..theory import ntk_fluctuations as nf
from .registry import Figure, register

_INPUT_DIM = 10


def _compute(quick: bool) -> dict:
    widths = (32, 64) if quick else (32, 64, 128)
    budget = 3e8 if quick else 2e9              # Gaussian draws per width
    data = {"widths": np.array(widths)}
    for k, n in enumerate(widths):
        depth_max = int(0.6 * n) + 1 if quick else n + 1        # beta up to 0.6 / 1
        depths = np.unique(np.linspace(2, depth_max, 8 if quick else 12).astype(int))
        n_replicas = max(200, int(budget / ((depth_max - 1) * n * n)))
        ens = ne.relu_ntk_ensemble([n] * (depth_max - 1), np.ones(_INPUT_DIM), n_replicas,
                                   seed=k, depths=depths)
        ratios = [ne.ratio_statistics(ens.K[:, j]).ratio for j in range(len(depths))]
        curve = np.arange(1, depth_max + 1)
        data[f"{n}/depths"] = depths
        data[f"{n}/var"] = np.array([r.mean for r in ratios]) - 1
        data[f"{n}/se"] = np.array([r.stderr for r in ratios])
        data[f"{n}/curve_depths"] = curve
        data[f"{n}/curve"] = nf.normalized_variance(n, curve)
        data[f"{n}/n_replicas"] = np.array(n_replicas)
    return data


def _plot(data: dict):
    import matplotlib.pyplot as plt
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    bmax = 0.0
    for i, n in enumerate(data["widths"]):
        color = f"C{i}"
        b = (data[f"{n}/depths"] - 1) / n
        bc = (data[f"{n}/curve_depths"] - 1) / n
        bmax = max(bmax, bc.max())
        for a in (ax, ax2):
            a.errorbar(b, data[f"{n}/var"], data[f"{n}/se"], fmt="o", ms=3, color=color,
                       label=f"n = {n} (sim)")
            a.plot(bc, data[f"{n}/curve"], "-", color=color, label=f"n = {n} (exact)")
    grid = np.linspace(0, bmax, 200)
    for a in (ax, ax2):
        a.plot(grid, nf.hanin_nica_ratio(grid) - 1, "k:", label=r"$e^{5\beta}-1$ (Hanin-Nica)")
        a.plot(grid, nf.small_beta_slope() * grid, "k--", lw=0.8, label=r"$11\beta/3$")
        a.set_xlabel(r"$\beta = (d-1)/n$")
    ax.set_ylabel(r"Var $K$ / E$[K]^2$")
    ax.set_xlim(0, 0.35)
    ax.set_ylim(0, 3)
    ax.set_title("NTK diagonal, ReLU, He init (small beta)", fontsize=9)
    ax2.set_yscale("log")
    ax2.set_title("all beta (sample ratios biased low at large beta)", fontsize=9)
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


register(Figure("ntk-fluctuations", _compute, _plot,
                "Normalized NTK variance of deep ReLU nets vs depth/width: exact, sim, exp(5 beta)."))
