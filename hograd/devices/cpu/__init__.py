"""The CPU device: numpy kernels, always present. Registered through the public hooks."""
from __future__ import annotations

import math

import numpy as np

from ...core.device import DeviceSpec, Fuser
from ...core.hookspecs import hookimpl
from ..array_kernels import device_kernels
from ..writing_kernels import writing_kernels

from . import fusion

# with numba installed (hograd[fusion]) arithmetic chains of 4096 elements or more run fused,
# with the sum that reads them, compiled in the background once a graph has run twice
DEVICE = DeviceSpec(name="cpu", aliases=("CPU",), present=True,
                    to_device=np.asarray, to_host=np.asarray,
                    fuser=Fuser(compile=fusion.numba_compiler, functions=fusion.FUNCTIONS,
                                warm_calls=2, min_size=4096, reductions=frozenset({"sum"}))
                    if fusion.AVAILABLE else None)


@hookimpl
def hograd_devices():
    return [DEVICE]


def _elementwise_from_math(fn):
    """A numpy kernel from a scalar function of the math module (numpy has no erf)."""
    vectorized = np.vectorize(fn, otypes=[np.float64])

    def kernel(x):
        return np.asarray(vectorized(x), dtype=x.dtype)
    return kernel


def _gather_adjoint(g, indices, out=None, *, axis, shape):
    """Gather's adjoint: the gradient's slices along ``axis`` sorted by index and each run
    summed (np.add.reduceat), 5× faster than np.add.at's unbuffered adds into the (4, 64, 3)
    positions of a force-training step, and far faster than the array API's one-hot product."""
    axis %= len(shape)
    if out is None:
        summed = np.zeros(shape, dtype=g.dtype)
    else:
        summed = out
        summed.fill(0)
    if indices.size:
        order, targets, starts = _sorted_runs(indices, shape[axis])
        slices = g.reshape(shape[:axis] + (indices.size,) + shape[axis + 1:])
        runs = np.add.reduceat(np.take(slices, order, axis=axis), starts, axis=axis)
        summed[(slice(None),) * axis + (targets,)] = runs
    return summed


_runs_of: dict[bytes, tuple] = {}


def _sorted_runs(indices, size: int) -> tuple:
    """(order sorting the indices, the index of each run, where each run starts). A graph
    gathers by the same indices call after call: the runs are kept by the indices' bytes
    (hashing 2048 of them costs a seventh of sorting them)."""
    key = (size, indices.dtype.str, indices.tobytes())
    runs = _runs_of.get(key)
    if runs is not None:
        return runs
    flat = indices.reshape(-1) % size
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    runs = (order, ordered[starts], starts)
    if len(_runs_of) >= 64:
        del _runs_of[next(iter(_runs_of))]   # the oldest
    _runs_of[key] = runs
    return runs


# the ops the array API standard lacks, from numpy and the math module
NATIVE = {"Erf": _elementwise_from_math(math.erf), "Erfc": _elementwise_from_math(math.erfc),
          "Einsum": lambda *arrays, equation: np.einsum(equation, *arrays)}


@hookimpl
def hograd_kernels():
    # numpy adds long sums pairwise; a float32 sum of more than 4096 terms stays with it
    return device_kernels(DEVICE.name, np, NATIVE,
                          writing_kernels(np, sequential_sum_limit={"float32": 4096},
                                          middle_sums=True)
                          | {"GatherAdjoint": _gather_adjoint})
