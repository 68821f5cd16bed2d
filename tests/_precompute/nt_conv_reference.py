"""Write ``tests/data/nt_conv_reference.npz``: neural-tangents 0.6.5 numbers for the
convolutional and structural layers, beyond the cases of ``benchmarks/peers/nt_reference.py``.

Method: every case is a spec string read by both libraries (nnphys through
``nnphys.theory.kernels.from_spec``, neural-tangents by evaluating it in the namespace of
``neural_tangents.stax``). Two kinds of case:

* ``kernel/<name>``: NNGP and NTK of a whole network for ``(x1, x1)`` and ``(x1, x2)``,
  on 1-, 2- and 3-D NHWC inputs; smooth activations (Erf, Gelu, Sin, Cos) so that
  neural-tangents itself is accurate to roundoff (its ReLU NTK self-entries are not:
  it takes the arc-cosine angle from ``sqrt(q11 q22 - q12^2)`` of a roundoff-level
  difference; see ``tests/data/README.md``);
* ``apply/<name>``: one layer's finite-width output on fixed parameters (weights ``W`` of
  shape ``filter_shape + (C_in, C_out)``, bias ``b`` of shape ``(C_out,)``, the same
  arrays for both libraries), to pin the padding, stride and normalisation conventions.

Source: neural-tangents 0.6.5 on jax 0.5.3, float64, CPU (the peer environment of
``benchmarks/peers/nt_import.py``). Runtime: about 45 s (2 CPU cores). Run from the
repository root::

    $NNPHYS_PEER_PYTHON tests/_precompute/nt_conv_reference.py
"""

import numpy as np
from peer_cases import (import_neural_tangents, output_path, record_apply, record_kernels,
                        save)


OUT = output_path("nt_conv_reference.npz")

C = "Conv(4, {f}, strides={s}, padding='{pad}', W_std={w}, b_std={b}, parameterization='{p}')"


def conv(f, s="None", pad="SAME", w=1.3, b=0.1, p="ntk"):
    return C.format(f=f, s=s, pad=pad, w=w, b=b, p=p)


READ = "Dense(1, W_std=1.1, b_std=0.2)"

KERNEL_CASES = {
    # 1-D inputs (N, 7, 2)
    "1d/same-valid-gap": ("1d", f"{conv('(3,)')}, Erf(), "
                                f"{conv('(2,)', s='(2,)', pad='VALID', b='None')}, "
                                f"Gelu(), GlobalAvgPool(), {READ}"),
    "1d/circular-stride3-flatten": ("1d", f"{conv('(4,)', s='(3,)', pad='CIRCULAR')}, Erf(), "
                                          f"Flatten(), {READ}"),
    "1d/avgpool-same-flatten": ("1d", f"{conv('(3,)')}, Erf(), AvgPool((3,), strides=(2,), "
                                      f"padding='SAME'), Flatten(), {READ}"),
    # 2-D inputs (N, 6, 5, 2)
    "2d/nonsquare-avgpool-same-gap": ("2d", f"{conv('(3, 2)', s='(1, 2)')}, Erf(), "
                                            "AvgPool((2, 3), padding='SAME'), "
                                            f"{conv('(2, 2)', pad='VALID', b=0.05)}, Erf(), "
                                            f"GlobalAvgPool(), {READ}"),
    "2d/avgpool-circular-gap": ("2d", f"{conv('(3, 3)', pad='CIRCULAR')}, Gelu(), "
                                      "AvgPool((3, 3), strides=(2, 2), padding='CIRCULAR'), "
                                      f"{conv('(2, 2)', pad='CIRCULAR')}, Erf(), GlobalAvgPool(), "
                                      f"{READ}"),
    "2d/avgpool-normalize-edges-gap": ("2d", f"{conv('(2, 2)')}, Erf(), "
                                             "AvgPool((3, 2), strides=(2, 1), padding='SAME', "
                                             "normalize_edges=True), "
                                             f"{conv('(2, 2)', pad='SAME')}, Erf(), "
                                             f"GlobalAvgPool(), {READ}"),
    "2d/avgpool-flatten": ("2d", f"{conv('(2, 2)', pad='VALID')}, Erf(), AvgPool((2, 2)), "
                                 f"Flatten(), {READ}"),
    "2d/standard-nobias-gap": ("2d", f"{conv('(3, 3)', b='None', p='standard')}, Erf(), "
                                     f"{conv('(2, 3)', s='(2, 1)', p='standard', w=0.9)}, Erf(), "
                                     "GlobalAvgPool(), Dense(1, W_std=1.1, b_std=0.2, "
                                     "parameterization='standard')"),
    "2d/standard-avgpool-flatten": ("2d", f"{conv('(3, 3)', pad='VALID', p='standard')}, Gelu(), "
                                          "AvgPool((2, 2), strides=(1, 2), padding='SAME'), "
                                          "Flatten(), Dense(1, W_std=1.1, b_std=None, "
                                          "parameterization='standard')"),
    "2d/ntk-nobias-defaults": ("2d", "Conv(4, (3, 3)), Erf(), Conv(4, (2, 2)), Erf(), Flatten(), "
                                     "Dense(1)"),
    "2d/layernorm-channels-gap": ("2d", f"{conv('(3, 3)')}, LayerNorm(axis=-1), Erf(), "
                                        f"{conv('(3, 3)', pad='CIRCULAR')}, "
                                        "LayerNorm(axis=-1, eps=0.3), Erf(), GlobalAvgPool(), "
                                        f"{READ}"),
    "2d/layernorm-spatial-flatten": ("2d", f"{conv('(3, 3)')}, LayerNorm(axis=(1, 2, 3)), Erf(), "
                                           f"{conv('(2, 2)', s='(2, 1)')}, "
                                           "LayerNorm(axis=(2, 3), eps=0.2), Erf(), Flatten(), "
                                           f"{READ}"),
    "2d/layernorm-spatial-gap": ("2d", f"{conv('(3, 3)')}, LayerNorm(axis=(1, 2, 3)), Gelu(), "
                                       f"{conv('(2, 2)')}, LayerNorm(axis=(1, 3), eps=0.2), "
                                       f"Erf(), GlobalAvgPool(), {READ}"),
    "2d/residual-gap": ("2d", f"{conv('(3, 3)')}, FanOut(2), parallel(serial(Erf(), "
                              f"{conv('(3, 3)', w=1.1)}), Identity()), FanInSum(), Erf(), "
                              f"GlobalAvgPool(), {READ}"),
    "2d/gap-then-flatten": ("2d", f"{conv('(3, 3)')}, Erf(), GlobalAvgPool(), Flatten(), {READ}"),
    "2d/dense-on-pixels": ("2d", f"{conv('(2, 2)')}, Erf(), Dense(5, W_std=1.2, b_std=0.1), "
                                 f"Sin(), Flatten(), {READ}"),
    "2d/filter-larger-than-image": ("2d", f"{conv('(7, 7)')}, Erf(), "
                                          f"{conv('(6, 5)', pad='VALID')}, "
                                          f"Cos(), Flatten(), {READ}"),
    "2d/stride-beyond-filter": ("2d", f"{conv('(2, 2)', s='(3, 3)')}, Erf(), "
                                      f"{conv('(2, 1)', s='(3, 2)', pad='VALID')}, Erf(), "
                                      f"GlobalAvgPool(), {READ}"),
    # 3-D inputs (N, 4, 3, 3, 2)
    "3d/conv-avgpool-circular-gap": ("3d", f"{conv('(2, 2, 2)')}, Erf(), AvgPool((2, 2, 1)), "
                                           f"{conv('(2, 1, 2)', s='(1, 2, 1)', pad='CIRCULAR')}, "
                                           f"Erf(), GlobalAvgPool(), {READ}"),
    "3d/conv-flatten": ("3d", f"{conv('(3, 2, 2)', s='(2, 1, 1)', pad='VALID')}, Gelu(), "
                              f"Flatten(), {READ}"),
}

