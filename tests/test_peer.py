"""The benchmarks find neural-tangents' interpreter from NNPHYS_PEER_PYTHON, or skip it."""

import importlib.util
import sys

from nnphys.benchmarks import _peer


def test_no_peer_without_the_variable(monkeypatch):
    monkeypatch.delenv(_peer.PEER_ENV, raising=False)
    assert _peer.neural_tangents_times("kernels", []) is None
    monkeypatch.setenv(_peer.PEER_ENV, "/nonexistent/python")
    assert _peer.neural_tangents_times("kernels", []) is None


def test_peer_interpreter_is_the_one_named(monkeypatch):
    # the named interpreter runs the timing script: times, or (without neural-tangents, as
    # in the test environment) its error, reported rather than raised
    monkeypatch.setenv(_peer.PEER_ENV, sys.executable)
    result = _peer.neural_tangents_times("kernels", [], timeout=120)
    if importlib.util.find_spec("neural_tangents") is None:
        assert list(result) == ["error"] and "No module named" in " ".join(result["error"])
    else:
        assert result == {}                       # no cases asked, none timed
