r"""Multitasking Hebbian network: parallel vs hierarchical retrieval of diluted patterns.

Model (Agliari, Barra, Galluzzi, Guerra, Moauro, PRL 109, 268101 (2012), arXiv:1111.5191;
Agliari, Barra, Galluzzi, Isopi, arXiv:1304.4488). ``K`` patterns (low storage, K = O(1))
with entries ``xi^k_i in {-1, 0, +1}``, ``P(0) = d`` and ``P(+-1) = (1 - d)/2``;
``J_ij = (1/N) sum_k xi^k_i xi^k_j`` and ``H = -(N/2) sum_k m_k^2``. At low storage the RS
theory is exact: with ``xi = (xi^1, ..., xi^K)`` one site's pattern entries,

    m_k = E_xi[ xi^k tanh(beta xi . m) ] ,     f = |m|^2/2 - T E_xi ln 2cosh(beta xi . m)

(the average is an exact enumeration over the 3^K entries). A solution is stable iff the
Hessian ``I - beta E[xi xi^T sech^2(beta xi . m)]`` is positive definite. The paramagnet
loses stability at ``T_c = 1 - d`` for every K.

T = 0 hierarchical ("power-law") state: each spin follows the first pattern non-zero on its
site, ``m_k = (1 - d) d^{k-1}``; it is a fixed point iff ``m_1 > sum_{l>1} m_l``, i.e.
``sum_{j=1}^{K-1} d^j < 1`` (d < 0.618034 for K = 3, d -> 1/2 as K -> infinity).

K = 2 at finite T (Landau expansion near T_c, derived here; Agliari et al., arXiv:1111.5191): the
pure state (m_2 = 0) appears stable below T_c iff d < 2/3, the parallel state (m_1 = m_2)
iff d > 2/3; both turn hierarchical at lower T.

Spec: :class:`nnphys.models.hebbian.Multitask` (``solve`` takes it, or ``d, T, K``), the
same object :func:`nnphys.sim.montecarlo.network` simulates.

The dilution thresholds and amplitude laws follow the abstracts and the standard model;
Agliari et al. 2308.04106 (J. Stat. Mech. 2023) use the same Hebbian Hamiltonian.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math

import numpy as np
from ... import checks
from ..._numba import jit
from ...errors import ConvergenceError, ParameterError
from ...models.hebbian import Multitask
from ...results import FAILED, PhaseDiagram, Result, register_phase_diagram
from . import _roots

__all__ = ["MultitaskState", "HierarchyThreshold", "InstabilityTemperatures", "solve",
           "hierarchical_amplitudes", "hierarchy_threshold", "critical_temperature",
           "instability_temperature", "phase_diagram", "PHASES"]

PHASES = {0: "paramagnet", 1: "pure", 2: "parallel", 3: "hierarchical"}
_STARTS = ("pure", "parallel", "hierarchical")
_TOL = 1e-13


@dataclasses.dataclass(frozen=True)
class MultitaskState(Result):
    """A fixed point: amplitudes ``m`` (K,), free energy ``f``, ``stable``, its ``kind``
    (paramagnet / pure / parallel / hierarchical)."""

    d: float = 0.0
    T: float = 0.0
    m: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    f: float = 0.0
    stable: bool = True
    min_eigenvalue: float = 0.0
    kind: str = ""


@dataclasses.dataclass(frozen=True)
class HierarchyThreshold(Result):
    """``d_K``, the root of ``sum_{j=1}^{K-1} d^j = 1`` (Brent; ``residual`` = |sum - 1|;
    closed forms for K <= 2 report ``None``)."""

    K: int = 3
    d_K: float = 0.0


@dataclasses.dataclass(frozen=True)
class InstabilityTemperatures(Result):
    """Temperatures ``T`` (ascending) where the ``state``'s smallest Hessian eigenvalue
    crosses 0 (Brent on each bracket of a 400-point scan: ``iterations`` summed,
    ``residual`` the largest ``|lambda_min|`` at the roots)."""

    d: float = 0.0
    K: int = 2
    state: str = ""
    T: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


def _check(d, T, K):
    return Multitask(d=d, T=T, K=K)


@functools.lru_cache(maxsize=None)
def _entries(K: int):
    return np.array(list(itertools.product((-1.0, 0.0, 1.0), repeat=K)))


def _weights(d, K):
    e = _entries(K)
    return np.prod(np.where(e == 0, d, (1 - d) / 2), axis=1)


def _susceptibility(m, d, T, K):
    """``E[xi xi^T beta sech^2(beta xi . m)]`` at a fixed point (T > 0): the Jacobian of the
    RS map :func:`_iterate` iterates, whose ``1 - chi`` decides stability."""
    e, w = _entries(K), _weights(d, K)
    t = np.tanh(e @ m / T)
    return (e.T * (w * (1 - t * t) / T)) @ e


@jit
def _iterate(e, w, m, T, parallel, maxiter, tol):
    """The iteration of :func:`solve` compiled (near the critical line it takes ~10^5 steps
    of this 3^K-term map): ``m <- sum_a w_a t(e_a . m) e_a`` with ``t = tanh(./T)`` (``sign``
    at T = 0), every component set to their mean when ``parallel``, until the step
    ``max_k |dm_k|`` is below ``tol``. Returns ``(m, iterations, last step, converged)``."""
    m = m.copy()
    new = np.empty_like(m)
    res = np.inf
    for it in range(1, maxiter + 1):
        new[:] = 0.0
        for a in range(e.shape[0]):
            h = 0.0
            for k in range(m.size):
                h += e[a, k] * m[k]
            t = np.sign(h) if T == 0 else np.tanh(h / T)
            for k in range(m.size):
                new[k] += w[a] * t * e[a, k]
        if parallel:
            new[:] = new.mean()
        res = np.max(np.abs(new - m))
        m[:] = new
        if res < tol:
            return m, it, res, True
    return m, maxiter, res, False


def _free_energy(m, d, T, K):
    e, w = _entries(K), _weights(d, K)
    h = np.abs(e @ m)
    if T == 0:
        return 0.5 * m @ m - w @ h
    return 0.5 * m @ m - w @ (h + T * np.log1p(np.exp(-2 * h / T)))


def _classify(m, tol=1e-7):
    a = np.sort(np.abs(m))[::-1]
    if a[0] < tol:
        return "paramagnet"
    if a.size == 1 or a[1] < tol:
        return "pure"
    if a[0] - a[-1] < tol:
        return "parallel"
    return "hierarchical"


def hierarchical_amplitudes(d: float, K: int) -> np.ndarray:  # a closed form
    """T = 0 hierarchical amplitudes ``m_k = (1 - d) d^{k-1}``."""
    _check(d, 0.0, K)
    return (1 - d) * d ** np.arange(K)


def hierarchy_threshold(K: int, *, strict: bool = True) -> HierarchyThreshold:
    """``d_K``: the hierarchy is a T = 0 fixed point iff ``sum_{j=1}^{K-1} d^j < 1``
    (``inf`` for K = 1, 1 for K = 2; 0.618034 for K = 3; 1/2 as K -> infinity)."""
    K = checks.integer("K", K, low=1)
    if K <= 2:
        return HierarchyThreshold(parameters={"K": K}, K=K, d_K=math.inf if K == 1 else 1.0)
    # sum_{j=1}^{K-1} d^j = d (1 - d^(K-1)) / (1 - d): O(1) work at any K
    def excess(d):
        return (K - 1.0 if d == 1 else d * (1 - d ** (K - 1)) / (1 - d)) - 1
    d, ok, it, res = _roots.brentq(excess, 0.0, 1.0, xtol=1e-15, what="d_K", strict=strict)
    return HierarchyThreshold(converged=ok, iterations=it, residual=res,
                              parameters={"K": K}, K=K, d_K=d)


def critical_temperature(d: float) -> float:
    """``T_c = 1 - d``: the paramagnet is unstable below it (any K)."""
    _check(d, 0.0, 1)
    return 1.0 - d


def _start(kind, d, K):
    if kind == "pure":
        m = np.zeros(K)
        m[0] = 1 - d
    elif kind == "parallel":
        m = np.full(K, (1 - d) / max(1, K) + 1e-3)
    elif kind == "hierarchical":
        m = (1 - d) * d ** np.arange(K)
        m[1:] += 1e-6          # off the invariant subspaces of the other two starts
    else:
        raise ParameterError(f"start: one of {_STARTS} or an array, got {kind!r}")
    return m


def solve(d, T: float | None = None, K: int | None = None, start="hierarchical",
          maxiter: int = 200000, *, strict: bool = True) -> MultitaskState:
    """Fixed point of the RS equations reached by iteration from ``start`` (``"pure"``,
    ``"parallel"``, ``"hierarchical"`` or an array), with its stability and free energy.
    ``d`` may be a :class:`~nnphys.models.hebbian.Multitask` spec (then it gives ``T, K``).

    Pure and parallel starts stay in their invariant subspaces (m_2 = ... = 0, or all m_k
    equal), so they find those states even when unstable; ``stable`` says whether they are.
    ``residual`` is the last step ``max_k |dm_k|`` of the iteration (converged below 1e-13);
    without convergence it raises :class:`ConvergenceError` (``strict=False``: the last
    iterate, ``converged=False``).
    """
    if isinstance(d, Multitask):
        if T is not None or K is not None:
            raise ParameterError("T, K: given by the Multitask spec; do not pass them too")
        spec = d
    else:
        if T is None or K is None:
            raise ParameterError("T, K: required (or pass a Multitask spec)")
        spec = _check(d, T, K)
    d, T, K = spec.d, spec.T, spec.K
    maxiter = checks.integer("maxiter", maxiter, low=1)
    m = np.array(_start(start, d, K) if isinstance(start, str) else start, float)
    if m.shape != (K,):
        raise ParameterError(f"start: shape ({K},) expected, got {m.shape}")
    m, it, res, ok = _iterate(_entries(K), _weights(d, K), m, float(T),
                              isinstance(start, str) and start == "parallel", maxiter, _TOL)
    it, res, ok = int(it), float(res), bool(ok)
    if not ok and strict:
        raise ConvergenceError(f"no fixed point after {maxiter} iterations at d={d}, T={T} "
                               f"(residual {res:.1e}; near a transition?)", iterations=maxiter,
                               residual=res)
    if T == 0:
        lam, stable = 1.0, True            # sign dynamics: a fixed point is a local minimum
    else:
        chi = _susceptibility(m, d, T, K)
        lam = float(np.linalg.eigvalsh(np.eye(K) - chi).min())
        stable = lam > 1e-10
    return MultitaskState(converged=ok, iterations=it, residual=res,
                          parameters={"d": d, "T": T, "K": int(K),
                                      "start": start if isinstance(start, str) else "array"},
                          d=d, T=T, m=m, f=float(_free_energy(m, d, T, K)), stable=stable,
                          min_eigenvalue=lam, kind=_classify(m))


def _best(d, T, K):
    """The stable fixed point of lowest free energy among the three starts."""
    states = [solve(d, T, K, s) for s in _STARTS]
    stable = [s for s in states if s.stable]
    return min(stable or states, key=lambda s: s.f)


def instability_temperature(d: float, state: str, K: int = 2, *,
                            strict: bool = True) -> InstabilityTemperatures:
    """Temperatures (below T_c) where the ``"pure"`` or ``"parallel"`` state changes
    stability (the Hessian's smallest eigenvalue crosses 0), found on a 400-point scan of
    (0, T_c) refined by brentq. E.g. K = 2: pure -> hierarchical at T_pure(0.5) = 0.287210;
    parallel stable for 0.093764 < T < T_c at d = 0.7."""
    spec = _check(d, 0.0, K)
    d, K = spec.d, spec.K
    checks.one_of("state", state, ("pure", "parallel"))
    tc = 1 - d

    def lam(T):
        return solve(d, T, K, state).min_eigenvalue
    grid = np.linspace(tc * 1e-3, tc * (1 - 1e-3), 400)
    vals = np.array([lam(t) for t in grid])
    roots, ok, it, res = [], True, 0, 0.0
    for a, b, fa, fb in zip(grid[:-1], grid[1:], vals[:-1], vals[1:]):
        if fa * fb < 0:
            root = _roots.brentq(lam, a, b, xtol=1e-12, what="instability temperature",
                                 strict=strict)
            roots.append(root[0])
            ok, it, res = ok and root[1], it + root[2], max(res, root[3])
    return InstabilityTemperatures(converged=ok if roots else None,
                                   iterations=it if roots else None,
                                   residual=res if roots else None,
                                   parameters={"d": d, "K": K, "state": state}, d=d, K=K,
                                   state=state, T=np.array(roots))


@register_phase_diagram("multitask", axes=("d", "T"))
def phase_diagram(d, T, K: int = 2) -> PhaseDiagram:
    """(d, T) diagram: the globally stable state (lowest f among the stable fixed points
    reached from pure, parallel and hierarchical starts). Fields ``m`` (grid + (K,),
    sorted descending) and ``f``; boundary ``T_c`` = 1 - d. A point where one of the three
    iterations did not converge (on the critical line ``T = 1 - d`` the slowing down is
    algebraic) is recorded as failed (status 1, NaN fields; see
    :class:`~nnphys.results.PhaseDiagram`) with a warning, and the rest of the grid stands.
    Health: ``converged`` is False if any point failed; ``iterations`` the most and
    ``residual`` the largest last step of the fixed points chosen."""
    d = np.unique(np.atleast_1d(checks.finite_array("d", d)))
    iterations, residual = 0, 0.0
    T = np.unique(np.atleast_1d(checks.finite_array("T", T)))
    for x in d:
        _check(float(x), 0.0, K)
    m = np.zeros((d.size, T.size, K))
    f = np.zeros((d.size, T.size))
    phase = np.zeros((d.size, T.size), int)
    status = np.zeros((d.size, T.size), np.int8)
    code = {v: k for k, v in PHASES.items()}
    for i, dd in enumerate(d):
        for j, tt in enumerate(T):
            try:
                st = _best(float(dd), float(tt), K)
            except ConvergenceError:
                status[i, j] = FAILED
                continue
            iterations, residual = max(iterations, st.iterations), max(residual, st.residual)
            m[i, j] = np.sort(np.abs(st.m))[::-1]
            f[i, j] = st.f
            phase[i, j] = code[st.kind]
    return PhaseDiagram(converged=not status.any(), iterations=iterations, residual=residual,
                        parameters={"model": "multitask", "K": int(K)},
                        axes={"d": d, "T": T}, fields={"m": m, "f": f}, phase=phase,
                        labels=dict(PHASES), status=status,
                        boundaries={"T_c": np.column_stack([d, 1 - d])}).warn_failures()
