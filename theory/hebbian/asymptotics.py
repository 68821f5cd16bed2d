r"""Small-load asymptotics of the Hopfield RS theory, derived symbolically with sympy.

Near ``T = 1`` and ``alpha -> 0`` put ``eps = alpha^(1/4)`` and

    m = eps sqrt(M),   q = eps^2 Q,   alpha r = eps^2 rho,   T = 1 - c eps^2 .

Expanding the RS free energy (AGS 1987, eq. 4.12; see :mod:`.hopfield`) with
``ln 2cosh x = ln 2 + x^2/2 - x^4/12 + O(x^6)`` and Gaussian moments of ``z``, the terms of
order ``eps^2`` cancel and ``f = const + eps^4 Phi(M, rho, Q; c) + o(alpha)``. The
stationarity of ``Phi`` gives the reduced equations ``Q = M + rho``, ``c = M/3 + rho``,
``rho = Q/(Q - c)^2``. The retrieval fold (``T_M``) is the smallest ``c`` along the branch
``c(M)``; the first-order line (``T_c``) is where ``Phi_R = Phi_SG`` (``M = 0``), so

    T_M = 1 - c_M sqrt(alpha),   T_c = 1 - c_c sqrt(alpha)   (c_M = 1.954084, c_c = 2.595876).

AGS 1985 quote ``T_M ~ 1 - 1.95 sqrt(alpha)`` and ``T_c ~ 1 - 2.6 sqrt(alpha)``.
"""

from __future__ import annotations

import functools

from ...errors import NumericalError

__all__ = ["hopfield_small_alpha"]


@functools.lru_cache(maxsize=None)
def hopfield_small_alpha() -> dict:
    """Derive ``Phi`` and the constants ``c_M``, ``c_c`` (floats) with sympy."""
    import sympy as sp
    eps, c, z = sp.symbols("epsilon c z", real=True)
    M, rho, Q = sp.symbols("M rho Q", positive=True)
    alpha = eps ** 4
    T = 1 - c * eps ** 2
    beta = 1 / T
    m, q, sig2 = eps * sp.sqrt(M), eps ** 2 * Q, eps ** 2 * rho
    x = sp.Symbol("x")
    lncosh = sp.series(sp.log(2 * sp.cosh(x)), x, 0, 6).removeO()
    arg = beta * (m + sp.sqrt(sig2) * z)
    poly = sp.Poly(sp.expand(lncosh.subs(x, arg)), z)
    gauss_mean = sum(coef * (sp.factorial2(k - 1) if k % 2 == 0 else 0)
                     for (k,), coef in poly.terms())
    one_minus_C = 1 - beta + beta * q
    f = (alpha / 2 + m ** 2 / 2
         + alpha / (2 * beta) * (sp.log(sp.expand(one_minus_C / eps ** 2)) + sp.log(eps ** 2)
                                 - beta * q / one_minus_C)
         + beta / 2 * sig2 * (1 - q) - T * gauss_mean)
    series = sp.expand(sp.series(f, eps, 0, 5).removeO())
    # constants independent of the order parameters (-T ln 2, alpha ln(eps)) are dropped
    if sp.simplify(series.coeff(eps, 2).subs(sp.log(2), 0)) != 0:
        raise NumericalError("small-alpha expansion: O(eps^2) terms did not cancel")
    phi = sp.expand(series.coeff(eps, 4).subs({sp.log(eps): 0, sp.log(2): 0}))
    # stationarity: dPhi/dM = dPhi/drho = dPhi/dQ = 0
    eqs = [sp.diff(phi, v) for v in (M, rho, Q)]
    sol_Q = sp.solve(eqs[1], Q)            # dPhi/drho = 0  ->  Q = M + rho (linear in Q)
    Q_of = sol_Q[0]
    c_of = sp.solve(eqs[0].subs(Q, Q_of), c)[0]             # c = M/3 + rho
    rho_eq = sp.simplify(eqs[2].subs(Q, Q_of).subs(c, c_of))
    rho_of = [s for s in sp.solve(rho_eq, rho) if s != 0][0]   # rho = 9M/(4M^2 - 9)
    c_branch = sp.simplify(c_of.subs(rho, rho_of))
    fold = [s for s in sp.solve(sp.diff(c_branch, M), M) if s.is_real and s > sp.Rational(3, 2)]
    c_M = float(c_branch.subs(M, fold[0]))
    # spin glass: M = 0, so Q = rho and rho = Q/(Q - c)^2 give Q = c + 1
    phi_sg = sp.simplify(phi.subs({M: 0, rho: Q}).subs(Q, c + 1))
    phi_r = phi.subs(Q, Q_of).subs(rho, rho_of).subs(c, c_branch)
    # Phi_R(M) = Phi_SG(c(M)) on the stable (large-M) part of the branch
    M_c = sp.nsolve(phi_r - phi_sg.subs(c, c_branch), M, float(fold[0]) * 1.5)
    c_c = float(c_branch.subs(M, M_c))
    return {"c_M": c_M, "c_c": c_c, "Phi": phi, "c_of_M": c_branch}
