"""Global self-attention kernels (Hron, Bahri, Sohl-Dickstein & Novak 2020,
arXiv:2006.10540) against ensembles of finite attention networks.

Networks ``Dense(n) -> GlobalSelfAttention(n, n, n, H) -> Erf -> GlobalAvgPool ->
Dense(READOUT)`` on three sequences of 4 tokens, at widths ``n`` (the Dense width and the
key / value channels). With linear scaling the limit needs only the channels to grow:
``H = 4`` heads at every width (widths 16, 64, 256). Square-root scaling needs the heads
to grow too: ``H = n / 4`` (widths 16, 64, 128; the weights grow as ``n^3``). Tolerance
(see :mod:`._ensembles`):
``4 se + b |K| / n``. With linear scaling ``b = 2``: the attention weights converge at rate
``O(1/n)`` in the mean as the Dense width and the key channels grow (two finite layers;
Roberts, Yaida & Hanin 2022, arXiv:2106.10165, ch. 4 for the 1/n shift of each), and given
them the output is Gaussian for any number of heads. With square-root scaling the logits
stay random, the output is a mixture over the heads, Gaussian only as ``H -> infinity``
(Hron et al. 2020, sec. 3), and the following Erf sees an ``O(1/H) = 4/n`` non-Gaussianity:
``b = 2 + 4``.

RELU attention converges more slowly. With linear scaling the keys double as queries, so
the logit of a token pair tends to a fixed multiple of the pair's feature overlap, which
can lie at or near zero, the kink of the ReLU; its ``O(n^-1/2)`` Gaussian fluctuation
``s z`` then shifts the mean weight by up to ``E relu(s z) = s / sqrt(2 pi)``: a shift
``O(n^-1/2)``, not ``O(1/n)``. Measured on this check's inputs (seed 0, 200 networks,
``H = 4``): ``sqrt(n) (K_n - K) / K`` of the first NNGP self-entry is 1.74, 1.96 and
1.55 (+- 0.2 to 0.35) at widths 16, 64 and 256, of the NTK self-entry 2.00, 1.49 and
1.30, of all six entries 0.4 to 2.0: constant in n, as the kink predicts (``n (K_n - K) /
K`` grows, 7 to 25: no 1/n law). The bias bound is ``3 |K| / sqrt(n)`` there (the measured
coefficient rounded up; the rate is derived, the coefficient is not).
"""

from __future__ import annotations

import numpy as np

from ..theory import kernels as nk
from ._ensembles import READOUT, nngp_comparisons
from .registry import register

_CASES = {   # label: (layer options, bias coefficient b, the power of 1/n it multiplies)
    "SOFTMAX+SUM": (dict(attention_mechanism="SOFTMAX", pos_emb_type="SUM",
                         W_pos_emb_std=0.8), 2.0, 1.0),
    "RELU+CONCAT": (dict(attention_mechanism="RELU", pos_emb_type="CONCAT",
                         val_pos_emb=True), 3.0, 0.5),
    "IDENTITY,sqrt": (dict(attention_mechanism="IDENTITY", linear_scaling=False), 6.0, 1.0),
}


def _heads(width: int, options: dict) -> int:
    """4 heads with linear scaling; ``width / 4`` with square-root scaling (module doc)."""
    return 4 if options.get("linear_scaling", True) else max(2, width // 4)


def _net(width: int, options: dict):
    heads = _heads(width, options)
    return nk.serial(nk.Dense(width, 1.3, 0.1),
                     nk.GlobalSelfAttention(width, width, width, heads, W_key_std=1.2,
                                            W_out_std=1.1, b_std=0.1, **options),
                     nk.Erf(), nk.GlobalAvgPool(), nk.Dense(READOUT, 1.2, 0.1))


@register("kernels_attention.nngp_vs_ensemble")
def nngp_vs_ensemble(quick: bool = False, seed: int = 0):
    """Empirical NNGP and NTK of sampled attention networks vs the infinite-width kernels, per
    mechanism and positional embedding, at growing widths."""
    samples = 48 if quick else 200
    x = np.random.default_rng(seed).standard_normal((3, 4, 3))
    out = []
    for label, (options, bias, power) in _CASES.items():
        linear = options.get("linear_scaling", True)
        widths = (16, 64) if quick else (16, 64, 256 if linear else 128)
        out += nngp_comparisons(f"kernels_attention.nngp_vs_ensemble[{label}]",
                                lambda w, o=options: _net(w, o), x, widths, samples, seed,
                                bias_per_width=bias, bias_power=power)
    return out
