"""Pure-numpy references for the numba kernels (stumpy's ``tests/naive.py`` pattern)."""

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
