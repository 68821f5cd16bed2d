"""DMFT of gradient-flow learning in the linear random-feature model (Bordelon, Atanasov &
Pehlevan 2024).

B. Bordelon, A. Atanasov, C. Pehlevan, "A Dynamical Model of Neural Scaling Laws", ICML 2024,
arXiv:2402.01092 (Sec. 2 model, Sec. 3 DMFT with the transfer functions ``H_k`` and the two
response functions of the projection and the data, App. D-E finite N and P).

**Model.** Eigenfeatures ``psi(x) in R^M`` with ``E[psi_k psi_l] = delta_kl lambda_k``;
target ``y = w* . psi``; student ``f = (1/sqrt N) w . A psi`` with ``A in R^{N x M}`` iid
``N(0, 1)``; ``P`` training points ``psi_mu`` (Gaussian); gradient flow
``dw/dt = -(1/2) grad_w (1/P) sum_mu (f - y)^2`` from ``w = 0``. The error ``v = w* -
A^T w / sqrt N`` obeys ``dv/dt = -F B v`` with ``F = A^T A / N`` and ``B = Psi^T Psi / P``;
test loss ``L = v^T Lambda v`` and train loss ``v^T B v``. Power-law spectra (paper's
notation): ``lambda_k = k^{-b}``, ``lambda_k w*_k^2 = k^{-a}`` (the spec
:class:`nnphys.models.regression.BAPModel`); any :class:`~nnphys.models.regression.Spectrum`
is accepted.

**DMFT (Laplace domain).** Each mode obeys ``v_k(s) = H_k(s) [w*_k - xi^F_k(s) - R_N(s)
sqrt(lambda_k) xi^B_k(s)]`` with Gaussian noises from the two random matrices and

    H_k(s) = 1 / (s + lambda_k R_N R_P),
    R_N = 1 - (R_N R_P / N) sum_k lambda_k H_k,   R_P = 1 - (R_N R_P / P) sum_k lambda_k H_k.

With ``u = R_N R_P`` and ``X(u) = u sum_k lambda_k / (s + lambda_k u)`` this is the scalar
equation ``u = (1 - X/N)(1 - X/P)``, solved by Newton continuation from ``s = infinity``
(``u = 1``). The noise covariances are set by the two-frequency test loss
``L(s, s') = <v(s)^T Lambda v(s')>`` and ``Q(s, s') = <q(s) . q(s')>`` (``q = B v``), which solve
the 2 x 2 linear system (derived here by the cavity method; the paper's Eq. for the
correlation functions ``C_1``, ``C_3``)::

    L = S1 + (r_N r_N' / N) S2 Q + (r_N r_N')(r_P r_P' / P) S3 L,
    Q = s s' (r_P r_P' / P) S2 L + (r_P r_P') (S4 + (r_N r_N' / N) S3 Q),

with ``S1 = sum lambda w*^2 H H'``, ``S2 = sum lambda H H'``, ``S3 = sum lambda^2 H H'``,
``S4 = sum lambda^2 w*^2 H H'`` (primes: at ``s'``). The train loss is
``L_train(s, s') = R_P(s) R_P(s') L(s, s')``: data reuse multiplies the test-loss transform by
the data response, which opens the train-test gap. At ``P = infinity`` the system reduces to
``L(s, s') = [l(s) - l(s')]/(s' - s)``, ``l(s) = sum lambda w*^2 H(s)`` (the resolvent
identity of the symmetric problem; the reference's Eq. (b2) ``L(t) = sum lambda w*^2
H_k(2t)``), which the tests check.

**Time domain.** ``L(t) = (2 pi i)^{-2} int int e^{(s+s')t} L(s, s') ds ds'`` by the fixed
Talbot contour (Abate & Valkó, Int. J. Numer. Meth. Eng. 60, 979 (2004)) in each variable,
``M = 24`` nodes per contour (relative error ~1e-10 for these smooth transforms).

**Compute-optimal frontier** (paper Sec. 5): compute ``C = N t``; ``L*(C) = min_N L(C/N, N)``.
Paper's prediction (``m = min(a - 1, 2b)``): ``L* ~ C^{-(a-1) m / (a - 1 + b m)}``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ... import checks
from ...errors import ArgumentTypeError, ConvergenceError, NumericalError, ParameterError
from ...models.regression import BAPModel, Spectrum
from ...results import Result
from ..spectral import tau_fixed_point

__all__ = ["transfer", "loss", "LossCurves", "limit_loss", "ProjectionLoss",
           "compute_optimal", "Frontier", "exponents", "Exponents"]

_TALBOT_NODES = 24
_STEPS = 48
_NEWTON_TOL = 1e-13


def _size(value, name) -> float:
    """A number of features or examples: a positive number, or ``np.inf`` (the limit)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not value > 0 or math.isnan(value):
        raise ParameterError(f"{name}: must be positive (or np.inf), got {value!r}")
    return float(value)


