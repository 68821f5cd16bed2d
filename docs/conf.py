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
# members on the API pages only (the template asks for them); the family pages show the
# module docstrings
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


# ---------------------------------------------------------------------------------------
# One page per model family, generated at build time from the modules themselves: the
# theory modules' docstrings (the equations), their public names (how to call them), the
# simulation and spec modules, and the validation checks registered for the family.

#: family -> (title, theory modules, specs and simulations, validation modules)
FAMILIES = {
    "kernels": ("Infinite-width kernels: NNGP and NTK", ["nnphys.theory.kernels"],
                ["nnphys.models.network", "nnphys.sim.networks"], ["kernels"]),
    "criticality": ("Signal propagation and criticality", ["nnphys.theory.criticality"],
                    ["nnphys.sim.preactivations"], ["criticality"]),
    "finite_width": ("Finite width: 1/n theory, NTK fluctuations, Edgeworth densities",
                     ["nnphys.theory.finite_width", "nnphys.theory.ntk_fluctuations",
                      "nnphys.theory.edgeworth"],
                     ["nnphys.sim.preactivations", "nnphys.sim.ntk_ensemble",
                      "nnphys.sim.shallow", "nnphys.models.shallow"],
                     ["finite_width", "ntk_fluctuations", "edgeworth"]),
    "hebbian": ("Hebbian networks: replica theory", ["nnphys.theory.hebbian"],
                ["nnphys.models.hebbian", "nnphys.sim.montecarlo"], ["hebbian"]),
    "dmft": ("Dynamical mean-field theory", ["nnphys.theory.dmft"],
             ["nnphys.models.rnn", "nnphys.sim.rnn", "nnphys.sim.regression.gradient_descent",
              "nnphys.sim.training"],
             ["dmft", "feature_learning"]),
    "scaling": ("Scaling laws", ["nnphys.theory.scaling", "nnphys.theory.spectral"],
                ["nnphys.models.regression", "nnphys.sim.regression.plrf",
                 "nnphys.sim.regression.mrs"], ["scaling", "mrs"]),
    "generalization": ("Generalization: learning curves and random features",
                       ["nnphys.theory.generalization"],
                       ["nnphys.sim.regression.kernel_ridge", "nnphys.sim.random_features",
                        "nnphys.datasets"], ["generalization", "deep_random_features"]),
    "parametrization": ("abc-parametrizations and width scaling",
                        ["nnphys.theory.parametrization"],
                        ["nnphys.models.parametrization", "nnphys.sim.training"],
                        ["parametrization"]),
}


def _submodules(name: str) -> list[str]:
    """``name`` and, for a package, its public submodules (depth first)."""
    import importlib
    import pkgutil
    module = importlib.import_module(name)
    out = [name]
    for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
        if not info.name.startswith("_"):
            out += _submodules(f"{name}.{info.name}")
    return out


