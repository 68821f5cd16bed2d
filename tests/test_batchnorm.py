"""Batch normalisation: the layer, its batch NNGP, fixed point and gradient growth
(:mod:`nnphys.theory.kernels.batchnorm`) against closed forms, limits and finite networks
(:mod:`nnphys.sim.batchnorm`)."""

import math

import numpy as np
import pytest

from nnphys.errors import ParameterError
from nnphys.models import network as nw
from nnphys.models.batchnorm import BatchNorm
from nnphys.sim import batchnorm as sim_bn
from nnphys.sim.layer_ensembles import empirical_nngp, empirical_ntk
from nnphys.theory import kernels as nk
from nnphys.theory.kernels import batchnorm as bn

Z_MAX = 4.5     # |z| bound per entry: ~25 entries per matrix, P(any |z| > 4.5) ~ 2e-4


def _gram(b, d=7, seed=1):
    x = np.random.default_rng(seed).standard_normal((b, d))
    return x @ x.T / d


# --- the layer ----------------------------------------------------------------------

def test_apply_normalises_each_channel_over_the_batch():
    x = np.random.default_rng(0).standard_normal((6, 5)) * 3 + 2
    y = BatchNorm().apply((), x)
    assert np.allclose(y.mean(axis=0), 0, atol=1e-14)
    assert np.allclose((y * y).mean(axis=0), 1, rtol=1e-13)
    z = BatchNorm(subtract_mean=False).apply((), x)
    assert np.allclose((z * z).mean(axis=0), 1, rtol=1e-13)
    assert np.allclose(z / x, (z / x)[0])                 # one positive factor per channel


def test_layer_refuses_bad_axes_and_constant_channels():
    with pytest.raises(ParameterError, match="axis"):
        BatchNorm(axis=-1).apply((), np.ones((3, 2)))
    with pytest.raises(ParameterError, match="axis"):
        BatchNorm(axis=1).apply((), np.ones((3, 2, 2)))
    with pytest.raises(ParameterError, match="epsilon"):
        BatchNorm().apply((), np.ones((3, 2)))
    assert np.all(BatchNorm(epsilon=1e-3).apply((), np.ones((3, 2))) == 0)
    assert BatchNorm(axis=(0, 1, 2)).apply((), np.random.default_rng(0).standard_normal(
        (2, 3, 3, 4))).shape == (2, 3, 3, 4)


def test_spec_string_round_trip():
    net = nw.parse_spec("Dense(4), BatchNorm(epsilon=0.1), Relu(), Dense(1)")
    layer = net.layers[1]
    assert layer == BatchNorm(epsilon=0.1)
    assert nw.parse_spec(nw.spec_string(layer)).layers[0] == layer


# --- the batch NNGP -----------------------------------------------------------------

def test_linear_bn_maps_independent_inputs_to_the_projector():
    """Yang et al. 2019, sec. 3.2: V_BN(a G) = B/(B-1) G for any a > 0 (exact)."""
    b = 6
    g = np.eye(b) - 1.0 / b
    assert np.allclose(bn.batchnorm_nngp(2.7 * np.eye(b)).mean, b / (b - 1) * g,
                       atol=1e-11)
    assert np.allclose(bn.batchnorm_nngp(np.eye(b), subtract_mean=False).mean, np.eye(b),
                       atol=1e-11)


@pytest.mark.parametrize("activation,epsilon,subtract_mean", [
    (nw.Relu(), 0.0, True), (nw.LeakyRelu(0.2), 0.3, True), (nw.Abs(), 0.0, False),
    (nw.Identity(), 0.5, False)])
def test_laplace_method_agrees_with_monte_carlo(activation, epsilon, subtract_mean):
    sigma = _gram(5)
    exact = bn.batchnorm_nngp(sigma, activation, epsilon=epsilon,
                              subtract_mean=subtract_mean, method="laplace")
    mc = bn.batchnorm_nngp(sigma, activation, epsilon=epsilon, subtract_mean=subtract_mean,
                           method="montecarlo", n_replicas=1 << 17, seed=3)
    z = (exact.mean - mc.mean) / mc.stderr
    assert np.max(np.abs(z)) < Z_MAX, z


def test_network_kernel_is_the_batch_map_of_the_dense_gram():
    x = np.random.default_rng(2).standard_normal((4, 3))
    net = nk.serial(nk.Dense(16, 1.5, 0.3), nk.BatchNorm(), nk.Relu(), nk.Dense(1, 1.2))
    sigma = 1.5 ** 2 * x @ x.T / 3 + 0.3 ** 2
    expect = 1.2 ** 2 * bn.batchnorm_nngp(sigma, nw.Relu()).mean
    assert np.allclose(net.kernel(x, get="nngp"), expect, rtol=1e-12)


