"""The solvable scaling-law model of Maloney, Roberts & Sully: linear random-feature ridge
regression on a latent power-law data model.

A. Maloney, D. A. Roberts, J. Sully, "A Solvable Model of Neural Scaling Laws",
arXiv:2210.16859 (2022). Only the paper's abstract could be read here; the equations below
are **derived** (random-matrix deterministic equivalents, stated and checked numerically in
``tests/test_scaling_mrs.py`` and ``nnphys validate scaling``), and where this module says
"MRS find", it quotes the abstract, not an equation number.

**Model** (MRS's generative data model + random feature model, linear features).
Latent features ``x in R^M`` Gaussian with covariance ``Lambda = diag(lambda_I)``,
``lambda_I = I^{-(1+alpha)}``, ``I = 1..M`` (``M = None``: ``M = infinity``); target
``y = w . x + noise``, ``E[w_I^2] = 1`` (isotropic; ``target`` overrides ``w_I^2``), noise
variance ``noise``. Features ``phi = A x / sqrt(N)``, ``A in R^{N x M}`` iid ``N(0, 1)``.
Ridge regression on ``P`` samples::

    theta = argmin (1/P) sum_mu (y_mu - theta . phi_mu)^2 + ridge |theta|^2

(``ridge -> 0``: the minimum-norm interpolator). Test loss = excess risk on the clean
target, ``L = E_x (w . x - theta . phi(x))^2 = (w - v)^T Lambda (w - v)``,
``v = A^T theta / sqrt(N)``, averaged over ``A``, data and noise.

**Deterministic equivalent** (derived; two stages). With ``k`` the renormalised ridge of
the latent stage and the degrees of freedom ``D1(k) = sum lambda/(lambda + k)``,
``D2(k) = sum lambda^2/(lambda + k)^2``, the two coupled fixed-point equations are::

    kappa = k (1 - D1(k)/N)         (projection onto N random features, A-average)
    ridge = kappa (1 - D1(k)/P)     (ridge regression on P samples, data average)   (M1)

i.e. one scalar equation ``ridge = k (1 - D1/N)(1 - D1/P)``, solved on the branch
``D1 < min(N, P)``; it is symmetric in ``N <-> P`` and the same as the ``s -> ridge`` limit
of the Bordelon-Atanasov-Pehlevan DMFT (``u = R_N R_P``, ``k = s/u``; ``theory.dmft.learning``).
Given ``k``::

    df2_F = D1 - (1 - D1/N)(D1 - D2)/(1 - D2/N)                (feature-space df2)
    L_pop = k^2 sum b_I/(lambda_I + k)^2 + k (D1 - D2)/(N - D2) sum b_I lambda_I/(lambda_I + k)^2
    L     = [L_pop + noise df2_F/P] / (1 - df2_F/P),   b_I = lambda_I w_I^2.          (M2)

Derivation: for fixed ``A`` this is ridge regression with covariance ``Sigma_F = F Lambda F^T``
(``F = A/sqrt N``) and the part of the target outside the span of the features acting as
extra noise; the standard deterministic equivalent (Hastie, Montanari, Rosset, Tibshirani
2022; Bach 2023) gives ``L = [L_pop(kappa; F) + noise gamma_2]/(1 - gamma_2)``,
``gamma_2 = df2_F/P``, ``L_pop(kappa; F) = kappa^2 beta^T (S + kappa)^{-2} beta`` where
``S = Lambda^{1/2} F^T F Lambda^{1/2}`` is a sample covariance of ``N`` draws of
``N(0, Lambda)`` and ``beta = Lambda^{1/2} w``. Its resolvent ``(S + kappa)^{-1} ~
(k/kappa)(Lambda + k)^{-1}`` and one derivative in ``kappa`` give ``L_pop`` and ``df2_F``.
The corrections are relative ``O(1/n + 1/|m - n|)``, ``n = min(N, P)``, ``m = max(N, P)``
(e.g. for ``N < P`` ridgeless, the exact inverse-Wishart mean ``(P-1)/(P-N-1)`` against
the equivalent's ``P/(P-N)``).

**Ridgeless limit** (``ridge -> 0``, ``n < M``): ``D1(k) = n``, ``tau = 1/k``, and (M2)
reduces to the reference's formula::

    noiseless:  L = sigma2_res(n) m/(m - n)    (N < P with noise: [sigma2_res(N) + noise N/P]/(1 - N/P)),
    sigma2_res(n) = sum_I b_I/(1 + tau lambda_I),  sum_I tau lambda_I/(1 + tau lambda_I) = n.   (M3)

For ``N < P`` (M3) is immediate from (M2); for ``N > P`` it follows from (M2) exactly when
``w_I^2 = const`` (isotropic target): then ``k^2 (sum b/(l+k)^2) D2 = k (sum b l/(l+k)^2)
(D1 - D2)`` and (M2) becomes ``sigma2_res(P) N/(N - P)``. So the duality ``N <-> P`` of
the noiseless loss is exact for the isotropic target, at any ridge (the tests check it);
for an anisotropic target or with label noise it is broken.

**Continuum asymptote** (``M = infinity``): with ``a = 1 + alpha``,
``sigma2_res(n) ~ C^{1+alpha} n^{-alpha}``, ``C = Gamma(1 + 1/a) Gamma(1 - 1/a) =
(pi/a)/sin(pi/a)``. Euler-Maclaurin on ``sum_{I >= 1} g(I/s)``, ``s = tau^{1/a}``, gives
``n = C s - 1/2`` and ``sigma2_res = n/tau``, so the discrete sum is
``sigma2_res(n) = C^{1+alpha} n^{-alpha} (1 + 1/(2n))^{-(1+alpha)} [1 + o(n^{-2})]`` (the tests
check the remainder ``< n^{-2}``): the continuum constant overshoots the discrete sum by
``(1+alpha)/(2n)``, 1% at ``n = 100`` for ``alpha = 1``.

**Finite M (end of the power law).** ``D1 <= M``: for ``n = min(N, P) >= M`` the latent
ridge ``k -> 0`` in the ridgeless limit, the projection residual vanishes and only noise is
left: ``L = noise M/(P - M)`` (``N >= M``, ``P > M``; ordinary least squares in ``M``
dimensions). As a function of the larger resource at fixed ``n`` the loss flattens onto the
level ``L(n, m = infinity)``: ``sigma2_res(n; M)`` for ``n = N`` (``plateau``). MRS describe
"the finite extent of the data's spectral power law causes the model's performance to
plateau"; the level they give could not be read ([unverified]); this module's statements are
those of (M2).

**Optimal ridge and equiparameterization.** ``optimal_ridge`` minimises (M2) over
``ridge >= 0``; ``equiparameterization`` minimises the optimally regularised loss over the
split of a budget ``N + P = B`` or ``N P = B``. MRS find (abstract) that with the ridge tuned
``N ~ P`` is optimal; with the noiseless isotropic target (M2) is ``N <-> P`` symmetric, so
the optimum of the ridge-tuned loss at fixed ``N + P`` or ``N P`` lies on ``N = P`` when it is
unique (checked numerically by ``equiparameterization``: ratio ``N*/P* = 1`` at fixed
``N + P`` and at fixed ``N P``, ``alpha = 1``). Ridgeless, the optimum is off the peak
(``N*/P* ~ 0.41`` or its inverse at ``N + P = 400``); label noise breaks the symmetry and
moves the ridge-tuned optimum to ``N < P`` (``N*/P* ~ 0.4`` at ``N P = 10^4``, noise 0.1).
Numerically the noiseless optimal ridge at ``N = P = n`` scales as ``n^{-(1+alpha)}`` (the
eigenvalue at index ``n``); for ``alpha = 1`` it is ``(pi^2/4)/(N P)`` to 6 digits.

Sums over ``I``: exact up to ``I = 10^4`` (or ``M``), the tail ``I > 10^4`` by
Gauss-Legendre quadrature in ``u = I^{-alpha}`` of the midpoint-rule integral (relative error
``< 1e-9``, checked against the plain sum in the tests).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import optimize, special

from ... import checks
from ...errors import ArgumentTypeError, ConvergenceError, ParameterError
from ...models.regression import MRSModel
from ...results import Result
from ..spectral import tau_fixed_point

__all__ = ["LatentSums", "spectrum", "TestLoss", "test_loss", "sigma2_res",
           "sigma2_res_continuum", "continuum_constant", "plateau", "OptimalRidge",
           "optimal_ridge", "Equiparameterization", "equiparameterization",
           "Exponents", "scaling_exponents"]

_EXACT_TERMS = 10_000
_TAIL_NODES = 96
_TOL = 1e-13
_MAX_IT = 200


@dataclasses.dataclass(frozen=True)
class LatentSums:
    """The sums over the latent spectrum of :class:`~nnphys.models.regression.MRSModel` as a
    quadrature: eigenvalues ``lambda`` with multiplicities ``weight`` (1 for explicit terms,
    quadrature weights for the tail) and ``b = lambda w^2`` (target power per mode);
    ``size`` is ``M`` (``inf`` for an unbounded spectrum)."""

    eigenvalues: np.ndarray
    weight: np.ndarray
    power: np.ndarray
    size: float
    alpha: float

    def sums(self, k: np.ndarray):
        """``D1, D2, sum b/(l+k)^2, sum b l/(l+k)^2, sum b/(l+k)`` at latent ridges ``k``
        (any shape; the spectrum is the last axis)."""
        k = np.asarray(k, dtype=float)[..., None]
        lam, wt, b = self.eigenvalues, self.weight, self.power
        h = 1.0 / (lam + k)
        lh = lam * h
        d1 = (wt * lh).sum(-1)
        d2 = (wt * lh * lh).sum(-1)
        bh = wt * b * h
        return d1, d2, (bh * h).sum(-1), (bh * lh).sum(-1), bh.sum(-1)


def spectrum(alpha: float, M: int | None = None, target=None) -> LatentSums:
    """The latent spectrum ``lambda_I = I^{-(1+alpha)}``, ``I = 1..M`` (``None``: infinite),
    with target power ``b_I = lambda_I w_I^2`` (``target``: the ``w_I^2``, default 1; an
    explicit ``target`` needs a finite ``M`` and ``len(target) == M``). The eigenvalues are
    the spec's (:class:`nnphys.models.regression.MRSModel`), here summed exactly up to
    ``I = 10^4`` and by quadrature beyond."""
    model = MRSModel(alpha, M)
    alpha, M = model.alpha, model.M
    if (1 + alpha) * math.log(min(M or _EXACT_TERMS, _EXACT_TERMS)) > 700:
        raise ParameterError(f"alpha: the eigenvalues I^-(1 + alpha) underflow float64 at "
                             f"I = {min(M or _EXACT_TERMS, _EXACT_TERMS)} for alpha = {alpha}")
    if target is not None:
        tgt = checks.finite_array("target", target)
        if M is None or tgt.shape != (M,) or not np.all(np.isfinite(tgt)) or np.any(tgt < 0):
            raise ParameterError("target: must be M finite values >= 0 (needs a finite M)")
    n_exact = _EXACT_TERMS if M is None else min(M, _EXACT_TERMS)
    idx = np.arange(1, n_exact + 1, dtype=float)
    lam = model.eigenvalue(idx)
    wt = np.ones_like(lam)
    w2 = np.ones_like(lam) if target is None else tgt[:n_exact]
    if M is None or M > n_exact:
        if target is not None and M > n_exact:
            raise ParameterError(f"target: explicit targets need M <= {_EXACT_TERMS}")
        # tail sum_{I > n_exact} f(I) ~ int_{n_exact+1/2}^{M+1/2} f(x) dx, u = x^{-alpha}
        u_hi = (n_exact + 0.5) ** -alpha
        u_lo = 0.0 if M is None else (M + 0.5) ** -alpha
        z, gw = np.polynomial.legendre.leggauss(_TAIL_NODES)
        u = u_lo + (u_hi - u_lo) * (z + 1) / 2
        gw = gw * (u_hi - u_lo) / 2
        x = u ** (-1.0 / alpha)
        lam = np.concatenate([lam, model.eigenvalue(x)])
        wt = np.concatenate([wt, gw * u ** (-1.0 / alpha - 1.0) / alpha])
        w2 = np.concatenate([w2, np.ones(_TAIL_NODES)])
    return LatentSums(lam, wt, lam * w2, math.inf if M is None else float(M), alpha)


def continuum_constant(alpha: float) -> float:
    """``C = Gamma(1 + 1/(1+alpha)) Gamma(1 - 1/(1+alpha)) = (pi/a)/sin(pi/a)``, ``a = 1+alpha``."""
    a = 1.0 + checks.positive("alpha", alpha)
    return float(special.gamma(1 + 1 / a) * special.gamma(1 - 1 / a))


def sigma2_res_continuum(n, alpha: float):
    """``sigma2_res(n) ~ C^{1+alpha} n^{-alpha}`` (``M = infinity``, ``w_I^2 = 1``)."""
    n = checks.finite_array("n", n, low=0.0, low_open=True)
    return continuum_constant(alpha) ** (1 + alpha) * n ** -float(alpha)


# --------------------------------------------------------------------------------------
# scalar equations, vectorised safeguarded Newton in x = log k


def _solve_monotone(fun, lo, hi, what):
    """Roots of increasing ``fun(x) -> (f, df)`` in brackets ``[lo, hi]`` (``f(lo) < 0 <
    f(hi)``), Newton steps safeguarded by bisection. Returns ``x, iterations, residual``."""
    x = 0.5 * (lo + hi)
    lo, hi = lo.copy(), hi.copy()
    active = np.ones(x.shape, bool)
    it = 0
    f = np.zeros_like(x)
    for it in range(1, _MAX_IT + 1):
        f, df = fun(x)
        lo = np.where(f < 0, x, lo)
        hi = np.where(f > 0, x, hi)
        step = f / np.where(df > 0, df, np.nan)
        new = x - step
        bad = ~np.isfinite(new) | (new <= lo) | (new >= hi)
        new = np.where(bad, 0.5 * (lo + hi), new)
        done = (np.abs(new - x) <= _TOL * np.maximum(1.0, np.abs(x))) | (f == 0)
        x = np.where(active, new, x)
        active &= ~done
        if not active.any():
            break
    else:
        raise ConvergenceError(f"mrs: {what} did not converge", iterations=it,
                               residual=float(np.nanmax(np.abs(f))))
    return x, it, float(np.nanmax(np.abs(f))) if f.size else 0.0


def _bracket(fun_f, x0, direction, what):
    """Move ``x0`` by factors ``e^{direction 4}`` until ``sign(f) == sign(direction)``."""
    x = np.array(x0, dtype=float)
    for _ in range(200):
        f = fun_f(x)
        need = (f < 0) if direction > 0 else (f > 0)
        if not need.any():
            return x
        x = np.where(need, x + 4.0 * direction, x)
    raise ConvergenceError(f"mrs: could not bracket {what}")


def _k_of_df(spec: LatentSums, n: np.ndarray):
    """Latent ridge ``k = 1/tau`` with ``D1(k) = n`` (``n < M``): the tau fixed point of
    :func:`nnphys.theory.spectral.tau_fixed_point` with the spectrum's multiplicities."""
    root = tau_fixed_point(spec.eigenvalues, n, weights=spec.weight)
    return 1.0 / root.tau, root.iterations, root.residual


