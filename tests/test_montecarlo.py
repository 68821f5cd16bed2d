"""Monte Carlo of Hebbian networks: numba kernels against plain-Python references that
build the coupling matrix/tensor explicitly, exact Boltzmann averages, reproducibility."""

import itertools
import math

import numba
import numpy as np
import pytest

from nnphys.errors import ParameterError
from nnphys.models import hebbian as models
from nnphys.sim import _xoshiro
from nnphys.sim import montecarlo as mc

from . import naive


def brute_energy(net, spins):
    """H / N from the explicit coupling tensor (distinct index tuples) or m^P (power)."""
    x, w, P, n = net.memories, net.weights, net.P, net.N
    if net.form == "power":
        return -net.scale * np.sum(w * (x @ spins / n) ** P)
    total = 0.0
    for idx in itertools.combinations(range(n), P):
        total += np.sum(w * np.prod(x[:, idx], axis=1)) * np.prod(spins[list(idx)])
    return -net.scale * total / n


def reference_sweeps(net, spins, state, beta, dynamics, n_sweeps, shuffle=True):
    """One chain, plain Python: same site order and accept rule, energies by brute force."""
    rng = np.array(state, dtype=np.uint64)          # advanced by the Python xoshiro256**
    spins = spins.copy()
    n = net.N
    for _ in range(n_sweeps):
        order = list(range(n))
        for k in range(n - 1, 0, -1):
            if shuffle:
                j = min(int(naive.uniform(rng) * (k + 1)), k)
                order[k], order[j] = order[j], order[k]
        for i in order:
            flipped = spins.copy()
            flipped[i] *= -1
            de = n * (brute_energy(net, flipped) - brute_energy(net, spins))
            de = 0.0 if abs(de) < 1e-11 else de        # exact ties (dE = 0) do not flip at T = 0
            if dynamics == "zero":
                accept = de < 0
            elif dynamics == "metropolis":
                accept = naive.uniform(rng) < math.exp(-beta * de)
            else:
                accept = beta * de <= 40 and naive.uniform(rng) * (1 + math.exp(beta * de)) < 1
            if accept:
                spins = flipped
    return spins


def test_xoshiro_matches_reference():
    state = mc._rng_states(7, 1)
    ref = state[0].copy()
    s = state[0].copy()
    for _ in range(5):
        assert int(_xoshiro.next_u64(s)) == naive.next_u64(ref)


NETS = {
    "hopfield": lambda rng: mc.hopfield(rng.choice([-1.0, 1.0], size=(3, 9))),
    "diluted": lambda rng: mc.hopfield(rng.choice([-1.0, 0.0, 1.0], size=(3, 9))),
    "dense3": lambda rng: mc.dense(rng.choice([-1.0, 1.0], size=(4, 9)), 3),
    "dense4_real": lambda rng: mc.from_examples(
        rng.choice([-1.0, 1.0], size=(2, 3, 9)), 4, supervised=True),
    "dense3_real": lambda rng: mc.from_examples(
        rng.choice([-1.0, 1.0], size=(2, 3, 9)), 3, supervised=True),
    "power3": lambda rng: mc.dense(rng.choice([-1.0, 1.0], size=(3, 9)), 3, form="power"),
    "unsup3": lambda rng: mc.from_examples(rng.choice([-1.0, 1.0], size=(2, 3, 9)), 3,
                                           supervised=False),
}


@pytest.mark.parametrize("name", list(NETS))
def test_energy_matches_coupling_tensor(name):
    rng = np.random.default_rng(3)
    net = NETS[name](rng)
    spins = rng.choice([-1.0, 1.0], size=(4, net.N))
    got = mc.energy(net, spins)
    for k in range(4):
        assert got[k] == pytest.approx(brute_energy(net, spins[k]), abs=1e-12)


