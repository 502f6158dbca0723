"""The CPU device: numpy kernels, always present. Registered through the public hooks."""
from __future__ import annotations

import math

import numpy as np

from ...core.device import DeviceSpec, KernelSpec
from ...core.hookspecs import hookimpl
from ..array_kernels import kernels_for

DEVICE = DeviceSpec(name="cpu", aliases=("CPU",), present=True, array_module=np,
                    to_device=np.asarray, to_host=np.asarray)


@hookimpl
def hograd_devices():
    return [DEVICE]


def _elementwise_from_math(fn):
    vectorized = np.vectorize(fn, otypes=[np.float64])

    def kernel(x):
        return np.asarray(vectorized(x), dtype=x.dtype)
    return kernel


def _gelu(x):
    return np.asarray(x * 0.5 * (1.0 + _erf(x * 0.7071067811865476)), dtype=x.dtype)


_erf = _elementwise_from_math(math.erf)

# what the array API (and so the shared kernels) lacks, numpy does with the math module
CPU_KERNELS = {
    "Erf": _erf,
    "Erfc": _elementwise_from_math(math.erfc),
    "GeLU": _gelu,
    "Einsum": lambda *xs, equation: np.asarray(np.einsum(equation, *xs)),
}


@hookimpl
def hograd_kernels():
    kernels = kernels_for(np) | CPU_KERNELS
    return [KernelSpec(op=name, device=DEVICE.name, fn=fn) for name, fn in kernels.items()]
