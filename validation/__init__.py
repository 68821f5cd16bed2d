"""Theory against simulation: each check returns :class:`Comparison` records.

``nnphys validate`` runs them and prints a table; see :mod:`.registry`.
"""

from .registry import Comparison, checks, compare, register, run

__all__ = ["Comparison", "checks", "compare", "register", "run"]
