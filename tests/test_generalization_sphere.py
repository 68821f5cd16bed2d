"""Sphere (Funk-Hecke) and hypercube (Walsh) spectra of network kernels against the
arc-cosine closed forms, mpmath quadrature, brute-force Gram eigenvalues, and the
learning-curve front door on networks."""

import math

import mpmath as mp
import numpy as np
import pytest

from nnphys.errors import ArgumentTypeError, ParameterError
from nnphys.theory import kernels as nk
from nnphys.theory.generalization import (gegenbauer, hypercube_spectrum, kernel_function, learning_curve, multiplicity,
                                          spectral_learning_curve, sphere_spectrum)

RELU1 = nk.serial(nk.Dense(1), nk.Relu(), nk.Dense(1))


def test_multiplicities():
    """Reference Sec. 3: N(10, k) = 1, 10, 54, 210, 660; N(25, k) = 1, 25, 324, 2900, 20150;
    N(3, k) = 2k + 1 (ordinary spherical harmonics)."""
    assert multiplicity(10, np.arange(5)).tolist() == [1, 10, 54, 210, 660]
    assert multiplicity(25, np.arange(5)).tolist() == [1, 25, 324, 2900, 20150]
    assert multiplicity(3, np.arange(6)).tolist() == [1, 3, 5, 7, 9, 11]


@pytest.mark.parametrize("get, values", [
    ("ntk", [0.36806266567411, 0.1, 0.0085724587797876, 0.0, 9.6540383280678e-5]),
    ("nngp", [0.33460242334010, 0.05, 0.0027653092838020, 0.0, 1.6362776827230e-5])])
def test_one_hidden_layer_relu_d10(get, values):
    """Reference Sec. 4 (closed form + mpmath, 14 digits): Dense-Relu-Dense on unit inputs
    of R^10 has NTK Theta/(2d), NNGP k1/(2d); the odd degrees >= 3 vanish."""
    s = sphere_spectrum(RELU1, 10, 4, get=get)
    np.testing.assert_allclose(s.eigenvalues * 20, values, rtol=1e-12, atol=1e-15)
    assert np.all(s.error < 1e-14 * s.trace)


@pytest.mark.parametrize("d", [3, 7, 50])
def test_closed_forms_lambda0_lambda1(d):
    """lambda_0(Theta) = 2(d+1) r^2/(pi (d-1)^2), lambda_0(k1) = 2 d r^2/(pi (d-1)^2),
    lambda_1 = 1/d (Theta), 1/(2d) (k1), r = Gamma(d/2)/Gamma((d-1)/2), all over 2d."""
    r2 = math.exp(2 * (math.lgamma(d / 2) - math.lgamma((d - 1) / 2)))
    ntk = sphere_spectrum(RELU1, d, 3, "ntk").eigenvalues * 2 * d
    nngp = sphere_spectrum(RELU1, d, 3, "nngp").eigenvalues * 2 * d
    assert ntk[0] == pytest.approx(2 * (d + 1) * r2 / (math.pi * (d - 1) ** 2), rel=1e-12)
    assert nngp[0] == pytest.approx(2 * d * r2 / (math.pi * (d - 1) ** 2), rel=1e-12)
    assert ntk[1] == pytest.approx(1 / d, rel=1e-12)
    assert nngp[1] == pytest.approx(1 / (2 * d), rel=1e-12)
    assert abs(ntk[3]) < 1e-14


def test_high_degree_high_dimension_against_mpmath():
    """d = 100, k = 30: lambda_30 ~ 1e-35, far below any double-precision quadrature floor;
    mpmath quadrature at 60 digits of Theta(t) P_k(t) (1 - t^2)^{(d-3)/2} (the arc-cosine
    closed form, independent of the layer-by-layer series) agrees to 1e-12."""
    d, k = 100, 30
    mp.mp.dps = 60

    def integrand(t):
        theta = (mp.sqrt(1 - t * t) + 2 * (mp.pi - mp.acos(t)) * t) / mp.pi
        p0, p1 = mp.mpf(1), t
        for j in range(1, k):
            p0, p1 = p1, ((2 * j + d - 2) * t * p1 - j * p0) / (j + d - 2)
        return theta * p1 * (1 - t * t) ** (mp.mpf(d - 3) / 2)
    cd = mp.gamma(mp.mpf(d) / 2) / (mp.sqrt(mp.pi) * mp.gamma(mp.mpf(d - 1) / 2))
    ref = float(cd * mp.quad(integrand, mp.linspace(-1, 1, 9))) / (2 * d)
    s = sphere_spectrum(RELU1, d, k)
    assert s.method[k] == "series"
    assert s.eigenvalues[k] == pytest.approx(ref, rel=1e-12)
    assert s.error[k] < 1e-12 * s.eigenvalues[k]


