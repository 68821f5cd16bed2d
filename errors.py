"""The package's error classes.

Every error nnphys raises on purpose derives from :class:`NNPhysError`, so callers can
catch the package's own failures in one place; bad arguments also derive from the
built-in :class:`ValueError` / :class:`TypeError` they refine.
"""

from __future__ import annotations

__all__ = ["NNPhysError", "ConvergenceError", "NumericalError", "ParameterError",
           "ArgumentTypeError", "ConvergenceWarning", "RecordFileError"]


class NNPhysError(Exception):
    """Base class of the errors raised by nnphys."""


class ParameterError(NNPhysError, ValueError):
    """An argument is outside its allowed range; the message names it and the range."""


class ArgumentTypeError(NNPhysError, TypeError):
    """An argument has the wrong type; the message names it and the expected type."""


class ConvergenceError(NNPhysError, RuntimeError):
    """A solver or quadrature did not reach its tolerance.

    Attributes hold what the solver had reached, so the caller can judge it.
    """

    def __init__(self, message: str, *, iterations: int | None = None,
                 residual: float | None = None):
        super().__init__(message)
        self.iterations = iterations
        self.residual = residual


class NumericalError(NNPhysError, ArithmeticError):
    """A computation left the range of floating point (overflow, NaN) and cannot go on."""


class ConvergenceWarning(RuntimeWarning):
    """Part of a computation did not converge and was recorded as such (e.g. grid points
    of a phase diagram, left NaN with a failed status), while the rest stands."""


class RecordFileError(NNPhysError, ValueError):
    """A file is not a readable nnphys record (empty, truncated, not an ``.npz``, written by
    something else, or with damaged metadata); the message names the file and the fault."""
