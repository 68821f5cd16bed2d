"""The front door: ``learning_curve`` from a spectrum, or from a network on the sphere.

``learning_curve(eigenvalues, target_power, P, ridge=0.0, noise=0.0, multiplicities=None)``
is :func:`~nnphys.theory.generalization.eigenlearning.spectral_learning_curve`.

``learning_curve(net, d, target, P, ridge=0.0, noise=0.0, get="ntk", k_max=None)`` takes the
Funk-Hecke spectrum of the network's kernel for inputs uniform on ``S^{d-1}``
(:func:`~nnphys.theory.generalization.sphere.sphere_spectrum`) to degree ``k_max``. ``target``
is either the target power of each degree ``k = 0, 1, ...`` (summed over the ``N(d, k)``
harmonics of the degree) or a teacher network (``target ~ GP(0, teacher kernel)``: power
``N(d, k) lambda_k^teacher`` per degree; the teacher's power above ``k_max`` is kept as an
unlearnable level). Tail model: the student kernel's degrees above ``k_max`` carry the trace
``h(1) - sum_{k <= k_max} N(d,k) lambda_k``; their eigenvalues are far below ``kappa`` where the
learning curve is computed, so they enter (K) as ``sum m lambda/(lambda + kappa) ~ trace /
kappa``, i.e. as an added ridge equal to that trace (the "effective regularisation" of
unlearned modes, Canatar et al. 2021, arXiv:2006.13198, Sec. 3), and not as learnable
levels. Choose ``k_max`` so that ``lambda_{k_max}`` is well below ``kappa`` at the largest
``P`` (default: the largest of the target's degrees + 4, at least 8; check with
``spectrum.eigenvalues``).
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np

from ... import checks
from ...errors import ArgumentTypeError, ParameterError
from .eigenlearning import LearningCurve, spectral_learning_curve
from .sphere import sphere_spectrum

__all__ = ["learning_curve", "sphere_learning_curve"]


def _is_network(obj) -> bool:
    return hasattr(obj, "kernel") and hasattr(obj, "spec")


def sphere_learning_curve(net, d, target, P, ridge=0.0, noise=0.0, get="ntk",
                          k_max=None) -> LearningCurve:
    """Learning curve of ``net``'s kernel regression for inputs uniform on ``S^{d-1}``
    (module docstring: target, tail model). ``parameters`` adds ``k_max``, ``tail_trace`` and
    ``tail_over_kappa`` (the last kept non-zero eigenvalue over the smallest ``kappa`` of the
    grid: the tail model holds when it is << 1; raise ``k_max`` otherwise)."""
    d = checks.integer("d", d, low=2)
    teacher = _is_network(target)
    if not teacher:
        power = checks.finite_array("target", target, ndim=1, low=0.0)
    default = 8 if teacher else max(power.size + 3, 8)
    k_max = default if k_max is None else checks.integer("k_max", k_max, low=0)
    spec = sphere_spectrum(net, d, k_max, get)
    lam, mult = spec.eigenvalues, spec.multiplicities
    tail = max(spec.trace - float(mult @ lam), 0.0)
    if teacher:
        ts = sphere_spectrum(target, d, k_max, get)
        levels = ts.multiplicities * ts.eigenvalues
        levels = np.append(levels, max(ts.trace - levels.sum(), 0.0))
    else:
        if power.size > k_max + 1:
            raise ParameterError(f"target: {power.size} degrees given but k_max = "
                                        f"{k_max}")
        levels = np.append(np.pad(power, (0, k_max + 1 - power.size)), 0.0)
    lam, mult = np.append(lam, 0.0), np.append(mult, 1.0)
    ridge = checks.real("ridge", ridge, low=0.0)
    out = spectral_learning_curve(lam, levels, P, ridge=ridge + tail, noise=noise,
                                  multiplicities=mult)
    # The tail-as-ridge model needs the omitted eigenvalues far below kappa: bound them by the
    # last non-zero one kept (the spectra of these kernels decrease with the degree).
    last = float(spec.eigenvalues[spec.eigenvalues > 0][-1])
    low = float(np.min(out.kappa))
    params = dict(out.parameters, ridge=ridge, d=d, k_max=k_max, get=get, tail_trace=tail,
                  tail_over_kappa=last / low if low > 0 else float("inf"))
    return dataclasses.replace(out, parameters=params)


_SPECTRAL = inspect.signature(spectral_learning_curve)
_SPHERE = inspect.signature(sphere_learning_curve)


def learning_curve(*args, **kwargs) -> LearningCurve:
    """Kernel-regression learning curve, from a spectrum or from a network on the sphere.

    ``learning_curve(eigenvalues, target_power, P, ridge=0.0, noise=0.0, multiplicities=None)``
    (conventions and equations: :mod:`nnphys.theory.generalization.eigenlearning`), or
    ``learning_curve(net, d, target, P=grid, ridge=0.0, noise=0.0, get="ntk", k_max=None)``
    (:func:`sphere_learning_curve`) when the first argument is a network.
    """
    first = args[0] if args else kwargs.get("eigenvalues", kwargs.get("net"))
    signature, fn = (_SPHERE, sphere_learning_curve) if _is_network(first) else \
        (_SPECTRAL, spectral_learning_curve)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise ArgumentTypeError(f"learning_curve: {exc}") from None
    return fn(*bound.args, **bound.kwargs)


learning_curve.__signature__ = _SPECTRAL
