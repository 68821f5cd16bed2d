"""Deep random features: the deterministic equivalent of ridge regression on the last layer
of a deep random network, through the layer-by-layer population covariance of its
equivalent Gaussian model.

D. Schröder, H. Cui, D. Dmitriev, B. Loureiro, "Deterministic equivalent and error
universality of deep random features learning", ICML 2023, arXiv:2302.00401.

**Model** (their Sec. 2). Gaussian inputs ``x ~ N(0, I_d)``; ``L`` random layers

    h_0 = x,     h_l = sigma_l(u_l),     u_l = W_l h_{l-1} / sqrt(k_{l-1}),

``W_l in R^{k_l x k_{l-1}}`` drawn once (any law; the paper's is iid ``N(0, 1)``),
``k_0 = d``; features ``phi = h_L in R^p``, ``p = k_L``. A linear teacher
``y = theta* . x / sqrt(d) + eps``, ``Var eps = noise``. Ridge regression on the last layer
only, ``f(x) = theta . phi(x) / sqrt(p)``,

    theta = argmin sum_{mu <= P} (y_mu - f(x_mu))^2 + ridge |theta|^2,

i.e. kernel ridge regression with ``k(x, x') = phi(x) . phi(x') / p`` and the raw ``P x P``
Gram matrix (the convention of ``nnphys.theory.generalization``). Test error: ``E_x (f*(x) -
f(x))^2`` against the clean teacher ``f* = theta* . x / sqrt(d)``.

**Equivalent Gaussian model** (the paper's linearisation, Sec. 3). Conditionally on the
weights, each pre-activation ``u_{l,i}`` is approximately Gaussian with mean ``m_i`` and
variance ``s_i^2`` read off the previous layer's mean ``mu_{l-1}`` and covariance
``C_{l-1}``; expanding around the mean,

    h_l ~ a + diag(b) (u_l - m) + diag(c) xi,    xi ~ N(0, I) independent,
    a_i = E sigma(m_i + s_i z),   b_i = E[z sigma(m_i + s_i z)] / s_i,
    c_i^2 = E sigma^2 - a_i^2 - b_i^2 s_i^2,                                    (L1)

so that, with ``m = W mu_{l-1}/sqrt(k)``, ``s_i^2 = (W C_{l-1} W^T)_ii / k``,

    mu_l = a,   C_l = diag(b) W C_{l-1} W^T diag(b) / k + diag(c^2),
    t_l = E[h_l y] = diag(b) W t_{l-1} / sqrt(k),                                (L2)

from ``mu_0 = 0``, ``C_0 = I_d``, ``t_0 = theta*/sqrt(d)``. (L2) is the paper's recursion
``Omega_l = kappa_1^2 W Omega_{l-1} W^T / k + kappa_*^2 I`` with the coefficients taken unit
by unit and the mean kept (the paper centres its activations; a ReLU's mean is a rank-one
spike of the second moment ``Omega = C + mu mu^T``, which ridge without intercept sees).
The diagonal of ``C_l`` is exact for the first layer; the neglected terms are the
higher Hermite orders of the off-diagonal entries, ``O(1/k)`` each.

**Deterministic equivalent** (Gaussian covariate model, their Thm. 3.1 in the form of
Bordelon, Canatar & Pehlevan 2020, arXiv:2002.02561, and Simon et al. 2023,
arXiv:2110.03922). With ``omega_i, u_i`` the eigenpairs of ``Omega = E[phi phi^T]``, the
kernel's per-sample eigenvalues are ``lambda_i = omega_i / p``, the teacher's coefficient on
the ``i``-th orthonormal feature is ``v_i = u_i . t_L / sqrt(omega_i)`` and the part of the
teacher no linear function of ``phi`` represents is ``r^2 = E f*^2 - sum v_i^2``
(``E f*^2 = |theta*|^2 / d``); for jointly Gaussian ``(phi, y)`` it acts as label noise.
Then ``kappa`` solves

    sum_i lambda_i / (lambda_i + kappa) + ridge / kappa = P,                      (D1)

(``theory.spectral.tau_fixed_point`` with ``tau = 1/kappa``, the solver the MRS model and
the PLRF capacity floor share; ridgeless with ``P >= p``: ``kappa = 0``), the
learnabilities ``L_i = lambda_i/(lambda_i + kappa)``, ``E0 = P / (P - sum L_i^2)``, and

    E_noisy = E0 [sum (1 - L_i)^2 v_i^2 + r^2 + noise],
    test_error = E_noisy - noise,    train_error = ((P - sum L_i)/P)^2 E_noisy.     (D2)

(D1)-(D2) are the spectral learning curve of :mod:`.eigenlearning` with label noise
``r^2 + noise`` (``P - sum L_i = ridge/kappa`` by (D1)); this module calls it.

Error universality (the paper's second result): the test error of the deep random features
equals, to leading order, that of the Gaussian covariate model with the same second moments
``(Omega, t_L, E y^2)`` -- (D2). The corrections are relative ``O(1/sqrt(k))`` from the
linearisation of the inner layers and ``O(1/P + 1/|P - p|)`` from the deterministic
equivalent itself (for ``P > p`` ridgeless the exact Gaussian mean is ``(P - 1)/(P - p - 1)``
against (D2)'s ``P/(P - p)``).

This module is conditional on the drawn weights (the covariance ``Omega`` of one network);
the average over weight draws is taken by the caller (``nnphys.validation.
deep_random_features``). The paper's closed form of that average (free multiplicative
convolution of the layers' Marchenko-Pastur laws) is not implemented here.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ... import checks
from ...errors import ConvergenceError, NumericalError, ParameterError
from ...models import network
from ...results import Result
from ..gaussian import gauss_legendre
from .eigenlearning import spectral_learning_curve

__all__ = ["Linearisation", "linearisation", "EquivalentModel", "equivalent_model",
           "RidgeError", "ridge_error", "test_error"]

_NODES = 64             # Gauss-Legendre nodes per panel (checked against 2x as many)
_Z_MAX = 12.0           # truncation of z ~ N(0, 1): neglected mass 3.6e-33
_QUAD_TOL = 1e-10       # accepted difference of the two quadrature orders (relative)
_EIG_FLOOR = 1e-12      # eigenvalues of Omega below this fraction of the largest are zero


@dataclasses.dataclass(frozen=True)
class Linearisation(Result):
    """The coefficients (L1) of ``sigma(m + s z) ~ a + b s z + c xi``: ``mean`` ``a``,
    ``slope`` ``b``, ``noise_std`` ``c`` (arrays of the shape of ``m`` and ``s``);
    ``residual`` is the largest relative difference of the two quadrature orders."""

    mean: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    slope: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    noise_std: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


def _moments(fn, m, s, n):
    """``E sigma, E z sigma, E sigma^2`` and ``E |sigma|, E sigma^2`` (scales) for
    ``u = m + s z`` on two Gauss-Legendre panels split where ``u = 0`` (the kink or jump of
    every piecewise activation of ``nnphys.models.network``)."""
    x, w = gauss_legendre(n)
    split = np.clip(-m / s, -_Z_MAX, _Z_MAX)[..., None]
    half_l, half_r = 0.5 * (split + _Z_MAX), 0.5 * (_Z_MAX - split)
    z = np.concatenate([-_Z_MAX + half_l * (x + 1), split + half_r * (x + 1)], axis=-1)
    wt = np.concatenate([half_l * w, half_r * w], axis=-1) * np.exp(-0.5 * z * z)
    wt = wt / np.sum(wt, axis=-1, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        f = np.asarray(fn(m[..., None] + s[..., None] * z), dtype=float)
    if not np.all(np.isfinite(f)):
        raise ConvergenceError("linearisation: the activation is not finite at some "
                               "quadrature node")
    return (np.sum(wt * f, -1), np.sum(wt * z * f, -1), np.sum(wt * f * f, -1),
            np.sum(wt * np.abs(f), -1))


def linearisation(activation, mean, std) -> Linearisation:
    """The Gaussian-equivalent coefficients (L1) of ``activation`` at pre-activations
    ``u = mean + std z``, ``z ~ N(0, 1)`` (arrays broadcast together).

    ``a = E sigma(u)``, ``b = E[z sigma(u)] / std`` (``= E sigma'(u)`` by Stein's lemma where
    ``sigma`` is differentiable), ``c^2 = E sigma(u)^2 - a^2 - b^2 std^2`` (Schröder et al.
    2023, arXiv:2302.00401, Sec. 3: ``kappa_0, kappa_1, kappa_*``).

    Args:
        activation: an activation layer of ``nnphys.theory.kernels`` (``nk.Relu()``,
            ``nk.Tanh()``, ``nk.Erf()``, ...).
        mean, std: the pre-activation means and standard deviations (``std > 0``).

    Raises:
        ConvergenceError: the ``64``- and ``128``-node rules disagree by more than ``1e-10``.
    """
    if not isinstance(activation, network.Activation):
        raise ParameterError(f"activation: must be an activation layer such as nk.Relu() "
                             f"(got {activation!r})")
    m = np.asarray(checks.finite_array("mean", mean), dtype=float)
    s = np.asarray(checks.finite_array("std", std, low=0.0, low_open=True), dtype=float)
    m, s = np.broadcast_arrays(m, s)
    coarse = _moments(activation.fn, m, s, _NODES)
    a, za, a2, scale = _moments(activation.fn, m, s, 2 * _NODES)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(za)) and np.all(np.isfinite(a2))):
        raise NumericalError("mean, std: the activation's moments E sigma(u), E sigma(u)^2 "
                             "at these pre-activations overflow float64 (reduce mean or std)")
    ref = np.maximum(np.sqrt(np.maximum(a2, 0.0)), 1e-300)
    error = max(float(np.max(np.abs(u - v) / ref, initial=0.0))
                for u, v in zip(coarse[:3], (a, za, a2)))
    if error > _QUAD_TOL:
        raise ConvergenceError(f"linearisation: quadrature orders disagree by {error:.1e} "
                               "(relative); is the activation smooth away from 0?",
                               residual=error)
    b = za / s
    c2 = np.maximum(a2 - a * a - za * za, 0.0)     # rounding can make it -1e-17
    return Linearisation(residual=error, mean=a, slope=b, noise_std=np.sqrt(c2))


@dataclasses.dataclass(frozen=True)
class EquivalentModel(Result):
    """Second moments of the equivalent Gaussian model (L2) of one drawn network:
    ``covariance`` ``C_L`` (``p x p``), ``mean`` ``mu_L`` (``p``), the second moment
    ``omega = C_L + mu_L mu_L^T``, ``cross`` ``t_L = E[phi f*]`` and ``target_power``
    ``E f*^2``; ``variances`` lists each layer's pre-activation variances ``s_i^2``.
    ``residual``: the largest quadrature disagreement of the layers' coefficients."""

    covariance: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    mean: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    cross: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    target_power: float = 0.0
    variances: tuple = ()

    @property
    def omega(self) -> np.ndarray:
        """``Omega = E[phi phi^T] = C_L + mu_L mu_L^T``."""
        return self.covariance + np.outer(self.mean, self.mean)


