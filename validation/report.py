"""The validation report that ``nnphys validate --report DIR`` writes.

:func:`write` turns the checks of one run (a :class:`CheckRun` per check: its registered
name, its :class:`~nnphys.validation.Comparison` records, its time) into

* ``DIR/index.html``: one self-contained page (inline style, no script, no network
  resource: it opens offline) with

  - the summary: comparisons passed and failed per family, the time of each family and of
    the run, the package version, the seed and the machine (``metadata``);
  - one section per check: its docstring (the family module's docstring, where the
    tolerances are derived, one click away), a plot of theory against simulation and its
    table. The plot's upper panel shows the theory (line or dash) with its tolerance band
    ``theory +- (sigmas stderr + bias)`` (shaded) and the simulation with one-standard-error
    bars, against the swept quantity ``x`` where the check sweeps one (one curve per
    ``series``) and row by row otherwise; the lower panel the deviation in units of the
    tolerance, ``(simulation - theory) / tolerance``, whose band ``[-1, 1]`` is "passed";
  - the whole run: the histogram of the pulls ``(simulation - theory) / stderr`` of every
    stochastic comparison (``stderr > 0``) against the standard normal density, with their
    number, mean and standard deviation. Were every estimate unbiased with a correct
    standard error, the pulls would follow N(0, 1): a histogram much narrower than N(0, 1)
    says the standard errors are too large (loose tolerances), a shifted or wider one a
    bias -- which may be the stated ``bias`` allowance of the comparisons (1/n, truncation),
    so a wide histogram is a prompt to read the checks, not a failure by itself;
* ``DIR/images/*.png``: the plots the page shows;
* ``DIR/report.json``: the same content for machines (``metadata``, ``summary``,
  ``checks`` with their rows, ``pulls``; a NaN is written as ``null``).

Every file is written atomically (:func:`nnphys.results.write_atomically`); writing a
report again into the same directory replaces its files.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import importlib
import inspect
import json
import math
import os
import platform
import re
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ArgumentTypeError, ParameterError
from ..results import write_atomically
from .registry import Comparison

__all__ = ["CheckRun", "write", "pull_statistics", "machine"]

IMAGES = "images"
_PULL_RANGE = 6.0        # pulls beyond +-6 are counted in the histogram's end bins
_COLUMNS = ("name", "quantity", "x_name", "x", "series", "theory", "simulation", "stderr",
            "tolerance", "sigmas", "bias", "passed", "error")


@dataclasses.dataclass(frozen=True)
class CheckRun:
    """One check of a run: its registered name (``family.check``), the comparisons it
    returned and the seconds it took."""

    name: str
    comparisons: Sequence[Comparison]
    seconds: float = math.nan

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.comparisons)


def machine() -> dict[str, Any]:
    """The machine a run ran on: host, platform, processor, cores, Python and the versions
    of numpy and numba."""
    import numba
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {"host": platform.node(), "platform": platform.platform(), "processor": cpu,
            "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__}


def _summarise(pulls: np.ndarray) -> dict[str, Any]:
    n = int(pulls.size)
    std = float(np.std(pulls, ddof=1)) if n > 1 else math.nan
    return {"n": n, "mean": float(pulls.mean()) if n else math.nan, "std": std,
            "mean_stderr": std / math.sqrt(n) if n > 1 else math.nan,
            "beyond_2": float(np.mean(np.abs(pulls) > 2)) if n else math.nan}


def pull_statistics(comparisons: Sequence[Comparison]) -> dict[str, Any]:
    """The pulls ``(simulation - theory) / stderr`` of the stochastic comparisons
    (``stderr > 0``, finite values) and their ``n``, ``mean``, ``std`` (sample standard
    deviation, ``ddof=1``), ``mean_stderr`` (``std / sqrt(n)``) and ``beyond_2`` (the
    fraction with ``|pull| > 2``; 4.55 % for N(0, 1)); NaN where ``n`` is too small.
    ``bias_free`` holds the same numbers for the comparisons without a ``bias`` allowance,
    the ones whose pulls N(0, 1) describes with no stated systematic error;
    ``bias_free_values`` marks which of ``values`` they are."""
    rows = [c for c in comparisons if c.stderr > 0 and math.isfinite(c.pull)]
    pulls = np.array([c.pull for c in rows], dtype=float)
    free = np.array([c.bias == 0 for c in rows], dtype=bool)
    return {**_summarise(pulls), "bias_free": _summarise(pulls[free]),
            "values": pulls.tolist(), "bias_free_values": free.tolist()}


def write(directory: str | os.PathLike, runs: Sequence[CheckRun],
          metadata: Mapping[str, Any] | None = None) -> str:
    """Write the HTML report, its images and ``report.json`` into ``directory`` (created
    if missing); returns the path of ``index.html``.

    Parameters
    ----------
    directory : str or path
        The report's directory.
    runs : sequence of CheckRun
        The checks of the run, in the order they ran.
    metadata : mapping, optional
        What describes the run (``seed``, ``size``, ``seconds`` for its wall time,
        ``command``, ...): JSON values, shown in the summary as given. ``nnphys_version``,
        ``machine`` (:func:`machine`) and ``date`` (UTC) are added unless given.

    Returns
    -------
    str
        The path of ``index.html``.
    """
    runs = list(runs)
    for i, run in enumerate(runs):
        if not isinstance(run, CheckRun):
            raise ArgumentTypeError(f"runs: item {i} is a {type(run).__name__}, not a CheckRun")
        for c in run.comparisons:
            if not isinstance(c, Comparison):
                raise ArgumentTypeError(f"runs: check {run.name!r} holds a "
                                        f"{type(c).__name__}, not a Comparison")
    if not runs:
        raise ParameterError("runs: no checks ran; a report needs at least one")
    from .. import __version__
    meta = {"nnphys_version": __version__,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            **dict(metadata or {})}
    meta.setdefault("machine", machine())
    meta.setdefault("seconds", float(np.nansum([r.seconds for r in runs])))
    directory = os.fspath(directory)
    os.makedirs(os.path.join(directory, IMAGES), exist_ok=True)

    docs = _docstrings(runs)
    images = {}
    for run in runs:       # a check with no rows (skipped: a missing extra) has no plot
        images[run.name] = f"{IMAGES}/{_file_name(run.name)}.png" if run.comparisons else None
        if run.comparisons:
            _save_figure(_plot_check(run), os.path.join(directory, images[run.name]))
    everything = [c for run in runs for c in run.comparisons]
    pulls = pull_statistics(everything)
    pulls["image"] = f"{IMAGES}/pulls.png"
    _save_figure(_plot_pulls(pulls), os.path.join(directory, pulls["image"]))
    summary = _summary(runs)

    record = {"metadata": meta, "summary": summary,
              "checks": [{"name": r.name, "family": r.family, "doc": docs[r.name],
                          "seconds": r.seconds, "passed": r.passed, "image": images[r.name],
                          "comparisons": [_row(c) for c in r.comparisons]} for r in runs],
              "pulls": pulls}
    text = json.dumps(_json_safe(record), indent=1)
    write_atomically(os.path.join(directory, "report.json"), lambda fh: fh.write(text.encode()))
    page = _html(meta, summary, runs, docs, images, pulls)
    index = os.path.join(directory, "index.html")
    write_atomically(index, lambda fh: fh.write(page.encode()))
    return index


# ---------------------------------------------------------------------------------------
# content
# ---------------------------------------------------------------------------------------

def _docstrings(runs) -> dict[str, str]:
    """The docstring of each check (looked up in the registry; empty for a check that is
    not registered) and, under ``family:NAME``, of each family module."""
    from .registry import checks
    registered = checks()
    out = {}
    for run in runs:
        fn = registered.get(run.name)
        out[run.name] = inspect.cleandoc(fn.__doc__ or "") if fn is not None else ""
        key = f"family:{run.family}"
        if key not in out:
            try:
                module = importlib.import_module(f"nnphys.validation.{run.family}")
                out[key] = inspect.cleandoc(module.__doc__ or "")
            except ImportError:
                out[key] = ""
    return out


def _row(c: Comparison) -> dict[str, Any]:
    row = {k: getattr(c, k) for k in _COLUMNS}
    row["pull"] = c.pull
    return row


def _summary(runs) -> dict[str, Any]:
    families: dict[str, dict[str, Any]] = {}
    for run in runs:
        f = families.setdefault(run.family, {"family": run.family, "checks": 0,
                                             "comparisons": 0, "passed": 0, "failed": 0,
                                             "seconds": 0.0, "_rows": []})
        f["checks"] += 1
        f["comparisons"] += len(run.comparisons)
        f["passed"] += sum(c.passed for c in run.comparisons)
        f["failed"] += sum(not c.passed for c in run.comparisons)
        f["seconds"] += run.seconds if math.isfinite(run.seconds) else 0.0
        f["_rows"].extend(run.comparisons)
    for f in families.values():
        stats = pull_statistics(f.pop("_rows"))
        f.update(pulls=stats["n"], pull_mean=stats["mean"], pull_std=stats["std"])
    total = [c for run in runs for c in run.comparisons]
    return {"checks": len(runs), "comparisons": len(total),
            "passed": sum(c.passed for c in total), "failed": sum(not c.passed for c in total),
            "failed_checks": [r.name for r in runs if not r.passed],
            "families": list(families.values())}


def _json_safe(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return _json_safe(value.item())
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


# ---------------------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------------------

def _save_figure(fig, path):
    write_atomically(path, lambda fh: fig.savefig(fh, format="png", dpi=110))


def _label(run: CheckRun, c: Comparison) -> str:
    """A short row label: the comparison's name without the check's, and its quantity."""
    name = c.name[len(run.name):] if c.name.startswith(run.name) else c.name
    text = f"{name} {c.quantity}".strip()
    return text if len(text) <= 48 else text[:47] + "..."


def _log_scale(values) -> bool:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return v.size > 1 and bool(np.all(v > 0)) and v.max() / v.min() >= 30


def _deviation(c: Comparison) -> tuple[float, float]:
    """``(simulation - theory) / tolerance`` and the standard error in the same unit."""
    if not c.tolerance > 0:
        return math.nan, math.nan
    return (c.simulation - c.theory) / c.tolerance, c.stderr / c.tolerance


def _plot_check(run: CheckRun):
    from matplotlib.figure import Figure
    swept = [c for c in run.comparisons if c.x is not None]
    rows = [c for c in run.comparisons if c.x is None]
    blocks = [b for b in (("swept", swept), ("rows", rows)) if b[1]]
    width = [1.0] + ([max(1.0, len(rows) / 12)] if len(blocks) == 2 else [])
    fig = Figure(figsize=(5.2 * sum(width) + (1.2 if swept else 0), 5.2),
                 layout="constrained")
    axes = fig.subplots(2, len(blocks), sharex="col", squeeze=False,
                        gridspec_kw={"height_ratios": (2.2, 1), "width_ratios": width})
    for j, (kind, comps) in enumerate(blocks):
        top, bottom = axes[0, j], axes[1, j]
        if kind == "swept":
            _plot_swept(top, bottom, comps)
        else:
            _plot_rows(top, bottom, comps, run)
        bottom.axhspan(-1, 1, color="0.85", zorder=0)
        bottom.axhline(0, color="0.4", lw=0.8)
        bottom.set_ylabel("(sim - theory) / tol", fontsize=8)
        top.tick_params(labelsize=7)
        bottom.tick_params(labelsize=7)
        if _log_scale([c.theory for c in comps] + [c.simulation for c in comps]):
            top.set_yscale("log")
    verdict = "passed" if run.passed else "FAILED"
    fig.suptitle(f"{run.name}: {sum(c.passed for c in run.comparisons)}/"
                 f"{len(run.comparisons)} {verdict}", fontsize=9)
    return fig


def _plot_swept(top, bottom, comps):
    series: dict[str, list[Comparison]] = {}
    for c in comps:
        series.setdefault(c.series, []).append(c)
    for i, (label, cs) in enumerate(series.items()):
        cs = sorted(cs, key=lambda c: c.x)
        color = f"C{i % 10}"
        x = np.array([c.x for c in cs])
        theory = np.array([c.theory for c in cs])
        tol = np.array([c.tolerance for c in cs])
        top.plot(x, theory, "-", color=color, lw=1.2, label=f"{label} theory".strip())
        top.fill_between(x, theory - tol, theory + tol, color=color, alpha=0.15, lw=0)
        top.errorbar(x, [c.simulation for c in cs], [c.stderr for c in cs], fmt="o",
                     color=color, ms=3.5, capsize=2, lw=1, label=f"{label} simulation".strip())
        dev = np.array([_deviation(c) for c in cs])
        bottom.errorbar(x, dev[:, 0], dev[:, 1], fmt="o", color=color, ms=3.5, capsize=2,
                        lw=1)
        failed = [k for k, c in enumerate(cs) if not c.passed]
        if failed:
            bottom.plot(x[failed], np.nan_to_num(dev[failed, 0]), "x", color="red", ms=8)
    names = sorted({c.x_name for c in comps})
    bottom.set_xlabel(", ".join(names), fontsize=8)
    if _log_scale([c.x for c in comps]):
        top.set_xscale("log")
    top.set_ylabel("value", fontsize=8)
    top.legend(fontsize=6, frameon=False, ncol=2 if len(series) > 3 else 1)


def _plot_rows(top, bottom, comps, run):
    i = np.arange(len(comps))
    theory = np.array([c.theory for c in comps])
    tol = np.array([c.tolerance for c in comps])
    top.errorbar(i, theory, tol, fmt="none", ecolor="0.6", elinewidth=7, alpha=0.35,
                 label="theory +- tolerance")
    top.plot(i, theory, "_", color="k", ms=14, mew=1.5, label="theory")
    colors = ["C0" if c.passed else "red" for c in comps]
    for k, c in enumerate(comps):
        top.errorbar(k, c.simulation, c.stderr, fmt="o", color=colors[k], ms=4, capsize=2,
                     label="simulation +- stderr" if k == 0 else None)
        d, e = _deviation(c)
        bottom.errorbar(k, d, e, fmt="o" if c.passed else "x", color=colors[k], ms=4,
                        capsize=2)
    bottom.set_xticks(i, [_label(run, c) for c in comps], rotation=60, ha="right",
                      fontsize=6)
    bottom.set_xlim(-0.6, len(comps) - 0.4)
    top.set_ylabel("value", fontsize=8)
    top.legend(fontsize=6, frameon=False)


def _plot_pulls(pulls):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    values = np.clip(np.asarray(pulls["values"], dtype=float), -_PULL_RANGE, _PULL_RANGE)
    # bins of 1/2 (1/4 from 200 pulls on): a few counts per bin near the centre
    edges = np.linspace(-_PULL_RANGE, _PULL_RANGE, 25 if values.size < 200 else 49)
    free = np.asarray(pulls["bias_free_values"], dtype=bool)
    if values.size:      # stacked: the whole histogram is the density of all the pulls
        ax.hist([values[free], values[~free]], edges, density=True, stacked=True,
                color=["C0", "C1"], alpha=0.6,
                label=[f"no bias allowance ({free.sum()})",
                       f"with a bias allowance ({(~free).sum()})"])
    t = np.linspace(-_PULL_RANGE, _PULL_RANGE, 400)
    ax.plot(t, np.exp(-t ** 2 / 2) / math.sqrt(2 * math.pi), "k-", lw=1.2, label="N(0, 1)")
    ax.set_xlabel("pull (simulation - theory) / stderr  (|pull| > 6 in the end bins)",
                  fontsize=8)
    ax.set_ylabel("density", fontsize=8)
    ax.set_title(f"mean {_fmt(pulls['mean'], 3)} +- {_fmt(pulls['mean_stderr'], 2)}, "
                 f"std {_fmt(pulls['std'], 3)}, |pull| > 2: {_percent(pulls['beyond_2'])} "
                 "(N(0,1): 4.6 %)", fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    return fig


# ---------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------

_STYLE = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 72em; color: #222;
       line-height: 1.35; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.8em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
th { background: #f3f3f3; } td.text { text-align: left; }
tr.fail td { background: #fde2e2; }
.pass { color: #137333; font-weight: bold; } .fail { color: #c5221f; font-weight: bold; }
.skip { color: #777; font-weight: bold; }
.doc { white-space: pre-wrap; font-size: 0.85em; background: #fafafa;
       border-left: 3px solid #ddd; padding: 0.4em 0.8em; }
code { font-size: 0.95em; background: #f0f0f0; }
img { max-width: 100%; }
nav ul { columns: 2; font-size: 0.85em; }
"""


