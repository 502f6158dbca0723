"""The CPU device: numpy kernels, always present. Registered through the public hooks."""
from __future__ import annotations

import math

import numpy as np

from ...core.device import DeviceSpec
from ...core.hookspecs import hookimpl
from ..array_kernels import device_kernels

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


# the ops the array API standard lacks, from numpy and the math module
NATIVE = {"Erf": _elementwise_from_math(math.erf), "Erfc": _elementwise_from_math(math.erfc),
          "Einsum": lambda *arrays, equation: np.einsum(equation, *arrays)}


@hookimpl
def hograd_kernels():
    return device_kernels(DEVICE.name, np, NATIVE)
