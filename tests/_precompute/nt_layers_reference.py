"""Write ``tests/data/nt_layers_reference.npz``: neural-tangents 0.6.5 numbers for the layers
of issue 15 part A: ``GlobalSelfAttention``, ``Aggregate``, ``FanInConcat``, ``FanInProd``,
``repeat`` and ``Dropout``.

Method: every case is a spec string evaluated in the namespace of ``neural_tangents.stax``
plus ``decay`` (an exponential decay of the positional embeddings' distance, defined alike
in the test) and, for graphs, the patterns stored with the case. Two kinds of case:

* ``kernel/<name>``: NNGP and NTK of a whole network for ``(x1, x1)`` (``x2=None``) and
  ``(x1, x2)``, with the graph patterns ``pattern1``, ``pattern2`` where the network
  aggregates; smooth activations only (neural-tangents is exact to roundoff there);
* ``apply/<name>``: one layer's finite-width output on fixed parameters (stored in
  nnphys' layout, translated here to neural-tangents').

Source: neural-tangents 0.6.5 on jax 0.5.3, float64, CPU. Runtime: about 30 s. Run from
the repository root::

    $NNPHYS_PEER_PYTHON tests/_precompute/nt_layers_reference.py
"""

import warnings

import numpy as np
from peer_cases import import_neural_tangents, output_path, save


OUT = output_path("nt_layers_reference.npz")

D = "Dense(6, W_std=1.2, b_std=0.1)"
READ = "Dense(1, W_std=1.1, b_std=0.2)"
MECHANISMS = ("SOFTMAX", "IDENTITY", "ABS", "RELU")


def gsa(mech, pos="NONE", extra=""):
    return (f"GlobalSelfAttention(7, 5, 4, 3, W_key_std=1.1, W_query_std=0.9, W_value_std=1.3, "
            f"W_out_std=0.8, b_std=0.2, attention_mechanism='{mech}', pos_emb_type='{pos}'"
            f"{extra})")


KERNEL_CASES = {}
for _mech in MECHANISMS:
    for _pos, _extra in (("NONE", ""), ("SUM", ", W_pos_emb_std=0.7"),
                         ("CONCAT", ", n_chan_pos_emb=3, W_pos_emb_std=1.3"),
                         ("SUM", ", val_pos_emb=True, pos_emb_decay_fn=decay"),
                         ("CONCAT", ", val_pos_emb=True, pos_emb_p_norm=1, "
                                    "pos_emb_decay_fn=decay")):
        tag = _pos + ("-val-decay" if "val" in _extra else "")
        KERNEL_CASES[f"attention/seq/{_mech}/{tag}"] = (
            "seq", f"{D}, {gsa(_mech, _pos, _extra)}, Erf(), GlobalAvgPool(), {READ}")
    KERNEL_CASES[f"attention/img/{_mech}/two-layers"] = (
        "img", f"{D}, {gsa(_mech, 'SUM', ', pos_emb_decay_fn=decay')}, Gelu(), "
               f"Dense(5, W_std=1.1, b_std=0.05), {gsa(_mech)}, Erf(), Flatten(), {READ}")
for _pos, _extra in (("NONE", ""), ("SUM", ", W_pos_emb_std=0.7"),
                     ("CONCAT", ", n_chan_pos_emb=2"),
                     ("SUM", ", val_pos_emb=True, pos_emb_decay_fn=decay"),
                     ("CONCAT", ", val_pos_emb=True")):
    tag = _pos + ("-val" if "val" in _extra else "")
    KERNEL_CASES[f"attention/seq/IDENTITY-sqrt/{tag}"] = (
        "seq", f"{D}, {gsa('IDENTITY', _pos, ', linear_scaling=False' + _extra)}, Erf(), "
               f"Flatten(), {READ}")
KERNEL_CASES["attention/seq/no-bias-defaults"] = (
    "seq", f"{D}, GlobalSelfAttention(4, 4, 4, 1), Erf(), GlobalAvgPool(), Dense(1)")
# graphs: "graph" inputs (N, 6, 3) (6 vertices); "grid" (N, 4, 3, 2) with a graph over axis
# 1 (the rows of each 4 x 3 grid). neural-tangents' SPARSE kernel fails on a graph over a
# subset of the spatial axes (a reshape error in 0.6.5), so that case uses DENSE; the
# finite-width SPARSE rows case is an apply case.
KERNEL_CASES["graph/dense-gcn"] = (
    "graph", f"{D}, Aggregate(), Erf(), Dense(5, W_std=1.3, b_std=0.1), Aggregate(), Erf(), "
             f"GlobalAvgPool(), {READ}")
KERNEL_CASES["graph/sparse-gcn-flatten"] = (
    "graph", f"{D}, Aggregate(implementation='SPARSE'), Gelu(), Dense(4, W_std=1.1), "
             f"Aggregate(implementation='SPARSE'), Erf(), Flatten(), {READ}")
