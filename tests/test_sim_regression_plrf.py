"""One-pass SGD on the PLRF model (Paquette, Paquette, Xiao & Pennington, arXiv:2405.15074).

- the numba kernels against plain-numpy SGD replaying the same random numbers (1e-12);
- the spectral set-up against a direct least-squares solution;
- the mean loss of SGD (raw and spectral samplers) against the exact expected loss of Gaussian
  SGD, an independent recursion derived from the Gaussian fourth moments (below), within
  4 standard errors of the Monte Carlo mean at every recorded iteration;
- raw against spectral (equal in distribution), input validation and divergence.

Exact expected loss given ``W`` (derivation): with ``e = U^T (theta - theta*)``,
``phi~ = U^T phi ~ N(0, Lambda)`` and the independent label noise ``eps ~ N(0, sigma^2)``,
one step is ``e' = (I - gamma G) e + gamma h``, ``G = sum_i phi~_i phi~_i^T``,
``h = sum_i phi~_i eps_i``. Isserlis gives ``E[phi phi^T M phi phi^T] = 2 Lambda M Lambda +
Lambda Tr(Lambda M)``, so ``E[G M G] = B(B+1) Lambda M Lambda + B Lambda Tr(Lambda M)`` and
``E[h h^T] = B sigma^2 Lambda``; the diagonal ``s_k = E[e_k^2]`` closes:
``s_k' = (1 - 2 gamma B lam_k + gamma^2 B (B+1) lam_k^2) s_k + gamma^2 B lam_k (sum_j lam_j s_j
+ sigma^2)``, ``P = 1/2 (sum_k lam_k s_k + sigma^2)``.
"""

import math

import numpy as np
import pytest

from nnphys.errors import NNPhysError, NumericalError, ParameterError
from nnphys.results import load
from nnphys.sim.regression import PLRFProblem, SGDCurves, sgd
from nnphys.sim import _xoshiro

from . import naive

N_SE = 4.0       # Monte Carlo tolerance, in standard errors of the mean


# --------------------------------------------------------------------------- references

def exact_loss(problem, steps, lr, batch):
    """Expected risk ``E P(theta_t)``, ``t = 0..steps``, from the recursion above
    (:func:`naive.plrf_expected_risk`)."""
    return naive.plrf_expected_risk(problem.D, problem.b, problem.W, lr, batch, steps)


def _normals(state, n):
    out = np.empty(n)
    _xoshiro.fill_normal(state, out)
    return out


def numpy_raw(problem, steps, lr, batch, base, seeds, record):
    """Plain-numpy raw SGD, replaying the kernels' draws (stream ``s``, per sample ``v``
    normals scaled by ``sqrt(D)``)."""
    sd = np.sqrt(problem.D)
    out = np.empty((seeds, len(record)))
    for s in range(seeds):
        state = _xoshiro.seed_state(base, s)
        theta = np.zeros(problem.d)
        for t in range(steps + 1):
            if t in record:
                r = np.sqrt(problem.D) * (problem.W @ theta - problem.b)
                out[s, list(record).index(t)] = 0.5 * r @ r
            if t == steps:
                break
            X = np.array([sd * _normals(state, problem.v) for _ in range(batch)])
            y = X @ problem.b
            phi = X @ problem.W
            theta = theta - lr * phi.T @ (phi @ theta - y)
    return out


def numpy_spectral(problem, steps, lr, batch, base, seeds, record):
    """Plain-numpy spectral SGD: per sample ``d`` normals ``xi``, then ``zeta``."""
    spec = problem.spectral()
    lam, sigma = spec.lam, math.sqrt(spec.sigma2)
    out = np.empty((seeds, len(record)))
    for s in range(seeds):
        state = _xoshiro.seed_state(base, s)
        e = -spec.theta_star_u.copy()
        for t in range(steps + 1):
            if t in record:
                out[s, list(record).index(t)] = 0.5 * (lam @ e ** 2 + sigma ** 2)
            if t == steps:
                break
            phis, res = [], []
            for _ in range(batch):
                phi = np.sqrt(lam) * _normals(state, problem.d)
                phis.append(phi)
                res.append(phi @ e - sigma * _normals(state, 1)[0])
            e = e - lr * np.array(res) @ np.array(phis)
    return out


# --------------------------------------------------------------------------- kernels vs numpy

