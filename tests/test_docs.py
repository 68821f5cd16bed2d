"""The documentation build's own logic (``docs/conf.py``): the rewriting of the plain-text
docstring conventions into reStructuredText and the check that a docstring documents only
parameters its signature has. The site itself is built by ``.ci/run`` with warnings as
errors (``python -m sphinx -W -b html docs docs/_build/html``); skipped without Sphinx (the
``docs`` extra)."""

import importlib.util
import logging
import pathlib

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_parser")

CONF = pathlib.Path(__file__).resolve().parents[1] / "docs" / "conf.py"


@pytest.fixture(scope="module")
def conf():
    spec = importlib.util.spec_from_file_location("nnphys_docs_conf", CONF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bars_are_escaped_outside_literals_only(conf):
    lines = ["the norm |x| and ``|y|`` and :func:`a|b`,",
             "a literal ``that runs |over",
             "two| lines`` then |z|.",
             "",
             "Example::",
             "",
             "    |q| stays",
             ">>> abs(-1) | 0",
             "1"]
    assert conf.plain_text_conventions(lines) == [
        r"the norm \|x\| and ``|y|`` and :func:`a|b`,",
        "a literal ``that runs |over",
        r"two| lines`` then \|z\|.",
        "",
        "Example::",
        "",
        "    |q| stays",
        ">>> abs(-1) | 0",
        "1"]


def test_bullet_lists_get_their_blank_lines(conf):
    lines = ["Tolerances.",
             "* first item,",
             "  continued",
             "- second item",
             "After the list.",
             "A formula ``(a . b",
             "- c)`` is not a list."]
    assert conf.plain_text_conventions(lines) == [
        "Tolerances.",
        "",
        "* first item,",
        "  continued",
        "- second item",
        "",
        "After the list.",
        "A formula ``(a . b",
        "- c)`` is not a list."]


def test_a_parameter_the_signature_lacks_is_reported(conf, caplog):
    def f(alpha, beta=1, **options):
        pass

    lines = [":param alpha, beta: the two numbers", ":type alpha: float",
             ":param gamma: not in the signature", ":param \\*\\*options: passed on"]
    assert conf.documented_parameters(lines) == ["alpha", "beta", "gamma", "options"]
    with caplog.at_level(logging.WARNING):
        conf._check_parameters("function", "mod.f", f, lines)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "'gamma'" in messages[0]


def test_a_parameter_the_docstring_leaves_out_is_reported(conf, caplog):
    class Thing:
        def method(self, alpha, beta, *args, gamma=0, **kw):
            pass

    listed = [":param alpha: the first number", ":param gamma: the third"]
    with caplog.at_level(logging.WARNING):
        conf._check_parameters("method", "mod.Thing.method", Thing.method, listed)
        conf._check_parameters("method", "mod.Thing.method", Thing.method, ["No list."])
    messages = [r.getMessage() for r in caplog.records]
    # only beta is missing: self, *args, **kw are not asked for; no list, no complaint
    assert len(messages) == 1 and "leaves out beta " in messages[0]
