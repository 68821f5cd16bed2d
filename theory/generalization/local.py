"""Learning-curve exponents of local (convolutional) kernels: locality beats dimension.

Setup (Favero, Cagnetta & Wyart 2021, "Locality defeats the curse of dimensionality in
convolutional teacher-student scenarios", arXiv:2106.08619, Sec. 3; and 2022, "What can be
learnt with wide convolutional neural networks?", arXiv:2208.01003). Inputs
``x in [0, 1]^d`` uniform (the hypercube), read as ``d`` pixels on a ring (circular
padding); ``x_i`` is the patch of ``s`` adjacent pixels starting at pixel ``i``. A *local*
kernel of filter size ``s`` is

    K_s(x, y) = (1/d) sum_{i=1}^{d} C(x_i, y_i),                                        (1)

the NTK/NNGP of ``Conv(filter s, CIRCULAR) - activation - Flatten - Dense`` (a
*convolutional* kernel sums over all pairs of patches, ``GlobalAvgPool``; the exponent is the
same, their Sec. 4). The constituent ``C`` on ``[0, 1]^s`` has smoothness ``alpha``: its
Fourier transform falls like ``|w|^{-(s + alpha)}`` (a cusp ``|x - y|^alpha`` at ``x = y``;
``alpha = 1`` for the Laplace kernel and for the ReLU NTK with biases, whose
``arccos`` term is a cusp in the angle; ``alpha = 3`` for the ReLU NNGP, whose first
non-analytic term is ``theta^3``). The teacher is a Gaussian random field with a local
kernel of filter ``t`` and smoothness ``alpha_t``; the student does ridgeless regression with
filter ``s`` and smoothness ``alpha_s``.

Prediction (their Eq. 9, ``t <= s``, ``alpha_t <= 2 (alpha_s + s)``)::

    test_error ~ P^{-beta},     beta = alpha_t / s,                                      (2)

independent of ``d``. Derivation in the spectral language of :mod:`.eigenlearning`: the
student's eigenfunctions are patch functions (Fourier modes ``w`` of one patch), eigenvalue
``~ |w|^{-(s + alpha_s)}/d``, so ``rho ~ d |w|^s`` modes lie above it: ``lambda_rho ~
(rho/d)^{-(1 + alpha_s/s)}``, a power law whose exponent is set by ``s``; ``d`` only counts
copies. A teacher of filter ``t <= s`` lies in their span, with power ``|w|^{-(t + alpha_t)}``
on a mode of frequency ``w`` of ``t`` pixels, so the power beyond student rank ``rho`` is
``sum_{|w| > (rho/d)^{1/s}} |w|^{t-1} |w|^{-(t + alpha_t)} d|w| ~ (rho/d)^{-alpha_t/s}``.
Ridgeless, the ``~P`` leading modes are learned (``kappa ~ lambda_P``) and the error is the
tail beyond them, (2); when ``alpha_t > 2 (alpha_s + s)`` the tail is smoother than the
spectrum can resolve and the error falls at the spectral limit ``2 (1 + alpha_s/s)`` (the
saturation of Bordelon, Canatar & Pehlevan 2020, arXiv:2002.02561). For ``t > s`` the
teacher is not in the student's span and the error does not go to zero: no exponent.

:func:`local_learning_curve` evaluates the idealised power-law model of this derivation with
:func:`.eigenlearning.spectral_learning_curve`; its local slope over a finite range of ``P``
shows how far a measured exponent can sit from its asymptote (2).
"""

from __future__ import annotations

import numpy as np

from ... import checks
from ...errors import ParameterError
from .eigenlearning import LearningCurve, spectral_learning_curve

__all__ = ["local_exponent", "local_learning_curve"]


def local_exponent(s: int, t: int | None = None, alpha_t: float = 1.0,
                   alpha_s: float = 1.0) -> float:
    """Learning-curve exponent ``beta`` of ridgeless regression with a local kernel of filter
    size ``s`` on a local teacher of filter size ``t`` (default ``t = s``), smoothness
    exponents ``alpha_t``, ``alpha_s`` (module docstring, Eq. 2): ``alpha_t / s``, capped at
    the spectral limit ``2 (1 + alpha_s / s)``. The input dimension does not enter.

    Raises:
        ParameterError: for ``t > s`` (the teacher is outside the student's span: the error
            tends to a constant, no exponent).

    Example:
        >>> local_exponent(2), local_exponent(4, t=2, alpha_t=3.0)
        (0.5, 0.75)
    """
    s = checks.integer("s", s, low=1)
    t = s if t is None else checks.integer("t", t, low=1)
    alpha_t = checks.real("alpha_t", alpha_t, low=0.0, low_open=True)
    alpha_s = checks.real("alpha_s", alpha_s, low=0.0, low_open=True)
    if t > s:
        raise ParameterError(f"t: the teacher's filter ({t}) must be <= the student's "
                             f"(s = {s}); a wider teacher is not learned to zero error")
    return min(alpha_t / s, 2.0 * (1.0 + alpha_s / s))


def local_learning_curve(s: int, P, t: int | None = None, alpha_t: float = 1.0,
                         alpha_s: float = 1.0, modes: int = 100_000) -> LearningCurve:
    """Ridgeless learning curve of the idealised local-kernel model of the module docstring:
    ``lambda_rho = rho^{-(1 + alpha_s/s)}`` and target power ``v_rho^2 = rho^{-1 - alpha_t/s}``
    (tail beyond ``rho`` ``~ rho^{-alpha_t/s}``), by
    :func:`.eigenlearning.spectral_learning_curve`. ``P`` is in units of ``d`` (the number
    of patches), which only rescales ``P``.

    Modes ``rho = 1 .. modes`` are listed one by one; the tail beyond is kept as log-spaced
    levels (``_TAIL_BINS_PER_EFOLD`` per e-fold, up to ``modes x 1e40``; the power is the
    bin's integral of ``rho^{-1-beta}``, the eigenvalue that of its geometric centre), since
    a truncated tail would steepen the curve by ``(P/modes)^beta`` relatively. Keep ``P``
    below ``modes / 10``.
    """
    local_exponent(s, t, alpha_t, alpha_s)                  # validates s, t and the alphas
    modes = checks.integer("modes", modes, low=10, high=10 ** 7)
    grid = np.atleast_1d(checks.finite_array("P", P, low=0.0, low_open=True))
    if np.any(grid >= modes / 10):
        raise ParameterError(f"P: must stay below modes / 10 = {modes / 10:g} (the "
                             "one-by-one modes must cover the learned ones)")
    a, b = 1.0 + alpha_s / s, alpha_t / s
    rho = np.arange(1, modes + 1.0)
    edges = (modes + 0.5) * np.exp(np.arange(0.0, _TAIL_EFOLDS, 1.0 / _TAIL_BINS_PER_EFOLD))
    lo, hi = edges[:-1], edges[1:]
    lam = np.concatenate([rho ** -a, np.sqrt(lo * hi) ** -a])
    power = np.concatenate([rho ** -(1.0 + b), (lo ** -b - hi ** -b) / b])
    mult = np.concatenate([np.ones(modes), hi - lo])
    return spectral_learning_curve(lam, power, grid, multiplicities=mult)


_TAIL_BINS_PER_EFOLD = 50
_TAIL_EFOLDS = 40 * np.log(10.0)