@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("method", ["raw", "spectral"])
def test_kernels_match_numpy(method, batch):
    problem = PLRFProblem(1.0, 0.6, 30, 10, seed=4)
    record = np.array([0, 1, 2, 7, 20, 50])
    res = sgd(problem, 50, n_replicas=3, seed=9, record=record, method=method, batch=batch, lr=0.05)
    ref = (numpy_raw if method == "raw" else numpy_spectral)(
        problem, 50, 0.05, batch, res.parameters["base_seed"], 3, record)
    np.testing.assert_allclose(res.per_replica, ref, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(res.t, record)
    np.testing.assert_allclose(res.flops, 10 * batch * record)


@pytest.mark.parametrize("method", ["raw", "spectral"])
def test_seed_curve_independent_of_number_of_seeds(method):
    problem = PLRFProblem(1.2, 0.4, 40, 20, seed=1)
    two = sgd(problem, 100, n_replicas=2, seed=3, method=method, record=10)
    five = sgd(problem, 100, n_replicas=5, seed=3, method=method, record=10)
    np.testing.assert_array_equal(two.per_replica, five.per_replica[:2])


def test_spectral_independent_of_thread_count():
    import numba
    problem = PLRFProblem(1.0, 0.5, 40, 20, seed=2)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = sgd(problem, 200, n_replicas=4, seed=1, method="spectral", record=10)
    finally:
        numba.set_num_threads(threads)
    many = sgd(problem, 200, n_replicas=4, seed=1, method="spectral", record=10)
    np.testing.assert_array_equal(one.per_replica, many.per_replica)


def test_spectral_setup_and_risk():
    problem = PLRFProblem(0.8, 0.5, 60, 25, seed=2)
    spec = problem.spectral()
    assert problem.spectral() is spec
    K = problem.W.T @ (problem.D[:, None] * problem.W)
    np.testing.assert_allclose(spec.U * spec.lam @ spec.U.T, K, atol=1e-13)
    np.testing.assert_allclose(K @ spec.theta_star, problem.W.T @ (problem.D * problem.b),
                               atol=1e-12)
    bdb = problem.D @ problem.b ** 2
    np.testing.assert_allclose(spec.sigma2, bdb - spec.theta_star @ K @ spec.theta_star,
                               atol=1e-12)
    np.testing.assert_allclose(spec.theta_star_u, spec.U.T @ spec.theta_star, atol=1e-12)
    thetas = np.random.default_rng(0).standard_normal((2, 3, 25))
    e = (thetas - spec.theta_star) @ spec.U
    direct = problem.risk(thetas)
    assert direct.shape == (2, 3)
    np.testing.assert_allclose(direct, 0.5 * (e ** 2 @ spec.lam + spec.sigma2), rtol=1e-11)
    assert problem.risk(np.zeros(25)) == pytest.approx(0.5 * bdb, rel=1e-14)
    assert problem.trace_K == pytest.approx(np.trace(K), rel=1e-12)


# --------------------------------------------------------------------------- SGD mean vs exact

@pytest.fixture(scope="module")
def mc_runs():
    problem = PLRFProblem(1.0, 0.7, 200, 50, seed=11)
    runs = {m: sgd(problem, 2000, n_replicas=200, seed=21 + i, method=m, record=15)
            for i, m in enumerate(("raw", "spectral"))}
    return problem, runs


@pytest.mark.parametrize("method", ["raw", "spectral"])
def test_mean_matches_exact_recursion(mc_runs, method):
    """Mean of 200 runs (d = 50, v = 200, 2000 steps, default lr) vs the exact expected loss,
    at 15 log-spaced iterations: |mean - exact| <= 4 SE, SE = sample std / sqrt(200)."""
    problem, runs = mc_runs
    res = runs[method]
    exact = exact_loss(problem, 2000, res.parameters["lr"], 1)[res.t]
    loss = res.loss
    assert loss.mean[0] == pytest.approx(problem.initial_risk, rel=1e-14)
    z = np.abs(loss.mean[1:] - exact[1:]) / loss.stderr[1:]
    assert np.all(z <= N_SE), (method, z)
    assert loss.mean[-1] < 0.01 * loss.mean[0]           # the check is not vacuous


def test_raw_and_spectral_agree(mc_runs):
    _, runs = mc_runs
    raw, spec = runs["raw"].loss, runs["spectral"].loss
    se = np.hypot(raw.stderr[1:], spec.stderr[1:])
    assert np.all(np.abs(raw.mean[1:] - spec.mean[1:]) <= N_SE * se)


@pytest.mark.parametrize("method", ["raw", "spectral"])
def test_batch_mean_matches_exact_recursion(method):
    """Batch 4 (the B(B+1) and B factors of the recursion), default lr = 1/(5 Tr D)."""
    problem = PLRFProblem(1.5, 1.2, 80, 30, seed=5)
    res = sgd(problem, 400, batch=4, n_replicas=200, seed=6, method=method, record=10)
    exact = exact_loss(problem, 400, res.parameters["lr"], 4)[res.t]
    assert np.all(np.abs(res.loss.mean[1:] - exact[1:]) <= N_SE * res.loss.stderr[1:])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["raw", "spectral"])
