"""Exponential-capacity memories: the (alpha, T) phase diagram of the binary log-sum-exp
memory with Monte Carlo points, the retrieval probability vs alpha for several N and its
finite-size collapse, and the capacity from polynomial (Krotov-Hopfield) to exponential."""

from __future__ import annotations

import math

import numpy as np

from ..models.hebbian import ExponentialMemory
from ..sim import exponential as se
from ..theory.hebbian import exponential as ex
from ..validation.exponential import _sign_dynamics_shift
from .registry import Figure, register

_LAM_PD = 0.3
_LAM_FSS = 0.15


def _pd_compute(quick: bool) -> dict:
    n = 80 if quick else 240
    alpha, T = np.linspace(0, 0.6, n), np.linspace(0, 4.0, n)
    pd = ex.phase_diagram(alpha, T, lam=_LAM_PD)
    N, samples = (24, 8) if quick else (32, 24)
    mc_alpha = np.array([0.05, 0.15, 0.25, 0.35, 0.45])
    mc_T = np.array([0.0, 0.25, 1.0, 2.0])
    prob = np.zeros((mc_alpha.size, mc_T.size))
    for i, a in enumerate(mc_alpha):
        for j, t in enumerate(mc_T):
            m_star = 0.9 if t == 0 else 0.5 * ex.retrieval_overlap(float(t))
            p = se.retrieval_probability(ExponentialMemory(alpha=float(a), T=float(t),
                                                           lam=_LAM_PD), N, samples,
                                         seed=[i, j], m_star=m_star, n_sweeps=40)
            prob[i, j] = p.probability.mean
    return {"alpha": pd.axes["alpha"], "T": pd.axes["T"], "phase": pd.phase,
            "line/alpha_1": pd.boundaries["alpha_1"], "line/glass": pd.boundaries["glass"],
            "alpha_c": pd.boundaries["alpha_c"], "mc_alpha": mc_alpha, "mc_T": mc_T,
            "mc_prob": prob, "N": np.array(N)}


def _pd_plot(data: dict):
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    fig, ax = plt.subplots(figsize=(5.2, 4))
    cmap = ListedColormap(["#f7f7f7", "#d9d9d9", "#9ecae1"])
    ax.pcolormesh(data["alpha"], data["T"], data["phase"].T, cmap=cmap, vmin=-0.5,
                  vmax=2.5, shading="nearest")
    a1 = data["line/alpha_1"]
    ax.plot(a1[1:, 0], a1[1:, 1], "C0-", label=r"$\alpha_1(T)$ (T > 0)")
    ax.plot([a1[0, 0]], [0], "C0s", ms=7, clip_on=False,
            label=r"$\alpha_1(0) = 2\lambda - \ln\cosh 2\lambda$")
    ax.plot([data["alpha_c"][0, 0]], [0], "C3^", ms=8, clip_on=False,
            label=r"$\alpha_c$ (all patterns)")
    g = data["line/glass"]
    ax.plot(g[:, 0], g[:, 1], "k--", label="REM condensation (glass)")
    A, TT = np.meshgrid(data["mc_alpha"], data["mc_T"], indexing="ij")
    sc = ax.scatter(A.ravel(), TT.ravel(), c=data["mc_prob"].ravel(), cmap="RdYlGn", vmin=0,
                    vmax=1, edgecolors="k", s=60, zorder=3, clip_on=False)
    fig.colorbar(sc, ax=ax, label=f"MC P(retrieval), N = {int(data['N'])}")
    ax.set_xlabel(r"$\alpha = \ln K / N$")
    ax.set_ylabel("T")
    ax.set_xlim(data["alpha"][0], data["alpha"][-1])
    ax.set_ylim(data["T"][0], data["T"][-1])
    ax.set_title(rf"binary log-sum-exp memory, $\lambda = {_LAM_PD}$")
    ax.legend(frameon=True, fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def _fss_compute(quick: bool) -> dict:
    sizes = [20, 30, 40] if quick else [20, 30, 40, 50, 60]
    samples = 24 if quick else 64
    alphas = np.arange(0.12, 0.32, 0.01)
    data = {"sizes": np.array(sizes), "alpha_1": np.array(ex.typical_capacity(_LAM_FSS).alpha)}
    for N in sizes:
        pts = [se.retrieval_probability(ExponentialMemory(alpha=float(a), lam=_LAM_FSS), N,
                                        samples, seed=[N, k]) for k, a in enumerate(alphas)
               if a * N <= math.log(1e7)]                 # at most 10^7 patterns
        data[f"alpha/{N}"] = np.array([p.alpha for p in pts])
        data[f"p/{N}"] = np.array([p.probability.mean for p in pts])
        data[f"se/{N}"] = np.array([p.probability.stderr for p in pts])
    return data


def _fss_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(9, 3.6))
    alpha_1 = float(data["alpha_1"])
    for k, N in enumerate(data["sizes"]):
        a, p, e = data[f"alpha/{N}"], data[f"p/{N}"], data[f"se/{N}"]
        a0.errorbar(a, p, e, fmt="o-", ms=3, color=f"C{k}", label=f"N = {N}")
        x = N * (a - alpha_1 - _sign_dynamics_shift(alpha_1, float(N)))
        a1.errorbar(x, p, e, fmt="o", ms=3, color=f"C{k}", label=f"N = {N}")
    a0.axvline(alpha_1, color="k", ls="--", label=r"$\alpha_1 = 2\lambda - \ln\cosh 2\lambda$")
    a0.set_xlabel(r"$\alpha = \ln K / N$")
    a0.set_ylabel("P(retrieval), T = 0 from the pattern")
    a0.set_title(rf"binary, $\lambda = {_LAM_FSS}$")
    a0.legend(frameon=False, fontsize=7)
    a1.axvline(0, color="k", ls="--")
    a1.set_xlabel(r"$N\,(\alpha - \alpha_1 - \delta_N)$, $\delta_N = -(\alpha_1 + 2\ln z^*_N)/N$")
    a1.set_title("finite-size collapse")
    fig.tight_layout()
    return fig


