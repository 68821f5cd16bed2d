"""Global self-attention kernels (Hron, Bahri, Sohl-Dickstein & Novak 2020,
arXiv:2006.10540) against ensembles of finite attention networks.

Networks ``Dense(n) -> GlobalSelfAttention(n, n, n, H) -> Erf -> GlobalAvgPool ->
Dense(READOUT)`` on three sequences of 4 tokens, at widths ``n`` (the Dense width and the
key / value channels) with ``H = n / 4`` heads. Tolerance (see :mod:`._ensembles`):
``4 se + b |K| / n``. With linear scaling ``b = 2``: the attention weights converge at rate
``O(1/n)`` in the mean as the Dense width and the key channels grow (two finite layers;
Roberts, Yaida & Hanin 2022, arXiv:2106.10165, ch. 4 for the 1/n shift of each), and given
them the output is Gaussian for any number of heads. With square-root scaling the logits
stay random, the output is a mixture over the heads, Gaussian only as ``H -> infinity``
(Hron et al. 2020, sec. 3), and the following Erf sees an ``O(1/H) = 4/n`` non-Gaussianity:
``b = 2 + 4``. RELU attention weights are not normalised over the keys, so their
fluctuation enters the output's variance unaveraged: measured ``n (K_n - K) / K`` on the
first self-entry of the RELU+CONCAT network, 5.6 +- 0.6 at width 16 and 5.2 +- 1.8 at 64
(400 and 200 networks, seed 3; 0.201, 0.161 and 0.144 +- 0.005 at width 256 against
0.149), a ``1/n`` shift with a coefficient above 2: ``b = 8`` there (the measured value
with its error rounded up; not derived).
"""

from __future__ import annotations

import numpy as np

from ..theory import kernels as nk
from ._ensembles import READOUT, nngp_comparisons
from .registry import register

_CASES = {   # label: (layer options, bias coefficient b)
    "SOFTMAX+SUM": (dict(attention_mechanism="SOFTMAX", pos_emb_type="SUM",
                         W_pos_emb_std=0.8), 2.0),
    "RELU+CONCAT": (dict(attention_mechanism="RELU", pos_emb_type="CONCAT",
                         val_pos_emb=True), 8.0),
    "IDENTITY,sqrt": (dict(attention_mechanism="IDENTITY", linear_scaling=False), 6.0),
}


def _net(width: int, options: dict):
    heads = max(2, width // 4)
    return nk.serial(nk.Dense(width, 1.3, 0.1),
                     nk.GlobalSelfAttention(width, width, width, heads, W_key_std=1.2,
                                            W_out_std=1.1, b_std=0.1, **options),
                     nk.Erf(), nk.GlobalAvgPool(), nk.Dense(READOUT, 1.2, 0.1))


@register("kernels_attention.nngp_vs_ensemble")
def nngp_vs_ensemble(quick: bool = False, seed: int = 0):
    """Empirical NNGP and NTK of sampled attention networks vs the infinite-width kernels, per
    mechanism and positional embedding, at growing widths."""
    widths, samples = ((16, 64), 48) if quick else ((16, 64, 256), 200)
    x = np.random.default_rng(seed).standard_normal((3, 4, 3))
    out = []
    for label, (options, bias) in _CASES.items():
        out += nngp_comparisons(f"kernels_attention.nngp_vs_ensemble[{label}]",
                                lambda w, o=options: _net(w, o), x, widths, samples, seed,
                                bias_per_width=bias)
    return out
