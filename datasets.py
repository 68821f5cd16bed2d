"""Real data sets, prepared the way the learning-curve literature uses them.

* :func:`digits` -- scikit-learn's handwritten digits (1797 images of 8 x 8 pixels, 10
  classes; shipped inside scikit-learn, nothing is downloaded): inputs normalised to the unit
  sphere, one-hot targets. scikit-learn is an optional dependency (``pip install
  nnphys[data]``); without it :func:`digits` raises :class:`MissingDataError`.

Normalisation. Canatar, Bordelon & Pehlevan 2021 (arXiv:2006.13198) apply the dot-product
kernel theory to MNIST with every image scaled to unit norm, so the NNGP/NTK depends on
``x . x'`` only. Here the pixels are first centred (the mean image of the set subtracted, so
the constant mode does not dominate the spectrum) and then each image is scaled to unit norm.
"""

from __future__ import annotations

import numpy as np

from .errors import NNPhysError

__all__ = ["MissingDataError", "digits"]


class MissingDataError(NNPhysError, ImportError):
    """A data set's optional dependency is not installed."""


def digits(center: bool = True):
    """The scikit-learn digits: ``(x, y, labels)`` with ``x`` of shape ``(1797, 64)``, unit
    rows (centred first when ``center``), ``y`` the one-hot targets ``(1797, 10)``, ``labels``
    the classes ``0..9``.

    Raises:
        MissingDataError: scikit-learn is not installed (``pip install nnphys[data]``).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise MissingDataError("digits: needs scikit-learn, an optional dependency "
                               "(pip install nnphys[data])") from None
    data = load_digits()
    x = np.asarray(data.data, dtype=float)
    if center:
        x = x - x.mean(axis=0)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    labels = np.asarray(data.target, dtype=int)
    y = np.eye(10)[labels]
    return x, y, labels
