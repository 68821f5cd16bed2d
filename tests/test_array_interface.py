"""Arrays of other frameworks: any object with ``__array__`` is accepted where the kernels
take inputs, float32 upcast to float64 (exactly: the kernel equals that of the float64
copy of the same values, bit for bit), and a failing ``__array__`` (a GPU array) is
refused by name with the way out."""

import numpy as np
import pytest

from nnphys.errors import ArgumentTypeError
from nnphys.theory import kernels as nk


class Modern:
    """numpy 2's protocol: ``__array__(dtype=None, copy=None)`` (JAX, PyTorch)."""

    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return self.a if dtype is None else self.a.astype(dtype)


class Legacy:
    """The older protocol: ``__array__(self)`` alone (numpy 2 no longer falls back)."""

    def __init__(self, a):
        self.a = a

    def __array__(self):
        return self.a


class OnDevice:
    """What CuPy does: conversion refused (CuPy raises TypeError, torch RuntimeError)."""

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("Implicit conversion to a NumPy array is not allowed")


NET = nk.serial(nk.Dense(8, 1.4, 0.1), nk.Erf(), nk.Dense(1, 1.4, 0.1))


@pytest.mark.parametrize("wrapper", [Modern, Legacy])
def test_array_protocol_inputs_equal_their_float64_copy(wrapper):
    x32 = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    x64 = x32.astype(np.float64)
    expected = NET.kernel(x64, x64[:2])
    got = NET.kernel(wrapper(x32), wrapper(x32[:2]))
    assert got.nngp.dtype == np.float64
    np.testing.assert_array_equal(got.nngp, expected.nngp)
    np.testing.assert_array_equal(got.ntk, expected.ntk)
    theta = NET.kernel(x64, get="ntk")
    p = nk.gradient_descent("mse", wrapper(theta), wrapper(x64[:, 0]), t=3.0)
    np.testing.assert_array_equal(p.f_train, nk.gradient_descent("mse", theta, x64[:, 0],
                                                                 t=3.0).f_train)


def test_failing_array_protocol_is_named():
    with pytest.raises(ArgumentTypeError, match=r"^x1: OnDevice.__array__ failed .*\.get\(\)"):
        NET.kernel(OnDevice())
