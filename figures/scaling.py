"""Scaling-law figures of the power-law random features model (Paquette, Paquette, Xiao &
Pennington 2024, arXiv:2405.15074): the (alpha, beta) phase plane with the phases labelled
as in the paper's Fig. 2, and loss curves for several ``d`` against compute with the
compute-optimal envelope (Fig. 1 in spirit), simulated SGD as points."""

from __future__ import annotations

import numpy as np

from ..sim.regression import plrf as sim_plrf
from ..theory.scaling import plrf
from .registry import Figure, register


def _phase_plane_compute(quick: bool) -> dict:
    n = 120 if quick else 400
    pd = plrf.phase_diagram(alpha=np.linspace(0.01, 1.6, n), beta=np.linspace(0.01, 1.6, n))
    data = {"alpha": pd.axes["alpha"], "beta": pd.axes["beta"], "phase": pd.phase,
            "loss": pd.fields["loss"], "d_star": pd.fields["d_star"]}
    for k, name in enumerate(pd.boundaries):
        data[f"line{k}"] = pd.boundaries[name]
    return data


def _phase_plane_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    a, b = data["alpha"], data["beta"]
    mesh = ax.pcolormesh(a, b, data["d_star"].T, shading="auto", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label=r"$\xi$ in $d^* \sim f^{\xi}$")
    for key in sorted(k for k in data if k.startswith("line")):
        pts = data[key]
        ax.plot(pts[:, 0], pts[:, 1], color="k", lw=0.8)
    for k, name in enumerate(plrf.PHASES):
        mask = data["phase"] == k
        if mask.any() and name != "no power law":
            i, j = np.nonzero(mask)
            ax.text(a[int(np.median(i))], b[int(np.median(j))], name, color="k",
                    ha="center", va="center", fontsize=10,
                    weight="bold", bbox=dict(fc="w", ec="none", alpha=0.6, pad=1))
    ax.set_xlabel(r"data complexity $\alpha$")
    ax.set_ylabel(r"target complexity $\beta$")
    ax.set_title("PLRF compute-optimal phases")
    fig.text(0.01, 0.01, "IVa | IVb at alpha = 1 - 1/sqrt(2); IV exponents derived in "
             "plrf.exponents", fontsize=7)
    fig.tight_layout()
    return fig


_CURVE_POINT = (1.0, 0.3)          # phase Ia


def _curves_compute(quick: bool) -> dict:
    alpha, beta = _CURVE_POINT
    ds = np.array([50, 100, 200, 400]) if quick else np.array([50, 100, 200, 400, 800, 1600])
    flops = np.geomspace(1e2, 1e9 if quick else 1e10, 80)
    data = {"d": ds, "flops": flops}
    for d in ds:
        t = flops / d
        keep = t >= 1
        loss = np.full(flops.size, np.nan)
        loss[keep] = plrf.loss_curve(alpha, beta, int(d), t=t[keep]).loss
        data[f"{d}/theory"] = loss
    opt = plrf.compute_optimal(alpha, beta, flops, d_grid=np.geomspace(ds[0], ds[-1], 16))
    data["envelope"] = opt.loss
    data["d_star"] = opt.d
    d_sim = ds[:3]
    steps = 20_000 if quick else 200_000
    for d in d_sim:
        problem = sim_plrf.PLRFProblem(alpha, beta, 4 * int(d), int(d), seed=int(d))
        run = sim_plrf.sgd(problem, steps, n_replicas=8 if quick else 32, seed=1, record=25,
                           method="spectral", fresh_w=True)
        loss = run.loss
        data[f"{d}/sim_flops"], data[f"{d}/sim"], data[f"{d}/se"] = run.flops, loss.mean, loss.stderr
    data["d_sim"] = d_sim
    return data


def _curves_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.4, 4.0))
    for i, d in enumerate(data["d"]):
        ax.loglog(data["flops"], data[f"{d}/theory"], color=f"C{i}", lw=1.2, label=f"d = {d}")
        if d in data["d_sim"]:
            f, y, se = data[f"{d}/sim_flops"], data[f"{d}/sim"], data[f"{d}/se"]
            keep = f > 0
            ax.errorbar(f[keep], y[keep], se[keep], fmt="o", ms=2.5, color=f"C{i}")
    ax.loglog(data["flops"], data["envelope"], "k--", lw=1.5, label="compute-optimal")
    ax.set_xlabel("flops f = d t")
    ax.set_ylabel("risk P")
    ax.set_title(r"PLRF, $\alpha = 1, \beta = 0.3$ (lines: theory, points: SGD)")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


register(Figure("plrf-phase-plane", _phase_plane_compute, _phase_plane_plot,
                "PLRF (alpha, beta) phase plane with the d* exponent"))
register(Figure("plrf-loss-curves", _curves_compute, _curves_plot,
                "PLRF loss vs compute for several d, compute-optimal envelope, SGD points"))
