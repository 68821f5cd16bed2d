"""abc-parametrizations: the named ones classify as Yang & Hu (2021, arXiv:2011.14522)
state, the symmetry leaves the classification unchanged, the dichotomy (Cor. 3.9) over a
grid of random parametrizations, and the muP tables of Tensor Programs V
(arXiv:2203.03466, Tables 3 and 8). The exponents are multiples of 1/4 here, so the
comparisons are exact up to rounding (tolerance 1e-12)."""

import math

import numpy as np
import pytest

from nnphys.errors import ArgumentTypeError, ParameterError
from nnphys.theory import kernels as nk
from nnphys.theory import parametrization as pz


@pytest.mark.parametrize("depth", [2, 3, 5])
def test_named_regimes_as_the_paper_states(depth):
    sp = pz.classify(pz.named("sp", depth))                   # c = 1: stable kernel regime
    assert sp.stable and sp.nontrivial and sp.kernel_regime and not sp.feature_learning
    assert sp.r == pytest.approx(0.5, abs=1e-12)
    fixed = pz.classify(pz.named("sp", depth, c=0))           # fixed lr: blows up
    assert not fixed.stable and fixed.r == pytest.approx(-1.0, abs=1e-12)
    ntk = pz.classify(pz.named("ntk", depth))
    assert ntk.stable and ntk.kernel_regime and ntk.r == pytest.approx(0.5, abs=1e-12)
    for name in ("mf", "mup"):
        c = pz.classify(pz.named(name, depth))
        assert c.stable and c.nontrivial and c.feature_learning and not c.kernel_regime
        assert c.r == pytest.approx(0.0, abs=1e-12) and c.maximal
    assert not sp.maximal and not ntk.maximal


def test_mean_field_one_hidden_layer_is_yang_hu_mfp():
    """MFP (L = 1): a = (0, 1), b = (0, 0), c = -1, feature learning (Yang & Hu Sec. 3)."""
    p = pz.named("mf", 1)
    assert p.a == (0.0, 1.0) and p.b == (0.0, 0.0) and p.c == (-1.0, -1.0)
    assert pz.classify(p).feature_learning
    assert pz.equivalent(p, pz.named("mup", 1))


def test_r_formula_of_definition_3_2_with_one_c():
    """Def. 3.2 with one c: r = min(A, 2a_{L+1} + c) + c - 1 + min_l [2 a_l + 1(l = 1)]."""
    rng = np.random.default_rng(4)
    for _ in range(200):
        L = int(rng.integers(1, 5))
        a = rng.integers(-4, 5, L + 1) / 4
        b = rng.integers(-4, 5, L + 1) / 4
        c = float(rng.integers(-4, 5) / 4)
        ind = np.zeros(L)
        ind[0] = 1
        r = min(a[-1] + b[-1], 2 * a[-1] + c) + c - 1 + np.min(2 * a[:-1] + ind)
        assert pz.classify(a, b, c).r == pytest.approx(r, abs=1e-12)


def _random_stable_candidate(rng, L, optimizer):
    """Initialisation-stable (a, b) with random a and per-layer or uniform c in quarters."""
    a = rng.integers(-2, 3, L + 1) / 4
    b = np.empty(L + 1)
    b[0] = -a[0]
    b[1:-1] = 0.5 - a[1:-1]
    b[-1] = rng.integers(2, 7) / 4 - a[-1]
    c = rng.integers(-2, 7, L + 1) / 4 if rng.random() < 0.5 else np.full(
        L + 1, rng.integers(-2, 7) / 4)
    return pz.Parametrization(tuple(a), tuple(b), tuple(c), optimizer)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_dichotomy_over_random_parametrizations(optimizer):
    """Cor. 3.9: every stable nontrivial parametrization is exactly one of feature
    learning / kernel regime; a feature-learning one moves some features by Theta(1)
    (exponent 0) and a kernel-regime one none (all hidden exponents > 0)."""
    rng = np.random.default_rng(7)
    seen = {"fl": 0, "kernel": 0, "unstable": 0, "trivial": 0}
    for _ in range(2000):
        p = _random_stable_candidate(rng, int(rng.integers(1, 5)), optimizer)
        c = pz.classify(p)
        if not c.stable:
            seen["unstable"] += 1
            assert not (c.feature_learning or c.kernel_regime or c.nontrivial)
            continue
        if not c.nontrivial:
            seen["trivial"] += 1
            continue
        assert c.feature_learning != c.kernel_regime
        hidden = c.exponents[:-1]
        if c.feature_learning:
            seen["fl"] += 1
            assert np.min(hidden) == pytest.approx(0.0, abs=1e-12)
        else:
            seen["kernel"] += 1
            assert np.min(hidden) > 0
        assert c.exponents[-1] == pytest.approx(0.0, abs=1e-12)   # the output moves Theta(1)
    assert min(seen.values()) >= 10                              # every case exercised


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_symmetry_leaves_classification_unchanged(optimizer):
    rng = np.random.default_rng(11)
    for _ in range(300):
        L = int(rng.integers(1, 4))
        p = _random_stable_candidate(rng, L, optimizer)
        theta = rng.integers(-4, 5, L + 1) / 4 if rng.random() < 0.5 else float(
            rng.integers(-4, 5) / 4)
        q = pz.shift(p, theta)
        assert pz.equivalent(p, q)
        cp, cq = pz.classify(p), pz.classify(q)
        for field in ("stable", "nontrivial", "feature_learning", "kernel_regime", "maximal"):
            assert getattr(cp, field) == getattr(cq, field)
        assert cp.r == pytest.approx(cq.r, abs=1e-12)
        np.testing.assert_allclose(cp.exponents, cq.exponents, atol=1e-12)
        assert np.allclose(pz.canonical(q).a, 0.0)