def _k_of_ridge(spec: LatentSums, inv_n, inv_p, ridge, k_floor):
    """Latent ridge ``k`` from ``ridge = k (1 - D1/N)(1 - D1/P)`` on ``k > k_floor``."""

    def fun(x):
        d1, d2, *_ = spec.sums(np.exp(x))
        gn, gp = 1 - d1 * inv_n, 1 - d1 * inv_p
        with np.errstate(divide="ignore", invalid="ignore"):
            f = x + np.log(gn) + np.log(gp) - np.log(ridge)
            df = 1 + (d1 - d2) * (inv_n / gn + inv_p / gp)
        f = np.where((gn <= 0) | (gp <= 0), -np.inf, f)
        return f, df

    lo = np.where(k_floor > 0, np.log(np.maximum(k_floor, 1e-300)), np.log(ridge) - 40.0)
    hi = _bracket(lambda x: fun(x)[0], np.log(ridge) + 1.0, +1, "ridge equation")
    lo = _bracket(lambda x: fun(x)[0], lo, -1, "ridge equation")
    x, it, res = _solve_monotone(fun, lo, hi, "ridge equation (M1)")
    return np.exp(x), it, res


# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TestLoss(Result):
    """Deterministic-equivalent test loss (M2) on the broadcast grid of ``N, P, ridge``:
    ``loss``, the latent ridge ``k`` (``tau = 1/k`` in the ridgeless case), the feature-stage
    ridge ``kappa``, ``df1 = D1(k)`` and ``df2_F``. ``residual`` is the largest residual of
    the scalar equation (M1) (log scale)."""

    __test__ = False  # not a pytest class

    loss: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    k: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    kappa: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    df1: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    df2: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


