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
