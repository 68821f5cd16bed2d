"""`nnphys phase-diagram`: the models of the registry (every one through the CLI, serially
and on workers or with a clear refusal), one grid syntax, saved PhaseDiagram equal to the
API's, plots, one-line errors with exit status 2."""

import numpy as np
import pytest

from nnphys import cli
from nnphys.results import load, phase_diagrams
from nnphys.theory.hebbian import hopfield, multitask


def test_hopfield_phase_diagram_matches_api(tmp_path, capsys):
    out = tmp_path / "hd.npz"
    assert cli.main(["phase-diagram", "hopfield", "--alpha", "0:0.16:9", "--T", "0:1.1:7",
                     "--out", str(out), "--plot", str(tmp_path / "hd.png")]) == 0
    pd = load(out)
    ref = hopfield.phase_diagram(np.linspace(0, 0.16, 9), np.linspace(0, 1.1, 7))
    np.testing.assert_array_equal(pd.phase, ref.phase)
    np.testing.assert_array_equal(pd.fields["m"], ref.fields["m"])
    assert (tmp_path / "hd.png").stat().st_size > 0
    assert str(out) in capsys.readouterr().out


def test_parallel_columns_equal_serial(tmp_path):
    serial, parallel = tmp_path / "s.npz", tmp_path / "p.npz"
    argv = ["phase-diagram", "multitask", "--d", "0.1:0.9:4", "--T=0:1:3", "--param", "K=2"]
    assert cli.main(argv + ["--out", str(serial)]) == 0
    assert cli.main(argv + ["--out", str(parallel), "--workers", "2"]) == 0
    a, b = load(serial), load(parallel)
    np.testing.assert_array_equal(a.phase, b.phase)
    np.testing.assert_allclose(a.fields["m"], b.fields["m"], atol=0)
    np.testing.assert_allclose(np.unique(a.boundaries["T_c"], axis=0), b.boundaries["T_c"])
    ref = multitask.phase_diagram(np.linspace(0.1, 0.9, 4), np.linspace(0, 1, 3), K=2)
    np.testing.assert_array_equal(a.phase, ref.phase)


def test_model_parameters_are_passed(tmp_path):
    out = tmp_path / "d.npz"
    assert cli.main(["phase-diagram", "dense", "--alpha", "0.02:0.2:4", "--T", "0:0.3:3",
                     "--param", "P=4", "--param", "convention=all-index",
                     "--out", str(out)]) == 0
    pd = load(out)
    assert pd.parameters["P"] == 4 and pd.parameters["convention"] == "all-index"