@pytest.mark.parametrize("order", ["random", "sequential"])
@pytest.mark.parametrize("dynamics,T", [("glauber", 0.7), ("metropolis", 0.5), ("zero", 0.0)])
@pytest.mark.parametrize("name", list(NETS))
def test_kernel_trajectory_matches_reference(name, dynamics, T, order):
    rng = np.random.default_rng(11)
    net = NETS[name](rng)
    res = mc.run(net, T, 3, dynamics=dynamics, n_replicas=2, init="random", seed=5,
                 site_order=order)
    start = mc.run(net, T, 1, dynamics=dynamics, n_replicas=2, init="random", seed=5)
    init = np.random.default_rng(np.random.SeedSequence(5).spawn(3)[0]).choice(
        np.array([-1.0, 1.0]), size=(2, net.N))
    states = mc._rng_states(5, 2)
    for c in range(2):
        expected = reference_sweeps(net, init[c], states[c], 1 / T if T else 0.0, dynamics,
                                    int(res.sweeps[-1]), shuffle=order == "random")
        np.testing.assert_array_equal(res.spins[c], expected)
    # observables are consistent with the final configuration
    np.testing.assert_allclose(res.overlaps[:, -1], res.spins @ net.memories.T / net.N,
                               atol=1e-12)
    np.testing.assert_allclose(res.energy[:, -1], mc.energy(net, res.spins), atol=1e-12)
    assert start.sweeps[0] == 0


def test_glauber_equilibrium_energy_matches_exact_boltzmann():
    rng = np.random.default_rng(2)
    net = mc.hopfield(rng.choice([-1.0, 1.0], size=(2, 10)))
    T = 0.8
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=10)))
    e = mc.energy(net, states) * net.N
    p = np.exp(-(e - e.min()) / T)
    exact = float(np.sum(p * e) / np.sum(p) / net.N)
    res = mc.run(net, T, 8200, n_replicas=4, init="random", seed=1, record_every=5)
    assert res.converged is None and res.iterations is None and res.residual is None
    # each chain's time average carries its error from its integrated autocorrelation
    # time (200 sweeps of burn-in dropped); 4 standard errors
    est = res.mean_energy(burn_in=201)
    assert est.stderr > 0
    assert abs(est.mean - exact) < 4 * est.stderr


def test_zero_temperature_reaches_fixed_point_and_reports_it():
    rng = np.random.default_rng(4)
    xi = rng.choice([-1.0, 1.0], size=(30, 300))
    net = mc.hopfield(xi)
    res = mc.run(net, 0.0, 100, dynamics="zero", n_replicas=2, init="pattern:0",
                 flip_fraction=0.1, seed=0)
    assert res.converged and res.iterations < 100
    J = xi.T @ xi / 300
    np.fill_diagonal(J, 0)
    assert np.all(res.spins * (res.spins @ J) >= 0)       # every spin aligned with its field
    short = mc.run(net, 0.0, 1, dynamics="zero", n_replicas=2, init="random", seed=0)
    assert not short.converged


def test_same_seed_same_chains_on_any_thread_count(monkeypatch):
    monkeypatch.setattr(mc, "_PARALLEL_WORK", 0)       # force the threaded kernel
    rng = np.random.default_rng(5)
    net = mc.hopfield(rng.choice([-1.0, 1.0], size=(20, 200)))
    before = numba.get_num_threads()
    runs = []
    for threads in (1, before):
        numba.set_num_threads(threads)
        runs.append(mc.run(net, 0.5, 5, n_replicas=3, seed=9, init="random"))
    numba.set_num_threads(before)
    np.testing.assert_array_equal(runs[0].spins, runs[1].spins)
    np.testing.assert_array_equal(runs[0].q, runs[1].q)
    other = mc.run(net, 0.5, 5, n_replicas=3, seed=10, init="random")
    assert not np.array_equal(other.spins, runs[0].spins)
    monkeypatch.setattr(mc, "_PARALLEL_WORK", 10 ** 18)   # serial kernel: same chains
    serial = mc.run(net, 0.5, 5, n_replicas=3, seed=9, init="random")
    np.testing.assert_array_equal(serial.spins, runs[0].spins)


