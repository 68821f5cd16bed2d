"""The validation report (``nnphys validate ... --report DIR``, :mod:`nnphys.validation.report`).

One report is built (module fixture) from two quick checks that sweep a quantity
(``hebbian.learning_overlap``: two curves over ``M``; ``scaling.plrf_exact_vs_sgd``: two over
``t``), one fake check whose rows sweep nothing, one of them failing, and one fake check
with no rows (skipped, as a check whose extra is missing). Its JSON is checked
against the rows (pull statistics recomputed here from theory, simulation and stderr), its
HTML for the sections, the images and the absence of any network resource; then the page is
rendered in headless Chromium, which must load every image (a deliberately missing image
must be reported, so the probe can fail) and show every section; a screenshot must not be
blank. Without Chromium (Debian package ``chromium``; ``.ci/run`` installs it) the rendering
test is skipped.
"""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from nnphys import cli, load, validation
from nnphys.stats import Estimate
from nnphys.validation import registry, report

QUICK_CHECKS = ("hebbian.learning_overlap", "scaling.plrf_exact_vs_sgd")


def fake_check(quick, seed):
    """A fake check: a deterministic row, a stochastic row that passes and one that fails."""
    return [validation.compare("fake.rows", "exact", 1.0, 1.0 + 1e-12, bias=1e-9),
            validation.compare("fake.rows", "passes", 2.0,
                               Estimate(mean=2.01, stderr=0.01, n_eff=100.0)),
            validation.compare("fake.rows", "fails", 3.0,
                               Estimate(mean=3.5, stderr=0.01, n_eff=100.0))]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    directory = tmp_path_factory.mktemp("report")
    checks = dict(registry.checks())
    checks["fake.rows"] = fake_check
    checks["fake.skipped"] = lambda quick, seed: []      # as a check without its extra
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(registry, "checks", lambda: checks)
        # --workers 1: the fake checks are monkeypatched into this process only
        status = cli.main(["validate", *QUICK_CHECKS, "fake", "--quick", "--seed", "3",
                           "--workers", "1", "--report", str(directory)])
    return status, directory


def test_compare_records_the_swept_quantity(tmp_path):
    c = validation.compare("a.b", "m", 1.0, 1.0, bias=0.1, x=np.int64(5), x_name="M",
                           series="exact")
    assert (c.x, c.x_name, c.series) == (5.0, "M", "exact")
    plain = validation.compare("a.b", "m", 1.0, 1.0, bias=0.1)
    assert plain.x is None and plain.x_name == "" and plain.series == ""
    c.save(tmp_path / "c.npz")
    assert load(tmp_path / "c.npz") == c
    with pytest.raises(ValueError, match="^x_name"):
        validation.compare("a.b", "m", 1.0, 1.0, x=5)
    with pytest.raises(ValueError, match="^x_name"):
        validation.compare("a.b", "m", 1.0, 1.0, x_name="M")
    with pytest.raises(ValueError, match="^x:"):
        validation.compare("a.b", "m", 1.0, 1.0, x=float("nan"), x_name="M")
    with pytest.raises(TypeError, match="^series"):
        validation.compare("a.b", "m", 1.0, 1.0, series=3)


