r"""Hebbian networks described once: the specs that the RS theory
(:mod:`nnphys.theory.hebbian`) and the Monte Carlo (:mod:`nnphys.sim.montecarlo`) both read.

Each spec is a frozen dataclass that validates its arguments (:mod:`nnphys.checks`) and can
draw its quenched disorder (patterns, examples) at a finite size ``N`` from a ``seed``, so
that a validation check is "one spec, handed to the theory and to the simulation"::

    spec = Hopfield(alpha=0.05, T=0.3)
    hopfield.solve(spec).m                                  # RS theory, N -> infinity
    net = montecarlo.network(spec, N=2000, seed=0)          # the same model at N = 2000

Load. ``alpha`` is the number of stored patterns over ``N^{P-1}`` (``K = alpha N^{P-1}``;
``P = 2``: the Hopfield load ``p/N``); at finite ``N`` the integer pattern count is
``K = max(1, round(alpha N^{P-1}))`` and :meth:`Hopfield.at_size` returns the spec of the load
actually realised, ``K / N^{P-1}``, which is what the theory should be evaluated at.

Models and their papers:

* :class:`Hopfield` -- AGS: ``J_ij = (1/N) sum_mu xi^mu_i xi^mu_j``, ``J_ii = 0``, unbiased
  +-1 patterns (Amit, Gutfreund, Sompolinsky, PRL 55, 1530 (1985); Ann. Phys. 173, 30 (1987)).
* :class:`DenseMemory` -- P-body memories in one of three named normalisations
  (:data:`CONVENTIONS`): ``"distinct"`` (Gardner, J. Phys. A 20, 3453 (1987); Bovier &
  Niederhauser, arXiv:cond-mat/0108235), ``"all-index"`` (Krotov & Hopfield,
  arXiv:1606.01164, ``F(x) = x^P``), ``"theriault-tantari"`` (field ``P m^{P-1}``, cross-talk
  ``alpha P q^{P-1}``; Albanese et al., arXiv:2111.12997).
* :class:`ExampleLearning` -- archetypes learned from ``M`` noisy examples of quality ``r``
  each, supervised or unsupervised (Agliari, Albanese, Alemanno, Alessandrelli, Barra,
  Giannotti, Lotito, Pedreschi, arXiv:2211.14067, arXiv:2212.00606): dataset entropy
  ``rho = (1 - r^2)/(M r^2)`` and cross-talk inflation ``kappa``.
* :class:`Multitask` -- ``K`` diluted patterns, ``P(xi = 0) = d`` (Agliari, Barra, Galluzzi,
  Guerra, Moauro, PRL 109, 268101 (2012), arXiv:1111.5191).
* :class:`ExponentialMemory` -- ``K = e^{alpha N}`` patterns with the log-sum-exp energy
  ``E = -(1/lam) ln sum_mu exp(lam xi^mu . sigma)`` (Demircigil et al., arXiv:1702.01929, at
  ``lam = 1``; Ramsauer et al., arXiv:2008.02217; Lucibello & Mezard, arXiv:2304.14964) or
  the polynomial ``F(x) = x^n`` of Krotov & Hopfield (arXiv:1606.01164).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, ParameterError

__all__ = ["CONVENTIONS", "Hopfield", "DenseMemory", "ExampleLearning", "Multitask",
           "ExponentialMemory", "PATTERN_LAWS", "INTERACTIONS", "dataset_entropy", "kappa"]

#: the normalisations of the P-body Hamiltonian (see :class:`DenseMemory`)
CONVENTIONS = ("distinct", "all-index", "theriault-tantari")


def _rng(seed) -> np.random.Generator:
    seed = checks.seed(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _pattern_count(alpha: float, N: int, P: int) -> int:
    return max(1, int(round(alpha * float(N) ** (P - 1))))


def _spins(rng: np.random.Generator, shape) -> np.ndarray:
    checks.work("N", float(np.prod(shape, dtype=float)), checks.MEMORY_LIMIT,
                what="pattern entries")
    return rng.choice(np.array([-1.0, 1.0]), size=shape)


@dataclasses.dataclass(frozen=True)
class Hopfield:
    """The AGS Hopfield model at load ``alpha = p/N >= 0`` and temperature ``T >= 0``."""

    alpha: float = 0.0
    T: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "alpha", checks.real("alpha", self.alpha, low=0.0))
        object.__setattr__(self, "T", checks.real("T", self.T, low=0.0))

    P = 2

    def n_patterns(self, N: int) -> int:
        """``p = max(1, round(alpha N))`` patterns at size ``N``."""
        return _pattern_count(self.alpha, checks.integer("N", N, low=2), 2)

    def at_size(self, N: int) -> "Hopfield":
        """The spec at the load realised by an integer number of patterns at size ``N``."""
        return dataclasses.replace(self, alpha=self.n_patterns(N) / N)

    def patterns(self, N: int, seed=0) -> np.ndarray:
        """``(p, N)`` unbiased +-1 patterns."""
        return _spins(_rng(seed), (self.n_patterns(N), N))


@dataclasses.dataclass(frozen=True)
class DenseMemory:
    """P-body associative memory: ``K = alpha N^{P-1}`` unbiased +-1 patterns, order
    ``P >= 2``, temperature ``T``, Hamiltonian normalisation ``convention``:

    * ``"distinct"``: ``H = -N^{1-P} sum_mu sum_{i1<...<iP} xi^mu_i1 ... xi^mu_iP
      sigma_i1 ... sigma_iP`` (P = 2: AGS);
    * ``"all-index"``: ``H = -(N/P!) sum_mu m_mu^P`` (all index tuples, the diagonal included);
    * ``"theriault-tantari"``: field ``P m^{P-1}``, cross-talk variance ``alpha P q^{P-1}``
      (loads counted so that ``alpha_c = P gamma_c``). Matching the field and the cross-talk
      of the distinct form, this is the distinct Hamiltonian scaled by ``P!`` with
      ``K = alpha N^{P-1} / P!`` patterns (so ``(alpha, T)`` here is ``(alpha/P!, T/P!)``
      there; P = 2: AGS at ``(alpha/2, T/2)``), which is how it is simulated.
    """

    alpha: float = 0.0
    T: float = 0.0
    P: int = 3
    convention: str = "distinct"

    def __post_init__(self):
        object.__setattr__(self, "alpha", checks.real("alpha", self.alpha, low=0.0))
        object.__setattr__(self, "T", checks.real("T", self.T, low=0.0))
        object.__setattr__(self, "P", checks.integer("P", self.P, low=2))
        checks.one_of("convention", self.convention, CONVENTIONS)

    @property
    def _per_pattern(self) -> float:
        """Load per pattern and per ``N^{1-P}``: 1, or ``P!`` (theriault-tantari)."""
        return math.factorial(self.P) if self.convention == "theriault-tantari" else 1.0

    def n_patterns(self, N: int) -> int:
        """``K = max(1, round(alpha N^{P-1}))`` (divided by ``P!`` for theriault-tantari)."""
        N = checks.integer("N", N, low=self.P)
        return _pattern_count(self.alpha / self._per_pattern, N, self.P)

    def at_size(self, N: int) -> "DenseMemory":
        """The spec at the load realised by an integer ``K`` at size ``N``."""
        K = self.n_patterns(N)
        return dataclasses.replace(self, alpha=K * self._per_pattern / float(N) ** (self.P - 1))

    def patterns(self, N: int, seed=0) -> np.ndarray:
        """``(K, N)`` unbiased +-1 patterns."""
        return _spins(_rng(seed), (self.n_patterns(N), N))

    def hamiltonian(self, N: int) -> tuple[str, float]:
        """The simulated Hamiltonian ``(form, scale)`` of :mod:`nnphys.sim.montecarlo` at
        size ``N``: ``("distinct", N^{1-P})``, ``("power", 1/P!)`` (all-index) or
        ``("distinct", P! N^{1-P})`` (theriault-tantari)."""
        N = checks.integer("N", N, low=self.P)
        if self.convention == "all-index":
            return "power", 1.0 / math.factorial(self.P)
        return "distinct", self._per_pattern * float(N) ** (1 - self.P)


def dataset_entropy(r, M):
    """``rho = (1 - r^2) / (M r^2)`` for ``0 < r <= 1``, ``M >= 1`` (arrays broadcast)."""
    r, M = checks.finite_array("r", r), checks.finite_array("M", M)
    if (np.any(~np.isfinite(r)) or np.any((r <= 0) | (r > 1)) or np.any(~np.isfinite(M))
            or np.any(M < 1)):
        raise ParameterError(f"r, M: need 0 < r <= 1 (example quality) and M >= 1 "
                             f"(examples per archetype), got r={r}, M={M}")
    return (1 - r ** 2) / (M * r ** 2)


def kappa(P: int, r, M, supervised: bool):
    """Cross-talk inflation: 1 (supervised), ``[1/M + (1 - 1/M) r^{2P}] / R^P`` with
    ``R = r^2 (1 + rho)`` (unsupervised: the ``K M`` stored examples are correlated)."""
    rho = dataset_entropy(r, M)
    P = checks.integer("P", P, low=1)
    if not isinstance(supervised, (bool, np.bool_)):
        raise ArgumentTypeError(f"supervised: must be True or False, got "
                                f"{type(supervised).__name__}")
    if supervised:
        return np.ones_like(rho)
    r, M = np.asarray(r, float), np.asarray(M, float)
    R = r ** 2 * (1 + rho)
    return (1 / M + (1 - 1 / M) * r ** (2 * P)) / R ** P


@dataclasses.dataclass(frozen=True)
class ExampleLearning:
    """Dense Hebbian learning of ``K = alpha N^{P-1}`` archetypes from examples.

    Give the dataset either as ``r`` (example quality, ``P(chi = +1) = (1 + r)/2``) and ``M``
    (examples per archetype), from which ``rho`` and ``kappa`` follow, or directly as the
    dataset entropy ``rho`` (and ``kappa``, 1 for supervised learning) for the theory alone.
    """

    alpha: float = 0.0
    T: float = 0.0
    P: int = 3
    rho: float | None = None
    kappa: float | None = None
    r: float | None = None
    M: int | None = None
    supervised: bool = True

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("alpha", checks.real("alpha", self.alpha, low=0.0))
        set_("T", checks.real("T", self.T, low=0.0))
        set_("P", checks.integer("P", self.P, low=2))
        if not isinstance(self.supervised, (bool, np.bool_)):
            raise ParameterError(f"supervised: True or False, got {self.supervised!r}")
        if (self.r is None) != (self.M is None):
            raise ParameterError("r, M: give both (the dataset) or neither (rho directly)")
        if self.r is not None:
            if self.rho is not None or self.kappa is not None:
                raise ParameterError("rho, kappa: follow from r and M; do not give them too")
            set_("r", checks.real("r", self.r, low=0.0, high=1.0, low_open=True))
            set_("M", checks.integer("M", self.M, low=1))
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # checked next
                set_("rho", float(dataset_entropy(self.r, self.M)))
                set_("kappa", float(kappa(self.P, self.r, self.M, bool(self.supervised))))
            if not (math.isfinite(self.rho) and math.isfinite(self.kappa) and self.kappa > 0):
                raise ParameterError(f"r: too small for double precision: rho = (1 - r^2)/"
                                     f"(M r^2) = {self.rho}, kappa = {self.kappa}")
        else:
            set_("rho", checks.real("rho", 0.0 if self.rho is None else self.rho, low=0.0))
            if self.kappa is None and not self.supervised:
                raise ParameterError("kappa: unsupervised learning without r, M needs kappa")
            set_("kappa", checks.positive("kappa", 1.0 if self.kappa is None else self.kappa))

    def n_archetypes(self, N: int) -> int:
        """``K = max(1, round(alpha N^{P-1}))``."""
        return _pattern_count(self.alpha, checks.integer("N", N, low=self.P), self.P)

    def examples(self, N: int, seed=0) -> tuple[np.ndarray, np.ndarray]:
        """``(archetypes (K, N), examples (K, M, N))`` with ``eta = xi chi``,
        ``P(chi = +1) = (1 + r)/2``."""
        if self.r is None:
            raise ParameterError("r, M: sampling examples needs the dataset (r, M)")
        rng = _rng(seed)
        K = self.n_archetypes(N)
        checks.work("K * M * N", float(K) * self.M * N, checks.MEMORY_LIMIT, what="example entries")
        xi = _spins(rng, (K, N))
        chi = np.where(rng.random((K, self.M, N)) < (1 + self.r) / 2, 1.0, -1.0)
        return xi, xi[:, None, :] * chi


@dataclasses.dataclass(frozen=True)
class Multitask:
    """``K`` (low storage, ``1 <= K <= 12``) diluted patterns with ``P(xi = 0) = d``,
    ``P(xi = +-1) = (1 - d)/2``, Hebbian couplings ``J = (1/N) sum_k xi^k xi^k``, temperature
    ``T``."""

    d: float = 0.0
    T: float = 0.0
    K: int = 2

    def __post_init__(self):
        object.__setattr__(self, "d", checks.real("d", self.d, low=0.0, high=1.0,
                                                  high_open=True))
        object.__setattr__(self, "T", checks.real("T", self.T, low=0.0))
        object.__setattr__(self, "K", checks.integer("K", self.K, low=1, high=12))

    def patterns(self, N: int, seed=0) -> np.ndarray:
        """``(K, N)`` diluted patterns."""
        N = checks.integer("N", N, low=2)
        checks.work("K * N", float(self.K) * N, checks.MEMORY_LIMIT, what="pattern entries")
        p = [(1 - self.d) / 2, self.d, (1 - self.d) / 2]
        return _rng(seed).choice(np.array([-1.0, 0.0, 1.0]), p=p, size=(self.K, N))


#: pattern ensembles of :class:`ExponentialMemory`
PATTERN_LAWS = ("binary", "spherical", "gaussian")
#: interaction functions of :class:`ExponentialMemory`
INTERACTIONS = ("exp", "polynomial")


@dataclasses.dataclass(frozen=True)
class ExponentialMemory:
    """Dense associative memory with ``K = e^{alpha N}`` patterns (``interaction="exp"``) or
    ``K = alpha N^{n-1}`` patterns (``interaction="polynomial"``, ``F(x) = x^n``).

    * ``"exp"``: ``E(sigma) = -(1/lam) ln sum_mu exp(lam xi^mu . sigma)`` (the dot product
      unnormalised, so ``lam = 1`` is Demircigil's ``F(x) = e^x``; the zero-temperature
      dynamics of ``-sum_mu e^{xi.sigma}`` and of its logarithm are the same);
    * ``"polynomial"``: ``E(sigma) = -sum_mu (xi^mu . sigma)^n`` (Krotov & Hopfield).

    ``patterns``: ``"binary"`` (+-1 entries, spins +-1), ``"spherical"`` (uniform on the
    sphere ``|xi|^2 = N``) or ``"gaussian"`` (i.i.d. standard normal entries); the state of
    a continuous memory lives on the sphere ``|sigma|^2 = N``. ``T``: temperature of the
    spin dynamics.
    """

    alpha: float = 0.0
    T: float = 0.0
    lam: float = 1.0
    patterns: str = "binary"
    interaction: str = "exp"
    n: int = 3

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("alpha", checks.real("alpha", self.alpha, low=0.0))
        set_("T", checks.real("T", self.T, low=0.0))
        set_("lam", checks.real("lam", self.lam, low=0.0, low_open=True))
        checks.one_of("patterns", self.patterns, PATTERN_LAWS)
        checks.one_of("interaction", self.interaction, INTERACTIONS)
        set_("n", checks.integer("n", self.n, low=2))
        if self.interaction == "polynomial" and self.patterns != "binary":
            raise ParameterError("patterns: the polynomial interaction is for binary patterns")

    def n_patterns(self, N: int) -> int:
        """``K = max(1, round(e^{alpha N}))`` (exp) or ``max(1, round(alpha N^{n-1}))``."""
        N = checks.integer("N", N, low=2)
        if self.interaction == "polynomial":
            return _pattern_count(self.alpha, N, self.n)
        log_k = self.alpha * N
        checks.work("N", math.exp(min(log_k, 700.0)), checks.MEMORY_LIMIT, what="patterns")
        return max(1, int(round(math.exp(log_k))))

    def at_size(self, N: int) -> "ExponentialMemory":
        """The spec at the load realised by the integer ``K`` at size ``N``."""
        K = self.n_patterns(N)
        if self.interaction == "polynomial":
            return dataclasses.replace(self, alpha=K / float(N) ** (self.n - 1))
        return dataclasses.replace(self, alpha=math.log(K) / N)

    def patterns_at(self, N: int, seed=0) -> np.ndarray:
        """``(K, N)`` patterns as float64 (binary: +-1; spherical: rows of norm sqrt(N))."""
        rng = _rng(seed)
        shape = (self.n_patterns(N), checks.integer("N", N, low=2))
        if self.patterns == "binary":
            return _spins(rng, shape)
        checks.work("N", float(np.prod(shape, dtype=float)), checks.MEMORY_LIMIT,
                    what="pattern entries")
        x = rng.standard_normal(shape)
        if self.patterns == "spherical":
            x *= math.sqrt(shape[1]) / np.linalg.norm(x, axis=1, keepdims=True)
        return x
