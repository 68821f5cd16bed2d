"""The power-law random features (PLRF) model under one-pass SGD: deterministic loss curves,
the 4 + 3 phases of the (alpha, beta) plane and the compute-optimal frontier.

E. Paquette, C. Paquette, L. Xiao, J. Pennington, "4+3 Phases of Compute-Optimal Neural
Scaling Laws", NeurIPS 2024, arXiv:2405.15074.

**Model** (Sec. 2). Data ``x in R^v``, ``x_j ~ N(0, j^{-2 alpha})`` (``alpha``: data
complexity), target ``y = <x, b>``, ``b_j = j^{-beta}`` (``beta``: target complexity),
embedding ``W in R^{v x d}`` iid ``N(0, 1/d)`` (``d``: parameters), features ``W^T x``, risk
``P(theta) = 1/2 E[(<W^T x, theta> - y)^2]``, ``theta_0 = 0``. One-pass SGD with batch ``B``
and constant step ``gamma`` (no ``1/B``): ``theta <- theta - gamma sum_batch phi (phi . theta
- y)``. Flops ``f = d B t``.

**Loss curve** (Sec. 2, Thm. 2.1). For Gaussian data the expected risk obeys exactly the
discrete Volterra equation ``P(t) = F(t) + sum_{u<t} K(t-1-u) P(u)`` with
``F(t) = 1/2 int g(x)^t dmu_F``, ``K(t) = gamma^2 B int x^2 g(x)^t dmu_K`` and
``g(x) = 1 - 2 gamma B x + gamma^2 B (B + 1) x^2`` (derived from the Gaussian fourth moments;
the paper's Eq. for ``F`` and ``K``). ``mu_K``, ``mu_F`` are the spectral measures of
:mod:`.spectrum` - exact for a drawn ``W`` or the large-``d`` deterministic equivalent - and
:mod:`.volterra` solves the equation in closed form for all ``t``.

**Phases** (Sec. 3, Fig. 2; lines ``2 alpha = 1`` "high-dimensional line", ``2 beta = 1``,
``alpha = beta``, ``2 (alpha + beta) = 1``, ``alpha = 1/4``, ``alpha = 1 - 1/sqrt 2`` between
IVa and IVb). Loss components (``r = gamma B
t``): ``F_pp`` (gradient flow on the undistorted top of the spectrum), ``F_ac`` (target mass
distorted by the embedding; exists for ``2 beta > 1``), ``F_0`` (capacity: the part no
``d``-dimensional embedding represents) and ``K_pp`` (SGD noise). Compute-optimal exponents
``d* ~ f^xi``, ``P* ~ f^-eta`` are obtained by balancing the two dominant components at
``t = f / (d B)``; below the high-dimensional line ``v`` must grow with ``d`` (``v = v_ratio d``)
and ``gamma ~ 1 / Tr D ~ d^{2 alpha - 1}``.

The problem (``D``, ``b``, ``v = 4 d`` by default) and the default step
``gamma = 1/((B + 1) Tr D)`` are the spec's, :class:`nnphys.models.regression.PLRFModel`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ... import checks
from ...errors import ConvergenceError, ParameterError
from ...models.regression import PLRF_V_RATIO as _V_RATIO, PLRFModel
from ...results import PhaseDiagram, Result, register_phase_diagram
from ..generalization.eigenlearning import LearningCurve, spectral_learning_curve
from . import spectrum as _spectrum
from .volterra import ExponentialSumVolterra, sgd_rate

__all__ = ["LossCurve", "ComputeOptimal", "loss_curve", "capacity_loss", "ridge_learning_curve",
           "phase", "PHASES",
           "ALPHA_IV",
           "Exponents", "exponents", "compute_optimal", "FrontierExponents",
           "frontier_exponents", "phase_diagram"]

#: phase labels in the paper's names, in the order used by :func:`phase_diagram`
PHASES = ("Ia", "Ib", "Ic", "II", "III", "IVa", "IVb", "no power law")
#: the line alpha = 1 - 1/sqrt(2) that splits phase IV (the paper's Fig. 2)
ALPHA_IV = 1.0 - 1.0 / math.sqrt(2.0)
_SUM_RULE_TOL = 1e-4       # sum-rule error of the discretised spectrum a curve may carry


@dataclasses.dataclass(frozen=True)
class LossCurve(Result):
    """Expected risk ``loss`` at iterations ``t`` (``flops = d B t``); ``limit`` is
    ``P(infinity) = F_0 / (1 - ||K||)``, ``kernel_norm`` is ``||K|| = sum_t K(t)``."""

    t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    loss: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    flops: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    limit: float = 0.0
    kernel_norm: float = 0.0

    def plot(self, ax=None):
        """The expected risk against the iterations ``t`` (log-log; ``t = 0`` left out);
        returns the matplotlib Axes (:func:`nnphys.plotting.curves`)."""
        from ...plotting import curves
        keep = self.t > 0
        return curves(self.t[keep], {"risk": self.loss[keep]}, ax, xlabel="t",
                      ylabel="risk", log="xy")


def _times(steps: int, points: int) -> np.ndarray:
    dense = np.arange(0, min(steps, 64) + 1, dtype=float)
    sparse = np.unique(np.round(np.geomspace(64, max(steps, 64), points)))
    return np.unique(np.concatenate([dense, sparse[sparse <= steps]]))


def _measure(alpha, beta, d, v, embedding, bins_per_efold):
    if embedding is None:
        return _spectrum.deterministic_measure(float(alpha), float(beta), int(d), int(v),
                                               int(bins_per_efold))
    W = checks.finite_array("embedding", embedding, ndim=2)
    if W.shape != (v, d):
        raise ParameterError(f"embedding: expected shape (v, d) = ({v}, {d}), got {W.shape}")
    return _spectrum.empirical_measure(alpha, beta, W)


def loss_curve(alpha: float, beta: float, d: int, v: int | None = None, steps: int = 10**4,
               *, lr: float | None = None, batch: int = 1, t=None, points: int = 256,
               embedding=None, bins_per_efold: int = _spectrum.BINS_PER_EFOLD,
               strict: bool = True) -> LossCurve:
    """The expected risk of one-pass SGD on PLRF for every iteration count.

    Args:
        alpha, beta: data and target complexity (``alpha > 0``).
        d: parameters.
        v: data dimension (default ``4 d``, the authors' ratio; ``v > d``).
        steps: last iteration when ``t`` is not given; the curve is returned on all
            ``t <= 64`` and ``points`` log-spaced iterations up to ``steps``.
        lr: step ``gamma`` (default ``PLRFModel(...).default_lr(batch)``).
        batch: samples per step ``B``.
        t: iterations to evaluate at instead (any non-negative numbers).
        points: number of log-spaced iterations (above).
        embedding: a drawn ``W`` (``v x d``) for the exact expected risk given ``W``;
            default: the deterministic equivalent (the large-``d`` limit, Sec. 2.2).
        bins_per_efold: resolution of the deterministic-equivalent spectrum.
        strict: raise when the spectrum's sum rules miss (``False``: return the curve with
            ``converged=False``).

    Returns:
        :class:`LossCurve`; ``residual`` is the sum-rule error of the discretised spectrum
        (0 for a drawn ``W``), ``converged`` says it is below ``1e-4``; ``iterations`` is
        ``None`` (the curve is a closed form on that spectrum; the number of spectral nodes
        is ``parameters["nodes"]``).

    Raises:
        ConvergenceError: the sum-rule error is ``>= 1e-4`` (raise ``bins_per_efold``).
        NumericalError: ``||K|| >= 1`` - SGD diverges at this ``lr``.
    """
    model = PLRFModel(alpha, beta, d, v)
    v = model.v
    lr = model.default_lr(batch) if lr is None else checks.positive("lr", lr)
    bins_per_efold = checks.integer("bins_per_efold", bins_per_efold, low=1)
    meas = _measure(alpha, beta, int(d), v, embedding, bins_per_efold)
    solver = ExponentialSumVolterra(
        sgd_rate(meas.nodes, lr, batch), 0.5 * meas.forcing_mass,
        lr ** 2 * batch * meas.nodes ** 2 * meas.kernel_mass, 0.5 * meas.zero_mass)
    if t is None:
        steps = checks.integer("steps", steps, low=0)
        times = _times(steps, checks.integer("points", points, low=2, high=10 ** 6))
    else:
        times = np.atleast_1d(checks.finite_array("t", t, low=0.0))
    residual = max(meas.kernel_sum_error, meas.forcing_sum_error)
    if residual >= _SUM_RULE_TOL and strict:
        raise ConvergenceError(f"loss_curve: the discretised spectrum misses its sum rules by "
                               f"{residual:.1e} (>= {_SUM_RULE_TOL:g}); raise bins_per_efold",
                               residual=float(residual))
    loss = solver(times)
    return LossCurve(converged=residual < _SUM_RULE_TOL,
                     residual=float(residual),
                     parameters={"alpha": float(alpha), "beta": float(beta), "d": int(d),
                                 "v": v, "lr": lr, "batch": int(batch),
                                 "method": "deterministic" if embedding is None else "exact",
                                 "nodes": int(meas.nodes.size)},
                     t=times, loss=loss, flops=times * d * batch, limit=solver.limit,
                     kernel_norm=solver.kernel_norm)


def capacity_loss(alpha: float, beta: float, d: int, v: int | None = None) -> float:
    """``F_0(d) = 1/2 sum_j c_j^2 / (1 + s_0 D_j)``: the risk of the best ``theta`` in the
    deterministic equivalent (``P(t -> infinity)`` of gradient flow)."""
    v = PLRFModel(alpha, beta, d, v).v
    return 0.5 * _measure(alpha, beta, int(d), v, None, _spectrum.BINS_PER_EFOLD).zero_mass


def ridge_learning_curve(alpha: float, beta: float, d: int, P, v: int | None = None, *,
                         ridge: float = 0.0, embedding=None,
                         bins_per_efold: int = _spectrum.BINS_PER_EFOLD) -> LearningCurve:
    """The learning curve of ridge regression on PLRF's ``d`` features from ``P`` samples:
    the spectral theory of :func:`nnphys.theory.generalization.spectral_learning_curve`
    applied to PLRF's spectrum at fixed ``d``.

    Correspondence. The features ``phi = W^T x`` span a linear kernel ``phi . phi'`` whose
    per-sample eigenvalues are those of ``K = W^T D W`` (the nodes of ``mu_K``, masses the
    multiplicities, total ``d``); the target's power on eigenvector ``i`` is the mass of
    ``mu_F`` there, ``lambda_i (U^T theta*)_i^2``, and its atom at 0, ``sigma^2 = 2 F_0``, is
    the part no ``theta`` represents, which a fit sees as label noise of variance
    ``sigma^2``. The PLRF risk of the ridge estimator (``K`` the raw Gram matrix, ``ridge``
    added to it) is ``R(P) = test_mse(P) / 2`` (``P(theta)`` carries a factor ``1/2``):
    ridgeless, ``R(P) = F_0 P/(P - d)`` for ``P > d`` (the min-norm interpolation of
    :mod:`nnphys.theory.generalization.eigenlearning`), and ``R(P) -> F_0`` as
    ``P -> infinity`` at any fixed ridge. One-pass SGD that has taken ``t`` steps of batch
    ``B`` has seen ``P = B t`` fresh samples; at ``t -> infinity`` its loss tends to the
    same ``d``-limited plateau, inflated by the noise of the constant step:
    ``P_SGD(infinity) = F_0 / (1 - ||K||)`` with ``||K|| = sum_i m_i gamma lambda_i /
    (2 - gamma (B + 1) lambda_i)`` (:func:`loss_curve`'s ``limit`` and ``kernel_norm``), so
    ``(1 - ||K||) P_SGD(t -> infinity) = R(P -> infinity) = F_0`` and both tend to ``F_0``
    as ``gamma -> 0``. At finite ``t`` the curves differ (SGD's early stopping acts like a
    ridge ``~ 1 / (gamma B t)`` on the population, not like ``P = B t`` samples of ridge
    regression); the plateau is where they meet.

    Args:
        alpha, beta, d, v: as :func:`loss_curve`.
        P: sample sizes (``> 0``, 1-D).
        ridge: ``>= 0``.
        embedding: a drawn ``W`` (``v x d``), or None for the deterministic equivalent
            (non-integer multiplicities on its discretised spectrum).
        bins_per_efold: resolution of the deterministic-equivalent spectrum.
    """
    model = PLRFModel(alpha, beta, d, v)
    bins_per_efold = checks.integer("bins_per_efold", bins_per_efold, low=1)
    meas = _measure(alpha, beta, int(d), model.v, embedding, bins_per_efold)
    curve = spectral_learning_curve(meas.nodes, meas.forcing_mass, P, ridge=ridge,
                                    noise=meas.zero_mass, multiplicities=meas.kernel_mass)
    return dataclasses.replace(curve, parameters={**curve.parameters, "alpha": float(alpha),
                                                  "beta": float(beta), "d": int(d),
                                                  "v": model.v})


def _check_ab(alpha, beta):
    checks.positive("alpha", alpha)
    checks.positive("beta", beta)


def phase(alpha: float, beta: float) -> str:
    """The phase of ``(alpha, beta)`` as the paper names it (Sec. 3, Fig. 2).

    ``Ia``: ``2 beta < 1 < 2 alpha``; ``Ib``: ``2 beta < 1``, ``alpha < 1/2``,
    ``2 (alpha + beta) > 1`` (proved for ``alpha > 1/4``, conjectured below);
    ``Ic``: ``2 beta > 1``, ``alpha < 1/4``; ``II``: ``2 beta > 1``, ``beta < alpha``,
    ``alpha > 1/2``; ``III``: ``beta > alpha > 1/2``; ``IVa``: ``2 beta > 1``,
    ``1 - 1/sqrt 2 < alpha < 1/2``; ``IVb``: ``2 beta > 1``, ``1/4 < alpha < 1 - 1/sqrt 2``
    (the split line read off the paper's Fig. 2; :func:`exponents` derives it as the line
    where the SGD noise's dependence on ``d`` at fixed compute changes sign);
    ``"no power law"`` for ``2 (alpha + beta) <= 1`` (the loss does not decay as a power of
    the compute). On a boundary line the phase on the larger-``alpha`` / larger-``beta``
    side is returned.
    """
    _check_ab(alpha, beta)
    if 2 * (alpha + beta) <= 1:
        return "no power law"
    if 2 * beta < 1:
        return "Ia" if 2 * alpha >= 1 else "Ib"
    if 2 * alpha >= 1:
        return "III" if beta >= alpha else "II"
    if 4 * alpha < 1:
        return "Ic"
    return "IVa" if alpha >= ALPHA_IV else "IVb"


@dataclasses.dataclass(frozen=True)
class Exponents(Result):
    """The compute-optimal exponents of one ``(alpha, beta)``: its ``phase``, ``d_star``
    (``xi`` of ``d* ~ f^xi``), ``loss`` (``eta`` of ``P* ~ f^-eta``), ``time`` (``P ~ t^-e``
    at ``d = infinity``) and where they come from (``source``). A closed form: no health
    fields."""

    phase: str = ""
    d_star: float = math.nan
    loss: float = math.nan
    time: float = math.nan
    source: str = ""


def exponents(alpha: float, beta: float) -> Exponents:
    """Compute-optimal exponents ``d* ~ f^xi`` and ``P* ~ f^-eta`` (flops ``f = d B t``).

    Phases Ia, II, III (Sec. 3; the balance of the two dominant loss terms):
    Ia ``xi = 1/(2 alpha + 1)``, ``eta = (2 alpha + 2 beta - 1)/(2 alpha + 1)``;
    II ``xi = beta/(alpha + beta)``, ``eta = 1 - 1/(2 (alpha + beta))``;
    III ``xi = 1/2``, ``eta = 1 - 1/(4 alpha)``.
    Below the high-dimensional line (``v ~ d``, ``gamma ~ d^{2 alpha - 1}``), ``P ~ F_pp +
    F_0`` in Ib and Ic gives Ib ``xi = 1/2``, ``eta = (2 alpha + 2 beta - 1)/2`` and Ic
    ``xi = e / (2 alpha + (2 - 2 alpha) e)``, ``eta = 2 alpha xi`` with ``e = (2 alpha +
    2 beta - 1)/(2 alpha)``.

    Phase IV (``2 beta > 1``, ``1/4 < alpha < 1/2``), **derived here** from the loss
    components (the paper's Table 2 could not be read; its phase names and the IVa/IVb line
    are the paper's). With ``r = gamma t``, ``t = f/d`` and ``gamma ~ d^{2 alpha - 1}``:
    ``F_pp ~ r^-e``, ``F_0 ~ d^{-2 alpha}``, and the SGD noise, the kernel term
    ``sum_u K(t - u) P(u) ~ K(t) sum_u P(u)`` with ``K(t) ~ gamma^2 r^{-kappa}``,
    ``kappa = 2 - 1/(2 alpha)`` (``K_pp``), and ``sum_u P(u) ~ (1/gamma) int P dr = O(1/gamma)``
    (``F_pp`` is integrable in ``r`` when ``2 beta > 1``), i.e. ``~ gamma r^{-kappa}``. At
    fixed ``f`` this noise term scales as ``d^{-(2 alpha^2 - 4 alpha + 1)/alpha}
    f^{-kappa}``: it grows with ``d`` for ``alpha > 1 - 1/sqrt 2`` and falls for ``alpha <
    1 - 1/sqrt 2``, which puts the IVa/IVb line where the paper draws it.

    * IVa: the noise (growing in ``d``) balances the capacity floor ``F_0`` (falling):
      ``d^{4 - 1/alpha} = f^kappa``, so ``xi = 1/2``, ``eta = alpha`` (the optimum sits at
      the spectrum's edge ``r ~ d^{2 alpha}``; ``F_pp`` is smaller there by ``d^{1 - 2 beta}``).
    * IVb: the noise (falling) balances the population bias ``F_pp`` (growing):
      ``xi = (beta - alpha)/(2 beta (1 - alpha) - alpha)``,
      ``eta = (2 alpha + 2 beta - 1)(1 - 2 alpha) / (2 (2 beta (1 - alpha) - alpha))``
      (the noise exceeds ``F_0`` there because ``xi > 1/2`` when ``2 beta > 1``).

    Checks: ``eta`` and ``xi`` are continuous across IVa | III (``alpha = 1/2``), IV | Ib
    (``2 beta = 1``) and IVb | Ic (``alpha = 1/4``, the existing Ic formula); ``eta`` is
    continuous across IVa | IVb, where the loss is flat in ``d`` and ``xi`` jumps.
    :func:`frontier_exponents` (deterministic curves, ``d = 32 ... 8192``) measures
    ``eta = 0.402 +- 0.029`` at ``(0.4, 0.6)`` (IVa, derived 0.4) and ``0.305 +- 0.054`` at
    ``(0.27, 0.8)`` (IVb, derived 0.292), ``0.446 +- 0.023`` at ``(0.45, 0.6)`` (IVa, 0.45),
    ``0.284 +- 0.053`` at ``(0.26, 0.7)`` (IVb, 0.2845; ``xi`` 0.570 vs 0.567). These
    checks are weak: the SGD-noise prefactor is small (``gamma ~ 1/Tr D``), and on that
    range of ``d`` the frontier is close to the noiseless balance ``F_pp = F_0``
    (``xi_0 = e/(e (2 - 2 alpha) + 2 alpha)``, ``eta_0 = 2 alpha xi_0``: 0.435 at
    ``(0.4, 0.6)``, 0.293 at ``(0.26, 0.7)``, within the errors too); the same curves with
    the noise kernel removed have local slopes within 0.01 of the full ones at ``(0.4,
    0.6)``. The noise's share grows as ``C / F_0 ~ f^{(4 alpha - 1)(xi_0 - 1/2)/alpha}`` at
    the noiseless optimum (exponent 0.21 at ``(0.4, 1.0)``), and there it is visible: on
    ``d <= 16384`` the measured ``eta`` is ``0.449 +- 0.006``, with local slopes levelling
    off at 0.44, while without the kernel they keep rising (0.37 ... 0.47, toward
    ``eta_0 = 0.514``); the asymptotic IVa value 0.4 is not reached on that range.

    Returns:
        :class:`Exponents` with ``phase``, ``d_star`` (xi), ``loss`` (eta), ``time``
        (``P ~ t^-e`` at ``d = infinity``: ``e = (2 alpha + 2 beta - 1)/(2 alpha)`` of the
        pure-point forcing, ``2 - 1/(2 alpha)`` of the SGD noise in phases III, IVa, IVb) and
        ``source``.
    """
    name = phase(alpha, beta)
    params = {"alpha": float(alpha), "beta": float(beta)}
    e = (2 * alpha + 2 * beta - 1) / (2 * alpha)
    if name == "Ia":
        xi, eta = 1 / (2 * alpha + 1), (2 * alpha + 2 * beta - 1) / (2 * alpha + 1)
    elif name == "II":
        xi, eta = beta / (alpha + beta), 1 - 1 / (2 * (alpha + beta))
    elif name == "III":
        xi, eta = 0.5, 1 - 1 / (4 * alpha)
    elif name == "Ib":
        xi, eta = 0.5, (2 * alpha + 2 * beta - 1) / 2
    elif name == "Ic":
        xi = e / (2 * alpha + (2 - 2 * alpha) * e)
        eta = 2 * alpha * xi
    elif name == "IVa":
        xi, eta = 0.5, alpha
    elif name == "IVb":
        denominator = 2 * beta * (1 - alpha) - alpha
        xi = (beta - alpha) / denominator
        eta = (2 * alpha + 2 * beta - 1) * (1 - 2 * alpha) / (2 * denominator)
    elif name == "no power law":
        return Exponents(parameters=params, phase=name, loss=0.0, time=0.0,
                         source="2(alpha + beta) <= 1: no decay")
    # loss vs iterations at d = infinity: pure-point forcing, or the SGD-noise kernel
    # K_pp ~ t^-(2 - 1/(2 alpha)) once it decays slower (beta > alpha: III and IV; Sec. 3)
    time = 2 - 1 / (2 * alpha) if name in ("III", "IVa", "IVb") else e
    if name in ("Ia", "II", "III"):
        source = "paper's phase (Sec. 3); exponents from the balance of its dominant terms"
    elif name in ("Ib", "Ic"):
        source = ("derived here: P ~ F_pp + F_0 (the paper's Props. for Ib/Ic) with v ~ d, "
                  "gamma ~ 1/Tr D")
    else:
        source = ("paper's phase and IVa/IVb line (Fig. 2); exponents derived here: SGD "
                  "noise against " + ("the capacity floor F_0" if name == "IVa" else
                                      "the population bias F_pp") +
                  ", v ~ d, gamma ~ 1/Tr D")
    return Exponents(parameters=params, phase=name, d_star=float(xi), loss=float(eta),
                     time=float(time), source=source)


@dataclasses.dataclass(frozen=True)
class ComputeOptimal(Result):
    """Compute-optimal frontier: for each budget ``flops`` the best ``d`` and its ``loss``;
    ``d_grid``, ``losses`` (``len(flops) x len(d_grid)``) are the curves it was read from;
    ``slope_d``, ``slope_loss`` the fitted log-log slopes of ``d*`` and ``P*``.
    ``converged``: some budget is bracketed and every curve met its sum rules (``residual``:
    the worst sum-rule error); ``iterations``: loss curves computed (one per ``d``)."""

    flops: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    d: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    loss: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    d_grid: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    losses: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    slope_d: float = math.nan
    slope_loss: float = math.nan


def compute_optimal(alpha: float, beta: float, flops, *, d_grid=None, v_ratio: int = _V_RATIO,
                    batch: int = 1, lr=None, strict: bool = True) -> ComputeOptimal:
    """``d*(f) = argmin_d P(f / (d B), d)`` and ``P*(f)`` from the deterministic curves.

    Each ``d`` of ``d_grid`` (default 24 values, 32 to 4096, log-spaced) gets its loss curve at
    ``t = f/(d B)`` (``v = v_ratio d``, default learning rate unless ``lr`` is a number or a
    callable of ``(d, v)``); ``log P`` is minimised over ``log d`` by a parabola through the
    best grid point and its neighbours. Budgets whose optimum sits at the end of the grid
    are reported as ``nan`` (the grid does not bracket them), and so are the slopes with
    fewer than three bracketed budgets. ``strict`` is passed to :func:`loss_curve`.
    """
    _check_ab(alpha, beta)
    v_ratio = checks.integer("v_ratio", v_ratio, low=1)
    batch = checks.integer("batch", batch, low=1)
    f = np.atleast_1d(checks.finite_array("flops", flops))
    if f.ndim != 1 or f.size < 2 or np.any(f <= 0):
        raise ParameterError("flops: at least two positive finite budgets")
    grid = (np.unique(np.round(np.geomspace(32, 4096, 24))) if d_grid is None
            else checks.finite_array("d_grid", d_grid))
    if grid.ndim != 1 or grid.size < 3 or np.any(grid < 1) or np.any(grid > 2 ** 31):
        raise ParameterError("d_grid: at least 3 parameter counts >= 1")
    if v_ratio * float(grid.max()) > checks.MEMORY_LIMIT:
        raise ParameterError(f"v_ratio: v = v_ratio d must stay <= {checks.MEMORY_LIMIT} "
                             f"(the spectrum's size) for d up to {int(grid.max())}, got "
                             f"v_ratio = {v_ratio}")
    if lr is not None and not callable(lr):
        lr = checks.positive("lr", lr)
    losses = np.full((f.size, grid.size), np.nan)
    worst = 0.0
    for k, d in enumerate(grid):
        d = int(d)
        v = v_ratio * d
        step = lr(d, v) if callable(lr) else lr
        t = f / (d * batch)
        ok = t >= 1
        if ok.any():
            curve = loss_curve(alpha, beta, d, v, lr=step, batch=batch, t=t[ok], strict=strict)
            losses[ok, k] = curve.loss
            worst = max(worst, curve.residual)
    logd = np.log(grid)
    d_opt = np.full(f.size, np.nan)
    p_opt = np.full(f.size, np.nan)
    for i in range(f.size):
        row = np.log(losses[i])
        if not np.any(np.isfinite(row)):
            continue
        k = int(np.nanargmin(row))
        if k == 0 or k == grid.size - 1 or not np.all(np.isfinite(row[k - 1:k + 2])):
            continue
        x, y = logd[k - 1:k + 2], row[k - 1:k + 2]
        c2, c1, c0 = np.polyfit(x, y, 2)
        xs = -c1 / (2 * c2) if c2 > 0 else x[1]
        xs = float(np.clip(xs, x[0], x[2]))
        d_opt[i], p_opt[i] = math.exp(xs), math.exp(c0 + c1 * xs + c2 * xs ** 2)
    good = np.isfinite(d_opt)
    slope_d = slope_p = math.nan
    if good.sum() >= 3:
        slope_d = float(np.polyfit(np.log(f[good]), np.log(d_opt[good]), 1)[0])
        slope_p = float(np.polyfit(np.log(f[good]), np.log(p_opt[good]), 1)[0])
    return ComputeOptimal(converged=bool(good.any()) and worst < _SUM_RULE_TOL,
                          iterations=int(grid.size),
                          residual=float(worst),
                          parameters={"alpha": float(alpha), "beta": float(beta),
                                      "v_ratio": int(v_ratio), "batch": int(batch)},
                          flops=f, d=d_opt, loss=p_opt, d_grid=grid, losses=losses,
                          slope_d=slope_d, slope_loss=slope_p)


def _extrapolated_slope(x, y):
    """Asymptotic slope of ``y(x)``: slopes ``s1, s2, s3`` on the thirds of the points,
    Aitken-extrapolated when they converge geometrically. Returns ``(slope, error)``, the
    error being the size of the extrapolation (or the last drift if they do not converge
    geometrically)."""
    thirds = np.array_split(np.arange(x.size), 3)
    s1, s2, s3 = (np.polyfit(x[i], y[i], 1)[0] for i in thirds)
    d1, d2 = s2 - s1, s3 - s2
    if d1 * d2 > 0 and abs(d2) < abs(d1):
        ratio = d2 / d1
        limit = s3 + d2 * ratio / (1 - ratio)
        return float(limit), float(abs(limit - s3))
    return float(s3), float(abs(d2))


@dataclasses.dataclass(frozen=True)
class FrontierExponents(Result):
    """Compute-optimal exponents measured on the deterministic curves: ``loss`` (``eta`` of
    ``P* ~ f^-eta``) and ``d_star`` (``xi``), each with the bound ``loss_error``,
    ``d_star_error`` on its systematic error (Aitken extrapolation + d-grid shift), from
    ``budgets`` bracketed budgets. A measurement on computed curves: no health fields."""

    loss: float = math.nan
    loss_error: float = math.nan
    d_star: float = math.nan
    d_star_error: float = math.nan
    budgets: int = 0


def frontier_exponents(alpha: float, beta: float, *, d_range=(32, 4096), n_d: int = 20,
                       flops=None, v_ratio: int = _V_RATIO) -> FrontierExponents:
    """The compute-optimal exponents measured on the deterministic curves (any phase).

    ``P*(f)`` and ``d*(f)`` from :func:`compute_optimal` over log-spaced ``d`` in
    ``d_range`` and budgets ``flops`` (default ``1e3..1e14``; those the ``d`` grid does not
    bracket are dropped); their log-log slopes on the thirds of the budgets are
    Aitken-extrapolated. The error adds the size of the extrapolation and the change when
    the ``d`` grid is shifted by half a step.

    Returns:
        :class:`FrontierExponents`.
    """
    if isinstance(d_range, (str, bytes)) or not hasattr(d_range, "__len__") or \
            len(d_range) != 2:
        raise ParameterError(f"d_range: must be a pair (low, high), got {d_range!r}")
    lo, hi = (checks.real("d_range", v, low=1.0) for v in d_range)
    n_d = checks.integer("n_d", n_d, low=3, high=1000)
    if not (1 <= lo < hi):
        raise ParameterError(f"d_range: need 1 <= low < high (got {d_range})")
    v_ratio = checks.integer("v_ratio", v_ratio, low=1)
    if v_ratio * hi > checks.MEMORY_LIMIT:
        raise ParameterError(f"d_range, v_ratio: the largest data dimension v_ratio * high = "
                             f"{v_ratio * hi:.3g} exceeds {checks.MEMORY_LIMIT:.0e}")
    grid = np.unique(np.round(np.geomspace(lo, hi, n_d)))
    shifted = np.unique(np.round(grid * np.sqrt(grid[1] / grid[0])))
    f = np.geomspace(1e3, 1e14, 67) if flops is None else \
        checks.finite_array("flops", flops, low=0.0, low_open=True)
    results = []
    for g in (grid, shifted):
        res = compute_optimal(alpha, beta, f, d_grid=g, v_ratio=v_ratio)
        good = np.isfinite(res.loss)
        if good.sum() < 9:
            raise ParameterError(f"d_range, alpha, beta: only {int(good.sum())} budgets are "
                                 f"bracketed by the d grid at alpha = {alpha}, beta = {beta}; "
                                 "widen d_range")
        lf = np.log(res.flops[good])
        results.append((_extrapolated_slope(lf, np.log(res.loss[good])),
                        _extrapolated_slope(lf, np.log(res.d[good])), int(good.sum())))
    (p, p_err), (xi, xi_err), n = results[0]
    (p2, _), (xi2, _), _ = results[1]
    return FrontierExponents(parameters={"alpha": float(alpha), "beta": float(beta),
                                         "d_range": [float(lo), float(hi)], "n_d": int(n_d)},
                             loss=float(-p), loss_error=float(p_err + abs(p - p2)),
                             d_star=float(xi), d_star_error=float(xi_err + abs(xi - xi2)),
                             budgets=int(n))


@register_phase_diagram("plrf", axes=("alpha", "beta"), serial_only=(
    "its boundary lines span the whole grid; a closed form, it takes milliseconds"))
def phase_diagram(alpha, beta) -> PhaseDiagram:
    """The (alpha, beta) phase plane: integer phase map (labels :data:`PHASES`), the
    exponent fields ``d_star`` and ``loss``, and the boundary lines of Fig. 2."""
    a = checks.finite_array("alpha", alpha)
    b = checks.finite_array("beta", beta)
    for name, grid in (("alpha", a), ("beta", b)):
        if grid.ndim != 1 or grid.size == 0 or np.any(grid <= 0):
            raise ParameterError(f"{name}: must be a non-empty 1-D grid of positive numbers")
    ph = np.zeros((a.size, b.size), dtype=int)
    xi = np.full(ph.shape, np.nan)
    eta = np.full(ph.shape, np.nan)
    for i, ai in enumerate(a):
        for j, bj in enumerate(b):
            ex = exponents(ai, bj)
            ph[i, j] = PHASES.index(ex.phase)
            xi[i, j], eta[i, j] = ex.d_star, ex.loss
    s = np.linspace(0.0, max(a.max(), b.max()), 200)
    lines = {
        "high-dimensional line (2 alpha = 1)": np.c_[np.full_like(s, 0.5), s],
        "2 beta = 1": np.c_[s, np.full_like(s, 0.5)],
        "alpha = beta": np.c_[s[s >= 0.5], s[s >= 0.5]],
        "2 (alpha + beta) = 1": np.c_[s[s <= 0.5], 0.5 - s[s <= 0.5]],
        "alpha = 1/4": np.c_[np.full(np.sum(s >= 0.5), 0.25), s[s >= 0.5]],
        "alpha = 1 - 1/sqrt(2) (IVa | IVb)": np.c_[np.full(np.sum(s >= 0.5), ALPHA_IV),
                                                  s[s >= 0.5]],
    }
    return PhaseDiagram(parameters={"model": "PLRF (Paquette et al. 2024)"},
                        axes={"alpha": a, "beta": b}, fields={"d_star": xi, "loss": eta},
                        phase=ph, labels=dict(enumerate(PHASES)), boundaries=lines)
