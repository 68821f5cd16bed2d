"""Write ``tests/data/nt_spatial_reference.npz``: neural-tangents 0.6.5 numbers for the layers
of issue 15 part B (ConvTranspose, ConvLocal, SumPool, GlobalSumPool, AvgPool strides with
SAME padding; the activations Exp, ExpNormalized, Gabor, Rbf).

Method as ``nt_conv_reference.py`` (same spec strings read by both libraries):

* ``kernel/<name>``: NNGP and NTK of a whole network for ``(x1, x1)`` and ``(x1, x2)``,
  1- and 2-D NHWC inputs, and fully connected ones (``fc``; ``far`` holds inputs of norm
  ~4 so that Rbf entries of distant pairs are ~1e-8);
* ``apply/<name>``: one layer's finite-width output on fixed parameters (the same arrays
  for both libraries; ConvLocal's bias is ``out_spatial + (C_out,)`` in nnphys and gets a
  leading 1 for neural-tangents).

Source: neural-tangents 0.6.5 on jax 0.5.3, float64, CPU. Runtime: about 1 min (2 cores; 7 min under load). neural-tangents refuses an activation
right after a pooling layer ("must be Gaussian"), so a Conv sits between them here.
Run from the repository root with the peer's interpreter::

    $NNPHYS_PEER_PYTHON tests/_precompute/nt_spatial_reference.py
"""

import numpy as np
from peer_cases import (import_neural_tangents, output_path, record_apply, record_kernels,
                        save)


OUT = output_path("nt_spatial_reference.npz")

READ = "Dense(1, W_std=1.1, b_std=0.2)"


def layer(name, f, s="None", pad="SAME", w=1.3, b=0.1, p="ntk", out=3):
    return (f"{name}({out}, {f}, strides={s}, padding='{pad}', W_std={w}, b_std={b}, "
            f"parameterization='{p}')")


def conv(f, **kw):
    return layer("Conv", f, **kw)