def _public_names(name: str) -> list[str]:
    """The public functions and classes a module defines (its ``__all__`` if it has one)."""
    import importlib
    import inspect
    module = importlib.import_module(name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [k for k, v in vars(module).items() if not k.startswith("_") and (
            inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == name]
    return [n for n in names if not inspect.ismodule(getattr(module, n, None))]


def _module_block(name: str, heading: str) -> list[str]:
    out = [heading, "~" * len(heading), "", f".. automodule:: {name}", "   :no-index:", ""]
    names = _public_names(name)
    if names:
        refs = ", ".join(f":py:obj:`~{name}.{n}`" for n in names)
        out += [f"How to call it: {refs} (reference: :mod:`{name}`).", ""]
    return out


def _family_page(key: str) -> str:
    from nnphys.validation import registry
    title, theory, sims, validations = FAMILIES[key]
    out = [title, "=" * len(title), "", ".. contents::", "   :local:", "   :depth: 1", "",
           "Theory", "------", ""]
    for name in [m for t in theory for m in _submodules(t)]:
        out += _module_block(name, f"``{name}``")
    out += ["Specs and simulations", "---------------------", ""]
    for name in sims:
        out += _module_block(name, f"``{name}``")
    out += ["Validated against", "-----------------", "",
            "The checks of ``nnphys validate`` for this family (:doc:`../validation`): each "
            "states what it compares and how its tolerance follows from the method's error.",
            ""]
    checks = registry.checks()
    for family in validations:
        module = f"nnphys.validation.{family}"
        out += [f"``{module}``", "~" * (len(module) + 4), "", f".. automodule:: {module}",
                "   :no-index:", ""]
        for check, fn in checks.items():
            if fn.__module__ == module:
                out += [f"``{check}``: :py:func:`{module}.{fn.__name__}`", "",
                        f".. autofunction:: {module}.{fn.__name__}", "   :no-index:", ""]
    return "\n".join(out)


def _write_family_pages(app):
    import os
    directory = os.path.join(app.srcdir, "families")
    os.makedirs(directory, exist_ok=True)
    for key in FAMILIES:
        text = _family_page(key)
        path = os.path.join(directory, f"{key}.rst")
        if not os.path.exists(path) or open(path).read() != text:    # unchanged: no rebuild
            with open(path, "w") as fh:
                fh.write(text)


_PARAM = re.compile(r"^\s*:param\s+([^:]+):")


def documented_parameters(lines: list[str]) -> list[str]:
    """The parameter names a (napoleon-converted) docstring documents: ``:param x:`` fields,
    ``:param x, y:`` naming several, stars (escaped or not) stripped."""
    names = []
    for line in lines:
        found = _PARAM.match(line)
        if found:
            names += [n.replace("\\", "").strip().lstrip("*")
                      for n in found.group(1).split(",") if n.strip()]
    return names


def _check_parameters(what, name, obj, lines):
    """Warn (an error under -W) where a docstring's parameter list disagrees with the
    signature of ``obj``: it documents a parameter the signature does not have, or, having
    a parameter list, leaves out one the signature has (``*args``/``**kwargs`` aside)."""
    import inspect
    from sphinx.util import logging
    if what not in ("function", "method", "class"):
        return
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return
    accepted = set(signature.parameters)
    documented = documented_parameters(lines)
    log = logging.getLogger(__name__)
    for param in documented:
        if param not in accepted:
            log.warning(f"{name}: the docstring documents the parameter {param!r}, which its "
                        f"signature {signature} does not have")
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    missing = [p.name for i, p in enumerate(signature.parameters.values())
               if p.kind not in variadic and p.name not in documented
               and not (i == 0 and p.name in ("self", "cls"))]
    if documented and missing:
        log.warning(f"{name}: the docstring's parameter list leaves out {', '.join(missing)} "
                    f"of its signature {signature}")


# ---------------------------------------------------------------------------------------
# The gallery: every figure of the registry (nnphys.figures) with the command that makes
# it and the code of its compute step; its picture where one has been made beforehand
# (``nnphys figures --all --quick --out DIR`` and NNPHYS_DOCS_FIGURES=DIR; the default DIR
# is docs/_build/figures).

def _gallery_page(srcdir: str) -> str:
    import inspect
    import os
    import shutil
    from nnphys import figures
    made = os.environ.get("NNPHYS_DOCS_FIGURES") or os.path.join(srcdir, "_build", "figures")
    images = os.path.join(srcdir, "gallery_images")
    os.makedirs(images, exist_ok=True)
    title = "Gallery: the figures of the papers"
    out = [title, "=" * len(title), "",
           "Each figure of ``nnphys figures --list``: the command that regenerates it (data "
           "cached as ``.npz``, then PNG and PDF; ``--quick`` at reduced size) and the code "
           "of its compute step.", "", ".. contents::", "   :local:", ""]
    for name, fig in figures.figures().items():
        source = os.path.relpath(inspect.getsourcefile(fig.compute), srcdir)
        out += [name, "-" * len(name), "", fig.description, "", ".. code-block:: bash", "",
                f"   nnphys figures {name} --out figures-out", ""]
        png = os.path.join(made, f"{name}.png")
        if os.path.exists(png):
            shutil.copyfile(png, os.path.join(images, f"{name}.png"))
            out += [f".. image:: gallery_images/{name}.png", f"   :alt: {name}",
                    "   :width: 90%", ""]
        out += [f"Compute step, :py:func:`{fig.compute.__module__}.{fig.compute.__name__}`:",
                "", f".. literalinclude:: {source}", f"   :pyobject: {fig.compute.__name__}",
                "   :language: python", ""]
    return "\n".join(out)


def _write_gallery(app):
    import os
    path = os.path.join(app.srcdir, "gallery.rst")
    text = _gallery_page(str(app.srcdir))
    if not os.path.exists(path) or open(path).read() != text:
        with open(path, "w") as fh:
            fh.write(text)


def _process_docstring(app, what, name, obj, options, lines):
    _check_parameters(what, name, obj, lines)
    lines[:] = plain_text_conventions(lines)


def setup(app):
    # after napoleon (priority 500): its sections are fields and lists by then
    app.connect("autodoc-process-docstring", _process_docstring, priority=600)
    app.connect("builder-inited", _write_family_pages)
    app.connect("builder-inited", _write_gallery)
