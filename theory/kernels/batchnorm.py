r"""Mean-field theory of batch normalisation: the NNGP of a batch, its fixed point, and the
gradient explosion with depth.

Yang, Pennington, Rao, Sohl-Dickstein & Schoenholz 2019, "A Mean Field Theory of Batch
Normalization", ICLR 2019, arXiv:1902.08129 (sec. 3-4); the variant without gradient
explosion of Meterez, Joudaki, Orabona, Immer, Rätsch & Daneshmand 2023, "Towards Training
Without Depth Limits: Batch Normalization Without Gradient Explosion", ICLR 2024,
arXiv:2310.02012.

**Model.** A batch of ``B`` inputs passes through ``h = W x + b`` (``W ~ N(0, W_std^2 /
n)``), then :class:`~nnphys.models.batchnorm.BatchNorm`, then an activation ``phi``. Per unit,
batch normalisation maps the batch vector ``h in R^B`` to

.. math::  \mathrm{BN}(h) = \frac{P h}{\sqrt{|P h|^2 / B + \epsilon}},

with ``P = G = I - 11^T / B`` (mean subtracted; ``r = B - 1`` = its rank) or ``P = I``
(``subtract_mean=False``; ``r = B``). At infinite width the units are i.i.d. with ``h ~
N(0, Sigma)``, ``Sigma`` the ``B x B`` Gram matrix of the batch, so the NNGP of a batch is

.. math::  \Sigma' = V_{\phi\circ\mathrm{BN}}(\Sigma) = E_{h\sim N(0,\Sigma)}
           [\phi(\mathrm{BN}(h))\,\phi(\mathrm{BN}(h))^T],

a map of the whole matrix (every entry depends on all of ``Sigma``, not on a 2 x 2 block).
With ``epsilon = 0`` BN is scale invariant, so ``W_std`` and the bias (removed by the mean
subtraction) drop out: the recursion ``Sigma_x <- V(Sigma_x)`` of the post-activation Gram
depends on ``phi`` and ``B`` only.

**Laplace method** (Yang et al., sec. 3.1): for ``phi`` positive-homogeneous of degree 1
(``ABRelu``: ReLU, leaky ReLU, ``Abs``; ``Identity``), ``phi(BN h) phi(BN h)^T = phi(z)
phi(z)^T / (|z|^2/B + eps)`` with ``z = P h ~ N(0, A)``, ``A = P Sigma P``; writing
``1/m = int_0^inf e^{-s m} ds`` and completing the square,

.. math::  V(\Sigma) = \int_0^\infty e^{-s\epsilon}\,\det(I + 2sA/B)^{-1/2}\,
           V_\phi\!\left(A (I + 2sA/B)^{-1}\right) ds,

with ``V_phi`` the ordinary (pairwise) dual kernel of :mod:`.duals`: a one-dimensional
integral, evaluated by adaptive quadrature (``scipy.integrate.quad_vec``, absolute error
``< 1e-11`` relative to the entries) in ``s = e^u``.

**Monte Carlo** (any ``phi``): ``n_replicas`` draws of ``h``; the standard error of every
entry is ``s / sqrt(n_replicas)``.

**NTK.** Through BN and ``phi`` the NTK of ``h``, ``Theta`` (deterministic at infinite
width), becomes ``E[J Theta J^T]`` with the Jacobian ``J`` below, estimated by Monte Carlo
(:func:`batchnorm_ntk`; in the layer algebra :data:`LAYER_NTK_SAMPLES` draws, fixed seed; relative error ~ ``1/sqrt(LAYER_SAMPLES)`` times
the spread of ``J Theta J^T``). It is finite for ``r > 2`` and the estimator has a finite
variance for ``r > 4`` only (``J`` carries ``1/|P h|``): use batches of ``B >= 6``.

**Fixed point.** From a permutation-symmetric start the iteration stays in the class
``Sigma = q [(1 - c) I + c 11^T]``; its fixed point ``(q*, c*)``. Closed forms checked in
the tests: linear ``phi``, ``P = G``: ``Sigma* = B/(B-1) G`` (``q* = 1``, ``c* = -1/(B-1)``;
Yang et al., sec. 3.2); ``P = I``: ``Sigma* = I``. For ``B -> inf`` the BN output of a
symmetric batch tends to i.i.d. ``N(0, 1)`` entries, so ``q* -> E phi(z)^2`` and ``c* ->
(E phi(z))^2 / E phi(z)^2`` (ReLU: ``q* = 1/2``, ``c* = 1/pi``).

**Gradient explosion** (Yang et al., sec. 4). Backpropagating ``delta x`` through one layer,
``delta x_prev = W^T J^T delta x`` with ``J = diag(phi'(BN h)) J_BN(h)``, ``J_BN = m^{-1/2}
(I - y y^T / B) P`` (``y = BN(h)``, ``m = |Ph|^2/B + eps``). The covariance ``Pi`` of the
gradients over the batch obeys, at infinite width (gradient independence) and at the fixed
point,

.. math::  \Pi_{l-1} = T(\Pi_l) = E_{h\sim N(0,\Sigma^*)}[J^T \Pi_l J]

(``W_std`` cancels by scale invariance). ``T`` maps the permutation-symmetric matrices
``a I + b 11^T`` into themselves; its leading eigenvalue there, ``lambda``, is the factor
by which ``E|delta x|^2`` (and ``E|dL/dW_l|^2``) grows per layer towards the input.
For linear ``phi`` (derived here, from ``E[1/chi^2_r] = 1/(r-2)`` and the moments of a
uniform direction on the sphere of ``range(P)``)

.. math::  \lambda = \frac{r - 1}{r - 2}  \quad (r = B - 1:\ \lambda = (B-2)/(B-3)),

so gradients explode for every finite batch, as Yang et al. prove for linear BN networks
(we could not read their theorem's text; finite networks confirm this factor, e.g.
``1.1946 +- 0.0020`` at ``B = 8``, width 512, against ``6/5``, not ``B/(B-3) = 1.6``).
For ``B -> inf`` (derived: BN becomes a fixed standardisation) ``lambda -> E[phi'(z)^2] /
Var[phi(z)] >= 1`` by the Gaussian Poincaré inequality, for every activation (ReLU:
``pi / (pi - 1) = 1.467``, the ReLU value of Yang et al.). The eigenvalue is taken on the
permutation-symmetric matrices, the mode excited by a generic output gradient; for linear
``phi`` it is the largest (the traceless modes have ``(1 - 2/r + 2/(r(r+2)))`` in place of
``(1 - 1/r)``).

**Without explosion** (Meterez et al. 2023): linear activations, ``subtract_mean=False``,
width equal to the batch size and orthogonal weights (the setting of their experiments).
At an isometric batch (``X X^T`` a multiple of ``I``) the layer maps the batch to an
isometric batch exactly, every unit has the same norm, and the backward map is an
orthogonal matrix times per-unit projections, hence non-expansive (derived here; their
theorem, whose text we could not read, bounds the gradients at any depth for linearly
independent inputs): the per-layer factor is at most 1. From a random batch the isometry
gap (:func:`isometry_gap`) decays with depth and the typical factor tends to 1.
Measured (:mod:`nnphys.sim.batchnorm`, ``B = 8``): ``0.99981 +- 0.00002`` from an
isometric batch; ``1.0000000 +- 0.0000002`` (geometric mean) from Gaussian batches once 80
layers have passed. With orthogonal weights at width ``4 B`` or more, or Gaussian weights,
the factor is the mean-field one above instead.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import integrate

from ... import checks
from ...errors import ArgumentTypeError, ConvergenceError, ParameterError
from ...models import network as arch
from ...models.batchnorm import BatchNorm
from ...results import Result
from ...stats import Estimate
from .kernel import Kernel
from .layers import dual_function, register, register_pair

__all__ = ["batchnorm_nngp", "batchnorm_ntk", "BatchNormFixedPoint", "batchnorm_fixed_point",
           "batchnorm_gradient_rate", "linear_gradient_rate", "large_batch_limit",
           "isometry_gap", "METHODS", "WEIGHT_LAWS"]

METHODS = ("auto", "laplace", "montecarlo")
WEIGHT_LAWS = ("gaussian", "orthogonal")
#: Monte Carlo draws of the layer kernel when ``phi`` is not positive-homogeneous.
LAYER_SAMPLES = 1 << 16
#: Monte Carlo draws of the layer NTK (its error, measured over seeds at B = 6, 8 with
#: ReLU-type activations: <= 0.75% of the mean diagonal per entry).
LAYER_NTK_SAMPLES = 1 << 18
_CHUNK_ENTRIES = 1 << 21      # draws x B x B per Monte Carlo chunk (bounds the memory)


def _activation(activation):
    if activation is None:
        return arch.Identity()
    if not isinstance(activation, arch.Activation):
        raise ArgumentTypeError(f"activation: must be an activation layer (or None for the "
                                f"identity), got {type(activation).__name__}")
    return activation


def _homogeneous(activation) -> bool:
    """Whether the Laplace method applies: positive-homogeneous of degree 1, closed dual."""
    return isinstance(activation, (arch.ABRelu, arch.Identity))


def _projector(b: int, subtract_mean: bool) -> np.ndarray:
    return np.eye(b) - (1.0 / b if subtract_mean else 0.0)


def _gram(sigma, name: str = "sigma") -> np.ndarray:
    """A checked B x B Gram matrix (symmetric, PSD, ``B >= 2``); errors name ``name``."""
    sigma = checks.finite_array(name, sigma, ndim=2)
    b = sigma.shape[0]
    if sigma.shape != (b, b) or b < 2:
        raise ParameterError(f"{name}: must be a square B x B matrix with B >= 2, got "
                             f"shape {sigma.shape}")
    if not np.allclose(sigma, sigma.T, rtol=1e-12, atol=1e-12 * np.abs(sigma).max()):
        raise ParameterError(f"{name}: must be symmetric")
    if np.linalg.eigvalsh(sigma)[0] < -1e-10 * max(np.abs(sigma).max(), 1e-300):
        raise ParameterError(f"{name}: must be positive semi-definite")
    return sigma


def _check_options(method, b, subtract_mean, activation):
    checks.one_of("method", method, METHODS)
    if not isinstance(subtract_mean, (bool, np.bool_)):
        raise ArgumentTypeError(f"subtract_mean: must be True or False, got {subtract_mean!r}")
    if method == "auto":
        method = "laplace" if _homogeneous(activation) else "montecarlo"
    if method == "laplace" and not _homogeneous(activation):
        raise ParameterError(f"method: 'laplace' needs a positive-homogeneous activation "
                             f"(ABRelu, Identity), got {activation!r}")
    if b - (1 if subtract_mean else 0) < 1:
        raise ParameterError("sigma: a batch of 1 input has no batch statistics")
    return method


def _sqrt_psd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvalues (clipped at 0: roundoff only, sigma was checked PSD), eigenvectors and
    the symmetric square root (continuous in ``a``) of a PSD matrix."""
    w, q = np.linalg.eigh((a + a.T) / 2)
    w = np.maximum(w, 0.0)
    return w, q, (q * np.sqrt(w)) @ q.T


