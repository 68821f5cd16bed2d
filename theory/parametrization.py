"""abc-parametrizations: symmetry, classification (stable / nontrivial / feature learning /
kernel regime, the exponent r), and the muP settings a user puts in their code.

Yang & Hu, "Feature Learning in Infinite-Width Neural Networks", ICML 2021,
arXiv:2011.14522 (Sec. 3). Notation of :mod:`nnphys.models.parametrization` (re-exported
here): ``L`` hidden layers of width ``n``, weight matrix ``l = 1..L+1`` (input layer first)
``W^l = n^{-a_l} w^l``, ``w^l ~ N(0, n^{-2 b_l})``, learning rate ``eta n^{-c_l}``.

Symmetry (Sec. 3, Eq. after Def. 3.1)
-------------------------------------
SGD: ``W = n^{-a} w`` and ``Delta W = -eta n^{-(2a + c)} dL/dW`` depend on ``(a, b, c)`` only
through ``a + b`` and ``2a + c``, so ``(a_l, b_l, c_l) -> (a_l + theta, b_l - theta,
c_l - 2 theta)`` leaves the function and its training unchanged; Adam normalises the
gradient, ``Delta W ~ eta n^{-(a + c)}``, and the map is ``c_l -> c_l - theta``. With one
``c`` (Yang & Hu) the same ``theta`` acts on every layer; with per-layer learning rates
(Tensor Programs V's tables) each layer has its own. :func:`canonical` picks the
representative with every ``a_l = 0``: ``(0, a_l + b_l, 2a_l + c_l)`` (SGD) or ``(0, a_l +
b_l, a_l + c_l)`` (Adam); two parametrizations are :func:`equivalent` iff their canonical
forms agree. (For muP this is Tensor Programs V, Table 3, which has no multipliers.)

Classification (Def. 3.2, Thms. 3.3-3.5, Cor. 3.9), as computed by :func:`classify`
------------------------------------------------------------------------------------
Write ``A = a_{L+1} + b_{L+1}`` (the output weights' initial scale ``n^{-A}``) and ``B =
2 a_{L+1} + c_{L+1}`` (SGD; ``a_{L+1} + c_{L+1}`` for Adam: the entry scale ``n^{-B}`` of
the output layer's update). Power counting of one step: the back-propagated signal has
entries ``n^{-min(A, B)}`` (``n^{-A}`` in the first step), and layer ``l``'s own update
moves its preactivations by ``Delta W^l x^{l-1} ~ n^{-r_l}``,

    SGD:   r_l = min(A, B) + c_l + 2 a_l - 1 + 1[l = 1]
    Adam:  r_l = a_l + c_l - 1 + 1[l = 1]                  (the update ignores gradient scale)

(``x^{l-1} . x^{l-1} = Theta(n)`` for hidden layers, ``Theta(1)`` for the input ``xi``:
the indicator). ``r = min_{l<=L} r_l`` is Yang & Hu's Def. 3.2, ``r = min(A, B) + c - 1 +
min_l [2 a_l + 1(l = 1)]`` for one ``c``. (Their printed Def. 3.2 reads ``- I(l = 1)`` in
the version we recall; with it the paper's own muP, ``a_1 = -1/2``, would have ``r = -2``
and be unstable, while the derivation and every named parametrization of the paper give
``+``; we use ``+``.) Then (Thm. 3.3) the parametrization is **stable** iff

1. at initialisation ``a_1 + b_1 = 0``, ``a_l + b_l = 1/2`` (``2 <= l <= L``), ``A >= 1/2``;
2. features do not blow up: ``r >= 0``;
3. the output does not blow up: ``B >= 1`` and ``A + r >= 1``;

it is **nontrivial** (Thm. 3.4; the function moves by ``Theta(1)``) iff ``A + r = 1`` or
``B = 1``; a stable one **admits feature learning** iff ``r = 0`` (Thm. 3.5) and a stable
nontrivial one is **in the kernel regime** iff ``r > 0`` (Thm. 3.5). Dichotomy (Cor. 3.9):
a stable nontrivial parametrization is in exactly one of the two. **Maximal update** (muP,
Def. 5.1): stable, nontrivial and ``r_l = 0`` for every hidden layer.

:func:`classify` also returns the width exponents the coordinate check measures: after a
step, the change of hidden layer ``l``'s preactivations scales like ``n^{-min_{m<=l}
r_m}`` (the layer's own update, plus the moved input ``W^l Delta x^{l-1}``), and the
output's like ``n^{-min(B - 1, A + r - 1)}``; ``exponents_first_step`` has them for the
first step (``A`` in place of ``min(A, B)``), ``exponents`` for later ones (the two agree
when ``A <= B``, e.g. every stable parametrization). ``equal_tol`` is the tolerance of
the equalities above (the exponents are usually multiples of 1/2).

Tensor Programs V (Yang et al. 2022, arXiv:2203.03466, Tables 3 and 8) ``mup_settings``:
the per-layer numbers (init std, multiplier, SGD and Adam learning rates) that make a
network of width ``n`` the muP version of the standard network at a base width ``n0``
(equal to it at ``n = n0``), from the canonical muP (Table 3: init variances ``1/fan_in``,
``1/fan_in``, ``1/fan_in^2``; SGD lr factors ``fan_out``, ``1``, ``1/fan_in``; Adam ``1``,
``1/fan_in``, ``1/fan_in`` for input, hidden, output weights) or with the output layer
shifted by ``theta = 1`` (Table 8: output multiplier ``1/fan_in``, init variance ``1``, SGD
lr ``fan_in``, Adam lr ``1``), all relative to ``n0``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, ParameterError
from ..models.parametrization import (NAMES, OPTIMIZERS, Parametrization, Realisation,
                                      dense_layers, named, realise)
from ..results import Result

__all__ = ["Parametrization", "named", "realise", "Realisation", "NAMES", "OPTIMIZERS",
           "shift", "canonical", "equivalent", "Classification", "classify", "MupSettings",
           "mup_settings", "EQUAL_TOL"]

#: tolerance of the equalities of the classification (exponents are exact rationals)
EQUAL_TOL = 1e-9


def _as_parametrization(a, b=None, c=None, optimizer="sgd") -> Parametrization:
    if isinstance(a, Parametrization):
        if b is not None or c is not None:
            raise ParameterError("b: give a Parametrization alone, or the exponents a, b, c")
        return a
    if b is None or c is None:
        raise ParameterError(f"{'b' if b is None else 'c'}: the exponents a, b and c are all "
                             "needed (or pass a Parametrization as a)")
    return Parametrization(a, b, c, optimizer)


def shift(p: Parametrization, theta) -> Parametrization:
    """The equivalent parametrization ``(a + theta, b - theta, c - 2 theta)`` (SGD) or
    ``(a + theta, b - theta, c - theta)`` (Adam); ``theta`` a number or one per layer."""
    if not isinstance(p, Parametrization):
        raise ArgumentTypeError(f"p: must be a Parametrization, got {type(p).__name__}")
    n = p.depth + 1
    if np.ndim(theta) == 0:
        theta = np.full(n, checks.real("theta", theta))
    else:
        theta = checks.finite_array("theta", theta, ndim=1)
        if theta.size != n:
            raise ParameterError(f"theta: one per layer ({n}), got {theta.size}")
    k = 2.0 if p.optimizer == "sgd" else 1.0
    a, b, c = (np.array(v) for v in (p.a, p.b, p.c))
    return Parametrization(tuple(a + theta), tuple(b - theta), tuple(c - k * theta),
                           p.optimizer, p.name)


def canonical(p: Parametrization) -> Parametrization:
    """The representative with every ``a_l = 0`` (module docstring)."""
    if not isinstance(p, Parametrization):
        raise ArgumentTypeError(f"p: must be a Parametrization, got {type(p).__name__}")
    return shift(p, -np.array(p.a))


def equivalent(p: Parametrization, q: Parametrization, tol: float = EQUAL_TOL) -> bool:
    """Whether ``p`` and ``q`` train identically at every width (same optimizer, same
    canonical form within ``tol``)."""
    for name, v in (("p", p), ("q", q)):
        if not isinstance(v, Parametrization):
            raise ArgumentTypeError(f"{name}: must be a Parametrization, got "
                                    f"{type(v).__name__}")
    tol = checks.positive("tol", tol)
    if p.optimizer != q.optimizer or p.depth != q.depth:
        return False
    cp, cq = canonical(p), canonical(q)
    return all(np.allclose(getattr(cp, f), getattr(cq, f), rtol=0, atol=tol)
               for f in ("b", "c"))


@dataclasses.dataclass(frozen=True)
class Classification(Result):
    """What :func:`classify` found (module docstring for the conditions).

    Attributes:
        stable, nontrivial, feature_learning, kernel_regime, maximal: the verdicts
            (``feature_learning`` and ``kernel_regime`` are False for an unstable one).
        init_stable, features_stable, output_stable: the three parts of stability.
        r: Yang & Hu's ``r = min_l r_l``; ``r_layers``: ``r_l`` per hidden layer.
        exponents: ``(L+1,)`` the change after a step of each layer's preactivations (the
            last: the output) scales like ``n^{-exponents}`` (steps after the first);
            ``exponents_first_step`` for the first step.
        output_init_exponent: ``f`` at initialisation is ``O(n^{1/2 - A})``.
    """

    stable: bool = False
    nontrivial: bool = False
    feature_learning: bool = False
    kernel_regime: bool = False
    maximal: bool = False
    init_stable: bool = False
    features_stable: bool = False
    output_stable: bool = False
    r: float = math.nan
    r_layers: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    exponents: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    exponents_first_step: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    output_init_exponent: float = math.nan


def _r_layers(a, c, back, adam):
    ind = np.zeros(a.size - 1)
    ind[0] = 1.0
    if adam:
        return a[:-1] + c[:-1] - 1.0 + ind
    return back + c[:-1] + 2.0 * a[:-1] - 1.0 + ind


def _exponents(a, c, A, B, back, adam):
    r_l = _r_layers(a, c, back, adam)
    hidden = np.minimum.accumulate(r_l)
    output = min(B - 1.0, A + hidden[-1] - 1.0)
    return r_l, np.append(hidden, output)


def classify(a, b=None, c=None, optimizer: str = "sgd", tol: float = EQUAL_TOL
             ) -> Classification:
    """Classify the abc-parametrization ``(a, b, c)`` (per layer, input layer first; ``c``
    a number or per layer) for ``optimizer`` ("sgd" or "adam"), or a
    :class:`Parametrization` passed as ``a`` (module docstring: Yang & Hu 2021,
    arXiv:2011.14522, Thms. 3.3-3.5). ``tol``: tolerance of the equalities."""
    checks.one_of("optimizer", optimizer, OPTIMIZERS)
    p = _as_parametrization(a, b, c, optimizer)
    tol = checks.positive("tol", tol)
    adam = p.optimizer == "adam"
    a, b, c = (np.array(v) for v in (p.a, p.b, p.c))
    A = a[-1] + b[-1]
    B = (a[-1] if adam else 2.0 * a[-1]) + c[-1]
    init = (abs(a[0] + b[0]) <= tol and bool(np.all(np.abs(a[1:-1] + b[1:-1] - 0.5) <= tol))
            and A >= 0.5 - tol)
    r_l, exps = _exponents(a, c, A, B, min(A, B), adam)
    _, first = _exponents(a, c, A, B, A, adam)
    r = float(r_l.min())
    features = r >= -tol
    output = B >= 1.0 - tol and A + r >= 1.0 - tol
    stable = bool(init and features and output)
    nontrivial = bool(stable and (abs(A + r - 1.0) <= tol or abs(B - 1.0) <= tol))
    feature_learning = bool(stable and abs(r) <= tol)
    kernel = bool(nontrivial and r > tol)
    maximal = bool(nontrivial and np.all(np.abs(r_l) <= tol))
    return Classification(
        parameters={"a": list(p.a), "b": list(p.b), "c": list(p.c),
                    "optimizer": p.optimizer, "name": p.name},
        stable=stable, nontrivial=nontrivial, feature_learning=feature_learning,
        kernel_regime=kernel, maximal=maximal, init_stable=bool(init),
        features_stable=bool(features), output_stable=bool(output), r=r, r_layers=r_l,
        exponents=exps, exponents_first_step=first, output_init_exponent=float(0.5 - A))


@dataclasses.dataclass(frozen=True)
class MupSettings(Result):
    """Per-layer numbers (input layer first) realising muP at one width relative to a
    standard base network (Tensor Programs V, Table 3 or 8): the layer computes
    ``multiplier * x @ w`` with ``w ~ N(0, init_std^2)``.

    Attributes:
        fan_in, multiplier, init_std: ``(L+1,)``.
        lr_sgd, lr_adam: ``(L+1,)`` per-layer learning rates for SGD and for Adam.
        width, base_width: ``n`` and ``n0``; table: 3 or 8.
    """

    fan_in: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=int))
    multiplier: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    init_std: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    lr_sgd: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    lr_adam: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    width: int = 0
    base_width: int = 0
    table: int = 3


def mup_settings(net, input_dim: int, width: int, base_width: int, lr_sgd: float = 0.1,
                 lr_adam: float = 1e-3, table: int = 3) -> MupSettings:
    """What to set in a user's code to train ``net`` (Dense/activation spec, ``input_dim``
    inputs) in muP at ``width``, tuned at ``base_width`` with learning rates ``lr_sgd``
    (SGD) and ``lr_adam`` (Adam): Tensor Programs V's Table 3 (``table=3``, no
    multipliers) or Table 8 (``table=8``, output multiplier ``n0/n``) (module docstring).
    At ``width == base_width`` the numbers are those of the standard network."""
    table = checks.one_of("table", table, (3, 8))
    sgd = named("mup", _depth(net), "sgd")
    adam = named("mup", sgd.depth, "adam")
    sgd = canonical(sgd)
    if table == 8:
        theta = np.zeros(sgd.depth + 1)
        theta[-1] = 1.0
        sgd, adam = shift(sgd, theta), shift(adam, theta)
    rs = _realise_named_lr("lr_sgd", net, input_dim, sgd, width, base_width, lr_sgd)
    ra = _realise_named_lr("lr_adam", net, input_dim, adam, width, base_width, lr_adam)
    return MupSettings(parameters={"table": table}, fan_in=rs.fan_in,
                       multiplier=rs.multiplier, init_std=rs.init_std, lr_sgd=rs.lr,
                       lr_adam=ra.lr, width=rs.width, base_width=rs.base_width, table=table)


def _realise_named_lr(name, net, input_dim, p, width, base_width, lr) -> Realisation:
    """:func:`realise` with its learning rate called ``name`` in errors."""
    lr = checks.positive(name, lr)
    try:
        return realise(net, input_dim, p, width, base_width, lr)
    except ParameterError as exc:
        if str(exc).startswith("lr:"):
            raise ParameterError(name + str(exc)[2:]) from None
        raise


def _depth(net) -> int:
    return len(dense_layers(net)) - 1
