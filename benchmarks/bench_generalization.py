"""Speed of the spectral learning curve and of the sphere spectra (theory.generalization).

    python -m nnphys.benchmarks.bench_generalization [--quick]

1. The kappa solve and E_g for 10^6 modes (``lambda_i = i^-1.5``, ``v_i^2 = i^-1.2``, ridge
   ``1e-8``, noise 0.01) over 100 values of P in [10, 10^5], against the straightforward
   peer: ``scipy.optimize.brentq`` on (K) in ``log kappa`` for each P (xtol 1e-13), then E0
   and E_g by numpy sums (issue target: >= 20x).
2. Funk-Hecke eigenvalues of the one-hidden-layer ReLU NTK to degree 200 in d = 100,
   against ``scipy.integrate.quad`` of ``Theta(t) P_k(t) (1 - t^2)^{(d-3)/2}`` per degree
   (closed-form Theta, ``P_k`` by ``scipy.special.eval_gegenbauer``; issue target >= 10x
   at the same accuracy). Like for like: quad is
   asked for the accuracy ours delivers (``epsrel = 1e-13``, ``epsabs = 0``, ``limit =
   200``), and the accuracy each achieves is printed: ours, the largest relative error
   bound over all degrees; quad, its error estimate over the degrees it resolves (its
   absolute floor, ~1e-17 of the weight, leaves every degree with ``lambda_k`` below it
   unresolved).
Both sides are timed warm (one untimed call first: numba's cache load, quad's set-up) and
as the best of ``--repeat`` runs (the machine is shared). Ends with one JSON line.
"""

import argparse
import json
import math
import time
import warnings

import numpy as np
from scipy import integrate, optimize, special

from nnphys.theory import kernels as nk
from nnphys.theory.generalization import spectral_learning_curve, sphere_spectrum


def _peer_curve(lam, v2, P, ridge, noise):
    out = []
    for n in P:
        f = lambda x: np.sum(lam / (lam + math.exp(x))) + ridge / math.exp(x) - n  # noqa
        k = math.exp(optimize.brentq(f, -80.0, 20.0, xtol=1e-13))
        L = lam / (lam + k)
        e0 = n / (n - np.sum(L * L))
        out.append(e0 * (np.sum((1 - L) ** 2 * v2) + noise) - noise)
    return np.array(out)


def _theta(t, d):
    th = np.arccos(np.clip(t, -1, 1))
    return ((np.sqrt(1 - t * t) + (np.pi - th) * t) / np.pi + t * (np.pi - th) / np.pi) / (2 * d)


def _peer_sphere(d, k_max):
    cd = math.exp(math.lgamma(d / 2) - 0.5 * math.log(math.pi) - math.lgamma((d - 1) / 2))
    a = 0.5 * (d - 2)
    lam, err = [], []
    for k in range(k_max + 1):
        norm = special.eval_gegenbauer(k, a, 1.0)                   # P_k(1) = 1
        v, e = integrate.quad(lambda t: _theta(t, d) * special.eval_gegenbauer(k, a, t) / norm
                              * (1 - t * t) ** ((d - 3) / 2), -1, 1, limit=200,
                              epsabs=0.0, epsrel=1e-13)
        lam.append(cd * v)
        err.append(cd * e)
    return np.array(lam), np.array(err)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    def best(fn):
        """Best wall time of ``args.repeat`` warm runs and the last result."""
        out = fn()
        times = []
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - start)
        return min(times), out

    report = {}
    M = 10 ** 5 if args.quick else 10 ** 6
    lam = np.arange(1, M + 1.0) ** -1.5
    v2 = np.arange(1, M + 1.0) ** -1.2
    P = np.geomspace(10, 1e5 if not args.quick else 1e4, 100)
    ours, curve = best(lambda: spectral_learning_curve(lam, v2, P, ridge=1e-8, noise=0.01))
    sub = P[::10]
    peer, ref = best(lambda: _peer_curve(lam, v2, sub, 1e-8, 0.01))
    peer *= P.size / sub.size
    err = float(np.max(np.abs(curve.test_error[::10] / ref - 1)))
    print(f"learning curve, {M} modes x {P.size} P: {ours:.2f} s; brentq per P {peer:.2f} s "
          f"(timed on {sub.size} P, scaled) -> x{peer / ours:.1f}; max rel. difference {err:.1e}")
    report["learning_curve"] = {"seconds": round(ours, 3), "peer_seconds": round(peer, 3),
                                "ratio": round(peer / ours, 1), "max_rel_diff": err}

    d, k_max = 100, (60 if args.quick else 200)
    net = nk.serial(nk.Dense(1), nk.Relu(), nk.Dense(1))
    ours, s = best(lambda: sphere_spectrum(net, d, k_max))
    with warnings.catch_warnings():         # quad's roundoff warnings: its error is printed
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        peer, (qlam, qerr) = best(lambda: _peer_sphere(d, k_max))
    qres = qlam > 10 * qerr
    both = (s.eigenvalues > s.error) & qres
    agree = float(np.max(np.abs(qlam[both] / s.eigenvalues[both] - 1))) if both.any() else 0.0
    qacc = float(np.max(qerr[qres] / qlam[qres])) if qres.any() else math.inf
    print(f"sphere spectrum d={d}, k<={k_max}: {ours * 1e3:.1f} ms; quad per degree "
          f"{peer * 1e3:.1f} ms -> x{peer / ours:.1f}; ours resolves {int(s.resolved.sum())} "
          f"degrees to <= {s.residual:.1e} relative, quad {int(qres.sum())} to <= {qacc:.1e} "
          f"(its estimate; agree to {agree:.1e} where both resolve)")
    report["sphere_spectrum"] = {"seconds": round(ours, 4), "peer_seconds": round(peer, 3),
                                 "ratio": round(peer / ours, 1),
                                 "resolved": int(s.resolved.sum()),
                                 "relative_bound": s.residual,
                                 "peer_resolved": int(qres.sum()),
                                 "peer_relative_error": qacc, "agreement": agree}
    print(json.dumps({"benchmark": "generalization", "results": report}))


if __name__ == "__main__":
    main()