@pytest.mark.parametrize("argv,match", [
    (["nope", "--alpha", "0:1:2", "--T", "0:1:2"], "model"),
    (["hopfield", "--alpha", "0:1", "--T", "0:1:2"], "START:STOP:NUM"),
    (["hopfield", "--alpha", "0:0.1:3"], "missing axis --T"),
    (["hopfield", "--alpha", "0:0.1:3", "--T", "0:1:2", "--d", "0:1:2"], "axes"),
    (["hopfield", "--alpha", "-1:0.1:3", "--T", "0:1:2"], "alpha"),
    (["dense", "--alpha", "0:0.1:3", "--T", "0:1:2", "--param", "P=1"], "P"),
    (["dense", "--alpha", "0:0.1:3", "--T", "0:1:2", "--param", "P"], "KEY=VALUE"),
])
def test_errors_one_line_exit_2(tmp_path, capsys, argv, match):
    assert cli.main(["phase-diagram", *argv, "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nnphys: error:") and match in err and "\n" not in err
    assert not (tmp_path / "x.npz").exists()


def test_unknown_options_still_rejected_elsewhere():
    with pytest.raises(SystemExit):
        cli.main(["validate", "--bogus"])


def test_dask_scheduler_equals_serial(tmp_path):
    """--scheduler tcp://... on a LocalCluster started here gives the serial diagram."""
    distributed = pytest.importorskip("distributed")
    argv = ["phase-diagram", "edge-of-chaos", "--W_std", "0.7:1.7:6", "--b_std", "0:0.5:3",
            "--param", "activation=Erf()"]
    assert cli.main(argv + ["--out", str(tmp_path / "s.npz")]) == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert cli.main(argv + ["--out", str(tmp_path / "d.npz"),
                                "--scheduler", cluster.scheduler_address]) == 0
    a, b = load(tmp_path / "s.npz"), load(tmp_path / "d.npz")
    np.testing.assert_array_equal(a.phase, b.phase)
    np.testing.assert_allclose(a.fields["xi_c"], b.fields["xi_c"], rtol=1e-13)


# A small grid (and parameters) per registered model; a new model must add its row.
GRIDS = {
    "hopfield": ("0:0.16:3", "0:1.1:3", []),
    "dense": ("0.02:0.2:3", "0:0.3:2", ["P=3"]),
    "multitask": ("0.1:0.9:3", "0:1:2", ["K=2"]),
    "learning": ("0.2:0.8:2", "5,50", []),
    "plrf": ("0.3:1.5:3", "0.3:1.5:3", []),
    "edge-of-chaos": ("0.5:3:3", "0:0.3:2", ["activation=Erf()"]),
    "exponential": ("0:0.6:4", "0:2:3", ["lam=0.5"]),
}


def _argv(name, out, *extra):
    model = phase_diagrams()[name]
    first, second, params = GRIDS[name]
    argv = ["phase-diagram", name, f"--{model.axes[0]}", first, f"--{model.axes[1]}", second]
    for p in params:
        argv += ["--param", p]
    return argv + ["--out", str(out), *extra]


def test_cli_lists_the_registry(capsys):
    models = phase_diagrams()
    assert set(models) == set(GRIDS) and "plrf" in models
    assert cli.main(["phase-diagram", "--list"]) == 0
    listed = {line.split()[0]: line.split()[1:3] for line in capsys.readouterr().out.splitlines()}
    assert listed == {n: [f"--{a}" for a in m.axes] for n, m in models.items()}


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_every_model_through_the_cli_equals_the_api(tmp_path, name):
    assert cli.main(_argv(name, tmp_path / "pd.npz")) == 0
    model = phase_diagrams()[name]
    first, second, params = GRIDS[name]
    ref = model(cli.parse_grid("first", first), cli.parse_grid("second", second),
                **dict(cli._parse_param(p) for p in params))
    pd = load(tmp_path / "pd.npz")
    np.testing.assert_array_equal(pd.phase, ref.phase)
    np.testing.assert_array_equal(pd.status, ref.status)
    assert pd.status.shape == pd.phase.shape
    for key, value in ref.fields.items():
        np.testing.assert_array_equal(pd.fields[key], value)


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_workers_for_every_model_or_a_clear_refusal(tmp_path, capsys, name):
    serial, parallel = tmp_path / "s.npz", tmp_path / "p.npz"
    assert cli.main(_argv(name, serial)) == 0
    code = cli.main(_argv(name, parallel, "--workers", "2"))
    model = phase_diagrams()[name]
    if model.serial_only:
        err = capsys.readouterr().err
        assert code == 2 and "cannot be split into columns" in err and model.serial_only in err
        assert not parallel.exists()
        return
    assert code == 0
    a, b = load(serial), load(parallel)
    assert a.axes.keys() == b.axes.keys()
    np.testing.assert_array_equal(a.phase, b.phase)
    np.testing.assert_array_equal(a.status, b.status)
    for key in a.fields:
        np.testing.assert_array_equal(a.fields[key], b.fields[key])
    assert a.boundaries.keys() == b.boundaries.keys()
    for key, pts in a.boundaries.items():
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        np.testing.assert_array_equal(np.unique(pts, axis=0), b.boundaries[key])


@pytest.mark.parametrize("text,expected", [
    ("0:1:3", [0, 0.5, 1]), ("log:0.01:1:3", [0.01, 0.1, 1]), ("0.5,2", [0.5, 2]),
    ("7", [7]), ("1:0:2", [1, 0])])
def test_one_grid_syntax(text, expected):
    np.testing.assert_allclose(cli.parse_grid("--x", text), expected, rtol=1e-15)


@pytest.mark.parametrize("text", ["0:1", "0:1:0", "log:0:1:3", "a,b", "0:1:2:3", "nan:1:3",
                                  "1,inf", ""])
def test_bad_grids_are_refused(text):
    with pytest.raises(cli._CliError, match="--x: "):
        cli.parse_grid("--x", text)


def test_same_grid_syntax_in_both_subcommands(tmp_path):
    out = tmp_path / "pd.npz"
    assert cli.main(["phase-diagram", "multitask", "--d", "0.2,0.4", "--T", "log:0.1:1:3",
                     "--out", str(out)]) == 0
    np.testing.assert_allclose(load(out).axes["T"], [0.1, 10 ** -0.5, 1])
    assert cli.main(["sweep", "nnphys.tests.sweep_points:noisy_energy", "--grid",
                     "alpha=log:0.1:1:3", "--grid", "T=0:1:2", "--out", str(out)]) == 0
    np.testing.assert_allclose(load(out).axes["alpha"], [0.1, 10 ** -0.5, 1])


@pytest.mark.parametrize("extra,match", [
    (["--workers", "0"], "--workers: must be >= 1"),
    (["--workers", "2", "--backend", "serial"], "--workers: needs --backend processes"),
    (["--workers", "2", "--scheduler", "tcp://localhost:1"], "not both")])
def test_sweep_worker_options_are_consistent(tmp_path, capsys, extra, match):
    argv = ["sweep", "nnphys.tests.sweep_points:noisy_energy", "--grid", "alpha=0:1:2",
            "--grid", "T=0,1", "--out", str(tmp_path / "r.npz")]
    assert cli.main(argv + extra) == 2
    assert match in capsys.readouterr().err


def test_sweep_workers_means_processes(tmp_path):
    argv = ["sweep", "nnphys.tests.sweep_points:noisy_energy", "--grid", "alpha=0:1:2",
            "--grid", "T=0,1", "--seed", "2"]
    assert cli.main(argv + ["--out", str(tmp_path / "s.npz")]) == 0
    assert cli.main(argv + ["--out", str(tmp_path / "p.npz"), "--workers", "2"]) == 0
    np.testing.assert_array_equal(load(tmp_path / "s.npz").fields["energy"],
                                  load(tmp_path / "p.npz").fields["energy"])


def test_a_point_that_does_not_converge_is_counted_not_fatal(tmp_path, capsys):
    """Issue 12: (d, T) = (0, 1) of the multitask diagram does not converge (critical
    slowing down). The CLI saves the rest of the grid, prints the count, exits 0, serially
    and on workers alike, and shows no warning or traceback."""
    argv = ["phase-diagram", "multitask", "--d", "0,0.45", "--T", "0.5,1"]
    serial, parallel = tmp_path / "s.npz", tmp_path / "p.npz"
    assert cli.main(argv + ["--out", str(serial), "--plot", str(tmp_path / "s.png")]) == 0
    assert cli.main(argv + ["--out", str(parallel), "--workers", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("1 of 4 grid points did not converge") == 2
    assert "Warning" not in captured.err and "Traceback" not in captured.err
    a, b = load(serial), load(parallel)
    for pd in (a, b):
        assert pd.n_failed == 1 and pd.status[0, 1] == 1 and pd.phase[0, 1] == -1
        assert pd.converged is False and np.all(np.isnan(pd.fields["m"][0, 1]))
    np.testing.assert_array_equal(a.phase, b.phase)
    np.testing.assert_array_equal(a.fields["m"], b.fields["m"])
    ref = multitask._best(0.45, 1.0, 2)
    np.testing.assert_array_equal(a.fields["m"][1, 1], np.sort(np.abs(ref.m))[::-1])
    assert (tmp_path / "s.png").stat().st_size > 0


def test_every_point_failing_exits_1(tmp_path, monkeypatch, capsys):
    """Documented in cli: exit status 1 when no point of the grid converged (a failure
    injected into every point: the exit code, not the physics)."""
    from nnphys.errors import ConvergenceError

    def never(d, T, K):
        raise ConvergenceError("injected")
    monkeypatch.setattr(multitask, "_best", never)
    out = tmp_path / "pd.npz"
    assert cli.main(["phase-diagram", "multitask", "--d", "0.2,0.4", "--T", "0.5",
                     "--out", str(out)]) == 1
    assert "2 of 2 grid points did not converge" in capsys.readouterr().out
    assert load(out).n_failed == 2
