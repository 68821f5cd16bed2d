"""Dual activations as exact sympy expressions.

``dual_kernel(activation)`` returns the expressions of

    K(q11, q12, q22)    = E[phi(u) phi(v)],
    Kdot(q11, q12, q22) = E[phi'(u) phi'(v)],      (u, v) ~ N(0, [[q11, q12], [q12, q22]]),

for polynomial and Hermite activations (derived here from the moment generating function
``E[exp(s u + t v)] = exp((s^2 q11 + 2 s t q12 + t^2 q22) / 2)``, independently of the
numeric Hermite-coefficient route of :mod:`.duals`) and for the closed-form activations
(the formulas of :mod:`.duals`: Cho & Saul 2009; Williams 1997; Tsuchida et al. 2021,
arXiv:2002.08517). Evaluate them at any precision with :meth:`DualKernel.evaluate`.

Example:
    >>> from nnphys.theory import kernels as nk
    >>> nk.dual_kernel(nk.Monomial(2)).nngp
    q11*q22 + 2*q12**2
"""

from __future__ import annotations

import dataclasses
import functools

import sympy as sp

from ...errors import ArgumentTypeError
from ...models import network as arch

__all__ = ["DualKernel", "dual_kernel", "Q11", "Q12", "Q22"]

Q11, Q12, Q22 = sp.symbols("q11 q12 q22", real=True)
_S = sp.sqrt(Q11 * Q22)
_RHO = Q12 / _S
_THETA = sp.acos(_RHO)


@dataclasses.dataclass(frozen=True)
class DualKernel:
    """Exact dual kernel of an activation, as sympy expressions in ``q11, q12, q22``."""

    activation: object
    nngp: sp.Expr
    dot: sp.Expr

    def latex(self) -> str:
        """LaTeX of both maps, ``K = ...`` and ``\\dot K = ...``."""
        return (f"K = {sp.latex(self.nngp)}, \\qquad "
                f"\\dot K = {sp.latex(self.dot)}")

    def evaluate(self, q11, q12, q22, dps: int = 30):
        """``(K, Kdot)`` as mpmath numbers at ``dps`` decimal digits."""
        subs = {Q11: sp.Float(str(q11), dps + 5), Q12: sp.Float(str(q12), dps + 5),
                Q22: sp.Float(str(q22), dps + 5)}
        return sp.N(self.nngp.subs(subs), dps), sp.N(self.dot.subs(subs), dps)


@functools.lru_cache(maxsize=None)
def _moment(i: int, j: int) -> sp.Expr:
    """``E[u^i v^j]`` by differentiating the moment generating function."""
    s, t = sp.symbols("s t")
    mgf = sp.exp((s ** 2 * Q11 + 2 * s * t * Q12 + t ** 2 * Q22) / 2)
    return sp.expand(sp.diff(mgf, s, i, t, j).subs({s: 0, t: 0}))


def _polynomial_pair(coef_f, coef_g) -> sp.Expr:
    return sp.expand(sum(cf * cg * _moment(i, j) for i, cf in enumerate(coef_f) if cf != 0
                         for j, cg in enumerate(coef_g) if cg != 0))


def _exact(c: float) -> sp.Expr:
    return sp.nsimplify(c, rational=False, tolerance=1e-15)


def _relu_pair():
    k1 = _S * (sp.sqrt(1 - _RHO ** 2) + (sp.pi - _THETA) * _RHO) / (2 * sp.pi)
    k0 = (sp.pi - _THETA) / (2 * sp.pi)
    return k1, k0