def test_deep_net_series_agrees_with_quadrature_and_trace():
    """Two hidden layers (ReLU, LeakyRelu) with biases, d = 40: the power series (chosen
    where its bound is the smaller) and the angular quadrature agree within the sum of their
    two error bounds at every degree both resolve; in d = 10 the eigenvalues are >= 0,
    sum_k N lambda_k <= h(1), and they rebuild h(t) inside (-1, 1)."""
    from nnphys.theory.generalization.sphere import _by_quadrature
    net = nk.serial(nk.Dense(1, b_std=0.3), nk.Relu(), nk.Dense(1, W_std=1.2, b_std=0.1),
                    nk.LeakyRelu(0.2), nk.Dense(1))
    s = sphere_spectrum(net, 40, 30)
    quad, qerr = _by_quadrature(kernel_function(net, 40, "ntk"), 40, 30)
    series = np.array(s.method) == "series"
    assert series.sum() >= 20
    ok = series & (quad > qerr)
    assert ok.sum() >= 10
    assert np.all(np.abs(s.eigenvalues[ok] - quad[ok]) <= s.error[ok] + qerr[ok])
    low = sphere_spectrum(net, 10, 60)
    assert np.all(low.eigenvalues >= 0)
    assert float(low.multiplicities @ low.eigenvalues) <= low.trace * (1 + 1e-12)
    # Addition theorem: h(t) = sum_k N lambda_k P_k(t); for |t| < 1 the terms fall like
    # k^{-2} |P_k(t)| ~ k^{-2 - (d-2)/2} = k^{-6}, so the tail beyond k = 60 is < 1e-7 of h(1).
    t = np.array([-0.5, 0.0, 0.3, 0.6])
    series = (low.multiplicities * low.eigenvalues) @ gegenbauer(10, 60, t)
    np.testing.assert_allclose(series, kernel_function(net, 10, "ntk")(t), atol=1e-6 * low.trace)


def test_hypercube_against_brute_force_gram():
    """All 2^8 points of {-1,1}^8/sqrt(8): the eigenvalues of K/2^8 are the Walsh eigenvalues
    with multiplicities C(8, k) (to eigh's rounding, 1e-13 of the trace)."""
    d = 8
    x = np.array(np.meshgrid(*[[-1.0, 1.0]] * d)).reshape(d, -1).T / math.sqrt(d)
    net = nk.serial(nk.Dense(1, b_std=0.2), nk.Erf(), nk.Dense(1))
    h = hypercube_spectrum(net, d)
    gram = np.linalg.eigvalsh(net.kernel(x, get="ntk") / 2 ** d)
    expect = np.sort(np.repeat(h.eigenvalues, h.multiplicities.astype(int)))
    np.testing.assert_allclose(gram, expect, atol=1e-13 * h.trace)


def test_smooth_activation_uses_quadrature():
    """Erf has no series route here: quadrature, with the trace sum checked (d = 5)."""
    net = nk.serial(nk.Dense(1, W_std=2.0), nk.Erf(), nk.Dense(1))
    s = sphere_spectrum(net, 5, 60, get="nngp")
    assert set(s.method) == {"quadrature"}
    assert float(s.multiplicities @ s.eigenvalues) == pytest.approx(s.trace, rel=1e-6)


def test_network_learning_curve_is_the_spectral_one_with_the_tail_as_ridge():
    d, P = 10, np.array([5.0, 50.0, 400.0])
    target = [0.0, 1.0, 0.3]
    r = learning_curve(RELU1, d, target, P=P, ridge=1e-4, noise=0.01, k_max=12)
    s = sphere_spectrum(RELU1, d, 12)
    tail = s.trace - s.multiplicities @ s.eigenvalues
    ref = spectral_learning_curve(s.eigenvalues, np.pad(target, (0, 10)), P,
                                  ridge=1e-4 + tail, noise=0.01,
                                  multiplicities=s.multiplicities)
    np.testing.assert_allclose(r.test_error, ref.test_error, rtol=1e-12)
    assert r.parameters["tail_trace"] == pytest.approx(tail)
    assert r.parameters["tail_over_kappa"] < 0.1
    teacher = learning_curve(RELU1, d, RELU1, P=P)
    assert np.all(np.diff(teacher.test_error) < 0)


def test_bad_inputs():
    with pytest.raises(ParameterError, match="d"):
        sphere_spectrum(RELU1, 1, 3)
    with pytest.raises(ParameterError, match="get"):
        sphere_spectrum(RELU1, 5, 3, get="x")
    with pytest.raises(ParameterError, match="target"):
        learning_curve(RELU1, 5, np.ones(10), P=10, k_max=3)
    with pytest.raises(ArgumentTypeError, match="learning_curve"):
        learning_curve([1.0], [1.0])


def test_cli_learning_curve(tmp_path):
    from nnphys import cli, load
    out, png = tmp_path / "new" / "lc.npz", tmp_path / "plots" / "lc.png"   # dirs created
    assert cli.main(["learning-curve", "Dense(1), Relu(), Dense(1)", "--sphere", "10",
                     "--target", "0,1,0.5", "--P", "log:10:1000:5", "--noise", "0.01",
                     "--out", str(out), "--plot", str(png)]) == 0
    lc = load(out)
    ref = learning_curve(RELU1, 10, [0, 1, 0.5], P=np.geomspace(10, 1000, 5), noise=0.01)
    np.testing.assert_allclose(lc.test_error, ref.test_error, rtol=1e-14)
    assert png.stat().st_size > 0
    assert cli.main(["learning-curve", "Dense(1), Relu(), Dense(1)", "--sphere", "10",
                     "--target", "x", "--P", "10", "--out", str(out)]) == 2


@pytest.mark.parametrize("d, k_max", [(3, 50), (20, 60)])
def test_relu_odd_degrees_vanish_within_their_bound(d, k_max):
    # lambda_k = 0 for odd k >= 3 (one-hidden-layer ReLU NTK, closed form): the returned
    # value must lie within its own error bound (the recurrence's ~k eps forward error is in
    # the quadrature bound; before, d = 3 raised "negative eigenvalue beyond its bound").
    net = nk.serial(nk.Dense(1), nk.Relu(), nk.Dense(1))
    s = sphere_spectrum(net, d, k_max)
    odd = np.arange(3, k_max + 1, 2)
    assert np.all(np.abs(s.eigenvalues[odd]) <= s.error[odd])
    assert np.all(s.error[odd] < 1e-12 * s.trace)