def _laplace(sigma, activation, epsilon, subtract_mean) -> np.ndarray:
    b = sigma.shape[0]
    p = _projector(b, subtract_mean)
    a_eig, q, _ = _sqrt_psd(p @ sigma @ p)
    dual = dual_function(activation)

    def integrand(u):
        s = math.exp(u)
        d = 1.0 + 2.0 * s * a_eig / b
        weight = math.exp(u - s * epsilon - 0.5 * float(np.log1p(2.0 * s * a_eig / b).sum()))
        a_s = (q * (a_eig / d)) @ q.T
        diag = np.diagonal(a_s).copy()
        return weight * dual(diag[:, None], a_s, diag[None, :], False)[0]

    value, _ = integrate.quad_vec(integrand, -60.0, 60.0 + math.log(b), epsabs=1e-12,
                                  epsrel=1e-11, limit=400)
    return (value + value.T) / 2


def _draws(sigma, epsilon, subtract_mean, n_replicas, seed):
    """Per-chunk Monte Carlo draws of the BN output: yields ``(y, m)`` with ``y = BN(h)``
    of shape ``(n, B)`` and ``m = |P h|^2 / B + epsilon`` of shape ``(n,)``,
    ``h ~ N(0, sigma)``."""
    b = sigma.shape[0]
    p = _projector(b, subtract_mean)
    _, _, root = _sqrt_psd(p @ sigma @ p)
    rng = arch.as_rng(checks.seed(seed))
    left = n_replicas
    while left > 0:
        n = min(max(1, _CHUNK_ENTRIES // (b * b)), left)
        left -= n
        z = rng.standard_normal((n, b)) @ root
        m = (z * z).sum(axis=1) / b + epsilon
        if np.any(m <= 0.0):
            raise ParameterError("sigma: a drawn batch has zero spread (sigma is a constant "
                                 "matrix); give epsilon > 0")
        yield z / np.sqrt(m)[:, None], m


def _jacobians(y, m, activation, p):
    """``J = diag(phi'(y)) m^{-1/2} (I - y y^T / B) P`` for each draw, ``(n, B, B)``."""
    b = y.shape[1]
    jbn = (np.eye(b)[None] - y[:, :, None] * y[:, None, :] / b) @ p
    return activation.fn_prime(y)[:, :, None] * jbn / np.sqrt(m)[:, None, None]


def _ntk_montecarlo(sigma, theta, activation, epsilon, subtract_mean, n_replicas,
                    seed) -> Estimate:
    """``E[J Theta J^T]`` and its standard error: the NTK after BN and ``phi`` from the NTK
    ``theta`` of ``h`` (infinite width: ``theta`` deterministic), in ``O(B^2)`` per draw by
    expanding the projections ``(I - y y^T/B) M (I - y y^T/B)``, ``M = P theta P``."""
    b = sigma.shape[0]
    p = _projector(b, subtract_mean)
    mat = p @ theta @ p
    total = np.zeros((b, b))
    squares = np.zeros((b, b))
    for y, m in _draws(sigma, epsilon, subtract_mean, n_replicas, seed):
        u = y @ mat
        s = (u * y).sum(axis=1)
        core = (mat[None] - (y[:, :, None] * u[:, None, :] + u[:, :, None] * y[:, None, :]) / b
                + (s / b ** 2)[:, None, None] * y[:, :, None] * y[:, None, :])
        d = activation.fn_prime(y) / np.sqrt(m)[:, None]
        draw = d[:, :, None] * core * d[:, None, :]
        total += draw.sum(axis=0)
        squares += (draw * draw).sum(axis=0)
    mean = total / n_replicas
    var = np.maximum(squares / n_replicas - mean ** 2, 0.0) * n_replicas / (n_replicas - 1)
    return Estimate(mean=(mean + mean.T) / 2, stderr=np.sqrt(var / n_replicas),
                    n_eff=np.full((b, b), float(n_replicas)), tau=np.ones((b, b)))


def batchnorm_ntk(sigma, theta, activation=None, *, epsilon: float = 0.0,
                  subtract_mean: bool = True, n_replicas: int = 1 << 16, seed=0) -> Estimate:
    r"""The NTK of a batch after batch normalisation and ``activation``,
    ``E[J Theta J^T]`` with ``J = diag(phi'(y)) m^{-1/2} (I - y y^T/B) P``, ``y = BN(h)``,
    ``h ~ N(0, sigma)`` (module docstring), by Monte Carlo.

    Parameters
    ----------
    sigma : array_like
        The ``B x B`` Gram matrix of the batch entering ``BatchNorm``.
    theta : array_like
        The ``B x B`` NTK of the batch entering ``BatchNorm``.
    activation : Activation or None
        ``phi`` after the normalisation; None: the identity.
    epsilon : float
        BN's variance offset, ``>= 0``.
    subtract_mean : bool
        Whether BN subtracts the batch mean.
    n_replicas : int
        Monte Carlo draws.
    seed : int, numpy.random.Generator or None
        Randomness of the draws.

    Returns
    -------
    Estimate
        ``(B, B)`` mean and standard error (finite variance needs ``r > 4``: ``B >= 6``
        with the mean subtracted).

    Raises
    ------
    ParameterError
        ``r <= 2`` (``B <= 3`` with the mean subtracted), where the NTK is infinite.
    """
    sigma = _gram(sigma)
    theta = _gram(theta, "theta")
    if theta.shape != sigma.shape:
        raise ParameterError(f"theta: must be a B x B matrix like sigma {sigma.shape}, got "
                             f"{theta.shape}")
    activation = _activation(activation)
    epsilon = checks.real("epsilon", epsilon, low=0.0)
    _check_options("montecarlo", sigma.shape[0], subtract_mean, activation)
    rank = sigma.shape[0] - (1 if subtract_mean else 0)
    if rank <= 2 and epsilon == 0.0:
        raise ParameterError(f"sigma: the NTK after BatchNorm is infinite for a batch of "
                             f"{sigma.shape[0]} inputs (E[1/chi^2_{rank}] diverges); use a "
                             "larger batch")
    n_replicas = _samples(n_replicas, sigma.shape[0])
    out = _ntk_montecarlo(sigma, theta, activation, epsilon, subtract_mean, n_replicas, seed)
    return dataclasses.replace(out, parameters={"n_replicas": n_replicas, "epsilon": epsilon,
                                                "subtract_mean": bool(subtract_mean),
                                                "activation": repr(activation)})


def _montecarlo(sigma, activation, epsilon, subtract_mean, n_replicas, seed) -> Estimate:
    b = sigma.shape[0]
    total = np.zeros((b, b))
    squares = np.zeros((b, b))
    for y, _ in _draws(sigma, epsilon, subtract_mean, n_replicas, seed):
        x = activation.fn(y)
        outer = x[:, :, None] * x[:, None, :]
        total += outer.sum(axis=0)
        squares += (outer * outer).sum(axis=0)
    mean = total / n_replicas
    var = np.maximum(squares / n_replicas - mean ** 2, 0.0) * n_replicas / (n_replicas - 1)
    return Estimate(mean=mean, stderr=np.sqrt(var / n_replicas), n_eff=np.full((b, b),
                    float(n_replicas)), tau=np.ones((b, b)))


def _samples(n_replicas, b, power=2):
    """Checked draws; the work is ``n_replicas B^power`` (``B^3`` for the Jacobians)."""
    n_replicas = checks.integer("n_replicas", n_replicas, low=2, high=checks.MEMORY_LIMIT)
    checks.work("n_replicas", float(n_replicas) * float(b) ** power, checks.WORK_LIMIT)
    return n_replicas


def batchnorm_nngp(sigma, activation=None, *, epsilon: float = 0.0, subtract_mean: bool = True,
                   method: str = "auto", n_replicas: int = 1 << 16, seed=0) -> Estimate:
    r"""The NNGP of a batch after batch normalisation and ``activation``:
    ``V(Sigma) = E[phi(BN h) phi(BN h)^T]``, ``h ~ N(0, sigma)`` (module docstring).

    Parameters
    ----------
    sigma : array_like
        The ``B x B`` Gram matrix of the batch entering ``BatchNorm`` (PSD, ``B >= 2``).
    activation : Activation or None
        ``phi`` after the normalisation; None: the identity (BN alone).
    epsilon : float
        BN's variance offset, ``>= 0``.
    subtract_mean : bool
        Whether BN subtracts the batch mean (``P = G``) or not (``P = I``).
    method : str
        ``"laplace"`` (deterministic 1-d quadrature; positive-homogeneous ``phi``),
        ``"montecarlo"`` (any ``phi``) or ``"auto"`` (Laplace where it applies).
    n_replicas : int
        Monte Carlo draws.
    seed : int, numpy.random.Generator or None
        Randomness of the Monte Carlo method.

    Returns
    -------
    Estimate
        ``(B, B)`` mean; ``stderr`` the Monte Carlo standard error (0 for the quadrature,
        whose error is below ``1e-10`` relative).

    References
    ----------
    Yang, Pennington, Rao, Sohl-Dickstein & Schoenholz 2019, arXiv:1902.08129, sec. 3.

    Examples
    --------
    Linear BN maps any batch of independent inputs to ``B/(B-1) G`` (Yang et al.):

    >>> import numpy as np
    >>> v = batchnorm_nngp(np.eye(4)).mean
    >>> bool(np.allclose(v, 4 / 3 * (np.eye(4) - 1 / 4)))
    True
    """
    sigma = _gram(sigma)
    activation = _activation(activation)
    epsilon = checks.real("epsilon", epsilon, low=0.0)
    method = _check_options(method, sigma.shape[0], subtract_mean, activation)
    params = {"method": method, "epsilon": epsilon, "subtract_mean": bool(subtract_mean),
              "activation": repr(activation)}
    if method == "laplace":
        out = Estimate.exact(_laplace(sigma, activation, epsilon, subtract_mean))
        return dataclasses.replace(out, parameters=params)
    n_replicas = _samples(n_replicas, sigma.shape[0])
    out = _montecarlo(sigma, activation, epsilon, subtract_mean, n_replicas, seed)
    return dataclasses.replace(out, parameters={**params, "n_replicas": n_replicas})


# ---------------------------------------------------------------------------------------
# Fixed point
# ---------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class BatchNormFixedPoint(Result):
    """The permutation-symmetric fixed point ``Sigma* = q* [(1 - c*) I + c* 11^T]`` of the
    batch recursion ``Sigma_x <- V(Sigma_x)`` (post-activation Gram of the batch).

    Attributes
    ----------
    q, c : float
        Diagonal and correlation of ``Sigma*``.
    q_stderr, c_stderr : float
        Monte Carlo standard errors of the last map (0 for the quadrature).
    sigma : numpy.ndarray
        ``Sigma*``, ``(B, B)``.
    method : str
        ``"laplace"`` or ``"montecarlo"``.

    ``residual`` is ``max |V(Sigma) - Sigma|`` at the last iterate (of the fixed-draw map
    for Monte Carlo).
    """

    q: float = math.nan
    c: float = math.nan
    q_stderr: float = 0.0
    c_stderr: float = 0.0
    sigma: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    method: str = ""


def _symmetric(q: float, c: float, b: int) -> np.ndarray:
    return q * ((1 - c) * np.eye(b) + c)


def _class_coordinates(v: np.ndarray) -> tuple[float, float]:
    """``(mean diagonal, mean off-diagonal)`` of a B x B matrix."""
    b = v.shape[0]
    diag = float(np.trace(v)) / b
    return diag, (float(v.sum()) - b * diag) / (b * (b - 1))


def batchnorm_fixed_point(batch_size: int, activation=None, *, subtract_mean: bool = True,
                          method: str = "auto", n_replicas: int = 1 << 15, seed=0,
                          tol: float = 1e-10, max_iter: int = 500) -> BatchNormFixedPoint:
    r"""The permutation-symmetric fixed point of the BN batch recursion (``epsilon = 0``;
    independent of ``W_std`` and ``b_std``, module docstring).

    Iterates ``Sigma <- V(Sigma)`` from ``Sigma = I``, projected on the symmetric class
    ``q [(1-c) I + c 11^T]`` (exact for the quadrature; it removes Monte Carlo noise
    outside the class). The Monte Carlo map reuses the same draws at every step (common
    random numbers), so it is a smooth deterministic map iterated to ``tol``.

    Parameters
    ----------
    batch_size : int
        ``B >= 2`` (``>= 3`` with ``subtract_mean``).
    activation : Activation or None
        ``phi``; None: linear.
    subtract_mean : bool
        BN with (``True``) or without mean subtraction.
    method : str
        ``"auto"``, ``"laplace"`` or ``"montecarlo"`` (:func:`batchnorm_nngp`).
    n_replicas : int
        Monte Carlo draws.
    seed : int, numpy.random.Generator or None
        Randomness of the Monte Carlo draws.
    tol : float
        Stop when ``max |V(Sigma) - Sigma| <= tol * q``.
    max_iter : int
        Iteration cap.

    Returns
    -------
    BatchNormFixedPoint

    Raises
    ------
    ConvergenceError
        No convergence within ``max_iter``.

    Examples
    --------
    >>> fp = batchnorm_fixed_point(5)            # linear: q* = 1, c* = -1/(B-1)
    >>> round(fp.q, 12), round(fp.c, 12)
    (1.0, -0.25)
    """
    b = checks.integer("batch_size", batch_size, low=2, high=4096)
    activation = _activation(activation)
    method = _check_options(method, b, subtract_mean, activation)
    if subtract_mean and b < 3:
        raise ParameterError("batch_size: BN with mean subtraction needs B >= 3 (for B = 2 "
                             "every batch maps to the same two points)")
    tol = checks.real("tol", tol, low=0.0, low_open=True)
    max_iter = checks.integer("max_iter", max_iter, low=1, high=100000)
    if method == "montecarlo":
        n_replicas = _samples(n_replicas, b)
        seed = checks.seed(seed)
        entropy = int(arch.as_rng(seed).integers(0, 2 ** 63 - 1))
    q, c = 1.0, 0.0
    for it in range(1, max_iter + 1):
        sigma = _symmetric(q, c, b)
        if method == "laplace":
            v = Estimate.exact(_laplace(sigma, activation, 0.0, subtract_mean))
        else:
            v = _montecarlo(sigma, activation, 0.0, subtract_mean, n_replicas, entropy)
        q_new, off = _class_coordinates(v.mean)
        c_new = off / q_new
        residual = float(np.abs(_symmetric(q_new, c_new, b) - sigma).max())
        q, c = q_new, c_new
        if residual <= tol * q:
            break
    else:
        raise ConvergenceError(f"batchnorm_fixed_point: no convergence in max_iter={max_iter} "
                               f"iterations (residual {residual:.3g}; B={b}, {activation!r})")
    q_se = c_se = 0.0
    if method == "montecarlo":
        q_se = float(np.sqrt(np.mean(np.diagonal(v.stderr) ** 2) / b))
        off_se = v.stderr[~np.eye(b, dtype=bool)]
        c_se = float(np.sqrt(np.mean(off_se ** 2) / (b * (b - 1))) / q)
    return BatchNormFixedPoint(q=q, c=c, q_stderr=q_se, c_stderr=c_se,
                               sigma=_symmetric(q, c, b), method=method, converged=True,
                               iterations=it, residual=residual,
                               parameters={"batch_size": b, "activation": repr(activation),
                                           "subtract_mean": bool(subtract_mean)})


# ---------------------------------------------------------------------------------------
# Gradient growth per layer
# ---------------------------------------------------------------------------------------

def _leading(m: np.ndarray) -> float:
    return float(np.max(np.linalg.eigvals(m).real))


def batchnorm_gradient_rate(batch_size: int, activation=None, *, subtract_mean: bool = True,
                            weights: str = "gaussian", width: int | None = None,
                            n_replicas: int = 1 << 15, seed=0) -> Estimate:
    r"""The factor ``lambda`` by which ``E|dL/dx_l|^2`` grows per layer towards the input
    in a deep BN network at its fixed point (module docstring).

    ``weights="gaussian"`` (Yang et al. 2019; infinite width): the leading eigenvalue of
    the backward map ``T(Pi) = E[J^T Pi J]`` on permutation-symmetric ``Pi``, by Monte
    Carlo at the fixed point of :func:`batchnorm_fixed_point`, with a delta-method standard
    error over the draws. ``weights="orthogonal"`` (Meterez et al. 2023): linear
    activation, ``subtract_mean=False`` and ``width == batch_size``; their theorem bounds
    the gradients at any depth, so the asymptotic per-layer factor is at most 1, returned
    as the exact value 1.

    Parameters
    ----------
    batch_size : int
        ``B`` (``>= 4`` with mean subtraction, ``>= 3`` without: ``lambda`` is infinite
        below, ``E[1/chi^2_r]`` diverging for ``r <= 2``).
    activation : Activation or None
        ``phi``; None: linear.
    subtract_mean : bool
        BN with or without the mean subtraction.
    weights : str
        ``"gaussian"`` or ``"orthogonal"``.
    width : int or None
        The width, only read for orthogonal weights (must equal ``batch_size``).
    n_replicas : int
        Monte Carlo draws (of the fixed point, if it needs Monte Carlo, and of ``T``).
    seed : int, numpy.random.Generator or None
        Randomness of the draws.

    Returns
    -------
    Estimate
        ``lambda`` and its standard error.

    See Also
    --------
    linear_gradient_rate, large_batch_limit : closed forms the tests compare with.
    """
    b = checks.integer("batch_size", batch_size, low=2, high=1024)
    activation = _activation(activation)
    checks.one_of("weights", weights, WEIGHT_LAWS)
    _check_options("auto", b, subtract_mean, activation)
    rank = b - 1 if subtract_mean else b
    if rank <= 2:
        raise ParameterError(f"batch_size: the gradient rate is infinite for B = {b} "
                             f"(needs B >= {4 if subtract_mean else 3})")
    if weights == "orthogonal":
        width = checks.integer("width", width, low=1) if width is not None else None
        if width != b or subtract_mean or not isinstance(activation, arch.Identity):
            raise ParameterError("weights: 'orthogonal' (Meterez et al. 2023) is the "
                                 "construction with linear activation, subtract_mean=False "
                                 "and width == batch_size")
        return Estimate.exact(1.0)
    n_replicas = _samples(n_replicas, b, power=3)
    rng = arch.as_rng(checks.seed(seed))
    fp = batchnorm_fixed_point(b, activation, subtract_mean=subtract_mean,
                               n_replicas=n_replicas, seed=rng)
    ones = np.ones(b)
    rows = []
    p = _projector(b, subtract_mean)
    for y, m in _draws(fp.sigma, 0.0, subtract_mean, n_replicas, rng):
        jac = _jacobians(y, m, activation, p)
        t_eye = np.einsum("nki,nkj->nij", jac, jac)             # J^T I J
        g = np.einsum("nki,k->ni", jac, ones)                   # J^T 1
        t_ones = g[:, :, None] * g[:, None, :]                  # J^T 11^T J
        coords = []
        for t in (t_eye, t_ones):
            diag = np.einsum("nii->n", t) / b
            off = (t.sum(axis=(1, 2)) - b * diag) / (b * (b - 1))
            coords += [diag - off, off]                          # t = a I + b 11^T
        rows.append(np.stack(coords, axis=1))
    samples = np.concatenate(rows)

    def rate(mu):
        # columns: images of I and of 11^T in the basis (I, 11^T)
        return _leading(np.array([[mu[0], mu[2]], [mu[1], mu[3]]]))

    mean = samples.mean(axis=0)
    value = rate(mean)
    grad = np.zeros(4)
    for k in range(4):
        h = 1e-6 * max(abs(mean[k]), 1e-12)
        up, down = mean.copy(), mean.copy()
        up[k] += h
        down[k] -= h
        grad[k] = (rate(up) - rate(down)) / (2 * h)
    var = grad @ np.cov(samples, rowvar=False) @ grad / n_replicas
    return Estimate(mean=value, stderr=math.sqrt(max(var, 0.0)), n_eff=float(n_replicas),
                    parameters={"batch_size": b, "activation": repr(activation),
                                "subtract_mean": bool(subtract_mean), "weights": weights})


def linear_gradient_rate(batch_size: int, subtract_mean: bool = True) -> float:
    r"""``lambda = (r - 1)/(r - 2)`` of a linear BN network, ``r = B - 1`` with mean
    subtraction (``(B-2)/(B-3)``, Yang et al. 2019, arXiv:1902.08129, sec. 4) and ``r = B``
    without (derived the same way).

    Parameters
    ----------
    batch_size : int
        ``B`` with ``r >= 3``.
    subtract_mean : bool
        BN with or without the mean subtraction.

    Returns
    -------
    float

    Examples
    --------
    >>> linear_gradient_rate(5)
    1.5
    """
    b = checks.integer("batch_size", batch_size, low=2)
    if not isinstance(subtract_mean, (bool, np.bool_)):
        raise ArgumentTypeError(f"subtract_mean: must be True or False, got {subtract_mean!r}")
    r = b - 1 if subtract_mean else b
    if r <= 2:
        raise ParameterError(f"batch_size: the rate is infinite for B = {b}")
    return (r - 1) / (r - 2)


def large_batch_limit(activation=None) -> tuple[float, float, float]:
    r"""``(q*, c*, lambda)`` of BN with mean subtraction as ``B -> inf`` (module docstring):
    ``q* = E phi(z)^2``, ``c* = (E phi(z))^2 / q*``, ``lambda = E phi'(z)^2 / Var phi(z)``,
    ``z ~ N(0, 1)``, from the activation's dual kernel (closed form or Hermite quadrature).

    Parameters
    ----------
    activation : Activation or None
        ``phi``; None: linear (``(1, 0, 1)``).

    Returns
    -------
    tuple of float

    Examples
    --------
    >>> from nnphys.models.network import Relu
    >>> q, c, lam = large_batch_limit(Relu())
    >>> bool(abs(c - 1 / np.pi) < 1e-14 and abs(lam - np.pi / (np.pi - 1)) < 1e-14)
    True
    """
    activation = _activation(activation)
    dual = dual_function(activation)
    one = np.ones(1)
    q, dot = dual(one, one, one, True)
    mean_sq = dual(one, np.zeros(1), one, False)[0]
    q, dot, mean_sq = float(q[0]), float(dot[0]), float(mean_sq[0])
    if q - mean_sq <= 0:
        raise ParameterError(f"activation: {activation!r} is constant on the Gaussian")
    return q, mean_sq / q, dot / (q - mean_sq)


def isometry_gap(x) -> float:
    r"""The isometry gap of a batch (Meterez et al. 2023, arXiv:2310.02012, sec. 3;
    Joudaki et al. 2023): with ``M = X X^T`` the ``B x B`` Gram of the rows of ``x``,

    .. math::  \phi(X) = \log\frac{\mathrm{tr}(M)/B}{\det(M)^{1/B}} \ge 0,

    zero exactly when ``M`` is a multiple of the identity (AM-GM on its eigenvalues),
    invariant under scaling and rotations of the features.

    Parameters
    ----------
    x : array_like
        ``(B, features)``, rows linearly independent.

    Returns
    -------
    float
    """
    x = checks.finite_array("x", x, ndim=2)
    if x.size == 0:
        raise ParameterError(f"x: must be a non-empty (batch, features) array, got shape "
                             f"{x.shape}")
    gram = x @ x.T
    sign, logdet = np.linalg.slogdet(gram)
    if sign <= 0 or not np.isfinite(logdet):
        raise ParameterError("x: the rows must be linearly independent (the Gram matrix is "
                             "singular)")
    b = gram.shape[0]
    return max(float(math.log(np.trace(gram) / b) - logdet / b), 0.0)


# ---------------------------------------------------------------------------------------
# Layer algebra: BatchNorm (+ the activation that follows it)
# ---------------------------------------------------------------------------------------

def _layer_kernel(layer: BatchNorm, activation, k) -> Kernel:
    if isinstance(k, list):
        raise ParameterError(f"BatchNorm: got {len(k)} branches; join them first")
    if not k.x1_is_x2:
        raise ParameterError("x2: the kernel of BatchNorm is defined for one batch, "
                             "kernel(x); the output for x1 depends on the batch it is in, "
                             "so kernel(x1, x2) across batches is undefined")
    if k.layout != "fc":
        raise NotImplementedError("BatchNorm: the kernel is implemented for fully connected "
                                  "(batch, features) inputs")
    if layer.axes(2) != (0,):
        raise ParameterError(f"axis: {layer.axis} for (batch, features) inputs must be 0")
    activation = _activation(activation)
    method = "laplace" if _homogeneous(activation) else "montecarlo"
    sigma = _gram(k.nngp)
    if method == "laplace":
        nngp = _laplace(sigma, activation, layer.epsilon, layer.subtract_mean)
    else:
        nngp = _montecarlo(sigma, activation, layer.epsilon, layer.subtract_mean,
                           LAYER_SAMPLES, 0).mean
    ntk = None
    if k.ntk is not None:
        rank = sigma.shape[0] - (1 if layer.subtract_mean else 0)
        if rank <= 2 and layer.epsilon == 0.0:
            raise ParameterError(f"x: the NTK after BatchNorm is infinite for a batch of "
                                 f"{sigma.shape[0]} inputs (E[1/chi^2_{rank}] diverges); use "
                                 "a larger batch or kernel(x, get='nngp')")
        ntk = _ntk_montecarlo(sigma, k.ntk, activation, layer.epsilon, layer.subtract_mean,
                              LAYER_NTK_SAMPLES, 1).mean
    cov = np.diagonal(nngp).copy()
    return k.replace(nngp=nngp, ntk=ntk, cov1=cov, cov2=cov)


@register(BatchNorm)
def _batchnorm(layer: BatchNorm, k) -> Kernel:
    return _layer_kernel(layer, None, k)


@register_pair(BatchNorm)
def _batchnorm_activation(layer: BatchNorm, activation, k) -> Kernel:
    return _layer_kernel(layer, activation, k)
