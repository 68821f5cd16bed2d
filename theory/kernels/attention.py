r"""NNGP and NTK of global self-attention (:class:`nnphys.models.attention.GlobalSelfAttention`).

Hron, Bahri, Sohl-Dickstein & Novak 2020, "Infinite attention: NNGP and NTK for deep
attention networks", arXiv:2006.10540, in the conventions of neural-tangents 0.6.5. The
layer needs the full layout: ``K[i, j, p, q]`` over the flattened positions ``p, q < P``.

**Positional embeddings.** The keys see ``K~ = a K + c R`` (``R`` the embeddings'
``(P, P)`` covariance, :func:`nnphys.models.attention._position_covariance`), with
``(a, c) = (1, W_pos^2)`` for ``"SUM"`` and ``(C / (C + C_pe), W_pos^2 C_pe / (C + C_pe))``
for ``"CONCAT"`` (``C`` the input channels); ``K~ = K`` without embeddings. The values see
``K~`` with ``val_pos_emb`` and ``K`` otherwise (call it ``K_v``, and ``Theta_v`` alike, where
``Theta~ = a Theta + c R`` as neural-tangents has it).

**Linear scaling** (tied keys and queries, logits over ``d_k``; the paper's sec. 3.2):
the logits converge to ``QK K~_ii[p, p']`` (``QK = W_query_std W_key_std``), so the
attention weights of input ``i`` are deterministic, ``G_i[p, :] = A(QK K~_ii[p, :])``
(softmax over the keys ``p'``), and

    K'[i, j]     = OV^2 G_i K_v[i, j] G_j^T + b^2,
    Theta'[i, j] = OV^2 G_i Theta_v[i, j] G_j^T + b^2 + 2 OV^2 G_i K_v[i, j] G_j^T,

(``OV = W_out_std W_value_std``; the factor 2 is the value and output weights' gradients,
the keys' gradient vanishes in the limit).

**Square-root scaling, identity mechanism** (independent ``Q``, ``K``; paper's eq. 13):
``K'[i, j, p, q] = (QK OV)^2 <K~_ij, K_v,ij> K~_ij[p, q] + b^2`` with ``<A, B> =
sum_{p, q} A[p, q] B[p, q]``, and

    Theta' = (QK OV)^2 (t_ij K~_ij + <K~_ij, K_v,ij> (Theta~_ij + 4 K~_ij)) + b^2,

with ``t_ij = 2 <K~_ij, Theta~_ij>`` (without embeddings, or with ``val_pos_emb``) or
``<K~_ij, Theta_ij> + <K_ij, Theta~_ij>`` (embeddings on the keys only).

**Square-root scaling, other mechanisms:** the logits stay Gaussian random variables in the
limit (the paper's Theorem 3), so the kernel is an expectation of products of softmax (or
abs / relu) weights over a ``2P``-dimensional Gaussian per pair of positions, with no closed
form. nnphys raises ``NotImplementedError`` with that reason, as neural-tangents does; the
finite-width layer (:meth:`GlobalSelfAttention.apply`) samples it.

The layer's output is a Gaussian process in the limit (the paper's Theorem 1), so every
activation may follow it.
"""

from __future__ import annotations

import numpy as np

from ...models import attention as att
from ...errors import ParameterError
from .kernel import Kernel
from .layers import _single, register

__all__: list = []


def _flat(arr: np.ndarray, batch: int, d: int) -> np.ndarray:
    """``(*B, *S, *S) -> (*B, P, P)``."""
    p = int(np.prod(arr.shape[batch:batch + d]))
    return arr.reshape(arr.shape[:batch] + (p, p))


def _weights(layer, cov_interp: np.ndarray) -> np.ndarray:
    """``G_i = A(QK K~_ii)`` from the per-input ``(N, P, P)`` key covariance."""
    return att._attention_weights(layer.attention_mechanism, layer.QK_std * cov_interp,
                                 axes=(-1,))