#: Ridges above this are evaluated at it (the infinite-ridge loss to double precision).
RIDGE_CAP = 1e100


def _positive_count(value, name):
    if np.iscomplexobj(value):
        raise ArgumentTypeError(f"{name}: must be real, got complex")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name}: must be a number >= 1 or an array of them") from None
    if np.any(np.isnan(arr)) or np.any(arr < 1):
        raise ParameterError(f"{name}: must be >= 1 (np.inf allowed), got {value!r}")
    return arr


def test_loss(N, P, alpha: float, M: int | None = None, ridge=0.0, noise: float = 0.0,
              target=None) -> TestLoss:
    """Expected test loss of linear random-feature ridge regression on the MRS latent model.

    Args:
        N: number of random features (array-like, ``np.inf`` allowed).
        P: number of training samples (array-like, ``np.inf`` allowed).
        alpha: spectral exponent, ``lambda_I = I^{-(1+alpha)}`` (> 0).
        M: latent dimension (``None``: infinite).
        ridge: ridge ``>= 0`` (array-like; 0 = minimum-norm interpolator).
        noise: label-noise variance ``>= 0``.
        target: optional ``w_I^2`` (length ``M``), default isotropic ``1``.

    Returns:
        :class:`TestLoss` broadcast over ``N, P, ridge``; ``inf`` at the interpolation
        peak ``N = P`` (ridgeless, ``N = P < M``, or ``P = M`` with noise).

    Example:
        >>> r = test_loss(400, 1600, alpha=1.0, M=5000)     # reference D: 7.6628e-03
        >>> round(float(r.loss), 6)
        0.007663
    """
    spec = spectrum(alpha, M, target)
    Nb, Pb, rb = np.broadcast_arrays(_positive_count(N, "N"), _positive_count(P, "P"),
                                     checks.finite_array("ridge", ridge, low=0.0))
    noise = checks.positive("noise", noise, allow_zero=True)
    shape = Nb.shape
    # beyond RIDGE_CAP the predictor is zero to double precision (its weights are
    # O(1/ridge)) and k^2 would overflow: the loss there is the one at RIDGE_CAP
    Nf, Pf, rf = Nb.ravel(), Pb.ravel(), np.minimum(rb.ravel(), RIDGE_CAP)
    inv_n = np.where(np.isinf(Nf), 0.0, 1.0 / Nf)
    inv_p = np.where(np.isinf(Pf), 0.0, 1.0 / Pf)
    n = np.minimum(Nf, Pf)
    Mtot = spec.size
    k = np.zeros(Nf.size)
    iters, resid = 0, 0.0
    # ridgeless floor / solution: D1(k) = n for n < M
    below = (n < Mtot) & np.isfinite(n)
    k_floor = np.zeros(Nf.size)
    if below.any():
        kf, it, res = _k_of_df(spec, n[below])
        k_floor[below] = kf
        iters, resid = iters + it, max(resid, res)
    ridged = rf > 0
    if ridged.any():
        kr, it, res = _k_of_ridge(spec, inv_n[ridged], inv_p[ridged], rf[ridged],
                                  k_floor[ridged])
        k[ridged] = kr
        iters, resid = iters + it, max(resid, res)
    k[~ridged] = k_floor[~ridged]          # 0 where n >= M (full-rank limit)
    d1, d2, bq, bl, bh = spec.sums(k)
    if np.isfinite(Mtot):                   # k = 0 exactly: D1 = D2 = M, no residual
        zero = k == 0
        d1, d2 = np.where(zero, Mtot, d1), np.where(zero, Mtot, d2)
    with np.errstate(divide="ignore", invalid="ignore"):
        gn = 1 - d1 * inv_n
        kappa = k * gn
        frac_n = np.where(inv_n > 0, (d1 - d2) * inv_n / (1 - d2 * inv_n), 0.0)
        frac_n = np.where(np.isfinite(frac_n), frac_n, 0.0)
        df2f = d1 - gn * (d1 - d2) / np.where(inv_n > 0, 1 - d2 * inv_n, 1.0)
        df2f = np.where(np.isfinite(df2f), df2f, d1)
        lpop = k * k * bq + k * frac_n * bl
        lpop = np.where(k == 0, 0.0, lpop)
        g2 = df2f * inv_p
        loss = (lpop + noise * g2) / (1 - g2)
    peak = (~ridged) & (np.abs(1 - g2) < 1e-12)
    loss = np.where(peak, np.where((lpop + noise * g2) > 0, np.inf, 0.0), loss)
    both_inf = np.isinf(Nf) & np.isinf(Pf) & (~ridged)
    loss = np.where(both_inf, 0.0, loss)
    rs = lambda a: np.asarray(a, dtype=float).reshape(shape)
    return TestLoss(converged=True, iterations=int(iters), residual=float(resid),
                    parameters=dict(alpha=float(alpha), M=M, noise=float(noise),
                                    isotropic=target is None),
                    loss=rs(loss), k=rs(k), kappa=rs(kappa), df1=rs(d1), df2=rs(df2f))


