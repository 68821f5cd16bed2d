"""Predictions of infinitely wide networks: GP inference and gradient-descent training.

Both are computed from one symmetric eigendecomposition of the training kernel, never a
Cholesky factorisation, so ill-conditioned kernels (deep erf nets in the ordered phase,
thousands of training points) give finite answers:

* **GP inference** (Neal 1996; Lee et al. 2018, arXiv:1711.00165; Rasmussen & Williams
  2006, eqs. 2.25-2.26): for a kernel ``K`` (NNGP, or NTK for the "NTK-GP"),
  ``mean = K(x*, X) (K + s^2 I)^+ y`` and
  ``cov = K(x*, x*) - K(x*, X) (K + s^2 I)^+ K(X, x*)``.
* **Gradient descent on MSE** (Jacot et al. 2018, arXiv:1806.07572; Lee et al. 2019,
  arXiv:1902.06720, eq. 16), in neural-tangents' normalisation (loss
  ``||f - y||^2 / (2 y.size)``, so time is ``lr * t / y.size``). With
  ``T = Theta(X, X)`` and ``E(t) = I - exp(-eta t T / n)``, the ensemble of networks
  initialised from the NNGP prior has, at time ``t``,
  ``mean(x*) = Theta(x*, X) T^{-1} E y`` and
  ``cov(x*) = K(x*, x*) + Theta(x*, X) T^{-1} E K E T^{-1} Theta(X, x*)
  - [Theta(x*, X) T^{-1} E K(X, x*) + transpose]``.

* **Gradient descent on any loss** (Lee et al. 2019, arXiv:1902.06720, eqs. 9-10): the
  network stays linear in its parameters, so the train outputs obey
  ``df/dt = -eta Theta(X, X) dL/df`` and the test outputs
  ``f(x*, t) = f(x*, 0) - eta Theta(x*, X) int_0^t dL/df ds``, integrated as an ODE with
  error control (:func:`gradient_descent`); with heavy-ball momentum the second-order ODE
  of neural-tangents' ``predict.gradient_descent``.
* **Stability of discrete steps** (:func:`max_learning_rate`): on MSE, gradient descent
  with step ``lr`` contracts iff ``lr < 2 (1 + momentum) y.size / lambda_max(Theta)``.

The pseudo-inverse discards eigenvalues below ``cutoff = rcond * lambda_max`` (default
``rcond = n * eps``); the result states the cutoff and how many modes it removed. At finite
``t`` the factor ``(1 - exp(-lambda s)) / lambda`` is evaluated with ``expm1`` and tends to
``s`` as ``lambda -> 0``, so no mode needs discarding.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import integrate, linalg

from ... import checks
from ...errors import ArgumentTypeError, ConvergenceError, NumericalError, ParameterError
from ...results import Result
from . import _losses

__all__ = ["Prediction", "GradientDescentPrediction", "gp_inference", "gradient_descent_mse",
           "gradient_descent", "max_learning_rate", "LOSSES", "ODE_METHODS"]

LOSSES = _losses.LOSSES
#: the ``solve_ivp`` methods :func:`gradient_descent` accepts (the last three implicit, for
#: stiff problems: long times on ill-conditioned kernels)
ODE_METHODS = ("DOP853", "RK45", "Radau", "BDF", "LSODA")
#: right-hand-side evaluations after which :func:`gradient_descent` stops (a loss without
#: minimum integrated to an astronomically long time would otherwise never end)
MAX_EVALUATIONS = 200_000


class _TooLong(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Prediction(Result):
    """A posterior / trained-ensemble prediction (closed forms through one
    eigendecomposition: no iterative solver, so ``converged``, ``iterations`` and
    ``residual`` are ``None``; the conditioning is reported instead).

    Attributes:
        mean: ``(N_test, ...)`` mean prediction (train points if no test kernel was given).
        covariance: ``(N_test, N_test)`` covariance, or None if not computable from the
            kernels given.
        cutoff: eigenvalues of the training matrix at or below this were treated as zero.
        n_discarded: how many eigenvalues that was.
        condition_number: ``lambda_max / lambda_min`` of the training matrix (inf if
            singular).
    """

    mean: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    covariance: np.ndarray | None = None
    cutoff: float = 0.0
    n_discarded: int = 0
    condition_number: float = 1.0


def _check_square(name: str, k) -> np.ndarray:
    k = checks.finite_array(name, k)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ParameterError(f"{name}: expected a square (N, N) matrix, got shape {k.shape}")
    if not np.all(np.isfinite(k)):
        raise ParameterError(f"{name}: contains NaN or infinite entries")
    return k


def _check_cross(name: str, k, n_train: int) -> np.ndarray | None:
    if k is None:
        return None
    k = checks.finite_array(name, k)
    if k.ndim != 2 or k.shape[1] != n_train:
        raise ParameterError(f"{name}: expected shape (N_test, {n_train}), got {k.shape}")
    if not np.all(np.isfinite(k)):
        raise ParameterError(f"{name}: contains NaN or infinite entries")
    return k


def _eigh(k: np.ndarray, rcond: float | None):
    evals, evecs = np.linalg.eigh((k + k.T) / 2)
    lam_max = max(float(np.max(np.abs(evals))), np.finfo(float).tiny)
    if rcond is None:
        rcond = k.shape[0] * np.finfo(float).eps
    rcond = checks.real("rcond", rcond, low=0.0, high=1.0)
    cutoff = rcond * lam_max
    keep = evals > cutoff
    lam_min = float(evals[0])
    cond = lam_max / lam_min if lam_min > 0 else float("inf")
    return evals, evecs, keep, cutoff, int(np.sum(~keep)), cond


def _targets(y, n: int) -> np.ndarray:
    y = checks.finite_array("y_train", y)
    if y.shape[:1] != (n,):
        raise ParameterError(f"y_train: expected {n} rows, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ParameterError("y_train: contains NaN or infinite entries")
    return y


def gp_inference(k_train_train, y_train, k_test_train=None, k_test_test=None,
                 diag_reg: float = 0.0, rcond: float | None = None) -> Prediction:
    """Posterior mean and covariance of a GP with kernel ``k`` (NNGP or NTK).

    Args:
        k_train_train: ``(N, N)`` kernel of the training inputs.
        y_train: ``(N,)`` or ``(N, n_out)`` targets.
        k_test_train: ``(M, N)`` kernel between test and training inputs; None predicts
            on the training inputs.
        k_test_test: ``(M, M)`` test kernel (needed for the covariance).
        diag_reg: observation-noise variance ``s^2 >= 0`` added to the diagonal.
        rcond: relative eigenvalue cutoff of the pseudo-inverse (default ``N * eps``).
    """
    k = _check_square("k_train_train", k_train_train)
    n = k.shape[0]
    y = _targets(y_train, n)
    diag_reg = checks.positive("diag_reg", diag_reg, allow_zero=True)
    cross = _check_cross("k_test_train", k_test_train, n)
    evals, evecs, keep, cutoff, dropped, cond = _eigh(k + diag_reg * np.eye(n), rcond)
    inv = np.where(keep, 1.0 / np.where(keep, evals, 1.0), 0.0)
    cross_eff = k if cross is None else cross
    proj = cross_eff @ evecs                                 # (M, N) in the eigenbasis
    mean = proj @ (inv[:, None] * (evecs.T @ y.reshape(n, -1)))
    cov = None
    if cross is None or k_test_test is not None:
        test = k if cross is None else _check_square("k_test_test", k_test_test)
        cov = test - (proj * inv) @ proj.T
    return _finite(Prediction(mean=mean.reshape((-1,) + y.shape[1:]), covariance=cov,
                              cutoff=cutoff, n_discarded=dropped, condition_number=cond))


def gradient_descent_mse(ntk_train_train, y_train, lr: float = 1.0,
                         t: float = np.inf, ntk_test_train=None, nngp_train_train=None,
                         nngp_test_train=None, nngp_test_test=None,
                         rcond: float | None = None) -> Prediction:
    """Mean (and covariance) of infinitely wide networks trained by gradient descent on MSE.

    Args:
        ntk_train_train: ``(N, N)`` NTK of the training inputs.
        y_train: ``(N,)`` or ``(N, n_out)`` targets.
        lr: ``eta > 0``.
        t: training time (number of steps of continuous-time gradient flow), ``>= 0``,
            ``np.inf`` for the converged network.
        ntk_test_train: ``(M, N)`` NTK between test and training inputs (None: predict on
            the training inputs).
        nngp_train_train, nngp_test_train, nngp_test_test: NNGP blocks; with all of them
            (or the first alone when predicting on the training set) the covariance of the
            ensemble over random initialisations is returned as well.
        rcond: relative eigenvalue cutoff used at ``t = inf`` (default ``N * eps``).

    Returns:
        :class:`Prediction` (mean ``(M, ...)``, covariance ``(M, M)`` or None).

    Notes:
        This is gradient *flow*: every mode decays as ``exp(-lr lambda t / y.size)`` for any
        ``lr > 0``, so it never diverges and ``lr`` only sets the unit of time. Discrete
        steps of size ``lr`` diverge above :func:`max_learning_rate`; that bound belongs to
        whoever takes the steps (a finite network trained by
        :func:`nnphys.sim.networks.train_gd` raises ``NumericalError`` naming ``lr`` when it
        blows up).
    """
    theta = _check_square("ntk_train_train", ntk_train_train)
    n = theta.shape[0]
    y = _targets(y_train, n)
    lr = checks.positive("lr", lr)
    t = checks.real("t", t, low=0.0, allow_inf=True)
    cross = _check_cross("ntk_test_train", ntk_test_train, n)
    evals, evecs, keep, cutoff, dropped, cond = _eigh(theta, rcond)
    s = lr * t / y.size
    if np.isinf(s):
        gain = np.where(keep, 1.0 / np.where(keep, evals, 1.0), 0.0)
    else:
        # (1 - exp(-lambda s)) / lambda, -> s as lambda -> 0; roundoff-negative modes clipped.
        lam = np.maximum(evals, 0.0)
        gain = np.where(lam > 0, -np.expm1(-lam * s) / np.where(lam > 0, lam, 1.0), s)
        dropped, cutoff = 0, 0.0
    theta_cross = theta if cross is None else cross
    proj = theta_cross @ evecs                                # Theta(x*, X) V
    mean = proj @ (gain[:, None] * (evecs.T @ y.reshape(n, -1)))
    cov = None
    if nngp_train_train is not None and (cross is None or (nngp_test_train is not None
                                                          and nngp_test_test is not None)):
        k = _check_square("nngp_train_train", nngp_train_train)
        if k.shape != theta.shape:
            raise ParameterError(f"nngp_train_train: shape {k.shape} differs from the NTK's")
        k_cross = k if cross is None else _check_cross("nngp_test_train", nngp_test_train, n)
        k_test = k if cross is None else _check_square("nngp_test_test", nngp_test_test)
        a = proj * gain                                       # Theta(x*,X) T^{-1} E in V basis
        k_eig = evecs.T @ k @ evecs
        k_cross_eig = k_cross @ evecs
        mixed = a @ k_cross_eig.T
        cov = k_test + a @ k_eig @ a.T - mixed - mixed.T
    return _finite(Prediction(mean=mean.reshape((-1,) + y.shape[1:]), covariance=cov,
                              cutoff=cutoff, n_discarded=dropped, condition_number=cond))


@dataclasses.dataclass(frozen=True)
class GradientDescentPrediction(Result):
    """Train and test outputs of an infinitely wide network along gradient descent on a
    loss (:func:`gradient_descent`), from an adaptive ODE solver.

    Attributes:
        t: the times asked for (training steps, as given: a scalar or a 1-D array).
        f_train: outputs on the training inputs, shape ``t.shape + (N, K)`` (``(N,)``
            for 1-D targets of a loss other than the cross-entropy).
        f_test: the same on the test inputs (``t.shape + (M, K)``), or None without a test
            kernel.
        loss: the training loss at each time, shape ``t.shape``.
        method: the ``scipy.integrate.solve_ivp`` method used.
        status: its status (0: reached the last time; -1: the step size fell below
            roundoff or the right-hand side became non-finite).
        message: its message.

    ``converged`` is ``status == 0``; ``iterations`` the right-hand-side evaluations;
    ``residual`` is None (the solver controls the local error to ``rtol``/``atol``; the
    global error is not estimated).
    """

    t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    f_train: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    f_test: np.ndarray | None = None
    loss: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    method: str = "DOP853"
    status: int = 0
    message: str = ""


def _times(t) -> np.ndarray:
    """``t`` as a float array (scalar or 1-D), finite, ``>= 0``, non-decreasing."""
    if isinstance(t, (str, bytes)) or t is None:
        raise ArgumentTypeError(f"t: must be a number or a 1-D array of numbers, got "
                                       f"{type(t).__name__}")
    a = checks.finite_array("t", t, low=0.0)
    if a.ndim > 1 or a.size == 0:
        raise ParameterError(f"t: must be a number or a non-empty 1-D array, got shape "
                             f"{a.shape}")
    if np.any(np.diff(a.reshape(-1)) < 0):
        raise ParameterError("t: times must be non-decreasing")
    return a


def _initial(name: str, value, shape: tuple) -> np.ndarray:
    a = checks.finite_array(name, value)
    try:
        return np.array(np.broadcast_to(a, shape), dtype=float)
    except ValueError:
        raise ParameterError(f"{name}: shape {a.shape} does not broadcast to {shape}") from None


def gradient_descent(loss, ntk_train_train, y_train, lr: float = 1.0, momentum=None, *, t,
                     ntk_test_train=None, f_train_0=0.0, f_test_0=0.0,
                     method: str = "DOP853", rtol: float = 1e-10, atol: float = 1e-12,
                     strict: bool = True) -> GradientDescentPrediction:
    """Outputs of an infinitely wide network trained by gradient descent on any
    differentiable loss: the function-space ODE, integrated with error control.

    Parameters
    ----------
    loss : str or tuple
        ``"mse"`` (``|f - y|^2 / (2 y.size)``), ``"cross_entropy"`` (softmax over the last
        axis, ``-sum y log softmax(f) / y.size``), or a pair ``(loss, grad)`` of callables:
        ``loss(f, y) -> float`` and ``grad(f, y) -> dL/df``, an array of ``f``'s shape,
        both called with float arrays ``f`` and ``y`` of shape ``(N, K)`` (``K = 1`` for
        1-D targets). The normalisation is neural-tangents' (a mean over ``y.size``).
    ntk_train_train : array_like
        ``(N, N)`` NTK of the training inputs (the same kernel for every output: the
        network's outputs are independent at infinite width).
    y_train : array_like
        ``(N,)`` or ``(N, K)`` targets; for the cross-entropy one-hot or probability rows
        ``(N, K >= 2)``, or integer labels ``(N,)`` (one-hot over ``max(label) + 1``
        classes).
    lr : float
        The learning rate ``eta > 0``.
    momentum : float or None
        None for plain gradient descent; ``0 <= momentum < 1`` for heavy-ball momentum
        (the second-order ODE of the Notes even at ``momentum=0``, as in neural-tangents).
    t : float or array_like
        Training time(s) in steps, finite, ``>= 0``, non-decreasing: the ODE's time is
        ``lr * t`` (``sqrt(lr) * t`` with momentum, as in neural-tangents). For MSE at
        ``t = inf`` use :func:`gradient_descent_mse`.
    ntk_test_train : array_like, optional
        ``(M, N)`` NTK between test and training inputs; None: no test outputs.
    f_train_0, f_test_0 : float or array_like
        Outputs at initialisation (broadcast to ``(N, K)`` and ``(M, K)``); 0 is the mean of
        the NNGP prior (then ``loss="mse"`` gives :func:`gradient_descent_mse`'s mean).
    method : str
        A ``scipy.integrate.solve_ivp`` method of :data:`ODE_METHODS`; the implicit ones
        (``"Radau"``, ``"BDF"``, ``"LSODA"``) get the exact Jacobian for the built-in losses
        and suit stiff problems (long times on ill-conditioned kernels); Radau and BDF
        factorise the dense ``(N K) x (N K)`` Jacobian, ``O((N K)^3)`` each time (N = 200,
        K = 10: ~30 s where DOP853 and LSODA take 0.1 s).
    rtol, atol : float
        The solver's relative and absolute local error tolerances.
    strict : bool
        Raise :class:`~nnphys.errors.ConvergenceError` if the solver fails (default); with
        False return the record with ``converged=False``.

    Returns
    -------
    GradientDescentPrediction
        ``f_train`` and ``f_test`` at the times ``t``, the loss, the solver's status.

    Raises
    ------
    ParameterError, ArgumentTypeError
        Bad arguments (named).
    ConvergenceError
        The solver failed and ``strict`` (step size below roundoff, or more than
        :data:`MAX_EVALUATIONS` right-hand-side evaluations: ``lr * t`` astronomically
        long for a loss without minimum).
    NumericalError
        The outputs left the floating-point range.

    Notes
    -----
    **Equations** (Lee et al. 2019, "Wide Neural Networks of Any Depth Evolve as Linear
    Models Under Gradient Descent", arXiv:1902.06720, eqs. 9-10). With
    ``Theta = ntk_train_train`` and ``g(f) = dL/df``, gradient flow in the time
    ``tau = lr t`` is ``df_train/dtau = -Theta g(f_train)``,
    ``df_test/dtau = -Theta(x*, X) g(f_train)``. Both are driven by one state
    ``Z(tau) = -int_0^tau g ds`` (``(N, K)``):
    ``f_train = f_train_0 + Theta Z``, ``f_test = f_test_0 + Theta(x*, X) Z``, so the solver
    integrates ``dZ/dtau = -g(f_train_0 + Theta Z)``, whatever the number of test points.
    It does so in the eigenbasis of ``Theta`` (``Z = V u``, ``Theta V = V diag(lambda)``), so
    that its per-component error control acts on each mode: the error of ``f`` is then
    ``rtol`` of each mode's size for any condition number (in the point basis the large
    weak-mode components of ``Z`` would set the scale, amplified by ``lambda_max`` in ``f``).

    With heavy-ball momentum ``m`` (``v <- m v - lr grad``, ``theta <- theta + v``), in
    ``tau = sqrt(lr) t`` (neural-tangents' ``predict.gradient_descent``): the second-order
    ODE ``d^2 f/dtau^2 = ((m - 1) / sqrt(lr)) df/dtau - Theta g(f)`` from rest, i.e.
    ``dZ/dtau = W``, ``dW/dtau = ((m - 1) / sqrt(lr)) W - g(f_train_0 + Theta Z)``. This
    approximates the discrete heavy ball when each step changes little: at a fixed friction
    ``(1 - m) / sqrt(lr)`` the error is ``O(sqrt(lr))``; at a fixed ``m`` it does not vanish
    as ``lr -> 0`` (the velocity relaxes in ``1 / (1 - m)`` steps whatever ``lr``).

    **Divergence.** The flow itself never diverges for a loss bounded below. Discrete steps
    of size ``lr`` on MSE diverge above :func:`max_learning_rate`; on the cross-entropy,
    whose Hessian blocks have eigenvalues at most half of MSE's (Gershgorin:
    ``2 p_k (1 - p_k) <= 1/2``), they are locally stable below twice that bound. The check
    belongs to the discrete trainer, :func:`nnphys.sim.networks.train_gd`.

    **Possible issues.** Cross-entropy on separable data has no minimum: the logits grow
    like ``log t`` forever and there is no ``t = inf`` answer. Long times on an
    ill-conditioned ``Theta`` are stiff for the explicit default: pass ``method="Radau"``.

    Examples
    --------
    MSE agrees with the closed form:

    >>> import numpy as np
    >>> from nnphys.theory import kernels as nk
    >>> x = np.random.default_rng(0).standard_normal((6, 3))
    >>> theta = nk.serial(nk.Dense(1), nk.Relu(), nk.Dense(1)).kernel(x, get="ntk")
    >>> y = x[:, :1]
    >>> ode = nk.gradient_descent("mse", theta, y, 0.5, t=20.0).f_train
    >>> closed = nk.gradient_descent_mse(theta, y, 0.5, 20.0).mean
    >>> bool(np.allclose(ode, closed, rtol=1e-8, atol=1e-10))
    True
    """
    theta = _check_square("ntk_train_train", ntk_train_train)
    n = theta.shape[0]
    y, out_shape = _losses.targets(loss if isinstance(loss, str) else None, y_train)
    if y.shape[0] != n:
        raise ParameterError(f"y_train: expected {n} rows, got shape {out_shape}")
    bound = _losses.bind(loss, y)
    lr = checks.positive("lr", lr)
    if momentum is not None:
        momentum = checks.real("momentum", momentum, low=0.0, high=1.0, high_open=True)
    times = _times(t)
    cross = _check_cross("ntk_test_train", ntk_test_train, n)
    checks.one_of("method", method, ODE_METHODS)
    rtol = checks.real("rtol", rtol, low=1e-14, high=1e-1)
    atol = checks.real("atol", atol, low=0.0, high=1.0, low_open=True)
    if not isinstance(strict, (bool, np.bool_)):
        raise ArgumentTypeError(f"strict: must be a bool, got {type(strict).__name__}")
    nk_ = y.size
    if method in ("Radau", "BDF", "LSODA"):
        checks.work("y_train", 4.0 * nk_ * nk_, checks.MEMORY_LIMIT, what="Jacobian entries")
    f0 = _initial("f_train_0", f_train_0, y.shape)
    ft0 = None if cross is None else _initial("f_test_0", f_test_0, (cross.shape[0],)
                                               + y.shape[1:])
    g0 = bound.grad(f0)
    if not np.all(np.isfinite(g0)):
        raise NumericalError("loss: the gradient at f_train_0 is not finite")

    scale = np.sqrt(lr) if momentum is not None else lr
    tau = times.reshape(-1) * scale
    friction = None if momentum is None else (momentum - 1.0) / np.sqrt(lr)
    shape = y.shape
    # Z in the eigenbasis of Theta (module docstring of the Notes): the solver's error scale
    # per component then follows each mode, so the error of f = f0 + V (lam u) is rtol of
    # each mode's own size, whatever Theta's condition number (in the point basis, the
    # large weak-mode components of Z would set the scale and lam_max amplify the error).
    lam, vec = np.linalg.eigh((theta + theta.T) / 2)
    lift = vec * lam                                         # Theta V
    lift_test = None if cross is None else cross @ vec       # Theta(x*, X) V

    calls = [0]

    def rhs(_, state):
        calls[0] += 1
        if calls[0] > MAX_EVALUATIONS:
            raise _TooLong
        u = state[:nk_].reshape(shape)
        g = (vec.T @ bound.grad(f0 + lift @ u)).reshape(-1)
        if friction is None:
            return -g
        v = state[nk_:]
        return np.concatenate([v, friction * v - g])

    jac = None
    if bound.hessian_blocks is not None and method in ("Radau", "BDF", "LSODA"):
        def jac(_, state):
            h = bound.hessian_blocks(f0 + lift @ state[:nk_].reshape(shape))
            dg = np.einsum("im,ikl,in->mknl", vec, h, lift, optimize=True).reshape(nk_, nk_)
            if friction is None:
                return -dg
            eye = np.eye(nk_)
            return np.block([[np.zeros((nk_, nk_)), eye], [-dg, friction * eye]])

    size = nk_ if momentum is None else 2 * nk_
    unique, where = np.unique(tau, return_inverse=True)
    states = np.full((size, unique.size), np.nan)
    if unique[-1] == 0.0:
        states[:] = 0.0
        status, message, nfev = 0, "all times are 0", 0
    else:
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                sol = integrate.solve_ivp(rhs, (0.0, float(unique[-1])), np.zeros(size),
                                          method=method, t_eval=unique, rtol=rtol,
                                          atol=atol, **({} if jac is None else {"jac": jac}))
            status, message, nfev = int(sol.status), str(sol.message), int(sol.nfev)
            reached = np.asarray(sol.y, dtype=float).reshape(size, -1)
            states[:, :reached.shape[1]] = reached
        except _TooLong:
            status, nfev = -1, MAX_EVALUATIONS
            message = (f"more than {MAX_EVALUATIONS} right-hand-side evaluations (lr * t "
                       "too long for this loss?)")
    if status != 0 and strict:
        raise ConvergenceError(f"gradient_descent: solve_ivp ({method}) stopped before "
                               f"t = {times.reshape(-1)[-1]:g}: {message} (lower lr * t, or "
                               "use method='Radau' for a stiff problem)", iterations=nfev)
    z = states[:nk_].T[where].reshape((-1,) + shape)              # (T, N, K), eigenbasis
    f_train = f0 + np.einsum("ij,tjk->tik", lift, z)
    f_test = None if cross is None else ft0 + np.einsum("ij,tjk->tik", lift_test, z)
    done = np.all(np.isfinite(z), axis=(1, 2))
    if status == 0 and not np.all(done):
        raise NumericalError("gradient_descent: the outputs overflowed (kernel entries or "
                             "lr * t too large for float64?)")
    losses = np.array([bound.value(f) if ok else np.nan for f, ok in zip(f_train, done)])
    lead = times.shape
    out_train = f_train.reshape(lead + (n,) + out_shape[1:])
    out_test = None if f_test is None else f_test.reshape(lead + (cross.shape[0],)
                                                          + out_shape[1:])
    return GradientDescentPrediction(
        converged=status == 0, iterations=nfev,
        parameters={"loss": loss if isinstance(loss, str) else "callable", "lr": lr,
                    "momentum": momentum, "rtol": rtol, "atol": atol},
        t=times, f_train=out_train, f_test=out_test, loss=losses.reshape(lead), method=method,
        status=status, message=message)


def max_learning_rate(ntk_train_train, y_train_size: int | None = None,
                      momentum: float = 0.0) -> float:
    """The largest learning rate at which gradient descent on MSE stays stable for an
    infinitely wide network (neural-tangents' ``predict.max_learning_rate``).

    Parameters
    ----------
    ntk_train_train : array_like
        ``(N, N)`` NTK of the training inputs (analytic or empirical).
    y_train_size : int, optional
        ``y_train.size`` (``N K`` for ``K`` outputs sharing the kernel); default ``N``.
    momentum : float
        Heavy-ball momentum ``0 <= momentum < 1`` (0: plain gradient descent).

    Returns
    -------
    float
        ``2 (1 + momentum) y_train_size / lambda_max(ntk_train_train)``.

    Raises
    ------
    ParameterError
        Bad arguments, or a kernel with no positive eigenvalue.

    Notes
    -----
    **Equations.** On the loss ``|f - y|^2 / (2 y.size)`` an infinitely wide (linearised)
    network steps as ``f <- f - (lr / y.size) Theta (f - y)``: each eigenmode of ``Theta``
    is multiplied by ``1 - a`` with ``a = lr lambda / y.size``, a contraction iff
    ``0 < a < 2``. With heavy-ball momentum (``v <- m v - lr grad``, ``f <- f + v``) the
    mode obeys ``e_{k+1} = (1 + m - a) e_k - m e_{k-1}``, whose characteristic roots lie
    inside the unit circle iff ``0 < a < 2 (1 + m)`` (for ``0 <= m < 1``; Goh 2017, "Why
    Momentum Really Works", Distill, doi:10.23915/distill.00006, "The Dynamics of
    Momentum"). The bound is set by the largest eigenvalue. At exactly the bound the mode
    oscillates without decaying (``|1 - a| = 1``); above it, it grows geometrically.

    Examples
    --------
    >>> import numpy as np
    >>> theta = np.diag([4.0, 1.0])
    >>> max_learning_rate(theta)                      # 2 * 2 / 4
    1.0
    >>> max_learning_rate(theta, momentum=0.5)        # 2 * 1.5 * 2 / 4
    1.5
    """
    theta = _check_square("ntk_train_train", ntk_train_train)
    n = theta.shape[0]
    size = n if y_train_size is None else checks.integer("y_train_size", y_train_size,
                                                         low=1)
    momentum = checks.real("momentum", momentum, low=0.0, high=1.0, high_open=True)
    lam = float(linalg.eigvalsh((theta + theta.T) / 2, subset_by_index=[n - 1, n - 1])[-1])
    if not lam > 0:
        raise ParameterError(f"ntk_train_train: has no positive eigenvalue (largest "
                             f"{lam:.3g}); not an NTK")
    return 2.0 * (1.0 + momentum) * size / lam


def _finite(p: Prediction) -> Prediction:
    for name in ("mean", "covariance"):
        value = getattr(p, name)
        if value is not None and not np.all(np.isfinite(value)):
            raise NumericalError(f"{name}: prediction overflowed (kernel entries too large "
                                 "for float64?)")
    return p
