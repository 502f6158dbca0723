"""The CPU device: numpy kernels, always present. Registered through the public hooks."""
from __future__ import annotations

import math

import numpy as np

from ...core.device import DeviceSpec, KernelSpec
from ...core.hookspecs import hookimpl
from ..array_kernels import kernels_for, special_kernels

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


KERNELS = kernels_for(np) | special_kernels(np, erf=_elementwise_from_math(math.erf),
                                            erfc=_elementwise_from_math(math.erfc),
                                            einsum=np.einsum)


@hookimpl
def hograd_kernels():
    return [KernelSpec(op=name, device=DEVICE.name, fn=fn) for name, fn in KERNELS.items()]
