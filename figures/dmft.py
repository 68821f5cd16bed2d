"""DMFT figures: the SCS autocorrelation and Lyapunov exponent of random rate networks
(Sompolinsky, Crisanti & Sommers 1988, Fig. 1-2 in spirit) and the loss curves and
compute-optimal frontier of random-feature gradient descent (Bordelon, Atanasov & Pehlevan
2024, arXiv:2402.01092, Fig. 3-4 in spirit)."""

from __future__ import annotations

import numpy as np

from ..models.network import Tanh
from ..models.rnn import RateNetwork
from ..sim import rnn as sim_rnn
from ..models.regression import BAPModel
from ..sim.regression import gradient_descent as sim_gd
from ..theory.dmft import learning, rnn
from ..validation.dmft import chaotic_trajectory
from .registry import Figure, register

_GAINS = (1.2, 1.5, 2.0, 3.0)


def _autocorrelation_compute(quick: bool) -> dict:
    tau = np.linspace(0.0, 30.0, 301)
    n, t_max = (500, 200.0) if quick else (2000, 400.0)
    data = {"tau": tau}
    for g in _GAINS:
        spec = RateNetwork(g, Tanh(), N=n)            # one network for theory and simulation
        st = rnn.stationary(spec, lags=tau)
        data[f"{g}/theory"] = st.delta
        traj = chaotic_trajectory(spec, t_max, 1, st.delta0, transient=100.0)
        ac = sim_rnn.autocorrelation(traj, 20.0, n_windows=4)
        pick = slice(0, None, 10)
        data[f"{g}/tau_sim"], data[f"{g}/sim"], data[f"{g}/se"] = \
            ac.lags[pick], ac.mean[pick], ac.stderr[pick]
    return data


def _autocorrelation_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for i, g in enumerate(_GAINS):
        color = f"C{i}"
        ax.plot(data["tau"], data[f"{g}/theory"], color=color, label=f"g = {g}")
        ax.errorbar(data[f"{g}/tau_sim"], data[f"{g}/sim"], data[f"{g}/se"], fmt="o", ms=3,
                    color=color)
    ax.set_xlabel(r"lag $\tau$")
    ax.set_ylabel(r"$\Delta(\tau)$")
    ax.set_title("SCS autocorrelation (lines: DMFT, points: networks)")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def _lyapunov_compute(quick: bool) -> dict:
    g_theory = np.concatenate([np.linspace(0.5, 1.0, 6), np.linspace(1.02, 4.0, 40)])
    lam = np.array([rnn.stationary(g).lyapunov for g in g_theory])
    g_sim = np.array([0.8, 1.5, 2.0, 3.0]) if quick else np.array([0.8, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0])
    n, t_max = (400, 100.0) if quick else (2000, 400.0)
    est = [sim_rnn.lyapunov(RateNetwork(g, Tanh(), N=n), t_max, 0.1, transient=50.0, seed=2)
           for g in g_sim]
    return {"g": g_theory, "lyapunov": lam, "g_sim": g_sim,
            "sim": np.array([e.mean for e in est]), "se": np.array([e.stderr for e in est]),
            "n": np.array(n)}


def _lyapunov_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot(data["g"], data["lyapunov"], "k-", label="DMFT")
    ax.errorbar(data["g_sim"], data["sim"], data["se"], fmt="o", color="C3",
                label=f"network, N = {int(data['n'])}")
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.axvline(1.0, color="0.7", lw=0.8, ls="--")
    ax.set_xlabel("g")
    ax.set_ylabel(r"$\lambda_{\max}$")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def _scaling_compute(quick: bool) -> dict:
    a, b = 2.0, 1.5
    M = 1000 if quick else 4000
    spec = BAPModel(a, b, M).spectrum
    widths = np.array([25, 50, 100, 200]) if quick else np.array([25, 50, 100, 200, 400, 800])
    t = np.geomspace(0.1, 1e4, 25 if quick else 50)
    t_sim = np.geomspace(0.3, 3e3, 6 if quick else 9)
    data = {"t": t, "t_sim": t_sim, "widths": widths}
    for n in widths:
        data[f"{n}/theory"] = learning.loss(t, N=n, spectrum=spec).test
        sim = sim_gd.random_feature_gd(int(n), None, t_sim, spectrum=spec,
                                       n_replicas=3 if quick else 6, seed=3).test
        data[f"{n}/sim"], data[f"{n}/se"] = sim.mean, sim.stderr
    data["inf/theory"] = learning.loss(t, spectrum=spec).test
    compute = np.geomspace(1e2, 1e4 if quick else 1e5, 5 if quick else 9)
    front = learning.compute_optimal(compute, spec, widths=np.geomspace(8, M / 2, 12 if quick else 25))
    data.update({"compute": compute, "front_loss": front.best_loss, "front_width": front.width,
                 "slope_loss": np.array(front.slope_loss),
                 "predicted": np.array(-learning.exponents(a, b).compute_loss)})
    return data


def _scaling_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    ax = axes[0]
    for i, n in enumerate(data["widths"]):
        color = f"C{i}"
        ax.plot(data["t"], data[f"{n}/theory"], color=color, label=f"N = {n}")
        ax.errorbar(data["t_sim"], data[f"{n}/sim"], data[f"{n}/se"], fmt="o", ms=3, color=color)
    ax.plot(data["t"], data["inf/theory"], "k--", label=r"N = $\infty$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("test loss")
    ax.set_title("random features, a = 2, b = 1.5 (lines: DMFT, points: GD)")
    ax.legend(frameon=False, fontsize=8)
    ax = axes[1]
    for i, n in enumerate(data["widths"]):
        ax.plot(n * data["t"], data[f"{n}/theory"], color=f"C{i}", lw=1)
    ax.plot(data["compute"], data["front_loss"], "ko-", ms=3,
            label=f"frontier, slope {float(data['slope_loss']):.3f} "
                  f"(theory {float(data['predicted']):.3f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("compute C = N t")
    ax.set_ylabel("test loss")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


register(Figure("scs-autocorrelation", _autocorrelation_compute, _autocorrelation_plot,
                "SCS autocorrelation Delta(tau) for several g: DMFT lines, network points"))
register(Figure("scs-lyapunov", _lyapunov_compute, _lyapunov_plot,
                "largest Lyapunov exponent vs g: DMFT and Benettin on networks"))
register(Figure("bap-scaling", _scaling_compute, _scaling_plot,
                "random-feature GD loss vs time for several N and the compute-optimal frontier"))
