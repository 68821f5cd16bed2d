"""Leading finite-width (1/n) corrections of deep random networks: the four-point vertex
``V`` and the 1/n shift ``K1`` of the two-point function.

Setting (Roberts, Yaida & Hanin, *The Principles of Deep Learning Theory* (PDLT), 2022,
arXiv:2106.10165, ch. 4-5): ``z^(1) = b + W x``, ``z^(l+1) = b + W phi(z^(l))`` with
``W_ij ~ N(0, C_W / n)``, ``b_i ~ N(0, C_b)``, all hidden widths ``n``. The signatures
take the scales ``W_std = sqrt(C_W)`` and ``b_std = sqrt(C_b)`` (the package's
vocabulary); the recursions use the book's variances. To order 1/n, with
neuron indices ``i`` and input indices ``a``::

    E[z_i;a1 z_j;a2]                = delta_ij (K_a1a2 + K1_a1a2 / n)
    E[z_i;a1 z_i;a2 z_j;a3 z_j;a4]c = (1/n) [delta_ij V_(a1a2)(a3a4) + perms]

Given layer ``l``, the next preactivations are exactly Gaussian with the empirical
covariance ``S = C_b + (C_W/n) sum_j phi(z_j) phi(z_j)^T``; the fluctuation of ``S`` is
``V/n`` and its mean, taken over the weakly non-Gaussian layer ``l`` (Edgeworth expansion of
its marginals), shifts ``K`` by ``K1/n``. This gives the recursions (PDLT eqs. 4.90 and
4.115 in the book's numbering; brackets are Gaussian averages with kernel ``K = K^(l)``,
``s = phi(z)``, raised indices contract with ``K^{-1}``)::

    K^(l+1)_ab       = C_b + C_W <s_a s_b>
    V^(l+1)_(ab)(cd) = C_W^2 [<s_a s_b s_c s_d> - <s_a s_b><s_c s_d>]
                       + (C_W^2/4) V^(ef)(gh) <s_a s_b (z_e z_f - K_ef)> <s_c s_d (z_g z_h - K_gh)>
    K1^(l+1)_ab      = (C_W/2) K1^(ef) <s_a s_b (z_e z_f - K_ef)> + (C_W/8) V_(ef)(gh) <s_a s_b H^efgh>

with ``H^efgh`` the fourth Hermite tensor of ``K`` (its indices raised: the Edgeworth
correction of a density with fourth cumulants ``V/n`` is ``(1/8) V_(ef)(gh) H^efgh / n``) and ``V^(1) = K1^(1) = 0`` (the first layer is
exactly Gaussian). For one input these read, with ``chi_par = (C_W/2K^2) <s^2 (z^2 - K)>``::

    V^(l+1)  = C_W^2 (<s^4> - <s^2>^2) + chi_par^2 V^(l)
    K1^(l+1) = chi_par K1^(l) + (C_W/8) V^(l) <s^2 (z^4 - 6 K z^2 + 3 K^2)> / K^4

The normalized excess kurtosis of a layer-``l`` preactivation is ``3 V^(l) / (n K^(l)^2)``
(PDLT's ``V/(n K^2)`` is a third of it). At criticality ReLU has ``V/K^2 = 5 (l - 1)`` and
``K1 = 0``; tanh has ``V/(l K^2) -> 2/3`` and ``K1 -> -1/6`` (PDLT sec. 5.4).

For a scale-invariant activation (``phi(z) = a_+ z`` above 0, ``a_- z`` below) with
``C_b = 0`` and Gaussian weights the single-input result is known to all orders in 1/n:
``S_l = K prod_k X_k`` with independent ``X_k = (C_W/n) sum_j a_j^2 g_j^2``, so that
``E[z^4] / (3 E[z^2]^2) = (1 + (3 A_4/A_2^2 - 1)/n)^(l-1)`` with ``A_p = (a_+^p + a_-^p)/2``
(ReLU: ``(1 + 5/n)^(l-1)``; the exponential growth in ``sum 1/n_l`` of Hanin & Rolnick
2018, arXiv:1803.01719) -- see :func:`scale_invariant_excess_kurtosis`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, NumericalError, ParameterError
from ..results import Result
from .criticality import as_activation
from .gaussian import expect

__all__ = ["FiniteWidthRecursion", "recursion",
           "scale_invariant_excess_kurtosis", "SymbolicRecursion", "symbolic_recursion"]

_MAX_DEPTH = 100_000
_K_MAX = 1e60             # beyond, K^4 and fourth moments near overflow: the signal has exploded
_K_MIN = 1e-60            # below, K^4 (a divisor of the K1 update) underflows: the signal has died
_DEFAULT_ORDER = {1: 128, 2: 64, 3: 24, 4: 12}    # Gauss-Hermite nodes per input dimension


@dataclasses.dataclass(frozen=True)
class FiniteWidthRecursion(Result):
    """``K``, ``V`` and ``K1`` at layers ``1..depth`` (index ``l - 1``).

    Single input: arrays of shape ``(depth,)``. Several inputs: ``K``, ``K1`` of shape
    ``(depth, m, m)`` and ``V`` of shape ``(depth, m, m, m, m)``.
    """

    K: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    V: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    K1: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    def excess_kurtosis(self, width: float) -> np.ndarray:
        """Leading-order ``3 V / (n K^2)`` of a single preactivation at every layer (for
        several inputs, of input ``a``'s preactivation, shape ``(depth, m)``); layer 1 is
        Gaussian (0). Valid while ``depth / width`` times the class constant is small
        (ReLU: ``15 l / n``); see :func:`scale_invariant_excess_kurtosis` for all orders."""
        width = _check_width(width)
        if self.K.ndim == 1:
            return 3.0 * self.V / (width * self.K ** 2)
        diag_k = np.einsum("laa->la", self.K)
        diag_v = np.einsum("laaaa->la", self.V)
        return 3.0 * diag_v / (width * diag_k ** 2)


def _check_width(width) -> float:
    return checks.real("width", width, low=1.0)


def _variances(depth, W_std, b_std) -> tuple[float, float]:
    """Check the arguments; return ``(C_W, C_b) = (W_std^2, b_std^2)``."""
    checks.integer("depth", depth, low=1, high=_MAX_DEPTH)
    # beyond 1e150 the variances W_std^2, b_std^2 leave float64
    return (checks.positive("W_std", W_std, high=1e150) ** 2,
            checks.positive("b_std", b_std, allow_zero=True, high=1e150) ** 2)


def _single_input(act, depth, cw, cb, q0):
    K = np.empty(depth)
    V = np.zeros(depth)
    K1 = np.zeros(depth)
    K[0] = q0
    for l in range(depth - 1):
        k = K[l]
        if not _K_MIN < k < _K_MAX:
            raise ParameterError(f"the kernel reached K = {k:g} at layer {l + 1}: the signal "
                                 f"dies or explodes (the 1/n recursion needs {_K_MIN:g} < K < {_K_MAX:g}; "
                                 "choose depth, W_std, b_std accordingly)")
        m2 = expect(lambda u: act.fn(u) ** 2, k)
        m4 = expect(lambda u: act.fn(u) ** 4, k)
        m2z2 = expect(lambda u: act.fn(u) ** 2 * u * u, k)
        m2z4 = expect(lambda u: act.fn(u) ** 2 * u ** 4, k)
        chi_par = cw * (m2z2 - k * m2) / (2 * k * k)
        K[l + 1] = cb + cw * m2
        V[l + 1] = cw * cw * (m4 - m2 * m2) + chi_par ** 2 * V[l]
        K1[l + 1] = chi_par * K1[l] + cw / 8 * V[l] * (m2z4 - 6 * k * m2z2 + 3 * k * k * m2) / k ** 4
    return K, V, K1


def _gauss_hermite_nodes(kernel: np.ndarray, order: int):
    """Nodes ``z`` (shape ``(M, m)``) and weights of a tensor Gauss-Hermite rule for
    ``N(0, kernel)`` (``z = L xi`` with ``L L^T = kernel``)."""
    xi, w = np.polynomial.hermite_e.hermegauss(order)
    w = w / w.sum()
    m = kernel.shape[0]
    grid = np.stack(np.meshgrid(*([xi] * m), indexing="ij"), -1).reshape(-1, m)
    weights = np.prod(np.stack(np.meshgrid(*([w] * m), indexing="ij"), -1).reshape(-1, m), -1)
    chol = np.linalg.cholesky(kernel)
    return grid @ chol.T, weights


def _hermite4(zu: np.ndarray, kinv: np.ndarray) -> np.ndarray:
    """Fourth Hermite tensor of ``N(0, K)`` at every node, ``zu = K^{-1} z`` (shape (M, m))::

        H^{efgh} = z^e z^f z^g z^h - (K^{ef} z^g z^h + 5 perms) + (K^{ef} K^{gh} + 2 perms)
    """
    e = np.einsum
    h = e("ke,kf,kg,kh->kefgh", zu, zu, zu, zu)
    h -= (e("ef,kg,kh->kefgh", kinv, zu, zu) + e("eg,kf,kh->kefgh", kinv, zu, zu)
          + e("eh,kf,kg->kefgh", kinv, zu, zu) + e("fg,ke,kh->kefgh", kinv, zu, zu)
          + e("fh,ke,kg->kefgh", kinv, zu, zu) + e("gh,ke,kf->kefgh", kinv, zu, zu))
    h += (e("ef,gh->efgh", kinv, kinv) + e("eg,fh->efgh", kinv, kinv)
          + e("eh,fg->efgh", kinv, kinv))[None]
    return h


def _multi_input(act, depth, cw, cb, kernel0, order):
    m = kernel0.shape[0]
    K = np.empty((depth, m, m))
    V = np.zeros((depth, m, m, m, m))
    K1 = np.zeros((depth, m, m))
    K[0] = kernel0
    for l in range(depth - 1):
        k = K[l]
        eig = np.linalg.eigvalsh(k)
        if not (np.all(np.isfinite(eig)) and eig[0] > 1e-10 * eig[-1]):
            raise ParameterError(f"the kernel of the inputs became singular at layer {l + 1} "
                                 "(inputs too correlated for the several-input recursion; "
                                 "use distinct inputs or fewer layers)")
        z, w = _gauss_hermite_nodes(k, order)
        kinv = np.linalg.inv(k)
        s = act.fn(z)
        ss = np.einsum("ka,kb->kab", s, s)
        zz = np.einsum("ke,kf->kef", z, z) - k[None]
        pair = np.einsum("k,kab->ab", w, ss)
        four = np.einsum("k,kab,kcd->abcd", w, ss, ss)
        d = np.einsum("k,kab,kef->abef", w, ss, zz)                # <s_a s_b (z_e z_f - K_ef)>
        vup = np.einsum("efgh,ei,fj,gk,hl->ijkl", V[l], kinv, kinv, kinv, kinv)
        k1up = kinv @ K1[l] @ kinv
        hermite = _hermite4(z @ kinv, kinv)
        h_avg = np.einsum("k,kab,kefgh->abefgh", w, ss, hermite)
        K[l + 1] = cb + cw * pair
        V[l + 1] = cw * cw * (four - np.einsum("ab,cd->abcd", pair, pair)) + \
            cw * cw / 4 * np.einsum("efgh,abef,cdgh->abcd", vup, d, d)
        K1[l + 1] = cw / 2 * np.einsum("ef,abef->ab", k1up, d) + \
            cw / 8 * np.einsum("efgh,abefgh->ab", V[l], h_avg)
    return K, V, K1


def recursion(activation, depth: int, W_std: float, b_std: float, q0=1.0,
              quadrature_order: int | None = None) -> FiniteWidthRecursion:
    """``K^(l)``, ``V^(l)``, ``K1^(l)`` for ``l = 1..depth`` (module docstring).

    A finite recursion (no iteration to a tolerance): the record's ``converged``,
    ``iterations`` and ``residual`` are ``None``; the Gaussian expectations raise
    :class:`~nnphys.errors.ConvergenceError` if their quadrature misses its tolerance.

    Args:
        activation: an activation of :mod:`nnphys.theory.kernels` or a numpy callable.
        depth: number of layers ``L`` (results at the preactivations of layers 1..L).
        W_std, b_std: the weight and bias scales, ``C_W = W_std^2``, ``C_b = b_std^2``.
        q0: the first layer's kernel ``K^(1)``: a variance (one input) or an ``(m, m)``
            positive definite matrix (several inputs).
        quadrature_order: Gauss-Hermite nodes per input dimension for several inputs
            (default 128, 64, 24, 12 and 10 for m = 1, 2, 3, 4 and more; exact for polynomial activations of degree
            below ``order``, spectrally accurate for smooth ones, only algebraically for
            kinked ones such as ReLU). One input uses the adaptive rule of
            :mod:`nnphys.theory.gaussian`, accurate to ~1e-12 for every activation.
    """
    act = as_activation(activation)
    sigma_w2, sigma_b2 = _variances(depth, W_std, b_std)
    q0 = checks.finite_array("q0", q0)
    params = {"activation": repr(act), "depth": int(depth), "W_std": float(W_std),
              "b_std": float(b_std)}
    if q0.ndim == 0:
        if not _K_MIN < q0 < _K_MAX:
            raise ParameterError(f"q0: must be in ({_K_MIN:g}, {_K_MAX:g}) (the range of K "
                                 f"the 1/n recursion handles in float64), got {float(q0):g}")
        K, V, K1 = _single_input(act, depth, sigma_w2, sigma_b2, float(q0))
        params["q0"] = float(q0)
    else:
        if q0.ndim != 2 or q0.shape[0] != q0.shape[1] or not np.allclose(q0, q0.T) or \
                np.linalg.eigvalsh(q0)[0] <= 0:
            raise ParameterError("q0: must be a variance or a symmetric positive definite matrix")
        order = quadrature_order or _DEFAULT_ORDER.get(q0.shape[0], 10)
        K, V, K1 = _multi_input(act, depth, sigma_w2, sigma_b2, q0, order)
        params.update(q0=q0.tolist(), quadrature_order=order)
    if not (np.all(np.isfinite(K)) and np.all(np.isfinite(V)) and np.all(np.isfinite(K1))):
        raise ParameterError("the recursion overflowed: the signal explodes at these "
                             "(depth, W_std, b_std)")
    return FiniteWidthRecursion(parameters=params, K=K, V=V, K1=K1)


def scale_invariant_excess_kurtosis(depth, width, a_plus: float = 1.0,
                                    a_minus: float = 0.0) -> np.ndarray:
    """All-orders excess kurtosis of a layer-``depth`` preactivation for a scale-invariant
    activation (``a_+ z`` above 0, ``a_- z`` below; ReLU by default), Gaussian weights,
    ``C_b = 0``, any ``C_W`` (it cancels)::

        kappa = 3 [(1 + (3 A_4 / A_2^2 - 1) / n)^(l - 1) - 1],   ReLU: 3 [(1 + 5/n)^(l-1) - 1].

    Its expansion ``15 (l - 1)/n + 75 (l - 1)(l - 2)/(2 n^2) + ...`` starts with the
    leading order of :meth:`FiniteWidthRecursion.excess_kurtosis`. ``depth`` and ``width``
    broadcast.
    """
    depth = checks.finite_array("depth", depth, low=1.0)
    width = checks.finite_array("width", width, low=1.0)
    # a^4 must stay in float64
    a_plus = checks.real("a_plus", a_plus, low=-1e75, high=1e75)
    a_minus = checks.real("a_minus", a_minus, low=-1e75, high=1e75)
    a2 = 0.5 * (a_plus ** 2 + a_minus ** 2)
    a4 = 0.5 * (a_plus ** 4 + a_minus ** 4)
    if a2 == 0:
        raise ParameterError("a_plus, a_minus: not both zero")
    growth = 3 * a4 / a2 ** 2 - 1
    with np.errstate(over="ignore"):
        out = 3.0 * np.expm1((depth - 1) * np.log1p(growth / width))
    if not np.all(np.isfinite(out)):
        raise NumericalError("depth: the excess kurtosis exp((depth - 1) log(1 + growth / "
                             "width)) overflows float64")
    return out


@dataclasses.dataclass(frozen=True)
class SymbolicRecursion(Result):
    """``K``, ``V``, ``K1`` at layers ``1..depth`` as lists of sympy expressions (exact; no
    solver health)."""

    K: list = dataclasses.field(default_factory=list)
    V: list = dataclasses.field(default_factory=list)
    K1: list = dataclasses.field(default_factory=list)


#: The deepest exact recursion: sympy's expressions grow with every layer.
MAX_SYMBOLIC_DEPTH = 32


def symbolic_recursion(coefficients, depth: int, W_std, b_std, q0=1) -> SymbolicRecursion:
    """The single-input recursion in exact arithmetic (sympy) for a polynomial activation
    ``phi(z) = sum_p coefficients[p] z^p``, using ``E[z^(2k)] = (2k - 1)!! K^k``.

    Arguments may be sympy numbers or symbols (``C_W = W_std**2``, ``C_b = b_std**2``:
    pass ``sympy.sqrt(2)`` for ``C_W = 2``). Returns the sympy expressions for layers
    ``1..depth``; used to check the quadrature of :func:`recursion`. The expressions grow
    with every layer, so ``depth`` is at most :data:`MAX_SYMBOLIC_DEPTH`.
    """
    import sympy as sp

    depth = checks.integer("depth", depth, low=1, high=MAX_SYMBOLIC_DEPTH)
    if isinstance(coefficients, (str, bytes)) or not hasattr(coefficients, "__iter__"):
        raise ArgumentTypeError(f"coefficients: must be a sequence of numbers, got "
                                f"{type(coefficients).__name__}")

    def exact(name, value):
        try:
            expr = sp.sympify(value, strict=True)
        except (sp.SympifyError, TypeError, ValueError):
            raise ArgumentTypeError(f"{name}: must be a number or a sympy expression, got "
                                    f"{value!r}") from None
        if not isinstance(expr, sp.Expr) or expr.has(sp.nan, sp.oo, -sp.oo, sp.zoo) \
                or expr.is_real is False:
            raise ParameterError(f"{name}: must be a finite real number or a sympy "
                                 f"expression, got {value!r}")
        return expr

    z, kk = sp.symbols("z K", positive=True)
    phi = sum(exact("coefficients", c) * z ** p for p, c in enumerate(coefficients))

    def gaussian(expr):
        poly = sp.Poly(sp.expand(expr), z)
        return sum(coef * (sp.factorial2(p - 1) if p else 1) * kk ** sp.Rational(p, 2)
                   for (p,), coef in poly.terms() if p % 2 == 0)

    m2, m4 = gaussian(phi ** 2), gaussian(phi ** 4)
    m2z2, m2z4 = gaussian(phi ** 2 * z ** 2), gaussian(phi ** 2 * z ** 4)
    cw, cb = exact("W_std", W_std) ** 2, exact("b_std", b_std) ** 2
    K, V, K1 = [exact("q0", q0)], [sp.Integer(0)], [sp.Integer(0)]
    for _ in range(depth - 1):
        sub = {kk: K[-1]}
        chi = sp.simplify((cw * (m2z2 - kk * m2) / (2 * kk ** 2)).subs(sub))
        source = ((m2z4 - 6 * kk * m2z2 + 3 * kk ** 2 * m2) / kk ** 4).subs(sub)
        k_next = sp.simplify(cb + cw * m2.subs(sub))
        v_next = sp.simplify(cw ** 2 * (m4 - m2 ** 2).subs(sub) + chi ** 2 * V[-1])
        k1_next = sp.simplify(chi * K1[-1] + cw / 8 * V[-1] * source)
        K.append(k_next)
        V.append(v_next)
        K1.append(k1_next)
    return SymbolicRecursion(parameters={"depth": int(depth)}, K=K, V=V, K1=K1)
