"""Empirical spectra (theory.generalization.empirical), the digits data set, and the digits
checks of validation.generalization."""

import sys

import numpy as np
import pytest

from nnphys import datasets
from nnphys.errors import ParameterError
from nnphys.theory.generalization import learning_curve
from nnphys.theory.generalization.empirical import (empirical_learning_curve,
                                                    empirical_spectrum)


def _feature_model(M=300, r=12, outputs=3, seed=0):
    """A rank-``r`` kernel on ``M`` points with known spectrum: ``K = Phi diag(lam) Phi^T``,
    ``Phi = sqrt(M) Q`` with orthonormal ``Q`` (so ``Phi^T Phi / M = I``), targets
    ``Y = Phi V``."""
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((M, r)))[0]
    phi = np.sqrt(M) * Q
    lam = np.sort(rng.uniform(0.1, 2.0, r))[::-1]
    V = rng.standard_normal((r, outputs))
    return (phi * lam) @ phi.T, phi @ V, lam, V


def test_known_spectrum_and_target_power_are_recovered():
    # Exact decomposition: eigenvalues lam, per-output power V^2, up to eigh's rounding
    # (~ M eps cond, below 1e-10 here); the M - r null directions are zero.
    K, Y, lam, V = _feature_model()
    spec = empirical_spectrum(K, Y)
    r = lam.size
    np.testing.assert_allclose(spec.eigenvalues[:r], lam, rtol=1e-10)
    assert np.all(spec.eigenvalues[r:] == 0)
    np.testing.assert_allclose(spec.mode_power[:r], V ** 2, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(spec.target_power[:r], (V ** 2).sum(1), rtol=1e-8)
    assert spec.target_power[r:].sum() < 1e-20
    assert spec.M == K.shape[0]
    np.testing.assert_allclose(spec.cumulative_power()[-1], 1.0, rtol=1e-12)


def test_power_and_trace_sum_rules_on_a_generic_kernel():
    # Parseval: sum of the power is the mean squared target; sum of eigenvalues tr K / M.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 5))
    K = np.exp(-0.5 * ((x[:, None] - x[None]) ** 2).sum(-1))
    y = np.sin(x[:, 0])
    spec = empirical_spectrum(K, y)
    np.testing.assert_allclose(spec.target_power.sum(), np.mean(y ** 2), rtol=1e-12)
    np.testing.assert_allclose(spec.eigenvalues.sum(), np.trace(K) / 200, rtol=1e-10)
    assert np.all(np.diff(spec.eigenvalues) <= 0)


def test_learning_curve_of_outputs_is_the_sum_of_their_curves():
    # One multi-output curve equals the sum of the single-output curves (noise per output).
    K, Y, lam, V = _feature_model()
    P = [3, 8, 20]
    both = empirical_learning_curve(K, Y, P, ridge=0.01, noise=0.2)
    parts = [empirical_learning_curve(K, Y[:, c], P, ridge=0.01, noise=0.2) for c in range(3)]
    for field in ("test_error", "train_error", "noise_error"):
        np.testing.assert_allclose(getattr(both, field),
                                   sum(getattr(p, field) for p in parts), rtol=1e-12)
    direct = learning_curve(lam, (V ** 2).sum(1), P, ridge=0.01)
    np.testing.assert_allclose(empirical_learning_curve(K, Y, P, ridge=0.01).test_error,
                               direct.test_error, rtol=1e-8)


@pytest.mark.parametrize("gram, y, match", [
    (np.ones((3, 4)), np.ones(3), "gram"),
    (np.eye(3), np.ones(4), "y"),
    (-np.eye(3), np.ones(3), "gram"),
    (np.diag([1.0, -0.5, 0.2]), np.ones(3), "gram"),
    (np.zeros((3, 3)), np.ones(3), "gram"),
])
def test_bad_input_is_named(gram, y, match):
    with pytest.raises(ParameterError, match=match):
        empirical_spectrum(gram, y)


def test_digits_without_scikit_learn_raise_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(datasets.MissingDataError, match=r"scikit-learn.*nnphys\[data\]"):
        datasets.digits()


def test_digits_are_unit_norm_with_one_hot_targets():
    pytest.importorskip("sklearn", reason="the digits data set needs scikit-learn "
                                          "(pip install nnphys[data])")
    x, y, labels = datasets.digits()
    assert x.shape == (1797, 64) and y.shape == (1797, 10)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-12)
    assert np.array_equal(y.argmax(1), labels) and np.all(y.sum(1) == 1)


def test_digits_kernel_regression_follows_the_empirical_learning_curve():
    pytest.importorskip("sklearn", reason="the digits data set needs scikit-learn "
                                          "(pip install nnphys[data])")
    from nnphys.validation.generalization import digits_krr
    rows = digits_krr(quick=True)
    assert len(rows) == 4
    assert all(r.passed for r in rows), [(r.name, r.theory, r.simulation, r.tolerance)
                                         for r in rows]


@pytest.mark.slow
def test_digits_trained_networks_approach_the_ntk_curve_as_one_over_width():
    pytest.importorskip("sklearn", reason="the digits data set needs scikit-learn "
                                          "(pip install nnphys[data])")
    from nnphys.validation.generalization import digits_trained
    rows = digits_trained(quick=False)
    assert all(r.passed for r in rows), [(r.name, r.theory, r.simulation, r.tolerance)
                                         for r in rows]


def test_digits_checks_skip_with_a_warning_without_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    from nnphys.validation.generalization import digits_krr, digits_trained
    for check in (digits_krr, digits_trained):
        with pytest.warns(RuntimeWarning, match=r"skipped: .*scikit-learn"):
            assert check(quick=True) == []


def test_mode_errors_of_the_spectral_bias_figure_sum_to_the_test_error():
    # Bias + variance per mode (Simon et al. 2023) must add up to E_g of the same curve.
    from nnphys.figures.generalization import mode_mse
    i = np.arange(1, 301.0)
    curve = learning_curve(i ** -1.5, i ** -1.0, [5, 50, 280, 600], ridge=1e-3, noise=0.1)
    np.testing.assert_allclose(mode_mse(curve).sum(1), curve.test_error, rtol=1e-10)


def test_generalization_figures_are_registered():
    from nnphys import figures
    names = figures.figures()
    for name in ("learning-curves", "spectral-bias", "digits-learning-curves"):
        assert name in names


@pytest.mark.slow
def test_spectral_bias_figure_builds(tmp_path):
    from nnphys import figures
    paths = figures.make("spectral-bias", str(tmp_path), quick=True)
    assert {p.rsplit(".", 1)[1] for p in paths} == {"npz", "png", "pdf"}