def _inverse(value, name):
    return 1.0 / _size(value, name)


def _solve_u(s: np.ndarray, lam: np.ndarray, inv_n: float, inv_p: float) -> np.ndarray:
    """``u(s) = R_N R_P`` on complex ``s`` by Newton continuation along the ray ``c s``,
    ``c`` decreasing geometrically in ``_STEPS`` steps from ``c0 = 1e3 (1 + sum lambda)/|s|``
    (where ``u = 1`` to ~1e-3) to 1. Each step starts from the log-linear extrapolation of the
    last two solutions (``u`` tends to a constant or, below rank deficiency, to ``alpha s``),
    which keeps Newton on the physical branch down to ``|s| ~ 1e-12``. Returns ``u`` and the
    number of Newton steps taken (summed over the continuation)."""
    u = np.ones_like(s, dtype=complex)
    if inv_n == 0 and inv_p == 0:
        return u, 0
    steps_taken = 0
    c0 = np.maximum(1.0, 1e3 * (1.0 + lam.sum()) / np.abs(s))
    history = []
    for frac in np.linspace(1.0, 0.0, _STEPS + 1):
        sc = s * c0 ** frac
        if len(history) == 2:
            (s1, u1), (s2, u2) = history
            slope = np.log(u2 / u1) / np.log(s2 / s1)
            u = u2 * np.exp(slope * np.log(sc / s2))
        active = np.arange(s.size)
        for it in range(60):
            steps_taken += 1
            ua, sa = u[active], sc[active]
            lh = lam / (sa[:, None] + lam * ua[:, None])
            t1 = lh.sum(axis=1)
            t2 = (lh * lh).sum(axis=1)
            x = ua * t1
            dx = t1 - ua * t2
            f = ua - (1 - x * inv_n) * (1 - x * inv_p)
            df = 1 + dx * ((1 - x * inv_p) * inv_n + (1 - x * inv_n) * inv_p)
            step = f / df
            u[active] = ua - step
            active = active[np.abs(step) > _NEWTON_TOL * np.abs(ua - step)]
            if active.size == 0:
                break
        else:
            raise ConvergenceError("learning: Newton continuation for R_N R_P did not converge",
                                   iterations=it, residual=float(np.max(np.abs(step))))
        history = (history + [(sc, u.copy())])[-2:]
    return u, steps_taken


def _check_spectrum(spectrum) -> Spectrum:
    if not isinstance(spectrum, Spectrum):
        raise ArgumentTypeError(f"spectrum: must be a models.regression.Spectrum or None, got "
                                f"{type(spectrum).__name__}")
    return spectrum


def transfer(s, spectrum: Spectrum, N=np.inf, P=np.inf):
    """``(H, R_N, R_P)`` at complex ``s``: ``H[j, k] = H_k(s_j)`` and the two response
    functions (BAP 2024, DMFT of Sec. 3; ``R -> 1`` as ``s -> infinity``).

    Raises NumericalError where ``s`` sits on a pole (the negative real axis)."""
    try:
        s = np.asarray(s, dtype=complex)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"s: must be complex numbers, got {type(s).__name__}") from None
    if not np.all(np.isfinite(s)):
        raise ParameterError("s: entries must be finite")
    with np.errstate(all="ignore"):
        out = _transfer(s, spectrum, N, P)[:3]
    if not all(np.all(np.isfinite(v)) for v in out):
        raise NumericalError("s: the transfer function is singular at some s (a pole on "
                             "the negative real axis)")
    return out


