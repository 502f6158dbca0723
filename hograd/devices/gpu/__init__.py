"""The GPU device through cupy (extra ``gpu``): the shared array-API kernels bound to cupy.

The device is declared on every machine; it is present when cupy imports and sees a CUDA
device, and absent with the reason otherwise. Tensors move to the GPU on creation
(``cupy.asarray``) and back on ``asnumpy()`` (``cupy.asnumpy``). Elementwise chains run fused,
one ElementwiseKernel each (``fusion.py``); sums over leading or trailing axes are cuBLAS
products with ones and Gather's adjoint a scatter-add (``cupyx.scatter_add``).
"""
from __future__ import annotations

import importlib.util

from ...core.device import DeviceSpec, Fuser
from ...core.hookspecs import hookimpl
from ..array_kernels import device_kernels
from ..writing_kernels import gather_adjoint_by, writing_kernels
from .fusion import CUDA_FUNCTIONS, cupy_compiler


def probe():
    """``(cupy, None)`` when a CUDA device is usable, else ``(None, why not)``."""
    if importlib.util.find_spec("cupy") is None:
        return None, "cupy is not installed; on a machine with CUDA, install hograd[gpu]"
    try:
        import cupy
    except Exception as err:  # installed but broken (no CUDA libraries): say what failed
        return None, f"cupy failed to import: {type(err).__name__}: {err}"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # a driver or runtime problem: report it, do not fail
        return None, f"cupy imports but CUDA is not usable: {type(err).__name__}: {err}"
    if count == 0:
        return None, "cupy imports but sees no CUDA device"
    return cupy, None


def _absent(_array):
    raise RuntimeError("the gpu device is absent on this machine")


CUPY, ABSENT_REASON = probe()

DEVICE = DeviceSpec(
    name="gpu", aliases=("GPU", "cuda"), present=CUPY is not None, absent_reason=ABSENT_REASON,
    to_device=CUPY.asarray if CUPY is not None else _absent,
    to_host=CUPY.asnumpy if CUPY is not None else _absent,
    # no reductions: a sum ending a group would be cupy's generic reduction, which took 23.8 ms
    # for a (1048576, 64) column sum that cuBLAS does in under 1 ms (writing_kernels), against
    # about 0.15 ms of memory traffic that fusing it would save
    fuser=Fuser(compile=cupy_compiler(CUPY), functions=frozenset(CUDA_FUNCTIONS) | {"where"})
    if CUPY is not None else None,
)


def cupy_kernels(cupy) -> list:
    """The GPU kernels: array-API code on array-api-compat's cupy namespace, cupy specials,
    and cupy's own functions where they write into a given array."""
    from array_api_compat import cupy as xp
    from cupyx import scatter_add
    from cupyx.scipy.special import erf, erfc

    def scatter(summed, indices, rows):
        scatter_add(summed, indices, rows)

    return device_kernels("gpu", xp, {"Erf": erf, "Erfc": erfc,
                                      "Einsum": lambda *arrays, equation: cupy.einsum(
                                          equation, *arrays),
                                      "GatherAdjoint": gather_adjoint_by(cupy, scatter)},
                          writing_kernels(cupy))


@hookimpl
def hograd_devices():
    return [DEVICE]


@hookimpl
def hograd_kernels():
    return cupy_kernels(CUPY) if CUPY is not None else []
