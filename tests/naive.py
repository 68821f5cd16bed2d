"""Pure-numpy references for the numba kernels (stumpy's ``tests/naive.py`` pattern): one
function of the same name and arguments per kernel, written the plain way (Python integers,
numpy linear algebra, energies from explicit couplings), compared in
``tests/test_kernels_numba.py``."""

import math

import numpy as np


def accumulate_layer(theta, hh, gg, weight_scale2, bias_scale2):
    return theta + (weight_scale2 * hh + bias_scale2) * gg


def multiply_inplace(g, d):
    return g * d


def ntk_by_finite_differences(layers, params, x, step=1e-6):
    """Empirical NTK ``J J^T`` with the Jacobian from central differences over every
    trained parameter (single output). Error O(step^2) from truncation, O(eps/step) roundoff."""
    from nnphys.sim.networks import forward
    flat = []
    for p in params:
        if p is not None:
            flat.extend(q for q in p if q is not None)
    columns = []
    for array in flat:
        for index in np.ndindex(array.shape):
            old = array[index]
            array[index] = old + step
            plus = forward(layers, params, x)[0][:, 0]
            array[index] = old - step
            minus = forward(layers, params, x)[0][:, 0]
            array[index] = old
            columns.append((plus - minus) / (2 * step))
    jac = np.array(columns).T
    return jac @ jac.T


def plrf_expected_risk(D, b, W, lr, batch, steps):
    """Expected one-pass SGD risk ``E P(theta_t)``, ``t = 0..steps``, on least squares with
    Gaussian data ``x ~ N(0, diag D)``, target ``<x, b>`` and features ``W^T x``: the
    per-mode second moments ``s_i`` of ``theta - theta*`` in the eigenbasis of
    ``K = W^T D W`` obey, by the Gaussian fourth moments
    ``E[phi phi^T A phi phi^T] = 2 K A K + K tr(A K)``,
    ``s_i(t+1) = g(lam_i) s_i(t) + 2 gamma^2 B lam_i P(t)``,
    ``g = 1 - 2 gamma B lam + gamma^2 B (B+1) lam^2``, ``P = (lam . s + sigma^2) / 2``.
    ``theta*`` and ``sigma^2`` come from least squares (no Volterra form is used)."""
    sd = np.sqrt(D)
    A = sd[:, None] * W                                  # D^{1/2} W
    lam, U = np.linalg.eigh(A.T @ A)
    theta_star = np.linalg.lstsq(A, sd * b, rcond=None)[0]
    sigma2 = float(np.sum((A @ theta_star - sd * b) ** 2))
    s = (U.T @ theta_star) ** 2
    g = 1.0 - 2.0 * lr * batch * lam + lr ** 2 * batch * (batch + 1) * lam ** 2
    out = np.empty(steps + 1)
    for t in range(steps + 1):
        out[t] = 0.5 * (lam @ s + sigma2)
        s = g * s + 2.0 * lr ** 2 * batch * lam * out[t]
    return out


# ----------------------------------------------------------------------------------------
# nnphys.sim._xoshiro: the generator in Python integers (Blackman & Vigna's reference
# algorithm, arXiv:1805.01407), the state a uint64[4] array advanced in place as in numba.

MASK64 = (1 << 64) - 1


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK64


def splitmix(x):
    """splitmix64 (Steele, Lea & Flood 2014): the advanced counter and the next output."""
    x = (int(x) + 0x9E3779B97F4A7C15) & MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return x, z ^ (z >> 31)


def next_u64(s):
    """xoshiro256**: the next output; ``s`` (uint64[4]) advanced in place."""
    s0, s1, s2, s3 = (int(v) for v in s)
    result = (_rotl((s1 * 5) & MASK64, 7) * 9) & MASK64
    t = (s1 << 17) & MASK64
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    s[:] = np.array([s0, s1, s2, s3], dtype=np.uint64)
    return result


