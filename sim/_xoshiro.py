"""The one random-number module of the numba kernels (private): the xoshiro256** generator,
its splitmix64 seeding, one uniform and one normal sampler.

Generator: xoshiro256** (D. Blackman, S. Vigna, "Scrambled linear pseudorandom number
generators", ACM TOMS 47 (2021), arXiv:1805.01407). A state is a ``uint64[4]`` array
advanced in place, so every chain / network / seed owns its stream and results do not
depend on threads, batching or the number of cores.

Seeding (:func:`seed_state`): stream ``stream`` under ``seed`` starts from the splitmix64
counter ``x = splitmix64(seed) ^ (stream * 0xD1B54A32D192ED03)`` and takes the next four
splitmix64 outputs as its state (Vigna's recommended way to fill a xoshiro state). Hashing
the seed first makes neighbouring seeds unrelated; multiplying the stream by an odd
constant is a bijection, so the streams of one seed start from distinct counters, and four
consecutive splitmix64 outputs are never all zero (splitmix64's output map is a bijection).

Uniform (:func:`uniform`): ``(k + 1/2) / 2^53`` with ``k`` the top 53 bits of one draw, on
the open interval ``(0, 1)`` (``log(u)`` and ``1/u`` are always finite), symmetric about
1/2, every value exact in double precision.

Normal (:func:`normal`): a 256-layer ziggurat (G. Marsaglia, W. W. Tsang, "The ziggurat
method for generating random variables", J. Stat. Softw. 5(8), 2000) with the exact wedge
test and Marsaglia's exponential tail sampler beyond ``r``, so its variates are exactly
Gaussian (up to the 53-bit resolution of the abscissa). Chosen over Box-Muller and the polar
method, which are exact as well, for speed: on the fast path (~98.8 % of draws) one 64-bit
draw gives one variate with a multiply and a compare (8 bits pick the layer, 1 bit the
sign, the top 53 bits the abscissa), against a ``log``, a ``sqrt`` and a ``sin``/``cos``
pair per two variates (Box-Muller) or a ``log``, a ``sqrt``, a division and 27 % rejected
pairs (polar). The tables are built at import from the equal-area condition
(:func:`_ziggurat_tables`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .._numba import inline_jit, jit

__all__ = ["splitmix", "next_u64", "seed_state", "seed_states", "uniform", "normal",
           "fill_normal"]

_LAYERS = 256
_STREAM_MULTIPLIER = 0xD1B54A32D192ED03
_TWO_POW_M53 = 1.0 / 9007199254740992.0


@inline_jit
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@inline_jit
def splitmix(x):
    """splitmix64: the advanced counter and the next 64-bit output."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x, z ^ (z >> np.uint64(31))


@inline_jit
def next_u64(s):
    """xoshiro256**: the next 64-bit output; the state ``s`` is advanced in place."""
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@jit
def seed_state(seed, stream):
    """The xoshiro256** state (``uint64[4]``) of stream ``stream`` under ``seed`` (both
    non-negative: Python ints below ``2^63`` or ``numpy.uint64``; see the module docstring)."""
    s = np.empty(4, dtype=np.uint64)
    _, h = splitmix(np.uint64(seed))
    x = h ^ (np.uint64(stream) * np.uint64(_STREAM_MULTIPLIER))
    for k in range(4):
        x, s[k] = splitmix(x)
    return s


@jit
def seed_states(seed, n):
    """The states of streams ``0..n-1`` under ``seed``, as an ``(n, 4)`` array."""
    out = np.empty((n, 4), dtype=np.uint64)
    for k in range(n):
        out[k] = seed_state(seed, k)
    return out


@inline_jit
def _unit(bits):
    """``(k + 1/2) / 2^53`` for the top 53 bits ``k`` of a 64-bit word."""
    return (np.float64(bits >> np.uint64(11)) + 0.5) * _TWO_POW_M53


@inline_jit
def uniform(s):
    """A uniform double on the open interval ``(0, 1)`` (53 bits; the state advances)."""
    return _unit(next_u64(s))


def _ziggurat_tables(n=_LAYERS):
    """Abscissae ``x[0..n]`` (``x[0] = V / f(r)`` the pseudo-width of the base strip,
    ``x[1] = r``, decreasing, ``x[n] = 0``) and ``f(x)`` for ``f(x) = exp(-x^2/2)``: every
    layer ``[0, x[i]] x [f(x[i]), f(x[i+1])]`` (``i >= 1``) and the base strip plus the tail
    beyond ``r`` have the same area ``V``. ``r`` is found by bisection so that the top layer
    closes at ``f = 1``."""
    f = lambda x: math.exp(-0.5 * x * x)  # noqa: E731
    tail = lambda r: math.sqrt(math.pi / 2.0) * math.erfc(r / math.sqrt(2.0))  # noqa: E731

    def excess(r):
        area = r * f(r) + tail(r)
        x = r
        for _ in range(n - 2):
            y = f(x) + area / x
            if y >= 1.0:
                return 1.0                      # layers close too early: r too small
            x = math.sqrt(-2.0 * math.log(y))
        return f(x) + area / x - 1.0

    lo, hi = 3.0, 4.5
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if excess(mid) > 0.0:
            lo = mid
        else:
            hi = mid
    r = 0.5 * (lo + hi)
    area = r * f(r) + tail(r)
    x = np.empty(n + 1)
    x[0], x[1], x[n] = area / f(r), r, 0.0
    for i in range(1, n - 1):
        x[i + 1] = math.sqrt(-2.0 * math.log(f(x[i]) + area / x[i]))
    fx = np.exp(-0.5 * x * x)
    return x, fx, r


ZIG_X, ZIG_F, ZIG_R = _ziggurat_tables()


@inline_jit
def normal(s):
    """One standard normal variate (ziggurat; the state advances)."""
    zx, zf = ZIG_X, ZIG_F
    while True:
        u = next_u64(s)
        i = np.int64(u & np.uint64(0xFF))
        negative = u & np.uint64(0x100)
        z = _unit(u) * zx[i]
        if z < zx[i + 1]:                               # inside the rectangle: ~98.8%
            return -z if negative else z
        if i == 0:                                      # tail beyond r (Marsaglia 1964)
            while True:
                a = -math.log(uniform(s)) / ZIG_R
                c = -math.log(uniform(s))
                if c + c > a * a:
                    z = ZIG_R + a
                    return -z if negative else z
        y = zf[i] + uniform(s) * (zf[i + 1] - zf[i])   # wedge
        if y < math.exp(-0.5 * z * z):
            return -z if negative else z


@jit
def fill_normal(s, out):
    """``out[:] =`` standard normal variates, in order (``out`` 1-D; the state advances)."""
    for k in range(out.size):
        out[k] = normal(s)
