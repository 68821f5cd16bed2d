"""The compiled PLRF resolvent residual against its numpy reference (tests/naive.py)."""

import numpy as np
import pytest

from nnphys.theory.scaling import _spectrum
from nnphys.theory.scaling.spectrum import _Resolvent

from . import naive


@pytest.mark.jit_off
def test_resolvent_residual_matches_the_numpy_form():
    rng = np.random.default_rng(0)
    D = rng.uniform(0.01, 1.0, 7)
    wd = rng.uniform(0.0, 0.5, 7)
    m = rng.normal(size=5) + 1j * rng.uniform(0.1, 1.0, 5)
    z = rng.normal(size=5) + 1j * rng.uniform(0.1, 1.0, 5)
    phi, dphi = _spectrum.resolvent_residual(D, wd, m, z, np.empty_like(m), np.empty_like(m))
    ref_phi, ref_dphi = naive.plrf_resolvent_residual(D, wd, m, z)
    # the same sums in another order: agreement to rounding (1e-14 relative, 7 terms)
    np.testing.assert_allclose(phi, ref_phi, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dphi, ref_dphi, rtol=1e-13, atol=1e-14)


def test_resolvent_uses_the_kernel_on_a_real_problem():
    res = _Resolvent(1.0, 0.6, 40, 400)
    z = np.array([0.01 + 0.005j, 0.3 + 0.1j])
    m = np.array([0.5 + 0.2j, 0.8 + 0.1j])
    ref = naive.plrf_resolvent_residual(res.D, res.wd, m, z)
    for got, want in zip(res.residual(m, z), ref):
        np.testing.assert_allclose(got, want, rtol=1e-12)
