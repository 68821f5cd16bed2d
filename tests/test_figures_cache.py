"""The figure cache is keyed by (figure name, parameters, nnphys version)."""

import dataclasses

import matplotlib
import numpy as np
import pytest

import nnphys
from nnphys.figures import registry

matplotlib.use("Agg")


@pytest.fixture
def fake(monkeypatch):
    """A registered figure that counts its computations."""
    import matplotlib.pyplot as plt
    calls = []

    def compute(quick):
        calls.append(quick)
        return {"x": np.arange(3.0) + len(calls)}

    def plot(data):
        fig, ax = plt.subplots()
        ax.plot(data["x"])
        return fig

    figure = registry.Figure("fake-figure", compute, plot, parameters={"n": 10})
    monkeypatch.setattr(registry, "figures", lambda: {figure.name: figure})
    return figure, calls


def test_key_depends_on_name_parameters_and_version(monkeypatch):
    key = registry.cache_key("a", {"quick": True, "n": 1})
    assert key == registry.cache_key("a", {"n": 1, "quick": True})     # order-free
    assert len({key, registry.cache_key("b", {"quick": True, "n": 1}),
                registry.cache_key("a", {"quick": False, "n": 1}),
                registry.cache_key("a", {"quick": True, "n": 2})}) == 4
    monkeypatch.setattr(nnphys, "__version__", nnphys.__version__ + ".post1")
    assert registry.cache_key("a", {"quick": True, "n": 1}) != key


def test_same_key_reuses_the_data(fake, tmp_path):
    figure, calls = fake
    first = registry.make(figure.name, str(tmp_path), quick=True)
    registry.make(figure.name, str(tmp_path), quick=True)
    assert calls == [True]
    with np.load(first[0]) as stored:
        assert str(stored["__cache_key__"]) == registry.cache_key(
            figure.name, {"n": 10, "quick": True})
    registry.make(figure.name, str(tmp_path), quick=True, recompute=True)
    assert calls == [True, True]


def test_new_version_recomputes(fake, tmp_path, monkeypatch):
    figure, calls = fake
    registry.make(figure.name, str(tmp_path), quick=True)
    monkeypatch.setattr(nnphys, "__version__", nnphys.__version__ + ".post1")
    registry.make(figure.name, str(tmp_path), quick=True)
    assert calls == [True, True]


def test_changed_parameters_recompute(fake, tmp_path, monkeypatch):
    figure, calls = fake
    registry.make(figure.name, str(tmp_path), quick=False)
    changed = dataclasses.replace(figure, parameters={"n": 11})
    monkeypatch.setattr(registry, "figures", lambda: {figure.name: changed})
    paths = registry.make(figure.name, str(tmp_path), quick=False)
    assert calls == [False, False]
    with np.load(paths[0]) as stored:                  # the new data replaced the old
        np.testing.assert_array_equal(stored["x"], np.arange(3.0) + 2)


def test_file_without_key_is_not_trusted(fake, tmp_path):
    figure, calls = fake
    np.savez(tmp_path / "fake-figure-quick.npz", x=np.zeros(3))   # e.g. an older release
    registry.make(figure.name, str(tmp_path), quick=True)
    assert calls == [True]
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".npz"] == ["fake-figure-quick.npz"]


def test_unreadable_cache_is_recomputed_with_a_warning(fake, tmp_path):
    figure, calls = fake
    first = registry.make(figure.name, str(tmp_path), quick=True)
    data = open(first[0], "rb").read()
    with open(first[0], "wb") as fh:
        fh.write(data[:len(data) // 2])                       # a torn copy
    with pytest.warns(RuntimeWarning, match="fake-figure-quick.npz is unreadable"):
        registry.make(figure.name, str(tmp_path), quick=True)
    assert calls == [True, True]
    registry.make(figure.name, str(tmp_path), quick=True)     # rewritten: read back
    assert calls == [True, True]
    assert not [p for p in tmp_path.iterdir() if "nnphys-tmp" in p.name]
