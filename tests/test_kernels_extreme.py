"""Dual kernels at extreme scales: float64 closed forms and recursions against mpmath.

The reference is the exact value, for the float64 inputs given, of the textbook formula
(Williams 1997 for erf, Cho & Saul 2009 for the arc-cosine family, Tsuchida et al. 2021,
arXiv:2002.08517, for Gelu), evaluated at 120 digits with mpmath (polynomials by their
moments, without the Hermite tables of nnphys); the textbook forms themselves are checked
against nested quadrature of the Gaussian expectation in tests/test_kernels_dense.py.

Tolerance, from float64 conditioning: a formula evaluated stably in float64 returns the
exact value at inputs perturbed by a few units of roundoff, so its relative error is at
most ``n u (1 + kappa)`` with ``u = 2^-53``, ``n`` the number of rounded operations on the
longest path (< 32 here) and ``kappa = sum_i |q_i df/dq_i| / |f|`` the condition number of
the exact function of its three inputs (computed with mpmath). Hence
``rtol = 16 eps (1 + kappa)``. For a deep network the per-layer local errors of that size
are propagated to the output by the product of the layer maps' signed Jacobians
(first-order forward error analysis, :func:`_mp_network`); entries for which that bound
exceeds 1e-3 are intrinsically ill-conditioned in float64 and are not compared, and each
case must keep at least one well-conditioned entry per input.
"""

import math

import mpmath
import numpy as np
import pytest
from scipy import special

from nnphys.errors import NumericalError, ParameterError
from nnphys.theory import kernels as nk
from nnphys.theory.kernels import duals
from nnphys.theory.kernels.kernel import input_kernel
from nnphys.theory.kernels.layers import apply_layer

mp = mpmath.mp
EPS = np.finfo(float).eps
DPS = 120

VARIANCES = [1e-8, 1e-4, 1.0, 1e4, 1e8, 1e12, 1e16]
# correlations: exactly 1 (the diagonal), near +-1, generic, exactly -1
RHOS = [1.0, 1 - 1e-12, 1 - 1e-6, 0.9, 0.3, 1e-9, 0.0, -0.5, -(1 - 1e-6), -1.0]


def _points():
    """(q11, q12, q22) as float64: equal variances and variances 1e3 apart."""
    pts = []
    for q in VARIANCES:
        for q22 in (q, 1e3 * q):
            for rho in RHOS:
                if rho == 1.0 and q22 == q:
                    pts.append((q, q, q))            # bit-identical inputs
                elif rho == -1.0 and q22 == q:
                    pts.append((q, -q, q))
                else:
                    q12 = rho * math.sqrt(q * q22)
                    # a valid covariance of the float inputs: q12^2 <= q11 q22 exactly
                    while mpmath.mpf(q12) ** 2 > mpmath.mpf(q) * mpmath.mpf(q22):
                        q12 = np.nextafter(q12, 0.0)
                    pts.append((q, q12, q22))
    return np.array(pts)


POINTS = _points()


# --- textbook closed forms in mpmath (arguments are mpf, exact copies of the floats) ---

def _angle(q11, q12, q22):
    s = mpmath.sqrt(q11 * q22)
    rho = max(min(q12 / s, 1), -1)
    return s, mpmath.acos(rho)


def mp_abrelu(a, b):
    def f(q11, q12, q22):
        s, th = _angle(q11, q12, q22)
        j1 = mpmath.sin(th) + (mp.pi - th) * mpmath.cos(th)
        nngp = a * b * q12 + (b - a) ** 2 * s * j1 / (2 * mp.pi)
        return nngp, a * b + (b - a) ** 2 * (mp.pi - th) / (2 * mp.pi)
    return f


def mp_erf(a, b, c):
    b2 = mpmath.mpf(b) ** 2

    def f(q11, q12, q22):
        d1, d2 = 1 + 2 * b2 * q11, 1 + 2 * b2 * q22
        arg = max(min(2 * b2 * q12 / mpmath.sqrt(d1 * d2), 1), -1)
        nngp = a * a * 2 / mp.pi * mpmath.asin(arg) + c * c
        return nngp, a * a * b2 * 4 / mp.pi / mpmath.sqrt(d1 * d2 - 4 * b2 * b2 * q12 * q12)
    return f


def mp_gelu(q11, q12, q22):
    p1, p2 = 1 + q11, 1 + q22
    d2 = p1 * p2 - q12 * q12
    d = mpmath.sqrt(d2)
    ang = mpmath.atan2(q12, d)
    nngp = q12 / 4 + (q12 * ang + (q12 * q12 + q11 * q22 * d2) / (p1 * p2 * d)) / (2 * mp.pi)
    dot = mpmath.mpf(1) / 4 + ang / (2 * mp.pi) + q12 / (d * 2 * mp.pi) * (
        1 / d2 + (1 - q11 * q22) / (p1 * p2) + 1)
    return nngp, dot


def mp_sin(a, b, c):
    def f(q11, q12, q22):
        b2 = mpmath.mpf(b) ** 2
        minus = mpmath.exp(-b2 * (q11 + q22 - 2 * q12) / 2)
        plus = mpmath.exp(-b2 * (q11 + q22 + 2 * q12) / 2) * mpmath.cos(2 * mpmath.mpf(c))
        return a * a / 2 * (minus - plus), a * a * b2 / 2 * (minus + plus)
    return f


def mp_rbf(gamma):
    def f(q11, q12, q22):
        nngp = mpmath.exp(-gamma * (q11 + q22 - 2 * q12))
        return nngp, 2 * gamma * nngp
    return f