def seed_state(seed, stream):
    """Counter ``splitmix64(seed) ^ (stream * 0xD1B54A32D192ED03)``, then four outputs."""
    _, h = splitmix(seed)
    x = h ^ ((int(stream) * 0xD1B54A32D192ED03) & MASK64)
    out = []
    for _ in range(4):
        x, z = splitmix(x)
        out.append(z)
    return np.array(out, dtype=np.uint64)


def seed_states(seed, n):
    return np.array([seed_state(seed, k) for k in range(n)], dtype=np.uint64).reshape(n, 4)


def uniform(s):
    """``(k + 1/2) / 2^53``, ``k`` the top 53 bits: the open interval (0, 1)."""
    return ((next_u64(s) >> 11) + 0.5) / 2.0 ** 53


def normal(s):
    """The ziggurat of Marsaglia & Tsang (2000) on the tables of ``_xoshiro``."""
    from nnphys.sim._xoshiro import ZIG_F, ZIG_R, ZIG_X
    while True:
        u = next_u64(s)
        i, negative = u & 0xFF, (u >> 8) & 1
        z = ((u >> 11) + 0.5) / 2.0 ** 53 * ZIG_X[i]
        if z < ZIG_X[i + 1]:
            return -z if negative else z
        if i == 0:
            while True:
                a = -math.log(uniform(s)) / ZIG_R
                c = -math.log(uniform(s))
                if 2 * c > a * a:
                    return -(ZIG_R + a) if negative else ZIG_R + a
        if ZIG_F[i] + uniform(s) * (ZIG_F[i + 1] - ZIG_F[i]) < math.exp(-0.5 * z * z):
            return -z if negative else z


def fill_normal(s, out):
    out[:] = [normal(s) for _ in range(out.size)]


# ----------------------------------------------------------------------------------------
# nnphys.sim._preactivations: numpy linear algebra, the draws replayed by the functions above.

def cholesky(a, out):
    """``out`` = numpy's lower Cholesky factor (the matrix must be positive definite)."""
    out[:] = np.linalg.cholesky(a)


def reduced_ensemble(seed, first, out, kernel0, width, cw, cb, fn):
    """``S_{l+1} = cb + (cw / width) phi(Z)^T phi(Z)``, ``Z = G L^T`` with ``G`` the
    ``width x m`` normals of the network's stream (row by row) and ``L L^T = S_l``."""
    n, depth, m = out.shape[0], out.shape[1], out.shape[2]
    for i in range(n):
        state = seed_state(seed, first + i)
        out[i, 0] = kernel0
        for l in range(1, depth):
            g = np.empty(width * m)
            fill_normal(state, g)
            a = fn(g.reshape(width, m) @ np.linalg.cholesky(out[i, l - 1]).T)
            out[i, l] = cb + cw * (a.T @ a) / width


def reduced_ensemble_single(seed, first, out, q0, width, cw, cb, fn):
    view = np.empty(out.shape + (1, 1))
    reduced_ensemble(seed, first, view, np.array([[q0]]), width, cw, cb, fn)
    out[:] = view[..., 0, 0]


# ----------------------------------------------------------------------------------------
# nnphys.sim._shallow

def reduce_rows(v, h, scale, f, s2, s4):
    a = scale * h
    f[:] = (v * a).sum(1)
    s2[:] = (a ** 2).sum(1)
    s4[:] = (a ** 4).sum(1)


# ----------------------------------------------------------------------------------------
# nnphys.sim._montecarlo: energies from the explicit couplings, not from pattern sums.

GLAUBER, METROPOLIS, ZERO_T = 0, 1, 2
DISTINCT, POWER = 0, 1


def elementary_from_power(p, order, e):
    """``e_order`` from the power sums ``p[1..order]``: Newton's identities
    ``k e_k = sum_{i=1}^k (-1)^(i-1) e_(k-i) p_i`` solved as one triangular linear system."""
    a = np.zeros((order + 1, order + 1))
    rhs = np.zeros(order + 1)
    a[0, 0], rhs[0] = 1.0, 1.0
    for k in range(1, order + 1):
        a[k, k] = k
        for i in range(1, k + 1):
            a[k, k - i] -= (-1) ** (i - 1) * p[i]
    e[:order + 1] = np.linalg.solve(a, rhs)
    return e[order]


