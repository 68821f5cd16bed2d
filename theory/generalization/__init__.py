"""What the kernels predict: generalisation of kernel regression from the spectrum.

* :func:`learning_curve` -- test/train error, learnabilities, ``E0`` and mode errors of
  kernel ridge regression from a spectrum (eigenlearning / Canatar et al.), or from a network
  on the sphere (:mod:`.curves`, :mod:`.eigenlearning`);
* :func:`sphere_spectrum`, :func:`hypercube_spectrum` -- Funk-Hecke / Walsh eigenvalues of a
  network's NNGP or NTK (:mod:`.sphere`);
* :func:`kernel_alignment_risk` -- the test error estimated from training data (:mod:`.risk`);
* :func:`local_exponent`, :func:`local_learning_curve` -- learning-curve exponents of local
  (convolutional) kernels, set by the filter size, not the input dimension (:mod:`.local`).
* :func:`empirical_spectrum`, :func:`empirical_learning_curve` -- eigenvalues and target power
  of a kernel on a sample of a data set, and its learning curve (:mod:`.empirical`).
"""

from .curves import learning_curve, sphere_learning_curve
from .empirical import EmpiricalSpectrum, empirical_learning_curve, empirical_spectrum
from .eigenlearning import LearningCurve, spectral_learning_curve
from .local import local_exponent, local_learning_curve
from .risk import kernel_alignment_risk
from .sphere import (SphereSpectrum, gegenbauer, hypercube_spectrum, kernel_function,
                     multiplicity, sphere_spectrum)

__all__ = ["learning_curve", "sphere_learning_curve", "LearningCurve", "spectral_learning_curve",
           "kernel_alignment_risk", "EmpiricalSpectrum", "empirical_spectrum",
           "empirical_learning_curve", "SphereSpectrum", "sphere_spectrum", "hypercube_spectrum",
           "multiplicity", "gegenbauer", "kernel_function", "local_exponent",
           "local_learning_curve"]
