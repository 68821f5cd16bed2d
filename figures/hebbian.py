"""Hebbian figures: the AGS phase diagram (Amit, Gutfreund, Sompolinsky 1987, fig. 1 in
spirit), m(alpha) at T = 0 with Monte Carlo, dense-learning phase diagrams, multitasking
amplitudes vs dilution."""

from __future__ import annotations

import numpy as np

from .. import stats
from ..models.hebbian import Multitask
from ..theory.hebbian import hopfield, learning, multitask
from ..validation.hebbian import multitask_amplitudes_mc, zero_temperature_overlaps
from .registry import Figure, register


def _ags_compute(quick: bool) -> dict:
    n = 60 if quick else 200
    pd = hopfield.phase_diagram(np.linspace(0, 0.16, n), np.linspace(0, 1.1, n))
    data = {"alpha": pd.axes["alpha"], "T": pd.axes["T"], "phase": pd.phase,
            "m": pd.fields["m"]}
    data.update({f"line/{k}": v for k, v in pd.boundaries.items()})
    return data


def _ags_plot(data: dict):
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    fig, ax = plt.subplots(figsize=(5, 4))
    cmap = ListedColormap(["#f7f7f7", "#d9d9d9", "#9ecae1", "#3182bd"])
    ax.pcolormesh(data["alpha"], data["T"], data["phase"].T, cmap=cmap, vmin=-0.5, vmax=3.5,
                  shading="nearest")
    styles = {"T_g": ("k-", r"$T_g = 1+\sqrt{\alpha}$"),
              "T_M": ("C0-", r"$T_M$ (retrieval exists)"),
              "T_c": ("C3-", r"$T_c$ (retrieval global)"), "T_R": ("C2--", r"$T_R$ (AT line)")}
    for key, (style, label) in styles.items():
        pts = data.get(f"line/{key}")
        if pts is not None and pts.size:
            pts = pts[np.argsort(pts[:, 1])]
            ax.plot(pts[:, 0], pts[:, 1], style, label=label)
    ax.set_xlim(data["alpha"][0], data["alpha"][-1])
    ax.set_ylim(data["T"][0], data["T"][-1])
    ax.set_xlabel(r"$\alpha = p/N$")
    ax.set_ylabel("T")
    ax.set_title("Hopfield model, RS (AGS)")
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def _m0_compute(quick: bool) -> dict:
    alpha = np.linspace(0.001, 0.1379, 200)
    m = np.array([hopfield.solve(a, 0.0).m for a in alpha])
    a_mc = np.arange(0.04, 0.181, 0.02)
    n, samples = (1000, 3) if quick else (4000, 6)
    mc = stats.sample_mean(zero_temperature_overlaps(n, a_mc, samples, seed=1), axis=1)
    return {"alpha": alpha, "m": m, "alpha_mc": a_mc, "m_mc": mc.mean, "se_mc": mc.stderr,
            "N": np.array(n)}


def _m0_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.5, 3.6))
    ax.plot(data["alpha"], data["m"], "k-", label="RS theory")
    ax.errorbar(data["alpha_mc"], data["m_mc"], data["se_mc"], fmt="o", ms=4,
                label=f"T = 0 dynamics, N = {int(data['N'])}")
    ax.axvline(hopfield.critical_capacity(0.0).alpha_c, color="gray", ls=":")
    ax.set_xlabel(r"$\alpha$")
    ax.set_ylabel("m (T = 0)")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def _learning_compute(quick: bool) -> dict:
    rho = np.linspace(0.0, 2.0, 21 if quick else 81)
    data = {"rho": rho}
    for P in (3, 4):
        data[f"alpha_c/P{P}"] = np.array([learning.critical_load(P, x).alpha_c for x in rho])
    r = np.linspace(0.1, 0.9, 9 if quick else 33)
    M = np.unique(np.geomspace(1, 300, 9 if quick else 33).round())
    pd = learning.phase_diagram(r, M, P=3, T=0.15)
    data.update({"r": pd.axes["r"], "M": pd.axes["M"], "m": pd.fields["m"]})
    return data


def _learning_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for P in (3, 4):
        axes[0].plot(data["rho"], data[f"alpha_c/P{P}"], label=f"P = {P}")
    axes[0].set_xlabel(r"dataset entropy $\rho = (1-r^2)/(M r^2)$")
    axes[0].set_ylabel(r"$\alpha_c$ (supervised, T = 0)")
    axes[0].set_yscale("log")
    axes[0].legend(frameon=False)
    mesh = axes[1].pcolormesh(data["M"], data["r"], np.nan_to_num(data["m"], nan=0.0),
                              shading="nearest", vmin=0, vmax=1)
    axes[1].set_xscale("log")
    axes[1].set_xlabel("examples per archetype M")
    axes[1].set_ylabel("quality r")
    axes[1].set_title(r"archetype overlap m, P = 3, $\alpha$ = 0, T = 0.15")
    fig.colorbar(mesh, ax=axes[1])
    fig.tight_layout()
    return fig


def _multitask_compute(quick: bool) -> dict:
    d = np.linspace(0.02, 0.95, 40)
    K = 3
    m = np.array([np.sort(np.abs(multitask.solve(x, 0.0, K, multitask.hierarchical_amplitudes(
        x, K)).m))[::-1] for x in d])
    d_mc = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    n, samples = (20000, 2) if quick else (100000, 3)
    mc = stats.sample_mean(np.array([multitask_amplitudes_mc(Multitask(d=x, T=0.0, K=K), n,
                                                             samples, seed=2)
                                     for x in d_mc]), axis=1)
    return {"d": d, "m": m, "d_mc": d_mc, "m_mc": mc.mean, "se_mc": mc.stderr,
            "d_K": np.array(multitask.hierarchy_threshold(K).d_K)}


def _multitask_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    for k in range(data["m"].shape[1]):
        ax.plot(data["d"], data["m"][:, k], f"C{k}-", label=f"$m_{k + 1}$ (RS, T = 0)")
        ax.errorbar(data["d_mc"], data["m_mc"][:, k], data["se_mc"][:, k], fmt=f"C{k}o", ms=4)
    ax.axvline(float(data["d_K"]), color="gray", ls=":", label=r"$d_3$ (end of hierarchy)")
    ax.set_xlabel("dilution d")
    ax.set_ylabel("sorted |m_k|")
    ax.set_title("multitasking, K = 3 (points: Monte Carlo)")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


register(Figure("hopfield-phase-diagram", _ags_compute, _ags_plot,
                "AGS (alpha, T) phase diagram with T_g, T_M, T_c and the AT line"))
register(Figure("hopfield-m-zero-temperature", _m0_compute, _m0_plot,
                "retrieval overlap m(alpha) at T = 0: RS vs zero-temperature Monte Carlo"))
register(Figure("dense-learning-phase-diagram", _learning_compute, _learning_plot,
                "dense Hebbian learning: alpha_c(rho) and the (M, r) learning diagram"))
register(Figure("multitask-amplitudes", _multitask_compute, _multitask_plot,
                "multitasking amplitudes vs dilution d (K = 3), RS and Monte Carlo"))
