"""Maloney, Roberts & Sully (2022, arXiv:2210.16859): test loss of linear random-feature
regression on the latent power-law model, against the number of features N at several P
and against the number of samples P at several N. Lines: the deterministic equivalent
(theory.scaling.mrs), ridgeless (solid; the double-descent peak at N = P) and with a small
ridge (dashed), dotted: the plateau as the varied resource goes to infinity; points (filled:
ridgeless, open: ridge): exact simulations (sim.regression.mrs, mean +- SE over draws). The
latent dimension M is marked: past it the power law ends (noiseless: the loss drops to 0
once N and P both exceed M; the loss flattens in the larger resource at the plateau
sigma2_res(n; M))."""

from __future__ import annotations

import numpy as np

from ..sim.regression import mrs_regression
from ..theory.scaling import mrs
from .registry import Figure, register

ALPHA = 1.0
RIDGE = 1e-4


def _compute(quick: bool) -> dict:
    M = 400 if quick else 1000
    n_replicas = 8 if quick else 24
    fixed = np.array([50, 200]) if quick else np.array([50, 200, 600])
    line = np.unique(np.round(np.logspace(0.7, np.log10(3 * M), 300)))
    pts = np.unique(np.round(np.logspace(0.8, np.log10(2.5 * M), 9 if quick else 14)))
    data = {"M": np.array(M), "alpha": np.array(ALPHA), "ridge": np.array(RIDGE),
            "fixed": fixed, "line": line, "points": pts}
    for k, other in enumerate(fixed):
        for axis in ("N", "P"):
            NN, PP = (line, other) if axis == "N" else (other, line)
            data[f"{axis}/{other}/theory0"] = mrs.test_loss(NN, PP, ALPHA, M=M).loss
            data[f"{axis}/{other}/theoryR"] = mrs.test_loss(NN, PP, ALPHA, M=M,
                                                            ridge=RIDGE).loss
            sim, se = [], []
            for i, x in enumerate(pts):
                N, P = (int(x), int(other)) if axis == "N" else (int(other), int(x))
                ridges = [RIDGE] if N == P else [0.0, RIDGE]
                r = mrs_regression(N, P, ALPHA, M, ridge=ridges, n_replicas=n_replicas,
                                   seed=1000 * k + 10 * i + (axis == "P")).loss
                val = np.full(2, np.nan)
                err = np.full(2, np.nan)
                val[-len(ridges):], err[-len(ridges):] = r.mean, r.stderr
                sim.append(val), se.append(err)
            data[f"{axis}/{other}/sim"] = np.array(sim)
            data[f"{axis}/{other}/stderr"] = np.array(se)
    # the larger resource -> infinity: L(N = inf, P) for the N axis, L(N, P = inf) for P
    data["plateau/N"] = mrs.plateau(fixed, ALPHA, M, limited_by="P")
    data["plateau/P"] = mrs.plateau(fixed, ALPHA, M, limited_by="N")
    return data


def _plot(data: dict):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    M = int(data["M"])
    for ax, axis, other_name in ((axes[0], "N", "P"), (axes[1], "P", "N")):
        for c, other in enumerate(data["fixed"]):
            col = f"C{c}"
            ax.plot(data["line"], data[f"{axis}/{other}/theory0"], "-", color=col,
                    label=f"{other_name} = {other}, ridgeless")
            ax.plot(data["line"], data[f"{axis}/{other}/theoryR"], "--", color=col, lw=1,
                    label=f"{other_name} = {other}, ridge {float(data['ridge']):g}")
            sim, se = data[f"{axis}/{other}/sim"], data[f"{axis}/{other}/stderr"]
            ax.errorbar(data["points"], sim[:, 0], se[:, 0], fmt="o", ms=4, color=col)
            ax.errorbar(data["points"], sim[:, 1], se[:, 1], fmt="s", ms=3, mfc="none",
                        color=col)
            ax.axhline(data[f"plateau/{axis}"][c], color=col, ls=":", lw=0.8)
        ax.axvline(M, color="grey", lw=0.8)
        ax.text(M * 1.05, 0.95, "M", color="grey", transform=ax.get_xaxis_transform(),
                va="top")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"{axis}")
        ax.set_title(f"test loss vs {axis} (alpha = {float(data['alpha']):g}, M = {M})")
    axes[0].set_ylabel("test loss")
    axes[0].set_ylim(1e-4, 3)
    axes[0].legend(frameon=False, fontsize=7, loc="lower left")
    axes[1].legend(frameon=False, fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


register(Figure("mrs-loss", _compute, _plot,
                "MRS solvable model: loss vs N at several P and vs P at several N, "
                "deterministic equivalent vs simulation, double-descent peak and plateau"))
