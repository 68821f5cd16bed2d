"""Lazy to rich training (Bordelon & Pehlevan 2022, arXiv:2205.09653, Figs. 2-3): loss
curves and kernel alignment of the feature-learning DMFT (lines) and of finite muP networks
(points) across the richness ``gamma0``, and the (``gamma0``, ``P``) phase diagram of the
final alignment. Set-up of :mod:`nnphys.validation.feature_learning` (``tanh``, one hidden
layer, ``t`` in ``[0, 2]``). At ``gamma0 = 0.1`` the networks' mean loss lies above the
DMFT line: the output starts at ``f(0) = O(1 / (gamma0 sqrt N))``, a variance ``~ 0.1`` per
point at ``N = 1024`` that the infinite-width theory does not have. The phase diagram's
colour is the alignment gain ``A(t_end) - A(0)`` of the DMFT feature kernel (400 / 1600
replicas, quick / full: entries to ~0.01)."""

from __future__ import annotations

import numpy as np

from ..theory.dmft import feature_learning as fl
from ..validation import feature_learning as vf
from .registry import Figure, register

_GAMMAS = (0.1, 0.5, 1.0, 2.0, 4.0)
_WIDTH = 1024


def _richness_compute(quick: bool) -> dict:
    x, y = vf.task()
    times = 21 if quick else 41
    t = np.linspace(0.0, vf._T_END, times)
    n, replicas = (800, 4) if quick else (4000, 8)
    out = {"gammas": np.array(_GAMMAS), "t": t, "y": y}
    loss, align, net_loss, net_align = [], [], [], []
    for g in _GAMMAS:
        r = fl.solve(vf.mlp(1), x, y, g, t, n_replicas=n, tol=1e-6,
                     kernel_times=np.arange(times))
        loss.append(r.loss)
        align.append(vf.alignment(vf.equal_time(r)[2][:, 0], y))
        d = vf.train_on_grid(vf.mlp(1), x, y, g, [_WIDTH], replicas, seed=0, times=times,
                             steps=15 * (times - 1))
        net_loss.append(0.5 * np.sum((d["f"][:, 0] - y) ** 2, axis=-1))
        net_align.append(vf.alignment(d["Phi"][:, 0, :, 0], y))
    out.update(loss=np.array(loss), alignment=np.array(align), net_loss=np.array(net_loss),
               net_alignment=np.array(net_align))
    return out


def _points(ax, t, samples, color, every):
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
    ax.errorbar(t[::every], mean[::every], se[::every], fmt="o", ms=3, color=color)


def _curves_plot(data: dict, theory: str, networks: str, ylabel: str, title: str,
                 log: bool):
    """DMFT lines ``data[theory][i]`` and network points ``data[networks][i]`` (mean +-
    s.e. over seeds) against time, one colour per ``gamma0``."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.8))
    t, every = data["t"], max(1, (data["t"].size - 1) // 10)
    for i, g in enumerate(data["gammas"]):
        ax.plot(t, data[theory][i], color=f"C{i}", label=rf"$\gamma_0 = {g:g}$")
        _points(ax, t, data[networks][i], f"C{i}", every)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("gradient-flow time t")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def _loss_plot(data: dict):
    return _curves_plot(data, "loss", "net_loss",
                        r"training loss $\frac{1}{2}\sum_\mu (f_\mu - y_\mu)^2$",
                        f"lines: DMFT; points: width {_WIDTH} networks (mean ± s.e.)", True)


def _alignment_plot(data: dict):
    return _curves_plot(data, "alignment", "net_alignment",
                        r"$A(t) = \langle \Phi(t), yy^T\rangle / (|\Phi(t)|\,|yy^T|)$",
                        f"feature-kernel alignment; lines DMFT, points width {_WIDTH}", False)


def _phase_compute(quick: bool) -> dict:
    gammas = np.array([0.1, 0.5, 2.0]) if quick else np.array([0.1, 0.25, 0.5, 1.0, 2.0, 4.0])
    sizes = np.array([2, 4, 8]) if quick else np.array([2, 4, 8, 16])
    t = np.linspace(0.0, vf._T_END, 21)
    final, start = np.empty((sizes.size, gammas.size)), np.empty(sizes.size)
    for i, P in enumerate(sizes):
        x, y = vf.task(int(P), 4)
        for j, g in enumerate(gammas):
            r = fl.solve(vf.mlp(1), x, y, g, t, n_replicas=400 if quick else 1600, tol=1e-6)
            phi = vf.equal_time(r)[2][:, 0]
            final[i, j] = vf.alignment(phi[-1], y)
            start[i] = vf.alignment(phi[0], y)
    return {"gammas": gammas, "sizes": sizes, "final": final, "start": start}


def _phase_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    gain = data["final"] - data["start"][:, None]
    g, P = data["gammas"], data["sizes"]
    mesh = ax.pcolormesh(np.arange(g.size + 1), np.arange(P.size + 1), gain, cmap="viridis",
                         shading="flat")
    for i in range(P.size):
        for j in range(g.size):
            ax.text(j + 0.5, i + 0.5, f"{data['final'][i, j]:.2f}", ha="center", va="center",
                    fontsize=7, color="w" if gain[i, j] < 0.6 * gain.max() else "k")
    ax.set_xticks(np.arange(g.size) + 0.5, [f"{v:g}" for v in g])
    ax.set_yticks(np.arange(P.size) + 0.5, [str(v) for v in P])
    ax.set_xlabel(r"richness $\gamma_0$")
    ax.set_ylabel("training points P")
    fig.colorbar(mesh, ax=ax, label=r"$A(t_{end}) - A(0)$ (text: $A(t_{end})$)")
    ax.set_title(f"lazy to rich: DMFT feature-kernel alignment at t = {vf._T_END:g}",
                 fontsize=9)
    fig.tight_layout()
    return fig


register(Figure("fl-loss", _richness_compute, _loss_plot,
                "training loss vs time from lazy to rich (gamma0), DMFT and muP networks"))
register(Figure("fl-alignment", _richness_compute, _alignment_plot,
                "feature-kernel alignment A(t) vs time for several gamma0, DMFT and networks"))
register(Figure("fl-phase", _phase_compute, _phase_plot,
                "lazy-to-rich phase diagram: DMFT kernel-alignment gain over (gamma0, P)"))