def _activations(activations, depth):
    if not isinstance(activations, network.Activation) and (
            isinstance(activations, (str, bytes)) or not hasattr(activations, "__iter__")):
        raise ParameterError(f"activations: one activation layer (e.g. nk.Relu()) or one "
                             f"per weight matrix ({depth}), got {type(activations).__name__}")
    acts = [activations] * depth if isinstance(activations, network.Activation) \
        else list(activations)
    if len(acts) != depth or not all(isinstance(a, network.Activation) for a in acts):
        raise ParameterError(f"activations: one activation layer (e.g. nk.Relu()) or one "
                             f"per weight matrix ({depth})")
    return acts


def _weights(weights):
    if isinstance(weights, np.ndarray) and weights.ndim == 2:
        weights = [weights]
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__iter__"):
        raise ParameterError(f"weights: one weight matrix or a sequence of them, got "
                             f"{type(weights).__name__}")
    ws = [checks.finite_array(f"weights[{i}]", w, ndim=2) for i, w in enumerate(weights)]
    if not ws:
        raise ParameterError("weights: at least one weight matrix")
    for i in range(1, len(ws)):
        if ws[i].shape[1] != ws[i - 1].shape[0]:
            raise ParameterError(f"weights[{i}]: expected {ws[i - 1].shape[0]} columns "
                                 f"(the width of layer {i}), got {ws[i].shape[1]}")
    return ws


