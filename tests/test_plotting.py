"""Records' .plot() (one path, nnphys.plotting), _repr_html_ and .to_xarray()."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nnphys import plotting, sweep  # noqa: E402
from nnphys.errors import ArgumentTypeError  # noqa: E402
from nnphys.results import PhaseDiagram  # noqa: E402
from nnphys.stats import Estimate  # noqa: E402
from nnphys.theory.dmft import learning, rnn  # noqa: E402


def _diagram():
    alpha, T = np.linspace(0.0, 0.2, 4), np.linspace(0.1, 1.0, 3)
    m = np.outer(1 - alpha, 1 - T)
    return PhaseDiagram(parameters={"P": 2}, axes={"alpha": alpha, "T": T},
                        fields={"m": m, "pair": np.stack([m, -m], axis=-1)},
                        phase=(m > 0.5).astype(int), labels={0: "para", 1: "retrieval"},
                        boundaries={"edge": np.array([[0.1, 0.5], [0.2, 0.4]])},
                        status=np.array([[0, 0, 1]] * 4))


def test_phase_diagram_plot_draws_phases_and_boundaries():
    pd = _diagram()
    ax = pd.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_xlabel() == "alpha" and ax.get_ylabel() == "T"
    mesh = ax.collections[0].get_array()
    assert mesh.mask.sum() == 4                     # the failed column is left blank
    assert np.array_equal(ax.lines[0].get_xdata(), [0.2, 0.1])    # sorted along T
    plt.close(ax.figure)
    with pytest.raises(ArgumentTypeError, match="pd"):
        plotting.phase_diagram("not a diagram")


def test_curve_records_plot_on_given_axes():
    fig, ax = plt.subplots()
    curves = learning.loss(np.array([0.0, 1.0, 10.0]), N=100, P=200, M=200)
    assert curves.plot(ax) is ax and len(ax.lines) == 2
    assert ax.get_xscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), curves.test[1:])
    st = rnn.stationary(2.0, lags=np.linspace(0, 5, 6))
    ax2 = st.plot()
    np.testing.assert_array_equal(ax2.lines[0].get_ydata(), st.delta)
    est = Estimate(mean=np.array([1.0, 2.0]), stderr=np.array([0.1, 0.2]))
    ax3 = plotting.curves([1, 2], {"sim": est, "theory": [1.0, 2.1]})
    assert len(ax3.containers) == 1 and ax3.get_legend() is not None
    plt.close("all")


def test_repr_html_lists_fields_and_parameters():
    text = _diagram()._repr_html_()
    assert "<table>" in text and "PhaseDiagram" in text
    assert "array (4, 3) float64" in text and "parameters[&#x27;P&#x27;]" in text
    assert "<script" not in Estimate(mean=1.0, parameters={"x": "<script>"})._repr_html_()


def test_to_xarray_names_axes_fields_and_attributes():
    xarray = pytest.importorskip("xarray")
    pd = _diagram()
    ds = pd.to_xarray()
    assert isinstance(ds, xarray.Dataset)
    assert ds["m"].dims == ("alpha", "T") and ds["pair"].dims == ("alpha", "T", "pair_dim0")
    np.testing.assert_array_equal(ds["alpha"], pd.axes["alpha"])
    np.testing.assert_array_equal(ds["status"], pd.status)
    assert ds.attrs["P"] == 2 and "retrieval" in ds.attrs["labels"]
    from nnphys import __version__
    assert ds.attrs["nnphys_version"] == __version__
    res = sweep.run(lambda a, b, seed: {"s": a + b, "v": [a, b]},
                    {"a": [1.0, 2.0], "b": [0.0, 1.0, 3.0]}, seed=4, progress=False)
    ds = res.to_xarray()
    assert ds["s"].dims == ("a", "b") and ds["v"].shape == (2, 3, 2)
    assert float(ds["s"].sel(a=2.0, b=3.0)) == 5.0
    assert ds.attrs["seed"] == 4 and ds.attrs["n_failed"] == 0
