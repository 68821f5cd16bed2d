"""Solvable scaling-law models.

* :mod:`.plrf` - power-law random features under one-pass SGD (Paquette, Paquette, Xiao &
  Pennington 2024): deterministic loss curves, the 4 + 3 phases, compute-optimal frontier;
  built on :mod:`.spectrum` (deterministic-equivalent spectral measures) and
  :mod:`.volterra` (closed-form solution of the SGD Volterra equation).
* ``bap`` - the dynamical model of Bordelon, Atanasov & Pehlevan 2024 (gradient flow on
  random features: ``bap.loss(t, N, P)``, ``bap.compute_optimal``, ``bap.exponents``); it is
  :mod:`nnphys.theory.dmft.learning`, exposed here under the model's name.
* :mod:`.fitting` - exponents with confidence intervals from measured loss curves.
"""

from ..dmft import learning as bap  # noqa: F401
from . import fitting, plrf, spectrum, volterra  # noqa: F401