def _mp_gabor_nngp(q11, q12, q22):
    """E[phi phi] of phi = e^{-z^2} sin z as the difference of the two Gaussian integrals
    (cos(u - v) - cos(u + v)) / 2, with det(I + 2Q) in product form."""
    det = (1 + 2 * q11) * (1 + 2 * q22) - 4 * q12 * q12
    g = q11 * q22 - q12 * q12
    minus = mpmath.exp(-(q11 + q22 + 4 * g - 2 * q12) / (2 * det))
    plus = mpmath.exp(-(q11 + q22 + 4 * g + 2 * q12) / (2 * det))
    return (minus - plus) / (2 * mpmath.sqrt(det))


def mp_gabor(q11, q12, q22):
    # E[phi' phi'] = d/dq12 E[phi phi] (Price's theorem), differentiated by mpmath
    return _mp_gabor_nngp(q11, q12, q22), mpmath.diff(
        lambda c: _mp_gabor_nngp(q11, c, q22), q12)


def mp_gaussian(a, b):
    def f(q11, q12, q22):
        det = (1 - 2 * b * q11) * (1 - 2 * b * q22) - 4 * b * b * q12 * q12
        return a * a / mpmath.sqrt(det), 4 * a * a * b * b * q12 / det ** 1.5
    return f


def mp_sign(q11, q12, q22):
    _, th = _angle(q11, q12, q22)
    return 1 - 2 * th / mp.pi, mpmath.mpf(0)