def sigma2_res(n, alpha: float, M: int | None = None):
    """The exact discrete sum (M3): ``sum_I lambda_I/(1 + tau lambda_I)`` with
    ``sum_I tau lambda_I/(1 + tau lambda_I) = n`` (0 for ``n >= M``); array-like ``n``."""
    n = _positive_count(n, "n")
    return test_loss(n, np.inf, alpha, M).loss


def plateau(n, alpha: float, M: int | None = None, noise: float = 0.0, limited_by: str = "N"):
    """The level the ridgeless loss flattens onto when the larger resource goes to infinity:
    ``L(N = n, P = inf) = sigma2_res(n; M)`` (``limited_by="N"``) or ``L(N = inf, P = n)``
    (``"P"``: ``[sigma2_res(n) + noise D2/n]/(1 - D2/n)``; ``noise M/(n - M)`` for ``n > M``).
    For ``n >= M`` the noiseless level is 0: the power law ``n^{-alpha}`` ends at ``n ~ M``."""
    n = _positive_count(n, "n")
    if limited_by == "N":
        return test_loss(n, np.inf, alpha, M, noise=noise).loss
    if limited_by == "P":
        return test_loss(np.inf, n, alpha, M, noise=noise).loss
    raise ParameterError(f"limited_by: must be 'N' or 'P', got {limited_by!r}")


