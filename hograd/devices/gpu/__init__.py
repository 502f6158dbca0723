"""The GPU device through cupy (extra ``gpu``): the shared array-API kernels bound to cupy.

The device is declared on every machine; it is present when cupy imports and sees a CUDA
device, and absent with the reason otherwise. Tensors move to the GPU on creation
(``cupy.asarray``) and back on ``asnumpy()`` (``cupy.asnumpy``).
"""
from __future__ import annotations

import importlib.util

from ...core.device import DeviceSpec
from ...core.hookspecs import hookimpl
from ..array_kernels import device_kernels


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
)


def cupy_kernels(cupy) -> list:
    """The GPU kernels: array-API code on array-api-compat's cupy namespace, cupy specials."""
    from array_api_compat import cupy as xp
    from cupyx.scipy.special import erf, erfc
    return device_kernels("gpu", xp, {"Erf": erf, "Erfc": erfc,
                                      "Einsum": lambda *arrays, equation: cupy.einsum(
                                          equation, *arrays)})


@hookimpl
def hograd_devices():
    return [DEVICE]


@hookimpl
def hograd_kernels():
    return cupy_kernels(CUPY) if CUPY is not None else []