def test_mean_matches_exact_recursion_larger(method):
    """d = 200, v = 800, batch 2, 5000 steps, 400 seeds: within 4 SE at 20 iterations."""
    problem = PLRFProblem(1.0, 1.3, 800, 200, seed=3)
    res = sgd(problem, 5000, batch=2, n_replicas=400, seed=4, method=method, record=20)
    exact = exact_loss(problem, 5000, res.parameters["lr"], 2)[res.t]
    assert np.all(np.abs(res.loss.mean[1:] - exact[1:]) <= N_SE * res.loss.stderr[1:])


def test_fresh_w_raw_and_spectral_agree():
    problem = PLRFProblem(1.0, 0.4, 60, 20, seed=0)
    raw = sgd(problem, 300, n_replicas=100, seed=8, fresh_w=True, record=8)
    spec = sgd(problem, 300, n_replicas=100, seed=8, fresh_w=True, record=8, method="spectral")
    shared = sgd(problem, 300, n_replicas=100, seed=8, record=8)
    assert raw.per_replica.shape == (100, raw.t.size)
    assert not np.allclose(raw.per_replica[:, -1], shared.per_replica[:, -1])
    se = np.hypot(raw.loss.stderr[1:], spec.loss.stderr[1:])
    assert np.all(np.abs(raw.loss.mean[1:] - spec.loss.mean[1:]) <= N_SE * se)


def test_result_roundtrip_and_mapping(tmp_path):
    res = sgd({"alpha": 1.0, "beta": 0.5, "v": 20, "d": 10, "seed": 1}, 30, n_replicas=2, seed=0)
    res.save(tmp_path / "curves.npz")
    back = load(tmp_path / "curves.npz")
    assert isinstance(back, SGDCurves)
    np.testing.assert_array_equal(back.per_replica, res.per_replica)
    assert back.parameters["d"] == 10 and back.parameters["method"] == "raw"
    one = sgd(PLRFProblem(1.0, 0.5, 20, 10, seed=1), 30, n_replicas=1, seed=0)
    assert np.all(np.isnan(one.loss.stderr))
    assert res.converged is None and res.iterations is None      # a simulation
    zero = sgd(PLRFProblem(1.0, 0.5, 20, 10, seed=1), 0, n_replicas=2)
    np.testing.assert_array_equal(zero.t, [0])


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("args, name", [
    ((0.0, 0.5, 20, 10), "alpha"), ((-1.0, 0.5, 20, 10), "alpha"),
    ((1.0, float("nan"), 20, 10), "beta"), ((1.0, 0.5, 5, 10), "v"),
    ((1.0, 0.5, 20, 0), "d"), ((1.0, 0.5, 20, 2.0), "d"), ((1.0, 0.5, 20.0, 10), "v"),
])
def test_bad_problem(args, name):
    with pytest.raises(NNPhysError, match=f"^{name}:"):     # ParameterError or, for a
        PLRFProblem(*args)                                  # float count, ArgumentTypeError


@pytest.mark.parametrize("kwargs, name", [
    ({"steps": -1}, "steps"), ({"steps": 1.5}, "steps"), ({"lr": 0.0}, "lr"),
    ({"lr": -1e-3}, "lr"), ({"lr": float("inf")}, "lr"), ({"batch": 0}, "batch"),
    ({"n_replicas": 0}, "n_replicas"), ({"method": "exact"}, "method"), ({"record": 1}, "record"),
    ({"record": np.array([0, 99])}, "record"), ({"record": np.array([0.5])}, "record"),
])
def test_bad_sgd_arguments(kwargs, name):
    problem = PLRFProblem(1.0, 0.5, 20, 10, seed=0)
    args = {"steps": 10, **kwargs}
    steps = args.pop("steps")
    with pytest.raises(NNPhysError, match=f"^{name}:"):
        sgd(problem, steps, **args)


def test_bad_problem_argument():
    with pytest.raises(ParameterError, match="^problem:"):
        sgd("plrf", 10)
    with pytest.raises(ParameterError, match="^problem:"):
        sgd({"alpha": 1.0, "v": 20, "d": 10}, 10)
    with pytest.raises(ParameterError, match="^theta:"):
        PLRFProblem(1.0, 0.5, 20, 10).risk(np.zeros(9))


@pytest.mark.parametrize("method", ["raw", "spectral"])
def test_divergence_raises(method):
    problem = PLRFProblem(1.0, 0.5, 40, 20, seed=0)
    with pytest.raises(NumericalError, match="diverged.*lr"):
        sgd(problem, 2000, lr=5.0 / problem.trace_D, n_replicas=2, method=method)


def test_problem_d_above_v_named():
    # fuzz census reproducer: d = 1e12 > v = 20 was reported as "v >= 1e12" only
    with pytest.raises(ParameterError, match=r"^v: .* count d = 1000000000000"):
        PLRFProblem(0.8, 0.6, 20, 10 ** 12, 0)