KERNEL_CASES = {}
for _pad in ("SAME", "VALID", "CIRCULAR"):
    for _s in ("None", "(2,)", "(3,)"):
        for _f in ("(3,)", "(2,)"):
            KERNEL_CASES[f"1d/convtranspose/{_pad}/{_f}/{_s}/flatten"] = (
                "1d", f"{layer('ConvTranspose', _f, s=_s, pad=_pad)}, Erf(), Flatten(), {READ}")
        KERNEL_CASES[f"1d/convtranspose/{_pad}/{_s}/gap"] = (
            "1d", f"{conv('(2,)')}, Erf(), {layer('ConvTranspose', '(3,)', s=_s, pad=_pad)}, "
                  f"Erf(), GlobalAvgPool(), {READ}")
        KERNEL_CASES[f"1d/convlocal/{_pad}/{_s}/flatten"] = (
            "1d", f"{layer('ConvLocal', '(3,)', s=_s, pad=_pad)}, Erf(), "
                  f"{layer('ConvLocal', '(2,)', pad=_pad)}, Gelu(), Flatten(), {READ}")
        KERNEL_CASES[f"1d/convlocal/{_pad}/{_s}/gap"] = (
            "1d", f"{conv('(2,)')}, Erf(), {layer('ConvLocal', '(3,)', s=_s, pad=_pad)}, "
                  f"Erf(), GlobalAvgPool(), {READ}")
        KERNEL_CASES[f"1d/sumpool/{_pad}/{_s}"] = (
            "1d", f"{conv('(2,)')}, Erf(), SumPool((3,), strides={_s}, padding='{_pad}'), "
                  f"{conv('(2,)', w=0.4)}, Erf(), GlobalSumPool(), {READ}")
        KERNEL_CASES[f"1d/avgpool/{_pad}/{_s}"] = (
            "1d", f"{conv('(2,)')}, Erf(), AvgPool((3,), strides={_s}, padding='{_pad}'), "
                  f"{conv('(2,)')}, Erf(), Flatten(), {READ}")
    # 2-D: non-square filters and strides; GAP after Conv puts the kernel in the full layout
    KERNEL_CASES[f"2d/convtranspose/{_pad}/gap"] = (
        "2d", f"{conv('(2, 2)')}, Erf(), "
              f"{layer('ConvTranspose', '(3, 2)', s='(2, 1)', pad=_pad, w=1.1)}, Gelu(), "
              f"GlobalAvgPool(), {READ}")
    KERNEL_CASES[f"2d/convtranspose/{_pad}/standard-flatten"] = (
        "2d", f"{layer('ConvTranspose', '(2, 3)', s='(1, 2)', pad=_pad, p='standard')}, Erf(), "
              f"{layer('ConvTranspose', '(2, 2)', s='(2, 2)', pad=_pad, p='standard', b='None')},"
              f" Erf(), Flatten(), Dense(1, W_std=1.1, b_std=0.2, parameterization='standard')")
    KERNEL_CASES[f"2d/convlocal-after-conv/{_pad}/gap"] = (
        "2d", f"{conv('(2, 2)')}, Erf(), {layer('ConvLocal', '(3, 2)', s='(1, 2)', pad=_pad)}, "
              f"Erf(), GlobalAvgPool(), {READ}")
    KERNEL_CASES[f"2d/convlocal-after-conv/{_pad}/flatten"] = (
        "2d", f"{conv('(2, 2)')}, Erf(), {layer('ConvLocal', '(3, 2)', s='(1, 2)', pad=_pad)}, "
              f"Erf(), Flatten(), {READ}")
    KERNEL_CASES[f"2d/convlocal/{_pad}/standard-gap"] = (
        "2d", f"{layer('ConvLocal', '(2, 3)', pad=_pad, p='standard')}, Erf(), "
              f"{conv('(2, 2)', pad=_pad, p='standard')}, Erf(), GlobalAvgPool(), "
              "Dense(1, W_std=1.1, b_std=0.2, parameterization='standard')")
    KERNEL_CASES[f"2d/sumpool/{_pad}"] = (
        "2d", f"{conv('(2, 2)')}, Erf(), SumPool((2, 3), strides=(2, 1), padding='{_pad}'), "
              f"{conv('(2, 2)', w=0.3)}, Erf(), GlobalSumPool(), {READ}")
    KERNEL_CASES[f"2d/avgpool-strides/{_pad}"] = (
        "2d", f"{conv('(2, 2)')}, Erf(), AvgPool((3, 2), strides=(2, 2), padding='{_pad}'), "
              f"{conv('(2, 1)')}, Erf(), GlobalAvgPool(), {READ}")
KERNEL_CASES["1d/conv-same-relu-flatten"] = (
    "1d", f"{conv('(3,)', out=8)}, Relu(), {conv('(3,)', out=8)}, Relu(), Flatten(), {READ}")
for _act in ("Exp(a=0.7, b=0.4)", "ExpNormalized(gamma=0.8, shift=-1.0, do_clip=False)",
             "ExpNormalized(gamma=1.5, shift=-0.5, do_clip=True)", "Gabor()", "Rbf(0.7)"):
    KERNEL_CASES[f"fc/{_act}"] = ("fc", f"Dense(5, W_std=1.2, b_std=0.1), {_act}, "
                                        f"Dense(5, W_std=1.2, b_std=0.1), {_act}, {READ}")
    KERNEL_CASES[f"2d/{_act}/gap"] = ("2d", f"{conv('(2, 2)')}, {_act}, {conv('(2, 2)', w=0.9)},"
                                            f" Erf(), GlobalAvgPool(), {READ}")
    KERNEL_CASES[f"2d/convtranspose/{_act}/flatten"] = (
        "2d", f"{layer('ConvTranspose', '(2, 2)', s='(2, 2)')}, {_act}, Flatten(), {READ}")
