"""Records of every Result subclass of nnphys, for the save/load round-trip tests.

``FACTORIES`` maps a record class name (``module.Qualname``) to a function building one
from a real, cheap call; the classes not listed are built from their defaults (every
field has one), which still exercises their field types and ``__post_init__``.
"""

import numpy as np


def _depth_limit():
    from nnphys.theory import kernels as nk
    from nnphys.theory.kernels import infinite_depth
    return infinite_depth.limit_classifier(nk.Relu())     # holds the layer: issue 12


def _empirical_kernels():
    from nnphys.sim import networks
    from nnphys.theory import kernels as nk
    x = np.random.default_rng(0).standard_normal((3, 2))
    return networks.empirical_kernels(nk.serial(nk.Dense(8), nk.Erf(), nk.Dense(1)), x,
                                      n_replicas=4, seed=1)  # nests two stats.Estimate


def _ntk_ensemble():
    from nnphys.sim import ntk_ensemble
    return ntk_ensemble.relu_ntk_ensemble((4, 4), np.ones(3) / np.sqrt(3), 8, seed=2)


def _ntk_statistics():
    from nnphys.sim import ntk_ensemble
    return ntk_ensemble.ratio_statistics(np.random.default_rng(3).random(50) + 0.5)


def _symbolic_recursion():
    from nnphys.theory import finite_width
    return finite_width.symbolic_recursion([0, 1, 0, 1], 3, 1, 0)   # sympy expressions


def _power_law_fit():
    from nnphys import stats
    x = np.arange(1.0, 9.0)
    return stats.fit_power_law(x, 2.0 * x ** -0.7, stderr=0.01 * np.ones(8))


def _kernel():
    from nnphys.theory import kernels as nk
    x = np.random.default_rng(4).standard_normal((3, 5, 2))
    return nk.from_spec("Conv(4, (2,), padding='SAME'), Relu()").kernel(x)


def _universality():
    from nnphys.theory import criticality
    from nnphys.theory import kernels as nk
    return criticality.universality_class(nk.Erf())


def _signal_propagation():
    from nnphys.theory import criticality
    from nnphys.theory import kernels as nk
    return criticality.signal_propagation(nk.Erf(), 1.2, 0.1)


def _sweep_result():
    from nnphys import sweep
    from nnphys.tests.sweep_points import fails_at_half
    return sweep.run(fails_at_half, {"alpha": [0.1, 0.5], "T": [0.0, 1.0]}, seed=5,
                     progress=False)


def _comparison():
    from nnphys.stats import Estimate
    from nnphys.validation import compare
    return compare("family.check", "m", 0.5, Estimate(0.51, 0.01, 100, 1.0), sigmas=4.0)


def _estimate():
    from nnphys import stats
    return stats.sample_mean(np.random.default_rng(5).standard_normal((20, 3)))


def _phase_diagram():
    from nnphys import PhaseDiagram
    return PhaseDiagram(axes={"a": np.arange(2.0), "b": np.arange(3.0)},
                        fields={"m": np.ones((2, 3))}, phase=np.zeros((2, 3), dtype=int),
                        labels={0: "one"}, boundaries={"x": np.zeros((0, 2))})


def _hebbian():
    from nnphys.theory.hebbian import dense, hopfield, learning, multitask
    return {
        "nnphys.theory.hebbian.hopfield.CriticalCapacity": lambda: hopfield.critical_capacity(0.0),
        "nnphys.theory.hebbian.hopfield.HopfieldState": lambda: hopfield.solve(0.05, 0.1),
        "nnphys.theory.hebbian.learning.CriticalEntropy": lambda: learning.critical_entropy(0.1, 3),
        "nnphys.theory.hebbian.learning.HammingLoss": lambda: learning.loss(0.5),
        "nnphys.theory.hebbian.multitask.HierarchyThreshold":
            lambda: multitask.hierarchy_threshold(2),
        "nnphys.theory.hebbian.multitask.MultitaskState": lambda: multitask.solve(0.2, 0.1, 2),
        "nnphys.theory.hebbian.dense.GammaC": lambda: dense.gamma_c(3),
        "nnphys.theory.hebbian.dense.DenseState": lambda: dense.solve(0.01, 0.1, 3),
    }


