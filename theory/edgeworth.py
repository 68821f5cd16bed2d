"""Output density of a single-hidden-layer network at finite width: the Edgeworth (He4)
correction to the NNGP (Antognini 2019, arXiv:1908.10030).

Model (:class:`nnphys.models.shallow.ShallowNetwork`: one scalar input ``x = sqrt(q0)``,
NTK parameterization, width ``n``)::

    f = b_out_std B + (W_std / sqrt(n)) sum_{j=1}^n v_j h_j,   h_j = phi(W_std sqrt(q0) w_j + b_std b_j)

with ``w_j, b_j`` i.i.d. from the ``first_layer`` law and ``v_j, B`` i.i.d. from the
``readout`` law, each law symmetric with unit variance (Gaussian; uniform on
``[-sqrt 3, sqrt 3]``, ``E v^4 = 9/5``, ``E v^6 = 27/7``; Rademacher ``+-1``,
``E v^4 = E v^6 = 1``). For a Gaussian first layer the input may have any dimension
``d``: only ``q0 = |x|^2 / d`` enters, since ``w . x`` is then ``N(0, q0)``.

Cumulants (exact at every ``n``). The terms ``X_j = W_std v_j h_j`` are i.i.d. and
symmetric, so the cumulants of their scaled sum are ``kappa_r(X) n^{1 - r/2}``; those of the
independent output bias add. With ``H_k = E[h^k]`` and ``m_k = E[v^k]``::

    s^2      = kappa_2(f) = b_out_std^2 + W_std^2 H_2
    kappa_4(f) = b_out_std^4 (m_4 - 3) + W_std^4 [m_4 H_4 - 3 H_2^2] / n
    kappa_6(f) = b_out_std^6 (m_6 - 15 m_4 + 30)
                 + W_std^6 [m_6 H_6 - 15 m_4 H_4 H_2 + 30 H_2^3] / n^2

(the output-bias terms vanish for a Gaussian readout; the default is no output bias,
``b_out_std = 0``). Antognini's result is the first Edgeworth term: to O(1/n), for any symmetric weight law, the density of ``t = f / s`` is the
Gaussian times ``1 + c_4 He_4(t)``::

    p(f) = N(f; 0, s^2) [1 + c_4 He_4(f/s)] + O(n^-2),   c_4 = kappa_4 / (24 s^4),
    He_4(t) = t^4 - 6 t^2 + 3.

For a Gaussian readout ``c_4 = [3 H_4 - 3 H_2^2] / (24 n H_2^2) = Var(h^2) / (8 n H_2^2)``
(ReLU: ``5 / (8 n)``, i.e. excess kurtosis ``15 / n``), positive; a uniform or Rademacher
readout has ``m_4 < 3`` and can make it negative. The next order (``order=2``) adds
``kappa_6 He_6 / (720 s^6) + kappa_4^2 He_8 / (1152 s^8)``, both ``O(n^-2)``; its size
is the truncation error of the ``order=1`` density. The CDF follows by integrating
``phi(t) He_k(t) = -d/dt [phi(t) He_{k-1}(t)]``.

The expectations ``H_k`` are one-dimensional integrals (the law of the preactivation
``u = a w + c b`` is Gaussian, a trapezoid for uniform weights, or four atoms), done by
adaptive quadrature split at the kinks of the law and at ``u = 0``; a quadrature error
estimate above ``1e-9`` of the value raises :class:`ConvergenceError`, and the largest
relative error estimate is the ``residual`` of :class:`OutputCumulants`.

Notes: the abstract of arXiv:1908.10030 states the He4 form and its ``1/n`` scale; the
paper's equation numbers could not be read, so the cumulant formulas above are derived
here (they are exact) and checked against sympy moment algebra and simulation
(``nnphys.validation.edgeworth``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import integrate

from .. import checks
from ..errors import ConvergenceError, ParameterError
from ..models.shallow import ShallowNetwork, law_moments
from ..results import Result

__all__ = ["OutputCumulants", "output_cumulants", "output_density", "output_cdf"]

_ROOT3 = math.sqrt(3.0)
_QUAD_RTOL = 1e-9


def _quad(integrand, lo, hi, points=None) -> float:
    value, err = integrate.quad(integrand, lo, hi, points=points, limit=400,
                                epsabs=0.0, epsrel=1e-12)
    return value, err


def _expect(g, a: float, c: float, law: str) -> tuple[float, float]:
    """``E[g(a w + c b)]`` for ``w, b`` i.i.d. from the unit-variance ``law``, and the
    quadrature's error estimate relative to ``E|g|`` (0 where the law is a few atoms)."""
    a, c = abs(a), abs(c)
    if law == "rademacher":
        return float(np.mean([g(s1 * a + s2 * c) for s1 in (1, -1) for s2 in (1, -1)])), 0.0
    if law == "gaussian":
        sd = math.hypot(a, c)
        if sd == 0:
            return float(g(0.0)), 0.0
        dens = lambda t: g(sd * t) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi)  # noqa: E731
        parts = [_quad(dens, -math.inf, 0.0), _quad(dens, 0.0, math.inf)]
    else:   # uniform: u = a w + c b has a trapezoidal density on [-(A+C), A+C]
        big, small = _ROOT3 * max(a, c), _ROOT3 * min(a, c)
        if big == 0:
            return float(g(0.0)), 0.0
        if small == 0:
            dens = lambda u: g(u) / (2 * big)   # noqa: E731
        else:
            dens = lambda u: g(u) * max(0.0, min(big, u + small) - max(-big, u - small)) \
                / (4 * big * small)   # noqa: E731
        edge = big + small
        kinks = sorted({0.0, big - small, small - big})
        parts = [_quad(dens, -edge, 0.0, [k for k in kinks if -edge < k < 0] or None),
                 _quad(dens, 0.0, edge, [k for k in kinks if 0 < k < edge] or None)]
    value = sum(p[0] for p in parts)
    err = sum(p[1] for p in parts)
    scale = sum(abs(p[0]) for p in parts)
    if not math.isfinite(value) or err > _QUAD_RTOL * max(scale, 1e-300):
        raise ConvergenceError(f"E[phi(u)^k]: quadrature error {err:.2e} exceeds "
                               f"{_QUAD_RTOL:g} of the value {value:.6g} (is phi finite and "
                               "of moderate growth?)", residual=err)
    return value, err / max(scale, 1e-300)


