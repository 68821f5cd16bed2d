"""The xoshiro256** generator and its splitmix64 seeding, shared by the numba kernels
(private). D. Blackman, S. Vigna, "Scrambled linear pseudorandom number generators",
ACM TOMS 47 (2021), arXiv:1805.01407. A state is a ``uint64[4]`` array advanced in place,
so every chain / network / seed owns its stream and results do not depend on threads."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def rotl(x, k):  # pragma: no cover - compiled
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True, inline="always")
def splitmix(x):  # pragma: no cover - compiled
    """splitmix64: the advanced counter and the next 64-bit output."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x, z ^ (z >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def next_u64(s):  # pragma: no cover - compiled
    """xoshiro256**: the next 64-bit output; the state ``s`` is advanced in place."""
    result = rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 45)
    return result
