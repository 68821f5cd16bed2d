"""numba simulations of the systems the theory describes (never imports nnphys.theory)."""