def equivalent_model(weights, activations, teacher) -> EquivalentModel:
    """The equivalent Gaussian model (L2) of the deep random features of a drawn network.

    Args:
        weights: the matrices ``W_1 (k_1 x d), ..., W_L (k_L x k_{L-1})`` (a single 2-D
            array for one layer); layer ``l`` computes ``sigma_l(W_l h / sqrt(k_{l-1}))``.
        activations: one activation layer (``nk.Relu()``, ``nk.Tanh()``, ...) for every
            layer, or a sequence of ``L``.
        teacher: ``theta*`` (length ``d``) of the linear teacher ``theta* . x / sqrt(d)``.

    Returns:
        :class:`EquivalentModel` (``residual``: worst quadrature disagreement).
    """
    ws = _weights(weights)
    acts = _activations(activations, len(ws))
    d = ws[0].shape[1]
    theta = checks.finite_array("teacher", teacher, ndim=1)
    if theta.size != d:
        raise ParameterError(f"teacher: expected {d} entries (the input dimension), "
                             f"got {theta.size}")
    if not np.isfinite(theta @ theta):
        raise ParameterError("teacher: |theta*|^2 overflows float64")
    mu, cov, t = np.zeros(d), np.eye(d), theta / math.sqrt(d)
    variances, worst = [], 0.0
    for layer, (W, act) in enumerate(zip(ws, acts), start=1):
        k = W.shape[1]
        m = W @ mu / math.sqrt(k)
        WC = W @ cov
        var = np.einsum("ij,ij->i", WC, W) / k
        if not (np.all(np.isfinite(var)) and np.all(np.isfinite(m))):
            raise ParameterError(f"weights: the pre-activation moments of layer {layer} "
                                 "overflow float64 (entries too large)")
        if np.any(var <= 0):
            raise ParameterError("weights: a unit receives a pre-activation of zero variance "
                                 "(a zero row?)")
        try:
            lin = linearisation(act, m, np.sqrt(var))
        except NumericalError as exc:
            raise NumericalError(f"weights: layer {layer}: {exc}") from None
        worst = max(worst, lin.residual)
        b = lin.slope
        cov = (b[:, None] * (WC @ W.T) * b[None, :]) / k
        cov = 0.5 * (cov + cov.T) + np.diag(lin.noise_std ** 2)   # symmetric to rounding
        mu = lin.mean
        t = b * (W @ t) / math.sqrt(k)
        variances.append(var)
    return EquivalentModel(converged=None, residual=float(worst),
                           parameters={"d": int(d), "widths": [int(w.shape[0]) for w in ws],
                                       "activations": [repr(a) for a in acts]},
                           covariance=cov, mean=mu, cross=t,
                           target_power=float(theta @ theta / d), variances=tuple(variances))