KERNEL_CASES["graph/rows-flatten"] = (
    "grid", "Conv(5, (2, 2), padding='SAME', W_std=1.2, b_std=0.1), "
            "Aggregate(aggregate_axis=1), Gelu(), Dense(4, W_std=1.1), "
            f"Aggregate(aggregate_axis=1), Erf(), Flatten(), {READ}")
KERNEL_CASES["graph/attention-on-graph"] = (
    "graph", f"{D}, Aggregate(), Erf(), {gsa('SOFTMAX')}, Erf(), GlobalAvgPool(), {READ}")
# fan-in combinators, repeat, dropout
KERNEL_CASES["concat/channels-unequal"] = (
    "fc", "Dense(6, W_std=1.2, b_std=0.1), Erf(), FanOut(3), parallel(Dense(4, W_std=1.5), "
          "serial(Dense(7, W_std=0.9, b_std=0.3), Erf(), Dense(2)), Identity()), "
          f"FanInConcat(), {READ}")
KERNEL_CASES["concat/channels-equal-conv"] = (
    "img", "Conv(4, (2, 2), padding='SAME', W_std=1.2, b_std=0.1), FanOut(2), "
           "parallel(Conv(3, (2, 1), padding='SAME', W_std=1.4), "
           "serial(Erf(), Conv(3, (1, 2), padding='SAME'))), FanInConcat(axis=-1), "
           f"Conv(3, (2, 2), W_std=1.1, b_std=0.1), Erf(), GlobalAvgPool(), {READ}")
KERNEL_CASES["concat/spatial-gap"] = (
    "seq", "Conv(4, (2,), padding='SAME', W_std=1.2, b_std=0.1), FanOut(2), "
           "parallel(Conv(4, (3,), padding='SAME', W_std=1.4), serial(Erf(), "
           "Conv(4, (2,), padding='VALID', b_std=0.2))), FanInConcat(axis=1), Erf(), "
           f"Conv(3, (3,), padding='CIRCULAR'), Erf(), GlobalAvgPool(), {READ}")
KERNEL_CASES["concat/spatial-flatten"] = (
    "img", "Conv(4, (2, 2), padding='SAME', W_std=1.2, b_std=0.1), FanOut(2), "
           "parallel(Conv(4, (2, 2), padding='SAME'), Conv(4, (1, 2), padding='VALID', "
           f"W_std=0.8)), FanInConcat(axis=2), Gelu(), Flatten(), {READ}")
KERNEL_CASES["prod/fc"] = (
    "fc", "Dense(6, W_std=1.2, b_std=0.1), Erf(), FanOut(3), parallel(Dense(5, W_std=1.5, "
          "b_std=0.2), serial(Dense(5, W_std=0.9), Erf(), Dense(5, b_std=0.3)), Dense(5)), "
          f"FanInProd(), Dense(4, W_std=1.3), Erf(), {READ}")
KERNEL_CASES["prod/conv-gap"] = (
    "img", "Conv(4, (2, 2), padding='SAME', W_std=1.2, b_std=0.1), FanOut(2), "
           "parallel(Conv(3, (2, 2), padding='SAME', b_std=0.1), serial(Erf(), "
           "Conv(3, (1, 2), padding='SAME', W_std=1.3))), FanInProd(), GlobalAvgPool(), "
           f"{READ}")
KERNEL_CASES["repeat/fc"] = (
    "fc", f"Dense(6, W_std=1.2, b_std=0.1), repeat(serial(Erf(), Dense(6, W_std=1.4, "
          f"b_std=0.1)), 3), Gelu(), {READ}")
KERNEL_CASES["repeat/attention"] = (
    "seq", f"{D}, repeat(serial({gsa('SOFTMAX', 'SUM')}, Erf(), {D}), 2), Erf(), "
           f"GlobalAvgPool(), {READ}")
KERNEL_CASES["dropout/fc-train"] = (
    "fc", f"{D}, Erf(), Dropout(0.7), Dense(5, W_std=1.3, b_std=0.1), Erf(), Dropout(0.4), "
          f"{READ}")
KERNEL_CASES["dropout/fc-test"] = (
    "fc", f"{D}, Erf(), Dropout(0.7, mode='test'), Dense(5, W_std=1.3), Erf(), {READ}")
KERNEL_CASES["dropout/conv-gap"] = (
    "img", "Conv(4, (2, 2), padding='SAME', W_std=1.2, b_std=0.1), Erf(), Dropout(0.6), "
           f"Conv(3, (2, 2), W_std=1.1, b_std=0.1), Erf(), GlobalAvgPool(), {READ}")
KERNEL_CASES["dropout/conv-flatten"] = (
    "img", "Conv(4, (2, 2), padding='SAME', W_std=1.2, b_std=0.1), Erf(), Dropout(0.6), "
           f"Conv(3, (2, 2), W_std=1.1, b_std=0.1), Erf(), Flatten(), {READ}")