@dataclasses.dataclass(frozen=True)
class OptimalRidge(Result):
    """Ridge minimising (M2) at each ``(N, P)``: ``ridge``, ``loss``, and the ridgeless loss
    for comparison. ``converged``: every optimum is inside ``ridge_range`` and its bounded
    minimisation succeeded; ``iterations``: evaluations of (M2) (grid and refinement)."""

    ridge: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    loss: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    ridgeless: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


def optimal_ridge(N, P, alpha: float, M: int | None = None, noise: float = 0.0,
                  ridge_range=(1e-10, 1e2), grid: int = 41,
                  strict: bool = True) -> OptimalRidge:
    """Minimise (M2) over ``ridge`` in ``ridge_range`` (and ``ridge = 0``): a log grid of
    ``grid`` points, then bounded (Brent) refinement (``xatol = 1e-6`` in ``log ridge``)
    around the best grid point. ``ridge = 0`` is returned when no ridge beats the
    ridgeless loss.

    Raises:
        ConvergenceError: the optimum sits on the edge of ``ridge_range`` (or the refinement
            failed); ``strict=False`` returns it with ``converged=False``."""
    if isinstance(ridge_range, (str, bytes)) or not hasattr(ridge_range, "__len__") or \
            len(ridge_range) != 2:
        raise ParameterError(f"ridge_range: must be a pair (lo, hi), got {ridge_range!r}")
    lo, hi = (checks.real("ridge_range", v) for v in ridge_range)
    grid = checks.integer("grid", grid, low=2, high=10 ** 5)
    if not (0 < lo < hi and math.isfinite(hi)):
        raise ParameterError(f"ridge_range: need 0 < lo < hi < inf, got {ridge_range!r}")
    Nb, Pb = np.broadcast_arrays(_positive_count(N, "N"), _positive_count(P, "P"))
    shape = Nb.shape
    Nf, Pf = Nb.ravel(), Pb.ravel()
    logs = np.linspace(math.log(lo), math.log(hi), grid)
    table = test_loss(Nf[:, None], Pf[:, None], alpha, M, np.exp(logs)[None, :], noise).loss
    ridgeless = test_loss(Nf, Pf, alpha, M, 0.0, noise).loss
    best_r = np.zeros(Nf.size)
    best_l = np.zeros(Nf.size)
    converged = True
    evaluations = table.size + Nf.size
    for i in range(Nf.size):
        j = int(np.nanargmin(table[i]))
        a, b = logs[max(j - 1, 0)], logs[min(j + 1, grid - 1)]
        f = lambda log_x: float(test_loss(Nf[i], Pf[i], alpha, M, math.exp(log_x), noise).loss)
        res = optimize.minimize_scalar(f, bounds=(a, b), method="bounded",
                                       options={"xatol": 1e-6})
        evaluations += int(res.nfev)
        converged &= bool(res.success)
        r, l_r = math.exp(res.x), float(res.fun)
        if table[i, j] < l_r:
            r, l_r = math.exp(logs[j]), float(table[i, j])
        if ridgeless[i] <= l_r:
            r, l_r = 0.0, float(ridgeless[i])
        elif j in (0, grid - 1):
            converged = False              # optimum at the edge of ridge_range
        best_r[i], best_l[i] = r, l_r
    if not converged and strict:
        raise ConvergenceError("optimal_ridge: the optimum lies on the edge of ridge_range "
                               f"{ridge_range} (widen it, or strict=False)",
                               iterations=evaluations)
    return OptimalRidge(converged=converged, iterations=evaluations,
                        parameters=dict(alpha=float(alpha), M=M, noise=float(noise)),
                        ridge=best_r.reshape(shape), loss=best_l.reshape(shape),
                        ridgeless=ridgeless.reshape(shape))


