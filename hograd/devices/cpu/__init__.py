"""The CPU device: numpy kernels, always present. Registered through the public hooks."""
from __future__ import annotations

import math

import numpy as np

from ...core.device import DeviceSpec
from ...core.hookspecs import hookimpl
from ..array_kernels import device_kernels
from ..writing_kernels import gather_adjoint_by, writing_kernels

DEVICE = DeviceSpec(name="cpu", aliases=("CPU",), present=True,
                    to_device=np.asarray, to_host=np.asarray)


@hookimpl
def hograd_devices():
    return [DEVICE]


def _elementwise_from_math(fn):
    """A numpy kernel from a scalar function of the math module (numpy has no erf)."""
    vectorized = np.vectorize(fn, otypes=[np.float64])

    def kernel(x):
        return np.asarray(vectorized(x), dtype=x.dtype)
    return kernel


def _add_sorted_runs(summed, indices, rows):
    # the rows sorted by index and each run summed (np.add.reduceat): 3× faster than
    # np.add.at's unbuffered adds
    order = np.argsort(indices, kind="stable")
    ordered = indices[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    summed[ordered[starts]] = np.add.reduceat(rows[order], starts, axis=0)


# the ops the array API standard lacks, from numpy and the math module, and the one whose
# array-API form is slow here
NATIVE = {"Erf": _elementwise_from_math(math.erf), "Erfc": _elementwise_from_math(math.erfc),
          "Einsum": lambda *arrays, equation: np.einsum(equation, *arrays),
          "GatherAdjoint": gather_adjoint_by(np, _add_sorted_runs)}


@hookimpl
def hograd_kernels():
    # numpy adds long sums pairwise; a float32 sum of more than 4096 terms stays with it
    return device_kernels(DEVICE.name, np, NATIVE,
                          writing_kernels(np, sequential_sum_limit={"float32": 4096}))