KERNEL_CASES["far/Rbf"] = ("far", "Dense(5, W_std=1.0), Rbf(1.0), Dense(1, W_std=1.0)")
KERNEL_CASES["far/Rbf-deep"] = ("far", "Dense(5, W_std=1.0), Rbf(0.5), Dense(5, W_std=4.0), "
                                       "Rbf(0.5), Dense(1)")
KERNEL_CASES["far/Gabor"] = ("far", "Dense(5, W_std=1.0), Gabor(), Dense(1, W_std=1.0)")

APPLY_CASES = {}
for _pad in ("SAME", "VALID", "CIRCULAR"):
    for _s in ("None", "(2, 3)", "(3, 1)"):
        for _p, _b in (("ntk", "0.3"), ("standard", "0.3"), ("ntk", "None")):
            APPLY_CASES[f"convtranspose2d/{_pad}/{_s}/{_p}/b={_b}"] = (
                "2d", layer("ConvTranspose", "(3, 2)", s=_s, pad=_pad, w=1.7, b=_b, p=_p))
            APPLY_CASES[f"convlocal2d/{_pad}/{_s}/{_p}/b={_b}"] = (
                "2d", layer("ConvLocal", "(3, 2)", s=_s, pad=_pad, w=1.7, b=_b, p=_p))
        APPLY_CASES[f"sumpool2d/{_pad}/{_s}"] = ("2d", f"SumPool((2, 3), strides={_s}, "
                                                       f"padding='{_pad}')")
    for _f, _s in (("(4,)", "(3,)"), ("(2,)", "(3,)"), ("(5,)", "(2,)"), ("(1,)", "(2,)")):
        APPLY_CASES[f"convtranspose1d/{_pad}/{_f}/{_s}"] = (
            "1d", layer("ConvTranspose", _f, s=_s, pad=_pad, w=0.8, b=0.5))
        APPLY_CASES[f"convlocal1d/{_pad}/{_f}/{_s}"] = (
            "1d", layer("ConvLocal", _f, s=_s, pad=_pad, w=0.8, b=0.5))
APPLY_CASES["globalsumpool"] = ("2d", "GlobalSumPool()")
APPLY_CASES["gabor"] = ("2d", "Gabor()")
APPLY_CASES["exp"] = ("2d", "Exp(a=0.7, b=0.4)")
APPLY_CASES["rbf"] = ("2d", "Rbf(0.7)")


def _params(spec, x, rng):
    """Raw N(0, 1) parameters in nnphys' layout (and neural-tangents'), or ()."""
    name = spec.split("(", 1)[0]
    if name not in ("ConvTranspose", "ConvLocal"):
        return (), ()
    import jax
    nt_layer = eval(spec, NAMESPACE)
    out_shape, nt_params = nt_layer[0](jax.random.PRNGKey(0), x.shape)
    w = rng.standard_normal(np.shape(nt_params[0]))
    b = None if nt_params[1] is None else rng.standard_normal(np.shape(nt_params[1]))
    ours = (w, None if b is None else (b[0] if name == "ConvLocal" else b))
    return ours, (w, b)


NAMESPACE = {}


def main():
    nt = import_neural_tangents()
    stax = nt.stax
    NAMESPACE.update({name: getattr(stax, name) for name in dir(stax) if not name.startswith("_")})
    rng = np.random.default_rng(20251203)
    shapes = {"1d": (7, 2), "2d": (5, 4, 2), "fc": (4,), "far": (4,)}
    data = {}
    for kind, shape in shapes.items():
        data[f"{kind}/x1"] = rng.standard_normal((3,) + shape)
        data[f"{kind}/x2"] = rng.standard_normal((2,) + shape)
    data["far/x1"] *= 2.0
    data["far/x2"] *= 2.0
    failures = record_kernels(stax, NAMESPACE, KERNEL_CASES, data, prefix="kernel/")
    record_apply(NAMESPACE, APPLY_CASES, shapes, rng, _params, data, failures)
    save(OUT, nt, data, failures, len(KERNEL_CASES) + len(APPLY_CASES))


if __name__ == "__main__":
    main()