@dataclasses.dataclass(frozen=True)
class Equiparameterization(Result):
    """Optimal split of a budget: ``ratio`` = ``N*/P*`` per budget, with ``N*``, ``P*``,
    the optimally regularised loss ``loss`` (or ridgeless if ``tuned=False``).
    ``converged``: every bounded refinement succeeded; ``iterations``: loss evaluations."""

    budget: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    N: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    P: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    ratio: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    loss: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


def equiparameterization(budget, alpha: float, kind: str = "product", M: int | None = None,
                         noise: float = 0.0, tuned: bool = True,
                         splits: int = 61, strict: bool = True) -> Equiparameterization:
    """At fixed ``N + P = B`` (``kind="sum"``) or ``N P = B`` (``"product"``) find the
    ``N/P`` minimising the loss, optimally regularised (``tuned``) or ridgeless.

    The split is scanned on a log grid of ``N/P`` in ``[1/30, 30]`` (``splits`` points,
    always containing ``N = P``), then refined by a bounded scalar minimisation in
    ``log(N/P)`` between the neighbours of the best grid point.

    Raises:
        ConvergenceError: a refinement (or, ``tuned``, an optimal ridge) did not converge;
            ``strict=False`` returns the best point found with ``converged=False``."""
    if kind not in ("sum", "product"):
        raise ParameterError(f"kind: must be 'sum' or 'product', got {kind!r}")
    B = np.atleast_1d(checks.finite_array("budget", budget))
    if B.ndim != 1 or np.any(B < 4):
        raise ParameterError("budget: must be a 1-D array of budgets >= 4")
    splits = checks.integer("splits", splits, low=5, high=10 ** 4)
    if splits % 2 == 0:
        raise ParameterError("splits: must be an odd integer >= 5")

    def np_of(b, log_x):
        r = math.exp(log_x)
        if kind == "sum":
            return b * r / (1 + r), b / (1 + r)
        return math.sqrt(b * r), math.sqrt(b / r)

    def loss_at(b, log_x):
        n_, p_ = np_of(b, log_x)
        if tuned:
            return float(optimal_ridge(n_, p_, alpha, M, noise, grid=21, strict=strict).loss)
        return float(test_loss(n_, p_, alpha, M, 0.0, noise).loss)

    grid = np.linspace(-math.log(30.0), math.log(30.0), splits)
    out_n, out_p, out_l = [], [], []
    evaluations, converged = 0, True
    for b in B:
        vals = np.array([loss_at(b, log_x) for log_x in grid])
        j = int(np.nanargmin(vals))
        a, c = grid[max(j - 1, 0)], grid[min(j + 1, splits - 1)]
        res = optimize.minimize_scalar(lambda log_x: loss_at(b, log_x), bounds=(a, c),
                                       method="bounded", options={"xatol": 1e-4})
        evaluations += splits + int(res.nfev)
        converged &= bool(res.success)
        log_x, lv = (res.x, res.fun) if res.fun <= vals[j] else (grid[j], vals[j])
        n_, p_ = np_of(b, log_x)
        out_n.append(n_), out_p.append(p_), out_l.append(lv)
    out_n, out_p = np.array(out_n), np.array(out_p)
    if not converged and strict:
        raise ConvergenceError("equiparameterization: the bounded refinement of the split did "
                               "not converge (or strict=False)", iterations=evaluations)
    return Equiparameterization(converged=converged, iterations=evaluations,
                                parameters=dict(alpha=float(alpha), kind=kind, M=M,
                                                noise=float(noise), tuned=tuned),
                                budget=B, N=out_n, P=out_p, ratio=out_n / out_p,
                                loss=np.array(out_l))