def elementary_symmetric(v, order):
    """``e_0..e_order`` of the entries of ``v`` (the coefficients of ``prod (1 + v_i t)``)."""
    e = np.zeros(order + 1)
    e[0] = 1.0
    for x in v:
        e[1:] = e[1:] + x * e[:-1]
    return e


def permute(order, s):
    for k in range(order.size - 1, 0, -1):
        j = min(int(uniform(s) * (k + 1)), k)
        order[k], order[j] = order[j], order[k]


def accept(delta_e, beta, dynamics, s, tie=1e-12):
    if dynamics == ZERO_T:
        return delta_e < -tie
    x = beta * delta_e
    if dynamics == METROPOLIS:
        return uniform(s) < math.exp(-x)
    return x <= 40.0 and uniform(s) * (1.0 + math.exp(x)) < 1.0


def _sweeps(spins, rng, beta, dynamics, n_sweeps, shuffle, delta):
    flips = np.zeros(spins.shape[0], np.int64)
    for c in range(spins.shape[0]):
        n = spins.shape[1]
        for _ in range(n_sweeps):
            order = np.arange(n)
            if shuffle:
                permute(order, rng[c])
            for i in order:
                if accept(delta(spins[c], i), beta, dynamics, rng[c]):
                    spins[c, i] *= -1
                    flips[c] += 1
    return flips


def pairwise_sweeps(ft, coef, xt, selfc, at, spins, S, SA, rng, beta, dynamics, n_sweeps,
                    shuffle):
    """Couplings ``J = coef ft xt^T`` with a zero diagonal, ``dE = 2 sigma_i (J sigma)_i``;
    afterwards ``S = sigma xt``, ``SA = sigma at`` recomputed from the spins."""
    J = coef * (ft.astype(np.float64) @ xt.T.astype(np.float64))
    np.fill_diagonal(J, 0.0)
    flips = _sweeps(spins, rng, beta, dynamics, n_sweeps, shuffle,
                    lambda sp, i: 2.0 * sp[i] * (J[i] @ sp))
    S[:] = spins @ xt
    SA[:] = spins @ at
    return flips


def dense_energy(xt, w, sp, P, form, scale):
    """``H = -scale sum_mu w_mu e_P(x^mu sigma)`` (DISTINCT) or ``-scale N sum w m^P``."""
    if form == POWER:
        return -scale * sp.size * np.sum(w * (sp @ xt / sp.size) ** P)
    return -scale * sum(w[mu] * elementary_symmetric(xt[:, mu] * sp, P)[P]
                        for mu in range(xt.shape[1]))


def dense_sweeps(xt, w, even, at, spins, S, SA, rng, beta, dynamics, n_sweeps, P, form,
                 scale, shuffle):
    """``dE`` = the difference of :func:`dense_energy`; ``S[c, mu, l] = sum_i x^(2l+1)
    sigma_i`` and ``SA`` recomputed from the spins afterwards (``even`` is not needed)."""
    def delta(sp, i):
        flipped = sp.copy()
        flipped[i] *= -1
        return dense_energy(xt, w, flipped, P, form, scale) - dense_energy(xt, w, sp, P, form,
                                                                            scale)
    flips = _sweeps(spins, rng, beta, dynamics, n_sweeps, shuffle, delta)
    for l in range(S.shape[2]):
        S[:, :, l] = spins @ xt ** (2 * l + 1)
    SA[:] = spins @ at
    return flips


# ----------------------------------------------------------------------------------------
# nnphys.sim._ntk_ensemble: the forward and backward passes as matrix products.