def _mp_moment(i, j, q11, q12, q22):
    """E[u^i v^j] by writing v = (q12/q11) u + w, w independent (no Hermite tables)."""
    r = q12 / q11
    w2 = (q11 * q22 - q12 * q12) / q11
    total = mpmath.mpf(0)
    for l in range(j + 1):
        m1, m2 = i + l, j - l
        if m1 % 2 or m2 % 2:
            continue
        total += mpmath.binomial(j, l) * r ** l * mpmath.fac2(m1 - 1) * q11 ** (m1 // 2) \
            * mpmath.fac2(m2 - 1) * w2 ** (m2 // 2)
    return total


def mp_polynomial(coef):
    coef = [mpmath.mpf(c) for c in coef]
    der = [i * c for i, c in enumerate(coef)][1:]

    def dual(cs, q11, q12, q22):
        return sum(ci * cj * _mp_moment(i, j, q11, q12, q22)
                   for i, ci in enumerate(cs) for j, cj in enumerate(cs) if ci and cj)

    def f(q11, q12, q22):
        return dual(coef, q11, q12, q22), dual(der, q11, q12, q22) if der else mpmath.mpf(0)
    return f


def mp_arccos_j(k):
    """Cho & Saul's ``J_k(theta)`` from its definition, as an mpmath function (sympy)."""
    import sympy as sp
    t = sp.Symbol("t")
    g = (sp.pi - t) / sp.sin(t)
    for _ in range(k):
        g = sp.diff(g, t) / sp.sin(t)
    return sp.lambdify(t, (-1) ** k * sp.sin(t) ** (2 * k + 1) * g, "mpmath")


def mp_rect_monomial(n):
    jn, jm = mp_arccos_j(n), mp_arccos_j(n - 1)

    def f(q11, q12, q22):
        s, th = _angle(q11, q12, q22)
        th = max(th, mpmath.mpf(10) ** (-DPS + 5))     # J_n is continuous at 0
        th = min(th, mp.pi - mpmath.mpf(10) ** (-DPS + 5))
        return s ** n * jn(th) / (2 * mp.pi), n * n * s ** (n - 1) * jm(th) / (2 * mp.pi)
    return f


CASES = [
    (nk.Relu(), mp_abrelu(0, 1)),
    (nk.ABRelu(-0.3, 1.2), mp_abrelu(mpmath.mpf(-0.3), mpmath.mpf(1.2))),
    (nk.Erf(), mp_erf(1, 1, 0)),
    (nk.Erf(1.3, 0.7, 0.2), mp_erf(mpmath.mpf(1.3), mpmath.mpf(0.7), mpmath.mpf(0.2))),
    (nk.Gelu(), mp_gelu),
    (nk.Sin(1.1, 0.8, 0.3), mp_sin(mpmath.mpf(1.1), mpmath.mpf(0.8), mpmath.mpf(0.3))),
    (nk.Sin(), mp_sin(1, 1, 0)),
    # c = pi/4 (the Rbf function as a Sin; cos 2c ~ 6e-17 in float64) and Rbf itself:
    # distant pairs once lost nine digits to e^{-x} - e^{-y} + 2 sin^2(c) e^{-y}
    (nk.Sin(math.sqrt(2), math.sqrt(1.6), math.pi / 4),
     mp_sin(mpmath.sqrt(2), mpmath.sqrt(mpmath.mpf(1.6)), mpmath.mpf(math.pi / 4))),
    (nk.Rbf(0.8), mp_rbf(mpmath.mpf(0.8))),
    (nk.Gabor(), mp_gabor),
    (nk.Gaussian(1.0, -0.5), mp_gaussian(1, mpmath.mpf(-0.5))),
    (nk.Sign(), mp_sign),
    (nk.Hermite(3), mp_polynomial(nk.Hermite(3).coef)),
    (nk.Polynomial((0.1, 1.0, 0.5)), mp_polynomial((0.1, 1.0, 0.5))),
    (nk.RectifiedMonomial(2), mp_rect_monomial(2)),
]


def _conditions(f, args, values):
    """``sum_i |q_i df/dq_i| / |f|`` of both components (nngp, dot) of ``f``, by one-sided
    mpmath differences (relative step 10^(-3/4 digits): 1e-90 at 120 digits) that stay
    inside ``|rho| <= 1``: variances step up, the covariance steps towards 0. A component
    that is exactly 0 has condition ``inf``. One evaluation per shifted argument serves
    both components (``values = f(*args)``, already computed by the caller)."""
    totals = [mpmath.mpf(0), mpmath.mpf(0)]
    for i in range(3):
        if args[i] == 0:
            continue
        direction = -mpmath.sign(args[i]) if i == 1 else 1
        h = abs(args[i]) * mpmath.mpf(10) ** (-(3 * mp.dps) // 4) * direction
        shifted = list(args)
        shifted[i] = args[i] + h
        moved = f(*shifted)
        for which in (0, 1):
            totals[which] += abs(args[i] * (moved[which] - values[which]) / h)
    return tuple(mpmath.inf if values[w] == 0 else totals[w] / abs(values[w])
                 for w in (0, 1))


def _reference(f, pts):
    """mpmath values and condition numbers of (nngp, dot) at each point."""
    out = np.empty((len(pts), 4))
    with mpmath.workdps(DPS):
        for n, (q11, q12, q22) in enumerate(pts):
            args = (mpmath.mpf(q11), mpmath.mpf(q12), mpmath.mpf(q22))
            vals = f(*args)
            out[n, 0], out[n, 1] = float(vals[0]), float(vals[1])
            out[n, 2], out[n, 3] = (float(c) for c in _conditions(f, args, vals))
    return out


def _natural_scale(act, pts, need):
    """The entry's natural scale ``sqrt(E[phi(u)^2] E[phi(v)^2])`` (same for phi')."""
    diag1 = duals.dual(act, pts[:, 0], pts[:, 0], pts[:, 0], need)
    diag2 = duals.dual(act, pts[:, 2], pts[:, 2], pts[:, 2], need)
    return np.sqrt(np.abs(diag1[0] * diag2[0])), (
        np.sqrt(np.abs(diag1[1] * diag2[1])) if need else None)


def _assert_close(got, ref, kappa, what, pts, scale):
    """Relative error within ``16 eps (1 + kappa)``; where the exact value is 0 (kappa
    infinite), absolute error within 16 eps of the natural scale of the entry."""
    rtol = 16 * EPS * (1 + kappa)
    err = np.abs(got - ref)
    with np.errstate(invalid="ignore"):
        tol = np.where(ref == 0, 16 * EPS * scale, rtol * np.abs(ref))
    bad = ~((err == 0) | (err <= tol))
    assert not np.any(bad), (
        f"{what}: worst at (q11, q12, q22) = {pts[bad][0]}: got {got[bad][0]!r}, mpmath "
        f"{ref[bad][0]!r}, rel err {(err / np.abs(ref))[bad][0]:.2e} > rtol {rtol[bad][0]:.2e}")


@pytest.mark.parametrize("act,mp_dual", CASES, ids=[repr(a) for a, _ in CASES])
def test_closed_form_duals_against_mpmath(act, mp_dual):
    """Every closed-form dual over variances 1e-8 ... 1e16 (also 1e3 apart) and
    correlations 1, 1 - 1e-12, ..., 0, ..., -1: relative error within float64 conditioning."""
    pts = POINTS
    ref = _reference(mp_dual, pts)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        nngp, dot = duals.dual(act, pts[:, 0], pts[:, 1], pts[:, 2], True)
    scale, dscale = _natural_scale(act, pts, True)
    finite = np.abs(ref[:, 0]) < 1e300
    assert np.all(np.isfinite(nngp[finite]))
    _assert_close(nngp[finite], ref[finite, 0], ref[finite, 2], f"{act!r} nngp", pts[finite],
                  scale[finite])
    has_dot = not isinstance(act, nk.Sign().__class__)
    if has_dot:
        finite = np.abs(ref[:, 1]) < 1e300
        _assert_close(dot[finite], ref[finite, 1], ref[finite, 3], f"{act!r} dot", pts[finite],
                      dscale[finite])


@pytest.mark.parametrize("degree", [2, 3, 5])
def test_arccos_series_near_pi_against_mpmath(degree):
    """The Taylor series of ``J_n(pi - phi)`` (exact rational arithmetic) against Cho &
    Saul's closed form in 120-digit mpmath (where its cancellation costs at most
    ``(2n+1) log10(1/phi)`` of the 120 digits), on ``phi < 1/2`` where the series is used:
    relative error below 16 eps (the float rounding of ~40 positive-ratio terms; the
    truncation ``0.5^30 / (2n+31)!`` is negligible)."""
    series = duals._arccos_j_near_pi(degree)
    closed = mp_arccos_j(degree)
    with mpmath.workdps(DPS):
        for phi in (1e-3, 0.05, 0.2, 0.49):
            exact = closed(mp.pi - mpmath.mpf(phi))
            got = np.polynomial.polynomial.polyval(phi, series)
            assert abs(got - float(exact)) <= 16 * EPS * abs(float(exact)), (degree, phi)


# --- deep networks: the float64 recursion against the same recursion in mpmath ---------

def _inputs(k):
    """Three inputs in d = 2 whose Gram matrix x x'^T / 2 is exact in float64 (small
    integers times 2^k): x, a nearly collinear x' (rho = 1 - 3e-14) and the antipode -x.
    Variances ~12.5 * 4^k: k = -14 ... 26 spans 5e-8 ... 6e16."""
    base = np.array([[3 * 2.0 ** 20, 4 * 2.0 ** 20], [3 * 2.0 ** 20 + 1, 4 * 2.0 ** 20],
                     [-3 * 2.0 ** 20, -4 * 2.0 ** 20]])
    return base * 2.0 ** (k - 20)


def _partials(f, args, diagonal):
    """Signed partial derivatives of both components of ``f`` with respect to
    ``(q11, q12, q22)`` (one variable for a diagonal entry, where the three are the same
    number), by one-sided mpmath differences that stay inside ``|rho| <= 1`` (variances
    step up, the covariance towards 0; step 10^(-3/4 digits) relative)."""
    value = f(*args)
    step = mpmath.mpf(10) ** (-(3 * mp.dps) // 4)
    if diagonal:
        h = abs(args[0]) * step
        moved = f(*(a + h for a in args)) if h else value
        return [[(moved[w] - value[w]) / h if h else mpmath.mpf(0)] for w in (0, 1)]
    out = [[mpmath.mpf(0)] * 3 for _ in (0, 1)]
    for i in range(3):
        h = abs(args[i]) * step * (-mpmath.sign(args[i]) if i == 1 else 1)
        if h == 0:
            continue
        shifted = list(args)
        shifted[i] = args[i] + h
        moved = f(*shifted)
        for w in (0, 1):
            out[w][i] = (moved[w] - value[w]) / h
    return out


def _mp_network(layers, x):
    """NNGP, NTK and their relative first-order error bounds, for ``layers`` = list of
    ("dense", w2, b2) / ("act", mp_dual), by the NTK-parameterised recursion in mpmath.

    The state is the vector of every NNGP entry K_ij and NTK entry T_ij (i <= j). Each
    layer maps it by a function with Jacobian ``J_l`` (signed partial derivatives in
    mpmath) and adds a local rounding error ``|delta_l| <= u_l``: a stably evaluated dual
    is exact at inputs perturbed by a few units of roundoff, ``u = 16 eps (1 + kappa) |f|``
    with ``kappa`` the condition number of the exact dual at that layer's inputs
    (``16 eps |T'| (1 + kappa_d)`` for ``T' = T dot``; on the diagonal, where the three
    inputs are one number, the condition number in that one variable), a Dense layer's affine map
    ``4 eps |value|``. To first order the final error is ``e_L = sum_l J_L ... J_{l+1}
    delta_l``, so ``|e_L| <= sum_l |J_L ... J_{l+1}| u_l`` (absolute value of the signed
    product, entrywise): errors that the layer maps contract are not counted as growing.
    """
    n = len(x)
    xs = [[mpmath.mpf(v) for v in row] for row in x]
    pairs = [(i, j) for i in range(n) for j in range(i, n)]
    index = {p: m for m, p in enumerate(pairs)}
    size = 2 * len(pairs)                       # K entries, then T entries
    k = {(i, j): sum(a * b for a, b in zip(xs[i], xs[j])) / len(xs[i]) for i, j in pairs}
    t = {p: mpmath.mpf(0) for p in pairs}
    steps = []                                  # (J_l, u_l) as float arrays
    for layer in layers:
        J = np.zeros((size, size))
        u = np.zeros(size)
        if layer[0] == "dense":
            _, w2, b2 = layer
            for p in pairs:
                m, mt = index[p], index[p] + len(pairs)
                k[p] = w2 * k[p] + b2
                t[p] = k[p] + w2 * t[p]
                J[m, m] = float(w2)
                J[mt, m], J[mt, mt] = float(w2), float(w2)      # T' = (w2 K + b2) + w2 T
                u[m], u[mt] = 4 * EPS * float(abs(k[p])), 4 * EPS * float(abs(t[p]))
            steps.append((J, u))
            continue
        f = layer[1]
        new_k, new_t = {}, {}
        for (i, j) in pairs:
            m, mt = index[(i, j)], index[(i, j)] + len(pairs)
            args = (k[(i, i)], k[(i, j)], k[(j, j)])
            nngp, dot = f(*args)
            new_k[(i, j)], new_t[(i, j)] = nngp, t[(i, j)] * dot
            d = _partials(f, args, diagonal=(i == j))
            sources = [index[(i, i)]] if i == j else [index[(i, i)], m, index[(j, j)]]
            for src, dk, dd in zip(sources, d[0], d[1]):
                J[m, src] += float(dk)
                J[mt, src] += float(t[(i, j)] * dd)
            J[mt, mt] = float(dot)
            if i == j:      # one variable q = q11 = q12 = q22 (the Gram determinant is 0)
                kn, kd = (float(abs(args[0] * d[w][0] / v)) if v else 0.0
                          for w, v in ((0, nngp), (1, dot)))
            else:
                kn, kd = (float(c) if v != 0 else 0.0
                          for c, v in zip(_conditions(f, args, (nngp, dot)), (nngp, dot)))
            u[m] = 16 * EPS * (1 + kn) * float(abs(nngp))
            u[mt] = 16 * EPS * (1 + kd) * float(abs(new_t[(i, j)]))
        k, t = new_k, new_t
        steps.append((J, u))
    bound = np.zeros(size)
    G = np.eye(size)
    with np.errstate(over="ignore", invalid="ignore"):   # inf/NaN: not checkable
        for J, u in reversed(steps):            # G = J_L ... J_{l+1}
            bound += np.abs(G) @ u
            G = G @ J
    out = np.zeros((4, n, n))
    for (i, j) in pairs:
        m = index[(i, j)]
        kv, tv = k[(i, j)], t[(i, j)]
        rel = (bound[m] / float(abs(kv)) if kv else math.inf,
               bound[m + len(pairs)] / float(abs(tv)) if tv else math.inf)
        for c, v in enumerate((kv, tv, rel[0], rel[1])):
            out[c, i, j] = out[c, j, i] = float(v)
    return out


DEEP = [  # (activation, mp dual, W_std, b_std, depth, input scale exponents)
    (nk.Erf(), mp_erf(1, 1, 0), 1.0, None, 1, (-14, 0, 13, 26)),
    (nk.Erf(), mp_erf(1, 1, 0), 3.0, None, 1, (-14, 0, 13, 26)),
    (nk.Erf(), mp_erf(1, 1, 0), 1.5, 0.05, 10, (-14, 0, 26)),
    (nk.Relu(), mp_abrelu(0, 1), math.sqrt(2), None, 1, (-14, 0, 26)),
    (nk.Relu(), mp_abrelu(0, 1), 1.5, 0.05, 10, (-14, 0, 26)),
    (nk.Erf(), mp_erf(1, 1, 0), 1.5, None, 1000, (26,)),
    # ~10 s each of mpmath: in the slow run
    pytest.param(nk.Erf(), mp_erf(1, 1, 0), 1.0, None, 1000, (0, 26), marks=pytest.mark.slow),
    pytest.param(nk.Erf(), mp_erf(1, 1, 0), 3.0, 0.05, 1000, (26,), marks=pytest.mark.slow),
]


@pytest.mark.parametrize("act,mp_dual,w_std,b_std,depth,scales", DEEP,
                         ids=lambda v: repr(v) if isinstance(v, (float, int)) or v is None else
                         (type(v).__name__ if not isinstance(v, tuple) else "x".join(map(str, v))))
def test_deep_recursion_against_mpmath(act, mp_dual, w_std, b_std, depth, scales):
    """NNGP and NTK of [Dense, act] * depth + Dense, on the fused compiled path and on the
    numpy layer path, against the mpmath recursion, within the accumulated float64 bound."""
    layers = []
    mp_layers = []
    # the float64 parameters the network uses: W_std^2 and b_std^2 rounded
    w2, b2 = mpmath.mpf(w_std ** 2), mpmath.mpf(0.0 if b_std is None else b_std ** 2)
    for _ in range(depth):
        layers += [nk.Dense(1, W_std=w_std, b_std=b_std), act]
        mp_layers += [("dense", w2, b2), ("act", mp_dual)]
    layers.append(nk.Dense(1, W_std=w_std, b_std=b_std))
    mp_layers.append(("dense", w2, b2))
    net = nk.serial(*layers)
    for k in scales:
        x = _inputs(k)
        with mpmath.workdps(40):
            nngp_ref, ntk_ref, bk, bt = _mp_network(mp_layers, x)
        if np.max(np.abs(ntk_ref)) > np.finfo(float).max:
            with pytest.raises(NumericalError, match="ntk"):
                net.kernel(x)
            continue
        fused = net.kernel(x)
        numpy_path = apply_layer(net.spec, input_kernel(x, None))
        for name, got in (("fused", fused), ("numpy", numpy_path)):
            for what, value, ref, bound in (("nngp", got.nngp, nngp_ref, bk),
                                            ("ntk", got.ntk, ntk_ref, bt)):
                # an entry whose first-order bound exceeds 1e-3 is ill-conditioned (e.g. the
                # antipodal pair at c = -1, an unstable fixed point of a chaotic net): no
                # float64 method is checkable there, and the bound stops being first-order
                checked = bound < 1e-3
                assert checked.sum() >= len(x), f"{name} {what}: only {checked.sum()} entries " \
                    f"well-conditioned at scale 2^{k} (bounds {bound})"
                err = np.abs(value - ref)
                bad = checked & ~(err <= bound * np.abs(ref))
                assert not bad.any(), (
                    f"{name} {what} at scale 2^{k}: got {value[bad]}, mpmath {ref[bad]}, rel err "
                    f"{(err / np.abs(ref))[bad]}, bound {bound[bad]}")


# --- Hermite-series activations at large variance (tanh) -------------------------------

def _mp_tanh_pair(q11, q12, q22, d):
    """E[h(u) h(v)] for h = tanh (d = 0) or sech^2 (d = 1), by :func:`_mp_pair`."""
    h = (lambda z: mpmath.tanh(z)) if d == 0 else (lambda z: mpmath.sech(z) ** 2)
    return _mp_pair(h, q11, q12, q22)


def _mp_pair(h, q11, q12, q22):
    """E[h(u) h(v)] by nested mpmath quadrature with break points where the arguments
    cross 0 and at the transition widths (h varies on the scale 1 of its argument)."""
    q11, q12, q22 = map(mpmath.mpf, (q11, q12, q22))
    s11 = mpmath.sqrt(q11)
    r = q12 / s11
    sigma = mpmath.sqrt(max(q22 - r * r, 0))

    def pts(center, width, lim=12):
        out = {-lim, lim}
        for k in (0, -1, 1, -4, 4, -16, 16):
            p = center + k * width
            if -lim < p < lim:
                out.add(p)
        return sorted(out)

    def inner(a):
        m = r * a
        if sigma == 0:
            return h(m)
        return mpmath.quad(lambda b: h(m + sigma * b) * mpmath.npdf(b), pts(-m / sigma, 1 / sigma))

    outer_pts = sorted(set(pts(0, 1 / s11)) | set(pts(0, 1 / abs(r) if r else 1)))
    return mpmath.quad(lambda a: h(s11 * a) * inner(a) * mpmath.npdf(a), outer_pts)


TANH_DIAGONAL = [1e2, 1e4, 1e8, 1e16]
TANH_PAIRS = [(1e2, 50.0, 1e2), (1e4, -0.9e4, 1e4), (1e4, 0.6 * 2e4, 4e4),
              (1e16, -0.9e16, 1e16)]

# The entries' natural scale is 1 for tanh and <= 1 for sech^2, and the decomposition's
# quadratures are converged to 1e-14 of it: tolerance 1e-12 absolute (the references are
# good to ~1e-15).
_TANH_ATOL = 1e-12


def _tanh_dual(pts):
    from nnphys.theory.kernels import hermite
    pts = np.asarray(pts, dtype=float).reshape(-1, 3)
    return hermite.dual(nk.Tanh(), pts[:, 0], pts[:, 1], pts[:, 2], True)


def test_tanh_large_variance_diagonal_against_mpmath():
    """E[tanh(u)^2] and E[sech^4(u)] at variances 1e2 ... 1e16 (the series stops near 90)
    against one-dimensional mpmath quadrature."""
    pts = [(q, q, q) for q in TANH_DIAGONAL]
    nngp, dot = _tanh_dual(pts)
    with mpmath.workdps(18):
        ref = np.array([[float(_mp_tanh_pair(*p, d)) for d in (0, 1)] for p in pts])
    np.testing.assert_allclose(nngp, ref[:, 0], rtol=0, atol=_TANH_ATOL)
    np.testing.assert_allclose(dot, ref[:, 1], rtol=0, atol=_TANH_ATOL)


def test_tanh_large_variance_pairs_against_quadrature():
    """Off-diagonal entries (rho = 0.5, -0.9, 0.6 with variances 4x apart) at 1e2 ... 1e16
    against nested adaptive quadrature (tests/quadrature.py; the kink-free integrands need
    only the break point at 0, fine at these correlations)."""
    from .quadrature import pair_expectation
    nngp, dot = _tanh_dual(TANH_PAIRS)
    sech2 = lambda z: 1 / np.cosh(np.minimum(np.abs(z), 300.0)) ** 2      # noqa: E731
    for n, p in enumerate(TANH_PAIRS):
        assert nngp[n] == pytest.approx(pair_expectation(np.tanh, np.tanh, *p, kinks=(0.0,)),
                                        abs=_TANH_ATOL)
        assert dot[n] == pytest.approx(pair_expectation(sech2, sech2, *p, kinks=(0.0,)),
                                       abs=_TANH_ATOL)


def test_tanh_network_at_large_inputs():
    """The issue's case: inputs of norm 30 and 1e8 in d = 10 through Tanh give finite
    kernels (the series alone raised ConvergenceError from norm 30)."""
    rng = np.random.default_rng(0)
    for norm in (30.0, 1e8):
        x = rng.standard_normal((3, 10))
        x *= norm / np.linalg.norm(x, axis=1, keepdims=True)
        k = nk.serial(nk.Dense(1), nk.Tanh(), nk.Dense(1)).kernel(x)
        assert np.all(np.isfinite(k.nngp)) and np.all(np.isfinite(k.ntk))


# --- rectifier-like activations at large variance --------------------------------------

def _softplus(z):
    return np.logaddexp(0.0, z)


def _silu(z):
    return z * special.expit(z)


def _silu_prime(z):
    s = special.expit(z)
    return s * (1 + z * (1 - s))


def _mixed(z):
    """Slopes 1 (right) and 0.3 (left), intercepts 0.8 and -1.2: every parameter of the
    limit p z + r Gelu(z) + A erf(z) + B is non-zero."""
    return 0.3 * z + 0.35 * np.logaddexp(0.0, 2 * z) + np.tanh(z) - 0.2


def _mixed_prime(z):
    return 0.3 + 0.7 * special.expit(2 * z) + 1 / np.cosh(np.minimum(np.abs(z), 300.0)) ** 2


def _mp_expit(z):
    return 1 / (1 + mpmath.exp(-z))


RECTIFIERS = [  # (activation, limit (p, r, A, B), mpmath f, mpmath f')
    (nk.Elementwise(_softplus, special.expit, name="softplus"), (0, 1, 0, 0),
     lambda z: mpmath.log1p(mpmath.exp(z)), _mp_expit),
    (nk.Elementwise(_silu, _silu_prime, name="silu"), (0, 1, 0, 0),
     lambda z: z * _mp_expit(z), lambda z: _mp_expit(z) * (1 + z * (1 - _mp_expit(z)))),
    (nk.Elementwise(_mixed, _mixed_prime, name="mixed"), (0.3, 0.7, 1.0, -0.2),
     lambda z: mpmath.mpf(0.3) * z + mpmath.mpf(0.35) * mpmath.log1p(mpmath.exp(2 * z))
     + mpmath.tanh(z) - mpmath.mpf(0.2),
     lambda z: mpmath.mpf(0.3) + mpmath.mpf(0.7) * _mp_expit(2 * z) + mpmath.sech(z) ** 2),
]
RECTIFIER_IDS = [repr(r[0]) for r in RECTIFIERS]


def _route_scales(limit, q11, q22):
    """The route's scales of an entry, ``(|A| + |B| + (|p| + |r|) sqrt(q))`` for each
    variance multiplied, and ``(|p| + |r| + 2|A|/sqrt(pi))^2`` for the derivative kernel:
    the natural scales ``sqrt(E f^2 E f^2)`` up to factors of order 1."""
    p, r, a, b = (abs(v) for v in limit)
    nngp = (a + b + (p + r) * np.sqrt(q11)) * (a + b + (p + r) * np.sqrt(q22))
    return nngp, (p + r + 2 * a / math.sqrt(math.pi)) ** 2


@pytest.mark.parametrize("act,limit,mp_f,mp_fp", RECTIFIERS, ids=RECTIFIER_IDS)
def test_rectifier_limits_detected(act, limit, mp_f, mp_fp):
    """The asymptotes a z + b, a' z + c are found to roundoff (fitted at |z| = 80, 160)."""
    from nnphys.theory.kernels import hermite
    np.testing.assert_allclose(hermite._saturation(act.function), limit, rtol=0, atol=1e-13)


@pytest.mark.parametrize("fn", [np.sin, np.square, lambda z: z + 1 / np.sqrt(1 + z * z),
                                lambda z: np.exp(-z * z)],
                         ids=["sin", "square", "algebraic-approach", "gaussian"])
def test_functions_without_the_structure_keep_the_series(fn):
    """No limit for oscillating, superlinear, algebraically approached or vanishing
    functions: they stay on the series, which names the variance where it cannot
    converge."""
    from nnphys.errors import ConvergenceError
    from nnphys.theory.kernels import hermite
    assert hermite._saturation(fn) is None
    if fn is np.square:            # a polynomial: the series is exact at any variance
        return
    with pytest.raises(ConvergenceError, match="variance"):
        hermite.dual(nk.Elementwise(fn), np.array([1e4]), np.array([0.0]), np.array([1e4]),
                     False)


@pytest.mark.parametrize("act,limit,mp_f,mp_fp", RECTIFIERS, ids=RECTIFIER_IDS)
def test_rectifier_large_variance_diagonal_against_mpmath(act, limit, mp_f, mp_fp):
    """E[f(u)^2] and E[f'(u)^2] at variances 1e2 ... 1e16 against mpmath quadrature, to
    1e-12 of the route's scale (its quadratures are accepted at 1e-13 of it; the mpmath
    references at 18 digits are good to ~1e-16 of it)."""
    from nnphys.theory.kernels import hermite
    q = np.array(TANH_DIAGONAL)
    nngp, dot = hermite.dual(act, q, q, q, True)
    with mpmath.workdps(18):
        ref = np.array([[float(_mp_pair(h, v, v, v)) for h in (mp_f, mp_fp)] for v in q])
    scale, dscale = _route_scales(limit, q, q)
    assert np.all(np.abs(nngp - ref[:, 0]) <= 1e-12 * scale), (nngp, ref[:, 0])
    assert np.all(np.abs(dot - ref[:, 1]) <= 1e-12 * dscale), (dot, ref[:, 1])


RECTIFIER_PAIRS = [(1e2, 50.0, 1e2), (1e4, -0.9e4, 1e4), (1e4, 0.6 * 2e4, 4e4),
                   (1e8, 0.99e8, 1e8), (1e16, -0.9e16, 1e16)]


@pytest.mark.parametrize("act,limit,mp_f,mp_fp", RECTIFIERS, ids=RECTIFIER_IDS)
def test_rectifier_large_variance_pairs_against_quadrature(act, limit, mp_f, mp_fp):
    """Off-diagonal entries (rho = 0.5, -0.9, 0.6 with variances 4x apart, 0.99, -0.9) at
    1e2 ... 1e16 against nested adaptive quadrature (tests/quadrature.py, 1e-12 relative),
    with break points at 0 and at the transition widths +-1, 4, 16 of the argument (without
    them the outer rule misses the width-1e-4 structure at q = 1e8): within 1e-12 of the
    route's scale, 10x the accuracy of the reference."""
    from .quadrature import pair_expectation
    pts = np.array(RECTIFIER_PAIRS)
    from nnphys.theory.kernels import hermite
    nngp, dot = hermite.dual(act, pts[:, 0], pts[:, 1], pts[:, 2], True)
    scale, dscale = _route_scales(limit, pts[:, 0], pts[:, 2])
    # the test's numpy functions take the quadrature's Python floats directly (an array
    # wrapper per call was 2/3 of the reference's time)
    f, fp = act.function, act.function_prime
    widths = (0.0, -1.0, 1.0, -4.0, 4.0, -16.0, 16.0)
    for n, p in enumerate(RECTIFIER_PAIRS):
        assert abs(nngp[n] - pair_expectation(f, f, *p, kinks=widths)) <= 1e-12 * scale[n]
        assert abs(dot[n] - pair_expectation(fp, fp, *p, kinks=widths)) <= 1e-12 * dscale


def test_rectifier_network_at_large_inputs():
    """Softplus and SiLU networks at inputs of norm 30 and 1e8 in d = 10: finite kernels,
    and at norm 1e8 the ReLU limit (the corrections are O(q^-1/2) of the scale)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 10))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    relu = nk.serial(nk.Dense(1), nk.Relu(), nk.Dense(1)).kernel(x * 1e8)
    for act, *_ in RECTIFIERS[:2]:
        net = nk.serial(nk.Dense(1), act, nk.Dense(1))
        assert np.all(np.isfinite(net.kernel(x * 30.0).ntk))
        k = net.kernel(x * 1e8)
        np.testing.assert_allclose(k.nngp, relu.nngp, rtol=1e-6)
        np.testing.assert_allclose(k.ntk, relu.ntk, rtol=1e-6)


LARGE_VARIANCE_ACTS = [nk.Tanh(), nk.Elementwise(lambda z: 0.5 * (1 + np.tanh(z / 2)),
                                                 name="logistic-no-prime"),
                       nk.Elementwise(_softplus, name="softplus-no-prime")] + \
    [r[0] for r in RECTIFIERS]


@pytest.mark.parametrize("act", LARGE_VARIANCE_ACTS, ids=repr)
def test_large_variance_route_matches_series(act):
    """At a variance of 40, where the series still converges (4096 terms), the series and
    the large-variance route are two independent methods: they agree to 1e-11 of the
    entry's natural scale sqrt(E f(u)^2 E f(v)^2) (series tail <= 1e-11, route quadrature
    1e-13, finite-difference derivative ~1e-13 for functions given without fn_prime)."""
    from nnphys.theory.kernels import hermite
    q = np.full(4, 40.0)
    c = np.array([40.0, 12.0, -35.0, 0.0])
    q22 = np.array([40.0, 40.0, 40.0, 55.0])
    series = hermite._series_dual(act, q, c, q22, True, q.shape)
    route = hermite._large_variance_dual(act, q, c, q22, True,
                                         hermite._saturation(act.function))
    d1 = hermite._series_dual(act, q, q, q, True, q.shape)
    d2 = hermite._series_dual(act, q22, q22, q22, True, q.shape)
    for w in (0, 1):
        scale = np.sqrt(d1[w] * d2[w])
        assert np.all(np.abs(route[w] - series[w]) <= 1e-11 * scale), (route[w], series[w])


def _regime_entries():
    """Entries exercising each way of computing E[g g]: Gauss-Hermite inner rule (rho near
    1, conditional width < 0.6), the Taylor-summed product form (generic rho), the direct
    product grid (rho = 0.99 at q = 100: width 1.4 but kappa S^2 ~ 100), and a second
    variance below 1 (the standardised rule)."""
    q11 = np.array([100.0, 100.0, 100.0, 1e4, 1e4, 50.0, 1e6])
    q22 = np.array([100.0, 100.0, 100.0, 1e4, 0.25, 1e-3, 1e6])
    rho = np.array([1 - 1e-4, 0.3, 0.99, -0.995, 0.4, -0.7, 0.9999999])
    return q11, rho * np.sqrt(q11 * q22), q22


@pytest.mark.parametrize("act", LARGE_VARIANCE_ACTS[:1] + [r[0] for r in RECTIFIERS], ids=repr)
def test_fixed_rules_against_adaptive_route(act):
    """The vectorised fixed rules (Gauss-Legendre panels, Gauss-Hermite inner, Taylor
    product form) against the adaptive Gauss-Kronrod route on the same decomposition, to
    2e-13 of the scale (fixed rules accepted at 1e-13, adaptive converged to 1e-14), with
    every entry accepted by the fixed rules (no fallback)."""
    from nnphys.theory.kernels import hermite
    q11, c, q22 = _regime_entries()
    limit = hermite._saturation(act.function)
    qa, qb = np.maximum(q11, q22), np.minimum(q11, q22)
    scale, _ = _route_scales(limit, qa, qb)
    g = lambda z: act.function(z) - hermite._limit(limit, z)     # noqa: E731
    cond = lambda mu, s2: hermite._limit_mean(limit, mu, s2)     # noqa: E731
    calls = []
    original = hermite._pair_terms

    def spy(*args):
        calls.append(args[2].size)
        return original(*args)
    hermite._pair_terms = spy
    try:
        fixed = hermite._correction_terms(g, cond, lambda z: hermite._limit_size(limit, z),
                                          qa, qb, c, scale)
    finally:
        hermite._pair_terms = original
    assert not calls, f"{sum(calls)} entries fell back to the adaptive route"
    adaptive = np.array([hermite._pair_terms(g, cond, qa[i:i + 1], qb[i:i + 1], c[i:i + 1],
                                             float(scale[i]))[0] for i in range(qa.size)])
    assert np.all(np.abs(fixed - adaptive) <= 2e-13 * scale), (fixed - adaptive) / scale


@pytest.mark.parametrize("act,limit_dual", [
    (nk.Tanh(), lambda q11, q12, q22: duals.dual(nk.Sign(), q11 / q11, q12 / q11, q22 / q11,
                                                 False)[0]),
    (RECTIFIERS[0][0], lambda q11, q12, q22: duals.dual(nk.Relu(), q11 / q11, q12 / q11,
                                                         q22 / q11, False)[0] * q11)],
    ids=["tanh-sign", "softplus-relu"])
def test_large_variance_route_finite_up_to_1e300(act, limit_dual):
    """At variances 1e100 ... 1e300 (no q^2 formed) the kernels are finite and equal the
    sign (arcsine) or ReLU (arc-cosine) kernel, both evaluated on the variances scaled by
    1/q (their closed forms form q^2, which overflows): the corrections
    are O(q^-1/2) of the scale, far below 1e-12 of it."""
    from nnphys.theory.kernels import hermite
    for q in (1e100, 1e200, 1e300):
        q11 = np.full(4, q)
        q12 = q * np.array([1.0, 0.5, -0.3, -1.0])
        with np.errstate(over="raise", invalid="raise"):
            nngp, dot = hermite.dual(act, q11, q12, q11, True)
        assert np.all(np.isfinite(dot))
        ref = limit_dual(q11, q12, q11)
        scale = ref[0]
        assert np.all(np.abs(nngp - ref) <= 1e-12 * scale), (q, nngp, ref)


def test_input_kernel_overflowing_inputs_named():
    # fuzz census reproducer: inputs ~1e300 overflowed the Gram matrix to inf silently
    from nnphys.theory.kernels.kernel import input_kernel
    x = np.ones((3, 4))
    x[1, 2] = 1e300
    with pytest.raises(ParameterError, match="^x1:"):
        input_kernel(x, None)
    with pytest.raises(ParameterError, match="^x2:"):
        input_kernel(np.ones((3, 4)), x)
