"""Global self-attention, as neural-tangents' ``stax.GlobalSelfAttention`` (0.6.5).

Hron, Bahri, Sohl-Dickstein & Novak 2020, "Infinite attention: NNGP and NTK for deep
attention networks", arXiv:2006.10540. Inputs are ``(batch, *S, C)`` with the positions
``S`` flattened to ``P = prod(S)`` tokens. With the NTK parameterization (all parameters
``N(0, 1)``), one head ``h`` computes

    keys      k = x~ K_h,   queries q = x~ Q_h  (``q = k`` when ``linear_scaling``: tied),
    logits    G = (W_query_std W_key_std) q k^T / (C~ d_k^s),   s = 1 (linear) or 1/2,
    values    v = x_v V_h,
    head      A(G) v,   A = softmax over keys | identity | abs | relu,

and the layer ``y = concat_h[A(G_h) v_h] W_out * W_out_std W_value_std / sqrt(d_v H C_v)
+ b_std b`` (eqs. 4-6 of the paper). ``x~`` is ``x`` with the positional embedding added
(``"SUM"``) or concatenated (``"CONCAT"``; ``C~ = C + C_pe``); the values see it only with
``val_pos_emb``. The embedding is ``W_pos_emb_std * L e`` with ``e ~ N(0, 1)`` of shape
``(1, *S, C_pe)`` and ``L L^T = R`` the positions' covariance, ``R = I`` without
``pos_emb_decay_fn`` and ``R[p, p'] = decay(sum_a |p_a - p'_a|^pos_emb_p_norm)`` with it.

The infinite-width kernel lives in :mod:`nnphys.theory.kernels.attention`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, ParameterError
from .network import Layer, _check_std, _input_shape, as_rng, register_layer

__all__ = ["GlobalSelfAttention", "ATTENTION_MECHANISMS", "POS_EMB_TYPES"]

ATTENTION_MECHANISMS = ("SOFTMAX", "IDENTITY", "ABS", "RELU")
POS_EMB_TYPES = ("NONE", "SUM", "CONCAT")


def _positive_int(name, value):
    return checks.integer(name, value, low=1, high=checks.MEMORY_LIMIT)


def _attention_weights(mechanism: str, logits: np.ndarray, axes: tuple) -> np.ndarray:
    """``A(logits)``: softmax over ``axes`` (the key positions), or elementwise identity,
    ``|.|`` or ``max(., 0)``."""
    checks.one_of("attention_mechanism", mechanism, ATTENTION_MECHANISMS)
    if mechanism == "SOFTMAX":
        shifted = logits - np.max(logits, axis=axes, keepdims=True)
        e = np.exp(shifted)
        return e / np.sum(e, axis=axes, keepdims=True)
    if mechanism == "IDENTITY":
        return logits
    if mechanism == "ABS":
        return np.abs(logits)
    return np.maximum(logits, 0.0)


def _position_covariance(spatial: tuple, p_norm: float, decay_fn) -> np.ndarray:
    """The ``(P, P)`` covariance ``R`` of the positional embeddings (module docstring):
    the identity without ``decay_fn``, else ``decay_fn(sum_a |p_a - p'_a|^p_norm)``."""
    size = int(np.prod(spatial))
    if decay_fn is None:
        return np.eye(size)
    coords = np.stack(np.meshgrid(*[np.arange(n) for n in spatial], indexing="ij"),
                      axis=-1).reshape(size, len(spatial)).astype(float)
    dist = np.sum(np.abs(coords[:, None, :] - coords[None, :, :]) ** p_norm, axis=-1)
    r = np.asarray(decay_fn(dist), dtype=float)
    if r.shape != (size, size) or not np.all(np.isfinite(r)):
        raise ParameterError(f"pos_emb_decay_fn: must map the {size}x{size} distance array "
                             "to finite values of the same shape")
    return r


@dataclasses.dataclass(frozen=True)
class GlobalSelfAttention(Layer):
    """Multi-head global self-attention (module docstring; neural-tangents' arguments).

    Parameters
    ----------
    n_chan_out, n_chan_key, n_chan_val, n_heads : int
        Output channels, key/query channels ``d_k``, value channels ``d_v``, heads ``H``.
    linear_scaling : bool
        True: logits scaled by ``1 / d_k`` with tied keys and queries (the kernel is in
        closed form); False: ``1 / sqrt(d_k)`` with independent queries, whose kernel is in
        closed form for ``"IDENTITY"`` only: for the other mechanisms the kernel map raises
        ``NotImplementedError`` with the reason (the logits stay random at infinite width;
        :mod:`nnphys.theory.kernels.attention`), as neural-tangents does; the finite-width
        layer works for all.
    W_key_std, W_value_std, W_query_std, W_out_std : float
        Weight scales; the kernel depends on ``W_query_std W_key_std`` and
        ``W_out_std W_value_std`` only.
    b_std : float or None
        Bias scale; None: no bias.
    attention_mechanism : str
        ``"SOFTMAX"``, ``"IDENTITY"``, ``"ABS"`` or ``"RELU"``.
    pos_emb_type : str
        ``"NONE"``, ``"SUM"`` or ``"CONCAT"``.
    pos_emb_p_norm : float
        Exponent ``p`` of the positions' distance ``sum_a |p_a - p'_a|^p``.
    pos_emb_decay_fn : callable or None
        Maps that distance (an array) to the embeddings' covariance; None: independent
        embeddings per position. A Python callable has no spec string.
    n_chan_pos_emb : int or None
        Embedding channels (``"CONCAT"``); None: as many as the input.
    W_pos_emb_std : float
        Embedding scale.
    val_pos_emb : bool
        Whether the values also see the embeddings.
    """

    n_chan_out: int
    n_chan_key: int
    n_chan_val: int
    n_heads: int
    linear_scaling: bool = True
    W_key_std: float = 1.0
    W_value_std: float = 1.0
    W_query_std: float = 1.0
    W_out_std: float = 1.0
    b_std: float | None = None
    attention_mechanism: str = "SOFTMAX"
    pos_emb_type: str = "NONE"
    pos_emb_p_norm: float = 2
    pos_emb_decay_fn: Callable | None = None
    n_chan_pos_emb: int | None = None
    W_pos_emb_std: float = 1.0
    val_pos_emb: bool = False

    needs_full_spatial = True      # mixes all positions

    def __post_init__(self):
        for name in ("n_chan_out", "n_chan_key", "n_chan_val", "n_heads"):
            object.__setattr__(self, name, _positive_int(name, getattr(self, name)))
        for name in ("linear_scaling", "val_pos_emb"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ParameterError(f"{name}: must be True or False, got "
                                     f"{getattr(self, name)!r}")
            object.__setattr__(self, name, bool(getattr(self, name)))
        for name in ("W_key_std", "W_value_std", "W_query_std", "W_out_std", "W_pos_emb_std"):
            object.__setattr__(self, name, _check_std(name, getattr(self, name), False))
        object.__setattr__(self, "b_std", _check_std("b_std", self.b_std, True))
        checks.one_of("attention_mechanism", self.attention_mechanism, ATTENTION_MECHANISMS)
        checks.one_of("pos_emb_type", self.pos_emb_type, POS_EMB_TYPES)
        object.__setattr__(self, "pos_emb_p_norm",
                           checks.positive("pos_emb_p_norm", self.pos_emb_p_norm))
        if self.pos_emb_decay_fn is not None and not callable(self.pos_emb_decay_fn):
            raise ArgumentTypeError(f"pos_emb_decay_fn: must be callable or None, got "
                                    f"{type(self.pos_emb_decay_fn).__name__}")
        if self.n_chan_pos_emb is not None:
            object.__setattr__(self, "n_chan_pos_emb",
                               _positive_int("n_chan_pos_emb", self.n_chan_pos_emb))

    @property
    def QK_std(self) -> float:
        return self.W_query_std * self.W_key_std

    @property
    def OV_std(self) -> float:
        return self.W_out_std * self.W_value_std

    def pos_emb_channels(self, channels: int) -> int:
        """Channels of the positional embedding for inputs with ``channels`` channels.

        Raises:
            ParameterError: ``"SUM"`` embeddings with ``n_chan_pos_emb`` different from
                the input channels.
        """
        n = channels if self.n_chan_pos_emb is None else self.n_chan_pos_emb
        if self.pos_emb_type == "SUM" and n != channels:
            raise ParameterError(f"n_chan_pos_emb: {n} differs from the {channels} input "
                                 "channels, which SUM embeddings must match")
        return n

    def input_channels(self, channels: int) -> tuple[int, int]:
        """``(C~, C_v)``: the channels seen by the keys and by the values."""
        if self.pos_emb_type != "CONCAT":
            return channels, channels
        n_pe = self.pos_emb_channels(channels)
        return channels + n_pe, channels + n_pe if self.val_pos_emb else channels

    def init(self, seed, input_shape):
        shape = _input_shape(input_shape)
        if len(shape) < 3:
            raise ParameterError(f"input_shape: {shape} has no spatial (token) axes; "
                                 "GlobalSelfAttention needs (batch, *positions, channels)")
        rng = as_rng(seed)
        channels = int(shape[-1])
        n_keys, n_vals = self.input_channels(channels)
        checks.work("input_shape", float(self.n_heads) * (2 * n_keys * self.n_chan_key +
                                                          n_vals * self.n_chan_val)
                    + float(self.n_chan_val) * self.n_heads * self.n_chan_out,
                    checks.MEMORY_LIMIT, what="weights")
        pos_emb = None
        if self.pos_emb_type != "NONE":
            pos_emb = rng.standard_normal((1,) + tuple(shape[1:-1]) +
                                          (self.pos_emb_channels(channels),))
        keys = rng.standard_normal((self.n_heads, n_keys, self.n_chan_key))
        queries = None if self.linear_scaling else rng.standard_normal(
            (self.n_heads, n_keys, self.n_chan_key))
        values = rng.standard_normal((self.n_heads, n_vals, self.n_chan_val))
        w_out = rng.standard_normal((self.n_chan_val * self.n_heads, self.n_chan_out))
        b = None if self.b_std is None else rng.standard_normal(self.n_chan_out)
        out_shape = tuple(shape[:-1]) + (self.n_chan_out,)
        return out_shape, (queries, keys, values, w_out, b, pos_emb)

    def apply(self, params, x):
        queries, keys, values, w_out, b, pos_emb = params
        x = np.asarray(x, dtype=float)
        if x.ndim < 3:
            raise ParameterError(f"x: shape {x.shape} has no spatial (token) axes")
        n, spatial, channels = x.shape[0], x.shape[1:-1], x.shape[-1]
        x_val = x
        if pos_emb is not None:
            if self.pos_emb_decay_fn is not None:
                chol = np.linalg.cholesky(_position_covariance(spatial, self.pos_emb_p_norm,
                                                              self.pos_emb_decay_fn))
                flat = pos_emb.reshape(-1, pos_emb.shape[-1])
                pos_emb = (chol @ flat).reshape(pos_emb.shape)
            pos_emb = self.W_pos_emb_std * pos_emb
            if self.pos_emb_type == "SUM":
                x = x + pos_emb
            else:
                x = np.concatenate([x, np.broadcast_to(pos_emb, x.shape[:-1] +
                                                       (pos_emb.shape[-1],))], axis=-1)
            if self.val_pos_emb:
                x_val = x
        tokens = x.reshape(n, -1, x.shape[-1])               # (N, P, C~)
        tokens_val = x_val.reshape(n, -1, x_val.shape[-1])   # (N, P, C_v)
        k = tokens[None] @ keys[:, None]
        q = k if queries is None else tokens[None] @ queries[:, None]
        scale = tokens.shape[-1] * self.n_chan_key ** (1.0 if self.linear_scaling else 0.5)
        logits = (q @ np.swapaxes(k, -1, -2)) * (self.QK_std / scale)
        weights = _attention_weights(self.attention_mechanism, logits, axes=(-1,))
        v = tokens_val[None] @ values[:, None]
        # (N, P, d_v, H) flattened with the head index fastest, as neural-tangents
        heads = (weights @ v).transpose(1, 2, 3, 0)
        heads = heads.reshape(n, heads.shape[1], -1)
        out = heads @ w_out
        out *= self.OV_std / math.sqrt(self.n_chan_val * self.n_heads * tokens_val.shape[-1])
        if b is not None:
            out = out + self.b_std * b
        return out.reshape((n,) + tuple(spatial) + (self.n_chan_out,))


register_layer("GlobalSelfAttention", GlobalSelfAttention)
