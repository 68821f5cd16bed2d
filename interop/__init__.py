"""nnphys kernels for other libraries (optional extras; each submodule imports its library).

* :mod:`nnphys.interop.sklearn`: the NNGP and NTK of any nnphys network as scikit-learn
  Gaussian-process kernels (``GaussianProcessRegressor``, ``KernelRidge``, ``SVC``) and as
  plain Gram-matrix callables; needs ``pip install "nnphys[sklearn]"``.

Like :mod:`nnphys.validation`, this package sits above :mod:`nnphys.theory` (it imports the
theory, never the reverse).
"""