def _transfer(s, spectrum, N, P):
    """:func:`transfer` and the Newton steps it took."""
    s = np.atleast_1d(np.asarray(s, dtype=complex))
    if not isinstance(spectrum, Spectrum):
        raise ArgumentTypeError(f"spectrum: must be a models.regression Spectrum, got "
                                f"{type(spectrum).__name__}")
    lam = spectrum.eigenvalues
    inv_n, inv_p = _inverse(N, "N"), _inverse(P, "P")
    # u(conj s) = conj u(s): solve once per conjugate pair (on the upper half plane)
    upper = np.where(s.imag < 0, s.conj(), s)
    distinct, inverse = np.unique(upper, return_inverse=True)
    u, steps = _solve_u(distinct, lam, inv_n, inv_p)
    u = u[inverse.ravel()]
    u = np.where(s.imag < 0, u.conj(), u)
    h = 1.0 / (s[:, None] + lam * u[:, None])
    x = u * (lam * h).sum(axis=1)
    return h, 1 - x * inv_n, 1 - x * inv_p, steps


def _talbot(t: float, m: int = _TALBOT_NODES):
    """Full fixed-Talbot contour for time ``t``: nodes and weights with
    ``f(t) ~ Re sum_j w_j e^{s_j t} F(s_j)`` (conjugate-symmetric pairs)."""
    r = 2.0 * m / (5.0 * t)
    theta = np.arange(1, m) * math.pi / m
    cot = 1.0 / np.tan(theta)
    s_up = r * theta * (cot + 1j)
    sigma = theta + (theta * cot - 1.0) * cot
    w_up = 0.5 * (r / m) * (1.0 + 1j * sigma)
    nodes = np.concatenate([[r + 0j], s_up, s_up.conj()])
    weights = np.concatenate([[0.5 * r / m + 0j], w_up, w_up.conj()])
    return nodes, weights * np.exp(nodes * t)


def _two_point(s, spectrum, N, P, solved=None):
    """``L(s_i, s_j)`` and ``L_train(s_i, s_j)`` on all pairs of nodes (``solved``: the
    ``transfer`` output at ``s`` if already computed)."""
    lam, tgt = spectrum.eigenvalues, spectrum.target
    inv_n, inv_p = _inverse(N, "N"), _inverse(P, "P")
    h, rn, rp = transfer(s, spectrum, N, P) if solved is None else solved
    s1 = (h * (lam * tgt)) @ h.T
    s2 = (h * lam) @ h.T
    s3 = (h * lam ** 2) @ h.T
    s4 = (h * (lam ** 2 * tgt)) @ h.T
    a = np.outer(rp, rp) * inv_p           # r_P r_P' / P
    bq = np.outer(rn, rn) * inv_n          # r_N r_N' / N
    nn = np.outer(rn, rn)
    pp = np.outer(rp, rp)
    ss = np.outer(s, s)
    # [1 - nn a S3, -bq S2; -ss a S2, 1 - pp bq S3] [L; Q] = [S1; pp S4]
    m11 = 1 - nn * a * s3
    m12 = -bq * s2
    m21 = -ss * a * s2
    m22 = 1 - pp * bq * s3
    det = m11 * m22 - m12 * m21
    rhs2 = pp * s4
    test = (s1 * m22 - m12 * rhs2) / det
    return test, pp * test


@dataclasses.dataclass(frozen=True)
class LossCurves(Result):
    """Test and train loss of gradient flow at times ``t`` (``N``, ``P`` in ``parameters``)."""

    t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    test: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    train: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    def plot(self, ax=None):
        """Test and train loss against ``t`` (log-log, ``t > 0``); returns the Axes
        (:func:`nnphys.plotting.curves`)."""
        from ...plotting import curves
        keep = np.asarray(self.t) > 0
        return curves(np.asarray(self.t)[keep], {"test": np.asarray(self.test)[keep],
                                                 "train": np.asarray(self.train)[keep]},
                      ax, xlabel="t", ylabel="loss", log="xy")