def relu_ntk_diagonal(seed, first, x, widths, depths, cw, bias_lr, out_k, out_f):
    """Weights ``W^(l)`` (``(n_l, n_(l-1))``, row-major) then one readout per depth, all
    from the network's stream; ``K = sum_l (cw / n_(l-1)) |a^(l-1)|^2 |delta^(l)|^2 +
    bias_lr sum_l |delta^(l)|^2`` with ``delta = df/dz`` by back-propagation."""
    hidden = len(widths) - 1
    sizes = [widths[l] * widths[l - 1] for l in range(1, hidden + 1)]
    sizes += [widths[d - 1] for d in depths]
    for i in range(out_k.shape[0]):
        g = np.empty(sum(sizes))
        fill_normal(seed_state(seed, first + i), g)
        parts = np.split(g, np.cumsum(sizes)[:-1])
        W = [None] + [parts[l - 1].reshape(widths[l], widths[l - 1])
                      for l in range(1, hidden + 1)]
        a, z = [np.asarray(x, dtype=np.float64)], [None]
        for l in range(1, hidden + 1):
            z.append(math.sqrt(cw / widths[l - 1]) * W[l] @ a[l - 1])
            a.append(np.maximum(z[l], 0.0))
        for t, d in enumerate(depths):
            r = parts[hidden + t]
            scale = math.sqrt(cw / widths[d - 1])
            out_f[i, t] = scale * r @ a[d - 1]
            k = cw / widths[d - 1] * a[d - 1] @ a[d - 1] + bias_lr
            if d > 1:
                delta = scale * r * (z[d - 1] > 0)
                for l in range(d - 1, 0, -1):
                    k += (cw / widths[l - 1] * a[l - 1] @ a[l - 1] + bias_lr) * (delta @ delta)
                    if l > 1:
                        delta = math.sqrt(cw / widths[l - 1]) * (W[l].T @ delta) * (z[l - 1] > 0)
            out_k[i, t] = k


# ----------------------------------------------------------------------------------------
# nnphys.sim._rnn: x' = -x + J tanh(x) and its tangent system, elementwise in numpy.

def tanh_into(x, out):
    out[:] = np.tanh(x)


def stage(x, slope, step, out_state, out_phi):
    out_state[:] = x + step * slope
    out_phi[:] = np.tanh(out_state)


def derivative(state, field, out):
    out[:] = field - state


def rk4_combine(x, k1, k2, k3, k4, dt):
    x += dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def euler_update(x, field, dt, out_phi):
    x[:] = (1.0 - dt) * x + dt * field
    out_phi[:] = np.tanh(x)


def tangent_stage(x, u, sx, su, step, out_x, out_u, out_drive):
    out_x[:] = x + step * sx
    out_u[:] = u + step * su
    out_drive[:, 0] = np.tanh(out_x)
    out_drive[:, 1] = out_u / np.cosh(out_x) ** 2


def stream_sum(a):
    return math.fsum(a)


# ----------------------------------------------------------------------------------------
# nnphys.sim.regression._plrf: one-pass SGD, the draws replayed by :func:`fill_normal`.

def draw_raw(states, sqrt_d, b, batch, X, y):
    for s in range(states.shape[0]):
        for i in range(batch):
            z = np.empty(sqrt_d.size)
            fill_normal(states[s], z)
            X[s * batch + i] = sqrt_d * z
    y[:] = X @ b


def update_raw(theta, phi, y, gamma, batch):
    for s in range(theta.shape[0]):
        rows = slice(s * batch, (s + 1) * batch)
        theta[s] -= gamma * (phi[rows] @ theta[s] - y[rows]) @ phi[rows]