def _fmt(value, digits: int = 6) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, (float, np.floating)):
        return f"{value:.{digits}g}"
    return str(value)


def _percent(value) -> str:
    return "–" if not math.isfinite(value) else f"{100 * value:.1f} %"


def _doc_html(text: str) -> str:
    """A docstring as escaped preformatted text, ``literals`` as code."""
    escaped = html.escape(text)
    return re.sub(r"``(.+?)``", r"<code>\1</code>", escaped, flags=re.S)


def _verdict(passed: bool) -> str:
    return '<span class="pass">PASS</span>' if passed else '<span class="fail">FAIL</span>'


def _run_verdict(run: CheckRun) -> str:
    return _verdict(run.passed) if run.comparisons else '<span class="skip">SKIP</span>'


def _anchor(name: str) -> str:
    return "check-" + _file_name(name)


def _table(header, rows, classes=None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{classes[k]}"' if classes and classes[k] else ""
        cells = "".join(cell if cell.startswith("<td") else f"<td>{cell}</td>" for cell in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _text_cell(value) -> str:
    return f'<td class="text">{html.escape(str(value))}</td>'


def _metadata_rows(meta) -> list:
    rows = []
    for key, value in meta.items():
        if isinstance(value, Mapping):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        elif key == "seconds" and isinstance(value, (int, float)):
            value = f"{value:.1f} s ({value / 60:.1f} min)"
        rows.append([_text_cell(key), _text_cell(_fmt(value))])
    return rows


def _html(meta, summary, runs, docs, images, pulls) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>nnphys validation report</title>", f"<style>{_STYLE}</style></head><body>",
           "<h1>nnphys validation report</h1>"]
    verdict = "all passed" if not summary["failed"] else f"{summary['failed']} failed"
    out.append('<section id="summary"><h2>Summary</h2>')
    out.append(f"<p><b>{summary['passed']} of {summary['comparisons']} comparisons passed"
               f"</b> ({verdict}) in {summary['checks']} checks.</p>")
    fam_rows = [[_text_cell(f["family"]), _fmt(f["checks"]), _fmt(f["comparisons"]),
                 _fmt(f["passed"]), _fmt(f["failed"]), f"{f['seconds']:.1f}",
                 _fmt(f["pulls"]), _fmt(f["pull_mean"], 3), _fmt(f["pull_std"], 3)]
                for f in summary["families"]]
    out.append(_table(("family", "checks", "comparisons", "passed", "failed", "seconds",
                       "pulls", "pull mean", "pull std"), fam_rows,
                      ["fail" if f["failed"] else "" for f in summary["families"]]))
    if summary["failed_checks"]:
        links = ", ".join(f'<a href="#{_anchor(n)}">{html.escape(n)}</a>'
                          for n in summary["failed_checks"])
        out.append(f"<p>Failed checks: {links}.</p>")
    out.append("<h3>Run</h3>")
    out.append(_table(("item", "value"), _metadata_rows(meta)))
    out.append("</section>")

    out.append('<section id="pulls"><h2>Pulls of the whole run</h2>')
    out.append(f'<p><img src="{pulls["image"]}" alt="histogram of the pulls"></p>')
    out.append(f"<p>{pulls['n']} stochastic comparisons (stderr &gt; 0): pull mean "
               f"{_fmt(pulls['mean'], 3)} &plusmn; {_fmt(pulls['mean_stderr'], 2)}, standard "
               f"deviation {_fmt(pulls['std'], 3)}, |pull| &gt; 2 in "
               f"{_percent(pulls['beyond_2'])} (4.6 % for N(0, 1)). Unbiased estimates with "
               "correct standard errors give N(0, 1); a much narrower histogram means "
               "standard errors that are too large (loose tolerances), a shifted or wider one "
               "a bias, which may be the stated <code>bias</code> allowance of the "
               "comparisons (1/n, truncation; see each check). The "
               f"{pulls['bias_free']['n']} comparisons without one (blue) have pull mean "
               f"{_fmt(pulls['bias_free']['mean'], 3)} &plusmn; "
               f"{_fmt(pulls['bias_free']['mean_stderr'], 2)} and standard deviation "
               f"{_fmt(pulls['bias_free']['std'], 3)}.</p></section>")

    out.append('<nav id="contents"><h2>Checks</h2><ul>')
    out += [f'<li>{_run_verdict(r)} <a href="#{_anchor(r.name)}">{html.escape(r.name)}</a>'
            f" ({len(r.comparisons)})</li>" for r in runs]
    out.append("</ul></nav>")

    family = None
    for run in runs:
        if run.family != family:
            family = run.family
            out.append(f'<h2 id="family-{_file_name(family)}">{html.escape(family)}</h2>')
            doc = docs.get(f"family:{family}", "")
            if doc:
                out.append("<details><summary>module docstring (tolerances)</summary>"
                           f'<div class="doc">{_doc_html(doc)}</div></details>')
        out.append(_check_section(run, docs[run.name], images[run.name]))
    out.append("</body></html>")
    return "\n".join(out)


def _check_section(run: CheckRun, doc: str, image: str) -> str:
    seconds = f", {run.seconds:.1f} s" if math.isfinite(run.seconds) else ""
    parts = [f'<section class="check" id="{_anchor(run.name)}">',
             f"<h3>{_run_verdict(run)} {html.escape(run.name)} "
             f"({sum(c.passed for c in run.comparisons)}/{len(run.comparisons)}{seconds})</h3>"]
    if doc:
        parts.append(f'<div class="doc">{_doc_html(doc)}</div>')
    if image is None:
        parts.append("<p>No comparisons: the check was skipped (see the warnings of the "
                     "run).</p></section>")
        return "\n".join(parts)
    parts.append(f'<p><img src="{image}" alt="theory against simulation: '
                 f'{html.escape(run.name)}"></p>')
    swept = any(c.x is not None for c in run.comparisons)
    header = ["comparison", "quantity"] + (["swept", "series"] if swept else []) + [
        "theory", "simulation", "stderr", "tolerance", "pull", "result"]
    rows = []
    for c in run.comparisons:
        row = [_text_cell(c.name), _text_cell(f"{c.quantity}: {c.error}" if c.error
                                              else c.quantity)]
        if swept:
            row += [_text_cell(f"{c.x_name} = {_fmt(c.x)}" if c.x_name else ""),
                    _text_cell(c.series)]
        row += [_fmt(c.theory), _fmt(c.simulation), _fmt(c.stderr, 3), _fmt(c.tolerance, 3),
                _fmt(c.pull, 3), _verdict(c.passed)]
        rows.append(row)
    parts.append(_table(header, rows, ["" if c.passed else "fail" for c in run.comparisons]))
    parts.append("</section>")
    return "\n".join(parts)
