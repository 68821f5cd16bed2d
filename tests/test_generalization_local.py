"""Local (convolutional) kernels: the learning-curve exponent of Favero, Cagnetta & Wyart
2021 (arXiv:2106.08619) as a function, its idealised spectral model, and the measured exponent
of kernel regression with nnphys' Conv CNTK (slow)."""

import numpy as np
import pytest

from nnphys.errors import ParameterError
from nnphys.theory.generalization import local_exponent, local_learning_curve


def test_exponent_is_alpha_t_over_s_and_ignores_the_teacher_filter():
    # their Eq. 9: beta = alpha_t / s for t <= s (the student's filter sets it)
    assert local_exponent(2) == 0.5
    assert local_exponent(3) == pytest.approx(1 / 3, rel=1e-15)
    assert local_exponent(4, t=1) == local_exponent(4, t=4) == 0.25
    assert local_exponent(2, alpha_t=3.0) == 1.5


def test_exponent_saturates_at_the_spectral_limit():
    # alpha_t > 2 (alpha_s + s): the error falls at 2 (1 + alpha_s / s), not alpha_t / s
    assert local_exponent(2, alpha_t=10.0, alpha_s=1.0) == 3.0


def test_wider_teacher_and_bad_arguments_are_refused():
    with pytest.raises(ParameterError, match="t:"):
        local_exponent(2, t=3)
    with pytest.raises(ParameterError, match="s"):
        local_exponent(0)
    with pytest.raises(ParameterError, match="alpha_t"):
        local_exponent(2, alpha_t=0.0)
    with pytest.raises(ParameterError, match="P:"):
        local_learning_curve(2, [1e5], modes=1000)


@pytest.mark.parametrize("s", [2, 3, 5])
def test_idealised_model_approaches_the_exponent(s):
    # The power-law model lambda = rho^-(1 + 1/s), v^2 = rho^-(1 + 1/s) has the known
    # ridgeless asymptote E_g ~ P^-(1/s) (Bordelon, Canatar & Pehlevan 2020), approached
    # with corrections that fall as a power of 1/P: over 100x in P the gap of the local
    # slope must shrink >= 10x and end below 0.005 (2.5% of the exponent at s = 5). A
    # truncated tail would fail this (it steepens the slope by ~(P/modes)^beta).
    beta = local_exponent(s)
    P = np.array([30.0, 40.0, 3000.0, 4000.0])
    e = local_learning_curve(s, P).test_error
    early = -np.log(e[1] / e[0]) / np.log(P[1] / P[0])
    late = -np.log(e[3] / e[2]) / np.log(P[3] / P[2])
    assert abs(late - beta) < 0.1 * abs(early - beta)
    assert abs(late - beta) < 0.005


@pytest.mark.slow
def test_conv_ntk_exponent_matches_the_prediction():
    from nnphys.validation.generalization import local_kernel_exponent
    rows = local_kernel_exponent(quick=True, seed=1)
    assert len(rows) == 3
    for row in rows:
        assert row.passed, row
