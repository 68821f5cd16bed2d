"""validation.parametrization: the helpers of the lr-transfer check, and the two checks in
quick mode (slow: trainings at several widths)."""

import math

import numpy as np
import pytest

from nnphys import validation
from nnphys.theory import parametrization as pz
from nnphys.validation import parametrization as vp


def test_critical_lr_exponent():
    """SP at a fixed lr needs lr ~ 1/n (c* = 1); muP and NTK are stable as named."""
    assert vp.critical_lr_exponent(pz.named("sp", 2, c=0)) == -1.0
    assert vp.critical_lr_exponent(pz.named("mup", 2)) == 0.0
    assert vp.critical_lr_exponent(pz.named("ntk", 3)) == 0.0


def test_drift_exponent_of_an_exact_power():
    """lr* = n^-1 exactly on the grid: slope -1 to rounding, error the grid quantisation
    over the lever arm, sqrt(1 / sum (log n - mean)^2) * log(2^(1/2)) / sqrt(12)."""
    n = np.array([64.0, 256.0, 1024.0])
    est = vp.drift_exponent(n, 1.0 / n)
    assert est.mean == pytest.approx(-1.0, abs=1e-12)
    logn = np.log(n)
    se = math.log(2 ** 0.5) / math.sqrt(12) / math.sqrt(np.sum((logn - logn.mean()) ** 2))
    assert est.stderr == pytest.approx(se, rel=1e-9)


def test_optimal_lr_ignores_diverged():
    lrs = np.array([0.1, 0.2, 0.4])
    loss = np.array([[0.3, 0.1, np.inf], [0.2, 0.3, 0.5]])
    np.testing.assert_array_equal(vp.optimal_lr(lrs, loss), [0.2, 0.1])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["parametrization.coordinate_check",
                                  "parametrization.lr_transfer"])
def test_quick_checks_pass(name):
    results = validation.run([name], quick=True)
    assert results and all(r.passed for r in results)
