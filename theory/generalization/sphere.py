"""Eigenvalues of dot-product kernels on the sphere (Funk-Hecke) and the hypercube (Walsh).

Sphere. For inputs uniform on the unit sphere ``S^{d-1}`` of ``R^d`` a kernel
``K(x, x') = h(x . x')`` is diagonal in the spherical harmonics; the ``N(d, k)`` harmonics of
degree ``k`` share the per-mode eigenvalue (Funk-Hecke; Smola, Ovari & Williamson 2001;
Bietti & Mairal 2019, arXiv:1905.12173, for the NTK)::

    lambda_k = c_d int_{-1}^{1} h(t) P_k(t) (1 - t^2)^{(d-3)/2} dt,
    c_d = Gamma(d/2) / (sqrt(pi) Gamma((d-1)/2)),
    N(d, k) = (2k + d - 2)/k  C(k + d - 3, k - 1)       (N(d, 0) = 1),

with the normalised Gegenbauer polynomials ``P_k(1) = 1``,
``(k + d - 2) P_{k+1} = (2k + d - 2) t P_k - k P_{k-1}``; ``sum_k N(d,k) lambda_k = h(1)``.
``h`` is the NNGP or NTK of the network evaluated on pairs of unit vectors with dot product
``t`` (any fully connected nnphys network; ``Network.kernel``).

Two routes, each with an error bound, and per degree the one with the smaller bound is kept:

* **Quadrature in the angle** (any architecture): with ``t = cos theta`` the integral is
  ``c_d int_0^pi h(cos theta) P_k(cos theta) sin^{d-2} theta d theta``, done by Gauss-Legendre
  on ``[0, pi]``. Network kernels have a square-root kink at ``t = +-1`` (``sqrt(1 - t^2)``,
  ``arccos t`` of the ReLU family), which limits a Gauss-Jacobi rule in ``t`` to algebraic
  convergence (``~1e-8`` at 128 nodes in ``d = 3``), but are analytic in ``theta`` on
  ``[0, pi]``, where the rule converges exponentially. The bound is the change from ``n`` to
  ``2n`` nodes plus the rounding floor
  ``(k + 8) eps sum_j w_j |h(t_j) P_k(t_j)|`` (the sum's rounding and the ``~k eps``
  forward error of the recurrence for ``P_k``) -- an *absolute* floor near ``1e-16 h(1)``: degrees
  whose eigenvalue is below it (high ``k`` in high ``d``, where ``lambda_k`` falls like
  ``d^{-k}``) cannot be resolved this way, whatever the number of nodes.
* **Power series** (serial stacks of ``Dense`` in the NTK parameterisation and the ReLU family
  ``ABRelu``/``Relu``/``LeakyRelu``/``Abs``, ``Identity``): the Taylor coefficients ``a_n >= 0``
  of ``h(t) = sum_n a_n t^n`` are built layer by layer. Each layer's correlation
  ``rho(t) = beta + u(t)`` has ``beta = rho(0) >= 0`` and ``u(0) = 0``; the arc-cosine duals
  (Cho & Saul 2009) are expanded in Taylor series around ``beta`` (closed recurrences, positive
  terms) and composed with ``u`` by Horner's rule, exact to degree ``N`` because ``u`` has no
  constant term (composition at ``rho = 0`` would need the dual's whole series); then ``lambda_k = sum_n a_n mu_{n,k}`` with the closed
  moments ``mu_{n,k} = c_d int t^n P_k w = Gamma(d/2)/sqrt(pi) n!/((n-k)! 2^k)
  Gamma(j + 1/2)/Gamma(j + k + d/2)``, ``j = (n-k)/2`` (0 unless ``n - k`` is even and
  ``>= 0``). Every term is positive, so the relative error stays near rounding even where
  ``lambda_k ~ 1e-200``. The truncation bound is ``(h(1) - sum_{n<=N} a_n) max_{n>N}
  mu_{n,k}`` (the tail mass of the ``a_n`` times the largest moment they can meet). The
  series is checked against ``Network.kernel`` at a few ``t`` (to ``1e-10`` of ``h(1)``).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
from scipy import special

from ... import checks
from ...errors import ArgumentTypeError, ConvergenceError, ParameterError
from ...models import network as arch
from ...results import Result

__all__ = ["SphereSpectrum", "sphere_spectrum", "hypercube_spectrum", "multiplicity",
           "kernel_function", "gegenbauer"]

_EPS = np.finfo(float).eps
_SERIES_CHECK = 1e-10
_MAX_SERIES_DEGREE = 6000


@dataclasses.dataclass(frozen=True)
class SphereSpectrum(Result):
    """Per-mode eigenvalues ``eigenvalues[k]`` and multiplicities ``multiplicities[k]`` of a
    kernel for degrees ``k = 0 .. k_max`` (sphere, or hypercube with ``k = 0 .. d``);
    ``error[k]`` bounds ``|eigenvalue - exact|``; ``method[k]`` is ``"series"`` or
    ``"quadrature"``; ``trace = h(1)`` (``= sum of multiplicity x eigenvalue`` over all
    degrees). ``residual`` is the largest ``error / eigenvalue`` over degrees with
    ``eigenvalue > error``."""

    eigenvalues: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    multiplicities: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    error: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    method: tuple = ()
    trace: float = 0.0

    @property
    def degrees(self) -> np.ndarray:
        return np.arange(self.eigenvalues.size)

    @property
    def resolved(self) -> np.ndarray:
        """Degrees whose eigenvalue exceeds its error bound."""
        return self.eigenvalues > self.error


def multiplicity(d: int, k) -> np.ndarray:
    """``N(d, k)``, the number of degree-``k`` spherical harmonics on ``S^{d-1}`` (floats)."""
    d = checks.integer("d", d, low=2)
    ks = np.atleast_1d(checks.finite_array("k", k, low=0.0))
    if np.any(ks != np.round(ks)):
        raise ParameterError("k: degrees must be integers >= 0")
    out = []
    for kk in ks.ravel():
        kk = int(kk)
        n = 1 if kk == 0 else (2 * kk + d - 2) * math.comb(kk + d - 3, kk - 1) // kk
        try:
            out.append(float(n))
        except OverflowError:
            raise ParameterError(f"k: N(d={d}, k={kk}) exceeds floating point") from None
    out = np.array(out).reshape(ks.shape)
    return out if np.ndim(k) else float(out[0])


def gegenbauer(d: int, k_max: int, t) -> np.ndarray:
    """Normalised Gegenbauer polynomials ``P_k(t)``, ``k = 0..k_max`` (rows), ``P_k(1) = 1``,
    at dot products ``-1 <= t <= 1``."""
    d = checks.integer("d", d, low=2)
    k_max = checks.integer("k_max", k_max, low=0)
    t = checks.finite_array("t", t)
    if np.any(np.abs(t) > 1):
        raise ParameterError("t: dot products of unit vectors must lie in [-1, 1]")
    checks.work("k_max", (k_max + 1) * max(t.size, 1), what="polynomial values")
    P = np.empty((k_max + 1,) + t.shape)
    P[0] = 1.0
    if k_max >= 1:
        P[1] = t
    for k in range(1, k_max):
        P[k + 1] = ((2 * k + d - 2) * t * P[k] - k * P[k - 1]) / (k + d - 2)
    return P


def kernel_function(net, d: int, get: str = "ntk"):
    """``h(t)``: the network's ``get`` kernel of two unit vectors of ``R^d`` with dot product
    ``t`` (``net`` a :class:`~nnphys.theory.kernels.Network`)."""
    if not callable(getattr(net, "kernel", None)):
        raise ArgumentTypeError(f"net: must be a Network (nk.serial(...)), got "
                                f"{type(net).__name__}")
    d = checks.integer("d", d, low=2)
    get = checks.one_of("get", get, ("nngp", "ntk"))

    def h(t):
        t = np.clip(np.asarray(t, dtype=float).ravel(), -1.0, 1.0)
        checks.work("d", float(t.size + 1) * d, checks.MEMORY_LIMIT, what="input entries")
        pairs = np.zeros((t.size, d))                   # the many inputs first: one block
        pairs[:, 0] = t
        pairs[:, 1] = np.sqrt(1.0 - t * t)
        pole = np.zeros((1, d))
        pole[0, 0] = 1.0
        return np.asarray(net.kernel(pairs, pole, get=get), dtype=float).reshape(t.shape)
    return h


# -- quadrature ------------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def _legendre(nodes):
    """Gauss-Legendre nodes and weights (cached: the rule depends on ``nodes`` only)."""
    x, w = special.roots_legendre(nodes)
    x.flags.writeable = w.flags.writeable = False
    return x, w


def _quadrature(h, d, k_max, nodes):
    x, w = _legendre(nodes)
    theta = 0.5 * np.pi * (x + 1.0)
    w = w * np.sin(theta) ** (d - 2)
    w = w / w.sum()                                     # c_d int sin^{d-2} = 1
    t = np.cos(theta)
    hw = h(t) * w
    P = gegenbauer(d, k_max, t)
    # P_k by the three-term recurrence carries a forward error ~ k eps (stable for |t| <= 1,
    # growing linearly), on top of the sum's own rounding: (k + 8) eps sum |P_k h w|.
    k = np.arange(k_max + 1, dtype=float)
    return P @ hw, (k + 8) * _EPS * (np.abs(P) @ np.abs(hw))


def _by_quadrature(h, d, k_max):
    n = max(k_max + 64, 96)
    lam, floor = _quadrature(h, d, k_max, n)
    fine, floor2 = _quadrature(h, d, k_max, 2 * n)
    return fine, np.abs(fine - lam) + np.maximum(floor, floor2)


# -- power series ----------------------------------------------------------------------------

def _relu_taylor(beta, degree):
    """Taylor coefficients in ``v`` of the unit-variance ReLU duals at ``rho = beta +
    (1 - beta) v`` (``v in [0, 1]`` on the sphere): ``f(rho) = E[relu(a) relu(b)] =
    (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi)`` and ``s(rho) = E[step(a) step(b)] =
    (pi - arccos rho) / (2 pi)`` (Cho & Saul 2009). With ``f' = s``, ``s' = g / (2 pi)`` and
    ``g = (1 - rho^2)^{-1/2}``, which solves ``(1 - rho^2) g' = rho g``, the scaled
    coefficients ``G_m = g_m (1 - beta)^m`` obey ``G_{m+1} = ((2m + 1) beta G_m +
    m (1 - beta) G_{m-1}) / ((1 + beta)(m + 1))`` -- positive terms only, bounded, so every
    coefficient keeps its relative precision."""
    sc = 1.0 - beta
    g = np.zeros(degree + 1)
    g[0] = 1.0 / math.sqrt(1.0 - beta * beta)
    if degree >= 1:
        g[1] = beta * g[0] / (1.0 + beta)
    for m in range(1, degree):
        g[m + 1] = ((2 * m + 1) * beta * g[m] + m * sc * g[m - 1]) / ((1 + beta) * (m + 1))
    m = np.arange(degree + 1, dtype=float)
    step = np.zeros(degree + 1)
    step[0] = (math.pi - math.acos(beta)) / (2 * math.pi)
    step[1:] = sc * g[:-1] / (2 * math.pi * m[1:])
    relu = np.zeros(degree + 1)
    relu[0] = (math.sqrt(1 - beta * beta) + (math.pi - math.acos(beta)) * beta) / (2 * math.pi)
    if degree >= 1:
        relu[1] = sc * step[0]
    relu[2:] = sc * sc * g[:-2] / (2 * math.pi * m[2:] * (m[2:] - 1))
    return relu, step


def _dual_taylor(layer, beta, degree):
    """``(f, fdot, E phi^2)``: coefficients in ``v`` (``rho = beta + (1 - beta) v``) of the
    unit-variance duals ``E[phi(a) phi(b)]``, ``E[phi'(a) phi'(b)]`` of ``Identity`` or
    ``ABRelu(a, b)`` (``phi = (b - a) relu + a id``: ``f = (b-a)^2 f_relu + a b rho``,
    ``fdot = (b-a)^2 s + a b``); ``E[phi'^2] = E[phi^2]`` for these."""
    f, fd = np.zeros(degree + 1), np.zeros(degree + 1)
    sc = 1.0 - beta
    if isinstance(layer, arch.Identity):
        f[0], fd[0] = beta, 1.0
        if degree >= 1:
            f[1] = sc
        return f, fd, 1.0
    a, b = layer.a, layer.b
    relu, step = _relu_taylor(beta, degree)
    f, fd = (b - a) ** 2 * relu, (b - a) ** 2 * step
    f[0] += a * b * beta
    if degree >= 1:
        f[1] += a * b * sc
    fd[0] += a * b
    return f, fd, 0.5 * (a * a + b * b)


def _compose(B, u):
    """Series of ``sum_m B_m u(t)^m`` truncated at ``len(u) - 1`` (``u[0] = 0``)."""
    N = u.size - 1
    nz = np.flatnonzero(u)
    if nz.size == 1:                                    # a monomial c t^p
        p, c = int(nz[0]), u[nz[0]]
        out = np.zeros(N + 1)
        m = np.arange(0, N // p + 1)
        out[m * p] = B[m] * c ** m
        return out
    out = np.zeros(N + 1)
    out[0] = B[-1] if B.size <= N + 1 else B[N]
    for m in range(min(N, B.size - 1) - 1, -1, -1):
        out = np.convolve(out, u)[:N + 1]
        out[0] += B[m]
    return out


def _series(net_spec, d, degree, get):
    """Taylor coefficients of ``h`` to ``degree`` and ``h(1)``, or None if unsupported."""
    layers = net_spec.layers if isinstance(net_spec, arch.Serial) else (net_spec,)
    nngp = np.zeros(degree + 1)
    nngp[1] = 1.0 / d
    ntk = np.zeros(degree + 1)
    q, theta = 1.0 / d, 0.0
    for layer in layers:
        if isinstance(layer, arch.Dense):
            if layer.parameterization != "ntk":
                return None
            w2 = layer.W_std ** 2
            b2 = 0.0 if layer.b_std is None else layer.b_std ** 2
            nngp = w2 * nngp
            nngp[0] += b2
            q = w2 * q + b2
            ntk = nngp + w2 * ntk
            theta = q + w2 * theta
        elif isinstance(layer, (arch.ABRelu, arch.Identity)):
            u = nngp / q
            beta = float(u[0])
            if not 0.0 <= beta < 1.0 - 1e-12:
                return None
            u[0] = 0.0
            u /= 1.0 - beta
            f, fdot, ephi2 = _dual_taylor(layer, beta, degree)
            dot = _compose(fdot, u)
            nngp = q * _compose(f, u)
            ntk = np.convolve(ntk, dot)[:degree + 1]
            q, theta = q * ephi2, theta * ephi2
        else:
            return None
    return (ntk, theta) if get == "ntk" else (nngp, q)


def _log_moments(d, k, n):
    """``log mu_{n,k}`` for arrays ``n >= k`` with ``n - k`` even."""
    j = 0.5 * (n - k)
    return (special.gammaln(0.5 * d) - 0.5 * math.log(math.pi) + special.gammaln(n + 1)
            - special.gammaln(n - k + 1) - k * math.log(2.0) + special.gammaln(j + 0.5)
            - special.gammaln(j + k + 0.5 * d))


def _by_series(coef, total, d, k_max):
    """``lambda_k = sum_n a_n mu_{n,k}`` for all ``k`` at once (``n = k + 2i``) and the
    truncation bounds (module docstring)."""
    N = coef.size - 1
    k = np.arange(k_max + 1, dtype=float)[:, None]
    n = k + 2.0 * np.arange(N // 2 + 1)                       # (degrees, terms)
    inside = n <= N
    a = coef[np.where(inside, n, 0).astype(np.int64)]
    with np.errstate(over="ignore", under="ignore"):
        terms = np.where(inside, a * np.exp(_log_moments(d, k, np.where(inside, n, k))), 0.0)
    lam = terms.sum(1)
    tail = max(total - float(coef.sum()), 0.0) + 4 * N * _EPS * total
    first = np.where((N + 1 - k[:, 0]) % 2 == 0, N + 1, N + 2)
    reach = np.maximum(first, (2 * (k[:, 0] + k[:, 0] ** 2 / d)).astype(np.int64) + 8)
    steps = int(np.max((reach - first) // 2)) + 1
    m = first[:, None] + 2.0 * np.arange(steps)                # (degrees, candidates)
    m = np.where(m <= reach[:, None], m, first[:, None])       # pad with the first candidate
    err = tail * np.exp(_log_moments(d, k, m)).max(1) + 4 * _EPS * lam
    return lam, err


def sphere_spectrum(net, d: int, k_max: int, get: str = "ntk") -> SphereSpectrum:
    """Funk-Hecke eigenvalues of a network's NNGP/NTK for inputs uniform on ``S^{d-1}``.

    Args:
        net: a :class:`~nnphys.theory.kernels.Network` (``nk.serial(...)``) whose kernel on
            unit-norm inputs depends on ``x . x'`` only (fully connected).
        d: input dimension (integer >= 2).
        k_max: largest degree (integer >= 0).
        get: ``"ntk"`` or ``"nngp"``.

    Returns:
        :class:`SphereSpectrum` with the per-mode ``eigenvalues[k]``, ``multiplicities[k]``
        ``= N(d, k)`` and the error bound of each (module docstring).

    Example (one-hidden-layer ReLU NTK, ``lambda_1 = Theta'(0)/d`` scaled by ``1/(2d)``):
        >>> from nnphys.theory import kernels as nk
        >>> net = nk.serial(nk.Dense(1), nk.Relu(), nk.Dense(1))
        >>> s = sphere_spectrum(net, 10, 4)
        >>> round(float(s.eigenvalues[1] * 20), 12), s.multiplicities[:3].tolist()
        (0.1, [1.0, 10.0, 54.0])
    """
    d = checks.integer("d", d, low=2)
    k_max = checks.integer("k_max", k_max, low=0)
    # the quadrature evaluates k_max + 1 polynomials at 2 (k_max + 64) nodes of d inputs
    checks.work("k_max", 2.0 * (k_max + 1) * (k_max + 96), checks.MEMORY_LIMIT,
                what="polynomial values")
    checks.work("d", 2.0 * (k_max + 96) * d, checks.MEMORY_LIMIT, what="input entries")
    get = checks.one_of("get", get, ("nngp", "ntk"))
    h = kernel_function(net, d, get)
    total = float(h(np.array([1.0]))[0])
    lam, err = _by_quadrature(h, d, k_max)
    method = np.array(["quadrature"] * (k_max + 1), dtype=object)
    degree = min(max(4 * k_max, int(3 * (k_max + k_max ** 2 / d)), 256), _MAX_SERIES_DEGREE)
    series = _series(net.spec, d, degree, get) if hasattr(net, "spec") else None
    if series is not None:
        coef, value = series
        t = np.array([-0.7, 0.0, 0.4, 0.9])
        mismatch = np.abs(np.polynomial.polynomial.polyval(t, coef) - h(t)).max()
        # The truncated tail at |t| <= 0.9 is at most (h(1) - sum a_n) 0.9^N.
        allowed = _SERIES_CHECK * total + (value - coef.sum()) * 0.9 ** (coef.size - 1)
        if mismatch > allowed or abs(value - total) > _SERIES_CHECK * total:
            raise ConvergenceError(f"sphere_spectrum: the power series of the kernel disagrees "
                                   f"with Network.kernel by {mismatch:.2e}",
                                   residual=float(mismatch))
        slam, serr = _by_series(coef, total, d, k_max)
        better = serr < err
        lam, err = np.where(better, slam, lam), np.where(better, serr, err)
        method[better] = "series"
    lam = np.where(np.abs(lam) <= err, np.maximum(lam, 0.0), lam)
    if np.any(lam < -err):
        raise ConvergenceError("sphere_spectrum: a negative eigenvalue beyond its error bound "
                               "(the kernel is not positive definite on the sphere?)")
    ok = lam > err
    residual = float(np.max(err[ok] / lam[ok])) if ok.any() else math.inf
    return SphereSpectrum(converged=True, residual=residual,
                          parameters={"d": d, "k_max": k_max, "get": get},
                          eigenvalues=lam, multiplicities=multiplicity(d, np.arange(k_max + 1)),
                          error=err, method=tuple(method), trace=total)


def hypercube_spectrum(net, d: int, get: str = "ntk") -> SphereSpectrum:
    """Walsh eigenvalues of a network kernel on the Boolean cube ``{-1, 1}^d / sqrt(d)``
    (uniform inputs): degree-``k`` parity functions (``C(d, k)`` of them) have eigenvalue
    ``lambda_k = 2^{-d} sum_j C(d, j) h(1 - 2j/d) K_k(j) / C(d, k)`` with the Krawtchouk
    polynomial ``K_k(j) = sum_i (-1)^i C(j, i) C(d-j, k-i)`` (the sum of the ``C(d, k)``
    parities of degree ``k`` at a point with ``j`` coordinates ``-1``) (O'Donnell, *Analysis of Boolean Functions*,
    2014, ch. 1; Yang & Salman 2019, arXiv:1907.10599). An exact finite sum; ``error`` is its
    rounding bound ``8 eps 2^{-d} sum_j C(d,j) |h| |K_k(j)|`` (the alternating sum loses
    digits for large ``d``)."""
    d = checks.integer("d", d, low=1, high=60)
    get = checks.one_of("get", get, ("nngp", "ntk"))
    h = kernel_function(net, max(d, 2), get)
    j = np.arange(d + 1)
    hj = h(1.0 - 2.0 * j / d)
    kraw = np.array([[sum((-1) ** i * math.comb(int(jj), i) * math.comb(d - int(jj), k - i)
                          for i in range(0, k + 1)) for jj in j] for k in range(d + 1)],
                    dtype=float)
    kraw /= np.array([math.comb(d, k) for k in range(d + 1)], dtype=float)[:, None]
    weight = np.array([math.comb(d, int(jj)) for jj in j], dtype=float) / 2.0 ** d
    lam = kraw @ (weight * hj)
    err = 8 * _EPS * (np.abs(kraw) @ (weight * np.abs(hj)))
    lam = np.where(np.abs(lam) <= err, np.maximum(lam, 0.0), lam)
    ok = lam > err
    return SphereSpectrum(converged=True,
                          residual=float(np.max(err[ok] / lam[ok])) if ok.any() else math.inf,
                          parameters={"d": d, "get": get, "domain": "hypercube"},
                          eigenvalues=lam,
                          multiplicities=np.array([math.comb(d, k) for k in j], float),
                          error=err, method=("exact",) * (d + 1), trace=float(hj[0]))
