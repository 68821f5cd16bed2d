"""A fuzz harness over every public entry point of nnphys (issue 12, section 2).

:func:`entry_points` enumerates the public callables: every name not starting with ``_``
defined in a public module of ``theory``, ``sim``, ``models``, ``stats``, ``checks``,
``results``, ``sweep`` and ``validation.registry``, minus the result records (subclasses of
:class:`nnphys.results.Result`, which are outputs) and the few names in :data:`EXCLUDED`
(each with its reason); plus the methods users call on specs (``Layer.init``,
``Network.kernel``). :data:`VALID` holds one valid call of each, with small sizes.

A fuzz call replaces one argument of a valid call (given, or left at its default) by a bad
value of a kind fitting that argument (:func:`bad_values`: NaN, +-inf, 0, negative, 1e-300,
1e300, huge integers, non-integers, str, None, complex, a list, empty arrays, wrong shapes)
and :func:`classify` sorts the outcome into one of

``finite``     an answer with no NaN and no inf outside :data:`MAY_BE_INFINITE`;
``refused``    ParameterError/ArgumentTypeError/ValueError/TypeError whose message names
               the changed argument (as the user typed it);
``honest``     ConvergenceError/NumericalError for a finite number of the right type (the
               method's honest failure at an admissible but extreme value);
``nonfinite``  a NaN or an unexpected inf in the answer (a failure);
``unnamed``    a ValueError/TypeError whose message does not name the argument (a failure);
``other``      any other exception type, or an honest-failure type for a NaN/inf/mistyped
               input (a failure);
``unbounded``  no answer within the time limit (a failure; see :mod:`tests.fuzz_census`).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import os
import pkgutil
import re
import tempfile

import numpy as np

import nnphys
from nnphys.errors import ArgumentTypeError, ConvergenceError, NumericalError, ParameterError

FAILURES = ("nonfinite", "unnamed", "other", "unbounded")
OUTCOMES = ("finite", "refused", "honest") + FAILURES

SCOPE = ("theory", "sim", "models", "stats", "checks", "results", "sweep",
         "validation.registry")

# Public names left out, with the reason.
EXCLUDED = {
    "models.network.Layer": "abstract base class (no arguments)",
    "models.network.Activation": "abstract base class (no arguments)",
    "models.network.register_layer": "extension hook: registers a user's constructor",
    "models.graph.graph_pattern": "context manager: sets the graphs Network.kernel/apply "
                                  "were given (fuzzed through their pattern argument)",
    "models.graph.current_pattern": "reads the graph_pattern context (no arguments)",
    "theory.kernels.layers.register": "extension hook: a class decorator",
    "theory.kernels.layers.register_pair": "extension hook: a class decorator",
    "results.register_phase_diagram": "extension hook: a function decorator",
    "results.xarray_dataset": "needs the optional xarray extra; behind PhaseDiagram.to_xarray "
                              "and SweepResult.to_xarray, tested in tests/test_plotting.py",
    "validation.registry.register": "extension hook: a function decorator",
    "validation.registry.run": "runs the whole validation suite (minutes); its arguments "
                               "are fuzzed through the CLI tests",
    "results.load": "file input: fuzzed by the I/O tests of issue 12 section 3",
    "results.write_atomically": "file output (a path and a writer callback): tested by the "
                                "I/O tests of issue 12 section 3",
    "results.remove_stale_temporaries": "deletes files in a directory: tested by the I/O "
                                        "tests of issue 12 section 3",
    "sweep.CheckpointWarning": "a warning category (no arguments)",
    "results.Result": "a record: stores what it is given (solvers fill it)",
    "results.PhaseDiagram": "a record: stores what it is given (solvers fill it)",
    "results.PhaseDiagramModel": "a registry record, built by register_phase_diagram",
    "sim.regression.plrf.PLRFSpectrum": "a record: the spectrum a PLRFProblem computes",
    "theory.kernels.infinite_depth.NormalizedDual": "a record: the output of normalized_dual",
    "theory.kernels.symbolic.DualKernel": "a record: the output of dual_kernel",
    "theory.scaling.mrs.LatentSums": "a record: the output of theory.scaling.mrs.spectrum",
    "theory.scaling.spectrum.SpectralMeasure": "a record: the output of "
                                               "deterministic_measure / empirical_measure",
}

# Cases whose offenders are known and left for later, with the reason: the census counts
# them, the tests skip them (remove an entry once its case is clean). None are left.
KNOWN: dict[str, str] = {}


def known(key: str) -> bool:
    return key in KNOWN


# Arguments not fuzzed, by case prefix: they are set by the package's own code (the
# bounds a check enforces, the name it reports), not by a user.
NOT_FUZZED = {
    "checks": ("name", "low", "high", "low_open", "high_open", "allow_inf", "open_low",
               "open_high", "ndim", "allow_zero", "allowed", "limit", "what"),
    # a NaN theory or simulation is recorded as a failed comparison (the table shows it)
    "validation.registry.compare": ("theory", "simulation"),
    # None is the default 24-point grid up to d = 4096: valid, and a minute of work
    "theory.scaling.plrf.compute_optimal": ("d_grid",),
    "models.network.check_input": ("name",),
    "models.network.std_from_variance": ("name",),
    "models.network.window_padding": ("name",),
    "models.network.window_positions": ("name",),
}

# Answers that may hold an infinite value, and why (a NaN is never an answer).
MAY_BE_INFINITE = {
    "theory.hebbian": "a divergent susceptibility at T = 0, an infinite capacity",
    "theory.dmft.learning": "N = P = inf (the default) is the infinite-width limit",
    "theory.dmft.rnn": "the autocorrelation time is infinite at the static fixed point",
    "theory.criticality": "depth scales xi diverge on the critical line",
    "theory.scaling": "an infinite budget / time is the limit asked for",
    "theory.spectral": "tau = inf at zero ridge and n >= rank",
    "theory.kernels.infinite_depth": "exponents are inf for a degenerate limit",
    "theory.kernels.predict": "t = inf (the default) is the converged predictor",
    "theory.kernels.batchnorm": "n_eff = inf of an exact (quadrature) value, Estimate.exact",
    "stats": "a stderr of inf when a single sample is given",
    "models": "specs echo their parameters",
}


# Fields documented as NaN where they do not apply, by case.
NAN_MEANS_NOT_APPLICABLE = {
    "theory.kernels.infinite_depth.limit_classifier": ("exponent", "preasymptotic_exponent",
                                                       "hilbert_dimension"),
    "theory.scaling.plrf.compute_optimal": ("d", "loss", "losses", "slope_d", "slope_loss"),
}
# A phase diagram's fields are NaN where a branch does not exist (e.g. f_para inside the
# spin-glass region); its phase map says which.
PHASE_DIAGRAM_NAN = ("fields", "boundaries")


def _hopfield_network():
    from nnphys.sim import montecarlo
    patterns = np.random.default_rng(0).choice([-1, 1], size=(2, 32)).astype(np.int8)
    return montecarlo.hopfield(patterns)


def _fl_net():
    from nnphys.models import network as nw
    return nw.Serial((nw.Dense(4), nw.Identity(), nw.Dense(1)))


def _valid_calls():
    """qualified name -> (callable or None, args, kwargs) for one valid call."""
    from nnphys.models import hebbian as mh, network as nw, regression as mr, rnn as mrnn
    from nnphys.sim import montecarlo, networks, rnn as srnn
    from nnphys.sim.regression import plrf as splrf
    from nnphys.theory import kernels as nk
    from nnphys.theory.kernels import duals, infinite_depth
    import nnphys.sweep as sweep

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    net = nw.Serial((nw.Dense(8), nw.Relu(), nw.Dense(1)))
    layers = networks.mlp_layers(net)
    _images = rng.standard_normal((2, 4, 3, 2))
    _spatial_net = nw.Serial((nw.Conv(3, (2, 2)), nw.Erf(), nw.Flatten()))
    params = networks.sample_params(layers, 4, 0)
    spectrum = mr.BAPModel(2.0, 1.5, M=200).spectrum
    traj = srnn.simulate(1.5, 8.0, 0.5, N=8, transient=1.0, seed=0, n_replicas=2)
    from nnphys.sim import preactivations
    ens = preactivations.full_ensemble(nw.Relu(), x, 2, 8, 4, 1.4, 0.0)
    limit = infinite_depth.limit_classifier(nw.Relu())
    hop = _hopfield_network()
    examples = rng.choice([-1, 1], size=(2, 3, 32)).astype(np.int8)
    problem = splrf.PLRFProblem(0.8, 0.6, 20, 10, seed=0)
    K = np.abs(rng.standard_normal(6)) + 1.0
    kt = np.eye(3) + 0.1

    def sweep_fn(a, seed):
        return {"y": a}

    relu1 = nk.serial(nw.Dense(1), nw.Relu(), nw.Dense(1))
    gram = x @ x.T + 0.1 * np.eye(3)
    y_gram = np.array([1.0, -0.5, 0.2])
    w_rf = rng.standard_normal((6, 4))
    theta_rf = rng.standard_normal(4)

    calls = {
        # checks
        "checks.real": (("T", 0.5), {"low": 0.0}),
        "checks.positive": (("T", 0.5), {}),
        "checks.integer": (("N", 3), {"low": 1}),
        "checks.probability": (("p", 0.5), {}),
        "checks.one_of": (("law", "a", ("a", "b")), {}),
        "checks.finite_array": (("x", [1.0, 2.0]), {"ndim": 1}),
        "checks.work": (("steps", 10), {}),
        "checks.seed": ((3,), {}),
        # models: hebbian specs
        "models.hebbian.Hopfield": ((0.05, 0.2), {}),
        "models.hebbian.DenseMemory": ((0.02, 0.1, 3), {}),
        "models.hebbian.dataset_entropy": ((0.5, 10), {}),
        "models.hebbian.kappa": ((3, 0.5, 10, True), {}),
        "models.hebbian.ExampleLearning": ((0.0, 0.0, 3, 0.2), {}),
        "models.hebbian.Multitask": ((0.3, 0.2, 2), {}),
        # models: network specs
        "models.network.as_rng": ((3,), {}),
        "models.network.std_from_variance": ((2.0,), {}),
        "models.network.activation_function": ((nw.Relu(),), {}),
        "models.network.check_input": ((x,), {}),
        "models.network.Dense": ((4,), {}),
        "models.network.trained_parameters": ((nw.Dense(2), np.ones((4, 2)), np.zeros(2),
                                               4), {}),
        "models.network.parameter_scales": ((nw.Dense(2), 4), {}),
        "models.network.Serial": (((nw.Dense(2), nw.Relu()),), {}),
        "models.network.Parallel": (((nw.Dense(2), nw.Dense(2)),), {}),
        "models.network.FanOut": ((2,), {}),
        "models.network.FanInSum": ((), {}),
        "models.network.ABRelu": ((0.0, 1.0), {}),
        "models.network.Relu": ((), {}),
        "models.network.LeakyRelu": ((0.1,), {}),
        "models.network.Abs": ((), {}),
        "models.network.Erf": ((), {}),
        "models.network.Sigmoid_like": ((), {}),
        "models.network.Gelu": ((), {}),
        "models.network.Sin": ((), {}),
        "models.network.Cos": ((), {}),
        "models.network.Rbf": ((), {}),
        "models.network.Exp": ((), {}),
        # spatial branch (issue 15 part B)
        "models.spatial.ConvTranspose": ((3, (2, 2)), {"strides": (2, 1), "padding": "SAME"}),
        "models.spatial.ConvLocal": ((3, (2, 2)), {"padding": "CIRCULAR", "b_std": 0.1}),
        "models.spatial.SumPool": (((2, 2),), {"padding": "SAME"}),
        "models.spatial.GlobalSumPool": ((), {}),
        "models.spatial.transpose_positions": ((5, 3, 2, "CIRCULAR"), {}),
        "models.elementwise.Gabor": ((), {}),
        "models.elementwise.ExpNormalized": ((0.5, -1.0, True), {}),
        "models.network.Gaussian": ((), {}),
        "models.network.Sign": ((), {}),
        "models.network.Identity": ((), {}),
        "models.network.Polynomial": (((0.0, 1.0, 0.5),), {}),
        "models.network.Monomial": ((2,), {}),
        "models.network.Hermite": ((2,), {}),
        "models.network.RectifiedMonomial": ((1,), {}),
        "models.network.ElementwiseFunction": ((np.tanh,), {}),
        "models.network.Elementwise": ((np.tanh,), {}),
        "models.network.Tanh": ((), {}),
        "models.network.parse_spec": (("Dense(4),Relu(),Dense(1)",), {}),
        "models.network.spec_string": ((net,), {}),
        "models.network.chain": ((net,), {}),
        "models.network.window_padding": ((8, 3, 1, "SAME"), {}),
        "models.network.window_positions": ((8, 3, 1, "SAME"), {}),
        "models.network.Conv": ((2, (2,)), {}),
        "models.network.AvgPool": (((2,),), {}),
        "models.network.GlobalAvgPool": ((), {}),
        "models.network.Flatten": ((), {}),
        # models: attention, graphs, combinators (branch layers)
        "models.attention.GlobalSelfAttention": ((4, 3, 3, 2), {}),
        "models.combinators.Dropout": ((0.5,), {}),
        "models.combinators.FanInConcat": ((-1,), {}),
        "models.combinators.FanInProd": ((), {}),
        "models.combinators.repeat": ((nw.Relu(), 2), {}),
        "models.graph.Aggregate": ((), {}),
        "sim.layer_ensembles.empirical_nngp": ((nw.Serial((nw.Dense(3), nw.Erf())), x),
                                               {"n_replicas": 3, "seed": 0}),
        "sim.layer_ensembles.empirical_ntk": ((nw.Serial((nw.Dense(3), nw.Erf())), x),
                                              {"n_replicas": 3, "seed": 0}),
        "models.network.LayerNorm": ((), {}),
        "models.network.Dense.init": ((0, (3, 4)), {}, nw.Dense(4).init),
        "models.network.Conv.init": ((0, (2, 5, 3)), {}, nw.Conv(2, (2,)).init),
        "models.network.Serial.init": ((0, (3, 4)), {}, net.init),
        # models: regression, rnn, shallow
        "models.regression.Spectrum": ((np.array([1.0, 0.5]), np.array([1.0, 0.3])), {}),
        "models.regression.BAPModel": ((2.0, 1.5), {"M": 200}),
        "models.regression.MRSModel": ((1.0,), {"M": 100}),
        "models.regression.PLRFModel": ((0.8, 0.6, 100), {}),
        "models.rnn.RateNetwork": ((1.5,), {}),
        "models.rnn.rate_network": ((1.5,), {}),
        "models.rnn.is_tanh": ((nw.Tanh(),), {}),
        "models.shallow.law_moments": (("gaussian",), {}),
        "models.shallow.ShallowNetwork": ((nw.Erf(), 4), {}),
        # results, sweep, validation
        "results.phase_diagrams": ((), {}),
        "sweep.point_seed": ((3, 2), {}),
        "sim.random_features.draw_weights": ((4, (3, 2)), {"seed": 0}),
        "sim.random_features.features": ((x, [w_rf], nw.Relu()), {}),
        "sim.random_features.deep_ridge": ((4, (6,), nw.Relu(), np.array([5, 10])),
                                           {"ridge": 1e-2, "draws": 2, "n_test": 50,
                                            "seed": 0}),
        "sim.random_features.gaussian_covariates": (
            (np.eye(3), np.array([0.3, 0.2, 0.1]), 1.0, np.array([5, 10])),
            {"ridge": 1e-2, "draws": 2, "seed": 0}),
        "sim.regression.kernel_ridge.gaussian_design": (
            (np.array([1.0, 0.5, 0.25]), np.array([1.0, 0.5, 0.25]), 8),
            {"ridge": 1e-2, "n_replicas": 2}),
        "sim.regression.kernel_ridge.kernel_ridge": ((gram, y_gram), {"ridge": 0.1}),
        "sweep.run": ((sweep_fn, {"a": [1.0, 2.0]}), {"progress": False}),
        "validation.registry.compare": (("family.check", "m", 0.5, 0.5), {"bias": 0.01}),
        "validation.registry.checks": ((), {}),
        "validation.registry.check_seed": ((0, "hebbian.hopfield_overlap"), {}),
        "validation.registry.scaled": ((100,), {}),
        "validation.registry.size_factor": ((), {}),
        # stats
        "stats.sample_mean": (([1.0, 2.0, 4.0],), {}),
        "stats.ratio_estimate": (([1.0, 2.0, 3.0], [2.0, 2.5, 3.5], np.divide), {}),
        "stats.autocorrelation_time": ((np.sin(np.arange(256.0)),), {}),
        "stats.time_average": ((np.sin(np.arange(256.0)),), {}),
        "stats.batch_means": ((np.sin(np.arange(256.0)),), {"n_batches": 8}),
        "stats.replica_mean": (([nnphys.stats.Estimate(mean=1.0, stderr=0.1, n_eff=10.0),
                                 nnphys.stats.Estimate(mean=1.1, stderr=0.1, n_eff=10.0)],),
                               {"min_spread": 2}),
        "stats.weighted_least_squares": ((np.c_[np.ones(4), np.arange(4.0)],
                                          np.array([1.0, 2.1, 2.9, 4.2])), {}),
        "stats.fit_power_law": ((np.array([1.0, 2.0, 4.0, 8.0]),
                                 np.array([1.0, 0.52, 0.24, 0.13])), {"n_boot": 50}),
        "stats.local_slopes": (([1.0, 2.0, 4.0], [1.0, 0.5, 0.25]), {}),
        "stats.extrapolate": (([8, 16, 32], [1.1, 1.05, 1.025]), {}),
        # sim
        "sim.montecarlo.Network": ((hop.memories, hop.weights), {}),
        "sim.montecarlo.network": ((mh.Hopfield(0.05, 0.2), 40), {}),
        "sim.montecarlo.hopfield": ((hop.memories,), {}),
        "sim.montecarlo.dense": ((hop.memories, 3), {}),
        "sim.montecarlo.from_examples": ((examples, 3, True), {}),
        "sim.montecarlo.energy": ((hop, hop.memories[:1]), {}),
        "sim.montecarlo.run": ((hop, 0.5, 3), {}),
        "sim.networks.mlp_layers": ((net,), {}),
        "sim.networks.draw_weights": ((0, (4, 3)), {}),
        "sim.networks.sample_params": ((layers, 4, 0), {}),
        "sim.networks.forward": ((layers, params, x), {}),
        "sim.networks.ntk_of_sample": ((layers, params, x), {}),
        "sim.networks.empirical_kernels": ((net, x), {"n_replicas": 2, "width": 8}),
        "sim.spatial.ensemble_kernels": ((_spatial_net, _images), {"n_replicas": 2}),
        "sim.spatial.sample_features": ((_spatial_net, _images, 0), {}),
        "sim.networks.train_mse": ((net, x, np.ones((3, 1)), x), {"lr": 0.1, "steps": 5,
                                                                   "width": 8}),
        "sim.networks.train_gd": ((net, x, np.ones((3, 1)), x), {"lr": 0.1, "steps": 5,
                                                                  "width": 8}),
        "sim.ntk_ensemble.relu_ntk_ensemble": (((4, 6), np.ones(3), 2), {}),
        "sim.ntk_ensemble.ratio_statistics": ((K,), {}),
        "sim.preactivations.conditional_kernels": ((nw.Relu(), 2, 8, 4, 1.4, 0.0), {}),
        "sim.preactivations.kurtosis": ((np.abs(rng.standard_normal((3, 50))) + 0.5,), {}),
        "sim.preactivations.moments": ((np.abs(rng.standard_normal((3, 50))) + 0.5,), {}),
        "sim.preactivations.full_ensemble": ((nw.Relu(), x, 2, 8, 4, 1.4, 0.0), {}),
        "sim.preactivations.sample_kurtosis": ((ens,), {}),
        "sim.regression.gradient_descent.random_feature_gd": ((8, 16, [1.0, 10.0]),
                                                              {"M": 50, "n_replicas": 2,
                                                               "seed": 0}),
        "sim.regression.mrs.mrs_regression": ((8, 16, 1.0, 50), {"n_replicas": 2}),
        "sim.regression.plrf.PLRFProblem": ((0.8, 0.6, 20, 10), {"seed": 0}),
        "sim.regression.plrf.sgd": ((problem, 20), {"n_replicas": 2, "seed": 0}),
        "sim.rnn.coupling": ((8, 1.5), {}),
        "sim.rnn.simulate": ((1.5, 8.0, 0.5), {"N": 8, "transient": 1.0}),
        "sim.rnn.autocorrelation": ((traj, 1.0), {"n_windows": 2}),
        "sim.rnn.equal_time_variance": ((traj,), {}),
        "sim.rnn.lyapunov": ((1.5, 8.0, 0.5), {"N": 8, "transient": 1.0, "n_blocks": 2,
                                                "renorm_every": 2, "seed": 0}),
        "sim.shallow.draw": ((0, "gaussian", (3, 2)), {}),
        "sim.shallow.sample_outputs": ((nw.Erf(), 4, 8), {}),
        # theory: signal propagation, finite width, kernels
        "theory.criticality.as_activation": ((nw.Erf(),), {}),
        "theory.criticality.length_map": ((nw.Erf(), 1.0, 1.5, 0.1), {}),
        "theory.criticality.correlation_map": ((nw.Erf(), 0.5, 1.0, 1.5, 0.1), {}),
        "theory.criticality.fixed_point_q": ((nw.Tanh(), 1.5, 0.1), {}),
        "theory.criticality.signal_propagation": ((nw.Erf(), 1.5, 0.1), {}),
        "theory.criticality.critical_line": ((nw.Erf(), 0.1), {}),
        "theory.criticality.phase_diagram": ((nw.Erf(), [1.0, 2.0], [0.1, 0.2]), {}),
        "theory.criticality.universality_class": ((nw.Erf(),), {}),
        "theory.finite_width.recursion": ((nw.Relu(), 3, 2.0, 0.0), {}),
        "theory.finite_width.scale_invariant_excess_kurtosis": ((3, 16), {}),
        "theory.finite_width.symbolic_recursion": (((0, 1, 0, 1),), {"depth": 2, "W_std": 1,
                                                                     "b_std": 0}),
        "theory.edgeworth.output_cumulants": ((nw.Erf(), 8), {}),
        "theory.edgeworth.output_density": (([0.0, 0.5], nw.Erf(), 8), {}),
        "theory.edgeworth.output_cdf": (([0.0, 0.5], nw.Erf(), 8), {}),
        "theory.gaussian.gauss_hermite": ((8,), {}),
        "theory.gaussian.gauss_legendre": ((8,), {}),
        "theory.gaussian.normal_rule": ((1.0,), {}),
        "theory.gaussian.expect_pair": ((np.tanh, np.tanh, 1.0, 1.0, 0.5), {}),
        "theory.gaussian.erf_pair": ((1.0, 1.0, 0.5), {}),
        "theory.gaussian.erf_derivative_pair": ((1.0, 1.0, 0.5), {}),
        "theory.gaussian.expect": ((np.cos, 1.0), {}),
        "theory.ntk_fluctuations.beta": (((8, 8),), {}),
        "theory.ntk_fluctuations.ntk_moments": (((8, 8), 3), {}),
        "theory.ntk_fluctuations.normalized_variance": ((16, 3), {}),
        "theory.ntk_fluctuations.hanin_nica_ratio": ((0.1,), {}),
        "theory.ntk_fluctuations.small_beta_slope": ((), {}),
        "theory.ntk_fluctuations.infinite_width_ntk": ((3, 4), {}),
        "theory.kernels.from_spec": (("Dense(4),Relu(),Dense(1)",), {}),
        "theory.kernels.from_stax": (("stax.serial(stax.Dense(4), stax.Relu())",), {}),
        "models.stax.from_stax": (("stax.serial(stax.Dense(4), stax.Relu())",), {}),
        "theory.kernels.duals.has_closed_form": ((nw.Relu(),), {}),
        "theory.kernels.duals.dual": ((nw.Erf(), 1.0, 0.5, 1.0, True), {}),
        "theory.kernels.duals.dual#polynomial": ((nw.Polynomial((0.0, 1.0, 0.5)), 1.0, 0.5, 1.0,
                                                  True), {}, duals.dual),
        "theory.kernels.duals.dual#rectified": ((nw.RectifiedMonomial(2), 1.0, 0.5, 1.0, True),
                                                {}, duals.dual),
        "theory.kernels.hermite.hermite_coefficients": ((np.tanh, np.array([1.0])), {}),
        "theory.kernels.hermite.dual": ((nw.Tanh(), 1.0, 0.5, 1.0, True), {}),
        "theory.kernels.infinite_depth.normalized_dual": ((nw.Relu(),), {}),
        "theory.kernels.batchnorm.batchnorm_nngp": ((np.eye(3) + 0.5, nw.Relu()), {}),
        "theory.kernels.batchnorm.batchnorm_ntk": ((np.eye(6) + 0.5, np.eye(6), nw.Relu()),
                                                   {"n_replicas": 256}),
        "theory.kernels.batchnorm.batchnorm_fixed_point": ((4, nw.Relu()), {}),
        "theory.kernels.batchnorm.batchnorm_gradient_rate": ((6,), {"n_replicas": 256}),
        "theory.kernels.batchnorm.linear_gradient_rate": ((6,), {}),
        "theory.kernels.batchnorm.large_batch_limit": ((nw.Relu(),), {}),
        "theory.kernels.batchnorm.isometry_gap": ((np.eye(3) + 0.1,), {}),
        "sim.batchnorm.gradient_norms": ((4, 6, 3), {"n_replicas": 3, "seed": 0}),
        "sim.batchnorm.gradient_growth": ((4, 6, 3), {"n_replicas": 3, "skip": 1,
                                                      "seed": 0}),
        "models.batchnorm.BatchNorm": ((), {}),
        "theory.kernels.infinite_depth.limit_classifier": ((nw.Relu(),), {}),
        "theory.kernels.infinite_depth.koenigs": ((nw.Erf(), [0.1, 0.5]), {}),
        "theory.kernels.infinite_depth.classify": ((limit, x, np.array([1.0, -1.0, 1.0]),
                                                    x[:2]), {}),
        "theory.kernels.infinite_depth.deep_kernel": ((nw.Relu(), [0.1, 0.5], 3), {}),
        "theory.kernels.infinite_depth.kernel_classify": ((nw.Relu(), x,
                                                           np.array([1.0, -1.0, 1.0]), x[:2],
                                                           3), {}),
        "theory.kernels.infinite_depth.dual_activation": (((0.5, 0.5),), {}),
        "theory.kernels.infinite_depth.sine_exponent": ((1.0,), {}),
        "theory.kernels.infinite_depth.sine_activation": ((1.0,), {}),
        "theory.kernels.infinite_depth.optimal_activation": ((2.0,), {}),
        "theory.kernels.kernel.input_kernel": ((x, None), {}),
        "theory.kernels.layers.apply_layer": ((nw.Relu(), nk.kernel.input_kernel(x, None)),
                                              {}),
        "theory.kernels.layers.dual_function": ((nw.Erf(),), {}),
        "theory.kernels.network.Network": ((net,), {}),
        "theory.kernels.network.serial": ((nw.Dense(4), nw.Relu()), {}),
        "theory.kernels.network.parallel": ((nw.Dense(4), nw.Dense(4)), {}),
        "theory.kernels.network.Network.kernel": ((x,), {}, nk.serial(*net.layers).kernel),
        "theory.kernels.network.Network.init": ((0, (3, 4)), {},
                                                nk.serial(*net.layers).init),
        "theory.kernels.predict.gp_inference": ((kt, np.ones((3, 1))), {}),
        "theory.kernels.predict.gradient_descent_mse": ((kt, np.ones((3, 1))), {}),
        "theory.kernels.predict.gradient_descent": (("cross_entropy", kt, np.eye(3), 0.5),
                                                    {"t": 2.0, "ntk_test_train": kt[:2]}),
        "theory.kernels.predict.max_learning_rate": ((kt,), {"momentum": 0.5}),
        "theory.kernels.scale_mixture.student_t_prior": ((nk.serial(*net.layers), x, 2.0,
                                                          1.0), {}),
        "theory.kernels.scale_mixture.student_t_inference": ((nk.serial(*net.layers), x,
                                                              np.ones((3, 1)), x[:2], 2.0,
                                                              1.0), {"noise": 0.1}),
        "theory.kernels.structural.iter_layers": ((net,), {}),
        "theory.kernels.structural.needs_full_layout": ((net,), {}),
        "theory.kernels.symbolic.dual_kernel": ((nw.Relu(),), {}),
        # generalization (issue 13)
        "theory.generalization.eigenlearning.spectral_learning_curve": (
            (np.array([1.0, 0.5, 0.25]), np.array([1.0, 0.5, 0.25]), np.array([4, 16])),
            {"ridge": 1e-3, "noise": 0.01}),
        "theory.generalization.curves.learning_curve": (
            (np.array([1.0, 0.5, 0.25]), np.array([1.0, 0.5, 0.25]), np.array([4, 16])),
            {"ridge": 1e-3}),
        "theory.generalization.curves.sphere_learning_curve": (
            (relu1, 5, [0.0, 1.0, 0.3], np.array([10, 40])), {"ridge": 1e-4, "k_max": 6}),
        "theory.generalization.risk.kernel_alignment_risk": ((gram, y_gram, 0.1), {}),
        "theory.generalization.sphere.gegenbauer": ((5, 4, np.array([-0.5, 0.0, 0.7])), {}),
        "theory.generalization.sphere.multiplicity": ((5, np.arange(4)), {}),
        "theory.generalization.sphere.sphere_spectrum": ((relu1, 5, 4), {}),
        "theory.generalization.sphere.hypercube_spectrum": ((relu1, 4), {}),
        "theory.generalization.sphere.kernel_function": ((relu1, 5), {}),
        "theory.generalization.deep_random_features.linearisation": ((nw.Relu(), 0.1, 1.0),
                                                                     {}),
        "theory.generalization.deep_random_features.equivalent_model": (
            ([w_rf], nw.Relu(), theta_rf), {}),
        "theory.generalization.deep_random_features.ridge_error": (
            (np.eye(3), np.array([0.3, 0.2, 0.1]), 1.0, np.array([10, 40])), {"noise": 0.05}),
        "theory.generalization.deep_random_features.test_error": (
            ([w_rf], nw.Relu(), theta_rf, np.array([10, 40])), {"ridge": 1e-2}),
        "theory.spectral.SpectralSums": ((np.array([1.0, 0.5, 0.25]),),
                                         {"w": np.array([1.0, 1.0, 1.0])}),
        "theory.spectral.tau_fixed_point": ((np.array([1.0, 0.5, 0.25]), 2), {"ridge": 0.1}),
        "theory.generalization.empirical.empirical_spectrum": (
            (np.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 1.5]]),
             np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])), {}),
        "theory.generalization.empirical.empirical_learning_curve": (
            (np.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 1.5]]),
             np.array([1.0, -1.0, 0.5]), np.array([1.0, 2.0, 5.0])),
            {"ridge": 0.1, "noise": 0.1}),
        # theory: Hebbian models
        "theory.hebbian.asymptotics.hopfield_small_alpha": ((), {}),
        "theory.hebbian.hopfield.solve": ((0.05, 0.2), {}),
        "theory.hebbian.hopfield.critical_capacity": ((0.1,), {}),
        "theory.hebbian.hopfield.glass_temperature": ((0.1,), {}),
        "theory.hebbian.hopfield.retrieval_temperature": ((0.05,), {}),
        "theory.hebbian.hopfield.transition_capacity": ((0.1,), {}),
        "theory.hebbian.hopfield.transition_temperature": ((0.05,), {}),
        "theory.hebbian.hopfield.at_temperature": ((0.05,), {}),
        "theory.hebbian.hopfield.small_alpha_asymptotes": ((), {}),
        "theory.hebbian.hopfield.phase_diagram": (([0.05, 0.1], [0.1, 0.2]), {}),
        "theory.hebbian.dense.gamma_c": ((3,), {}),
        "theory.hebbian.dense.solve": ((0.02, 0.1, 3), {}),
        "theory.hebbian.dense.critical_capacity": ((3,), {}),
        "theory.hebbian.dense.phase_diagram": (([0.01, 0.02], [0.1, 0.2], 3), {}),
        "theory.hebbian.learning.solve": ((0.0, 0.0, 3, 0.2), {}),
        "theory.hebbian.learning.critical_load": ((3,), {"rho": 0.2}),
        "theory.hebbian.learning.critical_entropy": ((0.1,), {}),
        "theory.hebbian.learning.exact_low_load_overlap": ((0.5, 10), {}),
        "theory.hebbian.learning.loss": ((0.5,), {}),
        "theory.hebbian.learning.phase_diagram": (([0.3, 0.6], [5, 10]), {}),
        "theory.hebbian.multitask.hierarchical_amplitudes": ((0.3, 2), {}),
        "theory.hebbian.multitask.hierarchy_threshold": ((3,), {}),
        "theory.hebbian.multitask.critical_temperature": ((0.3,), {}),
        "theory.hebbian.multitask.solve": ((0.3, 0.2, 2), {}),
        "theory.hebbian.multitask.instability_temperature": ((0.3, "parallel"), {}),
        "theory.hebbian.multitask.phase_diagram": (([0.2, 0.3], [0.1, 0.2]), {}),
        # theory: DMFT, scaling laws
        "theory.dmft.rnn.stationary": ((1.5,), {}),
        "theory.dmft.learning.transfer": ((1.0, spectrum), {}),
        "theory.dmft.learning.loss": (([1.0, 10.0],), {"N": 16, "P": 32, "M": 200}),
        "theory.dmft.learning.limit_loss": ((16, spectrum), {}),
        "theory.dmft.learning.compute_optimal": (([1e2, 1e3],), {"M": 200}),
        "theory.dmft.learning.exponents": ((2.0, 1.5), {}),
        "theory.dmft.feature_learning.solve": ((_fl_net(), [[1.0], [-0.5]], [1.0, -0.4], 1.0,
                                                 [0.0, 0.5, 1.0]), {"n_replicas": 64}),
        "theory.dmft.deep_linear.solve": ((_fl_net(), [[1.0], [-0.5]], [1.0, -0.4], 1.0,
                                           [0.0, 0.5, 1.0]), {}),
        "theory.dmft.deep_linear.single_point": ((1.0, 1.0, [0.0, 1.0]), {}),
        "theory.dmft.deep_linear.single_point_variance": ((1.0, 1.0, [0.0, 1.0]), {}),
        "theory.dmft.deep_linear.two_layer": (([[1.0], [-0.5]], [1.0, -0.4], 1.0, [0.0, 1.0]),
                                              {}),
        "theory.scaling.mrs.spectrum": ((1.0,), {"M": 100}),
        "theory.scaling.mrs.continuum_constant": ((1.0,), {}),
        "theory.scaling.mrs.sigma2_res_continuum": ((10, 1.0), {}),
        "theory.scaling.mrs.test_loss": ((50, 100, 1.0), {"M": 400}),
        "theory.scaling.mrs.sigma2_res": ((10, 1.0), {"M": 400}),
        "theory.scaling.mrs.plateau": ((10, 1.0), {"M": 400}),
        "theory.scaling.mrs.optimal_ridge": ((20, 40, 1.0), {"M": 200, "grid": 5}),
        "theory.scaling.mrs.equiparameterization": (([1e3],), {"alpha": 1.0, "M": 200,
                                                             "splits": 5, "tuned": False}),
        "theory.scaling.mrs.scaling_exponents": ((1.0,), {}),
        "theory.scaling.plrf.loss_curve": ((0.8, 0.6, 50), {"steps": 100, "points": 16}),
        "theory.scaling.plrf.capacity_loss": ((0.8, 0.6, 50), {}),
        "theory.scaling.plrf.ridge_learning_curve": ((0.8, 0.6, 50, [20.0, 200.0]), {}),
        "theory.generalization.local.local_exponent": ((3,), {"t": 2, "alpha_t": 1.0}),
        "theory.generalization.local.local_learning_curve": ((2, [10.0, 100.0]),
                                                             {"modes": 2000}),
        "theory.scaling.plrf.phase": ((0.8, 0.6), {}),
        "theory.scaling.plrf.exponents": ((0.8, 0.6), {}),
        "theory.scaling.plrf.compute_optimal": ((0.8, 0.6, [1e4, 1e5]),
                                                {"d_grid": [16, 32, 64]}),
        "theory.scaling.plrf.frontier_exponents": ((0.8, 0.6), {"d_range": (16, 1024),
                                                                "n_d": 6}),
        "theory.scaling.plrf.phase_diagram": (([0.8, 1.2], [0.6, 0.9]), {}),
        "theory.scaling.spectrum.deterministic_measure": ((0.8, 0.6, 20, 40), {}),
        "theory.scaling.spectrum.draw_embedding": ((10, 20), {"seed": 0}),
        "theory.scaling.spectrum.empirical_measure": ((0.8, 0.6, rng.standard_normal(
            (20, 10)) / np.sqrt(10)), {}),
        "theory.scaling.volterra.sgd_rate": ((np.array([0.5, 0.1]), 0.5, 1), {}),
        "theory.scaling.volterra.ExponentialSumVolterra": ((np.array([1.0, 0.5]),
                                                            np.array([1.0, 0.5]),
                                                            np.array([0.1, 0.05])), {}),
        # issue 14: abc-parametrizations and training in them
        "models.parametrization.Parametrization": (((-0.5, 0.0, 0.5), (0.5, 0.5, 0.5),
                                                    (0.0, 0.0, 0.0)), {}),
        "models.parametrization.named": (("mup", 2), {}),
        "models.parametrization.realise": ((net, 4, _mup1(), 16), {"base_width": 8,
                                                                  "lr": 0.1}),
        "models.parametrization.dense_layers": ((net,), {}),
        "theory.parametrization.shift": ((_mup1(), 0.5), {}),
        "theory.parametrization.canonical": ((_mup1(),), {}),
        "theory.parametrization.equivalent": ((_mup1(), _mup1()), {}),
        "theory.parametrization.classify": (((-0.5, 0.0, 0.5), (0.5, 0.5, 0.5), 0.0), {}),
        "theory.parametrization.mup_settings": ((net, 4, 64, 16), {}),
        "sim.training.mlp.train": ((net, x, np.ones(3), x[:2]),
                                   {"parametrization": "mup", "width": 8, "lr": 0.1,
                                    "steps": 3, "record_every": 1}),
        # branch expmem: exponential-capacity memories (issue 16)
        **_expmem_calls(rng),
    }
    return calls


def _expmem_calls(rng):
    from nnphys.models.hebbian import ExponentialMemory
    from nnphys import stats
    from nnphys.sim import exponential as se
    pats = rng.choice([-1.0, 1.0], size=(70, 12))
    planes = se.pack(pats)
    sph = rng.standard_normal((20, 6))
    cent = sph - sph.mean(axis=0)
    spec = ExponentialMemory(alpha=0.1, lam=0.3)
    pt = [se.retrieval_probability(ExponentialMemory(alpha=a, lam=0.3), 12, 4, seed=0)
          for a in (0.05, 0.8)]
    ests = [stats.Estimate(mean=0.2 - 1 / n, stderr=0.01) for n in (10, 20, 30)]
    return {
        "models.hebbian.ExponentialMemory": ((0.1, 0.2, 0.5), {}),
        "theory.hebbian.exponential.cramer_rate": ((np.array([0.1, 0.5]),), {}),
        "theory.hebbian.exponential.overlap_rate": ((0.3, "spherical"), {}),
        "theory.hebbian.exponential.saddle": ((0.5, "binary"), {}),
        "theory.hebbian.exponential.retrieval_overlap": ((0.5, "binary"), {}),
        "theory.hebbian.exponential.background_exponent": ((0.2, 0.5, "binary"), {}),
        "theory.hebbian.exponential.fluctuation_exponent": ((0.2, 0.5, "binary"), {}),
        "theory.hebbian.exponential.retrieval_threshold": ((0.1,), {}),
        "theory.hebbian.exponential.typical_capacity": ((0.5, 0.3, "binary"), {}),
        "theory.hebbian.exponential.all_patterns_capacity": ((0.5, "gaussian"), {}),
        "theory.hebbian.exponential.glass_line": ((0.5, "binary"), {}),
        "theory.hebbian.exponential.phase_diagram": (([0.1, 0.2], [0.0, 0.5]), {"lam": 0.5}),
        "theory.hebbian.exponential.polynomial_capacity": ((3, 30), {}),
        "theory.hebbian.exponential.stable_probability": ((3, 20, 10), {}),
        "theory.hebbian.exponential.crossover_order": ((40,), {}),
        "theory.hebbian.modern.lse": ((1.0, np.array([1.0, 2.0])), {}),
        "theory.hebbian.modern.energy": ((sph[0], sph, 1.0), {}),
        "theory.hebbian.modern.update": ((sph[0], sph, 1.0), {}),
        "theory.hebbian.modern.fixed_point": ((sph[0], sph, 1.0), {}),
        "theory.hebbian.modern.separation": ((sph,), {}),
        "theory.hebbian.modern.separation_condition": ((sph, 1.0), {}),
        "theory.hebbian.modern.retrieval_error_bound": ((sph[0], sph, 0, 1.0), {}),
        "theory.hebbian.modern.storage_capacity": ((50, 1.0, 7.0), {}),
        "theory.hebbian.modern.jacobian_radius": ((sph[0], sph, 1.0), {}),
        "theory.hebbian.modern.global_average_onset": ((cent,), {}),
        "theory.hebbian.modern.attention": ((sph[:2], sph, sph), {}),
        "sim.exponential.random_planes": ((12, 70), {"seed": 0}),
        "sim.exponential.pack": ((pats,), {}),
        "sim.exponential.pattern_spins": ((planes, 3), {}),
        "sim.exponential.run_binary": ((planes, 70, 0.3, 0.0, pats[0]), {"n_sweeps": 5}),
        "sim.exponential.run_softmax": ((sph, 1.0, sph[0]), {"steps": 20}),
        "sim.exponential.retrieval_probability": ((spec, 12, 4), {"n_sweeps": 10}),
        "sim.exponential.threshold": ((pt,), {}),
        "sim.exponential.extrapolated_threshold": (([10, 20, 30], ests), {}),
    }


def _mup1():
    from nnphys.models.parametrization import named
    return named("mup", 1)


def _public_modules():
    for info in pkgutil.walk_packages(nnphys.__path__, "nnphys."):
        rel = info.name.removeprefix("nnphys.")
        if any(part.startswith("_") for part in rel.split(".")):
            continue
        if any(rel == s or rel.startswith(s + ".") for s in SCOPE):
            yield rel


def entry_points() -> dict:
    """qualified name -> callable, for every public entry point in :data:`SCOPE`."""
    out = {}
    for rel in _public_modules():
        module = importlib.import_module(f"nnphys.{rel}")
        for name, obj in vars(module).items():
            if name.startswith("_") or not callable(obj):
                continue
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            if isinstance(obj, type) and issubclass(obj, nnphys.results.Result) and \
                    obj not in (nnphys.results.Result, nnphys.results.PhaseDiagram):
                continue                  # an output record
            out[f"{rel}.{name}"] = obj
    return out


_CACHE = {}


def cases() -> dict:
    """qualified name -> (callable, args, kwargs): the valid calls (built once)."""
    if not _CACHE:
        points = entry_points()
        for key, spec in _valid_calls().items():
            fn = spec[2] if len(spec) > 2 else points.get(key)
            if fn is None:
                continue
            _CACHE[key] = (fn, spec[0], spec[1])
    return _CACHE


# ---------------------------------------------------------------------------------------
# Bad values, by the kind of the valid argument
# ---------------------------------------------------------------------------------------
FLOATS = [math.nan, math.inf, -math.inf, -1.0, 0.0, 1e-300, 1e300, -1e300, "x", None, 1j,
          [1.0]]
INTS = [0, -1, 10 ** 12, -(10 ** 12), 2.5, math.inf, math.nan, "x", None, 1j, 1e300]
STRINGS = ["", "nonsense", 3, None, 1.5]
BOOLS = ["yes", None, 0.5]


def bad_values(value) -> list:
    """Bad values of the kind of ``value`` (an argument of a valid call)."""
    if isinstance(value, bool):
        return BOOLS
    if isinstance(value, (int, np.integer)):
        return INTS
    if isinstance(value, (float, np.floating)) or value is None:
        return FLOATS
    if isinstance(value, str):
        return STRINGS
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) and _numeric(value):
        arr = np.asarray(value, dtype=float)
        out = [_with_one(arr, v) for v in (math.nan, math.inf, -1.0, 0.0, 1e300)]
        out += [np.array([]), np.zeros((0,) + arr.shape[1:]), arr[..., None],
                np.full(arr.shape, "x"), arr + 1j, None, "x"]
        if isinstance(value, tuple) and all(isinstance(v, (int, np.integer)) for v in value):
            out += [tuple([10 ** 12] * len(value)), tuple([0] * len(value)),
                    tuple([1e300] * len(value))]
        return out
    return ["x", None, 1.0]


def _numeric(value) -> bool:
    """A (nested) list/tuple/array of plain numbers."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "iuf"
    return all(_numeric(v) if isinstance(v, (list, tuple, np.ndarray)) else
               isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value)


