"""Sphinx configuration of the nnphys documentation (``python -m sphinx -W -b html docs
docs/_build/html``; ``.ci/run`` builds it with warnings as errors)."""

import re

import nnphys

project = "nnphys"
author = "the nnphys developers"
release = version = nnphys.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.napoleon",
              "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
templates_path = ["_templates"]    # module pages: the module's docstring and members

autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_numpy_docstring = True
napoleon_use_ivar = True           # "Attributes:" as fields, not a second description

html_theme = "alabaster"
html_title = f"nnphys {release}"


# ---------------------------------------------------------------------------------------
# The docstrings are written to be read as plain text (``help()``, an editor): norms and
# absolute values as |x|, bullet lists that start right after a paragraph line ("Tolerances."
# then "* ...") and end at the next paragraph line. This turns those conventions into the
# reStructuredText they mean, without touching literal blocks or doctests.

_BULLET = re.compile(r"^(\s*)([*-]|\d+\.) \S")
_ROLE = re.compile(r"(`[^`]*`)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _escape_bars(line: str, in_literal: bool) -> tuple[str, bool]:
    """``line`` with ``|`` escaped outside ````literals```` and `roles`; whether a literal
    is still open at its end (a literal may run over lines)."""
    parts = line.split("``")
    for i, part in enumerate(parts):
        inside = in_literal != (i % 2 == 1)
        if not inside:
            pieces = _ROLE.split(part)
            parts[i] = "".join(p if k % 2 else p.replace("|", "\\|")
                               for k, p in enumerate(pieces))
    return "``".join(parts), in_literal != (len(parts) % 2 == 0)


def plain_text_conventions(lines: list[str]) -> list[str]:
    """``lines`` of a docstring with ``|`` escaped outside literals and blank lines put
    around bullet lists that touch a paragraph; literal blocks and doctests as they are."""
    out: list[str] = []
    literal_block = None    # the indentation that opened a literal block ("::")
    doctest = False
    in_literal = False      # inside an inline literal that runs over lines
    lists: list[int] = []   # indentations of the open bullet lists
    for line in lines:
        blank = not line.strip()
        if literal_block is not None and (blank or _indent(line) > literal_block):
            out.append(line)
            continue
        literal_block = None
        if doctest or line.lstrip().startswith(">>>"):
            doctest = not blank
            out.append(line)
            continue
        if blank:
            in_literal = False
            out.append(line)
            continue
        indent = _indent(line)
        lists = [i for i in lists if i <= indent]
        previous = out[-1] if out else ""
        if not in_literal and _BULLET.match(line):
            if previous.strip() and indent not in lists:
                out.append("")
            if indent not in lists:
                lists.append(indent)
        elif not in_literal and lists and indent == lists[-1]:   # a paragraph after a list
            lists.pop()
            if previous.strip():
                out.append("")
        line, in_literal = _escape_bars(line, in_literal)
        out.append(line)
        if line.rstrip().endswith("::"):
            literal_block = indent
    return out


def _process_docstring(app, what, name, obj, options, lines):
    lines[:] = plain_text_conventions(lines)


def setup(app):
    # after napoleon (priority 500): its sections are fields and lists by then
    app.connect("autodoc-process-docstring", _process_docstring, priority=600)