def _others():
    from nnphys import stats
    from nnphys.theory import criticality
    from nnphys.theory import kernels as nk
    from nnphys.theory.scaling import mrs, plrf
    design = np.column_stack([np.ones(5), np.arange(5.0)])
    return {
        "nnphys.theory.scaling.plrf.Exponents": lambda: plrf.exponents(1.5, 0.8),
        "nnphys.theory.scaling.mrs.Exponents": lambda: mrs.scaling_exponents(1.5),
        "nnphys.theory.criticality.FixedPoint": lambda: criticality.fixed_point_q(
            nk.Erf(), 1.2, 0.1),
        "nnphys.theory.criticality.CriticalLine": lambda: criticality.critical_line(
            nk.Erf(), np.array([0.1, 0.2])),
        "nnphys.theory.kernels.predict.GradientDescentPrediction": lambda: (
            nk.gradient_descent("cross_entropy", np.eye(3) + 0.1, np.array([0, 1, 1]), 0.5,
                                0.5, t=[1.0, 2.0], ntk_test_train=np.full((2, 3), 0.2))),
        "nnphys.stats.LinearFit": lambda: stats.weighted_least_squares(
            design, 2 * np.arange(5.0) + np.array([0.1, -0.1, 0, 0.1, -0.1])),
    }


FACTORIES = {
    "nnphys.theory.kernels.infinite_depth.DepthLimit": _depth_limit,
    "nnphys.sim.networks.EmpiricalKernels": _empirical_kernels,
    "nnphys.sim.ntk_ensemble.NTKEnsemble": _ntk_ensemble,
    "nnphys.sim.ntk_ensemble.NTKStatistics": _ntk_statistics,
    "nnphys.theory.finite_width.SymbolicRecursion": _symbolic_recursion,
    "nnphys.stats.PowerLawFit": _power_law_fit,
    "nnphys.theory.kernels.kernel.Kernel": _kernel,
    "nnphys.theory.criticality.Universality": _universality,
    "nnphys.theory.criticality.SignalPropagation": _signal_propagation,
    "nnphys.sweep.SweepResult": _sweep_result,
    "nnphys.validation.registry.Comparison": _comparison,
    "nnphys.stats.Estimate": _estimate,
    "nnphys.results.PhaseDiagram": _phase_diagram,
}


def _simulations():
    from nnphys.sim import montecarlo, preactivations, rnn, shallow
    from nnphys.theory import kernels as nk

    def trajectory():
        return rnn.simulate(1.5, 5.0, N=20, n_replicas=2, transient=1.0, seed=0)

    patterns = np.sign(np.random.default_rng(0).standard_normal((2, 30)))
    return {
        "nnphys.sim.rnn.Trajectory": trajectory,
        "nnphys.sim.rnn.Autocorrelation": lambda: rnn.autocorrelation(trajectory(), 0.5),
        "nnphys.sim.rnn.EqualTimeVariance": lambda: rnn.equal_time_variance(trajectory()),
        "nnphys.sim.montecarlo.MonteCarloRun": lambda: montecarlo.run(
            montecarlo.hopfield(patterns), 0.2, 5, seed=0),
        "nnphys.sim.shallow.ShallowSample": lambda: shallow.sample_outputs(nk.Erf(), 8, 20),
        "nnphys.sim.preactivations.FullEnsemble": lambda: preactivations.full_ensemble(
            nk.Relu(), np.ones((2, 3)), 2, 8, 5, 1.4, 0.1),
    }


def factories() -> dict:
    """``FACTORIES`` and the one-line ones (built lazily: their modules import on call)."""
    return {**FACTORIES, **_hebbian(), **_others(), **_simulations()}


def all_record_classes() -> dict:
    """Every Result subclass defined in nnphys (imports every module of the package)."""
    import importlib
    import pkgutil

    import nnphys
    from nnphys.results import _REGISTRY
    for module in pkgutil.walk_packages(nnphys.__path__, "nnphys."):
        if not any(part in module.name for part in (".tests", ".benchmarks", "__main__",
                                                     "nnphys.setup")):
            importlib.import_module(module.name)
    return {name: cls for name, cls in _REGISTRY.items()
            if name.startswith("nnphys.") and ".tests." not in name}


def same(a, b, where="record"):
    """Assert ``a`` (the original) and ``b`` (its copy) are equal field by field (NaN
    equal to NaN, arrays exactly and of one dtype, tuples stay tuples, layers by their spec
    strings, a numpy scalar equal to the Python number it is saved as)."""
    import dataclasses

    from nnphys import Result
    from nnphys.models import network
    if isinstance(a, np.generic):
        a = a.item()                    # numpy scalars come back as Python numbers
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, Result):
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} != {b.dtype}"
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, network.Layer):
        assert network.spec_string(a) == network.spec_string(b), where
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