def _with_one(arr, v):
    out = np.array(arr, dtype=float)
    out.flat[out.size // 2] = v
    return out


def _not_fuzzed(key):
    return sum((v for p, v in NOT_FUZZED.items() if key == p or key.startswith(p + ".")), ())


def perturbable(fn, args, kwargs, key="") -> dict:
    """parameter name -> list of bad values, for every argument that can vary."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return {}
    bound = sig.bind_partial(*args, **kwargs)
    out = {}
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or name in _not_fuzzed(key) or \
                name in ("progress", "on_check"):
            continue
        given = name in bound.arguments
        value = bound.arguments[name] if given else p.default
        if not given and value is inspect.Parameter.empty:
            continue
        out[name] = bad_values(value)
    return out


def place(fn, args, kwargs, name, value):
    bound = inspect.signature(fn).bind_partial(*args, **kwargs)
    bound.arguments[name] = value
    return bound.args, bound.kwargs


# ---------------------------------------------------------------------------------------
# Outcomes
# ---------------------------------------------------------------------------------------
def non_finite(value, path="result", allow_inf=False, skip=()):
    """The first place holding a NaN (or an inf, unless ``allow_inf``) in an answer; the
    dataclass fields in ``skip`` (documented NaN = "does not apply") are not looked at."""
    if isinstance(value, (bool, np.bool_, str, bytes, type(None))):
        return None
    if isinstance(value, (int, np.integer)):
        return None
    if isinstance(value, (float, complex, np.number)):
        bad = np.isnan(value) or (not allow_inf and np.isinf(value))
        return f"{path} = {value!r}" if bad else None
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            bad = np.isnan(value) if allow_inf else ~np.isfinite(value)
            if np.any(bad):
                return f"{path} has {int(np.sum(bad))} non-finite entries"
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name != "parameters" and f.name not in skip:    # the inputs, echoed
                found = non_finite(getattr(value, f.name), f"{path}.{f.name}", allow_inf)
                if found:
                    return found
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            found = non_finite(v, f"{path}[{k!r}]", allow_inf)
            if found:
                return found
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = non_finite(v, f"{path}[{i}]", allow_inf)
            if found:
                return found
    return None


def may_be_infinite(key: str) -> bool:
    return any(key == p or key.startswith(p + ".") for p in MAY_BE_INFINITE)


def names(message: str, name: str) -> bool:
    """The message names the argument (as a word, or its plural: ``widths``; not a quoted
    value such as ``'x'`` in "could not convert string to float: 'x'")."""
    return re.search(rf"(?<![\w.'\"]){re.escape(name)}s?(?![\w'\"])", message) is not None


def _argument_names(key, fn, args, kwargs, changed):
    """Names the message may use for the changed argument: its own name, and for the
    checks (``real("T", value)``) the name they were given."""
    out = [changed]
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs).arguments
    except (TypeError, ValueError):
        return out
    default = inspect.signature(fn).parameters.get("name")
    given = bound.get("name", default.default if default is not None else None)
    if isinstance(given, str) and changed in ("value", "x", "variance",
                                                          "allowed", "amount"):
        out.append(given)
    return out


def _admissible(value) -> bool:
    """A finite real number or a non-empty array of them: a value the method may fail on
    honestly (a NaN, an inf or a wrong type must be refused by name instead)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.number)):
        return bool(np.isfinite(value))
    if isinstance(value, np.ndarray):
        return value.size > 0 and value.dtype.kind in "iuf" and bool(np.all(np.isfinite(value)))
    return False