@dataclasses.dataclass(frozen=True)
class RidgeError(Result):
    """The deterministic equivalent (D1)-(D2) over the sample sizes ``P``: ``kappa``,
    ``test_error`` (against the clean target), ``train_error``, ``overfitting`` (``E0``),
    ``learnability`` (``len(P) x modes``, modes by decreasing eigenvalue), and the
    decomposition of the teacher: ``eigenvalues`` ``lambda_i``, ``target_power`` ``v_i^2``
    and ``residual_power`` ``r^2``. ``residual``/``iterations``: of the ``kappa`` solve."""

    P: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    kappa: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    test_error: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    train_error: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    overfitting: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    learnability: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    eigenvalues: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    target_power: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    residual_power: float = 0.0


def ridge_error(omega, cross, target_power: float, P, ridge: float = 0.0,
                noise: float = 0.0) -> RidgeError:
    """Deterministic equivalent (D1)-(D2) of ridge regression ``f = theta . phi / sqrt(p)``
    on Gaussian covariates ``phi`` with second moment ``omega`` (``p x p``), target
    correlation ``cross = E[phi f*]`` and ``target_power = E f*^2`` (the Gaussian covariate
    model of Loureiro et al. 2021, arXiv:2102.08127).

    Args:
        omega: ``E[phi phi^T]`` (symmetric positive semi-definite).
        cross: ``E[phi f*]`` (length ``p``).
        target_power: ``E f*^2 >= |Omega^{-1/2} cross|^2``.
        P: sample sizes (scalar or 1-D, ``> 0``).
        ridge: ``>= 0``, on the raw Gram matrix (``K = Phi Phi^T / p``).
        noise: label-noise variance ``>= 0``.

    Raises:
        ParameterError: ridgeless at ``P = rank(omega)`` (the interpolation peak diverges),
            or ``target_power`` below the part ``cross`` explains.
    """
    om = checks.finite_array("omega", omega, ndim=2)
    if om.shape[0] != om.shape[1] or \
            np.max(np.abs(om - om.T)) > 1e-10 * np.max(np.abs(om)):
        raise ParameterError(f"omega: must be a symmetric square matrix (got {om.shape})")
    c = checks.finite_array("cross", cross, ndim=1)
    if c.size != om.shape[0]:
        raise ParameterError(f"cross: expected {om.shape[0]} entries, got {c.size}")
    power = checks.real("target_power", target_power, low=0.0)
    ridge = checks.real("ridge", ridge, low=0.0)
    noise = checks.real("noise", noise, low=0.0)
    n = np.atleast_1d(checks.finite_array("P", P, low=0.0, low_open=True)).astype(float)
    if n.ndim != 1:
        raise ParameterError("P: a number or a 1-D array of sample sizes")
    p = om.shape[0]
    w, U = np.linalg.eigh(om)
    if w[-1] <= 0:
        raise ParameterError("omega: must have a positive eigenvalue")
    keep = w > _EIG_FLOOR * w[-1]
    w, U = w[keep][::-1], U[:, keep][:, ::-1]
    lam = w / p
    v2 = (U.T @ c) ** 2 / w
    rest = power - v2.sum()
    if not np.isfinite(rest):
        raise ParameterError("cross: |omega^(-1/2) cross|^2 overflows float64")
    if rest < -1e-9 * max(power, 1e-300):
        raise ParameterError(f"target_power, cross: target_power = {power:g} is below the "
                             f"part cross explains ({v2.sum():g})")
    out = _spectral_error(w / p, v2, max(rest, 0.0), n, ridge, noise)
    return dataclasses.replace(out, parameters={"p": int(p), "rank": int(w.size),
                                                "ridge": ridge, "noise": noise})