def test_equivalence_distinguishes():
    assert pz.equivalent(pz.named("mf", 3), pz.named("mup", 3))
    assert not pz.equivalent(pz.named("ntk", 3), pz.named("mup", 3))
    assert not pz.equivalent(pz.named("sp", 3), pz.named("sp", 3, c=0))
    assert not pz.equivalent(pz.named("mup", 3), pz.named("mup", 3, "adam"))


def test_adam_named():
    """Adam: muP (TP V Table 3) is stable, feature learning, maximal; SP at a fixed lr is
    not stable (Delta W^l x ~ n for hidden layers)."""
    mup = pz.classify(pz.named("mup", 3, "adam"))
    assert mup.stable and mup.feature_learning and mup.maximal
    assert not pz.classify(pz.named("sp", 3, "adam")).stable


def test_canonical_mup_is_table_3():
    """Table 3 (SGD): no multipliers, init exponents b = (0, 1/2, 1) (variances 1/fan_in,
    1/fan_in, 1/fan_in^2), lr exponents c = (-1, 0, 1) (fan_out, 1, 1/fan_in)."""
    p = pz.canonical(pz.named("mup", 2))
    np.testing.assert_allclose(p.a, 0.0, atol=1e-15)
    np.testing.assert_allclose(p.b, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(p.c, [-1.0, 0.0, 1.0])


def test_mup_settings_tables():
    n0, n = 256, 1024
    net = nk.serial(nk.Dense(8, W_std=1.4, parameterization="standard"), nk.Relu(),
                    nk.Dense(8, W_std=1.4, parameterization="standard"), nk.Relu(),
                    nk.Dense(1, W_std=1.0, parameterization="standard"))
    base = pz.mup_settings(net, 10, n0, n0, lr_sgd=0.1, lr_adam=1e-3)
    np.testing.assert_allclose(base.multiplier, 1.0)                # = the SP network
    np.testing.assert_allclose(base.init_std, [1.4 / math.sqrt(10), 1.4 / 16, 1 / 16])
    np.testing.assert_allclose(base.lr_sgd, 0.1)
    np.testing.assert_allclose(base.lr_adam, 1e-3)
    rho = n / n0
    t3 = pz.mup_settings(net, 10, n, n0, lr_sgd=0.1, lr_adam=1e-3)
    np.testing.assert_allclose(t3.multiplier, 1.0)
    np.testing.assert_allclose(t3.init_std ** 2, base.init_std ** 2 * [1, 1 / rho,
                                                                      1 / rho ** 2])
    np.testing.assert_allclose(t3.lr_sgd, 0.1 * np.array([rho, 1, 1 / rho]))
    np.testing.assert_allclose(t3.lr_adam, 1e-3 * np.array([1, 1 / rho, 1 / rho]))
    t8 = pz.mup_settings(net, 10, n, n0, lr_sgd=0.1, lr_adam=1e-3, table=8)
    np.testing.assert_allclose(t8.multiplier, [1, 1, 1 / rho])
    np.testing.assert_allclose(t8.init_std ** 2, base.init_std ** 2 * [1, 1 / rho, 1])
    np.testing.assert_allclose(t8.lr_sgd, 0.1 * np.array([rho, 1, rho]))
    np.testing.assert_allclose(t8.lr_adam, 1e-3 * np.array([1, 1 / rho, 1]))


def test_bad_input():
    with pytest.raises(ParameterError, match="name"):
        pz.named("nonsense", 2)
    with pytest.raises(ParameterError, match="depth"):
        pz.named("mup", 0)
    with pytest.raises(ParameterError, match="b"):
        pz.classify([0, 0], [0, 0, 0], 0)
    with pytest.raises(ParameterError, match="c"):
        pz.classify([0, 0], [0, 0.5])
    with pytest.raises(ParameterError, match="optimizer"):
        pz.classify([0, 0], [0, 0.5], 1, optimizer="lbfgs")
    with pytest.raises(ParameterError, match="theta"):
        pz.shift(pz.named("mup", 2), [1, 2])
    with pytest.raises(ArgumentTypeError, match="p"):
        pz.canonical("mup")
    with pytest.raises(ParameterError, match="table"):
        pz.mup_settings(nk.serial(nk.Dense(4), nk.Dense(1)), 3, 8, 4, table=5)
