"""Read a neural-tangents ``stax`` network description into an nnphys spec.

``from_stax(description)`` takes the Python source that builds a network with
neural-tangents' ``stax`` (Novak et al. 2020, arXiv:1912.02803), for example::

    import neural_tangents.stax as stax
    block = stax.serial(stax.Dense(512, W_std=1.5, b_std=0.05), stax.Erf())
    init_fn, apply_fn, kernel_fn = stax.serial(block, stax.repeat(block, 2), stax.Dense(1))

and returns the equal :class:`~nnphys.models.network.Serial` (the same layers, constructor
names and arguments). It reads, never runs, the source: module prefixes (``stax.``,
``nt.stax.``, ``neural_tangents.stax.``) are dropped; the peer's enums
(``stax.Padding.SAME``, ``stax.AttentionMechanism.RELU``, ``stax.PositionalEmbedding.SUM``,
``stax.AggregateImplementation.SPARSE``, also with ``.name`` or ``.value``) become their
strings; names bound by earlier
assignments are substituted; the last statement is the network. The peer's layout
arguments ``batch_axis=0``, ``channel_axis=-1`` and ``Dense``'s ``s=(1, 1)`` are its
defaults and are dropped; other values of them, Python callables and layers nnphys does
not have are refused by name.
"""

from __future__ import annotations

import ast

from ..errors import ArgumentTypeError, ParameterError
from .network import Serial, parse_spec

__all__ = ["from_stax"]

_PREFIXES = {"stax", "nt", "neural_tangents"}
_ENUMS = {"Padding", "AttentionMechanism", "PositionalEmbedding", "AggregateImplementation"}
_LAYOUT_DEFAULTS = {"batch_axis": 0, "channel_axis": -1, "s": (1, 1)}
_NO_LAYOUT = {"Aggregate"}         # nnphys' Aggregate takes (and checks) them itself


class _Translate(ast.NodeTransformer):
    def __init__(self, names: dict):
        self.names = names

    def visit_Name(self, node):
        if node.id in self.names:
            return self.visit(self.names[node.id])
        return node

    def visit_Attribute(self, node):
        parts = []
        base = node
        while isinstance(base, ast.Attribute):
            parts.append(base.attr)
            base = base.value
        if not isinstance(base, ast.Name):
            raise ParameterError(f"description: cannot read {ast.unparse(node)!r}")
        parts.append(base.id)
        parts.reverse()
        while parts and parts[0] in _PREFIXES:
            parts.pop(0)
        if len(parts) in (2, 3) and parts[0] in _ENUMS and parts[2:] in ([], ["name"],
                                                                          ["value"]):
            return ast.Constant(parts[1])
        if len(parts) == 1:
            return ast.Name(parts[0], ast.Load())
        raise ParameterError(f"description: cannot read {ast.unparse(node)!r} as a stax name")

    def visit_Call(self, node):
        node = self.generic_visit(node)
        name = node.func.id if isinstance(node.func, ast.Name) else None
        kept = []
        for kw in node.keywords:
            if kw.arg in _LAYOUT_DEFAULTS and name not in _NO_LAYOUT:
                try:
                    value = ast.literal_eval(kw.value)
                except ValueError:
                    value = None
                if value != _LAYOUT_DEFAULTS[kw.arg] and not (
                        kw.arg == "channel_axis" and value is None):
                    raise ParameterError(f"description: {name}({kw.arg}={ast.unparse(kw.value)})"
                                         f" is not supported; nnphys inputs are (batch, *S, "
                                         "channels) and its Dense has s = (1, 1)")
                continue
            kept.append(kw)
        node.keywords = kept
        return node


def from_stax(description: str) -> Serial:
    """The nnphys spec of a ``stax`` network given as Python source (module docstring).

    Parameters
    ----------
    description : str
        Source code whose last statement builds the network, e.g.
        ``"stax.serial(stax.Dense(512), stax.Relu(), stax.Dense(1))"``.

    Returns
    -------
    Serial
        The layers; :func:`nnphys.theory.kernels.from_stax` wraps them into a ``Network``.

    Raises
    ------
    ParameterError
        A syntax error, a layer or argument nnphys does not have (named), or a callable
        argument (such as ``pos_emb_decay_fn``: build that layer in Python).
    """
    if not isinstance(description, str):
        raise ArgumentTypeError(f"description: must be a string of stax source, got "
                                f"{type(description).__name__}")
    try:
        tree = ast.parse(description.strip() or "None", mode="exec")
    except SyntaxError as exc:
        raise ParameterError(f"description: syntax error: {exc.msg}") from None
    names: dict = {}
    last = None
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(stmt, ast.Assign):
            value = stmt.value
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = value
            last = value
        elif isinstance(stmt, ast.Expr):
            last = stmt.value
        else:
            raise ParameterError(f"description: cannot read the statement "
                                 f"{ast.unparse(stmt)!r} (only imports, assignments and "
                                 "expressions)")
    if not isinstance(last, ast.Call):
        raise ParameterError("description: its last statement must build the network, e.g. "
                             "stax.serial(stax.Dense(1))")
    node = _Translate(names).visit(last)
    if isinstance(node.func, ast.Name) and node.func.id == "serial" and not node.keywords:
        inner = ", ".join(ast.unparse(a) for a in node.args)
    else:
        inner = ast.unparse(node)
    return parse_spec(inner)