def _closed_form(act) -> tuple[sp.Expr, sp.Expr]:
    if isinstance(act, arch.ABRelu):
        a, b = _exact(act.a), _exact(act.b)
        k1, k0 = _relu_pair()
        return a * b * Q12 + (b - a) ** 2 * k1, a * b + (b - a) ** 2 * k0
    if isinstance(act, arch.Erf):
        a, b, c = _exact(act.a), _exact(act.b), _exact(act.c)
        d = (1 + 2 * b ** 2 * Q11) * (1 + 2 * b ** 2 * Q22)
        nngp = a ** 2 * 2 / sp.pi * sp.asin(2 * b ** 2 * Q12 / sp.sqrt(d)) + c ** 2
        dot = a ** 2 * b ** 2 * 4 / sp.pi / sp.sqrt(d - 4 * b ** 4 * Q12 ** 2)
        return nngp, dot
    if isinstance(act, arch.Gelu):
        p = (1 + Q11) * (1 + Q22)
        delta2 = p - Q12 ** 2
        angle = sp.asin(Q12 / sp.sqrt(p))
        nngp = Q12 / 4 + (Q12 * angle + (Q12 ** 2 + Q11 * Q22 * delta2) / (p * sp.sqrt(delta2))) \
            / (2 * sp.pi)
        dot = sp.Rational(1, 4) + angle / (2 * sp.pi) + Q12 / (2 * sp.pi * sp.sqrt(delta2)) * (
            1 / delta2 + (1 - Q11 * Q22) / p + 1)
        return nngp, dot
    if isinstance(act, arch.Sin):
        a, b, c = _exact(act.a), _exact(act.b), _exact(act.c)
        minus = sp.exp(-b ** 2 * (Q11 + Q22 - 2 * Q12) / 2)
        plus = sp.exp(-b ** 2 * (Q11 + Q22 + 2 * Q12) / 2) * sp.cos(2 * c)
        return a ** 2 / 2 * (minus - plus), a ** 2 * b ** 2 / 2 * (minus + plus)
    if isinstance(act, arch.Rbf):
        gamma = _exact(act.gamma)
        nngp = sp.exp(-gamma * (Q11 + Q22 - 2 * Q12))
        return nngp, 2 * gamma * nngp
    if isinstance(act, arch.Exp):
        a, b = _exact(act.a), _exact(act.b)
        nngp = a ** 2 * sp.exp(b ** 2 * (Q11 + Q22 + 2 * Q12) / 2)
        return nngp, b ** 2 * nngp
    if isinstance(act, arch.Gaussian):
        a, b = _exact(act.a), _exact(act.b)
        det = (1 - 2 * b * Q11) * (1 - 2 * b * Q22) - 4 * b ** 2 * Q12 ** 2
        return a ** 2 / sp.sqrt(det), 4 * a ** 2 * b ** 2 * Q12 / det ** sp.Rational(3, 2)
    if isinstance(act, arch.Sign):
        return 1 - 2 * _THETA / sp.pi, sp.Integer(0)
    if isinstance(act, arch.Identity):
        return Q12, sp.Integer(1)
    if isinstance(act, arch.RectifiedMonomial):
        n = act.degree
        theta = sp.Symbol("theta")
        j = sp.simplify(_j_expression(n, theta))
        nngp = _S ** n * j.subs(theta, _THETA) / (2 * sp.pi)
        if n == 0:
            return nngp, sp.Integer(0)
        jm = sp.simplify(_j_expression(n - 1, theta))
        return nngp, n ** 2 * _S ** (n - 1) * jm.subs(theta, _THETA) / (2 * sp.pi)
    raise NotImplementedError(f"{act!r}: no exact dual kernel; use Elementwise for quadrature")


def _j_expression(n: int, t: sp.Symbol) -> sp.Expr:
    """Cho & Saul's ``J_n(t) = (-1)^n sin^(2n+1) (1/sin d/dt)^n ((pi - t)/sin)``."""
    f = (sp.pi - t) / sp.sin(t)
    for _ in range(n):
        f = sp.diff(f, t) / sp.sin(t)
    return (-1) ** n * sp.sin(t) ** (2 * n + 1) * f


def dual_kernel(activation) -> DualKernel:
    """The exact dual kernel of ``activation`` (see module docstring).

    Raises:
        NotImplementedError: for ``Elementwise`` functions without a closed form.
    """
    if not isinstance(activation, arch.Activation):
        raise ArgumentTypeError(f"activation: must be an activation layer, got "
                                f"{type(activation).__name__}")
    if isinstance(activation, arch.Polynomial):
        coef = [_exact(c) for c in activation.coef]
        dcoef = [i * c for i, c in enumerate(coef)][1:] or [sp.Integer(0)]
        return DualKernel(activation, _polynomial_pair(coef, coef),
                          _polynomial_pair(dcoef, dcoef))
    return DualKernel(activation, *_closed_form(activation))