def test_cross_batch_kernel_and_small_batch_ntk_are_refused():
    x = np.random.default_rng(2).standard_normal((4, 3))
    net = nk.serial(nk.Dense(8), nk.BatchNorm(), nk.Relu())
    with pytest.raises(ParameterError, match="x2"):
        net.kernel(x, x, get="nngp")
    with pytest.raises(ParameterError, match="x"):
        net.kernel(x[:3])                                  # B = 3: E[1/chi^2_2] diverges
    with pytest.raises(ParameterError, match="Gaussian"):
        nk.serial(nk.Dense(8), nk.BatchNorm(), nk.LayerNorm()).kernel(x, get="nngp")


def test_batch_kernel_against_finite_networks_with_batch_statistics():
    """The ensemble means approach the batch NNGP: 4 se + 2 |K| / n (two hidden layers,
    the O(1/n) shift; as validation._ensembles)."""
    x = np.random.default_rng(0).standard_normal((6, 6))
    n = 128
    net = nk.serial(nk.Dense(n, 1.2, 0.1), nk.BatchNorm(), nk.Abs(), nk.Dense(n),
                    nk.BatchNorm(), nk.Relu(), nk.Dense(32))
    theory = net.kernel(x, get="nngp")
    emp = empirical_nngp(net, x, n_replicas=60, seed=5)
    assert np.all(np.abs(emp.mean - theory) <= 4 * emp.stderr + 2 * np.abs(theory) / n)


def test_batch_ntk_by_hand_and_against_finite_networks():
    """NTK of Dense -> BN -> Abs -> Dense: the layer algebra equals the recursion written
    out with batchnorm_ntk (two Monte Carlo estimates: 4 combined se), and the ensemble
    of finite networks agrees within 4 combined se + 2 |K| / n."""
    x = np.random.default_rng(0).standard_normal((6, 5))
    n = 256
    net = nk.serial(nk.Dense(n, 1.2, 0.1), nk.BatchNorm(), nk.Abs(), nk.Dense(32, 1.3))
    k1 = 1.44 * x @ x.T / 5 + 0.01                 # Dense (NTK parameterization): Theta = K
    theta2 = bn.batchnorm_ntk(k1, k1, nw.Abs(), n_replicas=1 << 16, seed=7)
    k2 = bn.batchnorm_nngp(k1, nw.Abs()).mean
    theta = 1.69 * k2 + 1.69 * theta2.mean
    theta_se = 1.69 * theta2.stderr
    layer = net.kernel(x).ntk                      # 2^18 draws: se about theta_se / 2
    assert np.all(np.abs(layer - theta) <= 4 * np.hypot(theta_se, theta_se / 2))
    emp = empirical_ntk(net, x, n_replicas=80, seed=6)
    assert np.all(np.abs(emp.mean - theta) <= 4 * np.hypot(emp.stderr, theta_se)
                  + 2 * np.abs(theta) / n)


# --- fixed points -------------------------------------------------------------------

@pytest.mark.parametrize("b", [3, 5, 12])
def test_linear_fixed_point_closed_form(b):
    fp = bn.batchnorm_fixed_point(b)
    assert fp.converged and abs(fp.q - 1) < 1e-10 and abs(fp.c + 1 / (b - 1)) < 1e-10
    fp = bn.batchnorm_fixed_point(b, subtract_mean=False)
    assert abs(fp.q - 1) < 1e-10 and abs(fp.c) < 1e-10


def test_relu_fixed_point_quadrature_vs_monte_carlo():
    """q* = 1/2 exactly (the BN output is symmetric with E y_i^2 = 1); c* by both methods."""
    exact = bn.batchnorm_fixed_point(6, nw.Relu())
    mc = bn.batchnorm_fixed_point(6, nw.Relu(), method="montecarlo", n_replicas=1 << 16,
                                  seed=4)
    assert abs(exact.q - 0.5) < 1e-10
    assert abs(mc.c - exact.c) < 4 * mc.c_stderr
    assert abs(mc.q - exact.q) < 4 * mc.q_stderr


def test_relu_fixed_point_tends_to_the_large_batch_limit_as_one_over_b():
    _, c_inf, _ = bn.large_batch_limit(nw.Relu())
    assert abs(c_inf - 1 / math.pi) < 1e-14
    errors = [abs(bn.batchnorm_fixed_point(b, nw.Relu()).c - c_inf) for b in (20, 40, 80)]
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    assert all(1.7 < r < 2.3 for r in ratios), (errors, ratios)     # O(1/B): halves


# --- gradient growth ----------------------------------------------------------------

@pytest.mark.parametrize("b,subtract_mean", [(8, True), (16, True), (8, False)])
def test_gradient_rate_linear_closed_form(b, subtract_mean):
    """Monte Carlo (finite variance for r > 4) vs (r-1)/(r-2), Yang et al. 2019."""
    rate = bn.batchnorm_gradient_rate(b, subtract_mean=subtract_mean, n_replicas=1 << 15,
                                      seed=1)
    assert abs(rate.mean - bn.linear_gradient_rate(b, subtract_mean)) < 4 * rate.stderr