def spectral_sgd(states, e0, lam, sigma, gamma, batch, record, threshold, out, diverged):
    """Per step ``batch`` samples ``phi~ = sqrt(lam) xi`` (``d`` normals, then the label
    noise ``zeta``), residuals with the old ``e``, ``e -= gamma r @ phi~``; the risk
    ``(lam . e^2 + sigma^2) / 2`` at the iterations ``record``."""
    for s in range(states.shape[0]):
        e = e0.copy()
        diverged[s] = -1
        for step in range(record[-1] + 1):
            hits = np.flatnonzero(record == step)
            loss = 0.5 * (lam @ e ** 2 + sigma ** 2)
            out[s, hits] = loss
            if hits.size and not loss <= threshold:
                diverged[s] = step
                break
            if step == record[-1]:
                break
            phis, res = np.empty((batch, e.size)), np.empty(batch)
            for i in range(batch):
                xi, zeta = np.empty(e.size), np.empty(1)
                fill_normal(states[s], xi)
                fill_normal(states[s], zeta)
                phis[i] = np.sqrt(lam) * xi
                res[i] = phis[i] @ e - sigma * zeta[0]
            e = e - gamma * res @ phis


def small_product(X, W, out):
    out[:] = X @ W


def activate(activation, h):
    """``(phi(h), phi'(h))`` from the activation layer's own numpy ``fn``/``fn_prime``."""
    return activation.fn(h), activation.fn_prime(h)


def subtract_scaled(w, alpha, g):
    return w - alpha * g


def _mlp_forward_from(ws, m, acts, layer, h):
    """Output of one network from the preactivation ``h`` of hidden layer ``layer`` (0-based)
    on, one input at a time."""
    x = acts[layer].fn(h)
    for l in range(layer + 1, len(ws)):
        h = m[l] * (x @ ws[l])
        x = acts[l].fn(h) if l < len(acts) else h
    return float(np.asarray(x).reshape(-1)[0])


def mlp_training(acts, realisation, x_train, y_train, x_test, steps, times, batch_size,
                 seed, n_replicas, step=1e-6):
    """Plain replay of ``sim.training.train``'s documented recipe, replica by replica and
    point by point: the same seeds, weights ``init_std * standard_normal``, minibatches
    ``choice(P, B, replace=False)``; gradients written out per layer; the gradient kernel from
    central differences of ``f`` in each preactivation (error O(step^2) + O(eps/step)).
    Returns a dict of the records (replicas first)."""
    m, s, lr, fan_in = (realisation.multiplier, realisation.init_std, realisation.lr,
                        list(realisation.fan_in))
    fan_out = fan_in[1:] + [1]
    L = len(acts)
    width = fan_in[1]
    P = len(x_train)
    out = {k: [] for k in ("loss", "f_train", "f_test", "Phi", "G", "dh_rms")}
    for rng in np.random.default_rng(seed).spawn(n_replicas):
        ws = [s[l] * rng.standard_normal((fan_in[l], fan_out[l])) for l in range(L + 1)]

        def forward(x):
            hs, xs = [], [x]
            for l in range(L + 1):
                h = m[l] * (xs[-1] @ ws[l])
                hs.append(h)
                xs.append(acts[l].fn(h) if l < L else h)
            return hs, xs

        rec = {k: [] for k in out}
        h0 = forward(x_train)[0]
        for t in range(steps + 1):
            if t in times:
                hs, xs = forward(x_train)
                f = hs[-1][:, 0]
                rec["f_train"].append(f)
                rec["loss"].append(np.sum((f - y_train) ** 2) / (2 * P))
                rec["f_test"].append(forward(x_test)[0][-1][:, 0])
                rec["dh_rms"].append([np.sqrt(np.mean((a - b) ** 2)) for a, b in zip(hs, h0)])
                rec["Phi"].append([np.einsum("mi,ni->mn", xs[l + 1], xs[l + 1]) / width
                                   for l in range(L)])
                G = []
                for l in range(L):
                    g = np.zeros((P, width))
                    for mu in range(P):
                        for i in range(width):
                            hp, hm = hs[l][mu].copy(), hs[l][mu].copy()
                            hp[i] += step
                            hm[i] -= step
                            g[mu, i] = (_mlp_forward_from(ws, m, acts, l, hp) -
                                        _mlp_forward_from(ws, m, acts, l, hm)) / (2 * step)
                    g /= m[-1] * s[-1]
                    G.append(np.einsum("mi,ni->mn", g, g) / width)
                rec["G"].append(G)
            if t == steps:
                break
            idx = np.arange(P) if batch_size is None else rng.choice(P, batch_size,
                                                                     replace=False)
            x, yb = x_train[idx], y_train[idx]
            hs, xs = forward(x)
            e = (hs[-1][:, 0] - yb) / len(idx)
            grads = [None] * (L + 1)
            grads[L] = m[L] * (xs[L] * e[:, None]).sum(axis=0)[:, None]
            dx = m[L] * np.outer(e, ws[L][:, 0])
            for l in range(L - 1, -1, -1):
                dh = dx * acts[l].fn_prime(hs[l])
                grads[l] = m[l] * xs[l].T @ dh
                dx = m[l] * dh @ ws[l].T
            for l in range(L + 1):
                ws[l] = ws[l] - lr[l] * grads[l]
        for k in out:
            out[k].append(np.array(rec[k]))
    return {k: np.array(v) for k, v in out.items()}


