"""One language: no public signature uses a name from the glossary's "do not use" column.

The glossary is ``docs/glossary.md``; this test reads its table, walks every public
function, class constructor and public method of ``nnphys.theory``, ``nnphys.sim`` and
``nnphys.validation`` (private modules, names starting with ``_``, are skipped), and lists
every parameter whose name is a synonym the glossary forbids.
"""

import importlib
import inspect
import pathlib
import pkgutil
import re

import nnphys

GLOSSARY = pathlib.Path(nnphys.__file__).parent / "docs" / "glossary.md"
PACKAGES = ("nnphys.theory", "nnphys.sim", "nnphys.validation")


def forbidden_names() -> dict[str, str]:
    """synonym -> the glossary's name, from the table's second and third columns."""
    out = {}
    for line in GLOSSARY.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[1].startswith("`"):
            continue
        name = re.findall(r"`([^`]+)`", cells[1])[0]
        for synonym in re.findall(r"`([^`]+)`", cells[2]):
            out[synonym] = name
    return out


def public_modules():
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        yield pkg
        for info in pkgutil.walk_packages(pkg.__path__, package + "."):
            if any(part.startswith("_") for part in info.name.split(".")):
                continue
            yield importlib.import_module(info.name)


def public_signatures():
    for module in public_modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            targets = []
            if inspect.isfunction(obj):
                targets.append((f"{module.__name__}.{name}", obj))
            elif inspect.isclass(obj):
                targets.append((f"{module.__name__}.{name}", obj))
                for attr, member in vars(obj).items():
                    if inspect.isfunction(member) and not attr.startswith("_"):
                        targets.append((f"{module.__name__}.{name}.{attr}", member))
            for where, fn in targets:
                try:
                    yield where, inspect.signature(fn)
                except (TypeError, ValueError):
                    continue


def test_the_glossary_lists_synonyms():
    names = forbidden_names()
    assert names["sigma_w2"] == "W_std" and names["n_chains"] == "n_replicas"


def test_no_public_signature_uses_a_forbidden_synonym():
    forbidden = forbidden_names()
    offenders = sorted(f"{where}({p}): use {forbidden[p]!r}"
                       for where, sig in public_signatures()
                       for p in sig.parameters if p in forbidden)
    assert not offenders, "synonyms the glossary forbids:\n" + "\n".join(offenders)