def test_gradient_rate_relu_tends_to_pi_over_pi_minus_one():
    """lambda(B) -> pi/(pi-1) (Yang et al. 2019): the error shrinks between B = 16 and 64
    by more than its Monte Carlo uncertainty."""
    limit = math.pi / (math.pi - 1)
    assert abs(bn.large_batch_limit(nw.Relu())[2] - limit) < 1e-14
    r16 = bn.batchnorm_gradient_rate(16, nw.Relu(), n_replicas=1 << 14, seed=2)
    r64 = bn.batchnorm_gradient_rate(64, nw.Relu(), n_replicas=1 << 12, seed=2)
    assert (r16.mean - limit) - (r64.mean - limit) > 4 * math.hypot(r16.stderr, r64.stderr)
    assert abs(r64.mean - limit) < 4 * r64.stderr + 2 * limit / 64


def test_gradient_rate_tanh_is_above_one():
    """Gradient explosion for every activation (Poincaré: E phi'^2 >= Var phi)."""
    _, _, lam = bn.large_batch_limit(nw.Tanh())
    assert lam > 1
    rate = bn.batchnorm_gradient_rate(10, nw.Tanh(), n_replicas=1 << 13, seed=0)
    assert rate.mean - 4 * rate.stderr > 1


def test_backward_pass_is_the_jacobian_of_apply():
    rng = np.random.default_rng(0)
    h, g = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    for layer in (BatchNorm(), BatchNorm(subtract_mean=False, epsilon=0.2)):
        analytic = sim_bn._backward_bn(layer, h, layer.apply((), h), g)
        numeric = np.zeros_like(h)
        step = 1e-6
        for idx in np.ndindex(h.shape):
            d = np.zeros_like(h)
            d[idx] = step
            numeric[idx] = ((layer.apply((), h + d) - layer.apply((), h - d)) * g).sum() \
                / (2 * step)
        assert np.allclose(analytic, numeric, atol=1e-8)      # central differences: h^2


def test_finite_width_growth_approaches_the_theory():
    """Within 4 se + 3 lambda / n of the theory at n = 256 (validation.batchnorm), while at
    n = 12 the finite-width deficit is resolved (the limit is approached from below)."""
    theory = bn.batchnorm_gradient_rate(8, n_replicas=1 << 14, seed=0)
    narrow = sim_bn.gradient_growth(8, 12, 12, n_replicas=400, seed=1)
    wide = sim_bn.gradient_growth(8, 256, 12, n_replicas=48, seed=2)
    assert abs(wide.mean - theory.mean) < 4 * math.hypot(wide.stderr, theory.stderr) \
        + 3 * theory.mean / 256
    assert theory.mean - narrow.mean > 4 * math.hypot(narrow.stderr, theory.stderr)


# --- Meterez et al. 2023 ------------------------------------------------------------

def test_isometry_gap():
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 4)))[0]
    assert bn.isometry_gap(3 * q) < 1e-12
    x = np.random.default_rng(1).standard_normal((4, 6))
    assert bn.isometry_gap(x) > 0
    assert abs(bn.isometry_gap(5 * x) - bn.isometry_gap(x)) < 1e-12
    with pytest.raises(ParameterError, match="x"):
        bn.isometry_gap(np.ones((2, 3)))


def test_orthogonal_construction_keeps_gradients_bounded():
    """From an isometric batch each layer is non-expansive (every network, every layer);
    Gaussian weights at the same width grow."""
    b = 6
    iso = math.sqrt(b) * np.linalg.qr(np.random.default_rng(0).standard_normal((b, b)))[0]
    norms = sim_bn._norm_samples(b, b, 60, None, False, "orthogonal", 8, 3, iso)
    assert np.all(norms[:, :-1] <= norms[:, 1:] * (1 + 1e-9))
    assert bn.batchnorm_gradient_rate(b, subtract_mean=False, weights="orthogonal",
                                      width=b).mean == 1.0
    with pytest.raises(ParameterError, match="weights"):
        bn.batchnorm_gradient_rate(b, weights="orthogonal", width=b)


# --- validation checks and the figure -------------------------------------------------

@pytest.mark.parametrize("name", ["batchnorm.nngp_vs_ensemble", "batchnorm.gradient_growth"])
def test_quick_checks_pass(name):
    from nnphys import validation
    rows = validation.run([name], quick=True)
    assert rows and all(c.passed for c in rows)


def test_figure_registered():
    from nnphys import figures
    assert "batchnorm-gradients" in figures.figures()


@pytest.mark.slow
def test_figure_builds(tmp_path):
    from nnphys import figures
    assert len(figures.make("batchnorm-gradients", str(tmp_path), quick=True)) == 3