# --- branch validate ------------------------------------------------------------------

def plrf_resolvent_residual(D, wd, m, z):
    """The PLRF resolvent's Newton residual and derivative, in numpy (reference of
    ``theory.scaling._spectrum.resolvent_residual``)."""
    q = D[None, :] * m[:, None]
    den = q - z[:, None]
    return m - 1.0 + (q / den) @ wd, 1.0 - ((D[None, :] * z[:, None]) / den ** 2) @ wd


# ----------------------------------------------------------------------------------------
# branch expmem: nnphys.sim._exponential from explicit +-1 patterns (K, N), energies by
# brute force (the log-sum-exp recomputed for every attempted flip).

def overlaps_from_planes_patterns(patterns, spins):
    """``x_mu = xi^mu . sigma`` from the patterns themselves."""
    return (patterns @ spins).astype(np.int64)


def lse_weight_sum(patterns, spins, lam):
    """``S = sum_mu e^{lam (xi^mu . sigma - N)}``."""
    return float(np.sum(np.exp(lam * (patterns @ spins - spins.size))))


def binary_sweeps(patterns, spins, lam, beta, zero_t, n_sweeps, rng):
    """Sequential scan of ``E = -(1/lam) ln sum_mu e^{lam xi^mu . sigma}``: T = 0 flips iff the
    sum grows by more than 1e-12 of itself; Glauber at ``beta`` otherwise. Returns
    ``(spins, sweeps, flips)``."""
    spins = spins.copy()
    flips = done = 0
    for _ in range(n_sweeps):
        swept = 0
        for i in range(spins.size):
            old = lse_weight_sum(patterns, spins, lam)
            spins[i] *= -1
            new = lse_weight_sum(patterns, spins, lam)
            spins[i] *= -1
            if zero_t:
                flip = new - old > 1e-12 * old
            else:
                z = beta * (-math.log(new / old) / lam)
                flip = z <= 40.0 and uniform(rng) * (1.0 + math.exp(z)) < 1.0
            if flip:
                spins[i] *= -1
                swept += 1
        flips += swept
        done += 1
        if zero_t and swept == 0:
            break
    return spins, done, flips


def softmax_step(patterns, state, lam, out):
    """``out = X^T softmax(lam X state)``; returns ``ln sum_mu e^{lam xi^mu . state}``."""
    z = lam * (patterns @ state)
    top = z.max()
    w = np.exp(z - top)
    out[:] = w @ patterns / w.sum()
    return top + math.log(w.sum())


def random_planes(rng, n, K):
    """``(n, ceil(K/64))`` words of the Python xoshiro256**, row by row."""
    words = (K + 63) // 64
    return np.array([[next_u64(rng) for _ in range(words)] for _ in range(n)],
                    dtype=np.uint64).reshape(n, words)
