"""Global self-attention kernels (Hron, Bahri, Sohl-Dickstein & Novak 2020,
arXiv:2006.10540) against ensembles of finite attention networks.

Networks ``Dense(n) -> GlobalSelfAttention(n, n, n, 2) -> Erf -> GlobalAvgPool ->
Dense(READOUT)`` on three sequences of 4 tokens, at widths ``n`` (the Dense width and the
key / value channels). Tolerance (see :mod:`._ensembles`): ``4 se + 2 |K| / n``: the
attention weights converge at rate ``O(1/n)`` in the mean as the Dense width and the key
channels grow (two finite layers; Roberts, Yaida & Hanin 2022, arXiv:2106.10165, ch. 4 for
the 1/n shift of each), so the allowed error shrinks with the width; the number of heads
does not bias the NNGP (the output's second moment is an average over heads).
"""

from __future__ import annotations

import numpy as np

from ..theory import kernels as nk
from ._ensembles import READOUT, nngp_comparisons
from .registry import register

_CASES = {
    "SOFTMAX+SUM": dict(attention_mechanism="SOFTMAX", pos_emb_type="SUM", W_pos_emb_std=0.8),
    "RELU+CONCAT": dict(attention_mechanism="RELU", pos_emb_type="CONCAT", val_pos_emb=True),
    "IDENTITY,sqrt": dict(attention_mechanism="IDENTITY", linear_scaling=False),
}


def _net(width: int, options: dict):
    return nk.serial(nk.Dense(width, 1.3, 0.1),
                     nk.GlobalSelfAttention(width, width, width, 2, W_key_std=1.2,
                                            W_out_std=1.1, b_std=0.1, **options),
                     nk.Erf(), nk.GlobalAvgPool(), nk.Dense(READOUT, 1.2, 0.1))


@register("kernels_attention.nngp_vs_ensemble")
def nngp_vs_ensemble(quick: bool = False, seed: int = 0):
    """Empirical NNGP and NTK of sampled attention networks vs the infinite-width kernels, per
    mechanism and positional embedding, at growing widths."""
    widths, samples = ((16, 64), 48) if quick else ((16, 64, 256), 200)
    x = np.random.default_rng(seed).standard_normal((3, 4, 3))
    out = []
    for label, options in _CASES.items():
        out += nngp_comparisons(f"kernels_attention.nngp_vs_ensemble[{label}]",
                                lambda w, o=options: _net(w, o), x, widths, samples, seed,
                                bias_per_width=2.0)
    return out