def _interp(layer, k: Kernel):
    """The interpolation weights ``(a, c)`` and the embeddings' covariance ``R`` (P, P),
    or ``(1, 0, None)`` without embeddings."""
    if layer.pos_emb_type == "NONE":
        return 1.0, 0.0, None
    r = att._position_covariance(k.spatial_shape, layer.pos_emb_p_norm, layer.pos_emb_decay_fn)
    a, c = 1.0, layer.W_pos_emb_std ** 2
    if layer.pos_emb_type == "CONCAT":
        n_pe = layer.pos_emb_channels(k.channels)
        a *= k.channels / (k.channels + n_pe)
        c *= n_pe / (k.channels + n_pe)
    else:
        layer.pos_emb_channels(k.channels)
    return a, c, r


@register(att.GlobalSelfAttention)
def _attention(layer: att.GlobalSelfAttention, k) -> Kernel:
    k = _single(k, layer)
    if k.layout != "full":
        raise ParameterError("GlobalSelfAttention: needs inputs with spatial (token) axes, "
                             "(batch, *positions, channels)")
    if not layer.linear_scaling and layer.attention_mechanism != "IDENTITY":
        raise NotImplementedError(
            f"GlobalSelfAttention: with linear_scaling=False the {layer.attention_mechanism} "
            "attention logits remain Gaussian random variables at infinite width (Hron et "
            "al. 2020, arXiv:2006.10540, Theorem 3) and the kernel has no closed form; use "
            "linear_scaling=True or attention_mechanism='IDENTITY'")
    d = k.n_spatial
    shape = k.nngp.shape
    a, c, r = _interp(layer, k)

    def interp(arr):
        return arr if r is None else a * arr + c * r

    cov1 = _flat(k.cov1, 1, d)
    cov2 = cov1 if k.x1_is_x2 else _flat(k.cov2, 1, d)
    nngp = _flat(k.nngp, 2, d)
    ntk = None if k.ntk is None else _flat(k.ntk, 2, d)
    b2 = 0.0 if layer.b_std is None else layer.b_std ** 2
    ov2 = layer.OV_std ** 2
    values = interp if layer.val_pos_emb else (lambda arr: arr)

    if layer.linear_scaling:
        g1 = _weights(layer, interp(cov1))
        g2 = g1 if k.x1_is_x2 else _weights(layer, interp(cov2))

        def sandwich(arr, ga, gb):
            # ga[i] @ arr[i, j] @ gb[j]^T, batched over the leading axes
            if arr.ndim == 3:
                return ga @ arr @ np.swapaxes(gb, -1, -2)
            return ga[:, None] @ arr @ np.swapaxes(gb, -1, -2)[None, :]

        new_cov1 = ov2 * sandwich(values(cov1), g1, g1) + b2
        new_cov2 = new_cov1 if k.x1_is_x2 else ov2 * sandwich(values(cov2), g2, g2) + b2
        core = sandwich(values(nngp), g1, g2)
        core *= ov2
        new_ntk = None
        if ntk is not None:                # in place: these arrays are N1 N2 P^2 large
            new_ntk = sandwich(values(ntk), g1, g2)
            new_ntk *= ov2
            new_ntk += 2.0 * core
            new_ntk += b2
        new_nngp = core
        new_nngp += b2
    else:
        std2 = (layer.QK_std * layer.OV_std) ** 2

        def inner(x, y):
            return np.sum(x * y, axis=(-2, -1), keepdims=True)

        def identity_nngp(arr):
            ai = interp(arr)
            return std2 * inner(ai, values(arr)) * ai + b2

        new_cov1 = identity_nngp(cov1)
        new_cov2 = new_cov1 if k.x1_is_x2 else identity_nngp(cov2)
        new_nngp = identity_nngp(nngp)
        new_ntk = None
        if ntk is not None:
            ki, ti = interp(nngp), interp(ntk)
            if layer.val_pos_emb or r is None:
                t = 2.0 * inner(ki, ti)
            else:
                t = inner(ki, ntk) + inner(nngp, ti)
            new_ntk = std2 * (t * ki + inner(ki, values(nngp)) * (ti + 4.0 * ki)) + b2

    def back(arr, batch):
        return arr.reshape(arr.shape[:batch] + shape[2:])

    return k.replace(nngp=back(new_nngp, 2), ntk=None if new_ntk is None else back(new_ntk, 2),
                     cov1=back(new_cov1, 1), cov2=back(new_cov2, 1), channels=layer.n_chan_out)
