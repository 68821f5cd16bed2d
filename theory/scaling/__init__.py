"""Solvable scaling-law models.

* :mod:`.plrf` - power-law random features under one-pass SGD (Paquette, Paquette, Xiao &
  Pennington 2024): deterministic loss curves, the 4 + 3 phases, compute-optimal frontier;
  built on :mod:`.spectrum` (deterministic-equivalent spectral measures) and
  :mod:`.volterra` (closed-form solution of the SGD Volterra equation).
* ``bap`` - the dynamical model of Bordelon, Atanasov & Pehlevan 2024 (gradient flow on
  random features: ``bap.loss(t, N, P)``, ``bap.compute_optimal``, ``bap.exponents``); it is
  :mod:`nnphys.theory.dmft.learning`, exposed here under the model's name.
* :mod:`.mrs` - the solvable model of Maloney, Roberts & Sully 2022 (random-feature ridge
  regression on a power-law latent spectrum: test loss over (N, P), plateau, optimal ridge,
  equiparameterization).

Exponents with confidence intervals from measured loss curves: :func:`nnphys.stats.fit_power_law`.
The models' spectra and default learning rates: :mod:`nnphys.models.regression`; the tau fixed
point shared by the three: :mod:`nnphys.theory.spectral`.
"""

from ..dmft import learning as bap  # noqa: F401
from . import mrs, plrf, spectrum, volterra  # noqa: F401
