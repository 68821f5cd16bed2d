"""nnphys: statistical physics of neural networks.

Infinite-width kernels (:mod:`nnphys.theory.kernels`), finite-width simulation
(:mod:`nnphys.sim`), and the validation layer comparing the two
(:mod:`nnphys.validation`).
"""

__version__ = "0.1.0"

from .errors import (ArgumentTypeError, ConvergenceError, NNPhysError,  # noqa: E402
                     NumericalError, ParameterError, RecordFileError)
from .results import PhaseDiagram, Result, load  # noqa: E402

__all__ = ["__version__", "ArgumentTypeError", "ConvergenceError", "NNPhysError", "NumericalError",
           "ParameterError", "PhaseDiagram", "RecordFileError", "Result", "load"]