def _capacity_compute(quick: bool) -> dict:
    data = {}
    for N in (40, 100, 400):
        n = np.arange(2, ex.crossover_order(N) + 6)
        data[f"n/{N}"] = n
        data[f"alpha/{N}"] = np.array([ex.polynomial_capacity(int(k), N).alpha for k in n])
        data[f"cross/{N}"] = np.array(ex.crossover_order(N))
    data["lam"] = np.geomspace(0.05, 20, 60)
    data["alpha_1"] = np.array([ex.typical_capacity(float(l)).alpha for l in data["lam"]])
    return data


def _capacity_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(9, 3.6))
    for k, N in enumerate((40, 100, 400)):
        n, a = data[f"n/{N}"], data[f"alpha/{N}"]
        a0.plot(n, a, "o-", ms=3, color=f"C{k}", label=f"N = {N}")
        c = int(data[f"cross/{N}"])
        a0.plot([c], [a[list(n).index(c)]], "kx", ms=8)
    a0.axhline(math.log(2) / 2, color="k", ls="--", label=r"$F = e^x$: $\ln 2/2$ (Demircigil)")
    a0.set_xlabel("interaction order n")
    a0.set_ylabel(r"$\ln K_{\max} / N$")
    a0.set_title(r"Krotov-Hopfield $N^{n-1}/(2(2n-3)!!\ln N)$; x: crossover")
    a0.legend(frameon=False, fontsize=7)
    a1.semilogx(data["lam"], data["alpha_1"], "C0-", label=r"$\alpha_1(0)$, typical pattern")
    a1.axhline(math.log(2), color="k", ls=":", label=r"$\ln 2$")
    a1.axhline(math.log(2) / 2, color="k", ls="--", label=r"$\ln 2/2$ (all patterns)")
    a1.set_xlabel(r"sharpness $\lambda$ of $e^{\lambda\,\xi\cdot\sigma}$")
    a1.set_ylabel(r"$\alpha = \ln K/N$")
    a1.set_title("exponential interaction, T = 0")
    a1.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


register(Figure("exponential-phase-diagram", _pd_compute, _pd_plot,
                "binary log-sum-exp memory: (alpha, T) retrieval / glass / paramagnet with MC"))
register(Figure("exponential-fss", _fss_compute, _fss_plot,
                "retrieval probability vs alpha for several N and its finite-size collapse"))
register(Figure("exponential-capacity", _capacity_compute, _capacity_plot,
                "capacity from polynomial F = x^n to exponential F = e^(lam x)"))