def _spectral_error(lam, v2, rest, n, ridge, noise) -> RidgeError:
    """(D1)-(D2) from the per-sample eigenvalues ``lam`` (decreasing), the teacher's power
    ``v2`` on them and the unexplained power ``rest``, at sample sizes ``n`` (1-D): the
    learning curve of :func:`~nnphys.theory.generalization.spectral_learning_curve` with
    ``rest`` added to the label noise (it is fitted like noise and missed at test time, so
    the clean test error gains ``rest`` on top of that curve's ``test_error``)."""
    rank = lam.size
    if ridge == 0 and np.any(n == rank):
        raise ParameterError(f"P: ridgeless regression at P = {rank} (the number of "
                             "features) has an infinite test error")
    curve = spectral_learning_curve(lam, v2, n, ridge=ridge, noise=rest + noise)
    return RidgeError(converged=curve.converged, iterations=int(curve.iterations),
                      residual=float(curve.residual), P=n, kappa=curve.kappa,
                      test_error=curve.test_error + rest, train_error=curve.train_error,
                      overfitting=curve.overfitting, learnability=curve.learnability,
                      eigenvalues=lam, target_power=v2, residual_power=rest)


def test_error(weights, activations, teacher, P, ridge: float = 0.0,
               noise: float = 0.0) -> RidgeError:
    """The deterministic equivalent of the test error of ridge regression on the last layer
    of the drawn deep random network ``weights`` / ``activations`` with the linear
    ``teacher`` (:func:`equivalent_model` then :func:`ridge_error`)."""
    model = equivalent_model(weights, activations, teacher)
    return ridge_error(model.omega, model.cross, model.target_power, P, ridge=ridge,
                       noise=noise)


test_error.__test__ = False      # not a pytest test, despite its name
