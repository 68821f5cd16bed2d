"""No file of the package cites a path outside the repository (absolute machine paths, the
reference notes next to the checkout): cite the papers, and keep the provenance of test
numbers in ``tests/data/README.md`` or in the test's docstring."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
# written in pieces so that this file does not match itself
OUTSIDE = re.compile("/" + "work/|" + r"\.\./" + "shared|" + "shared/" + "reference")
TEXT = {".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".yml", ".yaml", ".sh", ""}
SKIP = {".git", "__pycache__", "build", "dist", ".pytest_cache", ".hypothesis"}


def _files():
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if path.is_file() and path.suffix in TEXT and not SKIP & set(rel.parts) and not any(
                p.endswith(".egg-info") for p in rel.parts):
            yield path, rel


def test_no_path_outside_the_repository():
    hits = []
    for path, rel in _files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        hits += [f"{rel}:{i}: {line.strip()}" for i, line in enumerate(text.splitlines(), 1)
                 if OUTSIDE.search(line)]
    assert not hits, "\n".join(hits)