def test_archetype_overlaps_and_q_recorded():
    rng = np.random.default_rng(6)
    arch = rng.choice([-1.0, 1.0], size=(2, 100))
    eta = arch[:, None, :] * np.where(rng.random((2, 5, 100)) < 0.8, 1.0, -1.0)
    net = mc.from_examples(eta, 2, supervised=False, archetypes=arch)
    res = mc.run(net, 0.2, 4, n_replicas=3, init="archetype:1", seed=0)
    assert res.archetype_overlaps.shape == (3, 5, 2)
    np.testing.assert_allclose(res.archetype_overlaps[:, -1], res.spins @ arch.T / 100)
    assert res.archetype_overlaps[0, 0, 1] == 1.0
    assert res.q.shape == (5, 3)
    np.testing.assert_allclose(res.q[-1, 0], res.spins[0] @ res.spins[1] / 100)


@pytest.mark.parametrize("kwargs,match", [
    (dict(T=0.0), "T"), (dict(T=-1.0, dynamics="metropolis"), "T"),
    (dict(dynamics="wolff"), "dynamics"), (dict(n_sweeps=0), "n_sweeps"),
    (dict(init="pattern:9"), "init"), (dict(flip_fraction=2.0), "flip_fraction")])
def test_bad_arguments(kwargs, match):
    net = mc.hopfield(np.ones((2, 10)))
    args = dict(T=0.5, n_sweeps=2)
    args.update(kwargs)
    with pytest.raises(ParameterError, match=match):
        mc.run(net, args.pop("T"), args.pop("n_sweeps"), **args)


def test_network_from_specs_matches_explicit_builders():
    """One spec, one network: the builders of the spec's disorder and of the memories agree."""
    spec = models.Hopfield(alpha=0.05, T=0.3)
    net = mc.network(spec, 200, seed=3)
    np.testing.assert_array_equal(net.memories, spec.patterns(200, seed=3))
    assert net.memories.shape == (10, 200) and spec.at_size(200).alpha == 0.05
    dense = models.DenseMemory(alpha=0.02, T=0.2, P=3, convention="all-index")
    d = mc.network(dense, 30, seed=1)
    assert (d.form, d.P, d.scale) == ("power", 3, 1 / 6) and d.memories.shape == (18, 30)
    learn = models.ExampleLearning(alpha=0.0, T=0.0, P=3, r=0.4, M=5)
    net = mc.network(learn, 50, seed=2)
    xi, eta = learn.examples(50, seed=2)
    np.testing.assert_array_equal(net.archetypes, xi)
    np.testing.assert_allclose(net.memories * math.sqrt(np.mean(eta.mean(axis=1) ** 2)),
                               eta.mean(axis=1))
    multi = mc.network(models.Multitask(d=0.3, K=3), 100, seed=0)
    assert set(np.unique(multi.memories)) <= {-1.0, 0.0, 1.0}
    with pytest.raises(TypeError, match="model"):
        mc.network("hopfield", 100)


def test_overlap_estimate_of_a_run():
    """The overlap Estimate is the chains' time average with a positive error."""
    rng = np.random.default_rng(8)
    net = mc.hopfield(rng.choice([-1.0, 1.0], size=(5, 200)))
    res = mc.run(net, 0.5, 60, n_replicas=2, seed=2, record_every=2)
    est = res.overlap(0, burn_in=20)
    keep = res.sweeps >= 20
    assert est.mean == pytest.approx(np.abs(res.overlaps[:, keep, 0]).mean(), abs=1e-14)
    assert est.stderr > 0
    with pytest.raises(ParameterError, match="burn_in"):
        res.overlap(0, burn_in=59)