@dataclasses.dataclass(frozen=True)
class Exponents(Result):
    """Exponents of the MRS model at ``M = infinity`` (from (M2)-(M3)): ``spectrum``
    (``lambda_I ~ I^spectrum``), ``loss_vs_N`` (``P >> N``), ``loss_vs_P`` (``N >> P``),
    ``loss_vs_n`` (fixed ``N/P``), ``loss_vs_NP`` (along ``N ~ P`` against ``N P``) as the
    powers of ``L ~ x^power``, and the ``prefactor`` ``C^{1+alpha}`` of
    ``sigma2_res(n) ~ C^{1+alpha} n^{-alpha}``. A closed form: no health fields."""

    spectrum: float = math.nan
    loss_vs_N: float = math.nan
    loss_vs_P: float = math.nan
    loss_vs_n: float = math.nan
    loss_vs_NP: float = math.nan
    prefactor: float = math.nan


def scaling_exponents(alpha: float) -> Exponents:
    """The exponents of :class:`Exponents`: ``-(1 + alpha)`` for the spectrum, ``-alpha``
    against ``N``, ``P`` or both at fixed ratio, ``-alpha/2`` against ``N P``."""
    alpha = checks.positive("alpha", alpha)
    return Exponents(parameters={"alpha": alpha}, spectrum=-(1 + alpha), loss_vs_N=-alpha,
                     loss_vs_P=-alpha, loss_vs_n=-alpha, loss_vs_NP=-alpha / 2,
                     prefactor=continuum_constant(alpha) ** (1 + alpha))
