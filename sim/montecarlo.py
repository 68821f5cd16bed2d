r"""Monte Carlo of Hebbian networks: Glauber, Metropolis and zero-temperature dynamics.

Couplings are never built. A network is a set of memory vectors ``x^mu`` (rows of
``memories``, any real entries: +-1 patterns, diluted patterns, example averages) with
weights ``w_mu``, an interaction order ``P`` and a Hamiltonian form:

* ``"distinct"`` (Hopfield for P = 2; Gardner / Bovier-Niederhauser for P > 2)::

      H = -scale * sum_mu w_mu sum_{i1 < ... < iP} x^mu_i1 sigma_i1 ... x^mu_iP sigma_iP

  With ``scale = N^{1-P}``, P = 2 and ``w = 1`` this is the AGS Hopfield model
  ``H = -(1/2N) sum_{i != j} sum_mu xi_i xi_j sigma_i sigma_j`` (``J_ii = 0``). The energy
  change of a flip, ``2 sigma_i h_i``, uses the elementary symmetric polynomial of the
  other spins, computed from the power sums ``S^mu_j = sum_i (x^mu_i)^j sigma_i`` (odd j,
  updated at each flip) by Newton's identities: O(K P^2) per attempt, O(K) for P = 2.
* ``"power"`` (Krotov-Hopfield ``F(x) = x^P``, all index tuples including the diagonal)::

      H = -scale * N * sum_mu w_mu m_mu^P ,   m_mu = (1/N) sum_i x^mu_i sigma_i .

Dynamics: ``"glauber"`` (heat bath, flip with probability ``1/(1 + e^{beta dE})``),
``"metropolis"`` (``min(1, e^{-beta dE})``), ``"zero"`` (asynchronous ``T = 0``: flip iff
``dE < -1e-12``, so rounding-level ties do not flip; stops when a whole sweep flips
nothing). A sweep visits the N sites in order (systematic scan) or in a fresh random
permutation (``site_order="random"``). The ``n_replicas`` chains run in parallel (numba
``prange``), each with its own xoshiro256** stream (``nnphys.sim._xoshiro.seed_state``
under a base drawn from ``seed`` by ``numpy.random.SeedSequence``): the same seed gives
the same chains on any number of threads.

Recorded every ``record_every`` sweeps: overlaps with every memory and archetype, the
energy per spin, and the overlaps ``q_ab = (1/N) sum_i sigma^a_i sigma^b_i`` of every pair
of chains. :meth:`MonteCarloRun.overlap` and :meth:`MonteCarloRun.mean_energy` turn the
recorded series into :class:`~nnphys.stats.Estimate` s: each chain's time average carries
its own error from its integrated autocorrelation time (:func:`nnphys.stats.time_average`),
and the chains are combined by :func:`nnphys.stats.replica_mean`.

A network is built from a spec of :mod:`nnphys.models.hebbian` by :func:`network` (the
same spec the RS theory of :mod:`nnphys.theory.hebbian` solves), or from explicit memories
by :func:`hopfield`, :func:`dense` and :func:`from_examples`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks, stats
from ..errors import ArgumentTypeError, ParameterError
from ..models.hebbian import DenseMemory, ExampleLearning, Hopfield, Multitask
from ..results import Result
from . import _montecarlo as _k
from . import _xoshiro

__all__ = ["Network", "MonteCarloRun", "network", "hopfield", "dense", "from_examples",
           "run", "energy", "DYNAMICS"]

_PARALLEL_WORK = 2_000_000        # multiply-adds per call above which chains use threads
_PAD = 64                         # int8 pattern rows are padded to a multiple of this
DYNAMICS = {"glauber": _k.GLAUBER, "metropolis": _k.METROPOLIS, "zero": _k.ZERO_T}
FORMS = {"distinct": _k.DISTINCT, "power": _k.POWER}


@dataclasses.dataclass(frozen=True)
class Network:
    """Couplings given by memories: ``memories`` (K, N), ``weights`` (K,), ``P``, ``form``,
    ``scale`` (see module docstring), optional ``archetypes`` (A, N) whose overlaps are
    recorded too (e.g. the archetypes behind example-built memories). Tables derived from
    the memories are cached on the network at its first run: do not modify its arrays."""

    memories: np.ndarray
    weights: np.ndarray
    P: int = 2
    form: str = "distinct"
    scale: float = 1.0
    archetypes: np.ndarray | None = None
    _cache: dict = dataclasses.field(default_factory=dict, init=False, repr=False,
                                     compare=False)

    def __post_init__(self):
        x = _as_memories(self.memories, "memories")
        w = checks.finite_array("weights", self.weights, ndim=1)
        if w.shape != (x.shape[0],):
            raise ParameterError(f"weights: must have shape ({x.shape[0]},) (one per memory), "
                                 f"got {w.shape}")
        set_ = object.__setattr__
        set_(self, "memories", x)
        set_(self, "weights", w)
        set_(self, "P", checks.integer("P", self.P, low=2))
        checks.one_of("form", self.form, tuple(FORMS))
        set_(self, "scale", checks.positive("scale", self.scale))
        if self.archetypes is not None:
            a = _as_memories(self.archetypes, "archetypes")
            if a.shape[1] != x.shape[1]:
                raise ParameterError(f"archetypes: must have N = {x.shape[1]} columns, got "
                                     f"{a.shape[1]}")
            set_(self, "archetypes", a)

    @property
    def N(self) -> int:
        return self.memories.shape[1]


@dataclasses.dataclass(frozen=True)
class MonteCarloRun(Result):
    """Recorded observables of a Monte Carlo run.

    Attributes:
        overlaps: (replicas, records, K) overlaps ``(1/N) sum_i x^mu_i sigma_i``.
        archetype_overlaps: (replicas, records, A).
        energy: (replicas, records) energy per spin.
        q: (records, pairs) overlaps between chains (pairs in ``itertools.combinations``
            order).
        sweeps: (records,) sweep count at each record.
        spins: (replicas, N) final configurations.
        flips: (replicas,) total accepted flips.

    Health: a ``"zero"`` (T = 0) run is a descent to a fixed point, so ``converged`` says
    whether every chain reached one and ``iterations`` counts its sweeps; Glauber and
    Metropolis runs sample, and leave ``converged``/``iterations``/``residual`` ``None``.
    """

    overlaps: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    archetype_overlaps: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    energy: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    q: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    sweeps: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, int))
    spins: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    flips: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, int))

    def _after(self, burn_in: int) -> np.ndarray:
        burn_in = checks.integer("burn_in", burn_in, low=0)
        keep = np.asarray(self.sweeps) >= burn_in
        if keep.sum() < 4:
            raise ParameterError(f"burn_in: leaves {int(keep.sum())} records, at least 4 "
                                 f"are needed for a time average")
        return keep

    def _estimate(self, series: np.ndarray) -> stats.Estimate:
        """Per-chain time averages (their errors from the autocorrelation time), combined
        over the independent chains."""
        return stats.replica_mean([stats.time_average(chain) for chain in series])

    def overlap(self, index: int = 0, *, archetype: bool = False, burn_in: int = 0,
                absolute: bool = True) -> stats.Estimate:
        """Equilibrium overlap with memory (or archetype) ``index``: the time average over
        the records at sweeps ``>= burn_in``, of ``|m|`` with ``absolute`` (the sign of a
        retrieved state is a gauge)."""
        table = self.archetype_overlaps if archetype else self.overlaps
        index = checks.integer("index", index, low=0, high=table.shape[-1] - 1)
        series = table[:, self._after(burn_in), index]
        return self._estimate(np.abs(series) if absolute else series)

    def mean_energy(self, *, burn_in: int = 0) -> stats.Estimate:
        """Equilibrium energy per spin over the records at sweeps ``>= burn_in``."""
        return self._estimate(self.energy[:, self._after(burn_in)])


# ------------------------------------------------------------------ networks

def _check_network(network):
    if not isinstance(network, Network):
        raise ArgumentTypeError(f"network: must be a Network (from hopfield, dense, "
                                f"from_examples or network), got {type(network).__name__}")


def _as_memories(x, name):
    x = np.ascontiguousarray(checks.finite_array(name, x))
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 2 or not np.all(np.isfinite(x)):
        raise ParameterError(f"{name}: expected a finite (K, N) array with K >= 1, N >= 2, "
                             f"got shape {x.shape}")
    return x


def network(model, N: int, seed=0) -> Network:
    """The network of a spec of :mod:`nnphys.models.hebbian` at size ``N``, its quenched
    disorder (patterns, examples) drawn from ``seed``:

    * :class:`~nnphys.models.hebbian.Hopfield`, :class:`~nnphys.models.hebbian.Multitask`:
      :func:`hopfield` on the spec's patterns;
    * :class:`~nnphys.models.hebbian.DenseMemory`: :func:`dense` with the spec's
      Hamiltonian (:meth:`~nnphys.models.hebbian.DenseMemory.hamiltonian`: ``"distinct"``,
      ``"all-index"`` as form ``"power"`` with scale ``1/P!``, ``"theriault-tantari"`` as the
      distinct form scaled by ``P!``);
    * :class:`~nnphys.models.hebbian.ExampleLearning`: :func:`from_examples` on the spec's
      examples, the archetypes recorded.

    Simulate at the spec's temperature with ``run(net, model.T, ...)``; the theory's load
    at this size is ``model.at_size(N)`` (integer pattern counts).
    """
    checks.integer("N", N, low=2, high=checks.MEMORY_LIMIT)
    checks.seed(seed)
    if isinstance(model, (Hopfield, Multitask)):
        return hopfield(model.patterns(N, seed))
    if isinstance(model, DenseMemory):
        form, scale = model.hamiltonian(N)
        return dense(model.patterns(N, seed), model.P, form, scale)
    if isinstance(model, ExampleLearning):
        xi, eta = model.examples(N, seed)
        return from_examples(eta, model.P, model.supervised, archetypes=xi)
    raise ArgumentTypeError(f"model: a spec of nnphys.models.hebbian, got "
                            f"{type(model).__name__}")


def hopfield(patterns) -> Network:
    """AGS Hopfield network: ``J_ij = (1/N) sum_mu xi_i xi_j``, ``J_ii = 0``."""
    x = _as_memories(patterns, "patterns")
    return Network(x, np.ones(x.shape[0]), 2, "distinct", 1.0 / x.shape[1])


def dense(patterns, P: int, form: str = "distinct", scale: float | None = None) -> Network:
    """P-body network; ``scale`` defaults to ``N^{1-P}`` (distinct) or ``1/P!`` (power)."""
    x = _as_memories(patterns, "patterns")
    # 1/P! and N^(1-P) leave float64 beyond P = 170 (and P! is unbounded work)
    P = checks.integer("P", P, low=2, high=170)
    checks.one_of("form", form, tuple(FORMS))
    if scale is not None:
        scale = checks.positive("scale", scale)
    else:
        scale = float(x.shape[1]) ** (1 - P) if form == "distinct" else 1 / math.factorial(P)
        if scale == 0:
            raise ParameterError(f"P: the default scale underflows at P = {P}, "
                                 f"N = {x.shape[1]}; pass scale=")
    return Network(x, np.ones(x.shape[0]), int(P), form, float(scale))


def from_examples(examples, P: int, supervised: bool, archetypes=None, scale=None) -> Network:
    """Dense Hebbian network built from examples ``eta`` of shape (K, M, N).

    Supervised: one memory per class, the example mean ``eta_bar^mu``; unsupervised: every
    example is a memory with weight ``1/M``. Memories are divided by ``sqrt(R)``, ``R`` the
    mean of ``eta_bar^2`` (supervised) or ``eta^2`` (unsupervised, = 1 for +-1 examples),
    so that the couplings are those of :func:`dense` on unit-scale memories.
    """
    eta = checks.finite_array("examples", examples)
    if eta.ndim != 3 or eta.size == 0 or eta.shape[2] < 2:
        raise ParameterError(f"examples: expected shape (K, M, N) with K, M >= 1, N >= 2, "
                             f"got {eta.shape}")
    if not isinstance(supervised, (bool, np.bool_)):
        raise ArgumentTypeError(f"supervised: must be True or False, got "
                                f"{type(supervised).__name__}")
    K, M, N = eta.shape
    if supervised:
        mem = eta.mean(axis=1)
        weights = np.ones(K)
    else:
        mem = eta.reshape(K * M, N)
        weights = np.full(K * M, 1.0 / M)
    R = float(np.mean(mem ** 2))
    if not 0 < R < math.inf:
        raise ParameterError("examples: their mean square must be finite and > 0")
    net = dense(mem / math.sqrt(R), P, "distinct", scale)
    arch = None if archetypes is None else _as_memories(archetypes, "archetypes")
    return dataclasses.replace(net, weights=weights, archetypes=arch)


# ------------------------------------------------------------------ energy

def _energy_from_sums(network: Network, p) -> np.ndarray:
    """Energy per spin from power sums ``p[..., mu, j] = sum_i (x^mu_i sigma_i)^j``."""
    w, P, n = network.weights, network.P, network.N
    if network.form == "power":
        return -network.scale * np.sum(w * (p[..., 1] / n) ** P, axis=-1)
    e = [np.ones(p.shape[:-1])]
    for k in range(1, P + 1):
        e.append(sum((-1) ** (j - 1) * e[k - j] * p[..., j] for j in range(1, k + 1)) / k)
    return -network.scale * np.sum(w * e[P], axis=-1) / n


def energy(network: Network, spins) -> np.ndarray:
    """Energy per spin of configurations ``spins`` (..., N), from the pattern power sums
    (Newton's identities for the distinct-index form)."""
    _check_network(network)
    s = checks.finite_array("spins", spins)
    x, P = network.memories, network.P
    if s.ndim < 1 or s.shape[-1] != x.shape[1]:
        raise ParameterError(f"spins: must have shape (..., {x.shape[1]}), got {s.shape}")
    if np.any(np.abs(s) > 1):
        raise ParameterError("spins: entries must be in [-1, 1]")
    p = np.zeros(s.shape[:-1] + (x.shape[0], P + 1))
    for j in range(1, P + 1):
        p[..., j] = (s ** j) @ (x ** j).T
    return _energy_from_sums(network, p)


def _tables(network: Network) -> dict:
    """Per-network tables, built once and cached on the (frozen) network: transposed
    memories and archetypes, odd powers (for P > 2), even power sums, and for pairwise
    couplings the weighted table ``x w scale`` and the removed diagonal."""
    cache = network._cache
    if not cache:
        x, w, P, n = network.memories, network.weights, network.P, network.N
        arch = network.archetypes if network.archetypes is not None else np.zeros((0, n))
        xt = np.ascontiguousarray(x.T)
        cache["xt"], cache["at"] = xt, np.ascontiguousarray(arch.T)
        cache["odd_t"] = [xt] + [np.ascontiguousarray(xt ** (2 * l + 1))
                                 for l in range(1, (P + 1) // 2)]
        even = np.zeros((x.shape[0], P + 1))
        for j in range(0, P + 1, 2):
            even[:, j] = (x ** j).sum(axis=1)
        cache["even"] = even
        pm1 = bool(np.all(np.abs(x) == 1))
        # +-1 memories, distinct-index form: e_{P-1} of the other spins from a table of
        # their integer sum (one lookup per memory and attempt)
        cache["etab"] = _k.elementary_table(n, P) if pm1 and P > 2 and \
            network.form == "distinct" else np.zeros(0)
        if P == 2 and network.form == "distinct":
            cache["xwt"] = np.ascontiguousarray(xt * (w * network.scale))
            cache["selfc"] = (xt ** 2) @ w * network.scale
            if pm1 and np.all(w == w[0]) and x.size < 2 ** 31:
                # +-1 table: int8 rows padded with zeros to a multiple of 64 entries (no
                # scalar remainder in the vectorised dot product); the pattern sums
                # |S_mu| <= N are exact integers, int16 up to N = 32767
                padded = -(-xt.shape[1] // _PAD) * _PAD
                cache["xt8"] = np.zeros((n, padded), np.int8)
                cache["xt8"][:, :xt.shape[1]] = xt
                cache["sums_dtype"] = np.int16 if n < 2 ** 15 else np.int32
    return cache


def _rng_states(seed, n_replicas):
    """xoshiro states of the chains: streams ``0..n-1`` of ``_xoshiro.seed_states`` under a
    63-bit base drawn from child 1 of SeedSequence(seed) (child 0 draws the initial
    configurations)."""
    word = np.random.SeedSequence(seed).spawn(2)[1].generate_state(1, np.uint64)[0]
    return _xoshiro.seed_states(int(word >> np.uint64(1)), n_replicas)


def _initial_spins(init, network, n_replicas, rng):
    n = network.N
    if isinstance(init, str):
        if init == "random":
            return rng.choice(np.array([-1.0, 1.0]), size=(n_replicas, n))
        source, _, index = init.partition(":")
        table = {"pattern": network.memories, "archetype": network.archetypes}.get(source)
        if table is None or not index.isdigit() or int(index) >= table.shape[0]:
            raise ParameterError(f"init: 'random', 'pattern:<k>' or 'archetype:<k>' with k "
                                 f"in range, got {init!r}")
        row = np.sign(table[int(index)])
        zeros = row == 0
        spins = np.tile(row, (n_replicas, 1))
        spins[:, zeros] = rng.choice(np.array([-1.0, 1.0]), size=(n_replicas, int(zeros.sum())))
        return spins
    spins = np.array(checks.finite_array("init", init))
    if spins.shape == (n,):
        spins = np.tile(spins, (n_replicas, 1))
    if spins.shape != (n_replicas, n) or not np.all(np.abs(spins) == 1):
        raise ParameterError(f"init: +-1 array of shape ({n},) or ({n_replicas}, {n})")
    return spins


def run(network: Network, T: float, n_sweeps: int, *, dynamics: str = "glauber",
        n_replicas: int = 2, init="pattern:0", seed=0, record_every: int = 1,
        flip_fraction: float = 0.0, site_order: str = "sequential") -> MonteCarloRun:
    """Run ``n_replicas`` independent chains for ``n_sweeps`` sweeps.

    Args:
        network: from :func:`hopfield`, :func:`dense` or :func:`from_examples`.
        T: temperature (ignored by ``dynamics="zero"``), >= 0.
        dynamics: ``"glauber"``, ``"metropolis"`` or ``"zero"`` (T = 0 descent); the keys of
            :data:`DYNAMICS`.
        n_sweeps: sweeps (N attempted flips each); with ``"zero"`` the run stops early at
            a fixed point (``record_every`` sweeps without a flip in any chain).
        n_replicas: independent chains (>= 1).
        init: ``"pattern:k"``, ``"archetype:k"``, ``"random"`` or a +-1 array.
        flip_fraction: fraction of initial spins flipped at random (a noisy cue).
        seed: int or SeedSequence entropy; fixes the initial state and every chain's stream.
        record_every: sweeps between recorded overlaps.
        site_order: ``"sequential"`` (systematic scan 0..N-1: every single-site update
            keeps the Boltzmann distribution, and the pattern table streams through memory,
            about 3x faster for large N K) or ``"random"`` (a fresh permutation per sweep).

    Returns:
        :class:`MonteCarloRun`; for a ``"zero"`` run ``converged`` says whether it reached
        a fixed point and ``iterations`` its sweeps (``None`` for sampling dynamics).
    """
    _check_network(network)
    if isinstance(checks.seed(seed), np.random.Generator):
        raise ArgumentTypeError("seed: an int, a sequence of ints or a SeedSequence (the "
                                "chains' streams are spawned from it), got a Generator")
    checks.one_of("dynamics", dynamics, tuple(DYNAMICS))
    T = checks.real("T", T, low=0.0)
    if T == 0 and dynamics != "zero":
        raise ParameterError(f"T: > 0 for {dynamics} dynamics (use dynamics='zero' for T = 0),"
                             f" got {T!r}")
    n_sweeps = checks.integer("n_sweeps", n_sweeps, low=1)
    n_replicas = checks.integer("n_replicas", n_replicas, low=1)
    record_every = checks.integer("record_every", record_every, low=1)
    checks.work("n_sweeps * n_replicas",
                float(n_sweeps) * n_replicas * network.N * network.memories.shape[0],
                what="spin updates x patterns")
    checks.one_of("site_order", site_order, ("sequential", "random"))
    shuffle = site_order == "random"
    flip_fraction = checks.probability("flip_fraction", flip_fraction)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(n_replicas + 1)[0])
    spins = _initial_spins(init, network, n_replicas, rng)
    if flip_fraction > 0:
        spins *= np.where(rng.random(spins.shape) < flip_fraction, -1.0, 1.0)
    states = _rng_states(seed, n_replicas)
    x, w, n, P = network.memories, network.weights, network.N, network.P
    tab = _tables(network)
    xt, at, even = tab["xt"], tab["at"], tab["even"]
    SA = spins @ tab["at"]
    beta = 0.0 if dynamics == "zero" else 1.0 / T
    code = DYNAMICS[dynamics]
    pairwise = P == 2 and network.form == "distinct"
    S = np.stack([spins @ xj for xj in tab["odd_t"]], axis=-1)
    if pairwise:
        xwt, selfc = tab["xwt"], tab["selfc"]
        S = np.ascontiguousarray(S[..., 0])
    sums = np.zeros((n_replicas, x.shape[0], P + 1))
    sums[..., 0::2] = even[:, 0::2]
    records = []
    done, flips_total, converged = 0, np.zeros(n_replicas, np.int64), None
    flips = flips_total
    pairs = [(a, b) for a in range(n_replicas) for b in range(a + 1, n_replicas)]

    def record():
        odd = S[..., None] if pairwise else S
        sums[..., 1::2] = odd[..., :(P + 1) // 2]
        q = np.array([spins[a] @ spins[b] / n for a, b in pairs])
        records.append((done, odd[..., 0] / n, SA / n, _energy_from_sums(network, sums), q))
    record()
    while done < n_sweeps:
        step = min(record_every, n_sweeps - done)
        threads = n_replicas > 1 and step * n * x.shape[0] * P * P >= _PARALLEL_WORK
        if pairwise:
            kernel = _k.pairwise_sweeps_parallel if threads else _k.pairwise_sweeps
            if "xt8" in tab:                                   # +-1 table: exact sums
                S_int = np.zeros((n_replicas, tab["xt8"].shape[1]), tab["sums_dtype"])
                S_int[:, :x.shape[0]] = np.rint(S)
                flips = kernel(tab["xt8"], float(w[0] * network.scale), tab["xt8"], selfc,
                               at, spins, S_int, SA, states, beta, code, step, shuffle)
                S[...] = S_int[:, :x.shape[0]]
            else:
                flips = kernel(xwt, 1.0, xt, selfc, at, spins, S, SA, states, beta, code,
                               step, shuffle)
        else:
            kernel = _k.dense_sweeps_parallel if threads else _k.dense_sweeps
            flips = kernel(xt, w, even, at, spins, S, SA, states, beta, code, step, P,
                           FORMS[network.form], network.scale, shuffle, tab["etab"])
        done += step
        flips_total += flips
        record()
        if code == _k.ZERO_T and not np.any(flips):
            break
    if code == _k.ZERO_T:
        converged = bool(not np.any(flips))
    sweeps, m, ma, e, q = (np.array(v) for v in zip(*records))
    return MonteCarloRun(
        converged=converged, iterations=int(done) if code == _k.ZERO_T else None,
        parameters={"T": float(T), "n_sweeps": int(n_sweeps), "dynamics": dynamics,
                    "n_replicas": int(n_replicas), "seed": seed if isinstance(seed, int) else None,
                    "N": n, "K": int(x.shape[0]), "P": int(P), "form": network.form},
        overlaps=np.moveaxis(m, 0, 1), archetype_overlaps=np.moveaxis(ma, 0, 1),
        energy=np.moveaxis(e, 0, 1), q=q.reshape(len(records), len(pairs)), sweeps=sweeps,
        spins=spins.copy(), flips=flips_total)
