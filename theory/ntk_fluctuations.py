"""Fluctuations of the neural tangent kernel (NTK) diagonal of a deep ReLU network at finite
width: ``E[K]``, ``E[K^2]`` and the normalized variance ``Var K / (E K)^2``.

Network (NTK parameterization of :mod:`nnphys.theory.kernels`, ``Dense(n, W_std, b_std)``
with ``W_std^2 = C_W`` (He: ``C_W = 2``, ``W_std = sqrt 2``), zero biases)::

    z^(1) = sqrt(C_W / n_0) W^(1) x,   z^(l) = sqrt(C_W / n_(l-1)) W^(l) relu(z^(l-1)),
    f = z^(d),  l = 1..d,   W^(l)_ij ~ N(0, 1) trained,  hidden widths n_1..n_(d-1),  n_d = 1,

and ``K = K(x, x) = sum_theta (df/dtheta)^2``: with ``a^(l) = relu(z^(l))`` (``a^(0) = x``)
and ``delta^(l) = df/dz^(l)``,

    K = sum_l (C_W / n_(l-1)) |a^(l-1)|^2 |delta^(l)|^2  +  lambda_b sum_l |delta^(l)|^2.

The second sum is the gradient of biases that start at zero and are trained with relative
learning rate ``lambda_b`` (``bias_lr``; 0 by default, which is neural-tangents' / the kernel
library's NTK with ``b_std = 0`` or ``None``). At infinite width ``E K`` is the kernel library's
``Theta^(d) = d C_W |x|^2 / n_0`` (``Theta^(l+1) = K^(l+1) + C_W <relu'^2> Theta^(l)``,
Jacot et al. 2018, arXiv:1806.07572; ReLU at ``C_W = 2`` keeps ``K^(l) = 2|x|^2/n_0``).

**Literature.** B. Hanin, M. Nica, *Finite depth and width corrections to the neural tangent
kernel*, ICLR 2020, arXiv:1909.05989, Theorem 1: for ReLU nets with He weights and zero
biases, ``E[K]`` is linear in the depth and

    E[K^2] / E[K]^2  ~  exp(5 beta) (1 + O(sum_i 1/n_i^2)),     beta = sum_i 1/n_i,

where ``~`` (their ``\\simeq``) holds *up to bounded multiplicative constants*; their appendix
("Overall scaling") writes ``E[K^2]`` as the bracket
``[d^2 |x|^4/n_0^2 + (d/n_0)|x|^2 sum_j e^(-5 sum_(i<=j) 1/n_i) + sum_(j1<=j2) e^(-5 sum_(i<=j2)
1/n_i)] exp(5 beta)``, again up to constants. So the paper fixes the *exponential rate* 5 in
``beta`` (exact: one layer multiplies a squared path norm's second moment by
``1 + 5/n``, ``E[(2/n) chi^2_B]^2 = 1 + 5/n`` for ``B ~ Bin(n, 1/2)`` active neurons, the same
factor as the preactivation kurtosis ``3[(1 + 5/n)^(l-1) - 1]`` of
:func:`nnphys.theory.finite_width.scale_invariant_excess_kurtosis`), not a prefactor:
:func:`hanin_nica_ratio` returns ``exp(5 beta)`` as that scaling law, not as a prediction to
a stated precision.

**Exact finite-width moments (derived here).** Fix a layer ``l < d`` and condition on
``a = a^(l)`` and on ``z^(l+1) = W a`` (W = ``sqrt(C_W/n_l) W^(l+1)``). Then
``W = z a^T / |a|^2 + W' (1 - P_a)`` with ``W'`` an independent Gaussian copy, and
Euler's identity for the positively homogeneous map ``z^(l+1) -> f`` gives
``z^(l+1) . delta^(l+1) = f``. Hence ``W^T delta^(l+1) = a f / |a|^2 + (1 - P_a) W'^T delta^(l+1)``
and, restricted to the ``k_l`` active neurons of layer ``l`` (where ``a`` lives),

    |delta^(l)|^2 = f^2 / |a^(l)|^2 + (C_W / n_l) |delta^(l+1)|^2 Y_l,     Y_l ~ chi^2_(k_l - 1),

with ``Y_l`` independent of everything else given ``k_l``; the forward pass is
``|a^(l)|^2 = |a^(l-1)|^2 (C_W/n_(l-1)) X_l``, ``X_l ~ chi^2_(k_l)``, ``f^2 = |a^(d-1)|^2
(C_W/n_(d-1)) g^2``, and ``k_l ~ Bin(n_l, 1/2)`` independently over layers (Hanin & Rolnick
2018, arXiv:1803.01719, for the forward part). Unrolling, ``K`` is a sum over ``(l, m)``,
``l <= m <= d``, of products over hidden layers ``j`` of one factor each -- ``X_j`` (forward,
``j < l`` or ``j > m``), ``Y_j`` (backward, ``l <= j < m``) or ``1{k_j >= 1}`` (``j = m``) -- times
``g^2`` if ``m < d`` (a hidden bias term, ``X`` replaced by ``1{k_j >= 1}`` before its layer; the readout
bias adds the constant ``lambda_b``). Since the factors of different layers are independent, ``E[K]`` and
``E[K^2]`` are products of per-layer moments of ``(X, Y, 1{k >= 1})`` (binomial-chi-square
moments, e.g. ``E X^2 = E k^2 + 2 E k``, ``E XY = E k^2 - E k``, ``E Y^2 = E k^2 - P(k >= 1)``),
summed by a 4-state transfer matrix (16 states for ``E[K^2]``): :func:`ntk_moments`. This is
exact at every width and depth, including the events where a layer is entirely inactive
(there ``K = 0``, and every term carries a vanishing factor). Checks: one hidden layer gives
``E[K^2]/E[K]^2 = 1 + 3/n`` (direct: ``K propto sum_i 1{g_i > 0}(w_i^2 + g_i^2)``), and
simulations of explicit networks (``nnphys.validation.ntk_fluctuations``).

Consequences: ``E[K]`` equals the infinite-width NTK exactly at every width without biases
(with ``bias_lr > 0`` it falls short of it by the probability of a dead layer, ``O(2^-n)``);
for equal widths ``n`` and ``L = d - 1`` hidden layers the normalized variance is
``3/n`` at ``L = 1`` and ``(11/3) beta`` for ``1 << L``, ``beta = L/n << 1`` (from the exact
per-layer covariances ``5/n`` for ``XX`` and ``YY`` pairs, ``1/n`` for ``XY`` pairs, see
:func:`small_beta_slope`), growing like ``exp(5 beta)`` times a bounded factor at large
``beta`` -- Hanin & Nica's law with its constant made explicit.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from .. import checks
from ..errors import NumericalError, ParameterError
from ..results import Result

__all__ = ["NTKMoments", "ntk_moments", "beta", "hanin_nica_ratio", "infinite_width_ntk",
           "small_beta_slope", "normalized_variance"]

# transfer-matrix states of one term of K: pre-weight (forward factors X before the term's
# layer), pre-bias (factor 1), backward (Y), post (X after the turning layer m)
_PRE_W, _PRE_B, _BACK, _POST = range(4)
_TYPES = ("1", "X", "Y", "I")


@dataclasses.dataclass(frozen=True)
class NTKMoments(Result):
    """Exact moments of the NTK diagonal ``K(x, x)`` of one finite-width ReLU network.

    Attributes:
        mean: ``E[K]``.
        second_moment: ``E[K^2]``.
        beta: ``sum_i 1/n_i`` over the hidden widths.
        widths: hidden widths ``n_1..n_(d-1)``.
    """

    mean: float = 0.0
    second_moment: float = 0.0
    beta: float = 0.0
    widths: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    @property
    def ratio(self) -> float:
        """``E[K^2] / E[K]^2``."""
        return self.second_moment / self.mean ** 2

    @property
    def normalized_variance(self) -> float:
        """``Var K / E[K]^2``."""
        return self.second_moment / self.mean ** 2 - 1.0


def _check_widths(widths) -> np.ndarray:
    w = np.atleast_1d(checks.finite_array("widths", widths))
    if w.ndim != 1 or w.size > 100_000:
        raise ParameterError("widths: must be a 1-D sequence of hidden widths (at most 1e5)")
    if w.size and (not np.all(np.equal(np.mod(w, 1), 0)) or np.any(w < 1) or
                   np.any(w > 2 ** 62)):
        raise ParameterError("widths: hidden widths must be integers in [1, 2^62]")
    return w.astype(np.int64)




def beta(widths: Sequence[int]) -> float:
    """Depth-to-width ratio ``beta = sum_i 1/n_i`` over the hidden widths."""
    w = _check_widths(widths)
    return float(np.sum(1.0 / w)) if w.size else 0.0


def _layer_moments(n: int):
    """First and second moments of the per-layer factors ``1, X, Y, I = 1{k >= 1}`` for
    ``k ~ Bin(n, 1/2)``, ``X | k ~ chi^2_k``, ``Y | k ~ chi^2_(k-1)`` (0 if ``k = 0``),
    ``X, Y`` conditionally independent."""
    p0 = 0.5 ** n
    ek, ek2 = n / 2.0, n / 4.0 + n * n / 4.0
    m1 = {"1": 1.0, "X": ek, "Y": ek - 1.0 + p0, "I": 1.0 - p0}
    m2 = {}
    for a in _TYPES:
        m2["1", a] = m2[a, "1"] = m1[a]
    m2["X", "X"] = ek2 + 2 * ek
    m2["Y", "Y"] = ek2 - 1.0 + p0
    m2["X", "Y"] = m2["Y", "X"] = ek2 - ek
    m2["X", "I"] = m2["I", "X"] = ek
    m2["Y", "I"] = m2["I", "Y"] = m1["Y"]
    m2["I", "I"] = 1.0 - p0
    return m1, m2


def _transitions(c_prev: float, c_here: float):
    """``(from, to, coefficient, factor type)`` of one hidden layer ``j``: ``c_prev =
    C_W / n_(j-1)``, ``c_here = C_W / n_j`` (module docstring)."""
    return ((_PRE_W, _PRE_W, c_prev, "X"), (_PRE_W, _BACK, c_prev * c_here, "Y"),
            (_PRE_W, _POST, c_prev, "I"), (_PRE_B, _PRE_B, 1.0, "I"),
            (_PRE_B, _BACK, c_here, "Y"), (_PRE_B, _POST, 1.0, "I"),
            (_BACK, _BACK, c_here, "Y"), (_BACK, _POST, 1.0, "I"),
            (_POST, _POST, c_prev, "X"))


def ntk_moments(widths: Sequence[int], input_dim: int, x_norm2: float | None = None,
                W_std: float = math.sqrt(2.0), bias_lr: float = 0.0) -> NTKMoments:
    """Exact ``E[K]`` and ``E[K^2]`` of the NTK diagonal of a ReLU network (module docstring).

    Args:
        widths: hidden widths ``n_1..n_(d-1)`` (empty: a linear model, ``d = 1``).
        input_dim: ``n_0``.
        x_norm2: ``|x|^2`` (default ``n_0``, i.e. ``|x|^2 / n_0 = 1``).
        W_std: the weight scale of every layer, ``C_W = W_std^2`` (``sqrt 2``: He /
            critical); ``K`` scales as ``C_W (C_W/2)^(d-1)`` and the ratio
            ``E[K^2]/E[K]^2`` does not depend on it.
        bias_lr: weight ``lambda_b`` of the gradients of zero-initialised biases.

    Cost ``O(d)`` (a 16-state transfer matrix per layer). Exact (no solver): the record's
    ``converged``, ``iterations`` and ``residual`` are ``None``.
    """
    w = _check_widths(widths)
    n0 = checks.integer("input_dim", input_dim, low=1, high=2 ** 62)
    # K^2 ~ (x_norm2 C_W^d)^2 and lam^2 must stay in float64: each factor at most 1e150
    x2 = float(n0) if x_norm2 is None else checks.positive("x_norm2", x_norm2, high=1e150)
    cw = checks.positive("W_std", W_std, high=1e75) ** 2
    lam = checks.positive("bias_lr", bias_lr, allow_zero=True, high=1e150)
    ns = [n0] + [int(n) for n in w]
    v1 = np.array([x2, lam, 0.0, 0.0])
    v2 = np.outer(v1, v1)
    for j in range(1, len(ns)):
        m1, m2 = _layer_moments(ns[j])
        tr = _transitions(cw / ns[j - 1], cw / ns[j])
        a1 = np.zeros(4)
        a2 = np.zeros((4, 4))
        for s, t, c, kind in tr:
            a1[t] += v1[s] * c * m1[kind]
            for s2, t2, c2, kind2 in tr:
                a2[t, t2] += v2[s, s2] * c * c2 * m2[kind, kind2]
        v1, v2 = a1, a2
        if not (np.all(np.isfinite(a2)) and a2.max() < 1e300):
            raise ParameterError("W_std, x_norm2, bias_lr: the NTK moments overflow at this "
                                 "depth (K scales as x_norm2 C_W (C_W/2)^(d-1))")
    c_last = cw / ns[-1]
    # the readout bias (gradient 1, always) is the constant lam added below, so a bias
    # term still in the pre-bias state at the end contributes nothing here
    end = np.array([c_last, 0.0, 1.0, c_last])          # g^2 factor for the post state
    g4 = np.ones((4, 4))
    g4[_POST, _POST] = 3.0                              # E g^4 = 3, E g^2 = 1
    m1 = float(v1 @ end)
    m2 = float(np.einsum("ab,a,b,ab->", v2, end, end, g4))
    mean = m1 + lam
    second = m2 + 2 * lam * m1 + lam * lam
    params = {"widths": w.tolist(), "input_dim": n0, "x_norm2": x2, "W_std": float(W_std),
              "bias_lr": lam}
    return NTKMoments(parameters=params, mean=mean, second_moment=second, beta=beta(w),
                      widths=w)


def normalized_variance(width, depth, input_dim: int = 1, bias_lr: float = 0.0) -> np.ndarray:
    """Exact ``Var K / E[K]^2`` for equal hidden widths ``width`` and ``depth`` layers
    (``depth - 1`` hidden); ``width`` and ``depth`` broadcast. Independent of ``|x|``,
    ``C_W`` and (without biases) ``input_dim``."""
    input_dim = checks.integer("input_dim", input_dim, low=1)
    width = checks.finite_array("width", width, low=1)
    depth = checks.finite_array("depth", depth, low=1)
    if np.any(depth > 100_001) or np.any(width > 2 ** 62):
        raise ParameterError("width, depth: at most 2^62 and 100001 (1e5 hidden layers)")
    width, depth = np.broadcast_arrays(width, depth)
    out = np.empty(width.shape)
    for idx in np.ndindex(width.shape):
        d = int(depth[idx])
        if d < 1:
            raise ParameterError("depth: must be >= 1")
        out[idx] = ntk_moments([int(width[idx])] * (d - 1), input_dim,
                               bias_lr=bias_lr).normalized_variance
    return out


def hanin_nica_ratio(beta_value) -> np.ndarray:
    """The scaling law ``E[K^2]/E[K]^2 ~ exp(5 beta)`` of Hanin & Nica (2020, Theorem 1),
    which holds up to bounded multiplicative constants (not an equality)."""
    b = checks.finite_array("beta_value", beta_value, low=0.0)
    with np.errstate(over="ignore"):
        out = np.exp(5.0 * b)
    if not np.all(np.isfinite(out)):
        raise NumericalError("beta_value: exp(5 beta) overflows float64 beyond beta = 141")
    return out


def small_beta_slope() -> float:
    """``lim Var K / (beta E[K]^2)`` for equal widths, ``1 << L`` hidden layers and ``beta =
    L/n -> 0``: the two weight terms of layers ``l, l'`` share ``5/n`` covariance per layer
    except ``1/n`` on the ``|l - l'|`` layers between them, so the limit is
    ``5 - 4 E|u - u'| = 5 - 4/3 = 11/3`` (``u, u'`` uniform on [0, 1])."""
    return 11.0 / 3.0


def infinite_width_ntk(depth: int, input_dim: int, x_norm2: float | None = None,
                       W_std: float = math.sqrt(2.0)) -> float:
    """The infinite-width NTK diagonal of the same network, ``C_W (C_W/2)^(d-1) d |x|^2/n_0``
    with ``C_W = W_std^2`` (zero biases); equals :func:`ntk_moments`' mean at every width.
    A closed form, not a solver: a float."""
    depth = checks.integer("depth", depth, low=1)
    input_dim = checks.integer("input_dim", input_dim, low=1)
    x2 = float(input_dim) if x_norm2 is None else checks.positive("x_norm2", x_norm2)
    cw = checks.positive("W_std", W_std, high=1e150) ** 2
    try:
        value = cw * (cw / 2.0) ** (depth - 1) * depth * x2 / input_dim
    except OverflowError:                     # float ** raises where * gives inf
        value = math.inf
    if not math.isfinite(value):
        raise ParameterError("W_std, depth, x_norm2: the NTK diagonal C_W (C_W/2)^(d-1) "
                             "d |x|^2 / n_0 overflows float64")
    return value
