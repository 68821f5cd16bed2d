"""Property tests of the Hebbian API edge (hypothesis): random and extreme arguments give a
finite answer or a ParameterError/ArgumentTypeError naming the argument, never a NaN or
another exception type. The fixed-point iterations (dense at T > 0, learning, multitask)
may also raise ConvergenceError: at a continuous transition (e.g. T = 1, rho = 0, P = 2)
they converge only algebraically, and saying so is the honest answer."""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnphys.errors import ArgumentTypeError, ConvergenceError, ParameterError
from nnphys.models import hebbian as models
from nnphys.theory.hebbian import dense, hopfield, learning, multitask

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
ITERATIVE = settings(SETTINGS, max_examples=15)        # fixed-point iterations near T_c
reals = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                  st.floats(min_value=0.0, max_value=2.0))


def _finite_or_named_error(call, names, iterative=False):
    try:
        out = call()
    except ConvergenceError:
        assert iterative, "a bracketed solver failed"
        return None
    except (ParameterError, ArgumentTypeError) as err:
        assert str(err).split(":")[0].strip() in names or any(
            str(err).startswith(n) for n in names), str(err)
        return None
    return out


@SETTINGS
@given(alpha=reals, T=reals, branch=st.sampled_from(hopfield.BRANCHES))
def test_hopfield_solve(alpha, T, branch):
    out = _finite_or_named_error(lambda: hopfield.solve(alpha, T, branch), ("alpha", "T"))
    if out is not None:
        assert all(math.isfinite(v) for v in (out.m, out.q, out.f)) and out.converged


@SETTINGS
@given(alpha=reals, T=reals, P=st.integers(-1, 6),
       convention=st.sampled_from(models.CONVENTIONS + ("bad",)))
def test_dense_solve(alpha, T, P, convention):
    out = _finite_or_named_error(lambda: dense.solve(alpha, T, P, convention=convention),
                                 ("alpha", "T", "P", "convention"), iterative=P != 2)
    if out is not None:
        assert math.isfinite(out.m) and math.isfinite(out.f)


@ITERATIVE
@given(alpha=st.floats(0.0, 0.3), T=reals, rho=reals, P=st.integers(2, 5))
def test_learning_solve(alpha, T, rho, P):
    out = _finite_or_named_error(lambda: learning.solve(alpha, T, P, rho),
                                 ("alpha", "T", "rho", "P", "alpha, rho, T"), iterative=True)
    if out is not None:
        assert math.isfinite(out.m) and math.isfinite(out.n)


@SETTINGS
@given(d=reals, T=reals, K=st.integers(-1, 4))
def test_multitask_solve(d, T, K):
    out = _finite_or_named_error(lambda: multitask.solve(d, T, K), ("d", "T", "K"),
                                 iterative=True)
    if out is not None:
        assert np.all(np.isfinite(out.m)) and math.isfinite(out.f)


@SETTINGS
@given(r=reals, M=st.integers(-2, 50), P=st.integers(0, 5), supervised=st.booleans())
def test_example_learning_spec(r, M, P, supervised):
    out = _finite_or_named_error(
        lambda: models.ExampleLearning(P=P, r=r, M=M, supervised=supervised),
        ("r", "M", "P", "r, M"))
    if out is not None:
        assert math.isfinite(out.rho) and out.kappa > 0