def loss(t, N=np.inf, P=np.inf, spectrum: Spectrum | None = None, *, a: float = 2.0,
         b: float = 1.5, M: int = 4000) -> LossCurves:
    """Test and train loss ``L(t; N, P)`` of the random-feature model under gradient flow.

    Args:
        t: times (>= 0).
        N: number of random features (``np.inf``: the kernel limit).
        P: number of training examples (``np.inf``: online / population gradient flow, no
            data reuse; then train = test).
        spectrum: a :class:`~nnphys.models.regression.Spectrum`; default
            ``BAPModel(a, b, M).spectrum``.
        a, b, M: the default spectrum's exponents and number of modes
            (:class:`~nnphys.models.regression.BAPModel`).

    Returns:
        :class:`LossCurves` (``test``, ``train``; ``residual`` = largest relative imaginary
        part left by the contour sums, a precision indicator; ``iterations`` = Newton steps
        of the continuation for ``R_N R_P``, which raises
        :class:`~nnphys.errors.ConvergenceError` if a step does not converge).

    Example:
        >>> r = loss([0.0, 10.0], N=200, P=np.inf, a=2.0, b=1.5, M=4000)
        >>> round(float(r.test[1]), 4)          # reference: DMFT 0.136277
        0.1363
    """
    N, P = _size(N, "N"), _size(P, "P")
    spec = BAPModel(a, b, M).spectrum if spectrum is None else _check_spectrum(spectrum)
    times = np.atleast_1d(checks.finite_array("t", t, low=0.0))
    if times.ndim != 1:
        raise ParameterError("t: must be finite times >= 0")
    test = np.empty(times.size)
    train = np.empty(times.size)
    worst = 0.0
    positive = times[times > 0]
    contours = [_talbot(ti) for ti in positive]
    newton_steps = 0
    if contours:                      # one batched continuation for every node of every t
        all_nodes = np.concatenate([c[0] for c in contours])
        h_all, rn_all, rp_all, newton_steps = _transfer(all_nodes, spec, N, P)
    width = 2 * _TALBOT_NODES - 1
    j = 0
    for i, ti in enumerate(times):
        if ti == 0:
            test[i] = train[i] = spec.initial_loss
            continue
        nodes, weights = contours[j]
        part = slice(j * width, (j + 1) * width)
        j += 1
        lt, ltr = _two_point(nodes, spec, N, P, (h_all[part], rn_all[part], rp_all[part]))
        val_test = weights @ lt @ weights
        val_train = weights @ ltr @ weights
        worst = max(worst, abs(val_test.imag) / max(abs(val_test.real), 1e-300))
        test[i], train[i] = val_test.real, val_train.real
    if not (np.all(np.isfinite(test)) and np.all(np.isfinite(train))):
        raise ConvergenceError("loss: non-finite contour sum")
    return LossCurves(converged=True, iterations=int(newton_steps), residual=float(worst),
                      parameters={"N": float(N), "P": float(P), "M": int(spec.eigenvalues.size)},
                      t=times, test=test, train=train)


@dataclasses.dataclass(frozen=True)
class ProjectionLoss(Result):
    """The ``t -> infinity`` loss of gradient flow at ``P = infinity``: ``loss`` and the
    fixed point ``tau`` (``inf`` when ``N >= M``; then the three health fields are ``None``)."""

    loss: float = 0.0
    tau: float = math.inf


def limit_loss(N, spectrum: Spectrum) -> ProjectionLoss:
    """``L(t -> infinity; N, P = infinity) = sum_k lambda_k w*_k^2 / (1 + tau lambda_k)`` with
    ``sum_k tau lambda_k / (1 + tau lambda_k) = N`` (the projection onto N random features,
    :func:`nnphys.theory.spectral.tau_fixed_point`; 0 when ``N >= M``)."""
    _check_spectrum(spectrum)
    N = checks.real("N", N, low=1.0, allow_inf=True)
    lam, tgt = spectrum.eigenvalues, spectrum.target
    if N >= lam.size:
        return ProjectionLoss(parameters={"N": float(N)}, loss=0.0, tau=math.inf)
    root = tau_fixed_point(lam, float(N))
    return ProjectionLoss(converged=root.converged, iterations=root.iterations,
                          residual=root.residual, parameters={"N": float(N)},
                          loss=float(np.sum(lam * tgt / (1.0 + root.tau * lam))),
                          tau=float(root.tau))


@dataclasses.dataclass(frozen=True)
class Frontier(Result):
    """Compute-optimal frontier: for each compute ``C = N t``, the optimal ``N*``, ``t*``
    and loss ``L*``, and the fitted power laws ``L* ~ C^{slope_loss}``,
    ``N* ~ C^{slope_width}``. ``converged``: every optimum lies inside the width grid;
    ``iterations``: loss evaluations."""

    compute: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    width: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    time: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    best_loss: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    slope_loss: float = 0.0
    slope_width: float = 0.0


