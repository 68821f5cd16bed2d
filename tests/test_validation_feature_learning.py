"""validation.feature_learning: the alignment, the equal-time slices, the training grid and
the convergence rows (which must fail on a wrong exponent or limit), and the three checks
in quick mode (slow)."""

import numpy as np
import pytest

from nnphys import validation
from nnphys.theory.dmft import deep_linear
from nnphys.validation import feature_learning as vf


def test_alignment_known_values():
    y = np.array([1.0, -2.0, 0.5])
    assert vf.alignment(np.outer(y, y), y) == pytest.approx(1.0, rel=1e-14)
    # K = I: y^T y / (sqrt(P) |y|^2) = 1 / sqrt(P)
    assert vf.alignment(np.eye(3), y) == pytest.approx(1 / np.sqrt(3), rel=1e-14)
    # a kernel orthogonal to y y^T (rank one on a vector orthogonal to y)
    v = np.array([2.0, 1.0, 0.0])
    assert vf.alignment(np.outer(v, v), y) == pytest.approx(0.0, abs=1e-15)
    stack = np.stack([np.eye(3), np.outer(y, y)])
    np.testing.assert_allclose(vf.alignment(stack, y), [1 / np.sqrt(3), 1.0], rtol=1e-14)


def test_equal_time_is_the_diagonal_of_the_two_time_kernels():
    # the exact discretised linear DMFT against the closed moment ODE on the same grid:
    # O(dt^2) = O(1e-2) apart (tests/test_dmft_feature_learning: error ratio 4 per halving)
    x, y = vf.task()
    t = np.linspace(0.0, 2.0, 21)
    r = deep_linear.solve(vf.mlp(1, vf.nk.Identity), x, y, 1.0, t)
    f, f_se, phi, _ = vf.equal_time(r)
    np.testing.assert_array_equal(f, r.f_train)
    assert np.all(f_se == 0)
    ode = deep_linear.two_layer(x, y, 1.0, t)
    np.testing.assert_allclose(phi[:, 0], ode.Phi, atol=2e-2)


def test_train_on_grid_records_on_the_dmft_grid():
    # linear networks at width 2048 follow the closed moments to O(N^-1/2) = 0.02 per network
    # (8 seeds: the mean to ~0.01); 5 x 0.01 plus the GD step error (7e-3 relative)
    x, y = vf.task()
    data = vf.train_on_grid(vf.mlp(1, vf.nk.Identity), x, y, 1.0, [2048], 8, seed=0)
    assert data["f"].shape == (8, 1, 21, 3) and data["Phi"].shape == (8, 1, 21, 1, 3, 3)
    ode = deep_linear.two_layer(x, y, 1.0, data["t"])
    np.testing.assert_allclose(data["f"][:, 0].mean(axis=0), ode.f, atol=0.05 + 7e-3)
    np.testing.assert_allclose(data["Phi"][:, 0, :, 0].mean(axis=0), ode.Phi, atol=0.05)


def _synthetic(power, shift=0.0, R=32, seed=0):
    """Networks f_N = f + shift / N + xi N^-power (xi standard normal per seed, time, point)."""
    rng = np.random.default_rng(seed)
    widths = np.array([128, 256, 512, 1024, 2048])
    f = np.linspace(0.1, 1.0, 21)[:, None] * np.array([1.0, -0.5, 0.8])
    phi = np.ones((21, 1, 3, 3))
    noise = rng.standard_normal((R, widths.size, 21, 3))
    scale = widths[None, :, None, None] ** -power
    nets = f + shift / widths[None, :, None, None] + noise * scale
    phis = phi + rng.standard_normal((R, widths.size, 21, 1, 3, 3)) * scale[..., None, None]
    return {"widths": widths, "f": nets, "Phi": phis}, f, phi


def test_convergence_rows_pass_on_the_expected_scaling():
    data, f, phi = _synthetic(0.5, shift=1.0)
    rows = vf.convergence_rows("x", data, f, phi)
    assert len(rows) == 2 + 3 and all(r.passed for r in rows)
    assert rows[0].simulation == pytest.approx(1.0, abs=4 * rows[0].stderr + 0.05)


def test_convergence_rows_fail_on_a_wrong_exponent_or_limit():
    data, f, phi = _synthetic(0.25)                  # error ~ N^-1/2 in mean square
    rows = vf.convergence_rows("x", data, f, phi)
    assert not rows[0].passed and not rows[1].passed
    data, f, phi = _synthetic(0.5)
    rows = vf.convergence_rows("x", data, f + 0.05, phi)   # a wrong limit, 0.05 >> errors
    assert not any(r.passed for r in rows[2:])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["feature_learning.width_convergence",
                                  "feature_learning.deep_linear",
                                  "feature_learning.lazy_limit",
                                  "feature_learning.prediction_variance"])
def test_quick_checks_pass(name):
    results = validation.run([name], quick=True)
    assert results and all(r.passed for r in results)


def test_figures_registered():
    from nnphys import figures
    names = figures.figures()
    for name in ("fl-loss", "fl-alignment", "fl-phase"):
        assert name in names


@pytest.mark.slow
def test_phase_figure_builds(tmp_path):
    from nnphys import figures
    paths = figures.make("fl-phase", str(tmp_path), quick=True)
    assert len(paths) == 3