APPLY_CASES = {}
for _mech in MECHANISMS:
    for _ls in ("True", "False"):
        for _pos, _extra in (("NONE", ""), ("SUM", ", W_pos_emb_std=0.7"),
                             ("CONCAT", ", n_chan_pos_emb=2, val_pos_emb=True")):
            APPLY_CASES[f"attention/{_mech}/{_ls}/{_pos}"] = (
                "seq", gsa(_mech, _pos, f", linear_scaling={_ls}" + _extra))
APPLY_CASES["attention/SOFTMAX/True/SUM-decay"] = (
    "img", gsa("SOFTMAX", "SUM", ", pos_emb_decay_fn=decay"))
APPLY_CASES["aggregate/dense"] = ("graph", "Aggregate()")
APPLY_CASES["aggregate/sparse"] = ("graph", "Aggregate(implementation='SPARSE')")
APPLY_CASES["aggregate/sparse-rows"] = ("grid", "Aggregate(aggregate_axis=1, "
                                                "implementation='SPARSE')")
APPLY_CASES["aggregate/dense-cols"] = ("grid", "Aggregate(aggregate_axis=(2,))")

SHAPES = {"fc": (5,), "seq": (5, 3), "img": (3, 2, 3), "graph": (6, 3), "grid": (4, 3, 2)}


def patterns(kind, spec, n, rng):
    """The graph of each input for a case (None without Aggregate): a weighted dense
    adjacency, or (SPARSE) 7 arcs per input, the last one padding (head -1)."""
    if "Aggregate(" not in spec:
        return None
    v = {"graph": 6, "grid": 4 if "aggregate_axis=1" in spec else 3}[kind]
    if "SPARSE" in spec:
        edges = rng.integers(0, v, (n, 7, 1, 2))
        edges[:, -1, :, 1] = -1
        return edges
    return (rng.random((n, v, v)) < 0.5) * rng.uniform(0.5, 1.5, (n, v, v))


def main():
    nt = import_neural_tangents()
    import jax
    from jax import numpy as jnp
    stax = nt.stax
    namespace = {name: getattr(stax, name) for name in dir(stax) if not name.startswith("_")}
    namespace["decay"] = lambda d: jnp.exp(-d / 2.0)
    rng = np.random.default_rng(20261203)
    data = {}
    for kind, shape in SHAPES.items():
        data[f"{kind}/x1"] = rng.standard_normal((3,) + shape)
        data[f"{kind}/x2"] = rng.standard_normal((2,) + shape)
    failures = {}
    warnings.simplefilter("ignore")
    for name, (kind, spec) in KERNEL_CASES.items():
        key = f"kernel/{name}"
        try:
            _, _, kernel_fn = stax.serial(*eval(f"({spec},)", namespace))
            p1 = patterns(kind, spec, 3, rng)
            p2 = patterns(kind, spec, 2, rng)
            for tag, x2, pat in (("11", None, (p1, p1)), ("12", data[f"{kind}/x2"], (p1, p2))):
                kw = {} if p1 is None else {"pattern": pat}
                k = kernel_fn(data[f"{kind}/x1"], x2, ("nngp", "ntk"), **kw)
                data[f"{key}/nngp_{tag}"] = np.asarray(k.nngp, dtype=np.float64)
                data[f"{key}/ntk_{tag}"] = np.asarray(k.ntk, dtype=np.float64)
            if p1 is not None:
                data[f"{key}/pattern1"], data[f"{key}/pattern2"] = p1, p2
            data[f"{key}/spec"] = np.array(spec)
            data[f"{key}/inputs"] = np.array(kind)
        except Exception as exc:
            failures[key] = f"{type(exc).__name__}: {exc}"
    for name, (kind, spec) in APPLY_CASES.items():
        key = f"apply/{name}"
        try:
            init_fn, apply_fn, _ = eval(spec, namespace)
            x = rng.standard_normal((2,) + SHAPES[kind])
            data[f"{key}/x"] = x
            kw = {}
            if spec.startswith("GlobalSelfAttention"):
                _, nt_params = init_fn(jax.random.PRNGKey(0), x.shape)
                ours = []
                for i, p in enumerate(nt_params):
                    if p is None:
                        ours.append(None)
                        continue
                    arr = rng.standard_normal(p.shape)
                    if i == 4:                      # bias: (1, ..., 1, C) there, (C,) here
                        arr = arr.reshape(-1)
                    data[f"{key}/param{i}"] = arr
                    ours.append(arr)
                params = tuple(None if a is None else
                               (jnp.asarray(a).reshape(nt_params[i].shape)) for i, a in
                               enumerate(ours))
            else:
                params = ()
                pat = patterns(kind, spec, 2, rng)
                data[f"{key}/pattern"] = pat
                kw = {"pattern": pat}
            data[f"{key}/out"] = np.asarray(apply_fn(params, x, **kw), dtype=np.float64)
            data[f"{key}/spec"] = np.array(spec)
        except Exception as exc:
            failures[key] = f"{type(exc).__name__}: {exc}"
    save(OUT, nt, data, failures, len(KERNEL_CASES) + len(APPLY_CASES))


if __name__ == "__main__":
    main()