def compute_optimal(compute, spectrum: Spectrum | None = None, *, P=np.inf, a: float = 2.0,
                    b: float = 1.5, M: int = 4000, widths=None,
                    strict: bool = True) -> Frontier:
    """Compute-optimal allocation of width vs training time at compute ``C = N t``.

    For each ``C`` the test loss ``L(C/N; N, P)`` is evaluated on a log grid of widths
    (default 25 widths over ``[8, M/2]``) and minimised by a parabola in ``log N`` through the
    best three grid points. Slopes are least-squares fits in log-log over the given ``C``.

    Raises:
        ConvergenceError: an optimum lies at the end of the width grid (not bracketed);
            ``strict=False`` returns the clipped estimate with ``converged=False``.
    """
    P = _size(P, "P")
    spec = BAPModel(a, b, M).spectrum if spectrum is None else _check_spectrum(spectrum)
    cs = np.atleast_1d(checks.finite_array("compute", compute))
    if cs.ndim != 1 or cs.size < 2 or np.any(cs <= 0):
        raise ParameterError("compute: need at least two finite positive compute values")
    grid = np.geomspace(8, spec.eigenvalues.size / 2, 25) if widths is None else \
        checks.finite_array("widths", widths, ndim=1)
    if grid.size < 3 or np.any(grid <= 0):
        raise ParameterError("widths: need at least three positive widths")
    table = np.array([[loss(c / n, n, P, spec).test[0] for n in grid] for c in cs])
    log_n = np.log(grid)
    best_n, best_l = np.empty(cs.size), np.empty(cs.size)
    edge = np.argmin(table, axis=1)
    bracketed = bool(np.all((edge > 0) & (edge < grid.size - 1)))
    if not bracketed and strict:
        raise ConvergenceError("compute_optimal: the optimal width lies at the end of the width "
                               "grid for some compute; widen widths (or strict=False)",
                               iterations=int(table.size))
    for i, row in enumerate(table):
        j = int(np.clip(np.argmin(row), 1, grid.size - 2))
        coef = np.polyfit(log_n[j - 1:j + 2], np.log(row[j - 1:j + 2]), 2)
        x = -coef[1] / (2 * coef[0]) if coef[0] > 0 else log_n[np.argmin(row)]
        x = float(np.clip(x, log_n[j - 1], log_n[j + 1]))
        best_n[i], best_l[i] = math.exp(x), math.exp(np.polyval(coef, x))
    slope_l = float(np.polyfit(np.log(cs), np.log(best_l), 1)[0])
    slope_n = float(np.polyfit(np.log(cs), np.log(best_n), 1)[0])
    return Frontier(converged=bracketed, iterations=int(table.size),
                    parameters={"P": float(P)}, compute=cs, width=best_n, time=cs / best_n,
                    best_loss=best_l, slope_loss=slope_l, slope_width=slope_n)


@dataclasses.dataclass(frozen=True)
class Exponents(Result):
    """The asymptotic exponents of BAP 2024 (Sec. 4-5), ``m = min(a - 1, 2 b)``: ``time``
    (``L ~ t^-x``), ``width`` and ``data`` (``L ~ N^-m``, ``P^-m``) and the compute-optimal
    ``compute_loss`` (``L* ~ C^-x``), ``compute_width`` (``N* ~ C^x``), ``compute_time``
    (``t* ~ C^x``). A closed form: no health fields."""

    time: float = math.nan
    width: float = math.nan
    data: float = math.nan
    compute_loss: float = math.nan
    compute_width: float = math.nan
    compute_time: float = math.nan


def exponents(a: float, b: float) -> Exponents:
    """The paper's asymptotic exponents (BAP 2024, Sec. 4-5; see :class:`Exponents`)."""
    model = BAPModel(a, b, 1)
    a, b = model.a, model.b
    m = min(a - 1.0, 2.0 * b)
    denom = a - 1.0 + b * m
    return Exponents(parameters={"a": a, "b": b}, time=(a - 1.0) / b, width=m, data=m,
                     compute_loss=(a - 1.0) * m / denom, compute_width=(a - 1.0) / denom,
                     compute_time=b * m / denom)