def _hidden_moments(fn, W_std: float, b_std: float, q0: float, first_layer: str):
    """``[E h^2, E h^4, E h^6]`` of ``h = phi(W_std sqrt(q0) w + b_std b)`` with ``w, b``
    i.i.d. from the unit-variance ``first_layer`` law, and the largest relative
    quadrature error estimate."""
    a = W_std * math.sqrt(q0)

    def power(k):
        return lambda u: float(np.asarray(fn(np.asarray(u, dtype=float)))) ** k
    results = [_expect(power(k), a, b_std, first_layer) for k in (2, 4, 6)]
    return np.array([v for v, _ in results]), max(e for _, e in results)


@dataclasses.dataclass(frozen=True)
class OutputCumulants(Result):
    """Cumulants of the output ``f`` of a width-``n`` single-hidden-layer network.

    Attributes:
        variance: ``s^2 = kappa_2(f)`` (the NNGP value, exact at every width).
        kappa4, kappa6: fourth and sixth cumulants (exact).
        excess_kurtosis: ``kappa4 / s^4``.
        c4: Antognini's He4 coefficient ``kappa4 / (24 s^4)`` (``O(1/n)``).
        hidden_moments: ``[E h^2, E h^4, E h^6]``.
        width: ``n``.

    ``residual`` is the largest relative error estimate of the quadratures behind
    ``hidden_moments`` (each below ``1e-9``, else :class:`ConvergenceError`).

    Example (ReLU: ``c_4 = 5 / (8 n)``):
        >>> from nnphys.theory import kernels as nk
        >>> round(output_cumulants(nk.Relu(), 10).c4, 12)
        0.0625
    """

    variance: float = 0.0
    kappa4: float = 0.0
    kappa6: float = 0.0
    excess_kurtosis: float = 0.0
    c4: float = 0.0
    hidden_moments: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3))
    width: int = 0


def output_cumulants(activation, width: int, W_std: float = 1.0, b_std: float = 0.0,
                     q0: float = 1.0, readout: str = "gaussian",
                     first_layer: str = "gaussian", b_out_std: float = 0.0) -> OutputCumulants:
    """Exact ``kappa_2, kappa_4, kappa_6`` of the output (formulas in the module docstring).

    Raises:
        ParameterError: bad width / scales / law names, or a zero output variance.
    """
    net = ShallowNetwork(activation, width, W_std, b_std, q0, readout, first_layer,
                         b_out_std)
    n = net.width
    m4, m6 = law_moments(net.readout)
    hidden, quadrature_error = _hidden_moments(net.fn, net.W_std, net.b_std, net.q0,
                                               net.first_layer)
    h2, h4, h6 = hidden
    w2, b2 = net.W_std ** 2, net.b_out_std ** 2
    variance = b2 + w2 * h2
    if not variance > 0:
        raise ParameterError("W_std, q0, b_std, b_out_std: the output variance is zero (phi "
                             "vanishes on the preactivations and b_out_std = 0): no density "
                             "to expand")
    if not variance ** 4 > 0:     # the Edgeworth series divides by s^8 (He8 term)
        raise ParameterError(f"W_std, q0, b_std, b_out_std: the output variance "
                             f"{variance:.3g} underflows its 4th power in double precision; "
                             "scale the output up")
    kappa4 = b2 ** 2 * (m4 - 3) + w2 ** 2 * (m4 * h4 - 3 * h2 ** 2) / n
    kappa6 = b2 ** 3 * (m6 - 15 * m4 + 30) + \
        w2 ** 3 * (m6 * h6 - 15 * m4 * h4 * h2 + 30 * h2 ** 3) / n ** 2
    excess = kappa4 / variance ** 2
    return OutputCumulants(variance=float(variance), kappa4=float(kappa4),
                           kappa6=float(kappa6), excess_kurtosis=float(excess),
                           c4=float(excess / 24), hidden_moments=hidden,
                           width=n, converged=True, residual=float(quadrature_error),
                           parameters={"activation": repr(activation), "width": n,
                                       "W_std": net.W_std, "b_std": net.b_std, "q0": net.q0,
                                       "readout": net.readout, "first_layer": net.first_layer,
                                       "b_out_std": net.b_out_std})