def test_report_json_matches_the_rows(built):
    status, directory = built
    assert status == 1                                   # the fake check fails one row
    data = json.loads((directory / "report.json").read_text())
    assert [c["name"] for c in data["checks"]] == [*QUICK_CHECKS, "fake.rows", "fake.skipped"]
    assert data["checks"][3]["comparisons"] == [] and data["checks"][3]["image"] is None
    rows = [r for c in data["checks"] for r in c["comparisons"]]
    assert data["summary"]["comparisons"] == len(rows) == 6 + 8 + 3
    assert data["summary"]["failed"] == 1 and data["summary"]["failed_checks"] == ["fake.rows"]
    families = {f["family"]: f for f in data["summary"]["families"]}
    assert families["fake"]["failed"] == 1 and families["hebbian"]["passed"] == 6
    # the swept checks recorded their x axis, one curve per series
    overlap = data["checks"][0]["comparisons"]
    assert {r["x_name"] for r in overlap} == {"M"} and {r["x"] for r in overlap} == {5, 21, 81}
    assert {r["series"] for r in overlap} == {"exact binomial", "RS (Gaussian)"}
    assert all(r["x"] is None for r in data["checks"][2]["comparisons"])
    # pulls over every stochastic row, recomputed from the rows
    pulls = np.array([(r["simulation"] - r["theory"]) / r["stderr"] for r in rows
                      if r["stderr"] > 0])
    assert data["pulls"]["n"] == pulls.size == 6 + 8 + 2
    assert data["pulls"]["mean"] == pytest.approx(pulls.mean(), rel=1e-12)
    assert data["pulls"]["std"] == pytest.approx(pulls.std(ddof=1), rel=1e-12)
    assert max(data["pulls"]["values"]) == pytest.approx(50.0)     # (3.5 - 3) / 0.01
    free = np.array([(r["simulation"] - r["theory"]) / r["stderr"] for r in rows
                     if r["stderr"] > 0 and r["bias"] == 0])
    assert data["pulls"]["bias_free"]["n"] == free.size == sum(data["pulls"]["bias_free_values"])
    assert data["pulls"]["bias_free"]["std"] == pytest.approx(free.std(ddof=1), rel=1e-12)
    assert data["metadata"]["seed"] == 3 and data["metadata"]["size"] == "quick"
    assert data["metadata"]["nnphys_version"] and data["metadata"]["machine"]["cores"] >= 1


def test_report_html_is_self_contained(built):
    _, directory = built
    page = (directory / "index.html").read_text()
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["'](https?:|//)""", page)
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 3 + 1                          # one per check, the pulls histogram
    for src in images:
        assert (directory / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in (*QUICK_CHECKS, "fake.rows", "fake.skipped"):
        assert f'id="check-{name}"' in page
    # each check's docstring, as the registry holds it
    assert "A fake check: a deterministic row" in page
    assert 'SKIP</span> <a href="#check-fake.skipped">' in page
    first = registry.checks()[QUICK_CHECKS[0]].__doc__.split("\n")[0]
    assert first[:40] in page
    assert 'id="summary"' in page and 'id="pulls"' in page


def test_report_refuses_a_file_as_its_directory(tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("")
    assert cli.main(["validate", "fake.none", "--report", str(blocker)]) == 2
    assert "--report" in capsys.readouterr().err
    with pytest.raises(ValueError, match="^runs"):
        report.write(tmp_path / "empty", [])


_PROBE = """
<img src="images/missing-on-purpose.png" alt="">
<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute("src")),
    sections: Array.from(document.querySelectorAll("section[id]")).map(s => s.id),
    visible: Array.from(document.querySelectorAll("section[id]")).every(s => s.offsetHeight > 0)
  });
  document.body.appendChild(out);
});
</script>
"""


def _chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed (Debian package `chromium`; .ci/run installs it)")
    return exe


def _headless(exe, profile, *args):
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                           f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=180)


def test_report_renders_in_chromium(built, tmp_path):
    exe = _chromium()
    _, directory = built
    page = (directory / "index.html").read_text()
    probe = directory / "probe.html"        # next to index.html: the same relative images
    probe.write_text(page.replace("</body>", _PROBE + "</body>"))
    dom = _headless(exe, tmp_path / "profile", "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, f"no probe output from chromium: {dom.stderr[-2000:]}"
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert result["images"] == 3 + 1 + 1
    assert result["broken"] == ["images/missing-on-purpose.png"]     # the probe sees breaks
    assert result["sections"] == ["summary", "pulls"] + [
        f"check-{name}" for name in (*QUICK_CHECKS, "fake.rows", "fake.skipped")]
    assert result["visible"]

    shot = tmp_path / "report.png"
    _headless(exe, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2400",
              (directory / "index.html").as_uri())
    import matplotlib.image
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (2400, 1280) and pixels.std() > 0.05     # not a blank page