def classify(key, fn, args, kwargs, changed, value, call) -> tuple[str, str]:
    """Run ``call()`` and return (outcome, detail); see the module docstring."""
    try:
        result = call()
    except (ParameterError, ArgumentTypeError, ValueError, TypeError) as exc:
        if type(exc).__name__ == "_Hang":
            raise
        ok = any(names(str(exc), n) for n in _argument_names(key, fn, args, kwargs, changed))
        return ("refused" if ok else "unnamed"), f"{type(exc).__name__}: {exc}"
    except (ConvergenceError, NumericalError) as exc:
        return ("honest" if _admissible(value) else "other"), f"{type(exc).__name__}: {exc}"
    except Exception as exc:              # noqa: BLE001 -- the property under test
        if type(exc).__name__ == "_Hang":
            raise
        return "other", f"{type(exc).__name__}: {exc}"
    where = non_finite(result, allow_inf=may_be_infinite(key),
                       skip=NAN_MEANS_NOT_APPLICABLE.get(key, ()) + (
                           PHASE_DIAGRAM_NAN if key.endswith("phase_diagram") else ()))
    return ("nonfinite", where) if where else ("finite", "")


def short(value) -> str:
    """A compact repr for a reproducer."""
    if isinstance(value, np.ndarray):
        return repr(value) if value.size <= 6 else f"<array {value.shape} {value.dtype}>"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(short(v) for v in value)
        if isinstance(value, list):
            return f"[{inner}]"
        return f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {short(v)}" for k, v in value.items()) + "}"
    text = repr(value)
    return text if len(text) <= 60 else f"<{type(value).__name__}>"


def all_calls(key):
    """Every (changed argument, bad value) of the case ``key``, in a fixed order."""
    fn, args, kwargs = cases()[key]
    return [(name, v) for name, vals in perturbable(fn, args, kwargs, key).items()
            for v in vals]


def run_one(key, index):
    """Run fuzz call ``index`` of case ``key``; return (outcome, reproducer, detail)."""
    fn, args, kwargs = cases()[key]
    name, value = all_calls(key)[index]
    cargs, ckw = place(fn, args, kwargs, name, value)
    repro = f"{key}(*{short(cargs)}, **{short(ckw)})  [{name} = {short(value)}]"
    # A str value may land on a path argument (a sweep's checkpoint): run in a scratch
    # directory so that no fuzz call writes into the caller's working directory.
    home = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            outcome, detail = classify(key, fn, cargs, ckw, name, value,
                                       lambda: fn(*cargs, **ckw))
        finally:
            os.chdir(home)
    return outcome, repro, detail


