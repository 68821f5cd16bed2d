"""registry.run: per-check seeds, worker processes and Dask give the same numbers; the
`nnphys validate` flags, the progress bar and the rows flushed as each check ends."""

import subprocess
import sys

import numpy as np
import pytest

from nnphys import cli, validation
from nnphys.validation import registry

CHEAP = ["hebbian.multitask_amplitudes", "hebbian.dense_equilibrium"]   # seconds, quick


def _fake_checks(monkeypatch, seen):
    """Two checks reporting the seed and size factor they ran with."""
    def make(name):
        def check(quick, seed):
            seen[name] = seed
            return validation.compare(name, "seed", 0.0, float(seed % 1000),
                                      bias=float(registry.size_factor()) + 1e3)
        return check
    fake = {"fake.a": make("fake.a"), "fake.b": make("fake.b")}
    monkeypatch.setattr(registry, "checks", lambda: dict(fake))
    return fake


def test_check_seed_depends_on_the_run_seed_and_the_name_only():
    a = registry.check_seed(3, "kernels.ntk_vs_ensemble")
    assert a == registry.check_seed(3, "kernels.ntk_vs_ensemble")
    assert a != registry.check_seed(4, "kernels.ntk_vs_ensemble")
    assert a != registry.check_seed(3, "kernels.nngp_vs_ensemble")
    assert 0 <= a < 2 ** 32
    with pytest.raises(ValueError, match="seed"):
        registry.check_seed(-1, "a.b")


def test_each_check_gets_its_own_seed_whatever_else_runs(monkeypatch):
    seen = {}
    _fake_checks(monkeypatch, seen)
    both = validation.run(["fake"], seed=5)
    alone = dict(seen)
    seen.clear()
    only_b = validation.run(["fake.b"], seed=5)
    assert seen["fake.b"] == alone["fake.b"] == registry.check_seed(5, "fake.b")
    assert only_b == both[1:]
    assert alone["fake.a"] != alone["fake.b"]


def test_size_tier_reaches_the_checks_and_is_reset(monkeypatch):
    _fake_checks(monkeypatch, {})
    large = validation.run(["fake.a"], size="large")
    assert large[0].bias == registry.SIZES["large"] + 1e3
    assert registry.size_factor() == 1 and registry.scaled(7) == 7
    with pytest.raises(ValueError, match="size"):
        validation.run(["fake.a"], size="huge")
    with pytest.raises(ValueError, match="workers"):
        validation.run(["fake.a"], workers=0)


def test_dask_gives_the_serial_numbers(monkeypatch):
    distributed = pytest.importorskip("distributed")
    _fake_checks(monkeypatch, {})
    serial = validation.run(["fake"], seed=2)
    # threads in this process: the monkeypatched registry is the one the workers see
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            assert validation.run(["fake"], seed=2, scheduler=client) == serial


@pytest.mark.slow
def test_worker_processes_give_the_serial_numbers():
    """Two real stochastic checks (spawned workers import the registry themselves)."""
    serial = validation.run(CHEAP, quick=True, seed=1)
    parallel = validation.run(CHEAP, quick=True, seed=1, workers=2)
    assert parallel == serial and all(np.isfinite(c.simulation) for c in serial)


def test_cli_flags_progress_and_flushed_rows(monkeypatch, capsys):
    _fake_checks(monkeypatch, {})
    assert cli.main(["validate", "fake", "--workers", "1", "--seed", "3",
                     "--size", "large"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("PASS") == 2 and "2 passed, 0 failed" in captured.out
    assert "(fake.a:" in captured.out and "pass=2" in captured.err    # the bar, on stderr
    assert cli.main(["validate", "fake", "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err
    assert cli.main(["validate", "fake.a", "--no-progress"]) == 0
    assert "pass=" not in capsys.readouterr().err


def test_rows_reach_a_pipe_as_each_check_ends():
    """stdout a pipe (not a terminal): the first check's rows arrive before the run ends."""
    proc = subprocess.Popen([sys.executable, "-m", "nnphys", "validate", "--quick",
                             "--workers", "1", "--no-progress", CHEAP[0], CHEAP[1]],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if f"({CHEAP[0]}:" in line:
            still_running = proc.poll() is None
            break
    proc.communicate(timeout=600)
    assert still_running and proc.returncode == 0


def test_version_and_kernel_shape(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    from nnphys import __version__
    assert capsys.readouterr().out.strip() == f"nnphys {__version__}"
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    assert cli.main(["kernel", "Dense(4), Relu(), Dense(1)", "--x1", str(tmp_path / "x.npy"),
                     "--out", str(tmp_path / "k")]) == 0
    out = capsys.readouterr().out.split("\n")
    assert out[0] == f"nngp 3 x 3 -> {tmp_path / 'k.nngp.npy'}"
    assert out[1] == f"ntk 3 x 3 -> {tmp_path / 'k.ntk.npy'}"


def test_a_check_that_raises_is_a_failed_row_and_the_run_goes_on(monkeypatch, capsys,
                                                                   tmp_path):
    fake = _fake_checks(monkeypatch, {})

    def broken(quick, seed):
        raise ValueError("n_sweeps: asks for too much")
    fake["fake.broken"] = broken
    monkeypatch.setattr(registry, "checks", lambda: dict(fake))
    rows = validation.run(["fake"], seed=1)
    assert [r.name for r in rows] == ["fake.a", "fake.b", "fake.broken"]
    assert rows[0].passed and rows[1].passed and not rows[2].passed
    assert rows[2].error.startswith("ValueError: n_sweeps: asks for too much (at ")
    assert cli.main(["validate", "fake", "--no-progress", "--workers", "1",
                     "--report", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    assert "ValueError: n_sweeps: asks for too much" in out and "2 passed, 1 failed" in out
    html = (tmp_path / "r" / "index.html").read_text()
    assert "n_sweeps: asks for too much" in html
