"""Write ``tests/data/nt_reference.npz``: neural-tangents 0.6.5 kernels for the tests.

Run with the peer environment (see ``nt_import.py``)::

    $NNPHYS_PEER_PYTHON benchmarks/peers/nt_reference.py

Every case is a spec string that both libraries read: nnphys with
``nnphys.theory.kernels.from_spec`` and neural-tangents by evaluating it in the namespace
of ``neural_tangents.stax`` (the layer names and arguments are the same). The file stores,
per case, the spec, the NNGP and NTK for ``(x1, x1)`` and ``(x1, x2)`` (float64), and NaN
flags where neural-tangents returned non-finite numbers.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from nt_import import import_neural_tangents  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "nt_reference.npz")

D = "Dense(7, W_std=1.5, b_std={b}, parameterization='{p}')"
ACTIVATIONS = ["Relu()", "LeakyRelu(0.1)", "ABRelu(-0.3, 1.2)", "Abs()", "Erf()",
               "Erf(a=1.3, b=0.7, c=0.2)", "Sigmoid_like()", "Gelu()", "Sin()",
               "Sin(a=1.1, b=0.8, c=0.3)", "Cos()", "Rbf(0.7)", "Gaussian(a=1.0, b=-0.5)",
               "Sign()", "Monomial(2)", "Monomial(3)", "RectifiedMonomial(1)",
               "RectifiedMonomial(2)", "RectifiedMonomial(3)", "Polynomial([0.1, 1.0, 0.5, -0.2])",
               "Exp(a=1, b=0.3)"]
CONV = "Conv(4, (3, 3), strides={s}, padding='{pad}', W_std=1.3, b_std=0.1, parameterization='{p}')"


def fc_cases():
    cases = {}
    for act in ACTIVATIONS:
        for p in ("ntk", "standard"):
            for b in ("0.05", "None"):
                d = D.format(b=b, p=p)
                cases[f"fc3/{act}/{p}/b={b}"] = f"{d}, {act}, {d}, {act}, " + \
                    D.replace("7,", "1,").format(b=b, p=p)
    for act in ("Relu()", "Erf()"):
        for p in ("ntk", "standard"):
            d = D.format(b="0.05", p=p)
            cases[f"fc10/{act}/{p}"] = ", ".join([d, act] * 10) + ", " + \
                D.replace("7,", "1,").format(b="0.05", p=p)
    cases["residual"] = ("Dense(5, W_std=1.2, b_std=0.1), FanOut(2), "
                         "parallel(serial(Relu(), Dense(5, W_std=1.2, b_std=0.1)), Identity()), "
                         "FanInSum(), Relu(), Dense(1, W_std=1.2, b_std=0.1)")
    cases["layernorm"] = ("Dense(6, W_std=1.4, b_std=0.2), LayerNorm(axis=-1), Relu(), "
                          "Dense(1, W_std=1.4, b_std=0.2)")
    return cases


def conv_cases():
    cases = {}
    for pad in ("SAME", "VALID", "CIRCULAR"):
        for s in ("None", "(2, 2)"):
            for readout in ("Flatten()", "GlobalAvgPool()"):
                c1 = CONV.format(s="None", pad=pad, p="ntk")
                c2 = CONV.format(s=s, pad=pad, p="ntk")
                cases[f"conv/{pad}/{s}/{readout}"] = (
                    f"{c1}, Relu(), {c2}, Relu(), {readout}, Dense(1, W_std=1.3, b_std=0.1)")
    c = CONV.format(s="None", pad="SAME", p="ntk")
    cases["conv/avgpool"] = (f"{c}, Relu(), AvgPool((2, 2), strides=(2, 2), padding='VALID'), "
                             f"{c}, Relu(), GlobalAvgPool(), Dense(1, W_std=1.3, b_std=0.1)")
    c = CONV.format(s="None", pad="SAME", p="standard")
    cases["conv/standard"] = (f"{c}, Relu(), {c}, Erf(), Flatten(), "
                              "Dense(1, W_std=1.3, b_std=0.1, parameterization='standard')")
    return cases


def _record(kernel_fn, key: str, kind: str, spec: str, data: dict) -> None:
    """Store NNGP and NTK of ``(x1, x1)`` and ``(x1, x2)`` under ``key``."""
    for tag, x2 in (("11", None), ("12", data[f"{kind}/x2"])):
        k = kernel_fn(data[f"{kind}/x1"], x2, ("nngp", "ntk"))
        data[f"{key}/nngp_{tag}"] = np.asarray(k.nngp, dtype=np.float64)
        data[f"{key}/ntk_{tag}"] = np.asarray(k.ntk, dtype=np.float64)
    data[f"{key}/spec"] = np.array(spec)
    data[f"{key}/inputs"] = np.array(kind)


def record_kernels(stax, namespace: dict, cases: dict, data: dict, prefix: str = "") -> dict:
    """Evaluate every ``key -> (input kind, spec string)`` case with neural-tangents into
    ``data`` (keys ``prefix + key``); returns the failures (recorded, not dropped)."""
    failures = {}
    for key, (kind, spec) in cases.items():
        try:
            _, _, kernel_fn = stax.serial(*eval(f"({spec},)", namespace))
            _record(kernel_fn, prefix + key, kind, spec, data)
        except Exception as exc:
            failures[prefix + key] = f"{type(exc).__name__}: {exc}"
    return failures


def main():
    nt = import_neural_tangents()
    from jax import numpy as jnp
    stax = nt.stax
    namespace = {name: getattr(stax, name) for name in dir(stax) if not name.startswith("_")}
    rng = np.random.default_rng(0)
    data = {"fc/x1": rng.standard_normal((6, 5)), "fc/x2": rng.standard_normal((4, 5)),
            "conv/x1": rng.standard_normal((3, 6, 5, 2)),
            "conv/x2": rng.standard_normal((2, 6, 5, 2))}
    cases = {**{k: ("fc", v) for k, v in fc_cases().items()},
             **{k: ("conv", v) for k, v in conv_cases().items()}}
    numeric = {  # neural-tangents' quadrature for tanh / erf, to measure its error
        "numerical/tanh": ("Dense(7, W_std=1.5, b_std=0.05), Tanh(), Dense(7, W_std=1.5, "
                           "b_std=0.05), Tanh(), Dense(1, W_std=1.5, b_std=0.05)",
                           stax.ElementwiseNumerical(jnp.tanh, deg=1001,
                                                     df=lambda x: 1 - jnp.tanh(x) ** 2)),
    }
    failures = record_kernels(stax, namespace, cases, data)
    for key, (spec, layer) in numeric.items():
        dense = [eval(d, namespace) for d in
                 ("Dense(7, W_std=1.5, b_std=0.05)",) * 2 + ("Dense(1, W_std=1.5, b_std=0.05)",)]
        _, _, kernel_fn = stax.serial(dense[0], layer, dense[1], layer, dense[2])
        _record(kernel_fn, key, "fc", spec, data)
    import jax
    data["meta"] = np.array(json.dumps({"neural_tangents": "0.6.5", "jax": jax.__version__,
                                        "failures": failures}))
    np.savez_compressed(OUT, **data)
    print(f"wrote {OUT}: {len(cases) + len(numeric) - len(failures)} cases, "
          f"failures: {failures}")


if __name__ == "__main__":
    main()
