"""Scale mixtures of NNGPs: an inverse-gamma prior on the last layer's variance gives a
Student-t process (Lee, Yun, Yang & Lee, "Scale Mixtures of Neural Network Gaussian
Processes", ICLR 2022, arXiv:2107.01408, sec. 3).

Model. Let ``K`` be the NNGP kernel of a network (its readout's ``W_std^2`` and
``b_std^2`` included). Scaling the readout's variances by ``sigma^2`` scales the kernel,
and the paper puts an inverse-gamma prior on that scale::

    sigma^2 ~ InvGamma(alpha, beta)        (density  ∝ sigma^{-2(alpha+1)} e^{-beta/sigma^2})
    f | sigma^2 ~ GP(0, sigma^2 K),        y | f, sigma^2 ~ N(f(X), sigma^2 eps I)

(the observation noise ``eps`` is measured in units of the same scale, which keeps the model
conjugate). Integrating ``sigma^2`` out gives a Student-t process: on any inputs,
``f ~ MVT_{2 alpha}(0, (beta/alpha) K)``, with covariance ``beta/(alpha-1) K`` for
``alpha > 1``.

Inference (``N`` training points, ``k`` output columns sharing one scale,
``A = K_XX + eps I``, ``Q = sum_c y_c^T A^{-1} y_c``)::

    sigma^2 | y ~ InvGamma(alpha + N k / 2,  beta + Q / 2)
    f(x*) | y  ~ MVT_{nu'}(mu, S),   nu' = 2 alpha + N k,
                 mu = K_*X A^{-1} y                      (the NNGP posterior mean),
                 S  = (2 beta + Q) / nu' * (K_** - K_*X A^{-1} K_X*),
    Cov f(x*) | y = nu' / (nu' - 2) S                     (nu' > 2),
    log p(y) = lnG(alpha + N k/2) - lnG(alpha) - (N k / 2) ln(2 pi beta) - (k/2) ln|A|
               - (alpha + N k / 2) ln(1 + Q / (2 beta))   (y ~ MVT_{2 alpha}(0, (beta/alpha) A)).

The predictive scale depends on the targets through ``Q`` (a GP's does not), and as
``alpha, beta -> inf`` with ``beta / alpha = s^2`` fixed everything reduces to the GP with
kernel ``s^2 K`` and noise ``s^2 eps`` (:func:`nnphys.theory.kernels.gp_inference`). The
linear algebra is one symmetric eigendecomposition of ``A`` (as in :mod:`.predict`); a
singular ``A`` (no noise, repeated inputs) has no likelihood and raises
:class:`NumericalError`.

``ln Gamma(alpha + N k/2) - ln Gamma(alpha)`` is evaluated by a Stirling difference at large
``alpha`` (no cancellation), so the GP limit is reached to roundoff. The paper's equation
numbers could not be read; the formulas above are the standard
normal-inverse-gamma conjugate results (Shah, Wilson & Ghahramani 2014,
arXiv:1402.4306, for Student-t processes), checked against quadrature over ``sigma^2``
and Monte Carlo of the scale mixture in ``tests/test_scale_mixture.py``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import special

from ... import checks
from ...errors import NumericalError, ParameterError
from ...models import network as arch
from ...results import Result
from .predict import gp_inference

__all__ = ["StudentTPrediction", "student_t_prior", "student_t_inference"]


@dataclasses.dataclass(frozen=True)
class StudentTPrediction(Result):
    """A multivariate Student-t prediction ``MVT_dof(mean, scale)`` (per output column).

    Attributes:
        mean: ``(M,)`` or ``(M, k)`` location (the NNGP posterior mean).
        scale: ``(M, M)`` scale matrix ``S``.
        dof: degrees of freedom ``nu``.
        covariance: ``nu / (nu - 2) S`` if ``nu > 2``, else None (infinite).
        alpha, beta: inverse-gamma parameters of the (posterior) scale ``sigma^2``.
        log_marginal_likelihood: ``log p(y)`` (0 for the prior).
    """

    mean: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    dof: float = 0.0
    covariance: np.ndarray | None = None
    alpha: float = 0.0
    beta: float = 0.0
    log_marginal_likelihood: float = 0.0

    def marginal_std(self) -> np.ndarray:
        """Predictive standard deviation per test point (``inf`` where ``nu <= 2``)."""
        if self.covariance is None:
            return np.full(self.scale.shape[0], np.inf)
        return np.sqrt(np.maximum(np.diagonal(self.covariance), 0.0))

    def logpdf(self, f) -> float:
        """Log density of the multivariate t at ``f`` (one output column)."""
        f = np.asarray(f, dtype=float).reshape(self.mean.shape)
        if self.mean.ndim != 1:
            raise ParameterError("f: logpdf is defined for a single output column")
        evals, evecs = np.linalg.eigh(self.scale)
        if evals[0] <= 0:
            raise NumericalError("scale: singular scale matrix, no density")
        r = evecs.T @ (f - self.mean)
        maha = float(np.sum(r * r / evals))
        m, nu = f.size, self.dof
        return float(special.gammaln((nu + m) / 2) - special.gammaln(nu / 2)
                     - m / 2 * math.log(nu * math.pi) - 0.5 * np.sum(np.log(evals))
                     - (nu + m) / 2 * math.log1p(maha / nu))


def _check_ab(alpha, beta):
    return checks.positive("alpha", alpha), checks.positive("beta", beta)


def _kernel_fn(net_or_kernel_fn, get: str):
    if get not in ("nngp", "ntk"):
        raise ParameterError(f"get: must be 'nngp' or 'ntk', got {get!r}")
    if hasattr(net_or_kernel_fn, "kernel"):
        return lambda x1, x2=None: net_or_kernel_fn.kernel(x1, x2, get=get)
    if callable(net_or_kernel_fn):
        return net_or_kernel_fn
    raise ParameterError("net_or_kernel_fn: must be a Network (with .kernel) or a callable "
                         f"kernel_fn(x1, x2), got {type(net_or_kernel_fn).__name__}")


def _log_gamma_ratio(a: float, h: float) -> float:
    """``ln Gamma(a + h) - ln Gamma(a)`` without cancellation at large ``a``: for
    ``a >= 1e3`` the difference of Stirling series (terms to ``z^-5``; the omitted
    ``1/(1680 z^7)`` is below 1e-24)."""
    if a < 1e3:
        return float(special.gammaln(a + h) - special.gammaln(a))
    z = a + h

    def tail(x):
        u = 1.0 / x                             # powers of 1/x underflow, x^5 would overflow
        return u / 12 - u ** 3 / 360 + u ** 5 / 1260
    return (a - 0.5) * math.log1p(h / a) + h * math.log(z) - h + tail(z) - tail(a)


def _covariance(scale, dof):
    return dof / (dof - 2) * scale if dof > 2 else None


def student_t_prior(net_or_kernel_fn, x, alpha: float, beta: float,
                    get: str = "nngp") -> StudentTPrediction:
    """The prior ``f(x) ~ MVT_{2 alpha}(0, (beta/alpha) K(x, x))``."""
    alpha, beta = _check_ab(alpha, beta)
    x = arch.check_input(x, "x")
    k = np.asarray(_kernel_fn(net_or_kernel_fn, get)(x, None), dtype=float)
    scale = beta / alpha * k
    dof = 2 * alpha
    return StudentTPrediction(mean=np.zeros(k.shape[0]), scale=scale, dof=dof,
                              covariance=_covariance(scale, dof), alpha=alpha, beta=beta,
                              parameters={"alpha": alpha, "beta": beta, "get": get})


def student_t_inference(net_or_kernel_fn, x_train, y_train, x_test, alpha: float,
                        beta: float, noise: float = 0.0, get: str = "nngp",
                        rcond: float | None = None) -> StudentTPrediction:
    """Posterior predictive and marginal likelihood of the Student-t process.

    Args:
        net_or_kernel_fn: a :class:`Network` of :mod:`nnphys.theory.kernels` or a callable
            ``kernel_fn(x1, x2) -> (N1, N2)`` (``x2=None`` meaning ``x1``).
        x_train, y_train: ``(N, d)`` inputs, ``(N,)`` or ``(N, k)`` targets.
        x_test: ``(M, d)`` test inputs.
        alpha, beta: the inverse-gamma prior of the readout scale (``> 0``).
        noise: observation-noise variance ``eps >= 0`` in units of the scale.
        get: kernel of a Network, ``"nngp"`` (Bayesian posterior) or ``"ntk"``.
        rcond: relative eigenvalue cutoff of the pseudo-inverse used for the mean
            (see :func:`gp_inference`).

    Returns:
        :class:`StudentTPrediction` with ``dof = 2 alpha + N k``.

    Raises:
        ParameterError: bad arguments. NumericalError: singular ``K + eps I``.
    """
    alpha, beta = _check_ab(alpha, beta)
    noise = checks.positive("noise", noise, allow_zero=True)
    x_train = arch.check_input(x_train, "x_train")
    x_test = arch.check_input(x_test, "x_test")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ParameterError(f"x_train, x_test: inputs of one shape needed, got "
                             f"{x_train.shape[1:]} and {x_test.shape[1:]} per input")
    y_train = checks.finite_array("y_train", y_train)
    kernel = _kernel_fn(net_or_kernel_fn, get)
    k_tt = np.asarray(kernel(x_train, None), dtype=float)
    k_st = np.asarray(kernel(x_test, x_train), dtype=float)
    k_ss = np.asarray(kernel(x_test, None), dtype=float)
    gp = gp_inference(k_tt, y_train, k_st, k_ss, diag_reg=noise, rcond=rcond)
    n = k_tt.shape[0]
    y = np.asarray(y_train, dtype=float).reshape(n, -1)
    n_obs = y.size
    evals, evecs = np.linalg.eigh((k_tt + k_tt.T) / 2 + noise * np.eye(n))
    cutoff = (rcond if rcond is not None else n * np.finfo(float).eps) * abs(evals).max()
    if evals[0] <= cutoff:
        raise NumericalError("K(x_train, x_train) + noise I is singular (repeated inputs "
                             "without noise?): the marginal likelihood is undefined; "
                             "pass noise > 0")
    proj = evecs.T @ y
    with np.errstate(over="ignore"):
        quad = float(np.sum(proj * proj / evals[:, None]))
    if not math.isfinite(quad):
        raise NumericalError("y_train: y^T (K + noise I)^{-1} y overflows float64 (targets too "
                             "large for this kernel); rescale y_train")
    logdet = float(np.sum(np.log(evals)))
    post_alpha = alpha + n_obs / 2
    post_beta = beta + quad / 2
    dof = 2 * post_alpha
    scale = post_beta / post_alpha * gp.covariance
    log_ml = (_log_gamma_ratio(alpha, n_obs / 2)
              - n_obs / 2 * math.log(2 * math.pi * beta) - y.shape[1] / 2 * logdet
              - post_alpha * math.log1p(quad / (2 * beta)))
    return StudentTPrediction(mean=gp.mean, scale=scale, dof=dof,
                              covariance=_covariance(scale, dof), alpha=post_alpha,
                              beta=post_beta, log_marginal_likelihood=float(log_ml),
                              parameters={"alpha": alpha, "beta": beta, "noise": noise,
                                          "get": get, "n_train": n})