def _hermite(k: int, t: np.ndarray) -> np.ndarray:
    """Probabilists' Hermite polynomial ``He_k(t)``."""
    coef = np.zeros(k + 1)
    coef[k] = 1.0
    return np.polynomial.hermite_e.hermeval(t, coef)


def _check_order(order: int) -> int:
    if order not in (0, 1, 2):
        raise ParameterError(f"order: must be 0 (Gaussian), 1 (He4, O(1/n)) or 2 "
                             f"(adds He6, He8, O(1/n^2)), got {order!r}")
    return order


def _series(cum: OutputCumulants, order: int):
    """``[(coefficient, k)]``: the Edgeworth terms ``coefficient * He_k(t)``."""
    s2 = cum.variance
    terms = []
    if order >= 1:
        terms.append((cum.kappa4 / (24 * s2 ** 2), 4))
    if order >= 2:
        terms += [(cum.kappa6 / (720 * s2 ** 3), 6), (cum.kappa4 ** 2 / (1152 * s2 ** 4), 8)]
    return terms


#: ``|t|`` beyond which the Gaussian factor ``exp(-t^2/2)`` underflows to 0 (``t = 40``:
#: ``e^-800``), so that the Hermite polynomials are never evaluated where they overflow.
_T_MAX = 40.0


def output_density(y, activation, width: int, W_std: float = 1.0, b_std: float = 0.0,
                   q0: float = 1.0, readout: str = "gaussian", first_layer: str = "gaussian",
                   order: int = 1, b_out_std: float = 0.0) -> np.ndarray:
    """Edgeworth density of the network output at the values ``y``.

    Args:
        y: output values (any shape).
        activation: an activation of :mod:`nnphys.theory.kernels` (``nk.Relu()``, ...) or
            any vectorised callable ``phi``.
        width: hidden width ``n >= 1``.
        W_std: weight scale of both layers.
        b_std: hidden-layer bias scale (NTK parameterization).
        q0: squared input per dimension ``|x|^2 / d`` (``x^2`` for a scalar input).
        readout, first_layer: weight laws, ``"gaussian"``, ``"uniform"`` or
            ``"rademacher"`` (unit variance, scaled by ``W_std`` / ``b_std``).
        order: 0 Gaussian (the NNGP), 1 Antognini's ``1 + c_4 He_4`` (default),
            2 also the ``O(1/n^2)`` terms.
        b_out_std: scale of the output bias (drawn from the ``readout`` law; default 0).

    Returns:
        ``p(y)``, same shape as ``y``. The truncated series is not a density everywhere
        (it can dip below zero far in the tails at small ``n``).
    """
    _check_order(order)
    y = checks.finite_array("y", y)
    cum = output_cumulants(activation, width, W_std, b_std, q0, readout, first_layer,
                           b_out_std)
    s = math.sqrt(cum.variance)
    t = np.clip(y / s, -_T_MAX, _T_MAX)      # beyond, exp(-t^2/2) is 0 in float64
    base = np.exp(-t * t / 2) / (s * math.sqrt(2 * math.pi))
    return base * (1 + sum(c * _hermite(k, t) for c, k in _series(cum, order)))


def output_cdf(y, activation, width: int, W_std: float = 1.0, b_std: float = 0.0,
               q0: float = 1.0, readout: str = "gaussian", first_layer: str = "gaussian",
               order: int = 1, b_out_std: float = 0.0) -> np.ndarray:
    """Edgeworth CDF, ``Phi(t) - phi(t) sum_k c_k He_{k-1}(t)`` with ``t = y / s`` (same
    arguments as :func:`output_density`)."""
    from scipy import special
    _check_order(order)
    y = checks.finite_array("y", y)
    cum = output_cumulants(activation, width, W_std, b_std, q0, readout, first_layer,
                           b_out_std)
    t = y / math.sqrt(cum.variance)
    tc = np.clip(t, -_T_MAX, _T_MAX)         # beyond, exp(-t^2/2) is 0 in float64
    gauss = np.exp(-tc * tc / 2) / math.sqrt(2 * math.pi)
    return special.ndtr(t) - gauss * sum((c * _hermite(k - 1, tc) for c, k in
                                          _series(cum, order)), np.zeros_like(t))