APPLY_CASES = {}
for _pad in ("SAME", "VALID", "CIRCULAR"):
    for _s in ("None", "(2, 3)"):
        for _p, _b in (("ntk", "0.3"), ("ntk", "None"), ("standard", "0.3")):
            APPLY_CASES[f"conv2d/{_pad}/{_s}/{_p}/b={_b}"] = (
                "2d", f"Conv(3, (3, 2), strides={_s}, padding='{_pad}', W_std=1.7, b_std={_b}, "
                      f"parameterization='{_p}')")
    APPLY_CASES[f"conv1d/{_pad}"] = ("1d", f"Conv(3, (4,), strides=(3,), padding='{_pad}', "
                                           "W_std=0.8, b_std=0.5)")
    APPLY_CASES[f"conv2d/{_pad}/big-filter"] = ("2d", f"Conv(3, (7, 6), padding='{_pad}')"
                                                if _pad != "VALID" else "Conv(3, (6, 5))")
    for _s in ("None", "(2, 2)"):
        APPLY_CASES[f"avgpool/{_pad}/{_s}"] = ("2d", f"AvgPool((2, 3), strides={_s}, "
                                                     f"padding='{_pad}')")
    APPLY_CASES[f"avgpool/{_pad}/(2, 2)/normalize_edges"] = (
        "2d", f"AvgPool((2, 3), strides=(2, 2), padding='{_pad}', normalize_edges=True)")
    APPLY_CASES[f"avgpool1d/{_pad}"] = ("1d", f"AvgPool((3,), strides=(2,), padding='{_pad}')")
APPLY_CASES["globalavgpool"] = ("2d", "GlobalAvgPool()")
APPLY_CASES["flatten"] = ("2d", "Flatten()")
APPLY_CASES["layernorm/-1"] = ("2d", "LayerNorm(axis=-1)")
APPLY_CASES["layernorm/(1, 2, 3)"] = ("2d", "LayerNorm(axis=(1, 2, 3), eps=0.1)")
APPLY_CASES["layernorm/(2, 3)"] = ("2d", "LayerNorm(axis=(2, 3))")


def _params(spec, x, rng):
    """Raw N(0, 1) parameters, the same arrays for both libraries (nnphys' layout), or ()
    for parameter-free layers."""
    if not spec.startswith("Conv("):
        return (), ()
    ns = {"Conv": lambda out, filt, **kw: (out, filt, kw)}
    out, filt, kw = eval(spec, ns)
    w = rng.standard_normal(tuple(filt) + (x.shape[-1], out))
    b = rng.standard_normal(out) if kw.get("b_std") is not None else None
    return (w, b), (w, b)


def main():
    nt = import_neural_tangents()
    stax = nt.stax
    namespace = {name: getattr(stax, name) for name in dir(stax) if not name.startswith("_")}
    rng = np.random.default_rng(20240601)
    shapes = {"1d": (7, 2), "2d": (6, 5, 2), "3d": (4, 3, 3, 2)}
    data = {}
    for kind, shape in shapes.items():
        data[f"{kind}/x1"] = rng.standard_normal((3,) + shape)
        data[f"{kind}/x2"] = rng.standard_normal((2,) + shape)
    failures = record_kernels(stax, namespace, KERNEL_CASES, data, prefix="kernel/")
    record_apply(namespace, APPLY_CASES, shapes, rng, _params, data, failures)
    save(OUT, nt, data, failures, len(KERNEL_CASES) + len(APPLY_CASES))


if __name__ == "__main__":
    main()
